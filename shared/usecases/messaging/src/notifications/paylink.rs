//! Sending a payment link (`payment.link_requested`): the hosted page is made once through the
//! payments port (`booking::paylinks::prepare`), then the link goes to the client like any
//! notice — the `payment_link` template, the clinic's notice channels, the client's preferences
//! (a transactional message), each channel once — and a text that would land in the clinic's
//! quiet hours waits for their end (a due item, as reminders do), while the email goes at once.
//! Only when a channel took it does the link become `sent`, with its timeline line; when none
//! did, `not_sent` says why.

use chrono::Duration;
use serde_json::Value;

use super::plan::{DueItem, plan_one};
use super::{Delivery, MessageStatus, Notifier, Outcome, deliver, settings};
use mas_booking::paylinks::{self, PayLinkError, Sending};
use mas_booking::payments::Ports;
use mas_context::app::App;
use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::{ClientId, PayLinkId, RequestId, TenantId};
use mas_domain::notifications::{self, Channel, MessageKind, Variables};
use mas_domain::payment::{PayLink, money_text};
use mas_ports::DomainEvent;
use mas_store::AuditContext;

fn system_audit(tenant: &TenantId) -> AuditContext {
    AuditContext { tenant_id: tenant.clone(), actor: "system".into(), role: None, request_id: RequestId::new() }
}

/// Where the hosted page sends the client back: the clinic's site (`?payment=done` once paid).
fn return_urls(app: &App, slug: &str) -> (String, String) {
    let site = match &app.public_url {
        Some(base) => format!("{base}/sites/{slug}/"),
        None => format!("https://{slug}.{}/", app.config.site_domain),
    };
    (format!("{site}?payment=done"), site)
}

/// The worker's side of `payment.link_requested`.
pub async fn on_requested(app: &App, event: &DomainEvent) -> AppResult<()> {
    let field = |name: &str| event.payload.get(name).and_then(Value::as_str).unwrap_or_default();
    let unreadable = |what: &str| AppError::Internal(format!("{} with an unreadable {what}", event.kind));
    let client = ClientId::parse(field("client_id")).map_err(|_| unreadable("client_id"))?;
    let link_id = PayLinkId::parse(field("link_id")).map_err(|_| unreadable("link_id"))?;
    let t = &event.tenant_id;
    let n = Notifier::of(app);
    // An erased client is sent nothing (their links went with them).
    if matches!(mas_clients::clients::get(&n.store, t, &client).await, Err(mas_clients::clients::ClientError::Erased)) {
        return Ok(());
    }
    let tenant = mas_accounts::tenants::tenant(&n.store, t).await?;
    let (success, cancel) = return_urls(app, tenant.slug.as_str());
    let audit = system_audit(t);
    let prepared = match paylinks::prepare(Ports::of(app), &audit, &client, &link_id, &success, &cancel).await {
        // The clinic cannot take online payments (no connected Stripe account that takes
        // charges): no page can be made, so the link is not sent, and says why.
        Err(refused @ PayLinkError::NotConnected) => {
            tracing::warn!(tenant_id = %t, link_id = %link_id, "payment link not sent: the clinic is not connected");
            if let Some(link) = paylinks::get(&n.store, t, &client, &link_id).await? {
                paylinks::record_sending(&n.store, &audit, &link, Sending::NotSent(refused.to_string())).await?;
            }
            return Ok(());
        }
        other => other?,
    };
    let Some(link) = prepared else {
        tracing::info!(tenant_id = %t, link_id = %link_id, "payment link not sent: it is paid, expired or gone");
        return Ok(());
    };
    send(&n, t, &link).await
}

