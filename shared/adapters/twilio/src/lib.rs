//! The SMS port on Twilio's REST API (`POST /2010-04-01/Accounts/{sid}/Messages.json`) with
//! plain `reqwest`: one form post, so a maintained SDK would add weight and little else.
//! `TWILIO_API_BASE` points it at a loopback capture server in tests.

use async_trait::async_trait;
use serde::Deserialize;

use mas_ports::messages::{Accepted, OutgoingSms, SendError, SmsSender};

pub const TWILIO_API: &str = "https://api.twilio.com";

#[derive(Clone)]
pub struct TwilioSms {
    http: reqwest::Client,
    base: String,
    account_sid: String,
    auth_token: String,
    /// A Messaging Service (`MG…`) or a sending number in E.164.
    sender: String,
}

impl TwilioSms {
    pub fn new(base: &str, account_sid: &str, auth_token: &str, sender: &str) -> TwilioSms {
        TwilioSms {
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .build()
                .expect("a reqwest client with default TLS"),
            base: base.trim_end_matches('/').to_owned(),
            account_sid: account_sid.to_owned(),
            auth_token: auth_token.to_owned(),
            sender: sender.to_owned(),
        }
    }
}

#[derive(Deserialize)]
struct Created {
    sid: String,
}

#[derive(Deserialize)]
struct Failure {
    code: Option<i64>,
    message: Option<String>,
}

/// Twilio error codes that mean this number will never take this message.
const PERMANENT: [i64; 7] = [
    21211, // invalid 'To' number
    21214, // 'To' cannot be reached
    21408, // region not enabled
    21610, // the recipient replied STOP
    21612, // cannot route to this number
    21614, // not a mobile number
    21217, // not a valid phone number
];

#[async_trait]
impl SmsSender for TwilioSms {
    async fn send_sms(&self, sms: &OutgoingSms) -> Result<Accepted, SendError> {
        let url = format!("{}/2010-04-01/Accounts/{}/Messages.json", self.base, self.account_sid);
        let from_field = if self.sender.starts_with("MG") { "MessagingServiceSid" } else { "From" };
        let mut form = vec![("To", sms.to.as_str()), (from_field, self.sender.as_str()), ("Body", sms.body.as_str())];
        if let Some(callback) = &sms.status_callback {
            form.push(("StatusCallback", callback.as_str()));
        }
        let response = self
            .http
            .post(url)
            .basic_auth(&self.account_sid, Some(&self.auth_token))
            .form(&form)
            .send()
            .await
            .map_err(|e| SendError::Unavailable(format!("twilio unreachable: {e}")))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| SendError::Unavailable(e.to_string()))?;
        if status.is_success() {
            let created: Created =
                serde_json::from_slice(&body).map_err(|e| SendError::Unavailable(format!("unexpected answer: {e}")))?;
            return Ok(Accepted { provider_id: created.sid });
        }
        let failure: Failure = serde_json::from_slice(&body).unwrap_or(Failure { code: None, message: None });
        let reason = format!(
            "twilio {}: {} {}",
            status.as_u16(),
            failure.code.map(|c| c.to_string()).unwrap_or_default(),
            failure.message.unwrap_or_default()
        );
        match failure.code {
            Some(code) if PERMANENT.contains(&code) => Err(SendError::Undeliverable(reason)),
            _ => Err(SendError::Unavailable(reason)),
        }
    }
}
