//! The API Gateway HTTP API (payload 2.0) events in `events/`: each parses with lambda_http the
//! way the Lambda runtime will parse it, and says what it claims to (method, path, route, auth).
//! Handler tests and `cargo lambda invoke --data-file events/…` use these files.

use std::collections::BTreeSet;
use std::path::PathBuf;

use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
use lambda_http::request::{RequestContext, from_str};
use lambda_http::{Body, Request, RequestExt};

use crate::repo_root;

/// Who a fixture's route is for.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Caller {
    /// No authorizer on the route; the event has no `requestContext.authorizer`.
    Anyone,
    /// Behind the JWT authorizer; the event carries the demo clinic owner's claims.
    Staff,
}

/// Every file in `events/`, with the request it must turn into.
const FIXTURES: &[(&str, &str, &str, Caller)] = &[
    ("get-health.json", "GET", "/health", Caller::Anyone),
    ("get-me.json", "GET", "/v1/me", Caller::Staff),
    ("create-location.json", "POST", "/v1/locations", Caller::Staff),
    ("get-public-catalog.json", "GET", "/v1/public/demo-clinic/catalog", Caller::Anyone),
    ("post-stripe-webhook.json", "POST", "/webhooks/stripe", Caller::Anyone),
    ("post-stripe-connect-webhook.json", "POST", "/webhooks/stripe/connect", Caller::Anyone),
    ("get-public-availability.json", "GET", "/v1/public/demo-clinic/availability", Caller::Anyone),
    ("post-deposit-intent-unknown-booking.json", "POST", "/v1/payments/deposit-intent", Caller::Anyone),
    (
        "esign-open.json",
        "POST",
        "/v1/esign/ten_demo.sig_demo.1767346404.0000000000000000000000000000000000000000000000000000000000000000/open",
        Caller::Anyone,
    ),
];

#[test]
fn every_event_fixture_parses_as_an_http_api_request() {
    let files = fixture_files();
    let listed: BTreeSet<&str> = FIXTURES.iter().map(|(file, ..)| *file).collect();
    let on_disk: BTreeSet<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(on_disk, listed, "events/*.json and FIXTURES in this test must list the same files");

    for (name, path) in &files {
        let (_, method, uri_path, _) = expectation(name);
        let request = parse(path);
        assert_eq!(request.method().as_str(), *method, "{name}: method");
        assert_eq!(request.uri().path(), *uri_path, "{name}: path");
        assert_eq!(request.raw_http_path(), *uri_path, "{name}: raw path");
        http_api_context(&request, name);
    }
}

#[test]
fn every_event_fixture_names_its_route_and_fills_the_route_path_parameters() {
    for (name, path) in fixture_files() {
        let request = parse(&path);
        let context = http_api_context(&request, &name);
        let route_key = context.route_key.as_deref().unwrap_or_default();
        let (method, route) = route_key.split_once(' ').unwrap_or_else(|| panic!("{name}: routeKey {route_key:?}"));
        assert_eq!(method, request.method().as_str(), "{name}: routeKey method");

        let parameters = request.path_parameters();
        let filled = route
            .split('/')
            .map(|segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(parameter) => parameters
                    .first(parameter)
                    .unwrap_or_else(|| panic!("{name}: no path parameter {parameter}"))
                    .to_owned(),
                None => segment.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("/");
        assert_eq!(filled, request.raw_http_path(), "{name}: routeKey {route_key} with its path parameters");
    }
}

#[test]
fn staff_fixtures_carry_the_demo_owners_cognito_claims_and_public_ones_no_authorizer() {
    for (name, path) in fixture_files() {
        let (.., caller) = expectation(&name);
        let request = parse(&path);
        let context = http_api_context(&request, &name);
        match caller {
            Caller::Anyone => assert!(context.authorizer.is_none(), "{name}: a public route has no authorizer"),
            Caller::Staff => {
                let jwt = context
                    .authorizer
                    .as_ref()
                    .and_then(|authorizer| authorizer.jwt.as_ref())
                    .unwrap_or_else(|| panic!("{name}: no requestContext.authorizer.jwt"));
                let claim = |key: &str| jwt.claims.get(key).map(String::as_str);
                assert!(claim("sub").is_some_and(|sub| !sub.is_empty()), "{name}: sub");
                assert_eq!(claim("email"), Some("owner@demo-clinic.test"), "{name}: email");
                assert_eq!(claim("tenant_id"), Some("ten_demo"), "{name}: tenant_id");
                assert!(claim("member_id").is_some_and(|id| id.starts_with("mem_")), "{name}: member_id");
                assert!(
                    claim("iss").is_some_and(|iss| iss.starts_with("https://cognito-idp.")),
                    "{name}: iss is a Cognito user pool"
                );
                assert!(claim("aud").is_some_and(|aud| !aud.is_empty()), "{name}: aud");
                assert_eq!(claim("token_use"), Some("id"), "{name}: token_use");
                assert_eq!(jwt.scopes, None, "{name}: an ID token has no scopes");
            }
        }
    }
}

#[test]
fn the_create_location_fixture_carries_a_plain_json_body() {
    let request = parse(&repo_root().join("events/create-location.json"));
    let Body::Text(text) = request.body() else {
        panic!("expected a text body (isBase64Encoded: false), got {:?}", request.body());
    };
    let body: serde_json::Value = serde_json::from_str(text).expect("the body is JSON");
    assert!(body["name"].is_string(), "the body names the location: {body}");
    assert_eq!(request.headers().get("content-type").and_then(|value| value.to_str().ok()), Some("application/json"));
    assert_eq!(
        request.headers().get("content-length").and_then(|value| value.to_str().ok()),
        Some(text.len().to_string().as_str())
    );
}

fn expectation(name: &str) -> &'static (&'static str, &'static str, &'static str, Caller) {
    FIXTURES
        .iter()
        .find(|(file, ..)| *file == name)
        .unwrap_or_else(|| panic!("events/{name} is not listed in FIXTURES in tests/suite/events.rs"))
}

/// `events/*.json`, sorted by name.
fn fixture_files() -> Vec<(String, PathBuf)> {
    let directory = repo_root().join("events");
    let mut files: Vec<(String, PathBuf)> = std::fs::read_dir(&directory)
        .unwrap_or_else(|e| panic!("reading {}: {e}", directory.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "json"))
        .map(|path| (path.file_name().unwrap().to_string_lossy().into_owned(), path))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no events/*.json");
    files
}

fn parse(path: &PathBuf) -> Request {
    let json = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    from_str(&json).unwrap_or_else(|e| panic!("{} is not an event lambda_http accepts: {e}", path.display()))
}

fn http_api_context<'r>(request: &'r Request, name: &str) -> &'r ApiGatewayV2httpRequestContext {
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context,
        other => {
            panic!("{name}: expected an HTTP API (payload 2.0) request context, got {other:?}")
        }
    }
}
