//! One test binary for every black-box, contract, handler and template test (one link, not many).

mod api;
mod handlers;
mod support;
mod table_contract;
mod tenancy;
