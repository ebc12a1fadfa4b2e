//! Card payments at the desk: the clinic's card readers (Stripe Terminal) and the payments taken
//! on them or on a client's saved card. Each succeeded desk payment's intent is what the till's
//! `card` tender names (`sales::complete` checks it with the gateway: this clinic's, succeeded,
//! exactly the amount, one sale only).
//!
//! - **Readers** ([`register_reader`], [`remove_reader`]; owners and managers): registered at
//!   the gateway with the code the reader shows, under a Terminal Location made once per clinic
//!   location (`TERMLOC#{location}`), stored with `STRIPE#TMR#{reader}` → the tenant, both
//!   only if absent, in one transaction with the audit record.
//! - **On a reader** ([`start_on_reader`]): a `card_present` intent for the amount (a
//!   destination charge to the clinic's connected account less the platform's fee, as every
//!   charge), recorded `pending` with `STRIPE#PI#{pi}`/`DESK` → the payment, and the reader
//!   claimed by a write conditional on its version (two payments started at once on one reader:
//!   one is 409 `reader_busy`); then handed to the reader. Its outcome comes with the signed
//!   webhook ([`observe`]: the intent re-read from the gateway; the status only moves forward,
//!   so duplicates and any order end the same).
//! - **Saved card** ([`charge_saved_card`]): the card kept on file with a booking whose client
//!   agreed to it (`card_on_file_consent`, as `fees` charges it), off-session: succeeded (201),
//!   or 422 `card_declined` / `authentication_required`, nothing stored.
//! - **Cancel** ([`cancel`]): the reader's action and the intent are cancelled at the gateway,
//!   and what the gateway then says of the intent is taken in (a card that paid first wins: 409
//!   `already_paid`).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::json;

use crate::payments::{self, Ports};
use crate::{connect, records};
use mas_catalog::catalog;
use mas_domain::catalog::LocationInput;
use mas_domain::error::{AppError, AppResult, Rejection};
use mas_domain::ids::{AppointmentId, ClientId, DeskPaymentId, LocationId, TenantId};
use mas_domain::payment::{IntentStatus, ReaderId, TerminalLocationId};
use mas_domain::terminal::{
    CardReader, DeskMethod, DeskPayment, DeskPaymentStatus, ReaderLabel, RegistrationCode, reader_free,
};
use mas_domain::values::Money;
use mas_ports::events::DomainEvent;
use mas_ports::payments::{Intent, IntentRequest, READER_BUSY, READER_OFFLINE, ReaderRequest, TerminalLocationRequest};
use mas_ports::{Condition, PaymentsError, Query, SortKey, Write};
use mas_store::idempotency::Idempotency;
use mas_store::{AuditContext, Once, Plan, Store, from_item, keys, retry, to_item};

/// The refusals of card payments at the desk, typed; each becomes its code and status in one
/// place (`From<DeskError> for AppError`).
#[derive(Debug, Clone, thiserror::Error)]
pub enum DeskError {
    /// 422 `unknown_reference` (field `location_id`).
    #[error("no such location at this clinic")]
    UnknownLocation,
    /// 422 `unknown_reference` (field `appointment_id`).
    #[error("no such appointment at this clinic")]
    UnknownAppointment,
    /// 422 `unknown_reader` (field `reader_id`).
    #[error("no such card reader at this clinic")]
    UnknownReader,
    /// 422 `reader_location_mismatch` (field `reader_id`).
    #[error("this reader is at another location: choose one at the sale's location")]
    ReaderAtAnotherLocation,
    /// 422 `invalid_registration_code`, with the gateway's reason.
    #[error("the gateway did not accept this registration code: check the code the reader shows")]
    RegistrationCodeRefused { reason: String },
    /// 409 `reader_taken`.
    #[error("this reader is registered already")]
    ReaderTaken,
    /// 409 `reader_busy`.
    #[error("this reader is taking another payment: wait for it, or cancel it")]
    ReaderBusy,
    /// 409 `reader_offline`.
    #[error("the reader cannot be reached: check it is on and online, then try again")]
    ReaderOffline,
    /// 422 `no_card_on_file_consent` (field `appointment_id`).
    #[error("the client did not agree at booking to keep a card on file: take the card on a reader")]
    NoCardOnFileConsent,
    /// 422 `no_saved_card` (field `appointment_id`).
    #[error("no card was kept on file with this booking: take the card on a reader")]
    NoSavedCard,
    /// 409 `already_paid`.
    #[error("the card paid before the payment was cancelled: add it to the sale as a card tender")]
    AlreadyPaid,
    /// 409 `idempotency_replay`.
    #[error("this card was charged already")]
    Replayed,
    /// 409 `terminal_location_exists`: a concurrent request stored the place first.
    #[error("stored by a concurrent request")]
    PlaceStoredMeanwhile,
}

