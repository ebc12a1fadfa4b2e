//! The worker's side of deposit holds: a booking waiting for its deposit (`booking.held`) gets a
//! due item at its hold's end; when it comes, a booking still unpaid is cancelled
//! (`mas_booking::appointments::release_expired_hold`), and its `booking.cancelled` offers the
//! time to the waitlist like any cancellation. Without this, a lapsed hold's time was free to
//! book but nobody waiting heard of it. Each step is idempotent: one due item per booking (a
//! redelivered `booking.held` writes the same one), and a release finds a paid, cancelled or
//! already released booking and does nothing.

use chrono::Duration;
use serde_json::Value;

use super::plan::{DueItem, DueKind, plan_one};
use super::{Notifier, system_audit};
use mas_booking::appointments;
use mas_domain::appointment::AppointmentStatus;
use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::{AppointmentId, TenantId};
use mas_ports::DomainEvent;

/// How long after its time a hold's release is still worth doing: the time it frees may still
/// be ahead, and a booking left pending for ever helps nobody.
const RELEASE_USEFUL_DAYS: i64 = 7;

/// `booking.held`: plans the release for the hold's end.
pub async fn on_held(n: &Notifier, event: &DomainEvent) -> AppResult<()> {
    let id = event
        .payload
        .get("appointment_id")
        .and_then(Value::as_str)
        .and_then(|s| AppointmentId::parse(s).ok())
        .ok_or_else(|| AppError::Internal("booking.held without appointment_id".into()))?;
    plan_release(n, &event.tenant_id, &id).await
}

/// A due item at the booking's current hold end, if it is still waiting for its deposit.
async fn plan_release(n: &Notifier, t: &TenantId, id: &AppointmentId) -> AppResult<()> {
    let appointment = appointments::get(&n.store, t, id).await?;
    let Some(hold_end) = appointment.hold_expires_at else { return Ok(()) };
    if appointment.status != AppointmentStatus::PendingDeposit {
        return Ok(());
    }
    plan_one(
        n,
        DueItem {
            tenant_id: t.clone(),
            subject: appointment.id.to_string(),
            client_id: appointment.client_id.clone(),
            kind: DueKind::DepositHoldEnd,
            channels: Vec::new(),
            due_at: hold_end,
            useful_until: hold_end + Duration::days(RELEASE_USEFUL_DAYS),
            planned_start: None,
        },
    )
    .await
}

/// The due item at a hold's end: releases the booking if its hold has run out unpaid. Answers
/// whether the item is done with; it stays when the hold has not ended yet (the sweep may bring
/// an item a minute early, and a move restarts a hold: planned again here for its new end).
pub async fn release_due(n: &Notifier, t: &TenantId, item: &DueItem) -> AppResult<bool> {
    let id = AppointmentId::parse(&item.subject).map_err(|e| AppError::Internal(e.0))?;
    let appointment = match appointments::release_expired_hold(&n.store, &system_audit(t), &id).await? {
        appointments::HoldEnd::Released(released) => {
            tracing::info!(tenant_id = %t, appointment_id = %released.id, "deposit hold released");
            return Ok(true);
        }
        appointments::HoldEnd::Kept(appointment) => appointment,
    };
    match appointment.hold_expires_at.filter(|_| appointment.status == AppointmentStatus::PendingDeposit) {
        Some(hold_end) if hold_end != item.due_at => plan_release(n, t, &id).await.map(|()| false),
        Some(_) => Ok(false),
        // Paid, cancelled or released: nothing is held any more.
        None => Ok(true),
    }
}
