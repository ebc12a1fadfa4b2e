//! Payments, black-box over HTTP on the local host with the simulated gateway: book → deposit
//! intent → pay → the signed webhook → scheduled; replays, forgeries, the expired-hold race,
//! refunds, fees, the balance, and a chaos run of shuffled, duplicated and forged events (the
//! platform's and, through Stripe Connect, the clinics' accounts').

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{Duration, TimeZone, Utc};
use mas_domain::connect::{AccountStatus, Requirements};
use mas_domain::payment::{ConnectedAccountId, IntentId};
use mas_domain::values::MinorUnits;
use mas_domain::webhook::WebhookSecret;
use mas_embedded::InProcessEvents;
use mas_embedded::simulated::{Outcome, intent_json};
use mas_ports::events::{DomainEvent, Events, EventsError};
use mas_ports::payments::{Payments, RefundRequest};
use mas_ports::{FixedClock, Query, SortKey};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::booking::{Setup, answers, booking, fixed_app, now, public_booking, setup, tuesday};
use crate::support::app::*;

pub(crate) fn deposit_policy() -> Value {
    json!({"deposit": {"kind": "percent", "percent": 20}, "hold_minutes": 15,
           "cancellation_window_hours": 48, "cancellation_fee_percent": 10, "no_show_fee_percent": 100})
}

/// `booking::setup`'s clinic with `policy` published (the 30-minute service costs 200.00).
pub(crate) async fn clinic(app: &TestApp, slug: &str, policy: Value) -> Setup {
    let s = setup(app, slug).await;
    let (status, body) = app.put("/v1/policies", &s.clinic.token, policy).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    s
}