/// The message's variables: the link, when it stops working, what and how much.
async fn link_vars(n: &Notifier, t: &TenantId, link: &PayLink) -> AppResult<(Variables, chrono_tz::Tz)> {
    let appointment = mas_booking::appointments::get(&n.store, t, &link.appointment_id).await?;
    let zone = appointment.timezone.tz();
    let (mut vars, _) = super::plan::booking_vars(n, t, &appointment).await?;
    let url = link.url.clone().ok_or_else(|| AppError::Internal("a prepared link without its address".into()))?;
    let expires = link.expires_at.ok_or_else(|| AppError::Internal("a prepared link without its expiry".into()))?;
    let service = vars.get("service.name").cloned().unwrap_or_else(|| "visit".into());
    let what = link.what();
    let what = format!(
        "{}{} for your {service} on {} ({})",
        what[..1].to_uppercase(),
        &what[1..],
        vars.get("appointment.when").cloned().unwrap_or_default(),
        appointment.confirmation_number
    );
    vars.insert("payment.for".into(), what);
    vars.insert("payment.amount".into(), money_text(link.amount.amount_minor.get(), &link.amount.currency));
    vars.insert("link".into(), url);
    vars.insert("link.expires".into(), notifications::local_when(expires, zone));
    Ok((vars, zone))
}

fn reached(outcome: &Outcome) -> bool {
    matches!(outcome.status, MessageStatus::Sent | MessageStatus::Delivered)
}

/// Sends a prepared link now on email, and on SMS unless the clinic's quiet hours hold it back
/// until they end; records what became of it.
async fn send(n: &Notifier, t: &TenantId, link: &PayLink) -> AppResult<()> {
    let settings = settings(&n.store, t).await?;
    let (vars, zone) = link_vars(n, t, link).await?;
    let now = n.store.clock.now();
    let quiet = settings.quiet_hours.next_allowed(now, zone);
    let mut channels = settings.notice_channels.clone();
    let mut deferred = false;
    if quiet > now && channels.contains(&Channel::Sms) {
        channels.retain(|c| *c != Channel::Sms);
        let useful_until = link.expires_at.map_or(quiet, |at| at - Duration::hours(1));
        if quiet < useful_until {
            let item = DueItem {
                tenant_id: t.clone(),
                subject: link.id.to_string(),
                client_id: link.client_id.clone(),
                kind: MessageKind::PaymentLink.into(),
                channels: vec![Channel::Sms],
                due_at: quiet,
                useful_until,
                planned_start: None,
            };
            plan_one(n, item).await?;
            deferred = true;
        }
    }
    let delivery = Delivery {
        tenant: t.clone(),
        client: link.client_id.clone(),
        kind: MessageKind::PaymentLink,
        subject: link.id.to_string(),
        channels,
        vars,
    };
    let outcomes = deliver(n, &delivery).await?;
    record(n, t, link, &outcomes, deferred).await
}

/// `sent` when a channel took it; `not_sent` (with every channel's reason) when none did and no
/// text waits for the end of quiet hours.
async fn record(n: &Notifier, t: &TenantId, link: &PayLink, outcomes: &[Outcome], deferred: bool) -> AppResult<()> {
    let sent: Vec<&'static str> = outcomes.iter().filter(|o| reached(o)).map(|o| o.channel.as_str()).collect();
    let sending = if !sent.is_empty() {
        Sending::Sent(sent)
    } else if deferred {
        return Ok(());
    } else {
        let reasons: Vec<String> = outcomes
            .iter()
            .map(|o| {
                format!("{}: {}", o.channel.as_str(), o.reason.clone().unwrap_or_else(|| o.status.as_str().into()))
            })
            .collect();
        let why = if reasons.is_empty() { "the clinic sends notices on no channel".into() } else { reasons.join("; ") };
        Sending::NotSent(why)
    };
    paylinks::record_sending(&n.store, &system_audit(t), link, sending).await
}

/// A text of a link held back by quiet hours, now due: sent if the link can still be paid.
pub async fn send_due(n: &Notifier, t: &TenantId, item: &DueItem) -> AppResult<()> {
    let Ok(id) = PayLinkId::parse(&item.subject) else { return Ok(()) };
    let Some(link) = paylinks::get(&n.store, t, &item.client_id, &id).await? else { return Ok(()) };
    let now = n.store.clock.now();
    if !link.status.is_open() || link.url.is_none() || link.expires_at.is_none_or(|at| at <= now) {
        return Ok(());
    }
    let (vars, _) = link_vars(n, t, &link).await?;
    let delivery = Delivery {
        tenant: t.clone(),
        client: link.client_id.clone(),
        kind: MessageKind::PaymentLink,
        subject: link.id.to_string(),
        channels: item.channels.clone(),
        vars,
    };
    let outcomes = deliver(n, &delivery).await?;
    record(n, t, &link, &outcomes, false).await
}