impl From<DeskError> for AppError {
    fn from(err: DeskError) -> Self {
        use DeskError as E;
        let message = err.to_string();
        match err {
            E::UnknownLocation => AppError::invalid("unknown_reference", "location_id", message),
            E::UnknownAppointment => AppError::invalid("unknown_reference", "appointment_id", message),
            E::UnknownReader => AppError::invalid("unknown_reader", "reader_id", message),
            E::ReaderAtAnotherLocation => AppError::invalid("reader_location_mismatch", "reader_id", message),
            E::RegistrationCodeRefused { reason } => AppError::Rejected {
                kind: Rejection::Invalid,
                code: "invalid_registration_code",
                message,
                details: json!({ "reason": reason }),
            },
            E::ReaderTaken => AppError::conflict("reader_taken", message),
            E::ReaderBusy => AppError::conflict("reader_busy", message),
            E::ReaderOffline => AppError::conflict("reader_offline", message),
            E::NoCardOnFileConsent => AppError::invalid("no_card_on_file_consent", "appointment_id", message),
            E::NoSavedCard => AppError::invalid("no_saved_card", "appointment_id", message),
            E::AlreadyPaid => AppError::conflict("already_paid", message),
            E::Replayed => AppError::conflict("idempotency_replay", message),
            E::PlaceStoredMeanwhile => AppError::conflict("terminal_location_exists", message),
        }
    }
}

impl From<DeskError> for Once {
    fn from(err: DeskError) -> Self {
        Once::Failed(err.into())
    }
}

/// Why a reader did not take a payment, as recorded on it (`failure_code`).
#[derive(Debug, Clone, Copy)]
enum ReaderRefusal {
    Busy,
    Offline,
    Other,
}

impl ReaderRefusal {
    fn of(err: &PaymentsError) -> Self {
        match err {
            PaymentsError::Refused(why) if why.starts_with(READER_BUSY) => ReaderRefusal::Busy,
            PaymentsError::Refused(why) if why.starts_with(READER_OFFLINE) => ReaderRefusal::Offline,
            _ => ReaderRefusal::Other,
        }
    }

    fn code(self) -> &'static str {
        match self {
            ReaderRefusal::Busy => "reader_busy",
            ReaderRefusal::Offline => "reader_offline",
            ReaderRefusal::Other => "reader_refused",
        }
    }
}

/// What `STRIPE#PI#{pi}`/`DESK` holds: whose desk payment the intent is.
#[derive(Debug, Clone, serde::Serialize, Deserialize)]
pub struct DeskRef {
    pub tenant_id: TenantId,
    pub desk_payment_id: DeskPaymentId,
}

/// What `STRIPE#TMR#{reader}` holds.
#[derive(Debug, Clone, serde::Serialize, Deserialize)]
struct ReaderRef {
    tenant_id: TenantId,
}

#[derive(Debug, Clone, serde::Serialize, Deserialize)]
struct StoredPlace {
    terminal_location: TerminalLocationId,
}

/// A reader to register.
#[derive(Debug, Clone)]
pub struct NewReader {
    pub location_id: LocationId,
    pub registration_code: RegistrationCode,
    pub label: ReaderLabel,
}