pub(crate) async fn book(app: &TestApp, s: &Setup, start: chrono::DateTime<Utc>, practitioner: usize) -> Value {
    let body = booking(s, &s.service_id, start, Some(&s.practitioners[practitioner]));
    let (status, appointment) = app.post("/v1/appointments", &s.clinic.token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{appointment}");
    appointment
}

pub(crate) fn intent_request(s: &Setup, appointment: &Value) -> Value {
    json!({"tenant_slug": s.clinic.slug, "appointment_id": appointment["id"],
           "confirmation_number": appointment["confirmation_number"]})
}

pub(crate) async fn deposit_intent(app: &TestApp, s: &Setup, appointment: &Value) -> Value {
    let (status, intent) =
        app.call("POST", "/v1/payments/deposit-intent", None, Some(intent_request(s, appointment))).await;
    assert_eq!(status, StatusCode::CREATED, "{intent}");
    intent
}

/// Pays an intent on the local host's pay endpoint, which posts the signed webhook.
pub(crate) async fn pay(app: &TestApp, intent: &Value, outcome: &str) -> Value {
    let path = format!("/local/pay/{}", intent["intent_id"].as_str().unwrap());
    let (status, paid) = app.call("POST", &path, None, Some(json!({ "outcome": outcome }))).await;
    assert_eq!(status, StatusCode::OK, "{paid}");
    assert_eq!(paid["webhook"]["status"], 200, "{paid}");
    paid
}

pub(crate) async fn appointment(app: &TestApp, s: &Setup, id: &Value) -> Value {
    let (status, body) = app.get(&format!("/v1/appointments/{}", id.as_str().unwrap()), &s.clinic.token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

pub(crate) async fn payments_of(app: &TestApp, s: &Setup, appointment_id: &Value) -> Vec<Value> {
    let path = format!("/v1/payments?appointment_id={}", appointment_id.as_str().unwrap());
    let (status, body) = app.get(&path, &s.clinic.token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array().unwrap().clone()
}

/// A booking with its deposit paid through the simulated gateway and the real webhook.
pub(crate) async fn paid_booking(
    app: &TestApp,
    s: &Setup,
    start: chrono::DateTime<Utc>,
    practitioner: usize,
) -> (Value, Value) {
    let booked = book(app, s, start, practitioner).await;
    let intent = deposit_intent(app, s, &booked).await;
    pay(app, &intent, "succeed").await;
    let payment = payments_of(app, s, &booked["id"]).await.remove(0);
    assert_eq!(payment["status"], "succeeded", "{payment}");
    (appointment(app, s, &booked["id"]).await, payment)
}

pub(crate) async fn timeline_kinds(app: &TestApp, s: &Setup, client_id: &Value) -> Vec<String> {
    let client = mas_domain::ids::ClientId::parse(client_id.as_str().unwrap()).unwrap();
    let query = Query::partition(mas_store::keys::client_pk(&s.clinic.tenant_id, &client))
        .sk(SortKey::BeginsWith(mas_store::keys::TIMELINE_PREFIX.into()));
    let items = app.app.store.table.query_all(&query).await.unwrap();
    items.iter().map(|i| i["kind"].as_str().unwrap().to_owned()).collect()
}

pub(crate) async fn audit_actions(app: &TestApp, s: &Setup) -> Vec<String> {
    let query = Query::partition(mas_store::keys::audit_month_pk(&s.clinic.tenant_id, "2027-03"));
    let items = app.app.store.table.query_all(&query).await.unwrap();
    items.iter().map(|i| i["action"].as_str().unwrap().to_owned()).collect()
}

async fn event_record(app: &TestApp, event_id: &str) -> Option<mas_ports::Item> {
    app.app.store.table.get(&mas_store::keys::stripe_event(event_id)).await.unwrap()
}

pub(crate) fn signed(secret: &WebhookSecret, at: i64, body: &Value) -> (Vec<u8>, String) {
    let bytes = serde_json::to_vec(body).unwrap();
    let signature = secret.sign(at, &bytes);
    (bytes, signature)
}

pub(crate) async fn post_webhook(app: &TestApp, body: Vec<u8>, signature: Option<&str>) -> (StatusCode, Value) {
    let mut headers = vec![("content-type", "application/json")];
    if let Some(signature) = signature {
        headers.push(("stripe-signature", signature));
    }
    app.post_raw("/webhooks/stripe", &headers, body).await
}

pub(crate) fn intent_event(event_id: &str, event_type: &str, object: Value) -> Value {
    json!({"id": event_id, "object": "event", "type": event_type, "created": now().timestamp(), "livemode": false,
           "data": {"object": object}})
}

#[tokio::test]
async fn a_deposit_paid_through_the_simulated_gateway_confirms_a_public_booking_over_the_signed_webhook() {
    let (app, clock) = fixed_app().await;
    let s = clinic(&app, "pay-flow", deposit_policy()).await;
    let visitor = public_booking(&s, tuesday(10, 0), "grace@visitors.test", answers());
    let (status, booked) = app.call("POST", "/v1/public/pay-flow/appointments", None, Some(visitor)).await;
    assert_eq!(status, StatusCode::CREATED, "{booked}");
    assert_eq!((booked["status"].as_str(), booked["source"].as_str()), (Some("pending_deposit"), Some("online")));

    let intent = deposit_intent(&app, &s, &booked).await;
    assert!(intent["intent_id"].as_str().unwrap().starts_with("pi_"), "{intent}");
    assert!(intent["client_secret"].as_str().unwrap().contains("_secret_"));
    assert_eq!(
        (intent["deposit"]["amount_minor"].as_i64(), intent["total"]["amount_minor"].as_i64()),
        (Some(4000), Some(20000))
    );
    assert_eq!(
        (intent["status"].as_str(), intent["deposit"]["currency"].as_str()),
        (Some("requires_action"), Some("GBP"))
    );
    let again = deposit_intent(&app, &s, &booked).await;
    assert_eq!(
        (&again["intent_id"], &again["payment_id"]),
        (&intent["intent_id"], &intent["payment_id"]),
        "asking again gives the same intent"
    );

    let paid = pay(&app, &intent, "succeed").await;
    assert_eq!(paid["status"], "succeeded");
    let confirmed = appointment(&app, &s, &booked["id"]).await;
    assert_eq!(confirmed["status"], "scheduled", "{confirmed}");
    assert_eq!(
        (confirmed["deposit_paid"]["amount_minor"].as_i64(), confirmed["hold_expires_at"].as_str()),
        (Some(4000), None)
    );
    assert_eq!(confirmed["history"].as_array().unwrap().last().unwrap()["action"], "deposit_paid");
    let payments = payments_of(&app, &s, &booked["id"]).await;
    assert_eq!(payments.len(), 1);
    assert_eq!((payments[0]["status"].as_str(), payments[0]["captured"].as_i64()), (Some("succeeded"), Some(4000)));
    assert_eq!((app.published("booking.confirmed"), app.published("payment.succeeded")), (1, 1));
    let timeline = timeline_kinds(&app, &s, &booked["client_id"]).await;
    for kind in ["payment.requested", "payment.succeeded", "appointment.confirmed"] {
        assert!(timeline.iter().any(|k| k == kind), "{kind} missing from {timeline:?}");
    }
    let audit = audit_actions(&app, &s).await;
    assert!(audit.contains(&"payment.created".into()) && audit.contains(&"appointment.confirmed".into()), "{audit:?}");

    // The time is now booked, not held: it stays taken after the hold would have run out.
    clock.advance(Duration::hours(2));
    let practitioner = booked["practitioner_id"].as_str().unwrap();
    let (status, body) = app
        .post("/v1/appointments", &s.clinic.token, booking(&s, &s.service_id, tuesday(10, 0), Some(practitioner)))
        .await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("slot_taken")), "{body}");
}

#[tokio::test]
async fn a_replayed_webhook_is_answered_200_and_changes_nothing() {
    let (app, _) = fixed_app().await;
    let s = clinic(&app, "replay", deposit_policy()).await;
    let (before, payment) = paid_booking(&app, &s, tuesday(10, 0), 0).await;
    let delivery = app.gateway().deliveries().pop().unwrap();
    // The first delivery's effects that run in the background (messages, consent forms and their
    // renders, the site publishes of the setup) settle first, so only the replays are measured.
    app.settle(&[&s.clinic.tenant_id]).await;
    let events = app.events.published().len();
    let audit = audit_actions(&app, &s).await.len();
    for _ in 0..3 {
        let (status, answer) = post_webhook(&app, delivery.body.clone(), Some(&delivery.signature)).await;
        assert_eq!((status, answer["outcome"].as_str()), (StatusCode::OK, Some("duplicate")), "{answer}");
    }
    assert_eq!(appointment(&app, &s, &before["id"]).await, before);
    assert_eq!(payments_of(&app, &s, &before["id"]).await, vec![payment]);
    assert_eq!((app.events.published().len(), audit_actions(&app, &s).await.len()), (events, audit));
}

#[tokio::test]
async fn a_forged_stale_or_missing_signature_is_refused_with_400_and_nothing_is_written() {
    let (app, _) = fixed_app().await;
    let s = clinic(&app, "forged", deposit_policy()).await;
    let booked = book(&app, &s, tuesday(10, 0), 0).await;
    let intent = deposit_intent(&app, &s, &booked).await;
    // The money did arrive at the gateway, so a processed event would confirm the booking.
    let id = IntentId::parse(intent["intent_id"].as_str().unwrap()).unwrap();
    let paid = app.gateway().pay(&id, Outcome::Succeed).unwrap();
    let body = intent_event("evt_forged1", "payment_intent.succeeded", intent_json(&paid));
    let real = app.app.webhook_secret.clone();
    let wrong = WebhookSecret::new("whsec_not_the_endpoints_secret").unwrap();
    let t = now().timestamp();
    let (bytes, good) = signed(&real, t, &body);
    let mut tampered = body.clone();
    tampered["data"]["object"]["amount"] = json!(1);
    let audit = audit_actions(&app, &s).await;
    let published = app.events.published().len();
    let cases: Vec<(&str, Vec<u8>, Option<String>, &str)> = vec![
        ("missing", bytes.clone(), None, "signature_missing"),
        ("wrong secret", bytes.clone(), Some(signed(&wrong, t, &body).1), "signature_mismatch"),
        ("tampered body", serde_json::to_vec(&tampered).unwrap(), Some(good.clone()), "signature_mismatch"),
        ("stale", bytes.clone(), Some(signed(&real, t - 301, &body).1), "signature_stale"),
        ("from the future", bytes.clone(), Some(signed(&real, t + 301, &body).1), "signature_stale"),
        ("garbage", bytes.clone(), Some("t=now,v1=nope".into()), "signature_malformed"),
    ];
    for (case, body, signature, code) in cases {
        let (status, answer) = post_webhook(&app, body, signature.as_deref()).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some(code)),
            "{case}: {answer}"
        );
    }
    assert!(event_record(&app, "evt_forged1").await.is_none(), "no dedupe record");
    assert_eq!(appointment(&app, &s, &booked["id"]).await["status"], "pending_deposit");
    assert_eq!(payments_of(&app, &s, &booked["id"]).await[0]["status"], "requires_action");
    assert_eq!((app.events.published().len(), audit_actions(&app, &s).await), (published, audit));
    // Not an event at all, correctly signed: refused as malformed.
    let (status, answer) = post_webhook(&app, b"[1,2]".to_vec(), Some(&real.sign(t, b"[1,2]"))).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("malformed_event")));
    // The genuine one still works afterwards.
    let (status, answer) = post_webhook(&app, bytes, Some(&good)).await;
    assert_eq!((status, answer["outcome"].as_str()), (StatusCode::OK, Some("applied")), "{answer}");
    assert_eq!(appointment(&app, &s, &booked["id"]).await["status"], "scheduled");
}

