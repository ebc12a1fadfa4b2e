//! The desk till's routes: complete a sale, read one, list a location's day, void and refund.
//! The role is checked before the body is read (403 before 422).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ApiResult, ErrorEnvelope};
use super::extract::{Actor, JsonBody, PathParams, QueryArgs};
use super::idempotency::{self, Begun};
use mas_domain::cash_up::{CashUp, CloseInput};
use mas_domain::error::AppError;
use mas_domain::ids::{LocationId, SaleId};
use mas_domain::sale::{self, Quote, Reason, RefundTo, Sale, SaleInput};
use mas_domain::team::Permission;
use mas_domain::values::MinorUnits;
use mas_store::Once;
use mas_usecases::app::App;
use mas_usecases::cash_up::{self, DayClose};
use mas_usecases::receipts::ReceiptLink;
use mas_usecases::sales::{self as ops, Completed, SaleView};

/// A sale outside the member's locations is not found, as if it did not exist.
async fn view_within(app: &App, actor: &Actor, id: &SaleId) -> Result<SaleView, ApiError> {
    let view = ops::view(&app.store, &actor.tenant_id, id).await?;
    if !actor.reach().locations.admits(&view.sale.location_id) {
        return Err(AppError::NotFound { what: "sale" }.into());
    }
    Ok(view)
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CompleteQuery {
    /// `true`: price the sale and answer its quote (200), writing nothing; the tenders need not
    /// settle it yet.
    #[serde(default)]
    pub quote: bool,
}

/// Rings up a sale: its lines are priced (tax per line, banker's rounding), its tenders must
/// settle the total exactly (cash may exceed it only by the change), and it takes the clinic's
/// next invoice number in the same transaction. A discount needs an owner or a manager.
/// With `quote=true` nothing is written: the answer is the sale's figures as they stand (the
/// till shows them before it takes payment), with what is still due.
/// A `gift_card` tender spends part or all of a card (by its code) in the sale's transaction,
/// never beyond its balance however many tills spend it at once; a `gift_card` line sells one,
/// and the answer shows its code this once (`issued_gift_cards`). A `package` line sells the
/// client a package of sessions (priced from its template; `sold_packages`); a service line with
/// a `package_id` is covered by a session of it (nothing to pay, untaxed), the package's last
/// session used once however many tills redeem it at once. A `loyalty` tender spends the
/// client's points (worth the programme's value), never beyond her balance however many tills
/// spend them at once; a sale for a client earns points (`points_earned`) while the programme is on.
#[utoipa::path(post, path = "/v1/sales", tag = "sales", operation_id = "complete_sale", security(("staff_jwt" = [])), request_body = SaleInput,
    params(CompleteQuery,
        ("Idempotency-Key" = Option<String>, Header, description = "One key per attempt at ringing up a sale: a retry with the same key and body answers the sale recorded first (`Idempotent-Replayed: true`) and writes nothing; the same key with another body is 422 `idempotency_key_reused`")),
    responses((status = 201, body = Completed),
        (status = 200, description = "with `quote=true`: the priced lines and totals; nothing is written", body = Quote),
        (status = 403, description = "the role may not ring up sales, or give the discount asked for, or work at this location", body = ErrorEnvelope),
        (status = 409, description = "`concurrent_update`: the till was too busy to number it; try again; `day_closed`: the location's day is closed; `gift_card_insufficient` (with `balance_minor`), `gift_card_expired`, `gift_card_voided`; `package_used_up` (with `sessions_remaining`), `package_expired`, `package_voided`; `loyalty_insufficient` (with `balance`), `loyalty_off`", body = ErrorEnvelope),
        (status = 422, description = "`tenders_do_not_sum`, `discount_exceeds_line`, `discount_exceeds_sale`, `unknown_reference`, `card_payment_mismatch`, `intent_already_used`, `unknown_gift_card`, `gift_card_currency_mismatch`, `gift_card_amount`, `gift_card_taxed`, `package_client_required`, `unknown_package`, `package_other_client`, `package_not_covering`, `package_needs_service`, `loyalty_client_required`, `loyalty_below_minimum`, `loyalty_value_mismatch` (with `value_minor`), `loyalty_for_gift_card`, `one_loyalty_tender`…", body = ErrorEnvelope)))]
