//! `spawn_app`: the real router on a loopback port over a fresh SQLite file, per test, set up as
//! the local host is: global templates seeded, PDFs as files served at signed URLs, and the render
//! worker draining an in-process queue.

use std::net::SocketAddr;
use std::sync::Arc;

use mas_domain::ids::TenantId;
use mas_domain::links::LinkSigner;
use mas_domain::team::Member;
use mas_embedded::ChannelQueue;
use mas_embedded::DirBlobs;
use mas_embedded::InProcessEvents;
use mas_embedded::SimulatedGateway;
use mas_embedded::SqliteTable;
use mas_local::LocalHost;
use mas_ports::{Clock, SystemClock, Table};
use mas_render::KrillaRenderer;
use mas_usecases::app::{App, AuthMode, Config};
use mas_usecases::tokens::{LocalIssuer, StaffClaims};
use reqwest::StatusCode;
use serde_json::{Value, json};

pub const TEST_SECRET: &[u8] = b"test-secret-test-secret-test-secret";
/// The Twilio auth token test apps verify `X-Twilio-Signature` with.
pub const TWILIO_TOKEN: &str = "twilio-test-auth-token";

pub struct TestApp {
    pub base: String,
    pub app: Arc<App>,
    /// The app and the embedded adapters beside it, as the local host serves them.
    pub host: Arc<LocalHost>,
    /// Every domain event the app published.
    pub events: Arc<InProcessEvents>,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// A signed-up clinic as a test sees it.
pub struct Clinic {
    pub tenant_id: TenantId,
    pub slug: String,
    pub token: String,
    pub owner_id: String,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(None, Arc::new(SystemClock)).await
}

/// An app as tests run it (local staff tokens, `sites.test`) over `table` (a fresh SQLite file
/// in `dir` when `None`) on `clock`, recording every event it publishes.
fn test_app(
    dir: &tempfile::TempDir,
    table: Option<Arc<dyn Table>>,
    clock: Arc<dyn Clock>,
) -> (App, Arc<SimulatedGateway>, Arc<InProcessEvents>) {
    let table =
        table.unwrap_or_else(|| Arc::new(SqliteTable::open(&dir.path().join("table.sqlite3")).expect("sqlite table")));
    let events = Arc::new(InProcessEvents::new());
    let (app, gateway) = test_parts(table, clock);
    (app.with_events(events.clone()), gateway, events)
}

/// An app as tests run it (local staff tokens, `sites.test`, the simulated gateway) over `table`.
pub fn test_parts(table: Arc<dyn Table>, clock: Arc<dyn Clock>) -> (App, Arc<SimulatedGateway>) {
    mas_local::embedded_app(
        table,
        clock,
        AuthMode::Local(std::sync::Arc::new(LocalIssuer::new(TEST_SECRET))),
        Config { site_domain: "sites.test".into() },
    )
}

/// The app on `clock` with `limits` on its public routes (tighter to see them bite, or looser
/// for a load that is not what the test is about).
pub async fn spawn_app_with_limits(clock: Arc<dyn Clock>, limits: mas_usecases::limits::Limits) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut app, gateway, events) = test_app(&dir, None, clock);
    app.limits = limits;
    serve(app, gateway, events, dir).await
}

/// The app on `clock`, set up by `configure` before it serves (a platform setting such as the
/// application fee).
pub async fn spawn_app_configured(clock: Arc<dyn Clock>, configure: impl FnOnce(&mut App)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut app, gateway, events) = test_app(&dir, None, clock);
    configure(&mut app);
    serve(app, gateway, events, dir).await
}

/// The app on a clock the test controls (to let signing links expire).
pub async fn spawn_app_with_clock(clock: Arc<dyn Clock>) -> TestApp {
    spawn_app_with(None, clock).await
}

/// The router over `table` (a fresh SQLite file when `None`) and `clock`.
/// The local host's app on a fresh DynamoDB table on moto (named after `test`), or `None` when
/// AWS tests are skipped knowingly (`support::aws::moto`).
pub async fn spawn_app_on_moto(test: &str, clock: Arc<dyn Clock>) -> Option<TestApp> {
    let config = crate::support::aws::moto(test).await?;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let table = mas_dynamodb::DynamoTable::new(client, format!("{test}-{}", ulid::Ulid::new()));
    table.create_table_if_missing().await.expect("a table on moto");
    Some(spawn_app_with(Some(Arc::new(table)), clock).await)
}

