//! Card payments at the desk, black-box over HTTP on the local host with the simulated gateway:
//! a card reader registered with its code, a card taken on it (the local reader page presents
//! Stripe's test cards and posts the signed webhooks), the sale completed with it once, its
//! webhooks replayed, its refund back through the gateway; a declined card; a busy reader;
//! another clinic's or location's reader; the client's saved card with and without her consent.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::booking::{Setup, fixed_app, setup, tuesday};
use crate::payments::{audit_actions, clinic, deposit_policy, paid_booking, post_webhook};
use crate::support::app::*;
use crate::till::{lines, ring_up, sale_body};

/// 145.98: what `till::lines` come to.
const TOTAL: i64 = 14_598;

/// Registers a simulated reader at the setup's location as its owner; the reader.
async fn register(app: &TestApp, s: &Setup, label: &str) -> Value {
    let body = json!({"location_id": s.location_id, "registration_code": "simulated-wpe", "label": label});
    let (status, reader) = app.post("/v1/card-readers", &s.clinic.token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{reader}");
    reader
}

fn on_reader(s: &Setup, reader: &Value, amount: i64) -> Value {
    json!({"method": "reader", "reader_id": reader["id"], "location_id": s.location_id, "amount_minor": amount,
           "client_id": s.client_id})
}

/// The client presents `card` (a Stripe test card number; approved when `None`) to the reader.
async fn present(app: &TestApp, reader: &Value, card: Option<&str>) -> Value {
    let path = format!("/local/readers/{}", reader["id"].as_str().unwrap());
    let body = card.map(|number| json!({ "card_number": number }));
    let (status, presented) = app.call("POST", &path, None, body).await;
    assert_eq!(status, StatusCode::OK, "{presented}");
    for webhook in presented["webhooks"].as_array().unwrap() {
        assert_eq!(webhook["status"], 200, "{presented}");
    }
    presented
}

async fn desk_payment(app: &TestApp, token: &str, id: &Value) -> Value {
    let (status, payment) = app.get(&format!("/v1/desk-payments/{}", id.as_str().unwrap()), token).await;
    assert_eq!(status, StatusCode::OK, "{payment}");
    payment
}

fn card_tender(payment: &Value) -> Value {
    json!([{"method": "card", "amount_minor": payment["amount"]["amount_minor"], "intent_id": payment["intent_id"]}])
}

#[tokio::test]
async fn a_card_taken_on_a_reader_pays_one_sale_its_webhooks_replayed_change_nothing_and_its_refund_goes_back_through_the_gateway()
 {
    let (app, _clock) = fixed_app().await;
    let s = setup(&app, "desk-reader").await;
    let reader = register(&app, &s, "Front desk").await;
    assert!(reader["id"].as_str().unwrap().starts_with("tmr_"), "{reader}");
    assert_eq!(
        (reader["label"].as_str(), reader["device_type"].as_str()),
        (Some("Front desk"), Some("simulated_wisepos_e"))
    );
    let (desk, _) = app.member_token(&s.clinic, "front_desk").await;
    let (status, listed) = app.get("/v1/card-readers", &desk).await;
    assert_eq!((status, listed.as_array().map(Vec::len)), (StatusCode::OK, Some(1)), "{listed}");

    let (status, started) = app.post("/v1/desk-payments", &desk, on_reader(&s, &reader, TOTAL)).await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    assert_eq!((started["status"].as_str(), started["method"].as_str()), (Some("pending"), Some("reader")));
    // The reader asks for this card: a second payment on it is refused until this one is over.
    let (status, busy) = app.post("/v1/desk-payments", &desk, on_reader(&s, &reader, 500)).await;
    assert_eq!((status, busy["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("reader_busy")), "{busy}");
    // Not paid yet: no sale may name it.
    let (status, early) = app.post("/v1/sales", &desk, sale_body(&s, lines(&s), card_tender(&started))).await;
    assert_eq!(
        (status, early["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("card_payment_mismatch"))
    );

    present(&app, &reader, None).await;
    let paid = desk_payment(&app, &desk, &started["id"]).await;
    assert_eq!(paid["status"], "succeeded", "{paid}");
    assert_eq!(app.published("desk_payment.succeeded"), 1);

    // Stripe delivers again (each event twice): nothing changes, nothing is announced again.
    for delivery in app.gateway().deliveries() {
        for _ in 0..2 {
            let (status, body) = post_webhook(&app, delivery.body.clone(), Some(&delivery.signature)).await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
    }
    assert_eq!(desk_payment(&app, &desk, &started["id"]).await, paid);
    assert_eq!(app.published("desk_payment.succeeded"), 1);

    let sale = ring_up(&app, &desk, sale_body(&s, lines(&s), card_tender(&paid))).await;
    assert_eq!(sale["tenders"][0]["intent_id"], paid["intent_id"], "{sale}");
    let (status, again) = app.post("/v1/sales", &desk, sale_body(&s, lines(&s), card_tender(&paid))).await;
    assert_eq!(
        (status, again["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("intent_already_used"))
    );

    // The reader is free again; a refund of the sale goes back to the card through the gateway.
    let (finance, _) = app.member_token(&s.clinic, "finance").await;
    let path = format!("/v1/sales/{}/refund", sale["id"].as_str().unwrap());
    let (status, refunded) =
        app.post(&path, &finance, json!({"to": "card", "amount_minor": 4598, "reason": "Product returned"})).await;
    assert_eq!(status, StatusCode::CREATED, "{refunded}");
    assert_eq!(refunded["corrections"][0]["status"], "completed", "{refunded}");
    let refunds = app.gateway().refunds();
    assert_eq!(refunds.iter().map(|r| r.amount).collect::<Vec<_>>(), vec![4598]);
    assert_eq!(refunded["corrections"][0]["returns"][0]["gateway_refund_id"].as_str(), Some(refunds[0].id.as_str()));
    let actions = audit_actions(&app, &s).await;
    for action in ["card_reader.registered", "desk_payment.started", "desk_payment.succeeded", "sale.completed"] {
        assert!(actions.contains(&action.to_owned()), "{action} not audited: {actions:?}");
    }
}

#[tokio::test]
async fn a_declined_card_on_a_reader_says_why_pays_no_sale_and_frees_the_reader_for_another_try_or_a_cancel() {
    let (app, _clock) = fixed_app().await;
    let s = setup(&app, "desk-declined").await;
    let reader = register(&app, &s, "Treatment room").await;
    let (desk, _) = app.member_token(&s.clinic, "front_desk").await;
    let (_, started) = app.post("/v1/desk-payments", &desk, on_reader(&s, &reader, TOTAL)).await;
    let presented = present(&app, &reader, Some("4000 0000 0000 9995")).await;
    assert_eq!(presented["reader"]["action"]["failure_code"], "insufficient_funds", "{presented}");
    let declined = desk_payment(&app, &desk, &started["id"]).await;
    assert_eq!(
        (declined["status"].as_str(), declined["failure_code"].as_str()),
        (Some("declined"), Some("insufficient_funds"))
    );
    assert_eq!(app.published("desk_payment.declined"), 1);
    let (status, refused) = app.post("/v1/sales", &desk, sale_body(&s, lines(&s), card_tender(&declined))).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("card_payment_mismatch"))
    );

    // Another try on the same reader, then the desk cancels it before any card is presented.
    let (status, retry) = app.post("/v1/desk-payments", &desk, on_reader(&s, &reader, TOTAL)).await;
    assert_eq!(status, StatusCode::CREATED, "{retry}");
    let cancel = format!("/v1/desk-payments/{}/cancel", retry["id"].as_str().unwrap());
    let (status, cancelled) = app.call("POST", &cancel, Some(&desk), None).await;
    assert_eq!((status, cancelled["status"].as_str()), (StatusCode::OK, Some("canceled")), "{cancelled}");
    let (status, twice) = app.call("POST", &cancel, Some(&desk), None).await;
    assert_eq!((status, twice), (StatusCode::OK, cancelled));
    // The reader stopped asking: nothing to present to, and the payment's intent is cancelled.
    let path = format!("/local/readers/{}", reader["id"].as_str().unwrap());
    let (status, _) = app.call("POST", &path, None, None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let intent = app.gateway().intents().into_iter().find(|i| i.id.as_str() == retry["intent_id"]).unwrap();
    assert_eq!(intent.snapshot.status, mas_domain::payment::IntentStatus::Canceled);
    // A paid one cannot be cancelled.
    let (_, third) = app.post("/v1/desk-payments", &desk, on_reader(&s, &reader, TOTAL)).await;
    present(&app, &reader, Some("4242 4242 4242 4242")).await;
    let path = format!("/v1/desk-payments/{}/cancel", third["id"].as_str().unwrap());
    let (status, paid) = app.call("POST", &path, Some(&desk), None).await;
    assert_eq!((status, paid["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("already_paid")), "{paid}");
}

#[tokio::test]
async fn a_reader_of_another_clinic_or_location_is_refused_and_only_owners_and_managers_manage_readers() {
    let (app, _clock) = fixed_app().await;
    let a = setup(&app, "desk-a").await;
    let b = setup(&app, "desk-b").await;
    let reader = register(&app, &a, "A's desk").await;

    let (status, theirs) = app.post("/v1/desk-payments", &b.clinic.token, on_reader(&b, &reader, 1000)).await;
    assert_eq!((status, theirs["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_reader")));
    assert!(!theirs.to_string().contains(a.location_id.as_str()), "{theirs}");
    let path = format!("/v1/card-readers/{}", reader["id"].as_str().unwrap());
    let (status, _) = app.delete(&path, &b.clinic.token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, b_list) = app.get("/v1/card-readers", &b.clinic.token).await;
    assert_eq!(b_list, json!([]));

    let (status, other) = app.post("/v1/locations", &a.clinic.token, location_body("Chelsea")).await;
    assert_eq!(status, StatusCode::CREATED, "{other}");
    let mut elsewhere = on_reader(&a, &reader, 1000);
    elsewhere["location_id"] = other["id"].clone();
    let (status, wrong) = app.post("/v1/desk-payments", &a.clinic.token, elsewhere).await;
    assert_eq!(
        (status, wrong["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("reader_location_mismatch"))
    );

    let (desk, _) = app.member_token(&a.clinic, "front_desk").await;
    let (practitioner, _) = app.member_token(&a.clinic, "practitioner").await;
    let body = json!({"location_id": a.location_id, "registration_code": "simulated-wpe", "label": "x"});
    let (status, _) = app.post("/v1/card-readers", &desk, body).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The role first: a practitioner learns nothing from a body that would not parse.
    let (status, _) = app.post("/v1/desk-payments", &practitioner, json!({"method": "nonsense"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let bad = json!({"location_id": a.location_id, "registration_code": "not-a-reader", "label": "x"});
    let (status, refused) = app.post("/v1/card-readers", &a.clinic.token, bad).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_registration_code"))
    );

    let (status, _) = app.delete(&path, &a.clinic.token).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(app.gateway().readers().is_empty(), "deleted at the gateway too");
    let (_, listed) = app.get("/v1/card-readers", &a.clinic.token).await;
    assert_eq!(listed, json!([]));
}

#[tokio::test]
async fn a_saved_card_is_charged_at_the_desk_only_with_the_clients_consent_and_a_decline_says_so() {
    use crate::payments_by_link::consented_paid_booking;
    let (app, _clock) = fixed_app().await;
    let s = clinic(&app, "desk-saved", deposit_policy()).await;
    let consented = consented_paid_booking(&app, &s, tuesday(10, 0)).await;
    let saved = |appointment: &Value, amount: i64| {
        json!({"method": "saved_card", "appointment_id": appointment["id"], "location_id": s.location_id,
               "amount_minor": amount})
    };
    let (desk, _) = app.member_token(&s.clinic, "front_desk").await;
    let (status, charged) = app.post("/v1/desk-payments", &desk, saved(&consented, TOTAL)).await;
    assert_eq!(status, StatusCode::CREATED, "{charged}");
    assert_eq!((charged["status"].as_str(), charged["method"].as_str()), (Some("succeeded"), Some("saved_card")));
    assert_eq!(charged["client_id"], consented["client_id"]);
    let sale = ring_up(&app, &desk, sale_body(&s, lines(&s), card_tender(&charged))).await;
    assert_eq!(sale["totals"]["total_minor"], TOTAL);

    // Without the client's consent (a booking paid without it): nothing is charged.
    let (unconsented, _) = paid_booking(&app, &s, tuesday(12, 0), 1).await;
    let intents = app.gateway().intents().len();
    let (status, refused) = app.post("/v1/desk-payments", &desk, saved(&unconsented, TOTAL)).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("no_card_on_file_consent"))
    );
    assert_eq!(app.gateway().intents().len(), intents, "no charge was attempted");

    // The card on file is declined, or needs the client to authenticate: said so, nothing stored.
    let deposit = crate::payments::payments_of(&app, &s, &consented["id"]).await.remove(0);
    let method = deposit["payment_method_id"].as_str().unwrap().to_owned();
    for (code, expected) in
        [("insufficient_funds", "card_declined"), ("authentication_required", "authentication_required")]
    {
        app.gateway().decline_saved_card(&method, code);
        let (status, declined) = app.post("/v1/desk-payments", &desk, saved(&consented, 2000)).await;
        assert_eq!((status, declined["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(expected)));
        assert_eq!(declined["error"]["details"]["decline_code"], code, "{declined}");
    }
}

#[tokio::test]
async fn a_saved_card_charge_retried_with_its_idempotency_key_answers_the_first_charge_and_never_charges_again() {
    use crate::payments_by_link::consented_paid_booking;
    let (app, _clock) = fixed_app().await;
    let s = clinic(&app, "desk-retry", deposit_policy()).await;
    let consented = consented_paid_booking(&app, &s, tuesday(10, 0)).await;
    let body = json!({"method": "saved_card", "appointment_id": consented["id"], "location_id": s.location_id,
                      "amount_minor": TOTAL});
    let (desk, _) = app.member_token(&s.clinic, "front_desk").await;
    let key = [("Idempotency-Key", "desk-charge-1")];
    let intents = app.gateway().intents().len();

    let (status, headers, first) =
        app.send_with_headers("POST", "/v1/desk-payments", Some(&desk), &key, Some(body.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert!(headers.get("idempotent-replayed").is_none());
    // The till lost the answer and asks again, twice: the first charge, nothing charged again.
    for _ in 0..2 {
        let (status, headers, again) =
            app.send_with_headers("POST", "/v1/desk-payments", Some(&desk), &key, Some(body.clone())).await;
        assert_eq!(
            (status, headers.get("idempotent-replayed").map(|v| v.to_str().unwrap())),
            (StatusCode::CREATED, Some("true"))
        );
        assert_eq!(again, first, "the first charge's answer");
    }
    assert_eq!(app.gateway().intents().len(), intents + 1, "one intent at the gateway");
    assert_eq!(app.published("desk_payment.succeeded"), 1);

    // The same key for another amount is refused and charges nothing.
    let mut other = body.clone();
    other["amount_minor"] = json!(TOTAL - 100);
    let (status, _, refused) = app.send_with_headers("POST", "/v1/desk-payments", Some(&desk), &key, Some(other)).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("idempotency_key_reused"))
    );
    assert_eq!(app.gateway().intents().len(), intents + 1);
}