pub async fn complete(
    State(app): State<Arc<App>>,
    actor: Actor,
    headers: HeaderMap,
    query: Result<QueryArgs<CompleteQuery>, ApiError>,
    input: Result<JsonBody<SaleInput>, ApiError>,
) -> ApiResult<Response> {
    actor.require(Permission::SalesWrite)?;
    // The role first: a caller who may not do this learns nothing from the body's errors.
    let QueryArgs(query) = query?;
    let JsonBody(input) = input?;
    actor.reach().locations.require(&input.location_id)?;
    if query.quote {
        input.check_discount_allowed(actor.member.input.role)?;
        let mut input = input;
        sale::quote(&input)?;
        mas_usecases::packages::price_from_templates(&app.store, &actor.tenant_id, &mut input).await?;
        return Ok(Json(sale::quote(&input)?).into_response());
    }
    let idempotency = match idempotency::begin(&app.store, &actor.tenant_id, &headers, &input).await? {
        Begun::Replay(response) => return Ok(response),
        Begun::Fresh(idempotency) => idempotency,
    };
    let ports = mas_usecases::payments::Ports::of(&app);
    match ops::complete(ports, &actor.audit(), actor.member.input.role, input, idempotency.as_ref()).await {
        Ok(done) => Ok((StatusCode::CREATED, Json(done)).into_response()),
        Err(Once::AlreadyDone(_)) => {
            idempotency::replay_committed(&app.store, &actor.tenant_id, idempotency.as_ref()).await
        }
        Err(Once::Failed(err)) => Err(err.into()),
    }
}

/// A sale as it was recorded, with its voids and refunds and where it stands.
#[utoipa::path(get, path = "/v1/sales/{id}", tag = "sales", operation_id = "get_sale", security(("staff_jwt" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = SaleView), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn get(State(app): State<Arc<App>>, actor: Actor, path: PathParams) -> ApiResult<Json<SaleView>> {
    actor.require(Permission::PaymentsRead)?;
    let id: SaleId = path.id("id", "sale")?;
    Ok(Json(view_within(&app, &actor, &id).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// The local day at the location (YYYY-MM-DD).
    #[param(value_type = String, format = Date)]
    pub day: NaiveDate,
    pub location_id: LocationId,
}

/// A location's sales of one local day, by invoice number (as recorded; read one for its
/// corrections).
#[utoipa::path(get, path = "/v1/sales", tag = "sales", operation_id = "list_sales", security(("staff_jwt" = [])), params(ListQuery),
    responses((status = 200, body = Vec<Sale>), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn list(
    State(app): State<Arc<App>>,
    actor: Actor,
    QueryArgs(query): QueryArgs<ListQuery>,
) -> ApiResult<Json<Vec<Sale>>> {
    actor.require(Permission::PaymentsRead)?;
    actor.reach().locations.require(&query.location_id)?;
    Ok(Json(ops::list(&app.store, &actor.tenant_id, &query.location_id, query.day).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoidInput {
    /// Why (kept on the correction and the audit log).
    pub reason: Reason,
}

/// Voids a sale on the day it was made (at its location): every tender's money goes back the
/// way it came (gateway cards through the gateway). The sale stays as recorded; the void is a
/// correction beside it.
#[utoipa::path(post, path = "/v1/sales/{id}/void", tag = "sales", operation_id = "void_sale", security(("staff_jwt" = [])),
    params(("id" = String, Path)), request_body = VoidInput,
    responses((status = 201, body = SaleView), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, description = "`void_day_passed`, `sale_already_corrected`, `concurrent_update`, `day_closed`, `gift_card_spent`, `package_used`: a package it sold was used", body = ErrorEnvelope),
        (status = 422, description = "`payment_refused`, `payment_declined`: the gateway refused the card refund", body = ErrorEnvelope)))]
pub async fn void(
    State(app): State<Arc<App>>,
    actor: Actor,
    path: PathParams,
    input: Result<JsonBody<VoidInput>, ApiError>,
) -> ApiResult<(StatusCode, Json<SaleView>)> {
    actor.require(Permission::SalesVoid)?;
    let JsonBody(input) = input?;
    let id: SaleId = path.id("id", "sale")?;
    view_within(&app, &actor, &id).await?;
    Ok((
        StatusCode::CREATED,
        Json(ops::void(mas_usecases::payments::Ports::of(&app), &actor.audit(), &id, input.reason).await?),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SaleRefundInput)]
pub struct RefundInput {
    /// Cash from the till, back to the sale's gateway card payments or gift cards, or (`package`)
    /// the package sessions that covered its lines back onto their packages, or (`loyalty`) the
    /// points that paid back onto the client's account.
    pub to: RefundTo,
    /// Minor units; all that may still go back that way when absent.
    #[serde(default)]
    pub amount_minor: Option<MinorUnits>,
    /// Why (kept on the correction and the audit log).
    pub reason: Reason,
    /// The client brought the goods back: every catalog product the sale took goes back on the
    /// location's shelf with this refund (once per sale; a void always puts them back).
    #[serde(default)]
    pub goods_returned: bool,
}

/// Gives back part or all of what a sale took: never more than it took less what went back.
#[utoipa::path(post, path = "/v1/sales/{id}/refund", tag = "sales", operation_id = "refund_sale", security(("staff_jwt" = [])),
    params(("id" = String, Path)), request_body = RefundInput,
    responses((status = 201, body = SaleView), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, description = "`sale_voided`, `concurrent_update`, `day_closed`", body = ErrorEnvelope),
        (status = 422, description = "`refund_exceeds_paid`, `nothing_to_refund`, `no_card_payment`, `payment_refused`, `no_package_session`, `amount_not_for_sessions`, `no_loyalty_payment`", body = ErrorEnvelope)))]
