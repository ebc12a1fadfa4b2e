//! The worker's side of the waitlist (`mas_booking::waitlist`): freed time (a cancellation, a
//! move, an offer given back) is offered to the next waiter; an offer made is sent with its
//! signed link and gets a due item at its expiry, which the sweep brings back to release it.
//! Each step is idempotent: a redelivered event finds the time held or the entry moved on, the
//! message is sent once per offer (its id derives from the offer), the due item is one per entry.

use chrono::Duration;
use serde_json::Value;

use super::plan::{DueItem, plan_one};
use super::{Delivery, Notifier, deliver, settings, system_audit};
use mas_booking::waitlist;
use mas_domain::appointment::Appointment;
use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::{AppointmentId, TenantId, WaitlistId};
use mas_domain::notifications::{self, MessageKind};
use mas_domain::waitlist::{WaitStatus, offer_token};
use mas_ports::DomainEvent;

/// A booking event that may have freed time (`booking.cancelled`, `booking.rescheduled`).
pub async fn on_booking_event(n: &Notifier, event: &DomainEvent, appointment: &Appointment) -> AppResult<()> {
    let Some(freed) = waitlist::freed_by(event, appointment) else { return Ok(()) };
    offer(n, &event.tenant_id, &freed).await
}

/// `waitlist.released`: an offer given back; the next waiter is asked.
pub async fn on_released(n: &Notifier, event: &DomainEvent) -> AppResult<()> {
    let Some(freed) = waitlist::released(event) else {
        return Err(AppError::Internal("waitlist.released without its span".into()));
    };
    offer(n, &event.tenant_id, &freed).await
}

async fn offer(n: &Notifier, t: &TenantId, freed: &mas_domain::waitlist::Freed) -> AppResult<()> {
    let tenant = mas_accounts::tenants::tenant(&n.store, t).await?;
    let offered = waitlist::offer_freed(&n.store, &system_audit(t), &tenant, freed).await?;
    for entry in offered {
        tracing::info!(tenant_id = %t, waitlist_id = %entry.id, "waitlist offer made");
    }
    Ok(())
}

/// `waitlist.offered`: the offer's message with its link (each channel once per offer), and the
/// due item that releases it when it expires.
pub async fn on_offered(n: &Notifier, event: &DomainEvent) -> AppResult<()> {
    let t = &event.tenant_id;
    let Some(id) = waitlist::entry_of(event) else {
        return Err(AppError::Internal("waitlist.offered without waitlist_id".into()));
    };
    let appointment_id = event
        .payload
        .get("appointment_id")
        .and_then(Value::as_str)
        .and_then(|s| AppointmentId::parse(s).ok())
        .ok_or_else(|| AppError::Internal("waitlist.offered without appointment_id".into()))?;
    let entry = waitlist::get(&n.store, t, &id).await?;
    let Some(offer) = entry.offer.clone().filter(|o| o.appointment_id == appointment_id) else { return Ok(()) };
    plan_one(
        n,
        DueItem {
            tenant_id: t.clone(),
            subject: entry.id.to_string(),
            client_id: entry.client_id.clone(),
            kind: MessageKind::WaitlistOffer.into(),
            channels: Vec::new(),
            due_at: offer.expires_at,
            useful_until: offer.expires_at + Duration::days(7),
            planned_start: None,
        },
    )
    .await?;
    if entry.status != WaitStatus::Offered {
        return Ok(());
    }
    let appointment = mas_booking::appointments::get(&n.store, t, &appointment_id).await?;
    let tenant = mas_accounts::tenants::tenant(&n.store, t).await?;
    let portal = mas_context::app::portal_url(n.public_url.as_deref(), &n.site_domain, &tenant.slug);
    let token = offer_token(&n.links, t, &entry.id, &appointment_id);
    let (mut vars, _) = super::plan::booking_vars(n, t, &appointment).await?;
    vars.insert("link".into(), format!("{portal}#offer={token}"));
    vars.insert("link.expires".into(), notifications::local_when(offer.expires_at, appointment.timezone.tz()));
    let delivery = Delivery {
        tenant: t.clone(),
        client: entry.client_id.clone(),
        kind: MessageKind::WaitlistOffer,
        subject: format!("{}@{}", entry.id, appointment_id),
        channels: settings(&n.store, t).await?.notice_channels,
        vars,
    };
    deliver(n, &delivery).await?;
    Ok(())
}

/// The due item at an offer's expiry: released if still unanswered (or accepted and unpaid).
pub async fn expire_due(n: &Notifier, t: &TenantId, item: &DueItem) -> AppResult<()> {
    let id = WaitlistId::parse(&item.subject).map_err(|e| AppError::Internal(e.0))?;
    match waitlist::expire(&n.store, &system_audit(t), &id).await {
        Ok(_) | Err(waitlist::WaitlistError::OfferGone) => Ok(()),
        Err(other) => Err(other.into()),
    }
}
