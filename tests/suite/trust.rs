//! Issue 13's trust findings, each reproduced as an attacker would and shown fixed: black-box
//! over HTTP against the same router the local host serves.

use std::sync::Arc;

use mas_ports::FixedClock;
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
    let book_once = || async {
        let body = Some(public_booking(&s, tuesday(12, 0), email, answers()));
        let (status, _, body) =
            app.send_with_headers("POST", path, None, &[("Idempotency-Key", "retry-1")], body).await;
        (status, body)
    };
    let (status, booked) = book_once().await;
    assert_eq!(status, StatusCode::CREATED, "{booked}");
    let (status, replay) = book_once().await;
    assert_eq!((status, &replay["id"]), (StatusCode::CREATED, &booked["id"]));
    let client = booked["client_id"].as_str().unwrap();
    let file = medical_file(&app, t, client).await;
    assert_eq!(file["submissions"].as_array().unwrap().len(), 1, "the retry ran nothing twice: {file}");
}

fn with_phone(mut body: Value, phone: &str) -> Value {
    body["client"]["phone"] = json!(phone);
    body
}

#[tokio::test]
async fn a_public_booking_with_a_number_in_a_country_the_clinic_does_not_text_is_refused_and_writes_nothing() {
    let (app, _) = fixed_app().await;
    let s = setup(&app, "countries").await;
    let email = "abroad@visitors.test";
    let body = with_phone(public_booking(&s, tuesday(10, 0), email, answers()), "+1 212 555 0123");
    let (status, refused) = app.call("POST", "/v1/public/countries/appointments", None, Some(body)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["error"]["code"], "phone_country_not_texted");
    assert_eq!(refused["error"]["details"]["field"], "client.phone");
    assert_eq!(app.get(&format!("/v1/clients?q={email}"), &s.clinic.token).await.1["items"], json!([]));

    // A clinic that texts the United States takes it.
    let mut settings = app.get("/v1/notification-settings", &s.clinic.token).await.1;
    settings["sms_countries"] = json!(["GB", "US"]);
    assert_eq!(app.put("/v1/notification-settings", &s.clinic.token, settings).await.0, StatusCode::OK);
    let body = with_phone(public_booking(&s, tuesday(10, 0), email, answers()), "+1 212 555 0123");
    let (status, booked) = app.call("POST", "/v1/public/countries/appointments", None, Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{booked}");
}

#[tokio::test]
async fn public_bookings_are_limited_per_phone_number_and_per_address_with_retry_after() {
    use mas_domain::limits::Bucket;
    let limits = mas_usecases::limits::Limits {
        booking_per_phone: Bucket { capacity: 2, refill_seconds: 1800 },
        booking_per_address: Bucket { capacity: 4, refill_seconds: 900 },
        ..Default::default()
    };
    let app =
        crate::support::app::spawn_app_with_limits(Arc::new(FixedClock::new(crate::booking::now())), limits).await;
    let s = setup(&app, "limits").await;
    let path = "/v1/public/limits/appointments";
    let book = |hour: u32, email: &str, phone: &str| {
        let body = with_phone(public_booking(&s, tuesday(hour, 0), email, answers()), phone);
        app.send_with_headers("POST", path, None, &[], Some(body))
    };
    for hour in [10, 11] {
        let (status, _, body) = book(hour, "pumped@visitors.test", "+44 7700 900123").await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, headers, refused) = book(12, "pumped@visitors.test", "+44 7700 900123").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{refused}");
    assert_eq!(refused["error"]["code"], "rate_limited");
    assert_eq!(headers.get("retry-after").and_then(|v| v.to_str().ok()), Some("1800"), "one token back in 30 minutes");

    // Other numbers from the same address: the address's own limit (4 an hour, one spent on the
    // refused try) lets one more through, then ends it.
    let (status, _, body) = book(13, "other@visitors.test", "+44 7700 900456").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, headers, body) = book(14, "third@visitors.test", "+44 7700 900789").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(headers.get("retry-after").and_then(|v| v.to_str().ok()), Some("900"));
}

