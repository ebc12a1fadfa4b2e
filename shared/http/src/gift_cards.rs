//! Gift cards: the staff's list, lookup by code (in the body, never the URL), history and void;
//! the public balance check (rate limited per address). Selling one is a sale's gift-card line
//! (`POST /v1/sales`); spending one, a sale's `gift_card` tender. The role is checked before the
//! body is read (403 before 422); every lookup and history read is in the audit log.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ApiResult, ErrorEnvelope};
use super::extract::{Actor, JsonBody, PathParams};
use mas_domain::error::AppError;
use mas_domain::gift_card::{GiftCard, GiftCardCode, GiftCardStatus, Recipient};
use mas_domain::ids::{GiftCardId, GiftOrderId, RequestId};
use mas_domain::payment::{ClientSecret, IntentId};
use mas_domain::sale::Reason;
use mas_domain::team::Permission;
use mas_domain::values::{Currency, MinorUnits, Money, Slug};
use mas_store::AuditContext;
use mas_usecases::app::App;
use mas_usecases::gift_cards::{self as ops, Buyer, GiftCardView};

/// The most cards one list answers.
const LIST_LIMIT: u32 = 200;

/// The clinic's gift cards, newest first (at most 200): last four symbols of the code, balance,
/// expiry and who they are for. Never a code.
#[utoipa::path(get, path = "/v1/gift-cards", tag = "gift_cards", operation_id = "list_gift_cards", security(("staff_jwt" = [])),
    responses((status = 200, body = Vec<GiftCard>), (status = 403, body = ErrorEnvelope)))]
