//! The anonymous catalog a tenant's site reads: active services, locations, practitioners'
//! public profiles and the brand. Nothing private (emails, working rules, team) leaves here.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;

use super::error::{ApiResult, ErrorEnvelope};
use super::extract::PathParams;
use mas_domain::values::Slug;
use mas_site::PublicCatalog;
use mas_usecases::app::App;

#[utoipa::path(get, path = "/v1/public/{tenant_slug}/catalog", tag = "public", params(("tenant_slug" = String, Path)),
    responses((status = 200, body = PublicCatalog), (status = 404, body = ErrorEnvelope)))]
pub async fn catalog(State(app): State<Arc<App>>, path: PathParams) -> ApiResult<Json<PublicCatalog>> {
    let slug: Slug = path.id("tenant_slug", "clinic")?;
    Ok(Json(mas_usecases::public_catalog::load(&app, &slug).await?))
}
