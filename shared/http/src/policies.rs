//! The clinic's booking and money policy: every version, the one in force, and publishing a new one.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::error::{ApiError, ApiResult, ErrorEnvelope};
use super::extract::{Actor, JsonBody};
use mas_domain::policy::{Policy, PolicyInput};
use mas_domain::team::Permission;
use mas_usecases::app::App;
use mas_usecases::{policies as ops, tenants};

#[derive(Debug, Serialize, ToSchema)]
pub struct Policies {
    /// The version new bookings get today.
    pub in_force: Policy,
    /// Every published version, oldest first (version 0, the platform default, is implied).
    pub versions: Vec<Policy>,
}

#[utoipa::path(get, path = "/v1/policies", operation_id = "get_policies", tag = "policies", security(("staff_jwt" = [])),
    responses((status = 200, body = Policies), (status = 401, body = ErrorEnvelope)))]
pub async fn get(State(app): State<Arc<App>>, actor: Actor) -> ApiResult<Json<Policies>> {
    actor.require(Permission::BookingRead)?;
    let tenant = tenants::tenant(&app.store, &actor.tenant_id).await?;
    let versions = ops::versions(&app.store, &tenant.id).await?;
    let today = ops::local_day(app.store.clock.now(), tenant.timezone);
    Ok(Json(Policies { in_force: Policy::in_force(&versions, today), versions }))
}

/// Publishes a new version (effective today unless `effective_from` says a later day); existing
/// appointments keep the version they were booked under.
#[utoipa::path(put, path = "/v1/policies", operation_id = "publish_policy", tag = "policies", security(("staff_jwt" = [])), request_body = PolicyInput,
    responses((status = 201, body = Policy), (status = 403, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn put(
    State(app): State<Arc<App>>,
    actor: Actor,
    input: Result<JsonBody<PolicyInput>, ApiError>,
) -> ApiResult<(StatusCode, Json<Policy>)> {
    actor.require(Permission::CatalogWrite)?;
    // The role first: a caller who may not do this learns nothing from the body's errors.
    let JsonBody(input) = input?;
    let tenant = tenants::tenant(&app.store, &actor.tenant_id).await?;
    Ok((StatusCode::CREATED, Json(ops::publish(&app.store, &actor.audit(), tenant.timezone, input).await?)))
}
