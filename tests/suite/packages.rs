//! Packages and courses of treatment, black-box over HTTP: a template in the catalog, sold at
//! the desk as a sale's line (priced from the template, taxed when sold), a session redeemed per
//! visit by a service line (nothing to pay, untaxed), refused when another client's, not
//! covering, expired, voided or used up, given back by a package refund or a void (never as
//! cash), listed on the client file, in her data export and in the portal — and its last session used exactly once
//! when twelve tills redeem it at once (on SQLite and on DynamoDB).

use std::sync::Arc;

use chrono::Duration;
use mas_ports::FixedClock;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::booking::{Setup, create_client, fixed_app, now, setup};
use crate::support::app::*;
use crate::till::ring_up;

const VAT_INCLUDED: &str = r#"{"rate_bp": 2000, "mode": "inclusive"}"#;

fn vat() -> Value {
    serde_json::from_str(VAT_INCLUDED).unwrap()
}

/// A course of `sessions` laser sessions for 600.00, valid twelve months.
async fn template(app: &TestApp, s: &Setup, sessions: i64) -> String {
    let body = json!({"name": "Laser course", "service_ids": [s.room_service_id], "sessions": sessions,
        "price": {"amount_minor": 60000}, "validity_months": 12});
    let (status, template) = app.post("/v1/package-templates", &s.clinic.token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{template}");
    template["id"].as_str().unwrap().to_owned()
}

fn package_line(template: &str) -> Value {
    // The till's price is replaced by the template's.
    json!({"kind": "package", "name": "Course", "unit_price_minor": 1, "package_template_id": template, "tax": vat()})
}

fn sale(s: &Setup, client: &str, lines: Value, tenders: Value) -> Value {
    json!({"location_id": s.location_id, "client_id": client, "lines": lines, "tenders": tenders})
}

/// Sells `s.client_id` a package of the template for cash: the sale and the package.
async fn sell(app: &TestApp, s: &Setup, template: &str) -> (Value, Value) {
    let body =
        sale(s, &s.client_id, json!([package_line(template)]), json!([{"method": "cash", "tendered_minor": 60000}]));
    let sold = ring_up(app, &s.clinic.token, body).await;
    let package = sold["sold_packages"][0].clone();
    (sold, package)
}

/// A visit's laser line covered by `package` (and nothing else to pay).
fn visit(s: &Setup, client: &str, service: &str, package: &str) -> Value {
    let line = json!({"kind": "service", "name": "Laser", "service_id": service, "unit_price_minor": 30000,
        "tax": vat(), "package_id": package});
    sale(s, client, json!([line]), json!([]))
}

async fn package_of(app: &TestApp, token: &str, id: &str) -> Value {
    let (status, view) = app.get(&format!("/v1/packages/{id}"), token).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    view
}

fn error_of(answer: &(StatusCode, Value)) -> (StatusCode, &str) {
    (answer.0, answer.1["error"]["code"].as_str().unwrap_or_default())
}

#[tokio::test]
async fn a_package_sold_at_the_desk_is_redeemed_per_visit_given_back_by_refund_or_void_and_shown_to_the_client() {
    let (app, clock) = fixed_app().await;
    let s = setup(&app, "packages-flow").await;
    let token = &s.clinic.token;

    // The catalog's template: owners and managers write it (403 before the body is read), and it
    // covers only services of this clinic's catalog.
    let (desk, _) = app.member_token(&s.clinic, "front_desk").await;
    let (status, _) = app.post("/v1/package-templates", &desk, json!({"nonsense": true})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let bad = json!({"name": "Ghost course", "service_ids": ["svc_unknown"], "sessions": 3,
        "price": {"amount_minor": 100}, "validity_months": 12});
    let answer = app.post("/v1/package-templates", token, bad).await;
    assert_eq!(error_of(&answer), (StatusCode::UNPROCESSABLE_ENTITY, "unknown_reference"), "{}", answer.1);
    let too_many = json!({"name": "Course", "service_ids": [s.room_service_id], "sessions": 51,
        "price": {"amount_minor": 100}, "validity_months": 12});
    let (status, _) = app.post("/v1/package-templates", token, too_many).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let template = template(&app, &s, 3).await;
    let (status, listed) = app.get("/v1/package-templates", &desk).await;
    assert_eq!((status, listed.as_array().map(Vec::len)), (StatusCode::OK, Some(1)), "{listed}");

    // The quote prices the line from the template, whatever the till sent; a walk-in cannot buy.
    let quote_body = sale(&s, &s.client_id, json!([package_line(&template)]), json!([]));
    let (status, quote) = app.post("/v1/sales?quote=true", token, quote_body).await;
    assert_eq!(status, StatusCode::OK, "{quote}");
    assert_eq!(
        (
            quote["totals"]["total_minor"].as_i64(),
            quote["totals"]["tax_minor"].as_i64(),
            quote["lines"][0]["name"].as_str()
        ),
        (Some(60_000), Some(10_000), Some("Laser course"))
    );
    let mut walk_in =
        sale(&s, &s.client_id, json!([package_line(&template)]), json!([{"method": "cash", "tendered_minor": 60000}]));
    walk_in["client_id"] = Value::Null;
    let answer = app.post("/v1/sales", token, walk_in).await;
    assert_eq!(error_of(&answer), (StatusCode::UNPROCESSABLE_ENTITY, "package_client_required"), "{}", answer.1);

    // Sold: taxed when sold, three sessions, valid a year.
    let (sold, package) = sell(&app, &s, &template).await;
    let id = package["id"].as_str().unwrap().to_owned();
    assert_eq!(sold["lines"][0]["sold_package_id"], package["id"]);
    assert_eq!(
        (sold["totals"]["total_minor"].as_i64(), sold["totals"]["tax_minor"].as_i64()),
        (Some(60_000), Some(10_000))
    );
    assert_eq!(
        (package["sessions_remaining"].as_i64(), package["status"].as_str(), package["expires_at"].as_str()),
        (Some(3), Some("active"), Some("2028-03-01T08:00:00Z")),
        "{package}"
    );

    // A visit covered by it: nothing to pay, no tax again; one session fewer.
    let first = ring_up(&app, token, visit(&s, &s.client_id, &s.room_service_id, &id)).await;
    let line = &first["lines"][0];
    assert_eq!((line["total_minor"].as_i64(), line["tax_minor"].as_i64()), (Some(0), Some(0)), "{first}");
    assert_eq!(first["totals"]["total_minor"], 0);
    let view = package_of(&app, token, &id).await;
    assert_eq!(view["package"]["sessions_remaining"], 2);
    let kinds: Vec<(&str, i64)> = view["movements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["kind"].as_str().unwrap(), m["sessions"].as_i64().unwrap()))
        .collect();
    assert_eq!(kinds, vec![("redeemed", -1), ("sold", 3)]);
    assert_eq!(view["movements"][0]["sale_id"], first["id"]);

    // Refused clearly: another service, another client, a package of no one here.
    let answer = app.post("/v1/sales", token, visit(&s, &s.client_id, &s.service_id, &id)).await;
    assert_eq!(error_of(&answer), (StatusCode::UNPROCESSABLE_ENTITY, "package_not_covering"), "{}", answer.1);
    let bea = create_client(&app, &s.clinic, "Bea", "Other").await;
    let answer = app.post("/v1/sales", token, visit(&s, &bea, &s.room_service_id, &id)).await;
    assert_eq!(error_of(&answer), (StatusCode::UNPROCESSABLE_ENTITY, "package_other_client"), "{}", answer.1);
    let answer = app.post("/v1/sales", token, visit(&s, &s.client_id, &s.room_service_id, "pkg_nothere")).await;
    assert_eq!(error_of(&answer), (StatusCode::UNPROCESSABLE_ENTITY, "unknown_package"), "{}", answer.1);

    // A refund gives the session back onto the package, never as cash; once.
    let refund = format!("/v1/sales/{}/refund", first["id"].as_str().unwrap());
    let answer = app.post(&refund, token, json!({"to": "cash", "reason": "reaction"})).await;
    assert_eq!(error_of(&answer), (StatusCode::UNPROCESSABLE_ENTITY, "nothing_to_refund"), "{}", answer.1);
    let (status, refunded) = app.post(&refund, token, json!({"to": "package", "reason": "reaction"})).await;
    assert_eq!(status, StatusCode::CREATED, "{refunded}");
    assert_eq!(
        refunded["corrections"][0]["returns"],
        json!([{"method": "package", "amount_minor": 0, "package_id": id, "sessions": 1}])
    );
    assert_eq!(refunded["status"], "refunded");
    assert_eq!(package_of(&app, token, &id).await["package"]["sessions_remaining"], 3);
    let answer = app.post(&refund, token, json!({"to": "package", "reason": "again"})).await;
    assert_eq!(error_of(&answer), (StatusCode::UNPROCESSABLE_ENTITY, "no_package_session"), "{}", answer.1);

    // A void of a visit gives its session back too; the package's own sale cannot be voided once
    // a session of it was used.
    let second = ring_up(&app, token, visit(&s, &s.client_id, &s.room_service_id, &id)).await;
    let void_sold = format!("/v1/sales/{}/void", sold["id"].as_str().unwrap());
    let answer = app.post(&void_sold, token, json!({"reason": "changed her mind"})).await;
    assert_eq!(error_of(&answer), (StatusCode::CONFLICT, "package_used"), "{}", answer.1);
    let (status, voided) =
        app.post(&format!("/v1/sales/{}/void", second["id"].as_str().unwrap()), token, json!({"reason": "x"})).await;
    assert_eq!((status, voided["status"].as_str()), (StatusCode::CREATED, Some("voided")), "{voided}");
    assert_eq!(package_of(&app, token, &id).await["package"]["sessions_remaining"], 3);

    // The client file lists it; so does her portal.
    let (status, listed) = app.get(&format!("/v1/clients/{}/packages", s.client_id), &desk).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!((listed[0]["id"].as_str(), listed[0]["sessions_remaining"].as_i64()), (Some(id.as_str()), Some(3)));
    // Her data export holds it too.
    let (status, export) = app.get(&format!("/v1/clients/{}/export", s.client_id), token).await;
    assert_eq!(status, StatusCode::OK, "{export}");
    assert_eq!(export["packages"][0]["id"].as_str(), Some(id.as_str()), "{export}");
    let (support, _) = app.member_token(&s.clinic, "support").await;
    let (status, _) = app.get(&format!("/v1/clients/{}/packages", s.client_id), &support).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let client = mas_domain::ids::ClientId::parse(&s.client_id).unwrap();
    let (link, _) = mas_usecases::portal::issue_link(&app.app, &s.clinic.tenant_id, &client).await.unwrap();
    let (status, session) = app
        .call("POST", &format!("/v1/public/{}/portal/session", s.clinic.slug), None, Some(json!({"token": link})))
        .await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let (status, mine) = app.get("/v1/portal/packages", session["session"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(
        (mine[0]["sessions_remaining"].as_i64(), mine[0]["expires_at"].as_str()),
        (Some(3), Some("2028-03-01T08:00:00Z"))
    );

    // A year later it has expired: refused, and listed as expired.
    clock.advance(Duration::days(366));
    let answer = app.post("/v1/sales", token, visit(&s, &s.client_id, &s.room_service_id, &id)).await;
    assert_eq!(error_of(&answer), (StatusCode::CONFLICT, "package_expired"), "{}", answer.1);
    let (_, listed) = app.get(&format!("/v1/clients/{}/packages", s.client_id), token).await;
    assert_eq!(listed[0]["status"], "expired");
    clock.advance(Duration::days(-366));

    // Voided by an owner or manager only, with a reason; then no session can be used.
    let void = format!("/v1/packages/{id}/void");
    let (status, _) = app.post(&void, &desk, json!({"reason": "refund agreed"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, package) = app.post(&void, token, json!({"reason": "refund agreed"})).await;
    assert_eq!((status, package["status"].as_str()), (StatusCode::OK, Some("voided")), "{package}");
    let answer = app.post("/v1/sales", token, visit(&s, &s.client_id, &s.room_service_id, &id)).await;
    assert_eq!(error_of(&answer), (StatusCode::CONFLICT, "package_voided"), "{}", answer.1);
    let answer = app.post(&void, token, json!({"reason": "again"})).await;
    assert_eq!(error_of(&answer), (StatusCode::CONFLICT, "package_voided"));
}

#[tokio::test]
async fn the_same_day_void_of_an_unused_packages_sale_voids_the_package() {
    let (app, _clock) = fixed_app().await;
    let s = setup(&app, "packages-void").await;
    let template = template(&app, &s, 6).await;
    let (sold, package) = sell(&app, &s, &template).await;
    let void = format!("/v1/sales/{}/void", sold["id"].as_str().unwrap());
    let (status, view) = app.post(&void, &s.clinic.token, json!({"reason": "changed her mind"})).await;
    assert_eq!(status, StatusCode::CREATED, "{view}");
    assert_eq!(view["corrections"][0]["returns"], json!([{"method": "cash", "amount_minor": 60000}]));
    let view = package_of(&app, &s.clinic.token, package["id"].as_str().unwrap()).await;
    assert_eq!(view["package"]["status"], "voided", "{view}");
}

// ---- The last session used once, on both adapters ----------------------------------------

/// Twelve visits at once, each redeeming a session of one package with five left: exactly five
/// are recorded, the package ends with none, seven are refused `package_used_up`, and the
/// invoice numbers run on with no gap.
async fn concurrent_redemptions(app: TestApp) {
    let s = setup(&app, "package-race").await;
    let template = template(&app, &s, 5).await;
    let (_, package) = sell(&app, &s, &template).await;
    let id = package["id"].as_str().unwrap().to_owned();
    let app = Arc::new(app);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let (app, token) = (app.clone(), s.clinic.token.clone());
        let body = visit(&s, &s.client_id, &s.room_service_id, &id);
        tasks.spawn(async move { app.post("/v1/sales", &token, body).await });
    }
    let (mut numbers, mut refused) = (Vec::new(), 0);
    while let Some(done) = tasks.join_next().await {
        let (status, body) = done.unwrap();
        match status {
            StatusCode::CREATED => numbers.push(body["invoice_number"].as_str().unwrap().to_owned()),
            StatusCode::CONFLICT => {
                assert_eq!(body["error"]["code"], "package_used_up", "{body}");
                assert_eq!(body["error"]["details"]["sessions_remaining"], 0, "{body}");
                refused += 1;
            }
            other => panic!("{other}: {body}"),
        }
    }
    numbers.sort();
    assert_eq!((numbers.len(), refused), (5, 7));
    // INV-000001 sold the package; the five visits took 2..6.
    assert_eq!(numbers, (2..=6).map(|n| format!("INV-{n:06}")).collect::<Vec<_>>(), "no gap, no duplicate");
    let view = package_of(&app, &s.clinic.token, &id).await;
    assert_eq!(
        (view["package"]["sessions_remaining"].as_i64(), view["package"]["sessions_used"].as_i64()),
        (Some(0), Some(5))
    );
    let redeemed = view["movements"].as_array().unwrap().iter().filter(|m| m["kind"] == "redeemed").count();
    assert_eq!(redeemed, 5);
}

/// The interleaving the invoice counter does not order: a visit reads the package and prepares
/// its redemption, a refund of an earlier visit gives a session back and commits first; the
/// visit's write, made on condition of the version it read, is then refused (its retry reads
/// afresh) — so the session given back is never overwritten.
async fn a_return_between_a_visits_read_and_its_write(app: TestApp) {
    use mas_domain::sale::{self, InvoiceNumber, Sale, SaleInput};
    let s = setup(&app, "package-interleave").await;
    let template = template(&app, &s, 3).await;
    let (_, package) = sell(&app, &s, &template).await;
    let id = package["id"].as_str().unwrap().to_owned();
    let first = ring_up(&app, &s.clinic.token, visit(&s, &s.client_id, &s.room_service_id, &id)).await;

    // The next visit reads the package (one session used) and prepares its write.
    let input: SaleInput = serde_json::from_value(visit(&s, &s.client_id, &s.room_service_id, &id)).unwrap();
    let priced = sale::price(&input).unwrap();
    let day = now().date_naive();
    let next =
        Sale::new(mas_domain::ids::SaleId::new(), InvoiceNumber::new(99).unwrap(), input, priced, day, now(), "mem_x");
    let (store, t) = (&app.app.store, &s.clinic.tenant_id);
    let mut plan = mas_store::Plan::new();
    mas_usecases::packages::push_redemptions(&mut plan, store, t, &next).await.unwrap();

    // Meanwhile the first visit is refunded: its session goes back (none used).
    let refund = format!("/v1/sales/{}/refund", first["id"].as_str().unwrap());
    let (status, body) = app.post(&refund, &s.clinic.token, json!({"to": "package", "reason": "x"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let audit = mas_store::AuditContext {
        tenant_id: t.clone(),
        actor: "mem_x".into(),
        role: None,
        request_id: mas_domain::ids::RequestId::new(),
    };
    let err = plan.commit(store, &audit, "test.redeemed", "x").await.unwrap_err();
    assert!(err.is_contention(), "{err:?}");
    let view = package_of(&app, &s.clinic.token, &id).await;
    assert_eq!(view["package"]["sessions_used"], 0, "the session given back stays given back: {view}");
}

mod a_session_given_back_while_a_visit_redeems_is_never_overwritten {
    #[tokio::test]
    async fn on_sqlite() {
        super::a_return_between_a_visits_read_and_its_write(super::fixed_app().await.0).await;
    }

    #[tokio::test]
    async fn on_dynamodb() {
        let clock = std::sync::Arc::new(super::FixedClock::new(super::now()));
        if let Some(app) = crate::support::app::spawn_app_on_moto("package_interleave", clock).await {
            super::a_return_between_a_visits_read_and_its_write(app).await;
        }
    }
}

mod twelve_tills_redeeming_a_package_with_five_sessions_left_use_exactly_five {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn on_sqlite() {
        super::concurrent_redemptions(super::fixed_app().await.0).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn on_dynamodb() {
        let clock = std::sync::Arc::new(super::FixedClock::new(super::now()));
        if let Some(app) = crate::support::app::spawn_app_on_moto("package_race", clock).await {
            super::concurrent_redemptions(app).await;
        }
    }
}
