//! Payment links: a request that the client pay an amount (a balance the desk asked for by link,
//! or a fee no card paid) on the gateway's hosted page.
//!
//! - **Asked for** (`payments::finalize`, `fees::settle`): the link is stored `requested` and
//!   `payment.link_requested` announced in one transaction.
//! - **Made and sent** (the notifications worker, `messaging::notifications::paylink`): [`prepare`]
//!   makes the hosted page once (the gateway's idempotency key is the link's) and stores it with a
//!   reference `STRIPE#CS#{session}` → the link; the message goes out through the messaging
//!   templates and outbox, and [`record_sending`] writes `sent` (or `not_sent`, with why) and the
//!   timeline line then, never before.
//! - **Paid** (the verified webhook, `stripe_events`): the page makes its own intent when the
//!   client pays, so the link's payment is made then ([`adopt`]: the payment id is derived from
//!   the link, every write conditional on not existing) and the intent applied as any other;
//!   the link (and a fee it was for) is marked paid in the same transaction as the payment's
//!   success ([`push_paid`]). An expired page marks the link `expired` ([`plan_expiry`]).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::connect::ConnectError;
use crate::payments::{self, IntentRef, Ports};
use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::{ClientId, PayLinkId, TenantId};
use mas_domain::payment::{
    CollectionMethod, CustomerId, FeeStatus, IntentStatus, LinkPurpose, LinkStatus, PayLink, Payment, PaymentKind,
    PaymentStatus, money_text,
};
use mas_ports::payments::{BrowserCheckout, Intent, IntentRequest, PaymentLinkRequest, PaymentsError};
use mas_ports::{Condition, Query, SortKey, Write};
use mas_store::keys;
use mas_store::{AuditContext, Once, Plan, Store, TimelineEntry, from_item, retry, to_item};

/// How long a link's page takes payment (Stripe's longest).
pub const LINK_LIFETIME: Duration = Duration::hours(24);

/// What `STRIPE#CS#{session}` holds: whose link the hosted page is.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LinkRef {
    pub tenant_id: TenantId,
    pub client_id: ClientId,
    pub link_id: PayLinkId,
}

fn link_item(t: &TenantId, link: &PayLink) -> AppResult<mas_ports::Item> {
    to_item(&keys::pay_link(t, &link.client_id, &link.id), "pay_link", link)
}

/// The put of a changed link, on condition nobody changed it since it was read.
fn versioned_put(t: &TenantId, next: &PayLink) -> AppResult<Write> {
    Ok(Write::put_if(link_item(t, next)?, Condition::equals("version", next.version - 1)))
}

fn stale() -> AppError {
    AppError::contention("the payment link changed while this was being saved; try again")
}

fn id_taken() -> AppError {
    AppError::conflict("id_taken", "an id clash; try again")
}

pub async fn get(store: &Store, t: &TenantId, client: &ClientId, id: &PayLinkId) -> AppResult<Option<PayLink>> {
    store.get(&keys::pay_link(t, client, id)).await
}

/// Every payment link of the client's, oldest first.
pub async fn for_client(store: &Store, t: &TenantId, client: &ClientId) -> AppResult<Vec<PayLink>> {
    beginning(store, t, client, keys::PAY_LINK_PREFIX.into()).await
}

/// The client's payment links whose sort keys begin with `prefix`, oldest first.
pub(crate) async fn beginning(
    store: &Store,
    t: &TenantId,
    client: &ClientId,
    prefix: String,
) -> AppResult<Vec<PayLink>> {
    let query = Query::partition(keys::client_pk(t, client)).sk(SortKey::BeginsWith(prefix));
    let mut links: Vec<PayLink> =
        store.table.query_all(&query).await?.into_iter().map(from_item).collect::<AppResult<_>>()?;
    links.sort_by_key(|l| (l.created_at, l.id.to_string()));
    Ok(links)
}

/// Why a link's hosted page could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PayLinkError {
    /// The clinic cannot take online payments (no connected account that takes charges): the
    /// worker records the link as not sent, saying why.
    #[error("{}", ConnectError::NotConnected)]
    NotConnected,
    #[error(transparent)]
    Store(#[from] AppError),
}

