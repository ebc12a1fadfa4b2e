//! From domain events to messages (and, for a confirmed booking, its consent forms): a booking's
//! notices go at once; its reminders become due
//! items (sparse, on GSI1 hour buckets) that the sweep enqueues when their time comes. Every
//! step is idempotent and reads the appointment as it is now, so duplicated or reordered events
//! converge on the same plan.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Digest;

use super::{Delivery, Notifier, deliver, message_id, settings};
use mas_booking::appointments;
use mas_catalog::catalog::Catalog;
use mas_domain::appointment::{Appointment, AppointmentStatus};
use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::{AppointmentId, ClientId, ServiceId, TenantId};
use mas_domain::notifications::{self, Channel, MessageKind, Planned, Variables};
use mas_ports::queue::QueueMessage;
use mas_ports::table::{GSI1PK, GSI1SK};
use mas_ports::{DomainEvent, Query, QueueName, SortKey, Write};
use mas_store::keys;
use mas_store::{from_item, to_item};

/// What a due item does when its time comes: send a message, or release a deposit hold that
/// ran out (`booking.held`). Stored and queued as one name (a message kind's own, or
/// `deposit_hold_end`), so the items planned before holds had theirs still read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum DueKind {
    Message(MessageKind),
    DepositHoldEnd,
}

impl DueKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DueKind::Message(kind) => kind.as_str(),
            DueKind::DepositHoldEnd => "deposit_hold_end",
        }
    }

    pub fn parse(raw: &str) -> Option<DueKind> {
        match raw {
            "deposit_hold_end" => Some(DueKind::DepositHoldEnd),
            other => MessageKind::parse(other).map(DueKind::Message),
        }
    }
}

impl From<MessageKind> for DueKind {
    fn from(kind: MessageKind) -> Self {
        DueKind::Message(kind)
    }
}

impl From<DueKind> for String {
    fn from(kind: DueKind) -> Self {
        kind.as_str().to_owned()
    }
}

impl TryFrom<String> for DueKind {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        DueKind::parse(&raw).ok_or_else(|| format!("no due item is called {raw:?}"))
    }
}

/// A reminder (or a hold's end) waiting for its time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DueItem {
    pub tenant_id: TenantId,
    /// The appointment (or signing session, or waitlist entry) it is about.
    pub subject: String,
    pub client_id: ClientId,
    pub kind: DueKind,
    pub channels: Vec<Channel>,
    pub due_at: DateTime<Utc>,
    pub useful_until: DateTime<Utc>,
    /// For a booking reminder: the start it was planned for (a move re-plans and re-sends).
    pub planned_start: Option<DateTime<Utc>>,
}

/// Which shard of an hour bucket a subject's reminders go to.
fn shard(tenant: &TenantId, subject: &str) -> u32 {
    let digest = sha2::Sha256::digest(format!("{tenant}|{subject}").as_bytes());
    u32::from(digest[0]) % keys::DUE_SHARDS
}
fn due_write(item: &DueItem) -> AppResult<Write> {
    let key = keys::reminder(&item.tenant_id, &item.subject, item.kind.as_str());
    let mut stored = to_item(&key, "reminder", item)?;
    // One the sweep never saw (it was down longer than its look-back) expires a week after it
    // stopped being useful, rather than stay forever.
    stored.insert(mas_ports::table::TTL.into(), (item.useful_until + Duration::days(7)).timestamp().into());
    stored.insert(GSI1PK.into(), keys::due_bucket(item.due_at, shard(&item.tenant_id, &item.subject)).into());
    stored.insert(
        GSI1SK.into(),
        format!("{}#{}#{}#{}", item.due_at.to_rfc3339(), item.tenant_id, item.subject, item.kind.as_str()).into(),
    );
    Ok(Write::put(stored))
}

/// A due reminder as the sweep puts it on the notify queue (`Work::parse` reads it back).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DueJob {
    job: &'static str,
    pub tenant_id: TenantId,
    pub subject: String,
    pub kind: DueKind,
}

impl QueueMessage for DueJob {
    const QUEUE: QueueName = QueueName::Notify;
}

/// What a worker message asks for: a domain event from the bus, or a due reminder from the sweep.
#[derive(Debug, Clone, PartialEq)]
pub enum Work {
    Event(DomainEvent),
    Due { tenant_id: TenantId, subject: String, kind: DueKind },
}

