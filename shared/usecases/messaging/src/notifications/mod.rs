//! Telling clients things: one delivery path for every message (booking notices, planned
//! reminders, sign-in and signing links), each message on each channel sent at most once.
//!
//! A message's id is derived from what it is about (`tenant`, subject, kind, channel), and its
//! record is also its claim: a sender first writes the record as `sending` with a short lease
//! (only if absent or its lease ran out), then sends, then marks it `sent` for good. A duplicate
//! delivery finds the claim and sends nothing; a sender that crashed before sending leaves a
//! lease that runs out, so the retry sends it. (A crash after the provider accepted but before
//! the mark is the one window left: the retry after the lease would send it again.)

pub mod holds;
pub mod inbound;
pub mod paylink;
pub mod plan;
pub mod reviews;
pub mod signing;
pub mod stock;
pub mod waitlist;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use mas_clients::clients;
use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::{ClientId, MessageId, TenantId};
use mas_domain::notifications::{self, Channel, MessageKind, NotificationSettings, Preferences, Purpose, Variables};
use mas_ports::messages::{Mailer, OutgoingEmail, OutgoingSms, SendError, SmsSender};
use mas_ports::table::{GSI1PK, GSI1SK};
use mas_ports::{Condition, Events, Query, Queue, Write};
use mas_store::keys;
use mas_store::{AuditContext, Once, Plan, Store, TimelineEntry, from_item, to_item};

/// How long a claim keeps other senders off a message.
const LEASE_SECONDS: i64 = 60;
/// The lease of a message that is finished (sent, skipped, undeliverable): never runs out.
const FOREVER: i64 = i64::MAX;

/// What the messaging code needs: the table, the channels, the queue and bus, and where links
/// and callbacks point.
#[derive(Clone)]
pub struct Notifier {
    pub store: Store,
    pub mailer: Arc<dyn Mailer>,
    pub sms: Arc<dyn SmsSender>,
    pub queue: Arc<dyn Queue>,
    pub events: Arc<dyn Events>,
    /// The address mail is sent from; the clinic's name is its display name.
    pub mail_from: String,
    /// Signs e-sign links (the same secret as the signing pages).
    pub links: Arc<mas_domain::links::LinkSigner>,
    /// Base URL of our public endpoints (status callbacks, unsubscribe links); `None`: none.
    pub public_url: Option<String>,
    /// The platform's domain for clinics' sites (where a clinic's portal is).
    pub site_domain: String,
    /// The clinics' data keys (a gift card's code is sealed for its email).
    pub keyring: Arc<mas_store::crypto::Keyring>,
}

impl Notifier {
    /// What the messaging code works with, from the app a host built.
    pub fn of(app: &mas_context::app::App) -> Notifier {
        Notifier {
            store: app.store.clone(),
            mailer: app.mailer.clone(),
            sms: app.sms.clone(),
            queue: app.queue.clone(),
            events: app.events.clone(),
            mail_from: app.mail_from.clone(),
            links: app.links.clone(),
            public_url: app.public_url.clone(),
            site_domain: app.config.site_domain.clone(),
            keyring: app.keyring.clone(),
        }
    }
}

/// A message a caller asks to send now, outside any plan.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    /// The client portal's single-use sign-in link.
    PortalLink { url: String, expires_at: DateTime<Utc> },
    /// A document waits for the client's signature.
    SignatureRequest { session_id: String, document_title: String, url: String, expires_at: DateTime<Utc> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    /// Claimed by a sender that has not finished (or crashed; the lease tells).
    Sending,
    /// The provider accepted it.
    Sent,
    /// The provider reported it reached the handset or mailbox.
    Delivered,
    /// The provider reported it could not be delivered, or we could not render it (a template
    /// variable missing): `reason` says which.
    Failed,
    /// Refused for this address for good (invalid, unsubscribed at the provider).
    Undeliverable,
    /// Not sent on purpose: no consent, no address, too late, or a template variable missing.
    Skipped,
    /// A message the client sent us.
    Received,
}