impl From<ConnectError> for PayLinkError {
    fn from(err: ConnectError) -> Self {
        match err {
            ConnectError::NotConnected => PayLinkError::NotConnected,
            ConnectError::Store(err) => PayLinkError::Store(err),
        }
    }
}

impl From<PaymentsError> for PayLinkError {
    fn from(err: PaymentsError) -> Self {
        PayLinkError::Store(err.into())
    }
}

impl retry::Contended for PayLinkError {
    fn is_contention(&self) -> bool {
        matches!(self, PayLinkError::Store(err) if err.is_contention())
    }
}

impl From<PayLinkError> for AppError {
    fn from(err: PayLinkError) -> Self {
        match err {
            PayLinkError::NotConnected => ConnectError::NotConnected.into(),
            PayLinkError::Store(err) => err,
        }
    }
}

/// The link's hosted page, made once: the link with its address while it can still be paid;
/// `None` when it is paid, expired or gone (nothing to send). `success_url` and `cancel_url` are
/// where the page sends the client back (the clinic's site).
pub async fn prepare(
    ports: Ports<'_>,
    audit: &AuditContext,
    client: &ClientId,
    id: &PayLinkId,
    success_url: &str,
    cancel_url: &str,
) -> Result<Option<PayLink>, PayLinkError> {
    retry::on_contention(payments::CONTENTION_RETRIES, || {
        try_prepare(ports, audit, client, id, success_url, cancel_url)
    })
    .await
}

async fn try_prepare(
    ports: Ports<'_>,
    audit: &AuditContext,
    client: &ClientId,
    id: &PayLinkId,
    success_url: &str,
    cancel_url: &str,
) -> Result<Option<PayLink>, PayLinkError> {
    let (store, t) = (ports.store, &audit.tenant_id);
    let Some(link) = get(store, t, client, id).await? else { return Ok(None) };
    let now = store.clock.now();
    // Being paid in the portal: its page was stopped, and is not made again.
    if !link.payable(now) || link.in_page_intent.is_some() {
        return Ok(None);
    }
    if link.session_id.is_some() && link.url.is_some() {
        return Ok(Some(link));
    }
    let appointment = crate::records::appointment(store, t, &link.appointment_id).await?;
    let customer = customer_of(store, t, client).await?;
    // `NotConnected` when the clinic cannot take online payments (the worker records the link
    // as not sent, saying why).
    let destination = crate::connect::destination(ports, t, link.amount.amount_minor).await?;
    let metadata = link_metadata(t, &link);
    let request = PaymentLinkRequest {
        amount: link.amount.amount_minor,
        currency: link.amount.currency.clone(),
        description: format!("{} of booking {}", capitalised(link.what()), appointment.confirmation_number),
        metadata,
        idempotency_key: format!("{}-page", link.id),
        customer,
        success_url: success_url.to_owned(),
        cancel_url: cancel_url.to_owned(),
        expires_at: link.created_at.max(now) + LINK_LIFETIME,
        destination,
    };
    let page = ports.payments.create_payment_link(request).await?;
    let Some(url) = page.url.clone() else {
        // The same key answered a page that is no longer open: the webhook says what became of it.
        return Ok(None);
    };
    let mut next = link.clone();
    next.session_id = Some(page.id.clone());
    next.url = Some(url);
    next.expires_at = Some(page.expires_at);
    next.version += 1;
    next.updated_at = now;
    let reference = LinkRef { tenant_id: t.clone(), client_id: client.clone(), link_id: link.id.clone() };
    let mut plan = Plan::new();
    plan.push(versioned_put(t, &next)?, stale());
    // The same page for the same key: a concurrent worker writes the same reference.
    plan.push(Write::put(to_item(&keys::stripe_session(&page.id), "link_ref", &reference)?), stale());
    plan.commit(store, audit, "payment.link_created", link.id.as_str()).await?;
    Ok(Some(next))
}

/// The client's customer at the gateway, if she has one (her saved cards are offered).
async fn customer_of(store: &Store, t: &TenantId, client: &ClientId) -> AppResult<Option<CustomerId>> {
    Ok(store
        .get::<serde_json::Value>(&keys::stripe_customer(t, client))
        .await?
        .and_then(|stored| stored.get("customer_id").and_then(|c| c.as_str()).map(str::to_owned))
        .and_then(|c| CustomerId::parse(&c).ok()))
}

