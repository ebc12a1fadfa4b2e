//! Publishing a clinic's static site from its brand and public catalog.
//! (A capability of the use cases; `mas-usecases` re-exports every module.)

pub mod public_catalog;
pub mod site;
