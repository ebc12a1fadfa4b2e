//! Signing up a clinic, who am I, and the brand.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::error::{ApiError, ApiResult, ErrorEnvelope};
use super::extract::{Actor, ImageBody, JsonBody};
use mas_domain::ids::RequestId;
use mas_domain::logo::{LOGO_MAX_BYTES, LogoInfo};
use mas_domain::team::{Member, Permission};
use mas_domain::tenant::{Brand, BrandInput, SignupInput, Tenant};
use mas_usecases::app::{App, AuthMode};
use mas_usecases::tenants as ops;
use mas_usecases::tokens::StaffClaims;

#[derive(Serialize, ToSchema)]
pub struct SignupResponse {
    pub tenant: Tenant,
    pub owner: Member,
    /// A long-lived staff token for the owner (curl, tests), issued only by the local host.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The owner signed in, when the signup gave `owner.password`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<mas_usecases::auth::Session>,
}

#[utoipa::path(post, path = "/v1/tenants", tag = "tenants", request_body = SignupInput,
    responses((status = 201, body = SignupResponse), (status = 400, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
/// Creates a clinic and its first owner. The clinic starts `pending_email_verification`: the
/// owner is emailed a link (`POST /v1/auth/verify-email`) and the clinic's site, booking and
/// portal answer nobody until it is opened. The owner can sign in and set the clinic up meanwhile.
pub async fn sign_up(
    State(app): State<Arc<App>>,
    Extension(request_id): Extension<RequestId>,
    super::extract::RequestOrigin(origin): super::extract::RequestOrigin,
    super::extract::PublicBase(base): super::extract::PublicBase,
    JsonBody(input): JsonBody<SignupInput>,
) -> ApiResult<(StatusCode, Json<SignupResponse>)> {
    let limit = app.limits.signup_per_address;
    mas_usecases::limits::take_for_address(&app.store, "signup", origin.ip.as_deref(), limit).await?;
    let password = input.owner.password.clone();
    let signed_up = ops::sign_up(&app.store, request_id.clone(), &app.config.site_domain, input).await?;
    let audit = mas_usecases::auth::member_audit(&signed_up.tenant.id, &signed_up.owner, request_id);
    // The clinic exists now; a lost email is not a failed signup (the owner asks again).
    if let Err(err) =
        mas_usecases::auth::send_email_verification(&app, &audit, &base, &signed_up.tenant, &signed_up.owner, false)
            .await
    {
        tracing::error!(tenant_id = %signed_up.tenant.id, %err, "the signup's verification email could not be sent");
    }
    let token = match &app.auth {
        AuthMode::Local(issuer) => Some(issuer.issue(&owner_claims(&signed_up), app.store.clock.now())),
        AuthMode::ApiGateway => None,
    };
    let session = match &password {
        Some(password) => {
            mas_usecases::auth::set_password(&app, &signed_up.tenant.id, &signed_up.owner, password).await?;
            Some(mas_usecases::auth::session_for(&app, &signed_up.tenant.id, signed_up.owner.clone(), password).await?)
        }
        None => None,
    };
    Ok((StatusCode::CREATED, Json(SignupResponse { tenant: signed_up.tenant, owner: signed_up.owner, token, session })))
}

#[derive(serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerificationToken {
    /// The `token` of the link emailed at signup.
    pub token: String,
}

/// Confirms a new clinic owner's email with the link sent at signup (once): the clinic goes
/// live, and its site is published.
#[utoipa::path(post, path = "/v1/auth/verify-email", tag = "auth", request_body = VerificationToken,
    responses((status = 200, body = Tenant), (status = 404, body = ErrorEnvelope, description = "no such link, or it was used or has expired"),
        (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn verify_email(
    State(app): State<Arc<App>>,
    Extension(request_id): Extension<RequestId>,
    JsonBody(input): JsonBody<VerificationToken>,
) -> ApiResult<Json<Tenant>> {
    Ok(Json(mas_usecases::auth::verify_email(&app, &input.token, request_id).await?))
}

#[derive(Serialize, ToSchema)]
pub struct VerificationResent {
    /// `sent`, or `throttled` when a link went out less than a minute ago.
    #[schema(example = "sent")]
    pub status: &'static str,
}

/// Emails the signed-in owner a new link to confirm their email (at most one a minute), while
/// the clinic waits for it.
#[utoipa::path(post, path = "/v1/auth/verify-email/resend", tag = "auth", security(("staff_jwt" = [])),
    responses((status = 202, body = VerificationResent), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope, description = "the clinic is already live (`already_live`)")))]