impl MessageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Sending => "sending",
            MessageStatus::Sent => "sent",
            MessageStatus::Delivered => "delivered",
            MessageStatus::Failed => "failed",
            MessageStatus::Undeliverable => "undeliverable",
            MessageStatus::Skipped => "skipped",
            MessageStatus::Received => "received",
        }
    }
}

/// One message on one channel, as the log shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MessageRecord {
    pub id: MessageId,
    pub client_id: ClientId,
    /// `None` for a message the client sent.
    pub kind: Option<MessageKind>,
    pub channel: Channel,
    /// `outbound` or `inbound`.
    pub direction: String,
    /// What it is about: an appointment (with its start), a payment, a signing session.
    pub subject: String,
    pub to: Option<String>,
    pub status: MessageStatus,
    /// Why it was skipped, refused or failed.
    pub reason: Option<String>,
    /// The email subject or the SMS text.
    pub summary: String,
    pub provider_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Epoch seconds until which a `sending` claim holds.
    #[serde(default)]
    #[schema(ignore)]
    pub lease_until: i64,
}

/// The id of `kind` about `subject` to a client of `tenant` on `channel`: the same message
/// always gets the same id.
pub fn message_id(tenant: &TenantId, subject: &str, kind: MessageKind, channel: Channel) -> MessageId {
    let digest = Sha256::digest(format!("{tenant}|{subject}|{}|{}", kind.as_str(), channel.as_str()).as_bytes());
    let body: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    MessageId::parse(&format!("{}{body}", MessageId::PREFIX)).expect("hex digits make an id")
}

fn record_item(tenant: &TenantId, record: &MessageRecord) -> AppResult<mas_ports::Item> {
    let mut item = to_item(&keys::message(tenant, &record.id), "message", record)?;
    item.insert(GSI1PK.into(), keys::client_messages(tenant, &record.client_id).into());
    item.insert(GSI1SK.into(), format!("{}#{}", record.created_at.to_rfc3339(), record.id).into());
    Ok(item)
}

fn system_audit(tenant: &TenantId) -> AuditContext {
    AuditContext {
        tenant_id: tenant.clone(),
        actor: "system".into(),
        role: None,
        request_id: mas_domain::ids::RequestId::new(),
    }
}

/// Everything one message needs to be sent: who, what, about what, on which channels.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub tenant: TenantId,
    pub client: ClientId,
    pub kind: MessageKind,
    pub subject: String,
    pub channels: Vec<Channel>,
    /// Variables beyond the clinic's and the client's (which are read here).
    pub vars: Variables,
}

/// What became of a delivery on each channel.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub channel: Channel,
    pub status: MessageStatus,
    pub reason: Option<String>,
    /// False when an earlier delivery already handled this message.
    pub first_time: bool,
}

