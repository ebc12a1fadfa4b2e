//! The client portal's routes. Signing in is public (`/v1/public/{slug}/portal/…`); the rest
//! (`/v1/portal/…`) carry the portal session as `Authorization: Bearer …`, checked here (no staff
//! JWT authorizer on AWS, and a portal session is never a staff token: staff routes verify JWTs).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiResult, ErrorEnvelope};
use super::extract::{JsonBody, PathParams, PublicBase, QueryArgs};
use chrono::{DateTime, Utc};
use mas_domain::error::AppError;
use mas_domain::ids::{AppointmentId, PaymentId};
use mas_domain::notifications::Preferences;
use mas_domain::payment::{
    ClientSecret, CollectionMethod, IntentId, IntentStatus, Payment, PaymentKind, PaymentStatus,
};
use mas_domain::policy::{FeeAction, FeePreview};
use mas_domain::portal::PortalSession;
use mas_domain::values::{Email, Money, Slug};
use mas_usecases::app::App;
use mas_usecases::payments;
use mas_usecases::receipts::ReceiptLink;
use mas_usecases::portal::{
    self as ops, PortalAppointment, PortalAppointments, PortalChange, PortalDocuments, SessionIssued,
};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    pub email: Email,
}

#[derive(Serialize, ToSchema)]
pub struct LinkAccepted {
    /// Always the same, whether or not the email is a client's.
    pub status: &'static str,
}

