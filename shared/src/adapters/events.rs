//! The events port's adapters: EventBridge (`PutEvents` on the stage's bus, whose rules route
//! events to the queues in `template.yaml`), and an in-process bus for the local host and tests
//! that keeps what was published.

use std::sync::Mutex;

use async_trait::async_trait;
use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::error::DisplayErrorContext;
use aws_sdk_eventbridge::primitives::DateTime as AwsDateTime;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use crate::ports::events::{DomainEvent, EVENT_SOURCE, Events, EventsError};

/// PutEvents takes at most ten entries per call.
const PUT_EVENTS_BATCH: usize = 10;

/// Keeps every published event in memory, in order, and logs its kind and id (never payloads).
#[derive(Default)]
pub struct InProcessEvents {
    published: Mutex<Vec<DomainEvent>>,
}

impl InProcessEvents {
    pub fn new() -> InProcessEvents {
        InProcessEvents::default()
    }

    /// Everything published so far, oldest first.
    pub fn published(&self) -> Vec<DomainEvent> {
        self.published.lock().expect("events lock").clone()
    }
}

#[async_trait]
impl Events for InProcessEvents {
    async fn publish(&self, events: &[DomainEvent]) -> Result<(), EventsError> {
        for event in events {
            tracing::info!(kind = %event.kind, event_id = %event.id, tenant_id = %event.tenant_id, "domain event");
        }
        self.published.lock().expect("events lock").extend_from_slice(events);
        Ok(())
    }
}

/// Publishes to one EventBridge bus: `source` is `mas`, `detail-type` the event's kind, and
/// `detail` the whole envelope (id, tenant, version, time, payload).
#[derive(Debug, Clone)]
pub struct EventBridgeEvents {
    client: Client,
    bus: String,
}

impl EventBridgeEvents {
    pub fn new(client: Client, bus: impl Into<String>) -> EventBridgeEvents {
        EventBridgeEvents { client, bus: bus.into() }
    }
}

#[async_trait]
impl Events for EventBridgeEvents {
    async fn publish(&self, events: &[DomainEvent]) -> Result<(), EventsError> {
        for batch in events.chunks(PUT_EVENTS_BATCH) {
            let mut entries = Vec::with_capacity(batch.len());
            for event in batch {
                let detail = serde_json::to_string(event).map_err(|e| EventsError::Unavailable(e.to_string()))?;
                entries.push(
                    PutEventsRequestEntry::builder()
                        .event_bus_name(&self.bus)
                        .source(EVENT_SOURCE)
                        .detail_type(&event.kind)
                        .detail(detail)
                        .time(AwsDateTime::from_millis(event.occurred_at.timestamp_millis()))
                        .build(),
                );
            }
            let answer = self
                .client
                .put_events()
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| EventsError::Unavailable(DisplayErrorContext(e).to_string()))?;
            if answer.failed_entry_count() > 0 {
                let codes: Vec<String> =
                    answer.entries().iter().filter_map(|e| e.error_code().map(str::to_owned)).collect();
                return Err(EventsError::Unavailable(format!(
                    "{} of {} events refused: {codes:?}",
                    answer.failed_entry_count(),
                    batch.len()
                )));
            }
        }
        Ok(())
    }
}

/// The local bus with the rules of `template.yaml`: publishes to `inner` (which keeps the
/// events), then puts each event a rule matches on that rule's queue, in the body an
/// EventBridge rule would deliver.
pub struct RoutedEvents {
    inner: std::sync::Arc<dyn Events>,
    queue: std::sync::Arc<dyn crate::ports::Queue>,
}

impl RoutedEvents {
    pub fn new(inner: std::sync::Arc<dyn Events>, queue: std::sync::Arc<dyn crate::ports::Queue>) -> RoutedEvents {
        RoutedEvents { inner, queue }
    }
}

/// Which queue each event kind goes to (template.yaml's `NotifyRule` lists the same kinds, and
/// `SiteChangedRule` sends `site.changed` to the site publisher).
pub fn route(kind: &str) -> Option<crate::ports::QueueName> {
    if kind == crate::ops::site::SITE_CHANGED {
        return Some(crate::ports::QueueName::SitePublish);
    }
    crate::ops::notifications::plan::SUBSCRIBED.contains(&kind).then_some(crate::ports::QueueName::Notify)
}

#[async_trait]
impl Events for RoutedEvents {
    async fn publish(&self, events: &[DomainEvent]) -> Result<(), EventsError> {
        self.inner.publish(events).await?;
        for event in events {
            if let Some(queue) = route(&event.kind) {
                let body = crate::ops::notifications::plan::Work::event_body(event);
                self.queue.send(queue, body).await.map_err(|e| EventsError::Unavailable(e.to_string()))?;
            }
        }
        Ok(())
    }
}
