//! Courses: a draft the clinic edits (versioned writes), and published versions, each a new item
//! written once with "not exists" and never changed (as document templates are), so a student
//! keeps the version they enrolled on whatever the draft becomes.

use mas_domain::academy::{Course, CourseInput, CourseVersion, Prerequisite};
use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::{CourseId, TenantId};
use mas_ports::{Condition, Query, SortKey, Write};
use mas_store::{AuditContext, Plan, Store, from_item, keys, to_item};

use crate::AcademyError;

pub async fn get(store: &Store, t: &TenantId, id: &CourseId) -> AppResult<Course> {
    store.get(&keys::course(t, id)).await?.ok_or(AppError::NotFound { what: "course" })
}

/// The clinic's courses (drafts with their newest published version), by title.
pub async fn list(store: &Store, t: &TenantId) -> AppResult<Vec<Course>> {
    let query = Query::partition(keys::academy_pk(t)).sk(SortKey::BeginsWith(keys::COURSE_PREFIX.into()));
    let mut courses: Vec<Course> =
        store.table.query_all(&query).await?.into_iter().map(from_item).collect::<AppResult<_>>()?;
    courses.sort_by(|a, b| a.draft.title.as_str().cmp(b.draft.title.as_str()));
    Ok(courses)
}

/// A course's published versions, oldest first.
pub async fn versions(store: &Store, t: &TenantId, id: &CourseId) -> AppResult<Vec<CourseVersion>> {
    get(store, t, id).await?;
    let query = Query::partition(keys::course_versions_pk(t, id));
    store.table.query_all(&query).await?.into_iter().map(from_item).collect()
}

pub async fn version(store: &Store, t: &TenantId, id: &CourseId, number: u32) -> AppResult<Option<CourseVersion>> {
    store.get(&keys::course_version(t, id, number)).await
}

/// Each prerequisite course is one of the clinic's.
async fn check_prerequisites(store: &Store, t: &TenantId, input: &CourseInput) -> Result<(), AcademyError> {
    for (i, prerequisite) in input.prerequisites.iter().enumerate() {
        if let Prerequisite::Course { course_id } = prerequisite
            && store.get::<Course>(&keys::course(t, course_id)).await?.is_none()
        {
            return Err(AcademyError::UnknownPrerequisite { field: format!("prerequisites[{i}].course_id") });
        }
    }
    Ok(())
}

fn slug_claim(t: &TenantId, course: &Course) -> AppResult<Write> {
    let item = to_item(
        &keys::course_slug(t, &course.draft.slug),
        "course_slug",
        &serde_json::json!({ "course_id": course.id }),
    )?;
    Ok(Write::put_new(item))
}

/// A new course (a draft, unpublished); its slug is claimed in the clinic.
pub async fn create(store: &Store, audit: &AuditContext, input: CourseInput) -> AppResult<Course> {
    let t = &audit.tenant_id;
    let id = CourseId::new();
    input.check(Some(&id))?;
    check_prerequisites(store, t, &input).await?;
    let now = store.clock.now();
    let course =
        Course { id: id.clone(), draft: input, published_version: None, version: 1, created_at: now, updated_at: now };
    let mut plan: Plan<AcademyError> = Plan::typed();
    plan.push(
        Write::put_new(to_item(&keys::course(t, &id), "course", &course)?),
        AppError::conflict("id_taken", "an id clash; try again"),
    );
    plan.push(slug_claim(t, &course)?, AcademyError::SlugTaken);
    plan.commit_as(store, audit, "course.created", id.as_str()).await?;
    Ok(course)
}

/// Replaces the draft, on condition of the version read (`version`); published versions are
/// untouched. A new slug is claimed and the old one given back.
pub async fn replace(
    store: &Store,
    audit: &AuditContext,
    id: &CourseId,
    expected_version: u64,
    input: CourseInput,
) -> AppResult<Course> {
    let t = &audit.tenant_id;
    input.check(Some(id))?;
    check_prerequisites(store, t, &input).await?;
    let current = get(store, t, id).await?;
    if current.version != expected_version {
        return Err(AcademyError::Stale.into());
    }
    let mut next = current.clone();
    next.draft = input;
    next.version += 1;
    next.updated_at = store.clock.now();
    let mut plan: Plan<AcademyError> = Plan::typed();
    plan.push(
        Write::put_if(to_item(&keys::course(t, id), "course", &next)?, Condition::equals("version", expected_version)),
        AcademyError::Stale,
    );
    if next.draft.slug != current.draft.slug {
        plan.push(slug_claim(t, &next)?, AcademyError::SlugTaken);
        plan.push(Write::delete(keys::course_slug(t, &current.draft.slug)), AcademyError::Stale);
    }
    plan.commit_as(store, audit, "course.updated", id.as_str()).await?;
    Ok(next)
}

/// Publishes the draft as the next version: the version is put with "not exists" (written once)
/// and the course's `published_version` moved on, on condition of the version read, in one
/// transaction; of two publishes at once, one wins.
pub async fn publish(store: &Store, audit: &AuditContext, id: &CourseId) -> AppResult<CourseVersion> {
    let t = &audit.tenant_id;
    let course = get(store, t, id).await?;
    let currency = crate::tenant(store, t).await?.currency;
    let version = course.publish(currency, store.clock.now(), &audit.actor);
    let mut next = course.clone();
    next.published_version = Some(version.number);
    next.version += 1;
    let mut plan: Plan<AcademyError> = Plan::typed();
    plan.push(
        Write::put_new(to_item(&keys::course_version(t, id, version.number), "course_version", &version)?),
        AcademyError::VersionPublished,
    );
    plan.push(
        Write::put_if(to_item(&keys::course(t, id), "course", &next)?, Condition::equals("version", course.version)),
        AcademyError::VersionPublished,
    );
    plan.commit_as(store, audit, "course.published", &format!("{id}#v{}", version.number)).await?;
    Ok(version)
}