impl Work {
    /// Reads an EventBridge event as SQS delivers it (the envelope in `detail`), or a sweep job.
    pub fn parse(body: &Value) -> AppResult<Work> {
        if let Some(detail) = body.get("detail") {
            return serde_json::from_value(detail.clone())
                .map(Work::Event)
                .map_err(|e| AppError::Internal(format!("unreadable event: {e}")));
        }
        let field = |name: &str| body.get(name).and_then(Value::as_str).unwrap_or_default();
        match (TenantId::parse(field("tenant_id")), DueKind::parse(field("kind")), field("subject")) {
            (Ok(tenant_id), Some(kind), subject) if !subject.is_empty() => {
                Ok(Work::Due { tenant_id, subject: subject.to_owned(), kind })
            }
            _ => Err(AppError::Internal("a notification job needs tenant_id, subject and kind".into())),
        }
    }

    pub fn due_job(item: &DueItem) -> DueJob {
        DueJob { job: "due", tenant_id: item.tenant_id.clone(), subject: item.subject.clone(), kind: item.kind }
    }

    /// The body an EventBridge rule puts on the queue (the local bus sends the same).
    pub fn event_body(event: &DomainEvent) -> Value {
        json!({
            "version": "0",
            "id": event.id,
            "detail-type": event.kind,
            "source": mas_ports::events::EVENT_SOURCE,
            "time": event.occurred_at,
            "detail": event,
        })
    }
}

/// The event kinds the notifications worker subscribes to (template.yaml's rule says the same;
/// a test holds them together). `client.erased` is the erasure's side effect at the payment
/// gateway (`gdpr::after_erasure`), done by the same worker and its retries; `payment.fee_due`
/// charges a fee above the deposit (`booking::fees`), and `payment.link_requested` makes and
/// sends a payment link (`paylink`), both with their retries.
pub const SUBSCRIBED: [&str; 18] = [
    mas_booking::appointments::BOOKING_HELD,
    "booking.confirmed",
    "booking.rescheduled",
    "booking.cancelled",
    "booking.completed",
    "booking.no_show",
    "payment.succeeded",
    "document.signature_requested",
    mas_context::announcements::CLIENT_ERASED,
    mas_booking::fees::FEE_DUE,
    mas_context::announcements::PAYMENT_LINK_REQUESTED,
    mas_documents::receipts::RECEIPT_ISSUED,
    mas_booking::gift_cards::GIFT_CARD_ISSUED,
    mas_booking::waitlist::WAITLIST_OFFERED,
    mas_booking::waitlist::WAITLIST_RELEASED,
    mas_booking::memberships::MEMBERSHIP_PAYMENT_FAILED,
    mas_booking::memberships::MEMBERSHIP_STARTED,
    mas_booking::stock::STOCK_LOW,
];

/// Emails a gift card's code to the person it is for (transactional, email only, once per
/// card), from the copy sealed for it, which is then deleted: from then on only its owner has
/// the code. A card for nobody with an email is sent nothing.
async fn gift_card_issued(n: &Notifier, event: &DomainEvent) -> AppResult<()> {
    use mas_booking::gift_cards;
    let t = &event.tenant_id;
    let id = event.payload.get("gift_card_id").and_then(Value::as_str).unwrap_or_default();
    let id =
        mas_domain::ids::GiftCardId::parse(id).map_err(|e| AppError::Internal(format!("gift_card.issued: {}", e.0)))?;
    let card = gift_cards::get(&n.store, t, &id).await?;
    let Some(client) = card.recipient_client_id.clone() else { return Ok(()) };
    let Some(code) = gift_cards::mail_code(&n.store, &n.keyring, t, &id).await? else { return Ok(()) };
    let expiry = match card.expires_at {
        Some(at) => format!("It is valid until {}.", at.format("%-d %B %Y")),
        None => "It never expires.".to_owned(),
    };
    let vars = with_portal_url(
        n,
        t,
        [
            ("gift_card.amount", mas_domain::payment::money_text(card.initial_minor, &card.currency)),
            ("gift_card.code", code),
            ("gift_card.expiry", expiry),
        ],
    )
    .await?;
    let delivery = Delivery {
        tenant: t.clone(),
        client: client.clone(),
        kind: MessageKind::GiftCard,
        subject: card.id.to_string(),
        channels: vec![Channel::Email],
        vars: vars.clone(),
    };
    deliver(n, &delivery).await?;
    // Bought online by someone else: their confirmation (never the code).
    if let (mas_domain::gift_card::SoldVia::Online { .. }, Some(buyer)) = (&card.sold_via, &card.buyer_client_id)
        && buyer != &client
    {
        let mut vars = vars;
        vars.remove("gift_card.code");
        vars.insert("gift_card.recipient".into(), card.recipient.name.to_string());
        vars.insert("gift_card.last4".into(), card.code_last4.clone());
        let confirmation = Delivery {
            tenant: t.clone(),
            client: buyer.clone(),
            kind: MessageKind::GiftCardPurchase,
            subject: card.id.to_string(),
            channels: vec![Channel::Email],
            vars,
        };
        deliver(n, &confirmation).await?;
    }
    gift_cards::forget_mail_code(&n.store, t, &id).await
}

