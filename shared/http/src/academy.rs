//! The academy: courses (draft, publish, versions), cohorts (seats, educator, roster), desk and
//! online enrolment, and the public list of published courses with their open cohorts. The
//! role is checked before the body is read (403 before 422); educators reach only the cohorts
//! they teach (others are 404); every roster read is in the audit log.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::availability::public_tenant;
use super::error::{ApiError, ApiResult, ErrorEnvelope};
use super::extract::{Actor, JsonBody, PathParams};
use mas_domain::academy::{
    Cohort, CohortInput, Course, CourseInput, CourseVersion, Enrolment, EnrolmentStatus, Student,
};
use mas_domain::ids::{CohortId, CourseId, EnrolmentId, RequestId};
use mas_domain::team::Permission;
use mas_store::AuditContext;
use mas_usecases::app::App;
use mas_usecases::cohorts::{self, CohortChange, Viewer};
use mas_usecases::public_academy::PublicCourse;
use mas_usecases::{courses, enrolments};

// ---- Courses --------------------------------------------------------------------------------

/// The clinic's courses (their drafts, with the newest published version's number), by title.
#[utoipa::path(get, path = "/v1/courses", tag = "academy", operation_id = "list_courses", security(("staff_jwt" = [])),
    responses((status = 200, body = Vec<Course>), (status = 403, body = ErrorEnvelope)))]
pub async fn list_courses(State(app): State<Arc<App>>, actor: Actor) -> ApiResult<Json<Vec<Course>>> {
    actor.require(Permission::AcademyRead)?;
    Ok(Json(courses::list(&app.store, &actor.tenant_id).await?))
}

/// A new course, as a draft (owners and managers); publish it to run cohorts of it.
#[utoipa::path(post, path = "/v1/courses", tag = "academy", operation_id = "create_course", security(("staff_jwt" = [])),
    request_body = CourseInput,
    responses((status = 201, body = Course), (status = 403, body = ErrorEnvelope),
        (status = 409, description = "`slug_taken`", body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn create_course(
    State(app): State<Arc<App>>,
    actor: Actor,
    input: Result<JsonBody<CourseInput>, ApiError>,
) -> ApiResult<(StatusCode, Json<Course>)> {
    actor.require(Permission::AcademyManage)?;
    let JsonBody(input) = input?;
    Ok((StatusCode::CREATED, Json(courses::create(&app.store, &actor.audit(), input).await?)))
}

#[utoipa::path(get, path = "/v1/courses/{id}", tag = "academy", operation_id = "get_course", security(("staff_jwt" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Course), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn get_course(State(app): State<Arc<App>>, actor: Actor, path: PathParams) -> ApiResult<Json<Course>> {
    actor.require(Permission::AcademyRead)?;
    let id: CourseId = path.id("id", "course")?;
    Ok(Json(courses::get(&app.store, &actor.tenant_id, &id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplaceCourseInput {
    /// The course's `version` as read (optimistic concurrency).
    pub version: u64,
    pub course: CourseInput,
}

/// Replaces a course's draft (owners and managers). Published versions never change: students
/// keep the version they enrolled on.
#[utoipa::path(put, path = "/v1/courses/{id}", tag = "academy", operation_id = "replace_course", security(("staff_jwt" = [])),
    params(("id" = String, Path)), request_body = ReplaceCourseInput,
    responses((status = 200, body = Course), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, description = "`concurrent_update`, `slug_taken`", body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn replace_course(
    State(app): State<Arc<App>>,
    actor: Actor,
    path: PathParams,
    input: Result<JsonBody<ReplaceCourseInput>, ApiError>,
) -> ApiResult<Json<Course>> {
    actor.require(Permission::AcademyManage)?;
    let JsonBody(input) = input?;
    let id: CourseId = path.id("id", "course")?;
    Ok(Json(courses::replace(&app.store, &actor.audit(), &id, input.version, input.course).await?))
}

/// Publishes the draft as the next version, written once and never changed (owners and managers).
#[utoipa::path(post, path = "/v1/courses/{id}/publish", tag = "academy", operation_id = "publish_course", security(("staff_jwt" = [])),
    params(("id" = String, Path)),
    responses((status = 201, body = CourseVersion), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, description = "`version_published`: another publish won the race", body = ErrorEnvelope)))]
pub async fn publish_course(
    State(app): State<Arc<App>>,
    actor: Actor,
    path: PathParams,
) -> ApiResult<(StatusCode, Json<CourseVersion>)> {
    actor.require(Permission::AcademyManage)?;
    let id: CourseId = path.id("id", "course")?;
    Ok((StatusCode::CREATED, Json(courses::publish(&app.store, &actor.audit(), &id).await?)))
}

/// A course's published versions, oldest first, each as it was published.
#[utoipa::path(get, path = "/v1/courses/{id}/versions", tag = "academy", operation_id = "list_course_versions", security(("staff_jwt" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Vec<CourseVersion>), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn course_versions(
    State(app): State<Arc<App>>,
    actor: Actor,
    path: PathParams,
) -> ApiResult<Json<Vec<CourseVersion>>> {
    actor.require(Permission::AcademyRead)?;
    let id: CourseId = path.id("id", "course")?;
    Ok(Json(courses::versions(&app.store, &actor.tenant_id, &id).await?))
}

// ---- Cohorts --------------------------------------------------------------------------------

/// A cohort with how many seats nobody holds now.
#[derive(Debug, Serialize, ToSchema)]
pub struct CohortView {
    #[serde(flatten)]
    pub cohort: Cohort,
    pub seats_left: u32,
}

async fn view(app: &App, actor: &Actor, cohort: Cohort) -> ApiResult<CohortView> {
    let seats_left = cohorts::seats_left(&app.store, &cohort, &actor.tenant_id).await?;
    Ok(CohortView { cohort, seats_left })
}

/// The clinic's cohorts, soonest first (educators: the cohorts they teach).
#[utoipa::path(get, path = "/v1/cohorts", tag = "academy", operation_id = "list_cohorts", security(("staff_jwt" = [])),
    responses((status = 200, body = Vec<CohortView>), (status = 403, body = ErrorEnvelope)))]
