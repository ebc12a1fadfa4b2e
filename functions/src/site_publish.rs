//! The site publish worker: one queue message (a `POST /v1/site/publish` request or a
//! `site.changed` event routed by the bus) in, one published site out. The `site_publish` Lambda
//! runs it per SQS record; the local host runs it in-process.

pub use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};

use mas_shared::app::App;
use mas_shared::error::{AppError, AppResult};
use mas_shared::ops::site::{self, PublishRequest, Published};

/// Publishes what one message asks for. Running it twice for one message is harmless: the
/// second run finds the site unchanged.
pub async fn handle(app: &App, body: &serde_json::Value) -> AppResult<Published> {
    let request = PublishRequest::from_message(body)?;
    let published = site::publish(app, &request).await?;
    let p = published.publication();
    match &published {
        Published::New(_) => tracing::info!(tenant_id = %request.tenant_id, version = p.version, "site published"),
        Published::Unchanged(_) => tracing::info!(tenant_id = %request.tenant_id, version = p.version, "site unchanged"),
    }
    Ok(published)
}

/// One SQS batch: the records that failed are reported so SQS retries only them (and moves them
/// to the dead-letter queue after five receives).
pub async fn handle_batch(app: &App, event: SqsEvent) -> SqsBatchResponse {
    let mut failures = Vec::new();
    for record in event.records {
        let id = record.message_id.clone().unwrap_or_default();
        let body = record.body.as_deref().unwrap_or_default();
        let outcome = match serde_json::from_str(body) {
            Ok(value) => handle(app, &value).await.map(drop),
            Err(err) => Err(AppError::Internal(format!("not JSON: {err}"))),
        };
        if let Err(err) = outcome {
            tracing::error!(message_id = %id, %err, "site publish failed; SQS will retry it");
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            failures.push(failure);
        }
    }
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failures;
    response
}
