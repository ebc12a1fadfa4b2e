//! The client portal's routes. Signing in is public (`/v1/public/{slug}/portal/…`); the rest
//! (`/v1/portal/…`) carry the portal session as `Authorization: Bearer …`, checked here (no staff
//! JWT authorizer on AWS, and a portal session is never a staff token: staff routes verify JWTs).

use std::sync::Arc;

use axum::Extension;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiResult, ErrorEnvelope};
use super::extract::{JsonBody, PathParams, PublicBase, QueryArgs};
use chrono::{DateTime, Utc};
use mas_domain::ids::RequestId;
use mas_domain::ids::{AppointmentId, PayLinkId};
use mas_domain::notifications::Preferences;
use mas_domain::payment::{ClientSecret, IntentId, LinkPurpose, LinkStatus};
use mas_domain::policy::{FeeAction, FeePreview};
use mas_domain::portal::PortalSession;
use mas_domain::values::{Email, Money, Slug};
use mas_store::AuditContext;
use mas_usecases::app::App;
use mas_usecases::portal::{
    self as ops, PortalAppointment, PortalAppointments, PortalChange, PortalDocuments, SessionIssued,
};
use mas_usecases::receipts::ReceiptLink;

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

pub(crate) async fn session(app: &App, headers: &HeaderMap) -> ApiResult<PortalSession> {
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

/// The gift cards the client bought or was given (matched by her client record, made from her
/// email when the card was issued), newest first, with balance and expiry. Never a code.
#[utoipa::path(get, path = "/v1/portal/gift-cards", tag = "portal", operation_id = "portal_gift_cards",
    responses((status = 200, body = Vec<mas_domain::gift_card::GiftCard>), (status = 401, body = ErrorEnvelope)))]
pub async fn gift_cards(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
) -> ApiResult<Json<Vec<mas_domain::gift_card::GiftCard>>> {
    let session = session(&app, &headers).await?;
    Ok(Json(mas_usecases::gift_cards::for_client(&app.store, &session.tenant_id, &session.client_id).await?))
}

/// The packages of sessions the client holds, newest first: sessions remaining, expiry and
/// status (`expired` once past its expiry).
#[utoipa::path(get, path = "/v1/portal/packages", tag = "portal", operation_id = "portal_packages",
    responses((status = 200, body = Vec<mas_domain::package::Package>), (status = 401, body = ErrorEnvelope)))]
pub async fn packages(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
) -> ApiResult<Json<Vec<mas_domain::package::Package>>> {
    let session = session(&app, &headers).await?;
    Ok(Json(mas_usecases::packages::for_client(&app.store, &session.tenant_id, &session.client_id).await?))
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
    /// The payment link's id.
    pub link_id: PayLinkId,
    pub appointment_id: AppointmentId,
    pub confirmation_number: String,
    pub service_name: String,
    pub start: DateTime<Utc>,
    /// The clinic's zone for the appointment (IANA).
    pub timezone: String,
    /// What the clinic asks for.
    pub amount: Money,
    /// `balance` (the price less what was paid) or `fee` (a cancellation or no-show fee no card
    /// paid).
    pub purpose: LinkPurpose,
    /// `requested` (its page is being made), `sent` or `not_sent`: due; `paid`; `expired`: ask
    /// the clinic for a new one.
    pub status: LinkStatus,
    /// The payment page (Stripe Checkout; locally the simulated gateway's), while it can be paid
    /// and once it is made: the same page the emailed or texted link opens. Absent once the
    /// client starts paying it here (the page is stopped then).
    pub pay_url: Option<String>,
    /// It is still payable, so the portal offers its card form (`POST
    /// /v1/portal/balances/{link_id}/intent`; where the gateway has no card form for browsers
    /// that answers 409 `card_form_unavailable`, and the link's page, `pay_url`, is the way).
    pub pay_here: bool,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct PortalBalances {
    /// What the clinic asked the client to pay online (staff's "payment link", or a fee no card
    /// paid), soonest appointment first; paid and expired ones stay listed.
    pub balances: Vec<PortalBalance>,
}

/// What the clinic asked the signed-in client to pay online, each with its payment page and
/// whether it can be paid here (a link is paid one way at a time: see the intent route).
#[utoipa::path(get, path = "/v1/portal/balances", operation_id = "portal_list_balances", tag = "portal",
    responses((status = 200, body = PortalBalances), (status = 401, body = ErrorEnvelope)))]
