//! The use cases: what a request or a worker does, by capability, over the ports and the store,
//! with every race decided by a conditional write. Handlers, workers, the demo seed and tests all
//! call these; `app::App` carries the ports a host built.

pub mod app;
pub mod appointments;
pub mod audit;
pub mod auth;
pub mod availability;
pub mod care_team;
pub mod catalog;
pub mod clients;
pub mod demo;
pub mod documents;
pub mod esign;
pub mod gdpr;
pub mod limits;
pub mod local_identity;
pub mod medical;
pub mod notifications;
pub mod payments;
pub mod policies;
pub mod portal;
pub mod public_catalog;
pub mod routing;
pub mod screening;
pub mod site;
pub mod stripe_events;
pub mod team;
pub mod templates;
pub mod tenants;
pub mod tokens;
pub mod workers;
