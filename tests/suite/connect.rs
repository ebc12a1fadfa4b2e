//! Stripe Connect, black-box over HTTP on the local host with the simulated gateway: a clinic's
//! owner connects its own Stripe account (onboarding link → the local onboarding form →
//! `account.updated` on the Connect webhook), its online payments then go to that account less the
//! platform's fee, refunds follow the charge, disputes are recorded; Connect events are tied to a
//! clinic by their account alone; a clinic without a connection cannot take online payments where
//! the gateway requires one (409 `payments_not_connected`).

use std::sync::Arc;

use mas_domain::connect::{AccountStatus, FeeRate, Requirements};
use mas_domain::payment::{ConnectedAccountId, IntentId};
use mas_domain::webhook::WebhookSecret;
use mas_embedded::simulated::Ledger;
use mas_ports::FixedClock;
use mas_ports::payments::Payments;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::booking::{Setup, now, setup, tuesday};
use crate::payments::{
    appointment, audit_actions, book, clinic, deposit_intent, deposit_policy, intent_request, paid_booking,
    payments_of, post_webhook, timeline_kinds,
};
use crate::support::app::*;

/// A test app whose platform takes 2.5% of each online payment.
async fn app_with_fee() -> TestApp {
    spawn_app_configured(Arc::new(FixedClock::new(now())), |app| {
        app.application_fee = FeeRate::parse("250").unwrap();
    })
    .await
}

/// `POST /v1/payments/connect` as `token`.
async fn start(app: &TestApp, token: &str) -> (StatusCode, Value) {
    app.call("POST", "/v1/payments/connect", Some(token), None).await
}

