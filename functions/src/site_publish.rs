//! The site publish worker: one queue message (a `POST /v1/site/publish` request or a
//! `site.changed` event routed by the bus) in, one published site out (`ops::site::publish`). The
//! `site_publish` Lambda runs it per SQS record; the local host runs the same handler in-process
//! (`mas_shared::workers`).

pub use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};

use mas_shared::app::App;
use mas_shared::error::AppResult;
use mas_shared::ops::site::{self, PublishRequest, Published};

/// Publishes what one message asks for. Running it twice for one message is harmless: the
/// second run finds the site unchanged.
pub async fn handle(app: &App, body: &serde_json::Value) -> AppResult<Published> {
    let request = PublishRequest::from_message(body)?;
    site::publish(app, &request).await
}

/// One SQS batch: the records that failed are reported so SQS retries only them (and moves them
/// to the dead-letter queue after five receives).
pub async fn handle_batch(app: &App, event: SqsEvent) -> SqsBatchResponse {
    let records = event.records.into_iter().map(|r| (r.message_id.unwrap_or_default(), r.body.unwrap_or_default())).collect();
    let failed = mas_shared::workers::batch(records, |body| async move { handle(app, &body).await.map(drop) }).await;
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failed
        .into_iter()
        .map(|id| {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            failure
        })
        .collect();
    response
}
