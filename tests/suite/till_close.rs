//! The daily close of a location's till, black-box over HTTP: the day's takings per tender
//! method, voids and refunds, tips per practitioner and the cash expected, worked out by hand;
//! the cash-up once (a second close, and any sale, void or refund on the closed day, is 409
//! until an owner reopens it); the CSV export; who may do what; and sales racing a close.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::booking::{Setup, fixed_app, setup};
use crate::support::app::*;
use crate::till::{lines, ring_up, sale_body};

const DAY: &str = "2027-03-01";

fn product(name: &str, price: i64) -> Value {
    json!([{"kind": "product", "name": name, "quantity": 1, "unit_price_minor": price,
            "tax": {"rate_bp": 0, "mode": "inclusive"}}])
}

fn day_query(s: &Setup) -> String {
    format!("location_id={}&date={DAY}", s.location_id)
}

fn method<'a>(summary: &'a Value, name: &str) -> &'a Value {
    summary["by_method"].as_array().unwrap().iter().find(|m| m["method"] == name).unwrap()
}

/// 150.98 in cash (a 5.00 tip for the first practitioner; 160.00 handed over), 30.00 on the card
/// terminal of which 10.00 refunded in cash, and 12.00 in cash voided: returns the three sales.
async fn a_day_of_sales(app: &TestApp, s: &Setup) -> (Value, Value, Value) {
    let mut tipped = sale_body(s, lines(s), json!([{"method": "cash", "tendered_minor": 16000}]));
    tipped["tips"] = json!([{"practitioner_id": s.practitioners[0], "amount_minor": 500}]);
    let tipped = ring_up(app, &s.clinic.token, tipped).await;
    let terminal = json!([{"method": "card_external", "amount_minor": 3000, "terminal_reference": "T-1"}]);
    let card = ring_up(app, &s.clinic.token, sale_body(s, product("Serum", 3000), terminal)).await;
    let voided = ring_up(
        app,
        &s.clinic.token,
        sale_body(s, product("Balm", 1200), json!([{"method": "cash", "tendered_minor": 2000}])),
    )
    .await;
    let path = |sale: &Value, what: &str| format!("/v1/sales/{}/{what}", sale["id"].as_str().unwrap());
    let (status, body) = app
        .post(&path(&card, "refund"), &s.clinic.token, json!({"to": "cash", "amount_minor": 1000, "reason": "r"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = app.post(&path(&voided, "void"), &s.clinic.token, json!({"reason": "wrong"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    (tipped, card, voided)
}

#[tokio::test]
async fn a_day_closes_once_with_the_cash_counted_against_what_is_expected_until_an_owner_reopens_it() {
    let (app, _clock) = fixed_app().await;
    let s = setup(&app, "close-day").await;
    let (tipped, card, _voided) = a_day_of_sales(&app, &s).await;

    let (status, day) = app.get(&format!("/v1/sales/close?{}", day_query(&s)), &s.clinic.token).await;
    assert_eq!(status, StatusCode::OK, "{day}");
    let summary = &day["summary"];
    assert!(day["close"].is_null(), "{day}");
    assert_eq!(
        (summary["sales"]["count"].as_i64(), summary["sales"]["amount_minor"].as_i64()),
        (Some(3), Some(19_298))
    );
    assert_eq!((summary["voids"]["count"].as_i64(), summary["voids"]["amount_minor"].as_i64()), (Some(1), Some(1_200)));
    assert_eq!(
        (summary["refunds"]["count"].as_i64(), summary["refunds"]["amount_minor"].as_i64()),
        (Some(1), Some(1_000))
    );
    // Cash: 150.98 + 12.00 kept (the change went back at once), less 12.00 voided and 10.00 refunded.
    let cash = method(summary, "cash");
    assert_eq!((cash["taken_minor"].as_i64(), cash["returned_minor"].as_i64()), (Some(16_298), Some(2_200)));
    assert_eq!(cash["net_minor"], 14_098);
    let terminal = method(summary, "card_external");
    assert_eq!((terminal["taken_minor"].as_i64(), terminal["net_minor"].as_i64()), (Some(3_000), Some(3_000)));
    assert_eq!(summary["net_takings_minor"], 14_098 + 3_000);
    assert_eq!(summary["expected_cash_minor"], 14_098);
    assert_eq!(summary["tips"], json!([{"practitioner_id": s.practitioners[0], "amount_minor": 500}]));

    // The front desk counts the drawer: 240.50 with a float of 100.00, against 240.98 expected.
    let (desk, _) = app.member_token(&s.clinic, "front_desk").await;
    let count = json!({"location_id": s.location_id, "date": DAY, "float_minor": 10000, "note": "=2+3 short",
        "denominations": [{"value_minor": 5000, "count": 4}, {"value_minor": 2000, "count": 2}, {"value_minor": 50, "count": 1}]});
    let (status, up) = app.post("/v1/sales/close", &desk, count.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{up}");
    assert_eq!((up["expected_minor"].as_i64(), up["counted_minor"].as_i64()), (Some(24_098), Some(24_050)));
    assert_eq!(up["difference_minor"], -48);
    assert_eq!(up["summary"], *summary, "the day as it stood");

    // Once: a second close, and any sale, void or refund on the day, is refused until reopened.
    let (status, body) = app.post("/v1/sales/close", &s.clinic.token, count.clone()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("day_closed")), "{body}");
    let cash_sale = sale_body(&s, product("Late", 500), json!([{"method": "cash", "tendered_minor": 500}]));
    let (status, body) = app.post("/v1/sales", &s.clinic.token, cash_sale.clone()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("day_closed")), "{body}");
    let path = |sale: &Value, what: &str| format!("/v1/sales/{}/{what}", sale["id"].as_str().unwrap());
    let (status, body) = app.post(&path(&tipped, "void"), &s.clinic.token, json!({"reason": "late"})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("day_closed")), "{body}");
    let (status, body) = app
        .post(&path(&card, "refund"), &s.clinic.token, json!({"to": "cash", "amount_minor": 100, "reason": "r"}))
        .await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("day_closed")), "{body}");
    let (_, closed) = app.get(&format!("/v1/sales/close?{}", day_query(&s)), &desk).await;
    assert_eq!(closed["close"], up);
    assert_eq!(closed["summary"], *summary, "nothing was recorded on the closed day");

    // The CSV says the same, row by row.
    let (status, csv) = app.get_text_with_token(&format!("/v1/sales/close.csv?{}", day_query(&s)), &desk).await;
    assert_eq!(status, StatusCode::OK, "{csv}");
    let rows: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(rows[0], "record,invoice_number,at,method,amount,currency,tax,tips,reference,by,note");
    let row = |start: &str| -> &str {
        rows.iter().find(|r| r.starts_with(start)).unwrap_or_else(|| panic!("no row `{start}` in {csv}"))
    };
    assert!(row("\"sale\",\"INV-000001\"").contains("\"cash\",\"150.98\",\"GBP\",\"24.33\",\"5.00\""), "{csv}");
    assert!(
        row("\"sale\",\"INV-000002\"").contains("\"card_external\",\"30.00\",\"GBP\",\"0.00\",\"0.00\",\"T-1\""),
        "{csv}"
    );
    assert!(row("\"void\",\"INV-000003\"").contains("\"cash\",\"-12.00\""), "{csv}");
    assert!(row("\"refund\",\"INV-000002\"").contains("\"cash\",\"-10.00\""), "{csv}");
    assert!(row("\"total\",\"\",\"\",\"cash\"").contains("\"140.98\""), "{csv}");
    assert!(row("\"total\",\"\",\"\",\"all\"").contains("\"170.98\""), "{csv}");
    assert!(row("\"tips\"").contains(&format!("\"5.00\",\"GBP\",\"\",\"\",\"{}\"", s.practitioners[0])), "{csv}");
    assert!(row("\"expected_in_drawer\"").contains("\"240.98\""), "{csv}");
    assert!(row("\"counted_cash\"").contains("\"240.50\""), "{csv}");
    // The note someone typed is text to a spreadsheet, not a formula.
    assert!(row("\"difference\"").ends_with("\"-0.48\",\"GBP\",\"\",\"\",\"\",\"\",\"'=2+3 short\""), "{csv}");

    // Only an owner reopens; then the day takes sales again and closes again with them.
    let (manager, _) = app.member_token(&s.clinic, "manager").await;
    let reopen = format!("/v1/sales/close?{}", day_query(&s));
    let (status, _) = app.delete(&reopen, &manager).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = app.delete(&reopen, &s.clinic.token).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = app.delete(&reopen, &s.clinic.token).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing to reopen: {body}");
    ring_up(&app, &s.clinic.token, cash_sale).await;
    let (status, again) = app.post("/v1/sales/close", &desk, count).await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
    assert_eq!(
        (again["summary"]["sales"]["count"].as_i64(), again["difference_minor"].as_i64()),
        (Some(4), Some(-548))
    );

    let actions = crate::portal::audit_actions(&app, &s.clinic.tenant_id).await;
    assert_eq!(actions.iter().filter(|a| *a == "till.closed").count(), 2, "{actions:?}");
    assert_eq!(actions.iter().filter(|a| *a == "till.reopened").count(), 1, "{actions:?}");
}

#[tokio::test]
async fn the_close_is_read_by_payments_readers_made_by_till_roles_and_reopened_by_owners_only() {
    let (app, _clock) = fixed_app().await;
    let s = setup(&app, "close-roles").await;
    let read = format!("/v1/sales/close?{}", day_query(&s));
    let csv = format!("/v1/sales/close.csv?{}", day_query(&s));
    let count = json!({"location_id": s.location_id, "date": DAY, "counted_minor": 0});
    let token = |role: &'static str| {
        let app = &app;
        let clinic = &s.clinic;
        async move { app.member_token(clinic, role).await.0 }
    };

    // A practitioner reads no takings, and is refused before their body is read (403, not 422).
    let practitioner = token("practitioner").await;
    assert_eq!(app.get(&read, &practitioner).await.0, StatusCode::FORBIDDEN);
    assert_eq!(app.get_text_with_token(&csv, &practitioner).await.0, StatusCode::FORBIDDEN);
    assert_eq!(app.post("/v1/sales/close", &practitioner, json!({"nonsense": true})).await.0, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/v1/sales/close?date=not-a-day", &practitioner).await.0, StatusCode::FORBIDDEN);
    // Support reads the day but does not close it.
    let support = token("support").await;
    assert_eq!(app.get(&read, &support).await.0, StatusCode::OK);
    assert_eq!(app.post("/v1/sales/close", &support, count.clone()).await.0, StatusCode::FORBIDDEN);

    // What a close needs: a count (by denomination or a total, not both), a day that has begun.
    let finance = token("finance").await;
    let (status, body) =
        app.post("/v1/sales/close", &finance, json!({"location_id": s.location_id, "date": DAY})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("count_required")));
    let both = json!({"location_id": s.location_id, "date": DAY, "counted_minor": 100,
        "denominations": [{"value_minor": 100, "count": 1}]});
    assert_eq!(app.post("/v1/sales/close", &finance, both).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    let tomorrow = json!({"location_id": s.location_id, "date": "2027-03-02", "counted_minor": 0});
    let (status, body) = app.post("/v1/sales/close", &finance, tomorrow).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("day_not_started")));
    let (status, _) = app.get("/v1/sales/close?date=not-a-day", &finance).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let elsewhere = json!({"location_id": mas_domain::ids::LocationId::new(), "date": DAY, "counted_minor": 0});
    assert_eq!(app.post("/v1/sales/close", &finance, elsewhere).await.0, StatusCode::NOT_FOUND);

    // Finance closes an empty day (nothing expected, nothing counted); the front desk may not reopen.
    let (status, up) = app.post("/v1/sales/close", &finance, count).await;
    assert_eq!(status, StatusCode::CREATED, "{up}");
    assert_eq!((up["expected_minor"].as_i64(), up["difference_minor"].as_i64()), (Some(0), Some(0)));
    let desk = token("front_desk").await;
    assert_eq!(app.delete(&read, &desk).await.0, StatusCode::FORBIDDEN);
    assert_eq!(app.delete(&read, &finance).await.0, StatusCode::FORBIDDEN);
    assert_eq!(app.delete(&read, &s.clinic.token).await.0, StatusCode::NO_CONTENT);
}

