//! Texts from clients over HTTP: the Twilio signature gate, STOP/START/C/HELP, unknown senders,
//! delivery reports, and the preferences and message-log routes they show up in.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::booking::{booking, now, setup, tuesday};
use crate::support::app::*;

async fn post_twilio(
    app: &TestApp,
    path: &str,
    form: &[(&str, &str)],
    signature: Option<String>,
) -> (StatusCode, String) {
    let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
    let mut request = reqwest::Client::new()
        .post(format!("{}{path}", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    if let Some(signature) = signature {
        request = request.header("x-twilio-signature", signature);
    }
    let response = request.send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

fn sign(app: &TestApp, path: &str, form: &[(&str, &str)]) -> String {
    let params: Vec<(String, String)> = form.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    mas_domain::twilio::signature(TWILIO_TOKEN, &format!("{}{path}", app.base), &params)
}

/// Waits for the outbox to hold a text to `phone` (the worker runs beside the test).
async fn wait_for_text(app: &TestApp, phone: &str) -> Value {
    for _ in 0..200 {
        let (_, outbox) = app.call("GET", "/local/outbox.json", None, None).await;
        if let Some(text) = outbox.as_array().unwrap().iter().find(|m| m["channel"] == "sms" && m["to"] == phone) {
            return text.clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no text to {phone} reached the outbox");
}

#[tokio::test]
async fn texts_from_clients_confirm_stop_restart_and_ask_for_help_and_forged_ones_change_nothing() {
    let (app, _clock) = crate::booking::fixed_app().await;
    let s = setup(&app, "sms-clinic").await;
    let t = &s.clinic.token;
    let phone = "+447700900555";
    let (status, _) = app
        .call("PATCH", &format!("/v1/clients/{}", s.client_id), Some(t), Some(json!({"version": 1, "phone": phone})))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, appointment) = app.post("/v1/appointments", t, booking(&s, &s.service_id, tuesday(11, 0), None)).await;
    assert_eq!(status, StatusCode::CREATED, "{appointment}");
    let confirmation = wait_for_text(&app, phone).await;
    assert!(confirmation["text"].as_str().unwrap().contains("BK-"), "{confirmation}");

    // Forged and unsigned texts: 403 and nothing written.
    let stop = [("From", phone), ("To", "+447700900000"), ("Body", "STOP"), ("MessageSid", "SM1")];
    let timeline_before = app.get(&format!("/v1/clients/{}/timeline", s.client_id), t).await.1;
    assert_eq!(post_twilio(&app, "/webhooks/twilio", &stop, None).await.0, StatusCode::FORBIDDEN);
    assert_eq!(post_twilio(&app, "/webhooks/twilio", &stop, Some("Zm9yZ2Vk".into())).await.0, StatusCode::FORBIDDEN);
    let mut tampered = stop;
    tampered[2] = ("Body", "START");
    assert_eq!(
        post_twilio(&app, "/webhooks/twilio", &tampered, Some(sign(&app, "/webhooks/twilio", &stop))).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.get(&format!("/v1/clients/{}/timeline", s.client_id), t).await.1, timeline_before);

    // C confirms attendance.
    let confirm = [("From", phone), ("To", "+447700900000"), ("Body", " c "), ("MessageSid", "SM2")];
    let (status, twiml) =
        post_twilio(&app, "/webhooks/twilio", &confirm, Some(sign(&app, "/webhooks/twilio", &confirm))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(twiml.contains("<Message>") && twiml.contains("confirmed"), "{twiml}");
    let (_, stored) = app.get(&format!("/v1/appointments/{}", appointment["id"].as_str().unwrap()), t).await;
    assert!(stored["attendance_confirmed_at"].is_string(), "{stored}");

    // STOP turns SMS off; the same delivery again changes nothing more; START turns it back on.
    let (status, twiml) =
        post_twilio(&app, "/webhooks/twilio", &stop, Some(sign(&app, "/webhooks/twilio", &stop))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(twiml.contains("START"), "{twiml}");
    let (_, prefs) = app.get(&format!("/v1/clients/{}/preferences", s.client_id), t).await;
    assert_eq!(prefs["sms"], json!({"transactional": false, "marketing": false}));
    assert_eq!(prefs["email"]["transactional"], true);
    let start = [("From", phone), ("To", "+447700900000"), ("Body", "START"), ("MessageSid", "SM3")];
    post_twilio(&app, "/webhooks/twilio", &start, Some(sign(&app, "/webhooks/twilio", &start))).await;
    let (_, prefs) = app.get(&format!("/v1/clients/{}/preferences", s.client_id), t).await;
    assert_eq!(prefs["sms"]["transactional"], true);

    // HELP answers with the clinic's contact; a stranger gets an empty answer.
    let help = [("From", phone), ("To", "+447700900000"), ("Body", "HELP"), ("MessageSid", "SM4")];
    let (_, twiml) = post_twilio(&app, "/webhooks/twilio", &help, Some(sign(&app, "/webhooks/twilio", &help))).await;
    assert!(twiml.contains("Clinic sms-clinic: for help"), "{twiml}");
    let stranger = [("From", "+15550001111"), ("To", "+447700900000"), ("Body", "STOP"), ("MessageSid", "SM5")];
    let (status, twiml) =
        post_twilio(&app, "/webhooks/twilio", &stranger, Some(sign(&app, "/webhooks/twilio", &stranger))).await;
    assert_eq!((status, twiml.contains("<Response/>")), (StatusCode::OK, true));

    // Every text in and out is on the log, and the timeline.
    let (status, log) = app.get(&format!("/v1/notifications?client_id={}", s.client_id), t).await;
    assert_eq!(status, StatusCode::OK);
    let inbound = log.as_array().unwrap().iter().filter(|m| m["direction"] == "inbound").count();
    assert_eq!(inbound, 4, "{log}");
    let (_, timeline) = app.get(&format!("/v1/clients/{}/timeline?limit=100", s.client_id), t).await;
    let kinds: Vec<&str> = timeline["items"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert!(
        kinds.contains(&"message.received")
            && kinds.contains(&"message.sent")
            && kinds.contains(&"preferences.updated"),
        "{kinds:?}"
    );

    // A delivery report moves the text to delivered.
    let sent = log.as_array().unwrap().iter().find(|m| m["direction"] == "outbound" && m["channel"] == "sms").unwrap();
    let reference = format!("{}.{}", s.clinic.tenant_id, sent["id"].as_str().unwrap());
    let path = format!("/webhooks/twilio/status?message={reference}");
    let report = [("MessageSid", "SMx"), ("MessageStatus", "delivered")];
    assert_eq!(post_twilio(&app, &path, &report, None).await.0, StatusCode::FORBIDDEN);
    assert_eq!(post_twilio(&app, &path, &report, Some(sign(&app, &path, &report))).await.0, StatusCode::NO_CONTENT);
    let (_, log) = app.get(&format!("/v1/notifications?client_id={}", s.client_id), t).await;
    let updated = log.as_array().unwrap().iter().find(|m| m["id"] == sent["id"]).unwrap();
    assert_eq!(updated["status"], "delivered");
    let _ = now();
}

#[tokio::test]
async fn staff_set_preferences_and_a_bad_body_is_refused_with_422() {
    let app = spawn_app().await;
    let clinic = app.sign_up("prefs-clinic").await;
    let (_, client) =
        app.post("/v1/clients", &clinic.token, client_body("Grace", "Hopper", Some("grace@clients.test"))).await;
    let id = client["id"].as_str().unwrap();
    let (_, prefs) = app.get(&format!("/v1/clients/{id}/preferences"), &clinic.token).await;
    assert_eq!(
        prefs,
        json!({"email": {"transactional": true, "marketing": false}, "sms": {"transactional": true, "marketing": false}})
    );
    let wanted = json!({"email": {"transactional": true, "marketing": true}, "sms": {"transactional": false, "marketing": false}});
    let (status, saved) = app.put(&format!("/v1/clients/{id}/preferences"), &clinic.token, wanted.clone()).await;
    assert_eq!((status, saved), (StatusCode::OK, wanted.clone()));
    assert_eq!(app.get(&format!("/v1/clients/{id}/preferences"), &clinic.token).await.1, wanted);
    let (status, _) = app.put(&format!("/v1/clients/{id}/preferences"), &clinic.token, json!({"email": "yes"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app.get("/v1/clients/cli_nobody/preferences", &clinic.token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_signed_unsubscribe_link_turns_marketing_off_in_one_click_and_a_forged_one_is_not_found() {
    let app = spawn_app().await;
    let clinic = app.sign_up("unsub-clinic").await;
    let mut body = client_body("Ada", "Byron", Some("ada.byron@clients.test"));
    body["marketing_consent"] = json!(true);
    let (_, client) = app.post("/v1/clients", &clinic.token, body).await;
    let id = mas_domain::ids::ClientId::parse(client["id"].as_str().unwrap()).unwrap();
    let url = mas_usecases::notifications::unsubscribe_url(
        &mas_usecases::notifications::Notifier::of(&app.app),
        &app.base,
        &clinic.tenant_id,
        &id,
    );
    let path = url.strip_prefix(&app.base).unwrap().to_owned();
    let (_, prefs) = app.get(&format!("/v1/clients/{id}/preferences"), &clinic.token).await;
    assert_eq!((prefs["email"]["marketing"].as_bool(), prefs["sms"]["marketing"].as_bool()), (Some(true), Some(true)));

    let forged = format!("{}x", &path[..path.len() - 1]);
    let (status, _) =
        app.post_bytes(&forged, "application/x-www-form-urlencoded", b"List-Unsubscribe=One-Click".to_vec()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.get_text(&path).await;
    assert_eq!(status, StatusCode::OK);
    let (_, unchanged) = app.get(&format!("/v1/clients/{id}/preferences"), &clinic.token).await;
    assert_eq!(unchanged, prefs, "a GET changes nothing");
    let (status, _) =
        app.post_bytes(&path, "application/x-www-form-urlencoded", b"List-Unsubscribe=One-Click".to_vec()).await;
    assert_eq!(status, StatusCode::OK);
    let (_, prefs) = app.get(&format!("/v1/clients/{id}/preferences"), &clinic.token).await;
    assert_eq!(
        prefs,
        json!({"email": {"transactional": true, "marketing": false}, "sms": {"transactional": true, "marketing": false}})
    );
    // Opening the link (GET) only asks: link scanners cannot unsubscribe anyone.
    let (status, page) = app.get_text(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<form method=\"post\""), "{page}");
    assert_eq!(app.get_text(&forged).await.0, StatusCode::NOT_FOUND);
}