#[tokio::test]
async fn unknown_event_types_are_answered_200_and_ignored_with_nothing_written() {
    let (app, _) = fixed_app().await;
    let body = intent_event("evt_unknown1", "customer.created", json!({"id": "cus_123", "object": "customer"}));
    let (bytes, signature) = signed(&app.app.webhook_secret, now().timestamp(), &body);
    let (status, answer) = post_webhook(&app, bytes, Some(&signature)).await;
    assert_eq!((status, answer["outcome"].as_str()), (StatusCode::OK, Some("ignored")), "{answer}");
    assert!(event_record(&app, "evt_unknown1").await.is_none());
    // A known type about an intent that is not ours: acknowledged, remembered, nothing else.
    let foreign = intent_event(
        "evt_foreign1",
        "payment_intent.succeeded",
        json!({"id": "pi_notours", "object": "payment_intent",
        "amount": 100, "currency": "gbp", "status": "succeeded"}),
    );
    let (bytes, signature) = signed(&app.app.webhook_secret, now().timestamp(), &foreign);
    let (status, _) = post_webhook(&app, bytes, Some(&signature)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.events.published().len(), 0);
}

#[tokio::test]
async fn a_deposit_intent_is_refused_when_the_booking_is_not_the_callers_not_waiting_or_its_hold_expired() {
    let (app, clock) = fixed_app().await;
    let s = clinic(&app, "refusals-pay", deposit_policy()).await;
    let booked = book(&app, &s, tuesday(10, 0), 0).await;
    let path = "/v1/payments/deposit-intent";
    let with = |field: &str, value: Value| {
        let mut body = intent_request(&s, &booked);
        body[field] = value;
        body
    };
    for (body, status) in [
        (with("confirmation_number", json!("BK-00000000")), StatusCode::NOT_FOUND),
        (with("appointment_id", json!("apt_someoneelse")), StatusCode::NOT_FOUND),
        (with("tenant_slug", json!("no-such-clinic")), StatusCode::NOT_FOUND),
        (with("confirmation_number", json!("12345678")), StatusCode::UNPROCESSABLE_ENTITY),
        (with("extra", json!(true)), StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let (answer, body_text) = app.call("POST", path, None, Some(body.clone())).await;
        assert_eq!(answer, status, "{body}: {body_text}");
    }
    // Another clinic's slug with this clinic's booking: not found either.
    let other = app.sign_up("other-clinic").await;
    let (status, _) = app.call("POST", path, None, Some(with("tenant_slug", json!(other.slug)))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    clock.advance(Duration::minutes(16));
    let (status, body) = app.call("POST", path, None, Some(intent_request(&s, &booked))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("hold_expired")), "{body}");

    clock.set(now());
    let (paid, _) = paid_booking(&app, &s, tuesday(12, 0), 1).await;
    let (status, body) = app.call("POST", path, None, Some(intent_request(&s, &paid))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("not_pending_deposit")), "{body}");
    assert_eq!(body["error"]["details"]["status"], "scheduled");

    let free = clinic(&app, "no-deposit", json!({"hold_minutes": 15})).await;
    let scheduled = book(&app, &free, tuesday(10, 0), 0).await;
    let (status, body) = app.call("POST", path, None, Some(intent_request(&free, &scheduled))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("no_deposit_due")), "{body}");
}

#[tokio::test]
async fn a_payment_arriving_after_the_hold_expired_and_the_time_was_taken_is_refunded_automatically() {
    let (app, clock) = fixed_app().await;
    let s = clinic(&app, "lost-slot", deposit_policy()).await;
    let first = book(&app, &s, tuesday(10, 0), 0).await;
    let intent = deposit_intent(&app, &s, &first).await;
    clock.advance(Duration::minutes(16));
    let second = book(&app, &s, tuesday(10, 0), 0).await;

    pay(&app, &intent, "succeed").await;
    let lost = appointment(&app, &s, &first["id"]).await;
    assert_eq!(lost["status"], "cancelled", "{lost}");
    let note = lost["history"].as_array().unwrap().last().unwrap()["note"].as_str().unwrap().to_owned();
    assert!(note.contains("booked by someone else"), "{note}");
    let payment = payments_of(&app, &s, &first["id"]).await.remove(0);
    assert_eq!((payment["status"].as_str(), payment["refunded"].as_i64()), (Some("refunded"), Some(4000)), "{payment}");
    assert_eq!(payment["refunds"][0]["kind"], "automatic");
    let refunds = app.gateway().refunds();
    assert_eq!((refunds.len(), refunds[0].amount), (1, 4000), "money is never kept for a booking that does not exist");
    assert_eq!(
        (app.published("booking.cancelled"), app.published("payment.refunded"), app.published("booking.confirmed")),
        (1, 1, 0)
    );
    assert!(
        timeline_kinds(&app, &s, &json!(s.client_id)).await.iter().any(|k| k == "payment.refunded"),
        "the client is told"
    );

    // One appointment in the slot, and it is the second booker's to pay for.
    assert_eq!(appointment(&app, &s, &second["id"]).await["status"], "pending_deposit");
    let (_, day) = app.get("/v1/appointments?from=2027-03-02&to=2027-03-02", &s.clinic.token).await;
    let live: Vec<&Value> = day.as_array().unwrap().iter().filter(|a| a["status"] != "cancelled").collect();
    assert_eq!(live.len(), 1);
    let second_intent = deposit_intent(&app, &s, &second).await;
    pay(&app, &second_intent, "succeed").await;
    assert_eq!(appointment(&app, &s, &second["id"]).await["status"], "scheduled");
}

#[tokio::test]
async fn a_payment_after_the_hold_expired_still_confirms_when_nobody_took_the_time() {
    let (app, clock) = fixed_app().await;
    let s = clinic(&app, "late-pay", deposit_policy()).await;
    let booked = book(&app, &s, tuesday(10, 0), 0).await;
    let intent = deposit_intent(&app, &s, &booked).await;
    clock.advance(Duration::minutes(30));
    pay(&app, &intent, "succeed").await;
    assert_eq!(appointment(&app, &s, &booked["id"]).await["status"], "scheduled");
    assert!(app.gateway().refunds().is_empty());
    let (status, _) = app
        .post(
            "/v1/appointments",
            &s.clinic.token,
            booking(&s, &s.service_id, tuesday(10, 0), Some(&s.practitioners[0])),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "the time is booked again, for good");
}

