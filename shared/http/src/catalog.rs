//! Catalog routes: the same five operations for locations, services, practitioners and
//! resources (one macro, one generic implementation in `ops::catalog`), plus practitioner
//! exceptions.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::{ApiError, ApiResult, ErrorEnvelope};
use super::extract::{Actor, JsonBody, PathParams, QueryArgs};
use mas_domain::catalog::{
    ExceptionInput, LocationInput, PractitionerException, PractitionerInput, Record, ResourceInput, ServiceInput,
};
use mas_domain::ids::{
    ExceptionId, LocationId, MembershipPlanId, PackageTemplateId, PractitionerId, ResourceId, ServiceId,
};
use mas_domain::membership::MembershipPlanInput;
use mas_domain::package::PackageInput;
use mas_domain::team::Permission;
use mas_usecases::app::App;
use mas_usecases::catalog as ops;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Include archived entries (kept for history).
    #[serde(default)]
    pub include_archived: bool,
}

macro_rules! catalog_routes {
    ($module:ident, $input:ident, $id:ident, $tag:literal, $collection:literal, $item:literal) => {
        pub mod $module {
            use super::*;

            // The record's own type in the annotations, not this alias: utoipa names a generic
            // schema from the arguments it sees (`Record_LocationId_LocationInput`), and through
            // an alias every record would be one `Record`. Lists are `[…]`: utoipa does not read
            // `Vec<Record<…>>` in a response body.
            type Entity = Record<$id, $input>;

            #[utoipa::path(get, path = $collection, tag = $tag, operation_id = concat!("list_", stringify!($module)), security(("staff_jwt" = [])), params(ListParams),
                responses((status = 200, body = [Record<$id, $input>]), (status = 401, body = ErrorEnvelope)))]
            pub async fn list(
                State(app): State<Arc<App>>,
                actor: Actor,
                QueryArgs(args): QueryArgs<ListParams>,
            ) -> ApiResult<Json<Vec<Entity>>> {
                actor.require(Permission::CatalogRead)?;
                let scope = actor.reach().locations;
                Ok(Json(ops::list_within::<$input>(&app.store, &actor.tenant_id, &scope, args.include_archived).await?))
            }

            #[utoipa::path(post, path = $collection, tag = $tag, operation_id = concat!("create_", stringify!($module)), security(("staff_jwt" = [])), request_body = $input,
                responses((status = 201, body = Record<$id, $input>), (status = 400, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
                    (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
            pub async fn create(
                State(app): State<Arc<App>>,
                actor: Actor,
                input: Result<JsonBody<$input>, ApiError>,
            ) -> ApiResult<(StatusCode, Json<Entity>)> {
                actor.require(Permission::CatalogWrite)?;
                // The role first: a caller who may not do this learns nothing from the body's errors.
                let JsonBody(input) = input?;
                let scope = actor.reach().locations;
                Ok((StatusCode::CREATED, Json(ops::create(&app.store, &actor.audit(), &scope, input).await?)))
            }

            #[utoipa::path(get, path = $item, tag = $tag, operation_id = concat!("get_", stringify!($module)), security(("staff_jwt" = [])), params(("id" = String, Path)),
                responses((status = 200, body = Record<$id, $input>), (status = 404, body = ErrorEnvelope)))]
            pub async fn get(State(app): State<Arc<App>>, actor: Actor, path: PathParams) -> ApiResult<Json<Entity>> {
                actor.require(Permission::CatalogRead)?;
                let id: $id = path.id("id", <$input as ops::Entry>::NAME)?;
                Ok(Json(ops::get_within::<$input>(&app.store, &actor.tenant_id, &actor.reach().locations, &id).await?))
            }

            #[utoipa::path(put, path = $item, tag = $tag, operation_id = concat!("replace_", stringify!($module)), security(("staff_jwt" = [])), params(("id" = String, Path)),
                request_body = $input,
                responses((status = 200, body = Record<$id, $input>), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope),
                    (status = 422, body = ErrorEnvelope)))]
            pub async fn replace(
                State(app): State<Arc<App>>,
                actor: Actor,
                path: PathParams,
                input: Result<JsonBody<$input>, ApiError>,
            ) -> ApiResult<Json<Entity>> {
                actor.require(Permission::CatalogWrite)?;
                // The role first: a caller who may not do this learns nothing from the body's errors.
                let JsonBody(input) = input?;
                let id: $id = path.id("id", <$input as ops::Entry>::NAME)?;
                Ok(Json(ops::replace(&app.store, &actor.audit(), &actor.reach().locations, &id, input).await?))
            }

            /// Archives: hidden and unbookable, kept for the history that refers to it.
            #[utoipa::path(delete, path = $item, tag = $tag, operation_id = concat!("archive_", stringify!($module)), security(("staff_jwt" = [])), params(("id" = String, Path)),
                responses((status = 200, body = Record<$id, $input>), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)))]
            pub async fn archive(State(app): State<Arc<App>>, actor: Actor, path: PathParams) -> ApiResult<Json<Entity>> {
                actor.require(Permission::CatalogWrite)?;
                let id: $id = path.id("id", <$input as ops::Entry>::NAME)?;
                Ok(Json(ops::archive::<$input>(&app.store, &actor.audit(), &actor.reach().locations, &id).await?))
            }
        }
    };
}

