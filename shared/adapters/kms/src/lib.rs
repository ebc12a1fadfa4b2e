//! The KMS key wrapper: `GenerateDataKey` makes each tenant's data key and `Decrypt` unwraps it,
//! both with the encryption context `{"tenant_id": t}`, so KMS itself refuses to unwrap one
//! tenant's key as another's (and CloudTrail records which tenant's key was used).

use async_trait::async_trait;
use aws_sdk_kms::Client;
use aws_sdk_kms::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;

use mas_domain::ids::TenantId;
use mas_ports::{CryptoError, DataKey, GeneratedKey, KeyWrapper};

const CONTEXT_KEY: &str = "tenant_id";

#[derive(Debug, Clone)]
pub struct KmsKeyWrapper {
    client: Client,
    key_id: String,
}

impl KmsKeyWrapper {
    /// `key_id`: the key id, ARN or alias of the KMS key (`MAS_KMS_KEY_ID`).
    pub fn new(client: Client, key_id: impl Into<String>) -> Self {
        KmsKeyWrapper { client, key_id: key_id.into() }
    }
}

/// Errors that mean "this ciphertext is not for this key and context", as opposed to KMS failing.
const REJECTIONS: [&str; 3] = ["InvalidCiphertextException", "IncorrectKeyException", "InvalidKeyUsageException"];

fn kms_error<E: ProvideErrorMetadata + std::error::Error + 'static, R: std::fmt::Debug>(
    err: SdkError<E, R>,
) -> CryptoError {
    if err.as_service_error().and_then(|e| e.code()).is_some_and(|code| REJECTIONS.contains(&code)) {
        return CryptoError::Rejected;
    }
    CryptoError::Unavailable(DisplayErrorContext(err).to_string())
}

#[async_trait]
impl KeyWrapper for KmsKeyWrapper {
    fn scheme(&self) -> &'static str {
        "kms"
    }

    fn key_ref(&self) -> String {
        self.key_id.clone()
    }

    async fn generate(&self, tenant: &TenantId) -> Result<GeneratedKey, CryptoError> {
        let out = self
            .client
            .generate_data_key()
            .key_id(&self.key_id)
            .key_spec(DataKeySpec::Aes256)
            .encryption_context(CONTEXT_KEY, tenant.as_str())
            .send()
            .await
            .map_err(kms_error)?;
        let missing = || CryptoError::Unavailable("GenerateDataKey returned no key".into());
        let key = DataKey::from_slice(out.plaintext().ok_or_else(missing)?.as_ref())?;
        let wrapped = out.ciphertext_blob().ok_or_else(missing)?.as_ref().to_vec();
        Ok(GeneratedKey { key, wrapped })
    }

    async fn unwrap(&self, tenant: &TenantId, wrapped: &[u8]) -> Result<DataKey, CryptoError> {
        let out = self
            .client
            .decrypt()
            .key_id(&self.key_id)
            .ciphertext_blob(Blob::new(wrapped))
            .encryption_context(CONTEXT_KEY, tenant.as_str())
            .send()
            .await
            .map_err(kms_error)?;
        let plaintext =
            out.plaintext().ok_or_else(|| CryptoError::Unavailable("Decrypt returned no plaintext".into()))?;
        DataKey::from_slice(plaintext.as_ref())
    }
}
