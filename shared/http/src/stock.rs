//! Products and stock: receive a delivery, adjust a level with a reason, a product's movements
//! at a location, a location's levels and its reorder list (JSON and CSV), a service's usage
//! list. The catalog's products are `/v1/products` (in `catalog`); selling is a sale's product
//! line (`POST /v1/sales`). The role is checked before the body is read (403 before 422), a
//! location outside the member's is 403; every change is in the audit log.
//!
//! Who may do what (`Permission`): the till's roles and practitioners see the stock; owners,
//! managers and the front desk receive deliveries (they sell, and open the boxes); only owners
//! and managers adjust a level (a count, damaged, expired, other), as only they void a sale.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::{ApiError, ApiResult, ErrorEnvelope};
use super::extract::{Actor, JsonBody, PathParams, QueryArgs};
use mas_domain::ids::{LocationId, ProductId, ServiceId};
use mas_domain::stock::{AdjustInput, Movement, ReceiveInput, UsageInput};
use mas_domain::team::Permission;
use mas_usecases::app::App;
use mas_usecases::stock::{self as ops, LevelView};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AtLocation {
    pub location_id: LocationId,
}

/// Records a delivery from a supplier at a location: the level goes up by its quantity (with
/// the supplier's reference and the unit cost, when given).
#[utoipa::path(post, path = "/v1/products/{id}/receive", tag = "stock", operation_id = "receive_stock", security(("staff_jwt" = [])),
    params(("id" = String, Path)), request_body = ReceiveInput,
    responses((status = 201, body = Movement), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, description = "`archived`: the product is archived; `concurrent_update`", body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn receive(
    State(app): State<Arc<App>>,
    actor: Actor,
    path: PathParams,
    input: Result<JsonBody<ReceiveInput>, ApiError>,
) -> ApiResult<(StatusCode, Json<Movement>)> {
    actor.require(Permission::StockReceive)?;
    // The role first: a caller who may not do this learns nothing from the body's errors.
    let JsonBody(input) = input?;
    let id: ProductId = path.id("id", "product")?;
    actor.reach().locations.require(&input.location_id)?;
    Ok((StatusCode::CREATED, Json(ops::receive(&app.store, &actor.audit(), &id, &input).await?)))
}

/// Adjusts a level with a reason (owners and managers): `count` sets it to what was counted;
/// `damaged` and `expired` take `quantity` away (never more than is on hand); `other` moves
/// `quantity` either way with a note.
#[utoipa::path(post, path = "/v1/products/{id}/adjust", tag = "stock", operation_id = "adjust_stock", security(("staff_jwt" = [])),
    params(("id" = String, Path)), request_body = AdjustInput,
    responses((status = 201, body = Movement), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, description = "`not_in_stock` (with `on_hand`): more would leave than is on hand; `archived`; `concurrent_update`", body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn adjust(
    State(app): State<Arc<App>>,
    actor: Actor,
    path: PathParams,
    input: Result<JsonBody<AdjustInput>, ApiError>,
) -> ApiResult<(StatusCode, Json<Movement>)> {
    actor.require(Permission::StockAdjust)?;
    // The role first: a caller who may not do this learns nothing from the body's errors.
    let JsonBody(input) = input?;
    let id: ProductId = path.id("id", "product")?;
    actor.reach().locations.require(&input.location_id)?;
    Ok((StatusCode::CREATED, Json(ops::adjust(&app.store, &actor.audit(), &id, &input).await?)))
}

/// A product's movements at a location, newest first: received, sold (which sale), returned by
/// a void, used in a treatment (which appointment), adjusted (why), each with who and when.
#[utoipa::path(get, path = "/v1/products/{id}/movements", tag = "stock", operation_id = "list_stock_movements", security(("staff_jwt" = [])),
    params(("id" = String, Path), AtLocation),
    responses((status = 200, body = Vec<Movement>), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn movements(
    State(app): State<Arc<App>>,
    actor: Actor,
    path: PathParams,
    query: Result<QueryArgs<AtLocation>, ApiError>,
) -> ApiResult<Json<Vec<Movement>>> {
    actor.require(Permission::StockRead)?;
    let QueryArgs(query) = query?;
    let id: ProductId = path.id("id", "product")?;
    actor.reach().locations.require(&query.location_id)?;
    Ok(Json(ops::movements(&app.store, &actor.tenant_id, &query.location_id, &id).await?))
}

/// Every product of the clinic at a location, by name: on hand (below zero when more were sold
/// or used than the books held), its reorder rule there, whether it is low.
#[utoipa::path(get, path = "/v1/stock", tag = "stock", operation_id = "list_stock_levels", security(("staff_jwt" = [])),
    params(AtLocation),
    responses((status = 200, body = Vec<LevelView>), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn levels(
    State(app): State<Arc<App>>,
    actor: Actor,
    query: Result<QueryArgs<AtLocation>, ApiError>,
) -> ApiResult<Json<Vec<LevelView>>> {
    actor.require(Permission::StockRead)?;
    let QueryArgs(query) = query?;
    actor.reach().locations.require(&query.location_id)?;
    Ok(Json(ops::levels(&app.store, &actor.tenant_id, &query.location_id).await?))
}

/// What a location should order: the products it stocks at or below their reorder level (those
/// below zero first), each with the suggested quantity (back to its level plus one order).
#[utoipa::path(get, path = "/v1/stock/reorder", tag = "stock", operation_id = "get_reorder_list", security(("staff_jwt" = [])),
    params(AtLocation),
    responses((status = 200, body = Vec<LevelView>), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn reorder(
    State(app): State<Arc<App>>,
    actor: Actor,
    query: Result<QueryArgs<AtLocation>, ApiError>,
) -> ApiResult<Json<Vec<LevelView>>> {
    actor.require(Permission::StockRead)?;
    let QueryArgs(query) = query?;
    actor.reach().locations.require(&query.location_id)?;
    Ok(Json(ops::reorder_list(&app.store, &actor.tenant_id, &query.location_id).await?))
}

/// The reorder list as CSV (RFC 4180, a header row): SKU, name, supplier, on hand, reorder
/// level, suggested quantity. Typed text a spreadsheet would run as a formula starts with `'`.
#[utoipa::path(get, path = "/v1/stock/reorder.csv", tag = "stock", operation_id = "export_reorder_list", security(("staff_jwt" = [])),
    params(AtLocation),
    responses((status = 200, content_type = "text/csv", body = String), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn reorder_csv(
    State(app): State<Arc<App>>,
    actor: Actor,
    query: Result<QueryArgs<AtLocation>, ApiError>,
) -> ApiResult<Response> {
    actor.require(Permission::StockRead)?;
    let QueryArgs(query) = query?;
    actor.reach().locations.require(&query.location_id)?;
    let list = ops::reorder_list(&app.store, &actor.tenant_id, &query.location_id).await?;
    use mas_domain::csv::{text_cell, write};
    let rows = list.iter().map(|v| {
        vec![
            text_cell(v.sku.as_str()),
            text_cell(&v.name),
            text_cell(v.supplier.as_deref().unwrap_or("")),
            v.on_hand.to_string(),
            v.reorder_level.to_string(),
            v.suggested_quantity.to_string(),
        ]
    });
    let text = write(&["sku", "name", "supplier", "on_hand", "reorder_level", "suggested_quantity"], rows);
    let disposition = format!("attachment; filename=\"reorder-{}.csv\"", query.location_id);
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, disposition)],
        text,
    )
        .into_response())
}

/// What one treatment of a service uses (deducted at its location when its appointment is
/// completed); empty when none was saved.
#[utoipa::path(get, path = "/v1/services/{id}/usage", tag = "stock", operation_id = "get_service_usage", security(("staff_jwt" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = UsageInput), (status = 404, body = ErrorEnvelope)))]
pub async fn get_usage(State(app): State<Arc<App>>, actor: Actor, path: PathParams) -> ApiResult<Json<UsageInput>> {
    actor.require(Permission::CatalogRead)?;
    let id: ServiceId = path.id("id", "service")?;
    Ok(Json(ops::usage(&app.store, &actor.tenant_id, &id).await?))
}

/// Replaces a service's usage list (owners and managers): each SKU a product of the clinic.
#[utoipa::path(put, path = "/v1/services/{id}/usage", tag = "stock", operation_id = "put_service_usage", security(("staff_jwt" = [])),
    params(("id" = String, Path)), request_body = UsageInput,
    responses((status = 200, body = UsageInput), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn put_usage(
    State(app): State<Arc<App>>,
    actor: Actor,
    path: PathParams,
    input: Result<JsonBody<UsageInput>, ApiError>,
) -> ApiResult<Json<UsageInput>> {
    actor.require(Permission::CatalogWrite)?;
    // The role first: a caller who may not do this learns nothing from the body's errors.
    let JsonBody(input) = input?;
    let id: ServiceId = path.id("id", "service")?;
    Ok(Json(ops::put_usage(&app.store, &actor.audit(), &id, input).await?))
}
