//! Card payments at the desk: the clinic's card readers (owners and managers register and
//! remove them; the till lists them) and the payments the till takes on a reader or on a
//! client's saved card, then names in the sale's `card` tender. The role is checked before the
//! body is read (403 before 422).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ApiResult, ErrorEnvelope};
use super::extract::{Actor, JsonBody, PathParams};
use super::idempotency::{self, Begun};
use mas_domain::error::AppError;
use mas_domain::ids::{AppointmentId, ClientId, DeskPaymentId, LocationId};
use mas_domain::payment::ReaderId;
use mas_domain::team::Permission;
use mas_domain::terminal::{CardReader, DeskPayment, ReaderLabel, RegistrationCode};
use mas_domain::values::{Currency, MinorUnits, Money};
use mas_store::Once;
use mas_usecases::app::App;
use mas_usecases::desk as ops;
use mas_usecases::payments::Ports;

/// The clinic's card readers at the member's locations, by label.
#[utoipa::path(get, path = "/v1/card-readers", tag = "desk", operation_id = "list_card_readers", security(("staff_jwt" = [])),
    responses((status = 200, body = Vec<CardReader>), (status = 403, body = ErrorEnvelope)))]
pub async fn list_readers(State(app): State<Arc<App>>, actor: Actor) -> ApiResult<Json<Vec<CardReader>>> {
    actor.require(Permission::SalesWrite)?;
    let reach = actor.reach();
    let readers = ops::list_readers(&app.store, &actor.tenant_id).await?;
    Ok(Json(readers.into_iter().filter(|r| reach.locations.admits(&r.location_id)).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReaderInput {
    /// The clinic location the reader is at.
    pub location_id: LocationId,
    /// The code the reader shows when it is set up (`simulated-wpe` for a simulated reader).
    pub registration_code: RegistrationCode,
    /// What the staff call it ("Front desk").
    pub label: ReaderLabel,
}

/// Registers a card reader at one of the clinic's locations, with the code it shows (owners and
/// managers). The gateway's place for the location's readers is made the first time.
#[utoipa::path(post, path = "/v1/card-readers", tag = "desk", operation_id = "register_card_reader", security(("staff_jwt" = [])),
    request_body = ReaderInput,
    responses((status = 201, body = CardReader),
        (status = 403, description = "owners and managers register readers, at their own locations", body = ErrorEnvelope),
        (status = 409, description = "`reader_taken`: the reader is registered already", body = ErrorEnvelope),
        (status = 422, description = "`invalid_registration_code`, `unknown_reference`, `payment_refused`…", body = ErrorEnvelope)))]
pub async fn register_reader(
    State(app): State<Arc<App>>,
    actor: Actor,
    input: Result<JsonBody<ReaderInput>, ApiError>,
) -> ApiResult<(StatusCode, Json<CardReader>)> {
    actor.require(Permission::CatalogWrite)?;
    let JsonBody(input) = input?;
    actor.reach().locations.require(&input.location_id)?;
    let new = ops::NewReader {
        location_id: input.location_id,
        registration_code: input.registration_code,
        label: input.label,
    };
    Ok((StatusCode::CREATED, Json(ops::register_reader(Ports::of(&app), &actor.audit(), new).await?)))
}

/// Removes a card reader (owners and managers): deleted at the gateway, then here.
#[utoipa::path(delete, path = "/v1/card-readers/{id}", tag = "desk", operation_id = "remove_card_reader", security(("staff_jwt" = [])),
    params(("id" = String, Path)),
    responses((status = 204, description = "removed"), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, description = "`reader_busy`: a payment waits on it (cancel it first); `concurrent_update`", body = ErrorEnvelope)))]
