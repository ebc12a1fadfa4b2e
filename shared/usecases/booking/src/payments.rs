//! Payments towards appointments: the deposit a booking asks for (requested by the anonymous
//! booker, who proves the booking is theirs with its confirmation number), the balance staff
//! collect, and refunds — asked for, from a policy's fees, or automatic. Every change to a
//! payment is a versioned write committed with its audit record and a line on the client's
//! timeline; domain events follow once it is committed. The gateway's own news (webhooks) is
//! applied by `ops::stripe_events`.
//!
//! A refund is reserved on the payment first (`pending_refund`, a versioned write), then asked
//! of the gateway with the reservation's key as its idempotency key, then recorded. Two refunds
//! can never together exceed what was collected, and a refund interrupted half-way is completed
//! by the next attempt with the same key, never made twice.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{connect, records};
use mas_domain::appointment::{Appointment, AppointmentStatus};
use mas_domain::connect::FeeRate;
use mas_domain::error::{AppError, AppResult, Rejection};
use mas_domain::ids::{AppointmentId, ClientId, PayLinkId, PaymentId, TenantId};
use mas_domain::payment::{
    ClientSecret, CollectionMethod, CustomerId, IntentStatus, LinkPurpose, PayLink, Payment, PaymentKind,
    PaymentStatus, PendingRefund, RefundKind, RefundRecord, balance_link_id, money_text,
};
use mas_domain::values::{MinorUnits, Money};
use mas_ports::events::DomainEvent;
use mas_ports::payments::{GatewayRefund, IntentRequest, RefundRequest};
use mas_ports::{Condition, Events, Item, Payments, PaymentsError, Query, SortKey, Write};
use mas_store::keys;
use mas_store::{AuditContext, Once, Plan, Store, TimelineEntry, from_item, retry, to_item};

/// The ports money moves through.
#[derive(Clone, Copy)]
pub struct Ports<'a> {
    pub store: &'a Store,
    pub payments: &'a dyn Payments,
    pub events: &'a dyn Events,
    /// The platform's cut of each online payment to a clinic's connected account.
    pub application_fee: FeeRate,
    /// The clinics' data keys (a gift card's code sealed for its recipient's email).
    pub keyring: &'a mas_store::crypto::Keyring,
}

impl<'a> Ports<'a> {
    /// The ports money moves through, from the app a host built.
    pub fn of(app: &'a mas_context::app::App) -> Ports<'a> {
        Ports {
            store: &app.store,
            payments: app.payments.as_ref(),
            events: app.events.as_ref(),
            application_fee: app.application_fee,
            keyring: app.keyring.as_ref(),
        }
    }
}

/// How often a payment change is re-decided from a fresh read when another change won the race.
pub const CONTENTION_RETRIES: usize = 8;

/// What `STRIPE#PI#{pi}` holds: where the intent's payment lives.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IntentRef {
    pub tenant_id: TenantId,
    pub appointment_id: AppointmentId,
    pub payment_id: PaymentId,
}

pub fn payment_item(tenant: &TenantId, payment: &Payment) -> AppResult<Item> {
    to_item(&keys::payment(tenant, &payment.appointment_id, &payment.id), "payment", payment)
}

/// The put of a changed payment, on condition that nobody changed it since it was read (its
/// version is one below `next`'s).
pub fn versioned_put(tenant: &TenantId, next: &Payment) -> AppResult<Write> {
    Ok(Write::put_if(payment_item(tenant, next)?, Condition::equals("version", next.version - 1)))
}

pub fn stale() -> AppError {
    AppError::contention("the payment changed while this was being saved; try again")
}

pub async fn get(store: &Store, tenant: &TenantId, appointment: &AppointmentId, id: &PaymentId) -> AppResult<Payment> {
    store.get(&keys::payment(tenant, appointment, id)).await?.ok_or(AppError::NotFound { what: "payment" })
}

/// A payment by its id alone (through its reference item).
pub async fn find(store: &Store, tenant: &TenantId, id: &PaymentId) -> AppResult<Payment> {
    #[derive(Deserialize)]
    struct Reference {
        appointment_id: AppointmentId,
    }
    let reference: Reference =
        store.get(&keys::payment_ref(tenant, id)).await?.ok_or(AppError::NotFound { what: "payment" })?;
    get(store, tenant, &reference.appointment_id, id).await
}

