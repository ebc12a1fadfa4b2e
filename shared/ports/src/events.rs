//! The events port: domain events (`booking.confirmed`, `payment.succeeded`…) published after the
//! change they announce is committed. Consumers (messages, reminders, projections) subscribe on
//! the bus; delivery is at least once, so every event's id is derived from what happened and a
//! repeat is recognisable.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use mas_domain::ids::{DomainEventId, TenantId};

/// The envelope's version; bumped when its shape (not a payload) changes.
pub const EVENT_VERSION: u32 = 1;

/// The `source` every event carries on the bus.
pub const EVENT_SOURCE: &str = "mas";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainEvent {
    pub id: DomainEventId,
    pub tenant_id: TenantId,
    /// `noun.verb`: `booking.confirmed`, `payment.refunded`…
    pub kind: String,
    pub version: u32,
    pub occurred_at: DateTime<Utc>,
    /// Ids and amounts only: never personal or clinical data.
    pub payload: Value,
}

impl DomainEvent {
    /// `subject` names the one occurrence (an appointment for `booking.confirmed`, a refund's
    /// key for `payment.refunded`): the same tenant, kind and subject always give the same id.
    pub fn new(
        tenant: &TenantId,
        kind: &str,
        subject: &str,
        occurred_at: DateTime<Utc>,
        payload: Value,
    ) -> DomainEvent {
        let digest = Sha256::digest(format!("{tenant}|{kind}|{subject}").as_bytes());
        let body: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
        DomainEvent {
            id: DomainEventId::parse(&format!("{}{body}", DomainEventId::PREFIX)).expect("hex digits make an id"),
            tenant_id: tenant.clone(),
            kind: kind.to_owned(),
            version: EVENT_VERSION,
            occurred_at,
            payload,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    /// The bus did not take some events; the message is for logs.
    #[error("event bus unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait Events: Send + Sync {
    /// Publishes `events` (all or an error; on an error some may have gone, so a retry may
    /// repeat them — which their ids make harmless).
    async fn publish(&self, events: &[DomainEvent]) -> Result<(), EventsError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_occurrence_always_gets_the_same_id_and_another_never_does() {
        let t = TenantId::parse("ten_a").unwrap();
        let at = Utc::now();
        let a = DomainEvent::new(&t, "booking.confirmed", "apt_1", at, Value::Null);
        let again = DomainEvent::new(&t, "booking.confirmed", "apt_1", at + chrono::Duration::seconds(5), Value::Null);
        assert_eq!(a.id, again.id);
        assert_ne!(a.id, DomainEvent::new(&t, "payment.succeeded", "apt_1", at, Value::Null).id);
        assert_ne!(
            a.id,
            DomainEvent::new(&TenantId::parse("ten_b").unwrap(), "booking.confirmed", "apt_1", at, Value::Null).id
        );
        assert!(a.id.as_str().starts_with("dev_") && a.id.as_str().len() == 36);
    }
}
