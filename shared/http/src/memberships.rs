//! Memberships: a client joins a plan (the catalog's `/v1/membership-plans`) on a hosted sign-up
//! page the desk starts for her; the clinic pauses, resumes and cancels; she sees hers in the
//! portal and may end it at the end of the month paid for. Each paid month's credits are a
//! package (`/v1/clients/{id}/packages`) the till redeems. The role is checked before the body
//! is read (403 before 422).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::{ApiError, ApiResult, ErrorEnvelope};
use super::extract::{Actor, JsonBody, PathParams};
use mas_domain::ids::{ClientId, MembershipId, MembershipPlanId, RequestId};
use mas_domain::membership::{Membership, MembershipAction};
use mas_domain::team::Permission;
use mas_store::AuditContext;
use mas_usecases::app::{App, portal_url};
use mas_usecases::memberships::{self as ops, ReturnUrls};
use mas_usecases::payments::Ports;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartMembershipInput {
    pub plan_id: MembershipPlanId,
}

/// Where the sign-up page sends her: the clinic's portal.
async fn return_urls(app: &App, tenant: &mas_domain::ids::TenantId) -> ApiResult<ReturnUrls> {
    let tenant = mas_usecases::tenants::tenant(&app.store, tenant).await?;
    let portal = portal_url(app.public_url.as_deref(), &app.config.site_domain, &tenant.slug);
    Ok(ReturnUrls { success: format!("{portal}?membership=joined"), cancel: portal })
}

/// Starts a membership for a client: it waits (`pending`) until she pays the first month on
/// `signup_url` (hand it to her, or open it at the desk); then it is `active` and the month's
/// credits are hers.
#[utoipa::path(post, path = "/v1/clients/{id}/memberships", tag = "memberships", operation_id = "start_membership", security(("staff_jwt" = [])),
    params(("id" = String, Path)), request_body = StartMembershipInput,
    responses((status = 201, body = Membership), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, description = "`membership_exists`: she holds this plan already; `payments_not_connected`", body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn start(
    State(app): State<Arc<App>>,
    actor: Actor,
    path: PathParams,
    input: Result<JsonBody<StartMembershipInput>, ApiError>,
) -> ApiResult<(StatusCode, Json<Membership>)> {
    actor.require(Permission::MembershipsWrite)?;
    // The role first: a caller who may not do this learns nothing from the body's errors.
    let JsonBody(input) = input?;
    let client: ClientId = path.id("id", "client")?;
    actor.admit_client(&app, &client).await?;
    mas_usecases::clients::get(&app.store, &actor.tenant_id, &client).await?;
    let urls = return_urls(&app, &actor.tenant_id).await?;
    let membership = ops::start(Ports::of(&app), &actor.audit(), &client, &input.plan_id, &urls).await?;
    Ok((StatusCode::CREATED, Json(membership)))
}

/// A client's memberships, newest first.
#[utoipa::path(get, path = "/v1/clients/{id}/memberships", tag = "memberships", operation_id = "list_client_memberships", security(("staff_jwt" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Vec<Membership>), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn for_client(
    State(app): State<Arc<App>>,
    actor: Actor,
    path: PathParams,
) -> ApiResult<Json<Vec<Membership>>> {
    actor.require(Permission::PackagesRead)?;
    let client: ClientId = path.id("id", "client")?;
    actor.admit_client(&app, &client).await?;
    mas_usecases::clients::get(&app.store, &actor.tenant_id, &client).await?;
    Ok(Json(ops::for_client(&app.store, &actor.tenant_id, &client).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MembershipActionInput {
    pub action: MembershipAction,
}

/// Pauses (nothing charged, no credits), resumes, cancels now (the month paid for is not
/// refunded; its credits stay until it ends) or at the end of the month paid for. The gateway
/// is asked first; the membership records what it answers.
#[utoipa::path(post, path = "/v1/memberships/{id}/actions", tag = "memberships", operation_id = "act_on_membership", security(("staff_jwt" = [])),
    params(("id" = String, Path)), request_body = MembershipActionInput,
    responses((status = 200, body = Membership), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, description = "`membership_state`: not possible in its state; `concurrent_update`", body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn act(
    State(app): State<Arc<App>>,
    actor: Actor,
    path: PathParams,
    input: Result<JsonBody<MembershipActionInput>, ApiError>,
) -> ApiResult<Json<Membership>> {
    actor.require(Permission::MembershipsWrite)?;
    let JsonBody(input) = input?;
    let id: MembershipId = path.id("id", "membership")?;
    let membership = ops::get(&app.store, &actor.tenant_id, &id).await?;
    actor.admit_client(&app, &membership.client_id).await?;
    Ok(Json(ops::act(Ports::of(&app), &actor.audit(), &id, input.action).await?))
}

/// The signed-in client's memberships, newest first (her credits are in `/v1/portal/packages`).
#[utoipa::path(get, path = "/v1/portal/memberships", tag = "portal", operation_id = "portal_memberships",
    responses((status = 200, body = Vec<Membership>), (status = 401, body = ErrorEnvelope)))]
pub async fn portal_list(State(app): State<Arc<App>>, headers: HeaderMap) -> ApiResult<Json<Vec<Membership>>> {
    let session = super::portal::session(&app, &headers).await?;
    Ok(Json(ops::for_client(&app.store, &session.tenant_id, &session.client_id).await?))
}

/// The client ends her membership when the month she paid for ends (nothing more is charged).
#[utoipa::path(post, path = "/v1/portal/memberships/{id}/cancel", tag = "portal", operation_id = "portal_cancel_membership",
    params(("id" = String, Path)),
    responses((status = 200, body = Membership), (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, description = "`membership_state`: ended already", body = ErrorEnvelope)))]
pub async fn portal_cancel(
    State(app): State<Arc<App>>,
    Extension(request_id): Extension<RequestId>,
    headers: HeaderMap,
    path: PathParams,
) -> ApiResult<Json<Membership>> {
    let session = super::portal::session(&app, &headers).await?;
    let id: MembershipId = path.id("id", "membership")?;
    let membership = ops::get(&app.store, &session.tenant_id, &id).await?;
    // Another client's membership is as unknown to her as one that does not exist.
    if membership.client_id != session.client_id {
        return Err(mas_domain::error::AppError::NotFound { what: "membership" }.into());
    }
    let audit = AuditContext { tenant_id: session.tenant_id.clone(), actor: "client".into(), role: None, request_id };
    Ok(Json(ops::act(Ports::of(&app), &audit, &id, MembershipAction::CancelAtPeriodEnd).await?))
}
