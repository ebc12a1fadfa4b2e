//! Gift cards, black-box over HTTP: sold at the desk (the code shown once and emailed to the
//! recipient, never stored), spent in part as a sale's tender, refused when voided, expired, of
//! another clinic or short, given back onto the card by a refund or void, looked up and voided by
//! the right roles, counted apart in the day's close — and never double-spent when twenty tills
//! spend one card at once (on SQLite and on DynamoDB).

use std::sync::Arc;

use chrono::Duration;
use mas_domain::gift_card::GiftCardCode;
use mas_ports::FixedClock;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::booking::{Setup, fixed_app, now, setup};
use crate::support::app::*;
use crate::till::ring_up;

fn gift_line(amount: i64, name: &str, email: Option<&str>) -> Value {
    let mut recipient = json!({"name": name});
    if let Some(email) = email {
        recipient["email"] = json!(email);
    }
    json!({"kind": "gift_card", "name": "Gift card", "unit_price_minor": amount, "gift_card": recipient})
}

fn product(amount: i64) -> Value {
    json!({"kind": "product", "name": "Serum", "sku": "SERUM-30", "unit_price_minor": amount})
}

fn sale(s: &Setup, lines: Value, tenders: Value) -> Value {
    json!({"location_id": s.location_id, "client_id": s.client_id, "lines": lines, "tenders": tenders})
}

fn gift_tender(amount: i64, code: &str) -> Value {
    json!({"method": "gift_card", "amount_minor": amount, "code": code})
}

/// Sells a card of `amount` for cash at the desk: the sale and the card's code.
pub async fn sell(app: &TestApp, s: &Setup, amount: i64, email: Option<&str>) -> (Value, String) {
    let body = sale(
        s,
        json!([gift_line(amount, "Ada Lovelace", email)]),
        json!([{"method": "cash", "tendered_minor": amount}]),
    );
    let sold = ring_up(app, &s.clinic.token, body).await;
    let code = sold["issued_gift_cards"][0]["code"].as_str().expect("the code, shown once").to_owned();
    (sold, code)
}

async fn lookup(app: &TestApp, token: &str, code: &str) -> (StatusCode, Value) {
    app.post("/v1/gift-cards/lookup", token, json!({"code": code})).await
}

