//! Queue workers that live in the shared crate (the PDF render lives in `mas-render`): what one
//! message does, how a batch reports partial failures, and how the local host retries.

use std::future::Future;

use serde_json::Value;

use mas_context::app::App;
use mas_domain::error::{AppError, AppResult};
use mas_ports::QueueName;

/// Handles one message of `queue`.
pub async fn handle(app: &App, queue: QueueName, body: &Value) -> AppResult<()> {
    match queue {
        QueueName::Notify => match mas_messaging::notifications::plan::Work::parse(body)? {
            mas_messaging::notifications::plan::Work::Event(event)
                if event.kind == mas_context::announcements::CLIENT_ERASED =>
            {
                mas_privacy::gdpr::after_erasure(app, &event).await
            }
            mas_messaging::notifications::plan::Work::Event(event) if event.kind == mas_booking::fees::FEE_DUE => {
                mas_booking::fees::on_fee_due(mas_booking::payments::Ports::of(app), &event).await
            }
            mas_messaging::notifications::plan::Work::Event(event)
                if event.kind == mas_context::announcements::PAYMENT_LINK_REQUESTED =>
            {
                mas_messaging::notifications::paylink::on_requested(app, &event).await
            }
            _ => {
                mas_messaging::notifications::plan::handle(&mas_messaging::notifications::Notifier::of(app), body).await
            }
        },
        QueueName::SitePublish => {
            let request = mas_publishing::site::PublishRequest::from_message(body)?;
            let published = mas_publishing::site::publish(app, &request).await?;
            match published.publication() {
                Some(p) => {
                    let unchanged = matches!(published, mas_publishing::site::Published::Unchanged(_));
                    tracing::info!(tenant_id = %request.tenant_id, version = p.version, unchanged, "site publish done")
                }
                None => tracing::info!(tenant_id = %request.tenant_id, "site publish withheld: the clinic is not live"),
            }
            Ok(())
        }
        QueueName::PartnerWebhooks => match mas_messaging::notifications::plan::Work::parse(body)? {
            mas_messaging::notifications::plan::Work::Event(event) => {
                let fan_out = mas_partners::webhooks::on_event(app, &event).await?;
                tracing::info!(event_id = %event.id, created = fan_out.created, delivered = fan_out.delivered, "partner webhooks");
                Ok(())
            }
            _ => Err(AppError::Internal("the partner webhooks queue carries events only".into())),
        },
        QueueName::Insight => insight(&app.store, body).await,
        other => Err(AppError::Internal(format!("queue {} has no worker in this crate", other.as_str()))),
    }
}

/// One message of the insight queue: its event applied once to the projections. Needs only the
/// store (the `insight` Lambda builds nothing else).
pub async fn insight(store: &mas_store::Store, body: &Value) -> AppResult<()> {
    match mas_messaging::notifications::plan::Work::parse(body)? {
        mas_messaging::notifications::plan::Work::Event(event) => {
            let applied = mas_insight::projection::apply(store, &event).await?;
            tracing::info!(event_id = %event.id, kind = %event.kind, ?applied, "insight projections");
            Ok(())
        }
        _ => Err(AppError::Internal("the insight queue carries events only".into())),
    }
}

/// Runs `work` on each `(message id, body)` and answers the ids that failed, so SQS retries only
/// those (and moves a message to the dead-letter queue after its receive limit) while the rest
/// of the batch is done. A body that is not JSON fails too: it will reach the DLQ.
pub async fn batch<F, Fut>(records: Vec<(String, String)>, work: F) -> Vec<String>
where
    F: Fn(Value) -> Fut,
    Fut: Future<Output = AppResult<()>>,
{
    let mut failed = Vec::new();
    for (id, body) in records {
        let outcome = match serde_json::from_str::<Value>(&body) {
            Ok(value) => work(value).await,
            Err(err) => Err(AppError::Internal(format!("not JSON: {err}"))),
        };
        if let Err(err) = outcome {
            tracing::error!(message_id = %id, %err, "message failed; the queue will retry it");
            failed.push(id);
        }
    }
    failed
}

/// Local delivery of one message: retried as SQS would (five receives, with a pause), then
/// logged as dead-lettered.
pub async fn run_local(app: &App, queue: QueueName, body: Value) {
    for attempt in 1..=5u64 {
        match handle(app, queue, &body).await {
            Ok(()) => return,
            Err(err) if attempt < 5 => {
                tracing::warn!(queue = queue.as_str(), attempt, %err, "worker failed; retrying");
                tokio::time::sleep(std::time::Duration::from_millis(200 * attempt)).await;
            }
            Err(err) => tracing::error!(queue = queue.as_str(), %err, "worker failed five times: dead-lettered"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_poison_message_fails_alone_and_the_rest_of_the_batch_is_done() {
        let done = std::sync::Mutex::new(Vec::new());
        let records = vec![
            ("m1".to_owned(), r#"{"n":1}"#.to_owned()),
            ("m2".to_owned(), "not json".to_owned()),
            ("m3".to_owned(), r#"{"n":3}"#.to_owned()),
            ("m4".to_owned(), r#"{"n":4,"poison":true}"#.to_owned()),
        ];
        let failed = batch(records, |value| {
            let done = &done;
            async move {
                if value.get("poison").is_some() {
                    return Err(AppError::Internal("poison".into()));
                }
                done.lock().unwrap().push(value["n"].as_i64().unwrap());
                Ok(())
            }
        })
        .await;
        assert_eq!(failed, ["m2", "m4"]);
        assert_eq!(*done.lock().unwrap(), [1, 3]);
    }
}
