//! Gift cards: the staff's list, lookup by code (in the body, never the URL), history and void;
//! the public balance check (rate limited per address). Selling one is a sale's gift-card line
//! (`POST /v1/sales`); spending one, a sale's `gift_card` tender. The role is checked before the
//! body is read (403 before 422); every lookup and history read is in the audit log.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ApiResult, ErrorEnvelope};
use super::extract::{Actor, JsonBody, PathParams};
use mas_domain::gift_card::{GiftCard, GiftCardCode, GiftCardStatus};
use mas_domain::ids::{GiftCardId, RequestId};
use mas_domain::sale::Reason;
use mas_domain::team::Permission;
use mas_domain::values::{Currency, Slug};
use mas_usecases::app::App;
use mas_usecases::gift_cards::{self as ops, GiftCardView};

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