#[tokio::test]
async fn a_clinics_booking_window_lets_exactly_its_allowance_of_simultaneous_visitors_through_and_then_says_when_it_reopens()
 {
    use mas_domain::limits::Window;
    let limits =
        mas_usecases::limits::Limits { booking_per_clinic: Window { max: 4, seconds: 3600 }, ..Default::default() };
    // 08:00 UTC on the fixed clock: the hour's window reopens in 3600 s.
    let app =
        crate::support::app::spawn_app_with_limits(Arc::new(FixedClock::new(crate::booking::now())), limits).await;
    let s = setup(&app, "window").await;
    let path = "/v1/public/window/appointments";
    let attempts = (0..7u32).map(|i| {
        let body = public_booking(&s, tuesday(10 + i, 0), &format!("visitor{i}@visitors.test"), answers());
        app.send_with_headers("POST", path, None, &[], Some(body))
    });
    let answers = crate::clients::futures_join_all(attempts).await;
    let created = answers.iter().filter(|(status, _, _)| *status == StatusCode::CREATED).count();
    let refused: Vec<_> = answers.iter().filter(|(status, _, _)| *status == StatusCode::TOO_MANY_REQUESTS).collect();
    assert_eq!((created, refused.len()), (4, 3), "{answers:?}");
    for (_, headers, body) in refused {
        assert_eq!(body["error"]["code"], "rate_limited");
        assert_eq!(headers.get("retry-after").and_then(|v| v.to_str().ok()), Some("3600"));
    }
}

