//! The domain: pure types and rules, no I/O and no AWS types.

pub mod availability;
pub mod catalog;
pub mod documents;
pub mod esign;
pub mod schedule;
pub mod team;
pub mod tenant;
pub mod values;