pub async fn list_cohorts(State(app): State<Arc<App>>, actor: Actor) -> ApiResult<Json<Vec<CohortView>>> {
    actor.require(Permission::AcademyRead)?;
    let mut out = Vec::new();
    for cohort in cohorts::list(&app.store, &actor.tenant_id, &Viewer::of(&actor.member)).await? {
        out.push(view(&app, &actor, cohort).await?);
    }
    Ok(Json(out))
}

/// A new cohort of a published course (its newest version unless one is named), with dates,
/// seats and an educator from the team (owners and managers).
#[utoipa::path(post, path = "/v1/cohorts", tag = "academy", operation_id = "create_cohort", security(("staff_jwt" = [])),
    request_body = CohortInput,
    responses((status = 201, body = CohortView), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, description = "`not_published`", body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn create_cohort(
    State(app): State<Arc<App>>,
    actor: Actor,
    input: Result<JsonBody<CohortInput>, ApiError>,
) -> ApiResult<(StatusCode, Json<CohortView>)> {
    actor.require(Permission::AcademyManage)?;
    let JsonBody(input) = input?;
    let cohort = cohorts::create(&app.store, &actor.audit(), input).await?;
    Ok((StatusCode::CREATED, Json(view(&app, &actor, cohort).await?)))
}

#[utoipa::path(get, path = "/v1/cohorts/{id}", tag = "academy", operation_id = "get_cohort", security(("staff_jwt" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = CohortView), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn get_cohort(State(app): State<Arc<App>>, actor: Actor, path: PathParams) -> ApiResult<Json<CohortView>> {
    actor.require(Permission::AcademyRead)?;
    let id: CohortId = path.id("id", "cohort")?;
    let cohort = cohorts::get_for(&app.store, &actor.tenant_id, &Viewer::of(&actor.member), &id).await?;
    Ok(Json(view(&app, &actor, cohort).await?))
}

