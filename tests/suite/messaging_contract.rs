//! The messaging adapters against stand-ins of their services: SES v2 and the EventBridge → SQS
//! → dead-letter path on moto, Twilio's REST API as a loopback capture server.

use std::sync::{Arc, Mutex};

use aws_sdk_sqs::types::QueueAttributeName;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use mas_domain::error::AppError;
use mas_domain::ids::TenantId;
use mas_eventbridge::EventBridgeEvents;
use mas_ports::events::{DomainEvent, EVENT_SOURCE, Events};
use mas_ports::messages::{Mailer, OutgoingEmail, OutgoingSms, SendError, SmsSender};
use mas_ses::SesMailer;
use mas_twilio::TwilioSms;
use mas_usecases::notifications::plan::{SUBSCRIBED, Work};
use serde_json::{Value, json};

use crate::support::aws;

fn email(from: &str) -> OutgoingEmail {
    OutgoingEmail {
        message_id: "msg_0123456789abcdef".into(),
        from_name: "Glow Clinic".into(),
        from_address: from.into(),
        reply_to: None,
        to: "ada@clients.test".into(),
        subject: "Your visit on Tuesday".into(),
        text: "Hello Ada".into(),
        html: "<p>Hello Ada</p>".into(),
        list_unsubscribe: Some("https://glow.test/unsubscribe".into()),
    }
}

#[tokio::test]
async fn ses_sends_from_a_verified_sender_and_an_unverified_one_is_refused_for_good() {
    let Some(config) = aws::moto("SES v2 mailer").await else { return };
    let ses = aws_sdk_sesv2::Client::new(&config);
    let sender = format!("bookings-{}@mail.test", ulid::Ulid::new().to_string().to_lowercase());
    ses.create_email_identity().email_identity(&sender).send().await.expect("an identity on moto");
    let mailer = SesMailer::new(ses, None);
    let accepted = mailer.send_email(&email(&sender)).await.expect("sent");
    assert!(!accepted.provider_id.is_empty());
    match mailer.send_email(&email("stranger@elsewhere.test")).await {
        Err(SendError::Undeliverable(reason)) => {
            assert!(reason.contains("authority") || reason.contains("Rejected"), "{reason}")
        }
        other => panic!("an unverified sender must be refused for good, got {other:?}"),
    }
}

async fn queue_with_dlq(sqs: &aws_sdk_sqs::Client, name: &str, max_receives: u32) -> (String, String, String) {
    let arn_of = |url: String| {
        let sqs = sqs.clone();
        async move {
            let answer = sqs
                .get_queue_attributes()
                .queue_url(&url)
                .attribute_names(QueueAttributeName::QueueArn)
                .send()
                .await
                .unwrap();
            answer.attributes().unwrap()[&QueueAttributeName::QueueArn].clone()
        }
    };
    let dlq = sqs.create_queue().queue_name(format!("{name}-dlq")).send().await.unwrap().queue_url.unwrap();
    let dlq_arn = arn_of(dlq.clone()).await;
    let redrive = json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives.to_string()}).to_string();
    let queue = sqs
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::RedrivePolicy, redrive)
        .attributes(QueueAttributeName::VisibilityTimeout, "0")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let arn = arn_of(queue.clone()).await;
    (queue, arn, dlq)
}

