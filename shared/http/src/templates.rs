//! Template routes: a clinic's templates and the platform's, and publishing a new version.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::{ApiError, ApiResult, ErrorEnvelope};
use super::extract::{Actor, JsonBody, PathParams, QueryArgs};
use mas_domain::documents::{Jurisdiction, Template, TemplateInput, TemplateKind};
use mas_domain::ids::TemplateId;
use mas_domain::team::Permission;
use mas_usecases::app::App;
use mas_usecases::templates as ops;

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    pub kind: Option<TemplateKind>,
    #[param(value_type = Option<String>)]
    pub jurisdiction: Option<Jurisdiction>,
    /// Include the platform's global templates (default true).
    #[serde(default = "yes")]
    pub include_global: bool,
}

#[utoipa::path(get, path = "/v1/templates", tag = "templates", operation_id = "list_templates", security(("staff_jwt" = [])),
    params(ListParams),
    responses((status = 200, body = Vec<Template>), (status = 401, body = ErrorEnvelope)))]
pub async fn list(
    State(app): State<Arc<App>>,
    actor: Actor,
    QueryArgs(args): QueryArgs<ListParams>,
) -> ApiResult<Json<Vec<Template>>> {
    actor.require(Permission::CatalogRead)?;
    let filter = ops::Filter { kind: args.kind, jurisdiction: args.jurisdiction, include_global: args.include_global };
    Ok(Json(ops::list(&app.store, &actor.tenant_id, &filter).await?))
}

/// Publishes a new version, approved by the caller (an owner or manager). A published version
/// never changes; the same family and version twice is 409.
#[utoipa::path(post, path = "/v1/templates", tag = "templates", operation_id = "publish_template", security(("staff_jwt" = [])),
    request_body = TemplateInput,
    responses((status = 201, body = Template), (status = 403, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn create(
    State(app): State<Arc<App>>,
    actor: Actor,
    input: Result<JsonBody<TemplateInput>, ApiError>,
) -> ApiResult<(StatusCode, Json<Template>)> {
    actor.require(Permission::TemplatesWrite)?;
    // The role first: a caller who may not do this learns nothing from the body's errors.
    let JsonBody(input) = input?;
    let template = ops::publish(&app.store, &actor.audit(), actor.member.input.name.as_str(), input).await?;
    Ok((StatusCode::CREATED, Json(template)))
}

#[utoipa::path(get, path = "/v1/templates/{id}", tag = "templates", operation_id = "get_template", security(("staff_jwt" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Template), (status = 404, body = ErrorEnvelope)))]
pub async fn get(State(app): State<Arc<App>>, actor: Actor, path: PathParams) -> ApiResult<Json<Template>> {
    actor.require(Permission::CatalogRead)?;
    let id: TemplateId = path.id("id", "template")?;
    Ok(Json(ops::get(&app.store, &actor.tenant_id, &id).await?))
}
