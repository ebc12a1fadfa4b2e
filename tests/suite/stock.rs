//! Products and stock, black-box over HTTP: products in the catalog (SKU unique), deliveries
//! received by the desk, adjustments with a reason by managers only (never throwing away more
//! than is held), a sale's product lines taking stock off the shelf and its void putting it back,
//! a refund with the goods putting them back once, a treatment's usage deducted once at its
//! completion, `stock.low` announced once per crossing,
//! the reorder list in JSON and CSV — and twenty tills (eight on moto) selling one unit of the
//! same product at once taking the level down by exactly that many (on SQLite and on DynamoDB).

use std::sync::Arc;

use mas_ports::FixedClock;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::booking::{Setup, booking, fixed_app, now, setup, tuesday};
use crate::support::app::*;
use crate::till::ring_up;

/// A sun cream sold at the desk: low at 3, ordered by the dozen.
fn sun_cream() -> Value {
    json!({"sku": "SPF-50", "name": "Sun cream SPF 50", "category": "Aftercare", "kind": "retail",
        "retail_price": {"amount_minor": 2500}, "tax": {"rate_bp": 2000, "mode": "inclusive"},
        "reorder_level": 3, "reorder_quantity": 12, "supplier": "Heliocare Ltd"})
}

/// A vial the practitioners use: low at 2, ordered by ten.
fn vial() -> Value {
    json!({"sku": "TOX-VIAL", "name": "Toxin vial", "kind": "professional_use",
        "retail_price": {"amount_minor": 0}, "reorder_level": 2, "reorder_quantity": 10})
}

