//! Routes only the local host serves (never deployed, not in the route table): paying an intent
//! of the simulated gateway, as Stripe.js would in the browser. Paying posts the signed
//! `payment_intent.succeeded` (or `payment_failed`) webhook to this host's `/webhooks/stripe`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::HOST;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;

use super::error::{ApiError, ApiResult};
use super::extract::{PathParams, parse_json};
use crate::adapters::simulated::Outcome;
use crate::app::App;
use crate::domain::payment::{IntentId, IntentStatus};
use crate::error::AppError;

/// The whole API plus the local-only routes (when the simulated gateway is the adapter).
pub fn router(app: Arc<App>) -> Router {
    let local = Router::new().route("/local/pay/{intent_id}", get(page).post(pay)).with_state(app.clone());
    if app.simulated.is_some() { super::router(app).merge(local) } else { super::router(app) }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PayInput {
    outcome: Option<Outcome>,
}

/// `POST /local/pay/{intent_id}` with `{"outcome":"succeed"|"fail"}` (succeed when absent).
async fn pay(State(app): State<Arc<App>>, path: PathParams, headers: HeaderMap, body: Bytes) -> ApiResult<Response> {
    let gateway = app.simulated.clone().ok_or(ApiError::RouteNotFound)?;
    let id: IntentId = path.id("intent_id", "payment intent")?;
    let input: PayInput = if body.is_empty() { PayInput::default() } else { parse_json(&body)? };
    let intent = gateway.pay(&id, input.outcome.unwrap_or(Outcome::Succeed)).map_err(AppError::from)?;
    let event_type = match intent.snapshot.status {
        IntentStatus::Succeeded => "payment_intent.succeeded",
        _ => "payment_intent.payment_failed",
    };
    // This host received the request, so its webhook route is at the same address.
    let host = headers.get(HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1:3000");
    let delivery = gateway
        .deliver(&format!("http://{host}/webhooks/stripe"), event_type, &intent)
        .await
        .map_err(AppError::from)?;
    let answer = json!({
        "intent_id": intent.id,
        "status": intent.snapshot.status,
        "webhook": { "event_id": delivery.event_id, "type": delivery.event_type, "status": delivery.status },
    });
    Ok(axum::Json(answer).into_response())
}

/// A page with the two buttons a test card offers.
async fn page(path: PathParams) -> ApiResult<Html<String>> {
    let id: IntentId = path.id("intent_id", "payment intent")?;
    Ok(Html(format!(
        r#"<!doctype html><html lang="en"><meta charset="utf-8"><title>Pay {id} (simulated)</title>
<body style="font-family:system-ui;max-width:32rem;margin:3rem auto">
<h1>Simulated payment</h1><p>Intent <code>{id}</code>. Nothing real is charged.</p>
<button onclick="pay('succeed')">Pay (test card succeeds)</button>
<button onclick="pay('fail')">Decline (card_declined)</button>
<pre id="out"></pre>
<script>
async function pay(outcome) {{
  const r = await fetch(location.pathname, {{method: 'POST', headers: {{'content-type': 'application/json'}}, body: JSON.stringify({{outcome}})}});
  document.getElementById('out').textContent = r.status + ' ' + await r.text();
}}
</script></body></html>"#
    )))
}
