//! The key-wrapper port's contract: every case runs against the local key-encryption key and
//! against KMS (on moto, two fresh keys per test).

use std::sync::Arc;

use mas_domain::ids::TenantId;
use mas_embedded::LocalKeyWrapper;
use mas_kms::KmsKeyWrapper;
use mas_ports::{CryptoError, DataKey, KeyWrapper};

use crate::support::aws;

/// A wrapper to test, and another with a different key-encryption key.
struct Fixture {
    wrapper: Arc<dyn KeyWrapper>,
    other: Arc<dyn KeyWrapper>,
}

async fn local_wrappers(_test: &str) -> Option<Fixture> {
    let wrapper = LocalKeyWrapper::new(DataKey::random().unwrap());
    let other = LocalKeyWrapper::new(DataKey::random().unwrap());
    Some(Fixture { wrapper: Arc::new(wrapper), other: Arc::new(other) })
}

async fn kms_wrappers(test: &str) -> Option<Fixture> {
    let config = aws::moto(test).await?;
    let client = aws_sdk_kms::Client::new(&config);
    let mut wrappers = Vec::new();
    for _ in 0..2 {
        let key = client.create_key().description(test).send().await.expect("a key on moto");
        let key_id = key.key_metadata().expect("key metadata").key_id().to_owned();
        wrappers.push(Arc::new(KmsKeyWrapper::new(client.clone(), key_id)) as Arc<dyn KeyWrapper>);
    }
    let other = wrappers.pop().unwrap();
    Some(Fixture { wrapper: wrappers.pop().unwrap(), other })
}

macro_rules! adapter_tests {
    ($adapter:ident, $fresh:ident; $($case:ident),* $(,)?) => {
        mod $adapter {
            $(
                #[tokio::test]
                async fn $case() {
                    if let Some(fixture) = super::$fresh(stringify!($case)).await {
                        super::$case(&fixture).await;
                    }
                }
            )*
        }
    };
}

macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        adapter_tests!(local_kek, local_wrappers; $($case),*);
        adapter_tests!(kms, kms_wrappers; $($case),*);
    };
}

contract!(
    a_generated_key_unwraps_to_the_same_key_for_its_tenant,
    every_generated_key_is_new,
    a_wrapped_key_does_not_unwrap_for_another_tenant,
    an_altered_wrapped_key_does_not_unwrap,
    another_key_encryption_key_cannot_unwrap_it,
    the_wrapped_form_is_not_the_key,
);

fn tenant(id: &str) -> TenantId {
    TenantId::parse(id).unwrap()
}

async fn a_generated_key_unwraps_to_the_same_key_for_its_tenant(f: &Fixture) {
    let generated = f.wrapper.generate(&tenant("ten_a")).await.unwrap();
    let unwrapped = f.wrapper.unwrap(&tenant("ten_a"), &generated.wrapped).await.unwrap();
    assert_eq!(unwrapped.as_bytes(), generated.key.as_bytes());
    assert_eq!(generated.key.as_bytes().len(), 32);
}

async fn every_generated_key_is_new(f: &Fixture) {
    let first = f.wrapper.generate(&tenant("ten_a")).await.unwrap();
    let second = f.wrapper.generate(&tenant("ten_a")).await.unwrap();
    assert_ne!(first.key.as_bytes(), second.key.as_bytes());
    assert_ne!(first.wrapped, second.wrapped);
}

async fn a_wrapped_key_does_not_unwrap_for_another_tenant(f: &Fixture) {
    let generated = f.wrapper.generate(&tenant("ten_a")).await.unwrap();
    let err = f.wrapper.unwrap(&tenant("ten_b"), &generated.wrapped).await.unwrap_err();
    assert_eq!(err, CryptoError::Rejected);
}

async fn an_altered_wrapped_key_does_not_unwrap(f: &Fixture) {
    let generated = f.wrapper.generate(&tenant("ten_a")).await.unwrap();
    let mut altered = generated.wrapped.clone();
    *altered.last_mut().unwrap() ^= 0x01;
    assert_eq!(f.wrapper.unwrap(&tenant("ten_a"), &altered).await.unwrap_err(), CryptoError::Rejected);
    assert!(f.wrapper.unwrap(&tenant("ten_a"), b"short").await.is_err());
}

/// KMS answers this with an access error rather than "invalid ciphertext" (moto: AccessDenied,
/// AWS: IncorrectKeyException), so the contract is only that it fails.
async fn another_key_encryption_key_cannot_unwrap_it(f: &Fixture) {
    let generated = f.wrapper.generate(&tenant("ten_a")).await.unwrap();
    assert!(f.other.unwrap(&tenant("ten_a"), &generated.wrapped).await.is_err());
}

async fn the_wrapped_form_is_not_the_key(f: &Fixture) {
    let generated = f.wrapper.generate(&tenant("ten_a")).await.unwrap();
    let key = generated.key.as_bytes();
    assert!(!generated.wrapped.windows(key.len()).any(|window| window == key));
    assert!(!f.wrapper.scheme().is_empty() && !f.wrapper.key_ref().is_empty());
}
