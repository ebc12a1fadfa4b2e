//! Helpers shared by the suite's modules.

pub mod app;
pub mod aws;
pub mod localstripe;
pub mod pdf;
