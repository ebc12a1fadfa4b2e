//! The simulated gateway's onboarding form for a clinic's connected account (what Stripe's
//! hosted Connect onboarding is on AWS), served by the local host: `GET /local/connect/{account}`
//! shows the account and what Stripe still needs; `POST` with
//! `{"outcome":"complete"|"pending"|"leave"}` finishes the form as the owner would and posts the
//! signed `account.updated` to this host's `/webhooks/stripe/connect` (the verified path every
//! Connect event takes), then answers where the form sends the owner back. A used or expired
//! link answers 410 `link_expired` (ask `POST /v1/payments/connect` for a new one).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;

use mas_domain::error::AppError;
use mas_domain::html::escape;
use mas_domain::payment::ConnectedAccountId;
use mas_embedded::simulated::Onboarding;
use mas_http::error::{ApiError, ApiResult};
use mas_http::extract::{PathParams, parse_json};
use mas_ports::PaymentsError;

use crate::LocalHost;

/// The onboarding form's routes (mounted only with the simulated gateway, for this machine only).
pub fn routes() -> Router<Arc<LocalHost>> {
    Router::new().route("/local/connect/{account}", get(page).post(finish))
}

fn account(path: &PathParams) -> ApiResult<ConnectedAccountId> {
    path.id("account", "connected account")
}

/// `GET /local/connect/{account}`: the form, or why it cannot be used.
async fn page(State(host): State<Arc<LocalHost>>, path: PathParams) -> ApiResult<Response> {
    let gateway = host.simulated.clone().ok_or(ApiError::RouteNotFound)?;
    let id = account(&path)?;
    let page = gateway.onboarding_page(&id).ok_or(AppError::NotFound { what: "connected account" })?;
    let due = page.account.status.requirements.currently_due.join(", ");
    let (status, body) = if page.expired {
        let again = page.refresh_url.as_deref().map(escape).unwrap_or_default();
        (
            StatusCode::GONE,
            format!(
                "<p><strong>This onboarding link has expired or was used.</strong> <a href=\"{again}\">Ask for a new one</a>.</p>"
            ),
        )
    } else {
        (
            StatusCode::OK,
            format!(
                r#"<p>Stripe still needs: {}.</p>
<button onclick="finish('complete')">Submit (verified at once: charges and payouts enabled)</button>
<button onclick="finish('pending')">Submit (Stripe is still verifying)</button>
<button onclick="finish('leave')">Leave for now</button>
<pre id="out"></pre>
<script>
async function finish(outcome) {{
  const r = await fetch(location.pathname, {{method: 'POST', headers: {{'content-type': 'application/json'}}, body: JSON.stringify({{outcome}})}});
  const answer = await r.json();
  document.getElementById('out').textContent = r.status + ' ' + JSON.stringify(answer);
  if (r.ok && answer.return_url) location.href = answer.return_url;
}}
</script>"#,
                if due.is_empty() { "nothing".to_owned() } else { escape(&due) }
            ),
        )
    };
    let html = format!(
        r#"<!doctype html><html lang="en"><meta charset="utf-8"><title>Connect a Stripe account (simulated)</title>
<body style="font-family:system-ui;max-width:36rem;margin:3rem auto">
<h1>Simulated Stripe onboarding</h1><p>Account <code>{}</code>. Nothing real is created.</p>{body}</body></html>"#,
        escape(id.as_str())
    );
    Ok((status, Html(html)).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FinishInput {
    outcome: Onboarding,
}

/// `POST /local/connect/{account}`: the owner leaves the form; `account.updated` follows.
async fn finish(State(host): State<Arc<LocalHost>>, path: PathParams, body: Bytes) -> ApiResult<Response> {
    let gateway = host.simulated.clone().ok_or(ApiError::RouteNotFound)?;
    let id = account(&path)?;
    let input: FinishInput = parse_json(&body)?;
    let page = gateway.onboarding_page(&id).ok_or(AppError::NotFound { what: "connected account" })?;
    let account = match gateway.onboard(&id, input.outcome) {
        Ok(account) => account,
        Err(PaymentsError::Refused(message)) => {
            return Err(AppError::Gone { code: "link_expired", message }.into());
        }
        Err(other) => return Err(AppError::from(other).into()),
    };
    // The webhook goes to this host's own address, never to one a request names.
    let base =
        host.app.public_url.as_deref().ok_or_else(|| AppError::Internal("the local host has no public URL".into()))?;
    let delivery = gateway
        .deliver_account_updated(&format!("{base}/webhooks/stripe/connect"), &id)
        .await
        .map_err(AppError::from)?;
    let answer = json!({
        "account_id": account.id,
        "charges_enabled": account.status.charges_enabled,
        "payouts_enabled": account.status.payouts_enabled,
        "details_submitted": account.status.details_submitted,
        "return_url": page.return_url,
        "webhook": { "event_id": delivery.event_id, "type": delivery.event_type, "status": delivery.status },
    });
    Ok(axum::Json(answer).into_response())
}
