//! The CDN port: after a tenant's site is published, its cached copies must go (CloudFront
//! `CreateInvalidation` on AWS; the local host serves sites rendered on request, so its adapter
//! only logs).

use std::sync::Mutex;

use async_trait::async_trait;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CdnError {
    /// The CDN refused or failed; the message is for logs only.
    #[error("cdn unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait Cdn: Send + Sync {
    fn name(&self) -> &'static str;
    /// Drops cached copies of `paths` (viewer paths after the edge function's rewrite, `*` as the
    /// last character matches a prefix). `reference` makes a retry of the same request harmless.
    /// Returns the CDN's id for the invalidation, if it has one.
    async fn invalidate(&self, paths: &[String], reference: &str) -> Result<Option<String>, CdnError>;
}

/// The local host's CDN: there is no cache to clear (sites are rendered on request), so it logs
/// and keeps the requests it was given.
#[derive(Debug, Default)]
pub struct LogCdn {
    requests: Mutex<Vec<(Vec<String>, String)>>,
}

impl LogCdn {
    pub fn new() -> LogCdn {
        LogCdn::default()
    }

    /// Every invalidation asked of it: the paths and the reference.
    pub fn requests(&self) -> Vec<(Vec<String>, String)> {
        self.requests.lock().expect("cdn lock").clone()
    }
}

#[async_trait]
impl Cdn for LogCdn {
    fn name(&self) -> &'static str {
        "log"
    }

    async fn invalidate(&self, paths: &[String], reference: &str) -> Result<Option<String>, CdnError> {
        tracing::info!(?paths, reference, "cdn invalidation (local: nothing is cached)");
        self.requests.lock().expect("cdn lock").push((paths.to_vec(), reference.to_owned()));
        Ok(None)
    }
}
