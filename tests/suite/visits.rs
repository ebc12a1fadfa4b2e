//! Visits of several services, black-box over HTTP: found by the engine as one itinerary, booked,
//! moved and cancelled as a unit in one transaction, paid by one deposit, and never double-booked
//! under concurrency (on SQLite and on DynamoDB).

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::booking::{
    Setup, assert_nobody_in_two_places, dynamodb_app, fixed_app, iso, on_both_adapters, setup, sqlite_app, tuesday,
    tuesday_appointments,
};
use crate::payments::{appointment, deposit_intent, deposit_policy, pay};
use crate::support::app::*;

/// Anti-wrinkle (30 min, 5 before, 10 after) with `first`, then the laser (45 min, the room) with
/// anyone, then anti-wrinkle again with `first`.
fn visit(s: &Setup, start: DateTime<Utc>, first: &str) -> Value {
    json!({"location_id": s.location_id, "service_id": s.service_id, "start": iso(start), "client_id": s.client_id,
        "practitioner_id": first,
        "then": [{"service_id": s.room_service_id}, {"service_id": s.service_id, "practitioner_id": first}]})
}

fn starts_of(list: &[Value]) -> Vec<(&str, &str)> {
    list.iter().map(|a| (a["start"].as_str().unwrap(), a["status"].as_str().unwrap())).collect()
}

#[tokio::test]
async fn a_visit_of_three_services_is_booked_in_one_transaction_one_after_another() {
    let (app, _) = fixed_app().await;
    let s = setup(&app, "visit-book").await;
    let (status, lead) =
        app.post("/v1/appointments", &s.clinic.token, visit(&s, tuesday(10, 0), &s.practitioners[0])).await;
    assert_eq!(status, StatusCode::CREATED, "{lead}");
    let parts = lead["visit"]["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 3, "{lead}");
    assert_eq!(parts[0]["appointment_id"], lead["id"], "the answer is the visit's lead");
    // Each service starts when the one before it leaves: 10:00–10:30 (+10 after), the laser
    // 10:40–11:25, then 5 minutes before the last one: 11:30–12:00.
    let times: Vec<(&str, &str)> =
        parts.iter().map(|p| (p["start"].as_str().unwrap(), p["end"].as_str().unwrap())).collect();
    assert_eq!(
        times,
        [
            ("2027-03-02T10:00:00Z", "2027-03-02T10:30:00Z"),
            ("2027-03-02T10:40:00Z", "2027-03-02T11:25:00Z"),
            ("2027-03-02T11:30:00Z", "2027-03-02T12:00:00Z"),
        ]
    );
    assert_eq!(parts[2]["practitioner_id"], s.practitioners[0].as_str());
    let list = tuesday_appointments(&app, &s).await;
    assert_eq!(list.len(), 3);
    assert!(
        list.iter().all(|a| a["confirmation_number"] == lead["confirmation_number"] && a["visit"] == lead["visit"])
    );
    assert_eq!(list[1]["resources"][0]["resource_id"], s.room_id.as_str());
    // Each service holds its time: the room and Dr One are taken where the visit has them.
    let laser = json!({"location_id": s.location_id, "service_id": s.room_service_id, "start": iso(tuesday(11, 0)),
        "client_id": s.client_id});
    let (status, body) = app.post("/v1/appointments", &s.clinic.token, laser).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(
        app.published("booking.confirmed"),
        3,
        "one confirmation per service (its forms); the client hears once"
    );
}

#[tokio::test]
async fn a_visit_is_refused_whole_when_one_service_cannot_follow_and_availability_offers_only_starts_that_can() {
    let (app, _) = fixed_app().await;
    let s = setup(&app, "visit-refused").await;
    // The laser room is taken 11:00–11:45.
    let laser = json!({"location_id": s.location_id, "service_id": s.room_service_id, "start": iso(tuesday(11, 0)),
        "client_id": s.client_id});
    let (status, _) = app.post("/v1/appointments", &s.clinic.token, laser).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) =
        app.post("/v1/appointments", &s.clinic.token, visit(&s, tuesday(10, 0), &s.practitioners[0])).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["details"]["service_index"], 1, "the laser is the service that cannot follow: {body}");
    assert_eq!(tuesday_appointments(&app, &s).await.len(), 1, "nothing of the refused visit is written");

    let path = |then: &str| {
        format!(
            "/v1/availability?location_id={}&service_id={}&practitioner_id={}&from=2027-03-02&to=2027-03-02{then}",
            s.location_id, s.service_id, s.practitioners[0]
        )
    };
    let starts = |body: &Value| -> Vec<String> {
        body["slots"].as_array().unwrap().iter().map(|slot| slot["start"].as_str().unwrap().to_owned()).collect()
    };
    let (_, alone) = app.get(&path(""), &s.clinic.token).await;
    let (status, with_laser) = app.get(&path(&format!("&then={}", s.room_service_id)), &s.clinic.token).await;
    assert_eq!(status, StatusCode::OK, "{with_laser}");
    let (alone, with_laser) = (starts(&alone), starts(&with_laser));
    assert!(alone.contains(&iso(tuesday(10, 0))));
    // 10:00 would put the laser at 10:40–11:25, over the room's booking; 9:15 puts it at 9:55.
    assert!(!with_laser.contains(&iso(tuesday(10, 0))), "{with_laser:?}");
    assert!(with_laser.contains(&iso(tuesday(9, 15))), "{with_laser:?}");
    assert!(with_laser.iter().all(|start| alone.contains(start)));
    let (status, body) = app.get(&path("&then=svc_nope"), &s.clinic.token).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let too_many = vec![s.service_id.clone(); 6].join(",");
    let (status, body) = app.get(&path(&format!("&then={too_many}")), &s.clinic.token).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}

