//! Partner webhooks and API keys, black-box over HTTP. A loopback receiver (an axum server on
//! 127.0.0.1:0) verifies every delivery's `Mas-Signature` with the secret the clinic was shown:
//! a booking is delivered signed; a redelivered event makes no second delivery; a failing
//! receiver is retried by the sweep after 1, 5, 30, 120 and 360 minutes (the clock is driven,
//! nothing sleeps) and parked after the sixth failure; two sweeps at once make one attempt; a
//! replay delivers, one by one or all of an endpoint's parked. API keys read within their scopes
//! only, stop at once when revoked, and never reach another clinic's data.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use chrono::Duration;
use mas_domain::webhook::WebhookSecret;
use mas_ports::{Clock, FixedClock, QueueName};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::booking::{Setup, booking, now, setup, tuesday};
use crate::support::app::*;

/// What the receiver saw: each request's body, and whether its signature verified.
#[derive(Default)]
struct Seen {
    secret: Option<String>,
    failing: bool,
    requests: Vec<(Value, bool)>,
}

struct Receiver {
    url: String,
    seen: Arc<Mutex<Seen>>,
}

impl Receiver {
    /// A partner's endpoint on a loopback port: it verifies the signature with the secret it
    /// is given (at the app's clock, so the tolerance is the real one) and answers 500 while
    /// `failing`, 400 to a bad signature, 204 otherwise.
    async fn start(clock: Arc<FixedClock>) -> Receiver {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let state = (seen.clone(), clock);
        let router = axum::Router::new().route("/hook", axum::routing::post(receive)).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Receiver { url, seen }
    }

    fn trust(&self, secret: &str) {
        self.seen.lock().unwrap().secret = Some(secret.to_owned());
    }

    fn fail(&self, failing: bool) {
        self.seen.lock().unwrap().failing = failing;
    }

    fn requests(&self) -> Vec<(Value, bool)> {
        self.seen.lock().unwrap().requests.clone()
    }

    fn of_type(&self, kind: &str) -> Vec<(Value, bool)> {
        self.requests().into_iter().filter(|(body, _)| body["type"] == kind).collect()
    }
}

async fn receive(
    State((seen, clock)): State<(Arc<Mutex<Seen>>, Arc<FixedClock>)>,
    headers: HeaderMap,
    body: Bytes,
) -> AxumStatus {
    let mut seen = seen.lock().unwrap();
    let header = headers.get("mas-signature").and_then(|v| v.to_str().ok());
    let verified = seen
        .secret
        .as_deref()
        .map(|s| WebhookSecret::new(s).unwrap())
        .is_some_and(|secret| secret.verify(header, &body, clock.now().timestamp()).is_ok());
    seen.requests.push((serde_json::from_slice(&body).unwrap_or(Value::Null), verified));
    match (seen.failing, verified) {
        (true, _) => AxumStatus::INTERNAL_SERVER_ERROR,
        (false, false) => AxumStatus::BAD_REQUEST,
        (false, true) => AxumStatus::NO_CONTENT,
    }
}

/// The app on a fixed clock with the outbound sender, loopback allowed (as the local host runs).
async fn partner_app() -> (TestApp, Arc<FixedClock>) {
    let clock = Arc::new(FixedClock::new(now()));
    let app = spawn_app_configured(clock.clone(), |app| {
        let egress = mas_domain::partner::Egress::AlsoLoopback;
        app.webhook_poster = Arc::new(mas_outbound::HttpPoster::new(egress));
        app.partner_egress = egress;
    })
    .await;
    (app, clock)
}

async fn deliveries(app: &TestApp, s: &Setup, endpoint: &str) -> Vec<Value> {
    let (status, list) = app.get(&format!("/v1/webhook-endpoints/{endpoint}/deliveries"), &s.clinic.token).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array().unwrap().clone()
}

fn for_event<'a>(list: &'a [Value], event: &str) -> &'a Value {
    list.iter().find(|d| d["event_id"] == event).unwrap_or_else(|| panic!("no delivery of {event}: {list:?}"))
}

