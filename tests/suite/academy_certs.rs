//! The academy's practicals and certificates, black-box: sign-off by the cohort's educator (or an
//! owner or manager) only, corrections as new entries, completion once under a race of
//! sign-offs on both adapters, a certificate issued once however often its event is delivered,
//! its verification page (valid, then revoked) and PDF hash, the status list's bit, the clinic's
//! signing key made once, another clinic's certificate never served, and the credential checked
//! by an independent Open Badges 3.0 verifier (`openbadgeslib`, scripts/verify_badges.py).

use std::sync::Arc;

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::support::app::*;

/// A free course with `required` observations of one practical, "Lip filler".
fn course_body(slug: &str, required: u32) -> Value {
    json!({"title": "Dermal fillers: lips", "slug": slug, "cpd_hours": 8, "price_minor": 0,
        "modules": [{"title": "Anatomy", "lessons": [{"title": "The lips", "body": "Vermilion and philtrum."}]}],
        "competencies": [{"name": "Lip filler", "required": required}]})
}

struct Cohort {
    clinic: Clinic,
    cohort_id: String,
    educator_token: String,
}

/// A clinic with a published course, a cohort taught by an educator, and `students` enrolled who
/// have done their coursework (the course's one lesson): the practicals decide completion.
async fn cohort(app: &TestApp, slug: &str, required: u32, students: usize) -> (Cohort, Vec<String>) {
    let (c, enrolments) = cohort_before_coursework(app, slug, required, students).await;
    for i in 0..students {
        do_coursework(app, &c, &format!("s{i}@{slug}.test")).await;
    }
    (c, enrolments)
}

/// The student signs in by her emailed link and completes the course's one lesson; answers her
/// session.
async fn do_coursework(app: &TestApp, c: &Cohort, email: &str) -> String {
    let session = crate::academy_student::sign_in(app, &c.clinic.slug, email).await;
    complete_the_lesson(app, c, &session).await;
    session
}

async fn complete_the_lesson(app: &TestApp, c: &Cohort, session: &str) -> Value {
    let path = format!("/v1/learn/cohorts/{}/lessons/1/1/complete", c.cohort_id);
    let (status, done) = app.post(&path, session, json!(null)).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    done
}