/// The clinic's readers, by label.
pub async fn list_readers(store: &Store, t: &TenantId) -> AppResult<Vec<CardReader>> {
    let query = Query::partition(keys::tenant_pk(t)).sk(SortKey::BeginsWith(keys::READER_PREFIX.into()));
    let mut readers: Vec<CardReader> =
        store.table.query_all(&query).await?.into_iter().map(from_item).collect::<AppResult<_>>()?;
    readers.sort_by(|a, b| (a.label.as_str(), &a.id).cmp(&(b.label.as_str(), &b.id)));
    Ok(readers)
}

/// A reader of this clinic (404 for any other id, another clinic's included).
pub async fn reader(store: &Store, t: &TenantId, id: &ReaderId) -> AppResult<CardReader> {
    store.get(&keys::card_reader(t, id)).await?.ok_or(AppError::NotFound { what: "card reader" })
}

async fn location(store: &Store, t: &TenantId, id: &LocationId) -> AppResult<LocationInput> {
    match catalog::get::<LocationInput>(store, t, id).await {
        Ok(record) if !record.archived => Ok(record.data),
        Ok(_) | Err(AppError::NotFound { .. }) => Err(DeskError::UnknownLocation.into()),
        Err(other) => Err(other),
    }
}

/// The gateway's place for a location's readers, made once (the key makes a concurrent first
/// request get the same one).
async fn terminal_location(
    ports: Ports<'_>,
    audit: &AuditContext,
    id: &LocationId,
    place: &LocationInput,
) -> AppResult<TerminalLocationId> {
    let (store, t) = (ports.store, &audit.tenant_id);
    let key = keys::terminal_location(t, id);
    if let Some(stored) = store.get::<StoredPlace>(&key).await? {
        return Ok(stored.terminal_location);
    }
    let address = &place.address;
    let made = ports
        .payments
        .create_terminal_location(TerminalLocationRequest {
            idempotency_key: format!("termloc-{t}-{id}"),
            display_name: place.name.as_str().to_owned(),
            line1: address.line1.as_str().to_owned(),
            line2: address.line2.as_ref().map(|l| l.as_str().to_owned()),
            city: address.city.as_str().to_owned(),
            postal_code: address.postcode.as_str().to_owned(),
            country: address.country.as_str().to_owned(),
            metadata: BTreeMap::from([
                ("tenant_id".to_owned(), t.to_string()),
                ("location_id".to_owned(), id.to_string()),
            ]),
        })
        .await?;
    let mut plan = Plan::<Once>::typed();
    plan.push(
        Write::put_new(to_item(&key, "terminal_location", &StoredPlace { terminal_location: made.clone() })?),
        Once::AlreadyDone(DeskError::PlaceStoredMeanwhile.into()),
    );
    match plan.commit_as(store, audit, "card_reader.location_created", id.as_str()).await {
        Ok(()) | Err(Once::AlreadyDone(_)) => Ok(made),
        Err(Once::Failed(other)) => Err(other),
    }
}

/// Registers the reader showing `input.registration_code` at one of the clinic's locations.
pub async fn register_reader(ports: Ports<'_>, audit: &AuditContext, input: NewReader) -> AppResult<CardReader> {
    let (store, t) = (ports.store, &audit.tenant_id);
    let place = location(store, t, &input.location_id).await?;
    let terminal_location = terminal_location(ports, audit, &input.location_id, &place).await?;
    let registered = ports
        .payments
        .register_reader(ReaderRequest {
            registration_code: input.registration_code.as_str().to_owned(),
            label: input.label.as_str().to_owned(),
            location: terminal_location.clone(),
            metadata: BTreeMap::from([
                ("tenant_id".to_owned(), t.to_string()),
                ("location_id".to_owned(), input.location_id.to_string()),
            ]),
        })
        .await
        .map_err(|err| match err {
            PaymentsError::Refused(why) | PaymentsError::Declined(why) => {
                AppError::from(DeskError::RegistrationCodeRefused { reason: why })
            }
            other => other.into(),
        })?;
    let now = store.clock.now();
    let reader = CardReader {
        id: registered.id.clone(),
        location_id: input.location_id,
        label: input.label,
        terminal_location,
        device_type: registered.device_type,
        active_payment: None,
        version: 1,
        created_at: now,
        created_by: audit.actor.clone(),
    };
    let taken = || AppError::from(DeskError::ReaderTaken);
    let mut plan = Plan::new();
    plan.push(Write::put_new(to_item(&keys::card_reader(t, &reader.id), "card_reader", &reader)?), taken());
    plan.push(
        Write::put_new(to_item(&keys::stripe_reader(&reader.id), "reader_ref", &ReaderRef { tenant_id: t.clone() })?),
        taken(),
    );
    plan.commit(store, audit, "card_reader.registered", reader.id.as_str()).await?;
    Ok(reader)
}