async fn create(app: &TestApp, token: &str, body: Value) -> String {
    let (status, product) = app.post("/v1/products", token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{product}");
    product["id"].as_str().unwrap().to_owned()
}

async fn receive(app: &TestApp, s: &Setup, token: &str, product: &str, quantity: i64) -> Value {
    let body = json!({"location_id": s.location_id, "quantity": quantity, "supplier_reference": "DN-4411",
        "unit_cost_minor": 900});
    let (status, movement) = app.post(&format!("/v1/products/{product}/receive"), token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{movement}");
    movement
}

fn cream_sale(s: &Setup, quantity: i64) -> Value {
    json!({"location_id": s.location_id, "lines": [{"kind": "product", "name": "Sun cream", "sku": "SPF-50",
        "quantity": quantity, "unit_price_minor": 2500, "tax": {"rate_bp": 2000, "mode": "inclusive"}}],
        "tenders": [{"method": "cash", "tendered_minor": 2500 * quantity}]})
}

async fn level_of(app: &TestApp, s: &Setup, sku: &str) -> Value {
    let (status, levels) = app.get(&format!("/v1/stock?location_id={}", s.location_id), &s.clinic.token).await;
    assert_eq!(status, StatusCode::OK, "{levels}");
    levels.as_array().unwrap().iter().find(|l| l["sku"] == sku).cloned().unwrap_or_else(|| panic!("{levels}"))
}

async fn on_hand(app: &TestApp, s: &Setup, sku: &str) -> i64 {
    level_of(app, s, sku).await["on_hand"].as_i64().unwrap()
}

async fn movements(app: &TestApp, s: &Setup, product: &str) -> Vec<Value> {
    let path = format!("/v1/products/{product}/movements?location_id={}", s.location_id);
    let (status, list) = app.get(&path, &s.clinic.token).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array().unwrap().clone()
}

fn code(answer: &(StatusCode, Value)) -> (StatusCode, &str) {
    (answer.0, answer.1["error"]["code"].as_str().unwrap_or_default())
}

#[tokio::test]
async fn stock_is_received_sold_put_back_by_a_void_used_by_a_treatment_adjusted_and_reordered() {
    let (app, clock) = fixed_app().await;
    let s = setup(&app, "stock-flow").await;
    let owner = &s.clinic.token;
    let (desk, _) = app.member_token(&s.clinic, "front_desk").await;
    let (manager, _) = app.member_token(&s.clinic, "manager").await;
    let (practitioner, _) = app.member_token(&s.clinic, "practitioner").await;

    // The catalog: owners and managers write it (403 before the body is read); a SKU is one
    // product's.
    let (status, _) = app.post("/v1/products", &desk, json!({"nonsense": true})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let cream = create(&app, owner, sun_cream()).await;
    let twice = app.post("/v1/products", &manager, sun_cream()).await;
    assert_eq!(code(&twice), (StatusCode::CONFLICT, "sku_taken"));
    let vial = create(&app, &manager, vial()).await;

    // A delivery: the desk receives it (a practitioner may not, whatever the body says).
    let receive_path = format!("/v1/products/{cream}/receive");
    let (status, _) = app.post(&receive_path, &practitioner, json!({"nonsense": true})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let bad = app.post(&receive_path, &desk, json!({"location_id": s.location_id, "quantity": 0})).await;
    assert_eq!(bad.0, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.1);
    let received = receive(&app, &s, &desk, &cream, 10).await;
    assert_eq!((received["kind"].as_str(), received["level_after"].as_i64()), (Some("received"), Some(10)));
    assert_eq!(received["supplier_reference"], "DN-4411");
    assert_eq!(app.published("stock.low"), 0, "10 is above 3");

    // Adjustments: managers only (403 before the body), a reason each, never more thrown away
    // than is held.
    let adjust_path = format!("/v1/products/{cream}/adjust");
    let (status, _) = app.post(&adjust_path, &desk, json!({"nonsense": true})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let damaged = json!({"location_id": s.location_id, "reason": "damaged", "quantity": 1});
    let (status, adjusted) = app.post(&adjust_path, &manager, damaged).await;
    assert_eq!((status, adjusted["level_after"].as_i64()), (StatusCode::CREATED, Some(9)), "{adjusted}");
    let too_many = app
        .post(
            &adjust_path,
            &manager,
            json!({"location_id": s.location_id, "reason": "expired",
        "quantity": 50}),
        )
        .await;
    assert_eq!(code(&too_many), (StatusCode::CONFLICT, "not_in_stock"));
    assert_eq!(too_many.1["error"]["details"]["on_hand"], 9, "{}", too_many.1);
    let no_note =
        app.post(&adjust_path, &manager, json!({"location_id": s.location_id, "reason": "other", "quantity": 1})).await;
    assert_eq!(code(&no_note), (StatusCode::UNPROCESSABLE_ENTITY, "required"));

    // Selling: a product line naming the SKU takes it off the shelf at the sale's location. The
    // sale that takes it to its reorder level announces `stock.low`, once.
    ring_up(&app, &desk, cream_sale(&s, 6)).await;
    assert_eq!(on_hand(&app, &s, "SPF-50").await, 3);
    assert_eq!(app.published("stock.low"), 1, "9 → 3 reaches the reorder level");
    let second = ring_up(&app, &desk, cream_sale(&s, 1)).await;
    assert_eq!(on_hand(&app, &s, "SPF-50").await, 2);
    assert_eq!(app.published("stock.low"), 1, "still low: said once");
    let low = app.events.published().into_iter().find(|e| e.kind == "stock.low").unwrap();
    assert_eq!((low.payload["sku"].as_str(), low.payload["on_hand"].as_i64()), (Some("SPF-50"), Some(3)));
    assert_eq!(low.payload["suggested_quantity"], 12);
    // The owner and the manager (who order stock) are emailed once each, however often the
    // event comes; the front desk and the practitioner are not.
    let notifier = mas_usecases::notifications::Notifier::of(&app.app);
    for _ in 0..2 {
        app.settle(&[&s.clinic.tenant_id]).await;
        mas_usecases::notifications::plan::on_event(&notifier, &low).await.unwrap();
    }
    let (_, outbox) = app.call("GET", "/local/outbox.json", None, None).await;
    let mut told: Vec<String> = outbox
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["subject"].as_str().unwrap_or_default().starts_with("Low stock at"))
        .map(|m| m["to"].as_str().unwrap().split('-').next().unwrap().split('@').next().unwrap().to_owned())
        .collect();
    told.sort();
    assert_eq!(told, ["manager", "owner"], "{outbox}");
    let notice =
        outbox.as_array().unwrap().iter().find(|m| m["to"] == format!("owner@{}.test", s.clinic.slug)).unwrap();
    assert!(notice["text"].as_str().unwrap().contains("is down to 3"), "{notice}");
    assert!(notice["text"].as_str().unwrap().contains("Suggested order: 12."), "{notice}");
    // A product line whose SKU is no product here (a one-off item) moves no stock.
    let mut one_off = cream_sale(&s, 1);
    one_off["lines"][0]["sku"] = json!("ONE-OFF");
    ring_up(&app, &desk, one_off).await;
    assert_eq!(on_hand(&app, &s, "SPF-50").await, 2);

    // The reorder list: what is at or below its level, with what to order (back to the level
    // plus one order), in JSON and CSV.
    let (status, list) = app.get(&format!("/v1/stock/reorder?location_id={}", s.location_id), &desk).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let skus: Vec<&str> = list.as_array().unwrap().iter().map(|l| l["sku"].as_str().unwrap()).collect();
    assert_eq!(skus, ["SPF-50"], "the vial was never stocked here: not on the list");
    assert_eq!(list[0]["suggested_quantity"], 13);
    let (status, csv) =
        app.get_text_with_token(&format!("/v1/stock/reorder.csv?location_id={}", s.location_id), &desk).await;
    assert_eq!(status, StatusCode::OK, "{csv}");
    let rows: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(rows[0], "sku,name,supplier,on_hand,reorder_level,suggested_quantity");
    assert_eq!(rows[1], "\"SPF-50\",\"Sun cream SPF 50\",\"Heliocare Ltd\",\"2\",\"3\",\"13\"");

    // A void puts back what its sale took, once.
    let void_path = format!("/v1/sales/{}/void", second["id"].as_str().unwrap());
    let (status, voided) = app.post(&void_path, owner, json!({"reason": "wrong item"})).await;
    assert_eq!(status, StatusCode::CREATED, "{voided}");
    assert_eq!(on_hand(&app, &s, "SPF-50").await, 3);
    let kinds: Vec<String> =
        movements(&app, &s, &cream).await.iter().map(|m| m["kind"].as_str().unwrap().to_owned()).collect();
    assert_eq!(kinds, ["returned", "sold", "sold", "adjusted", "received"], "newest first");
    let history = movements(&app, &s, &cream).await;
    assert_eq!(history[0]["sale_id"], second["id"]);
    assert_eq!(history[0]["level_after"], 3);
    assert!(history[0]["correction_id"].is_string());

    // A refund gives money back and leaves the goods, unless they came back with it: then all
    // the sale took goes back on the shelf, once.
    let third = ring_up(&app, &desk, cream_sale(&s, 2)).await;
    assert_eq!(on_hand(&app, &s, "SPF-50").await, 1);
    let refund_path = format!("/v1/sales/{}/refund", third["id"].as_str().unwrap());
    let money_only = json!({"to": "cash", "amount_minor": 1000, "reason": "scratched tube"});
    let (status, body) = app.post(&refund_path, owner, money_only).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(on_hand(&app, &s, "SPF-50").await, 1, "the goods stayed with the client");
    let with_goods = json!({"to": "cash", "amount_minor": 1000, "reason": "brought back", "goods_returned": true});
    let (status, body) = app.post(&refund_path, owner, with_goods.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["corrections"][1]["goods_returned"], true, "{body}");
    assert_eq!(on_hand(&app, &s, "SPF-50").await, 3);
    let mut again = with_goods;
    again["amount_minor"] = json!(500);
    let (status, _) = app.post(&refund_path, owner, again).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(on_hand(&app, &s, "SPF-50").await, 3, "the goods came back once");

    // A count puts the level right, whatever it was; it rises above the level and recovers.
    let count = json!({"location_id": s.location_id, "reason": "count", "counted": 8});
    let (status, counted) = app.post(&adjust_path, &manager, count).await;
    assert_eq!((status, counted["quantity"].as_i64()), (StatusCode::CREATED, Some(5)), "{counted}");
    let level = level_of(&app, &s, "SPF-50").await;
    assert_eq!((level["on_hand"].as_i64(), level["low"].as_bool()), (Some(8), Some(false)));

    // A treatment's usage: the service's list names the vial; completing the appointment
    // deducts it at its location, once.
    let usage_path = format!("/v1/services/{}/usage", s.service_id);
    let (status, _) = app.put(&usage_path, &desk, json!({"nonsense": true})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let unknown = app.put(&usage_path, owner, json!({"lines": [{"sku": "NOPE", "quantity": 1}]})).await;
    assert_eq!(code(&unknown), (StatusCode::UNPROCESSABLE_ENTITY, "unknown_reference"));
    let (status, _) = app.put(&usage_path, owner, json!({"lines": [{"sku": "TOX-VIAL", "quantity": 2}]})).await;
    assert_eq!(status, StatusCode::OK);
    let (_, usage) = app.get(&usage_path, &practitioner).await;
    assert_eq!(usage["lines"][0]["quantity"], 2, "{usage}");
    receive(&app, &s, &desk, &vial, 5).await;
    let (status, appointment) =
        app.post("/v1/appointments", owner, booking(&s, &s.service_id, tuesday(10, 0), None)).await;
    assert_eq!(status, StatusCode::CREATED, "{appointment}");
    let path = format!("/v1/appointments/{}", appointment["id"].as_str().unwrap());
    clock.set(tuesday(9, 50));
    for action in ["check_in", "start"] {
        let (status, body) = app.patch(&path, owner, json!({"action": action})).await;
        assert_eq!(status, StatusCode::OK, "{action}: {body}");
    }
    assert_eq!(on_hand(&app, &s, "TOX-VIAL").await, 5, "nothing is used before the treatment is completed");
    let (status, body) = app.patch(&path, owner, json!({"action": "complete"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(on_hand(&app, &s, "TOX-VIAL").await, 3);
    assert_eq!(app.published("stock.low"), 1, "3 vials are above their level of 2");
    let again = app.patch(&path, owner, json!({"action": "complete"})).await;
    assert_eq!(code(&again), (StatusCode::CONFLICT, "illegal_transition"));
    assert_eq!(on_hand(&app, &s, "TOX-VIAL").await, 3, "a second completion deducts nothing");
    let used = movements(&app, &s, &vial).await;
    assert_eq!((used[0]["kind"].as_str(), used[0]["quantity"].as_i64()), (Some("used"), Some(-2)));
    assert_eq!(used[0]["appointment_id"], appointment["id"]);

    // Every change is in the audit log.
    let query = mas_ports::Query::partition(mas_store::keys::audit_month_pk(&s.clinic.tenant_id, "2027-03"));
    let items = app.app.store.table.query_all(&query).await.unwrap();
    let actions: Vec<&str> = items.iter().filter_map(|i| i["action"].as_str()).collect();
    for action in ["product.created", "stock.received", "stock.adjusted", "service_usage.updated"] {
        assert!(actions.contains(&action), "{action} missing from {actions:?}");
    }
}

// ---- Never a lost update, on both adapters --------------------------------------------------

/// `tills` tills each sell one unit of a product with five on the shelf, all at once: every sale
/// is recorded (a till never refuses goods in the client's hand), the level falls by exactly
/// `tills` (twenty: to −15), as many `sold` movements each record a different level after them,
/// and `stock.low` is announced once.
async fn concurrent_sales(app: TestApp, tills: i64) {
    let s = setup(&app, "stock-race").await;
    let cream = create(&app, &s.clinic.token, sun_cream()).await;
    receive(&app, &s, &s.clinic.token, &cream, 5).await;
    let app = Arc::new(app);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..tills {
        let (app, token, body) = (app.clone(), s.clinic.token.clone(), cream_sale(&s, 1));
        tasks.spawn(async move { app.post("/v1/sales", &token, body).await });
    }
    while let Some(done) = tasks.join_next().await {
        let (status, body) = done.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let level = level_of(&app, &s, "SPF-50").await;
    assert_eq!(level["on_hand"], 5 - tills, "{level}");
    assert_eq!(level["version"], tills + 1, "one receipt and a version per sale");
    let history = movements(&app, &s, &cream).await;
    let mut after: Vec<i64> =
        history.iter().filter(|m| m["kind"] == "sold").map(|m| m["level_after"].as_i64().unwrap()).collect();
    after.sort();
    assert_eq!(after, (5 - tills..=4).collect::<Vec<_>>(), "each sale saw the one before it");
    assert_eq!(app.published("stock.low"), 1);
}

mod twenty_tills_selling_the_same_product_at_once_lose_no_update {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn on_sqlite() {
        super::concurrent_sales(super::fixed_app().await.0, 20).await;
    }

    /// Eight on moto, which answers one request at a time: every lost race retries from a fresh
    /// read, so twenty took over a minute there; the versioned write is the same on both.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn on_dynamodb() {
        let clock = std::sync::Arc::new(super::FixedClock::new(super::now()));
        if let Some(app) = crate::support::app::spawn_app_on_moto("stock_race", clock).await {
            super::concurrent_sales(app, 8).await;
        }
    }
}