/// Emails a sign-in link to a client of the clinic. Answers 202 the same way for any email.
#[utoipa::path(post, path = "/v1/public/{tenant_slug}/portal/link", tag = "portal", params(("tenant_slug" = String, Path)),
    request_body = LinkRequest,
    responses((status = 202, body = LinkAccepted), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn request_link(
    State(app): State<Arc<App>>,
    path: PathParams,
    super::extract::RequestOrigin(origin): super::extract::RequestOrigin,
    JsonBody(body): JsonBody<LinkRequest>,
) -> ApiResult<(StatusCode, Json<LinkAccepted>)> {
    let limit = app.limits.portal_link_per_address;
    mas_usecases::limits::take_for_address(&app.store, "portal-link", origin.ip.as_deref(), limit).await?;
    let slug: Slug = path.id("tenant_slug", "clinic")?;
    ops::request_link(&app, &slug, &body.email).await?;
    Ok((StatusCode::ACCEPTED, Json(LinkAccepted { status: "sent_if_known" })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionRequest {
    pub token: String,
}

/// Exchanges a sign-in link's token (once) for a portal session.
#[utoipa::path(post, path = "/v1/public/{tenant_slug}/portal/session", tag = "portal", params(("tenant_slug" = String, Path)),
    request_body = SessionRequest,
    responses((status = 200, body = SessionIssued), (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn open_session(
    State(app): State<Arc<App>>,
    path: PathParams,
    JsonBody(body): JsonBody<SessionRequest>,
) -> ApiResult<Json<SessionIssued>> {
    let slug: Slug = path.id("tenant_slug", "clinic")?;
    Ok(Json(ops::open_session(&app, &slug, &body.token).await?))
}

async fn session(app: &App, headers: &HeaderMap) -> ApiResult<PortalSession> {
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    Ok(ops::session(app, bearer).await?)
}

/// The signed-in client's upcoming and past appointments.
#[utoipa::path(get, path = "/v1/portal/appointments", tag = "portal",
    responses((status = 200, body = PortalAppointments), (status = 401, body = ErrorEnvelope)))]
pub async fn appointments(State(app): State<Arc<App>>, headers: HeaderMap) -> ApiResult<Json<PortalAppointments>> {
    let session = session(&app, &headers).await?;
    Ok(Json(ops::appointments(&app, &session).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PortalFeeQuery {
    /// `cancel` or `reschedule`.
    pub action: FeeAction,
}

/// What cancelling or rescheduling one of the client's appointments would cost now.
#[utoipa::path(get, path = "/v1/portal/appointments/{id}/fee-preview", operation_id = "portal_fee_preview", tag = "portal",
    params(("id" = String, Path), PortalFeeQuery),
    responses((status = 200, body = FeePreview), (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn fee_preview(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    path: PathParams,
    QueryArgs(query): QueryArgs<PortalFeeQuery>,
) -> ApiResult<Json<FeePreview>> {
    let session = session(&app, &headers).await?;
    let id: AppointmentId = path.id("id", "appointment")?;
    Ok(Json(ops::fee_preview(&app, &session, &id, query.action).await?))
}

/// Reschedules or cancels one of the client's appointments, within the clinic's policy.
#[utoipa::path(patch, path = "/v1/portal/appointments/{id}", operation_id = "portal_change_appointment", tag = "portal",
    params(("id" = String, Path)), request_body = PortalChange,
    responses((status = 200, body = PortalAppointment), (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn change(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    path: PathParams,
    JsonBody(body): JsonBody<PortalChange>,
) -> ApiResult<Json<PortalAppointment>> {
    let session = session(&app, &headers).await?;
    let id: AppointmentId = path.id("id", "appointment")?;
    Ok(Json(ops::change(&app, &session, &id, body).await?))
}

/// The client's documents, with download links.
#[utoipa::path(get, path = "/v1/portal/documents", tag = "portal",
    responses((status = 200, body = PortalDocuments), (status = 401, body = ErrorEnvelope)))]
pub async fn documents(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    PublicBase(base): PublicBase,
) -> ApiResult<Json<PortalDocuments>> {
    let session = session(&app, &headers).await?;
    Ok(Json(ops::documents(&app, &session, &base).await?))
}

/// The client's receipts and credit notes from the clinic's till, newest first, with download
/// links (5 minutes).
#[utoipa::path(get, path = "/v1/portal/receipts", tag = "portal", operation_id = "portal_receipts",
    responses((status = 200, body = Vec<ReceiptLink>), (status = 401, body = ErrorEnvelope)))]
pub async fn receipts(State(app): State<Arc<App>>, headers: HeaderMap) -> ApiResult<Json<Vec<ReceiptLink>>> {
    let session = session(&app, &headers).await?;
    Ok(Json(ops::receipts(&app, &session).await?))
}

#[utoipa::path(get, path = "/v1/portal/preferences", operation_id = "portal_get_preferences", tag = "portal",
    responses((status = 200, body = Preferences), (status = 401, body = ErrorEnvelope)))]
pub async fn get_preferences(State(app): State<Arc<App>>, headers: HeaderMap) -> ApiResult<Json<Preferences>> {
    let session = session(&app, &headers).await?;
    Ok(Json(ops::preferences(&app, &session).await?))
}

#[utoipa::path(put, path = "/v1/portal/preferences", operation_id = "portal_put_preferences", tag = "portal", request_body = Preferences,
    responses((status = 200, body = Preferences), (status = 401, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn put_preferences(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<Preferences>,
) -> ApiResult<Json<Preferences>> {
    let session = session(&app, &headers).await?;
    Ok(Json(ops::set_preferences(&app, &session, body).await?))
}

#[derive(Serialize, ToSchema)]
pub struct PortalBalance {
    pub payment_id: PaymentId,
    pub appointment_id: AppointmentId,
    pub confirmation_number: String,
    pub service_name: String,
    pub start: DateTime<Utc>,
    /// The clinic's zone for the appointment (IANA).
    pub timezone: String,
    /// What the clinic asks for.
    pub amount: Money,
    /// `requires_action` or `failed` (the last attempt; it can be paid again): due;
    /// `processing`; `succeeded` and after: paid.
    pub status: PaymentStatus,
}

#[derive(Serialize, ToSchema)]
pub struct PortalBalances {
    /// Balances the clinic asked the client to pay online (staff's "payment link"), soonest
    /// appointment first; paid ones stay listed.
    pub balances: Vec<PortalBalance>,
}

/// A balance the client may pay here: one the clinic asked them to pay by link, on their own
/// appointment, whose intent was not cancelled.
fn payable_online(payment: &Payment, session: &PortalSession) -> bool {
    payment.client_id == session.client_id
        && payment.kind == PaymentKind::Balance
        && payment.collection_method == Some(CollectionMethod::EmailLink)
        && payment.intent_status != IntentStatus::Canceled
}

/// The balances the clinic asked the signed-in client to pay online.
#[utoipa::path(get, path = "/v1/portal/balances", operation_id = "portal_list_balances", tag = "portal",
    responses((status = 200, body = PortalBalances), (status = 401, body = ErrorEnvelope)))]
pub async fn balances(State(app): State<Arc<App>>, headers: HeaderMap) -> ApiResult<Json<PortalBalances>> {
    let session = session(&app, &headers).await?;
    let appointments = ops::appointments(&app, &session).await?;
    let mut balances = Vec::new();
    for a in appointments.upcoming.iter().chain(&appointments.past) {
        for payment in payments::for_appointment(&app.store, &session.tenant_id, &a.id).await? {
            if !payable_online(&payment, &session) {
                continue;
            }
            balances.push(PortalBalance {
                payment_id: payment.id,
                appointment_id: a.id.clone(),
                confirmation_number: a.confirmation_number.clone(),
                service_name: a.service_name.clone(),
                start: a.start,
                timezone: a.timezone.clone(),
                amount: payment.amount,
                status: payment.status,
            });
        }
    }
    balances.sort_by_key(|b| b.start);
    Ok(Json(PortalBalances { balances }))
}

#[derive(Serialize, ToSchema)]
pub struct BalanceIntent {
    pub payment_id: PaymentId,
    pub intent_id: IntentId,
    /// For Stripe.js to confirm the payment in the browser.
    pub client_secret: Option<ClientSecret>,
    pub status: PaymentStatus,
    pub amount: Money,
    /// The key to start Stripe.js with; absent when card payments are not set up for browsers.
    pub publishable_key: Option<String>,
    /// Where to load Stripe.js from (`https://js.stripe.com/v3/`; on the local host a path on
    /// the API's origin, the simulated gateway's shim).
    pub js_url: Option<String>,
}

/// What the portal's Payment Element needs to take one of the client's balances: its intent's
/// client secret and Stripe.js. Not found unless the clinic asked this client to pay it online;
/// 409 `already_paid` once paid. Reads only (the webhook records the payment).
#[utoipa::path(post, path = "/v1/portal/balances/{id}/intent", operation_id = "portal_balance_intent", tag = "portal",
    params(("id" = String, Path)),
    responses((status = 200, body = BalanceIntent), (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, description = "`already_paid`", body = ErrorEnvelope)))]
pub async fn balance_intent(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    path: PathParams,
) -> ApiResult<Json<BalanceIntent>> {
    let session = session(&app, &headers).await?;
    let id: PaymentId = path.id("id", "payment")?;
    let payment = payments::find(&app.store, &session.tenant_id, &id).await?;
    if !payable_online(&payment, &session) {
        return Err(AppError::NotFound { what: "payment" }.into());
    }
    if payment.captured.get() > 0 {
        return Err(AppError::conflict("already_paid", "this balance has been paid").into());
    }
    let intent = app.payments.retrieve_intent(&payment.intent_id).await.map_err(AppError::from)?;
    let checkout = app.payments.browser_checkout();
    Ok(Json(BalanceIntent {
        payment_id: payment.id,
        intent_id: payment.intent_id,
        client_secret: intent.client_secret,
        status: payment.status,
        amount: payment.amount,
        publishable_key: checkout.as_ref().map(|c| c.publishable_key.clone()),
        js_url: checkout.map(|c| c.js_url),
    }))
}