/// Removes a reader: deleted at the gateway (gone already is fine), then here. A reader with a
/// payment waiting for a card is 409 `reader_busy` (cancel it first).
pub async fn remove_reader(ports: Ports<'_>, audit: &AuditContext, id: &ReaderId) -> AppResult<()> {
    let (store, t) = (ports.store, &audit.tenant_id);
    let current = reader(store, t, id).await?;
    if !reader_free(active_payment(store, t, &current).await?.as_ref()) {
        return Err(busy());
    }
    match ports.payments.delete_reader(id).await {
        Ok(()) | Err(PaymentsError::NotFound) => {}
        Err(other) => return Err(other.into()),
    }
    let mut plan = Plan::new();
    plan.push(
        Write::delete_if(keys::card_reader(t, id), Condition::equals("version", current.version)),
        AppError::contention("the reader changed while it was being removed; try again"),
    );
    plan.push(Write::delete(keys::stripe_reader(id)), AppError::Internal("a reader reference".into()));
    plan.commit(store, audit, "card_reader.removed", id.as_str()).await
}

fn busy() -> AppError {
    DeskError::ReaderBusy.into()
}

async fn active_payment(store: &Store, t: &TenantId, reader: &CardReader) -> AppResult<Option<DeskPayment>> {
    match &reader.active_payment {
        Some(id) => store.get(&keys::desk_payment(t, id)).await,
        None => Ok(None),
    }
}

/// A desk payment of this clinic (404 otherwise).
pub async fn get(store: &Store, t: &TenantId, id: &DeskPaymentId) -> AppResult<DeskPayment> {
    store.get(&keys::desk_payment(t, id)).await?.ok_or(AppError::NotFound { what: "desk payment" })
}

/// A card payment to take on a reader.
#[derive(Debug, Clone)]
pub struct OnReader {
    pub reader_id: ReaderId,
    pub location_id: LocationId,
    pub amount: Money,
    pub client_id: Option<ClientId>,
}

fn metadata(t: &TenantId, id: &DeskPaymentId, location: &LocationId, how: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("tenant_id".to_owned(), t.to_string()),
        ("desk_payment_id".to_owned(), id.to_string()),
        ("location_id".to_owned(), location.to_string()),
        ("kind".to_owned(), format!("desk_{how}")),
    ])
}

fn item(t: &TenantId, payment: &DeskPayment) -> AppResult<mas_ports::Item> {
    to_item(&keys::desk_payment(t, &payment.id), "desk_payment", payment)
}