/// A member's renewal failed: she is told once per failed attempt (email and the clinic's notice
/// channels), with the gateway's page to pay or change her card, and when it tries again.
async fn membership_payment_failed(n: &Notifier, event: &DomainEvent) -> AppResult<()> {
    let t = &event.tenant_id;
    let text = |name: &str| event.payload.get(name).and_then(Value::as_str).map(str::to_owned);
    let client = text("client_id").and_then(|c| ClientId::parse(&c).ok());
    let (Some(client), Some(link)) = (client, text("pay_url")) else {
        // No page to send her to (the gateway gave none): the clinic's list shows the failure.
        return Ok(());
    };
    let currency = text("currency").and_then(|c| mas_domain::values::Currency::parse(&c).ok()).unwrap_or_default();
    let amount = event.payload.get("amount_minor").and_then(Value::as_i64).unwrap_or_default();
    let retry = match event.payload.get("next_attempt_at").and_then(Value::as_str) {
        Some(at) => format!("We will try your card again on {}.", &at[..at.len().min(10)]),
        None => "We will not try your card again: please pay on the link below.".to_owned(),
    };
    let vars = with_portal_url(
        n,
        t,
        [
            ("membership.plan", text("plan").unwrap_or_default()),
            ("membership.amount", mas_domain::payment::money_text(amount, &currency)),
            ("membership.retry", retry),
            ("link", link),
        ],
    )
    .await?;
    let delivery = Delivery {
        tenant: t.clone(),
        client,
        kind: MessageKind::MembershipPaymentFailed,
        subject: event.id.to_string(),
        channels: settings(&n.store, t).await?.notice_channels,
        vars,
    };
    deliver(n, &delivery).await.map(drop)
}

/// A membership the desk started: its sign-up page, to the client (once per membership, on
/// the clinic's notice channels). A page the gateway gave no address for is not sent.
async fn membership_started(n: &Notifier, event: &DomainEvent) -> AppResult<()> {
    let t = &event.tenant_id;
    let text = |name: &str| event.payload.get(name).and_then(Value::as_str).map(str::to_owned);
    let client = text("client_id").and_then(|c| ClientId::parse(&c).ok());
    let (Some(client), Some(link)) = (client, text("signup_url")) else { return Ok(()) };
    let currency = text("currency").and_then(|c| mas_domain::values::Currency::parse(&c).ok()).unwrap_or_default();
    let amount = event.payload.get("amount_minor").and_then(Value::as_i64).unwrap_or_default();
    let expires = text("expires_at")
        .and_then(|at| DateTime::parse_from_rfc3339(&at).ok())
        .map(|at| at.format("%-d %B %Y, %H:%M UTC").to_string())
        .unwrap_or_default();
    let vars = with_portal_url(
        n,
        t,
        [
            ("membership.plan", text("plan").unwrap_or_default()),
            ("membership.amount", mas_domain::payment::money_text(amount, &currency)),
            ("link", link),
            ("link.expires", expires),
        ],
    )
    .await?;
    let delivery = Delivery {
        tenant: t.clone(),
        client,
        kind: MessageKind::MembershipSignup,
        subject: text("membership_id").unwrap_or_else(|| event.id.to_string()),
        channels: settings(&n.store, t).await?.notice_channels,
        vars,
    };
    deliver(n, &delivery).await.map(drop)
}

