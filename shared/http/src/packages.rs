//! A client's packages of sessions: her list (the client file), one package with its history,
//! and its void. Templates are the catalog's (`/v1/package-templates`, in `catalog`); selling a
//! package is a sale's `package` line and redeeming a session a service line's `package_id`
//! (`POST /v1/sales`). The role is checked before the body is read (403 before 422); a
//! package's history read is in the audit log.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::{ApiError, ApiResult, ErrorEnvelope};
use super::extract::{Actor, JsonBody, PathParams};
use mas_domain::ids::{ClientId, PackageId};
use mas_domain::package::Package;
use mas_domain::sale::Reason;
use mas_domain::team::Permission;
use mas_usecases::app::App;
use mas_usecases::packages::{self as ops, PackageView};

/// The packages a client holds, newest first: sessions used and remaining, expiry, status
/// (`expired` once past its expiry).
#[utoipa::path(get, path = "/v1/clients/{id}/packages", tag = "packages", operation_id = "list_client_packages", security(("staff_jwt" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Vec<Package>), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn for_client(State(app): State<Arc<App>>, actor: Actor, path: PathParams) -> ApiResult<Json<Vec<Package>>> {
    actor.require(Permission::PackagesRead)?;
    let id: ClientId = path.id("id", "client")?;
    actor.admit_client(&app, &id).await?;
    // A client of no record here (another clinic's included) is 404, not an empty list.
    mas_usecases::clients::get(&app.store, &actor.tenant_id, &id).await?;
    Ok(Json(ops::for_client(&app.store, &actor.tenant_id, &id).await?))
}

/// A package and its history: sold, sessions redeemed (by which sale and visit), given back by
/// voids and refunds, voided (in the audit log as `package.opened`).
#[utoipa::path(get, path = "/v1/packages/{id}", tag = "packages", operation_id = "get_package", security(("staff_jwt" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = PackageView), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn get(State(app): State<Arc<App>>, actor: Actor, path: PathParams) -> ApiResult<Json<PackageView>> {
    actor.require(Permission::PackagesRead)?;
    let id: PackageId = path.id("id", "package")?;
    let view = ops::view(&app.store, &actor.tenant_id, &id).await?;
    actor.admit_client(&app, &view.package.client_id).await?;
    mas_usecases::audit::record_read(&app.store, &actor.audit(), "package.opened", id.as_str()).await?;
    Ok(Json(view))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoidPackageInput {
    /// Why (kept on the package and the audit log).
    pub reason: Reason,
}

/// Voids a package (owners and managers): no session of it can be used any more.
#[utoipa::path(post, path = "/v1/packages/{id}/void", tag = "packages", operation_id = "void_package", security(("staff_jwt" = [])),
    params(("id" = String, Path)), request_body = VoidPackageInput,
    responses((status = 200, body = Package), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, description = "`package_voided`: voided already; `concurrent_update`", body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn void(
    State(app): State<Arc<App>>,
    actor: Actor,
    path: PathParams,
    input: Result<JsonBody<VoidPackageInput>, ApiError>,
) -> ApiResult<Json<Package>> {
    actor.require(Permission::PackagesVoid)?;
    // The role first: a caller who may not do this learns nothing from the body's errors.
    let JsonBody(input) = input?;
    let id: PackageId = path.id("id", "package")?;
    let package = ops::get(&app.store, &actor.tenant_id, &id).await?;
    actor.admit_client(&app, &package.client_id).await?;
    Ok(Json(ops::void(&app.store, &actor.audit(), &id, &input.reason).await?))
}
