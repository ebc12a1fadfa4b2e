//! Routes only the local host serves (never deployed, not in the route table): paying an intent
//! of the simulated gateway, as Stripe.js would in the browser — by hand (`/local/pay/{id}`), or
//! through the Stripe.js shim the sites load from `/local/stripe.js` (the Payment Element's card
//! form, Stripe's test cards, the 3-D Secure challenge). Paying posts the signed
//! `payment_intent.succeeded` (or `payment_failed`, `requires_action`) webhook to this host's
//! `/webhooks/stripe`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;

use mas_domain::error::AppError;
use mas_domain::payment::{IntentId, IntentStatus};
use mas_embedded::simulated::{AUTHENTICATION_FAILURE, Outcome, SimulatedGateway, failure_message, intent_json};
use mas_http::error::{ApiError, ApiResult};
use mas_http::extract::{PathParams, parse_json};

use crate::LocalHost;

/// The whole API plus the local-only routes (when the simulated gateway is the adapter). The
/// local-only routes answer only callers on this machine: they read every message the host sent
/// and pay intents, so a host bound to a public address must not offer them to the network.
pub fn router(host: Arc<LocalHost>) -> Router {
    let local = Router::new()
        .route("/local/pay/{intent_id}", get(page).post(pay))
        .route("/local/pay/{intent_id}/confirm", axum::routing::post(confirm_card))
        .route("/local/pay/{intent_id}/authenticate", axum::routing::post(authenticate))
        .route("/local/pay/{intent_id}/dispute", axum::routing::post(dispute))
        .route(mas_embedded::simulated::SHIM_PATH, get(stripe_shim))
        .merge(crate::local_checkout::routes())
        .merge(crate::local_connect::routes())
        .merge(crate::local_readers::routes())
        .with_state(host.clone());
    let messages = Router::new()
        .route("/local/outbox", get(outbox_page))
        .route("/local/outbox.json", get(outbox_json))
        .route("/local/sweep", axum::routing::post(sweep_now))
        .route("/local/dns/{name}", get(dns_records).put(set_dns_records))
        .with_state(host.clone());
    let local_only = if host.simulated.is_some() { messages.merge(local) } else { messages };
    mas_http::router(host.app.clone()).merge(local_only.layer(axum::middleware::from_fn(only_from_this_machine)))
}

/// 404 (as if the route did not exist) unless the peer is a loopback address.
async fn only_from_this_machine(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let peer = request.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
    if peer.is_some_and(|ip| ip.is_loopback()) {
        next.run(request).await
    } else {
        ApiError::RouteNotFound.into_response()
    }
}

fn outbox(host: &LocalHost) -> ApiResult<Vec<mas_embedded::outbox::OutboxEntry>> {
    let outbox = host.outbox.as_ref().ok_or(ApiError::RouteNotFound)?;
    outbox.list().map_err(|e| AppError::Internal(format!("outbox: {e}")).into())
}

/// `GET /local/outbox.json`: every message the host "sent", newest first.
async fn outbox_json(State(host): State<Arc<LocalHost>>) -> ApiResult<Response> {
    Ok(axum::Json(outbox(&host)?).into_response())
}

/// `GET /local/outbox`: the same as a page, with each email's HTML as it would arrive.
async fn outbox_page(State(host): State<Arc<LocalHost>>) -> ApiResult<Html<String>> {
    use mas_domain::html::escape as html_escape;
    let entries = outbox(&host)?;
    let mut rows = String::new();
    for entry in &entries {
        let body = match &entry.html {
            // The email's own HTML, sandboxed so its links open but nothing runs.
            Some(html) => format!(
                "<iframe sandbox=\"allow-popups allow-top-navigation-by-user-activation\" title=\"{}\" srcdoc=\"{}\"></iframe>",
                html_escape(entry.subject.as_deref().unwrap_or("email")),
                html_escape(html)
            ),
            None => format!("<p class=\"sms\">{}</p>", linkify(&html_escape(&entry.text))),
        };
        rows.push_str(&format!(
            "<article><h2>{} to {}</h2><p class=\"meta\">{} · {}</p>{}{}</article>",
            html_escape(&entry.channel),
            html_escape(&entry.to),
            html_escape(&entry.written_at.to_rfc3339()),
            html_escape(&entry.message_id),
            entry.subject.as_deref().map(|s| format!("<p><strong>{}</strong></p>", html_escape(s))).unwrap_or_default(),
            body
        ));
    }
    if entries.is_empty() {
        rows.push_str("<p>No messages yet. Book an appointment on the demo site and they appear here.</p>");
    }
    Ok(Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>Outbox</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:760px;margin:2rem auto;padding:0 1rem;color:#1f1f1f}}article{{border:1px solid #ccc;border-radius:8px;padding:1rem;margin:1rem 0}}\
         iframe{{width:100%;height:260px;border:1px solid #ddd}}.meta{{color:#555;font-size:.85rem}}</style></head>\
         <body><main><h1>Outbox ({} messages)</h1><p>Emails and texts this local host sent; files in {}.</p>{rows}</main></body></html>",
        entries.len(),
        html_escape(&host.outbox.as_ref().map(|o| o.dir().display().to_string()).unwrap_or_default()),
    )))
}