#[tokio::test]
async fn a_declined_card_marks_the_payment_failed_and_the_client_can_pay_again() {
    let (app, _) = fixed_app().await;
    let s = clinic(&app, "declined", deposit_policy()).await;
    let booked = book(&app, &s, tuesday(10, 0), 0).await;
    let intent = deposit_intent(&app, &s, &booked).await;
    pay(&app, &intent, "fail").await;
    let payment = payments_of(&app, &s, &booked["id"]).await.remove(0);
    assert_eq!(
        (payment["status"].as_str(), payment["failure"].as_str()),
        (Some("failed"), Some("card_declined")),
        "{payment}"
    );
    assert_eq!(appointment(&app, &s, &booked["id"]).await["status"], "pending_deposit");
    assert_eq!(app.published("payment.failed"), 1);
    let again = deposit_intent(&app, &s, &booked).await;
    assert_eq!(again["intent_id"], intent["intent_id"], "the same intent takes another card");
    pay(&app, &again, "succeed").await;
    assert_eq!(appointment(&app, &s, &booked["id"]).await["status"], "scheduled");
}

#[tokio::test]
async fn refunds_are_partial_or_full_never_above_what_was_captured_and_only_for_money_roles() {
    let (app, _) = fixed_app().await;
    let s = clinic(&app, "refunds", deposit_policy()).await;
    let (_, payment) = paid_booking(&app, &s, tuesday(10, 0), 0).await;
    let path = format!("/v1/payments/{}/refund", payment["id"].as_str().unwrap());
    let (finance, _) = app.member_token(&s.clinic, "finance").await;
    let (front_desk, _) = app.member_token(&s.clinic, "front_desk").await;

    let (status, body) = app.post(&path, &front_desk, json!({"amount": 1000, "reason": "goodwill"})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));
    let (status, partial) = app.post(&path, &finance, json!({"amount": 1000, "reason": "goodwill"})).await;
    assert_eq!(status, StatusCode::OK, "{partial}");
    assert_eq!((partial["status"].as_str(), partial["refunded"].as_i64()), (Some("partial_refund"), Some(1000)));
    let (status, body) = app.post(&path, &finance, json!({"amount": 3001, "reason": "too much"})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("refund_exceeds_captured")),
        "{body}"
    );
    assert_eq!(body["error"]["details"]["refundable"], 3000);
    let (status, body) = app.post(&path, &finance, json!({"amount": 100})).await;
    assert_eq!(
        (status, body["error"]["details"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("reason")),
        "{body}"
    );
    let (status, full) = app.post(&path, &s.clinic.token, json!({"reason": "treatment not suitable"})).await;
    assert_eq!(status, StatusCode::OK, "{full}");
    assert_eq!((full["status"].as_str(), full["refunded"].as_i64()), (Some("refunded"), Some(4000)));
    assert_eq!(full["refunds"].as_array().unwrap().len(), 2);
    let (status, body) = app.post(&path, &finance, json!({"reason": "again"})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("nothing_to_refund")));
    let (status, _) = app.post("/v1/payments/pay_nosuchpayment/refund", &finance, json!({"reason": "x"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let refunded: i64 = app.gateway().refunds().iter().map(|r| r.amount).sum();
    assert_eq!((app.gateway().refunds().len(), refunded), (2, 4000));
    assert_eq!(app.published("payment.refunded"), 2);
    assert_eq!(
        timeline_kinds(&app, &s, &json!(s.client_id)).await.iter().filter(|k| *k == "payment.refunded").count(),
        2
    );
    assert_eq!(audit_actions(&app, &s).await.iter().filter(|a| *a == "payment.refunded").count(), 2);
}

#[tokio::test]
async fn cancelling_or_a_no_show_keeps_the_policys_fee_from_the_deposit_and_refunds_the_rest() {
    let (app, clock) = fixed_app().await;
    let s = clinic(&app, "fees-pay", deposit_policy()).await;
    let thursday = Utc.with_ymd_and_hms(2027, 3, 4, 10, 0, 0).unwrap();
    let (inside, _) = paid_booking(&app, &s, tuesday(10, 0), 0).await;
    let (no_show, _) = paid_booking(&app, &s, tuesday(10, 0), 1).await;
    let (outside, _) = paid_booking(&app, &s, thursday, 0).await;
    let cancel = |a: &Value| format!("/v1/appointments/{}", a["id"].as_str().unwrap());

    // 26 hours before: inside the 48-hour window, so 10% of 200.00 is kept, 20.00 goes back.
    let (status, body) =
        app.patch(&cancel(&inside), &s.clinic.token, json!({"action": "cancel", "reason": "client ill"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let payment = payments_of(&app, &s, &inside["id"]).await.remove(0);
    assert_eq!(
        (payment["status"].as_str(), payment["refunded"].as_i64()),
        (Some("partial_refund"), Some(2000)),
        "{payment}"
    );
    assert_eq!(
        (payment["refunds"][0]["kind"].as_str(), payment["pending_refund"].as_str()),
        (Some("fee_settlement"), None)
    );

    // 74 hours before: outside the window, the whole deposit goes back.
    app.patch(&cancel(&outside), &s.clinic.token, json!({"action": "cancel"})).await;
    let payment = payments_of(&app, &s, &outside["id"]).await.remove(0);
    assert_eq!((payment["status"].as_str(), payment["refunded"].as_i64()), (Some("refunded"), Some(4000)));

    // A no-show costs the whole price: the deposit is kept, nothing goes back.
    clock.set(tuesday(10, 30));
    let (status, body) = app.patch(&cancel(&no_show), &s.clinic.token, json!({"action": "no_show"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let payment = payments_of(&app, &s, &no_show["id"]).await.remove(0);
    assert_eq!((payment["status"].as_str(), payment["refunded"].as_i64()), (Some("succeeded"), Some(0)));

    let amounts: BTreeSet<i64> = app.gateway().refunds().iter().map(|r| r.amount).collect();
    assert_eq!(amounts, BTreeSet::from([2000, 4000]));
    assert_eq!(app.published("payment.refunded"), 2);
}

#[tokio::test]
async fn the_balance_is_collected_at_the_desk_by_link_or_from_the_card_the_client_agreed_to_keep() {
    let (app, _) = fixed_app().await;
    let s = clinic(&app, "balance", deposit_policy()).await;
    let (finance, _) = app.member_token(&s.clinic, "finance").await;
    let (front_desk, _) = app.member_token(&s.clinic, "front_desk").await;
    let finalize = |a: &Value, method: &str| json!({"appointment_id": a["id"], "collection_method": method});

    // The client kept the card on file when paying the deposit.
    let kept = book(&app, &s, tuesday(10, 0), 0).await;
    let mut body = intent_request(&s, &kept);
    body["save_payment_method"] = json!(true);
    let (_, intent) = app.call("POST", "/v1/payments/deposit-intent", None, Some(body)).await;
    pay(&app, &intent, "succeed").await;
    let (status, _) = app.post("/v1/payments/finalize", &front_desk, finalize(&kept, "immediate")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, done) = app.post("/v1/payments/finalize", &finance, finalize(&kept, "immediate")).await;
    assert_eq!(status, StatusCode::CREATED, "{done}");
    assert_eq!(
        (done["payment"]["status"].as_str(), done["payment"]["captured"].as_i64()),
        (Some("succeeded"), Some(16000))
    );
    assert_eq!((done["payment"]["kind"].as_str(), done["client_secret"].as_str()), (Some("balance"), None));
    let (status, body) = app.post("/v1/payments/finalize", &finance, finalize(&kept, "in_person")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("nothing_due")));

    // No card on file: at the desk instead, confirmed through the same webhook path.
    let (plain, _) = paid_booking(&app, &s, tuesday(11, 0), 0).await;
    let (status, body) = app.post("/v1/payments/finalize", &finance, finalize(&plain, "immediate")).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("no_saved_payment_method"))
    );
    let (status, desk) = app.post("/v1/payments/finalize", &finance, finalize(&plain, "in_person")).await;
    assert_eq!(status, StatusCode::CREATED, "{desk}");
    assert_eq!(
        (desk["payment"]["status"].as_str(), desk["payment"]["amount"]["amount_minor"].as_i64()),
        (Some("requires_action"), Some(16000))
    );
    let (_, again) = app.post("/v1/payments/finalize", &finance, finalize(&plain, "in_person")).await;
    assert_eq!(again["payment"]["id"], desk["payment"]["id"], "one balance at a time");
    pay(&app, &json!({"intent_id": desk["payment"]["intent_id"]}), "succeed").await;
    let balances: Vec<Value> =
        payments_of(&app, &s, &plain["id"]).await.into_iter().filter(|p| p["kind"] == "balance").collect();
    assert_eq!(balances[0]["status"], "succeeded");
    assert_eq!(appointment(&app, &s, &plain["id"]).await["status"], "scheduled", "a balance does not move the booking");

    let (linked, _) = paid_booking(&app, &s, tuesday(12, 0), 0).await;
    let (status, _) = app.post("/v1/payments/finalize", &finance, finalize(&linked, "email_link")).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(app.published("payment.link_requested"), 1);

    let waiting = book(&app, &s, tuesday(14, 0), 0).await;
    let (status, body) = app.post("/v1/payments/finalize", &finance, finalize(&waiting, "in_person")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("not_finalizable")));
    assert_eq!(app.published("payment.succeeded"), 2 + 3, "three deposits and two balances");
}

/// Publishes everything except `booking.confirmed`, which always fails.
struct FailingConfirmations(Arc<InProcessEvents>);

#[async_trait]
impl Events for FailingConfirmations {
    async fn publish(&self, events: &[DomainEvent]) -> Result<(), EventsError> {
        if events.iter().any(|e| e.kind == "booking.confirmed") {
            return Err(EventsError::Unavailable("the bus refuses booking.confirmed".into()));
        }
        self.0.publish(events).await
    }
}

#[tokio::test]
async fn an_event_that_keeps_failing_is_parked_for_the_dead_letter_queue_instead_of_retried_forever() {
    let dir = tempfile::tempdir().unwrap();
    let table = Arc::new(mas_embedded::SqliteTable::open(&dir.path().join("t.sqlite3")).unwrap());
    let inner = Arc::new(InProcessEvents::new());
    let (mas, gateway) = crate::support::app::test_parts(table, Arc::new(FixedClock::new(now())));
    let mas = mas.with_events(Arc::new(FailingConfirmations(inner.clone())));
    let app = serve(mas, gateway, inner.clone(), dir).await;
    let s = clinic(&app, "parked", deposit_policy()).await;
    let booked = book(&app, &s, tuesday(10, 0), 0).await;
    let intent = deposit_intent(&app, &s, &booked).await;
    let id = IntentId::parse(intent["intent_id"].as_str().unwrap()).unwrap();
    let paid = app.gateway().pay(&id, Outcome::Succeed).unwrap();
    let (event_id, body, signature) = app.gateway().signed_event("payment_intent.succeeded", &paid);

    for attempt in 1..=mas_usecases::stripe_events::MAX_ATTEMPTS {
        let (status, answer) = post_webhook(&app, body.clone(), Some(&signature)).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "attempt {attempt}: {answer}");
    }
    let (status, answer) = post_webhook(&app, body.clone(), Some(&signature)).await;
    assert_eq!((status, answer["outcome"].as_str()), (StatusCode::OK, Some("parked")), "{answer}");
    let parked: Vec<DomainEvent> =
        inner.published().into_iter().filter(|e| e.kind == "stripe.webhook_parked").collect();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].payload["stripe_event_id"], event_id.as_str());
    let (status, answer) = post_webhook(&app, body, Some(&signature)).await;
    assert_eq!((status, answer["outcome"].as_str()), (StatusCode::OK, Some("duplicate")), "parked means done: no loop");
    // The state change was committed once, on the first attempt; only its announcement failed,
    // and every retry announced the same payment.succeeded (one id: consumers drop repeats).
    let confirmed = appointment(&app, &s, &booked["id"]).await;
    assert_eq!(confirmed["status"], "scheduled");
    assert_eq!(confirmed["history"].as_array().unwrap().iter().filter(|h| h["action"] == "deposit_paid").count(), 1);
    let succeeded: BTreeSet<String> =
        inner.published().iter().filter(|e| e.kind == "payment.succeeded").map(|e| e.id.to_string()).collect();
    assert_eq!(succeeded.len(), 1);
}

// ---- chaos ------------------------------------------------------------------------------------

/// One delivery to make (to the platform's endpoint or the Connect one), and whether it must be
/// refused.
#[derive(Clone)]
struct Delivery {
    path: &'static str,
    body: Vec<u8>,
    signature: String,
    forged: bool,
}

const PLATFORM: &str = "/webhooks/stripe";
const CONNECT: &str = "/webhooks/stripe/connect";

fn charge(intent: &str, refunded: i64) -> Value {
    json!({"id": format!("ch_{}", &intent[3..]), "object": "charge", "payment_intent": intent, "amount": 4000,
           "amount_captured": 4000, "captured": true, "amount_refunded": refunded, "refunded": refunded == 4000})
}

fn dispute(intent: &str, status: &str) -> Value {
    json!({"id": format!("dp_{}", &intent[3..]), "object": "dispute", "payment_intent": intent, "amount": 4000, "status": status})
}

/// An account as Stripe sends it in `account.updated`: what the event says, which may be old news.
fn account_object(id: &str, charges: bool, due: &[&str]) -> Value {
    json!({"id": id, "object": "account", "charges_enabled": charges, "payouts_enabled": charges,
           "details_submitted": true, "requirements": {"currently_due": due, "past_due": []}})
}

/// 100 bookings waiting for their deposits, at a clinic whose own Stripe account takes them
/// (Connect); 580 events: 500 about the bookings (60 paid, 20 declined then paid, 10 declined
/// then cancelled, 10 paid then partly refunded and disputed and won, plus types we ignore), and
/// 80 from connected accounts — 20 `account.updated` of the clinic's account carrying states old
/// and new, 20 of accounts that are not ours, 10 disputes opened and won from the clinic's own
/// account, 10 from an unknown account and 10 from another clinic's account about this clinic's
/// payments. 30% delivered twice, 60 more forged or stale, all shuffled and sent eight at a time,
/// retried like Stripe retries. Every booking, payment and the clinic's connection end where
/// their facts say, each status change, domain event and refund happens once, nothing is written
/// for an unknown account, no clinic's event touches another's payment, and no forgery gets in.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_hundred_and_eighty_shuffled_duplicated_and_forged_events_leave_every_booking_and_account_right_with_each_effect_once()
 {
    // A hundred deposit intents from one address: past the per-address limit, which is not what
    // this test is about.
    let generous = mas_domain::limits::Bucket { capacity: 10_000, refill_seconds: 1 };
    let limits = mas_usecases::limits::Limits { deposit_intent_per_address: generous, ..Default::default() };
    let app = spawn_app_with_limits(Arc::new(mas_ports::FixedClock::new(now())), limits).await;
    let app = Arc::new(app);
    let s = clinic(&app, "chaos", json!({"deposit": {"kind": "percent", "percent": 20}, "hold_minutes": 1440})).await;
    let gateway = app.gateway();
    gateway.require_connected_accounts(true);
    let account = crate::connect::connect(&app, &s.clinic).await;
    let other = app.sign_up("chaos-other").await;
    let other_account = crate::connect::connect(&app, &other).await;
    let mut booked = Vec::new();
    'days: for day in 0..5 {
        for hour in 10..17 {
            for practitioner in 0..3 {
                if booked.len() == 100 {
                    break 'days;
                }
                booked.push(book(&app, &s, tuesday(hour, 0) + Duration::days(day), practitioner).await);
            }
        }
    }
    let mut intents = Vec::new();
    for appointment in &booked {
        intents.push(deposit_intent(&app, &s, appointment).await["intent_id"].as_str().unwrap().to_owned());
    }
    let secret = app.app.webhook_secret.clone();
    let connect_secret = gateway.connect_secret().clone();
    let t = now().timestamp();
    let mut genuine = Vec::new();
    let mut next_id = 0;
    let mut event = |event_type: &str, object: Value| {
        next_id += 1;
        let body = intent_event(&format!("evt_chaos{next_id}"), event_type, object);
        let (body, signature) = signed(&secret, t, &body);
        Delivery { path: PLATFORM, body, signature, forged: false }
    };
    for (i, pi) in intents.iter().enumerate() {
        let id = IntentId::parse(pi).unwrap();
        // What the gateway ends up saying, before any of the events is delivered.
        match i {
            0..60 | 90.. => drop(gateway.pay(&id, Outcome::Succeed).unwrap()),
            60..80 => {
                gateway.pay(&id, Outcome::Fail).unwrap();
                gateway.pay(&id, Outcome::Succeed).unwrap();
            }
            _ => {
                gateway.pay(&id, Outcome::Fail).unwrap();
                gateway.cancel(&id).unwrap();
            }
        }
        if i >= 90 {
            // Refunded in Stripe's dashboard: we learn of it only through the webhook.
            let request = RefundRequest {
                intent: id.clone(),
                amount: MinorUnits::new(1000).unwrap(),
                idempotency_key: format!("dashboard-{pi}"),
                metadata: BTreeMap::new(),
            };
            gateway.refund(request).await.unwrap();
        }
        let current = intent_json(&gateway.retrieve_intent(&id).await.unwrap());
        let object = |status: &str| {
            let mut object = current.clone();
            object["status"] = json!(status);
            object
        };
        match i {
            0..60 => {
                genuine.push(event("payment_intent.created", object("requires_payment_method")));
                genuine.push(event("payment_intent.processing", object("processing")));
                genuine.push(event("payment_intent.succeeded", object("succeeded")));
                genuine.push(event("charge.succeeded", charge(pi, 0)));
                genuine.push(event("payment_intent.requires_action", object("requires_action")));
            }
            60..80 => {
                genuine.push(event("payment_intent.created", object("requires_payment_method")));
                genuine.push(event("payment_intent.payment_failed", object("requires_payment_method")));
                genuine.push(event("payment_intent.succeeded", object("succeeded")));
                genuine.push(event("payment_intent.processing", object("processing")));
            }
            80..90 => {
                genuine.push(event("payment_intent.created", object("requires_payment_method")));
                genuine.push(event("payment_intent.payment_failed", object("requires_payment_method")));
                genuine.push(event("payment_intent.canceled", object("canceled")));
                genuine.push(event("payment_intent.requires_action", object("requires_action")));
            }
            _ => {
                genuine.push(event("payment_intent.created", object("requires_payment_method")));
                genuine.push(event("payment_intent.processing", object("processing")));
                genuine.push(event("payment_intent.succeeded", object("succeeded")));
                genuine.push(event("charge.succeeded", charge(pi, 0)));
                genuine.push(event("charge.refunded", charge(pi, 1000)));
                genuine.push(event("charge.dispute.created", dispute(pi, "needs_response")));
                genuine.push(event("charge.dispute.closed", dispute(pi, "won")));
                genuine.push(event("payment_intent.requires_action", object("requires_action")));
            }
        }
    }
    assert_eq!(genuine.len(), 500);

    // Connect: Stripe now asks the clinic for a bank account by a deadline (it still takes
    // charges); twenty account.updated carry that and older states, in any order.
    let due = AccountStatus {
        charges_enabled: true,
        payouts_enabled: true,
        details_submitted: true,
        requirements: Requirements {
            currently_due: vec!["external_account".into()],
            current_deadline: Some(now() + Duration::days(14)),
            ..Default::default()
        },
    };
    gateway.set_account_status(&ConnectedAccountId::parse(&account).unwrap(), due.clone()).unwrap();
    let updates_before = app.published("payments.account_updated");
    let mut connect_event = |event_type: &str, from: &str, object: Value| {
        next_id += 1;
        let body = crate::connect::connect_event(&format!("evt_chaos{next_id}"), event_type, from, object);
        let (body, signature) = signed(&connect_secret, t, &body);
        Delivery { path: CONNECT, body, signature, forged: false }
    };
    let mut unknown_ids = Vec::new();
    for k in 0..20 {
        let object = match k % 3 {
            0 => account_object(&account, false, &["external_account", "individual.dob.day"]),
            1 => account_object(&account, true, &[]),
            _ => account_object(&account, true, &["external_account"]),
        };
        genuine.push(connect_event("account.updated", &account, object));
        let stranger = format!("acct_chaosUnknown{k}");
        let delivery = connect_event("account.updated", &stranger, account_object(&stranger, true, &[]));
        unknown_ids.push(serde_json::from_slice::<Value>(&delivery.body).unwrap()["id"].as_str().unwrap().to_owned());
        genuine.push(delivery);
    }
    // Disputes from the clinic's own account (bookings 60..70, paid after a decline: opened, won).
    for pi in &intents[60..70] {
        genuine.push(connect_event("charge.dispute.created", &account, dispute(pi, "needs_response")));
        genuine.push(connect_event("charge.dispute.closed", &account, dispute(pi, "won")));
    }
    // The same clinic's payments, "lost" in disputes from accounts that are not this clinic's.
    for (k, pi) in intents[0..10].iter().enumerate() {
        let delivery = connect_event("charge.dispute.closed", &format!("acct_chaosStranger{k}"), dispute(pi, "lost"));
        unknown_ids.push(serde_json::from_slice::<Value>(&delivery.body).unwrap()["id"].as_str().unwrap().to_owned());
        genuine.push(delivery);
        genuine.push(connect_event("charge.dispute.created", &other_account, dispute(pi, "lost")));
    }
    assert_eq!(genuine.len(), 580);

    let mut rng = rand::rngs::StdRng::seed_from_u64(4);
    let mut deliveries = genuine.clone();
    let mut duplicated: Vec<usize> = (0..genuine.len()).collect();
    duplicated.shuffle(&mut rng);
    deliveries.extend(duplicated[..174].iter().map(|&i| genuine[i].clone()));
    // Forgeries that would do harm if they got in: refunds and disputes of paid bookings, and
    // payments of the cancelled ones; an account "disabled" and a dispute "lost" on the Connect
    // endpoint, signed with a guess or with the platform endpoint's secret.
    let impostor = WebhookSecret::new("whsec_an_attackers_guess_000").unwrap();
    for k in 0..60 {
        let pi = &intents[rng.random_range(0..100)];
        let (path, kind, object) = match k % 5 {
            0 => (PLATFORM, "charge.refunded", charge(pi, 4000)),
            1 => (PLATFORM, "charge.dispute.created", dispute(pi, "lost")),
            2 => (
                PLATFORM,
                "payment_intent.succeeded",
                json!({"id": pi, "object": "payment_intent", "amount": 4000, "currency": "gbp", "status": "succeeded"}),
            ),
            3 => (CONNECT, "account.updated", account_object(&account, false, &["external_account"])),
            _ => (CONNECT, "charge.dispute.created", dispute(pi, "lost")),
        };
        let body = if path == CONNECT {
            crate::connect::connect_event(&format!("evt_forged{k}"), kind, &account, object)
        } else {
            intent_event(&format!("evt_forged{k}"), kind, object)
        };
        let (body, signature) = match k % 4 {
            0 | 1 => signed(&impostor, t, &body),
            // The platform endpoint's secret on the Connect endpoint, and the other way round.
            2 if path == CONNECT => signed(&secret, t, &body),
            2 => signed(&connect_secret, t, &body),
            _ => signed(if path == CONNECT { &connect_secret } else { &secret }, t - 400, &body),
        };
        deliveries.push(Delivery { path, body, signature, forged: true });
    }
    deliveries.shuffle(&mut rng);

    let mut refused = 0;
    for batch in deliveries.chunks(8) {
        let mut tasks = tokio::task::JoinSet::new();
        for delivery in batch.iter().cloned() {
            let app = app.clone();
            tasks.spawn(async move {
                let headers = [("content-type", "application/json"), ("stripe-signature", delivery.signature.as_str())];
                for _ in 0..200 {
                    let (status, answer) = app.post_raw(delivery.path, &headers, delivery.body.clone()).await;
                    match status {
                        StatusCode::OK | StatusCode::BAD_REQUEST => return (delivery.forged, status, answer),
                        // In flight elsewhere, or a failure: Stripe retries later.
                        _ => tokio::time::sleep(std::time::Duration::from_millis(5)).await,
                    }
                }
                panic!("a delivery never got an answer");
            });
        }
        while let Some(done) = tasks.join_next().await {
            let (forged, status, answer) = done.unwrap();
            if forged {
                assert_eq!(status, StatusCode::BAD_REQUEST, "a forgery got in: {answer}");
                refused += 1;
            } else {
                assert_eq!(status, StatusCode::OK, "{answer}");
            }
        }
    }
    assert_eq!(refused, 60);

    for (i, appointment_value) in booked.iter().enumerate() {
        let stored = appointment(&app, &s, &appointment_value["id"]).await;
        let payment = payments_of(&app, &s, &appointment_value["id"]).await.remove(0);
        let confirmations =
            stored["history"].as_array().unwrap().iter().filter(|h| h["action"] == "deposit_paid").count();
        let (status, payment_status, refunded, paid) = match i {
            0..80 => ("scheduled", "succeeded", 0, 1),
            80..90 => ("pending_deposit", "failed", 0, 0),
            _ => ("scheduled", "partial_refund", 1000, 1),
        };
        assert_eq!(stored["status"], status, "booking {i}: {stored}");
        assert_eq!(confirmations, paid, "booking {i} confirmed once");
        assert_eq!(
            (payment["status"].as_str(), payment["refunded"].as_i64()),
            (Some(payment_status), Some(refunded)),
            "payment {i}: {payment}"
        );
        assert_eq!(payment["destination"]["account_id"], account.as_str(), "payment {i} went to the clinic");
        match i {
            60..70 | 90.. => assert_eq!(payment["dispute"]["status"], "won", "payment {i}"),
            _ => assert!(payment["dispute"].is_null(), "no stranger's dispute reached payment {i}: {payment}"),
        }
    }
    let connection = crate::connect::status(&app, &s.clinic).await;
    assert_eq!(connection["state"], "active", "{connection}");
    assert_eq!(connection["requirements"]["currently_due"], json!(["external_account"]), "what Stripe says now");
    assert_eq!(app.published("payments.account_updated"), updates_before + 1, "one change, announced once");
    assert_eq!(crate::connect::status(&app, &other).await["state"], "active", "the other clinic's is its own");
    for id in &unknown_ids {
        assert!(event_record(&app, id).await.is_none(), "{id}: nothing is written for an account not ours");
    }
    let published = app.events.published();
    let ids: BTreeSet<&str> = published.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids.len(), published.len(), "no domain event was published twice");
    for (kind, expected) in [
        ("booking.confirmed", 90),
        ("payment.succeeded", 90),
        ("payment.failed", 10),
        ("payment.refunded", 10),
        ("payment.disputed", 20),
        ("payment.dispute_closed", 20),
        ("booking.cancelled", 0),
    ] {
        assert_eq!(app.published(kind), expected, "{kind}");
    }
    assert_eq!(gateway.refunds().len(), 10, "only the dashboard's refunds: nothing was refunded automatically");
    let ledger = gateway.ledger(&ConnectedAccountId::parse(&account).unwrap());
    assert_eq!((ledger.charged, ledger.reversed), (90 * 4000, 10 * 1000), "{ledger:?}");
}

