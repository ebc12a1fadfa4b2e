//! Partner integrations. Owners and managers (`IntegrationsManage`) register webhook endpoints,
//! roll their secrets, ping them, list and replay their deliveries, and make and revoke API
//! keys. The role is checked before the body is read.
//!
//! Servers call the `/partner/v1/…` routes with `Authorization: Bearer mas_key_…`. Those routes
//! are outside the staff routes' JWT authorizer on AWS (their own prefix, no authorizer): the
//! handler checks the key (its hash looked up; a revoked key's lookup is gone) and its scope.
//! No key, or one that is not live, is 401; a live key without the route's scope is 403; a key
//! only ever reads its own clinic (its tenant comes from the key, never from the request).

use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;

use super::availability::TimeArg;
use super::error::{ApiError, ApiResult, ErrorEnvelope};
use super::extract::{Actor, JsonBody, PathParams, QueryArgs};
use mas_domain::appointment::Appointment;
use mas_domain::catalog::{Record, Service, ServiceInput};
use mas_domain::clients::{Client, ClientInput};
use mas_domain::error::AppError;
use mas_domain::ids::{ApiKeyId, ClientId, ServiceId, WebhookDeliveryId, WebhookEndpointId};
use mas_domain::partner::{ApiKey, Delivery, Endpoint, Scope};
use mas_domain::reach::Reach;
use mas_domain::team::Permission;
use mas_usecases::api_keys::{self, Caller, KeyInput, KeyWithSecret};
use mas_usecases::app::App;
use mas_usecases::partner_webhooks::{self as hooks, EndpointInput, EndpointWithSecret, PingResult};

/// The endpoints of the clinic.
#[utoipa::path(get, path = "/v1/webhook-endpoints", tag = "developers", operation_id = "list_webhook_endpoints",
    security(("staff_jwt" = [])), responses((status = 200, body = Vec<Endpoint>), (status = 403, body = ErrorEnvelope)))]
pub async fn list_endpoints(State(app): State<Arc<App>>, actor: Actor) -> ApiResult<Json<Vec<Endpoint>>> {
    actor.require(Permission::IntegrationsManage)?;
    Ok(Json(hooks::list(&app.store, &actor.tenant_id).await?))
}

