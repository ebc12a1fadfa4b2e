//! Completion: an enrolment is completed when its requirements are met — every practical
//! competency of its course version signed off as competent the required number of times
//! (`mas_domain::academy::progress`), and its coursework done (asked of [`Coursework`]).
//!
//! **Completed once.** `completed_at` is set by a write conditioned on the enrolment's
//! `version`, in the transaction that also records the sign-off that met the requirements, and
//! `academy.enrolment_completed` is announced in that same transaction (the outbox). Concurrent
//! sign-offs of one student each put their entry with the enrolment's versioned put, so they
//! are serialised: the one that commits last sees every earlier entry; a loser reads again.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::json;

use mas_domain::academy::{Enrolment, EnrolmentStatus, LogbookEntry, practicals_met, progress};
use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::{CohortId, EnrolmentId, TenantId};
use mas_ports::events::DomainEvent;
use mas_ports::{Condition, Write};
use mas_store::{AuditContext, Plan, Store, keys, retry, to_item};

use crate::AcademyError;
pub use crate::ENROLMENT_COMPLETED;

/// Whether an enrolment's coursework (lessons and quizzes) is done: `learning::Tracked`
/// answers from what the student portal records.
#[async_trait]
pub trait Coursework: Send + Sync {
    async fn done(&self, store: &Store, tenant: &TenantId, enrolment: &Enrolment) -> AppResult<bool>;
}

/// Whether `enrolment`, with these logbook entries, has met its requirements.
pub async fn requirements_met(
    store: &Store,
    coursework: &dyn Coursework,
    t: &TenantId,
    enrolment: &Enrolment,
    entries: &[LogbookEntry],
) -> AppResult<bool> {
    if enrolment.status != EnrolmentStatus::Confirmed {
        return Ok(false);
    }
    let version = crate::courses::version(store, t, &enrolment.course_id, enrolment.course_version)
        .await?
        .ok_or(AppError::Internal("an enrolment's course version is missing".into()))?;
    if !practicals_met(&progress(&version.content.competencies, entries)) {
        return Ok(false);
    }
    coursework.done(store, t, enrolment).await
}

pub(crate) fn completed_event(t: &TenantId, e: &Enrolment, at: DateTime<Utc>) -> DomainEvent {
    let payload = json!({"enrolment_id": e.id, "cohort_id": e.cohort_id, "course_id": e.course_id,
        "course_version": e.course_version});
    DomainEvent::new(t, ENROLMENT_COMPLETED, e.id.as_str(), at, payload)
}

/// Adds to `plan` the enrolment's versioned put (`next` is the enrolment as it will be, its
/// version bumped) and, when it completes now, `completed_at` and the event.
pub(crate) fn push_enrolment(
    plan: &mut Plan<AcademyError>,
    t: &TenantId,
    before: u64,
    next: &Enrolment,
    completes_now: bool,
) -> AppResult<()> {
    plan.push(
        Write::put_if(
            to_item(&keys::enrolment(t, &next.cohort_id, &next.id), "enrolment", next)?,
            Condition::equals("version", before),
        ),
        AcademyError::Stale,
    );
    if completes_now {
        plan.announce(completed_event(t, next, next.completed_at.expect("set by the caller")))?;
    }
    Ok(())
}

/// Completes the enrolment if its requirements are met now and it is not completed yet: what to
/// call when coursework is done (`academy.coursework_done`) or anything else may have met the
/// last requirement. Returns when it was completed (now or before), `None` if not met.
pub async fn complete_if_met(
    store: &Store,
    audit: &AuditContext,
    coursework: &dyn Coursework,
    cohort: &CohortId,
    id: &EnrolmentId,
) -> AppResult<Option<DateTime<Utc>>> {
    let t = &audit.tenant_id;
    let outcome = retry::on_contention(12, || async {
        let e = crate::enrolments::get(store, t, cohort, id).await?;
        if let Some(at) = e.completed_at {
            return Ok(Some(at));
        }
        let entries = crate::practicals::of_student(store, t, cohort, id).await?;
        if !requirements_met(store, coursework, t, &e, &entries).await? {
            return Ok(None);
        }
        let now = store.clock.now();
        let before = e.version;
        let next = Enrolment { completed_at: Some(now), version: before + 1, ..e };
        let mut plan: Plan<AcademyError> = Plan::typed();
        push_enrolment(&mut plan, t, before, &next, true)?;
        plan.commit_as(store, audit, "enrolment.completed", id.as_str()).await?;
        Ok::<_, AcademyError>(Some(now))
    })
    .await;
    Ok(outcome?)
}