/// Makes `http(s)://…` in already-escaped text clickable.
fn linkify(escaped: &str) -> String {
    escaped
        .split(' ')
        .map(|word| {
            if word.starts_with("http://") || word.starts_with("https://") {
                format!("<a href=\"{word}\">{word}</a>")
            } else {
                word.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `POST /local/sweep`: runs the sweep now (the host also runs it on a timer): due reminders,
/// the PDFs erasures left to delete once their lock has passed, and partner webhook retries due.
async fn sweep_now(State(host): State<Arc<LocalHost>>) -> ApiResult<Response> {
    let report =
        mas_usecases::notifications::plan::sweep(&mas_usecases::notifications::Notifier::of(&host.app)).await?;
    let pdfs = mas_usecases::gdpr::delete_due_pdfs(&host.app.store, host.app.blobs.as_ref()).await?;
    let webhooks = mas_usecases::partner_webhooks::sweep(&host.app).await?;
    let mut body = serde_json::to_value(report).map_err(|e| AppError::Internal(e.to_string()))?;
    body["partner_webhooks"] = serde_json::to_value(webhooks).map_err(|e| AppError::Internal(e.to_string()))?;
    body["pdfs"] = serde_json::to_value(pdfs).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(axum::Json(body).into_response())
}

#[derive(Debug, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
struct TxtRecords {
    txt: Vec<String>,
}

fn recorded_dns(host: &LocalHost) -> ApiResult<&mas_ports::RecordedTxt> {
    host.dns.as_deref().ok_or(ApiError::RouteNotFound)
}

/// `PUT /local/dns/{name}` with `{"txt": ["mas-verify=…"]}`: publishes TXT records at `name` in
/// the local DNS (what a clinic does at its DNS provider to prove a custom domain); `[]` removes.
async fn set_dns_records(State(host): State<Arc<LocalHost>>, path: PathParams, body: Bytes) -> ApiResult<Response> {
    let name = path.get("name").unwrap_or_default().to_owned();
    let records: TxtRecords = parse_json(&body)?;
    recorded_dns(&host)?.set(&name, records.txt);
    Ok(axum::http::StatusCode::NO_CONTENT.into_response())
}

/// `GET /local/dns/{name}`: the TXT records at `name` in the local DNS.
async fn dns_records(State(host): State<Arc<LocalHost>>, path: PathParams) -> ApiResult<Response> {
    use mas_ports::TxtResolver;
    let name = path.get("name").unwrap_or_default().to_owned();
    let txt = recorded_dns(&host)?.txt(&name).await.map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(axum::Json(TxtRecords { txt }).into_response())
}

/// The body of the simulated gateway's pay routes (the intent's and the hosted page's).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PayInput {
    pub(crate) outcome: Option<Outcome>,
}

/// `POST /local/pay/{intent_id}` with `{"outcome":"succeed"|"fail"|"requires_action"}` (succeed
/// when absent).
async fn pay(State(host): State<Arc<LocalHost>>, path: PathParams, body: Bytes) -> ApiResult<Response> {
    let gateway = host.simulated.clone().ok_or(ApiError::RouteNotFound)?;
    let id: IntentId = path.id("intent_id", "payment intent")?;
    let input: PayInput = if body.is_empty() { PayInput::default() } else { parse_json(&body)? };
    let intent = gateway.pay(&id, input.outcome.unwrap_or(Outcome::Succeed)).map_err(AppError::from)?;
    let delivery = post_webhook(&host, &gateway, &intent).await?;
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
{PAY_BUTTONS}</body></html>"#
    )))
}

/// Posts the event Stripe would send about `intent` now to this host's `/webhooks/stripe`, signed.
async fn post_webhook(
    host: &LocalHost,
    gateway: &SimulatedGateway,
    intent: &mas_ports::Intent,
) -> ApiResult<mas_embedded::simulated::Delivery> {
    let event_type = match intent.snapshot.status {
        IntentStatus::Succeeded => "payment_intent.succeeded",
        IntentStatus::RequiresAction => "payment_intent.requires_action",
        IntentStatus::Processing => "payment_intent.processing",
        _ => "payment_intent.payment_failed",
    };
    // The webhook goes to this host's own address, never to one a request's `Host` names (which
    // would make the gateway post signed events wherever a caller likes).
    let base =
        host.app.public_url.as_deref().ok_or_else(|| AppError::Internal("the local host has no public URL".into()))?;
    Ok(gateway.deliver(&format!("{base}/webhooks/stripe"), event_type, intent).await.map_err(AppError::from)?)
}