#[tokio::test]
async fn a_gift_card_sold_at_the_desk_shows_its_code_once_emails_it_and_is_spent_in_part() {
    let (app, _clock) = fixed_app().await;
    let s = setup(&app, "gift-desk").await;
    let (sold, code) = sell(&app, &s, 5_000, Some("ada@gift.test")).await;

    // The answer shows the card and its code; the sale records the card, untaxed, not the code.
    let card = &sold["issued_gift_cards"][0]["gift_card"];
    assert_eq!((card["balance_minor"].as_i64(), card["status"].as_str()), (Some(5_000), Some("active")), "{sold}");
    assert_eq!(card["code_last4"].as_str().unwrap(), &code.replace('-', "")[16..]);
    assert_eq!(card["expires_at"], "2029-03-01T08:00:00Z", "two years in GB: {card}");
    assert_eq!(sold["lines"][0]["gift_card_id"], card["id"]);
    assert_eq!((sold["totals"]["tax_minor"].as_i64(), sold["totals"]["total_minor"].as_i64()), (Some(0), Some(5_000)));
    let (_, stored) = app.get(&format!("/v1/sales/{}", sold["id"].as_str().unwrap()), &s.clinic.token).await;
    assert!(!stored.to_string().contains(&code) && !stored.to_string().contains(&code.replace('-', "")));
    assert!(stored["sale"].get("issued_gift_cards").is_none());

    // Emailed to Ada (made a client from her email), then the sealed copy is gone.
    app.settle(&[&s.clinic.tenant_id]).await;
    let (_, outbox) = app.call("GET", "/local/outbox.json", None, None).await;
    let mail = outbox.as_array().unwrap().iter().find(|m| m["to"] == "ada@gift.test").expect("an email to Ada");
    assert!(mail["text"].as_str().unwrap().contains(&code), "{mail}");
    assert!(mail["subject"].as_str().unwrap().contains("£50.00"), "{mail}");
    let id = mas_domain::ids::GiftCardId::parse(card["id"].as_str().unwrap()).unwrap();
    let sealed = app.app.store.table.get(&mas_store::keys::gift_card_mail_code(&s.clinic.tenant_id, &id)).await;
    assert!(sealed.unwrap().is_none(), "the sealed copy of the code is deleted once emailed");

    // Spent in part: 20.00 of a 30.00 serum, the rest in cash; typed in lower case, no dashes.
    let typed = code.to_lowercase().replace('-', " ");
    let spent = ring_up(
        &app,
        &s.clinic.token,
        sale(
            &s,
            json!([product(3_000)]),
            json!([gift_tender(2_000, &typed), {"method": "cash", "tendered_minor": 1_000}]),
        ),
    )
    .await;
    assert_eq!(
        spent["tenders"][0],
        json!({"method": "gift_card", "amount_minor": 2000, "gift_card_id": card["id"],
        "code_last4": card["code_last4"]})
    );
    let (status, view) = lookup(&app, &s.clinic.token, &code).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["gift_card"]["balance_minor"], 3_000);
    let kinds: Vec<(&str, i64)> = view["movements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["kind"].as_str().unwrap(), m["amount_minor"].as_i64().unwrap()))
        .collect();
    assert_eq!(kinds, vec![("redeemed", -2_000), ("issued", 5_000)]);

    // More than it holds: 409 with the balance, and nothing written.
    let (status, body) = app
        .post(
            "/v1/sales",
            &s.clinic.token,
            sale(
                &s,
                json!([product(5_000)]),
                json!([gift_tender(3_001, &code),
            {"method": "cash", "tendered_minor": 1_999}]),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(
        (body["error"]["code"].as_str(), body["error"]["details"]["balance_minor"].as_i64()),
        (Some("gift_card_insufficient"), Some(3_000))
    );

    // A refund of what the card paid goes back onto it, never out of the drawer.
    let refund = format!("/v1/sales/{}/refund", spent["id"].as_str().unwrap());
    let (status, body) =
        app.post(&refund, &s.clinic.token, json!({"to": "cash", "amount_minor": 1_001, "reason": "x"})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("refund_exceeds_paid"))
    );
    let (status, view) = app.post(&refund, &s.clinic.token, json!({"to": "gift_card", "reason": "reaction"})).await;
    assert_eq!(status, StatusCode::CREATED, "{view}");
    assert_eq!(
        view["corrections"][0]["returns"],
        json!([{"method": "gift_card", "amount_minor": 2000, "gift_card_id": card["id"]}])
    );
    let (_, view) = lookup(&app, &s.clinic.token, &code).await;
    assert_eq!(view["gift_card"]["balance_minor"], 5_000);

    // The day's close: spent by gift card is its own method; the card sold is not takings.
    let (status, day) =
        app.get(&format!("/v1/sales/close?location_id={}&date=2027-03-01", s.location_id), &s.clinic.token).await;
    assert_eq!(status, StatusCode::OK, "{day}");
    let summary = &day["summary"];
    let gift = summary["by_method"].as_array().unwrap().iter().find(|m| m["method"] == "gift_card").unwrap();
    assert_eq!((gift["taken_minor"].as_i64(), gift["returned_minor"].as_i64()), (Some(2_000), Some(2_000)));
    assert_eq!(summary["gift_cards_sold"], json!({"count": 1, "amount_minor": 5000}));
    // Cash 50.00 + 10.00, card 20.00 spent and given back; less the 50.00 card sold.
    assert_eq!(summary["net_takings_minor"], 1_000);

    // Voiding the sale that sold the card voids the card; then nothing can be spent from it.
    let void = format!("/v1/sales/{}/void", sold["id"].as_str().unwrap());
    let (status, view) = app.post(&void, &s.clinic.token, json!({"reason": "changed her mind"})).await;
    assert_eq!(status, StatusCode::CREATED, "{view}");
    let (status, body) = app
        .post("/v1/sales", &s.clinic.token, sale(&s, json!([product(1_000)]), json!([gift_tender(1_000, &code)])))
        .await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("gift_card_voided")), "{body}");
    assert_eq!(app.published("gift_card.issued"), 1);
}

