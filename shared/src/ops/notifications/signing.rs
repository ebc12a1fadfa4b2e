//! Signing requests by message: the link when a session opens, and one reminder while it is
//! still unsigned (a day after it was sent, or half a day before it expires if that is sooner).

use chrono::Duration;

use super::plan::{DueItem, plan_one};
use super::{Delivery, Notifier, deliver};
use crate::domain::esign::{SessionStatus, SigningSession};
use crate::domain::notifications::{self, Channel, MessageKind, Variables};
use crate::error::{AppError, AppResult};
use crate::ids::{ClientId, SigningSessionId, TenantId};
use crate::keys;

async fn session(n: &Notifier, t: &TenantId, id: &str) -> AppResult<Option<SigningSession>> {
    let id = SigningSessionId::parse(id).map_err(|e| AppError::Internal(e.0))?;
    n.store.get(&keys::signing_session(t, &id)).await
}

async fn vars(n: &Notifier, t: &TenantId, session: &SigningSession) -> AppResult<Variables> {
    let view = crate::ops::documents::load(&n.store, t, &session.document_id).await?;
    let zone = crate::ops::tenants::tenant(&n.store, t).await?.timezone.tz();
    let token = crate::ops::esign::token(&n.links, session);
    let base = n.public_url.clone().unwrap_or_default();
    let mut vars = Variables::new();
    vars.insert("document.title".into(), view.document.content.title.clone());
    vars.insert("link".into(), format!("{base}/v1/esign/{token}"));
    vars.insert("link.expires".into(), notifications::local_when(session.expires_at, zone));
    Ok(vars)
}

/// Sends the signing link of session `id` and plans its reminder.
pub async fn notify_signer(n: &Notifier, t: &TenantId, id: &str, client: &ClientId) -> AppResult<()> {
    let Some(session) = session(n, t, id).await? else { return Err(AppError::NotFound { what: "signing session" }) };
    let now = n.store.clock.now();
    if !matches!(session.current_status(now), SessionStatus::Sent | SessionStatus::Opened | SessionStatus::Created) {
        return Ok(());
    }
    let delivery = Delivery {
        tenant: t.clone(),
        client: client.clone(),
        kind: MessageKind::SignatureRequest,
        subject: session.id.to_string(),
        channels: vec![Channel::Email, Channel::Sms],
        vars: vars(n, t, &session).await?,
    };
    deliver(n, &delivery).await?;
    let settings = super::settings(&n.store, t).await?;
    let zone = crate::ops::tenants::tenant(&n.store, t).await?.timezone.tz();
    let nominal = (session.created_at + Duration::hours(24)).min(session.expires_at - Duration::hours(12));
    let due_at = settings.quiet_hours.next_allowed(nominal.max(now), zone);
    if due_at < session.expires_at - Duration::hours(1) && due_at > now {
        let item = DueItem {
            tenant_id: t.clone(),
            subject: session.id.to_string(),
            client_id: client.clone(),
            kind: MessageKind::SignatureReminder,
            channels: vec![Channel::Email],
            due_at,
            useful_until: session.expires_at - Duration::hours(1),
            planned_start: None,
        };
        plan_one(n, item).await?;
    }
    Ok(())
}

/// The reminder of a signing session, or `None` when it is signed, declined or expired.
pub async fn reminder_delivery(n: &Notifier, t: &TenantId, item: &DueItem) -> AppResult<Option<Delivery>> {
    let Some(session) = session(n, t, &item.subject).await? else { return Ok(None) };
    if !matches!(session.current_status(n.store.clock.now()), SessionStatus::Sent | SessionStatus::Opened) {
        return Ok(None);
    }
    Ok(Some(Delivery {
        tenant: t.clone(),
        client: item.client_id.clone(),
        kind: MessageKind::SignatureReminder,
        subject: item.subject.clone(),
        channels: item.channels.clone(),
        vars: vars(n, t, &session).await?,
    }))
}
