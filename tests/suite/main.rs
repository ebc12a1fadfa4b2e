//! The one black-box test binary: each suite is a module, sharing the helpers in `support`.

mod support;
mod table_contract;
