//! The academy's practical sign-off and certificates. Staff: a cohort's logbook (educators:
//! only the cohorts they teach; every read audited as `cohort.logbook_read`), a sign-off (owners,
//! managers, and the cohort's educator: `academy_sign_off`), the clinic's certificates and their
//! revocation (owners and managers). Public: a certificate's verification page by number, its
//! PDF and its Open Badges 3.0 credential (rate limited per address, like `/v1/documents/verify`),
//! the clinic's issuer profile (its public key) and its status list. The role is checked before
//! the body is read (403 before 422).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::availability::public_tenant;
use super::error::{ApiError, ApiResult, ErrorEnvelope};
use super::extract::{Actor, JsonBody, PathParams, RequestOrigin};
use mas_domain::academy::LogbookEntryInput;
use mas_domain::certificate::{Certificate, CertificateNumber};
use mas_domain::error::AppError;
use mas_domain::ids::{CohortId, EnrolmentId};
use mas_domain::team::Permission;
use mas_ports::BlobKey;
use mas_usecases::app::App;
use mas_usecases::certificates::{self, CertificateCheck};
use mas_usecases::cohorts::Viewer;
use mas_usecases::practicals::{self, SignedOff, StudentLogbook};

/// The media type of a VC-JWT (VC-JOSE-COSE).
pub const VC_JWT: &str = "application/vc+jwt";

// ---- Staff ------------------------------------------------------------------------------------

/// A cohort's practical logbook: each confirmed student's entries, progress per competency and
/// completion (educators: only the cohorts they teach). In the audit log as `cohort.logbook_read`.
#[utoipa::path(get, path = "/v1/cohorts/{id}/logbook", tag = "academy", operation_id = "cohort_logbook", security(("staff_jwt" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Vec<StudentLogbook>), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn logbook(
    State(app): State<Arc<App>>,
    actor: Actor,
    path: PathParams,
) -> ApiResult<Json<Vec<StudentLogbook>>> {
    actor.require(Permission::AcademyRead)?;
    let id: CohortId = path.id("id", "cohort")?;
    let book = practicals::cohort_logbook(&app.store, &actor.tenant_id, &Viewer::of(&actor.member), &id).await?;
    mas_usecases::audit::record_read(&app.store, &actor.audit(), "cohort.logbook_read", id.as_str()).await?;
    Ok(Json(book))
}

/// Signs off one observed treatment of a confirmed student (owners, managers, and the educator
/// of the cohort; another cohort's educator gets 404). Entries are never changed: a correction
/// is a new entry naming the one it corrects (`corrects`). When this entry meets the student's
/// last requirement the enrolment is completed (once, whatever races it) and its certificate is
/// issued by the render worker.
#[utoipa::path(post, path = "/v1/cohorts/{id}/enrolments/{enrolment_id}/logbook", tag = "academy", operation_id = "sign_off_practical",
    security(("staff_jwt" = [])), params(("id" = String, Path), ("enrolment_id" = String, Path)), request_body = LogbookEntryInput,
    responses((status = 201, body = SignedOff), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, description = "`enrolment_not_confirmed`, `already_corrected`, `concurrent_update`", body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn sign_off(
    State(app): State<Arc<App>>,
    actor: Actor,
    path: PathParams,
    input: Result<JsonBody<LogbookEntryInput>, ApiError>,
) -> ApiResult<(StatusCode, Json<SignedOff>)> {
    actor.require(Permission::AcademySignOff)?;
    let JsonBody(input) = input?;
    let cohort: CohortId = path.id("id", "cohort")?;
    let enrolment: EnrolmentId = path.id("enrolment_id", "enrolment")?;
    let viewer = Viewer::of(&actor.member);
    // Coursework: the lessons and quizzes the student portal records.
    let signed = practicals::record(
        &app.store,
        &actor.audit(),
        &viewer,
        &mas_usecases::learning::Tracked,
        (&cohort, &enrolment),
        &actor.member.id,
        input,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(signed)))
}

/// The clinic's certificates, newest first (owners and managers). In the audit log as
/// `certificates.listed`.
#[utoipa::path(get, path = "/v1/certificates", tag = "academy", operation_id = "list_certificates", security(("staff_jwt" = [])),
    responses((status = 200, body = Vec<Certificate>), (status = 403, body = ErrorEnvelope)))]
pub async fn list(State(app): State<Arc<App>>, actor: Actor) -> ApiResult<Json<Vec<Certificate>>> {
    actor.require(Permission::AcademyManage)?;
    let all = certificates::list(&app.store, &actor.tenant_id).await?;
    mas_usecases::audit::record_read(&app.store, &actor.audit(), "certificates.listed", actor.tenant_id.as_str())
        .await?;
    Ok(Json(all))
}

/// Revokes a certificate (owners and managers): its bit in the clinic's status list is set (the
/// list is signed again), and its verification page says revoked from then on.
#[utoipa::path(post, path = "/v1/certificates/{number}/revoke", tag = "academy", operation_id = "revoke_certificate",
    security(("staff_jwt" = [])), params(("number" = String, Path)),
    responses((status = 200, body = Certificate), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, description = "`already_revoked`, `concurrent_update`", body = ErrorEnvelope)))]
pub async fn revoke(State(app): State<Arc<App>>, actor: Actor, path: PathParams) -> ApiResult<Json<Certificate>> {
    actor.require(Permission::AcademyManage)?;
    let number: CertificateNumber = path.id("number", "certificate")?;
    let base = mas_usecases::api_base(&app);
    Ok(Json(certificates::revoke(&app.store, &app.keyring, &actor.audit(), &base, &number).await?))
}

