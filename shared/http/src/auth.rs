//! Staff sign-in routes (`/v1/auth/…`): public ones for signing in, refreshing, invitations and
//! password resets; staff ones for two-step sign-in and signing out everywhere.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiResult, ErrorEnvelope};
use super::extract::{Actor, JsonBody, PublicBase, RequestOrigin};
use mas_domain::auth::Password;
use mas_domain::ids::RequestId;
use mas_domain::values::{Email, Slug};
use mas_usecases::app::App;
use mas_usecases::auth::{self as ops, InvitationPreview, Session, SignInInput, TwoStepSetup};

/// Signs a staff member in. A wrong password and an unknown email answer alike (401
/// `invalid_credentials`); with two-step sign-in on and no right `code`, 401 `mfa_required`;
/// after repeated failures, 429 `too_many_attempts` with `Retry-After`.
#[utoipa::path(post, path = "/v1/auth/sign-in", tag = "auth", request_body = SignInInput,
    responses((status = 200, body = Session), (status = 401, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope),
        (status = 429, body = ErrorEnvelope)))]
pub async fn sign_in(
    State(app): State<Arc<App>>,
    Extension(request_id): Extension<RequestId>,
    RequestOrigin(origin): RequestOrigin,
    JsonBody(input): JsonBody<SignInInput>,
) -> ApiResult<Json<Session>> {
    Ok(Json(ops::sign_in(&app, origin.ip.as_deref(), request_id, input).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshInput {
    pub refresh_token: String,
}

/// Spends a refresh token for a new session (with a new refresh token). A spent token presented
/// again ends the session: 401 `session_ended`.
#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth", request_body = RefreshInput,
    responses((status = 200, body = Session), (status = 401, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn refresh(State(app): State<Arc<App>>, JsonBody(input): JsonBody<RefreshInput>) -> ApiResult<Json<Session>> {
    Ok(Json(ops::refresh(&app, &input.refresh_token).await?))
}

/// Ends the session of this refresh token.
#[utoipa::path(post, path = "/v1/auth/sign-out", tag = "auth", request_body = RefreshInput,
    responses((status = 204), (status = 422, body = ErrorEnvelope)))]
pub async fn sign_out(State(app): State<Arc<App>>, JsonBody(input): JsonBody<RefreshInput>) -> ApiResult<StatusCode> {
    ops::sign_out(&app, &input.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ends every session of the signed-in member, on every device, now.
#[utoipa::path(post, path = "/v1/auth/sign-out-everywhere", tag = "auth", security(("staff_jwt" = [])),
    responses((status = 204), (status = 401, body = ErrorEnvelope)))]
pub async fn sign_out_everywhere(State(app): State<Arc<App>>, actor: Actor) -> ApiResult<StatusCode> {
    ops::sign_out_everywhere(&app, &actor.audit(), &actor.member).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkToken {
    pub token: String,
}

/// Who an invitation is for (the page greets them by name before they choose a password).
#[utoipa::path(post, path = "/v1/auth/invitations/preview", tag = "auth", request_body = LinkToken,
    responses((status = 200, body = InvitationPreview), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn preview_invitation(
    State(app): State<Arc<App>>,
    JsonBody(input): JsonBody<LinkToken>,
) -> ApiResult<Json<InvitationPreview>> {
    Ok(Json(ops::preview_invitation(&app, &input.token).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPassword {
    pub token: String,
    pub password: Password,
}

/// Accepts an invitation (once): sets the member's password and signs them in.
#[utoipa::path(post, path = "/v1/auth/invitations/accept", tag = "auth", request_body = NewPassword,
    responses((status = 200, body = Session), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn accept_invitation(
    State(app): State<Arc<App>>,
    Extension(request_id): Extension<RequestId>,
    JsonBody(input): JsonBody<NewPassword>,
) -> ApiResult<Json<Session>> {
    Ok(Json(ops::accept_invitation(&app, &input.token, &input.password, request_id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    #[schema(value_type = String, example = "demo-clinic")]
    pub clinic: Slug,
    pub email: Email,
}

#[derive(Serialize, ToSchema)]
pub struct ResetAccepted {
    /// Always the same, whether or not the email is a member's.
    #[schema(example = "sent_if_known")]
    pub status: &'static str,
}

/// Emails a password reset link when the email is a member's; answers the same for any email.
#[utoipa::path(post, path = "/v1/auth/password-reset", tag = "auth", request_body = ResetRequest,
    responses((status = 202, body = ResetAccepted), (status = 422, body = ErrorEnvelope)))]
pub async fn request_password_reset(
    State(app): State<Arc<App>>,
    Extension(request_id): Extension<RequestId>,
    PublicBase(base): PublicBase,
    JsonBody(input): JsonBody<ResetRequest>,
) -> ApiResult<(StatusCode, Json<ResetAccepted>)> {
    ops::request_password_reset(&app, &base, &input.clinic, &input.email, request_id).await?;
    Ok((StatusCode::ACCEPTED, Json(ResetAccepted { status: "sent_if_known" })))
}

/// Sets a new password from a reset link (once); every session of the member ends.
#[utoipa::path(post, path = "/v1/auth/password-reset/confirm", tag = "auth", request_body = NewPassword,
    responses((status = 204), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn confirm_password_reset(
    State(app): State<Arc<App>>,
    Extension(request_id): Extension<RequestId>,
    JsonBody(input): JsonBody<NewPassword>,
) -> ApiResult<StatusCode> {
    ops::confirm_password_reset(&app, &input.token, &input.password, request_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Starts two-step sign-in (owners and managers): a secret for an authenticator app, pending
/// until `POST /v1/auth/mfa/enable` confirms a code from it.
#[utoipa::path(post, path = "/v1/auth/mfa/setup", tag = "auth", security(("staff_jwt" = [])),
    responses((status = 200, body = TwoStepSetup), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
pub async fn start_two_step(State(app): State<Arc<App>>, actor: Actor) -> ApiResult<Json<TwoStepSetup>> {
    Ok(Json(ops::start_two_step(&app, &actor.audit(), &actor.member).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeInput {
    #[schema(example = "123456")]
    pub code: String,
}

/// Turns two-step sign-in on with a code from the pending secret.
#[utoipa::path(post, path = "/v1/auth/mfa/enable", tag = "auth", security(("staff_jwt" = [])), request_body = CodeInput,
    responses((status = 204), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn enable_two_step(
    State(app): State<Arc<App>>,
    actor: Actor,
    JsonBody(input): JsonBody<CodeInput>,
) -> ApiResult<StatusCode> {
    ops::enable_two_step(&app, &actor.audit(), &actor.member, &input.code).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Turns two-step sign-in off, with a current code.
#[utoipa::path(post, path = "/v1/auth/mfa/disable", tag = "auth", security(("staff_jwt" = [])), request_body = CodeInput,
    responses((status = 204), (status = 401, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn disable_two_step(
    State(app): State<Arc<App>>,
    actor: Actor,
    JsonBody(input): JsonBody<CodeInput>,
) -> ApiResult<StatusCode> {
    ops::disable_two_step(&app, &actor.audit(), &actor.member, &input.code).await?;
    Ok(StatusCode::NO_CONTENT)
}
