//! The academy: courses and their published versions, cohorts with numbered seats, and
//! enrolments (online through a hosted payment page, free, or at the desk). A capability of the
//! use cases; `mas-usecases` re-exports every module. It sits low in the graph (the domain, the
//! ports and the store only), so the Stripe webhook (`mas-booking`) can settle an enrolment's
//! payment page through it; the caller hands in what it needs of the payments capability
//! (where a clinic's money goes).

pub mod cohorts;
pub mod courses;
pub mod enrolments;
pub mod error;
pub mod gradebook;
pub mod learning;
pub mod public;
pub mod quizzes;

pub use error::AcademyError;

use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::TenantId;
use mas_store::{Store, keys};

/// Announced when an enrolment is confirmed (paid, free, or at the desk).
pub const ENROLMENT_CONFIRMED: &str = "academy.enrolment_confirmed";

/// The clinic's profile (its currency and time zone).
pub(crate) async fn tenant(store: &Store, t: &TenantId) -> AppResult<mas_domain::tenant::Tenant> {
    store.get(&keys::tenant_profile(t)).await?.ok_or(AppError::NotFound { what: "tenant" })
}

/// The clinic's today, in its time zone.
pub(crate) async fn today(store: &Store, t: &TenantId) -> AppResult<chrono::NaiveDate> {
    let tenant = tenant(store, t).await?;
    Ok(store.clock.now().with_timezone(&tenant.timezone.tz()).date_naive())
}
