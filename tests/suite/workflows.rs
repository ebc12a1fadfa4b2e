//! The workflows the bus drives on the local host, end to end: a confirmed booking gets its
//! consent forms from the worker, and opening a signing session sends its link by email and
//! text — a link that opens the signing page.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::booking::{booking, fixed_app, setup, tuesday};
use crate::support::app::*;

async fn outbox(app: &TestApp) -> Vec<Value> {
    app.call("GET", "/local/outbox.json", None, None).await.1.as_array().unwrap().clone()
}

#[tokio::test]
async fn a_confirmed_booking_gets_its_consent_from_the_worker_and_the_signing_link_reaches_the_client_by_email_and_text()
 {
    let (app, _clock) = fixed_app().await;
    let s = setup(&app, "flows").await;
    let t = &s.clinic.token;
    let (status, _) = app
        .call(
            "PATCH",
            &format!("/v1/clients/{}", s.client_id),
            Some(t),
            Some(json!({"version": 1, "phone": "+447700900777"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, appointment) = app.post("/v1/appointments", t, booking(&s, &s.service_id, tuesday(10, 0), None)).await;
    assert_eq!(status, StatusCode::CREATED, "{appointment}");

    // The worker (on booking.confirmed) generates the anti-wrinkle consent and aftercare.
    let mut generated = Vec::new();
    for _ in 0..200 {
        generated = app.events.published().into_iter().filter(|e| e.kind == "document.generated").collect();
        if generated.len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let kinds: Vec<&str> = generated.iter().map(|e| e.payload["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"consent") && kinds.contains(&"aftercare"), "{kinds:?}");
    let consent = generated.iter().find(|e| e.payload["kind"] == "consent").unwrap();
    assert_eq!(consent.payload["appointment_id"], appointment["id"]);
    let document_id = consent.payload["document_id"].as_str().unwrap();
    wait_for_pdf(&app, t, document_id, "pdf").await;

    // Staff open e-sign: the client gets the link by email and by text, once each.
    let (status, opened) = app.post(&format!("/v1/documents/{document_id}/esign"), t, json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{opened}");
    let mut requests = Vec::new();
    for _ in 0..200 {
        requests = outbox(&app)
            .await
            .into_iter()
            .filter(|m| m["text"].as_str().unwrap_or_default().contains("/v1/esign/"))
            .collect();
        if requests.len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let mut channels: Vec<&str> = requests.iter().map(|m| m["channel"].as_str().unwrap()).collect();
    channels.sort();
    assert_eq!(channels, ["email", "sms"]);
    let email = requests.iter().find(|m| m["channel"] == "email").unwrap();
    assert!(email["subject"].as_str().unwrap().starts_with("Please sign"), "{email}");
    let text = email["text"].as_str().unwrap();
    let link = text.split_whitespace().find(|w| w.contains("/v1/esign/")).unwrap();
    let path = link.strip_prefix(&app.base).expect("a link to this host").to_owned();
    let (status, page) = app.get_text(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Ada Lovelace") || page.contains("sign"), "the signing page");
    // Its reminder is planned (a day on, or half a day before the link expires).
    let session = opened["session"]["id"].as_str().unwrap();
    let plan = mas_ports::Query::partition(mas_store::keys::reminder_plan(&s.clinic.tenant_id, session));
    let items = app.app.store.table.query_all(&plan).await.unwrap();
    assert_eq!(items.len(), 1, "one signature reminder planned");
    // The link mailed is the link staff were given.
    assert_eq!(link, opened["sign_url"].as_str().unwrap());
}
