//! The clinic's catalog (locations, services, practitioners, resources), its policies, availability and screening rules.
//! (A capability of the use cases; `mas-usecases` re-exports every module.)

pub mod availability;
pub mod catalog;
pub mod error;
pub mod policies;
pub mod screening;