pub async fn refund(
    State(app): State<Arc<App>>,
    actor: Actor,
    path: PathParams,
    input: Result<JsonBody<RefundInput>, ApiError>,
) -> ApiResult<(StatusCode, Json<SaleView>)> {
    actor.require(Permission::PaymentsWrite)?;
    let JsonBody(input) = input?;
    let id: SaleId = path.id("id", "sale")?;
    view_within(&app, &actor, &id).await?;
    let view = ops::refund(
        mas_usecases::payments::Ports::of(&app),
        &actor.audit(),
        &id,
        input.to,
        input.amount_minor,
        (input.reason, input.goods_returned),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// The sale's receipt and the credit notes of its voids and refunds (each a PDF rendered a
/// moment after the sale or correction, stamped and kept seven years), with short-lived links
/// (5 minutes). Empty while the first is still being rendered. Each call is in the audit log
/// (`sale.receipts_opened`).
#[utoipa::path(get, path = "/v1/sales/{id}/receipts", tag = "sales", operation_id = "list_sale_receipts", security(("staff_jwt" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Vec<ReceiptLink>), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn receipts(
    State(app): State<Arc<App>>,
    actor: Actor,
    path: PathParams,
) -> ApiResult<Json<Vec<ReceiptLink>>> {
    actor.require(Permission::PaymentsRead)?;
    let id: SaleId = path.id("id", "sale")?;
    view_within(&app, &actor, &id).await?;
    let issued = mas_usecases::receipts::of_sale(&app.store, &actor.tenant_id, &id).await?;
    let links = mas_usecases::receipts::links(
        &app.store,
        app.blobs.as_ref(),
        issued,
        mas_usecases::documents::PDF_LINK_LIFETIME,
    )
    .await?;
    mas_usecases::audit::record_read(&app.store, &actor.audit(), "sale.receipts_opened", id.as_str()).await?;
    Ok(Json(links))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DayQuery {
    pub location_id: LocationId,
    /// The location's local day (YYYY-MM-DD).
    #[param(value_type = String, format = Date)]
    pub date: NaiveDate,
}

/// A location's day at the till (its Z report): the sales, takings per tender method, voids and
/// refunds made that day, tips per practitioner, the cash the drawer should hold; and its
/// cash-up once closed.
#[utoipa::path(get, path = "/v1/sales/close", tag = "sales", operation_id = "get_day_close", security(("staff_jwt" = [])),
    params(DayQuery),
    responses((status = 200, body = DayClose), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn day_close(
    State(app): State<Arc<App>>,
    actor: Actor,
    query: Result<QueryArgs<DayQuery>, ApiError>,
) -> ApiResult<Json<DayClose>> {
    actor.require(Permission::PaymentsRead)?;
    let QueryArgs(query) = query?;
    actor.reach().locations.require(&query.location_id)?;
    Ok(Json(cash_up::day(&app.store, &actor.tenant_id, &query.location_id, query.date).await?))
}

/// Closes a location's day: the cash counted (by denomination or in total, with the float)
/// against what the day says the drawer should hold, the difference, who and a note. Once per
/// location and day: a second close is 409 `day_closed`, and so is any sale, void or refund on
/// a closed day, until an owner reopens it. A sale landing while the close is worked out is
/// either in its figures or refused.
#[utoipa::path(post, path = "/v1/sales/close", tag = "sales", operation_id = "close_day", security(("staff_jwt" = [])),
    request_body = CloseInput,
    responses((status = 201, body = CashUp), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, description = "`day_closed`: the day is closed already; `concurrent_update`: sales kept landing while it was being closed", body = ErrorEnvelope),
        (status = 422, description = "`count_required`, `too_many`, `out_of_range`, `day_not_started`…", body = ErrorEnvelope)))]
