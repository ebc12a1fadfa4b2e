//! Context every use case shares: the App (ports a host built), tokens and the embedded identity, rate limits, paging, and the kinds of the events announced across capabilities.
//! (A capability of the use cases; `mas-usecases` re-exports every module.)

pub mod announcements;
pub mod app;
pub mod limits;
pub mod local_identity;
pub mod paging;
pub mod tokens;
