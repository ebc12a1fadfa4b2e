//! Signing requests by message: the link when a session opens, and one reminder while it is
//! still unsigned (a day after it was sent, or half a day before it expires if that is sooner).
//! The link comes from `esign::link_token`, which refuses once the session is over.

use chrono::Duration;

use super::plan::{DueItem, plan_one};
use super::{Delivery, Notifier, deliver};
use mas_domain::error::{AppError, AppResult};
use mas_domain::esign::SigningSession;
use mas_domain::ids::{ClientId, SigningSessionId, TenantId};
use mas_domain::notifications::{self, Channel, MessageKind, Variables};

/// The session, its variables and the clinic's zone while it can still be signed; `None` once
/// it is over.
async fn open_session(
    n: &Notifier,
    t: &TenantId,
    id: &str,
) -> AppResult<Option<(SigningSession, Variables, chrono_tz::Tz)>> {
    let id = SigningSessionId::parse(id).map_err(|e| AppError::Internal(e.0))?;
    let (session, token) = match mas_documents::esign::link_token(&n.store, &n.links, t, &id).await {
        Ok(found) => found,
        Err(over) if over.session_over() => return Ok(None),
        Err(other) => return Err(other.into()),
    };
    let view = mas_documents::documents::load(&n.store, t, &session.document_id).await?;
    let zone = mas_accounts::tenants::tenant(&n.store, t).await?.timezone.tz();
    let base = n.public_url.clone().unwrap_or_default();
    let mut vars = Variables::new();
    vars.insert("document.title".into(), view.document.content.title.clone());
    vars.insert("link".into(), format!("{base}/v1/esign/{token}"));
    vars.insert("link.expires".into(), notifications::local_when(session.expires_at, zone));
    Ok(Some((session, vars, zone)))
}

/// Sends the signing link of session `id` and plans its reminder.
pub async fn notify_signer(n: &Notifier, t: &TenantId, id: &str, client: &ClientId) -> AppResult<()> {
    let Some((session, vars, zone)) = open_session(n, t, id).await? else { return Ok(()) };
    let delivery = Delivery {
        tenant: t.clone(),
        client: client.clone(),
        kind: MessageKind::SignatureRequest,
        subject: session.id.to_string(),
        channels: vec![Channel::Email, Channel::Sms],
        vars,
    };
    deliver(n, &delivery).await?;
    let now = n.store.clock.now();
    let settings = super::settings(&n.store, t).await?;
    let nominal = (session.created_at + Duration::hours(24)).min(session.expires_at - Duration::hours(12));
    let due_at = settings.quiet_hours.next_allowed(nominal.max(now), zone);
    let useful_until = session.expires_at - Duration::hours(1);
    if due_at > now && due_at < useful_until {
        let item = DueItem {
            tenant_id: t.clone(),
            subject: session.id.to_string(),
            client_id: client.clone(),
            kind: MessageKind::SignatureReminder.into(),
            channels: vec![Channel::Email],
            due_at,
            useful_until,
            planned_start: None,
        };
        plan_one(n, item).await?;
    }
    Ok(())
}

/// The reminder of a signing session, or `None` when it is signed, declined or expired.
pub async fn reminder_delivery(n: &Notifier, t: &TenantId, item: &DueItem) -> AppResult<Option<Delivery>> {
    let Some((_, vars, _)) = open_session(n, t, &item.subject).await? else { return Ok(None) };
    Ok(Some(Delivery {
        tenant: t.clone(),
        client: item.client_id.clone(),
        kind: MessageKind::SignatureReminder,
        subject: item.subject.clone(),
        channels: item.channels.clone(),
        vars,
    }))
}