pub async fn remove_reader(State(app): State<Arc<App>>, actor: Actor, path: PathParams) -> ApiResult<StatusCode> {
    actor.require(Permission::CatalogWrite)?;
    let id: ReaderId = path.id("id", "card reader")?;
    let reader = ops::reader(&app.store, &actor.tenant_id, &id).await?;
    if !actor.reach().locations.admits(&reader.location_id) {
        return Err(AppError::NotFound { what: "card reader" }.into());
    }
    ops::remove_reader(Ports::of(&app), &actor.audit(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// How the till takes a card payment.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum DeskPaymentInput {
    /// On a card reader at the sale's location: answered `pending` while the reader asks for the
    /// card; poll the payment for its outcome.
    Reader {
        reader_id: ReaderId,
        location_id: LocationId,
        amount_minor: MinorUnits,
        #[serde(default)]
        currency: Currency,
        #[serde(default)]
        client_id: Option<ClientId>,
    },
    /// On the card kept on file with a booking whose client agreed to it, off-session, now.
    SavedCard {
        appointment_id: AppointmentId,
        location_id: LocationId,
        amount_minor: MinorUnits,
        #[serde(default)]
        currency: Currency,
    },
}

/// Takes a card payment at the desk, on a reader (`pending`, settled by the gateway's webhook)
/// or on the client's saved card (`succeeded` at once). A succeeded payment's `intent_id` is
/// what the sale's `card` tender names, for exactly its amount, once.
#[utoipa::path(post, path = "/v1/desk-payments", tag = "desk", operation_id = "start_desk_payment", security(("staff_jwt" = [])),
    request_body = DeskPaymentInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "For `saved_card`: one key per attempt at charging the card; a retry with the same key and body answers the first charge (`Idempotent-Replayed: true`) and never charges again; the same key with another body is 422 `idempotency_key_reused`. (A reader payment cannot be taken twice: its reader is busy until it ends.)")),
    responses((status = 201, body = DeskPayment),
        (status = 403, description = "the role may not take payments at the till, or not at this location", body = ErrorEnvelope),
        (status = 409, description = "`reader_busy`: the reader is taking another payment; `reader_offline`; `payments_not_connected`", body = ErrorEnvelope),
        (status = 422, description = "`unknown_reader`, `reader_location_mismatch`, `no_card_on_file_consent`, `no_saved_card`, `card_declined`, `authentication_required`, `payment_refused`…", body = ErrorEnvelope)))]
pub async fn start(
    State(app): State<Arc<App>>,
    actor: Actor,
    headers: HeaderMap,
    input: Result<JsonBody<DeskPaymentInput>, ApiError>,
) -> ApiResult<Response> {
    actor.require(Permission::SalesWrite)?;
    let JsonBody(input) = input?;
    let (ports, audit) = (Ports::of(&app), actor.audit());
    let asked = input.clone();
    let payment = match input {
        DeskPaymentInput::Reader { reader_id, location_id, amount_minor, currency, client_id } => {
            actor.reach().locations.require(&location_id)?;
            let amount = Money { amount_minor, currency };
            ops::start_on_reader(ports, &audit, ops::OnReader { reader_id, location_id, amount, client_id }).await?
        }
        DeskPaymentInput::SavedCard { appointment_id, location_id, amount_minor, currency } => {
            actor.reach().locations.require(&location_id)?;
            let idempotency = match idempotency::begin(&app.store, &actor.tenant_id, &headers, &asked).await? {
                Begun::Replay(response) => return Ok(response),
                Begun::Fresh(idempotency) => idempotency,
            };
            let amount = Money { amount_minor, currency };
            let input = ops::OnSavedCard { appointment_id, location_id, amount };
            match ops::charge_saved_card(ports, &audit, input, idempotency.as_ref()).await {
                Ok(payment) => payment,
                Err(Once::AlreadyDone(_)) => {
                    return idempotency::replay_committed(&app.store, &actor.tenant_id, idempotency.as_ref()).await;
                }
                Err(Once::Failed(err)) => return Err(err.into()),
            }
        }
    };
    Ok((StatusCode::CREATED, Json(payment)).into_response())
}

async fn within(app: &App, actor: &Actor, id: &DeskPaymentId) -> Result<DeskPayment, ApiError> {
    let payment = ops::get(&app.store, &actor.tenant_id, id).await?;
    if !actor.reach().locations.admits(&payment.location_id) {
        return Err(AppError::NotFound { what: "desk payment" }.into());
    }
    Ok(payment)
}

/// A desk payment as it stands (the till polls it while the reader asks for the card).
#[utoipa::path(get, path = "/v1/desk-payments/{id}", tag = "desk", operation_id = "get_desk_payment", security(("staff_jwt" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = DeskPayment), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn get(State(app): State<Arc<App>>, actor: Actor, path: PathParams) -> ApiResult<Json<DeskPayment>> {
    actor.require(Permission::SalesWrite)?;
    let id: DeskPaymentId = path.id("id", "desk payment")?;
    Ok(Json(within(&app, &actor, &id).await?))
}

/// Cancels a payment waiting on a reader: the reader stops asking for the card. One that is
/// over is answered as it is; one that was paid is 409 `already_paid`.
#[utoipa::path(post, path = "/v1/desk-payments/{id}/cancel", tag = "desk", operation_id = "cancel_desk_payment", security(("staff_jwt" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = DeskPayment), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, description = "`already_paid`: the card paid first (use it as a tender)", body = ErrorEnvelope)))]
pub async fn cancel(State(app): State<Arc<App>>, actor: Actor, path: PathParams) -> ApiResult<Json<DeskPayment>> {
    actor.require(Permission::SalesWrite)?;
    let id: DeskPaymentId = path.id("id", "desk payment")?;
    within(&app, &actor, &id).await?;
    Ok(Json(ops::cancel(Ports::of(&app), &actor.audit(), &id).await?))
}