#[tokio::test]
async fn unknown_mistyped_expired_and_other_clinics_codes_are_refused_clearly() {
    let (app, clock) = fixed_app().await;
    let s = setup(&app, "gift-refusals").await;
    let other = setup(&app, "gift-other").await;
    let (_, code) = sell(&app, &s, 2_500, None).await;
    let (_, theirs) = sell(&app, &other, 2_500, None).await;
    let spend = |code: &str| sale(&s, json!([product(1_000)]), json!([gift_tender(1_000, code)]));

    for (code, status, expected) in [
        (GiftCardCode::generate().grouped(), StatusCode::UNPROCESSABLE_ENTITY, "unknown_gift_card"),
        (theirs.clone(), StatusCode::UNPROCESSABLE_ENTITY, "unknown_gift_card"),
    ] {
        let (got, body) = app.post("/v1/sales", &s.clinic.token, spend(&code)).await;
        assert_eq!((got, body["error"]["code"].as_str()), (status, Some(expected)), "{body}");
    }
    // A typo is caught by the code's check symbol before any lookup.
    let mut typo = code.clone().into_bytes();
    typo[0] = if typo[0] == b'A' { b'B' } else { b'A' };
    let (status, body) = app.post("/v1/sales", &s.clinic.token, spend(&String::from_utf8(typo).unwrap())).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("mistyped"), "{body}");
    let (status, _) = lookup(&app, &s.clinic.token, &theirs).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another clinic's card is not found here");

    // Roles: practitioners may not look up; the front desk may, but only owners and managers void.
    let (practitioner, _) = app.member_token(&s.clinic, "practitioner").await;
    let (desk, _) = app.member_token(&s.clinic, "front_desk").await;
    let (status, _) = app.post("/v1/gift-cards/lookup", &practitioner, json!({"nonsense": 1})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "403 before the body is read");
    let (status, view) = lookup(&app, &desk, &code).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    let void = format!("/v1/gift-cards/{}/void", view["gift_card"]["id"].as_str().unwrap());
    let (status, _) = app.post(&void, &desk, json!({"reason": "lost"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, list) = app.get("/v1/gift-cards", &desk).await;
    assert_eq!((status, list.as_array().map(Vec::len)), (StatusCode::OK, Some(1)), "{list}");

    // The public balance check, by whoever holds the code.
    let (status, balance) = app
        .call("POST", "/v1/gift-cards/balance", None, Some(json!({"tenant_slug": s.clinic.slug, "code": code})))
        .await;
    assert_eq!(status, StatusCode::OK, "{balance}");
    assert_eq!((balance["balance_minor"].as_i64(), balance["expired"].as_bool()), (Some(2_500), Some(false)));

    // Two years and a day later the card has expired.
    clock.advance(Duration::days(731));
    let (status, body) = app.post("/v1/sales", &s.clinic.token, spend(&code)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("gift_card_expired")), "{body}");
    clock.advance(Duration::days(-731));

    let (status, card) = app.post(&void, &s.clinic.token, json!({"reason": "reported lost"})).await;
    assert_eq!((status, card["status"].as_str()), (StatusCode::OK, Some("voided")), "{card}");
    let (status, body) = app.post("/v1/sales", &s.clinic.token, spend(&code)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("gift_card_voided")));
    let (status, body) = app.post(&void, &s.clinic.token, json!({"reason": "again"})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("gift_card_voided")));
}

fn purchase_body(slug: &str, amount: i64) -> Value {
    json!({"tenant_slug": slug, "amount_minor": amount,
        "buyer": {"name": "Bea Buyer", "email": "bea@gift.test"},
        "recipient": {"name": "Ada Lovelace", "email": "ada@gift.test"}})
}

/// The code in the email sent to `to` (the grouped code on a line of its own).
async fn emailed_code(app: &TestApp, to: &str) -> Option<String> {
    let (_, outbox) = app.call("GET", "/local/outbox.json", None, None).await;
    let mail = outbox
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["to"] == to && m["subject"].as_str().unwrap().contains("for you"))?;
    mail["text"].as_str().unwrap().lines().find(|l| GiftCardCode::parse(l).is_ok()).map(str::to_owned)
}

