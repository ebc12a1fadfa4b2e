//! The client's signing page and its actions, reached through the signed link (no staff token):
//! open (recorded with IP and user agent), sign (typed name, drawn signature), decline.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::{ApiResult, ErrorEnvelope};
use super::extract::{JsonBody, PathParams, RequestOrigin};
use mas_domain::documents::{DocumentStatus, Variant};
use mas_domain::esign::{SessionStatus, SignInput, SigningSession};
use mas_domain::ids::DocumentId;
use mas_site::escape;
use mas_usecases::app::App;
use mas_usecases::{documents as docs, esign as ops, tenants};

/// A signature PNG in a data URL is at most 96 KB (128 KB as base64) plus the name.
pub const SIGN_LIMIT: usize = 160 * 1024;

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionState {
    pub status: SessionStatus,
    pub document_id: DocumentId,
    pub expires_at: DateTime<Utc>,
}

impl From<&SigningSession> for SessionState {
    fn from(s: &SigningSession) -> Self {
        SessionState { status: s.status, document_id: s.document_id.clone(), expires_at: s.expires_at }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Signed {
    pub document_id: DocumentId,
    pub status: DocumentStatus,
    pub signed_at: Option<DateTime<Utc>>,
    pub message: String,
}

fn token(path: &PathParams) -> &str {
    path.get("token").unwrap_or_default()
}

/// The signing page: the document's text, a link to its PDF, a typed name, a signature pad.
#[utoipa::path(get, path = "/v1/esign/{token}", tag = "esign", operation_id = "esign_page", params(("token" = String, Path)),
    responses((status = 200, description = "The signing page", content_type = "text/html"), (status = 404, body = ErrorEnvelope)))]
pub async fn page(State(app): State<Arc<App>>, path: PathParams) -> ApiResult<Response> {
    let (session, view) = ops::for_page(&app.store, &app.links, token(&path)).await?;
    let (clinic, brand) = tokio::try_join!(
        tenants::tenant(&app.store, &session.tenant_id),
        tenants::brand(&app.store, &session.tenant_id)
    )?;
    let pdf_url = match &view.pdf {
        Some(rendition) if rendition.variant == Variant::Generated => {
            let key = mas_ports::BlobKey::parse(&rendition.blob_key).ok();
            match key {
                Some(key) => app.blobs.presign(&key, std::time::Duration::from_secs(1800)).await.ok(),
                None => None,
            }
        }
        _ => None,
    };
    let colors = docs::paper_colors(&brand.tokens);
    let nonce = mas_domain::ids::RequestId::new().as_str()[4..].to_owned();
    let html = render_page(&PageModel {
        clinic: clinic.name.as_str(),
        title: &view.document.content.title,
        client: &view.document.client_name,
        blocks: view.document.content.blocks.iter().map(|b| (b.title.as_str(), b.body.as_str())).collect(),
        status: session.status,
        expires_at: session.expires_at,
        pdf_url: pdf_url.as_deref(),
        primary: String::from(colors.primary),
        on_primary: String::from(colors.on_primary),
        nonce: &nonce,
    });
    let policy = format!(
        "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; connect-src 'self'; img-src 'self' data:; \
         form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
    );
    let headers = [
        (header::CONTENT_SECURITY_POLICY, policy),
        (header::CACHE_CONTROL, "no-store".to_owned()),
        (header::REFERRER_POLICY, "no-referrer".to_owned()),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
    ];
    Ok((headers, Html(html)).into_response())
}

/// Records that the client opened the page (time, IP, user agent).
#[utoipa::path(post, path = "/v1/esign/{token}/open", tag = "esign", operation_id = "esign_opened", params(("token" = String, Path)),
    responses((status = 200, body = SessionState), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)))]
pub async fn open(
    State(app): State<Arc<App>>,
    path: PathParams,
    RequestOrigin(origin): RequestOrigin,
) -> ApiResult<Json<SessionState>> {
    let session = ops::mark_opened(&app.store, &app.links, token(&path), &origin).await?;
    Ok(Json(SessionState::from(&session)))
}