/// Starts a card payment of `input.amount` on a reader at the sale's location: answered
/// `pending` once the reader asks for the card; its outcome follows by webhook.
pub async fn start_on_reader(ports: Ports<'_>, audit: &AuditContext, input: OnReader) -> AppResult<DeskPayment> {
    let (store, t) = (ports.store, &audit.tenant_id);
    let reader = match reader(store, t, &input.reader_id).await {
        Err(AppError::NotFound { .. }) => {
            return Err(DeskError::UnknownReader.into());
        }
        other => other?,
    };
    if reader.location_id != input.location_id {
        return Err(DeskError::ReaderAtAnotherLocation.into());
    }
    if !reader_free(active_payment(store, t, &reader).await?.as_ref()) {
        return Err(busy());
    }
    let destination = connect::destination(ports, t, input.amount.amount_minor).await?;
    let id = DeskPaymentId::new();
    let intent = ports
        .payments
        .create_present_intent(IntentRequest {
            amount: input.amount.amount_minor,
            currency: input.amount.currency.clone(),
            metadata: metadata(t, &id, &input.location_id, "reader"),
            idempotency_key: format!("{id}-intent"),
            customer: None,
            save_for_later: false,
            charge_saved_method: None,
            destination,
        })
        .await?;
    let now = store.clock.now();
    let payment = DeskPayment {
        id: id.clone(),
        location_id: input.location_id,
        method: DeskMethod::Reader { reader_id: reader.id.clone() },
        client_id: input.client_id,
        amount: input.amount,
        intent_id: intent.id.clone(),
        status: DeskPaymentStatus::Pending,
        failure_code: None,
        version: 1,
        created_at: now,
        updated_at: now,
        created_by: audit.actor.clone(),
    };
    let mut claimed = reader.clone();
    claimed.active_payment = Some(id.clone());
    claimed.version += 1;
    let mut plan = Plan::new();
    plan.push(Write::put_new(item(t, &payment)?), AppError::Internal("a desk payment id was taken twice".into()));
    let reference = DeskRef { tenant_id: t.clone(), desk_payment_id: id.clone() };
    plan.push(
        Write::put_new(to_item(&keys::stripe_intent_desk(intent.id.as_str()), "desk_ref", &reference)?),
        AppError::Internal("a desk intent was recorded twice".into()),
    );
    plan.push(
        Write::put_if(
            to_item(&keys::card_reader(t, &reader.id), "card_reader", &claimed)?,
            Condition::equals("version", reader.version),
        ),
        busy(),
    );
    if let Err(err) = plan.commit(store, audit, "desk_payment.started", id.as_str()).await {
        let _ = ports.payments.cancel_intent(&intent.id).await;
        return Err(err);
    }
    match ports.payments.process_payment_intent(&reader.id, &intent.id).await {
        Ok(_) => Ok(payment),
        Err(err) => {
            // The reader did not take it: the payment is cancelled, with why.
            let refusal = ReaderRefusal::of(&err);
            let _ = ports.payments.cancel_intent(&intent.id).await;
            let code = Some(refusal.code());
            let _ = settle(store, audit, &payment.id, IntentStatus::Canceled, None, code, &|_| Ok(())).await;
            Err(match refusal {
                ReaderRefusal::Busy => DeskError::ReaderBusy.into(),
                ReaderRefusal::Offline => DeskError::ReaderOffline.into(),
                ReaderRefusal::Other => err.into(),
            })
        }
    }
}

/// A charge of the card kept on file with a booking.
#[derive(Debug, Clone)]
pub struct OnSavedCard {
    pub appointment_id: AppointmentId,
    pub location_id: LocationId,
    pub amount: Money,
}

fn refused_card(code: &'static str, message: &str, reason: &str) -> AppError {
    AppError::Rejected {
        kind: Rejection::Invalid,
        code,
        message: message.to_owned(),
        details: json!({ "decline_code": reason }),
    }
}

/// A saved-card payment's id: derived from the request's `Idempotency-Key` when it has one, so a
/// retry after a lost answer asks the gateway under the same idempotency key (the same intent:
/// never a second charge) and meets the first request's records.
pub fn saved_card_payment_id(t: &TenantId, idempotency: Option<&Idempotency>) -> DeskPaymentId {
    let Some(idem) = idempotency else { return DeskPaymentId::new() };
    let digest = mas_domain::documents::Sha256Hex::of(format!("{t}\n{}", idem.key).as_bytes());
    let hex = &digest.as_str()[..32];
    DeskPaymentId::parse(&format!("{}k{hex}", DeskPaymentId::PREFIX)).expect("a derived desk payment id is valid")
}

