//! The `notifications` Lambda: SQS batches from the notify queue (domain events routed by the
//! EventBridge rule, and due reminders from the sweep) in; emails and texts out. Failed records
//! are reported one by one, so SQS retries only them and dead-letters a poison message.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use lambda_runtime::{LambdaEvent, service_fn};
use mas_shared::app::App;
use mas_shared::ports::QueueName;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    mas_functions::init_tracing(true);
    let app = Arc::new(App::from_env().await?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let app = app.clone();
        async move {
            let records = event
                .payload
                .records
                .into_iter()
                .map(|r| (r.message_id.unwrap_or_default(), r.body.unwrap_or_default()))
                .collect();
            let failed = mas_shared::workers::batch(records, |body| {
                let app = app.clone();
                async move { mas_shared::workers::handle(&app, QueueName::Notify, &body).await }
            })
            .await;
            let mut response = SqsBatchResponse::default();
            response.batch_item_failures = failed
                .into_iter()
                .map(|id| {
                    let mut failure = BatchItemFailure::default();
                    failure.item_identifier = id;
                    failure
                })
                .collect();
            Ok::<_, lambda_runtime::Error>(response)
        }
    }))
    .await
}
