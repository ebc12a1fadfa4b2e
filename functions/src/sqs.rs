//! SQS batches for every queue worker: each record handled, the failed ones reported (so SQS
//! retries only them and dead-letters a poison message after its receive limit).

use std::future::Future;

pub use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use mas_domain::error::AppResult;

pub async fn handle_batch<F, Fut>(event: SqsEvent, work: F) -> SqsBatchResponse
where
    F: Fn(serde_json::Value) -> Fut,
    Fut: Future<Output = AppResult<()>>,
{
    let records =
        event.records.into_iter().map(|r| (r.message_id.unwrap_or_default(), r.body.unwrap_or_default())).collect();
    let failed = mas_usecases::workers::batch(records, work).await;
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
