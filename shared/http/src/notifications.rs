//! Messages: a client's channel preferences, the message log with delivery states, the
//! tenant's reminder settings, and Twilio's webhooks (inbound texts and delivery reports, each
//! verified against `X-Twilio-Signature` before anything is read or written).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ApiResult, ErrorEnvelope};
use super::extract::{Actor, JsonBody, PathParams, QueryArgs};
use mas_domain::html::escape as html_escape;
use mas_domain::ids::ClientId;
use mas_domain::notifications::{NotificationSettings, Preferences};
use mas_domain::team::Permission;
use mas_usecases::app::App;
use mas_usecases::notifications::{self as ops, MessageRecord};

#[utoipa::path(get, path = "/v1/clients/{id}/preferences", tag = "notifications", operation_id = "get_preferences",
    security(("staff_jwt" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Preferences), (status = 404, body = ErrorEnvelope)))]
pub async fn get_preferences(
    State(app): State<Arc<App>>,
    actor: Actor,
    path: PathParams,
) -> ApiResult<Json<Preferences>> {
    actor.require(Permission::BookingRead)?;
    let id: ClientId = path.id("id", "client")?;
    actor.admit_client(&app, &id).await?;
    Ok(Json(ops::preferences(&app.store, &actor.tenant_id, &id).await?))
}

/// Replaces the client's consent per channel: `transactional` (booking messages) and
/// `marketing`. Recorded on the client's timeline with who changed it.
#[utoipa::path(put, path = "/v1/clients/{id}/preferences", tag = "notifications", operation_id = "put_preferences",
    security(("staff_jwt" = [])), params(("id" = String, Path)), request_body = Preferences,
    responses((status = 200, body = Preferences), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn put_preferences(
    State(app): State<Arc<App>>,
    actor: Actor,
    path: PathParams,
    input: Result<JsonBody<Preferences>, ApiError>,
) -> ApiResult<Json<Preferences>> {
    actor.require(Permission::BookingWriteOwn)?;
    // The role first: a caller who may not do this learns nothing from the body's errors.
    let JsonBody(input) = input?;
    let id: ClientId = path.id("id", "client")?;
    actor.admit_client(&app, &id).await?;
    Ok(Json(ops::set_preferences(&app.store, &actor.audit(), &id, input, "changed by staff").await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LogParams {
    pub client_id: String,
    /// 1–200 (default 50).
    pub limit: Option<u32>,
}

/// A client's messages, newest first: each kind and channel with its delivery state and, when
/// it was not sent, why.
#[utoipa::path(get, path = "/v1/notifications", tag = "notifications", operation_id = "list_notifications",
    security(("staff_jwt" = [])), params(LogParams),
    responses((status = 200, body = [MessageRecord]), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn list(
    State(app): State<Arc<App>>,
    actor: Actor,
    QueryArgs(args): QueryArgs<LogParams>,
) -> ApiResult<Json<Vec<MessageRecord>>> {
    actor.require(Permission::BookingRead)?;
    let client = ClientId::parse(&args.client_id)
        .map_err(|e| mas_domain::error::AppError::invalid("invalid_id", "client_id", e.0))?;
    let limit = args.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(mas_domain::error::AppError::invalid("out_of_range", "limit", "must be 1–200").into());
    }
    actor.admit_client(&app, &client).await?;
    Ok(Json(ops::messages(&app.store, &actor.tenant_id, &client, limit).await?))
}

#[utoipa::path(get, path = "/v1/notification-settings", tag = "notifications", operation_id = "get_notification_settings",
    security(("staff_jwt" = [])), responses((status = 200, body = NotificationSettings)))]
pub async fn get_settings(State(app): State<Arc<App>>, actor: Actor) -> ApiResult<Json<NotificationSettings>> {
    actor.require(Permission::CatalogRead)?;
    Ok(Json(ops::settings(&app.store, &actor.tenant_id).await?))
}

/// The reminder cadence (offsets from the start or end, channels) and quiet hours. Applies to
/// plans made from now on.
#[utoipa::path(put, path = "/v1/notification-settings", tag = "notifications", operation_id = "put_notification_settings",
    security(("staff_jwt" = [])), request_body = NotificationSettings,
    responses((status = 200, body = NotificationSettings), (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn put_settings(
    State(app): State<Arc<App>>,
    actor: Actor,
    input: Result<JsonBody<NotificationSettings>, ApiError>,
) -> ApiResult<Json<NotificationSettings>> {
    actor.require(Permission::BrandWrite)?;
    // The role first: a caller who may not do this learns nothing from the body's errors.
    let JsonBody(input) = input?;
    Ok(Json(ops::set_settings(&app.store, &actor.audit(), input).await?))
}

/// The URL Twilio signed: our configured public base (or the request's host) plus the path
/// and query exactly as called.
fn called_url(app: &App, headers: &HeaderMap, uri: &axum::http::Uri) -> String {
    let base = app.public_url.clone().unwrap_or_else(|| {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default();
        format!("https://{host}")
    });
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    format!("{base}{path}")
}

/// Checks the signature; the form's fields on success, 403 with nothing written otherwise.
fn verified_form(
    app: &App,
    headers: &HeaderMap,
    uri: &axum::http::Uri,
    body: &[u8],
) -> ApiResult<Vec<(String, String)>> {
    let forbidden =
        || ApiError::from(mas_domain::error::AppError::Forbidden("the request is not signed by Twilio".into()));
    let Some(token) = &app.twilio_auth_token else { return Err(forbidden()) };
    let params: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    let header = headers.get("x-twilio-signature").and_then(|v| v.to_str().ok());
    if !mas_domain::twilio::verify(token, &called_url(app, headers, uri), &params, header) {
        return Err(forbidden());
    }
    Ok(params)
}

fn field<'a>(params: &'a [(String, String)], name: &str) -> &'a str {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or_default()
}

fn twiml(reply: Option<String>) -> Response {
    let body = match reply {
        Some(text) => format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>{}</Message></Response>",
            html_escape(&text)
        ),
        None => "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>".to_owned(),
    };
    ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], body).into_response()
}

