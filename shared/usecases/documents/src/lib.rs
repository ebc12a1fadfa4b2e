//! Consent templates, documents and their PDFs, and e-signing.
//! (A capability of the use cases; `mas-usecases` re-exports every module.)

pub mod documents;
pub mod esign;
pub mod receipts;
pub mod templates;
