//! The HTTP API: one router for every route, mounted whole by the `api` Lambda binary (each
//! route's function only ever receives its own route) and by the local host. No adapters here:
//! handlers reach the outside world only through the ports in `App`. The route table
//! and the OpenAPI document both come from the same `routes!` list below.

pub mod appointments;
pub mod audit;
pub mod auth;
pub mod availability;
pub mod catalog;
pub mod clients;
mod document;
pub mod documents;
pub mod error;
pub mod esign;
pub mod extract;
pub mod notifications;
pub mod payments;
pub mod policies;
pub mod portal;
pub mod public;
pub mod sales;
pub mod screening;
pub mod serve_site;
pub mod site;
pub mod team;
pub mod templates;
pub mod tenants;
pub mod webhooks;

use std::sync::{Arc, LazyLock};
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tracing::Instrument;
use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use error::ApiError;
use extract::Credentials;
use mas_domain::ids::RequestId;
use mas_usecases::app::{App, AuthMode};
use mas_usecases::tokens::StaffClaims;

#[derive(OpenApi)]
#[openapi(
    info(title = "Master Aesthetics Suite API", version = "1.0.0",
        description = "Multi-tenant API for aesthetics clinics. Errors use one envelope: {\"error\":{\"code\",\"message\",\"details\"}}."),
    modifiers(&StaffJwt),
    components(schemas(error::ErrorEnvelope))
)]
struct ApiDoc;

struct StaffJwt;

impl Modify for StaffJwt {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let scheme = HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build();
        components.add_security_scheme("staff_jwt", SecurityScheme::Http(scheme));
    }
}

fn parts() -> (Router<Arc<App>>, OpenApiDoc) {
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health))
        .routes(routes!(openapi_json))
        .routes(routes!(tenants::sign_up))
        .routes(routes!(tenants::verify_email))
        .routes(routes!(tenants::resend_verification))
        .routes(routes!(tenants::me))
        .routes(routes!(tenants::get_brand, tenants::put_brand))
        .routes(routes!(tenants::put_logo))
        .routes(routes!(tenants::verify_domain))
        .routes(routes!(catalog::locations::list, catalog::locations::create))
        .routes(routes!(catalog::locations::get, catalog::locations::replace, catalog::locations::archive))
        .routes(routes!(catalog::services::list, catalog::services::create))
        .routes(routes!(catalog::services::get, catalog::services::replace, catalog::services::archive))
        .routes(routes!(catalog::practitioners::list, catalog::practitioners::create))
        .routes(routes!(catalog::practitioners::get, catalog::practitioners::replace, catalog::practitioners::archive))
        .routes(routes!(catalog::list_exceptions, catalog::add_exception))
        .routes(routes!(catalog::remove_exception))
        .routes(routes!(catalog::resources::list, catalog::resources::create))
        .routes(routes!(catalog::resources::get, catalog::resources::replace, catalog::resources::archive))
        .routes(routes!(team::list, team::create))
        .routes(routes!(team::get, team::replace, team::remove))
        .routes(routes!(team::resend_invitation))
        .routes(routes!(audit::list))
        .routes(routes!(auth::sign_in))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::sign_out))
        .routes(routes!(auth::sign_out_everywhere))
        .routes(routes!(auth::preview_invitation))
        .routes(routes!(auth::accept_invitation))
        .routes(routes!(auth::request_password_reset))
        .routes(routes!(auth::confirm_password_reset))
        .routes(routes!(auth::start_two_step))
        .routes(routes!(auth::enable_two_step))
        .routes(routes!(auth::disable_two_step))
        .routes(routes!(public::catalog))
        .routes(routes!(availability::staff))
        .routes(routes!(availability::public))
        .routes(routes!(availability::explain))
        .routes(routes!(policies::get, policies::put))
        .routes(routes!(appointments::list, appointments::book))
        .routes(routes!(appointments::get, appointments::change))
        .routes(routes!(appointments::fee_preview))
        .routes(routes!(appointments::book_public))
        .routes(routes!(clients::list, clients::create))
        .routes(routes!(clients::get, clients::update))
        .routes(routes!(clients::timeline))
        .routes(routes!(clients::get_medical, clients::put_medical))
        .routes(routes!(clients::export))
        .routes(routes!(clients::erase))
        .routes(routes!(clients::share, clients::unshare))
        .routes(routes!(clients::backfill))
        .routes(routes!(screening::assess))
        .routes(routes!(payments::deposit_intent))
        .routes(routes!(payments::finalize))
        .routes(routes!(payments::refund))
        .routes(routes!(payments::list))
        .routes(routes!(sales::list, sales::complete))
        .routes(routes!(sales::get))
        .routes(routes!(sales::void))
        .routes(routes!(sales::refund))
        .routes(routes!(webhooks::stripe))
        .routes(routes!(templates::list, templates::create))
        .routes(routes!(templates::get))
        .routes(routes!(documents::generate))
        .routes(routes!(documents::get, documents::void))
        .routes(routes!(documents::pdf))
        .routes(routes!(documents::open_esign))
        .routes(routes!(documents::verify_hash, documents::verify_pdf))
        .routes(routes!(esign::page))
        .routes(routes!(esign::open))
        .routes(routes!(esign::sign))
        .routes(routes!(esign::decline))
        .routes(routes!(site::publish))
        .routes(routes!(portal::request_link))
        .routes(routes!(portal::open_session))
        .routes(routes!(portal::appointments))
        .routes(routes!(portal::fee_preview))
        .routes(routes!(portal::change))
        .routes(routes!(portal::documents))
        .routes(routes!(portal::get_preferences, portal::put_preferences))
        .routes(routes!(notifications::get_preferences, notifications::put_preferences))
        .routes(routes!(notifications::list))
        .routes(routes!(notifications::get_settings, notifications::put_settings))
        .routes(routes!(notifications::twilio_inbound))
        .routes(routes!(notifications::twilio_status))
        .routes(routes!(notifications::unsubscribe, notifications::unsubscribe_page))
        .split_for_parts();
    document::complete(&mut doc);
    (router, doc)
}

