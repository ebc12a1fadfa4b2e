//! The blob port: immutable files (rendered PDFs) under a tenant's prefix, and short-lived links
//! to read them (S3 presigned URLs on AWS; HMAC-signed URLs served by the local host).

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

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

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum BlobError {
    #[error("invalid blob key {0:?}")]
    InvalidKey(String),
    /// The backend failed; the message is for logs only.
    #[error("blob store unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait Blobs: Send + Sync {
    /// Stores `bytes` under `key`, replacing what was there.
    async fn put(&self, key: &BlobKey, bytes: Vec<u8>, content_type: &str) -> Result<(), BlobError>;
    /// The blob's bytes, or `None` when there is none under `key`.
    async fn get(&self, key: &BlobKey) -> Result<Option<Vec<u8>>, BlobError>;
    /// A URL anyone holding it can GET the blob with, until `expires_in` has passed.
    async fn presign(&self, key: &BlobKey, expires_in: Duration) -> Result<String, BlobError>;
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
