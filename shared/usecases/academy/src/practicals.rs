//! Practical sign-off: an educator of the cohort (or an owner or manager) records logbook
//! entries for its students — competency, day, model, outcome, notes. Entries are append-only
//! (a correction is a new entry naming the one it corrects). Each entry is put in one
//! transaction with the enrolment's versioned put, which sets `completed_at` (and announces
//! `academy.enrolment_completed`) when this entry meets the last requirement (see
//! `completion`).

use serde::Serialize;
use utoipa::ToSchema;

use mas_domain::academy::{CompetencyProgress, Enrolment, EnrolmentStatus, LogbookEntry, LogbookEntryInput, progress};
use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::{CohortId, EnrolmentId, LogEntryId, MemberId, TenantId};
use mas_ports::{Query, SortKey, Write};
use mas_store::{AuditContext, Plan, Store, from_item, keys, retry, to_item};

use crate::AcademyError;
use crate::cohorts::{self, Viewer};
use crate::completion::{Coursework, push_enrolment, requirements_met};

/// One student's entries, oldest first.
pub async fn of_student(
    store: &Store,
    t: &TenantId,
    cohort: &CohortId,
    enrolment: &EnrolmentId,
) -> AppResult<Vec<LogbookEntry>> {
    let prefix = format!("{}{enrolment}#", keys::LOGBOOK_PREFIX);
    let query = Query::partition(keys::cohort_pk(t, cohort)).sk(SortKey::BeginsWith(prefix));
    store.table.query_all(&query).await?.into_iter().map(from_item).collect()
}

/// A student's standing: each competency's count against what it requires, and completion.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StudentLogbook {
    pub enrolment_id: EnrolmentId,
    pub student_name: String,
    pub progress: Vec<CompetencyProgress>,
    pub completed_at: Option<chrono::DateTime<chrono::Utc>>,
    pub entries: Vec<LogbookEntry>,
}

/// A cohort's logbook: each confirmed student's entries and progress (educators: only the
/// cohorts they teach; others are 404). Students' names only: no client records.
pub async fn cohort_logbook(
    store: &Store,
    t: &TenantId,
    viewer: &Viewer,
    cohort: &CohortId,
) -> AppResult<Vec<StudentLogbook>> {
    let c = cohorts::get_for(store, t, viewer, cohort).await?;
    let version = crate::courses::version(store, t, &c.course_id, c.course_version)
        .await?
        .ok_or(AppError::Internal("a cohort's course version is missing".into()))?;
    let roster = crate::enrolments::roster(store, t, viewer, cohort).await?;
    let query = Query::partition(keys::cohort_pk(t, cohort)).sk(SortKey::BeginsWith(keys::LOGBOOK_PREFIX.into()));
    let all: Vec<LogbookEntry> =
        store.table.query_all(&query).await?.into_iter().map(from_item).collect::<AppResult<_>>()?;
    Ok(roster
        .into_iter()
        .filter(|e| e.status == EnrolmentStatus::Confirmed)
        .map(|e| {
            let entries: Vec<LogbookEntry> = all.iter().filter(|l| l.enrolment_id == e.id).cloned().collect();
            StudentLogbook {
                enrolment_id: e.id,
                student_name: e.student.name.to_string(),
                progress: progress(&version.content.competencies, &entries),
                completed_at: e.completed_at,
                entries,
            }
        })
        .collect())
}

/// What a sign-off did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SignedOff {
    pub entry: LogbookEntry,
    pub progress: Vec<CompetencyProgress>,
    /// Set when the enrolment is completed (by this entry or before).
    pub completed_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Records one logbook entry for a confirmed student of the cohort, and completes the
/// enrolment if this entry meets its requirements (once, whatever races it).
pub async fn record(
    store: &Store,
    audit: &AuditContext,
    viewer: &Viewer,
    coursework: &dyn Coursework,
    (cohort, enrolment): (&CohortId, &EnrolmentId),
    by: &MemberId,
    input: LogbookEntryInput,
) -> AppResult<SignedOff> {
    let t = &audit.tenant_id;
    cohorts::get_for(store, t, viewer, cohort).await?;
    let outcome = retry::on_contention(12, || {
        let input = input.clone();
        async move {
            let e = crate::enrolments::get(store, t, cohort, enrolment).await?;
            if e.status != EnrolmentStatus::Confirmed {
                return Err(
                    AppError::conflict("enrolment_not_confirmed", "only a confirmed student is signed off").into()
                );
            }
            let version = crate::courses::version(store, t, &e.course_id, e.course_version)
                .await?
                .ok_or(AppError::Internal("an enrolment's course version is missing".into()))?;
            let mut entries = of_student(store, t, cohort, enrolment).await?;
            input.check(&version.content.competencies, &entries, crate::today(store, t).await?)?;
            let now = store.clock.now();
            let entry = LogbookEntry {
                id: LogEntryId::new(),
                enrolment_id: e.id.clone(),
                cohort_id: cohort.clone(),
                input,
                recorded_by: by.clone(),
                recorded_at: now,
            };
            entries.push(entry.clone());
            let completes_now =
                e.completed_at.is_none() && requirements_met(store, coursework, t, &e, &entries).await?;
            let before = e.version;
            let next = Enrolment {
                completed_at: if completes_now { Some(now) } else { e.completed_at },
                version: before + 1,
                ..e
            };
            let mut plan: Plan<AcademyError> = Plan::typed();
            plan.push(
                Write::put_new(to_item(
                    &keys::logbook_entry(t, cohort, enrolment, &entry.id),
                    "logbook_entry",
                    &entry,
                )?),
                AcademyError::Store(AppError::conflict("id_taken", "an id clash; try again")),
            );
            push_enrolment(&mut plan, t, before, &next, completes_now)?;
            plan.commit_as(store, audit, "logbook.entry_recorded", entry.id.as_str()).await?;
            if completes_now {
                tracing::info!(enrolment_id = %next.id, "enrolment completed");
            }
            Ok::<_, AcademyError>(SignedOff {
                progress: progress(&version.content.competencies, &entries),
                entry,
                completed_at: next.completed_at,
            })
        }
    })
    .await;
    Ok(outcome?)
}
