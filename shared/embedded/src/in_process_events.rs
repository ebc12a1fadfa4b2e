//! An in-process bus for the local host and tests that keeps what was published.

use std::sync::Mutex;

use async_trait::async_trait;
use mas_ports::events::{DomainEvent, Events, EventsError};

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