/// Waits (up to 10 s) until `event`'s delivery has its `attempts`-th attempt recorded: the
/// receiver may have had it before the worker wrote its outcome, and a sweep before then finds
/// the attempt still claimed and skips it.
async fn recorded(app: &TestApp, s: &Setup, endpoint: &str, event: &str, attempts: u64) {
    for _ in 0..200 {
        let listed = deliveries(app, s, endpoint).await;
        let d = for_event(&listed, event);
        if d["attempts"] == attempts && !d["last_status"].is_null() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the attempt {attempts} of {event} was never recorded");
}

/// Waits (up to 10 s) until the receiver has `n` requests of `kind`; the worker runs on its own
/// task after the booking answers.
async fn wait_for(receiver: &Receiver, kind: &str, n: usize) {
    for _ in 0..100 {
        if receiver.of_type(kind).len() >= n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the receiver got {} of {n} `{kind}` requests", receiver.of_type(kind).len());
}

/// Books Ada at `h`:00 on Tuesday and answers the `booking.confirmed` event's id.
async fn book(app: &TestApp, s: &Setup, h: u32) -> String {
    let (status, appt) =
        app.post("/v1/appointments", &s.clinic.token, booking(s, &s.service_id, tuesday(h, 0), None)).await;
    assert_eq!(status, StatusCode::CREATED, "{appt}");
    let id = appt["id"].as_str().unwrap();
    let event = app
        .events
        .published()
        .into_iter()
        .find(|e| e.kind == "booking.confirmed" && e.payload.to_string().contains(id))
        .expect("the booking announced booking.confirmed");
    event.id.to_string()
}

async fn sweep(app: &TestApp) -> mas_usecases::partner_webhooks::SweepReport {
    mas_usecases::partner_webhooks::sweep(&app.app).await.unwrap()
}

#[tokio::test]
async fn a_subscribed_event_is_delivered_signed_once_retried_with_backoff_parked_and_replayed() {
    let (app, clock) = partner_app().await;
    let s = setup(&app, "hooks-flow").await;
    let t = &s.clinic.token;
    let receiver = Receiver::start(clock.clone()).await;

    // Registered for one kind; the secret is shown once, and never again.
    let body = json!({"url": receiver.url, "kinds": ["booking.confirmed"], "description": "Our CRM"});
    let (status, endpoint) = app.post("/v1/webhook-endpoints", t, body).await;
    assert_eq!(status, StatusCode::CREATED, "{endpoint}");
    let secret = endpoint["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_") && secret.len() == 70, "{secret}");
    receiver.trust(&secret);
    let id = endpoint["id"].as_str().unwrap().to_owned();
    let (_, listed) = app.get("/v1/webhook-endpoints", t).await;
    let (_, one) = app.get(&format!("/v1/webhook-endpoints/{id}"), t).await;
    assert!(!listed.to_string().contains(&secret) && !one.to_string().contains(&secret), "{listed} {one}");
    assert_eq!(listed[0]["kinds"], json!(["booking.confirmed"]));

    // A ping reaches the receiver, signed.
    let (status, ping) = app.post(&format!("/v1/webhook-endpoints/{id}/ping"), t, json!({})).await;
    assert_eq!(
        (status, ping["delivered"].as_bool(), ping["status"].as_u64()),
        (StatusCode::OK, Some(true), Some(204)),
        "{ping}"
    );

    // A booking is delivered once, signed, in the envelope, with ids only.
    let event = book(&app, &s, 10).await;
    wait_for(&receiver, "booking.confirmed", 1).await;
    let (delivered, verified) = receiver.of_type("booking.confirmed").remove(0);
    assert!(verified, "the signature verifies with the secret shown");
    assert_eq!(delivered["id"], event);
    assert_eq!(delivered["tenant"], s.clinic.tenant_id.to_string());
    assert_eq!(delivered["created"], now().timestamp());
    assert!(delivered["data"].is_object() && !delivered.to_string().contains("Ada"), "no client data: {delivered}");
    let list = deliveries(&app, &s, &id).await;
    let first = for_event(&list, &event);
    assert_eq!(
        (first["state"].as_str(), first["attempts"].as_u64(), first["last_status"].as_u64()),
        (Some("succeeded"), Some(1), Some(204))
    );

    // The bus redelivering the event (twice) makes no second delivery and sends nothing.
    let published = app.events.published().into_iter().find(|e| e.id.to_string() == event).unwrap();
    let body = mas_usecases::notifications::plan::Work::event_body(&published);
    for _ in 0..2 {
        mas_usecases::workers::handle(&app.app, QueueName::PartnerWebhooks, &body).await.unwrap();
    }
    assert_eq!(deliveries(&app, &s, &id).await.len(), 1);
    assert_eq!(receiver.of_type("booking.confirmed").len(), 1);

    // The receiver fails: the first attempt, then retries after 1, 5, 30, 120 and 360 minutes,
    // each only when due; the sixth failure parks it.
    receiver.fail(true);
    let failing = book(&app, &s, 11).await;
    wait_for(&receiver, "booking.confirmed", 2).await;
    recorded(&app, &s, &id, &failing, 1).await;
    let mut waits = Vec::new();
    for attempt in 2..=6 {
        let d = for_event(&deliveries(&app, &s, &id).await, &failing).clone();
        assert_eq!((d["state"].as_str(), d["last_status"].as_u64()), (Some("pending"), Some(500)), "{d}");
        let next: chrono::DateTime<chrono::Utc> = serde_json::from_value(d["next_attempt_at"].clone()).unwrap();
        waits.push((next - clock.now()).num_minutes());
        clock.set(next - Duration::seconds(1));
        assert_eq!(sweep(&app).await.attempted, 0, "not due a second early");
        clock.set(next);
        if attempt == 4 {
            // Two sweeps at once: one claims the attempt, the other skips it.
            let (a, b) = tokio::join!(sweep(&app), sweep(&app));
            assert_eq!(a.attempted + b.attempted, 1, "{a:?} {b:?}");
        } else {
            assert_eq!(sweep(&app).await.attempted, 1);
        }
        // The first booking's one delivery, and this one's attempts.
        assert_eq!(receiver.of_type("booking.confirmed").len(), 1 + attempt);
    }
    assert_eq!(waits, [1, 5, 30, 120, 360]);
    let parked = for_event(&deliveries(&app, &s, &id).await, &failing).clone();
    assert_eq!((parked["state"].as_str(), parked["attempts"].as_u64()), (Some("parked"), Some(6)), "{parked}");
    clock.advance(Duration::days(2));
    assert_eq!(sweep(&app).await.attempted, 0, "a parked delivery is not retried");
    assert!(receiver.of_type("booking.confirmed").iter().all(|(_, verified)| *verified), "every attempt was signed");

    // Replayed from the back office once the receiver is back: delivered.
    receiver.fail(false);
    let path = format!("/v1/webhook-endpoints/{id}/deliveries/{}/replay", parked["id"].as_str().unwrap());
    let (status, replayed) = app.post(&path, t, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{replayed}");
    assert_eq!((replayed["state"].as_str(), replayed["attempts"].as_u64()), (Some("succeeded"), Some(7)));
    assert_eq!(receiver.of_type("booking.confirmed").len(), 8);

    // All of an endpoint's parked deliveries replayed at once: the sweep sends them.
    receiver.fail(true);
    clock.set(now()); // back before Tuesday, to book it
    let third = book(&app, &s, 13).await;
    wait_for(&receiver, "booking.confirmed", 9).await;
    recorded(&app, &s, &id, &third, 1).await;
    for _ in 0..5 {
        clock.advance(Duration::hours(7));
        sweep(&app).await;
    }
    assert_eq!(for_event(&deliveries(&app, &s, &id).await, &third)["state"], "parked");
    receiver.fail(false);
    let (status, answer) = app.post(&format!("/v1/webhook-endpoints/{id}/replay-parked"), t, json!({})).await;
    assert_eq!((status, answer), (StatusCode::OK, json!({"replayed": 1})));
    assert_eq!(sweep(&app).await.succeeded, 1);
    assert_eq!(for_event(&deliveries(&app, &s, &id).await, &third)["state"], "succeeded");

    // A rolled secret: the new one is shown once, and both sign for a day.
    let (status, rolled) = app.post(&format!("/v1/webhook-endpoints/{id}/roll-secret"), t, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{rolled}");
    let new_secret = rolled["secret"].as_str().unwrap();
    assert_ne!(new_secret, secret);
    let (_, ping) = app.post(&format!("/v1/webhook-endpoints/{id}/ping"), t, json!({})).await;
    assert_eq!(ping["delivered"], true, "the old secret still verifies during the overlap");
    receiver.trust(new_secret);
    let (_, ping) = app.post(&format!("/v1/webhook-endpoints/{id}/ping"), t, json!({})).await;
    assert_eq!(ping["delivered"], true, "and so does the new one");
}

#[tokio::test]
async fn endpoints_are_refused_private_addresses_unknown_kinds_and_roles_other_than_owners_and_managers() {
    let (app, _clock) = partner_app().await;
    let clinic = app.sign_up("hooks-rules").await;
    let t = &clinic.token;
    for (body, field) in [
        (json!({"url": "http://10.0.0.7/hook", "kinds": ["booking.confirmed"]}), "url"),
        (json!({"url": "https://169.254.169.254/latest", "kinds": ["booking.confirmed"]}), "url"),
        (json!({"url": "https://partner.example.com/hook", "kinds": ["client.erased"]}), "kinds"),
        (json!({"url": "https://partner.example.com/hook", "kinds": []}), "kinds"),
    ] {
        let (status, err) = app.post("/v1/webhook-endpoints", t, body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
        assert_eq!(err["error"]["details"]["field"], field, "{err}");
    }
    // The role before the body: a front desk member learns nothing from a bad body.
    let (front_desk, _) = app.member_token(&clinic, "front_desk").await;
    let (status, _) = app.post("/v1/webhook-endpoints", &front_desk, json!({"url": 1})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.post("/v1/api-keys", &front_desk, json!({"name": ""})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.get("/v1/api-keys", &front_desk).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_api_key_reads_within_its_scopes_until_revoked_and_never_another_clinics_data() {
    let (app, _clock) = partner_app().await;
    let s = setup(&app, "keys-a").await;
    let t = &s.clinic.token;
    let other = app.sign_up("keys-b").await;
    book(&app, &s, 10).await;

    let (status, err) = app.post("/v1/api-keys", t, json!({"name": "CRM", "scopes": []})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    let (status, err) = app.post("/v1/api-keys", t, json!({"name": "CRM", "scopes": ["clients:write"]})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");

    let (status, made) =
        app.post("/v1/api-keys", t, json!({"name": "Calendar sync", "scopes": ["appointments:read"]})).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let calendar = made["secret"].as_str().unwrap().to_owned();
    assert!(calendar.starts_with("mas_key_") && calendar.len() == 72);
    let (_, made) =
        app.post("/v1/api-keys", t, json!({"name": "CRM", "scopes": ["clients:read", "catalog:read"]})).await;
    let crm = made["secret"].as_str().unwrap().to_owned();
    let (_, keys) = app.get("/v1/api-keys", t).await;
    assert_eq!(keys.as_array().unwrap().len(), 2);
    let listed = keys.to_string();
    assert!(!listed.contains(&calendar) && !listed.contains(&crm) && !listed.contains("hash"), "{listed}");
    assert!(calendar.starts_with(keys[0]["prefix"].as_str().unwrap()));

    // In scope.
    let (status, appts) = app.get("/partner/v1/appointments?from=2027-03-01&to=2027-03-07", &calendar).await;
    assert_eq!(status, StatusCode::OK, "{appts}");
    assert_eq!(appts.as_array().unwrap().len(), 1);
    let client = format!("/partner/v1/clients/{}", s.client_id);
    let (status, found) = app.get(&client, &crm).await;
    assert_eq!((status, found["id"].as_str()), (StatusCode::OK, Some(s.client_id.as_str())), "{found}");
    let (status, services) = app.get("/partner/v1/services", &crm).await;
    assert_eq!(status, StatusCode::OK, "{services}");
    assert!(!services.as_array().unwrap().is_empty());

    // Out of scope: 403. No key, a staff token, a made-up key: 401.
    let (status, _) = app.get(&client, &calendar).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.get("/partner/v1/appointments?from=2027-03-01&to=2027-03-07", &crm).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.call("GET", "/partner/v1/services", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app.get("/partner/v1/services", t).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a staff token is not an API key");
    let (status, _) = app.get("/partner/v1/services", &format!("mas_key_{}", "0".repeat(64))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Another clinic's key, with the scope, finds nothing of this clinic's.
    let (_, theirs) = app
        .post("/v1/api-keys", &other.token, json!({"name": "Theirs", "scopes": ["clients:read", "appointments:read"]}))
        .await;
    let theirs = theirs["secret"].as_str().unwrap().to_owned();
    let (status, _) = app.get(&client, &theirs).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, their_appts) = app.get("/partner/v1/appointments?from=2027-03-01&to=2027-03-07", &theirs).await;
    assert_eq!(their_appts, json!([]));
    // Nor may the other clinic revoke this clinic's key.
    let key_id = keys[0]["id"].as_str().unwrap();
    let (status, _) = app.post(&format!("/v1/api-keys/{key_id}/revoke"), &other.token, json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Revoked: refused from the next call on.
    let (status, revoked) = app.post(&format!("/v1/api-keys/{key_id}/revoke"), t, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    assert!(revoked["revoked_at"].is_string());
    let (status, _) = app.get("/partner/v1/appointments?from=2027-03-01&to=2027-03-07", &calendar).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app.get("/partner/v1/services", &crm).await;
    assert_eq!(status, StatusCode::OK, "the other key still works");
}
