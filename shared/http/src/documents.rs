//! Document routes: generate from the template in force, read, download (a short-lived link),
//! void, open an e-sign session, and the public verification of stamps and PDFs.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ApiResult, ErrorEnvelope};
use super::extract::{Actor, JsonBody, PathParams, PublicBase, QueryArgs, RawBody, RequestOrigin};
use mas_domain::documents::{Sha256Hex, Variant};
use mas_domain::error::AppError;
use mas_domain::esign::SigningSession;
use mas_domain::ids::DocumentId;
use mas_domain::team::Permission;
use mas_usecases::app::App;
use mas_usecases::documents::{self as ops, DocumentView, GenerateInput, PdfLink, Verification};
use mas_usecases::esign::{self, OpenInput};

/// The largest PDF accepted for verification.
pub const VERIFY_LIMIT: usize = 4 * 1024 * 1024;

/// Generates a document from the template in force for a client of the clinic (and optionally
/// one of their appointments), queues its PDF and publishes `document.generated`. 422 names a
/// missing mandatory clause or every unfilled placeholder (`details.missing`), or an unknown
/// `client_id`/`appointment_id`.
#[utoipa::path(post, path = "/v1/documents/generate", tag = "documents", operation_id = "generate_document",
    security(("staff_jwt" = [])), request_body = GenerateInput,
    responses((status = 201, body = DocumentView), (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn generate(
    State(app): State<Arc<App>>,
    actor: Actor,
    input: Result<JsonBody<GenerateInput>, ApiError>,
) -> ApiResult<(StatusCode, Json<DocumentView>)> {
    actor.require(Permission::DocumentsWrite)?;
    // The role first: a caller who may not do this learns nothing from the body's errors.
    let JsonBody(input) = input?;
    actor.admit_client(&app, &input.client_id).await?;
    if let Some(appointment) = &input.appointment_id {
        // An appointment at a location outside the member's is as unknown as one that is not.
        let reach = actor.reach();
        match mas_usecases::appointments::get_within(&app.store, &actor.tenant_id, &reach, appointment).await {
            Err(AppError::NotFound { .. }) => {
                return Err(AppError::invalid(
                    "unknown_reference",
                    "appointment_id",
                    "refers to no appointment of this clinic",
                )
                .into());
            }
            other => other?,
        };
    }
    let view = ops::generate(&app.store, app.queue.as_ref(), &actor.audit(), input).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[utoipa::path(get, path = "/v1/documents/{id}", tag = "documents", operation_id = "get_document", security(("staff_jwt" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = DocumentView), (status = 404, body = ErrorEnvelope)))]
pub async fn get(State(app): State<Arc<App>>, actor: Actor, path: PathParams) -> ApiResult<Json<DocumentView>> {
    actor.require(Permission::DocumentsRead)?;
    let id: DocumentId = path.id("id", "document")?;
    actor.admit_document(&app, &id).await?;
    let document = ops::load(&app.store, &actor.tenant_id, &id).await?;
    mas_usecases::audit::record_read(&app.store, &actor.audit(), "document.read", id.as_str()).await?;
    Ok(Json(document))
}

/// Voids an unsigned document (it is kept for the retention period). A signed document cannot be
/// deleted by any role: 409 whatever the caller's role.
#[utoipa::path(delete, path = "/v1/documents/{id}", tag = "documents", operation_id = "void_document", security(("staff_jwt" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = DocumentView), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)))]
pub async fn void(State(app): State<Arc<App>>, actor: Actor, path: PathParams) -> ApiResult<Json<DocumentView>> {
    let id: DocumentId = path.id("id", "document")?;
    if !actor.member.input.role.allows(Permission::DocumentsWrite) {
        let refusal = AppError::Forbidden(format!("the {:?} role may not do this", actor.member.input.role));
        return Err(ops::refuse_void(&app.store, &actor.tenant_id, &id, refusal).await.into());
    }
    actor.admit_document(&app, &id).await?;
    Ok(Json(ops::void(&app.store, &actor.audit(), &id).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PdfParams {
    /// `generated` or `signed`; by default the signed PDF when there is one.
    pub variant: Option<Variant>,
}

/// A short-lived link (5 minutes) to the PDF; 409 while it is still being rendered. Each link
/// handed out is in the audit log (`document.pdf_opened`).
#[utoipa::path(get, path = "/v1/documents/{id}/pdf", tag = "documents", operation_id = "get_document_pdf", security(("staff_jwt" = [])),
    params(("id" = String, Path), PdfParams),
    responses((status = 200, body = PdfLink), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)))]
pub async fn pdf(
    State(app): State<Arc<App>>,
    actor: Actor,
    path: PathParams,
    QueryArgs(args): QueryArgs<PdfParams>,
) -> ApiResult<Json<PdfLink>> {
    actor.require(Permission::DocumentsRead)?;
    let id: DocumentId = path.id("id", "document")?;
    actor.admit_document(&app, &id).await?;
    let link = ops::pdf_link(&app.store, app.blobs.as_ref(), &actor.tenant_id, &id, args.variant).await?;
    mas_usecases::audit::record_read(&app.store, &actor.audit(), "document.pdf_opened", id.as_str()).await?;
    Ok(Json(link))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EsignLink {
    pub session: SigningSession,
    /// The page the client signs on; give it only to the client.
    pub sign_url: String,
    pub expires_at: DateTime<Utc>,
}

/// Opens an e-sign session for the client and returns the signed link to hand them.
#[utoipa::path(post, path = "/v1/documents/{id}/esign", tag = "documents", operation_id = "open_esign_session", security(("staff_jwt" = [])),
    params(("id" = String, Path)), request_body = OpenInput,
    responses((status = 201, body = EsignLink), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn open_esign(
    State(app): State<Arc<App>>,
    actor: Actor,
    path: PathParams,
    PublicBase(base): PublicBase,
    input: Result<JsonBody<OpenInput>, ApiError>,
) -> ApiResult<(StatusCode, Json<EsignLink>)> {
    actor.require(Permission::DocumentsWrite)?;
    // The role first: a caller who may not do this learns nothing from the body's errors.
    let JsonBody(input) = input?;
    let id: DocumentId = path.id("id", "document")?;
    actor.admit_document(&app, &id).await?;
    let (session, token) = esign::open(&app.store, &app.links, &actor.audit(), &id, input).await?;
    let link = EsignLink { sign_url: format!("{base}/v1/esign/{token}"), expires_at: session.expires_at, session };
    Ok((StatusCode::CREATED, Json(link)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct VerifyParams {
    /// The stamp printed in a PDF's footer, or the SHA-256 of the PDF file.
    #[param(value_type = String)]
    pub hash: Sha256Hex,
}

/// Public: is this stamp (or file hash) one of ours, and of which document and template version?
#[utoipa::path(get, path = "/v1/documents/verify", tag = "verification", operation_id = "verify_document_hash",
    params(VerifyParams),
    responses((status = 200, body = Verification), (status = 422, body = ErrorEnvelope)))]
pub async fn verify_hash(
    State(app): State<Arc<App>>,
    RequestOrigin(origin): RequestOrigin,
    QueryArgs(args): QueryArgs<VerifyParams>,
) -> ApiResult<Json<Verification>> {
    let limit = app.limits.verify_per_address;
    mas_usecases::limits::take_for_address(&app.store, "verify", origin.ip.as_deref(), limit).await?;
    Ok(Json(ops::verify_hash(&app.store, &args.hash, false).await?))
}

/// Public: upload a PDF (`Content-Type: application/pdf`, at most 4 MB) to learn whether it is an
/// unaltered document of ours. One changed byte and it is not.
#[utoipa::path(post, path = "/v1/documents/verify", tag = "verification", operation_id = "verify_document_pdf",
    request_body(content = String, content_type = "application/pdf", description = "The PDF file, as bytes"),
    responses((status = 200, body = Verification), (status = 413, body = ErrorEnvelope), (status = 415, body = ErrorEnvelope)))]
pub async fn verify_pdf(
    State(app): State<Arc<App>>,
    RequestOrigin(origin): RequestOrigin,
    RawBody(bytes): RawBody<VERIFY_LIMIT>,
) -> ApiResult<Json<Verification>> {
    let limit = app.limits.verify_per_address;
    mas_usecases::limits::take_for_address(&app.store, "verify", origin.ip.as_deref(), limit).await?;
    Ok(Json(ops::verify_pdf(&app.store, &bytes).await?))
}
