//! The HTTP API: one route table, grouped by what a route's function needs ([`Core`] for the
//! `api` binary, [`Money`] for `api_payments`, each webhook's own); each Lambda binary mounts its
//! group (each route's function only ever receives its own route) and the local host mounts them
//! all. No adapters here: handlers reach the outside world only through the ports in `App`. The
//! routers, the route table and the OpenAPI document all come from the same `route_group!` lists
//! below.

pub mod academy;
pub mod analytics;
pub mod appointments;
pub mod audit;
pub mod auth;
pub mod availability;
pub mod catalog;
pub mod certificates;
pub mod clients;
pub mod commissions;
pub mod desk;
mod document;
pub mod documents;
pub mod error;
pub mod esign;
pub mod extract;
pub mod gift_cards;
pub mod idempotency;
pub mod learn;
pub mod loyalty;
pub mod memberships;
pub mod notifications;
pub mod packages;
pub mod partners;
pub mod payments;
pub mod policies;
pub mod portal;
pub mod public;
pub mod reviews;
pub mod sales;
pub mod screening;
pub mod search;
pub mod serve_site;
pub mod site;
pub mod stock;
pub mod team;
pub mod templates;
pub mod tenants;
pub mod waitlist;
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
        // Servers on the `/partner/v1/` routes: `Authorization: Bearer mas_key_…`.
        let key = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("mas_key_…")
            .description(Some("An API key made in Settings › Developers, with the route's scope."))
            .build();
        components.add_security_scheme("api_key", SecurityScheme::Http(key));
    }
}

