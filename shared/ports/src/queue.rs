//! The queue port: fire-and-forget messages to the workers (SQS on AWS; an in-process channel in
//! the local host, drained by a tokio task). Delivery is at least once: every worker is idempotent.

use async_trait::async_trait;
use serde::Serialize;
use serde_json::Value;

/// The queues the platform sends to. Each has one worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum QueueName {
    /// PDF rendering of generated and signed documents (the `render` Lambda).
    Render,
    /// Publishing a tenant's static site to the sites bucket (the `site_publish` Lambda).
    SitePublish,
    /// Messages to clients: domain events from the bus and due reminders from the sweep (the
    /// `notifications` Lambda).
    Notify,
    /// Partner webhook deliveries: the events partners may subscribe to, fanned out to their
    /// endpoints (the `partner_webhooks` Lambda).
    PartnerWebhooks,
    /// The insight projections: the events they count, applied once each to the daily rollups
    /// (the `insight` Lambda).
    Insight,
}

impl QueueName {
    pub const ALL: [QueueName; 5] =
        [QueueName::Render, QueueName::SitePublish, QueueName::Notify, QueueName::PartnerWebhooks, QueueName::Insight];

    /// The environment variable holding the queue's URL on AWS.
    pub fn url_variable(self) -> &'static str {
        match self {
            QueueName::Render => "RENDER_QUEUE_URL",
            QueueName::SitePublish => "SITE_PUBLISH_QUEUE_URL",
            QueueName::Notify => "NOTIFY_QUEUE_URL",
            QueueName::PartnerWebhooks => "PARTNER_WEBHOOKS_QUEUE_URL",
            QueueName::Insight => "INSIGHT_QUEUE_URL",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            QueueName::Render => "render",
            QueueName::SitePublish => "site_publish",
            QueueName::Notify => "notify",
            QueueName::PartnerWebhooks => "partner_webhooks",
            QueueName::Insight => "insight",
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum QueueError {
    /// No URL or consumer is configured for this queue in this process.
    #[error("queue {0} is not configured")]
    NotConfigured(&'static str),
    /// The backend refused or failed; the message is for logs only.
    #[error("queue unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait Queue: Send + Sync {
    /// Enqueues one JSON message; returns once the queue has accepted it.
    async fn send(&self, queue: QueueName, body: Value) -> Result<(), QueueError>;

    /// Enqueues many messages (SQS sends ten per request); all or an error, after which some may
    /// have gone (workers are idempotent).
    async fn send_batch(&self, queue: QueueName, bodies: Vec<Value>) -> Result<(), QueueError> {
        for body in bodies {
            self.send(queue, body).await?;
        }
        Ok(())
    }
}

/// A message of one queue: its type names the queue, so a sender cannot put it on another, and
/// each queue carries the one shape its worker reads.
pub trait QueueMessage: Serialize + Sync {
    const QUEUE: QueueName;
}

impl dyn Queue + '_ {
    /// Enqueues a typed message on its queue.
    pub async fn enqueue<M: QueueMessage>(&self, message: &M) -> Result<(), QueueError> {
        self.send(M::QUEUE, body(message)?).await
    }

    /// Enqueues typed messages on their queue (in batches where the adapter can).
    pub async fn enqueue_all<M: QueueMessage>(&self, messages: &[M]) -> Result<(), QueueError> {
        let bodies = messages.iter().map(body).collect::<Result<Vec<_>, _>>()?;
        self.send_batch(M::QUEUE, bodies).await
    }
}

fn body<M: Serialize>(message: &M) -> Result<Value, QueueError> {
    serde_json::to_value(message)
        .map_err(|e| QueueError::Unavailable(format!("a message that does not serialize: {e}")))
}