/// Registers an endpoint for the chosen event kinds. The answer carries its signing secret,
/// shown this once.
#[utoipa::path(post, path = "/v1/webhook-endpoints", tag = "developers", operation_id = "create_webhook_endpoint",
    security(("staff_jwt" = [])), request_body = EndpointInput,
    responses((status = 201, body = EndpointWithSecret), (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn create_endpoint(
    State(app): State<Arc<App>>,
    actor: Actor,
    input: Result<JsonBody<EndpointInput>, ApiError>,
) -> ApiResult<(StatusCode, Json<EndpointWithSecret>)> {
    actor.require(Permission::IntegrationsManage)?;
    let JsonBody(input) = input?;
    Ok((StatusCode::CREATED, Json(hooks::create(&app, &actor.audit(), input).await?)))
}

fn endpoint_id(path: &PathParams) -> Result<WebhookEndpointId, ApiError> {
    path.id("id", "webhook endpoint")
}

#[utoipa::path(get, path = "/v1/webhook-endpoints/{id}", tag = "developers", operation_id = "get_webhook_endpoint",
    security(("staff_jwt" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Endpoint), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn get_endpoint(State(app): State<Arc<App>>, actor: Actor, path: PathParams) -> ApiResult<Json<Endpoint>> {
    actor.require(Permission::IntegrationsManage)?;
    Ok(Json(hooks::get(&app.store, &actor.tenant_id, &endpoint_id(&path)?).await?))
}

/// Replaces the endpoint's URL, kinds, state and description (its secret stays).
#[utoipa::path(put, path = "/v1/webhook-endpoints/{id}", tag = "developers", operation_id = "replace_webhook_endpoint",
    security(("staff_jwt" = [])), params(("id" = String, Path)), request_body = EndpointInput,
    responses((status = 200, body = Endpoint), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, description = "`concurrent_update`: changed meanwhile", body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn replace_endpoint(
    State(app): State<Arc<App>>,
    actor: Actor,
    path: PathParams,
    input: Result<JsonBody<EndpointInput>, ApiError>,
) -> ApiResult<Json<Endpoint>> {
    actor.require(Permission::IntegrationsManage)?;
    let JsonBody(input) = input?;
    Ok(Json(hooks::replace(&app, &actor.audit(), &endpoint_id(&path)?, input).await?))
}

/// Removes the endpoint and its secret: nothing more is sent to it.
#[utoipa::path(delete, path = "/v1/webhook-endpoints/{id}", tag = "developers", operation_id = "remove_webhook_endpoint",
    security(("staff_jwt" = [])), params(("id" = String, Path)),
    responses((status = 204, description = "Removed"), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn remove_endpoint(State(app): State<Arc<App>>, actor: Actor, path: PathParams) -> ApiResult<StatusCode> {
    actor.require(Permission::IntegrationsManage)?;
    hooks::remove(&app, &actor.audit(), &endpoint_id(&path)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new signing secret, shown this once; the old one keeps signing beside it for 24 hours.
#[utoipa::path(post, path = "/v1/webhook-endpoints/{id}/roll-secret", tag = "developers", operation_id = "roll_webhook_secret",
    security(("staff_jwt" = [])), params(("id" = String, Path)),
    responses((status = 200, body = EndpointWithSecret), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, description = "`concurrent_update`: changed meanwhile", body = ErrorEnvelope)))]
pub async fn roll_secret(
    State(app): State<Arc<App>>,
    actor: Actor,
    path: PathParams,
) -> ApiResult<Json<EndpointWithSecret>> {
    actor.require(Permission::IntegrationsManage)?;
    Ok(Json(hooks::roll_secret(&app, &actor.audit(), &endpoint_id(&path)?).await?))
}

/// Sends a signed `ping` event to the endpoint now and answers what it said.
#[utoipa::path(post, path = "/v1/webhook-endpoints/{id}/ping", tag = "developers", operation_id = "ping_webhook_endpoint",
    security(("staff_jwt" = [])), params(("id" = String, Path)),
    responses((status = 200, body = PingResult), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn ping(State(app): State<Arc<App>>, actor: Actor, path: PathParams) -> ApiResult<Json<PingResult>> {
    actor.require(Permission::IntegrationsManage)?;
    Ok(Json(hooks::ping(&app, &actor.audit(), &endpoint_id(&path)?).await?))
}

/// The endpoint's latest 100 deliveries, newest first.
#[utoipa::path(get, path = "/v1/webhook-endpoints/{id}/deliveries", tag = "developers", operation_id = "list_webhook_deliveries",
    security(("staff_jwt" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Vec<Delivery>), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn deliveries(State(app): State<Arc<App>>, actor: Actor, path: PathParams) -> ApiResult<Json<Vec<Delivery>>> {
    actor.require(Permission::IntegrationsManage)?;
    Ok(Json(hooks::deliveries(&app.store, &actor.tenant_id, &endpoint_id(&path)?, 100).await?))
}

/// Sends a delivery again now (parked or not) and answers where it then stands.
#[utoipa::path(post, path = "/v1/webhook-endpoints/{id}/deliveries/{delivery_id}/replay", tag = "developers",
    operation_id = "replay_webhook_delivery", security(("staff_jwt" = [])),
    params(("id" = String, Path), ("delivery_id" = String, Path)),
    responses((status = 200, body = Delivery), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, description = "`concurrent_update`: being attempted right now", body = ErrorEnvelope)))]
pub async fn replay(State(app): State<Arc<App>>, actor: Actor, path: PathParams) -> ApiResult<Json<Delivery>> {
    actor.require(Permission::IntegrationsManage)?;
    let delivery: WebhookDeliveryId = path.id("delivery_id", "webhook delivery")?;
    Ok(Json(hooks::replay(&app, &actor.audit(), &endpoint_id(&path)?, &delivery).await?))
}

/// How many parked deliveries were made due again.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Replayed {
    pub replayed: usize,
}

/// Makes every parked delivery of the endpoint due now; the sweep (every minute) sends them.
#[utoipa::path(post, path = "/v1/webhook-endpoints/{id}/replay-parked", tag = "developers",
    operation_id = "replay_parked_webhook_deliveries", security(("staff_jwt" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Replayed), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, description = "`concurrent_update`: one was being attempted", body = ErrorEnvelope)))]
pub async fn replay_parked(State(app): State<Arc<App>>, actor: Actor, path: PathParams) -> ApiResult<Json<Replayed>> {
    actor.require(Permission::IntegrationsManage)?;
    let replayed = hooks::replay_parked(&app, &actor.audit(), &endpoint_id(&path)?).await?;
    Ok(Json(Replayed { replayed }))
}

/// The clinic's API keys (never their secrets), revoked ones included.
#[utoipa::path(get, path = "/v1/api-keys", tag = "developers", operation_id = "list_api_keys", security(("staff_jwt" = [])),
    responses((status = 200, body = Vec<ApiKey>), (status = 403, body = ErrorEnvelope)))]
pub async fn list_keys(State(app): State<Arc<App>>, actor: Actor) -> ApiResult<Json<Vec<ApiKey>>> {
    actor.require(Permission::IntegrationsManage)?;
    Ok(Json(api_keys::list(&app.store, &actor.tenant_id).await?))
}

