//! GDPR: a client's data export and erasure.
//! (A capability of the use cases; `mas-usecases` re-exports every module.)

pub mod gdpr;