/// One route table, grouped by what a route's function needs; each Lambda binary mounts only its
/// group, the local host all of them. A group is written once and becomes a [`Group`] with two
/// ways of mounting it: with each route's OpenAPI operation and schemas (`documented`: the
/// document, the route table) and without (`plain`: what the binaries serve, so a function
/// neither builds the document at init nor links the operations and schemas of routes it does not
/// serve). Both read each route's method and path off its `#[utoipa::path]`, so they cannot differ.
macro_rules! route_group {
    ($(#[$meta:meta])* $group:ident { $( [$($($segment:ident)::+),+] )* }) => {
        $(#[$meta])*
        pub struct $group;

        impl Group for $group {
            fn documented(router: OpenApiRouter<Arc<App>>) -> OpenApiRouter<Arc<App>> {
                router $( .routes(routes!($($($segment)::+),+)) )*
            }

            fn plain(router: Router<Arc<App>>) -> Router<Arc<App>> {
                let router = router;
                $( $( let router = route_group!(@plain router; [] $($segment)+); )+ )*
                router
            }
        }
    };
    // `a::b::handler` → `mount::<a::b::__path_handler, _, _>(router, a::b::handler)`
    (@plain $router:ident; [$($prefix:ident)*] $handler:ident) => {
        utoipa_axum::paste! { mount::<$($prefix::)* [<__path_ $handler>], _, _>($router, $($prefix::)* $handler) }
    };
    (@plain $router:ident; [$($prefix:ident)*] $head:ident $($rest:ident)+) => {
        route_group!(@plain $router; [$($prefix)* $head] $($rest)+)
    };
}

/// Some of the route table: the routes one kind of function serves.
pub trait Group {
    /// Adds the group's routes with their OpenAPI operations and schemas.
    fn documented(router: OpenApiRouter<Arc<App>>) -> OpenApiRouter<Arc<App>>;
    /// Adds the group's routes alone: method, path and handler.
    fn plain(router: Router<Arc<App>>) -> Router<Arc<App>>;
}

/// One handler at the path and methods its `#[utoipa::path]` declares (`P` is the struct the
/// attribute generates). Routes on one path merge into one method router.
fn mount<P, H, T>(router: Router<Arc<App>>, handler: H) -> Router<Arc<App>>
where
    P: utoipa::Path,
    H: axum::handler::Handler<T, Arc<App>>,
    T: 'static,
{
    use utoipa_axum::PathItemExt;
    let methods = P::methods().iter().fold(axum::routing::MethodRouter::new(), |methods, method| {
        methods.on(method.to_method_filter(), handler.clone())
    });
    router.route(&P::path(), methods)
}

route_group!(
    /// Every route but those below: the `api` binary.
    Core {
        [health]
        [openapi_json]
        [tenants::sign_up]
        [tenants::verify_email]
        [tenants::resend_verification]
        [tenants::me]
        [tenants::get_brand, tenants::put_brand]
        [tenants::put_logo]
        [tenants::verify_domain]
        [catalog::locations::list, catalog::locations::create]
        [catalog::locations::get, catalog::locations::replace, catalog::locations::archive]
        [catalog::services::list, catalog::services::create]
        [catalog::services::get, catalog::services::replace, catalog::services::archive]
        [catalog::practitioners::list, catalog::practitioners::create]
        [catalog::practitioners::get, catalog::practitioners::replace, catalog::practitioners::archive]
        [catalog::list_exceptions, catalog::add_exception]
        [catalog::remove_exception]
        [catalog::resources::list, catalog::resources::create]
        [catalog::resources::get, catalog::resources::replace, catalog::resources::archive]
        [catalog::package_templates::list, catalog::package_templates::create]
        [catalog::package_templates::get, catalog::package_templates::replace, catalog::package_templates::archive]
        [catalog::membership_plans::list, catalog::membership_plans::create]
        [catalog::membership_plans::get, catalog::membership_plans::replace, catalog::membership_plans::archive]
        [team::list, team::create]
        [team::get, team::replace, team::remove]
        [team::resend_invitation]
        [audit::list]
        [auth::sign_in]
        [auth::refresh]
        [auth::sign_out]
        [auth::sign_out_everywhere]
        [auth::preview_invitation]
        [auth::accept_invitation]
        [auth::request_password_reset]
        [auth::confirm_password_reset]
        [auth::start_two_step]
        [auth::enable_two_step]
        [auth::disable_two_step]
        [public::catalog]
        [availability::staff]
        [availability::public]
        [availability::explain]
        [policies::get, policies::put]
        [policies::public]
        [appointments::list, appointments::book]
        [appointments::get]
        [appointments::fee_preview]
        [appointments::book_public]
        [clients::list, clients::create]
        [clients::get, clients::update]
        [clients::timeline]
        [clients::get_medical, clients::put_medical]
        [clients::export]
        [clients::erase]
        [clients::share, clients::unshare]
        [clients::backfill]
        [search::search]
        [screening::assess]
        [payments::list]
        [payments::connect_status]
        [payments::deposit_status]
        [payments::client_balance]
        [sales::list]
        [sales::get]
        [sales::receipts]
        [sales::day_close, sales::close, sales::reopen]
        [sales::close_csv]
        [commissions::get_plan, commissions::save_plan]
        [commissions::report]
        [analytics::kpis]
        [analytics::rebuild]
        [desk::list_readers]
        [desk::get]
        [templates::list, templates::create]
        [templates::get]
        [documents::generate]
        [documents::get, documents::void]
        [documents::pdf]
        [documents::open_esign]
        [documents::verify_hash, documents::verify_pdf]
        [esign::page]
        [esign::open]
        [esign::sign]
        [esign::decline]
        [site::publish]
        [portal::request_link]
        [portal::open_session]
        [portal::appointments]
        [portal::fee_preview]
        [portal::documents]
        [portal::receipts]
        [portal::get_preferences, portal::put_preferences]
        [portal::balances]
        [portal::gift_cards]
        [portal::packages]
        [gift_cards::list]
        [gift_cards::lookup]
        [gift_cards::get]
        [gift_cards::void]
        [gift_cards::balance]
        [gift_cards::purchase_status]
        [waitlist::list, waitlist::add]
        [waitlist::remove]
        [waitlist::join_public]
        [waitlist::answer_offer]
        [waitlist::portal_list]
        [waitlist::portal_withdraw]
        [reviews::submit]
        [reviews::list]
        [reviews::publish]
        [reviews::reject]
        [reviews::reply]
        [reviews::get_settings, reviews::put_settings]
        [packages::for_client]
        [packages::get]
        [packages::void]
        [catalog::products::list, catalog::products::create]
        [catalog::products::get, catalog::products::replace, catalog::products::archive]
        [stock::receive]
        [stock::adjust]
        [stock::movements]
        [stock::levels]
        [stock::reorder]
        [stock::reorder_csv]
        [stock::get_usage, stock::put_usage]
        [loyalty::get_programme, loyalty::save_programme]
        [loyalty::account]
        [loyalty::adjust]
        [loyalty::portal]
        [memberships::for_client]
        [memberships::portal_list]
        [academy::list_courses, academy::create_course]
        [academy::get_course, academy::replace_course]
        [academy::publish_course]
        [academy::course_versions]
        [academy::list_cohorts, academy::create_cohort]
        [academy::get_cohort, academy::replace_cohort]
        [academy::roster, academy::enrol_at_desk]
        [academy::cancel_enrolment]
        [academy::public_courses]
        [learn::request_link]
        [learn::open_session]
        [learn::enrolments]
        [learn::complete_lesson]
        [learn::start_attempt]
        [learn::get_attempt]
        [learn::submit_attempt]
        [learn::cohort_gradebook]
        [certificates::logbook]
        [certificates::sign_off]
        [certificates::list]
        [certificates::revoke]
        [certificates::check]
        [certificates::pdf]
        [certificates::credential]
        [certificates::issuer]
        [certificates::status_list]
        [notifications::get_preferences, notifications::put_preferences]
        [notifications::list]
        [notifications::get_settings, notifications::put_settings]
        [notifications::unsubscribe, notifications::unsubscribe_page]
        [partners::list_endpoints, partners::create_endpoint]
        [partners::get_endpoint, partners::replace_endpoint, partners::remove_endpoint]
        [partners::roll_secret]
        [partners::ping]
        [partners::deliveries]
        [partners::replay]
        [partners::replay_parked]
        [partners::list_keys, partners::create_key]
        [partners::revoke_key]
        [partners::partner_appointments]
        [partners::partner_client]
        [partners::partner_services]
    }
);

route_group!(
    /// The routes that move money (Stripe): the `api_payments` binary. Changing an appointment
    /// (staff or a client in the portal) may refund a deposit less the policy's fee.
    Money {
        [payments::start_connect]
        [payments::deposit_intent]
        [payments::finalize]
        [payments::refund]
        [appointments::change]
        [portal::change]
        [portal::pay_here]
        [sales::complete]
        [sales::void]
        [sales::refund]
        [gift_cards::purchase]
        [academy::enrol_public]
        [memberships::start]
        [memberships::act]
        [memberships::portal_cancel]
        [desk::register_reader]
        [desk::remove_reader]
        [desk::start]
        [desk::cancel]
    }
);

route_group!(
    /// Stripe's webhook: the `stripe_webhook` binary.
    StripeWebhook {
        [webhooks::stripe]
        [webhooks::stripe_connect]
    }
);

route_group!(
    /// Twilio's inbound messages and delivery reports: the `twilio_webhook` binary.
    TwilioWebhook {
        [notifications::twilio_inbound]
        [notifications::twilio_status]
    }
);

/// Every group: the local host, the document and the route table.
pub struct All;

impl Group for All {
    fn documented(router: OpenApiRouter<Arc<App>>) -> OpenApiRouter<Arc<App>> {
        let router = Core::documented(router);
        let router = Money::documented(router);
        TwilioWebhook::documented(StripeWebhook::documented(router))
    }

    fn plain(router: Router<Arc<App>>) -> Router<Arc<App>> {
        TwilioWebhook::plain(StripeWebhook::plain(Money::plain(Core::plain(router))))
    }
}

/// The OpenAPI document of a group's routes.
fn document_of<G: Group>() -> OpenApiDoc {
    let (_, mut doc) = G::documented(OpenApiRouter::with_openapi(ApiDoc::openapi())).split_for_parts();
    document::complete(&mut doc);
    doc
}

static OPENAPI_JSON: LazyLock<String> =
    LazyLock::new(|| openapi().to_pretty_json().expect("the OpenAPI document serializes"));

/// The OpenAPI 3.1 document of every route, generated from the handlers.
pub fn openapi() -> OpenApiDoc {
    document_of::<All>()
}

/// One route: what `template.yaml` must list as one function with one HttpApi event.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Route {
    pub method: &'static str,
    pub path: String,
    /// No staff token needed (no JWT authorizer on AWS): no security, or an API key's (which
    /// the handler checks).
    pub public: bool,
}

/// Every route.
pub fn route_table() -> Vec<Route> {
    route_table_of::<All>()
}

/// A group's routes (which binary serves which route: `tests/suite/template.rs`).
pub fn route_table_of<G: Group>() -> Vec<Route> {
    let mut routes = Vec::new();
    for (path, item) in document_of::<G>().paths.paths {
        let operations = [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("PATCH", &item.patch),
            ("DELETE", &item.delete),
        ];
        for (method, operation) in operations {
            if let Some(operation) = operation {
                let public = operation.security.as_ref().is_none_or(|s| {
                    s.iter().all(|r| serde_json::to_value(r).is_ok_and(|v| v.get("staff_jwt").is_none()))
                });
                routes.push(Route { method, path: path.clone(), public });
            }
        }
    }
    routes.sort();
    routes
}

/// The router with every route and the request-context layer, ready to serve (the local host).
pub fn router(app: Arc<App>) -> Router {
    serve::<All>(app)
}

/// A group's routes and the request-context layer: what one kind of Lambda function serves
/// (`api`: [`Core`], `api_payments`: [`Money`], the webhooks theirs).
pub fn serve<G: Group>(app: Arc<App>) -> Router {
    G::plain(Router::new())
        .fallback(|| async { ApiError::RouteNotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(middleware::from_fn_with_state(app.clone(), request_context))
        .with_state(app)
}

/// Only `/webhooks/twilio` and its status callback, for the `twilio_webhook` Lambda.
pub fn twilio_router(app: Arc<App>) -> Router {
    serve::<TwilioWebhook>(app)
}

/// Only `/webhooks/stripe` and `/webhooks/stripe/connect`, for the `stripe_webhook` Lambda: the
/// rest of the API stays out of its binary.
pub fn webhook_router(app: Arc<App>) -> Router {
    serve::<StripeWebhook>(app)
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