/// Twelve sales and a close at the same moment: whatever order they land in, the close's
/// figures hold every sale recorded, and a sale it beat is refused.
async fn sales_racing_the_close(app: TestApp, tills: i64) {
    let s = setup(&app, "close-race").await;
    let app = Arc::new(app);
    let mut sales = tokio::task::JoinSet::new();
    for i in 0..tills {
        let (app, token) = (app.clone(), s.clinic.token.clone());
        let body = sale_body(&s, product("Serum", 100 + i), json!([{"method": "cash", "tendered_minor": 100 + i}]));
        sales.spawn(async move { app.post("/v1/sales", &token, body).await });
    }
    let count = json!({"location_id": s.location_id, "date": DAY, "counted_minor": 0});
    let (status, mut up) = app.post("/v1/sales/close", &s.clinic.token, count.clone()).await;
    let mut recorded = Vec::new();
    while let Some(done) = sales.join_next().await {
        let (status, body) = done.unwrap();
        match status {
            StatusCode::CREATED => recorded.push(body["total_minor"].clone()),
            StatusCode::CONFLICT => assert_eq!(body["error"]["code"], "day_closed", "{body}"),
            other => panic!("{other}: {body}"),
        }
    }
    if status != StatusCode::CREATED {
        // Sales kept landing while it was worked out: it said so, and closes once they stop.
        assert_eq!((status, up["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("concurrent_update")), "{up}");
        let (status, again) = app.post("/v1/sales/close", &s.clinic.token, count).await;
        assert_eq!(status, StatusCode::CREATED, "{again}");
        up = again;
    }
    let (_, listed) = app.get(&format!("/v1/sales?day={DAY}&location_id={}", s.location_id), &s.clinic.token).await;
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), recorded.len(), "every sale answered 201 is recorded");
    let taken: i64 = listed.iter().map(|sale| sale["totals"]["total_minor"].as_i64().unwrap()).sum();
    assert_eq!(up["summary"]["sales"]["count"].as_u64(), Some(listed.len() as u64), "{up}");
    assert_eq!(up["expected_minor"].as_i64(), Some(taken), "every sale recorded is in the close: {up}");
}

mod sales_racing_the_close_are_either_in_its_figures_or_refused {
    use std::sync::Arc;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn on_sqlite() {
        super::sales_racing_the_close(super::fixed_app().await.0, 12).await;
    }

    /// The same writes on DynamoDB (moto): the check on the close, the day's change count. Five
    /// tills there: moto answers one request at a time, and twelve took over three minutes.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn on_dynamodb() {
        let clock = Arc::new(mas_ports::FixedClock::new(crate::booking::now()));
        if let Some(app) = crate::support::app::spawn_app_on_moto("till_close_race", clock).await {
            super::sales_racing_the_close(app, 5).await;
        }
    }
}