catalog_routes!(locations, LocationInput, LocationId, "locations", "/v1/locations", "/v1/locations/{id}");
catalog_routes!(services, ServiceInput, ServiceId, "services", "/v1/services", "/v1/services/{id}");
catalog_routes!(
    practitioners,
    PractitionerInput,
    PractitionerId,
    "practitioners",
    "/v1/practitioners",
    "/v1/practitioners/{id}"
);
catalog_routes!(resources, ResourceInput, ResourceId, "resources", "/v1/resources", "/v1/resources/{id}");
catalog_routes!(
    package_templates,
    PackageInput,
    PackageTemplateId,
    "packages",
    "/v1/package-templates",
    "/v1/package-templates/{id}"
);

catalog_routes!(
    membership_plans,
    MembershipPlanInput,
    MembershipPlanId,
    "memberships",
    "/v1/membership-plans",
    "/v1/membership-plans/{id}"
);

#[utoipa::path(get, path = "/v1/practitioners/{id}/exceptions", tag = "practitioners", security(("staff_jwt" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Vec<PractitionerException>), (status = 404, body = ErrorEnvelope)))]
pub async fn list_exceptions(
    State(app): State<Arc<App>>,
    actor: Actor,
    path: PathParams,
) -> ApiResult<Json<Vec<PractitionerException>>> {
    actor.require(Permission::CatalogRead)?;
    let practitioner: PractitionerId = path.id("id", "practitioner")?;
    Ok(Json(ops::list_exceptions(&app.store, &actor.tenant_id, &practitioner).await?))
}

#[utoipa::path(post, path = "/v1/practitioners/{id}/exceptions", tag = "practitioners", security(("staff_jwt" = [])),
    params(("id" = String, Path)), request_body = ExceptionInput,
    responses((status = 201, body = PractitionerException), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn add_exception(
    State(app): State<Arc<App>>,
    actor: Actor,
    path: PathParams,
    input: Result<JsonBody<ExceptionInput>, ApiError>,
) -> ApiResult<(StatusCode, Json<PractitionerException>)> {
    actor.require(Permission::CatalogWrite)?;
    // The role first: a caller who may not do this learns nothing from the body's errors.
    let JsonBody(input) = input?;
    let practitioner: PractitionerId = path.id("id", "practitioner")?;
    Ok((
        StatusCode::CREATED,
        Json(ops::add_exception(&app.store, &actor.audit(), &actor.reach().locations, &practitioner, input).await?),
    ))
}

#[utoipa::path(delete, path = "/v1/practitioners/{id}/exceptions/{exception_id}", tag = "practitioners",
    security(("staff_jwt" = [])), params(("id" = String, Path), ("exception_id" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)))]
pub async fn remove_exception(State(app): State<Arc<App>>, actor: Actor, path: PathParams) -> ApiResult<StatusCode> {
    actor.require(Permission::CatalogWrite)?;
    let practitioner: PractitionerId = path.id("id", "practitioner")?;
    let exception: ExceptionId = path.id("exception_id", "exception")?;
    ops::remove_exception(&app.store, &actor.audit(), &actor.reach().locations, &practitioner, &exception).await?;
    Ok(StatusCode::NO_CONTENT)
}