async fn status_of(app: &TestApp, token: &str) -> Value {
    let (status, body) = app.get("/v1/payments/connect", token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// Where `clinic`'s connection stands, as its owner sees it.
pub(crate) async fn status(app: &TestApp, clinic: &Clinic) -> Value {
    status_of(app, &clinic.token).await
}

/// The owner leaves the simulated onboarding form at `url` (`complete`, `pending` or `leave`).
async fn finish(app: &TestApp, url: &Value, outcome: &str) -> (StatusCode, Value) {
    let path = url.as_str().unwrap().strip_prefix(&app.base).expect("the form is served by this host");
    app.call("POST", path, None, Some(json!({ "outcome": outcome }))).await
}

/// Connects `clinic`'s account all the way (a fresh link, the form completed); its id.
pub(crate) async fn connect(app: &TestApp, clinic: &Clinic) -> String {
    let (status, onboarding) = start(app, &clinic.token).await;
    assert_eq!(status, StatusCode::OK, "{onboarding}");
    let (status, done) = finish(app, &onboarding["url"], "complete").await;
    assert_eq!((status, done["webhook"]["status"].as_u64()), (StatusCode::OK, Some(200)), "{done}");
    onboarding["status"]["account_id"].as_str().unwrap().to_owned()
}

fn account(id: &str) -> ConnectedAccountId {
    ConnectedAccountId::parse(id).unwrap()
}

/// A Connect event (`account` at the top, as Stripe's Connect endpoints receive them).
pub(crate) fn connect_event(event_id: &str, event_type: &str, account: &str, object: Value) -> Value {
    json!({"id": event_id, "object": "event", "account": account, "type": event_type,
           "created": now().timestamp(), "livemode": false, "data": {"object": object}})
}

pub(crate) async fn post_connect_webhook(app: &TestApp, secret: &WebhookSecret, event: &Value) -> (StatusCode, Value) {
    let body = serde_json::to_vec(event).unwrap();
    let signature = secret.sign(now().timestamp(), &body);
    let headers = [("content-type", "application/json"), ("stripe-signature", signature.as_str())];
    app.post_raw("/webhooks/stripe/connect", &headers, body).await
}

async fn event_record(app: &TestApp, event_id: &str) -> Option<mas_ports::Item> {
    app.app.store.table.get(&mas_store::keys::stripe_event(event_id)).await.unwrap()
}

#[tokio::test]
async fn a_clinic_connects_its_stripe_account_and_its_deposits_then_go_to_it_less_the_platforms_fee() {
    let app = app_with_fee().await;
    app.gateway().require_connected_accounts(true);
    let s = clinic(&app, "connect-flow", deposit_policy()).await;
    let token = &s.clinic.token;
    let booked = book(&app, &s, tuesday(10, 0), 0).await;
    let (status, refused) =
        app.call("POST", "/v1/payments/deposit-intent", None, Some(intent_request(&s, &booked))).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("payments_not_connected")),
        "no connected account, no online payment: {refused}"
    );
    assert!(app.gateway().intents().is_empty(), "nothing was asked of the gateway");
    let before = status_of(&app, token).await;
    assert_eq!(before["state"], "not_connected", "{before}");
    assert_eq!((&before["required"], &before["application_fee_bps"]), (&json!(true), &json!(250)));
    assert!(before["account_id"].is_null());

    let (status, onboarding) = start(&app, token).await;
    assert_eq!(status, StatusCode::OK, "{onboarding}");
    assert_eq!(onboarding["status"]["state"], "onboarding");
    let account_id = onboarding["status"]["account_id"].as_str().unwrap().to_owned();
    assert!(onboarding["url"].as_str().unwrap().starts_with(&format!("{}/local/connect/acct_", app.base)));
    assert!(!onboarding["status"]["requirements"]["currently_due"].as_array().unwrap().is_empty());
    let (_, again) = start(&app, token).await;
    assert_eq!(again["status"]["account_id"], account_id.as_str(), "one account per clinic, a fresh link each time");
    assert_eq!(app.gateway().accounts().len(), 1);

    // The owner leaves the form half-way: nothing changes; the link is used up.
    let (status, left) = finish(&app, &again["url"], "leave").await;
    assert_eq!((status, left["webhook"]["status"].as_u64()), (StatusCode::OK, Some(200)), "{left}");
    assert_eq!(status_of(&app, token).await["state"], "onboarding");
    let (status, used) = finish(&app, &again["url"], "complete").await;
    assert_eq!((status, used["error"]["code"].as_str()), (StatusCode::GONE, Some("link_expired")), "{used}");

    let (_, fresh) = start(&app, token).await;
    let (status, done) = finish(&app, &fresh["url"], "complete").await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert!(done["return_url"].as_str().unwrap().ends_with("/app/#/settings/payments?connect=return"), "{done}");
    let connected = status_of(&app, token).await;
    assert_eq!(connected["state"], "active", "{connected}");
    assert_eq!((&connected["charges_enabled"], &connected["payouts_enabled"]), (&json!(true), &json!(true)));
    assert_eq!(connected["active_since"], json!(crate::booking::iso(now())));

    let intent = deposit_intent(&app, &s, &booked).await;
    let id = IntentId::parse(intent["intent_id"].as_str().unwrap()).unwrap();
    let at_gateway = app.gateway().retrieve_intent(&id).await.unwrap();
    let destination = at_gateway.snapshot.destination.expect("a destination charge");
    assert_eq!((destination.account_id.as_str(), destination.application_fee.get()), (account_id.as_str(), 100));
    crate::payments::pay(&app, &intent, "succeed").await;
    let payment = payments_of(&app, &s, &booked["id"]).await.remove(0);
    assert_eq!(payment["status"], "succeeded", "{payment}");
    assert_eq!(payment["destination"], json!({"account_id": account_id, "application_fee": 100}), "{payment}");
    assert_eq!(appointment(&app, &s, &booked["id"]).await["status"], "scheduled");

    // A refund takes the money back from the clinic's account, and the fee in proportion.
    let path = format!("/v1/payments/{}/refund", payment["id"].as_str().unwrap());
    let (status, refunded) = app.post(&path, token, json!({"amount": 1000, "reason": "goodwill"})).await;
    assert_eq!(status, StatusCode::OK, "{refunded}");
    assert_eq!(
        app.gateway().ledger(&account(&account_id)),
        Ledger { charged: 4000, application_fees: 100, reversed: 1000, fees_refunded: 25 }
    );
    assert_eq!(app.gateway().ledger(&account(&account_id)).net(), 2925);

    assert_eq!(app.published("payments.account_updated"), 2, "made, then active: each change once");
    let actions = audit_actions(&app, &s).await;
    for action in ["payments.connect_started", "payments.account_updated", "payment.refunded"] {
        assert!(actions.iter().any(|a| a == action), "{action} not audited: {actions:?}");
    }
}