/// A message's variables: `pairs`, and `portal.url`, the clinic's portal (where the client finds
/// what the message is about).
async fn with_portal_url<const N: usize>(
    n: &Notifier,
    t: &TenantId,
    pairs: [(&str, String); N],
) -> AppResult<Variables> {
    let tenant = mas_accounts::tenants::tenant(&n.store, t).await?;
    let portal = mas_context::app::portal_url(n.public_url.as_deref(), &n.site_domain, &tenant.slug);
    Ok(pairs.into_iter().chain([("portal.url", portal)]).map(|(k, v)| (k.to_owned(), v)).collect())
}

/// Emails a sale's client their receipt or credit note (transactional, email only, once per
/// receipt): where to download it (their portal) and its stamp. A sale without a client, or a
/// client without an email or consent, is recorded as skipped by `deliver`.
async fn receipt_issued(n: &Notifier, event: &DomainEvent) -> AppResult<()> {
    let t = &event.tenant_id;
    let field = |name: &str| event.payload.get(name).and_then(Value::as_str).map(str::to_owned);
    let Some(client) = field("client_id") else { return Ok(()) };
    let client = ClientId::parse(&client).map_err(|e| AppError::Internal(e.0))?;
    let sale = mas_domain::ids::SaleId::parse(&field("sale_id").unwrap_or_default())
        .map_err(|e| AppError::Internal(format!("receipt.issued: {}", e.0)))?;
    let seq = event.payload.get("correction_seq").and_then(Value::as_u64).unwrap_or(0) as u32;
    let receipt: mas_domain::receipt::Receipt = n
        .store
        .get(&keys::receipt(t, &sale, seq))
        .await?
        .ok_or_else(|| AppError::Internal(format!("receipt {sale}#{seq} is missing")))?;
    let vars = with_portal_url(
        n,
        t,
        [
            ("receipt.title", receipt.kind.title().to_lowercase()),
            ("receipt.number", receipt.number.clone()),
            ("receipt.amount", mas_domain::payment::money_text(receipt.amount_minor, &receipt.currency)),
            ("receipt.stamp", receipt.stamp.to_string()),
        ],
    )
    .await?;
    let delivery = Delivery {
        tenant: t.clone(),
        client,
        kind: MessageKind::Receipt,
        subject: receipt.number,
        channels: vec![Channel::Email],
        vars,
    };
    deliver(n, &delivery).await.map(drop)
}

/// Handles one worker message.
pub async fn handle(n: &Notifier, body: &Value) -> AppResult<()> {
    match Work::parse(body)? {
        Work::Event(event) => on_event(n, &event).await,
        Work::Due { tenant_id, subject, kind } => deliver_due(n, &tenant_id, &subject, kind).await,
    }
}

