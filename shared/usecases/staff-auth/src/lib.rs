//! Staff sign-in: signup, invitations, passwords, MFA and email verification.
//! (A capability of the use cases; `mas-usecases` re-exports every module.)

pub mod auth;
