//! Loyalty, black-box over HTTP: the programme off until an owner or manager saves it (on its
//! version), points earned on what a client paid at her tier, spent at the till as a tender
//! worth the programme's value and refused clearly, given back as points and taken back pro rata
//! by refunds and voids, adjusted by hand with a reason, shown to the client in her portal — and
//! never double-spent when twelve tills spend one balance at once (on SQLite and on DynamoDB).

use std::sync::Arc;

use mas_ports::FixedClock;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::booking::{Setup, fixed_app, now, setup};
use crate::support::app::*;
use crate::till::ring_up;

fn programme() -> Value {
    json!({"enabled": true, "points_per_unit": 1,
        "earn_on": {"services": true, "products": true, "packages": true},
        "reward_points": 100, "reward_minor": 500, "min_redemption_points": 100,
        "tiers": [{"name": "Silver", "min_points_12m": 500, "multiplier_bp": 12500},
                  {"name": "Gold", "min_points_12m": 2000, "multiplier_bp": 15000}]})
}

fn sale(s: &Setup, kind: &str, amount: i64, tenders: Value) -> Value {
    json!({"location_id": s.location_id, "client_id": s.client_id,
        "lines": [{"kind": kind, "name": "Item", "unit_price_minor": amount}], "tenders": tenders})
}

fn cash(amount: i64) -> Value {
    json!({"method": "cash", "tendered_minor": amount})
}

fn points(points: i64, amount: i64) -> Value {
    json!({"method": "loyalty", "points": points, "amount_minor": amount})
}

async fn account(app: &TestApp, s: &Setup) -> Value {
    let (status, account) = app.get(&format!("/v1/clients/{}/loyalty", s.client_id), &s.clinic.token).await;
    assert_eq!(status, StatusCode::OK, "{account}");
    account
}

