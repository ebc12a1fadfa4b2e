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
    /// What a client agrees to by `card_on_file_consent` when booking under the version in force
    /// (show it beside the box; the booking stores the words).
    pub card_on_file_terms: String,
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
    let in_force = Policy::in_force(&versions, today);
    Ok(Json(Policies { card_on_file_terms: in_force.card_on_file_terms(), in_force, versions }))
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

/// The policy a client books under, as the clinic's site shows it: its fees and what keeping a
/// card on file for them means.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicPolicy {
    pub version: u32,
    /// Cancelling this many hours or fewer before the start costs `cancellation_fee_percent` of the price.
    pub cancellation_window_hours: u32,
    pub cancellation_fee_percent: u8,
    /// Percent of the price a missed appointment costs.
    pub no_show_fee_percent: u8,
    pub reschedule_allowed: bool,
    pub reschedule_window_hours: u32,
    /// The words a visitor agrees to with `card_on_file_consent` when booking: show them beside
    /// the box (the booking stores them).
    pub card_on_file_terms: String,
}

/// The clinic's policy in force today (what a booking made now is held to), for its site.
#[utoipa::path(get, path = "/v1/public/{tenant_slug}/policy", tag = "public", operation_id = "get_public_policy",
    params(("tenant_slug" = String, Path)),
    responses((status = 200, body = PublicPolicy), (status = 404, body = ErrorEnvelope)))]
pub async fn public(State(app): State<Arc<App>>, path: super::extract::PathParams) -> ApiResult<Json<PublicPolicy>> {
    let tenant = super::availability::public_tenant(&app, &path).await?;
    let policy = ops::in_force(&app.store, &tenant.id, tenant.timezone, app.store.clock.now()).await?;
    let input = &policy.input;
    Ok(Json(PublicPolicy {
        version: policy.version,
        cancellation_window_hours: input.cancellation_window_hours,
        cancellation_fee_percent: input.cancellation_fee_percent,
        no_show_fee_percent: input.no_show_fee_percent,
        reschedule_allowed: input.reschedule_allowed,
        reschedule_window_hours: input.reschedule_window_hours,
        card_on_file_terms: policy.card_on_file_terms(),
    }))
}
