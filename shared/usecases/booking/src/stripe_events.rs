//! Stripe's webhook events, applied so that duplicates, retries, concurrency and any order end in
//! the same state, with every side effect (a status change, a domain event, a refund) once.
//!
//! - **Dedupe.** Each event id is claimed with a conditional write on `STRIPE#EVT#{id}` before
//!   anything happens; a delivery of an event that is done answers 200 and does nothing, and one
//!   that arrives while another delivery of it is being processed answers 409 (Stripe retries).
//! - **Order.** Payment-intent events are not trusted for the intent's state: it is re-read from
//!   the gateway, and a payment's facts only grow (`domain::payment`), so a late `processing`
//!   never undoes `succeeded`.
//! - **Effects, once.** The state change and the effects it calls for (domain events, an
//!   automatic refund) are committed together: the effects are written onto the event's record
//!   in the same transaction. They are carried out after it, then the record is marked done; a
//!   retry after a crash finds them there and carries them out again, which their stable ids and
//!   the refund's idempotency key make harmless.
//! - **No loop.** An event that fails [`MAX_ATTEMPTS`] times is parked: published as
//!   `stripe.webhook_parked`, which the bus routes to the webhook dead-letter queue, and answered
//!   200 so Stripe stops retrying.
//! - **Connect.** Events from clinics' connected accounts come to their own endpoint
//!   (`/webhooks/stripe/connect`, its own signing secret) and carry the account (`"account":
//!   "acct_…"`). They are tied to a clinic by that id alone (`STRIPE#ACCT#{acct}`), never by their
//!   metadata: an event of an account that is not ours is answered 200 and ignored, with nothing
//!   written. `account.updated` re-reads the account from the gateway ([`connect::observe`]);
//!   a dispute is applied only to a payment of the account's own clinic.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::paylinks::{self, LinkRef};
use crate::payments::{self, IntentRef, Ports, RefundAsk};
use crate::{appointments, connect, desk, memberships};
use mas_domain::appointment::{Appointment, AppointmentStatus};
use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::{PaymentId, RequestId, TenantId};
use mas_domain::membership::FailedCharge;
use mas_domain::payment::{Dispute, IntentId, Observed, Payment, PaymentKind, RefundKind, money_text};
use mas_domain::values::{MinorUnits, Money};
use mas_ports::events::DomainEvent;
use mas_ports::payments::{Intent, PaymentsError, stripe_ref};
use mas_ports::table::TTL;
use mas_ports::{Condition, TableError, Write};
use mas_store::keys;
use mas_store::{AuditContext, Plan, retry, to_item};

/// Failed deliveries of one event before it is parked.
pub const MAX_ATTEMPTS: u32 = 5;
/// How long one delivery may hold an event before another may take it over.
const LEASE: Duration = Duration::seconds(60);
/// How long an event id is remembered (Stripe retries for up to three days).
const REMEMBER: Duration = Duration::days(30);

/// The event types we act on; any other is answered 200 and ignored, with nothing written.
pub const HANDLED: &[&str] = &[
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "payment_intent.processing",
    "payment_intent.requires_action",
    "payment_intent.amount_capturable_updated",
    "charge.refunded",
    "charge.dispute.created",
    "charge.dispute.updated",
    "charge.dispute.closed",
    // A payment link's hosted page (Checkout Session): paid, or expired unpaid.
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.expired",
    // A card reader at the desk finished (or failed) the payment it was handed.
    "terminal.reader.action_succeeded",
    "terminal.reader.action_failed",
    // Memberships' subscriptions: each month's invoice paid or failed, the subscription changed
    // (paused, past due, set to end) or ended.
    "invoice.paid",
    "invoice.payment_failed",
    "customer.subscription.updated",
    "customer.subscription.deleted",
];

/// The Connect events we act on (from a clinic's connected account); any other is ignored.
pub const HANDLED_CONNECT: &[&str] = &[
    // The account's status: may it take charges, receive payouts; what Stripe still needs.
    "account.updated",
    // A dispute of a charge on the clinic's behalf.
    "charge.dispute.created",
    "charge.dispute.updated",
    "charge.dispute.closed",
];

/// A verified event, as far as we read it.
#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub kind: String,
    pub object: Value,
    /// The connected account a Connect event is from (`account`), as Stripe sent it.
    pub account: Option<String>,
}

