//! Commissions, black-box over HTTP: a plan saved by the roles that may, a period's report
//! checked against figures worked by hand (tiers crossed, a fixed rate per unit, a refund's share
//! clawed back in the period it is made), and the same report as CSV.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::booking::{fixed_app, setup};
use crate::support::app::*;
use crate::till::{ring_up, sale_body};

fn service_line(name: &str, service_id: &str, practitioner: &str, price: i64, quantity: i64, tax: Value) -> Value {
    json!({"kind": "service", "name": name, "service_id": service_id, "practitioner_id": practitioner,
        "quantity": quantity, "unit_price_minor": price, "tax": tax})
}

fn plan(s: &crate::booking::Setup) -> Value {
    json!({"rules": [
        // Everyone, every service: 10% up to 300.00 in the period, 20% above.
        {"applies_to": {"kind": "all_services"},
         "rate": {"kind": "percent", "tiers": [{"from_minor": 0, "percent_bps": 1000}, {"from_minor": 30000, "percent_bps": 2000}]}},
        // Dr Two's injectables: 25.00 a unit.
        {"practitioner_id": s.practitioners[1], "applies_to": {"kind": "category", "category": "injectables"},
         "rate": {"kind": "fixed", "amount_minor": 2500}},
        {"applies_to": {"kind": "products"}, "rate": {"kind": "percent", "tiers": [{"from_minor": 0, "percent_bps": 500}]}}
    ]})
}

async fn report(app: &TestApp, token: &str, from: &str, to: &str) -> Value {
    let (status, body) = app.get(&format!("/v1/commissions/report?from={from}&to={to}"), token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn row<'a>(report: &'a Value, practitioner: &str) -> &'a Value {
    report["practitioners"].as_array().unwrap().iter().find(|r| r["practitioner_id"] == practitioner).unwrap()
}

