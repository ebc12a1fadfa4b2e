//! Client routes: the client file (details, timeline) for anyone who books, the medical
//! questionnaire for clinical roles only, and the client's rights over their data: the export
//! (owners and managers) and the erasure (owners). A practitioner reaches only her care team
//! (clients booked with her or shared with her: `mas_domain::reach`); any other client is 404, as
//! if it did not exist. Owners and managers share a client with a member, or end the share.

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
use mas_domain::gdpr::{EraseRequest, Erasure};
use mas_domain::ids::{ClientId, MemberId};
use mas_domain::medical::{MedicalAnswers, MedicalFile, MedicalRecord};
use mas_domain::reach::CareBackfill;
use mas_domain::team::Permission;
use mas_usecases::app::App;
use mas_usecases::care_team::{self, CareLinkRecord};
use mas_usecases::clients::{self as ops, ClientPage, TimelinePage};
use mas_usecases::gdpr::{self, ClientExport};
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
    // A practitioner lists and searches her care team only.
    match care_team::members_clients(&app.store, &actor.tenant_id, &actor.reach().clients).await? {
        None => Ok(Json(ops::search(&app.store, &actor.tenant_id, query, limit, args.cursor).await?)),
        Some(team) => {
            Ok(Json(care_team::search(&app.store, &actor.tenant_id, &team, query, limit, args.cursor).await?))
        }
    }
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
    let client = ops::create_by(&app.store, &actor.audit(), input, &actor.reach().clients).await?;
    Ok((StatusCode::CREATED, Json(client)))
}

#[utoipa::path(get, path = "/v1/clients/{id}", tag = "clients", operation_id = "get_client", security(("staff_jwt" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Record<ClientId, ClientInput>), (status = 404, body = ErrorEnvelope)))]
pub async fn get(State(app): State<Arc<App>>, actor: Actor, path: PathParams) -> ApiResult<Json<Client>> {
    actor.require(Permission::BookingRead)?;
    let id: ClientId = path.id("id", "client")?;
    actor.admit_client(&app, &id).await?;
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
    actor.admit_client(&app, &id).await?;
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
    actor.admit_client(&app, &id).await?;
    let limit = ops::page_size(args.limit)?;
    Ok(Json(ops::timeline(&app.store, &actor.tenant_id, &id, limit, args.cursor).await?))
}

/// The latest questionnaire, decrypted, and every version's who and when. Each read is in the
/// audit log (`medical.read`).
#[utoipa::path(get, path = "/v1/clients/{id}/medical", tag = "clients", operation_id = "get_client_medical",
    security(("staff_jwt" = [])), params(("id" = String, Path)),
    responses((status = 200, body = MedicalFile), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn get_medical(State(app): State<Arc<App>>, actor: Actor, path: PathParams) -> ApiResult<Json<MedicalFile>> {
    actor.require(Permission::ClinicalRead)?;
    let id: ClientId = path.id("id", "client")?;
    actor.admit_client(&app, &id).await?;
    let file = medical::file(&app.store, &app.keyring, &actor.tenant_id, &id).await?;
    mas_usecases::audit::record_read(&app.store, &actor.audit(), "medical.read", id.as_str()).await?;
    Ok(Json(file))
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
    actor.admit_client(&app, &id).await?;
    Ok(Json(medical::record(&app.store, &app.keyring, &actor.audit(), &id, answers).await?))
}

/// Everything the clinic holds about the client, for their data subject access request: the
/// record, every questionnaire version and online submission (decrypted), appointments,
/// payments, documents with 15-minute links to their PDFs, messages (links redacted), the
/// timeline and their message preferences. Health data: owners and managers only, and every
/// export is in the audit log (`client.exported`).
#[utoipa::path(get, path = "/v1/clients/{id}/export", tag = "clients", operation_id = "export_client",
    security(("staff_jwt" = [])), params(("id" = String, Path)),
    responses((status = 200, body = ClientExport), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 410, description = "`client_erased`", body = ErrorEnvelope)))]
pub async fn export(State(app): State<Arc<App>>, actor: Actor, path: PathParams) -> ApiResult<Json<ClientExport>> {
    actor.require(Permission::ClientExport)?;
    let id: ClientId = path.id("id", "client")?;
    Ok(Json(gdpr::export(&app, &actor.audit(), &id).await?))
}