pub async fn on_event(n: &Notifier, event: &DomainEvent) -> AppResult<()> {
    let t = &event.tenant_id;
    let appointment_id =
        || event.payload.get("appointment_id").and_then(Value::as_str).and_then(|s| AppointmentId::parse(s).ok());
    match event.kind.as_str() {
        "booking.confirmed" | "booking.rescheduled" | "booking.cancelled" | "booking.completed" | "booking.no_show" => {
            let Some(id) = appointment_id() else {
                return Err(AppError::Internal(format!("{} without appointment_id", event.kind)));
            };
            let appointment = appointments::get(&n.store, t, &id).await?;
            if event.kind == "booking.confirmed" {
                // Its consent and aftercare forms (idempotent per appointment, kind and topic).
                mas_documents::documents::generate_for_confirmed_booking(&n.store, n.queue.as_ref(), t, &id).await?;
            }
            if !appointment.is_visit_lead() {
                // A visit's client hears once, through its lead (whose notices name every service).
                return Ok(());
            }
            replan(n, t, &appointment).await?;
            let notice = match event.kind.as_str() {
                "booking.confirmed" => Some((MessageKind::Confirmation, booking_subject(&appointment))),
                "booking.rescheduled" => Some((MessageKind::RescheduleNotice, booking_subject(&appointment))),
                "booking.cancelled" => Some((MessageKind::CancellationNotice, appointment.id.to_string())),
                _ => None,
            };
            if matches!(event.kind.as_str(), "booking.cancelled" | "booking.rescheduled") {
                // Time given up: the next waiter's (before the notice, whose failure retries both).
                super::waitlist::on_booking_event(n, event, &appointment).await?;
            }
            if event.kind == "booking.completed" {
                super::reviews::on_completed(n, t, &appointment).await?;
            }
            if let Some((kind, subject)) = notice {
                let (vars, _) = booking_vars(n, t, &appointment).await?;
                let channels = settings(&n.store, t).await?.notice_channels;
                deliver(
                    n,
                    &Delivery {
                        tenant: t.clone(),
                        client: appointment.client_id.clone(),
                        kind,
                        subject,
                        channels,
                        vars,
                    },
                )
                .await?;
            }
            Ok(())
        }
        "payment.succeeded" if event.payload.get("kind").and_then(Value::as_str) == Some("deposit") => {
            let Some(id) = appointment_id() else { return Ok(()) };
            let appointment = appointments::get(&n.store, t, &id).await?;
            let (mut vars, _) = booking_vars(n, t, &appointment).await?;
            let amount = event.payload.get("captured_minor").and_then(Value::as_i64).unwrap_or_default();
            let currency = event.payload.get("currency").and_then(Value::as_str).unwrap_or("GBP");
            let currency = mas_domain::values::Currency::parse(currency).unwrap_or_default();
            vars.insert("payment.amount".into(), mas_domain::payment::money_text(amount, &currency));
            let subject = event.payload.get("payment_id").and_then(Value::as_str).unwrap_or(id.as_str()).to_owned();
            let delivery = Delivery {
                tenant: t.clone(),
                client: appointment.client_id.clone(),
                kind: MessageKind::DepositReceipt,
                subject,
                channels: vec![Channel::Email],
                vars,
            };
            deliver(n, &delivery).await.map(drop)
        }
        mas_booking::appointments::BOOKING_HELD => super::holds::on_held(n, event).await,
        mas_documents::receipts::RECEIPT_ISSUED => receipt_issued(n, event).await,
        mas_booking::gift_cards::GIFT_CARD_ISSUED => gift_card_issued(n, event).await,
        mas_booking::waitlist::WAITLIST_OFFERED => super::waitlist::on_offered(n, event).await,
        mas_booking::waitlist::WAITLIST_RELEASED => super::waitlist::on_released(n, event).await,
        mas_booking::memberships::MEMBERSHIP_PAYMENT_FAILED => membership_payment_failed(n, event).await,
        mas_booking::memberships::MEMBERSHIP_STARTED => membership_started(n, event).await,
        mas_booking::stock::STOCK_LOW => super::stock::on_low(n, event).await,
        "document.signature_requested" => {
            let field = |name: &str| event.payload.get(name).and_then(Value::as_str).map(str::to_owned);
            let (Some(session), Some(client)) = (field("session_id"), field("client_id")) else {
                return Err(AppError::Internal("document.signature_requested without session_id or client_id".into()));
            };
            let client = ClientId::parse(&client).map_err(|e| AppError::Internal(e.0))?;
            super::signing::notify_signer(n, t, &session, &client).await
        }
        _ => Ok(()),
    }
}

/// A booking's notices and reminders are about the appointment at one start: a move sends again.
pub fn booking_subject(appointment: &Appointment) -> String {
    format!("{}@{}", appointment.id, appointment.start.timestamp())
}

/// Statuses whose reminders still stand.
fn keeps_reminders(status: AppointmentStatus) -> bool {
    matches!(
        status,
        AppointmentStatus::Scheduled
            | AppointmentStatus::CheckedIn
            | AppointmentStatus::InProgress
            | AppointmentStatus::Completed
    )
}

/// Makes the stored reminders of `appointment` what its current state calls for: planned from
/// now when it stands, none when it was cancelled or missed. Items already due are left to the
/// sender, which checks the appointment again before sending.
pub async fn replan(n: &Notifier, t: &TenantId, appointment: &Appointment) -> AppResult<()> {
    let now = n.store.clock.now();
    let wanted: Vec<Planned> = if keeps_reminders(appointment.status) {
        let settings = settings(&n.store, t).await?;
        notifications::plan(appointment.start, appointment.end, appointment.timezone.tz(), &settings, now)
    } else {
        Vec::new()
    };
    let subject = appointment.id.to_string();
    let stored: Vec<DueItem> = n
        .store
        .table
        .query_all(&Query::partition(keys::reminder_plan(t, &subject)))
        .await?
        .into_iter()
        .map(from_item)
        .collect::<AppResult<_>>()?;
    let mut writes = Vec::new();
    for old in &stored {
        if old.due_at > now && !wanted.iter().any(|w| DueKind::Message(w.kind) == old.kind) {
            writes.push(Write::delete(keys::reminder(t, &subject, old.kind.as_str())));
        }
    }
    for planned in wanted {
        let item = DueItem {
            tenant_id: t.clone(),
            subject: subject.clone(),
            client_id: appointment.client_id.clone(),
            kind: planned.kind.into(),
            channels: planned.channels,
            due_at: planned.due_at,
            useful_until: planned.useful_until,
            planned_start: Some(appointment.start),
        };
        if stored.contains(&item) {
            continue;
        }
        writes.push(due_write(&item)?);
    }
    for chunk in writes.chunks(mas_ports::table::MAX_TRANSACTION_WRITES) {
        n.store.table.transact(chunk.to_vec()).await?;
    }
    Ok(())
}

