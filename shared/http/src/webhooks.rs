//! `POST /webhooks/stripe`: Stripe's events, verified against `Stripe-Signature` before a byte
//! of them is read, then applied by `ops::stripe_events`. `POST /webhooks/stripe/connect`: the
//! events of clinics' connected accounts (Stripe Connect), verified against the Connect
//! endpoint's own secret and tied to a clinic by their account id alone. Their own Lambda
//! (`stripe_webhook`); the local host mounts them with every other route.

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
use mas_domain::webhook::WebhookSecret;
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
    let event = verified(&app, &app.webhook_secret, &headers, &body)?;
    let handled = stripe_events::handle(mas_usecases::payments::Ports::of(&app), &request_id, event).await?;
    answer(handled)
}

/// The signature checked with `secret` before a byte is read, then the event's envelope.
fn verified(app: &App, secret: &WebhookSecret, headers: &HeaderMap, body: &[u8]) -> Result<Received, ApiError> {
    let signature = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    secret
        .verify(signature, body, app.store.clock.now().timestamp())
        .map_err(|err| ApiError::Malformed { code: err.code(), message: err.to_string() })?;
    Received::parse(body).map_err(|message| ApiError::Malformed { code: "malformed_event", message })
}

/// Events of clinics' connected accounts (`account.updated`, disputes), verified with the Connect
/// endpoint's secret and applied once like the platform's. An event of an account that is not a
/// clinic's is answered 200 `ignored`, with nothing written (the clinic is found by the account
/// id alone, never by the event's metadata).
#[utoipa::path(post, path = "/webhooks/stripe/connect", tag = "webhooks", operation_id = "receive_stripe_connect_webhook",
    params(("Stripe-Signature" = String, Header, description = "`t=…,v1=…` as Stripe signs it with the Connect endpoint's secret")),
    request_body(content = Object, description = "A Stripe event from a connected account (with `account`), byte for byte as Stripe signed it", content_type = "application/json"),
    responses((status = 200, body = WebhookAnswer),
        (status = 400, description = "a missing, wrong or stale signature, or not an event; nothing is written", body = ErrorEnvelope),
        (status = 409, description = "another delivery of this event is being processed; Stripe retries", body = ErrorEnvelope),
        (status = 500, body = ErrorEnvelope)))]
pub async fn stripe_connect(
    State(app): State<Arc<App>>,
    Extension(request_id): Extension<RequestId>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<WebhookAnswer>> {
    let event = verified(&app, &app.connect_webhook_secret, &headers, &body)?;
    let handled = stripe_events::handle_connect(mas_usecases::payments::Ports::of(&app), &request_id, event).await?;
    answer(handled)
}

fn answer(handled: Handled) -> ApiResult<Json<WebhookAnswer>> {
    let outcome = match handled {
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