/// Erases the client for good: their data key is deleted (whatever was sealed under it,
/// backups included, no longer opens), their record becomes a tombstone (reads answer 410) and
/// the rest of their data is deleted, but signed documents, kept under their legal retention,
/// and past appointments and payments, kept for the accounts under the client's id only.
/// Refused while an appointment is to come. Asking again answers the same record.
#[utoipa::path(post, path = "/v1/clients/{id}/erase", tag = "clients", operation_id = "erase_client",
    security(("staff_jwt" = [])), params(("id" = String, Path)), request_body = EraseRequest,
    responses((status = 200, body = Erasure), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, description = "`future_appointments` (`details.appointment_ids`), or the client changed meanwhile", body = ErrorEnvelope),
        (status = 422, description = "`confirmation_mismatch`: nothing was changed", body = ErrorEnvelope)))]
pub async fn erase(
    State(app): State<Arc<App>>,
    actor: Actor,
    path: PathParams,
    request: Result<JsonBody<EraseRequest>, ApiError>,
) -> ApiResult<Json<Erasure>> {
    actor.require(Permission::ClientErase)?;
    // The role first: a caller who may not do this learns nothing from the body's errors.
    let JsonBody(request) = request?;
    let id: ClientId = path.id("id", "client")?;
    Ok(Json(gdpr::erase(&app, &actor.audit(), &id, request).await?))
}

/// Shares a client with a team member (owners and managers): a practitioner may then read and
/// change them as one of her care team. Sharing again changes nothing but the date.
#[utoipa::path(put, path = "/v1/clients/{id}/care-team/{member_id}", tag = "clients", operation_id = "share_client",
    security(("staff_jwt" = [])), params(("id" = String, Path), ("member_id" = String, Path)),
    responses((status = 200, body = CareLinkRecord), (status = 403, body = ErrorEnvelope),
        (status = 404, description = "no such client or team member", body = ErrorEnvelope)))]
pub async fn share(State(app): State<Arc<App>>, actor: Actor, path: PathParams) -> ApiResult<Json<CareLinkRecord>> {
    actor.require(Permission::TeamWrite)?;
    let id: ClientId = path.id("id", "client")?;
    let member: MemberId = path.id("member_id", "team member")?;
    Ok(Json(care_team::share(&app.store, &actor.audit(), &id, &member).await?))
}

/// Ends a share (owners and managers). A practitioner the client was booked with keeps them:
/// that link records what happened and is not a share.
#[utoipa::path(delete, path = "/v1/clients/{id}/care-team/{member_id}", tag = "clients", operation_id = "unshare_client",
    security(("staff_jwt" = [])), params(("id" = String, Path), ("member_id" = String, Path)),
    responses((status = 204, description = "The share ended"), (status = 403, body = ErrorEnvelope),
        (status = 404, description = "the client is not shared with this member", body = ErrorEnvelope)))]
pub async fn unshare(State(app): State<Arc<App>>, actor: Actor, path: PathParams) -> ApiResult<StatusCode> {
    actor.require(Permission::TeamWrite)?;
    let id: ClientId = path.id("id", "client")?;
    let member: MemberId = path.id("member_id", "team member")?;
    care_team::unshare(&app.store, &actor.audit(), &id, &member).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Gives the bookings made before care teams existed their care links, once per clinic (owners):
/// each answer does as many months as fit in one request and says where the run stands; ask
/// again while it is `running`. Once `done`, asking again answers the same record and changes
/// nothing. Until then a practitioner still reaches such a client by id, but not in her list.
#[utoipa::path(post, path = "/v1/care-team/backfill", tag = "clients", operation_id = "backfill_care_teams",
    security(("staff_jwt" = [])),
    responses((status = 200, body = CareBackfill), (status = 403, body = ErrorEnvelope),
        (status = 409, description = "another run advanced it at the same moment: ask again", body = ErrorEnvelope)))]
pub async fn backfill(State(app): State<Arc<App>>, actor: Actor) -> ApiResult<Json<CareBackfill>> {
    actor.require(Permission::CareTeamBackfill)?;
    let signed_up = mas_usecases::tenants::tenant(&app.store, &actor.tenant_id).await?.created_at;
    let run = care_team::run_backfill(&app.store, &actor.audit(), signed_up, care_team::Budget::REQUEST).await?;
    Ok(Json(run))
}
