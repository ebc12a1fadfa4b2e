//! Handler tests from `events/*.json`: real-shaped API Gateway v2 payloads parsed by lambda_http
//! and handed to the router exactly as the `api` Lambda does, with auth from the request context.

use std::sync::Arc;

use axum::body::Body;
use mas_embedded::SqliteTable;
use mas_ports::SystemClock;
use mas_usecases::app::{App, AuthMode, Config};
use mas_usecases::demo::{self, DemoClinic};
use reqwest::StatusCode;
use serde_json::Value;
use tower::ServiceExt;

struct LambdaHost {
    app: Arc<App>,
    demo: DemoClinic,
    _dir: tempfile::TempDir,
}

/// An app configured as on Lambda (claims come from the authorizer), with the demo clinic.
async fn lambda_host() -> LambdaHost {
    let dir = tempfile::tempdir().unwrap();
    let table = SqliteTable::open(&dir.path().join("table.sqlite3")).unwrap();
    let (app, _) = mas_local::embedded_app(
        Arc::new(table),
        Arc::new(SystemClock),
        AuthMode::ApiGateway,
        Config { site_domain: "sites.test".into() },
    );
    let app = Arc::new(app);
    let demo = demo::seed(&app.store, "sites.test").await.unwrap();
    LambdaHost { app, demo, _dir: dir }
}

impl LambdaHost {
    /// The fixture, with its authorizer claims pointed at the seeded demo clinic's owner.
    fn event(&self, name: &str) -> Value {
        let path = crate::repo_root().join("events").join(name);
        let mut event: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        if let Some(claims) = event.pointer_mut("/requestContext/authorizer/jwt/claims") {
            claims["tenant_id"] = self.demo.tenant_id.to_string().into();
            claims["member_id"] = self.demo.owner.id.to_string().into();
        }
        event
    }

    async fn invoke(&self, event: &Value) -> (StatusCode, Value) {
        self.invoke_on(mas_http::router(self.app.clone()), event).await
    }

    /// As the `stripe_webhook` Lambda does: only the webhook's router.
    async fn invoke_webhook(&self, event: &Value) -> (StatusCode, Value) {
        self.invoke_on(mas_http::webhook_router(self.app.clone()), event).await
    }

    async fn invoke_on(&self, router: axum::Router, event: &Value) -> (StatusCode, Value) {
        let request = lambda_http::request::from_str(&event.to_string()).expect("an API Gateway v2 event");
        let (parts, body) = request.into_parts();
        let request = axum::http::Request::from_parts(parts, Body::from(body.to_vec()));
        let response = router.oneshot(request).await.unwrap();
        let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }
}

#[tokio::test]
async fn the_health_event_answers_200() {
    let host = lambda_host().await;
    let (status, body) = host.invoke(&host.event("get-health.json")).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("ok")));
}

#[tokio::test]
async fn the_me_event_is_answered_from_the_authorizer_claims() {
    let host = lambda_host().await;
    let (status, body) = host.invoke(&host.event("get-me.json")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["member"]["email"], "owner@demo-clinic.test");
    assert_eq!(body["tenant"]["slug"], "demo-clinic");
}

