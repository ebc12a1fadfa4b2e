//! The key-wrapper port: each tenant's data key (which encrypts clinical fields) is stored only
//! wrapped, and only this port can unwrap it. On AWS a KMS key wraps it (the key-encryption key
//! never leaves KMS); locally a key-encryption key from configuration does. Both bind a wrapped
//! key to its tenant, so one tenant's wrapped key cannot be unwrapped as another's.

use std::fmt;

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use async_trait::async_trait;
use zeroize::Zeroizing;

use mas_domain::ids::TenantId;

/// A plaintext AES-256 data key. Zeroed when dropped; never printed.
pub struct DataKey(Zeroizing<[u8; 32]>);

impl DataKey {
    pub const LEN: usize = 32;

    pub fn from_slice(bytes: &[u8]) -> Result<DataKey, CryptoError> {
        let bytes: [u8; Self::LEN] = bytes.try_into().map_err(|_| CryptoError::Rejected)?;
        Ok(DataKey(Zeroizing::new(bytes)))
    }

    /// A fresh key from the operating system's random source.
    pub fn random() -> Result<DataKey, CryptoError> {
        let mut bytes = Zeroizing::new([0u8; Self::LEN]);
        fill_random(bytes.as_mut())?;
        Ok(DataKey(bytes))
    }

    pub fn as_bytes(&self) -> &[u8; Self::LEN] {
        &self.0
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(..)")
    }
}

/// Fills `buf` from the operating system's random source.
pub fn fill_random(buf: &mut [u8]) -> Result<(), CryptoError> {
    use rand::TryRngCore;
    rand::rngs::OsRng.try_fill_bytes(buf).map_err(|e| CryptoError::Unavailable(format!("no randomness: {e}")))
}

/// A new data key: the plaintext to use now and the wrapped form to store.
pub struct GeneratedKey {
    pub key: DataKey,
    pub wrapped: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The wrapped key or ciphertext does not open: another tenant's, another key's, or altered.
    #[error("the ciphertext does not open with this key and context")]
    Rejected,
    /// The key service failed; the message is for logs only.
    #[error("key service unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait KeyWrapper: Send + Sync {
    /// Which kind of wrapping (`local`, `kms`), stored beside each wrapped key.
    fn scheme(&self) -> &'static str;
    /// Which key-encryption key (a KMS key id or ARN, or `local`), stored beside each wrapped key.
    fn key_ref(&self) -> String;
    /// A new data key for `tenant`, with its wrapped form bound to the tenant.
    async fn generate(&self, tenant: &TenantId) -> Result<GeneratedKey, CryptoError>;
    /// The data key `wrapped` holds, if it was wrapped for `tenant` by this key-encryption key.
    async fn unwrap(&self, tenant: &TenantId, wrapped: &[u8]) -> Result<DataKey, CryptoError>;
}

// AES-256-GCM (RustCrypto's `aes-gcm`; why that crate: `mas_store::crypto`), shared by the
// store's sealed fields and the local key wrapper.
const NONCE_LEN: usize = 12;

/// `nonce ‖ ciphertext ‖ tag` of `plaintext` under `key`, bound to `aad`. A fresh random nonce
/// per call: at well under 2³² messages per key the collision risk is negligible.
pub fn encrypt(key: &DataKey, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let cipher = Aes256Gcm::new(key.as_bytes().into());
    let mut nonce = [0u8; NONCE_LEN];
    fill_random(&mut nonce)?;
    let sealed = cipher
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext, aad })
        .map_err(|_| CryptoError::Rejected)?;
    let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// The plaintext of `encrypt`'s output, if it was sealed under `key` with this very `aad`.
pub fn decrypt(key: &DataKey, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    if sealed.len() < NONCE_LEN + 16 {
        return Err(CryptoError::Rejected);
    }
    let (nonce, body) = sealed.split_at(NONCE_LEN);
    let cipher = Aes256Gcm::new(key.as_bytes().into());
    cipher
        .decrypt(Nonce::from_slice(nonce), Payload { msg: body, aad })
        .map(Zeroizing::new)
        .map_err(|_| CryptoError::Rejected)
}