pub async fn spawn_app_with(table: Option<Arc<dyn Table>>, clock: Arc<dyn Clock>) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let (app, gateway, events) = test_app(&dir, table, clock);
    serve(app, gateway, events, dir).await
}

/// Serves `app` as the local host does (the API, the local pay route, PDFs as files at signed
/// URLs, global templates seeded, the render worker on an in-process queue) on a loopback port.
pub async fn serve(
    app: App,
    gateway: Arc<SimulatedGateway>,
    events: Arc<InProcessEvents>,
    dir: tempfile::TempDir,
) -> TestApp {
    serve_with(app, gateway, events, dir, true).await
}

/// The app on `clock` whose events are only recorded, not routed to its workers: the test
/// delivers them itself (duplicated, reordered, after a crash).
pub async fn spawn_app_without_bus(clock: Arc<dyn Clock>) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let (app, gateway, events) = test_app(&dir, None, clock);
    serve_with(app, gateway, events, dir, false).await
}

async fn serve_with(
    app: App,
    gateway: Arc<SimulatedGateway>,
    events: Arc<InProcessEvents>,
    dir: tempfile::TempDir,
    route_events: bool,
) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let base = format!("http://{}", listener.local_addr().unwrap());
    let clock = app.store.clock.clone();
    let links = Arc::new(LinkSigner::new(b"test-link-secret"));
    // Like the documents bucket: what is stored without a retention of its own is kept seven years.
    let blobs = Arc::new(
        DirBlobs::new(dir.path().join("blobs"), base.clone(), links.clone(), clock)
            .with_default_retention(mas_local::config::documents_lock()),
    );
    let (queue, receiver) = ChannelQueue::new();
    let outbox = Arc::new(mas_embedded::Outbox::new(dir.path().join("outbox")).expect("outbox"));
    let mut app = app.with_blobs(blobs.clone()).with_queue(Arc::new(queue));
    app.twilio_auth_token = Some(TWILIO_TOKEN.into());
    let dns = Arc::new(mas_ports::RecordedTxt::new());
    let app = app.with_dns(dns.clone());
    let app = if route_events { mas_usecases::routing::route_locally(app) } else { app };
    let app =
        Arc::new(app.with_messaging(outbox.clone(), outbox.clone()).with_links(links).with_public_url(base.clone()));
    mas_usecases::templates::seed_global(&app.store).await.expect("global templates seeded");
    mas_local::spawn_workers(app.clone(), Arc::new(KrillaRenderer::new()), receiver);
    let host = Arc::new(LocalHost {
        app: app.clone(),
        simulated: Some(gateway),
        outbox: Some(outbox),
        blobs: Some(blobs.clone()),
        dns: Some(dns),
    });
    let router = mas_local::local_routes::router(host.clone()).merge(blobs.router());
    let service = router.into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, service).await.expect("serve") });
    TestApp { base, app, host, events, client: reqwest::Client::new(), _dir: dir }
}

