//! Loyalty: the clinic's programme (read by the till's roles, saved by owners and managers on
//! condition of the version read), a client's points and ledger (the client file, the till), a
//! staff adjustment with its reason, and the client's own points in the portal. Earning and
//! spending are a sale's (`POST /v1/sales`, a `loyalty` tender). The role is checked before the
//! body is read (403 before 422); reading a client's ledger is in the audit log.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::{ApiError, ApiResult, ErrorEnvelope};
use super::extract::{Actor, JsonBody, PathParams};
use mas_domain::ids::ClientId;
use mas_domain::loyalty::{Programme, ProgrammeInput};
use mas_domain::sale::Reason;
use mas_domain::team::Permission;
use mas_usecases::app::App;
use mas_usecases::loyalty::{self as ops, AccountView, PortalLoyalty};

/// The programme in force (off, version 0, until an owner or manager saves one).
#[utoipa::path(get, path = "/v1/loyalty/programme", tag = "loyalty", operation_id = "get_loyalty_programme", security(("staff_jwt" = [])),
    responses((status = 200, body = Programme), (status = 403, body = ErrorEnvelope)))]
pub async fn get_programme(State(app): State<Arc<App>>, actor: Actor) -> ApiResult<Json<Programme>> {
    actor.require(Permission::LoyaltyRead)?;
    Ok(Json(ops::programme(&app.store, &actor.tenant_id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgrammeBody {
    #[serde(flatten)]
    pub programme: ProgrammeInput,
    /// The version read; when given, a programme saved meanwhile makes this 409 `stale_version`.
    #[serde(default)]
    pub expected_version: Option<u64>,
}

/// Replaces the programme (owners and managers), audited.
#[utoipa::path(put, path = "/v1/loyalty/programme", tag = "loyalty", operation_id = "save_loyalty_programme", security(("staff_jwt" = [])),
    request_body = ProgrammeBody,
    responses((status = 200, body = Programme), (status = 403, body = ErrorEnvelope),
        (status = 409, description = "`stale_version`: saved meanwhile; reload it", body = ErrorEnvelope),
        (status = 422, description = "`invalid_programme` at the field", body = ErrorEnvelope)))]
pub async fn save_programme(
    State(app): State<Arc<App>>,
    actor: Actor,
    input: Result<JsonBody<ProgrammeBody>, ApiError>,
) -> ApiResult<Json<Programme>> {
    actor.require(Permission::LoyaltyManage)?;
    let JsonBody(input) = input?;
    Ok(Json(ops::save_programme(&app.store, &actor.audit(), input.programme, input.expected_version).await?))
}

/// A client's points: balance and what it is worth, tier, points earned in the last twelve
/// months, and her ledger newest first (in the audit log as `loyalty.opened`).
#[utoipa::path(get, path = "/v1/clients/{id}/loyalty", tag = "loyalty", operation_id = "get_client_loyalty", security(("staff_jwt" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = AccountView), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn account(State(app): State<Arc<App>>, actor: Actor, path: PathParams) -> ApiResult<Json<AccountView>> {
    actor.require(Permission::LoyaltyRead)?;
    let id: ClientId = path.id("id", "client")?;
    actor.admit_client(&app, &id).await?;
    // A client of no record here (another clinic's included) is 404.
    mas_usecases::clients::get(&app.store, &actor.tenant_id, &id).await?;
    let view = ops::view(&app.store, &actor.tenant_id, &id, ops::LEDGER_LIMIT).await?;
    mas_usecases::audit::record_read(&app.store, &actor.audit(), "loyalty.opened", id.as_str()).await?;
    Ok(Json(view))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentInput {
    /// Points added (positive) or taken off (negative); never below a zero balance.
    pub points: i64,
    /// Why (kept on the ledger and the audit log).
    pub reason: Reason,
}

/// Adjusts a client's points by hand (owners and managers), with the reason: a goodwill
/// gesture, a correction. Adjustments never count towards a tier.
#[utoipa::path(post, path = "/v1/clients/{id}/loyalty/adjustments", tag = "loyalty", operation_id = "adjust_client_loyalty", security(("staff_jwt" = [])),
    params(("id" = String, Path)), request_body = AdjustmentInput,
    responses((status = 200, body = AccountView), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, description = "`loyalty_insufficient` (with `balance`): it would go below zero; `concurrent_update`", body = ErrorEnvelope),
        (status = 422, description = "`invalid_points`", body = ErrorEnvelope)))]
pub async fn adjust(
    State(app): State<Arc<App>>,
    actor: Actor,
    path: PathParams,
    input: Result<JsonBody<AdjustmentInput>, ApiError>,
) -> ApiResult<Json<AccountView>> {
    actor.require(Permission::LoyaltyManage)?;
    // The role first: a caller who may not do this learns nothing from the body's errors.
    let JsonBody(input) = input?;
    let id: ClientId = path.id("id", "client")?;
    actor.admit_client(&app, &id).await?;
    // A client of no record here (another clinic's included) is 404.
    mas_usecases::clients::get(&app.store, &actor.tenant_id, &id).await?;
    Ok(Json(ops::adjust(&app.store, &actor.audit(), &id, input.points, &input.reason).await?))
}

/// The client's own points: balance, what it is worth, tier and her latest movements.
#[utoipa::path(get, path = "/v1/portal/loyalty", tag = "portal", operation_id = "portal_loyalty",
    responses((status = 200, body = PortalLoyalty), (status = 401, body = ErrorEnvelope)))]
pub async fn portal(State(app): State<Arc<App>>, headers: HeaderMap) -> ApiResult<Json<PortalLoyalty>> {
    let session = super::portal::session(&app, &headers).await?;
    Ok(Json(ops::for_portal(&app.store, &session.tenant_id, &session.client_id).await?))
}
