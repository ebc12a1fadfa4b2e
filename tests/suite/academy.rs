//! The academy, black-box: a course published as versions a later draft edit leaves alone,
//! cohorts with seats and an educator, enrolment online (a hosted page the webhook settles, once)
//! and at the desk, the roster and who may read it, seats held while unpaid and given back when
//! the hold ends, and the last seat of a cohort sold once under concurrency on both adapters.

use std::sync::Arc;

use chrono::{Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::app::*;
use mas_ports::FixedClock;

fn course_body(title: &str, slug: &str, price: i64) -> Value {
    json!({
        "title": title, "slug": slug, "summary": "Foundations of toxin treatments.", "cpd_hours": 6,
        "price_minor": price,
        "modules": [{"title": "Anatomy", "lessons": [
            {"title": "Muscles of the upper face", "body": "# The glabella\n\nThe **procerus** and *corrugators*.",
             "video_key": "academy/toxin/anatomy.mp4", "resource_keys": ["academy/toxin/chart.pdf"]}]}],
        "prerequisites": [{"kind": "qualification", "name": "Level 7 in injectables"}]
    })
}

struct Academy {
    clinic: Clinic,
    course_id: String,
    cohort_id: String,
    educator_token: String,
}

/// A clinic with a published course (`price`) and a cohort of `seats` a month out, taught by an
/// educator of its team.
async fn academy(app: &TestApp, slug: &str, price: i64, seats: u32) -> Academy {
    let clinic = app.sign_up(slug).await;
    let (status, course) =
        app.post("/v1/courses", &clinic.token, course_body("Toxin foundations", "toxin", price)).await;
    assert_eq!(status, StatusCode::CREATED, "{course}");
    let course_id = course["id"].as_str().unwrap().to_owned();
    let (status, version) = app.post(&format!("/v1/courses/{course_id}/publish"), &clinic.token, json!(null)).await;
    assert_eq!(status, StatusCode::CREATED, "{version}");
    let (educator_token, educator_id) = app.member_token(&clinic, "educator").await;
    let starts = app.app.store.clock.now().date_naive() + Duration::days(30);
    let cohort = json!({"course_id": course_id, "starts_on": starts, "ends_on": starts + Duration::days(1),
        "seats": seats, "educator_id": educator_id});
    let (status, cohort) = app.post("/v1/cohorts", &clinic.token, cohort).await;
    assert_eq!(status, StatusCode::CREATED, "{cohort}");
    assert_eq!(cohort["seats_left"], seats);
    let cohort_id = cohort["id"].as_str().unwrap().to_owned();
    Academy { clinic, course_id, cohort_id, educator_token }
}

fn enrol_path(a: &Academy) -> String {
    format!("/v1/public/{}/courses/{}/cohorts/{}/enrol", a.clinic.slug, a.course_id, a.cohort_id)
}

async fn enrol(app: &TestApp, a: &Academy, name: &str, email: &str) -> (StatusCode, Value) {
    app.call("POST", &enrol_path(a), None, Some(json!({"name": name, "email": email}))).await
}

async fn roster(app: &TestApp, token: &str, a: &Academy) -> (StatusCode, Value) {
    app.get(&format!("/v1/cohorts/{}/enrolments", a.cohort_id), token).await
}

async fn seats_left(app: &TestApp, a: &Academy) -> i64 {
    let (status, courses) = app.call("GET", &format!("/v1/public/{}/courses", a.clinic.slug), None, None).await;
    assert_eq!(status, StatusCode::OK, "{courses}");
    courses[0]["cohorts"][0]["seats_left"].as_i64().unwrap()
}

#[tokio::test]
async fn a_published_version_is_never_changed_by_a_later_draft_edit_and_publishing_again_makes_the_next() {
    let app = spawn_app().await;
    let clinic = app.sign_up("academy-versions").await;
    let (practitioner, _) = app.member_token(&clinic, "practitioner").await;
    // The role is checked before the body: 403 for a practitioner, even with nothing valid sent.
    let (status, _) = app.post("/v1/courses", &practitioner, json!({"title": 7})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, err) = app
        .post(
            "/v1/courses",
            &clinic.token,
            json!({"title": "No modules", "slug": "empty",
        "price_minor": 0, "modules": []}),
        )
        .await;
    assert_eq!((status, err["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("modules_required")));

    let (status, course) =
        app.post("/v1/courses", &clinic.token, course_body("Toxin foundations", "toxin", 45000)).await;
    assert_eq!(status, StatusCode::CREATED, "{course}");
    let id = course["id"].as_str().unwrap();
    assert!(id.starts_with("crs_") && course["published_version"].is_null());
    let (status, err) = app.post("/v1/courses", &clinic.token, course_body("Another", "toxin", 0)).await;
    assert_eq!((status, err["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("slug_taken")));
    // Not published yet: no cohort can run it.
    let (_, owner) = app.get("/v1/me", &clinic.token).await;
    let starts = Utc::now().date_naive() + Duration::days(20);
    let cohort = json!({"course_id": id, "starts_on": starts, "ends_on": starts, "seats": 4,
        "educator_id": owner["member"]["id"]});
    let (status, err) = app.post("/v1/cohorts", &clinic.token, cohort.clone()).await;
    assert_eq!((status, err["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("not_published")), "{err}");

    let (status, first) = app.post(&format!("/v1/courses/{id}/publish"), &clinic.token, json!(null)).await;
    assert_eq!((status, first["number"].as_u64()), (StatusCode::CREATED, Some(1)), "{first}");
    let (status, cohort_v1) = app.post("/v1/cohorts", &clinic.token, cohort).await;
    assert_eq!((status, cohort_v1["course_version"].as_u64()), (StatusCode::CREATED, Some(1)), "{cohort_v1}");

    // The draft changes (its version as read, or 409): version 1 stays as it was published.
    let mut edited = course_body("Toxin foundations (2027)", "toxin", 50000);
    edited["modules"][0]["lessons"][0]["body"] = json!("Rewritten lesson.");
    let stale = json!({"version": 0, "course": edited});
    let (status, _) = app.put(&format!("/v1/courses/{id}"), &clinic.token, stale).await;
    assert_eq!(status, StatusCode::CONFLICT);
    // Publishing moved the course on (its `published_version`): its version is read again.
    let (_, course) = app.get(&format!("/v1/courses/{id}"), &clinic.token).await;
    assert_eq!(course["published_version"], 1);
    let (status, draft) = app
        .put(&format!("/v1/courses/{id}"), &clinic.token, json!({"version": course["version"], "course": edited}))
        .await;
    assert_eq!(status, StatusCode::OK, "{draft}");
    let (_, versions) = app.get(&format!("/v1/courses/{id}/versions"), &clinic.token).await;
    assert_eq!(versions.as_array().unwrap().len(), 1);
    assert_eq!(versions[0], first, "the published version is unchanged");
    assert_eq!(
        versions[0]["content"]["modules"][0]["lessons"][0]["body"],
        course_body("", "x", 0)["modules"][0]["lessons"][0]["body"]
    );

    let (status, second) = app.post(&format!("/v1/courses/{id}/publish"), &clinic.token, json!(null)).await;
    assert_eq!((status, second["number"].as_u64()), (StatusCode::CREATED, Some(2)));
    assert_eq!(second["content"]["title"], "Toxin foundations (2027)");
    let (_, versions) = app.get(&format!("/v1/courses/{id}/versions"), &clinic.token).await;
    assert_eq!(versions.as_array().unwrap().iter().map(|v| v["number"].as_u64().unwrap()).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(versions[0], first);
    // The cohort made on version 1 keeps it; the public page shows the newest version and that
    // cohort at version 1's price.
    let (_, public) = app.call("GET", &format!("/v1/public/{}/courses", clinic.slug), None, None).await;
    assert_eq!(public[0]["version"], 2);
    assert_eq!(public[0]["price_minor"], 50000);
    assert_eq!(public[0]["cohorts"][0]["price_minor"], 45000);
    assert!(!public.to_string().contains("procerus"), "a lesson's text is never public: {public}");
}

#[tokio::test]
async fn a_student_pays_on_the_hosted_page_and_the_webhook_confirms_the_enrolment_once() {
    let app = spawn_app().await;
    let a = academy(&app, "academy-pay", 45000, 2).await;
    assert_eq!(seats_left(&app, &a).await, 2);

    let (status, started) = enrol(&app, &a, "Ada Lovelace", "ada@student.test").await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    assert_eq!(started["status"], "pending_payment");
    let pay_url = started["pay_url"].as_str().expect("a hosted page");
    let session = &pay_url[pay_url.find("/local/checkout/").expect("the simulated page") + "/local/checkout/".len()..];
    assert_eq!(seats_left(&app, &a).await, 1, "the unpaid enrolment holds its seat");
    let (status, err) = enrol(&app, &a, "Ada again", "ADA@student.test").await;
    assert_eq!((status, err["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("already_enrolled")));

    // Paid on the page; the gateway's signed `checkout.session.completed` confirms it.
    let paid = app.gateway().pay_checkout(session, mas_embedded::simulated::Outcome::Succeed).expect("paid");
    let webhook = format!("{}/webhooks/stripe", app.base);
    for _ in 0..2 {
        let delivery = app.gateway().deliver_object(&webhook, "checkout.session.completed", paid.session.clone()).await;
        assert_eq!(delivery.unwrap().status, 200);
    }
    let (status, list) = roster(&app, &a.clinic.token, &a).await;
    assert_eq!(status, StatusCode::OK);
    let ada = &list[0];
    assert_eq!((ada["status"].as_str(), ada["paid_minor"].as_i64()), (Some("confirmed"), Some(45000)), "{list}");
    assert_eq!(ada["course_version"], 1);
    assert!(ada["pay_url"].is_null());
    assert_eq!(app.published("academy.enrolment_confirmed"), 1, "confirmed once, whatever is replayed");

    // The front desk enrols the second student: confirmed at once, and the cohort is full.
    let (front_desk, _) = app.member_token(&a.clinic, "front_desk").await;
    let desk = json!({"name": "Bea", "email": "bea@student.test"});
    let (status, bea) = app.post(&format!("/v1/cohorts/{}/enrolments", a.cohort_id), &front_desk, desk).await;
    assert_eq!(
        (status, bea["status"].as_str(), bea["via"].as_str()),
        (StatusCode::CREATED, Some("confirmed"), Some("desk"))
    );
    let (status, err) = enrol(&app, &a, "Cy", "cy@student.test").await;
    assert_eq!((status, err["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("cohort_full")));
    assert_eq!(seats_left(&app, &a).await, 0);

    // The educator reads the roster of the cohort they teach, and nothing of the clinic's
    // bookings; a cohort taught by another is not theirs to see.
    let (status, theirs) = roster(&app, &a.educator_token, &a).await;
    assert_eq!((status, theirs.as_array().map(Vec::len)), (StatusCode::OK, Some(2)));
    let (status, _) = app.get("/v1/appointments?from=2027-01-01&to=2027-01-02", &a.educator_token).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, owner) = app.get("/v1/me", &a.clinic.token).await;
    let starts = Utc::now().date_naive() + Duration::days(40);
    let other = json!({"course_id": a.course_id, "starts_on": starts, "ends_on": starts, "seats": 3,
        "educator_id": owner["member"]["id"]});
    let (_, other) = app.post("/v1/cohorts", &a.clinic.token, other).await;
    let (status, _) =
        app.get(&format!("/v1/cohorts/{}/enrolments", other["id"].as_str().unwrap()), &a.educator_token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, visible) = app.get("/v1/cohorts", &a.educator_token).await;
    assert_eq!(visible.as_array().unwrap().len(), 1, "{visible}");
    let (status, _) = app.post(&format!("/v1/cohorts/{}/enrolments", a.cohort_id), &a.educator_token, json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Cancelling Bea gives her seat back.
    let cancel = format!("/v1/cohorts/{}/enrolments/{}/cancel", a.cohort_id, bea["id"].as_str().unwrap());
    let (status, cancelled) = app.post(&cancel, &a.clinic.token, json!(null)).await;
    assert_eq!((status, cancelled["status"].as_str()), (StatusCode::OK, Some("cancelled")));
    assert_eq!(seats_left(&app, &a).await, 1);
}

#[tokio::test]
async fn an_unpaid_enrolment_holds_its_seat_until_its_hold_ends_and_then_the_seat_is_sold_again() {
    let clock = Arc::new(FixedClock::new(Utc::now()));
    let app = spawn_app_with_clock(clock.clone()).await;
    let a = academy(&app, "academy-hold", 30000, 1).await;
    let (status, first) = enrol(&app, &a, "Ada", "ada@hold.test").await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, err) = enrol(&app, &a, "Bea", "bea@hold.test").await;
    assert_eq!((status, err["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("cohort_full")));

    clock.advance(Duration::minutes(mas_domain::academy::SEAT_HOLD_MINUTES));
    assert_eq!(seats_left(&app, &a).await, 0, "held to its last second");
    clock.advance(Duration::seconds(1));
    assert_eq!(seats_left(&app, &a).await, 1, "the unpaid hold ended");
    let (status, second) = enrol(&app, &a, "Bea", "bea@hold.test").await;
    assert_eq!((status, second["seat"].as_u64()), (StatusCode::CREATED, Some(1)), "{second}");

    // Ada's page expires unpaid: her enrolment is cancelled, and Bea's seat stays Bea's.
    let pay_url = first["pay_url"].as_str().unwrap();
    let session = &pay_url[pay_url.find("/local/checkout/").unwrap() + "/local/checkout/".len()..];
    let expired = app.gateway().take_expiry(session).expect("the page has expired");
    let webhook = format!("{}/webhooks/stripe", app.base);
    let delivery = app.gateway().deliver_object(&webhook, "checkout.session.expired", expired).await.unwrap();
    assert_eq!(delivery.status, 200);
    let (_, list) = roster(&app, &a.clinic.token, &a).await;
    let status_of = |email: &str| {
        list.as_array().unwrap().iter().find(|e| e["student"]["email"] == email).unwrap()["status"].clone()
    };
    assert_eq!(
        (status_of("ada@hold.test"), status_of("bea@hold.test")),
        (json!("cancelled"), json!("pending_payment"))
    );
    assert_eq!(seats_left(&app, &a).await, 0);
}

// ---- The last seat is sold once, on both adapters ---------------------------------------------

/// `racers` students enrol at once on a cohort with one seat: exactly one gets it, the others
/// are told the cohort is full, and the roster has one enrolment.
async fn last_seat_race(app: TestApp, racers: usize) {
    let a = academy(&app, "academy-race", 20000, 1).await;
    let app = Arc::new(app);
    let path = enrol_path(&a);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..racers {
        let (app, path) = (app.clone(), path.clone());
        let body = json!({"name": format!("Student {i}"), "email": format!("s{i}@race.test")});
        tasks.spawn(async move { app.call("POST", &path, None, Some(body)).await });
    }
    let (mut won, mut full) = (0, 0);
    while let Some(done) = tasks.join_next().await {
        let (status, body) = done.unwrap();
        match status {
            StatusCode::CREATED => won += 1,
            StatusCode::CONFLICT => {
                assert_eq!(body["error"]["code"], "cohort_full", "{body}");
                full += 1;
            }
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!((won, full), (1, racers - 1));
    let (_, list) = roster(&app, &a.clinic.token, &a).await;
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["seat"], 1);
    assert_eq!(seats_left(&app, &a).await, 0);
}

mod the_last_seat_of_a_cohort_is_sold_once {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn twelve_students_at_once_on_sqlite() {
        super::last_seat_race(crate::support::app::spawn_app().await, 12).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn four_students_at_once_on_dynamodb() {
        let clock = std::sync::Arc::new(mas_ports::SystemClock);
        if let Some(app) = crate::support::app::spawn_app_on_moto("academy_race", clock).await {
            super::last_seat_race(app, 4).await;
        }
    }
}