#[tokio::test]
async fn the_daily_sms_budget_stops_texts_and_the_message_log_says_why() {
    let (app, _) = fixed_app().await;
    let s = setup(&app, "budget").await;
    let t = &s.clinic.token;
    let mut settings = app.get("/v1/notification-settings", t).await.1;
    settings["sms_daily_budget"] = json!(1);
    assert_eq!(app.put("/v1/notification-settings", t, settings).await.0, StatusCode::OK);
    let mut clients = Vec::new();
    for (hour, phone) in [(10, "+44 7700 900111"), (12, "+44 7700 900222")] {
        let email = format!("budget{hour}@visitors.test");
        let body = with_phone(public_booking(&s, tuesday(hour, 0), &email, answers()), phone);
        let (status, booked) = app.call("POST", "/v1/public/budget/appointments", None, Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{booked}");
        clients.push(booked["client_id"].as_str().unwrap().to_owned());
        app.settle(&[&s.clinic.tenant_id]).await;
    }
    let sms_of = |log: &Value| log.as_array().unwrap().iter().find(|m| m["channel"] == "sms").cloned().unwrap();
    let first = sms_of(&app.get(&format!("/v1/notifications?client_id={}", clients[0]), t).await.1);
    assert_eq!(first["status"], "sent", "{first}");
    let second = sms_of(&app.get(&format!("/v1/notifications?client_id={}", clients[1]), t).await.1);
    assert_eq!(second["status"], "skipped", "{second}");
    assert!(second["reason"].as_str().unwrap().contains("daily SMS budget (1)"), "{second}");
}

#[tokio::test]
async fn a_role_that_may_not_act_hears_403_before_anything_about_its_body() {
    let app = crate::support::app::spawn_app().await;
    let clinic = app.sign_up("role-first").await;
    let (support, _) = app.member_token(&clinic, "support").await;
    for (path, body) in [
        ("/v1/services", json!({})),
        ("/v1/services", json!({"name": 7})),
        ("/v1/team", json!({"email": "not an email"})),
        ("/v1/clients", json!({"first_name": ""})),
    ] {
        let (status, answer) = app.post(path, &support, body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {answer}");
    }
    // The same bodies from a role that may act are 422, naming the field.
    let (status, answer) = app.post("/v1/services", &clinic.token, json!({"name": 7})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
}

#[tokio::test]
async fn no_clinic_can_claim_another_clinics_address_or_a_name_the_platform_keeps() {
    let app = crate::support::app::spawn_app().await;
    let glow = app.sign_up("glow").await;
    let radiance = app.sign_up("radiance").await;
    // Radiance cannot answer at glow.{site domain}: it is Glow's by its slug.
    let (status, err) = app.put("/v1/brand", &radiance.token, json!({"subdomain": "glow"})).await;
    assert_eq!((status, err["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("host_taken")), "{err}");
    // Nor reach it as a "custom domain" under the platform's domain.
    let (status, err) = app.put("/v1/brand", &radiance.token, json!({"domain": "glow.sites.test"})).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("domain_is_platforms"))
    );
    // Glow may name its own slug as its subdomain.
    assert_eq!(app.put("/v1/brand", &glow.token, json!({"subdomain": "glow"})).await.0, StatusCode::OK);
    // A subdomain Radiance holds cannot become a new clinic's slug.
    assert_eq!(app.put("/v1/brand", &radiance.token, json!({"subdomain": "radiant"})).await.0, StatusCode::OK);
    let signup = |slug: &str| json!({"name": "Copycat", "slug": slug, "owner": {"email": "c@copy.test", "name": "C"}});
    let (status, err) = app.call("POST", "/v1/tenants", None, Some(signup("radiant"))).await;
    assert_eq!((status, err["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("slug_taken")), "{err}");
    // Names the platform keeps are nobody's.
    for reserved in ["www", "api", "app"] {
        let (status, err) = app.call("POST", "/v1/tenants", None, Some(signup(reserved))).await;
        assert_eq!((status, err["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("slug_reserved")));
        let (status, err) = app.put("/v1/brand", &glow.token, json!({"subdomain": reserved})).await;
        assert_eq!(
            (status, err["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("subdomain_reserved"))
        );
    }
}

#[tokio::test]
async fn the_owner_reads_the_audit_log_filtered_and_as_csv_and_other_roles_cannot() {
    let app = crate::support::app::spawn_app().await;
    let clinic = app.sign_up("audited").await;
    let (_, client) = app
        .post(
            "/v1/clients",
            &clinic.token,
            json!({"first_name": "Ada", "last_name": "Audit", "email": "ada@audit.test"}),
        )
        .await;
    let (status, page) = app.get("/v1/audit", &clinic.token).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let actions: Vec<&str> = page["items"].as_array().unwrap().iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(actions.first(), Some(&"client.created"), "newest first: {actions:?}");
    assert!(actions.contains(&"tenant.created"), "{actions:?}");
    let (_, only_clients) = app.get("/v1/audit?action=client.", &clinic.token).await;
    let items = only_clients["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{only_clients}");
    assert_eq!(
        (items[0]["actor"].as_str(), items[0]["entity_id"].as_str()),
        (Some(clinic.owner_id.as_str()), client["id"].as_str())
    );
    assert_eq!(items[0]["role"], "owner");

    let (status, csv) = app.get_text_with_token("/v1/audit?action=client.&format=csv", &clinic.token).await;
    assert_eq!(status, StatusCode::OK);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "at,actor,role,action,entity_id,request_id,id,integrity");
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[1].contains("\"client.created\""), "{csv}");

    let (status, _) = app.get("/v1/audit?month=2026-13", &clinic.token).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // A cursor this list never handed out is the caller's mistake, not a 500.
    for cursor in ["", "not-a-cursor", "eyJQSyI6Im90aGVyIiwiU0siOiJzIn0"] {
        let (status, err) = app.get(&format!("/v1/audit?cursor={cursor}"), &clinic.token).await;
        assert_eq!((status, err["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_cursor")));
    }
    for role in ["support", "finance", "practitioner", "front_desk"] {
        let (token, _) = app.member_token(&clinic, role).await;
        assert_eq!(app.get("/v1/audit", &token).await.0, StatusCode::FORBIDDEN, "{role}");
    }
}

#[tokio::test]
async fn only_clinical_staff_change_a_clients_sign_in_email_and_the_old_address_is_told() {
    let app = crate::support::app::spawn_app().await;
    let clinic = app.sign_up("contacts").await;
    let (_, client) = app
        .post("/v1/clients", &clinic.token, json!({"first_name": "Ada", "last_name": "Moved", "email": "ada@old.test"}))
        .await;
    let path = format!("/v1/clients/{}", client["id"].as_str().unwrap());
    let (desk, _) = app.member_token(&clinic, "front_desk").await;
    let (status, refused) = app.patch(&path, &desk, json!({"version": 1, "email": "mallory@evil.test"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    // Front desk still keeps other details up to date.
    let (status, _) = app.patch(&path, &desk, json!({"version": 1, "last_name": "Moved-Twice"})).await;
    assert_eq!(status, StatusCode::OK);

    let (status, changed) = app.patch(&path, &clinic.token, json!({"version": 2, "email": "ada@new.test"})).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    let (_, outbox) = app.call("GET", "/local/outbox.json", None, None).await;
    let notice =
        outbox.as_array().unwrap().iter().find(|m| m["to"] == "ada@old.test").expect("the old address is told");
    let text = notice["text"].as_str().unwrap();
    assert!(text.contains("a***@new.test") && !text.contains("ada@new.test"), "{text}");
    let (_, audit) = app.get("/v1/audit?action=client.updated", &clinic.token).await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 2, "both changes are in the audit log: {audit}");
}

#[tokio::test]
async fn a_custom_domain_answers_only_after_its_txt_record_proves_the_clinic_controls_it() {
    use mas_domain::values::Hostname;
    use mas_usecases::tenants::tenant_by_host;
    let app = crate::support::app::spawn_app().await;
    let glow = app.sign_up("glow").await;
    let radiance = app.sign_up("radiance").await;
    let dns = app.host.dns.clone().expect("the test host's DNS is recorded");
    let host = Hostname::parse("www.glow.example").unwrap();
    let answers_for = || async { tenant_by_host(&app.app.store, &host).await.ok() };
    let verify = |token: String| {
        let app = &app;
        async move { app.post("/v1/brand/domain/verify", &token, json!({})).await }
    };

    // Radiance names Glow's domain first: pending, it holds nothing and serves nothing.
    let (status, squatter) = app.put("/v1/brand", &radiance.token, json!({"domain": "www.glow.example"})).await;
    assert_eq!(status, StatusCode::OK, "{squatter}");
    assert_eq!(squatter["domain_verification"]["record_name"], "_mas-verify.www.glow.example");
    assert!(squatter["domain_verification"]["verified_at"].is_null(), "{squatter}");
    assert_eq!(answers_for().await, None);
    // So Glow is not kept out of its own domain; it gets its own token.
    let (status, brand) = app.put("/v1/brand", &glow.token, json!({"domain": "www.glow.example"})).await;
    assert_eq!(status, StatusCode::OK, "{brand}");
    let glow_record = brand["domain_verification"]["record_value"].as_str().unwrap().to_owned();
    let radiance_record = squatter["domain_verification"]["record_value"].as_str().unwrap().to_owned();
    assert_ne!(glow_record, radiance_record);

    // Before the record is published: 422 naming what to publish, and still nothing answers.
    let (status, err) = verify(glow.token.clone()).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("domain_not_verified"))
    );
    assert!(err["error"]["message"].as_str().unwrap().contains(&glow_record), "{err}");
    assert_eq!(answers_for().await, None);

    // Glow publishes its token at its DNS provider; Radiance's is not there.
    dns.set("_mas-verify.www.glow.example", vec![glow_record.clone()]);
    let (status, err) = verify(radiance.token.clone()).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("domain_not_verified"))
    );
    let (status, verified) = verify(glow.token.clone()).await;
    assert_eq!(status, StatusCode::OK, "{verified}");
    assert!(verified["domain_verification"]["verified_at"].is_string(), "{verified}");
    assert_eq!(answers_for().await, Some(glow.tenant_id.clone()));
    // Asking again changes nothing; nor does a new theme on the same domain.
    assert_eq!(verify(glow.token.clone()).await.1["version"], verified["version"]);
    let (_, themed) =
        app.put("/v1/brand", &glow.token, json!({"domain": "www.glow.example", "theme": "luxury_noir"})).await;
    assert!(themed["domain_verification"]["verified_at"].is_string(), "{themed}");
    assert_eq!(answers_for().await, Some(glow.tenant_id.clone()));

    // Even if the domain's owner publishes Radiance's token too, the first proven claim stands.
    dns.set("_mas-verify.www.glow.example", vec![glow_record.clone(), radiance_record.clone()]);
    let (status, err) = verify(radiance.token.clone()).await;
    assert_eq!((status, err["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("host_taken")), "{err}");
    assert_eq!(answers_for().await, Some(glow.tenant_id.clone()));

    // Glow moves to another domain: the old one is released, the new one starts pending.
    let (_, moved) = app.put("/v1/brand", &glow.token, json!({"domain": "glow.example"})).await;
    assert!(moved["domain_verification"]["verified_at"].is_null(), "{moved}");
    assert_eq!(answers_for().await, None);
    let (status, _) = verify(radiance.token.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answers_for().await, Some(radiance.tenant_id.clone()));

    // A clinic with no domain waiting has nothing to verify.
    let (status, err) = verify(app.sign_up("plain").await.token).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("no_domain_to_verify"))
    );
    let audit = app.get("/v1/audit?action=brand.domain_verified", &glow.token).await.1;
    assert_eq!(audit["items"].as_array().map(Vec::len), Some(1), "{audit}");
}

#[tokio::test]
async fn a_new_clinic_answers_nobody_in_public_until_its_owner_opens_the_emailed_link() {
    let app = crate::support::app::spawn_app().await;
    let fresh = app.sign_up_pending("fresh").await;
    let public = || async { app.call("GET", "/v1/public/fresh/catalog", None, None).await.0 };

    // Pending: the owner works on the clinic, but nothing public answers and nothing goes live.
    let (status, me) = app.get("/v1/me", &fresh.token).await;
    assert_eq!((status, me["tenant"]["status"].as_str()), (StatusCode::OK, Some("pending_email_verification")));
    assert_eq!(public().await, StatusCode::NOT_FOUND);
    let portal = app.call("POST", "/v1/public/fresh/portal/link", None, Some(json!({"email": "a@b.test"}))).await;
    assert_eq!(portal.0, StatusCode::NOT_FOUND, "{}", portal.1);
    let (status, err) = app.post("/v1/site/publish", &fresh.token, json!({})).await;
    assert_eq!((status, err["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("clinic_not_verified")));
    let (status, err) = app.put("/v1/brand", &fresh.token, json!({"subdomain": "fresh-too"})).await;
    assert_eq!((status, err["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("clinic_not_verified")));
    let host = mas_domain::values::Hostname::parse(&format!("fresh.{}", app.app.config.site_domain)).unwrap();
    assert!(mas_usecases::tenants::tenant_by_host(&app.app.store, &host).await.is_err());

    // A guessed or made-up token opens nothing.
    let verify = |token: String| {
        let app = &app;
        async move { app.call("POST", "/v1/auth/verify-email", None, Some(json!({ "token": token }))).await }
    };
    assert_eq!(verify("a".repeat(43)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(public().await, StatusCode::NOT_FOUND);

    // Only an owner may ask for another link; asking twice within a minute sends one.
    let (desk, _) = app.member_token(&fresh, "front_desk").await;
    let refused = app.post("/v1/auth/verify-email/resend", &desk, json!({})).await;
    assert_eq!(refused.0, StatusCode::FORBIDDEN, "{}", refused.1);
    let (status, resent) = app.post("/v1/auth/verify-email/resend", &fresh.token, json!({})).await;
    assert_eq!((status, resent["status"].as_str()), (StatusCode::ACCEPTED, Some("sent")));
    let (status, again) = app.post("/v1/auth/verify-email/resend", &fresh.token, json!({})).await;
    assert_eq!((status, again["status"].as_str()), (StatusCode::ACCEPTED, Some("throttled")));

    // The owner opens the link: the clinic is live, its host answers, and the link is spent.
    let link = app.emailed_link("owner@fresh.test", "verify-email").await;
    assert!(link.contains("/app/#/verify-email?token="), "{link}");
    let token = crate::support::app::link_token(&link);
    let (status, tenant) = verify(token.clone()).await;
    assert_eq!((status, tenant["status"].as_str()), (StatusCode::OK, Some("live")), "{tenant}");
    assert_eq!(public().await, StatusCode::OK);
    assert_eq!(mas_usecases::tenants::tenant_by_host(&app.app.store, &host).await.ok(), Some(fresh.tenant_id.clone()));
    assert_eq!(verify(token).await.0, StatusCode::NOT_FOUND);
    let (status, err) = app.post("/v1/auth/verify-email/resend", &fresh.token, json!({})).await;
    assert_eq!((status, err["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("already_live")));
    assert_eq!(app.post("/v1/site/publish", &fresh.token, json!({})).await.0, StatusCode::ACCEPTED);
    let audit = app.get("/v1/audit?action=tenant.went_live", &fresh.token).await.1;
    assert_eq!(audit["items"].as_array().map(Vec::len), Some(1), "{audit}");
}

/// Overwrites the newest `client.created` audit record with a PutItem that names someone else,
/// as anyone holding the table's write permission could, and answers the table's reply.
async fn overwrite_newest_client_record(
    app: &crate::support::app::TestApp,
    tenant: &mas_domain::ids::TenantId,
) -> Result<(), mas_ports::TableError> {
    use mas_ports::{Query, Write};
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    let page = app
        .app
        .store
        .table
        .query(&Query::partition(mas_store::keys::audit_month_pk(tenant, &month)).descending())
        .await
        .unwrap();
    let mut item = page.items.into_iter().find(|i| i["action"] == "client.created").expect("the record");
    item.insert("actor".into(), json!("mem_someone_else"));
    app.app.store.table.transact(vec![Write::put(item)]).await
}

async fn client_created_records(app: &crate::support::app::TestApp, token: &str) -> Vec<Value> {
    let (status, page) = app.get("/v1/audit?action=client.created", token).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn an_audit_record_cannot_be_overwritten_in_the_embedded_table_even_by_a_raw_put() {
    let app = crate::support::app::spawn_app().await;
    let clinic = app.sign_up("append-only").await;
    app.post("/v1/clients", &clinic.token, json!({"first_name": "Ada", "last_name": "Log", "email": "ada@log.test"}))
        .await;
    let refused = overwrite_newest_client_record(&app, &clinic.tenant_id).await;
    assert!(matches!(refused, Err(mas_ports::TableError::Invalid(_))), "{refused:?}");
    let records = client_created_records(&app, &clinic.token).await;
    assert_eq!(
        (records[0]["actor"].as_str(), records[0]["integrity"].as_str()),
        (Some(clinic.owner_id.as_str()), Some("intact"))
    );
}

#[tokio::test]
async fn an_audit_record_overwritten_on_dynamodb_by_a_raw_put_reads_as_altered_in_the_log_and_its_csv() {
    let clock = Arc::new(mas_ports::SystemClock);
    let Some(app) = crate::support::app::spawn_app_on_moto("audit_overwrite", clock).await else { return };
    let clinic = app.sign_up("sealed").await;
    app.post("/v1/clients", &clinic.token, json!({"first_name": "Ada", "last_name": "Log", "email": "ada@log.test"}))
        .await;
    assert_eq!(client_created_records(&app, &clinic.token).await[0]["integrity"], "intact");

    // DynamoDB takes the put (no IAM condition tells an overwrite from a new item) ...
    overwrite_newest_client_record(&app, &clinic.tenant_id).await.expect("DynamoDB overwrites");
    // ... but the record no longer matches the seal in its key, and says so wherever it is read.
    let records = client_created_records(&app, &clinic.token).await;
    assert_eq!(
        (records[0]["actor"].as_str(), records[0]["integrity"].as_str()),
        (Some("mem_someone_else"), Some("altered"))
    );
    let (_, csv) = app.get_text_with_token("/v1/audit?action=client.created&format=csv", &clinic.token).await;
    assert!(csv.lines().nth(1).unwrap().ends_with("\"altered\""), "{csv}");
    let (_, all) = app.get("/v1/audit", &clinic.token).await;
    let altered = all["items"].as_array().unwrap().iter().filter(|r| r["integrity"] != "intact").count();
    assert_eq!(altered, 1, "only the overwritten record: {all}");
}

#[tokio::test]
async fn a_calendar_read_that_shows_screening_outcomes_is_in_the_audit_log_and_one_that_hides_them_is_not() {
    let (app, _) = fixed_app().await;
    let s = setup(&app, "screening-reads").await;
    let path = "/v1/public/screening-reads/appointments";
    let (status, appt) =
        app.call("POST", path, None, Some(public_booking(&s, tuesday(10, 0), "ada@reads.test", answers()))).await;
    assert_eq!(status, StatusCode::CREATED, "{appt}");
    let id = appt["id"].as_str().unwrap();
    let reads = || async {
        let (_, page) = app.get("/v1/audit?action=appointment.screening_read", &s.clinic.token).await;
        page["items"].as_array().unwrap().clone()
    };

    // Front desk sees the booking without its outcome: nothing clinical was read.
    let (desk, _) = app.member_token(&s.clinic, "front_desk").await;
    let (_, listed) = app.get("/v1/appointments?from=2027-03-02&to=2027-03-02", &desk).await;
    assert!(listed[0]["screening"].is_null(), "{listed}");
    assert_eq!(app.get(&format!("/v1/appointments/{id}"), &desk).await.0, StatusCode::OK);
    assert!(reads().await.is_empty());

    // The owner (a clinical role) sees it: each read is recorded, naming what it showed.
    let (_, listed) = app.get("/v1/appointments?from=2027-03-02&to=2027-03-02", &s.clinic.token).await;
    assert_eq!(listed[0]["screening"]["outcome"], "low");
    let (_, one) = app.get(&format!("/v1/appointments/{id}"), &s.clinic.token).await;
    assert_eq!(one["screening"]["outcome"], "low");
    let records = reads().await;
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(records[0]["entity_id"], id);
    assert_eq!(records[1]["details"]["appointment_ids"], json!([id]));
}
