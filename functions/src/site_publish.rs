//! The site publish worker: one queue message (a `POST /v1/site/publish` request or a
//! `site.changed` event routed by the bus) in, one published site out (`ops::site::publish`). The
//! `site_publish` Lambda runs it per SQS record; the local host runs the same handler in-process
//! (`mas_usecases::workers`).

pub use crate::sqs::{SqsBatchResponse, SqsEvent};

use mas_domain::error::AppResult;
use mas_usecases::app::App;
use mas_usecases::site::{self, PublishRequest, Published};

/// Publishes what one message asks for. Running it twice for one message is harmless: the
/// second run finds the site unchanged.
pub async fn handle(app: &App, body: &serde_json::Value) -> AppResult<Published> {
    let request = PublishRequest::from_message(body)?;
    Ok(site::publish(app, &request).await?)
}

/// One SQS batch, failures reported per record (`crate::sqs`).
pub async fn handle_batch(app: &App, event: SqsEvent) -> SqsBatchResponse {
    crate::sqs::handle_batch(event, |body| async move { handle(app, &body).await.map(drop) }).await
}