impl TestApp {
    /// Waits until the work the app does in the background (its workers: messages, documents,
    /// renders, site publishes) has stopped changing anything for a moment: the events it
    /// published, the outbox and `tenants`' audit records of this month (every commit writes one).
    pub async fn settle(&self, tenants: &[&TenantId]) {
        let mut last = None;
        let mut quiet = 0;
        for _ in 0..100 {
            let mut print = vec![self.events.published().len()];
            print.push(self.host.outbox.as_ref().map_or(0, |o| o.list().map(|l| l.len()).unwrap_or(0)));
            let month = self.app.store.clock.now().format("%Y-%m").to_string();
            for tenant in tenants {
                let query = mas_ports::Query::partition(mas_store::keys::audit_month_pk(tenant, &month));
                print.push(self.app.store.table.query_all(&query).await.unwrap().len());
            }
            if last.as_ref() == Some(&print) {
                quiet += 1;
                if quiet == 3 {
                    return;
                }
            } else {
                quiet = 0;
            }
            last = Some(print);
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("the app's background work did not settle within 10 s");
    }

    /// The simulated payment gateway (the default adapter of a test app).
    pub fn gateway(&self) -> &SimulatedGateway {
        self.host.simulated.as_deref().expect("the test app runs the simulated gateway")
    }

    /// How many domain events of `kind` were published.
    pub fn published(&self, kind: &str) -> usize {
        self.events.published().iter().filter(|e| e.kind == kind).count()
    }

    /// Posts raw bytes with extra headers; the status and the JSON body.
    pub async fn post_raw(&self, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> (StatusCode, Value) {
        let mut request = self.client.post(format!("{}{path}", self.base)).body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call("GET", path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call("POST", path, Some(token), Some(body)).await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call("PUT", path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call("PATCH", path, Some(token), Some(body)).await
    }

    /// A request with extra headers, answering the status, the headers and the JSON body.
    pub async fn send_with_headers(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let headers = response.headers().clone();
        (status, headers, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn delete(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call("DELETE", path, Some(token), None).await
    }

    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request =
            self.client.request(method, format!("{}{path}", self.base)).header("content-type", content_type).body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// GETs an absolute URL (a presigned download) and returns its bytes.
    pub async fn download(&self, url: &str) -> (StatusCode, Vec<u8>) {
        let response = self.client.get(url).send().await.expect("request sent");
        (response.status(), response.bytes().await.unwrap_or_default().to_vec())
    }

    /// POSTs raw bytes without a token (public routes) and returns the JSON answer.
    pub async fn post_bytes(&self, path: &str, content_type: &str, body: Vec<u8>) -> (StatusCode, Value) {
        self.raw("POST", path, None, content_type, body).await
    }

    /// A GET with a staff token, answering the body as text (CSV, HTML).
    pub async fn get_text_with_token(&self, path: &str, token: &str) -> (StatusCode, String) {
        let response =
            self.client.get(format!("{}{path}", self.base)).bearer_auth(token).send().await.expect("request sent");
        (response.status(), response.text().await.unwrap_or_default())
    }

    pub async fn get_text(&self, path: &str) -> (StatusCode, String) {
        let response = self.client.get(format!("{}{path}", self.base)).send().await.expect("request sent");
        (response.status(), response.text().await.unwrap_or_default())
    }

    /// Signs a clinic up and confirms its owner's email (the link in the outbox): a live clinic.
    pub async fn sign_up(&self, slug: &str) -> Clinic {
        let clinic = self.sign_up_pending(slug).await;
        let token = link_token(&self.emailed_link(&format!("owner@{slug}.test"), "verify-email").await);
        let (status, body) = self.call("POST", "/v1/auth/verify-email", None, Some(json!({ "token": token }))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        clinic
    }

    /// The newest link in the outbox sent to `to` whose URL contains `marker`.
    pub async fn emailed_link(&self, to: &str, marker: &str) -> String {
        let (status, outbox) = self.call("GET", "/local/outbox.json", None, None).await;
        assert_eq!(status, StatusCode::OK);
        let mail = outbox
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["to"] == to && m["text"].as_str().unwrap_or_default().contains(marker))
            .unwrap_or_else(|| panic!("no email to {to} with {marker}: {outbox}"));
        let text = mail["text"].as_str().unwrap();
        let start = text.find("http").unwrap();
        text[start..].split_whitespace().next().unwrap().to_owned()
    }

    /// Signs a clinic up and leaves it waiting for its owner's email.
    pub async fn sign_up_pending(&self, slug: &str) -> Clinic {
        let (status, body) = self
            .call(
                "POST",
                "/v1/tenants",
                None,
                Some(json!({"name": format!("Clinic {slug}"), "slug": slug,
                            "owner": {"email": format!("owner@{slug}.test"), "name": "Owner"}})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        Clinic {
            tenant_id: TenantId::parse(body["tenant"]["id"].as_str().unwrap()).unwrap(),
            slug: slug.into(),
            token: body["token"].as_str().unwrap().into(),
            owner_id: body["owner"]["id"].as_str().unwrap().into(),
        }
    }

    /// Adds a member with `role` through the API and returns a token for them.
    pub async fn member_token(&self, clinic: &Clinic, role: &str) -> (String, String) {
        let unique = mas_domain::ids::RequestId::new().as_str()[4..].to_owned();
        let email = format!("{}-{unique}@{}.test", role.replace('_', "-"), clinic.slug);
        let (status, member) = self
            .post("/v1/team", &clinic.token, json!({"email": email, "name": format!("A {role}"), "role": role}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{member}");
        let member: Member = serde_json::from_value(member).unwrap();
        (self.token_for(&clinic.tenant_id, &member), member.id.to_string())
    }

    pub fn token_for(&self, tenant: &TenantId, member: &Member) -> String {
        let claims = StaffClaims::for_member(tenant, member);
        LocalIssuer::new(TEST_SECRET).issue(&claims, chrono::Utc::now())
    }
}

/// The `token` query parameter of an emailed link.
pub fn link_token(link: &str) -> String {
    link.split("token=").nth(1).expect("a token in the link").to_owned()
}

pub fn location_body(name: &str) -> Value {
    json!({
        "name": name, "timezone": "Europe/London",
        "address": {"line1": "1 High Street", "city": "London", "postcode": "W1 1AA", "country": "GB"},
        "opening_hours": [{"day": "monday", "start": "09:00", "end": "17:00"}]
    })
}

pub fn service_body(name: &str) -> Value {
    json!({"name": name, "category": "injectables", "duration_minutes": 30, "price": {"amount_minor": 20000}})
}

pub fn practitioner_body(location_id: &str) -> Value {
    json!({"display_name": "Dr Test", "email": "dr@private.test", "specialties": ["injectables"],
           "working_rules": [{"location_id": location_id, "day": "monday", "start": "09:00", "end": "17:00"}]})
}

pub fn resource_body(location_id: &str) -> Value {
    json!({"name": "Room A", "kind": "room", "location_id": location_id})
}

pub fn exception_body() -> Value {
    json!({"kind": "time_off", "starts_at": "2026-12-24T09:00:00Z", "ends_at": "2026-12-27T09:00:00Z"})
}

/// A generate request for an anti-wrinkle consent with every placeholder filled.
pub fn generate_body(client_id: &str, client_name: &str) -> Value {
    json!({
        "kind": "consent", "topic": "anti-wrinkle", "client_id": client_id,
        "context": {
            "client": {"name": client_name},
            "treatment": {"name": "Azzalure, 50 Speywood units", "area": "forehead, frown lines and crow's feet"},
            "practitioner": {"name": "Dr Ada Okafor"}
        }
    })
}

/// A clinic's own consent template, complete (for publishing and the tenancy matrix).
pub fn template_body(version: &str) -> Value {
    json!({
        "kind": "consent", "jurisdiction": "UK", "topic": "skin-booster", "name": "Consent to skin boosters",
        "version": version, "effective_from": "2025-01-01",
        "blocks": [
            {"key": "treatment", "title": "Treatment", "body": "I, {{client.name}}, consent to {{treatment.name}}."},
            {"key": "risks", "title": "Risks", "body": "Redness and small bumps for a day or two."}
        ],
        "mandatory_blocks": ["treatment", "risks"]
    })
}

/// Polls a document until its PDF (`pdf` or `signed_pdf`) is rendered; panics after 20 s.
pub async fn wait_for_pdf(app: &TestApp, token: &str, document_id: &str, field: &str) -> Value {
    for _ in 0..400 {
        let (status, document) = app.get(&format!("/v1/documents/{document_id}"), token).await;
        assert_eq!(status, StatusCode::OK, "{document}");
        if !document[field].is_null() {
            return document;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{field} of {document_id} was not rendered within 20 s");
}

pub fn client_body(first: &str, last: &str, email: Option<&str>) -> Value {
    let mut body = json!({"first_name": first, "last_name": last});
    if let Some(email) = email {
        body["email"] = json!(email);
    }
    body
}

/// A questionnaire answered "no" throughout, with no free text.
pub fn medical_body() -> Value {
    json!({
        "pregnant_or_breastfeeding": false, "anticoagulants": false, "bleeding_disorder": false,
        "lidocaine_allergy": false, "isotretinoin_last_6_months": false,
        "active_skin_infection_at_site": false, "autoimmune_disease": false
    })
}
