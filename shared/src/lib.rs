//! Master Aesthetics Suite domain crate: domain types and rules (no AWS types), the ports they
//! need, the adapters behind those ports, and the HTTP handlers every Lambda and the local host
//! share.

pub mod adapters;
pub mod ports;
