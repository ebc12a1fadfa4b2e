//! Team routes.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use super::error::{ApiError, ApiResult, ErrorEnvelope};
use super::extract::{Actor, JsonBody, PathParams, PublicBase};
use mas_domain::ids::MemberId;
use mas_domain::team::{Member, MemberInput, Permission};
use mas_usecases::app::App;
use mas_usecases::team as ops;

#[utoipa::path(get, path = "/v1/team", tag = "team", operation_id = "list_members", security(("staff_jwt" = [])),
    responses((status = 200, body = Vec<Member>), (status = 401, body = ErrorEnvelope)))]
pub async fn list(State(app): State<Arc<App>>, actor: Actor) -> ApiResult<Json<Vec<Member>>> {
    actor.require(Permission::TeamRead)?;
    Ok(Json(ops::list(&app.store, &actor.tenant_id).await?))
}

/// Adds a member and emails them an invitation to choose a password (7 days, single use).
#[utoipa::path(post, path = "/v1/team", tag = "team", operation_id = "add_member", security(("staff_jwt" = [])), request_body = MemberInput,
    responses((status = 201, body = Member), (status = 403, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn create(
    State(app): State<Arc<App>>,
    actor: Actor,
    PublicBase(base): PublicBase,
    input: Result<JsonBody<MemberInput>, ApiError>,
) -> ApiResult<(StatusCode, Json<Member>)> {
    actor.require(Permission::TeamWrite)?;
    // The role first: a caller who may not do this learns nothing from the body's errors.
    let JsonBody(input) = input?;
    let member = ops::create(&app.store, &actor.audit(), actor.member.input.role, input).await?;
    mas_usecases::auth::invite(&app, &actor.audit(), &base, &member).await?;
    Ok((StatusCode::CREATED, Json(member)))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct InvitationSent {
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// Emails the member a new invitation (an earlier one still works until it expires).
#[utoipa::path(post, path = "/v1/team/{id}/invitation", tag = "team", security(("staff_jwt" = [])), params(("id" = String, Path)),
    responses((status = 202, body = InvitationSent), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn resend_invitation(
    State(app): State<Arc<App>>,
    actor: Actor,
    PublicBase(base): PublicBase,
    path: PathParams,
) -> ApiResult<(StatusCode, Json<InvitationSent>)> {
    actor.require(Permission::TeamWrite)?;
    let id: MemberId = path.id("id", "team member")?;
    let member = ops::get(&app.store, &actor.tenant_id, &id).await?;
    let expires_at = mas_usecases::auth::invite(&app, &actor.audit(), &base, &member).await?;
    Ok((StatusCode::ACCEPTED, Json(InvitationSent { expires_at })))
}

#[utoipa::path(get, path = "/v1/team/{id}", tag = "team", operation_id = "get_member", security(("staff_jwt" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Member), (status = 404, body = ErrorEnvelope)))]
pub async fn get(State(app): State<Arc<App>>, actor: Actor, path: PathParams) -> ApiResult<Json<Member>> {
    actor.require(Permission::TeamRead)?;
    let id: MemberId = path.id("id", "team member")?;
    Ok(Json(ops::get(&app.store, &actor.tenant_id, &id).await?))
}

#[utoipa::path(put, path = "/v1/team/{id}", tag = "team", operation_id = "replace_member", security(("staff_jwt" = [])), params(("id" = String, Path)),
    request_body = MemberInput,
    responses((status = 200, body = Member), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn replace(
    State(app): State<Arc<App>>,
    actor: Actor,
    path: PathParams,
    input: Result<JsonBody<MemberInput>, ApiError>,
) -> ApiResult<Json<Member>> {
    actor.require(Permission::TeamWrite)?;
    // The role first: a caller who may not do this learns nothing from the body's errors.
    let JsonBody(input) = input?;
    let id: MemberId = path.id("id", "team member")?;
    Ok(Json(ops::replace(&app.store, &actor.audit(), actor.member.input.role, &id, input).await?))
}

/// Removes the member; their tokens stop working at once.
#[utoipa::path(delete, path = "/v1/team/{id}", tag = "team", operation_id = "remove_member", security(("staff_jwt" = [])), params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope)))]
pub async fn remove(State(app): State<Arc<App>>, actor: Actor, path: PathParams) -> ApiResult<StatusCode> {
    actor.require(Permission::TeamWrite)?;
    let id: MemberId = path.id("id", "team member")?;
    let removed = ops::remove(&app.store, &actor.audit(), actor.member.input.role, &id).await?;
    mas_usecases::auth::forget(&app, &actor.tenant_id, &removed).await?;
    Ok(StatusCode::NO_CONTENT)
}