#[tokio::test]
async fn only_the_owner_connects_the_clinics_stripe_account_or_sees_where_it_stands() {
    let app = app_with_fee().await;
    let s = setup(&app, "connect-roles").await;
    for role in ["manager", "finance", "front_desk", "practitioner", "support"] {
        let (token, _) = app.member_token(&s.clinic, role).await;
        let (status, body) = start(&app, &token).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role}: {body}");
        let (status, body) = app.get("/v1/payments/connect", &token).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role}: {body}");
    }
    assert!(app.gateway().accounts().is_empty(), "nobody but the owner made an account");
    let (status, _) = app.call("GET", "/v1/payments/connect", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = start(&app, &s.clinic.token).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn connect_events_are_tied_to_a_clinic_by_their_account_alone_and_any_other_is_acknowledged_and_ignored() {
    let app = app_with_fee().await;
    let a = clinic(&app, "tie-a", deposit_policy()).await;
    let b = clinic(&app, "tie-b", deposit_policy()).await;
    // B takes a deposit before anyone requires a connection (charged to the platform).
    let (b_booking, b_payment) = paid_booking(&app, &b, tuesday(10, 0), 0).await;
    let a_account = connect(&app, &a.clinic).await;
    app.gateway().require_connected_accounts(true);
    let secret = app.gateway().connect_secret().clone();
    let updates = app.published("payments.account_updated");

    // An account we never made, whose metadata claims to be A's: acknowledged, nothing written.
    let stranger = json!({"id": "acct_1NotOurs", "object": "account", "charges_enabled": false,
        "payouts_enabled": false, "details_submitted": true, "metadata": {"tenant_id": a.clinic.tenant_id}});
    let unknown = connect_event("evt_connectUnknown1", "account.updated", "acct_1NotOurs", stranger);
    let (status, answer) = post_connect_webhook(&app, &secret, &unknown).await;
    assert_eq!((status, answer["outcome"].as_str()), (StatusCode::OK, Some("ignored")), "{answer}");
    assert!(event_record(&app, "evt_connectUnknown1").await.is_none(), "nothing is written for a stranger");
    // A dispute from A's account about B's payment: never applied across clinics.
    let b_intent = b_payment["intent_id"].as_str().unwrap();
    let dispute =
        json!({"id": "dp_cross", "object": "dispute", "payment_intent": b_intent, "amount": 4000, "status": "lost"});
    let cross = connect_event("evt_connectCross1", "charge.dispute.created", &a_account, dispute);
    let (status, answer) = post_connect_webhook(&app, &secret, &cross).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let b_after = payments_of(&app, &b, &b_booking["id"]).await.remove(0);
    assert_eq!((b_after["status"].as_str(), &b_after["dispute"]), (Some("succeeded"), &Value::Null), "{b_after}");
    // Signed with the platform endpoint's secret, or with none of ours: refused.
    let platform = app.app.webhook_secret.clone();
    let (status, _) = post_connect_webhook(&app, &platform, &unknown).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "each endpoint has its own secret");
    let (status, _) =
        post_connect_webhook(&app, &WebhookSecret::new("whsec_an_attackers_guess_000").unwrap(), &cross).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // A Connect event on the platform's endpoint is not the platform's: ignored.
    let body = serde_json::to_vec(&cross).unwrap();
    let signature = platform.sign(now().timestamp(), &body);
    let (status, answer) = post_webhook(&app, body, Some(&signature)).await;
    assert_eq!((status, answer["outcome"].as_str()), (StatusCode::OK, Some("ignored")), "{answer}");

    // Stripe restricts A's account (a document past due); an old event still says all is well:
    // the account as Stripe reports it now is what counts.
    let past_due = AccountStatus {
        charges_enabled: false,
        payouts_enabled: false,
        details_submitted: true,
        requirements: Requirements {
            past_due: vec!["individual.verification.document".into()],
            disabled_reason: Some("requirements.past_due".into()),
            ..Default::default()
        },
    };
    app.gateway().set_account_status(&account(&a_account), past_due).unwrap();
    let stale = json!({"id": a_account, "object": "account", "charges_enabled": true, "payouts_enabled": true,
        "details_submitted": true, "metadata": {"tenant_id": b.clinic.tenant_id}});
    let event = connect_event("evt_connectStale1", "account.updated", &a_account, stale);
    let (status, answer) = post_connect_webhook(&app, &secret, &event).await;
    assert_eq!((status, answer["outcome"].as_str()), (StatusCode::OK, Some("applied")), "{answer}");
    let (status, answer) = post_connect_webhook(&app, &secret, &event).await;
    assert_eq!((status, answer["outcome"].as_str()), (StatusCode::OK, Some("duplicate")), "{answer}");
    let restricted = status_of(&app, &a.clinic.token).await;
    assert_eq!(restricted["state"], "restricted", "{restricted}");
    assert_eq!(restricted["requirements"]["disabled_reason"], "requirements.past_due");
    assert_eq!(status_of(&app, &b.clinic.token).await["state"], "not_connected", "B's own stays B's");
    assert_eq!(app.published("payments.account_updated"), updates + 1);
    let booked = book(&app, &a, tuesday(11, 0), 1).await;
    let (status, refused) =
        app.call("POST", "/v1/payments/deposit-intent", None, Some(intent_request(&a, &booked))).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("payments_not_connected")));
}

