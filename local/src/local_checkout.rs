//! The simulated gateway's hosted payment page (what Stripe Checkout is on AWS), served by the
//! local host: `GET /local/checkout/{session_id}` shows what is asked and whether the link can
//! still be paid; `POST` with `{"outcome":"succeed"|"fail"}` pays it as a test card would and posts
//! the signed `payment_intent.succeeded` and `checkout.session.completed` webhooks to this host's
//! `/webhooks/stripe` (the verified path every payment takes). An expired page answers 410
//! `link_expired` (and announces `checkout.session.expired` once), a paid one 409
//! `link_already_paid`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use mas_domain::error::AppError;
use mas_domain::html::escape;
use mas_domain::payment::money_text;
use mas_domain::values::Currency;
use mas_embedded::simulated::Outcome;
use mas_http::error::{ApiError, ApiResult};
use mas_http::extract::{PathParams, parse_json};
use mas_ports::{PaymentLinkStatus, PaymentsError};

use crate::LocalHost;
use crate::local_routes::{PAY_BUTTONS, PayInput};

/// The hosted page's routes (mounted only with the simulated gateway, for this machine only).
pub fn routes() -> Router<Arc<LocalHost>> {
    Router::new()
        .route("/local/checkout/{session_id}", get(page).post(pay))
        .route("/local/subscriptions/{subscription_id}/bill", axum::routing::post(bill))
}

fn session_id(path: &PathParams) -> ApiResult<String> {
    let id = path.get("session_id").unwrap_or_default();
    let valid = id.starts_with("cs_") && id.len() <= 255 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid { Ok(id.to_owned()) } else { Err(AppError::NotFound { what: "payment link" }.into()) }
}

fn amount_text(amount: i64, currency: &str) -> String {
    money_text(amount, &Currency::parse(&currency.to_uppercase()).unwrap_or_default())
}

/// `GET /local/checkout/{session_id}`: the page, saying so when it expired or was paid.
async fn page(State(host): State<Arc<LocalHost>>, path: PathParams) -> ApiResult<Response> {
    let gateway = host.simulated.clone().ok_or(ApiError::RouteNotFound)?;
    let id = session_id(&path)?;
    let page = gateway.checkout_page(&id).ok_or(AppError::NotFound { what: "payment link" })?;
    let each = if page.recurring { " a month (a membership: charged again each month)" } else { "" };
    let what = format!("{}: {}{each}", escape(&page.description), amount_text(page.amount, &page.currency));
    let (status, body) = match page.link.status {
        PaymentLinkStatus::Expired => (
            StatusCode::GONE,
            "<p><strong>This payment link has expired.</strong> Ask the clinic for a new one.</p>".to_owned(),
        ),
        PaymentLinkStatus::Complete => {
            (StatusCode::OK, "<p><strong>This payment link has already been paid.</strong> Thank you.</p>".to_owned())
        }
        PaymentLinkStatus::Open => (
            StatusCode::OK,
            format!(
                r#"<p>Pay before {}.</p>
{PAY_BUTTONS}"#,
                escape(&page.link.expires_at.to_rfc3339())
            ),
        ),
    };
    let html = format!(
        r#"<!doctype html><html lang="en"><meta charset="utf-8"><title>Payment (simulated)</title>
<body style="font-family:system-ui;max-width:32rem;margin:3rem auto">
<h1>Simulated payment page</h1><p>{what}</p><p>Nothing real is charged.</p>{body}</body></html>"#
    );
    Ok((status, Html(html)).into_response())
}

/// `POST /local/checkout/{session_id}`: pays the page and posts the webhooks Stripe would.
async fn pay(State(host): State<Arc<LocalHost>>, path: PathParams, body: Bytes) -> ApiResult<Response> {
    let gateway = host.simulated.clone().ok_or(ApiError::RouteNotFound)?;
    let id = session_id(&path)?;
    let input: PayInput = if body.is_empty() { PayInput::default() } else { parse_json(&body)? };
    // The webhooks go to this host's own address, never to one a request names.
    let base =
        host.app.public_url.as_deref().ok_or_else(|| AppError::Internal("the local host has no public URL".into()))?;
    let webhook = format!("{base}/webhooks/stripe");
    let page = gateway.checkout_page(&id).ok_or(AppError::NotFound { what: "payment link" })?;
    match gateway.pay_checkout(&id, input.outcome.unwrap_or(Outcome::Succeed)) {
        Ok(paid) => {
            let intent =
                gateway.deliver(&webhook, "payment_intent.succeeded", &paid.intent).await.map_err(AppError::from)?;
            let session = gateway
                .deliver_object(&webhook, "checkout.session.completed", paid.session)
                .await
                .map_err(AppError::from)?;
            let mut webhooks = vec![
                json!({ "event_id": intent.event_id, "type": intent.event_type, "status": intent.status }),
                json!({ "event_id": session.event_id, "type": session.event_type, "status": session.status }),
            ];
            // A sign-up page's first invoice, paid, as Stripe announces it after the session.
            if let Some(invoice) = paid.invoice {
                let paid = gateway.deliver_object(&webhook, "invoice.paid", invoice).await.map_err(AppError::from)?;
                webhooks.push(json!({ "event_id": paid.event_id, "type": paid.event_type, "status": paid.status }));
            }
            let answer = json!({
                "session_id": id,
                "status": "complete",
                "intent_id": paid.intent.id,
                "webhooks": webhooks,
            });
            Ok(axum::Json(answer).into_response())
        }
        Err(PaymentsError::Refused(_)) if page.link.status == PaymentLinkStatus::Complete => Err(AppError::Conflict {
            code: "link_already_paid",
            message: "this payment link has already been paid".into(),
        }
        .into()),
        Err(PaymentsError::Refused(_)) => {
            if let Some(expired) = gateway.take_expiry(&id) {
                gateway.deliver_object(&webhook, "checkout.session.expired", expired).await.map_err(AppError::from)?;
            }
            Err(AppError::Gone { code: "link_expired", message: "this payment link has expired".into() }.into())
        }
        Err(other) => Err(AppError::from(other).into()),
    }
}

/// `POST /local/subscriptions/{subscription_id}/bill` with `{"outcome":"succeed"|"fail"}`: the
/// month ends and the simulated gateway bills the subscription (or retries its failed invoice),
/// posting the events Stripe would (`invoice.paid` or `invoice.payment_failed`, then the
/// subscription's own), signed, to this host's webhook.
async fn bill(State(host): State<Arc<LocalHost>>, path: PathParams, body: Bytes) -> ApiResult<Response> {
    let gateway = host.simulated.clone().ok_or(ApiError::RouteNotFound)?;
    let id = path.get("subscription_id").unwrap_or_default().to_owned();
    if !id.starts_with("sub_") || !id[4..].chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(AppError::NotFound { what: "subscription" }.into());
    }
    let input: PayInput = if body.is_empty() { PayInput::default() } else { parse_json(&body)? };
    let base =
        host.app.public_url.as_deref().ok_or_else(|| AppError::Internal("the local host has no public URL".into()))?;
    let webhook = format!("{base}/webhooks/stripe");
    let events = gateway.bill(&id, input.outcome.unwrap_or(Outcome::Succeed)).map_err(AppError::from)?;
    let mut webhooks = Vec::new();
    for (kind, object) in events {
        let delivery = gateway.deliver_object(&webhook, kind, object).await.map_err(AppError::from)?;
        webhooks.push(json!({ "event_id": delivery.event_id, "type": delivery.event_type, "status": delivery.status }));
    }
    Ok(axum::Json(json!({ "subscription_id": id, "webhooks": webhooks })).into_response())
}