#[tokio::test]
async fn the_create_location_event_stores_a_location_for_the_claims_tenant() {
    let host = lambda_host().await;
    let (status, body) = host.invoke(&host.event("create-location.json")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let stored =
        mas_usecases::catalog::list::<mas_domain::catalog::LocationInput>(&host.app.store, &host.demo.tenant_id, false)
            .await
            .unwrap();
    assert!(stored.iter().any(|l| l.id.as_str() == body["id"].as_str().unwrap()));
}

#[tokio::test]
async fn the_public_catalog_event_lists_the_demo_services() {
    let host = lambda_host().await;
    let (status, body) = host.invoke(&host.event("get-public-catalog.json")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["services"].as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn on_lambda_a_bearer_header_without_authorizer_claims_is_not_trusted() {
    let host = lambda_host().await;
    let mut event = host.event("get-me.json");
    event["requestContext"].as_object_mut().unwrap().remove("authorizer");
    event["headers"]["authorization"] = "Bearer forged.token.here".into();
    let (status, _) = host.invoke(&event).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn claims_naming_another_tenant_find_none_of_the_demo_clinics_data() {
    let host = lambda_host().await;
    let mut event = host.event("get-me.json");
    event["requestContext"]["authorizer"]["jwt"]["claims"]["tenant_id"] = "ten_someoneelse".into();
    let (status, body) = host.invoke(&event).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
}

#[tokio::test]
async fn the_esign_open_event_records_the_source_ip_and_user_agent_api_gateway_saw() {
    use mas_usecases::{documents, esign};
    let host = lambda_host().await;
    let (queue, _receiver) = mas_embedded::ChannelQueue::new();
    let dir = tempfile::tempdir().unwrap();
    let blobs =
        mas_embedded::DirBlobs::new(dir.path(), "http://unused", host.app.links.clone(), host.app.store.clock.clone());
    mas_usecases::templates::seed_global(&host.app.store).await.unwrap();
    let audit = mas_store::AuditContext {
        tenant_id: host.demo.tenant_id.clone(),
        actor: host.demo.owner.id.to_string(),
        role: Some(host.demo.owner.input.role),
        request_id: mas_domain::ids::RequestId::new(),
    };
    let input = serde_json::from_value(crate::support::app::generate_body(
        lambda_client(&host.app.store, &audit).await.as_str(),
        "Ann Lambda",
    ))
    .unwrap();
    let view = documents::generate(&host.app.store, &queue, &audit, input).await.unwrap();
    let message = documents::RenderMessage {
        tenant_id: host.demo.tenant_id.clone(),
        client_id: view.document.client_id.clone(),
        document_id: view.document.id.clone(),
        variant: mas_domain::documents::Variant::Generated,
    };
    documents::render(&host.app.store, &blobs, Arc::new(mas_render::KrillaRenderer::new()), &message).await.unwrap();
    let (session, token) =
        esign::open(&host.app.store, &host.app.links, &audit, &view.document.id, Default::default()).await.unwrap();

    let mut event = host.event("esign-open.json");
    let path = format!("/v1/esign/{token}/open");
    event["rawPath"] = path.clone().into();
    event["requestContext"]["http"]["path"] = path.into();
    event["pathParameters"]["token"] = token.into();
    let (status, body) = host.invoke(&event).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "opened");
    let stored: mas_domain::esign::SigningSession = host
        .app
        .store
        .get(&mas_store::keys::signing_session(&host.demo.tenant_id, &session.id))
        .await
        .unwrap()
        .unwrap();
    let opened = stored.events.last().unwrap();
    assert_eq!(opened.ip.as_deref(), Some("198.51.100.23"));
    assert!(opened.user_agent.as_deref().unwrap().contains("iPhone"));
}

#[tokio::test]
async fn an_sqs_render_batch_renders_the_good_message_and_reports_only_the_poison_one() {
    use mas_usecases::documents;
    let host = lambda_host().await;
    let dir = tempfile::tempdir().unwrap();
    let blobs = Arc::new(mas_embedded::DirBlobs::new(
        dir.path(),
        "http://unused",
        host.app.links.clone(),
        host.app.store.clock.clone(),
    ));
    let (queue, _receiver) = mas_embedded::ChannelQueue::new();
    mas_usecases::templates::seed_global(&host.app.store).await.unwrap();
    let audit = mas_store::AuditContext {
        tenant_id: host.demo.tenant_id.clone(),
        actor: host.demo.owner.id.to_string(),
        role: Some(host.demo.owner.input.role),
        request_id: mas_domain::ids::RequestId::new(),
    };
    let input = serde_json::from_value(crate::support::app::generate_body(
        lambda_client(&host.app.store, &audit).await.as_str(),
        "Ann Lambda",
    ))
    .unwrap();
    let view = documents::generate(&host.app.store, &queue, &audit, input).await.unwrap();

    let path = crate::repo_root().join("events/sqs/render-batch.json");
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let message = serde_json::json!({
        "tenant_id": host.demo.tenant_id, "client_id": view.document.client_id, "document_id": view.document.id, "variant": "generated"
    });
    event["Records"][0]["body"] = message.to_string().into();
    let event: mas_render::worker::SqsEvent = serde_json::from_value(event).unwrap();
    let app = Arc::new(
        mas_local::embedded_app(
            host.app.store.table.clone(),
            host.app.store.clock.clone(),
            AuthMode::ApiGateway,
            Config { site_domain: "sites.test".into() },
        )
        .0
        .with_blobs(blobs),
    );
    let response = mas_render::worker::handle_batch(&app, Arc::new(mas_render::KrillaRenderer::new()), event).await;
    let failed: Vec<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    assert_eq!(failed, ["9f8e7d6c-2222-4b5a-9c8d-7e6f5a4b3c2d"]);
    let rendered = documents::load(&app.store, &host.demo.tenant_id, &view.document.id).await.unwrap();
    assert!(rendered.pdf.is_some_and(|pdf| pdf.size_bytes > 10_000));
}

#[tokio::test]
async fn the_public_availability_event_offers_the_demo_clinics_week_in_london_and_the_visitors_zone() {
    use mas_domain::catalog::{LocationInput, ServiceInput};
    let host = lambda_host().await;
    let store = &host.app.store;
    let locations = mas_usecases::catalog::list::<LocationInput>(store, &host.demo.tenant_id, false).await.unwrap();
    let london =
        locations.iter().find(|l| l.data.timezone.tz() == chrono_tz::Europe::London).expect("the London location");
    let services = mas_usecases::catalog::list::<ServiceInput>(store, &host.demo.tenant_id, false).await.unwrap();
    let service = services.iter().find(|s| s.data.category.to_string() == "injectables").unwrap();
    let from = chrono::Utc::now().date_naive() + chrono::Duration::days(7);
    let event = host
        .event("get-public-availability.json")
        .to_string()
        .replace("LOCATION_ID", london.id.as_str())
        .replace("SERVICE_ID", service.id.as_str())
        .replace("FROM_DATE", &from.to_string())
        .replace("TO_DATE", &(from + chrono::Duration::days(6)).to_string());
    let (status, body) = host.invoke(&serde_json::from_str(&event).unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let slots = body["slots"].as_array().unwrap();
    assert!(!slots.is_empty(), "a week of the demo clinic has free time: {body}");
    assert_eq!(body["display_timezone"], "America/New_York");
    let display = slots[0]["display_start"].as_str().unwrap();
    assert!(display.ends_with("-05:00") || display.ends_with("-04:00"), "{display}");
}

/// The webhook fixture as API Gateway delivers it, signed now with the host's secret (Stripe
/// signs the exact bytes; the Lambda must hand the handler those bytes, text or base64).
fn signed_webhook(host: &LambdaHost, base64: bool) -> Value {
    use base64::Engine;
    let mut event = host.event("post-stripe-webhook.json");
    let body = event["body"].as_str().unwrap().to_owned();
    let signature = host.app.webhook_secret.sign(chrono::Utc::now().timestamp(), body.as_bytes());
    event["headers"]["stripe-signature"] = signature.into();
    if base64 {
        event["body"] = base64::engine::general_purpose::STANDARD.encode(body.as_bytes()).into();
        event["isBase64Encoded"] = true.into();
    }
    event
}

#[tokio::test]
async fn the_stripe_webhook_event_verifies_over_the_bytes_api_gateway_delivers_text_or_base64() {
    let host = lambda_host().await;
    let (status, body) = host.invoke_webhook(&signed_webhook(&host, false)).await;
    assert_eq!((status, body["outcome"].as_str()), (StatusCode::OK, Some("applied")), "{body}");
    let (status, body) = host.invoke_webhook(&signed_webhook(&host, true)).await;
    assert_eq!((status, body["outcome"].as_str()), (StatusCode::OK, Some("duplicate")), "{body}");
    // The fixture's own signature is of nothing: refused, as any forgery is.
    let (status, body) = host.invoke_webhook(&host.event("post-stripe-webhook.json")).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("signature_mismatch")),
        "{body}"
    );
    // The webhook's binary serves nothing else.
    let (status, _) = host.invoke_webhook(&host.event("get-me.json")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// The Connect fixture (an `account.updated` of an account that is not ours) as API Gateway
/// delivers it, signed now with `secret`.
fn signed_connect_webhook(host: &LambdaHost, secret: &mas_domain::webhook::WebhookSecret) -> Value {
    let mut event = host.event("post-stripe-connect-webhook.json");
    let body = event["body"].as_str().unwrap().to_owned();
    event["headers"]["stripe-signature"] = secret.sign(chrono::Utc::now().timestamp(), body.as_bytes()).into();
    event
}

#[tokio::test]
async fn the_stripe_connect_webhook_event_is_verified_with_its_own_secret_and_an_account_not_ours_is_ignored() {
    let host = lambda_host().await;
    let (status, body) = host.invoke_webhook(&signed_connect_webhook(&host, &host.app.connect_webhook_secret)).await;
    assert_eq!((status, body["outcome"].as_str()), (StatusCode::OK, Some("ignored")), "{body}");
    let record = host.app.store.table.get(&mas_store::keys::stripe_event("evt_1FixtureConnect00000000")).await.unwrap();
    assert!(record.is_none(), "nothing is written for an account that is not a clinic's");
    // The platform endpoint's secret does not sign Connect events, nor the fixture's own nothing.
    let (status, body) = host.invoke_webhook(&signed_connect_webhook(&host, &host.app.webhook_secret)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("signature_mismatch")));
    let (status, _) = host.invoke_webhook(&host.event("post-stripe-connect-webhook.json")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn an_sqs_notify_batch_sends_the_confirmation_of_the_event_and_reports_only_the_poison_message() {
    use mas_usecases::{appointments, clients};
    let host = lambda_host().await;
    let store = &host.app.store;
    let t = &host.demo.tenant_id;
    let audit = mas_store::AuditContext {
        tenant_id: t.clone(),
        actor: host.demo.owner.id.to_string(),
        role: Some(host.demo.owner.input.role),
        request_id: mas_domain::ids::RequestId::new(),
    };
    let input = serde_json::from_value(
        serde_json::json!({"first_name": "Sqs", "last_name": "Client", "email": "sqs@clients.test"}),
    )
    .unwrap();
    let client = clients::create(store, &audit, input).await.unwrap();
    // A free start from the public availability of the demo's consultation, then a booking.
    let locations = mas_usecases::catalog::list::<mas_domain::catalog::LocationInput>(store, t, false).await.unwrap();
    let services = mas_usecases::catalog::list::<mas_domain::catalog::ServiceInput>(store, t, false).await.unwrap();
    let consultation = services.iter().find(|s| s.data.name.as_str() == "Consultation").unwrap();
    let london = locations.iter().find(|l| l.data.timezone.tz() == chrono_tz::Europe::London).unwrap();
    let from = chrono::Utc::now().date_naive() + chrono::Duration::days(7);
    let event = host
        .event("get-public-availability.json")
        .to_string()
        .replace("LOCATION_ID", london.id.as_str())
        .replace("SERVICE_ID", consultation.id.as_str())
        .replace("FROM_DATE", &from.to_string())
        .replace("TO_DATE", &(from + chrono::Duration::days(6)).to_string());
    let (_, slots) = host.invoke(&serde_json::from_str(&event).unwrap()).await;
    let start: chrono::DateTime<chrono::Utc> = slots["slots"][0]["start"].as_str().unwrap().parse().unwrap();
    let tenant = mas_usecases::tenants::tenant(store, t).await.unwrap();
    let request = appointments::BookingRequest {
        location_id: london.id.clone(),
        service_id: consultation.id.clone(),
        start,
        practitioner_id: None,
        then: Vec::new(),
        client_id: client.id.clone(),
        source: mas_domain::appointment::BookingSource::Staff,
        screening: None,
        notes: None,
        prepared: None,
        card_on_file_consent: false,
    };
    let booked = appointments::book(store, &audit, &tenant, request, None).await.unwrap();

    // The fixture as the queue delivers it: the bus's envelope of this booking's confirmation.
    let dir = tempfile::tempdir().unwrap();
    let outbox = Arc::new(mas_embedded::Outbox::new(dir.path()).unwrap());
    let app = mas_local::embedded_app(
        store.table.clone(),
        store.clock.clone(),
        AuthMode::ApiGateway,
        Config { site_domain: "sites.test".into() },
    )
    .0
    .with_messaging(outbox.clone(), outbox.clone());
    let confirmed = mas_usecases::appointments::booking_event(t, "booking.confirmed", &booked, chrono::Utc::now());
    let path = crate::repo_root().join("events/sqs/notify-batch.json");
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let body = event["Records"][0]["body"]
        .as_str()
        .unwrap()
        .replace("\"DETAIL\"", &serde_json::to_string(&confirmed).unwrap());
    event["Records"][0]["body"] = body.into();
    let records: Vec<(String, String)> = event["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["messageId"].as_str().unwrap().to_owned(), r["body"].as_str().unwrap().to_owned()))
        .collect();
    let failed = mas_usecases::workers::batch(records, |body| {
        let app = &app;
        async move { mas_usecases::workers::handle(app, mas_ports::QueueName::Notify, &body).await }
    })
    .await;
    assert_eq!(failed, ["6d5c4b3a-4444-4e3f-9a2b-1c0d9e8f7a6b"]);
    let sent = outbox.list().unwrap();
    assert_eq!(sent.len(), 1, "email only: the client gave no phone");
    assert!(sent[0].subject.as_deref().unwrap().starts_with("Your Consultation is booked"), "{:?}", sent[0].subject);
    assert!(sent[0].text.contains(&booked.confirmation_number));
}

/// A client of the demo clinic (documents are generated from the client's record).
async fn lambda_client(store: &mas_store::Store, audit: &mas_store::AuditContext) -> mas_domain::ids::ClientId {
    let input = serde_json::from_value(serde_json::json!({"first_name": "Ann", "last_name": "Lambda"})).unwrap();
    mas_usecases::clients::create(store, audit, input).await.unwrap().id
}

impl LambdaHost {
    /// The Cognito trigger's fixture, with the user's attributes pointed at `member`.
    fn pre_token_event(&self, member: &mas_domain::team::Member) -> mas_functions::pre_token::PreTokenEvent {
        let path = crate::repo_root().join("events/cognito/pre-token-generation.json");
        let mut event: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        event["userName"] = member.id.to_string().into();
        let attributes = &mut event["request"]["userAttributes"];
        attributes["email"] = member.input.email.to_string().into();
        attributes["custom:tenant_id"] = self.demo.tenant_id.to_string().into();
        attributes["custom:member_id"] = member.id.to_string().into();
        serde_json::from_value(event).expect("a pre-token-generation event")
    }

    fn owner_audit(&self) -> mas_store::AuditContext {
        mas_store::AuditContext {
            tenant_id: self.demo.tenant_id.clone(),
            actor: self.demo.owner.id.to_string(),
            role: Some(self.demo.owner.input.role),
            request_id: mas_domain::ids::RequestId::new(),
        }
    }

    async fn new_front_desk_member(&self) -> mas_domain::team::Member {
        let input = serde_json::from_value(serde_json::json!({
            "email": format!("desk-{}@demo-clinic.test", ulid::Ulid::new().to_string().to_lowercase()),
            "name": "Dee Desk",
            "role": "front_desk",
        }))
        .unwrap();
        let owner = mas_domain::team::Role::Owner;
        mas_usecases::team::create(&self.app.store, &self.owner_audit(), owner, input).await.unwrap()
    }
}

#[tokio::test]
async fn the_pre_token_event_answers_the_members_tenant_id_role_and_auth_epoch_as_string_claims() {
    let host = lambda_host().await;
    let member = host.new_front_desk_member().await;
    let answered = mas_functions::pre_token::handle(&host.app.store, host.pre_token_event(&member)).await.unwrap();
    // What Cognito reads back: the V1 answer, on the event it sent.
    let answer = serde_json::to_value(&answered).unwrap();
    let claims = &answer["response"]["claimsOverrideDetails"]["claimsToAddOrOverride"];
    assert_eq!(
        claims,
        &serde_json::json!({
            "tenant_id": host.demo.tenant_id.to_string(),
            "member_id": member.id.to_string(),
            "role": "front_desk",
            "auth_epoch": member.auth_epoch.to_string(),
        })
    );
    assert_eq!(answer["request"]["userAttributes"]["custom:member_id"], member.id.to_string());
    // And a token carrying them reads as our claims (API Gateway passes every claim as a string).
    let mut token_claims: std::collections::HashMap<String, String> = serde_json::from_value(claims.clone()).unwrap();
    token_claims.insert("sub".into(), "76a2f2e4-5f11-4f38-bc0a-2f1d4b8e8c51".into());
    token_claims.insert("email".into(), member.input.email.to_string());
    let staff = mas_usecases::tokens::StaffClaims::from_map(&token_claims).unwrap();
    assert_eq!((staff.member_id, staff.auth_epoch), (member.id.clone(), member.auth_epoch));
}

#[tokio::test]
async fn the_pre_token_event_of_a_removed_member_or_a_changed_email_is_refused() {
    let host = lambda_host().await;
    let member = host.new_front_desk_member().await;
    let mut other_email = host.pre_token_event(&member);
    other_email.request.user_attributes.insert("email".into(), "someone-else@demo-clinic.test".into());
    assert!(mas_functions::pre_token::handle(&host.app.store, other_email).await.is_err());

    let owner = mas_domain::team::Role::Owner;
    mas_usecases::team::remove(&host.app.store, &host.owner_audit(), owner, &member.id).await.unwrap();
    let refused = mas_functions::pre_token::handle(&host.app.store, host.pre_token_event(&member)).await;
    assert!(
        matches!(refused, Err(mas_domain::error::AppError::Unauthenticated(_))),
        "a removed member must get no token: {refused:?}"
    );
}
