//! Application operations: what a request does, over the store, with every race decided by a
//! conditional write. Handlers, the demo seed and tests all call these.

pub mod catalog;
pub mod documents;
pub mod esign;
pub mod team;
pub mod templates;
pub mod tenants;