/// An appointment's payments, oldest first.
pub async fn for_appointment(store: &Store, tenant: &TenantId, appointment: &AppointmentId) -> AppResult<Vec<Payment>> {
    let query = Query::partition(keys::appointment_pk(tenant, appointment))
        .sk(SortKey::BeginsWith(keys::PAYMENT_PREFIX.into()));
    let mut payments: Vec<Payment> =
        store.table.query_all(&query).await?.into_iter().map(from_item).collect::<AppResult<_>>()?;
    payments.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    Ok(payments)
}

pub async fn publish(events: &dyn Events, list: &[DomainEvent]) -> AppResult<()> {
    if list.is_empty() {
        return Ok(());
    }
    events.publish(list).await.map_err(AppError::backend("events"))
}

/// The ids and amounts a payment's domain events carry (never personal data).
pub fn event_payload(payment: &Payment) -> serde_json::Value {
    json!({
        "payment_id": payment.id,
        "appointment_id": payment.appointment_id,
        "client_id": payment.client_id,
        "kind": payment.kind,
        "status": payment.status,
        "amount_minor": payment.amount.amount_minor,
        "captured_minor": payment.captured,
        "refunded_minor": payment.refunded,
        "currency": payment.currency(),
    })
}

pub fn timeline(payment: &Payment, at: DateTime<Utc>, kind: &str, summary: String, actor: &str) -> TimelineEntry {
    TimelineEntry::new(&payment.client_id, at, kind, summary, Some(payment.id.to_string()), actor)
}

pub(crate) fn metadata(
    tenant: &TenantId,
    appointment: &AppointmentId,
    payment: &PaymentId,
    kind: PaymentKind,
) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("tenant_id".to_owned(), tenant.to_string()),
        ("appointment_id".to_owned(), appointment.to_string()),
        ("payment_id".to_owned(), payment.to_string()),
        ("kind".to_owned(), kind.as_str().to_owned()),
    ])
}

