//! The kinds of domain events one capability announces and another acts on, here so neither
//! depends on the other: brand and catalog changes ask the site to publish; an erasure tells
//! messaging to forget the client at the payment provider; a payment link asked for is made and
//! sent by messaging.

use chrono::{DateTime, Utc};
use mas_domain::ids::TenantId;
use mas_ports::DomainEvent;
use serde_json::json;

/// Brand and catalog changes; the bus routes it to the site publish queue (template.yaml
/// `SiteChangedRule`).
pub const SITE_CHANGED: &str = "site.changed";

/// A client was erased (GDPR); notifications deletes what the payment provider holds.
pub const CLIENT_ERASED: &str = "client.erased";

/// A payment link was asked for (the desk's balance by link, or a fee no card paid): booking
/// announces it, the messaging worker makes its hosted page and sends it to the client.
pub const PAYMENT_LINK_REQUESTED: &str = "payment.link_requested";

/// The `site.changed` event for `tenant`: `reason` says what changed (`brand`, a catalog kind…).
pub fn change_event(tenant: &TenantId, subject: &str, reason: &str, at: DateTime<Utc>) -> DomainEvent {
    DomainEvent::new(tenant, SITE_CHANGED, subject, at, json!({ "reason": reason }))
}
