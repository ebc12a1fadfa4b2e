//! The simulated gateway's card readers, served by the local host (loopback only): what a
//! client does at a real reader. `GET /local/readers/{reader}` shows the reader and what it is
//! asking for, with Stripe's test cards to present; `POST` with `{"card_number": "4242 4242 4242
//! 4242"}` (the approved test card when absent; `4000 0000 0000 0002` declined `card_declined`,
//! `4000 0000 0000 9995` `insufficient_funds`) presents it — Stripe's test helper
//! `present_payment_method` — and posts the signed `terminal.reader.action_succeeded` (or
//! `action_failed`) and `payment_intent.succeeded` (or `payment_failed`) events to this host's
//! `/webhooks/stripe`, as Stripe sends them.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;

use mas_domain::error::AppError;
use mas_domain::html::escape;
use mas_domain::payment::{IntentStatus, ReaderId};
use mas_embedded::simulated::{intent_json, reader_json};
use mas_http::error::{ApiError, ApiResult};
use mas_http::extract::{PathParams, parse_json};

use crate::LocalHost;

/// The reader's routes (mounted only with the simulated gateway, for this machine only).
pub fn routes() -> Router<Arc<LocalHost>> {
    Router::new().route("/local/readers/{reader}", get(page).post(present))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PresentInput {
    card_number: Option<String>,
}

/// `GET /local/readers/{reader}`: the reader's screen, with test cards to present.
async fn page(State(host): State<Arc<LocalHost>>, path: PathParams) -> ApiResult<Html<String>> {
    let gateway = host.simulated.clone().ok_or(ApiError::RouteNotFound)?;
    let id: ReaderId = path.id("reader", "card reader")?;
    let reader =
        gateway.readers().into_iter().find(|r| r.id == id).ok_or(AppError::NotFound { what: "card reader" })?;
    let asking = match reader.action.as_ref().filter(|a| a.status == "in_progress") {
        Some(action) => {
            let amount = action
                .payment_intent
                .as_ref()
                .and_then(|pi| gateway.intents().into_iter().find(|i| &i.id == pi))
                .map(|i| format!("{:.2} {}", i.snapshot.amount as f64 / 100.0, i.currency))
                .unwrap_or_default();
            format!("<p><strong>Present card: {}</strong></p>", escape(&amount))
        }
        None => "<p>Nothing to pay: the reader is idle.</p>".to_owned(),
    };
    Ok(Html(format!(
        r#"<!doctype html><html lang="en"><meta charset="utf-8"><title>Card reader {id} (simulated)</title>
<body style="font-family:system-ui;max-width:32rem;margin:3rem auto">
<h1>Simulated card reader</h1><p>{label} <code>{id}</code>. Nothing real is charged.</p>{asking}
<button onclick="present('4242424242424242')">Tap a card (approved)</button>
<button onclick="present('4000000000000002')">Tap a card (declined: card_declined)</button>
<button onclick="present('4000000000009995')">Tap a card (declined: insufficient_funds)</button>
<pre id="out"></pre>
<script>
async function present(card_number) {{
  const r = await fetch(location.pathname, {{method: 'POST', headers: {{'content-type': 'application/json'}}, body: JSON.stringify({{card_number}})}});
  document.getElementById('out').textContent = r.status + ' ' + await r.text();
}}
</script></body></html>"#,
        label = escape(&reader.label),
    )))
}

/// `POST /local/readers/{reader}`: presents a test card to the reader's payment in progress.
async fn present(State(host): State<Arc<LocalHost>>, path: PathParams, body: Bytes) -> ApiResult<Response> {
    let gateway = host.simulated.clone().ok_or(ApiError::RouteNotFound)?;
    let id: ReaderId = path.id("reader", "card reader")?;
    let input: PresentInput = if body.is_empty() { PresentInput::default() } else { parse_json(&body)? };
    let presented = gateway.present_card(&id, input.card_number.as_deref()).map_err(AppError::from)?;
    let base =
        host.app.public_url.as_deref().ok_or_else(|| AppError::Internal("the local host has no public URL".into()))?;
    let url = format!("{base}/webhooks/stripe");
    let paid = presented.intent.snapshot.status == IntentStatus::Succeeded;
    let (reader_event, intent_event) = if paid {
        ("terminal.reader.action_succeeded", "payment_intent.succeeded")
    } else {
        ("terminal.reader.action_failed", "payment_intent.payment_failed")
    };
    let mut webhooks = Vec::new();
    for (kind, object) in
        [(reader_event, reader_json(&presented.reader)), (intent_event, intent_json(&presented.intent))]
    {
        let delivery = gateway.deliver_object(&url, kind, object).await.map_err(AppError::from)?;
        webhooks.push(json!({ "event_id": delivery.event_id, "type": delivery.event_type, "status": delivery.status }));
    }
    let answer = json!({
        "reader": reader_json(&presented.reader),
        "payment_intent": intent_json(&presented.intent),
        "webhooks": webhooks,
    });
    Ok(axum::Json(answer).into_response())
}