/// Signs: locks the document for good and queues the signed PDF. 409 when the link has expired or
/// the document is already signed.
#[utoipa::path(post, path = "/v1/esign/{token}/sign", tag = "esign", operation_id = "esign_sign", params(("token" = String, Path)),
    request_body = SignInput,
    responses((status = 200, body = Signed), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn sign(
    State(app): State<Arc<App>>,
    path: PathParams,
    RequestOrigin(origin): RequestOrigin,
    JsonBody(input): JsonBody<SignInput, SIGN_LIMIT>,
) -> ApiResult<Json<Signed>> {
    let view =
        ops::sign(&app.store, app.queue.as_ref(), app.blobs.as_ref(), &app.links, token(&path), &origin, input).await?;
    Ok(Json(Signed {
        document_id: view.document.id.clone(),
        status: view.document.status,
        signed_at: view.document.signature.as_ref().map(|s| s.signed_at),
        message: "Signed. The clinic keeps the signed document; thank you.".into(),
    }))
}

#[utoipa::path(post, path = "/v1/esign/{token}/decline", tag = "esign", operation_id = "esign_decline", params(("token" = String, Path)),
    responses((status = 200, body = SessionState), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)))]
pub async fn decline(
    State(app): State<Arc<App>>,
    path: PathParams,
    RequestOrigin(origin): RequestOrigin,
) -> ApiResult<Json<SessionState>> {
    let session = ops::decline(&app.store, &app.links, token(&path), &origin).await?;
    Ok(Json(SessionState::from(&session)))
}

struct PageModel<'a> {
    clinic: &'a str,
    title: &'a str,
    client: &'a str,
    blocks: Vec<(&'a str, &'a str)>,
    status: SessionStatus,
    expires_at: DateTime<Utc>,
    pdf_url: Option<&'a str>,
    primary: String,
    on_primary: String,
    nonce: &'a str,
}

