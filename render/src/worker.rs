//! The render worker: one queue message in, one stored PDF (and its stamp lookups) out. The
//! `render` Lambda runs it per SQS record; the local host runs it on a tokio task that drains the
//! in-process queue.

pub use mas_functions::sqs::{SqsBatchResponse, SqsEvent};

use std::sync::Arc;

use mas_shared::adapters::channel_queue::Message;
use mas_shared::app::App;
use mas_shared::error::{AppError, AppResult};
use mas_shared::ops::documents::{self, RenderMessage, Rendered};
use mas_shared::ports::{QueueName, Renderer};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinHandle;

/// Renders what one message asks for. Running it twice for one message is harmless.
pub async fn handle(app: &App, renderer: Arc<dyn Renderer>, body: &serde_json::Value) -> AppResult<Rendered> {
    let message: RenderMessage = serde_json::from_value(body.clone())
        .map_err(|e| AppError::Internal(format!("unreadable render message: {e}")))?;
    let rendered = documents::render(&app.store, app.blobs.as_ref(), renderer, &message).await?;
    match &rendered {
        Rendered::New(r) => {
            tracing::info!(document_id = %r.document_id, variant = r.variant.as_str(), size_bytes = r.size_bytes, "rendered")
        }
        Rendered::Already(r) => {
            tracing::info!(document_id = %r.document_id, variant = r.variant.as_str(), "already rendered")
        }
    }
    Ok(rendered)
}

/// Drains the in-process queue, rendering each message on its own task. Ends when every sender
/// (the app's queue) is gone.
pub fn spawn_local(
    app: Arc<App>,
    renderer: Arc<dyn Renderer>,
    mut receiver: UnboundedReceiver<Message>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        while let Some((queue, body)) = receiver.recv().await {
            match queue {
                QueueName::Render => {
                    let (app, renderer) = (app.clone(), renderer.clone());
                    tokio::spawn(async move {
                        if let Err(err) = handle(&app, renderer, &body).await {
                            tracing::error!(%err, "render failed");
                        }
                    });
                }
                other => {
                    let app = app.clone();
                    tokio::spawn(async move { mas_shared::workers::run_local(&app, other, body).await });
                }
            }
        }
    })
}

/// One SQS batch (the `render` Lambda): each record rendered; the ones that failed are reported
/// so SQS retries only them (and moves them to the dead-letter queue after five receives).
pub async fn handle_batch(app: &App, renderer: Arc<dyn Renderer>, event: SqsEvent) -> SqsBatchResponse {
    mas_functions::sqs::handle_batch(event, |body| {
        let renderer = renderer.clone();
        async move { handle(app, renderer, &body).await.map(drop) }
    })
    .await
}