#[tokio::test]
async fn the_local_pay_route_posts_its_webhook_to_this_host_whatever_host_the_caller_names() {
    let (app, _) = fixed_app().await;
    let s = clinic(&app, "host-pay", deposit_policy()).await;
    let booked = book(&app, &s, tuesday(10, 0), 0).await;
    let intent = deposit_intent(&app, &s, &booked).await;
    let path = format!("/local/pay/{}", intent["intent_id"].as_str().unwrap());
    let (status, _, paid) = app
        .send_with_headers("POST", &path, None, &[("Host", "attacker.test:9")], Some(json!({"outcome": "succeed"})))
        .await;
    assert_eq!(status, StatusCode::OK, "{paid}");
    assert_eq!(paid["webhook"]["status"], 200, "delivered to this host, not the named one: {paid}");
    assert_eq!(appointment(&app, &s, &booked["id"]).await["status"], "scheduled");
}

/// A portal session for `client`, through a link issued as `POST …/portal/link` does.
pub(crate) async fn portal_session(app: &TestApp, s: &Setup, client: &Value) -> String {
    let client = mas_domain::ids::ClientId::parse(client.as_str().unwrap()).unwrap();
    let (token, _) = mas_usecases::portal::issue_link(&app.app, &s.clinic.tenant_id, &client).await.unwrap();
    let path = format!("/v1/public/{}/portal/session", s.clinic.slug);
    let (status, session) = app.call("POST", &path, None, Some(json!({ "token": token }))).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    session["session"].as_str().unwrap().to_owned()
}

