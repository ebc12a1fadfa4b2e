//! Review routes: the client submits her review from its one-time link without signing in (the
//! link is signed and carries its expiry; rate limited like the other public writes); owners and
//! managers list reviews by status, publish, reject (take down) and answer them, and switch review
//! requests off. The role is checked before the body is read.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::availability::public_tenant;
use super::error::{ApiError, ApiResult, ErrorEnvelope};
use super::extract::{Actor, JsonBody, PathParams, QueryArgs};
use mas_domain::error::AppError;
use mas_domain::ids::{AppointmentId, RequestId};
use mas_domain::review::{LinkRefused, Review, ReviewSettings, ReviewStatus, read_token};
use mas_domain::team::Permission;
use mas_store::AuditContext;
use mas_usecases::app::App;
use mas_usecases::reviews::{self as ops, Submission, Submitted};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewInput {
    /// The `review` token of the link the client was sent.
    pub token: String,
    /// 1 to 5.
    pub rating: i64,
    /// 1 to 2,000 characters.
    pub text: String,
    /// The name it is shown under: her first name and initial when absent; never her full name
    /// or an email address.
    pub display_name: Option<String>,
}

/// Submits the review of a completed visit from its link: once (a second use is 409 `link_used`
/// and changes nothing). A link that is not ours is 404; one past its expiry, 410 `link_expired`.
/// The review waits for the clinic (`pending`) before it is shown.
#[utoipa::path(post, path = "/v1/public/{tenant_slug}/reviews", tag = "public", operation_id = "submit_review",
    params(("tenant_slug" = String, Path)), request_body = ReviewInput,
    responses((status = 201, body = Submitted), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope),
        (status = 410, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
pub async fn submit(
    State(app): State<Arc<App>>,
    path: PathParams,
    Extension(request_id): Extension<RequestId>,
    super::extract::RequestOrigin(origin): super::extract::RequestOrigin,
    JsonBody(input): JsonBody<ReviewInput>,
) -> ApiResult<(StatusCode, Json<Submitted>)> {
    use mas_usecases::limits::{take_for_address, take_from_window};
    let tenant = public_tenant(&app, &path).await?;
    take_for_address(&app.store, "review", origin.ip.as_deref(), app.limits.booking_per_address).await?;
    take_from_window(&app.store, &format!("review#clinic#{}", tenant.id), app.limits.booking_per_clinic).await?;
    let not_found = || ApiError::from(AppError::NotFound { what: "review link" });
    let (t, appointment_id, _) = match read_token(&app.links, &input.token, app.store.clock.now()) {
        Ok(named) => named,
        Err(LinkRefused::Forged) => return Err(not_found()),
        Err(LinkRefused::Expired) => {
            return Err(AppError::Gone {
                code: "link_expired",
                message: "this review link has expired; the clinic would still love to hear from you".into(),
            }
            .into());
        }
    };
    if t != tenant.id {
        return Err(not_found());
    }
    let audit = AuditContext { tenant_id: t, actor: "client".into(), role: None, request_id };
    let submission = Submission { rating: input.rating, text: input.text, display_name: input.display_name };
    let review = ops::submit(&app.store, &audit, &appointment_id, submission).await?;
    Ok((StatusCode::CREATED, Json(Submitted::from(&review))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReviewQuery {
    /// `pending` (the default), `published` or `rejected`.
    #[param(value_type = Option<ReviewStatus>)]
    pub status: Option<ReviewStatus>,
}

/// The clinic's reviews in one status (of the member's locations), newest first.
#[utoipa::path(get, path = "/v1/reviews", tag = "reviews", operation_id = "list_reviews", security(("staff_jwt" = [])),
    params(ReviewQuery),
    responses((status = 200, body = Vec<Review>), (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn list(
    State(app): State<Arc<App>>,
    actor: Actor,
    QueryArgs(query): QueryArgs<ReviewQuery>,
) -> ApiResult<Json<Vec<Review>>> {
    actor.require(Permission::ReviewsModerate)?;
    let status = query.status.unwrap_or(ReviewStatus::Pending);
    Ok(Json(ops::list(&app.store, &actor.tenant_id, &actor.reach(), status).await?))
}

async fn moderate(app: &App, actor: &Actor, path: &PathParams, status: ReviewStatus) -> ApiResult<Json<Review>> {
    actor.require(Permission::ReviewsModerate)?;
    let id: AppointmentId = path.id("id", "review")?;
    let review = ops::get(&app.store, &actor.tenant_id, &actor.reach(), &id).await?;
    Ok(Json(ops::moderate(&app.store, &actor.audit(), &review, status).await?))
}

/// Publishes a review on the clinic's site (which is published again).
#[utoipa::path(post, path = "/v1/reviews/{id}/publish", tag = "reviews", operation_id = "publish_review", security(("staff_jwt" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Review), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, description = "`review_changed`: moderated meanwhile", body = ErrorEnvelope)))]
pub async fn publish(State(app): State<Arc<App>>, actor: Actor, path: PathParams) -> ApiResult<Json<Review>> {
    moderate(&app, &actor, &path, ReviewStatus::Published).await
}

/// Rejects a review: it is not shown (a published one is taken down, and the site published again).
#[utoipa::path(post, path = "/v1/reviews/{id}/reject", tag = "reviews", operation_id = "reject_review", security(("staff_jwt" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Review), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, description = "`review_changed`: moderated meanwhile", body = ErrorEnvelope)))]
pub async fn reject(State(app): State<Arc<App>>, actor: Actor, path: PathParams) -> ApiResult<Json<Review>> {
    moderate(&app, &actor, &path, ReviewStatus::Rejected).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyInput {
    /// 1 to 1,000 characters, shown under the review on the site.
    pub text: String,
}

/// The clinic's public reply to a review (replacing any earlier one).
#[utoipa::path(put, path = "/v1/reviews/{id}/reply", tag = "reviews", operation_id = "reply_to_review", security(("staff_jwt" = [])),
    params(("id" = String, Path)), request_body = ReplyInput,
    responses((status = 200, body = Review), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn reply(
    State(app): State<Arc<App>>,
    actor: Actor,
    path: PathParams,
    input: Result<JsonBody<ReplyInput>, ApiError>,
) -> ApiResult<Json<Review>> {
    actor.require(Permission::ReviewsModerate)?;
    let JsonBody(input) = input?;
    let id: AppointmentId = path.id("id", "review")?;
    let review = ops::get(&app.store, &actor.tenant_id, &actor.reach(), &id).await?;
    Ok(Json(ops::reply(&app.store, &actor.audit(), &review, &input.text).await?))
}

/// Whether completed visits send review requests.
#[utoipa::path(get, path = "/v1/review-settings", tag = "reviews", operation_id = "get_review_settings", security(("staff_jwt" = [])),
    responses((status = 200, body = ReviewSettings), (status = 403, body = ErrorEnvelope)))]
pub async fn get_settings(State(app): State<Arc<App>>, actor: Actor) -> ApiResult<Json<ReviewSettings>> {
    actor.require(Permission::ReviewsModerate)?;
    Ok(Json(ops::settings(&app.store, &actor.tenant_id).await?))
}

/// Turns review requests on or off (visits completed from now on).
#[utoipa::path(put, path = "/v1/review-settings", tag = "reviews", operation_id = "put_review_settings", security(("staff_jwt" = [])),
    request_body = ReviewSettings,
    responses((status = 200, body = ReviewSettings), (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn put_settings(
    State(app): State<Arc<App>>,
    actor: Actor,
    input: Result<JsonBody<ReviewSettings>, ApiError>,
) -> ApiResult<Json<ReviewSettings>> {
    actor.require(Permission::ReviewsModerate)?;
    let JsonBody(settings) = input?;
    ops::put_settings(&app.store, &actor.audit(), &settings).await?;
    Ok(Json(settings))
}