/// Charges the card the client agreed at booking to keep on file, off-session, now: only with
/// that booking's recorded consent and a card kept with it (as fees are charged). With an
/// idempotency key the answer is stored with the charge; a request meeting one stored at the
/// same moment is `Once::AlreadyDone` (answer the stored one).
pub async fn charge_saved_card(
    ports: Ports<'_>,
    audit: &AuditContext,
    input: OnSavedCard,
    idempotency: Option<&Idempotency>,
) -> Result<DeskPayment, Once> {
    let (store, t) = (ports.store, &audit.tenant_id);
    location(store, t, &input.location_id).await?;
    let appointment = match records::appointment(store, t, &input.appointment_id).await {
        Err(AppError::NotFound { .. }) => {
            return Err(DeskError::UnknownAppointment.into());
        }
        other => other?,
    };
    if appointment.card_on_file_consent.is_none() {
        return Err(DeskError::NoCardOnFileConsent.into());
    }
    let saved = payments::for_appointment(store, t, &appointment.id)
        .await?
        .into_iter()
        .rev()
        .find_map(|p| Some((p.customer_id.clone()?, p.payment_method_id.clone()?)));
    let Some((customer, method)) = saved else {
        return Err(DeskError::NoSavedCard.into());
    };
    let destination = connect::destination(ports, t, input.amount.amount_minor).await?;
    let id = saved_card_payment_id(t, idempotency);
    let answer = ports
        .payments
        .create_intent(IntentRequest {
            amount: input.amount.amount_minor,
            currency: input.amount.currency.clone(),
            metadata: metadata(t, &id, &input.location_id, "saved_card"),
            idempotency_key: format!("{id}-intent"),
            customer: Some(customer),
            save_for_later: false,
            charge_saved_method: Some(method),
            destination,
        })
        .await;
    let needs_client = "the card on file needs the client to confirm the payment: take the card on a reader";
    let intent = match answer {
        Ok(intent) if intent.snapshot.status == IntentStatus::Succeeded => intent,
        Ok(intent) => {
            let _ = ports.payments.cancel_intent(&intent.id).await;
            return Err(refused_card("authentication_required", needs_client, intent.snapshot.status.as_str()).into());
        }
        Err(PaymentsError::Declined(code)) if code.contains("authentication_required") => {
            return Err(refused_card("authentication_required", needs_client, &code).into());
        }
        Err(PaymentsError::Declined(code)) => {
            return Err(refused_card("card_declined", "the card on file was declined", &code).into());
        }
        Err(other) => return Err(AppError::from(other).into()),
    };
    let now = store.clock.now();
    let payment = DeskPayment {
        id: id.clone(),
        location_id: input.location_id,
        method: DeskMethod::SavedCard { appointment_id: appointment.id.clone() },
        client_id: Some(appointment.client_id.clone()),
        amount: input.amount,
        intent_id: intent.id.clone(),
        status: DeskPaymentStatus::Succeeded,
        failure_code: None,
        version: 1,
        created_at: now,
        updated_at: now,
        created_by: audit.actor.clone(),
    };
    let mut plan = Plan::<Once>::typed();
    let replayed = || Once::AlreadyDone(DeskError::Replayed.into());
    // First, so that a retry with the same key meets the first request's answer.
    if let Some(idem) = idempotency {
        idem.record(&mut plan, (t, payment.client_id.as_ref()), (201, &payment), now, replayed())?;
    }
    let taken = if idempotency.is_some() {
        replayed()
    } else {
        AppError::Internal("a desk payment id was taken twice".into()).into()
    };
    plan.push(Write::put_new(item(t, &payment)?), taken);
    let reference = DeskRef { tenant_id: t.clone(), desk_payment_id: id.clone() };
    plan.push(
        Write::put_new(to_item(&keys::stripe_intent_desk(intent.id.as_str()), "desk_ref", &reference)?),
        replayed(),
    );
    plan.announce(event(t, &payment, now))?;
    plan.commit_as(store, audit, "desk_payment.saved_card_charged", id.as_str()).await?;
    Ok(payment)
}