fn render_page(m: &PageModel<'_>) -> String {
    let blocks: String = m
        .blocks
        .iter()
        .map(|(title, body)| {
            let paragraphs: String =
                body.split("\n\n").map(|p| format!("<p>{}</p>", escape(p).replace('\n', "<br>"))).collect();
            format!("<section><h2>{}</h2>{paragraphs}</section>", escape(title))
        })
        .collect();
    let pdf = m
        .pdf_url
        .map(|u| format!(r#"<p><a href="{}" rel="noopener">Open the PDF</a></p>"#, escape(u)))
        .unwrap_or_default();
    let closed = match m.status {
        SessionStatus::Signed => Some("This document has been signed. Thank you."),
        SessionStatus::Declined => Some("You declined to sign this document."),
        SessionStatus::Expired => Some("This signing link has expired. Please ask the clinic for a new one."),
        _ => None,
    };
    let form = match closed {
        Some(message) => format!(r#"<p class="notice" role="status">{message}</p>"#),
        None => format!(
            r#"<form id="sign" novalidate>
  <label for="name">Type your full name</label>
  <input id="name" name="name" autocomplete="name" required maxlength="120">
  <p id="pad-label">Draw your signature</p>
  <canvas id="pad" width="600" height="200" aria-labelledby="pad-label" role="img"></canvas>
  <p><button type="button" id="clear">Clear signature</button></p>
  <label class="agree"><input type="checkbox" id="agree"> I have read this document and I agree to it.</label>
  <p class="actions"><button type="submit" class="primary">Sign</button> <button type="button" id="decline">Decline</button></p>
  <p id="result" role="status" aria-live="polite"></p>
  <p class="small">The link works until {expires}. We record the time, your IP address and browser with your signature.</p>
</form>"#,
            expires = m.expires_at.format("%-d %B %Y %H:%M UTC")
        ),
    };
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} — {clinic}</title>
<style nonce="{nonce}">
body {{ font-family: system-ui, sans-serif; max-width: 46rem; margin: 0 auto; padding: 1rem; color: #1f1d1a; line-height: 1.5; }}
header {{ background: {primary}; color: {on_primary}; padding: .75rem 1rem; border-radius: 6px; }}
h1 {{ font-size: 1.4rem; }} h2 {{ font-size: 1.05rem; margin-bottom: .2rem; }}
canvas {{ border: 2px solid #555; border-radius: 4px; width: 100%; max-width: 600px; touch-action: none; background: #fff; }}
input[type=text], input:not([type]) {{ font-size: 1rem; padding: .4rem; width: 100%; max-width: 24rem; display: block; }}
button {{ font-size: 1rem; padding: .5rem 1rem; }} .primary {{ background: {primary}; color: {on_primary}; border: 0; border-radius: 4px; }}
.notice {{ font-weight: bold; }} .small {{ font-size: .85rem; color: #555; }} :focus-visible {{ outline: 3px solid #1a5fb4; }}
</style></head>
<body><header><strong>{clinic}</strong></header>
<main><h1>{title}</h1><p>For {client}</p>{pdf}{blocks}<hr>{form}</main>
<script nonce="{nonce}">
(function () {{
  var base = location.pathname.replace(/\/$/, '');
  var form = document.getElementById('sign');
  if (!form) return;
  fetch(base + '/open', {{ method: 'POST' }});
  var pad = document.getElementById('pad'), ctx = pad.getContext('2d'), drawing = false, drawn = false;
  ctx.lineWidth = 2.5; ctx.lineCap = 'round'; ctx.strokeStyle = '#111';
  function at(e) {{ var r = pad.getBoundingClientRect(); return [(e.clientX - r.left) * pad.width / r.width, (e.clientY - r.top) * pad.height / r.height]; }}
  pad.addEventListener('pointerdown', function (e) {{ drawing = true; var p = at(e); ctx.beginPath(); ctx.moveTo(p[0], p[1]); pad.setPointerCapture(e.pointerId); }});
  pad.addEventListener('pointermove', function (e) {{ if (!drawing) return; var p = at(e); ctx.lineTo(p[0], p[1]); ctx.stroke(); drawn = true; }});
  pad.addEventListener('pointerup', function () {{ drawing = false; }});
  document.getElementById('clear').addEventListener('click', function () {{ ctx.clearRect(0, 0, pad.width, pad.height); drawn = false; }});
  var result = document.getElementById('result');
  function send(path, body) {{
    return fetch(base + path, {{ method: 'POST', headers: {{ 'content-type': 'application/json' }}, body: JSON.stringify(body) }})
      .then(function (r) {{ return r.json().then(function (j) {{ return [r.ok, j]; }}); }});
  }}
  form.addEventListener('submit', function (e) {{
    e.preventDefault();
    if (!drawn) {{ result.textContent = 'Please draw your signature.'; return; }}
    send('/sign', {{ typed_name: document.getElementById('name').value, signature_png: pad.toDataURL('image/png'),
                    agree: document.getElementById('agree').checked }})
      .then(function (x) {{ result.textContent = x[0] ? x[1].message : x[1].error.message; if (x[0]) form.querySelectorAll('button,input').forEach(function (el) {{ el.disabled = true; }}); }});
  }});
  document.getElementById('decline').addEventListener('click', function () {{
    send('/decline', {{}}).then(function (x) {{ result.textContent = x[0] ? 'You declined to sign.' : x[1].error.message; }});
  }});
}})();
</script></body></html>"#,
        title = escape(m.title),
        clinic = escape(m.clinic),
        client = escape(m.client),
        nonce = m.nonce,
        primary = m.primary,
        on_primary = m.on_primary,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_text_is_escaped_on_the_signing_page() {
        let html = render_page(&PageModel {
            clinic: "Glow & Co",
            title: "<script>alert(1)</script>",
            client: "Zoë \"Z\" O'Brien",
            blocks: vec![("Risks", "a < b\n\nline")],
            status: SessionStatus::Sent,
            expires_at: Utc::now(),
            pdf_url: Some("https://x.test/a?b=1&c=2"),
            primary: "#333333".into(),
            on_primary: "#ffffff".into(),
            nonce: "abc",
        });
        assert!(!html.contains("<script>alert"));
        assert!(html.contains("&lt;script&gt;") && html.contains("Glow &amp; Co") && html.contains("O&#39;Brien"));
        assert!(html.contains("a &lt; b") && html.contains("b=1&amp;c=2"));
    }
}