/// The ids the link's page, and any intent paying the link, carry: the webhook finds the link
/// from them ([`from_metadata`]).
fn link_metadata(t: &TenantId, link: &PayLink) -> std::collections::BTreeMap<String, String> {
    let kind = match link.purpose {
        LinkPurpose::Balance => PaymentKind::Balance,
        LinkPurpose::Fee => PaymentKind::Fee,
    };
    let mut metadata = payments::metadata(t, &link.appointment_id, &link.payment_id, kind);
    metadata.insert("client_id".into(), link.client_id.to_string());
    metadata.insert("link_id".into(), link.id.to_string());
    metadata
}

/// A link the client pays in the portal (the Payment Element), and its intent.
#[derive(Debug, Clone)]
pub struct PayingHere {
    pub link: PayLink,
    pub intent: Intent,
    /// How the browser starts the card form for it.
    pub checkout: BrowserCheckout,
}

fn link_closed() -> AppError {
    AppError::conflict("link_closed", "this payment link has been paid or has expired")
}

fn paid_on_page() -> AppError {
    AppError::conflict("link_paid", "this was just paid on the link's payment page")
}

/// The client pays the link in the portal rather than on its hosted page, which stops taking
/// payment first, so the link can be paid only one way (asking again answers the same intent):
///
/// 1. the link's own intent is made (idempotent on the link) and recorded on the link by a
///    conditional write, so the worker never makes (or sends) its page again and the page's
///    expiry no longer expires the link;
/// 2. the page, if made, is expired at the gateway; if the client paid it first, 409 `link_paid`
///    (its webhook settles the link) and this intent is never handed out;
/// 3. only then is the intent adopted as the link's payment, so every event about it applies.
///
/// 409 `link_closed` for a paid or expired link, `card_form_unavailable` where the gateway has
/// no browser checkout, `payments_not_connected` for a clinic that cannot take payments.
pub async fn pay_here(
    ports: Ports<'_>,
    audit: &AuditContext,
    client: &ClientId,
    id: &PayLinkId,
) -> AppResult<PayingHere> {
    let Some(checkout) = ports.payments.browser_checkout() else {
        return Err(AppError::conflict(
            "card_form_unavailable",
            "card payments cannot be taken in the portal here; use the link's payment page",
        ));
    };
    let (link, made) =
        retry::on_contention(payments::CONTENTION_RETRIES, || with_intent(ports, audit, client, id)).await?;
    if let Some(session) = &link.session_id {
        let page = ports.payments.expire_payment_link(session).await?;
        if page.status == mas_ports::PaymentLinkStatus::Complete {
            return Err(paid_on_page());
        }
    }
    let Some(intent_id) = link.in_page_intent.clone() else {
        return Err(AppError::Internal("a link paid here without its intent".into()));
    };
    let reference = LinkRef { tenant_id: audit.tenant_id.clone(), client_id: client.clone(), link_id: link.id.clone() };
    adopt(ports.store, audit, &reference, &intent_id).await?;
    let intent = match made {
        Some(intent) => intent,
        None => ports.payments.retrieve_intent(&intent_id).await?,
    };
    Ok(PayingHere { link, intent, checkout })
}

/// The link with its in-page intent: the one it has, or one made now and recorded on it (the
/// intent, when made here).
async fn with_intent(
    ports: Ports<'_>,
    audit: &AuditContext,
    client: &ClientId,
    id: &PayLinkId,
) -> AppResult<(PayLink, Option<Intent>)> {
    let (store, t) = (ports.store, &audit.tenant_id);
    let link = get(store, t, client, id).await?.ok_or(AppError::NotFound { what: "payment link" })?;
    let now = store.clock.now();
    if !link.payable(now) {
        return Err(link_closed());
    }
    if link.in_page_intent.is_some() {
        return Ok((link, None));
    }
    let destination = crate::connect::destination(ports, t, link.amount.amount_minor).await?;
    let request = IntentRequest {
        amount: link.amount.amount_minor,
        currency: link.amount.currency.clone(),
        metadata: link_metadata(t, &link),
        idempotency_key: format!("{}-here", link.id),
        customer: customer_of(store, t, client).await?,
        save_for_later: false,
        charge_saved_method: None,
        destination,
    };
    let intent = ports.payments.create_intent(request).await?;
    let mut next = link.clone();
    next.in_page_intent = Some(intent.id.clone());
    next.url = None;
    next.version += 1;
    next.updated_at = now;
    let mut plan = Plan::new();
    plan.push(versioned_put(t, &next)?, stale());
    plan.commit(store, audit, "payment.link_paying_here", link.id.as_str()).await?;
    Ok((next, Some(intent)))
}