pub(crate) fn new_payment(
    id: PaymentId,
    appointment: &Appointment,
    kind: PaymentKind,
    amount: Money,
    intent: &mas_ports::Intent,
    save_payment_method: bool,
    now: DateTime<Utc>,
) -> Payment {
    let zero = MinorUnits::new(0).expect("zero");
    let mut payment = Payment {
        id,
        appointment_id: appointment.id.clone(),
        client_id: appointment.client_id.clone(),
        kind,
        collection_method: None,
        intent_id: intent.id.clone(),
        amount,
        captured: zero,
        refunded: zero,
        status: PaymentStatus::RequiresAction,
        intent_status: IntentStatus::RequiresPaymentMethod,
        failure: None,
        refunds: Vec::new(),
        pending_refund: None,
        dispute: None,
        save_payment_method,
        customer_id: None,
        payment_method_id: None,
        applied_to_sale: None,
        link_id: None,
        destination: None,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    payment.observe_intent(&intent.snapshot);
    payment
}

/// The refusals of deposits, balances and refunds, typed; each becomes its code and status in
/// one place (`From<PaymentError> for AppError`).
#[derive(Debug, Clone, thiserror::Error)]
pub enum PaymentError {
    /// 409 `no_deposit_due`.
    #[error("this booking does not ask for a deposit")]
    NoDepositDue,
    /// 409 `not_pending_deposit`, with the booking's status.
    #[error("this booking is {}, not waiting for its deposit", .0.as_str())]
    NotPendingDeposit(AppointmentStatus),
    /// 409 `hold_expired`, with when it ran out.
    #[error("the time held for this booking has been released; book again")]
    HoldExpired(Option<chrono::DateTime<chrono::Utc>>),
    /// 409 `not_finalizable`.
    #[error("the balance of an appointment that is {} cannot be taken", .0.as_str())]
    NotFinalizable(AppointmentStatus),
    /// 409 `payment_link_open`.
    #[error("a payment link for this balance is open: wait until it is paid or expires")]
    LinkOpen,
    /// 409 `nothing_due`.
    #[error("the price of this appointment has been paid in full")]
    NothingDue,
    /// 422 `no_saved_payment_method` (field `collection_method`).
    #[error("the client has no card on file; collect in person or by email link")]
    NoSavedMethod,
    /// 409 `refund_in_progress`.
    #[error("another refund of this payment is being made; try again in a moment")]
    RefundInProgress,
    /// 409 `payment_exists`, `customer_exists`, `link_exists`: made by a concurrent request first.
    #[error("made by another request at the same time")]
    MadeMeanwhile(&'static str),
}

impl From<PaymentError> for AppError {
    fn from(err: PaymentError) -> Self {
        use PaymentError as E;
        let message = err.to_string();
        let conflict =
            |code, details| AppError::Rejected { kind: Rejection::Conflict, code, message: message.clone(), details };
        match err {
            E::NoDepositDue => AppError::conflict("no_deposit_due", message),
            E::NotPendingDeposit(status) => conflict("not_pending_deposit", json!({ "status": status })),
            E::HoldExpired(at) => conflict("hold_expired", json!({ "hold_expires_at": at })),
            E::NotFinalizable(_) => AppError::conflict("not_finalizable", message),
            E::LinkOpen => AppError::conflict("payment_link_open", message),
            E::NothingDue => AppError::conflict("nothing_due", message),
            E::NoSavedMethod => AppError::invalid("no_saved_payment_method", "collection_method", message),
            E::RefundInProgress => AppError::conflict("refund_in_progress", message),
            E::MadeMeanwhile(code) => AppError::conflict(code, message),
        }
    }
}

/// Stores a new payment with the references that find it: by id, and by its intent.
pub(crate) fn push_new_payment<F: From<AppError> + From<Once>>(
    plan: &mut Plan<F>,
    tenant: &TenantId,
    payment: &Payment,
) -> AppResult<()> {
    let exists = || Once::AlreadyDone(PaymentError::MadeMeanwhile("payment_exists").into());
    plan.push(Write::put_new(payment_item(tenant, payment)?), exists());
    let by_id = to_item(
        &keys::payment_ref(tenant, &payment.id),
        "payment_ref",
        &json!({ "appointment_id": payment.appointment_id }),
    )?;
    plan.push(Write::put_new(by_id), exists());
    let reference = IntentRef {
        tenant_id: tenant.clone(),
        appointment_id: payment.appointment_id.clone(),
        payment_id: payment.id.clone(),
    };
    plan.push(
        Write::put_new(to_item(&keys::stripe_intent(payment.intent_id.as_str()), "intent_ref", &reference)?),
        exists(),
    );
    Ok(())
}

/// The client secret of an intent we already have (never stored: read back from the gateway).
async fn client_secret(payments: &dyn Payments, payment: &Payment) -> AppResult<Option<ClientSecret>> {
    if payment.captured.get() > 0 || payment.intent_status == IntentStatus::Canceled {
        return Ok(None);
    }
    Ok(payments.retrieve_intent(&payment.intent_id).await?.client_secret)
}

/// The gateway customer of a client who agreed to keep a card on file (one per client).
pub(crate) async fn customer_for(ports: Ports<'_>, audit: &AuditContext, client: &ClientId) -> AppResult<CustomerId> {
    #[derive(Serialize, Deserialize)]
    struct Stored {
        customer_id: CustomerId,
    }
    let key = keys::stripe_customer(&audit.tenant_id, client);
    if let Some(stored) = ports.store.get::<Stored>(&key).await? {
        return Ok(stored.customer_id);
    }
    // The idempotency key makes a concurrent request get the same customer.
    let customer_id = ports.payments.create_customer(&format!("customer-{}-{client}", audit.tenant_id)).await?;
    let mut plan = Plan::<Once>::typed();
    plan.push(
        Write::put_new(to_item(&key, "stripe_customer", &Stored { customer_id: customer_id.clone() })?),
        Once::AlreadyDone(PaymentError::MadeMeanwhile("customer_exists").into()),
    );
    match plan.commit_as(ports.store, audit, "client.payment_customer_created", client.as_str()).await {
        Ok(()) | Err(Once::AlreadyDone(_)) => Ok(customer_id),
        Err(Once::Failed(other)) => Err(other),
    }
}

/// What the booking wizard needs to take the deposit.
#[derive(Debug, Clone)]
pub struct DepositIntent {
    pub payment: Payment,
    pub client_secret: Option<ClientSecret>,
    pub deposit: Money,
    pub total: Money,
    pub hold_expires_at: Option<DateTime<Utc>>,
}

/// The deposit intent of a booking waiting for its deposit. The caller is anonymous: the
/// appointment id and its confirmation number (both only in the booking's answer) prove the
/// booking is theirs; anything else is simply not found. Asking again returns the same intent.
pub async fn deposit_intent(
    ports: Ports<'_>,
    audit: &AuditContext,
    appointment_id: &AppointmentId,
    confirmation_number: &str,
    save_payment_method: bool,
) -> AppResult<DepositIntent> {
    #[derive(Deserialize)]
    struct NumberClaim {
        appointment_id: AppointmentId,
    }
    let (store, t) = (ports.store, &audit.tenant_id);
    let claim: Option<NumberClaim> = store.get(&keys::confirmation_number(t, confirmation_number)).await?;
    if claim.is_none_or(|c| &c.appointment_id != appointment_id) {
        return Err(AppError::NotFound { what: "appointment" });
    }
    let appointment = records::appointment(store, t, appointment_id).await?;
    let now = store.clock.now();
    if appointment.deposit.amount_minor.get() == 0 {
        return Err(PaymentError::NoDepositDue.into());
    }
    if appointment.status != AppointmentStatus::PendingDeposit {
        return Err(PaymentError::NotPendingDeposit(appointment.status).into());
    }
    if appointment.hold_expired(now) {
        return Err(PaymentError::HoldExpired(appointment.hold_expires_at).into());
    }
    let earlier: Vec<Payment> = for_appointment(store, t, &appointment.id)
        .await?
        .into_iter()
        .filter(|p| p.kind == PaymentKind::Deposit)
        .collect();
    let answer = |payment: Payment, client_secret| DepositIntent {
        payment,
        client_secret,
        deposit: appointment.deposit.clone(),
        total: appointment.price.clone(),
        hold_expires_at: appointment.hold_expires_at,
    };
    if let Some(live) = earlier.iter().rev().find(|p| p.intent_status != IntentStatus::Canceled) {
        let secret = client_secret(ports.payments, live).await?;
        return Ok(answer(live.clone(), secret));
    }
    // Derived from the appointment, so two concurrent first requests name the same payment and
    // send the gateway identical requests under one idempotency key.
    let id = PaymentId::parse(&format!("pay_{}d{}", &appointment.id.as_str()[4..], earlier.len() + 1))
        .map_err(|e| AppError::Internal(e.0))?;
    // The clinic's connected account takes the money (409 when it cannot, where it must).
    let destination = connect::destination(ports, t, appointment.deposit.amount_minor).await?;
    // A client who agreed at booking to keep their card for fees keeps the card they pay with.
    let save_payment_method = save_payment_method || appointment.card_on_file_consent.is_some();
    let customer =
        if save_payment_method { Some(customer_for(ports, audit, &appointment.client_id).await?) } else { None };
    let intent = ports
        .payments
        .create_intent(IntentRequest {
            amount: appointment.deposit.amount_minor,
            currency: appointment.deposit.currency.clone(),
            metadata: metadata(t, &appointment.id, &id, PaymentKind::Deposit),
            idempotency_key: format!("{id}-intent"),
            customer,
            save_for_later: save_payment_method,
            charge_saved_method: None,
            destination,
        })
        .await?;
    let payment = new_payment(
        id,
        &appointment,
        PaymentKind::Deposit,
        appointment.deposit.clone(),
        &intent,
        save_payment_method,
        now,
    );
    let mut plan = Plan::<Once>::typed();
    push_new_payment(&mut plan, t, &payment)?;
    plan.push(
        Write::check(keys::appointment(t, &appointment.id), Condition::equals("version", appointment.version)),
        AppError::contention("the booking changed while its deposit was being requested; try again"),
    );
    let summary = format!("Deposit of {} requested", money_text(payment.amount.amount_minor.get(), payment.currency()));
    plan.push(timeline(&payment, now, "payment.requested", summary, &audit.actor).write(t)?, stale());
    match plan.commit_as(store, audit, "payment.created", payment.id.as_str()).await {
        Ok(()) => Ok(answer(payment, intent.client_secret)),
        // A concurrent request for the same deposit stored it first: answer that one.
        Err(Once::AlreadyDone(_)) => {
            let stored = get(store, t, &appointment.id, &payment.id).await?;
            Ok(answer(stored, intent.client_secret))
        }
        Err(Once::Failed(other)) => Err(other),
    }
}

/// A balance asked for: a payment (and, while the payer still has to act, its client secret), or
/// for a link, the link (its payment is made when the client pays on its page).
#[derive(Debug, Clone)]
pub struct Finalized {
    pub payment: Option<Payment>,
    pub link: Option<PayLink>,
    pub client_secret: Option<ClientSecret>,
}

/// The `payment.link_requested` event of a link just asked for: the messaging worker makes its
/// page and sends it (ids and the amount only).
pub fn link_requested_event(tenant: &TenantId, link: &PayLink, now: DateTime<Utc>) -> DomainEvent {
    let payload = json!({
        "link_id": link.id,
        "client_id": link.client_id,
        "appointment_id": link.appointment_id,
        "purpose": link.purpose,
        "fee_action": link.fee_action,
        "amount_minor": link.amount.amount_minor,
        "currency": link.amount.currency,
    });
    DomainEvent::new(tenant, mas_context::announcements::PAYMENT_LINK_REQUESTED, link.id.as_str(), now, payload)
}

/// The balance links of an appointment, oldest first.
async fn balance_links(store: &Store, t: &TenantId, appointment: &Appointment) -> AppResult<Vec<PayLink>> {
    let body = &appointment.id.as_str()[AppointmentId::PREFIX.len()..];
    let prefix = format!("{}{}{body}b", keys::PAY_LINK_PREFIX, PayLinkId::PREFIX);
    crate::paylinks::beginning(store, t, &appointment.client_id, prefix).await
}

/// Asks for what is left of the price after what the appointment's payments kept: at the desk,
/// through a link sent to the client, or at once from the card the client agreed to keep.
pub async fn finalize(
    ports: Ports<'_>,
    audit: &AuditContext,
    appointment_id: &AppointmentId,
    method: CollectionMethod,
) -> AppResult<Finalized> {
    let (store, t) = (ports.store, &audit.tenant_id);
    let appointment = records::appointment(store, t, appointment_id).await?;
    use AppointmentStatus as S;
    if !matches!(appointment.status, S::Scheduled | S::CheckedIn | S::InProgress | S::Completed) {
        return Err(PaymentError::NotFinalizable(appointment.status).into());
    }
    let payments = for_appointment(store, t, appointment_id).await?;
    let waiting = payments.iter().rev().find(|p| {
        p.kind == PaymentKind::Balance && matches!(p.status, PaymentStatus::RequiresAction | PaymentStatus::Processing)
    });
    if let Some(waiting) = waiting {
        let secret = client_secret(ports.payments, waiting).await?;
        return Ok(Finalized { payment: Some(waiting.clone()), link: None, client_secret: secret });
    }
    let now = store.clock.now();
    let links = balance_links(store, t, &appointment).await?;
    let open = links.iter().rev().find(|l| l.status.is_open() && l.expires_at.is_none_or(|at| at > now));
    if let Some(open) = open {
        if method == CollectionMethod::EmailLink {
            return Ok(Finalized { payment: None, link: Some(open.clone()), client_secret: None });
        }
        return Err(PaymentError::LinkOpen.into());
    }
    let kept: i64 = payments.iter().map(|p| p.captured.get() - p.refunded.get()).sum();
    let remainder = appointment.price.amount_minor.get() - kept;
    if remainder <= 0 {
        return Err(PaymentError::NothingDue.into());
    }
    let amount = Money {
        amount_minor: MinorUnits::new(remainder).map_err(|e| AppError::Internal(e.0))?,
        currency: appointment.price.currency.clone(),
    };
    // Online, the money goes to the clinic's connected account: a clinic that cannot take
    // online payments is told now (409), not when the link's page is made.
    let destination = connect::destination(ports, t, amount.amount_minor).await?;
    if method == CollectionMethod::EmailLink {
        return request_balance_link(store, audit, &appointment, amount, links.len() + 1).await;
    }
    let saved = payments.iter().rev().find_map(|p| Some((p.customer_id.clone()?, p.payment_method_id.clone()?)));
    let (customer, saved_method) = match (method, saved) {
        (CollectionMethod::Immediate, None) => {
            return Err(PaymentError::NoSavedMethod.into());
        }
        (CollectionMethod::Immediate, Some((customer, method))) => (Some(customer), Some(method)),
        _ => (None, None),
    };
    let id = PaymentId::new();
    let intent = ports
        .payments
        .create_intent(IntentRequest {
            amount: amount.amount_minor,
            currency: amount.currency.clone(),
            metadata: metadata(t, appointment_id, &id, PaymentKind::Balance),
            idempotency_key: format!("{id}-intent"),
            customer,
            save_for_later: false,
            charge_saved_method: saved_method,
            destination,
        })
        .await?;
    let mut payment = new_payment(id, &appointment, PaymentKind::Balance, amount, &intent, false, now);
    payment.collection_method = Some(method);
    let text = money_text(payment.amount.amount_minor.get(), payment.currency());
    let summary = match method {
        CollectionMethod::Immediate if payment.captured.get() > 0 => {
            format!("Balance of {text} paid with the card on file")
        }
        CollectionMethod::Immediate => format!("Balance of {text} charged to the card on file"),
        _ => format!("Balance of {text} to be paid at the desk"),
    };
    let mut plan = Plan::new();
    push_new_payment(&mut plan, t, &payment)?;
    plan.push(timeline(&payment, now, "payment.requested", summary, &audit.actor).write(t)?, stale());
    if payment.captured.get() > 0 {
        plan.announce(DomainEvent::new(t, "payment.succeeded", payment.id.as_str(), now, event_payload(&payment)))?;
    }
    plan.commit(store, audit, "payment.created", payment.id.as_str()).await?;
    let client_secret = if payment.captured.get() > 0 { None } else { intent.client_secret };
    Ok(Finalized { payment: Some(payment), link: None, client_secret })
}

/// The balance by a link: the link is stored and `payment.link_requested` announced in one
/// transaction; the messaging worker makes its page and sends it. Its timeline line says it was
/// asked for; only the worker says it was sent, once it was.
async fn request_balance_link(
    store: &Store,
    audit: &AuditContext,
    appointment: &Appointment,
    amount: Money,
    n: usize,
) -> AppResult<Finalized> {
    let t = &audit.tenant_id;
    let now = store.clock.now();
    let id = balance_link_id(&appointment.id, n);
    let link = PayLink::requested(
        id,
        appointment.client_id.clone(),
        appointment.id.clone(),
        LinkPurpose::Balance,
        None,
        amount,
        now,
    );
    let mut plan = Plan::<Once>::typed();
    plan.push(
        Write::put_new(to_item(&keys::pay_link(t, &link.client_id, &link.id), "pay_link", &link)?),
        Once::AlreadyDone(PaymentError::MadeMeanwhile("link_exists").into()),
    );
    let text = money_text(link.amount.amount_minor.get(), &link.amount.currency);
    let summary = format!("Balance of {text}: payment link requested");
    let entry = TimelineEntry::new(
        &link.client_id,
        now,
        "payment.link_requested",
        summary,
        Some(link.id.to_string()),
        &audit.actor,
    );
    plan.push(entry.write(t)?, stale());
    plan.announce(link_requested_event(t, &link, now))?;
    match plan.commit_as(store, audit, "payment.link_requested", link.id.as_str()).await {
        Ok(()) => Ok(Finalized { payment: None, link: Some(link), client_secret: None }),
        Err(Once::AlreadyDone(_)) => {
            let stored = store.get(&keys::pay_link(t, &link.client_id, &link.id)).await?;
            Ok(Finalized { payment: None, link: stored, client_secret: None })
        }
        Err(Once::Failed(other)) => Err(other),
    }
}

/// A refund asked for.
#[derive(Debug, Clone)]
pub struct RefundAsk {
    /// All that is refundable when absent.
    pub amount: Option<MinorUnits>,
    pub reason: String,
    pub kind: RefundKind,
    /// The refund's own key (the gateway's idempotency key); a new one when absent.
    pub key: Option<String>,
}

/// Refunds part or all of a payment, never more than it collected and has not given back.
pub async fn refund(
    ports: Ports<'_>,
    audit: &AuditContext,
    payment_id: &PaymentId,
    ask: RefundAsk,
) -> AppResult<Payment> {
    let key = ask.key.clone().unwrap_or_else(|| format!("rfd-{}", ulid::Ulid::new().to_string().to_lowercase()));
    let reserved = retry::on_contention(CONTENTION_RETRIES, || reserve_refund(ports, audit, payment_id, &key, &ask))
        .await
        .map_err(|err| if err.is_contention() { PaymentError::RefundInProgress.into() } else { err })?;
    match reserved {
        Reservation::Done(payment) => Ok(payment),
        Reservation::Reserved(payment) => complete_pending(ports, audit, payment).await,
    }
}

/// A refund's reservation on its payment.
enum Reservation {
    /// The refund with this key is already made.
    Done(Payment),
    /// The payment holds the reservation: the gateway may be asked.
    Reserved(Payment),
}

/// One attempt at reserving the refund `key` on the payment (so it is asked of the gateway once,
/// under that key, however many times this runs). An earlier refund that was interrupted is
/// finished first (same key, so never twice) and the reservation tried again.
async fn reserve_refund(
    ports: Ports<'_>,
    audit: &AuditContext,
    payment_id: &PaymentId,
    key: &str,
    ask: &RefundAsk,
) -> AppResult<Reservation> {
    let (store, t) = (ports.store, &audit.tenant_id);
    let payment = find(store, t, payment_id).await?;
    if payment.refunds.iter().any(|r| r.key == key) {
        return Ok(Reservation::Done(payment));
    }
    if let Some(pending) = &payment.pending_refund {
        if pending.key == key {
            return Ok(Reservation::Reserved(payment));
        }
        complete_pending(ports, audit, payment).await?;
        return Err(AppError::contention("an earlier refund of this payment was being finished"));
    }
    let amount = payment.check_refund(ask.amount)?;
    let now = store.clock.now();
    let mut next = payment.clone();
    next.pending_refund = Some(PendingRefund {
        key: key.to_owned(),
        amount,
        kind: ask.kind,
        reason: ask.reason.clone(),
        by: audit.actor.clone(),
        requested_at: now,
    });
    next.version += 1;
    next.updated_at = now;
    let mut plan = Plan::new();
    plan.push(versioned_put(t, &next)?, stale());
    plan.commit(store, audit, "payment.refund_requested", next.id.as_str()).await?;
    Ok(Reservation::Reserved(next))
}

/// Carries out a payment's reserved refund: asks the gateway (under the reservation's key) and
/// records the answer. A gateway that cannot be reached leaves the reservation for a retry; a
/// gateway that refuses releases it.
pub async fn complete_pending(ports: Ports<'_>, audit: &AuditContext, payment: Payment) -> AppResult<Payment> {
    let Some(pending) = payment.pending_refund.clone() else { return Ok(payment) };
    let (store, t) = (ports.store, &audit.tenant_id);
    let request = RefundRequest {
        intent: payment.intent_id.clone(),
        amount: pending.amount,
        idempotency_key: pending.key.clone(),
        metadata: BTreeMap::from([
            ("tenant_id".to_owned(), t.to_string()),
            ("payment_id".to_owned(), payment.id.to_string()),
            ("reason".to_owned(), pending.reason.chars().take(400).collect()),
        ]),
    };
    let answer = ports.payments.refund(request).await;
    let recorded =
        retry::on_contention(CONTENTION_RETRIES, || record_refund_answer(store, audit, &payment.id, &pending, &answer))
            .await?;
    match answer {
        Ok(_) => Ok(recorded),
        Err(err) => Err(err.into()),
    }
}

/// One attempt at recording the gateway's answer to the reserved refund `pending` (unless
/// another run recorded it): the refund with its timeline entry and `payment.refunded` event,
/// or the reservation released. A gateway that could not be reached leaves the reservation.
async fn record_refund_answer(
    store: &Store,
    audit: &AuditContext,
    payment_id: &PaymentId,
    pending: &PendingRefund,
    answer: &Result<GatewayRefund, PaymentsError>,
) -> AppResult<Payment> {
    let t = &audit.tenant_id;
    let current = find(store, t, payment_id).await?;
    if current.pending_refund.as_ref().is_none_or(|p| p.key != pending.key) {
        return Ok(current);
    }
    let now = store.clock.now();
    let mut next = current.clone();
    let mut plan = Plan::new();
    let action = match answer {
        Ok(refund) => {
            next.record_refund(RefundRecord {
                key: pending.key.clone(),
                gateway_refund_id: refund.id.clone(),
                amount: pending.amount,
                kind: pending.kind,
                reason: pending.reason.clone(),
                by: pending.by.clone(),
                at: now,
            });
            let text = money_text(pending.amount.get(), next.currency());
            let summary = match pending.kind {
                RefundKind::Automatic => format!("{text} refunded automatically: {}", pending.reason),
                _ => format!("{text} refunded ({})", pending.reason),
            };
            plan.push(timeline(&next, now, "payment.refunded", summary, &pending.by).write(t)?, stale());
            plan.announce(DomainEvent::new(t, "payment.refunded", &pending.key, now, refund_payload(&next, pending)))?;
            "payment.refunded"
        }
        Err(PaymentsError::Unavailable(why)) => {
            tracing::error!(payment_id = %payment_id, %why, "refund left pending: the gateway could not be reached");
            return Err(AppError::Internal(format!("refund pending: {why}")));
        }
        Err(_) => {
            next.pending_refund = None;
            "payment.refund_released"
        }
    };
    next.version += 1;
    next.updated_at = now;
    plan.push(versioned_put(t, &next)?, stale());
    plan.commit(store, audit, action, next.id.as_str()).await?;
    Ok(next)
}

fn refund_payload(payment: &Payment, pending: &PendingRefund) -> serde_json::Value {
    let mut payload = event_payload(payment);
    payload["refund_minor"] = json!(pending.amount);
    payload["refund_kind"] = json!(pending.kind);
    payload
}

/// What a cancellation or no-show gives back from the deposit: the policy's fee (`kept`) stays
/// with the clinic, the rest of what the deposit still holds is reserved for a refund. The
/// caller writes the returned payment (with [`versioned_put`]) in the same transaction as the
/// appointment's change, then calls [`complete_pending`].
pub async fn plan_fee_settlement(
    store: &Store,
    tenant: &TenantId,
    appointment: &Appointment,
    action: &str,
    kept: &Money,
    by: &str,
) -> AppResult<Option<Payment>> {
    let payments = for_appointment(store, tenant, &appointment.id).await?;
    let Some(deposit) = payments.into_iter().find(|p| p.kind == PaymentKind::Deposit && p.refundable() > 0) else {
        return Ok(None);
    };
    if deposit.pending_refund.is_some() {
        return Err(PaymentError::RefundInProgress.into());
    }
    let back = deposit.refundable() - kept.amount_minor.get();
    if back <= 0 {
        return Ok(None);
    }
    let now = store.clock.now();
    let mut next = deposit.clone();
    next.pending_refund = Some(PendingRefund {
        key: format!("fee-{}-{action}", appointment.id),
        amount: MinorUnits::new(back).map_err(|e| AppError::Internal(e.0))?,
        kind: RefundKind::FeeSettlement,
        reason: format!(
            "{}: {} kept under the policy",
            action.replace('_', " "),
            money_text(kept.amount_minor.get(), &kept.currency)
        ),
        by: by.to_owned(),
        requested_at: now,
    });
    next.version += 1;
    next.updated_at = now;
    Ok(Some(next))
}