/// Sends `delivery` on each of its channels, once each. An error means a channel's provider
/// was unavailable: the caller's queue retries, and channels already done are not repeated.
pub async fn deliver(n: &Notifier, delivery: &Delivery) -> AppResult<Vec<Outcome>> {
    let t = &delivery.tenant;
    let tenant = mas_accounts::tenants::tenant(&n.store, t).await?;
    let client = match clients::get(&n.store, t, &delivery.client).await {
        // An erased client is sent nothing, and there is nothing to retry.
        Err(mas_clients::clients::ClientError::Erased) => return Ok(Vec::new()),
        other => other?,
    };
    let prefs = preferences(&n.store, t, &delivery.client).await?;
    let settings = settings(&n.store, t).await?;
    let brand = mas_accounts::tenants::brand(&n.store, t).await.ok();
    let mut vars = delivery.vars.clone();
    vars.insert("clinic.name".into(), tenant.name.to_string());
    vars.insert("client.first_name".into(), client.data.first_name.to_string());
    if let Some(brand) = &brand {
        vars.insert("brand.color".into(), String::from(brand.tokens.primary));
    }
    let rendered = notifications::render(delivery.kind, &vars);
    let mut outcomes = Vec::new();
    let mut unavailable = None;
    for &channel in &delivery.channels {
        let id = message_id(t, &delivery.subject, delivery.kind, channel);
        let address = match channel {
            Channel::Email => client.data.email.as_ref().map(|e| e.to_string()),
            Channel::Sms => client.data.phone.as_ref().map(|p| p.to_string()),
        };
        let home = tenant.country.as_str();
        let skip = if channel == Channel::Sms && address.as_deref().is_some_and(|phone| !settings.texts_to(home, phone))
        {
            Some(format!("the clinic texts only numbers in {}", settings.sms_country_list(home)))
        } else if !prefs.allows(channel, delivery.kind.purpose()) {
            Some(format!(
                "the client has not agreed to {} by {}",
                purpose_words(delivery.kind.purpose()),
                channel.as_str()
            ))
        } else if address.is_none() {
            Some(format!(
                "no {} on the client record",
                if channel == Channel::Email { "email address" } else { "phone number" }
            ))
        } else {
            rendered.as_ref().err().map(|missing| missing.to_string())
        };
        let summary = match (&rendered, channel) {
            (Ok(r), Channel::Email) => r.subject.clone(),
            // Staff read this (the message log, the timeline): no link of the client's in it.
            (Ok(r), Channel::Sms) => mas_domain::notifications::redact_links(&r.sms),
            (Err(_), _) => delivery.kind.as_str().replace('_', " "),
        };
        let now = n.store.clock.now();
        let mut record = MessageRecord {
            id: id.clone(),
            client_id: delivery.client.clone(),
            kind: Some(delivery.kind),
            channel,
            direction: "outbound".into(),
            subject: delivery.subject.clone(),
            to: address.clone(),
            status: MessageStatus::Sending,
            reason: None,
            summary,
            provider_id: None,
            created_at: now,
            updated_at: now,
            lease_until: (now + Duration::seconds(LEASE_SECONDS)).timestamp(),
        };
        if let Some(reason) = skip {
            // A template gap is a failure someone must see; a missing consent or address is not.
            record.status = if rendered.is_err() && prefs.allows(channel, delivery.kind.purpose()) && address.is_some()
            {
                MessageStatus::Failed
            } else {
                MessageStatus::Skipped
            };
            record.reason = Some(reason.clone());
            record.lease_until = FOREVER;
            let first_time = finish(n, t, &record, None, true).await?;
            if rendered.is_err() && first_time {
                tracing::error!(tenant_id = %t, message_id = %id, %reason, "message not sent");
            }
            outcomes.push(Outcome { channel, status: record.status, reason: Some(reason), first_time });
            continue;
        }
        // The claim: only if nobody has it, or its holder's lease ran out.
        let claim = Write::put_if(
            record_item(t, &record)?,
            Condition::AbsentOrExpired { attr: "lease_until".into(), before: now.timestamp() },
        );
        match n.store.table.transact(vec![claim]).await {
            Ok(()) => {}
            Err(mas_ports::TableError::ConditionFailed { .. }) => {
                let stored: Option<MessageRecord> = n.store.get(&keys::message(t, &id)).await?;
                let status = stored.map_or(MessageStatus::Sending, |r| r.status);
                if status == MessageStatus::Sending {
                    // Another sender holds it (or crashed holding it): try again once its lease
                    // has run out, rather than assume it went.
                    unavailable = Some(format!(
                        "{} on {} is being sent by another worker",
                        delivery.kind.as_str(),
                        channel.as_str()
                    ));
                }
                outcomes.push(Outcome { channel, status, reason: None, first_time: false });
                continue;
            }
            Err(other) => return Err(other.into()),
        }
        // The day's SMS budget, counted only once the claim is ours (so a duplicate never spends it).
        if channel == Channel::Sms
            && !mas_context::limits::spend_sms_budget(&n.store, t, settings.sms_daily_budget).await?
        {
            let reason = format!("the clinic's daily SMS budget ({}) is spent", settings.sms_daily_budget);
            // The alert: one error line per refused text (a log metric filter on AWS pages someone).
            tracing::error!(tenant_id = %t, message_id = %id, budget = settings.sms_daily_budget, "sms_budget_reached");
            record.status = MessageStatus::Skipped;
            record.reason = Some(reason.clone());
            record.lease_until = FOREVER;
            let first_time = finish(n, t, &record, None, false).await?;
            outcomes.push(Outcome { channel, status: record.status, reason: Some(reason), first_time });
            continue;
        }
        let rendered = rendered.as_ref().expect("a render failure is skipped above");
        let to = address.expect("a missing address is skipped above");
        let sent = match channel {
            Channel::Email => {
                let email = OutgoingEmail {
                    message_id: id.to_string(),
                    from_name: tenant.name.to_string(),
                    from_address: n.mail_from.clone(),
                    reply_to: None,
                    to: to.clone(),
                    subject: rendered.subject.clone(),
                    text: rendered.text.clone(),
                    html: rendered.html.clone(),
                    list_unsubscribe: (delivery.kind.purpose() == Purpose::Marketing)
                        .then(|| n.public_url.as_ref().map(|base| unsubscribe_url(n, base, t, &client.id)))
                        .flatten(),
                };
                n.mailer.send_email(&email).await
            }
            Channel::Sms => {
                let sms = OutgoingSms {
                    message_id: id.to_string(),
                    to: to.clone(),
                    body: rendered.sms.clone(),
                    status_callback: n
                        .public_url
                        .as_ref()
                        .map(|base| format!("{base}/webhooks/twilio/status?message={t}.{id}")),
                };
                n.sms.send_sms(&sms).await
            }
        };
        let now = n.store.clock.now();
        record.updated_at = now;
        match sent {
            Ok(accepted) => {
                record.status = MessageStatus::Sent;
                record.provider_id = Some(accepted.provider_id);
                record.lease_until = FOREVER;
                let peer = (channel == Channel::Sms).then(|| SmsPeer {
                    tenant_id: t.clone(),
                    client_id: delivery.client.clone(),
                    subject: delivery.subject.clone(),
                    at: now,
                });
                finish(n, t, &record, peer.map(|p| (to.clone(), p)), false).await?;
                outcomes.push(Outcome { channel, status: MessageStatus::Sent, reason: None, first_time: true });
            }
            Err(SendError::Undeliverable(reason)) => {
                record.status = MessageStatus::Undeliverable;
                record.reason = Some(reason.clone());
                record.lease_until = FOREVER;
                finish(n, t, &record, None, false).await?;
                outcomes.push(Outcome {
                    channel,
                    status: MessageStatus::Undeliverable,
                    reason: Some(reason),
                    first_time: true,
                });
            }
            Err(SendError::Unavailable(reason)) => {
                // Give the claim back at once so the retry need not wait for the lease.
                record.lease_until = 0;
                record.reason = Some(reason.clone());
                n.store.table.transact(vec![Write::put(record_item(t, &record)?)]).await?;
                tracing::warn!(tenant_id = %t, message_id = %id, %reason, "provider unavailable; will retry");
                unavailable = Some(reason);
            }
        }
    }
    match unavailable {
        Some(reason) => Err(AppError::Internal(format!("not every channel is done: {reason}"))),
        None => Ok(outcomes),
    }
}

