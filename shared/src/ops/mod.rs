//! Application operations: what a request does, over the store, with every race decided by a
//! conditional write. Handlers, the demo seed and tests all call these.

pub mod appointments;
pub mod audit;
pub mod auth;
pub mod availability;
pub mod catalog;
pub mod clients;
pub mod documents;
pub mod esign;
pub mod limits;
pub mod medical;
pub mod notifications;
pub mod payments;
pub mod policies;
pub mod portal;
pub mod screening;
pub mod site;
pub mod stripe_events;
pub mod team;
pub mod templates;
pub mod tenants;
