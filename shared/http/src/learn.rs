//! The student's side of the academy: sign-in by emailed link (answered the same whether or not
//! the email is enrolled; rate-limited per address and throttled per email), the student
//! session, the student's enrolments with lessons and progress, lessons completed, quiz
//! attempts (questions without answers; graded here), and for staff the cohort's gradebook.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::availability::public_tenant;
use super::error::{ApiError, ApiResult, ErrorEnvelope};
use super::extract::{Actor, JsonBody, PathParams};
use mas_domain::academy::student::StudentSession;
use mas_domain::error::AppError;
use mas_domain::ids::CohortId;
use mas_domain::team::Permission;
use mas_domain::values::{Email, Slug};
use mas_usecases::app::App;
use mas_usecases::cohorts::Viewer;
use mas_usecases::gradebook::{self, Gradebook};
use mas_usecases::learning::{self, LessonCompleted, MyLearning, StudentSessionIssued};
use mas_usecases::quizzes::{self, AttemptView, Submission};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StudentLinkRequest {
    pub email: Email,
}

#[derive(Serialize, ToSchema)]
pub struct StudentLinkAccepted {
    /// Always the same, whether or not the email is enrolled.
    pub status: &'static str,
}

/// Where the learning page is: beside the clinic's portal page on its site.
fn learn_url(app: &App, slug: &Slug) -> String {
    let portal = mas_usecases::app::portal_url(app.public_url.as_deref(), &app.config.site_domain, slug);
    format!("{}learn.html", portal.trim_end_matches("portal/"))
}