#[tokio::test]
async fn a_dispute_of_a_clinics_charge_is_recorded_on_its_payment_and_timeline_and_announced_until_it_closes() {
    let app = app_with_fee().await;
    let s = clinic(&app, "dispute-flow", deposit_policy()).await;
    let account_id = connect(&app, &s.clinic).await;
    let (booked, payment) = paid_booking(&app, &s, tuesday(10, 0), 0).await;
    let intent = payment["intent_id"].as_str().unwrap();
    let dispute = |status: &'static str| {
        let app = &app;
        async move {
            let path = format!("/local/pay/{intent}/dispute");
            let (code, answer) = app.call("POST", &path, None, Some(json!({ "status": status }))).await;
            assert_eq!((code, answer["webhook"]["status"].as_u64()), (StatusCode::OK, Some(200)), "{answer}");
            answer
        }
    };
    dispute("needs_response").await;
    let disputed = payments_of(&app, &s, &booked["id"]).await.remove(0);
    assert_eq!(disputed["status"], "disputed", "{disputed}");
    assert_eq!(
        (disputed["dispute"]["status"].as_str(), disputed["dispute"]["amount"].as_i64()),
        (Some("needs_response"), Some(4000))
    );
    assert_eq!(disputed["destination"]["account_id"], account_id.as_str());
    // Stripe delivers it again: nothing happens twice.
    let again = app.gateway().deliveries().last().cloned().unwrap();
    let (status, answer) = post_webhook(&app, again.body, Some(&again.signature)).await;
    assert_eq!((status, answer["outcome"].as_str()), (StatusCode::OK, Some("duplicate")));
    dispute("won").await;
    let won = payments_of(&app, &s, &booked["id"]).await.remove(0);
    assert_eq!((won["status"].as_str(), won["dispute"]["status"].as_str()), (Some("succeeded"), Some("won")));
    let kinds = timeline_kinds(&app, &s, &booked["client_id"]).await;
    for kind in ["payment.disputed", "payment.dispute_closed"] {
        assert_eq!(kinds.iter().filter(|k| *k == kind).count(), 1, "{kind} in {kinds:?}");
    }
    assert_eq!((app.published("payment.disputed"), app.published("payment.dispute_closed")), (1, 1));

    // A dispute from the clinic's own account (a Connect event) is applied to its own payment.
    let (second, paid) = paid_booking(&app, &s, tuesday(11, 0), 1).await;
    let lost = json!({"id": "dp_connectLost", "object": "dispute", "payment_intent": paid["intent_id"],
        "amount": 4000, "status": "lost"});
    let event = connect_event("evt_connectLost1", "charge.dispute.closed", &account_id, lost);
    let (status, answer) = post_connect_webhook(&app, app.gateway().connect_secret(), &event).await;
    assert_eq!((status, answer["outcome"].as_str()), (StatusCode::OK, Some("applied")), "{answer}");
    let lost = payments_of(&app, &s, &second["id"]).await.remove(0);
    assert_eq!((lost["status"].as_str(), lost["dispute"]["status"].as_str()), (Some("disputed"), Some("lost")));
    assert_eq!((app.published("payment.disputed"), app.published("payment.dispute_closed")), (2, 2));
}

