//! Cohorts: a run of one published version of a course, with dates, numbered seats and an
//! educator. Educators see only the cohorts they teach.

use mas_domain::academy::{Cohort, CohortInput, CohortStatus, SeatHold, free_seats};
use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::{CohortId, MemberId, TenantId};
use mas_domain::team::{Member, Role};
use mas_ports::{Condition, Query, SortKey, Write};
use mas_store::{AuditContext, Plan, Store, from_item, keys, to_item};
use serde::{Deserialize, Serialize};

use crate::AcademyError;

/// Who is asking: an educator reaches only their own cohorts (others are 404, as if absent).
#[derive(Debug, Clone)]
pub enum Viewer {
    Clinic,
    Educator(MemberId),
}

impl Viewer {
    pub fn of(member: &Member) -> Viewer {
        match member.input.role {
            Role::Educator => Viewer::Educator(member.id.clone()),
            _ => Viewer::Clinic,
        }
    }

    fn sees(&self, cohort: &Cohort) -> bool {
        match self {
            Viewer::Clinic => true,
            Viewer::Educator(me) => &cohort.educator_id == me,
        }
    }
}

pub async fn get(store: &Store, t: &TenantId, id: &CohortId) -> AppResult<Cohort> {
    store.get(&keys::cohort(t, id)).await?.ok_or(AppError::NotFound { what: "cohort" })
}

/// A cohort this viewer may see (404 otherwise).
pub async fn get_for(store: &Store, t: &TenantId, viewer: &Viewer, id: &CohortId) -> AppResult<Cohort> {
    let cohort = get(store, t, id).await?;
    if viewer.sees(&cohort) { Ok(cohort) } else { Err(AppError::NotFound { what: "cohort" }) }
}

/// The clinic's cohorts this viewer may see, soonest first.
pub async fn list(store: &Store, t: &TenantId, viewer: &Viewer) -> AppResult<Vec<Cohort>> {
    let query = Query::partition(keys::academy_pk(t)).sk(SortKey::BeginsWith(keys::COHORT_PREFIX.into()));
    let mut cohorts: Vec<Cohort> =
        store.table.query_all(&query).await?.into_iter().map(from_item).collect::<AppResult<_>>()?;
    cohorts.retain(|c| viewer.sees(c));
    cohorts.sort_by_key(|c| (c.starts_on, c.id.clone()));
    Ok(cohorts)
}

/// What a cohort's seat items hold, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SeatItem {
    pub seat: u32,
    pub enrolment_id: mas_domain::ids::EnrolmentId,
    pub until: i64,
}

/// The holds on a cohort's seats (live or expired).
pub(crate) async fn holds(store: &Store, t: &TenantId, id: &CohortId) -> AppResult<Vec<SeatHold>> {
    let query = Query::partition(keys::cohort_pk(t, id)).sk(SortKey::BeginsWith(keys::SEAT_PREFIX.into()));
    let items: Vec<SeatItem> =
        store.table.query_all(&query).await?.into_iter().map(from_item).collect::<AppResult<_>>()?;
    Ok(items.into_iter().map(|s| SeatHold { seat: s.seat, enrolment_id: s.enrolment_id, until: s.until }).collect())
}

/// How many seats nobody holds now.
pub async fn seats_left(store: &Store, cohort: &Cohort, t: &TenantId) -> AppResult<u32> {
    let holds = holds(store, t, &cohort.id).await?;
    Ok(free_seats(cohort.seats, &holds, store.clock.now()).len() as u32)
}

async fn check_educator(store: &Store, t: &TenantId, educator: &MemberId) -> Result<(), AcademyError> {
    let member: Option<Member> = store.get(&keys::member(t, educator.as_str())).await?;
    member.map(|_| ()).ok_or(AcademyError::UnknownEducator)
}

/// The published version a cohort runs: the one named, or the newest.
async fn version_to_run(store: &Store, t: &TenantId, input: &CohortInput) -> Result<u32, AcademyError> {
    let course = crate::courses::get(store, t, &input.course_id).await?;
    let newest = course.published_version.ok_or(AcademyError::NotPublished)?;
    match input.course_version {
        None => Ok(newest),
        Some(n) if n >= 1 && n <= newest => Ok(n),
        Some(_) => Err(AcademyError::UnknownVersion),
    }
}

pub async fn create(store: &Store, audit: &AuditContext, input: CohortInput) -> AppResult<Cohort> {
    let t = &audit.tenant_id;
    input.check()?;
    let course_version = version_to_run(store, t, &input).await?;
    check_educator(store, t, &input.educator_id).await?;
    let cohort = Cohort {
        id: CohortId::new(),
        course_id: input.course_id,
        course_version,
        starts_on: input.starts_on,
        ends_on: input.ends_on,
        seats: input.seats,
        educator_id: input.educator_id,
        status: CohortStatus::Open,
        version: 1,
        created_at: store.clock.now(),
    };
    let mut plan = Plan::new();
    plan.push(
        Write::put_new(to_item(&keys::cohort(t, &cohort.id), "cohort", &cohort)?),
        AppError::conflict("id_taken", "an id clash; try again"),
    );
    plan.commit(store, audit, "cohort.created", cohort.id.as_str()).await?;
    Ok(cohort)
}

/// What may change of a cohort once it runs: dates, seats, educator, status (its course and
/// version are fixed: its students enrolled on them).
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CohortChange {
    /// The version read (optimistic concurrency).
    pub version: u64,
    pub starts_on: chrono::NaiveDate,
    pub ends_on: chrono::NaiveDate,
    pub seats: u32,
    pub educator_id: MemberId,
    pub status: CohortStatus,
}

pub async fn replace(store: &Store, audit: &AuditContext, id: &CohortId, change: CohortChange) -> AppResult<Cohort> {
    let t = &audit.tenant_id;
    let current = get(store, t, id).await?;
    CohortInput {
        course_id: current.course_id.clone(),
        course_version: Some(current.course_version),
        starts_on: change.starts_on,
        ends_on: change.ends_on,
        seats: change.seats,
        educator_id: change.educator_id.clone(),
    }
    .check()?;
    if current.version != change.version {
        return Err(AcademyError::Stale.into());
    }
    check_educator(store, t, &change.educator_id).await?;
    // Fewer seats than the highest one held would strand its holder (seat numbers are 1..=seats).
    let now = store.clock.now();
    let highest = holds(store, t, id).await?.iter().filter(|h| h.is_held(now)).map(|h| h.seat).max().unwrap_or(0);
    if change.seats < highest {
        return Err(AcademyError::SeatsTaken { highest }.into());
    }
    let next = Cohort {
        starts_on: change.starts_on,
        ends_on: change.ends_on,
        seats: change.seats,
        educator_id: change.educator_id,
        status: change.status,
        version: current.version + 1,
        ..current
    };
    let mut plan: Plan<AcademyError> = Plan::typed();
    plan.push(
        Write::put_if(to_item(&keys::cohort(t, id), "cohort", &next)?, Condition::equals("version", change.version)),
        AcademyError::Stale,
    );
    plan.commit_as(store, audit, "cohort.updated", id.as_str()).await?;
    Ok(next)
}
