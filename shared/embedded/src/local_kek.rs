//! The local key wrapper: a key-encryption key from configuration (`MAS_KEK`) wraps each data
//! key with AES-256-GCM, the tenant id as associated data. For the local host and tests only:
//! `App::from_env` refuses it on Lambda, where KMS holds the key-encryption key.

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use mas_domain::ids::TenantId;
use mas_ports::crypto;
use mas_ports::{CryptoError, DataKey, GeneratedKey, KeyWrapper};

/// The well-known development key-encryption key: anyone can read what it protects, which is
/// fine for demo data on one machine and nothing else.
const DEV_KEK: [u8; 32] = *b"mas-local-development-kek-000001";

#[derive(Debug)]
pub struct LocalKeyWrapper {
    kek: DataKey,
}

impl LocalKeyWrapper {
    pub fn new(kek: DataKey) -> Self {
        LocalKeyWrapper { kek }
    }

    /// The key-encryption key from `MAS_KEK`: standard base64 of 32 bytes.
    pub fn from_base64(text: &str) -> Result<Self, String> {
        let bytes =
            zeroize::Zeroizing::new(STANDARD.decode(text.trim()).map_err(|_| "MAS_KEK is not base64".to_owned())?);
        let kek = DataKey::from_slice(&bytes).map_err(|_| format!("MAS_KEK must be 32 bytes, not {}", bytes.len()))?;
        Ok(LocalKeyWrapper::new(kek))
    }

    /// The fixed development key (see `DEV_KEK`).
    pub fn dev() -> Self {
        LocalKeyWrapper::new(DataKey::from_slice(&DEV_KEK).expect("32 bytes"))
    }

    fn context(tenant: &TenantId) -> Vec<u8> {
        format!("mas:data-key:v1:{tenant}").into_bytes()
    }
}

#[async_trait]
impl KeyWrapper for LocalKeyWrapper {
    fn scheme(&self) -> &'static str {
        "local"
    }

    fn key_ref(&self) -> String {
        "local".into()
    }

    async fn generate(&self, tenant: &TenantId) -> Result<GeneratedKey, CryptoError> {
        let key = DataKey::random()?;
        let wrapped = crypto::encrypt(&self.kek, &Self::context(tenant), key.as_bytes())?;
        Ok(GeneratedKey { key, wrapped })
    }

    async fn unwrap(&self, tenant: &TenantId, wrapped: &[u8]) -> Result<DataKey, CryptoError> {
        let bytes = crypto::decrypt(&self.kek, &Self::context(tenant), wrapped)?;
        DataKey::from_slice(&bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mas_kek_must_be_base64_of_32_bytes() {
        assert!(LocalKeyWrapper::from_base64(&STANDARD.encode([7u8; 32])).is_ok());
        assert!(LocalKeyWrapper::from_base64(&STANDARD.encode([7u8; 16])).unwrap_err().contains("32 bytes"));
        assert!(LocalKeyWrapper::from_base64("not base64!").is_err());
    }
}