pub async fn list(State(app): State<Arc<App>>, actor: Actor) -> ApiResult<Json<Vec<GiftCard>>> {
    actor.require(Permission::GiftCardsRead)?;
    Ok(Json(ops::list(&app.store, &actor.tenant_id, LIST_LIMIT).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupInput {
    /// As printed or typed: case, spaces and dashes do not matter.
    pub code: GiftCardCode,
}

/// The card a code opens, with its history (in the audit log as `gift_card.looked_up`). A code
/// of no card of this clinic is 404; a mistyped one (its check symbol) 422.
#[utoipa::path(post, path = "/v1/gift-cards/lookup", tag = "gift_cards", operation_id = "look_up_gift_card", security(("staff_jwt" = [])),
    request_body = LookupInput,
    responses((status = 200, body = GiftCardView), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn lookup(
    State(app): State<Arc<App>>,
    actor: Actor,
    input: Result<JsonBody<LookupInput>, ApiError>,
) -> ApiResult<Json<GiftCardView>> {
    actor.require(Permission::GiftCardsRead)?;
    let JsonBody(input) = input?;
    let t = &actor.tenant_id;
    let card = ops::find_by_code(&app.store, t, &input.code).await?;
    let view = ops::view(&app.store, t, &card.id).await?;
    mas_usecases::audit::record_read(&app.store, &actor.audit(), "gift_card.looked_up", card.id.as_str()).await?;
    Ok(Json(view))
}

/// A card and its history: issued, spent by sales, given back by voids and refunds, voided
/// (in the audit log as `gift_card.opened`).
#[utoipa::path(get, path = "/v1/gift-cards/{id}", tag = "gift_cards", operation_id = "get_gift_card", security(("staff_jwt" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = GiftCardView), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn get(State(app): State<Arc<App>>, actor: Actor, path: PathParams) -> ApiResult<Json<GiftCardView>> {
    actor.require(Permission::GiftCardsRead)?;
    let id: GiftCardId = path.id("id", "gift card")?;
    let view = ops::view(&app.store, &actor.tenant_id, &id).await?;
    mas_usecases::audit::record_read(&app.store, &actor.audit(), "gift_card.opened", id.as_str()).await?;
    Ok(Json(view))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoidGiftCardInput {
    /// Why (kept on the card and the audit log).
    pub reason: Reason,
}

/// Voids a card (owners and managers): its balance can no longer be spent.
#[utoipa::path(post, path = "/v1/gift-cards/{id}/void", tag = "gift_cards", operation_id = "void_gift_card", security(("staff_jwt" = [])),
    params(("id" = String, Path)), request_body = VoidGiftCardInput,
    responses((status = 200, body = GiftCard), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, description = "`gift_card_voided`: voided already; `concurrent_update`", body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn void(
    State(app): State<Arc<App>>,
    actor: Actor,
    path: PathParams,
    input: Result<JsonBody<VoidGiftCardInput>, ApiError>,
) -> ApiResult<Json<GiftCard>> {
    actor.require(Permission::GiftCardsVoid)?;
    let JsonBody(input) = input?;
    let id: GiftCardId = path.id("id", "gift card")?;
    Ok(Json(ops::void(&app.store, &actor.audit(), &id, &input.reason).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BalanceInput {
    /// The clinic's public handle.
    pub tenant_slug: Slug,
    pub code: GiftCardCode,
}

/// What a card holder may see of their card.
#[derive(Debug, Serialize, ToSchema)]
pub struct Balance {
    pub code_last4: String,
    pub balance_minor: i64,
    pub currency: Currency,
    pub status: GiftCardStatus,
    /// `None`: never expires.
    pub expires_at: Option<DateTime<Utc>>,
    pub expired: bool,
}

/// A card's balance, for whoever holds its code (the clinic's site). Anonymous and rate limited
/// per address (429 with `Retry-After`); a code of no card of this clinic is 404. A POST so that
/// the code stays out of URLs and logs.
#[utoipa::path(post, path = "/v1/gift-cards/balance", tag = "gift_cards", operation_id = "gift_card_balance",
    request_body = BalanceInput,
    responses((status = 200, body = Balance), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope),
        (status = 429, body = ErrorEnvelope)))]
pub async fn balance(
    State(app): State<Arc<App>>,
    Extension(_request_id): Extension<RequestId>,
    super::extract::RequestOrigin(origin): super::extract::RequestOrigin,
    JsonBody(input): JsonBody<BalanceInput>,
) -> ApiResult<Json<Balance>> {
    let limit = app.limits.gift_card_per_address;
    mas_usecases::limits::take_for_address(&app.store, "gift_card", origin.ip.as_deref(), limit).await?;
    let t = mas_usecases::tenants::tenant_by_slug(&app.store, &input.tenant_slug).await?;
    let card = ops::find_by_code(&app.store, &t, &input.code).await?;
    let now = app.store.clock.now();
    Ok(Json(Balance {
        expired: card.is_expired(now),
        code_last4: card.code_last4,
        balance_minor: card.balance_minor,
        currency: card.currency,
        status: card.status,
        expires_at: card.expires_at,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PurchaseInput {
    /// The clinic's public handle.
    pub tenant_slug: Slug,
    /// In the clinic's currency: one of its preset amounts or any amount from 5.00 to 1,000.00.
    pub amount_minor: MinorUnits,
    pub buyer: Buyer,
    /// Who it is for: the code is emailed to them (the buyer's own email, to give it in person).
    pub recipient: Recipient,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PurchaseStarted {
    /// Names the purchase for its status.
    pub order_id: GiftOrderId,
    pub intent_id: IntentId,
    /// For Stripe.js to confirm the payment in the browser.
    pub client_secret: Option<ClientSecret>,
    pub amount: Money,
    /// The key to start Stripe.js with; absent when card payments are not set up for browsers.
    pub publishable_key: Option<String>,
    /// Where to load Stripe.js from (on the local host, the simulated gateway's shim).
    pub js_url: Option<String>,
}

/// Buys a gift card on the clinic's site: an intent for the amount, paid in the browser with
/// the Payment Element. The card is issued once the gateway's webhook reports the payment
/// (never twice, whatever it replays), its code emailed to the recipient and a confirmation to
/// the buyer. Anonymous and rate limited per address (429 with `Retry-After`).
#[utoipa::path(post, path = "/v1/gift-cards/purchase", tag = "gift_cards", operation_id = "purchase_gift_card",
    request_body = PurchaseInput,
    responses((status = 201, body = PurchaseStarted), (status = 404, body = ErrorEnvelope),
        (status = 409, description = "`payments_not_connected`: the clinic takes no card payments online", body = ErrorEnvelope),
        (status = 422, description = "`gift_card_amount`, `recipient_email_required`…", body = ErrorEnvelope),
        (status = 429, body = ErrorEnvelope)))]
pub async fn purchase(
    State(app): State<Arc<App>>,
    Extension(request_id): Extension<RequestId>,
    super::extract::RequestOrigin(origin): super::extract::RequestOrigin,
    JsonBody(input): JsonBody<PurchaseInput>,
) -> ApiResult<(StatusCode, Json<PurchaseStarted>)> {
    let limit = app.limits.gift_card_per_address;
    mas_usecases::limits::take_for_address(&app.store, "gift_card", origin.ip.as_deref(), limit).await?;
    let tenant_id = mas_usecases::tenants::tenant_by_slug(&app.store, &input.tenant_slug).await?;
    let audit = AuditContext { tenant_id, actor: "client".into(), role: None, request_id };
    let ports = mas_usecases::payments::Ports::of(&app);
    let started = ops::start_purchase(ports, &audit, input.amount_minor, input.buyer, input.recipient).await?;
    let checkout = app.payments.browser_checkout();
    let order = started.order;
    Ok((
        StatusCode::CREATED,
        Json(PurchaseStarted {
            order_id: order.id,
            intent_id: order.intent_id,
            client_secret: started.client_secret,
            amount: Money {
                amount_minor: MinorUnits::new(order.amount_minor).map_err(|e| AppError::Internal(e.0))?,
                currency: order.currency,
            },
            publishable_key: checkout.as_ref().map(|c| c.publishable_key.clone()),
            js_url: checkout.map(|c| c.js_url),
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PurchaseStatusInput {
    pub tenant_slug: Slug,
    pub order_id: GiftOrderId,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PurchaseStatus {
    /// The payment is in and the card issued (its code is on its way to the recipient).
    pub issued: bool,
    /// The issued card's last four symbols.
    pub code_last4: Option<String>,
}

/// Whether an online purchase's card was issued, for the site to wait on after the card was
/// confirmed in the browser (the webhook, not the browser, records the payment). Reads only.
#[utoipa::path(post, path = "/v1/gift-cards/purchase-status", tag = "gift_cards", operation_id = "gift_card_purchase_status",
    request_body = PurchaseStatusInput,
    responses((status = 200, body = PurchaseStatus), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn purchase_status(
    State(app): State<Arc<App>>,
    JsonBody(input): JsonBody<PurchaseStatusInput>,
) -> ApiResult<Json<PurchaseStatus>> {
    let tenant_id = mas_usecases::tenants::tenant_by_slug(&app.store, &input.tenant_slug).await?;
    let card = ops::purchase_issued(&app.store, &tenant_id, &input.order_id).await?;
    Ok(Json(PurchaseStatus { issued: card.is_some(), code_last4: card.map(|c| c.code_last4) }))
}
