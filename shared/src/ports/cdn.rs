//! The CDN port: after a tenant's site is published, its cached copies must go (CloudFront
//! `CreateInvalidation` on AWS; the local host serves sites rendered on request, so its adapter
//! only logs).

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