/// `cohort`, its students not having started their coursework.
async fn cohort_before_coursework(app: &TestApp, slug: &str, required: u32, students: usize) -> (Cohort, Vec<String>) {
    let clinic = app.sign_up(slug).await;
    let (status, course) = app.post("/v1/courses", &clinic.token, course_body("lips", required)).await;
    assert_eq!(status, StatusCode::CREATED, "{course}");
    let course_id = course["id"].as_str().unwrap().to_owned();
    let (status, _) = app.post(&format!("/v1/courses/{course_id}/publish"), &clinic.token, json!(null)).await;
    assert_eq!(status, StatusCode::CREATED);
    let (educator_token, educator_id) = app.member_token(&clinic, "educator").await;
    let starts = app.app.store.clock.now().date_naive() + Duration::days(30);
    let body = json!({"course_id": course_id, "starts_on": starts, "ends_on": starts, "seats": 10,
        "educator_id": educator_id});
    let (status, cohort) = app.post("/v1/cohorts", &clinic.token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{cohort}");
    let cohort_id = cohort["id"].as_str().unwrap().to_owned();
    let mut enrolments = Vec::new();
    for i in 0..students {
        let student = json!({"name": format!("Student {i}"), "email": format!("s{i}@{slug}.test")});
        let (status, e) = app.post(&format!("/v1/cohorts/{cohort_id}/enrolments"), &clinic.token, student).await;
        assert_eq!(status, StatusCode::CREATED, "{e}");
        enrolments.push(e["id"].as_str().unwrap().to_owned());
    }
    (Cohort { clinic, cohort_id, educator_token }, enrolments)
}

fn entry(outcome: &str) -> Value {
    let yesterday = chrono::Utc::now().date_naive() - Duration::days(1);
    json!({"competency": "Lip filler", "performed_on": yesterday, "model": {"kind": "named", "name": "Model M"},
        "outcome": outcome, "notes": "Even result."})
}

fn logbook_path(c: &Cohort, enrolment: &str) -> String {
    format!("/v1/cohorts/{}/enrolments/{enrolment}/logbook", c.cohort_id)
}

/// The clinic's certificate numbers once there are `n` (the render worker issues them a moment
/// after the enrolment completes).
pub async fn certificate_of(app: &TestApp, token: &str, n: usize) -> Vec<String> {
    for _ in 0..300 {
        let (status, list) = app.get("/v1/certificates", token).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        let numbers: Vec<String> =
            list.as_array().unwrap().iter().map(|c| c["number"].as_str().unwrap().to_owned()).collect();
        if numbers.len() >= n {
            assert_eq!(numbers.len(), n, "{list}");
            return numbers;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no {n} certificates within 30 s");
}

#[tokio::test]
async fn only_the_cohorts_educator_or_a_manager_signs_off_and_a_correction_is_a_new_entry_that_replaces_an_outcome() {
    let app = spawn_app().await;
    let (c, enrolments) = cohort(&app, "signoff", 2, 1).await;
    let path = logbook_path(&c, &enrolments[0]);
    // The role before the body: a front desk or practitioner gets 403 even for nothing valid.
    for role in ["front_desk", "practitioner"] {
        let (token, _) = app.member_token(&c.clinic, role).await;
        let (status, _) = app.post(&path, &token, json!({"competency": 7})).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role}");
    }
    // Another educator of the clinic does not teach this cohort: as if it did not exist.
    let (other_educator, _) = app.member_token(&c.clinic, "educator").await;
    let (status, _) = app.post(&path, &other_educator, entry("competent")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.get(&format!("/v1/cohorts/{}/logbook", c.cohort_id), &other_educator).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let mut unknown = entry("competent");
    unknown["competency"] = json!("Threads");
    let (status, err) = app.post(&path, &c.educator_token, unknown).await;
    assert_eq!((status, err["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_competency")));

    let (status, first) = app.post(&path, &c.educator_token, entry("competent")).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["progress"][0]["competent"], 1);
    assert!(first["completed_at"].is_null());
    // The educator marks it "not yet" after all: a new entry naming the first.
    let mut correction = entry("not_yet");
    correction["corrects"] = first["entry"]["id"].clone();
    let (status, corrected) = app.post(&path, &c.educator_token, correction.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{corrected}");
    assert_eq!(corrected["progress"][0]["competent"], 0);
    let (status, err) = app.post(&path, &c.clinic.token, correction).await;
    assert_eq!((status, err["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("already_corrected")));
    // Both entries stand in the logbook, as recorded; the read is audited.
    let (status, book) = app.get(&format!("/v1/cohorts/{}/logbook", c.cohort_id), &c.educator_token).await;
    assert_eq!(status, StatusCode::OK, "{book}");
    let entries = book[0]["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!((entries[0]["outcome"].as_str(), entries[1]["outcome"].as_str()), (Some("competent"), Some("not_yet")));
    assert_eq!(book[0]["student_name"], "Student 0");
    app.settle(&[&c.clinic.tenant_id]).await;
    let actions = audit_actions(&app, &c.clinic).await;
    assert!(
        actions.contains(&"cohort.logbook_read".to_owned()) && actions.contains(&"logbook.entry_recorded".to_owned())
    );
    // The owner signs off twice more: the second meets the requirement and completes it, once.
    for expected_completion in [false, true] {
        let (status, signed) = app.post(&path, &c.clinic.token, entry("competent")).await;
        assert_eq!(status, StatusCode::CREATED, "{signed}");
        assert_eq!(signed["completed_at"].is_string(), expected_completion, "{signed}");
    }
    let (_, later) = app.post(&path, &c.educator_token, entry("competent")).await;
    assert!(later["completed_at"].is_string());
    assert_eq!(app.published(mas_usecases::completion::ENROLMENT_COMPLETED), 1, "completed once");
}

#[tokio::test]
async fn the_last_requirement_met_completes_the_course_whether_it_is_a_sign_off_or_the_coursework() {
    let app = spawn_app().await;
    let (c, enrolments) = cohort_before_coursework(&app, "coursework-last", 1, 1).await;
    let path = logbook_path(&c, &enrolments[0]);
    let (status, signed) = app.post(&path, &c.educator_token, entry("competent")).await;
    assert_eq!(status, StatusCode::CREATED, "{signed}");
    assert!(signed["completed_at"].is_null(), "the practicals are met, the lesson is not: {signed}");
    assert_eq!(app.published(mas_usecases::completion::ENROLMENT_COMPLETED), 0);
    let session = do_coursework(&app, &c, "s0@coursework-last.test").await;
    let (_, book) = app.get(&format!("/v1/cohorts/{}/logbook", c.cohort_id), &c.educator_token).await;
    assert!(book[0]["completed_at"].is_string(), "the lesson was the last requirement: {book}");
    // Completing the lesson again changes nothing.
    let again = complete_the_lesson(&app, &c, &session).await;
    assert_eq!(again["newly_completed"], false, "{again}");
    app.settle(&[&c.clinic.tenant_id]).await;
    assert_eq!(app.published(mas_usecases::completion::ENROLMENT_COMPLETED), 1, "completed once");
}

async fn audit_actions(app: &TestApp, clinic: &Clinic) -> Vec<String> {
    let month = app.app.store.clock.now().format("%Y-%m").to_string();
    let query = mas_ports::Query::partition(mas_store::keys::audit_month_pk(&clinic.tenant_id, &month));
    let items = app.app.store.table.query_all(&query).await.unwrap();
    items.iter().filter_map(|i| i.get("action").and_then(Value::as_str).map(str::to_owned)).collect()
}

/// `racers` sign-offs of one student at once, where any two complete the course: the enrolment
/// completes once and `academy.enrolment_completed` is announced once.
async fn completion_race(app: TestApp, slug: &str, racers: usize) {
    let (c, enrolments) = cohort(&app, slug, 2, 1).await;
    let app = Arc::new(app);
    let path = logbook_path(&c, &enrolments[0]);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..racers {
        let (app, path, token) = (app.clone(), path.clone(), c.educator_token.clone());
        tasks.spawn(async move { app.post(&path, &token, entry("competent")).await });
    }
    let mut completed = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (status, body) = done.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{body}");
        completed.push(body["completed_at"].clone());
    }
    // Serialised by the enrolment's version: the first commit cannot complete, every later one
    // sees it completed at one instant.
    let at: Vec<&Value> = completed.iter().filter(|c| c.is_string()).collect();
    assert_eq!(at.len(), racers - 1, "{completed:?}");
    assert!(at.iter().all(|c| *c == at[0]), "one completion: {completed:?}");
    let (_, book) = app.get(&format!("/v1/cohorts/{}/logbook", c.cohort_id), &c.clinic.token).await;
    assert_eq!(book[0]["entries"].as_array().unwrap().len(), racers);
    assert_eq!(app.published(mas_usecases::completion::ENROLMENT_COMPLETED), 1);
}

mod an_enrolment_completes_once_under_a_race_of_sign_offs {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn eight_at_once_on_sqlite() {
        super::completion_race(crate::support::app::spawn_app().await, "complete-race", 8).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn three_at_once_on_dynamodb() {
        let clock = std::sync::Arc::new(mas_ports::SystemClock);
        if let Some(app) = crate::support::app::spawn_app_on_moto("academy_complete", clock).await {
            super::completion_race(app, "complete-moto", 3).await;
        }
    }
}

/// A student of a one-observation course signed off: completed, and its certificate issued.
async fn certified(app: &TestApp, slug: &str, students: usize) -> (Cohort, Vec<String>, Vec<String>) {
    let (c, enrolments) = cohort(app, slug, 1, students).await;
    for e in &enrolments {
        let (status, signed) = app.post(&logbook_path(&c, e), &c.educator_token, entry("competent")).await;
        assert_eq!(status, StatusCode::CREATED, "{signed}");
        assert!(signed["completed_at"].is_string(), "{signed}");
    }
    let numbers = certificate_of(app, &c.clinic.token, students).await;
    (c, enrolments, numbers)
}

#[tokio::test]
async fn a_certificate_is_issued_once_when_its_event_is_delivered_twice() {
    let app = spawn_app().await;
    let (c, _, numbers) = certified(&app, "cert-once", 1).await;
    app.settle(&[&c.clinic.tenant_id]).await;
    let event =
        app.events.published().into_iter().find(|e| e.kind == mas_usecases::completion::ENROLMENT_COMPLETED).unwrap();
    let body = mas_usecases::notifications::plan::Work::event_body(&event);
    let renderer: Arc<dyn mas_ports::Renderer> = Arc::new(mas_render::KrillaRenderer::new());
    // Twice more, one after the other and then two at once: the same certificate each time.
    for _ in 0..2 {
        let made = mas_render::worker::handle(&app.app, renderer.clone(), &body).await.unwrap();
        let mas_render::worker::Made::Certificate(again) = made else { panic!("a certificate: {made:?}") };
        assert_eq!(again.number.as_str(), numbers[0]);
    }
    let (one, two) = tokio::join!(
        mas_render::worker::handle(&app.app, renderer.clone(), &body),
        mas_render::worker::handle(&app.app, renderer.clone(), &body)
    );
    for made in [one.unwrap(), two.unwrap()] {
        let mas_render::worker::Made::Certificate(again) = made else { panic!("a certificate") };
        assert_eq!(again.number.as_str(), numbers[0]);
    }
    app.settle(&[&c.clinic.tenant_id]).await;
    certificate_of(&app, &c.clinic.token, 1).await;
    assert_eq!(app.published(mas_usecases::certificates::CERTIFICATE_ISSUED), 1);
}

async fn public(app: &TestApp, path: &str) -> reqwest::Response {
    reqwest::get(format!("{}{path}", app.base)).await.unwrap()
}

#[tokio::test]
async fn the_verification_page_says_valid_with_the_pdfs_hash_then_revoked_with_the_status_bit_set() {
    let app = spawn_app().await;
    let (c, _, numbers) = certified(&app, "cert-page", 1).await;
    let number = &numbers[0];
    assert!(number.starts_with("CERT-") && number.len() == "CERT-2026-XXXX-XXXX-XXXX".len(), "{number}");
    let page_path = format!("/v1/public/{}/certificates/{number}", c.clinic.slug);
    let (status, page) = app.call("GET", &page_path, None, None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!((page["status"].as_str(), page["cpd_hours"].as_u64()), (Some("valid"), Some(8)));
    assert_eq!(page["student_name"], "Student 0");
    assert_eq!(page["course_title"], "Dermal fillers: lips");
    // What the certificate shows and nothing more: no email, no internal ids.
    let text = page.to_string();
    for private in ["@cert-page.test", "enr_", "coh_", "crs_"] {
        assert!(!text.contains(private), "the page shows {private}: {text}");
    }
    // The PDF as served hashes to what the page says; the page is not fooled by one changed byte.
    let pdf = public(&app, &format!("{page_path}/pdf")).await;
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    let bytes = pdf.bytes().await.unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    assert_eq!(hex::encode(Sha256::digest(&bytes)), page["file_sha256"].as_str().unwrap());

    let (token, _) = app.member_token(&c.clinic, "educator").await;
    let revoke = format!("/v1/certificates/{number}/revoke");
    let (status, _) = app.post(&revoke, &token, json!(null)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "an educator does not revoke");
    let (status, revoked) = app.post(&revoke, &c.clinic.token, json!(null)).await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    let (status, err) = app.post(&revoke, &c.clinic.token, json!(null)).await;
    assert_eq!((status, err["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("already_revoked")));
    let (_, page) = app.call("GET", &page_path, None, None).await;
    assert_eq!(page["status"], "revoked", "{page}");
    assert!(page["revoked_at"].is_string());
    let index = revoked["status_index"].as_u64().unwrap() as u32;
    assert!(mas_usecases::certificates::status_bit(&app.app.store, &c.clinic.tenant_id, index).await.unwrap());
    // The published list says so too: its encodedList, inflated, has the bit set.
    let list = public(&app, &format!("/v1/public/{}/academy/status-list", c.clinic.slug)).await;
    assert_eq!(list.headers()["content-type"], "application/vc+jwt");
    let jwt = list.text().await.unwrap();
    let claims: Value = {
        use base64::Engine;
        let part = jwt.split('.').nth(1).unwrap();
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    };
    let encoded = claims["credentialSubject"]["encodedList"].as_str().unwrap();
    let bits = inflate(encoded);
    assert_ne!(bits[(index / 8) as usize] & (0x80 >> (index % 8)), 0);
}

fn inflate(encoded: &str) -> Vec<u8> {
    use base64::Engine;
    use std::io::Read;
    let compressed =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(encoded.strip_prefix('u').unwrap()).unwrap();
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(&compressed[..]).read_to_end(&mut raw).unwrap();
    raw
}

#[tokio::test]
async fn a_clinic_has_one_signing_key_however_many_certificates_and_never_serves_another_clinics() {
    let app = spawn_app().await;
    let b = app.sign_up("cert-key-b").await;
    // Before its first certificate a clinic publishes no issuer.
    let (status, _) = app.call("GET", &format!("/v1/public/{}/academy/issuer", b.slug), None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Two first uses of the key at once keep one key.
    let audit = mas_store::AuditContext {
        tenant_id: b.tenant_id.clone(),
        actor: "test".into(),
        role: None,
        request_id: mas_domain::ids::RequestId::new(),
    };
    let (k1, k2) = tokio::join!(
        mas_usecases::credentials::signing_key(&app.app.store, &app.app.keyring, &audit),
        mas_usecases::credentials::signing_key(&app.app.store, &app.app.keyring, &audit)
    );
    use ring::signature::KeyPair;
    let (k1, k2) = (k1.unwrap(), k2.unwrap());
    let stored = mas_usecases::credentials::public_jwk(&app.app.store, &b.tenant_id).await.unwrap().unwrap();
    let stored_x = stored["x"].as_str().unwrap().to_owned();
    {
        use base64::Engine;
        let x = |k: &ring::signature::Ed25519KeyPair| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(k.public_key().as_ref())
        };
        assert_eq!((x(&k1), x(&k2)), (stored_x.clone(), stored_x.clone()), "both callers sign with the stored key");
    }

    let (a, _, numbers) = certified(&app, "cert-key-a", 2).await;
    let (_, issuer) = app.call("GET", &format!("/v1/public/{}/academy/issuer", a.clinic.slug), None, None).await;
    let a_x = issuer["verificationMethod"][0]["publicKeyJwk"]["x"].as_str().unwrap().to_owned();
    assert_ne!(a_x, stored_x, "each clinic its own key");
    app.settle(&[&a.clinic.tenant_id]).await;
    let made = audit_actions(&app, &a.clinic).await.iter().filter(|x| *x == "issuer_key.created").count();
    assert_eq!(made, 1, "one key for two certificates");
    // Both credentials name A's key and A's issuer; B's address never serves A's certificate.
    for number in &numbers {
        let credential = public(&app, &format!("/v1/public/{}/certificates/{number}/credential", a.clinic.slug)).await;
        let jwt = credential.text().await.unwrap();
        let claims: Value = {
            use base64::Engine;
            let part = jwt.split('.').nth(1).unwrap();
            serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
        };
        assert_eq!(claims["iss"], issuer["id"]);
        assert!(!jwt.contains("@cert-key-a.test") && !claims.to_string().contains("@cert-key-a.test"), "hashed email");
        for suffix in ["", "/pdf", "/credential"] {
            let path = format!("/v1/public/{}/certificates/{number}{suffix}", b.slug);
            let (status, _) = app.call("GET", &path, None, None).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        }
    }
    let (_, b_list) = app.get("/v1/certificates", &b.token).await;
    assert_eq!(b_list, json!([]));
}

/// The venv's Python, when it has the independent verifier; `None` skips the check outside
/// scripts/test (which installs it, and sets `MAS_TEST_MOTO_URL`: there its absence fails).
fn verifier_python() -> Option<std::path::PathBuf> {
    let cache = std::env::var("MAS_CACHE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::path::PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/mas"));
    let python = cache.join("venv/bin/python");
    let has = std::process::Command::new(&python)
        .args(["-c", "import openbadgeslib.ob3"])
        .status()
        .is_ok_and(|s| s.success());
    if has {
        return Some(python);
    }
    assert!(
        std::env::var(crate::support::aws::MOTO_URL).is_err(),
        "scripts/test installs openbadgeslib (scripts/requirements-test.txt) into {}",
        python.display()
    );
    eprintln!("skipped: no openbadgeslib in {} (scripts/venv installs it)", python.display());
    None
}

fn verify(python: &std::path::Path, app: &TestApp, slug: &str, number: &str, email: &str, expect: &str) -> String {
    let script = crate::repo_root().join("scripts/verify_badges.py");
    let output = std::process::Command::new(python)
        .arg(script)
        .args([app.base.as_str(), slug, number, email, expect])
        .output()
        .expect("the verifier runs");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "verify_badges.py expected {expect}: {text}");
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_credential_passes_an_independent_open_badges_verifier_and_fails_it_once_revoked() {
    let Some(python) = verifier_python() else { return };
    let app = spawn_app().await;
    let (c, _, numbers) = certified(&app, "cert-ob3", 1).await;
    let number = numbers[0].clone();
    let (slug, email) = (c.clinic.slug.clone(), "s0@cert-ob3.test".to_owned());
    let (python2, base) = (python.clone(), Arc::new(app));
    let app = base.clone();
    let said = tokio::task::spawn_blocking({
        let (slug, number, email) = (slug.clone(), number.clone(), email.clone());
        move || verify(&python2, &app, &slug, &number, &email, "valid")
    })
    .await
    .unwrap();
    assert!(said.contains("VALID"), "{said}");
    let (status, _) = base.post(&format!("/v1/certificates/{number}/revoke"), &c.clinic.token, json!(null)).await;
    assert_eq!(status, StatusCode::OK);
    let app = base.clone();
    let said =
        tokio::task::spawn_blocking(move || verify(&python, &app, &slug, &number, &email, "revoked")).await.unwrap();
    assert!(said.contains("REVOKED"), "{said}");
}
