//! The events port's contract: the same assertions against the in-process bus and EventBridge
//! on moto, where a rule like the template's routes the events to an SQS queue we read back.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use aws_config::SdkConfig;
use chrono::{TimeZone, Utc};
use mas_domain::ids::TenantId;
use mas_embedded::InProcessEvents;
use mas_eventbridge::EventBridgeEvents;
use mas_ports::events::{DomainEvent, EVENT_SOURCE, Events};
use serde_json::{Value, json};

use crate::support::aws;

type Delivered = Pin<Box<dyn Future<Output = Vec<DomainEvent>> + Send>>;

/// An adapter, and how to read back what reached the bus's subscribers.
struct Bus {
    events: Arc<dyn Events>,
    delivered: Box<dyn Fn() -> Delivered + Send + Sync>,
}

fn event(kind: &str, subject: &str, n: i64) -> DomainEvent {
    let tenant = TenantId::parse("ten_contract").unwrap();
    let at = Utc.with_ymd_and_hms(2027, 3, 2, 10, 0, 0).unwrap();
    DomainEvent::new(&tenant, kind, subject, at, json!({ "appointment_id": subject, "n": n }))
}

async fn published_events_reach_subscribers_whole_with_their_ids(bus: Bus) {
    // Twelve: more than one PutEvents call takes.
    let events: Vec<DomainEvent> = (0..12)
        .map(|n| event(if n % 2 == 0 { "booking.confirmed" } else { "payment.succeeded" }, &format!("apt_{n}"), n))
        .collect();
    bus.events.publish(&events[..1]).await.unwrap();
    bus.events.publish(&events[1..]).await.unwrap();
    let mut delivered = (bus.delivered)().await;
    delivered.sort_by_key(|e| e.payload["n"].as_i64());
    assert_eq!(delivered, events, "every event arrives once, with its id, kind, time and payload");
}

fn in_process() -> Bus {
    let events = Arc::new(InProcessEvents::new());
    let reader = events.clone();
    let delivered = move || -> Delivered {
        let reader = reader.clone();
        Box::pin(async move { reader.published() })
    };
    Bus { events, delivered: Box::new(delivered) }
}

/// A bus on moto with a rule (`source: mas`) targeting a fresh queue, as the template routes.
async fn eventbridge(config: SdkConfig) -> Bus {
    let name = format!("contract-{}", ulid::Ulid::new().to_string().to_lowercase());
    let bridge = aws_sdk_eventbridge::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    bridge.create_event_bus().name(&name).send().await.expect("a bus on moto");
    let queue_url = sqs.create_queue().queue_name(&name).send().await.expect("a queue").queue_url.unwrap();
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    let queue_arn = attributes.attributes().unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn].clone();
    let pattern = json!({ "source": [EVENT_SOURCE] }).to_string();
    bridge.put_rule().name(&name).event_bus_name(&name).event_pattern(pattern).send().await.unwrap();
    let target = aws_sdk_eventbridge::types::Target::builder().id("queue").arn(queue_arn).build().unwrap();
    bridge.put_targets().rule(&name).event_bus_name(&name).targets(target).send().await.unwrap();
    let events: Arc<dyn Events> = Arc::new(EventBridgeEvents::new(bridge, &name));
    let delivered = move || -> Delivered {
        let (sqs, queue_url) = (sqs.clone(), queue_url.clone());
        Box::pin(async move {
            let mut found = Vec::new();
            for _ in 0..10 {
                let answer =
                    sqs.receive_message().queue_url(&queue_url).max_number_of_messages(10).send().await.unwrap();
                for message in answer.messages() {
                    // The queue holds EventBridge's envelope; our event is its `detail`.
                    let envelope: Value = serde_json::from_str(message.body().unwrap()).unwrap();
                    assert_eq!(envelope["source"], EVENT_SOURCE);
                    assert_eq!(envelope["detail-type"], envelope["detail"]["kind"]);
                    found.push(serde_json::from_value(envelope["detail"].clone()).unwrap());
                }
                if found.len() >= 12 || answer.messages().is_empty() {
                    break;
                }
            }
            found
        })
    };
    Bus { events, delivered: Box::new(delivered) }
}

#[tokio::test]
async fn published_events_reach_subscribers_whole_with_their_ids_in_process() {
    published_events_reach_subscribers_whole_with_their_ids(in_process()).await;
}

#[tokio::test]
async fn published_events_reach_subscribers_whole_with_their_ids_on_eventbridge() {
    let Some(config) = aws::moto("events contract on EventBridge").await else { return };
    published_events_reach_subscribers_whole_with_their_ids(eventbridge(config).await).await;
}
