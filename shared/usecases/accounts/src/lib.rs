//! Clinics (tenants), their team and roles, and the audit log.
//! (A capability of the use cases; `mas-usecases` re-exports every module.)

pub mod audit;
pub mod team;
pub mod tenants;
