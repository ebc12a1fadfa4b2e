//! The client portal: magic-link sign-in, appointments, documents and preferences.
//! (A capability of the use cases; `mas-usecases` re-exports every module.)

pub mod portal;
