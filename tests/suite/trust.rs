//! Issue 13's trust findings, each reproduced as an attacker would and shown fixed: black-box
//! over HTTP against the same router the local host serves.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::booking::{answers, booking, fixed_app, public_booking, setup, tuesday};

async fn medical_file(app: &crate::support::app::TestApp, token: &str, client: &str) -> Value {
    let (status, file) = app.get(&format!("/v1/clients/{client}/medical"), token).await;
    assert_eq!(status, StatusCode::OK, "{file}");
    file
}

#[tokio::test]
async fn a_visitor_who_knows_a_clients_email_cannot_replace_the_medical_history_the_clinic_recorded() {
    let (app, _) = fixed_app().await;
    let s = setup(&app, "integrity").await;
    let t = &s.clinic.token;
    // The clinic recorded that Ada takes anticoagulants.
    let mut on_warfarin = answers();
    on_warfarin["anticoagulants"] = json!(true);
    let (status, _) = app.put(&format!("/v1/clients/{}/medical", s.client_id), t, on_warfarin).await;
    assert_eq!(status, StatusCode::OK);

    // A visitor books a toxin treatment with her email, answering "no" to everything: screened on
    // the stricter of the record and the answers, refused, without saying what the record holds.
    let path = "/v1/public/integrity/appointments";
    let (status, refused) = app
        .call("POST", path, None, Some(public_booking(&s, tuesday(10, 0), "ada.lovelace@clients.test", answers())))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["error"]["code"], "consultation_required");
    assert!(refused["error"]["details"].get("flags").is_none(), "the record's flags stay private: {refused}");
    assert!(!refused.to_string().contains("anticoagulant"), "{refused}");

    // Nothing of hers changed, and the refused booking left no submission either.
    let file = medical_file(&app, t, &s.client_id).await;
    assert_eq!(file["versions"].as_array().unwrap().len(), 1, "{file}");
    assert_eq!(file["latest"]["answers"]["anticoagulants"], true);
    assert_eq!(file["submissions"], json!([]));

    // A later staff booking of the toxin treatment is still screened on the clinic's record.
    let (status, staff) = app.post("/v1/appointments", t, booking(&s, &s.service_id, tuesday(11, 0), None)).await;
    assert_eq!(
        (status, staff["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("consultation_required"))
    );
}

#[tokio::test]
async fn a_booked_visitors_answers_are_kept_for_clinician_review_and_never_become_the_record() {
    let (app, _) = fixed_app().await;
    let s = setup(&app, "review").await;
    let t = &s.clinic.token;
    let (status, _) = app.put(&format!("/v1/clients/{}/medical", s.client_id), t, answers()).await;
    assert_eq!(status, StatusCode::OK);
    let mut declared = answers();
    declared["medications"] = json!("Metformin");
    let (status, booked) = app
        .call(
            "POST",
            "/v1/public/review/appointments",
            None,
            Some(public_booking(&s, tuesday(10, 0), "ada.lovelace@clients.test", declared)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{booked}");
    assert_eq!(booked["client_id"], s.client_id.as_str());
    let file = medical_file(&app, t, &s.client_id).await;
    assert_eq!(file["versions"].as_array().unwrap().len(), 1, "the clinic's record is untouched: {file}");
    assert!(file["latest"]["answers"]["medications"].is_null());
    let submissions = file["submissions"].as_array().unwrap();
    assert_eq!(submissions.len(), 1, "{file}");
    assert_eq!(submissions[0]["answers"]["medications"], "Metformin");
    let (_, timeline) = app.get(&format!("/v1/clients/{}/timeline", s.client_id), t).await;
    assert!(timeline.to_string().contains("medical.submitted"), "{timeline}");
}

#[tokio::test]
async fn a_refused_public_booking_leaves_no_client_and_no_answers_behind() {
    let (app, _) = fixed_app().await;
    let s = setup(&app, "no-trace").await;
    let t = &s.clinic.token;
    // Every practitioner is taken at 10:00, so a public booking then is refused (409).
    for _ in 0..3 {
        let (status, body) = app.post("/v1/appointments", t, booking(&s, &s.service_id, tuesday(10, 0), None)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let path = "/v1/public/no-trace/appointments";
    let email = "newcomer@visitors.test";
    for _ in 0..3 {
        let (status, body) =
            app.call("POST", path, None, Some(public_booking(&s, tuesday(10, 0), email, answers()))).await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
    }
    let (status, found) = app.get(&format!("/v1/clients?q={email}"), t).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["items"], json!([]), "no client was left by the refused bookings: {found}");

    // An existing client's refused booking leaves no submission either.
    let (status, _) = app
        .call("POST", path, None, Some(public_booking(&s, tuesday(10, 0), "ada.lovelace@clients.test", answers())))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let file = medical_file(&app, t, &s.client_id).await;
    assert_eq!(file["submissions"], json!([]), "{file}");

    // The same visitor at a free time becomes a client once, with one submission.
    let (status, booked) = app
        .send_with_headers(
            "POST",
            path,
            None,
            &[("Idempotency-Key", "retry-1")],
            Some(public_booking(&s, tuesday(12, 0), email, answers())),
        )
        .await
        .into_status_and_body();
    assert_eq!(status, StatusCode::CREATED, "{booked}");
    let (status, replay) = app
        .send_with_headers(
            "POST",
            path,
            None,
            &[("Idempotency-Key", "retry-1")],
            Some(public_booking(&s, tuesday(12, 0), email, answers())),
        )
        .await
        .into_status_and_body();
    assert_eq!((status, &replay["id"]), (StatusCode::CREATED, &booked["id"]));
    let client = booked["client_id"].as_str().unwrap();
    let file = medical_file(&app, t, client).await;
    assert_eq!(file["submissions"].as_array().unwrap().len(), 1, "the retry ran nothing twice: {file}");
}

/// `(status, headers, body)` → `(status, body)`.
trait StatusAndBody {
    fn into_status_and_body(self) -> (StatusCode, Value);
}

impl StatusAndBody for (StatusCode, reqwest::header::HeaderMap, Value) {
    fn into_status_and_body(self) -> (StatusCode, Value) {
        (self.0, self.2)
    }
}
