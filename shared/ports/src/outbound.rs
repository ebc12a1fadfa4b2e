//! The outbound webhooks port: one signed POST to a partner's endpoint. The adapter
//! (`mas-outbound`) gives up after `partner::TIMEOUT_SECONDS`, follows no redirect, and on AWS
//! refuses a host that resolves to a private, loopback or link-local address (SSRF).

use async_trait::async_trait;

/// One delivery request: the URL, the headers (the signature among them) and the exact body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundPost {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PostError {
    /// Not sent: the URL's host is, or resolves to, an address deliveries may not go to.
    #[error("refused: {0}")]
    Refused(String),
    /// Sent (or tried) and no answer: a timeout, a refused connection, a TLS failure.
    #[error("{0}")]
    NoAnswer(String),
}

#[async_trait]
pub trait WebhookPoster: Send + Sync {
    /// POSTs `post`; `Ok(status)` whatever the status, an error when nothing answered.
    async fn post(&self, post: &OutboundPost) -> Result<u16, PostError>;
}

#[async_trait]
impl WebhookPoster for crate::Unconfigured {
    async fn post(&self, _: &OutboundPost) -> Result<u16, PostError> {
        Err(PostError::NoAnswer("no webhook sender is configured in this process".into()))
    }
}