impl Received {
    /// Reads Stripe's event envelope (`id`, `type`, `data.object`).
    pub fn parse(body: &[u8]) -> Result<Received, String> {
        let value: Value = serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
        let id = text(value.get("id")).filter(|id| {
            id.starts_with("evt_") && id.len() <= 255 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
        let id = id.ok_or("the event has no `evt_…` id")?;
        let kind = text(value.get("type")).ok_or("the event has no type")?;
        let object =
            value.pointer("/data/object").cloned().filter(Value::is_object).ok_or("the event has no data.object")?;
        let account = text(value.get("account"));
        Ok(Received { id, kind, object, account })
    }
}

/// What became of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    Applied,
    /// Already done (or parked): nothing was done again.
    Duplicate,
    /// A type we do not act on, or an object that is not ours.
    Ignored,
    /// Another delivery of the same event is being processed; try later.
    InFlight,
    /// Failed too often: handed to the dead-letter queue.
    Parked,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum RecordStatus {
    Processing,
    Failed,
    Done,
    Parked,
}

/// Something the event's state change calls for, carried out after it is committed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "effect", rename_all = "snake_case")]
enum Effect {
    Publish { event: DomainEvent },
    Refund { tenant_id: TenantId, payment_id: PaymentId, reason: String, key: String },
}

/// `STRIPE#EVT#{id}`: the event's claim, and its effects once its state change is committed.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct EventRecord {
    event_id: String,
    event_type: String,
    status: RecordStatus,
    attempts: u32,
    lease_until: DateTime<Utc>,
    effects: Option<Vec<Effect>>,
    received_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl EventRecord {
    fn write(&self, condition: Option<Condition>) -> AppResult<Write> {
        let mut item = to_item(&keys::stripe_event(&self.event_id), "stripe_event", self)?;
        item.insert(TTL.into(), (self.received_at + REMEMBER).timestamp().into());
        Ok(match condition {
            Some(condition) => Write::put_if(item, condition),
            None => Write::put(item),
        })
    }

    /// Still ours: nobody took the event over since we claimed it.
    fn mine(&self) -> Condition {
        Condition::equals("attempts", self.attempts)
    }
}

fn taken_over() -> AppError {
    AppError::conflict("event_taken_over", "another delivery of this event took it over")
}

/// Whose an event is: the platform's own (`/webhooks/stripe`), or a clinic's connected account,
/// found by the account id.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Scope {
    Platform,
    Connected { tenant_id: TenantId, account: String },
}

/// Handles one verified event of the platform's endpoint.
pub async fn handle(ports: Ports<'_>, request_id: &RequestId, event: Received) -> AppResult<Handled> {
    if !HANDLED.contains(&event.kind.as_str()) {
        return Ok(Handled::Ignored);
    }
    if event.account.is_some() {
        // Stripe sends connected accounts' events to the Connect endpoint only.
        tracing::warn!(stripe_event_id = %event.id, "a connected account's event on the platform endpoint: ignored");
        return Ok(Handled::Ignored);
    }
    run(ports, request_id, event, Scope::Platform).await
}

/// Handles one verified event of the Connect endpoint: tied to a clinic by its account id alone;
/// an event of an account that is not ours (or of no account) is ignored, with nothing written.
pub async fn handle_connect(ports: Ports<'_>, request_id: &RequestId, event: Received) -> AppResult<Handled> {
    if !HANDLED_CONNECT.contains(&event.kind.as_str()) {
        return Ok(Handled::Ignored);
    }
    let Some(account) = event.account.clone().filter(|a| connect::account_id(a).is_some()) else {
        tracing::warn!(stripe_event_id = %event.id, "a Connect event without an account: ignored");
        return Ok(Handled::Ignored);
    };
    let Some(tenant_id) = connect::tenant_of(ports.store, &account).await? else {
        tracing::warn!(stripe_event_id = %event.id, %account, "a Connect event of an account that is not ours: ignored");
        return Ok(Handled::Ignored);
    };
    run(ports, request_id, event, Scope::Connected { tenant_id, account }).await
}

async fn run(ports: Ports<'_>, request_id: &RequestId, event: Received, scope: Scope) -> AppResult<Handled> {
    let mut record = match claim(ports, &event).await? {
        Claim::Mine(record) => record,
        Claim::Done => return Ok(Handled::Duplicate),
        Claim::InFlight => return Ok(Handled::InFlight),
        Claim::Exhausted(record) => return park(ports, record, &event).await,
    };
    match process(ports, request_id, &event, &scope, &mut record).await {
        Ok(handled) => Ok(handled),
        Err(err) => {
            // Let the next delivery try at once rather than wait out the lease.
            let now = ports.store.clock.now();
            let released =
                EventRecord { status: RecordStatus::Failed, lease_until: now, updated_at: now, ..record.clone() };
            if let Ok(write) = released.write(Some(record.mine())) {
                let _ = ports.store.table.transact(vec![write]).await;
            }
            Err(err)
        }
    }
}

async fn process(
    ports: Ports<'_>,
    request_id: &RequestId,
    event: &Received,
    scope: &Scope,
    record: &mut EventRecord,
) -> AppResult<Handled> {
    let effects = match record.effects.clone() {
        Some(effects) => effects,
        None => {
            let effects = apply(ports, request_id, event, scope, record).await?;
            record.effects = Some(effects.clone());
            effects
        }
    };
    for effect in &effects {
        carry_out(ports, request_id, effect).await?;
    }
    let now = ports.store.clock.now();
    let done = EventRecord { status: RecordStatus::Done, updated_at: now, ..record.clone() };
    match ports.store.table.transact(vec![done.write(Some(record.mine()))?]).await {
        Ok(()) | Err(TableError::ConditionFailed { .. }) => Ok(Handled::Applied),
        Err(other) => Err(other.into()),
    }
}

enum Claim {
    Mine(EventRecord),
    Done,
    InFlight,
    Exhausted(EventRecord),
}

/// Claims the event for this delivery: new, or failed before, or abandoned (its lease ran out).
async fn claim(ports: Ports<'_>, event: &Received) -> AppResult<Claim> {
    let now = ports.store.clock.now();
    let existing: Option<EventRecord> = ports.store.get(&keys::stripe_event(&event.id)).await?;
    let (record, condition) = match existing {
        None => {
            let record = EventRecord {
                event_id: event.id.clone(),
                event_type: event.kind.clone(),
                status: RecordStatus::Processing,
                attempts: 1,
                lease_until: now + LEASE,
                effects: None,
                received_at: now,
                updated_at: now,
            };
            (record, Condition::NotExists)
        }
        Some(record) if matches!(record.status, RecordStatus::Done | RecordStatus::Parked) => return Ok(Claim::Done),
        Some(record) if record.status == RecordStatus::Processing && record.lease_until > now => {
            return Ok(Claim::InFlight);
        }
        Some(record) if record.attempts >= MAX_ATTEMPTS => return Ok(Claim::Exhausted(record)),
        Some(previous) => {
            let condition = previous.mine();
            let record = EventRecord {
                status: RecordStatus::Processing,
                attempts: previous.attempts + 1,
                lease_until: now + LEASE,
                updated_at: now,
                ..previous
            };
            (record, condition)
        }
    };
    match ports.store.table.transact(vec![record.write(Some(condition))?]).await {
        Ok(()) => Ok(Claim::Mine(record)),
        Err(TableError::ConditionFailed { .. } | TableError::Contention) => Ok(Claim::InFlight),
        Err(other) => Err(other.into()),
    }
}

/// Hands an event that keeps failing to the dead-letter queue (through the bus) and stops.
async fn park(ports: Ports<'_>, record: EventRecord, event: &Received) -> AppResult<Handled> {
    let now = ports.store.clock.now();
    let platform = TenantId::parse("ten_platform").expect("a tenant id");
    let parked = DomainEvent::new(
        &platform,
        "stripe.webhook_parked",
        &event.id,
        now,
        json!({ "stripe_event_id": event.id, "type": event.kind, "attempts": record.attempts, "object": event.object }),
    );
    payments::publish(ports.events, &[parked]).await?;
    tracing::error!(stripe_event_id = %event.id, attempts = record.attempts, "webhook event parked in the dead-letter queue");
    let done = EventRecord { status: RecordStatus::Parked, updated_at: now, ..record.clone() };
    let _ = ports.store.table.transact(vec![done.write(Some(record.mine()))?]).await;
    Ok(Handled::Parked)
}

async fn carry_out(ports: Ports<'_>, request_id: &RequestId, effect: &Effect) -> AppResult<()> {
    match effect {
        Effect::Publish { event } => payments::publish(ports.events, std::slice::from_ref(event)).await,
        Effect::Refund { tenant_id, payment_id, reason, key } => {
            let audit = system_audit(tenant_id, request_id);
            let ask =
                RefundAsk { amount: None, reason: reason.clone(), kind: RefundKind::Automatic, key: Some(key.clone()) };
            match payments::refund(ports, &audit, payment_id, ask).await {
                Ok(_) => Ok(()),
                Err(err) => {
                    // Someone refunded it all already: nothing is kept either way. Decided by
                    // the payment as stored, not by the refusal's wording.
                    let payment = payments::find(ports.store, tenant_id, payment_id).await?;
                    if payment.captured.get() > 0 && payment.refundable() == 0 { Ok(()) } else { Err(err) }
                }
            }
        }
    }
}

fn system_audit(tenant: &TenantId, request_id: &RequestId) -> AuditContext {
    AuditContext { tenant_id: tenant.clone(), actor: "stripe".into(), role: None, request_id: request_id.clone() }
}

/// What the event says happened, as a change to the payment it concerns.
enum News {
    Intent(Intent),
    Charge { captured: i64, refunded: i64 },
    Dispute(Dispute),
}

/// Decides and commits the event's state change; returns the effects it calls for.
async fn apply(
    ports: Ports<'_>,
    request_id: &RequestId,
    event: &Received,
    scope: &Scope,
    record: &EventRecord,
) -> AppResult<Vec<Effect>> {
    let object = &event.object;
    if let (Scope::Connected { tenant_id, account }, "account.updated") = (scope, event.kind.as_str()) {
        return apply_account(ports, request_id, event, tenant_id, account, record).await;
    }
    if event.kind.starts_with("checkout.session.") {
        let session = object.get("id").and_then(Value::as_str).unwrap_or_default();
        if let Some(reference) = memberships::of_signup(ports.store, session).await? {
            return apply_signup(ports, request_id, event, &reference, record).await;
        }
        if let Some(reference) = mas_academy::enrolments::of_session(ports.store, session).await? {
            return apply_enrolment(ports, request_id, event, &reference).await;
        }
        return apply_session(ports, request_id, event, record).await;
    }
    if event.kind.starts_with("invoice.") || event.kind.starts_with("customer.subscription.") {
        return apply_subscription(ports, request_id, event, record).await;
    }
    let intent_id = if event.kind.starts_with("payment_intent.") {
        object.get("id").and_then(stripe_ref)
    } else if event.kind.starts_with("terminal.reader.") {
        object.pointer("/action/process_payment_intent/payment_intent").and_then(stripe_ref)
    } else {
        object.get("payment_intent").and_then(stripe_ref)
    };
    let Some(intent_id) = intent_id.and_then(|id| IntentId::parse(&id).ok()) else {
        tracing::info!(stripe_event_id = %event.id, "event names no payment intent of ours");
        return Ok(Vec::new());
    };
    if (event.kind.starts_with("payment_intent.") || event.kind.starts_with("terminal.reader."))
        && *scope == Scope::Platform
        && let Some(reference) = desk::of_intent(ports.store, intent_id.as_str()).await?
    {
        return apply_desk(ports, request_id, event, &reference, &intent_id, record).await;
    }
    if event.kind.starts_with("terminal.reader.") {
        tracing::info!(stripe_event_id = %event.id, "a reader's event about a payment that is not the desk's");
        return Ok(Vec::new());
    }
    if let Some(order) = crate::gift_cards::order_of_intent(ports.store, &intent_id).await? {
        // A gift card bought online: issued once its intent has succeeded (as the gateway says
        // now); a replay finds it issued. Nothing else about such an intent concerns us.
        if event.kind == "payment_intent.succeeded" && scope == &Scope::Platform {
            let intent = ports.payments.retrieve_intent(&intent_id).await?;
            let audit = system_audit(&order.tenant_id, request_id);
            crate::gift_cards::issue_paid(ports, &audit, &order, &intent).await?;
        }
        return Ok(Vec::new());
    }
    let reference = match ports.store.get::<IntentRef>(&keys::stripe_intent(intent_id.as_str())).await? {
        Some(reference) => reference,
        // A payment link's page makes its intent when the client pays, so its news may come
        // before the page's: the intent names the link in its metadata.
        None if event.kind == "payment_intent.succeeded" => {
            match adopt_by_metadata(ports, request_id, object, &intent_id).await? {
                Some(reference) => reference,
                None => {
                    tracing::info!(stripe_event_id = %event.id, "event about a payment intent we did not create");
                    return Ok(Vec::new());
                }
            }
        }
        None => {
            tracing::info!(stripe_event_id = %event.id, "event about a payment intent we did not create");
            return Ok(Vec::new());
        }
    };
    if let Scope::Connected { tenant_id, account } = scope
        && &reference.tenant_id != tenant_id
    {
        // The account is one clinic's, the payment another's: never applied across clinics.
        tracing::warn!(stripe_event_id = %event.id, %account, "a Connect event about another clinic's payment: ignored");
        return Ok(Vec::new());
    }
    let news = if event.kind.starts_with("payment_intent.") {
        // The event may be old news: the intent as it is now is the truth.
        match ports.payments.retrieve_intent(&intent_id).await {
            Ok(intent) => News::Intent(intent),
            Err(PaymentsError::NotFound) => News::Intent(
                Intent::from_stripe_json(object).map_err(|e| AppError::Internal(format!("unreadable intent: {e}")))?,
            ),
            Err(other) => return Err(other.into()),
        }
    } else if event.kind == "charge.refunded" {
        let number = |name: &str| object.get(name).and_then(Value::as_i64).unwrap_or(0);
        let captured = if object.get("captured").and_then(Value::as_bool) == Some(false) {
            0
        } else {
            number("amount_captured").max(number("amount"))
        };
        News::Charge { captured, refunded: number("amount_refunded") }
    } else {
        let amount = object.get("amount").and_then(Value::as_i64).unwrap_or(0).max(0);
        News::Dispute(Dispute {
            id: object.get("id").and_then(Value::as_str).unwrap_or_default().to_owned(),
            status: object.get("status").and_then(Value::as_str).unwrap_or("needs_response").to_owned(),
            amount: MinorUnits::new(amount.min(MinorUnits::MAX)).map_err(|e| AppError::Internal(e.0))?,
        })
    };
    let audit = system_audit(&reference.tenant_id, request_id);
    retry::on_contention(payments::CONTENTION_RETRIES, || try_apply(ports, &audit, &reference, &news, record)).await
}

async fn try_apply(
    ports: Ports<'_>,
    audit: &AuditContext,
    reference: &IntentRef,
    news: &News,
    record: &EventRecord,
) -> AppResult<Vec<Effect>> {
    let (store, t) = (ports.store, &reference.tenant_id);
    let current = payments::get(store, t, &reference.appointment_id, &reference.payment_id).await?;
    let mut next = current.clone();
    let observed = match news {
        News::Intent(intent) => next.observe_intent(&intent.snapshot),
        News::Charge { captured, refunded } => next.observe_charge(*captured, *refunded),
        News::Dispute(dispute) => next.observe_dispute(dispute.clone()),
    };
    if !observed.changed {
        return Ok(Vec::new());
    }
    let now = store.clock.now();
    next.version += 1;
    next.updated_at = now;
    let mut plan = Plan::new();
    plan.push(payments::versioned_put(t, &next)?, payments::stale());
    let mut effects = payment_effects(t, &current, &next, &observed, now);
    for (kind, summary) in timeline_lines(&next, &observed) {
        plan.push(payments::timeline(&next, now, kind, summary, &audit.actor).write(t)?, payments::stale());
    }
    let deposit_arrived = observed.newly_succeeded && next.kind == PaymentKind::Deposit;
    if observed.newly_succeeded && next.link_id.is_some() {
        paylinks::push_paid(store, t, &mut plan, &next, now).await?;
    }
    if !deposit_arrived {
        push_record(&mut plan, record, &effects)?;
        plan.commit(store, audit, "payment.updated", next.id.as_str()).await?;
        return Ok(effects);
    }
    let appointment = appointments::get(store, t, &next.appointment_id).await?;
    let paid = Money { amount_minor: next.captured, currency: next.currency().clone() };
    if appointment.status == AppointmentStatus::PendingDeposit {
        let mut confirmed = effects.clone();
        confirmed.push(publish(
            t,
            "booking.confirmed",
            appointment.id.as_str(),
            now,
            booking_payload(&appointment, &next),
        ));
        let mut with_confirmation = Plan::new();
        with_confirmation.push(payments::versioned_put(t, &next)?, payments::stale());
        for (kind, summary) in timeline_lines(&next, &observed) {
            with_confirmation
                .push(payments::timeline(&next, now, kind, summary, &audit.actor).write(t)?, payments::stale());
        }
        push_record(&mut with_confirmation, record, &confirmed)?;
        match appointments::confirm_deposit(store, audit, &appointment, paid, with_confirmation).await {
            Ok(_) => return Ok(confirmed),
            Err(appointments::ClaimError::SlotTaken | appointments::ClaimError::ResourceTaken(_)) => {
                // The hold ran out and someone else booked the time: the booking cannot stand,
                // so it is cancelled and the money goes back.
                let reason = "the time was booked by someone else after the hold expired";
                effects.push(publish(
                    t,
                    "booking.cancelled",
                    appointment.id.as_str(),
                    now,
                    booking_payload(&appointment, &next),
                ));
                effects.push(auto_refund(t, &next, reason));
                push_record(&mut plan, record, &effects)?;
                appointments::cancel_lost_hold(store, audit, &appointment, reason, plan).await?;
                return Ok(effects);
            }
            Err(other) => return Err(other.into()),
        }
    }
    // The booking is gone (cancelled) or already paid for: this money is not for anything.
    let reason = format!("the booking was {} when the deposit arrived", appointment.status.as_str().replace('_', " "));
    effects.push(auto_refund(t, &next, &reason));
    push_record(&mut plan, record, &effects)?;
    plan.commit(store, audit, "payment.updated", next.id.as_str()).await?;
    Ok(effects)
}

/// A desk payment's news (its intent's, or its reader's): the intent as the gateway reports it
/// now is taken in (the event's copy may be old news), with the reader's failure code when the
/// event is a failed reader action, and the event's record in the same transaction.
async fn apply_desk(
    ports: Ports<'_>,
    request_id: &RequestId,
    event: &Received,
    reference: &desk::DeskRef,
    intent_id: &IntentId,
    record: &EventRecord,
) -> AppResult<Vec<Effect>> {
    let intent = match ports.payments.retrieve_intent(intent_id).await {
        Ok(intent) => intent,
        Err(PaymentsError::NotFound) if event.kind.starts_with("payment_intent.") => {
            Intent::from_stripe_json(&event.object)
                .map_err(|e| AppError::Internal(format!("unreadable intent: {e}")))?
        }
        Err(other) => return Err(other.into()),
    };
    if intent.metadata.get("tenant_id").map(String::as_str) != Some(reference.tenant_id.as_str()) {
        tracing::warn!(stripe_event_id = %event.id, "a desk intent of another clinic: ignored");
        return Ok(Vec::new());
    }
    let reader_failure = (event.kind == "terminal.reader.action_failed")
        .then(|| event.object.pointer("/action/failure_code").and_then(Value::as_str))
        .flatten();
    let audit = system_audit(&reference.tenant_id, request_id);
    desk::observe(ports.store, &audit, reference, &intent, reader_failure, &|plan| push_record(plan, record, &[]))
        .await?;
    Ok(Vec::new())
}

/// `account.updated` from a clinic's connected account: the account as the gateway reports it
/// now is taken in (the event's copy may be old news), with the event's record in the same
/// transaction.
async fn apply_account(
    ports: Ports<'_>,
    request_id: &RequestId,
    event: &Received,
    tenant_id: &TenantId,
    account: &str,
    record: &EventRecord,
) -> AppResult<Vec<Effect>> {
    if event.object.get("id").and_then(Value::as_str) != Some(account) {
        tracing::warn!(stripe_event_id = %event.id, %account, "account.updated about another account: ignored");
        return Ok(Vec::new());
    }
    let Some(id) = connect::account_id(account) else { return Ok(Vec::new()) };
    let current = match ports.payments.retrieve_connected_account(&id).await {
        Ok(current) => current,
        Err(PaymentsError::NotFound) => {
            tracing::warn!(stripe_event_id = %event.id, %account, "the connected account is gone at the gateway: ignored");
            return Ok(Vec::new());
        }
        Err(other) => return Err(other.into()),
    };
    let audit = system_audit(tenant_id, request_id);
    connect::observe(ports.store, &audit, &current, &|plan| push_record(plan, record, &[])).await?;
    Ok(Vec::new())
}

/// The payment of the link whose page made `intent`, made once, if the event's copy of the
/// intent (signed by the gateway; metadata is set by us when the page is made) names a link of
/// ours; any other charge on the account is passed over. The intent's state is read from the
/// gateway once, next, as for every intent event.
async fn adopt_by_metadata(
    ports: Ports<'_>,
    request_id: &RequestId,
    object: &Value,
    intent_id: &IntentId,
) -> AppResult<Option<IntentRef>> {
    let named: std::collections::BTreeMap<String, String> =
        object.get("metadata").and_then(|m| serde_json::from_value(m.clone()).ok()).unwrap_or_default();
    let Some(reference) = paylinks::from_metadata(ports.store, &named).await? else { return Ok(None) };
    paylinks::adopt(ports.store, &system_audit(&reference.tenant_id, request_id), &reference, intent_id).await
}

/// A payment link's hosted page: paid (its intent is adopted as the link's payment and applied
/// as any intent's news), or expired unpaid. The page is re-read from the gateway: the event's
/// copy may be old news.
/// A membership's sign-up page paid (its subscription started) or expired unpaid. The page is
/// re-read from the gateway: the event is only the news that something happened.
async fn apply_signup(
    ports: Ports<'_>,
    request_id: &RequestId,
    event: &Received,
    reference: &memberships::MembershipRef,
    record: &EventRecord,
) -> AppResult<Vec<Effect>> {
    let session = event.object.get("id").and_then(Value::as_str).unwrap_or_default();
    let page = checkout_page(ports, session, event).await?;
    match (page.status, page.subscription) {
        (mas_ports::PaymentLinkStatus::Complete, Some(subscription)) => {
            memberships::signed_up(ports, request_id, reference, &subscription, &|plan| push_record(plan, record, &[]))
                .await?;
        }
        (mas_ports::PaymentLinkStatus::Expired, None) => {
            memberships::signup_expired(ports, request_id, reference).await?;
        }
        _ => tracing::info!(stripe_event_id = %event.id, "a sign-up page neither paid nor expired"),
    }
    Ok(Vec::new())
}

/// News of a membership's subscription: an invoice (`invoice.*`, naming its subscription) or
/// the subscription itself. A failed charge's attempt is kept as the event says it (the
/// dunning history); everything else is re-read from the gateway.
async fn apply_subscription(
    ports: Ports<'_>,
    request_id: &RequestId,
    event: &Received,
    record: &EventRecord,
) -> AppResult<Vec<Effect>> {
    let object = &event.object;
    let subscription = if event.kind.starts_with("invoice.") {
        mas_ports::payments::invoice_subscription(object)
    } else {
        object.get("id").and_then(Value::as_str).filter(|id| id.starts_with("sub_")).map(str::to_owned)
    };
    let Some(subscription) = subscription else {
        tracing::info!(stripe_event_id = %event.id, "an invoice of no subscription");
        return Ok(Vec::new());
    };
    let Some(reference) = memberships::of_subscription(ports.store, &subscription).await? else {
        // Not ours, or its sign-up news has not arrived yet (which re-reads it all then).
        tracing::info!(stripe_event_id = %event.id, "news of a subscription we do not know (yet)");
        return Ok(Vec::new());
    };
    let failure = (event.kind == "invoice.payment_failed")
        .then(|| {
            let invoice_id = object.get("id").and_then(Value::as_str)?.to_owned();
            let attempt = object.get("attempt_count").and_then(Value::as_u64).unwrap_or(1).clamp(1, 100) as u32;
            let next_attempt_at = object
                .get("next_payment_attempt")
                .and_then(Value::as_i64)
                .and_then(|at| DateTime::from_timestamp(at, 0));
            let pay_url = object
                .get("hosted_invoice_url")
                .and_then(Value::as_str)
                .filter(|url| url.starts_with("https://") && url.len() <= 2048)
                .map(str::to_owned);
            Some(FailedCharge { invoice_id, attempt, at: ports.store.clock.now(), next_attempt_at, pay_url })
        })
        .flatten();
    memberships::follow(ports, request_id, &reference, &subscription, failure, &|plan| push_record(plan, record, &[]))
        .await?;
    Ok(Vec::new())
}

async fn apply_session(
    ports: Ports<'_>,
    request_id: &RequestId,
    event: &Received,
    record: &EventRecord,
) -> AppResult<Vec<Effect>> {
    let Some(id) = event.object.get("id").and_then(Value::as_str).filter(|id| id.starts_with("cs_")) else {
        return Ok(Vec::new());
    };
    let Some(reference) = paylinks::session_ref(ports.store, id).await? else {
        tracing::info!(stripe_event_id = %event.id, "event about a hosted page we did not make");
        return Ok(Vec::new());
    };
    let page = checkout_page(ports, id, event).await?;
    let audit = system_audit(&reference.tenant_id, request_id);
    match (page.status, page.paid, page.payment_intent) {
        (mas_ports::PaymentLinkStatus::Complete, true, Some(intent_id)) => {
            let Some(intent_ref) = paylinks::adopt(ports.store, &audit, &reference, &intent_id).await? else {
                return Ok(Vec::new());
            };
            let intent = ports.payments.retrieve_intent(&intent_id).await?;
            let news = News::Intent(intent);
            retry::on_contention(payments::CONTENTION_RETRIES, || try_apply(ports, &audit, &intent_ref, &news, record))
                .await
        }
        (mas_ports::PaymentLinkStatus::Expired, _, _) => {
            retry::on_contention(payments::CONTENTION_RETRIES, || expire(ports, &audit, &reference, record)).await
        }
        // Completed while the money is still on its way (a bank debit): its intent's news follows.
        _ => Ok(Vec::new()),
    }
}

/// An academy enrolment's page: paid confirms the enrolment once (a replay finds it confirmed),
/// expired unpaid cancels it and gives its seat back; decided by the page as the gateway
/// reports it now.
async fn apply_enrolment(
    ports: Ports<'_>,
    request_id: &RequestId,
    event: &Received,
    reference: &mas_academy::enrolments::CheckoutRef,
) -> AppResult<Vec<Effect>> {
    let id = event.object.get("id").and_then(Value::as_str).unwrap_or_default();
    let page = checkout_page(ports, id, event).await?;
    let audit = system_audit(&reference.tenant_id, request_id);
    let settled = mas_academy::enrolments::settle(ports.store, &audit, reference, &page).await?;
    tracing::info!(stripe_event_id = %event.id, enrolment_id = %reference.enrolment_id, ?settled, "enrolment page settled");
    Ok(Vec::new())
}

async fn expire(
    ports: Ports<'_>,
    audit: &AuditContext,
    reference: &LinkRef,
    record: &EventRecord,
) -> AppResult<Vec<Effect>> {
    let now = ports.store.clock.now();
    let Some(mut plan) = paylinks::plan_expiry(ports.store, reference, now, &audit.actor).await? else {
        return Ok(Vec::new());
    };
    push_record(&mut plan, record, &[])?;
    plan.commit(ports.store, audit, "payment.link_expired", reference.link_id.as_str()).await?;
    Ok(Vec::new())
}

fn push_record(plan: &mut Plan, record: &EventRecord, effects: &[Effect]) -> AppResult<()> {
    let with_effects = EventRecord { effects: Some(effects.to_vec()), ..record.clone() };
    plan.push(with_effects.write(Some(record.mine()))?, taken_over());
    Ok(())
}

fn publish(tenant: &TenantId, kind: &str, subject: &str, at: DateTime<Utc>, payload: Value) -> Effect {
    Effect::Publish { event: DomainEvent::new(tenant, kind, subject, at, payload) }
}

fn auto_refund(tenant: &TenantId, payment: &Payment, reason: &str) -> Effect {
    Effect::Refund {
        tenant_id: tenant.clone(),
        payment_id: payment.id.clone(),
        reason: reason.to_owned(),
        key: format!("auto-{}", payment.id),
    }
}

fn booking_payload(appointment: &Appointment, payment: &Payment) -> Value {
    json!({
        "appointment_id": appointment.id,
        "client_id": appointment.client_id,
        "confirmation_number": appointment.confirmation_number,
        "start": appointment.start,
        "location_id": appointment.location_id,
        "service_id": appointment.service_id,
        "practitioner_id": appointment.practitioner_id,
        "payment_id": payment.id,
    })
}

/// The domain events a payment's change announces, each with an id fixed by what happened.
fn payment_effects(
    t: &TenantId,
    before: &Payment,
    after: &Payment,
    observed: &Observed,
    now: DateTime<Utc>,
) -> Vec<Effect> {
    let payload = payments::event_payload(after);
    let mut effects = Vec::new();
    if observed.newly_succeeded {
        effects.push(publish(t, "payment.succeeded", after.id.as_str(), now, payload.clone()));
    }
    if observed.newly_failed {
        effects.push(publish(t, "payment.failed", &format!("{}@v{}", after.id, after.version), now, payload.clone()));
    }
    // Our own refunds announce themselves once recorded; a rise in the total that a refund of
    // ours in flight explains is that refund, not another one.
    let explained =
        after.pending_refund.as_ref().is_some_and(|p| after.refunded.get() - before.refunded.get() == p.amount.get());
    if observed.refunded_more && !explained {
        effects.push(publish(
            t,
            "payment.refunded",
            &format!("{}@refunded{}", after.id, after.refunded.get()),
            now,
            payload.clone(),
        ));
    }
    if let Some(dispute) = &after.dispute {
        if observed.newly_disputed {
            effects.push(publish(t, "payment.disputed", &dispute.id, now, payload.clone()));
        }
        if observed.dispute_closed {
            effects.push(publish(t, "payment.dispute_closed", &dispute.id, now, payload));
        }
    }
    effects
}

fn timeline_lines(payment: &Payment, observed: &Observed) -> Vec<(&'static str, String)> {
    let text = |amount: i64| money_text(amount, payment.currency());
    let kind = payment.kind.as_str();
    let mut lines = Vec::new();
    if observed.newly_succeeded {
        lines.push(("payment.succeeded", format!("{} {kind} paid", text(payment.captured.get()))));
    }
    if observed.newly_failed {
        let why = payment.failure.clone().unwrap_or_else(|| "declined".into());
        lines.push((
            "payment.failed",
            format!("{} {kind} payment failed ({why})", text(payment.amount.amount_minor.get())),
        ));
    }
    if observed.refunded_more && payment.pending_refund.is_none() {
        lines.push(("payment.refunded", format!("{} refunded in total", text(payment.refunded.get()))));
    }
    if observed.newly_disputed {
        lines.push(("payment.disputed", format!("The {kind} payment is disputed by the card holder")));
    }
    if observed.dispute_closed {
        let status = payment.dispute.as_ref().map_or("closed", |d| d.status.as_str());
        lines.push(("payment.dispute_closed", format!("The dispute over the {kind} payment closed ({status})")));
    }
    lines
}

/// A Checkout Session as the gateway reports it now; the event's own copy when the gateway no
/// longer knows it (a deleted test-mode session, or a localstripe without Checkout).
async fn checkout_page(ports: Ports<'_>, id: &str, event: &Received) -> AppResult<mas_ports::PaymentLink> {
    match ports.payments.retrieve_payment_link(id).await {
        Ok(page) => Ok(page),
        Err(PaymentsError::NotFound) => mas_ports::PaymentLink::from_stripe_json(&event.object)
            .map_err(|e| AppError::Internal(format!("unreadable Checkout Session: {e}"))),
        Err(other) => Err(other.into()),
    }
}