static OPENAPI_JSON: LazyLock<String> =
    LazyLock::new(|| openapi().to_pretty_json().expect("the OpenAPI document serializes"));

/// The OpenAPI 3.1 document of every route, generated from the handlers.
pub fn openapi() -> OpenApiDoc {
    parts().1
}

/// One route: what `template.yaml` must list as one function with one HttpApi event.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Route {
    pub method: &'static str,
    pub path: String,
    /// No staff token needed (no JWT authorizer on AWS).
    pub public: bool,
}

pub fn route_table() -> Vec<Route> {
    let mut routes = Vec::new();
    for (path, item) in openapi().paths.paths {
        let operations = [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("PATCH", &item.patch),
            ("DELETE", &item.delete),
        ];
        for (method, operation) in operations {
            if let Some(operation) = operation {
                let public = operation.security.as_ref().is_none_or(|s| s.is_empty());
                routes.push(Route { method, path: path.clone(), public });
            }
        }
    }
    routes.sort();
    routes
}

/// The router with every route and the request-context layer, ready to serve.
pub fn router(app: Arc<App>) -> Router {
    parts()
        .0
        .fallback(|| async { ApiError::RouteNotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(middleware::from_fn_with_state(app.clone(), request_context))
        .with_state(app)
}

/// Only `/webhooks/twilio` and its status callback, for the `twilio_webhook` Lambda.
pub fn twilio_router(app: Arc<App>) -> Router {
    Router::new()
        .route("/webhooks/twilio", axum::routing::post(notifications::twilio_inbound))
        .route("/webhooks/twilio/status", axum::routing::post(notifications::twilio_status))
        .fallback(|| async { ApiError::RouteNotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(middleware::from_fn_with_state(app.clone(), request_context))
        .with_state(app)
}

/// Only `/webhooks/stripe`, for the `stripe_webhook` Lambda: the rest of the API stays out of
/// its binary.
pub fn webhook_router(app: Arc<App>) -> Router {
    Router::new()
        .route("/webhooks/stripe", axum::routing::post(webhooks::stripe))
        .fallback(|| async { ApiError::RouteNotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(middleware::from_fn_with_state(app.clone(), request_context))
        .with_state(app)
}

/// What `/health` answers.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct Health {
    #[schema(example = "ok")]
    status: &'static str,
    /// The API crate's version.
    version: &'static str,
}

#[utoipa::path(get, path = "/health", tag = "meta", responses((status = 200, body = Health, description = "The function is up")))]
async fn health() -> impl IntoResponse {
    axum::Json(Health { status: "ok", version: env!("CARGO_PKG_VERSION") })
}

#[utoipa::path(get, path = "/openapi.json", tag = "meta",
    responses((status = 200, body = Object, content_type = "application/json", description = "This document")))]
async fn openapi_json() -> impl IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], OPENAPI_JSON.as_str())
}

/// Gives every request its id and its caller's credentials, and logs it (no bodies, no PII).
async fn request_context(State(app): State<Arc<App>>, mut req: Request, next: Next) -> Response {
    let lambda = req.extensions().get::<lambda_http::request::RequestContext>().cloned();
    let request_id = lambda_request_id(lambda.as_ref()).unwrap_or_default();
    let credentials = match &app.auth {
        AuthMode::ApiGateway => lambda_claims(lambda.as_ref()),
        AuthMode::Local(issuer) => match bearer_token(&req) {
            None => Credentials::None,
            Some(token) => match issuer.verify(token) {
                Ok(claims) => Credentials::Claims(claims),
                Err(err) => Credentials::Invalid(err.to_string()),
            },
        },
    };
    let tenant_id = match &credentials {
        Credentials::Claims(c) => c.tenant_id.to_string(),
        _ => String::new(),
    };
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_default();
    let method = req.method().clone();
    req.extensions_mut().insert(request_id.clone());
    req.extensions_mut().insert(credentials);
    let span = tracing::info_span!("request", %request_id, tenant_id, %method, route);
    let started = Instant::now();
    let response = next.run(req).instrument(span.clone()).await;
    span.in_scope(|| {
        tracing::info!(
            status = response.status().as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "handled"
        );
    });
    response
}

fn bearer_token(req: &Request) -> Option<&str> {
    let value = req.headers().get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")).map(str::trim)
}

fn lambda_request_id(context: Option<&lambda_http::request::RequestContext>) -> Option<RequestId> {
    use lambda_http::request::RequestContext;
    let Some(RequestContext::ApiGatewayV2(ctx)) = context else { return None };
    let raw: String = ctx.request_id.as_deref()?.chars().filter(char::is_ascii_alphanumeric).collect();
    RequestId::parse(&format!("req_{}", raw.to_lowercase())).ok()
}

fn lambda_claims(context: Option<&lambda_http::request::RequestContext>) -> Credentials {
    use lambda_http::request::RequestContext;
    let Some(RequestContext::ApiGatewayV2(ctx)) = context else { return Credentials::None };
    let Some(jwt) = ctx.authorizer.as_ref().and_then(|a| a.jwt.as_ref()) else { return Credentials::None };
    match StaffClaims::from_map(&jwt.claims) {
        Ok(claims) => Credentials::Claims(claims),
        Err(err) => Credentials::Invalid(err.to_string()),
    }
}