fn purpose_words(purpose: Purpose) -> &'static str {
    match purpose {
        Purpose::Transactional => "booking messages",
        Purpose::Marketing => "marketing",
    }
}

const UNSUBSCRIBE: &str = "unsubscribe";

/// The one-click unsubscribe link of a client's marketing mail: signed, so nobody can
/// unsubscribe someone else by guessing ids.
pub fn unsubscribe_url(n: &Notifier, base: &str, tenant: &TenantId, client: &ClientId) -> String {
    let payload = format!("{tenant}.{client}");
    format!("{base}/v1/unsubscribe/{payload}.{}", n.links.sign(UNSUBSCRIBE, &payload))
}

/// The client a signed unsubscribe link (`tenant.client.sig`) names, if we issued it.
pub fn check_unsubscribe(n: &Notifier, token: &str) -> AppResult<(TenantId, ClientId)> {
    let not_found = || AppError::NotFound { what: "unsubscribe link" };
    let parts: Vec<&str> = token.split('.').collect();
    let [tenant, client, signature] = parts.as_slice() else { return Err(not_found()) };
    if !n.links.verify(UNSUBSCRIBE, &format!("{tenant}.{client}"), signature) {
        return Err(not_found());
    }
    Ok((TenantId::parse(tenant).map_err(|_| not_found())?, ClientId::parse(client).map_err(|_| not_found())?))
}

