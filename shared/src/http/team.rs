//! Team routes.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use super::error::{ApiResult, ErrorEnvelope};
use super::extract::{Actor, JsonBody, PathParams};
use crate::app::App;
use crate::domain::team::{Member, MemberInput, Permission};
use crate::ids::MemberId;
use crate::ops::team as ops;

#[utoipa::path(get, path = "/v1/team", tag = "team", security(("staff_jwt" = [])),
    responses((status = 200, body = Vec<Member>), (status = 401, body = ErrorEnvelope)))]
pub async fn list(State(app): State<Arc<App>>, actor: Actor) -> ApiResult<Json<Vec<Member>>> {
    actor.require(Permission::TeamRead)?;
    Ok(Json(ops::list(&app.store, &actor.tenant_id).await?))
}

#[utoipa::path(post, path = "/v1/team", tag = "team", security(("staff_jwt" = [])), request_body = MemberInput,
    responses((status = 201, body = Member), (status = 403, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn create(
    State(app): State<Arc<App>>,
    actor: Actor,
    JsonBody(input): JsonBody<MemberInput>,
) -> ApiResult<(StatusCode, Json<Member>)> {
    actor.require(Permission::TeamWrite)?;
    Ok((StatusCode::CREATED, Json(ops::create(&app.store, &actor.audit(), actor.member.input.role, input).await?)))
}

#[utoipa::path(get, path = "/v1/team/{id}", tag = "team", security(("staff_jwt" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Member), (status = 404, body = ErrorEnvelope)))]
pub async fn get(State(app): State<Arc<App>>, actor: Actor, path: PathParams) -> ApiResult<Json<Member>> {
    actor.require(Permission::TeamRead)?;
    let id: MemberId = path.id("id", "team member")?;
    Ok(Json(ops::get(&app.store, &actor.tenant_id, &id).await?))
}

#[utoipa::path(put, path = "/v1/team/{id}", tag = "team", security(("staff_jwt" = [])), params(("id" = String, Path)),
    request_body = MemberInput,
    responses((status = 200, body = Member), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn replace(
    State(app): State<Arc<App>>,
    actor: Actor,
    path: PathParams,
    JsonBody(input): JsonBody<MemberInput>,
) -> ApiResult<Json<Member>> {
    actor.require(Permission::TeamWrite)?;
    let id: MemberId = path.id("id", "team member")?;
    Ok(Json(ops::replace(&app.store, &actor.audit(), actor.member.input.role, &id, input).await?))
}

/// Removes the member; their tokens stop working at once.
#[utoipa::path(delete, path = "/v1/team/{id}", tag = "team", security(("staff_jwt" = [])), params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope)))]
pub async fn remove(State(app): State<Arc<App>>, actor: Actor, path: PathParams) -> ApiResult<StatusCode> {
    actor.require(Permission::TeamWrite)?;
    let id: MemberId = path.id("id", "team member")?;
    ops::remove(&app.store, &actor.audit(), actor.member.input.role, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
