//! The mail port on SES v2: the same MIME as the outbox, sent raw so `List-Unsubscribe` and
//! `Reply-To` travel as written. SES's refusals of an address are permanent; throttling and
//! outages are not.

use async_trait::async_trait;
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::error::{DisplayErrorContext, SdkError};
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{EmailContent, RawMessage};

use mas_ports::messages::mime;
use mas_ports::messages::{Accepted, Mailer, OutgoingEmail, SendError};

#[derive(Debug, Clone)]
pub struct SesMailer {
    client: Client,
    /// A configuration set (event publishing of bounces and complaints), if any.
    configuration_set: Option<String>,
}

impl SesMailer {
    pub fn new(client: Client, configuration_set: Option<String>) -> SesMailer {
        SesMailer { client, configuration_set }
    }
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send_email(&self, email: &OutgoingEmail) -> Result<Accepted, SendError> {
        let raw = RawMessage::builder()
            .data(Blob::new(mime(email)?))
            .build()
            .map_err(|e| SendError::Unavailable(e.to_string()))?;
        let answer = self
            .client
            .send_email()
            .content(EmailContent::builder().raw(raw).build())
            .destination(aws_sdk_sesv2::types::Destination::builder().to_addresses(&email.to).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await
            .map_err(classify)?;
        Ok(Accepted { provider_id: answer.message_id().unwrap_or_default().to_owned() })
    }
}

fn classify(err: SdkError<SendEmailError>) -> SendError {
    let message = DisplayErrorContext(&err).to_string();
    // A rejected message or a malformed address will be refused again; throttling, a paused
    // account or an outage may pass, so those are retried (and alarm through the DLQ).
    match err.as_service_error() {
        Some(SendEmailError::MessageRejected(_)) | Some(SendEmailError::BadRequestException(_)) => {
            SendError::Undeliverable(message)
        }
        _ => SendError::Unavailable(message),
    }
}
