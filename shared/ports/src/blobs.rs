//! The blob port: immutable files (rendered PDFs) under a tenant's prefix, short-lived links to
//! read them (S3 presigned URLs on AWS; HMAC-signed URLs served by the local host), and their
//! retention: a blob can be kept write-once until a date (S3 Object Lock; a sidecar file on the
//! directory adapter), which can be extended and never shortened, and nobody deletes it sooner.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// A blob's key: `/`-separated segments of letters, digits, `.`, `_` and `-` (no empty or dot-only
/// segments), so a key can never climb out of its prefix on a file system. Built in `mas_store::keys`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlobKey(String);

impl BlobKey {
    pub fn parse(raw: &str) -> Result<BlobKey, BlobError> {
        let segment_ok = |s: &str| {
            !s.is_empty()
                && s.chars().any(|c| c != '.')
                && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        };
        if raw.len() > 512 || !raw.split('/').all(segment_ok) {
            return Err(BlobError::InvalidKey(raw.chars().take(80).collect()));
        }
        Ok(BlobKey(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BlobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How long a blob being stored is kept write-once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retention {
    /// The store's default: the documents bucket's (seven years, its Object Lock rule), none for
    /// a store without one (the sites bucket).
    Default,
    /// Kept until this instant (whole seconds): no delete succeeds before it.
    Until(DateTime<Utc>),
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum BlobError {
    #[error("invalid blob key {0:?}")]
    InvalidKey(String),
    /// A delete refused because (a version of) the blob is retained until `until`: try again after.
    #[error("blob {key} is retained until {until}")]
    Locked { key: String, until: DateTime<Utc> },
    /// No blob under the key (for the calls that need one: a missing blob's delete is done).
    #[error("no blob {0}")]
    NotFound(String),
    /// The backend failed; the message is for logs only.
    #[error("blob store unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait Blobs: Send + Sync {
    /// Stores `bytes` under `key`, replacing what was there (on a versioned bucket the earlier
    /// version stays, under its own retention), kept as `retention` says.
    async fn put(
        &self,
        key: &BlobKey,
        bytes: Vec<u8>,
        content_type: &str,
        retention: Retention,
    ) -> Result<(), BlobError>;
    /// The blob's bytes, or `None` when there is none under `key`.
    async fn get(&self, key: &BlobKey) -> Result<Option<Vec<u8>>, BlobError>;
    /// A URL anyone holding it can GET the blob with, until `expires_in` has passed.
    async fn presign(&self, key: &BlobKey, expires_in: Duration) -> Result<String, BlobError>;
    /// Until when the blob is retained (the latest date of any of its versions), `None` when it
    /// has no retention; `NotFound` when there is no blob.
    async fn retained_until(&self, key: &BlobKey) -> Result<Option<DateTime<Utc>>, BlobError>;
    /// Keeps the blob (every version of it) at least until `until`. Never shortens: a version
    /// already kept longer is left as it is. `NotFound` when there is no blob.
    async fn extend_retention(&self, key: &BlobKey, until: DateTime<Utc>) -> Result<(), BlobError>;
    /// Deletes the blob for good (every version). `Locked` while a version is retained (the
    /// versions no longer retained are deleted meanwhile); a blob already gone is done.
    async fn delete(&self, key: &BlobKey) -> Result<(), BlobError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_cannot_climb_out_of_its_prefix_or_carry_odd_characters() {
        assert!(BlobKey::parse("tenants/ten_a/documents/doc_1/abc.pdf").is_ok());
        for bad in ["", "/a", "a/", "a//b", "a/../b", "..", "a/./b", "a b", "a\\b", "a/%2e%2e/b", "ü"] {
            assert!(BlobKey::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