/// Changes a cohort's dates, seats (never below the highest seat held), educator or status
/// (owners and managers); its course version is fixed.
#[utoipa::path(put, path = "/v1/cohorts/{id}", tag = "academy", operation_id = "replace_cohort", security(("staff_jwt" = [])),
    params(("id" = String, Path)), request_body = CohortChange,
    responses((status = 200, body = CohortView), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, description = "`concurrent_update`, `seats_taken`", body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn replace_cohort(
    State(app): State<Arc<App>>,
    actor: Actor,
    path: PathParams,
    input: Result<JsonBody<CohortChange>, ApiError>,
) -> ApiResult<Json<CohortView>> {
    actor.require(Permission::AcademyManage)?;
    let JsonBody(input) = input?;
    let id: CohortId = path.id("id", "cohort")?;
    let cohort = cohorts::replace(&app.store, &actor.audit(), &id, input).await?;
    Ok(Json(view(&app, &actor, cohort).await?))
}

/// A cohort's roster: its enrolments, oldest first, with each student's name, email, seat and
/// status (educators: only the cohorts they teach). In the audit log as `cohort.roster_read`.
#[utoipa::path(get, path = "/v1/cohorts/{id}/enrolments", tag = "academy", operation_id = "cohort_roster", security(("staff_jwt" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Vec<Enrolment>), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn roster(State(app): State<Arc<App>>, actor: Actor, path: PathParams) -> ApiResult<Json<Vec<Enrolment>>> {
    actor.require(Permission::AcademyRead)?;
    let id: CohortId = path.id("id", "cohort")?;
    let roster = enrolments::roster(&app.store, &actor.tenant_id, &Viewer::of(&actor.member), &id).await?;
    mas_usecases::audit::record_read(&app.store, &actor.audit(), "cohort.roster_read", id.as_str()).await?;
    Ok(Json(roster))
}

/// Enrols a student at the desk (owners, managers, front desk): a seat is claimed and the
/// enrolment confirmed at once (the price is taken at the till). 409 `cohort_full` when no seat
/// is left, `already_enrolled` for an email holding a place.
#[utoipa::path(post, path = "/v1/cohorts/{id}/enrolments", tag = "academy", operation_id = "enrol_at_desk", security(("staff_jwt" = [])),
    params(("id" = String, Path)), request_body = Student,
    responses((status = 201, body = Enrolment), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, description = "`cohort_full`, `already_enrolled`, `cohort_started`, `cohort_closed`", body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn enrol_at_desk(
    State(app): State<Arc<App>>,
    actor: Actor,
    path: PathParams,
    input: Result<JsonBody<Student>, ApiError>,
) -> ApiResult<(StatusCode, Json<Enrolment>)> {
    actor.require(Permission::AcademyEnrol)?;
    let JsonBody(student) = input?;
    let id: CohortId = path.id("id", "cohort")?;
    Ok((StatusCode::CREATED, Json(enrolments::enrol_at_desk(&app.store, &actor.audit(), &id, student).await?)))
}

/// Cancels an enrolment (owners and managers): its seat goes back to the cohort. A paid place's
/// refund is made on the payment (refunds by policy are a later slice).
#[utoipa::path(post, path = "/v1/cohorts/{id}/enrolments/{enrolment_id}/cancel", tag = "academy", operation_id = "cancel_enrolment", security(("staff_jwt" = [])),
    params(("id" = String, Path), ("enrolment_id" = String, Path)),
    responses((status = 200, body = Enrolment), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, description = "`enrolment_cancelled`, `concurrent_update`", body = ErrorEnvelope)))]
pub async fn cancel_enrolment(
    State(app): State<Arc<App>>,
    actor: Actor,
    path: PathParams,
) -> ApiResult<Json<Enrolment>> {
    actor.require(Permission::AcademyManage)?;
    let cohort: CohortId = path.id("id", "cohort")?;
    let id: EnrolmentId = path.id("enrolment_id", "enrolment")?;
    Ok(Json(enrolments::cancel(&app.store, &actor.audit(), &Viewer::Clinic, &cohort, &id).await?))
}

// ---- Public -------------------------------------------------------------------------------

