//! The local bus with the rules of `template.yaml`: which queue each event kind goes to, for the
//! local host and tests (on AWS, EventBridge rules do this routing).

use async_trait::async_trait;
use mas_ports::events::{DomainEvent, Events, EventsError};

/// The local bus with the rules of `template.yaml`: publishes to `inner` (which keeps the
/// events), then puts each event a rule matches on that rule's queue, in the body an
/// EventBridge rule would deliver.
pub struct RoutedEvents {
    inner: std::sync::Arc<dyn Events>,
    queue: std::sync::Arc<dyn mas_ports::Queue>,
}

impl RoutedEvents {
    pub fn new(inner: std::sync::Arc<dyn Events>, queue: std::sync::Arc<dyn mas_ports::Queue>) -> RoutedEvents {
        RoutedEvents { inner, queue }
    }
}

/// `app` with its events routed to its queue as template.yaml's rules do on AWS (the local host
/// and tests, after `with_queue`).
pub fn route_locally(app: mas_context::app::App) -> mas_context::app::App {
    let routed = std::sync::Arc::new(RoutedEvents::new(app.events.clone(), app.queue.clone()));
    app.with_events(routed)
}

/// Which queue each event kind goes to (template.yaml's `NotifyRule` lists the same kinds,
/// `SiteChangedRule` sends `site.changed` to the site publisher, `ReceiptRule` a sale's events to
/// the render queue for its receipt or credit note, and `CertificateRule` a completed enrolment
/// there for its certificate).
pub fn route(kind: &str) -> Option<mas_ports::QueueName> {
    if kind == mas_context::announcements::SITE_CHANGED {
        return Some(mas_ports::QueueName::SitePublish);
    }
    if mas_documents::receipts::RENDERED_ON.contains(&kind) || mas_academy::certificates::ISSUED_ON.contains(&kind) {
        return Some(mas_ports::QueueName::Render);
    }
    mas_messaging::notifications::plan::SUBSCRIBED.contains(&kind).then_some(mas_ports::QueueName::Notify)
}

/// The second rule an event may match (template.yaml's `PartnerWebhooksRule`): the kinds
/// partners may subscribe to also go to the partner webhooks queue.
pub fn partner_route(kind: &str) -> Option<mas_ports::QueueName> {
    mas_domain::partner::EVENT_KINDS.contains(&kind).then_some(mas_ports::QueueName::PartnerWebhooks)
}

/// The third (template.yaml's `InsightRule`, in infra/stacks/insight.yaml): the kinds the
/// projections count go to the insight queue.
pub fn insight_route(kind: &str) -> Option<mas_ports::QueueName> {
    mas_domain::insight::PROJECTED_KINDS.contains(&kind).then_some(mas_ports::QueueName::Insight)
}

#[async_trait]
impl Events for RoutedEvents {
    async fn publish(&self, events: &[DomainEvent]) -> Result<(), EventsError> {
        self.inner.publish(events).await?;
        for event in events {
            let queues =
                route(&event.kind).into_iter().chain(partner_route(&event.kind)).chain(insight_route(&event.kind));
            for queue in queues {
                let body = mas_messaging::notifications::plan::Work::event_body(event);
                self.queue.send(queue, body).await.map_err(|e| EventsError::Unavailable(e.to_string()))?;
            }
        }
        Ok(())
    }
}
