//! The worker's side of reviews (`mas_booking::reviews`): a completed visit (its lead's
//! `booking.completed`) makes its review request — unless the clinic turned requests off — and
//! sends the one-time link on the clinic's notice channels, as transactional mail about the
//! visit she had (her consent per channel is checked by `deliver`; a client who opted out of
//! messages about her appointments is sent nothing). Sent at once: completion is marked at the
//! desk in opening hours. A redelivered event finds the request made and the message claimed
//! (its id derives from the appointment), so nothing goes twice.

use super::{Delivery, Notifier, deliver, settings, system_audit};
use mas_booking::reviews;
use mas_domain::appointment::Appointment;
use mas_domain::error::AppResult;
use mas_domain::ids::TenantId;
use mas_domain::notifications::{self, MessageKind};
use mas_domain::review;

/// `booking.completed` (of a visit's lead): the review request, once.
pub async fn on_completed(n: &Notifier, t: &TenantId, appointment: &Appointment) -> AppResult<()> {
    let Some(request) = reviews::request(&n.store, &system_audit(t), appointment).await? else { return Ok(()) };
    if request.expires_at <= n.store.clock.now() {
        return Ok(());
    }
    let tenant = mas_accounts::tenants::tenant(&n.store, t).await?;
    // The site's root: where its portal is, less `portal/`.
    let portal = mas_context::app::portal_url(n.public_url.as_deref(), &n.site_domain, &tenant.slug);
    let site = portal.strip_suffix("portal/").unwrap_or(&portal);
    let token = review::token(&n.links, t, &appointment.id, request.expires_at);
    let (mut vars, _) = super::plan::booking_vars(n, t, appointment).await?;
    vars.insert("link".into(), format!("{site}review.html#review={token}"));
    vars.insert("link.expires".into(), notifications::local_when(request.expires_at, appointment.timezone.tz()));
    let delivery = Delivery {
        tenant: t.clone(),
        client: appointment.client_id.clone(),
        kind: MessageKind::ReviewRequest,
        subject: appointment.id.to_string(),
        channels: settings(&n.store, t).await?.notice_channels,
        vars,
    };
    deliver(n, &delivery).await.map(drop)
}