/// Makes an API key with scopes; the answer carries the key, shown this once.
#[utoipa::path(post, path = "/v1/api-keys", tag = "developers", operation_id = "create_api_key", security(("staff_jwt" = [])),
    request_body = KeyInput,
    responses((status = 201, body = KeyWithSecret), (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn create_key(
    State(app): State<Arc<App>>,
    actor: Actor,
    input: Result<JsonBody<KeyInput>, ApiError>,
) -> ApiResult<(StatusCode, Json<KeyWithSecret>)> {
    actor.require(Permission::IntegrationsManage)?;
    let JsonBody(input) = input?;
    Ok((StatusCode::CREATED, Json(api_keys::create(&app.store, &actor.audit(), input).await?)))
}

/// Revokes a key: refused from the next call on.
#[utoipa::path(post, path = "/v1/api-keys/{id}/revoke", tag = "developers", operation_id = "revoke_api_key",
    security(("staff_jwt" = [])), params(("id" = String, Path)),
    responses((status = 200, body = ApiKey), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, description = "`concurrent_update`: revoked meanwhile", body = ErrorEnvelope)))]
pub async fn revoke_key(State(app): State<Arc<App>>, actor: Actor, path: PathParams) -> ApiResult<Json<ApiKey>> {
    actor.require(Permission::IntegrationsManage)?;
    let id: ApiKeyId = path.id("id", "API key")?;
    Ok(Json(api_keys::revoke(&app.store, &actor.audit(), &id).await?))
}

/// A server calling with a live API key (`Authorization: Bearer mas_key_…`).
pub struct KeyCaller(pub Caller);

impl FromRequestParts<Arc<App>> for KeyCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        let presented = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim);
        let unauthenticated =
            || AppError::Unauthenticated("call with `Authorization: Bearer mas_key_…` (a live API key)".into());
        let Some(presented) = presented else { return Err(unauthenticated().into()) };
        match api_keys::authenticate(&app.store, presented).await? {
            Some(caller) => Ok(KeyCaller(caller)),
            None => Err(unauthenticated().into()),
        }
    }
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PartnerAppointmentsQuery {
    /// A date (the start of that day in the clinic's time zone) or an RFC 3339 time.
    #[param(value_type = String)]
    pub from: TimeArg,
    /// A date (the end of that day) or an RFC 3339 time; at most 93 days after `from`.
    #[param(value_type = String)]
    pub to: TimeArg,
}

/// The clinic's appointments between two times (scope `appointments:read`). Screening
/// outcomes (health data) are never included.
#[utoipa::path(get, path = "/partner/v1/appointments", tag = "partner", operation_id = "partner_list_appointments",
    security(("api_key" = [])), params(PartnerAppointmentsQuery),
    responses((status = 200, body = Vec<Appointment>), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn partner_appointments(
    State(app): State<Arc<App>>,
    KeyCaller(caller): KeyCaller,
    QueryArgs(query): QueryArgs<PartnerAppointmentsQuery>,
) -> ApiResult<Json<Vec<Appointment>>> {
    caller.require(Scope::AppointmentsRead)?;
    let tenant = mas_usecases::tenants::tenant(&app.store, &caller.tenant_id).await?;
    let (from, to) = (query.from.start(tenant.timezone), query.to.end(tenant.timezone));
    let filter = mas_usecases::appointments::ListFilter { practitioner_id: None, location_id: None, status: None };
    let list =
        mas_usecases::appointments::list(&app.store, &tenant.id, &Reach::whole_clinic(), from, to, &filter).await?;
    Ok(Json(list.into_iter().map(|a| Appointment { screening: None, ..a }).collect()))
}

/// One client's record: name and contact details, never health data (scope `clients:read`).
#[utoipa::path(get, path = "/partner/v1/clients/{id}", tag = "partner", operation_id = "partner_get_client",
    security(("api_key" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Record<ClientId, ClientInput>), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 410, body = ErrorEnvelope)))]
pub async fn partner_client(
    State(app): State<Arc<App>>,
    KeyCaller(caller): KeyCaller,
    path: PathParams,
) -> ApiResult<Json<Client>> {
    caller.require(Scope::ClientsRead)?;
    let id: ClientId = path.id("id", "client")?;
    Ok(Json(mas_usecases::clients::get(&app.store, &caller.tenant_id, &id).await?))
}

/// The clinic's services (scope `catalog:read`).
#[utoipa::path(get, path = "/partner/v1/services", tag = "partner", operation_id = "partner_list_services",
    security(("api_key" = [])),
    responses((status = 200, body = [Record<ServiceId, ServiceInput>]), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
pub async fn partner_services(
    State(app): State<Arc<App>>,
    KeyCaller(caller): KeyCaller,
) -> ApiResult<Json<Vec<Service>>> {
    caller.require(Scope::CatalogRead)?;
    let list =
        mas_usecases::catalog::list::<mas_domain::catalog::ServiceInput>(&app.store, &caller.tenant_id, false).await?;
    Ok(Json(list))
}
