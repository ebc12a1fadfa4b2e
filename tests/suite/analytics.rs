//! Insight, black-box over HTTP: a seeded month of bookings, visits, no-shows, a cancellation,
//! sales and a refund, whose KPIs are checked against figures worked out by hand below; a
//! redelivered (and a concurrently delivered) event counted once; a rebuild from the event log
//! equal to the live projection; the view without money; and another clinic seeing nothing.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::booking::{answers, create_client, iso, setup};
use crate::support::app::*;
use crate::till::{ring_up, sale_body};
use mas_ports::FixedClock;

fn at(month: u32, day: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, month, day, h, m, 0).unwrap()
}

struct Seeded {
    app: TestApp,
    s: crate::booking::Setup,
}

async fn book(
    app: &TestApp,
    s: &crate::booking::Setup,
    client: &str,
    service: &str,
    dr: &str,
    start: DateTime<Utc>,
) -> String {
    let body = json!({"location_id": s.location_id, "service_id": service, "start": iso(start), "client_id": client,
        "practitioner_id": dr});
    let (status, appt) = app.post("/v1/appointments", &s.clinic.token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{appt}");
    appt["id"].as_str().unwrap().to_owned()
}

async fn act(app: &TestApp, s: &crate::booking::Setup, id: &str, actions: &[&str]) {
    for action in actions {
        let (status, body) =
            app.patch(&format!("/v1/appointments/{id}"), &s.clinic.token, json!({"action": action})).await;
        assert_eq!(status, StatusCode::OK, "{action}: {body}");
    }
}

fn treatment(s: &crate::booking::Setup, dr: &str, price: i64) -> Value {
    json!({"kind": "service", "name": "Anti-wrinkle", "service_id": s.service_id, "practitioner_id": dr,
        "quantity": 1, "unit_price_minor": price, "tax": {"rate_bp": 0, "mode": "exclusive"}})
}

fn cash(minor: i64) -> Value {
    json!([{"method": "cash", "tendered_minor": minor}])
}

/// The seeded month (London is on UTC until 28 March, so UTC days are local days):
///
/// - 22 Feb: the desk books Ada (Anti-wrinkle, 30 min, Dr One) for 25 Feb; she comes, pays 150.00.
/// - 1 Mar: the desk books Ada for 2 and 16 Mar (Dr One), Bea for 3 Mar (Laser, 45 min, Dr Two)
///   and 4 Mar (Dr Two); Grace books 9 Mar online (Dr One). The desk cancels Bea's 4 Mar.
/// - 2 Mar: Ada comes, pays 200.00 and a 20.00 product. 3 Mar: Bea does not come.
/// - 9 Mar: Grace comes, pays 200.00, and 50.00 is refunded in cash that day.
/// - 16 Mar: Ada comes, pays 200.00.
async fn seeded(slug: &str) -> Seeded {
    let clock = Arc::new(FixedClock::new(at(2, 22, 8, 0)));
    let app = spawn_app_with_clock(clock.clone()).await;
    let s = setup(&app, slug).await;
    let (ada, one, two) = (s.client_id.clone(), s.practitioners[0].clone(), s.practitioners[1].clone());
    let bea = create_client(&app, &s.clinic, "Bea", "Smith").await;
    let first = book(&app, &s, &ada, &s.service_id, &one, at(2, 25, 10, 0)).await;
    clock.set(at(2, 25, 11, 0));
    act(&app, &s, &first, &["check_in", "start", "complete"]).await;
    ring_up(&app, &s.clinic.token, sale_body(&s, json!([treatment(&s, &one, 15000)]), cash(15000))).await;

    clock.set(at(3, 1, 8, 0));
    let ada_2 = book(&app, &s, &ada, &s.service_id, &one, at(3, 2, 10, 0)).await;
    let ada_16 = book(&app, &s, &ada, &s.service_id, &one, at(3, 16, 10, 0)).await;
    let bea_3 = book(&app, &s, &bea, &s.room_service_id, &two, at(3, 3, 11, 0)).await;
    let bea_4 = book(&app, &s, &bea, &s.service_id, &two, at(3, 4, 10, 0)).await;
    let online = json!({"location_id": s.location_id, "service_id": s.service_id, "start": iso(at(3, 9, 12, 0)),
        "practitioner_id": one, "client": {"first_name": "Grace", "last_name": "Hopper", "email": "grace@visitors.test"},
        "screening": answers()});
    let (status, grace) = app.call("POST", &format!("/v1/public/{slug}/appointments"), None, Some(online)).await;
    assert_eq!(status, StatusCode::CREATED, "{grace}");
    let grace = grace["id"].as_str().unwrap().to_owned();
    act(&app, &s, &bea_4, &["cancel"]).await;

    clock.set(at(3, 2, 11, 0));
    act(&app, &s, &ada_2, &["check_in", "start", "complete"]).await;
    let product = json!({"kind": "product", "name": "SPF 50", "quantity": 1, "unit_price_minor": 2000,
        "tax": {"rate_bp": 0, "mode": "exclusive"}});
    ring_up(&app, &s.clinic.token, sale_body(&s, json!([treatment(&s, &one, 20000), product]), cash(22000))).await;
    clock.set(at(3, 3, 12, 0));
    act(&app, &s, &bea_3, &["no_show"]).await;
    clock.set(at(3, 9, 13, 0));
    act(&app, &s, &grace, &["check_in", "start", "complete"]).await;
    let sale = ring_up(&app, &s.clinic.token, sale_body(&s, json!([treatment(&s, &one, 20000)]), cash(20000))).await;
    let refund = json!({"to": "cash", "amount_minor": 5000, "reason": "goodwill"});
    let (status, body) =
        app.post(&format!("/v1/sales/{}/refund", sale["id"].as_str().unwrap()), &s.clinic.token, refund).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    clock.set(at(3, 16, 11, 0));
    act(&app, &s, &ada_16, &["check_in", "start", "complete"]).await;
    ring_up(&app, &s.clinic.token, sale_body(&s, json!([treatment(&s, &one, 20000)]), cash(20000))).await;
    let seeded = Seeded { app, s };
    // The worker runs beside the requests: wait for its last event (the 16 Mar sale).
    seeded.wait_for("?from=2027-03-16&to=2027-03-16", |k| k["current"]["totals"]["revenue_minor"] == 20000).await;
    seeded
}

impl Seeded {
    async fn kpis_as(&self, token: &str, query: &str) -> Value {
        let (status, body) = self.app.get(&format!("/v1/analytics/kpis{query}"), token).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    async fn kpis(&self, query: &str) -> Value {
        self.kpis_as(&self.s.clinic.token, query).await
    }

    async fn wait_for(&self, query: &str, done: impl Fn(&Value) -> bool) {
        for _ in 0..100 {
            if done(&self.kpis(query).await) {
                self.app.settle(&[&self.s.clinic.tenant_id]).await;
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the projections never showed what was waited for: {}", self.kpis(query).await);
    }
}

const MARCH: &str = "?from=2027-03-01&to=2027-03-31";

#[tokio::test]
async fn a_seeded_months_kpis_match_the_figures_worked_by_hand_and_compare_with_the_month_before() {
    let seeded = seeded("kpi-month").await;
    let report = seeded.kpis(&format!("{MARCH}&compare=previous")).await;
    let m = &report["current"]["totals"];
    let count = |v: &Value, name: &str| v[name].as_i64().unwrap_or_else(|| panic!("{name} in {v}"));
    // Made on 1 Mar: five bookings, Grace's online.
    assert_eq!((count(m, "bookings_made"), count(m, "bookings_online"), count(m, "bookings_desk")), (5, 1, 4));
    // Due in March: Ada 2 and 16, Grace 9 came; Bea 3 did not; Bea 4 was cancelled by the desk.
    assert_eq!((count(m, "completed"), count(m, "no_shows"), count(m, "cancellations")), (3, 1, 1));
    assert_eq!(
        (count(m, "cancelled_by_clinic"), count(m, "cancelled_by_client"), count(m, "cancelled_unpaid")),
        (1, 0, 0)
    );
    // 220.00 + 200.00 + 200.00 taken, 50.00 given back.
    assert_eq!((count(m, "revenue_minor"), count(m, "refunds_minor")), (62_000, 5_000));
    assert_eq!(m["currency"], "GBP");
    // Grace's first visit is new; Ada was first seen in February, so both hers return.
    assert_eq!((count(m, "new_client_visits"), count(m, "returning_client_visits")), (1, 2));
    // Ada came back 14 days after 2 Mar; nobody came back after 9 or 16 Mar (yet).
    assert_eq!((count(m, "rebooked_30"), count(m, "rebooked_60"), count(m, "rebooked_90")), (1, 1, 1));
    // Three 30-minute visits and a 45-minute no-show.
    assert_eq!(count(m, "booked_minutes"), 135);
    let k = &report["current"];
    assert_eq!(k["show_rate"], 0.75);
    assert_eq!(k["no_show_rate"], 0.25);
    assert_eq!(k["online_share"], 0.2);
    assert_eq!(k["cancellation_rate"], 0.2);
    // (62,000 − 5,000) / 3.
    assert_eq!(k["average_visit_value_minor"], 19_000);
    assert_eq!(k["rebooking_30"], 0.3333);
    assert!(k["utilisation"].is_null(), "not computed (README: Open work)");
    let days: Vec<&str> = k["days"].as_array().unwrap().iter().map(|d| d["day"].as_str().unwrap()).collect();
    assert_eq!(days, ["2027-03-01", "2027-03-02", "2027-03-03", "2027-03-04", "2027-03-09", "2027-03-16"]);

    // The 31 days before: 29 Jan to 28 Feb, with Ada's first visit (rebooked 5 days later).
    let p = &report["previous"];
    assert_eq!((p["period"]["from"].as_str(), p["period"]["to"].as_str()), (Some("2027-01-29"), Some("2027-02-28")));
    let pt = &p["totals"];
    assert_eq!((count(pt, "bookings_made"), count(pt, "completed"), count(pt, "revenue_minor")), (1, 1, 15_000));
    assert_eq!((count(pt, "new_client_visits"), count(pt, "rebooked_30")), (1, 1));
    assert_eq!(p["average_visit_value_minor"], 15_000);

    // By practitioner: Dr One's three visits and treatment lines (the product is nobody's, the
    // refund the sale's); Dr Two's no-show and cancellation.
    let one = seeded.kpis(&format!("{MARCH}&practitioner_id={}", seeded.s.practitioners[0])).await;
    let t = &one["current"]["totals"];
    assert_eq!((count(t, "completed"), count(t, "revenue_minor"), count(t, "booked_minutes")), (3, 60_000, 90));
    assert_eq!(one["dimension"], seeded.s.practitioners[0].as_str());
    let two = seeded.kpis(&format!("{MARCH}&practitioner_id={}", seeded.s.practitioners[1])).await;
    let t = &two["current"]["totals"];
    assert_eq!((count(t, "completed"), count(t, "no_shows"), count(t, "cancellations")), (0, 1, 1));
    // By location: the clinic has one, so the same figures; by service: the laser's no-show.
    let here = seeded.kpis(&format!("{MARCH}&location_id={}", seeded.s.location_id)).await;
    assert_eq!(here["current"]["totals"], report["current"]["totals"]);
    let laser = seeded.kpis(&format!("{MARCH}&service_id={}", seeded.s.room_service_id)).await;
    assert_eq!(
        (count(&laser["current"]["totals"], "no_shows"), count(&laser["current"]["totals"], "booked_minutes")),
        (1, 45)
    );

    // The same as CSV, a column per period.
    let (status, text) = seeded
        .app
        .get_text_with_token(&format!("/v1/analytics/kpis{MARCH}&compare=previous&format=csv"), &seeded.s.clinic.token)
        .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(text.starts_with("figure,period,previous\r\n\"from\",\"2027-03-01\",\"2027-01-29\"\r\n"), "{text}");
    assert!(text.contains("\"revenue_minor\",\"62000\",\"15000\"\r\n"), "{text}");
    assert!(text.contains("\"show_rate\",\"0.7500\",\"1.0000\"\r\n"), "{text}");
}

#[tokio::test]
async fn a_redelivered_event_and_two_deliveries_at_once_are_counted_once() {
    let seeded = seeded("kpi-redeliver").await;
    let before = seeded.kpis(MARCH).await;
    let events = seeded.app.events.published();
    let completed = events.iter().filter(|e| e.kind == "booking.completed").cloned().collect::<Vec<_>>();
    let sale = events.iter().rfind(|e| e.kind == "sale.completed").unwrap().clone();
    for event in completed.iter().chain([&sale]) {
        let body = mas_usecases::notifications::plan::Work::event_body(event);
        mas_usecases::workers::handle(&seeded.app.app, mas_ports::QueueName::Insight, &body).await.unwrap();
    }
    assert_eq!(seeded.kpis(MARCH).await, before, "redelivered events changed nothing");

    // Three deliveries of one visit at once, into a generation nobody else writes.
    let store = &seeded.app.app.store;
    let event = &completed[1];
    let fact = mas_usecases::insight_facts::of(event).unwrap().unwrap();
    let outcomes = tokio::join!(
        mas_usecases::insight::apply_to(store, 90, event, &fact),
        mas_usecases::insight::apply_to(store, 90, event, &fact),
        mas_usecases::insight::apply_to(store, 90, event, &fact),
    );
    let counted = [outcomes.0.unwrap(), outcomes.1.unwrap(), outcomes.2.unwrap()]
        .iter()
        .filter(|o| **o == mas_usecases::insight::Applied::Counted)
        .count();
    assert_eq!(counted, 1);
    let key = mas_store::keys::insight_rollup(&seeded.s.clinic.tenant_id, 90, "clinic", "2027-03-02".parse().unwrap());
    let day = store.table.get(&key).await.unwrap().expect("the day's rollup");
    assert_eq!((day["completed"].as_i64(), day["booked_minutes"].as_i64()), (Some(1), Some(30)), "{day:?}");
}

#[tokio::test]
async fn a_rebuild_from_the_event_log_gives_the_live_numbers_and_only_owners_may_run_it() {
    let seeded = seeded("kpi-rebuild").await;
    let year = "?from=2027-01-01&to=2027-12-31";
    let (march, feb, whole) =
        (seeded.kpis(MARCH).await, seeded.kpis("?from=2027-02-01&to=2027-02-28").await, seeded.kpis(year).await);
    let (manager, _) = seeded.app.member_token(&seeded.s.clinic, "manager").await;
    let (status, _) = seeded.app.post("/v1/analytics/rebuild", &manager, json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, rebuilt) = seeded.app.post("/v1/analytics/rebuild", &seeded.s.clinic.token, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{rebuilt}");
    // Six bookings, four visits, a no-show, a cancellation, four sales and a refund.
    assert_eq!(
        (rebuilt["generation"].as_i64(), rebuilt["events"].as_i64(), rebuilt["counted"].as_i64()),
        (Some(1), Some(17), Some(17))
    );
    assert_eq!(seeded.kpis(MARCH).await, march);
    assert_eq!(seeded.kpis("?from=2027-02-01&to=2027-02-28").await, feb);
    assert_eq!(seeded.kpis(year).await, whole);
    assert_eq!(whole["current"]["totals"]["completed"], 4);

    // A second rebuild gives the same again, in the next generation.
    let (_, again) = seeded.app.post("/v1/analytics/rebuild", &seeded.s.clinic.token, json!({})).await;
    assert_eq!(again["generation"], 2);
    assert_eq!(seeded.kpis(year).await, whole);
}

#[tokio::test]
async fn roles_without_money_see_the_counts_without_money_and_educators_see_nothing() {
    let seeded = seeded("kpi-roles").await;
    let full = seeded.kpis(&format!("{MARCH}&compare=previous")).await;
    assert_eq!(full["money"], true);
    for role in ["front_desk", "practitioner", "support"] {
        let (token, _) = seeded.app.member_token(&seeded.s.clinic, role).await;
        let plain = seeded.kpis_as(&token, &format!("{MARCH}&compare=previous")).await;
        assert_eq!(plain["money"], false, "{role}");
        let text = plain.to_string();
        for money in ["revenue_minor", "refunds_minor", "average_visit_value_minor", "currency"] {
            assert!(!text.contains(money), "{role} sees {money}: {text}");
        }
        assert_eq!(plain["current"]["totals"]["completed"], full["current"]["totals"]["completed"], "{role}");
        assert_eq!(plain["current"]["show_rate"], full["current"]["show_rate"], "{role}");
        let (status, csv) =
            seeded.app.get_text_with_token(&format!("/v1/analytics/kpis{MARCH}&format=csv"), &token).await;
        assert_eq!(status, StatusCode::OK);
        assert!(csv.contains("\"completed\",\"3\"") && !csv.contains("revenue"), "{role}: {csv}");
    }
    let (finance, _) = seeded.app.member_token(&seeded.s.clinic, "finance").await;
    assert_eq!(seeded.kpis_as(&finance, MARCH).await["current"]["totals"]["revenue_minor"], 62_000);
    // The role before the query: an educator learns nothing, even from a bad one.
    let (educator, _) = seeded.app.member_token(&seeded.s.clinic, "educator").await;
    let (status, _) = seeded.app.get("/v1/analytics/kpis?from=nonsense", &educator).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) =
        seeded.app.get("/v1/analytics/kpis?from=2027-03-31&to=2027-03-01", &seeded.s.clinic.token).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("bad_period")));
    let (status, _) = seeded.app.get("/v1/analytics/kpis?from=2026-01-01&to=2027-03-01", &seeded.s.clinic.token).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "more than 366 days");
}

#[tokio::test]
async fn another_clinic_never_sees_this_clinics_numbers() {
    let seeded = seeded("kpi-mine").await;
    let other = seeded.app.sign_up("kpi-theirs").await;
    let (status, theirs) = seeded.app.get(&format!("/v1/analytics/kpis{MARCH}&compare=previous"), &other.token).await;
    assert_eq!(status, StatusCode::OK, "{theirs}");
    let totals = &theirs["current"]["totals"];
    assert_eq!(
        (totals["bookings_made"].as_i64(), totals["completed"].as_i64(), totals["revenue_minor"].as_i64()),
        (Some(0), Some(0), Some(0))
    );
    assert_eq!(theirs["current"]["days"], json!([]));
    // This clinic's location, practitioner or service named by the other: not found.
    for query in [
        format!("location_id={}", seeded.s.location_id),
        format!("practitioner_id={}", seeded.s.practitioners[0]),
        format!("service_id={}", seeded.s.service_id),
    ] {
        let (status, body) = seeded.app.get(&format!("/v1/analytics/kpis{MARCH}&{query}"), &other.token).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{query}: {body}");
    }
    // Their rebuild reads their own log only.
    let (status, rebuilt) = seeded.app.post("/v1/analytics/rebuild", &other.token, json!({})).await;
    assert_eq!((status, rebuilt["events"].as_i64()), (StatusCode::OK, Some(0)));
    assert_eq!(seeded.kpis(MARCH).await["current"]["totals"]["completed"], 3);
}
