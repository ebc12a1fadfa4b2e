//! Client routes: the client file (details, timeline) for anyone who books, and the medical
//! questionnaire for clinical roles only.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::{ApiError, ApiResult, ErrorEnvelope};
use super::extract::{Actor, JsonBody, PathParams, QueryArgs};
use mas_domain::catalog::Record;
use mas_domain::clients::{Client, ClientInput, ClientPatch, ClientQuery};
use mas_domain::ids::ClientId;
use mas_domain::medical::{MedicalAnswers, MedicalFile, MedicalRecord};
use mas_domain::team::Permission;
use mas_usecases::app::App;
use mas_usecases::clients::{self as ops, ClientPage, TimelinePage};
use mas_usecases::medical;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// The start of a name, last name first (`smi`, `smith j`); an email; or a phone number in
    /// international form (`+44 7700 900123`). Left out: every client, by name.
    pub q: Option<String>,
    /// Page size, 1–100 (default 25).
    pub limit: Option<u32>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageParams {
    /// Page size, 1–100 (default 25).
    pub limit: Option<u32>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
}

#[utoipa::path(get, path = "/v1/clients", tag = "clients", operation_id = "list_clients", security(("staff_jwt" = [])),
    params(ListParams),
    responses((status = 200, body = ClientPage), (status = 401, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn list(
    State(app): State<Arc<App>>,
    actor: Actor,
    QueryArgs(args): QueryArgs<ListParams>,
) -> ApiResult<Json<ClientPage>> {
    actor.require(Permission::BookingRead)?;
    let query = ClientQuery::parse(args.q.as_deref())?;
    let limit = ops::page_size(args.limit)?;
    Ok(Json(ops::search(&app.store, &actor.tenant_id, query, limit, args.cursor).await?))
}

#[utoipa::path(post, path = "/v1/clients", tag = "clients", operation_id = "create_client", security(("staff_jwt" = [])),
    request_body = ClientInput,
    responses((status = 201, body = Record<ClientId, ClientInput>), (status = 403, body = ErrorEnvelope),
        (status = 409, description = "`client_exists`: `details.client_id` names the client with this email", body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn create(
    State(app): State<Arc<App>>,
    actor: Actor,
    input: Result<JsonBody<ClientInput>, ApiError>,
) -> ApiResult<(StatusCode, Json<Client>)> {
    actor.require(Permission::BookingWriteOwn)?;
    // The role first: a caller who may not do this learns nothing from the body's errors.
    let JsonBody(input) = input?;
    Ok((StatusCode::CREATED, Json(ops::create(&app.store, &actor.audit(), input).await?)))
}

#[utoipa::path(get, path = "/v1/clients/{id}", tag = "clients", operation_id = "get_client", security(("staff_jwt" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Record<ClientId, ClientInput>), (status = 404, body = ErrorEnvelope)))]
pub async fn get(State(app): State<Arc<App>>, actor: Actor, path: PathParams) -> ApiResult<Json<Client>> {
    actor.require(Permission::BookingRead)?;
    let id: ClientId = path.id("id", "client")?;
    Ok(Json(ops::get(&app.store, &actor.tenant_id, &id).await?))
}

/// Changes the fields given (`null` clears an optional one); `version` must be the one read.
#[utoipa::path(patch, path = "/v1/clients/{id}", tag = "clients", operation_id = "update_client", security(("staff_jwt" = [])),
    params(("id" = String, Path)), request_body = ClientPatch,
    responses((status = 200, body = Record<ClientId, ClientInput>), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, description = "`stale_version`, or `client_exists` for an email another client has", body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn update(
    State(app): State<Arc<App>>,
    actor: Actor,
    path: PathParams,
    patch: Result<JsonBody<ClientPatch>, ApiError>,
) -> ApiResult<Json<Client>> {
    actor.require(Permission::BookingWriteOwn)?;
    // The role first: a caller who may not do this learns nothing from the body's errors.
    let JsonBody(patch) = patch?;
    let id: ClientId = path.id("id", "client")?;
    let clinical = actor.member.input.role.allows(Permission::ClinicalWrite);
    let updated = ops::update(&app.store, &actor.audit(), &id, patch, clinical).await?;
    if let Some(old) = &updated.previous_email {
        mas_usecases::notifications::tell_old_address(&app, &actor.tenant_id, old, &updated.client).await;
    }
    Ok(Json(updated.client))
}

#[utoipa::path(get, path = "/v1/clients/{id}/timeline", tag = "clients", operation_id = "get_client_timeline",
    security(("staff_jwt" = [])), params(("id" = String, Path), PageParams),
    responses((status = 200, body = TimelinePage), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn timeline(
    State(app): State<Arc<App>>,
    actor: Actor,
    path: PathParams,
    QueryArgs(args): QueryArgs<PageParams>,
) -> ApiResult<Json<TimelinePage>> {
    actor.require(Permission::BookingRead)?;
    let id: ClientId = path.id("id", "client")?;
    let limit = ops::page_size(args.limit)?;
    Ok(Json(ops::timeline(&app.store, &actor.tenant_id, &id, limit, args.cursor).await?))
}

/// The latest questionnaire, decrypted, and every version's who and when.
#[utoipa::path(get, path = "/v1/clients/{id}/medical", tag = "clients", operation_id = "get_client_medical",
    security(("staff_jwt" = [])), params(("id" = String, Path)),
    responses((status = 200, body = MedicalFile), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn get_medical(State(app): State<Arc<App>>, actor: Actor, path: PathParams) -> ApiResult<Json<MedicalFile>> {
    actor.require(Permission::ClinicalRead)?;
    let id: ClientId = path.id("id", "client")?;
    Ok(Json(medical::file(&app.store, &app.keyring, &actor.tenant_id, &id).await?))
}

/// Records a new version of the questionnaire; earlier versions are kept.
#[utoipa::path(put, path = "/v1/clients/{id}/medical", tag = "clients", operation_id = "put_client_medical",
    security(("staff_jwt" = [])), params(("id" = String, Path)), request_body = MedicalAnswers,
    responses((status = 200, body = MedicalRecord), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, description = "another version was saved at the same moment", body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn put_medical(
    State(app): State<Arc<App>>,
    actor: Actor,
    path: PathParams,
    answers: Result<JsonBody<MedicalAnswers>, ApiError>,
) -> ApiResult<Json<MedicalRecord>> {
    actor.require(Permission::ClinicalWrite)?;
    // The role first: a caller who may not do this learns nothing from the body's errors.
    let JsonBody(answers) = answers?;
    let id: ClientId = path.id("id", "client")?;
    Ok(Json(medical::record(&app.store, &app.keyring, &actor.audit(), &id, answers).await?))
}