#[tokio::test]
async fn the_notify_rule_delivers_subscribed_events_to_the_queue_and_a_poison_message_is_dead_lettered_while_its_batch_is_done()
 {
    let Some(config) = aws::moto("EventBridge rule to SQS with a DLQ").await else { return };
    let name = format!("notify-{}", ulid::Ulid::new().to_string().to_lowercase());
    let bridge = aws_sdk_eventbridge::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    bridge.create_event_bus().name(&name).send().await.unwrap();
    let (queue, queue_arn, dlq) = queue_with_dlq(&sqs, &name, 3).await;
    // The template's rule: source mas, the subscribed kinds only.
    let pattern = json!({"source": [EVENT_SOURCE], "detail-type": SUBSCRIBED}).to_string();
    bridge.put_rule().name(&name).event_bus_name(&name).event_pattern(pattern).send().await.unwrap();
    let target = aws_sdk_eventbridge::types::Target::builder().id("notify").arn(queue_arn).build().unwrap();
    bridge.put_targets().rule(&name).event_bus_name(&name).targets(target).send().await.unwrap();

    let tenant = TenantId::parse("ten_notify").unwrap();
    let at = chrono::Utc::now();
    let events: Vec<DomainEvent> = ["booking.confirmed", "client.created", "booking.cancelled", "booking.confirmed"]
        .iter()
        .enumerate()
        .map(|(n, kind)| {
            DomainEvent::new(
                &tenant,
                kind,
                &format!("apt_{n}"),
                at,
                json!({"appointment_id": format!("apt_{n}"), "n": n}),
            )
        })
        .collect();
    EventBridgeEvents::new(bridge, &name).publish(&events).await.unwrap();
    // And one message no worker can read, in the same queue.
    sqs.send_message()
        .queue_url(&queue)
        .message_body("{\"job\":\"due\",\"tenant_id\":\"nobody\"}")
        .send()
        .await
        .unwrap();

    // The worker loop as Lambda runs it: receive a batch, report failures, delete the rest.
    let handled: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut receives_of_poison = 0;
    for _ in 0..12 {
        let batch = sqs.receive_message().queue_url(&queue).max_number_of_messages(10).send().await.unwrap();
        if batch.messages().is_empty() {
            break;
        }
        let records: Vec<(String, String)> = batch
            .messages()
            .iter()
            .map(|m| (m.message_id().unwrap().to_owned(), m.body().unwrap().to_owned()))
            .collect();
        let failed = mas_usecases::workers::batch(records, |body| {
            let handled = &handled;
            async move {
                match Work::parse(&body)? {
                    Work::Event(event) => {
                        handled.lock().unwrap().push(event.kind.clone());
                        Ok(())
                    }
                    Work::Due { .. } => Err(AppError::Internal("unreachable".into())),
                }
            }
        })
        .await;
        receives_of_poison += failed.len();
        for message in batch.messages() {
            if !failed.contains(&message.message_id().unwrap().to_owned()) {
                sqs.delete_message()
                    .queue_url(&queue)
                    .receipt_handle(message.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }
    let mut kinds = handled.into_inner().unwrap();
    kinds.sort();
    assert_eq!(
        kinds,
        ["booking.cancelled", "booking.confirmed", "booking.confirmed"],
        "client.created is not routed; each event handled once"
    );
    assert_eq!(receives_of_poison, 3, "the poison message was tried maxReceiveCount times");
    let dead = sqs.receive_message().queue_url(&dlq).max_number_of_messages(10).send().await.unwrap();
    let bodies: Vec<Value> = dead.messages().iter().map(|m| serde_json::from_str(m.body().unwrap()).unwrap()).collect();
    assert_eq!(bodies, [json!({"job": "due", "tenant_id": "nobody"})]);
}

/// One request the capture server saw: its basic-auth header and its form fields.
type CapturedForm = (String, Vec<(String, String)>);

/// What the capture server saw: each form, with its basic-auth header.
#[derive(Default, Clone)]
struct Captured(Arc<Mutex<Vec<CapturedForm>>>);

async fn messages_endpoint(State(seen): State<Captured>, headers: HeaderMap, body: String) -> (StatusCode, String) {
    let form: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    seen.0.lock().unwrap().push((auth, form.clone()));
    let to = form.iter().find(|(k, _)| k == "To").map(|(_, v)| v.clone()).unwrap_or_default();
    match to.as_str() {
        "+15005550001" => (
            StatusCode::BAD_REQUEST,
            json!({"code": 21211, "message": "The 'To' number is not valid.", "status": 400}).to_string(),
        ),
        "+15005550009" => (StatusCode::SERVICE_UNAVAILABLE, "{}".into()),
        _ => {
            (StatusCode::CREATED, json!({"sid": "SM0123456789abcdef0123456789abcdef", "status": "queued"}).to_string())
        }
    }
}

#[tokio::test]
async fn twilio_gets_one_authenticated_form_post_per_text_and_its_refusals_are_told_apart() {
    let seen = Captured::default();
    let router = axum::Router::new()
        .route("/2010-04-01/Accounts/AC123/Messages.json", axum::routing::post(messages_endpoint))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    let twilio = TwilioSms::new(&base, "AC123", "token-secret", "+447700900000");
    let sms = |to: &str| OutgoingSms {
        message_id: "msg_1".into(),
        to: to.into(),
        body: "Glow: your peel is at 14:00. Reply C to confirm.".into(),
        status_callback: Some("https://api.test/webhooks/twilio/status?message=ten_a.msg_1".into()),
    };
    let accepted = twilio.send_sms(&sms("+447700900123")).await.unwrap();
    assert_eq!(accepted.provider_id, "SM0123456789abcdef0123456789abcdef");
    assert!(
        matches!(twilio.send_sms(&sms("+15005550001")).await, Err(SendError::Undeliverable(r)) if r.contains("21211"))
    );
    assert!(matches!(twilio.send_sms(&sms("+15005550009")).await, Err(SendError::Unavailable(_))));

    let seen = seen.0.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    let (auth, form) = &seen[0];
    use base64::Engine;
    let expected = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("AC123:token-secret"));
    assert_eq!(auth, &expected);
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    assert_eq!(field("To"), Some("+447700900123"));
    assert_eq!(field("From"), Some("+447700900000"));
    assert_eq!(field("Body"), Some("Glow: your peel is at 14:00. Reply C to confirm."));
    assert_eq!(field("StatusCallback"), Some("https://api.test/webhooks/twilio/status?message=ten_a.msg_1"));
    // A Messaging Service sends as the service, not as a number.
    let service = TwilioSms::new(&base, "AC123", "token-secret", "MG0123");
    service.send_sms(&sms("+447700900124")).await.unwrap();
}