/// What the shim's calls answer: the intent as Stripe's API shows it and, when the attempt
/// failed, the error Stripe.js would give (`type`, `code`, `message`).
fn shim_answer(intent: &mas_ports::Intent) -> Response {
    let mut answer = json!({ "payment_intent": intent_json(intent) });
    if let (IntentStatus::RequiresPaymentMethod, Some(code)) = (intent.snapshot.status, &intent.snapshot.last_error) {
        let kind = if code == AUTHENTICATION_FAILURE { "invalid_request_error" } else { "card_error" };
        answer["error"] = json!({ "type": kind, "code": code, "message": failure_message(code) });
    }
    axum::Json(answer).into_response()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfirmInput {
    client_secret: String,
    /// Only the number decides, as with Stripe's test cards; expiry and CVC are checked by the shim.
    card_number: String,
}

/// `POST /local/pay/{intent_id}/confirm` with `{"client_secret","card_number"}`: what the
/// shim's `confirmPayment` sends. `4242 4242 4242 4242` pays, `4000 0000 0000 0002` is declined,
/// `4000 0027 6000 3184` waits for 3-D Secure (`requires_action`); the event follows at once.
async fn confirm_card(State(host): State<Arc<LocalHost>>, path: PathParams, body: Bytes) -> ApiResult<Response> {
    let gateway = host.simulated.clone().ok_or(ApiError::RouteNotFound)?;
    let id: IntentId = path.id("intent_id", "payment intent")?;
    let input: ConfirmInput = parse_json(&body)?;
    let intent = gateway.confirm_card(&id, &input.client_secret, &input.card_number).map_err(AppError::from)?;
    post_webhook(&host, &gateway, &intent).await?;
    Ok(shim_answer(&intent))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Challenge {
    Complete,
    Fail,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthenticateInput {
    client_secret: String,
    outcome: Challenge,
}

/// `POST /local/pay/{intent_id}/authenticate` with `{"client_secret","outcome":"complete"|"fail"}`:
/// the shim's 3-D Secure challenge, answered.
async fn authenticate(State(host): State<Arc<LocalHost>>, path: PathParams, body: Bytes) -> ApiResult<Response> {
    let gateway = host.simulated.clone().ok_or(ApiError::RouteNotFound)?;
    let id: IntentId = path.id("intent_id", "payment intent")?;
    let input: AuthenticateInput = parse_json(&body)?;
    let complete = matches!(input.outcome, Challenge::Complete);
    let intent = gateway.authenticate(&id, &input.client_secret, complete).map_err(AppError::from)?;
    post_webhook(&host, &gateway, &intent).await?;
    Ok(shim_answer(&intent))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DisputeInput {
    /// Stripe's dispute status: `needs_response` (opened), `under_review`, `won` or `lost` (closed).
    status: String,
}

/// `POST /local/pay/{intent_id}/dispute` with `{"status":"needs_response"|"won"|"lost"}`: the card
/// holder disputes a paid intent (or the dispute moves on); the signed `charge.dispute.created`
/// (`updated`, `closed`) follows to this host's `/webhooks/stripe`, as Stripe sends a destination
/// charge's disputes to the platform.
async fn dispute(State(host): State<Arc<LocalHost>>, path: PathParams, body: Bytes) -> ApiResult<Response> {
    let gateway = host.simulated.clone().ok_or(ApiError::RouteNotFound)?;
    let id: IntentId = path.id("intent_id", "payment intent")?;
    let input: DisputeInput = parse_json(&body)?;
    let (event_type, object) = gateway.dispute(&id, &input.status).map_err(AppError::from)?;
    let base =
        host.app.public_url.as_deref().ok_or_else(|| AppError::Internal("the local host has no public URL".into()))?;
    let delivery = gateway
        .deliver_object(&format!("{base}/webhooks/stripe"), event_type, object.clone())
        .await
        .map_err(AppError::from)?;
    let answer = json!({
        "dispute": object,
        "webhook": { "event_id": delivery.event_id, "type": delivery.event_type, "status": delivery.status },
    });
    Ok(axum::Json(answer).into_response())
}

/// `GET /local/stripe.js`: the Stripe.js shim the simulated gateway's intents name as `js_url`.
async fn stripe_shim() -> Response {
    (
        [
            (axum::http::header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (axum::http::header::CACHE_CONTROL, "no-cache"),
        ],
        STRIPE_SHIM,
    )
        .into_response()
}

/// The shim: `Stripe(key)`, `elements({clientSecret})`, `create('payment')`, `mount`,
/// `confirmPayment({elements, redirect, confirmParams})`, `retrievePaymentIntent`.
const STRIPE_SHIM: &str = include_str!("stripe_shim.js");
/// The simulated pages' two test-card buttons, posting `{"outcome"}` to the page's own path.
pub(crate) const PAY_BUTTONS: &str = r#"<button onclick="pay('succeed')">Pay (test card succeeds)</button>
<button onclick="pay('fail')">Decline (card_declined)</button>
<pre id="out"></pre>
<script>
async function pay(outcome) {
  const r = await fetch(location.pathname, {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({outcome})});
  document.getElementById('out').textContent = r.status + ' ' + await r.text();
}
</script>"#;