#[tokio::test]
async fn where_a_connection_is_required_a_clinic_without_one_takes_no_online_payment_of_any_kind() {
    let app = app_with_fee().await;
    app.gateway().require_connected_accounts(true);
    let s: Setup = setup(&app, "no-connect").await;
    let token = &s.clinic.token;
    let body = crate::booking::booking(&s, &s.service_id, tuesday(10, 0), Some(&s.practitioners[0]));
    let (status, booked) = app.post("/v1/appointments", token, body).await;
    assert_eq!((status, booked["status"].as_str()), (StatusCode::CREATED, Some("scheduled")), "{booked}");
    for method in ["in_person", "email_link", "immediate"] {
        let finalize = json!({"appointment_id": booked["id"], "collection_method": method});
        let (status, refused) = app.post("/v1/payments/finalize", token, finalize).await;
        assert_eq!(
            (status, refused["error"]["code"].as_str()),
            (StatusCode::CONFLICT, Some("payments_not_connected")),
            "{method}: {refused}"
        );
    }
    assert!(app.gateway().intents().is_empty());
    assert!(payments_of(&app, &s, &booked["id"]).await.is_empty(), "nothing was asked for");
    // A restricted account (submitted, still being verified) takes nothing either.
    let (_, onboarding) = start(&app, token).await;
    finish(&app, &onboarding["url"], "pending").await;
    assert_eq!(status_of(&app, token).await["state"], "restricted");
    let finalize = json!({"appointment_id": booked["id"], "collection_method": "in_person"});
    let (status, _) = app.post("/v1/payments/finalize", token, finalize.clone()).await;
    assert_eq!(status, StatusCode::CONFLICT);
    // Stripe finishes verifying without the webhook reaching us: the owner's next ask heals it.
    let enabled =
        AccountStatus { charges_enabled: true, payouts_enabled: true, details_submitted: true, ..Default::default() };
    let id = account(onboarding["status"]["account_id"].as_str().unwrap());
    app.gateway().set_account_status(&id, enabled).unwrap();
    assert_eq!(status_of(&app, token).await["state"], "restricted", "reading changes nothing");
    let (status, asked) = start(&app, token).await;
    assert_eq!((status, asked["status"]["state"].as_str()), (StatusCode::OK, Some("active")), "{asked}");
    assert_eq!(status_of(&app, token).await["state"], "active");
    let (status, done) = app.post("/v1/payments/finalize", token, finalize).await;
    assert_eq!(status, StatusCode::CREATED, "{done}");
    assert_eq!(done["payment"]["destination"]["account_id"], id.as_str());
    assert_eq!(done["payment"]["destination"]["application_fee"], 500, "2.5% of 200.00");
}

#[tokio::test]
async fn the_simulated_gateway_charges_the_platform_for_a_clinic_that_has_not_connected_so_the_demo_works() {
    let app = app_with_fee().await;
    let s = clinic(&app, "no-connect-demo", deposit_policy()).await;
    let status = status_of(&app, &s.clinic.token).await;
    assert_eq!((status["state"].as_str(), &status["required"]), (Some("not_connected"), &json!(false)));
    let (_, payment) = paid_booking(&app, &s, tuesday(10, 0), 0).await;
    assert!(payment.get("destination").is_none(), "charged to the platform: {payment}");
    assert!(app.gateway().intents().iter().all(|i| i.snapshot.destination.is_none()));
}