/// Stores many planned reminders (a hundred per transaction): imports and benchmarks.
pub async fn plan_all(n: &Notifier, items: &[DueItem]) -> AppResult<()> {
    for chunk in items.chunks(mas_ports::table::MAX_TRANSACTION_WRITES) {
        n.store.table.transact(chunk.iter().map(due_write).collect::<AppResult<_>>()?).await?;
    }
    Ok(())
}

/// Plans one reminder for a subject that is not a booking (a signature reminder).
pub async fn plan_one(n: &Notifier, item: DueItem) -> AppResult<()> {
    n.store.table.transact(vec![due_write(&item)?]).await?;
    Ok(())
}

/// The variables of a booking's messages, all on the location's wall clock.
pub async fn booking_vars(n: &Notifier, t: &TenantId, appointment: &Appointment) -> AppResult<(Variables, Catalog)> {
    let catalog = Catalog::load(&n.store, t).await?;
    let mut vars = Variables::new();
    // A visit's lead names every service of the visit, in order.
    let service_ids: Vec<&ServiceId> = match &appointment.visit {
        Some(visit) => visit.parts.iter().map(|p| &p.service_id).collect(),
        None => vec![&appointment.service_id],
    };
    let names: Vec<String> = service_ids
        .iter()
        .filter_map(|id| catalog.services.iter().find(|s| &&s.id == id))
        .map(|s| s.data.name.to_string())
        .collect();
    if !names.is_empty() {
        vars.insert("service.name".into(), names.join(", then "));
    }
    if let Some(location) = catalog.locations.iter().find(|l| l.id == appointment.location_id) {
        vars.insert("location.name".into(), location.data.name.to_string());
    }
    vars.insert("appointment.when".into(), notifications::local_when(appointment.start, appointment.timezone.tz()));
    vars.insert("appointment.number".into(), appointment.confirmation_number.clone());
    Ok((vars, catalog))
}

/// Sends one due reminder if it still stands and is still useful, then removes it.
pub async fn deliver_due(n: &Notifier, t: &TenantId, subject: &str, kind: DueKind) -> AppResult<()> {
    let key = keys::reminder(t, subject, kind.as_str());
    let Some(item) = n.store.get::<DueItem>(&key).await? else { return Ok(()) };
    let now = n.store.clock.now();
    if item.due_at > now + Duration::minutes(1) {
        // Re-planned to later since it was enqueued: the sweep brings it back then.
        return Ok(());
    }
    let remove = || Write::delete_if(key.clone(), mas_ports::Condition::equals("due_at", json!(item.due_at)));
    if now > item.useful_until {
        tracing::info!(tenant_id = %t, subject, kind = kind.as_str(), "reminder dropped: too late to be useful");
        skip_late(n, &item).await?;
        return forget(n, remove()).await;
    }
    let kind = match kind {
        DueKind::Message(kind) => kind,
        DueKind::DepositHoldEnd if super::holds::release_due(n, t, &item).await? => return forget(n, remove()).await,
        DueKind::DepositHoldEnd => return Ok(()),
    };
    let delivery = match item.planned_start {
        Some(planned_start) => {
            let id = AppointmentId::parse(subject).map_err(|e| AppError::Internal(e.0))?;
            let appointment = appointments::get(&n.store, t, &id).await?;
            if !keeps_reminders(appointment.status) || appointment.start != planned_start {
                return forget(n, remove()).await;
            }
            let (vars, _) = booking_vars(n, t, &appointment).await?;
            Delivery {
                tenant: t.clone(),
                client: item.client_id.clone(),
                kind,
                subject: booking_subject(&appointment),
                channels: item.channels.clone(),
                vars,
            }
        }
        None if kind == MessageKind::WaitlistOffer => {
            super::waitlist::expire_due(n, t, &item).await?;
            return forget(n, remove()).await;
        }
        None if kind == MessageKind::PaymentLink => {
            super::paylink::send_due(n, t, &item).await?;
            return forget(n, remove()).await;
        }
        None => match super::signing::reminder_delivery(n, t, &item).await? {
            Some(delivery) => delivery,
            None => return forget(n, remove()).await,
        },
    };
    deliver(n, &delivery).await?;
    forget(n, remove()).await
}

