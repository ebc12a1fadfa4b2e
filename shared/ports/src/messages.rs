//! The messaging ports: email (SES v2 on AWS) and SMS (Twilio), each with the local outbox as
//! its embedded adapter. A send either is accepted, is refused for good (the address cannot be
//! delivered to: recorded, never retried), or fails for now (the queue retries it).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutgoingEmail {
    /// Ours: the same message always carries the same id (providers' logs, the outbox).
    pub message_id: String,
    /// The clinic's name as the sender's display name.
    pub from_name: String,
    pub from_address: String,
    pub reply_to: Option<String>,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Marketing mail only: where a client unsubscribes in one click (RFC 8058).
    pub list_unsubscribe: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutgoingSms {
    pub message_id: String,
    /// E.164.
    pub to: String,
    pub body: String,
    /// Where the provider reports delivery (Twilio's `StatusCallback`).
    pub status_callback: Option<String>,
}

/// The provider took the message; its id for status callbacks and support.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    pub provider_id: String,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SendError {
    /// This address cannot be delivered to (invalid, suppressed, unsubscribed at the provider).
    #[error("undeliverable: {0}")]
    Undeliverable(String),
    /// The provider is unreachable or throttling; try again later.
    #[error("provider unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send_email(&self, email: &OutgoingEmail) -> Result<Accepted, SendError>;
}

#[async_trait]
pub trait SmsSender: Send + Sync {
    async fn send_sms(&self, sms: &OutgoingSms) -> Result<Accepted, SendError>;
}

/// The RFC 5322 message (multipart text + HTML) both the outbox and SES send.
pub fn mime(email: &OutgoingEmail) -> Result<Vec<u8>, SendError> {
    use mail_builder::MessageBuilder;
    use mail_builder::headers::raw::Raw;

    let mut builder = MessageBuilder::new()
        .from((email.from_name.as_str(), email.from_address.as_str()))
        .to(email.to.as_str())
        .subject(email.subject.as_str())
        .message_id(format!("{}@mas", email.message_id))
        .text_body(email.text.as_str())
        .html_body(email.html.as_str());
    if let Some(reply_to) = &email.reply_to {
        builder = builder.reply_to(reply_to.as_str());
    }
    if let Some(url) = &email.list_unsubscribe {
        builder = builder
            .header("List-Unsubscribe", Raw::new(format!("<{url}>")))
            .header("List-Unsubscribe-Post", Raw::new("List-Unsubscribe=One-Click"));
    }
    builder.write_to_vec().map_err(|e| SendError::Unavailable(format!("could not build the message: {e}")))
}