#[tokio::test]
async fn a_visit_moves_as_a_unit_and_a_move_one_service_cannot_make_moves_nothing() {
    let (app, _) = fixed_app().await;
    let s = setup(&app, "visit-move").await;
    let (_, lead) = app.post("/v1/appointments", &s.clinic.token, visit(&s, tuesday(10, 0), &s.practitioners[0])).await;
    let middle = lead["visit"]["parts"][1]["appointment_id"].as_str().unwrap().to_owned();
    // Moving the laser to 11:40 moves the whole visit by an hour.
    let (status, moved) = app
        .patch(
            &format!("/v1/appointments/{middle}"),
            &s.clinic.token,
            json!({"action": "reschedule", "start": iso(tuesday(11, 40))}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    let list = tuesday_appointments(&app, &s).await;
    assert_eq!(
        starts_of(&list),
        [
            ("2027-03-02T11:00:00Z", "scheduled"),
            ("2027-03-02T11:40:00Z", "scheduled"),
            ("2027-03-02T12:30:00Z", "scheduled")
        ]
    );
    assert!(list.iter().all(|a| a["visit"] == moved["visit"]), "every service carries the moved itinerary");
    // The old time is free again: someone else books the laser at 10:45.
    let laser = |start| json!({"location_id": s.location_id, "service_id": s.room_service_id, "start": iso(start), "client_id": s.client_id});
    let (status, _) = app.post("/v1/appointments", &s.clinic.token, laser(tuesday(10, 45))).await;
    assert_eq!(status, StatusCode::CREATED);
    // A move that would put the laser over that booking is refused whole.
    let lead_id = lead["id"].as_str().unwrap();
    let (status, body) = app
        .patch(
            &format!("/v1/appointments/{lead_id}"),
            &s.clinic.token,
            json!({"action": "reschedule", "start": iso(tuesday(10, 0))}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let after = tuesday_appointments(&app, &s).await;
    let visit_starts: Vec<&str> =
        after.iter().filter(|a| a["visit"].is_object()).map(|a| a["start"].as_str().unwrap()).collect();
    assert_eq!(visit_starts, ["2027-03-02T11:00:00Z", "2027-03-02T11:40:00Z", "2027-03-02T12:30:00Z"]);
}

#[tokio::test]
async fn cancelling_any_service_of_a_visit_cancels_the_visit_and_frees_every_time() {
    let (app, _) = fixed_app().await;
    let s = setup(&app, "visit-cancel").await;
    let (_, lead) = app.post("/v1/appointments", &s.clinic.token, visit(&s, tuesday(10, 0), &s.practitioners[0])).await;
    let last = lead["visit"]["parts"][2]["appointment_id"].as_str().unwrap().to_owned();
    let (status, body) =
        app.patch(&format!("/v1/appointments/{last}"), &s.clinic.token, json!({"action": "cancel"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let list = tuesday_appointments(&app, &s).await;
    assert!(list.iter().all(|a| a["status"] == "cancelled"), "{list:?}");
    assert_eq!(app.published("booking.cancelled"), 3);
    // The same visit can be booked again at once: nothing of the first holds any time.
    let (status, again) =
        app.post("/v1/appointments", &s.clinic.token, visit(&s, tuesday(10, 0), &s.practitioners[0])).await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
}

#[tokio::test]
async fn a_visit_longer_than_one_hundred_cells_is_booked_in_one_transaction() {
    let (app, _) = fixed_app().await;
    let s = setup(&app, "visit-long").await;
    // Two four-hour treatments in the room: 96 practitioner cells and 96 room cells, which one
    // item per cell could never claim in DynamoDB's 100-write transaction.
    let (status, long) = app
        .post(
            "/v1/services",
            &s.clinic.token,
            json!({"name": "Full day peel", "category": "injectables", "duration_minutes": 240,
                "price": {"amount_minor": 90000}, "required_resources": [s.room_id]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{long}");
    let body = json!({"location_id": s.location_id, "service_id": long["id"], "start": iso(tuesday(9, 0)),
        "client_id": s.client_id, "then": [{"service_id": long["id"]}]});
    let (status, lead) = app.post("/v1/appointments", &s.clinic.token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{lead}");
    assert_eq!(lead["visit"]["parts"][1]["end"], "2027-03-02T17:00:00Z");
}

#[tokio::test]
async fn one_deposit_for_the_whole_visit_confirms_every_service_and_the_client_hears_once() {
    let (app, _) = fixed_app().await;
    let s = crate::payments::clinic(&app, "visit-pay", deposit_policy()).await;
    let mut body = crate::booking::public_booking(&s, tuesday(10, 0), "grace@visitors.test", crate::booking::answers());
    body["then"] = json!([{"service_id": s.room_service_id}]);
    let (status, lead) = app.call("POST", "/v1/public/visit-pay/appointments", None, Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{lead}");
    let second = json!(lead["visit"]["parts"][1]["appointment_id"]);
    assert_eq!(appointment(&app, &s, &second).await["status"], "pending_deposit", "the whole visit is held");
    // 20% of 200.00 and of 300.00, on the lead.
    let intent = deposit_intent(&app, &s, &lead).await;
    assert_eq!(intent["deposit"]["amount_minor"], 10000, "{intent}");
    pay(&app, &intent, "succeed").await;
    for id in [&lead["id"], &second] {
        let confirmed = appointment(&app, &s, id).await;
        assert_eq!(confirmed["status"], "scheduled", "{confirmed}");
        assert_eq!(confirmed["hold_expires_at"], Value::Null);
    }
    assert_eq!(app.published("booking.confirmed"), 2);
    app.settle(&[&s.clinic.tenant_id]).await;
    let (status, outbox) = app.call("GET", "/local/outbox.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let confirmations: Vec<&Value> = outbox
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["to"] == "grace@visitors.test" && m["subject"].as_str().unwrap_or_default().contains("is booked"))
        .collect();
    assert_eq!(confirmations.len(), 1, "one confirmation for the visit: {outbox}");
    let subject = confirmations[0]["subject"].as_str().unwrap();
    assert!(subject.contains("Anti-wrinkle, then Laser"), "{subject}");
}

// ---- Races, on both adapters ----------------------------------------------------------------

/// 60 visits of two services at random starts, the first with a random practitioner and the
/// second (the laser room, or anti-wrinkle) with anyone, sent 20 at a time: whatever wins, every
/// visit is whole or absent, and no practitioner and no room is ever in two places at once.
async fn sixty_random_visits(app: TestApp) {
    use rand::{Rng, SeedableRng};
    let s = setup(&app, "visit-race").await;
    let app = Arc::new(app);
    let mut rng = rand::rngs::StdRng::seed_from_u64(20270302);
    let mut bodies = Vec::new();
    for _ in 0..60 {
        let start = tuesday(9, 15) + Duration::minutes(15 * rng.random_range(0..24));
        let second = if rng.random_bool(0.5) { &s.room_service_id } else { &s.service_id };
        let practitioner = &s.practitioners[rng.random_range(0..3)];
        bodies.push(json!({"location_id": s.location_id, "service_id": s.service_id, "start": iso(start),
            "client_id": s.client_id, "practitioner_id": practitioner, "then": [{"service_id": second}]}));
    }
    let mut created = 0;
    for batch in bodies.chunks(20) {
        let mut tasks = tokio::task::JoinSet::new();
        for body in batch {
            let (app, token, body) = (app.clone(), s.clinic.token.clone(), body.clone());
            tasks.spawn(async move { app.post("/v1/appointments", &token, body).await });
        }
        while let Some(done) = tasks.join_next().await {
            let (status, body) = done.unwrap();
            assert!(
                [StatusCode::CREATED, StatusCode::CONFLICT, StatusCode::UNPROCESSABLE_ENTITY].contains(&status),
                "{status}: {body}"
            );
            created += usize::from(status == StatusCode::CREATED);
        }
    }
    let list = tuesday_appointments(&app, &s).await;
    assert!(created >= 5, "a busy day still fills up: {created}");
    assert_eq!(list.len(), created * 2, "every visit booked is whole, every refused one absent");
    let mut per_visit: HashMap<&str, usize> = HashMap::new();
    for a in &list {
        *per_visit.entry(a["confirmation_number"].as_str().unwrap()).or_default() += 1;
    }
    assert!(per_visit.values().all(|n| *n == 2), "{per_visit:?}");
    assert_nobody_in_two_places(&list);
}

/// Twenty visits that all need the laser room at 10:40, each with a different first practitioner
/// or start so that only the room decides: exactly one wins.
async fn twenty_visits_racing_for_one_room(app: TestApp) {
    let s = setup(&app, "visit-room").await;
    let app = Arc::new(app);
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..20 {
        let (app, token) = (app.clone(), s.clinic.token.clone());
        let body = json!({"location_id": s.location_id, "service_id": s.service_id, "start": iso(tuesday(10, 0)),
            "client_id": s.client_id, "practitioner_id": s.practitioners[n % 3],
            "then": [{"service_id": s.room_service_id}]});
        tasks.spawn(async move { app.post("/v1/appointments", &token, body).await });
    }
    let mut created = 0;
    while let Some(done) = tasks.join_next().await {
        let (status, body) = done.unwrap();
        match status {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => {}
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(created, 1, "exactly one visit gets the room");
    let rooms = tuesday_appointments(&app, &s)
        .await
        .into_iter()
        .filter(|a| !a["resources"].as_array().unwrap().is_empty())
        .count();
    assert_eq!(rooms, 1);
}

on_both_adapters!(sixty_random_visits, twenty_visits_racing_for_one_room);
