//! Master Aesthetics Suite domain crate: domain types and rules (no AWS types), the ports they
//! need, the adapters behind those ports, the operations requests perform, and the HTTP
//! handlers every Lambda and the local host share.

pub mod adapters;
pub mod app;
pub mod auth;
pub mod crypto;
pub mod demo;
pub mod domain;
pub mod error;
pub mod html;
pub mod http;
pub mod ids;
pub mod keys;
pub mod links;
pub mod ops;
pub mod ports;
pub mod site;
pub mod store;
pub mod workers;
