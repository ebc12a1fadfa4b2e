//! Texts from clients: `C` confirms attendance, `STOP` (and Twilio's other opt-out words) stops
//! SMS, `START` resumes it, `HELP` answers with the clinic's contact. A text is matched to the
//! clinic and client that last texted that phone; from anyone else it is ignored politely.

use super::{MessageRecord, MessageStatus, Notifier, SmsPeer, finish, preferences, set_preferences};
use mas_domain::error::AppResult;
use mas_domain::ids::{AppointmentId, MessageId, RequestId};
use mas_domain::notifications::{Channel, SmsCommand, sms_command};
use mas_store::AuditContext;
use mas_store::keys;

#[derive(Debug, Clone, PartialEq)]
pub struct InboundSms {
    pub from: String,
    pub body: String,
    /// The provider's id: the same text delivered twice is handled once.
    pub provider_id: String,
}

/// What to text back (TwiML `<Message>`), if anything.
pub async fn on_inbound(n: &Notifier, sms: &InboundSms) -> AppResult<Option<String>> {
    let Some(peer) = n.store.get::<SmsPeer>(&keys::sms_peer(&sms.from)).await? else {
        tracing::info!("an SMS from a number we never texted; ignored");
        return Ok(None);
    };
    let t = &peer.tenant_id;
    let tenant = mas_accounts::tenants::tenant(&n.store, t).await?;
    let now = n.store.clock.now();
    let digest = <sha2::Sha256 as sha2::Digest>::digest(format!("{t}|in|{}", sms.provider_id).as_bytes());
    let id: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    let record = MessageRecord {
        id: MessageId::parse(&format!("{}{id}", MessageId::PREFIX)).expect("hex digits make an id"),
        client_id: peer.client_id.clone(),
        kind: None,
        channel: Channel::Sms,
        direction: "inbound".into(),
        subject: peer.subject.clone(),
        to: None,
        status: MessageStatus::Received,
        reason: None,
        summary: sms.body.chars().take(320).collect(),
        provider_id: Some(sms.provider_id.clone()),
        created_at: now,
        updated_at: now,
        lease_until: super::FOREVER,
    };
    let first_time = finish(n, t, &record, None, true).await?;
    let audit = AuditContext { tenant_id: t.clone(), actor: "client".into(), role: None, request_id: RequestId::new() };
    let clinic = tenant.name.to_string();
    match sms_command(&sms.body) {
        SmsCommand::Confirm => {
            let appointment = peer.subject.split('@').next().and_then(|id| AppointmentId::parse(id).ok());
            match appointment {
                Some(id) if first_time => {
                    mas_booking::appointments::confirm_attendance(&n.store, &audit, &id).await?;
                    Ok(Some(format!("{clinic}: thank you, your visit is confirmed.")))
                }
                Some(_) => Ok(Some(format!("{clinic}: thank you, your visit is confirmed."))),
                None => Ok(None),
            }
        }
        SmsCommand::Stop => {
            let prefs = preferences(&n.store, t, &peer.client_id).await?;
            if first_time {
                set_preferences(&n.store, &audit, &peer.client_id, prefs.sms_stopped(), "changed by SMS STOP").await?;
            }
            Ok(Some(format!("{clinic}: you will get no more texts from us. Reply START to receive them again.")))
        }
        SmsCommand::Start => {
            let prefs = preferences(&n.store, t, &peer.client_id).await?;
            if first_time {
                set_preferences(&n.store, &audit, &peer.client_id, prefs.sms_started(), "changed by SMS START").await?;
            }
            Ok(Some(format!("{clinic}: you will get texts about your bookings again. Reply STOP to opt out.")))
        }
        SmsCommand::Help => {
            let catalog = mas_catalog::catalog::Catalog::load(&n.store, t).await?;
            let contact = catalog
                .locations
                .iter()
                .filter(|l| !l.archived)
                .find_map(|l| {
                    l.data
                        .phone
                        .as_ref()
                        .map(|p| format!("call {p}"))
                        .or_else(|| l.data.email.as_ref().map(|e| format!("email {e}")))
                })
                .unwrap_or_else(|| "reply to this number".into());
            Ok(Some(format!("{clinic}: for help {contact}. Reply STOP to opt out.")))
        }
        SmsCommand::Other => Ok(None),
    }
}
