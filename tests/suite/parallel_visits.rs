//! Visits with services alongside each other, black-box over HTTP: a service that allows it runs
//! at the same start as the one before (by another practitioner, with its own room), the next one
//! waits for the later of the two, and the whole is booked, moved and cancelled as a unit and
//! never double-books anyone under concurrency (on SQLite and on DynamoDB).

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::booking::{
    Setup, assert_nobody_in_two_places, dynamodb_app, fixed_app, iso, setup, sqlite_app, tuesday, tuesday_appointments,
};
use crate::support::app::*;

/// The salon's pair: colour (60 minutes, 10 after) and a manicure in the laser room (45
/// minutes), both allowing another service alongside.
struct Pair {
    colour: String,
    manicure: String,
}

async fn pair(app: &TestApp, s: &Setup) -> Pair {
    let (status, colour) = app
        .post(
            "/v1/services",
            &s.clinic.token,
            json!({"name": "Colour", "category": "injectables", "duration_minutes": 60, "buffer_after_minutes": 10,
                "price": {"amount_minor": 9000}, "parallel_ok": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{colour}");
    assert_eq!(colour["parallel_ok"], true, "the catalog keeps the flag: {colour}");
    let (status, manicure) = app
        .post(
            "/v1/services",
            &s.clinic.token,
            json!({"name": "Manicure", "category": "injectables", "duration_minutes": 45,
                "price": {"amount_minor": 3500}, "required_resources": [s.room_id], "parallel_ok": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{manicure}");
    Pair { colour: colour["id"].as_str().unwrap().to_owned(), manicure: manicure["id"].as_str().unwrap().to_owned() }
}

/// Colour with `first` (or anyone), the manicure alongside it with anyone, then anti-wrinkle with
/// `first`'s colleague `last` (or anyone).
fn visit(s: &Setup, p: &Pair, start: chrono::DateTime<chrono::Utc>, first: Option<&str>, last: Option<&str>) -> Value {
    json!({"location_id": s.location_id, "service_id": p.colour, "start": iso(start), "client_id": s.client_id,
        "practitioner_id": first,
        "then": [{"service_id": p.manicure, "with_previous": true},
                 {"service_id": s.service_id, "practitioner_id": last}]})
}

fn times(parts: &Value) -> Vec<(String, String)> {
    parts
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["start"].as_str().unwrap().to_owned(), p["end"].as_str().unwrap().to_owned()))
        .collect()
}

fn t(at: &str) -> (String, String) {
    let (start, end) = at.split_once('/').unwrap();
    (format!("2027-03-02T{start}:00Z"), format!("2027-03-02T{end}:00Z"))
}

#[tokio::test]
async fn a_visit_with_two_services_alongside_is_booked_by_two_practitioners_then_moved_and_cancelled_as_a_unit() {
    let (app, _) = fixed_app().await;
    let s = setup(&app, "parallel-book").await;
    let p = pair(&app, &s).await;
    let first = s.practitioners[0].as_str();
    let (status, lead) =
        app.post("/v1/appointments", &s.clinic.token, visit(&s, &p, tuesday(10, 0), Some(first), Some(first))).await;
    assert_eq!(status, StatusCode::CREATED, "{lead}");
    let parts = &lead["visit"]["parts"];
    // Colour and manicure start together; anti-wrinkle waits for the colour's 10 minutes after
    // (the later end) and its own 5 before.
    assert_eq!(times(parts), [t("10:00/11:00"), t("10:00/10:45"), t("11:15/11:45")], "{lead}");
    assert_eq!(parts[1]["with_previous"], true);
    assert!(parts[2].get("with_previous").is_none(), "a part after the one before says nothing: {parts}");
    assert_eq!(parts[0]["practitioner_id"], first);
    assert_ne!(parts[1]["practitioner_id"], first, "one person cannot do both at once: {parts}");
    assert_eq!(parts[2]["practitioner_id"], first, "the same person may do a later service");
    let list = tuesday_appointments(&app, &s).await;
    assert_eq!(list.len(), 3);
    assert!(list.iter().all(|a| a["confirmation_number"] == lead["confirmation_number"]));
    assert_nobody_in_two_places(&list);

    // Moving the manicure moves the visit, keeping its shape.
    let manicure = parts[1]["appointment_id"].as_str().unwrap();
    let (status, moved) = app
        .patch(
            &format!("/v1/appointments/{manicure}"),
            &s.clinic.token,
            json!({"action": "reschedule", "start": iso(tuesday(13, 0))}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(times(&moved["visit"]["parts"]), [t("13:00/14:00"), t("13:00/13:45"), t("14:15/14:45")]);
    assert_eq!(moved["visit"]["parts"][1]["with_previous"], true);
    let list = tuesday_appointments(&app, &s).await;
    assert!(list.iter().all(|a| a["visit"] == moved["visit"]), "every service carries the moved itinerary");
    assert_nobody_in_two_places(&list);
    // The old time is free again: the laser room at 10:00 is bookable.
    let laser = json!({"location_id": s.location_id, "service_id": s.room_service_id, "start": iso(tuesday(10, 0)),
        "client_id": s.client_id});
    let (status, body) = app.post("/v1/appointments", &s.clinic.token, laser).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // Cancelling the colour cancels all three and frees every time.
    let colour = moved["visit"]["parts"][0]["appointment_id"].as_str().unwrap();
    let (status, body) =
        app.patch(&format!("/v1/appointments/{colour}"), &s.clinic.token, json!({"action": "cancel"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let visit_parts: Vec<Value> =
        tuesday_appointments(&app, &s).await.into_iter().filter(|a| a["visit"].is_object()).collect();
    assert!(visit_parts.iter().all(|a| a["status"] == "cancelled"), "{visit_parts:?}");
    let (status, again) =
        app.post("/v1/appointments", &s.clinic.token, visit(&s, &p, tuesday(13, 0), Some(first), Some(first))).await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
}

#[tokio::test]
async fn a_service_alongside_one_that_does_not_allow_it_or_with_the_same_practitioner_is_refused_with_422() {
    let (app, _) = fixed_app().await;
    let s = setup(&app, "parallel-shape").await;
    let p = pair(&app, &s).await;
    let first = s.practitioners[0].as_str();
    // Anti-wrinkle does not allow company.
    let body = json!({"location_id": s.location_id, "service_id": p.colour, "start": iso(tuesday(10, 0)),
        "client_id": s.client_id, "then": [{"service_id": s.service_id, "with_previous": true}]});
    let (status, body) = app.post("/v1/appointments", &s.clinic.token, body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "not_parallel", "{body}");
    assert_eq!(body["error"]["details"]["field"], "then[0].with_previous", "{body}");
    // One practitioner named for both.
    let body = json!({"location_id": s.location_id, "service_id": p.colour, "start": iso(tuesday(10, 0)),
        "client_id": s.client_id, "practitioner_id": first,
        "then": [{"service_id": p.manicure, "practitioner_id": first, "with_previous": true}]});
    let (status, body) = app.post("/v1/appointments", &s.clinic.token, body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "same_practitioner", "{body}");
    assert_eq!(body["error"]["details"]["field"], "then[0].practitioner_id", "{body}");
    // Availability refuses the same shape.
    let path = format!(
        "/v1/availability?location_id={}&service_id={}&from=2027-03-02&to=2027-03-02&then=@{}",
        s.location_id, p.colour, s.service_id
    );
    let (status, body) = app.get(&path, &s.clinic.token).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(tuesday_appointments(&app, &s).await.is_empty(), "nothing refused was written");
}

#[tokio::test]
async fn anyone_alongside_must_be_someone_else_free_and_availability_offers_only_starts_where_someone_is() {
    let (app, _) = fixed_app().await;
    let s = setup(&app, "parallel-anyone").await;
    let p = pair(&app, &s).await;
    let first = s.practitioners[0].as_str();
    // Dr Two and Dr Three are busy at 10:00.
    for other in &s.practitioners[1..] {
        let body = json!({"location_id": s.location_id, "service_id": s.service_id, "start": iso(tuesday(10, 0)),
            "client_id": s.client_id, "practitioner_id": other});
        let (status, body) = app.post("/v1/appointments", &s.clinic.token, body).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let path = |then: &str| {
        format!(
            "/v1/availability?location_id={}&service_id={}&practitioner_id={first}&from=2027-03-02&to=2027-03-02&then={then}",
            s.location_id, p.colour
        )
    };
    let starts = |body: &Value| -> Vec<String> {
        body["slots"].as_array().unwrap().iter().map(|slot| slot["start"].as_str().unwrap().to_owned()).collect()
    };
    let (status, after) = app.get(&path(&p.manicure), &s.clinic.token).await;
    assert_eq!(status, StatusCode::OK, "{after}");
    let (status, alongside) = app.get(&path(&format!("@{}", p.manicure)), &s.clinic.token).await;
    assert_eq!(status, StatusCode::OK, "{alongside}");
    let (after, alongside) = (starts(&after), starts(&alongside));
    // After the colour, Dr One can do the manicure herself; alongside, nobody else is free at 10:00.
    assert!(after.contains(&iso(tuesday(10, 0))), "{after:?}");
    assert!(!alongside.contains(&iso(tuesday(10, 0))), "{alongside:?}");
    assert!(alongside.contains(&iso(tuesday(11, 0))), "{alongside:?}");
    let body = json!({"location_id": s.location_id, "service_id": p.colour, "start": iso(tuesday(10, 0)),
        "client_id": s.client_id, "practitioner_id": first,
        "then": [{"service_id": p.manicure, "with_previous": true}]});
    let (status, body) = app.post("/v1/appointments", &s.clinic.token, body).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(tuesday_appointments(&app, &s).await.len(), 2, "nothing of the refused visit is written");
}

#[tokio::test]
async fn two_services_alongside_share_out_a_room_and_are_refused_when_it_has_one_place() {
    let (app, _) = fixed_app().await;
    let s = setup(&app, "parallel-room").await;
    let p = pair(&app, &s).await;
    // Two manicures at once need two places in the laser room, which has one.
    let body = |start| {
        json!({"location_id": s.location_id, "service_id": p.manicure, "start": iso(start), "client_id": s.client_id,
            "then": [{"service_id": p.manicure, "with_previous": true}]})
    };
    let (status, refused) = app.post("/v1/appointments", &s.clinic.token, body(tuesday(10, 0))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    let path = format!(
        "/v1/availability?location_id={}&service_id={}&from=2027-03-02&to=2027-03-02&then=@{}",
        s.location_id, p.manicure, p.manicure
    );
    let (status, none) = app.get(&path, &s.clinic.token).await;
    assert_eq!(status, StatusCode::OK, "{none}");
    assert_eq!(none["slots"], json!([]), "no start has two places in a one-place room");
    // With a second place, each takes its own.
    let two = json!({"name": "Laser room", "kind": "room", "location_id": s.location_id, "capacity": 2});
    let (status, room) = app.put(&format!("/v1/resources/{}", s.room_id), &s.clinic.token, two).await;
    assert_eq!(status, StatusCode::OK, "{room}");
    let (status, lead) = app.post("/v1/appointments", &s.clinic.token, body(tuesday(10, 0))).await;
    assert_eq!(status, StatusCode::CREATED, "{lead}");
    let mut units: Vec<u64> =
        tuesday_appointments(&app, &s).await.iter().map(|a| a["resources"][0]["unit"].as_u64().unwrap()).collect();
    units.sort();
    assert_eq!(units, [0, 1], "one place each");
}

// ---- Races, on both adapters ----------------------------------------------------------------

/// `contenders` bookings of the same visit at the same time, colour and the manicure alongside it,
/// both with anyone: with three practitioners one visit takes two of them and the room, and no
/// other can find two people free together, so exactly one wins, and nobody and no room is ever
/// in two places at once.
async fn one_parallel_visit_many_contenders(app: TestApp, contenders: usize) {
    let s = setup(&app, "parallel-race").await;
    let p = pair(&app, &s).await;
    let app = Arc::new(app);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..contenders {
        let (app, token) = (app.clone(), s.clinic.token.clone());
        let body = json!({"location_id": s.location_id, "service_id": p.colour, "start": iso(tuesday(10, 0)),
            "client_id": s.client_id, "then": [{"service_id": p.manicure, "with_previous": true}]});
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
    assert_eq!(created, 1, "exactly one visit wins");
    let list = tuesday_appointments(&app, &s).await;
    assert_eq!(list.len(), 2, "the winner is whole, every loser absent: {list:?}");
    assert_ne!(list[0]["practitioner_id"], list[1]["practitioner_id"]);
    assert_nobody_in_two_places(&list);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_bookings_of_one_parallel_visit_on_sqlite_let_exactly_one_win() {
    if let Some(app) = sqlite_app("parallel-race").await {
        one_parallel_visit_many_contenders(app, 20).await;
    }
}

/// Four contenders: moto answers one request at a time, so more only make the test slow.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_bookings_of_one_parallel_visit_on_dynamodb_let_exactly_one_win() {
    if let Some(app) = dynamodb_app("parallel-race").await {
        one_parallel_visit_many_contenders(app, 4).await;
    }
}
