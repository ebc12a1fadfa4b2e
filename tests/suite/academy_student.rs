//! The academy's student side, black-box: sign-in by emailed link (single use, expiring, the same
//! answer for a stranger), the student's own enrolment only (another clinic's or another
//! student's is not found), lessons completed once and only when released, quizzes graded on
//! the server (answers never sent before), the time limit, a second submit changing nothing, the
//! attempt limit under concurrent starts on both adapters, the gradebook and the coursework event.

use std::sync::Arc;

use chrono::{Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::app::*;
use mas_ports::FixedClock;

fn quiz(max_attempts: u32) -> Value {
    json!({
        "id": "anatomy-check", "title": "Anatomy check", "time_limit_minutes": 10,
        "max_attempts": max_attempts, "pass_mark_percent": 75,
        "questions": [
            {"prompt": "Which muscle lowers the brow?", "answer": {"kind": "single_choice",
                "options": ["Procerus", "Masseter", "Frontalis"], "correct": 0}},
            {"prompt": "Which are in the glabella?", "answer": {"kind": "multiple_choice",
                "options": ["Procerus", "Orbicularis oris", "Corrugator"], "correct": [0, 2]}},
            {"prompt": "Units per site (to 0.5)?", "answer": {"kind": "numeric", "answer": 4.0, "tolerance": 0.5}},
            {"prompt": "Name the nerve (two words)", "points": 1, "answer": {"kind": "short_text",
                "answers": ["Facial nerve", "Cranial nerve VII"]}}
        ]
    })
}

fn right_answers() -> Value {
    json!([
        {"question": 0, "value": {"choice": 0}},
        {"question": 1, "value": {"choices": [2, 0]}},
        {"question": 2, "value": {"number": 4.4}},
        {"question": 3, "value": {"text": "  FACIAL   nerve "}}
    ])
}

fn course_body(max_attempts: u32) -> Value {
    json!({
        "title": "Toxin foundations", "slug": "toxin", "cpd_hours": 6, "price_minor": 0,
        "modules": [
            {"title": "Anatomy", "lessons": [
                {"title": "Upper face", "body": "# The glabella\n\nThe **procerus**."},
                {"title": "Nerves", "body": "The facial nerve."}]},
            {"title": "Practice", "release_after_days": 3, "lessons": [
                {"title": "Dilution", "body": "Reconstitute with saline."}]}
        ],
        "quizzes": [quiz(max_attempts)]
    })
}

struct Academy {
    clinic: Clinic,
    course_id: String,
    cohort_id: String,
}

/// A clinic with a free published course (two modules, the second released three days after the
/// cohort starts; one quiz) and a cohort starting in two days.
async fn academy(app: &TestApp, slug: &str, max_attempts: u32) -> Academy {
    let clinic = app.sign_up(slug).await;
    let (status, course) = app.post("/v1/courses", &clinic.token, course_body(max_attempts)).await;
    assert_eq!(status, StatusCode::CREATED, "{course}");
    let course_id = course["id"].as_str().unwrap().to_owned();
    let (status, version) = app.post(&format!("/v1/courses/{course_id}/publish"), &clinic.token, json!(null)).await;
    assert_eq!(status, StatusCode::CREATED, "{version}");
    assert_eq!(version["content"]["quizzes"][0]["id"], "anatomy-check", "the quiz is published with the course");
    let starts = app.app.store.clock.now().date_naive() + Duration::days(2);
    let cohort = json!({"course_id": course_id, "starts_on": starts, "ends_on": starts + Duration::days(1),
        "seats": 20, "educator_id": clinic.owner_id});
    let (status, cohort) = app.post("/v1/cohorts", &clinic.token, cohort).await;
    assert_eq!(status, StatusCode::CREATED, "{cohort}");
    Academy { clinic, course_id, cohort_id: cohort["id"].as_str().unwrap().to_owned() }
}

async fn enrol(app: &TestApp, a: &Academy, name: &str, email: &str) -> Value {
    let path = format!("/v1/public/{}/courses/{}/cohorts/{}/enrol", a.clinic.slug, a.course_id, a.cohort_id);
    let (status, enrolment) = app.call("POST", &path, None, Some(json!({"name": name, "email": email}))).await;
    assert_eq!((status, enrolment["status"].as_str()), (StatusCode::CREATED, Some("confirmed")), "{enrolment}");
    enrolment
}

async fn ask_link(app: &TestApp, slug: &str, email: &str) -> (StatusCode, Value) {
    app.call("POST", &format!("/v1/public/{slug}/learn/link"), None, Some(json!({"email": email}))).await
}

async fn mails_to(app: &TestApp, to: &str) -> Vec<String> {
    let (_, outbox) = app.call("GET", "/local/outbox.json", None, None).await;
    outbox
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["to"] == to)
        .map(|m| m["text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn token_in(mail: &str) -> String {
    let start = mail.find("learn.html#token=").expect("a learning page link") + "learn.html#token=".len();
    mail[start..].split_whitespace().next().unwrap().to_owned()
}

async fn open(app: &TestApp, slug: &str, token: &str) -> (StatusCode, Value) {
    app.call("POST", &format!("/v1/public/{slug}/learn/session"), None, Some(json!({"token": token}))).await
}

/// Signs `email` in by the newest emailed link and answers the session's bearer.
pub(crate) async fn sign_in(app: &TestApp, slug: &str, email: &str) -> String {
    let (status, _) = ask_link(app, slug, email).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let mail = mails_to(app, email).await.pop().expect("a sign-in email");
    let (status, session) = open(app, slug, &token_in(&mail)).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    session["session"].as_str().unwrap().to_owned()
}

fn attempts_path(a: &Academy) -> String {
    format!("/v1/learn/cohorts/{}/quizzes/anatomy-check/attempts", a.cohort_id)
}

#[tokio::test]
async fn a_sign_in_link_works_once_and_expires_and_a_stranger_is_answered_the_same_and_sent_nothing() {
    let clock = Arc::new(FixedClock::new(Utc::now()));
    let app = spawn_app_with_clock(clock.clone()).await;
    let a = academy(&app, "learn-link", 1).await;
    enrol(&app, &a, "Ada Lovelace", "ada@learn.test").await;

    let (status, known) = ask_link(&app, &a.clinic.slug, "ADA@learn.test").await;
    let (stranger_status, stranger) = ask_link(&app, &a.clinic.slug, "nobody@learn.test").await;
    assert_eq!((status, &known), (StatusCode::ACCEPTED, &stranger), "the same answer for anyone");
    assert_eq!(stranger_status, StatusCode::ACCEPTED);
    assert!(mails_to(&app, "nobody@learn.test").await.is_empty(), "nothing is sent to a stranger");
    let mails = mails_to(&app, "ada@learn.test").await;
    assert_eq!(mails.len(), 1);
    let token = token_in(&mails[0]);
    // Asked again within the minute: no second email.
    ask_link(&app, &a.clinic.slug, "ada@learn.test").await;
    assert_eq!(mails_to(&app, "ada@learn.test").await.len(), 1, "throttled");

    let (status, session) = open(&app, &a.clinic.slug, &token).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let (status, _) = open(&app, &a.clinic.slug, &token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a link works once");
    let (status, mine) = app.get("/v1/learn/enrolments", session["session"].as_str().unwrap()).await;
    assert_eq!((status, mine["name"].as_str()), (StatusCode::OK, Some("Ada Lovelace")), "{mine}");
    // A staff token is no student session.
    let (status, _) = app.get("/v1/learn/enrolments", &a.clinic.token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // A link not used within 15 minutes signs nobody in.
    clock.advance(Duration::seconds(61));
    ask_link(&app, &a.clinic.slug, "ada@learn.test").await;
    let late = token_in(&mails_to(&app, "ada@learn.test").await.pop().unwrap());
    clock.advance(Duration::minutes(15));
    let (status, _) = open(&app, &a.clinic.slug, &late).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "expired");
    // Another clinic's page does not take this clinic's link.
    let other = app.sign_up("learn-link-other").await;
    clock.advance(Duration::seconds(61));
    ask_link(&app, &a.clinic.slug, "ada@learn.test").await;
    let fresh = token_in(&mails_to(&app, "ada@learn.test").await.pop().unwrap());
    let (status, _) = open(&app, &other.slug, &fresh).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_student_completes_only_released_lessons_of_their_own_enrolment_once_and_another_clinics_student_is_refused()
{
    let app = spawn_app().await;
    // The cohort starts in two days: module 1 is open, module 2 opens three days after the start.
    let a = academy(&app, "learn-progress", 1).await;
    enrol(&app, &a, "Ada", "ada@progress.test").await;
    enrol(&app, &a, "Bea", "bea@progress.test").await;
    let ada = sign_in(&app, &a.clinic.slug, "ada@progress.test").await;
    let bea = sign_in(&app, &a.clinic.slug, "bea@progress.test").await;

    let (status, mine) = app.get("/v1/learn/enrolments", &ada).await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    let course = &mine["enrolments"][0];
    assert_eq!((course["course_version"].as_u64(), course["lessons_total"].as_u64()), (Some(1), Some(3)));
    assert_eq!(
        course["modules"][0]["lessons"][0]["body_html"],
        "<h3>The glabella</h3><p>The <strong>procerus</strong>.</p>"
    );
    assert_eq!(course["modules"][1]["released"], false);
    assert!(course["modules"][1]["lessons"][0]["body_html"].is_null(), "an unreleased lesson's text is not sent");
    assert!(!mine.to_string().contains("Facial nerve"), "no quiz answer is sent: {mine}");
    assert_eq!(course["quizzes"][0]["questions"], 4);

    let lesson = |m: u32, l: u32| format!("/v1/learn/cohorts/{}/lessons/{m}/{l}/complete", a.cohort_id);
    let (status, first) = app.post(&lesson(1, 1), &ada, json!(null)).await;
    assert_eq!((status, first["newly_completed"].as_bool()), (StatusCode::OK, Some(true)), "{first}");
    let (status, again) = app.post(&lesson(1, 1), &ada, json!(null)).await;
    assert_eq!(
        (status, again["newly_completed"].as_bool(), again["lessons_completed"].as_u64()),
        (StatusCode::OK, Some(false), Some(1))
    );
    let (status, _) = app.post(&lesson(1, 9), &ada, json!(null)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not a lesson of this version");
    let (status, err) = app.post(&lesson(2, 1), &ada, json!(null)).await;
    assert_eq!((status, err["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("not_released")), "{err}");
    // Bea's progress is her own.
    let (_, hers) = app.get("/v1/learn/enrolments", &bea).await;
    assert_eq!(hers["enrolments"][0]["lessons_completed"], 0);
    assert!(!hers.to_string().contains("ada@progress.test"));

    // Another clinic's student reaches nothing of this clinic's cohort.
    let b = academy(&app, "learn-progress-b", 1).await;
    enrol(&app, &b, "Cy", "cy@other.test").await;
    let cy = sign_in(&app, &b.clinic.slug, "cy@other.test").await;
    let (status, _) = app.post(&lesson(1, 2), &cy, json!(null)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.post(&attempts_path(&a), &cy, json!(null)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, cys) = app.get("/v1/learn/enrolments", &cy).await;
    assert_eq!(cys["enrolments"].as_array().unwrap().len(), 1);
    assert_eq!(cys["enrolments"][0]["cohort_id"].as_str(), Some(b.cohort_id.as_str()));
    // Nor does a student with a cancelled enrolment: the clinic cancels Bea.
    let (_, roster) = app.get(&format!("/v1/cohorts/{}/enrolments", a.cohort_id), &a.clinic.token).await;
    let bea_id = roster.as_array().unwrap().iter().find(|e| e["student"]["name"] == "Bea").unwrap()["id"].clone();
    let cancel = format!("/v1/cohorts/{}/enrolments/{}/cancel", a.cohort_id, bea_id.as_str().unwrap());
    assert_eq!(app.post(&cancel, &a.clinic.token, json!(null)).await.0, StatusCode::OK);
    let (status, _) = app.post(&lesson(1, 2), &bea, json!(null)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_quiz_is_graded_on_the_server_per_kind_its_answers_never_sent_before_and_a_second_submit_changes_nothing() {
    let clock = Arc::new(FixedClock::new(Utc::now()));
    let app = spawn_app_with_clock(clock.clone()).await;
    let a = academy(&app, "learn-quiz", 2).await;
    let enrolment = enrol_at_desk(&app, &a, "Ada", "ada@quiz.test").await;
    // The cohort started four days ago: its second module (three days after the start) is open.
    clock.advance(Duration::days(6));
    let ada = sign_in(&app, &a.clinic.slug, "ada@quiz.test").await;

    let (status, attempt) = app.post(&attempts_path(&a), &ada, json!(null)).await;
    assert_eq!(status, StatusCode::CREATED, "{attempt}");
    // The questions only: the attempt's timestamps could hold `4.0` (as in `…:14.08…`).
    let text = attempt["questions"].to_string();
    for secret in ["correct", "Facial nerve", "Cranial", "tolerance", "4.0"] {
        assert!(!text.contains(secret), "`{secret}` was sent before submitting: {text}");
    }
    assert_eq!(attempt["questions"].as_array().unwrap().len(), 4);
    let number = attempt["number"].as_u64().unwrap();
    let (status, err) = app.post(&attempts_path(&a), &ada, json!(null)).await;
    assert_eq!((status, err["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("attempt_open")), "{err}");
    assert_eq!(err["error"]["details"]["attempt"], number);
    // The same attempt shows the same questions in the same order.
    let (_, again) = app.get(&format!("{}/{number}", attempts_path(&a)), &ada).await;
    assert_eq!(again["questions"], attempt["questions"]);

    // One wrong (multiple choice missing an option): 3 of 4 points, 75%, passes at 75.
    let mut answers = right_answers();
    answers[1]["value"] = json!({"choices": [0]});
    let submit = format!("{}/{number}/submit", attempts_path(&a));
    let (status, graded) = app.post(&submit, &ada, json!({"answers": answers})).await;
    assert_eq!(status, StatusCode::OK, "{graded}");
    let grade = &graded["grade"];
    assert_eq!(
        (grade["earned"].as_u64(), grade["percent"].as_u64(), grade["passed"].as_bool()),
        (Some(3), Some(75), Some(true))
    );
    let right: Vec<(u64, bool)> = grade["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["number"].as_u64().unwrap(), r["right"].as_bool().unwrap()))
        .collect();
    let mut by_question = right.clone();
    by_question.sort();
    assert_eq!(by_question, [(0, true), (1, false), (2, true), (3, true)], "each kind graded by its rule");

    // A second submit, even with every answer right, changes nothing.
    let (status, err) = app.post(&submit, &ada, json!({"answers": right_answers()})).await;
    assert_eq!((status, err["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("already_submitted")));
    let (_, stored) = app.get(&format!("{}/{number}", attempts_path(&a)), &ada).await;
    assert_eq!(stored["grade"]["percent"], 75);

    // Passed, with every lesson complete, the coursework is done: announced once.
    assert_eq!(app.published("academy.coursework_done"), 0);
    for (m, l) in [(1, 1), (1, 2), (2, 1)] {
        let path = format!("/v1/learn/cohorts/{}/lessons/{m}/{l}/complete", a.cohort_id);
        let (status, done) = app.post(&path, &ada, json!(null)).await;
        assert_eq!(status, StatusCode::OK, "{done}");
    }
    let (_, mine) = app.get("/v1/learn/enrolments", &ada).await;
    assert_eq!(mine["enrolments"][0]["coursework_done"], true, "{mine}");
    assert_eq!(mine["enrolments"][0]["quizzes"][0]["best_percent"], 75);
    // A second attempt that fails leaves the best result standing.
    let (_, second) = app.post(&attempts_path(&a), &ada, json!(null)).await;
    let path = format!("{}/{}/submit", attempts_path(&a), second["number"]);
    let (status, failed) = app.post(&path, &ada, json!({"answers": []})).await;
    assert_eq!((status, failed["grade"]["passed"].as_bool()), (StatusCode::OK, Some(false)));
    let (status, err) = app.post(&attempts_path(&a), &ada, json!(null)).await;
    assert_eq!((status, err["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("attempt_limit")));
    app.settle(&[&a.clinic.tenant_id]).await;
    assert_eq!(app.published("academy.coursework_done"), 1, "announced once");

    // The gradebook: the owner sees Ada's best score and attempts; a practitioner may not.
    let gradebook = format!("/v1/cohorts/{}/gradebook", a.cohort_id);
    let (status, book) = app.get(&gradebook, &a.clinic.token).await;
    assert_eq!(status, StatusCode::OK, "{book}");
    let row = &book["students"][0];
    assert_eq!(row["enrolment_id"], enrolment["id"]);
    assert_eq!((row["lessons_completed"].as_u64(), row["coursework_done"].as_bool()), (Some(3), Some(true)));
    assert_eq!(
        row["quizzes"][0],
        json!({"quiz_id": "anatomy-check", "attempts": 2, "best_percent": 75, "passed": true})
    );
    let (practitioner, _) = app.member_token(&a.clinic, "practitioner").await;
    assert_eq!(app.get(&gradebook, &practitioner).await.0, StatusCode::FORBIDDEN);
    let (educator, _) = app.member_token(&a.clinic, "educator").await;
    assert_eq!(app.get(&gradebook, &educator).await.0, StatusCode::NOT_FOUND, "not a cohort this educator teaches");
}

async fn enrol_at_desk(app: &TestApp, a: &Academy, name: &str, email: &str) -> Value {
    let (status, enrolment) = app
        .post(
            &format!("/v1/cohorts/{}/enrolments", a.cohort_id),
            &a.clinic.token,
            json!({"name": name, "email": email}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{enrolment}");
    enrolment
}

#[tokio::test]
async fn a_submission_after_the_time_limit_and_its_grace_is_refused_and_the_attempt_counts() {
    let clock = Arc::new(FixedClock::new(Utc::now()));
    let app = spawn_app_with_clock(clock.clone()).await;
    let a = academy(&app, "learn-timed", 2).await;
    enrol_at_desk(&app, &a, "Ada", "ada@timed.test").await;
    let ada = sign_in(&app, &a.clinic.slug, "ada@timed.test").await;
    let (_, attempt) = app.post(&attempts_path(&a), &ada, json!(null)).await;
    clock.advance(Duration::minutes(10) + Duration::seconds(31));
    let submit = format!("{}/{}/submit", attempts_path(&a), attempt["number"]);
    let (status, err) = app.post(&submit, &ada, json!({"answers": right_answers()})).await;
    assert_eq!((status, err["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("time_up")), "{err}");
    // The lapsed attempt is used; the next one may start (two allowed), and in time it is taken.
    let (status, second) = app.post(&attempts_path(&a), &ada, json!(null)).await;
    assert_eq!((status, second["number"].as_u64()), (StatusCode::CREATED, Some(2)));
    clock.advance(Duration::minutes(10) + Duration::seconds(30));
    let submit = format!("{}/2/submit", attempts_path(&a));
    let (status, graded) = app.post(&submit, &ada, json!({"answers": right_answers()})).await;
    assert_eq!((status, graded["grade"]["percent"].as_u64()), (StatusCode::OK, Some(100)), "within the grace");
}

// ---- The attempt limit holds under concurrent starts, on both adapters ----------------------

/// `racers` tabs of one student start the quiz at once, each submitting what it started and
/// starting again while an attempt is open: exactly `limit` attempts are ever started.
async fn attempt_race(app: TestApp, racers: usize, limit: u32) {
    let a = academy(&app, "learn-race", limit).await;
    enrol_at_desk(&app, &a, "Ada", "ada@race.test").await;
    let ada = sign_in(&app, &a.clinic.slug, "ada@race.test").await;
    let app = Arc::new(app);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..racers {
        let (app, ada, path) = (app.clone(), ada.clone(), attempts_path(&a));
        tasks.spawn(async move {
            let mut started = 0;
            for _ in 0..200 {
                let (status, body) = app.post(&path, &ada, json!(null)).await;
                match (status, body["error"]["code"].as_str()) {
                    (StatusCode::CREATED, _) => {
                        started += 1;
                        let submit = format!("{path}/{}/submit", body["number"]);
                        let (status, _) = app.post(&submit, &ada, json!({"answers": []})).await;
                        assert!(status == StatusCode::OK || status == StatusCode::CONFLICT, "{status}");
                    }
                    (StatusCode::CONFLICT, Some("attempt_limit")) => return started,
                    (StatusCode::CONFLICT, Some("attempt_open" | "concurrent_update")) => {
                        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                    }
                    (status, _) => panic!("{status}: {body}"),
                }
            }
            panic!("the limit was never reached");
        });
    }
    let mut started = 0;
    while let Some(done) = tasks.join_next().await {
        started += done.unwrap();
    }
    assert_eq!(started, limit, "exactly the limit of attempts started");
    let (_, book) = app.get(&format!("/v1/cohorts/{}/gradebook", a.cohort_id), &a.clinic.token).await;
    assert_eq!(book["students"][0]["quizzes"][0]["attempts"], limit);
    let attempts = app
        .app
        .store
        .table
        .query_all(&mas_ports::Query::partition(mas_store::keys::cohort_pk(
            &a.clinic.tenant_id,
            &mas_domain::ids::CohortId::parse(&a.cohort_id).unwrap(),
        )))
        .await
        .unwrap()
        .into_iter()
        .filter(|i| i["SK"].as_str().unwrap_or_default().starts_with("ATTEMPT#"))
        .count();
    assert_eq!(attempts, limit as usize, "as many attempt records as the limit");
}

mod the_attempt_limit_holds_under_concurrent_starts {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn eight_starts_at_once_with_a_limit_of_two_on_sqlite() {
        super::attempt_race(crate::support::app::spawn_app().await, 8, 2).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn three_starts_at_once_with_a_limit_of_one_on_dynamodb() {
        let clock = std::sync::Arc::new(mas_ports::SystemClock);
        if let Some(app) = crate::support::app::spawn_app_on_moto("attempt_race", clock).await {
            super::attempt_race(app, 3, 1).await;
        }
    }
}