/// Turns marketing off on every channel for the client a signed link names.
pub async fn unsubscribe(n: &Notifier, token: &str) -> AppResult<()> {
    let (tenant, client) = check_unsubscribe(n, token)?;
    let current = preferences(&n.store, &tenant, &client).await?;
    if !current.email.marketing && !current.sms.marketing {
        return Ok(());
    }
    let next = Preferences {
        email: notifications::ChannelConsent { marketing: false, ..current.email },
        sms: notifications::ChannelConsent { marketing: false, ..current.sms },
    };
    let audit = AuditContext {
        tenant_id: tenant,
        actor: "client".into(),
        role: None,
        request_id: mas_domain::ids::RequestId::new(),
    };
    set_preferences(&n.store, &audit, &client, next, "changed by the unsubscribe link").await.map(drop)
}

/// Where an inbound SMS from a phone belongs: the clinic and client that last texted it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SmsPeer {
    pub tenant_id: TenantId,
    pub client_id: ClientId,
    pub subject: String,
    pub at: DateTime<Utc>,
}

/// Writes a finished record, its timeline line and (for an SMS) the reply pointer in one
/// transaction. For a skip (`only_if_new`), nothing is written when the record exists; the
/// answer says whether this call wrote it.
async fn finish(
    n: &Notifier,
    t: &TenantId,
    record: &MessageRecord,
    peer: Option<(String, SmsPeer)>,
    only_if_new: bool,
) -> AppResult<bool> {
    let mut plan = Plan::<Once>::typed();
    let item = record_item(t, record)?;
    if only_if_new {
        plan.push(Write::put_new(item), Once::AlreadyDone(AppError::conflict("message_exists", "already recorded")));
    } else {
        plan.push(Write::put(item), AppError::Internal("an unconditional put failed".into()));
    }
    let line = format!("{} {} {}", record.channel.as_str(), record.status.as_str(), record.summary);
    let entry = TimelineEntry::new(
        &record.client_id,
        record.updated_at,
        &format!("message.{}", record.status.as_str()),
        line,
        Some(record.id.to_string()),
        "system",
    );
    plan.push(entry.write(t)?, AppError::conflict("id_taken", "an id clash; try again"));
    if let Some((phone, peer)) = peer {
        plan.push(
            Write::put(to_item(&keys::sms_peer(&phone), "sms_peer", &peer)?),
            AppError::Internal("an unconditional put failed".into()),
        );
    }
    match plan
        .commit_as(&n.store, &system_audit(t), &format!("message.{}", record.status.as_str()), record.id.as_str())
        .await
    {
        Ok(()) => Ok(true),
        Err(Once::AlreadyDone(_)) => Ok(false),
        Err(Once::Failed(other)) => Err(other),
    }
}

/// Sends `notice` to a client now (it is its own subject: a sign-in link is never sent twice).
pub async fn send_notice(
    n: &Notifier,
    tenant: &TenantId,
    client: &ClientId,
    notice: Notice,
) -> AppResult<Vec<Outcome>> {
    let zone = mas_accounts::tenants::tenant(&n.store, tenant).await?.timezone.tz();
    let mut vars = Variables::new();
    let (kind, subject, channels) = match &notice {
        Notice::PortalLink { url, expires_at } => {
            vars.insert("link".into(), url.clone());
            vars.insert("link.expires".into(), notifications::local_when(*expires_at, zone));
            let digest = Sha256::digest(url.as_bytes());
            let subject: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
            (MessageKind::PortalLink, format!("link:{subject}"), vec![Channel::Email])
        }
        Notice::SignatureRequest { session_id, document_title, url, expires_at } => {
            vars.insert("link".into(), url.clone());
            vars.insert("link.expires".into(), notifications::local_when(*expires_at, zone));
            vars.insert("document.title".into(), document_title.clone());
            (MessageKind::SignatureRequest, session_id.clone(), vec![Channel::Email, Channel::Sms])
        }
    };
    deliver(n, &Delivery { tenant: tenant.clone(), client: client.clone(), kind, subject, channels, vars }).await
}