/// The clinic's published courses (as their newest version says: module and lesson titles, never
/// a lesson's text) with their open cohorts and the seats left.
#[utoipa::path(get, path = "/v1/public/{tenant_slug}/courses", tag = "public", operation_id = "public_courses",
    params(("tenant_slug" = String, Path)),
    responses((status = 200, body = Vec<PublicCourse>), (status = 404, body = ErrorEnvelope)))]
pub async fn public_courses(State(app): State<Arc<App>>, path: PathParams) -> ApiResult<Json<Vec<PublicCourse>>> {
    let tenant = public_tenant(&app, &path).await?;
    Ok(Json(mas_usecases::public_academy::courses(&app.store, &tenant.id).await?))
}

/// What the site shows after an enrolment: where to pay, or that it is confirmed.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnrolmentStarted {
    pub enrolment_id: EnrolmentId,
    pub status: EnrolmentStatus,
    pub seat: u32,
    pub price_minor: i64,
    /// The hosted payment page (a course with a price): the seat is held until it expires.
    pub pay_url: Option<String>,
    pub hold_until: Option<chrono::DateTime<chrono::Utc>>,
}

/// The clinic's site (`/sites/{slug}/` locally, `https://{slug}.{domain}/` on AWS).
fn site_base(app: &App, slug: &mas_domain::values::Slug) -> String {
    match app.public_url.as_deref() {
        Some(base) => format!("{base}/sites/{slug}/"),
        None => format!("https://{slug}.{}/", app.config.site_domain),
    }
}

/// Enrols a student on a cohort from the clinic's site. A seat is claimed at once (409
/// `cohort_full` when none is left); a free course is confirmed, otherwise the answer's
/// `pay_url` is a hosted page for the full price and the seat is held until it expires — the
/// Stripe webhook confirms the enrolment once it is paid. Deposits and instalments are a later
/// slice. Anonymous and rate limited per address (429 with `Retry-After`); nothing existing is
/// overwritten (an email holding a place is 409 `already_enrolled`).
#[utoipa::path(post, path = "/v1/public/{tenant_slug}/courses/{course_id}/cohorts/{cohort_id}/enrol", tag = "public",
    operation_id = "enrol_public",
    params(("tenant_slug" = String, Path), ("course_id" = String, Path), ("cohort_id" = String, Path)), request_body = Student,
    responses((status = 201, body = EnrolmentStarted), (status = 404, body = ErrorEnvelope),
        (status = 409, description = "`cohort_full`, `already_enrolled`, `cohort_started`, `cohort_closed`, `payments_not_connected`", body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
pub async fn enrol_public(
    State(app): State<Arc<App>>,
    path: PathParams,
    Extension(request_id): Extension<RequestId>,
    super::extract::RequestOrigin(origin): super::extract::RequestOrigin,
    JsonBody(student): JsonBody<Student>,
) -> ApiResult<(StatusCode, Json<EnrolmentStarted>)> {
    use mas_usecases::limits::take_for_address;
    let tenant = public_tenant(&app, &path).await?;
    take_for_address(&app.store, "enrol", origin.ip.as_deref(), app.limits.booking_per_address).await?;
    let course: CourseId = path.id("course_id", "course")?;
    let cohort: CohortId = path.id("cohort_id", "cohort")?;
    let audit = AuditContext { tenant_id: tenant.id.clone(), actor: "student".into(), role: None, request_id };
    let base = site_base(&app, &tenant.slug);
    let urls = enrolments::ReturnUrls {
        success: format!("{base}courses.html?enrolled={cohort}"),
        cancel: format!("{base}courses.html"),
    };
    let ports = mas_usecases::payments::Ports::of(&app);
    let destination = |amount| async move {
        mas_usecases::connect::destination(ports, &tenant.id, amount).await.map_err(mas_domain::error::AppError::from)
    };
    let checkout = enrolments::Checkout { payments: app.payments.as_ref(), destination, urls: &urls };
    let e = enrolments::enrol_online(&app.store, checkout, &audit, &course, &cohort, student).await?;
    Ok((
        StatusCode::CREATED,
        Json(EnrolmentStarted {
            enrolment_id: e.id,
            status: e.status,
            seat: e.seat,
            price_minor: e.price_minor,
            pay_url: e.pay_url,
            hold_until: e.hold_until,
        }),
    ))
}
