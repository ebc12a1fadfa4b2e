//! Payment links and fees above the deposit, black-box over HTTP on the local host with the
//! simulated gateway: a balance asked for by link is made, sent, paid on the hosted page and
//! settled through the signed webhooks once; a no-show fee above the deposit is charged
//! off-session to the card the client agreed at booking to keep for fees, or — without consent,
//! or when the card is declined — becomes an unpaid balance on the client with a link sent; a
//! retried charge never charges twice.

use std::sync::Arc;

use chrono::Duration;
use mas_ports::{FixedClock, QueueName};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::booking::{Setup, booking, now, tuesday};
use crate::payments::{
    appointment, audit_actions, clinic, deposit_intent, deposit_policy, intent_request, paid_booking, pay, payments_of,
    post_webhook, timeline_kinds,
};
use crate::support::app::*;

async fn fixed_app() -> (TestApp, Arc<FixedClock>) {
    crate::booking::fixed_app().await
}

/// Waits (up to 20 s) until the background work (the notify worker: fees, links, messages) has
/// brought `check` about, then lets the rest settle; a busy machine may take a while.
pub(crate) async fn eventually<F, Fut>(app: &TestApp, s: &Setup, what: &str, check: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..200 {
        if check().await {
            app.settle(&[&s.clinic.tenant_id]).await;
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{what} did not happen within 20 s");
}

/// The status of the client's `n`th payment link (oldest first), when there is one.
pub(crate) async fn link_status(app: &TestApp, s: &Setup, n: usize) -> Option<String> {
    balance(app, s).await["links"][n]["status"].as_str().map(str::to_owned)
}

/// The status of the client's first fee above a deposit.
pub(crate) async fn fee_status(app: &TestApp, s: &Setup) -> Option<String> {
    balance(app, s).await["fees"][0]["status"].as_str().map(str::to_owned)
}

fn finalize(appointment: &Value, method: &str) -> Value {
    json!({"appointment_id": appointment["id"], "collection_method": method})
}

pub(crate) async fn balance(app: &TestApp, s: &Setup) -> Value {
    let (status, body) = app.get(&format!("/v1/clients/{}/balance", s.client_id), &s.clinic.token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// The payment links the outbox holds, newest first: (channel, the hosted page's path).
pub(crate) fn links_sent(app: &TestApp) -> Vec<(String, String)> {
    let entries = app.host.outbox.as_ref().unwrap().list().unwrap();
    entries
        .into_iter()
        .filter(|e| {
            e.subject.as_deref().is_some_and(|s| s.starts_with("Payment link")) || e.text.contains("Pay online")
        })
        .filter_map(|e| {
            let at = e.text.find("/local/checkout/")?;
            let path: String =
                e.text[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || "/_".contains(*c)).collect();
            Some((e.channel.clone(), path))
        })
        .collect()
}

/// A booking with the client's consent to keep their card for fees, its deposit paid (which
/// keeps the card: the consent says so, the wizard's `save_payment_method` is not sent).
pub(crate) async fn consented_paid_booking(app: &TestApp, s: &Setup, start: chrono::DateTime<chrono::Utc>) -> Value {
    let mut body = booking(s, &s.service_id, start, Some(&s.practitioners[0]));
    body["card_on_file_consent"] = json!(true);
    let (status, booked) = app.post("/v1/appointments", &s.clinic.token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{booked}");
    let intent = deposit_intent(app, s, &booked).await;
    pay(app, &intent, "succeed").await;
    let deposit = payments_of(app, s, &booked["id"]).await.remove(0);
    assert!(deposit["payment_method_id"].as_str().is_some_and(|m| m.starts_with("pm_")), "card kept: {deposit}");
    appointment(app, s, &booked["id"]).await
}

pub(crate) async fn no_show(app: &TestApp, s: &Setup, booked: &Value) {
    let path = format!("/v1/appointments/{}", booked["id"].as_str().unwrap());
    let (status, body) = app.patch(&path, &s.clinic.token, json!({"action": "no_show"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

fn of_kind(payments: &[Value], kind: &str) -> Vec<Value> {
    payments.iter().filter(|p| p["kind"] == kind).cloned().collect()
}

#[tokio::test]
async fn a_balance_link_is_created_sent_paid_and_settles_the_appointment_once_with_its_webhooks_replayed_twice() {
    let (app, _) = fixed_app().await;
    let s = clinic(&app, "link-pay", deposit_policy()).await;
    let (finance, _) = app.member_token(&s.clinic, "finance").await;
    let (booked, _) = paid_booking(&app, &s, tuesday(10, 0), 0).await;

    let (status, asked) = app.post("/v1/payments/finalize", &finance, finalize(&booked, "email_link")).await;
    assert_eq!(status, StatusCode::CREATED, "{asked}");
    assert_eq!((asked["payment"].is_null(), asked["link"]["status"].as_str()), (true, Some("requested")), "{asked}");
    assert_eq!(asked["link"]["amount"]["amount_minor"], 16000);
    assert!(asked["link"].get("url").is_none(), "the link's address is the client's: {asked}");
    eventually(&app, &s, "the link sent", || async { link_status(&app, &s, 0).await.as_deref() == Some("sent") }).await;

    // Made and sent by email (the client has no phone: no text), and only then said to be sent.
    let sent = links_sent(&app);
    assert_eq!(sent.len(), 1, "{sent:?}");
    let (channel, page) = sent[0].clone();
    assert_eq!(channel, "email");
    let kinds = timeline_kinds(&app, &s, &booked["client_id"]).await;
    let requested = kinds.iter().position(|k| k == "payment.link_requested").expect("requested on the timeline");
    let sent_at = kinds.iter().position(|k| k == "payment.link_sent").expect("sent on the timeline");
    assert!(requested < sent_at, "{kinds:?}");
    let links = balance(&app, &s).await["links"].clone();
    assert_eq!((links[0]["status"].as_str(), links[0]["url"].as_str()), (Some("sent"), None), "{links}");
    assert!(links[0]["session_id"].as_str().unwrap().starts_with("cs_"));
    // Asked again while open: the same link, nothing sent again.
    let (_, again) = app.post("/v1/payments/finalize", &finance, finalize(&booked, "email_link")).await;
    assert_eq!(again["link"]["id"], asked["link"]["id"]);
    let (status, body) = app.post("/v1/payments/finalize", &finance, finalize(&booked, "in_person")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("payment_link_open")));

    // The client opens it and pays; the gateway posts both webhooks, signed.
    let (status, shown) = app.call("GET", &page, None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(shown.as_str().unwrap().contains("£160.00"), "{shown}");
    let (status, paid) = app.call("POST", &page, None, Some(json!({"outcome": "succeed"}))).await;
    assert_eq!(status, StatusCode::OK, "{paid}");
    for webhook in paid["webhooks"].as_array().unwrap() {
        assert_eq!(webhook["status"], 200, "{paid}");
    }
    eventually(&app, &s, "the link paid", || async { link_status(&app, &s, 0).await.as_deref() == Some("paid") }).await;
    let balances = of_kind(&payments_of(&app, &s, &booked["id"]).await, "balance");
    assert_eq!(balances.len(), 1, "{balances:?}");
    let payment = balances[0].clone();
    assert_eq!(
        (payment["status"].as_str(), payment["captured"].as_i64(), payment["link_id"].as_str()),
        (Some("succeeded"), Some(16000), asked["link"]["id"].as_str())
    );
    assert_eq!(payment["intent_id"], paid["intent_id"]);
    assert_eq!(balance(&app, &s).await["links"][0]["status"], "paid");
    let (status, body) = app.post("/v1/payments/finalize", &finance, finalize(&booked, "email_link")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("nothing_due")), "settled");

    // Each webhook replayed twice: answered, and nothing happens again.
    let published = app.events.published().len();
    let audit = audit_actions(&app, &s).await.len();
    let deliveries = app.gateway().deliveries();
    for delivery in &deliveries[deliveries.len() - 2..] {
        for _ in 0..2 {
            let (status, answer) = post_webhook(&app, delivery.body.clone(), Some(&delivery.signature)).await;
            assert_eq!((status, answer["outcome"].as_str()), (StatusCode::OK, Some("duplicate")), "{answer}");
        }
    }
    assert_eq!(payments_of(&app, &s, &booked["id"]).await.len(), 2, "the deposit and one balance");
    assert_eq!((app.events.published().len(), audit_actions(&app, &s).await.len()), (published, audit));
    assert_eq!(app.published("payment.succeeded"), 2, "the deposit and the balance, once each");
    let kinds = timeline_kinds(&app, &s, &booked["client_id"]).await;
    assert_eq!(kinds.iter().filter(|k| *k == "payment.succeeded").count(), 2, "{kinds:?}");

    // The page says it was paid, and takes no second payment.
    let (_, shown) = app.call("GET", &page, None, None).await;
    assert!(shown.as_str().unwrap().contains("already been paid"), "{shown}");
    let (status, body) = app.call("POST", &page, None, Some(json!({"outcome": "succeed"}))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("link_already_paid")));
}

#[tokio::test]
async fn an_expired_link_says_so_is_marked_expired_unpaid_and_a_new_one_can_be_asked_for() {
    let (app, clock) = fixed_app().await;
    let s = clinic(&app, "link-expiry", deposit_policy()).await;
    let (booked, _) = paid_booking(&app, &s, tuesday(10, 0), 0).await;
    let (status, asked) = app.post("/v1/payments/finalize", &s.clinic.token, finalize(&booked, "email_link")).await;
    assert_eq!(status, StatusCode::CREATED, "{asked}");
    eventually(&app, &s, "the link sent", || async { link_status(&app, &s, 0).await.as_deref() == Some("sent") }).await;
    let (_, page) = links_sent(&app)[0].clone();

    clock.advance(Duration::hours(25));
    let (status, shown) = app.call("GET", &page, None, None).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(shown.as_str().unwrap().contains("expired"), "{shown}");
    let (status, body) = app.call("POST", &page, None, Some(json!({"outcome": "succeed"}))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::GONE, Some("link_expired")), "{body}");
    eventually(&app, &s, "the link expired", || async { link_status(&app, &s, 0).await.as_deref() == Some("expired") })
        .await;
    let links = balance(&app, &s).await["links"].clone();
    assert_eq!(links[0]["status"], "expired", "{links}");
    assert!(timeline_kinds(&app, &s, &booked["client_id"]).await.contains(&"payment.link_expired".to_owned()));
    assert!(of_kind(&payments_of(&app, &s, &booked["id"]).await, "balance").is_empty(), "nothing was paid");

    let (status, renewed) = app.post("/v1/payments/finalize", &s.clinic.token, finalize(&booked, "email_link")).await;
    assert_eq!(status, StatusCode::CREATED, "{renewed}");
    assert_ne!(renewed["link"]["id"], asked["link"]["id"], "a new link");
    eventually(&app, &s, "the new link sent", || async { link_status(&app, &s, 1).await.as_deref() == Some("sent") })
        .await;
    assert_eq!(links_sent(&app).len(), 2);
}

#[tokio::test]
async fn a_no_show_above_the_deposit_is_charged_off_session_to_the_card_the_client_agreed_to_keep_for_fees() {
    let (app, clock) = fixed_app().await;
    let s = clinic(&app, "fee-charge", deposit_policy()).await;
    let booked = consented_paid_booking(&app, &s, tuesday(10, 0)).await;
    // The words agreed to are the policy's, as the staff app and the site show them.
    let (_, policies) = app.get("/v1/policies", &s.clinic.token).await;
    let (_, public) = app.call("GET", &format!("/v1/public/{}/policy", s.clinic.slug), None, None).await;
    assert_eq!(booked["card_on_file_consent"]["terms"], policies["card_on_file_terms"]);
    assert_eq!(public["card_on_file_terms"], policies["card_on_file_terms"]);
    assert!(public["card_on_file_terms"].as_str().unwrap().contains("100% of the price if I do not come"));

    clock.set(tuesday(10, 30));
    no_show(&app, &s, &booked).await;
    eventually(&app, &s, "the fee charged", || async { fee_status(&app, &s).await.as_deref() == Some("charged") })
        .await;

    // The deposit (40.00) is kept; the 160.00 above it is charged to the same card, once.
    let payments = payments_of(&app, &s, &booked["id"]).await;
    let fees = of_kind(&payments, "fee");
    assert_eq!(fees.len(), 1, "{payments:?}");
    assert_eq!((fees[0]["status"].as_str(), fees[0]["captured"].as_i64()), (Some("succeeded"), Some(16000)));
    let deposit = of_kind(&payments, "deposit").remove(0);
    assert_eq!((deposit["status"].as_str(), deposit["refunded"].as_i64()), (Some("succeeded"), Some(0)));
    let owed = balance(&app, &s).await;
    assert_eq!(owed["owed"]["amount_minor"], 0, "{owed}");
    assert_eq!(owed["fees"][0]["status"], "charged");
    assert_eq!(owed["links"], json!([]), "no link: nothing is owed");
    let kinds = timeline_kinds(&app, &s, &booked["client_id"]).await;
    assert!(kinds.contains(&"payment.fee_due".into()) && kinds.contains(&"payment.fee_charged".into()), "{kinds:?}");
    assert!(audit_actions(&app, &s).await.contains(&"payment.fee_charged".into()));
    assert!(links_sent(&app).is_empty());
}

#[tokio::test]
async fn a_declined_card_becomes_an_unpaid_balance_on_the_client_with_a_link_sent_that_settles_it() {
    let (app, clock) = fixed_app().await;
    let s = clinic(&app, "fee-declined", deposit_policy()).await;
    let booked = consented_paid_booking(&app, &s, tuesday(10, 0)).await;
    let deposit = payments_of(&app, &s, &booked["id"]).await.remove(0);
    app.gateway().decline_saved_card(deposit["payment_method_id"].as_str().unwrap(), "insufficient_funds");

    clock.set(tuesday(10, 30));
    no_show(&app, &s, &booked).await;
    eventually(&app, &s, "the link sent", || async { link_status(&app, &s, 0).await.as_deref() == Some("sent") }).await;

    assert!(of_kind(&payments_of(&app, &s, &booked["id"]).await, "fee").is_empty(), "nothing was charged");
    let owed = balance(&app, &s).await;
    assert_eq!(owed["owed"]["amount_minor"], 16000, "{owed}");
    assert_eq!(owed["fees"][0]["status"], "unpaid");
    assert!(owed["fees"][0]["reason"].as_str().unwrap().contains("insufficient_funds"), "{owed}");
    assert_eq!(
        (owed["links"][0]["purpose"].as_str(), owed["links"][0]["status"].as_str()),
        (Some("fee"), Some("sent"))
    );
    let kinds = timeline_kinds(&app, &s, &booked["client_id"]).await;
    assert!(kinds.contains(&"payment.fee_unpaid".into()) && kinds.contains(&"payment.link_sent".into()), "{kinds:?}");
    assert!(audit_actions(&app, &s).await.contains(&"payment.fee_unpaid".into()));

    // The client pays by the link: the fee is settled, nothing is owed.
    let (_, page) = links_sent(&app)[0].clone();
    let (status, paid) = app.call("POST", &page, None, Some(json!({"outcome": "succeed"}))).await;
    assert_eq!(status, StatusCode::OK, "{paid}");
    eventually(&app, &s, "the fee paid", || async { fee_status(&app, &s).await.as_deref() == Some("paid") }).await;
    let owed = balance(&app, &s).await;
    assert_eq!((owed["owed"]["amount_minor"].as_i64(), owed["fees"][0]["status"].as_str()), (Some(0), Some("paid")));
    assert_eq!(owed["links"][0]["status"], "paid");
    let fees = of_kind(&payments_of(&app, &s, &booked["id"]).await, "fee");
    assert_eq!((fees.len(), fees[0]["captured"].as_i64()), (1, Some(16000)));
    assert_eq!(owed["fees"][0]["payment_id"], fees[0]["id"]);
}

#[tokio::test]
async fn without_consent_no_card_is_charged_for_a_fee_and_the_client_gets_a_payment_link() {
    let (app, clock) = fixed_app().await;
    let s = clinic(&app, "fee-no-consent", deposit_policy()).await;
    // The card is kept (for the balance), but the client did not agree to fees being charged to it.
    let booked = crate::payments::book(&app, &s, tuesday(10, 0), 0).await;
    assert!(booked.get("card_on_file_consent").is_none(), "{booked}");
    let mut body = intent_request(&s, &booked);
    body["save_payment_method"] = json!(true);
    let (_, intent) = app.call("POST", "/v1/payments/deposit-intent", None, Some(body)).await;
    pay(&app, &intent, "succeed").await;

    clock.set(tuesday(10, 30));
    no_show(&app, &s, &booked).await;
    eventually(&app, &s, "the link sent", || async { link_status(&app, &s, 0).await.as_deref() == Some("sent") }).await;

    let intents = app.gateway().intents();
    assert_eq!(intents.len(), 1, "only the deposit's intent: no charge was tried {intents:?}");
    let owed = balance(&app, &s).await;
    assert_eq!(
        (owed["owed"]["amount_minor"].as_i64(), owed["fees"][0]["status"].as_str()),
        (Some(16000), Some("unpaid"))
    );
    assert!(owed["fees"][0]["reason"].as_str().unwrap().starts_with("no_consent"), "{owed}");
    assert_eq!(owed["links"][0]["status"], "sent");
    assert_eq!(links_sent(&app).len(), 1);
}

#[tokio::test]
async fn a_retried_or_concurrent_fee_charge_charges_the_card_once() {
    // No bus: the test delivers `payment.fee_due` itself, as a queue would: several at once, then again.
    let clock = Arc::new(FixedClock::new(now()));
    let app = spawn_app_without_bus(clock.clone()).await;
    let s = clinic(&app, "fee-once", deposit_policy()).await;
    let booked = consented_paid_booking(&app, &s, tuesday(10, 0)).await;
    clock.set(tuesday(10, 30));
    no_show(&app, &s, &booked).await;
    let due: Vec<_> = app.events.published().into_iter().filter(|e| e.kind == "payment.fee_due").collect();
    assert_eq!(due.len(), 1);
    let body = mas_usecases::notifications::plan::Work::event_body(&due[0]);

    let app = Arc::new(app);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let (app, body) = (app.clone(), body.clone());
        tasks.spawn(async move { mas_usecases::workers::handle(&app.app, QueueName::Notify, &body).await });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap().unwrap();
    }
    for _ in 0..2 {
        mas_usecases::workers::handle(&app.app, QueueName::Notify, &body).await.unwrap();
    }

    let charges: Vec<_> = app
        .gateway()
        .intents()
        .into_iter()
        .filter(|i| i.metadata.get("kind").map(String::as_str) == Some("fee"))
        .collect();
    assert_eq!(charges.len(), 1, "one charge at the gateway: {charges:?}");
    let fees = of_kind(&payments_of(&app, &s, &booked["id"]).await, "fee");
    assert_eq!((fees.len(), fees[0]["captured"].as_i64()), (1, Some(16000)), "{fees:?}");
    assert_eq!(fees[0]["intent_id"].as_str(), Some(charges[0].id.as_str()));
    assert_eq!(app.published("payment.succeeded"), 2, "the deposit and the fee, once each");
    let audit = audit_actions(&app, &s).await;
    assert_eq!(audit.iter().filter(|a| *a == "payment.fee_charged").count(), 1, "{audit:?}");
    assert_eq!(balance(&app, &s).await["fees"][0]["status"], "charged");
}

#[tokio::test]
async fn a_link_asked_for_in_quiet_hours_goes_by_email_at_once_and_by_text_when_they_end() {
    let (app, clock) = fixed_app().await;
    let s = clinic(&app, "link-quiet", deposit_policy()).await;
    let (status, body) = app
        .patch(
            &format!("/v1/clients/{}", s.client_id),
            &s.clinic.token,
            json!({"version": 1, "phone": "+44 7700 900123"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (booked, _) = paid_booking(&app, &s, tuesday(10, 0), 0).await;
    app.settle(&[&s.clinic.tenant_id]).await;

    // 22:00 in London: inside the clinic's quiet hours (21:00–08:00).
    clock.set(now() + Duration::hours(14));
    let (status, _) = app.post("/v1/payments/finalize", &s.clinic.token, finalize(&booked, "email_link")).await;
    assert_eq!(status, StatusCode::CREATED);
    eventually(&app, &s, "the link sent", || async { link_status(&app, &s, 0).await.as_deref() == Some("sent") }).await;
    let channels: Vec<String> = links_sent(&app).into_iter().map(|(channel, _)| channel).collect();
    assert_eq!(channels, ["email"], "the text waits for the morning");
    assert_eq!(balance(&app, &s).await["links"][0]["status"], "sent");

    clock.set(tuesday(8, 1));
    let (status, swept) = app.call("POST", "/local/sweep", None, None).await;
    assert_eq!(status, StatusCode::OK, "{swept}");
    eventually(&app, &s, "the text sent", || async { links_sent(&app).iter().any(|(channel, _)| channel == "sms") })
        .await;
    let sent = links_sent(&app);
    assert_eq!(sent.iter().filter(|(channel, _)| channel == "sms").count(), 1, "{sent:?}");
    assert_eq!(sent[0].1, sent[1].1, "the same page by text and by email");
}

#[tokio::test]
async fn the_portal_lists_what_the_clinic_asked_a_client_to_pay_with_its_page_and_shows_it_to_nobody_else() {
    let (app, _) = fixed_app().await;
    let s = clinic(&app, "link-portal", deposit_policy()).await;
    let (booked, _) = paid_booking(&app, &s, tuesday(10, 0), 0).await;
    let visitor = crate::booking::public_booking(&s, tuesday(11, 0), "eve@visitors.test", crate::booking::answers());
    let (status, other) = app.call("POST", "/v1/public/link-portal/appointments", None, Some(visitor)).await;
    assert_eq!(status, StatusCode::CREATED, "{other}");
    pay(&app, &deposit_intent(&app, &s, &other).await, "succeed").await;
    let session = crate::payments::portal_session(&app, &s, &booked["client_id"]).await;
    let stranger = crate::payments::portal_session(&app, &s, &other["client_id"]).await;
    let (status, none) = app.get("/v1/portal/balances", &session).await;
    assert_eq!((status, &none["balances"]), (StatusCode::OK, &json!([])), "nothing asked yet: {none}");

    // Asked at the desk: nothing for the portal; asked by link: the client's, with its page.
    let (status, _) = app.post("/v1/payments/finalize", &s.clinic.token, finalize(&other, "in_person")).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, asked) = app.post("/v1/payments/finalize", &s.clinic.token, finalize(&booked, "email_link")).await;
    assert_eq!(status, StatusCode::CREATED, "{asked}");
    eventually(&app, &s, "the link sent", || async { link_status(&app, &s, 0).await.as_deref() == Some("sent") }).await;
    let (_, listed) = app.get("/v1/portal/balances", &session).await;
    let balances = listed["balances"].as_array().unwrap();
    assert_eq!(balances.len(), 1, "{listed}");
    let b = &balances[0];
    assert_eq!((&b["link_id"], &b["status"], &b["purpose"]), (&asked["link"]["id"], &json!("sent"), &json!("balance")));
    assert_eq!(b["amount"]["amount_minor"], 16000, "the price less the deposit");
    assert_eq!(b["confirmation_number"], booked["confirmation_number"]);
    let url = b["pay_url"].as_str().expect("the page, once made").to_owned();
    let page = &url[url.find("/local/checkout/").expect("the simulated gateway's page")..];
    assert_eq!(links_sent(&app)[0].1, page, "the same page the email links to");
    let (_, theirs) = app.get("/v1/portal/balances", &stranger).await;
    assert_eq!(theirs["balances"], json!([]), "another client sees nothing of it: {theirs}");
    let (status, _) = app.call("GET", "/v1/portal/balances", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Paid on its page: listed as paid, with no page to pay again.
    let (status, paid) = app.call("POST", page, None, Some(json!({"outcome": "succeed"}))).await;
    assert_eq!(status, StatusCode::OK, "{paid}");
    eventually(&app, &s, "the link paid", || async { link_status(&app, &s, 0).await.as_deref() == Some("paid") }).await;
    let (_, listed) = app.get("/v1/portal/balances", &session).await;
    assert_eq!((&listed["balances"][0]["status"], &listed["balances"][0]["pay_url"]), (&json!("paid"), &Value::Null));
}

/// The client's balances as the portal lists them.
async fn portal_balances(app: &TestApp, session: &str) -> Vec<Value> {
    let (status, listed) = app.get("/v1/portal/balances", session).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    listed["balances"].as_array().unwrap().clone()
}

/// A booking whose balance the desk asked for by link, sent; with the client's portal session.
async fn link_sent(app: &TestApp, s: &Setup, slug_hour: u32) -> (Value, String) {
    let (booked, _) = paid_booking(app, s, tuesday(slug_hour, 0), 0).await;
    let (status, asked) = app.post("/v1/payments/finalize", &s.clinic.token, finalize(&booked, "email_link")).await;
    assert_eq!(status, StatusCode::CREATED, "{asked}");
    eventually(app, s, "the link sent", || async { link_status(app, s, 0).await.as_deref() == Some("sent") }).await;
    let session = crate::payments::portal_session(app, s, &booked["client_id"]).await;
    (booked, session)
}

#[tokio::test]
async fn a_client_pays_a_link_in_the_portal_once_its_page_is_stopped_and_the_link_is_paid_once() {
    let (app, _) = fixed_app().await;
    let s = clinic(&app, "link-here", deposit_policy()).await;
    let (booked, session) = link_sent(&app, &s, 10).await;
    let listed = portal_balances(&app, &session).await;
    assert_eq!(listed[0]["pay_here"], true, "{listed:?}");
    let url = listed[0]["pay_url"].as_str().expect("its page").to_owned();
    let page = url[url.find("/local/checkout/").unwrap()..].to_owned();
    let intent_path = format!("/v1/portal/balances/{}/intent", listed[0]["link_id"].as_str().unwrap());

    // Nobody else starts paying it: no session, or another client's.
    let (status, _) = app.call("POST", &intent_path, None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let visitor = crate::booking::public_booking(&s, tuesday(11, 0), "ivy@visitors.test", crate::booking::answers());
    let (_, other) = app.call("POST", "/v1/public/link-here/appointments", None, Some(visitor)).await;
    let stranger = crate::payments::portal_session(&app, &s, &other["client_id"]).await;
    let (status, _) = app.call("POST", &intent_path, Some(&stranger), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another client's link is not found");

    let (status, intent) = app.call("POST", &intent_path, Some(&session), None).await;
    assert_eq!(status, StatusCode::CREATED, "{intent}");
    assert!(intent["client_secret"].as_str().is_some_and(|s| s.contains("_secret_")), "{intent}");
    assert_eq!(
        (intent["amount"]["amount_minor"].as_i64(), intent["js_url"].as_str()),
        (Some(16000), Some("/local/stripe.js"))
    );
    let (status, again) = app.call("POST", &intent_path, Some(&session), None).await;
    assert_eq!(
        (status, &again["intent_id"]),
        (StatusCode::CREATED, &intent["intent_id"]),
        "asking again: the same intent"
    );

    // Its page is stopped (and its expiry leaves the link payable here).
    let (status, refused) = app.call("POST", &page, None, Some(json!({"outcome": "succeed"}))).await;
    assert_eq!(status, StatusCode::GONE, "the page takes no payment now: {refused}");
    app.settle(&[&s.clinic.tenant_id]).await;
    assert_eq!(link_status(&app, &s, 0).await.as_deref(), Some("sent"), "not expired by its page's expiry");
    let listed = portal_balances(&app, &session).await;
    assert_eq!((&listed[0]["pay_url"], &listed[0]["pay_here"]), (&Value::Null, &json!(true)), "{listed:?}");

    pay(&app, &intent, "succeed").await;
    eventually(&app, &s, "the link paid", || async { link_status(&app, &s, 0).await.as_deref() == Some("paid") }).await;
    let balances = of_kind(&payments_of(&app, &s, &booked["id"]).await, "balance");
    assert_eq!(balances.len(), 1, "one payment for the link: {balances:?}");
    assert_eq!((&balances[0]["intent_id"], &balances[0]["status"]), (&intent["intent_id"], &json!("succeeded")));
    let (status, body) = app.post("/v1/payments/finalize", &s.clinic.token, finalize(&booked, "email_link")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("nothing_due")), "settled");
    let listed = portal_balances(&app, &session).await;
    assert_eq!((&listed[0]["status"], &listed[0]["pay_here"]), (&json!("paid"), &json!(false)));
    let (status, closed) = app.call("POST", &intent_path, Some(&session), None).await;
    assert_eq!((status, closed["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("link_closed")), "{closed}");
}

#[tokio::test]
async fn a_link_paid_on_its_page_while_the_portal_starts_paying_it_is_not_offered_a_second_time() {
    let (app, _) = fixed_app().await;
    let s = clinic(&app, "link-race", deposit_policy()).await;
    let (_, session) = link_sent(&app, &s, 10).await;
    let listed = portal_balances(&app, &session).await;
    let url = listed[0]["pay_url"].as_str().unwrap();
    let session_id = &url[url.find("/local/checkout/").unwrap() + "/local/checkout/".len()..];
    // Paid on the page a moment ago; its webhooks have not arrived yet.
    app.gateway().pay_checkout(session_id, mas_embedded::simulated::Outcome::Succeed).expect("paid");
    let intent_path = format!("/v1/portal/balances/{}/intent", listed[0]["link_id"].as_str().unwrap());
    let (status, refused) = app.call("POST", &intent_path, Some(&session), None).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("link_paid")), "{refused}");
    let (status, again) = app.call("POST", &intent_path, Some(&session), None).await;
    assert_eq!((status, again["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("link_paid")), "{again}");
}
