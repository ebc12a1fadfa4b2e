//! The messaging ports' embedded adapter: every email is written as an `.eml` file (the same
//! MIME the SES adapter sends) and every message as a JSON record, under one folder the local
//! host lists at `/local/outbox`. Nothing leaves the machine.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use mas_ports::messages::{Accepted, Mailer, OutgoingEmail, OutgoingSms, SendError, SmsSender, mime};

/// One message as the outbox keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub file: String,
    pub channel: String,
    pub message_id: String,
    pub to: String,
    pub subject: Option<String>,
    pub text: String,
    pub html: Option<String>,
    pub written_at: chrono::DateTime<chrono::Utc>,
}

pub struct Outbox {
    dir: PathBuf,
}

impl Outbox {
    pub fn new(dir: impl Into<PathBuf>) -> std::io::Result<Outbox> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        Ok(Outbox { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every message, newest first.
    pub fn list(&self) -> std::io::Result<Vec<OutboxEntry>> {
        let mut entries = Vec::new();
        for file in std::fs::read_dir(&self.dir)? {
            let path = file?.path();
            if path.extension().is_some_and(|e| e == "json") {
                let bytes = std::fs::read(&path)?;
                if let Ok(entry) = serde_json::from_slice::<OutboxEntry>(&bytes) {
                    entries.push(entry);
                }
            }
        }
        entries.sort_by(|a, b| b.file.cmp(&a.file));
        Ok(entries)
    }

    fn write(&self, mut entry: OutboxEntry, eml: Option<Vec<u8>>) -> Result<Accepted, SendError> {
        // Monotonic ULIDs sort by time even within one millisecond (plain ones do not), so file
        // names list in the order messages were written.
        static IDS: std::sync::Mutex<ulid::Generator> = std::sync::Mutex::new(ulid::Generator::new());
        let id = IDS.lock().expect("id lock").generate().unwrap_or_else(|_| ulid::Ulid::new());
        let stem = format!("{}-{}", id.to_string().to_lowercase(), entry.channel);
        entry.file = format!("{stem}.json");
        let io = |e: std::io::Error| SendError::Unavailable(format!("outbox: {e}"));
        if let Some(eml) = eml {
            std::fs::write(self.dir.join(format!("{stem}.eml")), eml).map_err(io)?;
        }
        let json = serde_json::to_vec_pretty(&entry).map_err(|e| SendError::Unavailable(e.to_string()))?;
        std::fs::write(self.dir.join(&entry.file), json).map_err(io)?;
        Ok(Accepted { provider_id: format!("outbox-{stem}") })
    }
}

#[async_trait]
impl Mailer for Outbox {
    async fn send_email(&self, email: &OutgoingEmail) -> Result<Accepted, SendError> {
        let eml = mime(email)?;
        let entry = OutboxEntry {
            file: String::new(),
            channel: "email".into(),
            message_id: email.message_id.clone(),
            to: email.to.clone(),
            subject: Some(email.subject.clone()),
            text: email.text.clone(),
            html: Some(email.html.clone()),
            written_at: chrono::Utc::now(),
        };
        self.write(entry, Some(eml))
    }
}

#[async_trait]
impl SmsSender for Outbox {
    async fn send_sms(&self, sms: &OutgoingSms) -> Result<Accepted, SendError> {
        let entry = OutboxEntry {
            file: String::new(),
            channel: "sms".into(),
            message_id: sms.message_id.clone(),
            to: sms.to.clone(),
            subject: None,
            text: sms.body.clone(),
            html: None,
            written_at: chrono::Utc::now(),
        };
        self.write(entry, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(unsubscribe: Option<&str>) -> OutgoingEmail {
        OutgoingEmail {
            message_id: "msg_1".into(),
            from_name: "Glow & Co".into(),
            from_address: "bookings@example.com".into(),
            reply_to: Some("desk@glow.example".into()),
            to: "ada@example.com".into(),
            subject: "Your visit — £40 deposit".into(),
            text: "Hello Ada".into(),
            html: "<p>Hello Ada</p>".into(),
            list_unsubscribe: unsubscribe.map(str::to_owned),
        }
    }

    #[test]
    fn marketing_mail_carries_one_click_unsubscribe_headers_and_booking_mail_does_not() {
        let marketing = String::from_utf8(mime(&email(Some("https://x.test/u?t=1"))).unwrap()).unwrap();
        assert!(marketing.contains("List-Unsubscribe: <https://x.test/u?t=1>"), "{marketing}");
        assert!(marketing.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
        assert!(marketing.contains("multipart/alternative"));
        let booking = String::from_utf8(mime(&email(None)).unwrap()).unwrap();
        assert!(!booking.contains("List-Unsubscribe"));
        assert!(booking.contains("Reply-To: <desk@glow.example>"), "{booking}");
    }

    #[tokio::test]
    async fn the_outbox_keeps_every_message_newest_first_with_an_eml_for_email() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::new(dir.path()).unwrap();
        outbox.send_email(&email(None)).await.unwrap();
        let sms = OutgoingSms {
            message_id: "msg_2".into(),
            to: "+447700900123".into(),
            body: "Hi".into(),
            status_callback: None,
        };
        outbox.send_sms(&sms).await.unwrap();
        let listed = outbox.list().unwrap();
        assert_eq!(listed.iter().map(|e| e.channel.as_str()).collect::<Vec<_>>(), ["sms", "email"]);
        let emls = std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|f| f.as_ref().unwrap().path().extension().unwrap() == "eml")
            .count();
        assert_eq!(emls, 1);
    }
}