pub async fn balances(State(app): State<Arc<App>>, headers: HeaderMap) -> ApiResult<Json<PortalBalances>> {
    let session = session(&app, &headers).await?;
    let links = mas_usecases::paylinks::for_client(&app.store, &session.tenant_id, &session.client_id).await?;
    if links.is_empty() {
        return Ok(Json(PortalBalances { balances: Vec::new() }));
    }
    let appointments = ops::appointments(&app, &session).await?;
    let now = app.store.clock.now();
    let all: Vec<&PortalAppointment> = appointments.upcoming.iter().chain(&appointments.past).collect();
    let mut balances: Vec<PortalBalance> = links
        .into_iter()
        .filter_map(|link| {
            let a = all.iter().find(|a| a.id == link.appointment_id)?;
            let payable = link.payable(now);
            let pay_url = if payable { link.url.clone() } else { None };
            // A link whose page ran out while it was being paid here: no longer payable.
            let status = if link.status.is_open() && !payable { LinkStatus::Expired } else { link.status };
            Some(PortalBalance {
                link_id: link.id,
                appointment_id: a.id.clone(),
                confirmation_number: a.confirmation_number.clone(),
                service_name: a.service_name.clone(),
                start: a.start,
                timezone: a.timezone.clone(),
                amount: link.amount,
                purpose: link.purpose,
                status,
                pay_here: payable,
                pay_url,
                expires_at: link.expires_at,
            })
        })
        .collect();
    balances.sort_by_key(|b| b.start);
    Ok(Json(PortalBalances { balances }))
}

#[derive(Serialize, ToSchema)]
pub struct PortalPayIntent {
    pub link_id: PayLinkId,
    pub intent_id: IntentId,
    /// For Stripe.js to confirm the payment in the browser.
    pub client_secret: Option<ClientSecret>,
    pub amount: Money,
    /// The key to start Stripe.js with (`Stripe(publishable_key)`, then `elements({clientSecret})`).
    pub publishable_key: String,
    /// Where to load Stripe.js from: Stripe's address, or on the local host the simulated
    /// gateway's shim (a path on the API's origin).
    pub js_url: String,
}

/// Pays one of the client's payment links here with the card form instead of on its hosted page:
/// the page stops taking payment first, so the link is paid one way only; asking again answers
/// the same intent. The payment is recorded from the gateway's webhook, as the page's would be.
#[utoipa::path(post, path = "/v1/portal/balances/{link_id}/intent", operation_id = "portal_pay_balance_here", tag = "portal",
    params(("link_id" = String, Path)),
    responses((status = 201, body = PortalPayIntent), (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, description = "`link_closed` (paid or expired), `link_paid` (just paid on its page), `card_form_unavailable`, or `payments_not_connected`", body = ErrorEnvelope)))]
pub async fn pay_here(
    State(app): State<Arc<App>>,
    Extension(request_id): Extension<RequestId>,
    headers: HeaderMap,
    path: PathParams,
) -> ApiResult<(StatusCode, Json<PortalPayIntent>)> {
    let session = session(&app, &headers).await?;
    let id: PayLinkId = path.id("link_id", "payment link")?;
    let audit = AuditContext { tenant_id: session.tenant_id.clone(), actor: "client".into(), role: None, request_id };
    let paying =
        mas_usecases::paylinks::pay_here(mas_usecases::payments::Ports::of(&app), &audit, &session.client_id, &id)
            .await?;
    let checkout = app
        .payments
        .browser_checkout()
        .ok_or(mas_domain::error::AppError::Internal("the gateway stopped offering browser checkout".into()))?;
    Ok((
        StatusCode::CREATED,
        Json(PortalPayIntent {
            link_id: paying.link.id,
            intent_id: paying.intent.id,
            client_secret: paying.intent.client_secret,
            amount: paying.link.amount,
            publishable_key: checkout.publishable_key,
            js_url: checkout.js_url,
        }),
    ))
}