#[tokio::test]
async fn a_fee_above_the_deposit_of_a_clinic_whose_account_stripe_restricted_is_owed_and_its_link_says_why_it_was_not_sent()
 {
    use crate::payments_by_link::{balance, consented_paid_booking, eventually, link_status, no_show};
    let clock = Arc::new(FixedClock::new(now()));
    let app = spawn_app_configured(clock.clone(), |app| app.application_fee = FeeRate::parse("250").unwrap()).await;
    app.gateway().require_connected_accounts(true);
    let s = clinic(&app, "fee-restricted", deposit_policy()).await;
    let account_id = account(&connect(&app, &s.clinic).await);
    let booked = consented_paid_booking(&app, &s, tuesday(10, 0)).await;
    // Stripe restricts the account (a document past due) and says so.
    let restricted = AccountStatus { details_submitted: true, ..Default::default() };
    app.gateway().set_account_status(&account_id, restricted).unwrap();
    let url = format!("{}/webhooks/stripe/connect", app.base);
    assert_eq!(app.gateway().deliver_account_updated(&url, &account_id).await.unwrap().status, 200);
    assert_eq!(status_of(&app, &s.clinic.token).await["state"], "restricted");

    clock.set(tuesday(10, 30));
    no_show(&app, &s, &booked).await;
    eventually(&app, &s, "the link not sent", || async {
        link_status(&app, &s, 0).await.as_deref() == Some("not_sent")
    })
    .await;
    let owed = balance(&app, &s).await;
    assert_eq!(
        (owed["owed"]["amount_minor"].as_i64(), owed["fees"][0]["status"].as_str()),
        (Some(16000), Some("unpaid"))
    );
    assert!(owed["fees"][0]["reason"].as_str().unwrap().starts_with("not_connected"), "{owed}");
    assert!(owed["links"][0]["not_sent_reason"].as_str().unwrap().contains("Stripe account"), "{owed}");
    assert_eq!(app.gateway().intents().len(), 1, "only the deposit: the card on file was not charged");
}

#[tokio::test]
async fn a_balance_paid_by_link_at_a_connected_clinic_goes_to_its_account_less_the_platforms_fee() {
    use crate::payments_by_link::{eventually, link_status, links_sent};
    let app = app_with_fee().await;
    app.gateway().require_connected_accounts(true);
    let s = clinic(&app, "link-connected", deposit_policy()).await;
    let account_id = connect(&app, &s.clinic).await;
    let (booked, deposit) = paid_booking(&app, &s, tuesday(10, 0), 0).await;
    assert_eq!(deposit["destination"]["application_fee"], 100, "2.5% of the 40.00 deposit");
    let ask = json!({"appointment_id": booked["id"], "collection_method": "email_link"});
    let (status, asked) = app.post("/v1/payments/finalize", &s.clinic.token, ask).await;
    assert_eq!(status, StatusCode::CREATED, "{asked}");
    eventually(&app, &s, "the link sent", || async { link_status(&app, &s, 0).await.as_deref() == Some("sent") }).await;
    let (_, page) = links_sent(&app).remove(0);
    let (status, paid) = app.call("POST", &page, None, Some(json!({"outcome": "succeed"}))).await;
    assert_eq!(status, StatusCode::OK, "{paid}");
    eventually(&app, &s, "the link paid", || async { link_status(&app, &s, 0).await.as_deref() == Some("paid") }).await;
    let balance = payments_of(&app, &s, &booked["id"]).await.into_iter().find(|p| p["kind"] == "balance").unwrap();
    assert_eq!(balance["destination"], json!({"account_id": account_id, "application_fee": 400}), "{balance}");
    assert_eq!(app.gateway().ledger(&account(&account_id)).charged, 4000 + 16000);
}
