//! Email and SMS: what is sent when, reminders, preferences, inbound texts and delivery reports.
//! (A capability of the use cases; `mas-usecases` re-exports every module.)

pub mod notifications;