async fn turn_on(app: &TestApp, s: &Setup) {
    let (status, saved) = app.put("/v1/loyalty/programme", &s.clinic.token, programme()).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn a_client_earns_points_at_her_tier_spends_them_at_the_till_and_refunds_give_and_take_them_back() {
    let (app, _clock) = fixed_app().await;
    let s = setup(&app, "loyalty-flow").await;
    let owner = s.clinic.token.clone();
    let (desk, _) = app.member_token(&s.clinic, "front_desk").await;

    // Off until the clinic saves a programme: a sale earns nothing and points cannot pay.
    let (status, off) = app.get("/v1/loyalty/programme", &desk).await;
    assert_eq!((status, off["enabled"].as_bool(), off["version"].as_u64()), (StatusCode::OK, Some(false), Some(0)));
    let first = ring_up(&app, &owner, sale(&s, "service", 1_000, json!([cash(1_000)]))).await;
    assert!(first.get("points_earned").is_none(), "{first}");
    let (status, refused) = app.post("/v1/sales", &owner, sale(&s, "service", 500, json!([points(100, 500)]))).await;
    assert_eq!((status, code(&refused)), (StatusCode::CONFLICT, "loyalty_off"), "{refused}");

    // Owners and managers set it (the role before the body), on the version they read.
    let (status, _) = app.put("/v1/loyalty/programme", &desk, json!({"nonsense": true})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let mut bad = programme();
    bad["reward_points"] = json!(0);
    let (status, refused) = app.put("/v1/loyalty/programme", &owner, bad).await;
    assert_eq!((status, code(&refused)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_programme"), "{refused}");
    let mut body = programme();
    body["expected_version"] = json!(0);
    let (status, saved) = app.put("/v1/loyalty/programme", &owner, body.clone()).await;
    assert_eq!((status, saved["version"].as_u64()), (StatusCode::OK, Some(1)), "{saved}");
    let (status, refused) = app.put("/v1/loyalty/programme", &owner, body).await;
    assert_eq!((status, code(&refused)), (StatusCode::CONFLICT, "stale_version"), "{refused}");

    // £123.99 in cash: 123 points (whole pounds, rounded down).
    let one = ring_up(&app, &desk, sale(&s, "service", 12_399, json!([cash(12_399)]))).await;
    assert_eq!(one["points_earned"], 123, "{one}");
    // A goodwill adjustment with its reason (owners and managers; never below zero; not towards a tier).
    let adjust = format!("/v1/clients/{}/loyalty/adjustments", s.client_id);
    let (status, _) = app.post(&adjust, &desk, json!({"points": 400, "reason": "welcome"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, adjusted) = app.post(&adjust, &owner, json!({"points": 400, "reason": "welcome"})).await;
    assert_eq!(
        (status, adjusted["balance"].as_i64(), adjusted["earned_12m"].as_i64()),
        (StatusCode::OK, Some(523), Some(123))
    );
    let (status, refused) = app.post(&adjust, &owner, json!({"points": -1000, "reason": "oops"})).await;
    assert_eq!(
        (status, code(&refused), refused["error"]["details"]["balance"].as_i64()),
        (StatusCode::CONFLICT, "loyalty_insufficient", Some(523))
    );

    // £400 of products: 400 more, and 523 earned in twelve months makes her Silver (×1.25).
    let two = ring_up(&app, &desk, sale(&s, "product", 40_000, json!([cash(40_000)]))).await;
    assert_eq!(two["points_earned"], 400);
    let now_silver = account(&app, &s).await;
    assert_eq!((now_silver["tier"]["name"].as_str(), now_silver["balance"].as_i64()), (Some("Silver"), Some(923)));
    assert_eq!(now_silver["next_tier"], json!({"name": "Gold", "points_to_go": 1477}));

    // Spending: refused clearly without the client, below the minimum, at the wrong value, beyond the balance.
    let mut walk_in = sale(&s, "service", 500, json!([points(100, 500)]));
    walk_in["client_id"] = Value::Null;
    let cases = [
        (walk_in, StatusCode::UNPROCESSABLE_ENTITY, "loyalty_client_required"),
        (sale(&s, "service", 495, json!([points(99, 495)])), StatusCode::UNPROCESSABLE_ENTITY, "loyalty_below_minimum"),
        (
            sale(&s, "service", 600, json!([points(100, 600)])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "loyalty_value_mismatch",
        ),
        (sale(&s, "service", 50_000, json!([points(10_000, 50_000)])), StatusCode::CONFLICT, "loyalty_insufficient"),
    ];
    for (body, expected, expected_code) in cases {
        let (status, refused) = app.post("/v1/sales", &desk, body).await;
        assert_eq!((status, code(&refused)), (expected, expected_code), "{refused}");
    }
    // £100 paid by 100 points (£5) and £95 in cash: the £95 earns 95 × 1.25 = 118.
    let three = ring_up(&app, &desk, sale(&s, "service", 10_000, json!([points(100, 500), cash(9_500)]))).await;
    assert_eq!(three["points_earned"], 118, "{three}");
    assert_eq!(account(&app, &s).await["balance"], 923 - 100 + 118);

    // A refund to `loyalty` puts the 100 points back (never cash); half the cash back takes half
    // of what it earned (59).
    let refund = format!("/v1/sales/{}/refund", three["id"].as_str().unwrap());
    let (status, refused) =
        app.post(&refund, &owner, json!({"to": "cash", "amount_minor": 9_501, "reason": "r"})).await;
    assert_eq!(
        (status, code(&refused)),
        (StatusCode::UNPROCESSABLE_ENTITY, "refund_exceeds_paid"),
        "the points' £5 never leaves the drawer"
    );
    let (status, back) = app.post(&refund, &owner, json!({"to": "loyalty", "reason": "unhappy"})).await;
    assert_eq!(status, StatusCode::CREATED, "{back}");
    assert_eq!(back["corrections"][0]["returns"][0], json!({"method": "loyalty", "amount_minor": 500, "points": 100}));
    let (status, _) = app.post(&refund, &owner, json!({"to": "cash", "amount_minor": 4_750, "reason": "half"})).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(account(&app, &s).await["balance"], 941 + 100 - 59);
    // Voiding the first sale the same day takes back all 123 it earned.
    let void = format!("/v1/sales/{}/void", one["id"].as_str().unwrap());
    let (status, _) = app.post(&void, &owner, json!({"reason": "rung twice"})).await;
    assert_eq!(status, StatusCode::CREATED);

    let account = account(&app, &s).await;
    assert_eq!(account["balance"], 982 - 123);
    // 123 + 400 + 118 earned, less 59 and 123 taken back: 459, below Silver again.
    assert_eq!((account["earned_12m"].as_i64(), account["tier"].is_null()), (Some(459), true), "{account}");
    assert_eq!(account["value_minor"], 859 * 5);
    let kinds: Vec<(&str, i64)> = account["movements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["kind"].as_str().unwrap(), m["points"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("reversed", -123),
            ("reversed", -59),
            ("returned", 100),
            ("earned", 118),
            ("redeemed", -100),
            ("earned", 400),
            ("adjusted", 400),
            ("earned", 123),
        ]
    );
    let (support, _) = app.member_token(&s.clinic, "support").await;
    let (status, _) = app.get(&format!("/v1/clients/{}/loyalty", s.client_id), &support).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Her portal shows her balance, what it is worth and the tier she is working towards.
    let session = crate::payments::portal_session(&app, &s, &json!(s.client_id)).await;
    let (status, mine) = app.get("/v1/portal/loyalty", &session).await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!((mine["balance"].as_i64(), mine["value_minor"].as_i64()), (Some(859), Some(4_295)));
    assert_eq!(mine["next_tier"], json!({"name": "Silver", "points_to_go": 41}));
    assert!(mine["movements"][0].get("by").is_none(), "no member ids in the portal: {mine}");

    // Her data export holds her points and the whole ledger.
    let (status, export) = app.get(&format!("/v1/clients/{}/export", s.client_id), &owner).await;
    assert_eq!(status, StatusCode::OK, "{export}");
    assert_eq!(export["loyalty"]["balance"], 859);
    assert_eq!(export["loyalty"]["movements"], account["movements"]);
}

#[tokio::test]
async fn points_she_spent_already_are_not_taken_below_zero_by_a_later_refund() {
    let (app, _clock) = fixed_app().await;
    let s = setup(&app, "loyalty-short").await;
    turn_on(&app, &s).await;
    let token = &s.clinic.token;
    let bought = ring_up(&app, token, sale(&s, "product", 20_000, json!([cash(20_000)]))).await;
    assert_eq!(bought["points_earned"], 200);
    ring_up(&app, token, sale(&s, "product", 1_000, json!([points(200, 1_000)]))).await;
    let refund = format!("/v1/sales/{}/refund", bought["id"].as_str().unwrap());
    let (status, _) = app.post(&refund, token, json!({"to": "cash", "reason": "returned"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let account = account(&app, &s).await;
    assert_eq!(account["balance"], 0);
    assert_eq!(account["movements"][0]["kind"], "reversed");
    assert_eq!(
        (account["movements"][0]["points"].as_i64(), account["movements"][0]["shortfall"].as_i64()),
        (Some(0), Some(200))
    );
}

// ---- Never double-spent, on both adapters ---------------------------------------------------

/// Twelve spends at once of 100 of the client's 500 points — six sales at the till and six staff
/// adjustments of −100 (which take no invoice number, so nothing but the account's own version
/// orders them against the sales): exactly five go through, the balance ends at 0, seven are
/// refused with `loyalty_insufficient`.
async fn concurrent_redemptions(app: TestApp) {
    let s = setup(&app, "loyalty-race").await;
    turn_on(&app, &s).await;
    let adjust = format!("/v1/clients/{}/loyalty/adjustments", s.client_id);
    let (status, _) = app.post(&adjust, &s.clinic.token, json!({"points": 500, "reason": "opening balance"})).await;
    assert_eq!(status, StatusCode::OK);
    let app = Arc::new(app);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..12 {
        let (app, token) = (app.clone(), s.clinic.token.clone());
        let (path, body) = if i % 2 == 0 {
            ("/v1/sales".to_owned(), sale(&s, "product", 500, json!([points(100, 500)])))
        } else {
            (adjust.clone(), json!({"points": -100, "reason": "spent elsewhere"}))
        };
        tasks.spawn(async move { app.post(&path, &token, body).await });
    }
    let (mut recorded, mut refused) = (0, 0);
    while let Some(done) = tasks.join_next().await {
        let (status, body) = done.unwrap();
        match status {
            StatusCode::CREATED | StatusCode::OK => recorded += 1,
            StatusCode::CONFLICT => {
                assert_eq!(code(&body), "loyalty_insufficient", "{body}");
                refused += 1;
            }
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!((recorded, refused), (5, 7));
    let account = account(&app, &s).await;
    assert_eq!(account["balance"], 0, "{account}");
    let spent = account["movements"].as_array().unwrap().iter().filter(|m| m["points"] == -100).count();
    assert_eq!(spent, 5);
    // The ledger adds up: 500 in, five times 100 out, each movement's balance after the one before.
    let after: Vec<i64> =
        account["movements"].as_array().unwrap().iter().map(|m| m["balance_after"].as_i64().unwrap()).collect();
    assert_eq!(after, vec![0, 100, 200, 300, 400, 500]);
}

mod twelve_spends_of_one_balance_at_once_at_tills_and_by_hand_spend_it_exactly_once {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn on_sqlite() {
        super::concurrent_redemptions(super::fixed_app().await.0).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn on_dynamodb() {
        let clock = std::sync::Arc::new(super::FixedClock::new(super::now()));
        if let Some(app) = crate::support::app::spawn_app_on_moto("loyalty_race", clock).await {
            super::concurrent_redemptions(app).await;
        }
    }
}