#[tokio::test]
async fn a_periods_commissions_match_the_figures_worked_by_hand_with_a_refund_clawed_back_when_it_is_made() {
    let (app, clock) = fixed_app().await;
    let s = setup(&app, "commissions").await;
    let t = &s.clinic.token;
    let (status, saved) = app.put("/v1/commissions/plan", t, plan(&s)).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["version"], 1);

    let vat = json!({"rate_bp": 2000, "mode": "exclusive"});
    let none = json!({"rate_bp": 0, "mode": "exclusive"});
    // Dr One: 200.00 + VAT, with two 12.99 products (the owner rang it up: nobody to credit).
    let mut first_lines = vec![service_line("Anti-wrinkle", &s.service_id, &s.practitioners[0], 20000, 1, vat)];
    first_lines
        .push(json!({"kind": "product", "name": "SPF 50", "sku": "SPF-50", "quantity": 2, "unit_price_minor": 1299,
        "tax": {"rate_bp": 2000, "mode": "inclusive"}}));
    let cash = |minor: i64| json!([{"method": "cash", "tendered_minor": minor}]);
    ring_up(&app, t, sale_body(&s, json!(first_lines), cash(26598))).await;
    // Dr One: the laser, 300.00 (over the 300.00 tier line in the period).
    let laser = ring_up(
        &app,
        t,
        sale_body(
            &s,
            json!([service_line("Laser", &s.room_service_id, &s.practitioners[0], 30000, 1, none.clone())]),
            cash(30000),
        ),
    )
    .await;
    // Dr Two: two anti-wrinkle treatments at 200.00, under her own fixed rule.
    let pair = ring_up(
        &app,
        t,
        sale_body(
            &s,
            json!([service_line("Anti-wrinkle", &s.service_id, &s.practitioners[1], 20000, 2, none)]),
            cash(40000),
        ),
    )
    .await;
    // Half the laser refunded the same day.
    let refund = json!({"to": "cash", "amount_minor": 15000, "reason": "reaction"});
    let (status, body) = app.post(&format!("/v1/sales/{}/refund", laser["id"].as_str().unwrap()), t, refund).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let day = report(&app, t, "2027-03-01", "2027-03-01").await;
    // Dr One under rule 0: 200.00 → 20.00; +300.00 = 500.00 → 30.00 + 40.00 = 70.00 (so 50.00);
    // −150.00 = 350.00 → 30.00 + 10.00 = 40.00 (so −30.00).
    let one = row(&day, &s.practitioners[0]);
    assert_eq!((one["sales_minor"].as_i64(), one["commission_minor"].as_i64()), (Some(35000), Some(4000)), "{one}");
    let shares: Vec<(&str, i64, i64)> = one["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (l["kind"].as_str().unwrap(), l["amount_minor"].as_i64().unwrap(), l["commission_minor"].as_i64().unwrap())
        })
        .collect();
    assert_eq!(shares, [("sale", 20000, 2000), ("sale", 30000, 5000), ("refund", -15000, -3000)]);
    // Dr Two: two units at 25.00.
    let two = row(&day, &s.practitioners[1]);
    assert_eq!((two["sales_minor"].as_i64(), two["commission_minor"].as_i64()), (Some(40000), Some(5000)));
    assert_eq!(two["lines"][0]["rule"], 1);
    // The products: 25.98 with 4.33 VAT inside, nobody to credit.
    assert_eq!(day["uncovered_minor"], 2165);
    assert_eq!((day["currency"].as_str(), day["plan_version"].as_i64()), (Some("GBP"), Some(1)));

    // A refund made the next day claws back in the next day's period, not the sale's.
    clock.advance(Duration::days(1));
    let all = json!({"to": "cash", "reason": "did not come back"});
    let (status, body) = app.post(&format!("/v1/sales/{}/refund", pair["id"].as_str().unwrap()), t, all).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let next = report(&app, t, "2027-03-02", "2027-03-02").await;
    assert_eq!(row(&next, &s.practitioners[1])["commission_minor"], -5000);
    let both = report(&app, t, "2027-03-01", "2027-03-02").await;
    assert_eq!(row(&both, &s.practitioners[1])["commission_minor"], 0);
    assert_eq!(row(&both, &s.practitioners[0])["commission_minor"], 4000);

    // The same as CSV: a row per line and a total per practitioner, in pounds.
    let (status, text) =
        app.get_text_with_token("/v1/commissions/report?from=2027-03-01&to=2027-03-01&format=csv", t).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        text.starts_with("practitioner,invoice_number,at,kind,description,amount,commission,currency\r\n"),
        "{text}"
    );
    assert!(text.contains("\"Dr One\",\"\",\"\",\"total\",\"\",\"350.00\",\"40.00\",\"GBP\""), "{text}");
    assert!(text.contains("\"Dr Two\",\"\",\"\",\"total\",\"\",\"400.00\",\"50.00\",\"GBP\""), "{text}");
}

#[tokio::test]
async fn the_plan_is_saved_by_owners_and_managers_only_checked_and_never_overwritten_unseen() {
    let (app, _) = fixed_app().await;
    let s = setup(&app, "commission-plan").await;
    let (manager, _) = app.member_token(&s.clinic, "manager").await;
    let (finance, _) = app.member_token(&s.clinic, "finance").await;
    let (desk, _) = app.member_token(&s.clinic, "front_desk").await;
    let (status, empty) = app.get("/v1/commissions/plan", &finance).await;
    assert_eq!((status, empty["version"].as_i64(), empty["rules"].clone()), (StatusCode::OK, Some(0), json!([])));
    // The role before the body: a front desk learns nothing from a bad body.
    let (status, _) = app.put("/v1/commissions/plan", &desk, json!({"rules": "nonsense"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.put("/v1/commissions/plan", &finance, plan(&s)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.get("/v1/commissions/report?from=2027-03-01&to=2027-03-01", &desk).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let mut bad = plan(&s);
    bad["rules"][0]["rate"]["tiers"][1]["from_minor"] = json!(0);
    let (status, body) = app.put("/v1/commissions/plan", &manager, bad).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("tiers_not_ascending"))
    );
    let mut first = plan(&s);
    first["expected_version"] = json!(0);
    let (status, saved) = app.put("/v1/commissions/plan", &manager, first.clone()).await;
    assert_eq!((status, saved["version"].as_i64()), (StatusCode::OK, Some(1)), "{saved}");
    // Someone who read version 0 does not overwrite version 1 unseen.
    let (status, body) = app.put("/v1/commissions/plan", &s.clinic.token, first).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("stale_version")));
    let (status, body) = app.get("/v1/commissions/report?from=2027-03-01&to=2027-06-01", &finance).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("window_too_large")));
}
