//! Payment routes: the deposit intent the booking wizard asks for right after booking (public:
//! the booking's id and confirmation number prove it is the caller's), the balance, refunds, and
//! an appointment's payments for staff.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ApiResult, ErrorEnvelope};
use super::extract::{Actor, JsonBody, PathParams, QueryArgs};
use mas_domain::appointment::{AppointmentStatus, ConfirmationNumber};
use mas_domain::connect::{ConnectState, Connection, Requirements};
use mas_domain::error::AppError;
use mas_domain::ids::{AppointmentId, PaymentId, RequestId};
use mas_domain::payment::{
    ClientSecret, CollectionMethod, ConnectedAccountId, FeeCharge, IntentId, PayLink, Payment, PaymentKind,
    PaymentStatus, RefundKind,
};
use mas_domain::team::Permission;
use mas_domain::values::{MinorUnits, Money, Slug, Text};
use mas_store::{AuditContext, keys};
use mas_usecases::app::App;
use mas_usecases::connect as ops_connect;
use mas_usecases::payments::{self as ops, RefundAsk};
use mas_usecases::{appointments, tenants};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepositIntentInput {
    /// The clinic's public handle (as in `/v1/public/{tenant_slug}/…`).
    pub tenant_slug: Slug,
    pub appointment_id: AppointmentId,
    /// From the booking's answer: with the appointment id it proves the booking is the caller's.
    pub confirmation_number: ConfirmationNumber,
    /// The client agrees to keep the card on file for the balance.
    #[serde(default)]
    pub save_payment_method: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DepositIntent {
    pub payment_id: PaymentId,
    pub intent_id: IntentId,
    /// For Stripe.js to confirm the payment in the browser; absent once it has been paid.
    pub client_secret: Option<ClientSecret>,
    pub status: PaymentStatus,
    /// What to pay now.
    pub deposit: Money,
    /// The booking's full price.
    pub total: Money,
    /// Pay before this, or the time held for the booking is released.
    pub hold_expires_at: Option<DateTime<Utc>>,
    /// The key to start Stripe.js with (`Stripe(publishable_key)`, then
    /// `elements({clientSecret})` and the Payment Element); absent when card payments are not
    /// set up for browsers.
    pub publishable_key: Option<String>,
    /// Where to load Stripe.js from: `https://js.stripe.com/v3/`, or on the local host the
    /// simulated gateway's shim, a path on the API's origin (`/local/stripe.js`).
    pub js_url: Option<String>,
}

/// The deposit of a booking waiting for it. Anonymous: the booking's id and confirmation number
/// (both only in the booking's own answer) stand in for a login, and a wrong pair is simply not
/// found. Asking again returns the same intent.
#[utoipa::path(post, path = "/v1/payments/deposit-intent", tag = "payments", operation_id = "create_deposit_intent", request_body = DepositIntentInput,
    responses((status = 201, body = DepositIntent), (status = 404, body = ErrorEnvelope),
        (status = 409, description = "`not_pending_deposit`, `hold_expired`, `no_deposit_due`, or `payments_not_connected` (the clinic has no connected Stripe account that takes charges)", body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn deposit_intent(
    State(app): State<Arc<App>>,
    Extension(request_id): Extension<RequestId>,
    super::extract::RequestOrigin(origin): super::extract::RequestOrigin,
    JsonBody(input): JsonBody<DepositIntentInput>,
) -> ApiResult<(StatusCode, Json<DepositIntent>)> {
    let limit = app.limits.deposit_intent_per_address;
    mas_usecases::limits::take_for_address(&app.store, "deposit", origin.ip.as_deref(), limit).await?;
    let tenant_id = tenants::tenant_by_slug(&app.store, &input.tenant_slug).await?;
    let audit = AuditContext { tenant_id, actor: "client".into(), role: None, request_id };
    let intent = ops::deposit_intent(
        mas_usecases::payments::Ports::of(&app),
        &audit,
        &input.appointment_id,
        input.confirmation_number.as_str(),
        input.save_payment_method,
    )
    .await?;
    let checkout = app.payments.browser_checkout();
    Ok((
        StatusCode::CREATED,
        Json(DepositIntent {
            payment_id: intent.payment.id,
            intent_id: intent.payment.intent_id,
            client_secret: intent.client_secret,
            status: intent.payment.status,
            deposit: intent.deposit,
            total: intent.total,
            hold_expires_at: intent.hold_expires_at,
            publishable_key: checkout.as_ref().map(|c| c.publishable_key.clone()),
            js_url: checkout.map(|c| c.js_url),
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepositStatusInput {
    /// The clinic's public handle (as in `/v1/public/{tenant_slug}/…`).
    pub tenant_slug: Slug,
    pub appointment_id: AppointmentId,
    /// From the booking's answer: with the appointment id it proves the booking is the caller's.
    pub confirmation_number: ConfirmationNumber,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DepositStatus {
    /// `pending_deposit` until the deposit confirms the booking (`scheduled`); `cancelled` when
    /// the hold ran out and the time was taken before the money arrived (it is then refunded).
    pub appointment_status: AppointmentStatus,
    /// The deposit's payment, once it was asked for.
    pub payment_status: Option<PaymentStatus>,
    /// What the gateway said about the last failed attempt (`card_declined`…), while unpaid.
    pub failure: Option<String>,
    /// The deposit has been collected (the gateway's webhook recorded it).
    pub paid: bool,
}

/// Where a booking's deposit stands, for the booking wizard to wait on after the card was
/// confirmed in the browser (the webhook, not the browser, records the payment). Anonymous, as
/// the deposit intent: the booking's id and confirmation number prove it is the caller's. Reads
/// only (a POST so that the pair stays out of URLs and logs).
#[utoipa::path(post, path = "/v1/payments/deposit-status", tag = "payments", operation_id = "get_deposit_status", request_body = DepositStatusInput,
    responses((status = 200, body = DepositStatus), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn deposit_status(
    State(app): State<Arc<App>>,
    JsonBody(input): JsonBody<DepositStatusInput>,
) -> ApiResult<Json<DepositStatus>> {
    #[derive(Deserialize)]
    struct NumberClaim {
        appointment_id: AppointmentId,
    }
    let tenant_id = tenants::tenant_by_slug(&app.store, &input.tenant_slug).await?;
    let claim: Option<NumberClaim> =
        app.store.get(&keys::confirmation_number(&tenant_id, input.confirmation_number.as_str())).await?;
    if claim.is_none_or(|c| c.appointment_id != input.appointment_id) {
        return Err(AppError::NotFound { what: "appointment" }.into());
    }
    let appointment = appointments::get(&app.store, &tenant_id, &input.appointment_id).await?;
    let deposits: Vec<Payment> = ops::for_appointment(&app.store, &tenant_id, &input.appointment_id)
        .await?
        .into_iter()
        .filter(|p| p.kind == PaymentKind::Deposit)
        .collect();
    let paid = deposits.iter().any(|p| p.captured.get() > 0);
    let last = deposits.last();
    Ok(Json(DepositStatus {
        appointment_status: appointment.status,
        payment_status: last.map(|p| p.status),
        failure: last.filter(|_| !paid).and_then(|p| p.failure.clone()),
        paid,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FinalizeInput {
    pub appointment_id: AppointmentId,
    pub collection_method: CollectionMethod,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Finalized {
    /// The balance's payment (in person, or charged to the card on file); absent for a link,
    /// whose payment is made when the client pays on its page.
    pub payment: Option<Payment>,
    /// For `email_link`: the link asked for (its page is made and sent by the messaging worker;
    /// `status` says when it was sent). Its address is the client's and is never answered.
    pub link: Option<PayLink>,
    /// For the desk's checkout to confirm; absent when already paid, and for a link.
    pub client_secret: Option<ClientSecret>,
}

/// Asks for the balance (the price less what earlier payments kept): at the desk, by a link
/// sent to the client (the same link while it is open), or at once from the card the client
/// agreed to keep on file.
#[utoipa::path(post, path = "/v1/payments/finalize", tag = "payments", operation_id = "finalize_payment", security(("staff_jwt" = [])), request_body = FinalizeInput,
    responses((status = 201, body = Finalized), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, description = "`not_finalizable`, `nothing_due`, `payment_link_open`, or `payments_not_connected` (the clinic has no connected Stripe account that takes charges)", body = ErrorEnvelope),
        (status = 422, description = "`no_saved_payment_method`, `payment_declined`", body = ErrorEnvelope)))]
pub async fn finalize(
    State(app): State<Arc<App>>,
    actor: Actor,
    input: Result<JsonBody<FinalizeInput>, ApiError>,
) -> ApiResult<(StatusCode, Json<Finalized>)> {
    actor.require(Permission::PaymentsWrite)?;
    // The role first: a caller who may not do this learns nothing from the body's errors.
    let JsonBody(input) = input?;
    // A member restricted to locations takes payments only for appointments there.
    appointments::get_within(&app.store, &actor.tenant_id, &actor.reach(), &input.appointment_id).await?;
    let done = ops::finalize(
        mas_usecases::payments::Ports::of(&app),
        &actor.audit(),
        &input.appointment_id,
        input.collection_method,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(Finalized {
            payment: done.payment,
            link: done.link.map(PayLink::redacted),
            client_secret: done.client_secret,
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundInput {
    /// Minor units; everything still refundable when absent.
    pub amount: Option<MinorUnits>,
    /// Why (kept on the payment, the audit log and the client's timeline).
    pub reason: Text,
}

/// Refunds part or all of a payment; never more than it collected and has not yet given back.
#[utoipa::path(post, path = "/v1/payments/{id}/refund", tag = "payments", operation_id = "refund_payment", security(("staff_jwt" = [])),
    params(("id" = String, Path)), request_body = RefundInput,
    responses((status = 200, body = Payment), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope),
        (status = 422, description = "`refund_exceeds_captured`, `nothing_to_refund`, `nothing_captured`", body = ErrorEnvelope)))]
pub async fn refund(
    State(app): State<Arc<App>>,
    actor: Actor,
    path: PathParams,
    input: Result<JsonBody<RefundInput>, ApiError>,
) -> ApiResult<Json<Payment>> {
    actor.require(Permission::PaymentsWrite)?;
    // The role first: a caller who may not do this learns nothing from the body's errors.
    let JsonBody(input) = input?;
    let id: PaymentId = path.id("id", "payment")?;
    if input.reason.as_str().is_empty() {
        return Err(AppError::invalid("required", "reason", "say why the money goes back").into());
    }
    let payment = ops::find(&app.store, &actor.tenant_id, &id).await?;
    match appointments::get_within(&app.store, &actor.tenant_id, &actor.reach(), &payment.appointment_id).await {
        Err(AppError::NotFound { .. }) => return Err(AppError::NotFound { what: "payment" }.into()),
        other => other?,
    };
    let ask =
        RefundAsk { amount: input.amount, reason: input.reason.to_string(), kind: RefundKind::Requested, key: None };
    Ok(Json(ops::refund(mas_usecases::payments::Ports::of(&app), &actor.audit(), &id, ask).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub appointment_id: AppointmentId,
}

/// An appointment's payments, oldest first.
#[utoipa::path(get, path = "/v1/payments", tag = "payments", operation_id = "list_payments", security(("staff_jwt" = [])), params(ListQuery),
    responses((status = 200, body = Vec<Payment>), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn list(
    State(app): State<Arc<App>>,
    actor: Actor,
    QueryArgs(query): QueryArgs<ListQuery>,
) -> ApiResult<Json<Vec<Payment>>> {
    actor.require(Permission::PaymentsRead)?;
    // Another clinic's appointment (or one at a location of the clinic outside the member's) is
    // not found, rather than an empty list.
    appointments::get_within(&app.store, &actor.tenant_id, &actor.reach(), &query.appointment_id).await?;
    Ok(Json(ops::for_appointment(&app.store, &actor.tenant_id, &query.appointment_id).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClientBalance {
    /// What the client owes now: fees above a deposit that no card on file paid.
    pub owed: Money,
    /// Every fee above a deposit of theirs (charged, owed or paid), oldest first.
    pub fees: Vec<FeeCharge>,
    /// Every payment link of theirs (balances and fees), oldest first, without their addresses.
    pub links: Vec<PayLink>,
}

/// What a client owes, and the payment links they were sent (or could not be sent).
#[utoipa::path(get, path = "/v1/clients/{id}/balance", tag = "payments", operation_id = "get_client_balance",
    security(("staff_jwt" = [])), params(("id" = String, Path)),
    responses((status = 200, body = ClientBalance), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn client_balance(
    State(app): State<Arc<App>>,
    actor: Actor,
    path: PathParams,
) -> ApiResult<Json<ClientBalance>> {
    actor.require(Permission::PaymentsRead)?;
    let id: mas_domain::ids::ClientId = path.id("id", "client")?;
    actor.admit_client(&app, &id).await?;
    // Another clinic's client (or none) is not found, rather than an empty balance.
    mas_usecases::clients::get(&app.store, &actor.tenant_id, &id).await?;
    let tenant = tenants::tenant(&app.store, &actor.tenant_id).await?;
    let fees = mas_usecases::fees::for_client(&app.store, &tenant.id, &id).await?;
    let links = mas_usecases::paylinks::for_client(&app.store, &tenant.id, &id).await?;
    let owed: i64 = fees.iter().filter(|f| f.outstanding()).map(|f| f.amount.amount_minor.get()).sum();
    Ok(Json(ClientBalance {
        owed: Money {
            amount_minor: MinorUnits::new(owed).map_err(|e| AppError::Internal(e.0))?,
            currency: tenant.currency.clone(),
        },
        fees,
        links: links.into_iter().map(PayLink::redacted).collect(),
    }))
}

/// Where the clinic's own Stripe account stands: its online payments go there.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectStatus {
    /// `not_connected` (onboarding not started), `onboarding` (the form is not finished),
    /// `restricted` (Stripe does not, or no longer, let it take charges: see `requirements`) or
    /// `active` (online payments go to it).
    pub state: ConnectState,
    /// The connected account (`acct_…`), once onboarding started.
    pub account_id: Option<ConnectedAccountId>,
    pub charges_enabled: bool,
    pub payouts_enabled: bool,
    pub details_submitted: bool,
    /// What Stripe still needs, and why it disabled the account if it did.
    pub requirements: Requirements,
    /// When it could first take charges.
    pub active_since: Option<DateTime<Utc>>,
    /// The platform's cut of each online payment, in basis points (`250` is 2.5%).
    pub application_fee_bps: u32,
    /// Whether the clinic must be `active` to take online payments (always on AWS, with Stripe;
    /// the local host's simulated gateway charges the platform for a clinic that has not
    /// connected, unless `MAS_CONNECT=required`).
    pub required: bool,
}

impl ConnectStatus {
    fn of(app: &App, connection: Option<Connection>) -> ConnectStatus {
        let (state, status, account_id, active_since) = match connection {
            Some(c) => (c.state(), c.status, Some(c.account_id), c.active_since),
            None => (ConnectState::NotConnected, Default::default(), None, None),
        };
        ConnectStatus {
            state,
            account_id,
            charges_enabled: status.charges_enabled,
            payouts_enabled: status.payouts_enabled,
            details_submitted: status.details_submitted,
            requirements: status.requirements,
            active_since,
            application_fee_bps: app.application_fee.get(),
            required: app.payments.requires_connected_account(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectOnboarding {
    /// Stripe's hosted onboarding form for the clinic's account: open it now (single use, it
    /// expires within minutes; ask again for a new one). It sends the owner back to the back
    /// office's payments settings.
    pub url: String,
    pub expires_at: DateTime<Utc>,
    pub status: ConnectStatus,
}

/// Where the back office's payments settings are (Stripe's form returns the owner there).
fn settings_urls(app: &App, base: &str) -> ops_connect::ReturnUrls {
    let back_office = app.app_url.clone().unwrap_or_else(|| format!("{}/app/", base.trim_end_matches('/')));
    ops_connect::ReturnUrls {
        refresh_url: format!("{back_office}#/settings/payments?connect=refresh"),
        return_url: format!("{back_office}#/settings/payments?connect=return"),
    }
}

/// Starts (or resumes) connecting the clinic's own Stripe account: the account is made once (and
/// re-read from Stripe on later calls, its status stored), and each call answers a fresh link to
/// Stripe's hosted onboarding form. Owners only.
#[utoipa::path(post, path = "/v1/payments/connect", tag = "payments", operation_id = "start_payments_connect", security(("staff_jwt" = [])),
    responses((status = 200, body = ConnectOnboarding), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
pub async fn start_connect(
    State(app): State<Arc<App>>,
    actor: Actor,
    super::extract::PublicBase(base): super::extract::PublicBase,
) -> ApiResult<Json<ConnectOnboarding>> {
    actor.require(Permission::PaymentsConnect)?;
    let tenant = tenants::tenant(&app.store, &actor.tenant_id).await?;
    let onboarding = ops_connect::start_onboarding(
        mas_usecases::payments::Ports::of(&app),
        &actor.audit(),
        tenant.country.as_str(),
        Some(actor.member.input.email.to_string()),
        settings_urls(&app, &base),
    )
    .await?;
    Ok(Json(ConnectOnboarding {
        url: onboarding.url,
        expires_at: onboarding.expires_at,
        status: ConnectStatus::of(&app, Some(onboarding.connection)),
    }))
}

/// Where the clinic's own Stripe account stands, as Stripe last said (its `account.updated`
/// webhook, or the last onboarding ask, which re-reads it). Reads only. Owners only.
#[utoipa::path(get, path = "/v1/payments/connect", tag = "payments", operation_id = "get_payments_connect", security(("staff_jwt" = [])),
    responses((status = 200, body = ConnectStatus), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
pub async fn connect_status(State(app): State<Arc<App>>, actor: Actor) -> ApiResult<Json<ConnectStatus>> {
    actor.require(Permission::PaymentsConnect)?;
    let connection = ops_connect::connection(&app.store, &actor.tenant_id).await?;
    Ok(Json(ConnectStatus::of(&app, connection)))
}