pub async fn close(
    State(app): State<Arc<App>>,
    actor: Actor,
    input: Result<JsonBody<CloseInput>, ApiError>,
) -> ApiResult<(StatusCode, Json<CashUp>)> {
    actor.require(Permission::SalesWrite)?;
    let JsonBody(input) = input?;
    actor.reach().locations.require(&input.location_id)?;
    Ok((StatusCode::CREATED, Json(cash_up::close(&app.store, &actor.audit(), input).await?)))
}

/// Reopens a closed day (owners): its cash-up is deleted (the audit record `till.reopened`
/// keeps what it said), and sales, voids and refunds may be recorded on it again. A day that is
/// not closed is 404.
#[utoipa::path(delete, path = "/v1/sales/close", tag = "sales", operation_id = "reopen_day", security(("staff_jwt" = [])),
    params(DayQuery),
    responses((status = 204, description = "reopened"), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn reopen(
    State(app): State<Arc<App>>,
    actor: Actor,
    query: Result<QueryArgs<DayQuery>, ApiError>,
) -> ApiResult<StatusCode> {
    actor.require(Permission::TillReopen)?;
    let QueryArgs(query) = query?;
    actor.reach().locations.require(&query.location_id)?;
    cash_up::reopen(&app.store, &actor.audit(), &query.location_id, query.date).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The day as CSV (RFC 4180, a header row; money in major units with its currency): a row per
/// tender of each sale and per return of each void or refund, then the totals per method, the
/// tips per practitioner, the expected cash and the cash-up. Typed text that a spreadsheet
/// would run as a formula starts with `'`.
#[utoipa::path(get, path = "/v1/sales/close.csv", tag = "sales", operation_id = "export_day_close", security(("staff_jwt" = [])),
    params(DayQuery),
    responses((status = 200, content_type = "text/csv", body = String), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn close_csv(
    State(app): State<Arc<App>>,
    actor: Actor,
    query: Result<QueryArgs<DayQuery>, ApiError>,
) -> ApiResult<Response> {
    actor.require(Permission::PaymentsRead)?;
    let QueryArgs(query) = query?;
    actor.reach().locations.require(&query.location_id)?;
    let text = cash_up::csv(&app.store, &actor.tenant_id, &query.location_id, query.date).await?;
    let disposition = format!("attachment; filename=\"till-{}-{}.csv\"", query.location_id, query.date);
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, disposition)],
        text,
    )
        .into_response())
}