#[tokio::test]
async fn a_gift_card_bought_online_is_issued_once_by_the_webhook_and_its_code_emailed_to_the_recipient() {
    let (app, _clock) = fixed_app().await;
    let s = setup(&app, "gift-online").await;
    let slug = s.clinic.slug.clone();
    let buy = |body: Value| {
        let app = &app;
        async move { app.call("POST", "/v1/gift-cards/purchase", None, Some(body)).await }
    };

    // Out of bounds, or for nobody to email: refused before any payment is asked.
    let (status, body) = buy(purchase_body(&slug, 100)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("gift_card_amount")));
    let mut nobody = purchase_body(&slug, 5_000);
    nobody["recipient"] = json!({"name": "Ada"});
    let (status, body) = buy(nobody).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("recipient_email_required"))
    );

    let (status, started) = buy(purchase_body(&slug, 5_000)).await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    assert_eq!(started["amount"], json!({"amount_minor": 5000, "currency": "GBP"}));
    let status_of = || {
        let (app, body) = (&app, json!({"tenant_slug": slug, "order_id": started["order_id"]}));
        async move { app.call("POST", "/v1/gift-cards/purchase-status", None, Some(body)).await.1 }
    };
    assert_eq!(status_of().await["issued"], false);

    // Paid on the simulated gateway: its signed webhook issues the card.
    crate::payments::pay(&app, &started, "succeed").await;
    let answer = status_of().await;
    assert_eq!(answer["issued"], true, "{answer}");

    // The same news again, as a replay and as a new event about the same intent: no second card.
    let delivery = app.gateway().deliveries().pop().unwrap();
    let (status, replay) = crate::payments::post_webhook(&app, delivery.body.clone(), Some(&delivery.signature)).await;
    assert_eq!((status, replay["outcome"].as_str()), (StatusCode::OK, Some("duplicate")), "{replay}");
    let object = json!({"id": started["intent_id"], "object": "payment_intent", "amount": 5000, "currency": "gbp",
        "status": "succeeded"});
    let again = crate::payments::intent_event("evt_giftagain1", "payment_intent.succeeded", object);
    let (bytes, signature) = crate::payments::signed(&app.app.webhook_secret, now().timestamp(), &again);
    let (status, _) = crate::payments::post_webhook(&app, bytes, Some(&signature)).await;
    assert_eq!(status, StatusCode::OK);
    let (_, cards) = app.get("/v1/gift-cards", &s.clinic.token).await;
    assert_eq!(cards.as_array().unwrap().len(), 1, "{cards}");
    assert_eq!(cards[0]["sold_via"]["channel"], "online");
    assert_eq!(app.published("gift_card.issued"), 1);

    // The code reached Ada; Bea got a confirmation without it.
    app.settle(&[&s.clinic.tenant_id]).await;
    let code = emailed_code(&app, "ada@gift.test").await.expect("Ada's email with the code");
    assert_eq!(&code.replace('-', "")[16..], answer["code_last4"].as_str().unwrap());
    let (_, outbox) = app.call("GET", "/local/outbox.json", None, None).await;
    let confirmation =
        outbox.as_array().unwrap().iter().find(|m| m["to"] == "bea@gift.test").expect("Bea's confirmation");
    let text = confirmation["text"].as_str().unwrap();
    assert!(text.contains("Ada Lovelace") && !text.contains(&code), "{text}");

    // The code spends at the till; the purchase's card payment cannot also pay a sale.
    let spent =
        ring_up(&app, &s.clinic.token, sale(&s, json!([product(2_000)]), json!([gift_tender(2_000, &code)]))).await;
    assert_eq!(spent["totals"]["total_minor"], 2_000);
    let card_tender = json!([{"method": "card", "amount_minor": 5000, "intent_id": started["intent_id"]}]);
    let (status, body) = app.post("/v1/sales", &s.clinic.token, sale(&s, json!([product(5_000)]), card_tender)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("intent_already_used"))
    );
}

// ---- Never double-spent, on both adapters ---------------------------------------------------

/// Twenty sales at once, each spending 10.00 of one 50.00 card: exactly five are recorded, the
/// card ends at 0, fifteen are refused with `gift_card_insufficient`, and the invoice numbers
/// run on with no gap.
async fn concurrent_redemptions(app: TestApp) {
    let s = setup(&app, "gift-race").await;
    let (_, code) = sell(&app, &s, 5_000, None).await;
    let app = Arc::new(app);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (app, token) = (app.clone(), s.clinic.token.clone());
        let body = sale(&s, json!([product(1_000)]), json!([gift_tender(1_000, &code)]));
        tasks.spawn(async move { app.post("/v1/sales", &token, body).await });
    }
    let (mut numbers, mut refused) = (Vec::new(), 0);
    while let Some(done) = tasks.join_next().await {
        let (status, body) = done.unwrap();
        match status {
            StatusCode::CREATED => numbers.push(body["invoice_number"].as_str().unwrap().to_owned()),
            StatusCode::CONFLICT => {
                assert_eq!(body["error"]["code"], "gift_card_insufficient", "{body}");
                refused += 1;
            }
            other => panic!("{other}: {body}"),
        }
    }
    numbers.sort();
    assert_eq!((numbers.len(), refused), (5, 15));
    // INV-000001 sold the card; the five that spent it took 2..6.
    assert_eq!(numbers, (2..=6).map(|n| format!("INV-{n:06}")).collect::<Vec<_>>(), "no gap, no duplicate");
    let (_, view) = lookup(&app, &s.clinic.token, &code).await;
    assert_eq!(view["gift_card"]["balance_minor"], 0, "{view}");
    let redeemed = view["movements"].as_array().unwrap().iter().filter(|m| m["kind"] == "redeemed").count();
    assert_eq!(redeemed, 5);
}

mod twenty_tills_spending_one_card_at_once_spend_it_exactly_once {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn on_sqlite() {
        super::concurrent_redemptions(super::fixed_app().await.0).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn on_dynamodb() {
        let clock = std::sync::Arc::new(super::FixedClock::new(super::now()));
        if let Some(app) = crate::support::app::spawn_app_on_moto("gift_card_race", clock).await {
            super::concurrent_redemptions(app).await;
        }
    }
}