/// Emails a sign-in link to a student of the clinic (an email with a confirmed enrolment).
/// Answers 202 the same way for any email; at most one link a minute goes to an email.
#[utoipa::path(post, path = "/v1/public/{tenant_slug}/learn/link", tag = "learn", operation_id = "student_request_link",
    params(("tenant_slug" = String, Path)), request_body = StudentLinkRequest,
    responses((status = 202, body = StudentLinkAccepted), (status = 404, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
pub async fn request_link(
    State(app): State<Arc<App>>,
    path: PathParams,
    super::extract::RequestOrigin(origin): super::extract::RequestOrigin,
    JsonBody(body): JsonBody<StudentLinkRequest>,
) -> ApiResult<(StatusCode, Json<StudentLinkAccepted>)> {
    let limit = app.limits.portal_link_per_address;
    mas_usecases::limits::take_for_address(&app.store, "student-link", origin.ip.as_deref(), limit).await?;
    let tenant = public_tenant(&app, &path).await?;
    if let Some((token, expires_at)) = learning::request_link(&app.store, &tenant.id, &body.email).await? {
        let url = format!("{}#token={token}", learn_url(&app, &tenant.slug));
        let zone = tenant.timezone.tz();
        let lines = [
            format!("Here is your link to sign in to your courses at {}.", tenant.name),
            format!(
                "It works once, until {}. If you did not ask for it, you can ignore this email.",
                mas_domain::notifications::local_when(expires_at, zone)
            ),
        ];
        let subject = format!("Your sign-in link for {}", tenant.name);
        // A failure is logged, not answered: the answer must stay the one a stranger gets. The
        // link is a credential: never logged.
        if let Err(err) =
            mas_usecases::notifications::send_plain_mail(&app, &tenant, &body.email, subject, &lines, Some(&url)).await
        {
            tracing::error!(tenant_id = %tenant.id, %err, "a student sign-in link could not be sent");
        }
    }
    Ok((StatusCode::ACCEPTED, Json(StudentLinkAccepted { status: "sent_if_enrolled" })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StudentSessionRequest {
    pub token: String,
}

/// Exchanges a sign-in link's token (once, within 15 minutes) for a student session.
#[utoipa::path(post, path = "/v1/public/{tenant_slug}/learn/session", tag = "learn", operation_id = "student_open_session",
    params(("tenant_slug" = String, Path)), request_body = StudentSessionRequest,
    responses((status = 200, body = StudentSessionIssued), (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn open_session(
    State(app): State<Arc<App>>,
    path: PathParams,
    JsonBody(body): JsonBody<StudentSessionRequest>,
) -> ApiResult<Json<StudentSessionIssued>> {
    let tenant = public_tenant(&app, &path).await?;
    Ok(Json(learning::open_session(&app.store, &app.links, &tenant.id, &body.token).await.map_err(AppError::from)?))
}

fn session(app: &App, headers: &HeaderMap) -> ApiResult<StudentSession> {
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    Ok(learning::session(&app.store, &app.links, bearer).map_err(AppError::from)?)
}

/// The signed-in student's confirmed enrolments: each course as the version of its cohort, its
/// modules and lessons (the text of released ones) with the student's progress, the cohort's
/// dates and the quizzes with the student's results.
#[utoipa::path(get, path = "/v1/learn/enrolments", tag = "learn", operation_id = "student_enrolments",
    responses((status = 200, body = MyLearning), (status = 401, body = ErrorEnvelope)))]
pub async fn enrolments(State(app): State<Arc<App>>, headers: HeaderMap) -> ApiResult<Json<MyLearning>> {
    let session = session(&app, &headers)?;
    Ok(Json(learning::my_learning(&app.store, &session).await?))
}

/// Marks a lesson of the student's own version complete (idempotent). 404 for a lesson the
/// version does not have; 409 `not_released` before its module's release day.
#[utoipa::path(post, path = "/v1/learn/cohorts/{cohort_id}/lessons/{module}/{lesson}/complete", tag = "learn",
    operation_id = "student_complete_lesson",
    params(("cohort_id" = String, Path), ("module" = u32, Path, description = "From 1"), ("lesson" = u32, Path, description = "From 1 within its module")),
    responses((status = 200, body = LessonCompleted), (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, description = "`not_released`", body = ErrorEnvelope)))]
pub async fn complete_lesson(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    path: PathParams,
) -> ApiResult<Json<LessonCompleted>> {
    let session = session(&app, &headers)?;
    let cohort: CohortId = path.id("cohort_id", "enrolment")?;
    let module: u32 = path.id("module", "lesson")?;
    let lesson: u32 = path.id("lesson", "lesson")?;
    let done =
        learning::complete_lesson(&app.store, &session, &cohort, (module, lesson)).await.map_err(AppError::from)?;
    Ok(Json(done))
}

/// Starts the student's next attempt at a quiz: its questions (drawn for this attempt, without
/// their answers) and its deadline. 409 `attempt_open` while another is open (its number in
/// `details.attempt`), `attempt_limit` once every attempt is used.
#[utoipa::path(post, path = "/v1/learn/cohorts/{cohort_id}/quizzes/{quiz_id}/attempts", tag = "learn",
    operation_id = "student_start_attempt",
    params(("cohort_id" = String, Path), ("quiz_id" = String, Path)),
    responses((status = 201, body = AttemptView), (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, description = "`attempt_open`, `attempt_limit`", body = ErrorEnvelope)))]
pub async fn start_attempt(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    path: PathParams,
) -> ApiResult<(StatusCode, Json<AttemptView>)> {
    let session = session(&app, &headers)?;
    let cohort: CohortId = path.id("cohort_id", "enrolment")?;
    let quiz: Slug = path.id("quiz_id", "quiz")?;
    Ok((StatusCode::CREATED, Json(quizzes::start(&app.store, &session, &cohort, &quiz).await?)))
}

/// One of the student's attempts: its questions (without answers) and, once submitted, its grade.
#[utoipa::path(get, path = "/v1/learn/cohorts/{cohort_id}/quizzes/{quiz_id}/attempts/{number}", tag = "learn",
    operation_id = "student_get_attempt",
    params(("cohort_id" = String, Path), ("quiz_id" = String, Path), ("number" = u32, Path)),
    responses((status = 200, body = AttemptView), (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn get_attempt(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    path: PathParams,
) -> ApiResult<Json<AttemptView>> {
    let session = session(&app, &headers)?;
    let cohort: CohortId = path.id("cohort_id", "enrolment")?;
    let quiz: Slug = path.id("quiz_id", "quiz")?;
    let number: u32 = path.id("number", "attempt")?;
    Ok(Json(quizzes::get(&app.store, &session, &cohort, &quiz, number).await?))
}

/// Submits an attempt: graded on the server, once (a second submit changes nothing: 409
/// `already_submitted`), within its time limit and a 30-second grace (409 `time_up`).
#[utoipa::path(post, path = "/v1/learn/cohorts/{cohort_id}/quizzes/{quiz_id}/attempts/{number}/submit", tag = "learn",
    operation_id = "student_submit_attempt",
    params(("cohort_id" = String, Path), ("quiz_id" = String, Path), ("number" = u32, Path)), request_body = Submission,
    responses((status = 200, body = AttemptView), (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, description = "`already_submitted`, `time_up`", body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn submit_attempt(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    path: PathParams,
    body: Result<JsonBody<Submission>, ApiError>,
) -> ApiResult<Json<AttemptView>> {
    let session = session(&app, &headers)?;
    let JsonBody(submission) = body?;
    let cohort: CohortId = path.id("cohort_id", "enrolment")?;
    let quiz: Slug = path.id("quiz_id", "quiz")?;
    let number: u32 = path.id("number", "attempt")?;
    Ok(Json(quizzes::submit(&app.store, &session, &cohort, &quiz, number, submission).await?))
}

/// A cohort's gradebook: each confirmed student against each quiz (best score, attempts,
/// passed) and the lessons completed (educators: only the cohorts they teach). In the audit log
/// as `cohort.gradebook_read`.
#[utoipa::path(get, path = "/v1/cohorts/{id}/gradebook", tag = "academy", operation_id = "cohort_gradebook", security(("staff_jwt" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Gradebook), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn cohort_gradebook(
    State(app): State<Arc<App>>,
    actor: Actor,
    path: PathParams,
) -> ApiResult<Json<Gradebook>> {
    actor.require(Permission::AcademyRead)?;
    let id: CohortId = path.id("id", "cohort")?;
    let book = gradebook::gradebook(&app.store, &actor.tenant_id, &Viewer::of(&actor.member), &id).await?;
    mas_usecases::audit::record_read(&app.store, &actor.audit(), "cohort.gradebook_read", id.as_str()).await?;
    Ok(Json(book))
}