/// The client's preferences, or the defaults their record implies.
pub async fn preferences(store: &Store, tenant: &TenantId, client: &ClientId) -> AppResult<Preferences> {
    match store.get::<StoredPreferences>(&keys::preferences(tenant, client)).await? {
        Some(stored) => Ok(stored.preferences),
        None => Ok(Preferences::defaults(clients::get(store, tenant, client).await?.data.marketing_consent)),
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredPreferences {
    #[serde(flatten)]
    preferences: Preferences,
    updated_at: DateTime<Utc>,
    updated_by: String,
}

/// Replaces the client's preferences (with a timeline line saying what changed and who did it).
pub async fn set_preferences(
    store: &Store,
    audit: &AuditContext,
    client: &ClientId,
    next: Preferences,
    how: &str,
) -> AppResult<Preferences> {
    let t = &audit.tenant_id;
    clients::get(store, t, client).await?;
    let now = store.clock.now();
    let stored = StoredPreferences { preferences: next, updated_at: now, updated_by: audit.actor.clone() };
    let mut plan = Plan::new();
    plan.push(
        Write::put(to_item(&keys::preferences(t, client), "preferences", &stored)?),
        AppError::Internal("an unconditional put failed".into()),
    );
    let summary = format!(
        "Preferences {how}: email {}/{}, sms {}/{} (booking/marketing)",
        on_off(next.email.transactional),
        on_off(next.email.marketing),
        on_off(next.sms.transactional),
        on_off(next.sms.marketing)
    );
    let entry = TimelineEntry::new(client, now, "preferences.updated", summary, None, &audit.actor);
    plan.push(entry.write(t)?, AppError::conflict("id_taken", "an id clash; try again"));
    plan.commit(store, audit, "preferences.updated", client.as_str()).await?;
    Ok(next)
}

fn on_off(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

/// The clinic's notification settings refused, typed; the store's failures kept as the source.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SettingsError {
    /// 422 `invalid_settings` (field `steps`), saying what is wrong.
    #[error("{why}")]
    Invalid { why: String },
    #[error(transparent)]
    Store(#[from] AppError),
}

impl From<SettingsError> for AppError {
    fn from(err: SettingsError) -> Self {
        match err {
            SettingsError::Invalid { why } => AppError::invalid("invalid_settings", "steps", why),
            SettingsError::Store(err) => err,
        }
    }
}

/// The tenant's cadence and quiet hours (the defaults until it sets its own).
pub async fn settings(store: &Store, tenant: &TenantId) -> AppResult<NotificationSettings> {
    Ok(store.get(&keys::notification_settings(tenant)).await?.unwrap_or_default())
}

pub async fn set_settings(
    store: &Store,
    audit: &AuditContext,
    settings: NotificationSettings,
) -> Result<NotificationSettings, SettingsError> {
    settings.check().map_err(|why| SettingsError::Invalid { why })?;
    let mut plan = Plan::new();
    plan.push(
        Write::put(to_item(&keys::notification_settings(&audit.tenant_id), "notification_settings", &settings)?),
        AppError::Internal("an unconditional put failed".into()),
    );
    plan.commit(store, audit, "notification_settings.updated", audit.tenant_id.as_str()).await?;
    Ok(settings)
}

/// A client's messages, newest first.
pub async fn messages(
    store: &Store,
    tenant: &TenantId,
    client: &ClientId,
    limit: u32,
) -> AppResult<Vec<MessageRecord>> {
    clients::get(store, tenant, client).await?;
    let query = Query::gsi1(keys::client_messages(tenant, client)).descending().limit(limit);
    let page = store.table.query(&query).await?;
    page.items.into_iter().map(from_item).collect()
}

/// A provider's delivery report for one of our messages (`tenant.message_id`): the status moves
/// forward only (a late `sent` never undoes `delivered`).
pub async fn delivery_report(store: &Store, reference: &str, status: &str, error: Option<&str>) -> AppResult<bool> {
    let Some((tenant, id)) = reference.split_once('.') else { return Ok(false) };
    let (Ok(tenant), Ok(id)) = (TenantId::parse(tenant), MessageId::parse(id)) else { return Ok(false) };
    let next = match status {
        "delivered" | "read" => MessageStatus::Delivered,
        "failed" | "undelivered" => MessageStatus::Failed,
        _ => return Ok(false),
    };
    let Some(mut record) = store.get::<MessageRecord>(&keys::message(&tenant, &id)).await? else { return Ok(false) };
    if matches!(record.status, MessageStatus::Delivered | MessageStatus::Failed) {
        return Ok(true);
    }
    let before = serde_json::to_value(record.status).unwrap_or(Value::Null);
    record.status = next;
    record.reason = error.map(|code| format!("provider error {code}"));
    record.updated_at = store.clock.now();
    let write = Write::put_if(record_item(&tenant, &record)?, Condition::equals("status", before));
    match store.table.transact(vec![write]).await {
        Ok(()) | Err(mas_ports::TableError::ConditionFailed { .. }) => Ok(true),
        Err(other) => Err(other.into()),
    }
}

#[cfg(test)]
mod tests;

/// A plain email from the platform's sender in the clinic's name, outside the message log: a
/// staff invitation or reset (the link is a credential: never logged), a notice to staff, or a
/// notice to an address that is no longer the client's.
pub async fn send_plain_mail(
    app: &mas_context::app::App,
    tenant: &mas_domain::tenant::Tenant,
    to: &mas_domain::values::Email,
    subject: String,
    lines: &[String],
    link: Option<&str>,
) -> AppResult<()> {
    let email = plain_email(&app.mail_from, tenant, to, subject, lines, link);
    app.mailer.send_email(&email).await.map(|_| ()).map_err(AppError::backend("mailer"))
}

/// The plain email `send_plain_mail` sends: paragraphs, then the link on its own.
pub fn plain_email(
    from_address: &str,
    tenant: &mas_domain::tenant::Tenant,
    to: &mas_domain::values::Email,
    subject: String,
    lines: &[String],
    link: Option<&str>,
) -> OutgoingEmail {
    use mas_domain::html::escape;
    let link_text = link.map(|url| format!("\n\n{url}")).unwrap_or_default();
    let text = format!("{}{link_text}\n", lines.join("\n\n"));
    let paragraphs: String = lines.iter().map(|l| format!("<p>{}</p>", escape(l))).collect();
    let link_html = link.map(|url| format!("<p><a href=\"{0}\">{0}</a></p>", escape(url))).unwrap_or_default();
    let html =
        format!("<!doctype html><html><body style=\"font-family:sans-serif\">{paragraphs}{link_html}</body></html>");
    OutgoingEmail {
        message_id: format!("plain-{}", ulid::Ulid::new().to_string().to_lowercase()),
        from_name: tenant.name.to_string(),
        from_address: from_address.to_owned(),
        reply_to: None,
        to: to.to_string(),
        subject,
        text,
        html,
        list_unsubscribe: None,
    }
}

/// Tells the address a client signed in with that it no longer is theirs (an account taken over
/// by changing its email is then noticed). The new address is shown masked. A failure is logged:
/// the change itself is committed and audited.
pub async fn tell_old_address(
    app: &mas_context::app::App,
    tenant: &TenantId,
    old: &mas_domain::values::Email,
    client: &mas_domain::clients::Client,
) {
    let told = async {
        let tenant = mas_accounts::tenants::tenant(&app.store, tenant).await?;
        let masked = client.data.email.as_ref().map_or_else(|| "no address".to_owned(), |e| mask_email(e.as_str()));
        let lines = [
            format!("Hello {},", client.data.first_name),
            format!(
                "The email address {} keeps for you was changed from this one to {masked}. Your bookings and sign-in links now go there.",
                tenant.name
            ),
            format!("If you did not ask for this, please contact {} straight away.", tenant.name),
        ];
        send_plain_mail(app, &tenant, old, format!("Your email address at {} was changed", tenant.name), &lines, None)
            .await
    };
    if let Err(err) = told.await {
        tracing::error!(tenant_id = %tenant, %err, "the old address could not be told of the change");
    }
}

/// `ada.lovelace@example.com` → `a***@example.com`.
fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => format!("{}***@{domain}", local.chars().next().unwrap_or('*')),
        None => "***".into(),
    }
}