/// What the Stripe.js shim's `confirmPayment` (then its 3-D Secure dialog) sends.
async fn shim_call(app: &TestApp, intent: &Value, step: &str, body: Value) -> (StatusCode, Value) {
    let path = format!("/local/pay/{}/{step}", intent["intent_id"].as_str().unwrap());
    app.call("POST", &path, None, Some(body)).await
}

#[tokio::test]
async fn a_sites_payment_element_gets_stripe_js_from_the_intent_pays_by_test_card_and_3ds_and_waits_on_the_deposit_status()
 {
    let (app, _) = fixed_app().await;
    let s = clinic(&app, "card-site", deposit_policy()).await;
    let visitor = public_booking(&s, tuesday(10, 0), "ada@visitors.test", answers());
    let (status, booked) = app.call("POST", "/v1/public/card-site/appointments", None, Some(visitor)).await;
    assert_eq!(status, StatusCode::CREATED, "{booked}");
    let intent = deposit_intent(&app, &s, &booked).await;
    // The simulated gateway names the local host's Stripe.js shim and a test publishable key.
    assert_eq!(intent["js_url"], "/local/stripe.js", "{intent}");
    assert!(intent["publishable_key"].as_str().unwrap().starts_with("pk_test_"), "{intent}");
    let (status, shim) = app.get_text("/local/stripe.js").await;
    assert_eq!(status, StatusCode::OK);
    assert!(shim.contains("window.Stripe") && shim.contains("confirmPayment"));

    let pair = intent_request(&s, &booked);
    let deposit_status = |body: Value| app.call("POST", "/v1/payments/deposit-status", None, Some(body));
    let (status, waiting) = deposit_status(pair.clone()).await;
    assert_eq!(status, StatusCode::OK, "{waiting}");
    assert_eq!((&waiting["appointment_status"], &waiting["paid"]), (&json!("pending_deposit"), &json!(false)));
    let mut wrong = pair.clone();
    wrong["confirmation_number"] = json!("BK-00000000");
    assert_eq!(deposit_status(wrong).await.0, StatusCode::NOT_FOUND, "a wrong pair is simply not found");

    let secret = intent["client_secret"].clone();
    let card = |number: &str| json!({ "client_secret": secret, "card_number": number });
    let (status, _) = shim_call(
        &app,
        &intent,
        "confirm",
        json!({ "client_secret": "pi_x_secret_y", "card_number": "4242424242424242" }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "another intent's secret pays nothing");
    let (status, declined) = shim_call(&app, &intent, "confirm", card("4000 0000 0000 0002")).await;
    assert_eq!(status, StatusCode::OK, "{declined}");
    assert_eq!(declined["error"]["code"], "card_declined");
    assert_eq!(declined["payment_intent"]["status"], "requires_payment_method");
    let (_, after_decline) = deposit_status(pair.clone()).await;
    assert_eq!(
        (&after_decline["failure"], &after_decline["paid"]),
        (&json!("card_declined"), &json!(false)),
        "the webhook recorded it"
    );

    let (_, challenged) = shim_call(&app, &intent, "confirm", card("4000 0027 6000 3184")).await;
    assert_eq!(challenged["payment_intent"]["status"], "requires_action", "{challenged}");
    assert_eq!(challenged["payment_intent"]["next_action"]["type"], "use_stripe_sdk");
    let (_, failed) =
        shim_call(&app, &intent, "authenticate", json!({ "client_secret": secret, "outcome": "fail" })).await;
    assert_eq!(failed["error"]["code"], "payment_intent_authentication_failure", "{failed}");
    let (status, _) =
        shim_call(&app, &intent, "authenticate", json!({ "client_secret": secret, "outcome": "complete" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "no challenge is waiting any more");
    shim_call(&app, &intent, "confirm", card("4000002760003184")).await;
    let (_, paid) =
        shim_call(&app, &intent, "authenticate", json!({ "client_secret": secret, "outcome": "complete" })).await;
    assert_eq!(paid["payment_intent"]["status"], "succeeded", "{paid}");
    assert!(paid.get("error").is_none());

    let (_, settled) = deposit_status(pair).await;
    assert_eq!((&settled["appointment_status"], &settled["paid"]), (&json!("scheduled"), &json!(true)), "{settled}");
    assert_eq!(settled["payment_status"], "succeeded");
    assert_eq!(appointment(&app, &s, &booked["id"]).await["status"], "scheduled");
}
