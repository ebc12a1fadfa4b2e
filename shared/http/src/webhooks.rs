//! `POST /webhooks/stripe`: Stripe's events, verified against `Stripe-Signature` before a byte
//! of them is read, then applied by `ops::stripe_events`. Its own Lambda (`stripe_webhook`); the
//! local host mounts it with every other route.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::http::HeaderMap;
use serde::Serialize;
use utoipa::ToSchema;

use super::error::{ApiError, ApiResult, ErrorEnvelope};
use mas_domain::error::AppError;
use mas_domain::ids::RequestId;
use mas_usecases::app::App;
use mas_usecases::stripe_events::{self, Handled, Received};

pub const SIGNATURE_HEADER: &str = "stripe-signature";

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookAnswer {
    pub received: bool,
    /// `applied`, `duplicate` (done before: nothing was done again), `ignored` (a type we do not
    /// act on, or not our payment) or `parked` (failed too often: sent to the dead-letter queue).
    pub outcome: &'static str,
}

/// Verifies the signature (HMAC-SHA256 over `{t}.{body}`, every `v1` tried, five minutes'
/// tolerance) and applies the event once, whatever order and however often it comes.
#[utoipa::path(post, path = "/webhooks/stripe", tag = "webhooks", operation_id = "receive_stripe_webhook",
    params(("Stripe-Signature" = String, Header, description = "`t=…,v1=…` as Stripe signs it")),
    request_body(content = Object, description = "A Stripe event, byte for byte as Stripe signed it", content_type = "application/json"),
    responses((status = 200, body = WebhookAnswer),
        (status = 400, description = "a missing, wrong or stale signature, or not an event; nothing is written", body = ErrorEnvelope),
        (status = 409, description = "another delivery of this event is being processed; Stripe retries", body = ErrorEnvelope),
        (status = 500, body = ErrorEnvelope)))]
pub async fn stripe(
    State(app): State<Arc<App>>,
    Extension(request_id): Extension<RequestId>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<WebhookAnswer>> {
    let signature = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    app.webhook_secret
        .verify(signature, &body, app.store.clock.now().timestamp())
        .map_err(|err| ApiError::Malformed { code: err.code(), message: err.to_string() })?;
    let event = Received::parse(&body).map_err(|message| ApiError::Malformed { code: "malformed_event", message })?;
    let outcome = match stripe_events::handle(mas_usecases::payments::Ports::of(&app), &request_id, event).await? {
        Handled::Applied => "applied",
        Handled::Duplicate => "duplicate",
        Handled::Ignored => "ignored",
        Handled::Parked => "parked",
        Handled::InFlight => {
            return Err(AppError::conflict(
                "event_in_flight",
                "another delivery of this event is being processed; retry later",
            )
            .into());
        }
    };
    Ok(Json(WebhookAnswer { received: true, outcome }))
}
