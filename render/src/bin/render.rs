//! The `render` Lambda: SQS messages from the render queue in, PDFs in S3 out. A message that
//! fails is reported back (partial batch response) and retried; after five receives SQS moves
//! it to the dead-letter queue.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use lambda_runtime::{LambdaEvent, service_fn};
use mas_render::{KrillaRenderer, worker};
use mas_shared::app::App;
use mas_shared::ports::Renderer;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    mas_functions::init_tracing(true);
    let app = Arc::new(App::from_env().await?);
    // Fonts are parsed once per cold start.
    let renderer: Arc<dyn Renderer> = Arc::new(KrillaRenderer::new());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let (app, renderer) = (app.clone(), renderer.clone());
        async move { Ok::<_, lambda_runtime::Error>(handle_batch(&app, renderer, event.payload).await) }
    }))
    .await
}

async fn handle_batch(app: &App, renderer: Arc<dyn Renderer>, event: SqsEvent) -> SqsBatchResponse {
    let mut failures = Vec::new();
    for record in event.records {
        let id = record.message_id.clone().unwrap_or_default();
        let body = record.body.as_deref().unwrap_or_default();
        let outcome = match serde_json::from_str(body) {
            Ok(value) => worker::handle(app, renderer.clone(), &value).await.map(drop),
            Err(err) => Err(mas_shared::error::AppError::Internal(format!("not JSON: {err}"))),
        };
        if let Err(err) = outcome {
            tracing::error!(message_id = %id, %err, "render failed; SQS will retry it");
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            failures.push(failure);
        }
    }
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failures;
    response
}