// ---- Public -----------------------------------------------------------------------------------

async fn public_certificate(
    app: &App,
    path: &PathParams,
    origin: &mas_domain::esign::Origin,
) -> ApiResult<(mas_domain::tenant::Tenant, Certificate)> {
    let tenant = public_tenant(app, path).await?;
    let limit = app.limits.verify_per_address;
    mas_usecases::limits::take_for_address(&app.store, "verify", origin.ip.as_deref(), limit).await?;
    let number: CertificateNumber = path.id("number", "certificate")?;
    Ok((tenant.clone(), certificates::get(&app.store, &tenant.id, &number).await?))
}

/// A certificate's verification page: valid or revoked, what the certificate shows (and
/// nothing more: no email), the SHA-256 of its PDF, and links to the PDF and the credential.
/// Rate limited per address (429 with `Retry-After`).
#[utoipa::path(get, path = "/v1/public/{tenant_slug}/certificates/{number}", tag = "verification", operation_id = "check_certificate",
    params(("tenant_slug" = String, Path), ("number" = String, Path)),
    responses((status = 200, body = CertificateCheck), (status = 404, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
pub async fn check(
    State(app): State<Arc<App>>,
    path: PathParams,
    RequestOrigin(origin): RequestOrigin,
) -> ApiResult<Json<CertificateCheck>> {
    let (tenant, c) = public_certificate(&app, &path, &origin).await?;
    Ok(Json(certificates::check(&mas_usecases::api_base(&app), &tenant, &c)))
}

/// The certificate's PDF, as issued (its SHA-256 is on the verification page).
#[utoipa::path(get, path = "/v1/public/{tenant_slug}/certificates/{number}/pdf", tag = "verification", operation_id = "certificate_pdf",
    params(("tenant_slug" = String, Path), ("number" = String, Path)),
    responses((status = 200, description = "The PDF", content_type = "application/pdf"), (status = 404, body = ErrorEnvelope),
        (status = 429, body = ErrorEnvelope)))]
pub async fn pdf(
    State(app): State<Arc<App>>,
    path: PathParams,
    RequestOrigin(origin): RequestOrigin,
) -> ApiResult<Response> {
    let (_, c) = public_certificate(&app, &path, &origin).await?;
    let key = BlobKey::parse(&c.blob_key).map_err(|e| AppError::Internal(e.to_string()))?;
    let bytes = app
        .blobs
        .get(&key)
        .await
        .map_err(AppError::backend("blobs"))?
        .ok_or_else(|| AppError::Internal(format!("certificate {}'s PDF is missing", c.number)))?;
    Ok(([(header::CONTENT_TYPE, "application/pdf")], bytes).into_response())
}

/// The certificate as an Open Badges 3.0 credential: a VC-JWT (EdDSA) signed with the clinic's
/// key (see its issuer profile), naming the student by a salted hash of their email only, with
/// its entry in the clinic's status list.
#[utoipa::path(get, path = "/v1/public/{tenant_slug}/certificates/{number}/credential", tag = "verification",
    operation_id = "certificate_credential", params(("tenant_slug" = String, Path), ("number" = String, Path)),
    responses((status = 200, description = "The VC-JWT", content_type = "application/vc+jwt"), (status = 404, body = ErrorEnvelope),
        (status = 429, body = ErrorEnvelope)))]
pub async fn credential(
    State(app): State<Arc<App>>,
    path: PathParams,
    RequestOrigin(origin): RequestOrigin,
) -> ApiResult<Response> {
    let (_, c) = public_certificate(&app, &path, &origin).await?;
    Ok(([(header::CONTENT_TYPE, VC_JWT)], c.credential_jwt).into_response())
}

/// The clinic's issuer profile (Open Badges `Profile`) with its public key as a JWK
/// verification method; 404 until the clinic has issued a certificate.
#[utoipa::path(get, path = "/v1/public/{tenant_slug}/academy/issuer", tag = "verification", operation_id = "academy_issuer",
    params(("tenant_slug" = String, Path)),
    responses((status = 200, body = Object), (status = 404, body = ErrorEnvelope)))]
pub async fn issuer(State(app): State<Arc<App>>, path: PathParams) -> ApiResult<Json<serde_json::Value>> {
    let tenant = public_tenant(&app, &path).await?;
    let profile = certificates::issuer(&app.store, &tenant, &mas_usecases::api_base(&app)).await?;
    Ok(Json(profile.ok_or(AppError::NotFound { what: "issuer" })?))
}

/// The clinic's revocation list: a W3C Bitstring Status List credential, as a VC-JWT signed with
/// the clinic's key (signed again at each issue and revocation); 404 until it has issued one.
#[utoipa::path(get, path = "/v1/public/{tenant_slug}/academy/status-list", tag = "verification", operation_id = "academy_status_list",
    params(("tenant_slug" = String, Path)),
    responses((status = 200, description = "The status list VC-JWT", content_type = "application/vc+jwt"),
        (status = 404, body = ErrorEnvelope)))]
pub async fn status_list(State(app): State<Arc<App>>, path: PathParams) -> ApiResult<Response> {
    let tenant = public_tenant(&app, &path).await?;
    let jwt = certificates::status_list_credential(&app.store, &tenant.id)
        .await?
        .ok_or(AppError::NotFound { what: "status list" })?;
    Ok(([(header::CONTENT_TYPE, VC_JWT)], jwt).into_response())
}
