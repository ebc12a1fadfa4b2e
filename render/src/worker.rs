//! The render worker: one queue message in, one stored PDF (and its stamp lookups) out. The
//! `render` Lambda runs it per SQS record; the local host runs it on a tokio task that drains the
//! in-process queue. A message is a document's render (`RenderMessage`), or a sale's event the
//! bus routed here (`receipts::RENDERED_ON`: its receipt or credit note), or a completed
//! enrolment (`certificates::ISSUED_ON`: its certificate).

pub use mas_functions::sqs::{SqsBatchResponse, SqsEvent};

use std::sync::Arc;

use mas_domain::certificate::Certificate;
use mas_domain::error::{AppError, AppResult};
use mas_domain::receipt::Receipt;
use mas_ports::DomainEvent;
use mas_ports::Renderer;
use mas_usecases::app::App;
use mas_usecases::documents::{self, RenderMessage, Rendered};
use mas_usecases::receipts;

/// What one message made.
#[derive(Debug)]
pub enum Made {
    Document(Rendered),
    Receipt(Receipt),
    Certificate(Box<Certificate>),
}

/// Renders what one message asks for. Running it twice for one message is harmless.
pub async fn handle(app: &App, renderer: Arc<dyn Renderer>, body: &serde_json::Value) -> AppResult<Made> {
    if let Some(detail) = body.get("detail") {
        // An EventBridge event, as SQS delivers it (the local bus sends the same body).
        let event: DomainEvent =
            serde_json::from_value(detail.clone()).map_err(|e| AppError::Internal(format!("unreadable event: {e}")))?;
        if mas_usecases::certificates::ISSUED_ON.contains(&event.kind.as_str()) {
            let api_base = mas_usecases::api_base(app);
            let issuing = mas_usecases::certificates::Issuing {
                store: &app.store,
                blobs: app.blobs.as_ref(),
                renderer,
                keyring: &app.keyring,
                api_base: &api_base,
            };
            let issued = mas_usecases::certificates::on_event(&issuing, &event).await?;
            tracing::info!(number = %issued.number, enrolment_id = %issued.enrolment_id, "certificate issued");
            return Ok(Made::Certificate(Box::new(issued)));
        }
        let issued = receipts::on_event(&app.store, app.blobs.as_ref(), renderer, &event).await?;
        tracing::info!(sale_id = %issued.sale_id, number = %issued.number, size_bytes = issued.size_bytes, "receipt issued");
        return Ok(Made::Receipt(issued));
    }
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
    Ok(Made::Document(rendered))
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
