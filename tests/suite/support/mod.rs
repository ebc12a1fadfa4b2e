//! Helpers shared by the suites.

pub mod aws;