pub async fn resend_verification(
    State(app): State<Arc<App>>,
    actor: Actor,
    super::extract::PublicBase(base): super::extract::PublicBase,
) -> ApiResult<(StatusCode, Json<VerificationResent>)> {
    if actor.member.input.role != mas_domain::team::Role::Owner {
        return Err(mas_domain::error::AppError::Forbidden("only an owner confirms the clinic's email".into()).into());
    }
    let tenant = ops::tenant(&app.store, &actor.tenant_id).await?;
    let sent =
        mas_usecases::auth::send_email_verification(&app, &actor.audit(), &base, &tenant, &actor.member, true).await?;
    Ok((StatusCode::ACCEPTED, Json(VerificationResent { status: if sent { "sent" } else { "throttled" } })))
}

fn owner_claims(signed_up: &ops::SignedUp) -> StaffClaims {
    StaffClaims::for_member(&signed_up.tenant.id, &signed_up.owner)
}

#[derive(Serialize, ToSchema)]
pub struct MeResponse {
    pub tenant: Tenant,
    pub member: Member,
    pub permissions: Vec<Permission>,
    /// Whether signing in asks this member for an authenticator code.
    pub two_step_enabled: bool,
}

#[utoipa::path(get, path = "/v1/me", tag = "tenants", security(("staff_jwt" = [])),
    responses((status = 200, body = MeResponse), (status = 401, body = ErrorEnvelope)))]
pub async fn me(State(app): State<Arc<App>>, actor: Actor) -> ApiResult<Json<MeResponse>> {
    let tenant = ops::tenant(&app.store, &actor.tenant_id).await?;
    let role = actor.member.input.role;
    let permissions = Permission::ALL.into_iter().filter(|p| role.allows(*p)).collect();
    let two_step_enabled = mas_usecases::auth::two_step_enabled(&app.store, &actor.tenant_id, &actor.member.id).await?;
    Ok(Json(MeResponse { tenant, member: actor.member, permissions, two_step_enabled }))
}

#[utoipa::path(get, path = "/v1/brand", tag = "brand", security(("staff_jwt" = [])),
    responses((status = 200, body = Brand), (status = 401, body = ErrorEnvelope)))]
pub async fn get_brand(State(app): State<Arc<App>>, actor: Actor) -> ApiResult<Json<Brand>> {
    actor.require(Permission::CatalogRead)?;
    Ok(Json(ops::brand(&app.store, &actor.tenant_id).await?))
}

#[utoipa::path(put, path = "/v1/brand", tag = "brand", security(("staff_jwt" = [])), request_body = BrandInput,
    responses((status = 200, body = Brand), (status = 403, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn put_brand(
    State(app): State<Arc<App>>,
    actor: Actor,
    input: Result<JsonBody<BrandInput>, ApiError>,
) -> ApiResult<Json<Brand>> {
    actor.require(Permission::BrandWrite)?;
    // The role first: a caller who may not do this learns nothing from the body's errors.
    let JsonBody(input) = input?;
    let brand = ops::put_brand(&app.store, &actor.audit(), &app.config.site_domain, input).await?;
    Ok(Json(brand))
}

/// Looks for the custom domain's TXT record (`domain_verification.record_name` holding
/// `record_value`, both in the brand) and, when found, claims the domain: the site answers on it
/// from then on. Until then the domain is pending and holds nothing. Already proven: the brand.
#[utoipa::path(post, path = "/v1/brand/domain/verify", tag = "brand", operation_id = "verify_brand_domain",
    security(("staff_jwt" = [])),
    responses((status = 200, body = Brand), (status = 403, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope, description = "no domain is pending, or its TXT record is not there yet (`domain_not_verified`)"),
        (status = 503, body = ErrorEnvelope, description = "the DNS lookup failed; `Retry-After` says when to try again")))]
pub async fn verify_domain(State(app): State<Arc<App>>, actor: Actor) -> ApiResult<Json<Brand>> {
    actor.require(Permission::BrandWrite)?;
    Ok(Json(ops::verify_domain(&app.store, app.dns.as_ref(), &actor.audit()).await?))
}

/// Uploads the clinic's logo for its PDFs: a PNG or JPEG (`Content-Type: image/png` or
/// `image/jpeg`) of at most 128 KB and 2,000 pixels a side, decoded before it is accepted. It
/// replaces any earlier logo; documents rendered from then on carry it in their header.
#[utoipa::path(put, path = "/v1/brand/logo", tag = "brand", operation_id = "put_brand_logo", security(("staff_jwt" = [])),
    request_body(content = String, content_type = "image/png", description = "The image file, as bytes (PNG or JPEG)"),
    responses((status = 200, body = LogoInfo), (status = 403, body = ErrorEnvelope), (status = 413, body = ErrorEnvelope),
        (status = 415, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn put_logo(
    State(app): State<Arc<App>>,
    actor: Actor,
    ImageBody(format, bytes): ImageBody<LOGO_MAX_BYTES>,
) -> ApiResult<Json<LogoInfo>> {
    actor.require(Permission::BrandWrite)?;
    Ok(Json(ops::put_logo(&app.store, &actor.audit(), format, &bytes).await?))
}