/// The fields of Twilio's inbound-message form that we read (Twilio sends more; the signature
/// covers them all). Documentation only: the handler reads the raw form, since the signature
/// must be checked over exactly what was sent.
#[allow(dead_code, non_snake_case)]
#[derive(ToSchema)]
pub struct TwilioSmsForm {
    /// The sender, E.164.
    From: Option<String>,
    /// The text.
    Body: Option<String>,
    /// Twilio's id of the message.
    MessageSid: Option<String>,
}

/// The fields of Twilio's delivery report that we read.
#[allow(dead_code, non_snake_case)]
#[derive(ToSchema)]
pub struct TwilioStatusForm {
    /// `queued`, `sent`, `delivered`, `undelivered`, `failed`…
    MessageStatus: Option<String>,
    /// Twilio's error code when it failed.
    ErrorCode: Option<String>,
}

/// A text from a client: applies `C`, `STOP`, `START` or `HELP` and answers in TwiML.
#[utoipa::path(post, path = "/webhooks/twilio", tag = "webhooks", operation_id = "receive_twilio_sms",
    params(("X-Twilio-Signature" = String, Header, description = "HMAC-SHA1 of the URL and sorted parameters, base64")),
    request_body(content = TwilioSmsForm, description = "Twilio's form fields", content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "TwiML: the reply, if any", content_type = "text/xml"),
        (status = 403, description = "a missing or wrong signature; nothing is written", body = ErrorEnvelope)))]
pub async fn twilio_inbound(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    body: Bytes,
) -> ApiResult<Response> {
    let params = verified_form(&app, &headers, &uri, &body)?;
    let sms = ops::inbound::InboundSms {
        from: field(&params, "From").to_owned(),
        body: field(&params, "Body").to_owned(),
        provider_id: field(&params, "MessageSid").to_owned(),
    };
    if sms.from.is_empty() || sms.provider_id.is_empty() {
        return Ok(twiml(None));
    }
    let reply = ops::inbound::on_inbound(&mas_usecases::notifications::Notifier::of(&app), &sms).await?;
    Ok(twiml(reply))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatusParams {
    /// Ours: `{tenant}.{message id}`, set on the callback URL when the message was sent.
    pub message: String,
}

/// Twilio's delivery report for one of our texts.
#[utoipa::path(post, path = "/webhooks/twilio/status", tag = "webhooks", operation_id = "receive_twilio_status",
    params(StatusParams, ("X-Twilio-Signature" = String, Header, description = "as on /webhooks/twilio")),
    request_body(content = TwilioStatusForm, description = "Twilio's delivery report", content_type = "application/x-www-form-urlencoded"),
    responses((status = 204, description = "recorded (or not ours: ignored)"),
        (status = 403, description = "a missing or wrong signature; nothing is written", body = ErrorEnvelope)))]
pub async fn twilio_status(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    QueryArgs(args): QueryArgs<StatusParams>,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let params = verified_form(&app, &headers, &uri, &body)?;
    let error = Some(field(&params, "ErrorCode")).filter(|c| !c.is_empty());
    ops::delivery_report(&app.store, &args.message, field(&params, "MessageStatus"), error).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The one-click unsubscribe of marketing mail (RFC 8058: mail clients POST
/// `List-Unsubscribe=One-Click`; a person clicking the link GETs it). Booking messages continue.
#[utoipa::path(post, path = "/v1/unsubscribe/{token}", tag = "notifications", operation_id = "unsubscribe",
    params(("token" = String, Path, description = "from the `List-Unsubscribe` header")),
    responses((status = 200, description = "unsubscribed from marketing (or already)", content_type = "text/html"),
        (status = 404, description = "not a link we issued", body = ErrorEnvelope)))]
pub async fn unsubscribe(State(app): State<Arc<App>>, path: PathParams) -> ApiResult<Response> {
    ops::unsubscribe(&mas_usecases::notifications::Notifier::of(&app), path.get("token").unwrap_or_default()).await?;
    let page = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
        <title>Unsubscribed</title></head><body><main><h1>You are unsubscribed</h1>\
        <p>You will get no more offers by email or text. Messages about your bookings continue.</p></main></body></html>";
    Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response())
}

/// For a person who clicks the link: a page with one button that POSTs it. A GET changes
/// nothing, so link scanners that prefetch mail links cannot unsubscribe anyone.
#[utoipa::path(get, path = "/v1/unsubscribe/{token}", tag = "notifications", operation_id = "unsubscribe_page",
    params(("token" = String, Path)),
    responses((status = 200, description = "a confirmation page", content_type = "text/html"),
        (status = 404, description = "not a link we issued", body = ErrorEnvelope)))]
pub async fn unsubscribe_page(State(app): State<Arc<App>>, path: PathParams) -> ApiResult<Response> {
    let token = path.get("token").unwrap_or_default();
    ops::check_unsubscribe(&mas_usecases::notifications::Notifier::of(&app), token)?;
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>Unsubscribe</title></head><body><main><h1>Stop offers from this clinic?</h1>\
         <p>Messages about your bookings continue.</p>\
         <form method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">\
         <button type=\"submit\">Unsubscribe</button></form></main></body></html>",
        html_escape(token)
    );
    Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response())
}