fn capitalised(words: &str) -> String {
    let mut chars = words.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// What sending a link came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Sending {
    /// It reached the client on these channels.
    Sent(Vec<&'static str>),
    /// No channel took it; why.
    NotSent(String),
}

/// Records what became of sending the link, once: `sent` (from `requested` or `not_sent`, e.g.
/// a text held back by quiet hours went later) or `not_sent`, with its timeline line and audit
/// record. A link already paid or expired is left as it is.
pub async fn record_sending(store: &Store, audit: &AuditContext, link: &PayLink, sending: Sending) -> AppResult<()> {
    retry::on_contention(payments::CONTENTION_RETRIES, || try_record_sending(store, audit, link, &sending)).await
}

async fn try_record_sending(store: &Store, audit: &AuditContext, link: &PayLink, sending: &Sending) -> AppResult<()> {
    let t = &audit.tenant_id;
    let Some(current) = get(store, t, &link.client_id, &link.id).await? else { return Ok(()) };
    let now = store.clock.now();
    let text = money_text(current.amount.amount_minor.get(), &current.amount.currency);
    let mut next = current.clone();
    let (kind, summary) = match sending {
        Sending::Sent(channels) if matches!(current.status, LinkStatus::Requested | LinkStatus::NotSent) => {
            next.status = LinkStatus::Sent;
            next.sent_at = Some(now);
            next.not_sent_reason = None;
            ("payment.link_sent", format!("Payment link for {text} sent by {}", channels.join(" and ")))
        }
        Sending::NotSent(why) if current.status == LinkStatus::Requested => {
            next.status = LinkStatus::NotSent;
            next.not_sent_reason = Some(why.clone());
            ("payment.link_not_sent", format!("Payment link for {text} could not be sent: {why}"))
        }
        _ => return Ok(()),
    };
    next.version += 1;
    next.updated_at = now;
    let mut plan = Plan::new();
    plan.push(versioned_put(t, &next)?, stale());
    let entry = TimelineEntry::new(&next.client_id, now, kind, summary, Some(next.id.to_string()), &audit.actor);
    plan.push(entry.write(t)?, id_taken());
    plan.commit(store, audit, kind, next.id.as_str()).await
}

/// The link a hosted page or an intent's metadata names, if it is ours.
pub async fn find(store: &Store, reference: &LinkRef) -> AppResult<Option<PayLink>> {
    get(store, &reference.tenant_id, &reference.client_id, &reference.link_id).await
}

/// The reference of a hosted page we made.
pub async fn session_ref(store: &Store, session: &str) -> AppResult<Option<LinkRef>> {
    store.get(&keys::stripe_session(session)).await
}

/// The link an intent's metadata names (a page's intent carries the link's ids), if it exists.
pub async fn from_metadata(
    store: &Store,
    metadata: &std::collections::BTreeMap<String, String>,
) -> AppResult<Option<LinkRef>> {
    let field = |name: &str| metadata.get(name).map(String::as_str).unwrap_or_default();
    let (Ok(tenant_id), Ok(client_id), Ok(link_id)) =
        (TenantId::parse(field("tenant_id")), ClientId::parse(field("client_id")), PayLinkId::parse(field("link_id")))
    else {
        return Ok(None);
    };
    let reference = LinkRef { tenant_id, client_id, link_id };
    Ok(find(store, &reference).await?.map(|_| reference))
}

/// The link's payment for the intent its page made, made once (before the intent's news is
/// applied to it as to any other payment): the payment, its id reference and `STRIPE#PI#{pi}`,
/// each written only if absent.
pub async fn adopt(
    store: &Store,
    audit: &AuditContext,
    reference: &LinkRef,
    intent: &mas_domain::payment::IntentId,
) -> AppResult<Option<IntentRef>> {
    let t = &reference.tenant_id;
    let Some(link) = find(store, reference).await? else { return Ok(None) };
    let answer = IntentRef {
        tenant_id: t.clone(),
        appointment_id: link.appointment_id.clone(),
        payment_id: link.payment_id.clone(),
    };
    if store.get::<IntentRef>(&keys::stripe_intent(intent.as_str())).await?.is_some() {
        return Ok(Some(answer));
    }
    let now = store.clock.now();
    let zero = mas_domain::values::MinorUnits::new(0).expect("zero");
    let payment = Payment {
        id: link.payment_id.clone(),
        appointment_id: link.appointment_id.clone(),
        client_id: link.client_id.clone(),
        kind: match link.purpose {
            LinkPurpose::Balance => PaymentKind::Balance,
            LinkPurpose::Fee => PaymentKind::Fee,
        },
        collection_method: Some(CollectionMethod::EmailLink),
        intent_id: intent.clone(),
        amount: link.amount.clone(),
        captured: zero,
        refunded: zero,
        status: PaymentStatus::RequiresAction,
        intent_status: IntentStatus::RequiresPaymentMethod,
        failure: None,
        refunds: Vec::new(),
        pending_refund: None,
        dispute: None,
        save_payment_method: false,
        customer_id: None,
        payment_method_id: None,
        applied_to_sale: None,
        link_id: Some(link.id.clone()),
        destination: None,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    // Its facts arrive with the intent's news, applied next: it starts as asked for.
    let mut plan = Plan::<Once>::typed();
    payments::push_new_payment(&mut plan, t, &payment)?;
    let link_audit = AuditContext { tenant_id: t.clone(), ..audit.clone() };
    match plan.commit_as(store, &link_audit, "payment.created", payment.id.as_str()).await {
        Ok(()) | Err(Once::AlreadyDone(_)) => Ok(Some(answer)),
        Err(Once::Failed(other)) => Err(other),
    }
}

/// In the transaction that records a link's payment succeeding: the link `paid`, and the fee it
/// was for `paid` (the client's balance settled).
pub async fn push_paid(
    store: &Store,
    t: &TenantId,
    plan: &mut Plan,
    payment: &Payment,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let Some(id) = &payment.link_id else { return Ok(()) };
    let Some(link) = get(store, t, &payment.client_id, id).await? else { return Ok(()) };
    if link.status == LinkStatus::Paid {
        return Ok(());
    }
    let mut next = link.clone();
    next.status = LinkStatus::Paid;
    next.paid_at = Some(now);
    next.url = None;
    next.version += 1;
    next.updated_at = now;
    plan.push(versioned_put(t, &next)?, stale());
    if let (LinkPurpose::Fee, Some(action)) = (link.purpose, link.fee_action)
        && let Some(fee) = crate::fees::get(store, t, &link.client_id, &link.appointment_id, action).await?
        && fee.status != FeeStatus::Paid
    {
        let mut paid = fee.clone();
        paid.status = FeeStatus::Paid;
        paid.payment_id = Some(payment.id.clone());
        paid.version += 1;
        paid.updated_at = now;
        let key = keys::fee_charge(t, &paid.client_id, &paid.appointment_id, action.as_str());
        plan.push(
            Write::put_if(to_item(&key, "fee_charge", &paid)?, Condition::equals("version", fee.version)),
            stale(),
        );
    }
    Ok(())
}

/// The writes that mark a link's page expired (unless it was paid), with its timeline line.
pub async fn plan_expiry(
    store: &Store,
    reference: &LinkRef,
    now: DateTime<Utc>,
    actor: &str,
) -> AppResult<Option<Plan>> {
    let t = &reference.tenant_id;
    let Some(link) = find(store, reference).await? else { return Ok(None) };
    // A page stopped for the portal's payment: the link is still payable there.
    if !link.status.is_open() || link.in_page_intent.is_some() {
        return Ok(None);
    }
    let mut next = link.clone();
    next.status = LinkStatus::Expired;
    next.url = None;
    next.version += 1;
    next.updated_at = now;
    let mut plan = Plan::new();
    plan.push(versioned_put(t, &next)?, stale());
    let text = money_text(link.amount.amount_minor.get(), &link.amount.currency);
    let entry = TimelineEntry::new(
        &link.client_id,
        now,
        "payment.link_expired",
        format!("Payment link for {text} expired unpaid"),
        Some(link.id.to_string()),
        actor,
    );
    plan.push(entry.write(t)?, id_taken());
    Ok(Some(plan))
}
