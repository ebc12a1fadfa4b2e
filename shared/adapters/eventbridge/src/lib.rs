//! The events port on EventBridge: `PutEvents` on the stage's bus, whose rules route events to
//! the queues in `template.yaml`.

use async_trait::async_trait;
use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::error::DisplayErrorContext;
use aws_sdk_eventbridge::primitives::DateTime as AwsDateTime;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use mas_ports::events::{DomainEvent, EVENT_SOURCE, Events, EventsError};

/// PutEvents takes at most ten entries per call.
const PUT_EVENTS_BATCH: usize = 10;

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