/// A too-late reminder is logged as skipped on each channel, so the log explains the silence.
async fn skip_late(n: &Notifier, item: &DueItem) -> AppResult<()> {
    let DueKind::Message(kind) = item.kind else { return Ok(()) };
    let now = n.store.clock.now();
    let subject = match item.planned_start {
        Some(start) => format!("{}@{}", item.subject, start.timestamp()),
        None => item.subject.clone(),
    };
    for &channel in &item.channels {
        let record = super::MessageRecord {
            id: message_id(&item.tenant_id, &subject, kind, channel),
            client_id: item.client_id.clone(),
            kind: Some(kind),
            channel,
            direction: "outbound".into(),
            subject: subject.clone(),
            to: None,
            status: super::MessageStatus::Skipped,
            reason: Some(format!(
                "too late: it was due at {} and useful until {}",
                item.due_at.to_rfc3339(),
                item.useful_until.to_rfc3339()
            )),
            summary: kind.as_str().replace('_', " "),
            provider_id: None,
            created_at: now,
            updated_at: now,
            lease_until: super::FOREVER,
        };
        super::finish(n, &item.tenant_id, &record, None, true).await?;
    }
    Ok(())
}

async fn forget(n: &Notifier, remove: Write) -> AppResult<()> {
    match n.store.table.transact(vec![remove]).await {
        // Re-planned meanwhile: the new item stays.
        Ok(()) | Err(mas_ports::TableError::ConditionFailed { .. }) => Ok(()),
        Err(other) => Err(other.into()),
    }
}

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    /// Query pages read from the table.
    pub reads: usize,
    pub enqueued: usize,
}

/// How far back the sweep looks: no reminder is useful more than this late (its `useful_until`
/// says so), and the sender drops one that is.
pub const SWEEP_LOOKBACK_HOURS: i64 = notifications::MAX_LATENESS_HOURS;
const SWEEP_PAGE: u32 = 1000;

/// Enqueues every reminder due by `now` (from the hour buckets of the lookback window).
pub async fn sweep(n: &Notifier) -> AppResult<SweepReport> {
    let now = n.store.clock.now();
    let mut report = SweepReport::default();
    let upper = format!("{}~", now.to_rfc3339());
    let mut hour = now - Duration::hours(SWEEP_LOOKBACK_HOURS);
    while hour <= now {
        for shard in 0..keys::DUE_SHARDS {
            let mut cursor = None;
            loop {
                let query = Query::gsi1(keys::due_bucket(hour, shard))
                    .sk(SortKey::Le(upper.clone()))
                    .limit(SWEEP_PAGE)
                    .after(cursor.take());
                let page = n.store.table.query(&query).await?;
                report.reads += 1;
                let mut jobs = Vec::with_capacity(page.items.len());
                for item in page.items {
                    let item: DueItem = from_item(item)?;
                    jobs.push(Work::due_job(&item));
                }
                report.enqueued += jobs.len();
                n.queue.enqueue_all(&jobs).await.map_err(AppError::backend("queue"))?;
                match page.cursor {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
        }
        hour += Duration::hours(1);
    }
    report.reads += mas_store::events_outbox::republish(&n.store, n.events.as_ref(), now).await?;
    Ok(report)
}

#[cfg(test)]
mod due_job_tests {
    use super::*;

    #[test]
    fn every_kind_of_due_job_reads_back_as_the_reminder_the_sweep_queued() {
        let tenant_id = TenantId::parse("ten_glow").unwrap();
        let kinds = MessageKind::ALL.into_iter().map(DueKind::Message).chain([DueKind::DepositHoldEnd]);
        for kind in kinds {
            let job = DueJob { job: "due", tenant_id: tenant_id.clone(), subject: "apt_1".into(), kind };
            let body = serde_json::to_value(&job).unwrap();
            assert_eq!(
                Work::parse(&body).unwrap(),
                Work::Due { tenant_id: tenant_id.clone(), subject: "apt_1".into(), kind },
                "{body}"
            );
        }
    }
}