/// Cancels a payment waiting on a reader: the reader stops asking for the card and the intent
/// is cancelled at the gateway; what the gateway then says is taken in. A payment that is over
/// is answered as it is, but one that was paid is 409 `already_paid` (use it, or refund it).
pub async fn cancel(ports: Ports<'_>, audit: &AuditContext, id: &DeskPaymentId) -> AppResult<DeskPayment> {
    let (store, t) = (ports.store, &audit.tenant_id);
    let current = get(store, t, id).await?;
    let paid = || AppError::from(DeskError::AlreadyPaid);
    if current.status == DeskPaymentStatus::Succeeded {
        return Err(paid());
    }
    if current.status.is_final() {
        return Ok(current);
    }
    if let DeskMethod::Reader { reader_id } = &current.method {
        match ports.payments.cancel_reader_action(reader_id).await {
            Ok(_) | Err(PaymentsError::NotFound | PaymentsError::Refused(_)) => {}
            Err(other) => return Err(other.into()),
        }
    }
    match ports.payments.cancel_intent(&current.intent_id).await {
        Ok(_) | Err(PaymentsError::Refused(_)) => {}
        Err(other) => return Err(other.into()),
    }
    let intent = ports.payments.retrieve_intent(&current.intent_id).await?;
    let error = intent.snapshot.last_error.as_deref();
    let after = settle(store, audit, id, intent.snapshot.status, error, None, &|_| Ok(())).await?;
    if after.status == DeskPaymentStatus::Succeeded {
        return Err(paid());
    }
    Ok(after)
}

/// The desk payment an intent is, if it is one.
pub async fn of_intent(store: &Store, intent: &str) -> AppResult<Option<DeskRef>> {
    store.get(&keys::stripe_intent_desk(intent)).await
}

/// The webhook's side: what the gateway says of the desk payment's intent now (and the reader's
/// failure code, from a `terminal.reader.action_failed`) is taken in, with `also`'s writes (the
/// event's record) in the same transaction as a change.
pub async fn observe(
    store: &Store,
    audit: &AuditContext,
    reference: &DeskRef,
    intent: &Intent,
    reader_failure: Option<&str>,
    also: &(dyn Fn(&mut Plan) -> AppResult<()> + Sync),
) -> AppResult<DeskPayment> {
    let error = intent.snapshot.last_error.as_deref();
    settle(store, audit, &reference.desk_payment_id, intent.snapshot.status, error, reader_failure, also).await
}

async fn settle(
    store: &Store,
    audit: &AuditContext,
    id: &DeskPaymentId,
    status: IntentStatus,
    last_error: Option<&str>,
    reader_failure: Option<&str>,
    also: &(dyn Fn(&mut Plan) -> AppResult<()> + Sync),
) -> AppResult<DeskPayment> {
    retry::on_contention(payments::CONTENTION_RETRIES, || async {
        let t = &audit.tenant_id;
        let current = get(store, t, id).await?;
        let mut next = current.clone();
        if !next.observe(status, last_error, reader_failure) {
            return Ok(current);
        }
        let now = store.clock.now();
        next.version += 1;
        next.updated_at = now;
        let mut plan = Plan::new();
        also(&mut plan)?;
        plan.push(
            Write::put_if(item(t, &next)?, Condition::equals("version", current.version)),
            AppError::contention("the desk payment changed while this was being saved; try again"),
        );
        if matches!(next.status, DeskPaymentStatus::Succeeded | DeskPaymentStatus::Declined) {
            plan.announce(event(t, &next, now))?;
        }
        plan.commit(store, audit, &format!("desk_payment.{}", next.status.as_str()), id.as_str()).await?;
        Ok(next)
    })
    .await
}

/// `desk_payment.succeeded` / `desk_payment.declined`: ids and amounts only; one id per outcome.
fn event(t: &TenantId, payment: &DeskPayment, now: chrono::DateTime<chrono::Utc>) -> DomainEvent {
    let kind = format!("desk_payment.{}", payment.status.as_str());
    DomainEvent::new(
        t,
        &kind,
        &format!("{}@{}", payment.id, payment.status.as_str()),
        now,
        json!({
            "desk_payment_id": payment.id,
            "location_id": payment.location_id,
            "client_id": payment.client_id,
            "intent_id": payment.intent_id,
            "amount_minor": payment.amount.amount_minor,
            "currency": payment.amount.currency,
            "failure_code": payment.failure_code,
        }),
    )
}
