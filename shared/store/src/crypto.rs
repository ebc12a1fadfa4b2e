//! Field-level envelope encryption for clinical data, in two levels:
//!
//! - each tenant has one AES-256 data key, made on first use and stored only wrapped
//!   (`keys::data_key`, through the `KeyWrapper` port: KMS on AWS, the local KEK here);
//! - each client has their own AES-256 data key (`keys::client_data_key`, in the client's
//!   partition), stored only wrapped by the tenant's key (AES-256-GCM, associated data naming
//!   tenant and client). A client's health data is sealed under it, so erasing a client is
//!   deleting that one item: every ciphertext sealed under it — in the table, in its backups,
//!   in any copy — stops opening (crypto-shredding).
//!
//! Why the client key is wrapped by the tenant's key rather than by KMS directly: one KMS call
//! per tenant (cached) instead of one per client read, and the erasure needs no KMS permission;
//! the tenant key stays bound to its tenant by KMS's encryption context as before.
//!
//! Fields are sealed with AES-256-GCM before their item reaches the table, with associated data
//! that names what the field belongs to, so a ciphertext copied elsewhere does not open. A
//! sealed value names the key that sealed it (`key`: `client`, or absent for the tenant's key,
//! which is how every value sealed before client keys existed is stored), so old values keep
//! opening and new ones go under the client's key.
//!
//! AES-256-GCM comes from RustCrypto's `aes-gcm`: pure Rust (no C toolchain in the Lambda
//! cross-build), independently audited (NCC Group, 2020), constant-time with the AES and
//! carry-less-multiply instructions it detects at run time (AES-NI locally, the ARMv8 crypto
//! extensions on Graviton), and a small `Aead` API that is hard to misuse. `aws-lc-rs`, already
//! built for `jsonwebtoken`, would be the choice if FIPS-validated primitives became a
//! requirement; the sealed format below would not change.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::json;
use zeroize::Zeroizing;

use crate::keys;
use crate::{AuditContext, Once, Plan, Store, to_item};
use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::{ClientId, TenantId};
pub use mas_ports::crypto::{decrypt, encrypt};
use mas_ports::{CryptoError, DataKey, KeyWrapper, Write};

/// Whose data key sealed a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyScope {
    /// The tenant's key: every value sealed before client keys existed (they carry no `key`).
    #[default]
    Tenant,
    /// The client's own key, which erasing the client deletes.
    Client,
}

impl KeyScope {
    fn is_tenant(&self) -> bool {
        *self == KeyScope::Tenant
    }
}

/// A sealed field as stored: the algorithm, whose key sealed it, and `nonce ‖ ciphertext ‖ tag`
/// in base64. `key` is left out for the tenant's key, so the items written before client keys
/// read (and would be written) exactly as they were.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    pub alg: String,
    #[serde(default, skip_serializing_if = "KeyScope::is_tenant")]
    pub key: KeyScope,
    pub data: String,
}

const ALG: &str = "A256GCM";

impl Sealed {
    /// Seals a value's JSON under `key`, which is `scope`'s.
    pub fn seal<T: Serialize>(key: &DataKey, scope: KeyScope, aad: &str, value: &T) -> AppResult<Sealed> {
        let plaintext = Zeroizing::new(serde_json::to_vec(value).map_err(|e| AppError::Internal(e.to_string()))?);
        let data = encrypt(key, aad.as_bytes(), &plaintext).map_err(crypto_failure)?;
        Ok(Sealed { alg: ALG.into(), key: scope, data: STANDARD.encode(data) })
    }

    /// Opens a sealed value; a field that does not open (moved, altered, another key) is an
    /// internal error: stored data that fails authentication is never returned.
    pub fn open<T: serde::de::DeserializeOwned>(&self, key: &DataKey, aad: &str) -> AppResult<T> {
        if self.alg != ALG {
            return Err(AppError::Internal(format!("sealed with unknown algorithm {}", self.alg)));
        }
        let data = STANDARD.decode(&self.data).map_err(|_| AppError::Internal("sealed data is not base64".into()))?;
        let plaintext = decrypt(key, aad.as_bytes(), &data).map_err(crypto_failure)?;
        serde_json::from_slice(&plaintext).map_err(|e| AppError::Internal(format!("sealed value unreadable: {e}")))
    }
}

fn crypto_failure(err: CryptoError) -> AppError {
    match err {
        CryptoError::Rejected => AppError::Internal("a sealed value failed authentication".into()),
        CryptoError::Unavailable(why) => AppError::Internal(why),
    }
}

/// A tenant's wrapped data key, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredKey {
    scheme: String,
    key_ref: String,
    wrapped: String,
}

/// How long an unwrapped key is kept in memory before it is unwrapped again, so that disabling
/// the KMS key (or revoking the function's access) takes effect within this time.
const CACHE_TTL: Duration = Duration::from_secs(15 * 60);
/// Past this many cached tenants the cache starts over, bounding memory on a long-lived process.
const CACHE_MAX: usize = 10_000;

/// Tenants' data keys: read (or made) through the key wrapper, cached unwrapped in memory.
pub struct Keyring {
    wrapper: Arc<dyn KeyWrapper>,
    cache: Mutex<HashMap<TenantId, (Arc<DataKey>, Instant)>>,
}

impl Keyring {
    pub fn new(wrapper: Arc<dyn KeyWrapper>) -> Self {
        Keyring { wrapper, cache: Mutex::new(HashMap::new()) }
    }

    pub fn wrapper(&self) -> &Arc<dyn KeyWrapper> {
        &self.wrapper
    }

    fn cached(&self, tenant: &TenantId) -> Option<Arc<DataKey>> {
        let cache = self.cache.lock().expect("keyring lock");
        cache.get(tenant).filter(|(_, at)| at.elapsed() < CACHE_TTL).map(|(key, _)| key.clone())
    }

    fn remember(&self, tenant: &TenantId, key: DataKey) -> Arc<DataKey> {
        let key = Arc::new(key);
        let mut cache = self.cache.lock().expect("keyring lock");
        if cache.len() >= CACHE_MAX {
            cache.clear();
        }
        cache.insert(tenant.clone(), (key.clone(), Instant::now()));
        key
    }

    /// The tenant's data key, or `None` if it has none yet. Never makes one.
    pub async fn existing(&self, store: &Store, tenant: &TenantId) -> AppResult<Option<Arc<DataKey>>> {
        if let Some(key) = self.cached(tenant) {
            return Ok(Some(key));
        }
        let Some(stored) = store.get::<StoredKey>(&keys::data_key(tenant)).await? else { return Ok(None) };
        if stored.scheme != self.wrapper.scheme() {
            return Err(AppError::Internal(format!(
                "tenant {tenant}'s data key is wrapped by `{}`, but this process unwraps with `{}`",
                stored.scheme,
                self.wrapper.scheme()
            )));
        }
        let wrapped = STANDARD
            .decode(&stored.wrapped)
            .map_err(|_| AppError::Internal("wrapped data key is not base64".into()))?;
        let key = self.wrapper.unwrap(tenant, &wrapped).await.map_err(|err| match err {
            CryptoError::Rejected => {
                AppError::Internal(format!("tenant {tenant}'s data key does not unwrap with {}", stored.key_ref))
            }
            CryptoError::Unavailable(why) => AppError::Internal(why),
        })?;
        Ok(Some(self.remember(tenant, key)))
    }

    /// The tenant's data key, made on first use. Two first uses at once both generate a key;
    /// the one whose not-exists put lands wins and the other reads the winner's.
    pub async fn for_writing(&self, store: &Store, audit: &AuditContext) -> AppResult<Arc<DataKey>> {
        let tenant = &audit.tenant_id;
        if let Some(key) = self.existing(store, tenant).await? {
            return Ok(key);
        }
        let generated = self.wrapper.generate(tenant).await.map_err(crypto_failure)?;
        let stored = json!({
            "scheme": self.wrapper.scheme(),
            "key_ref": self.wrapper.key_ref(),
            "wrapped": STANDARD.encode(&generated.wrapped),
            "created_at": store.clock.now(),
        });
        let mut plan = Plan::<Once>::typed();
        let taken = Once::AlreadyDone(AppError::conflict("data_key_exists", "the data key was made concurrently"));
        plan.push(Write::put_new(to_item(&keys::data_key(tenant), "data_key", &stored)?), taken);
        match plan.commit_as(store, audit, "data_key.created", tenant.as_str()).await {
            Ok(()) => Ok(self.remember(tenant, generated.key)),
            Err(Once::AlreadyDone(_)) => self
                .existing(store, tenant)
                .await?
                .ok_or_else(|| AppError::Internal("the data key that won the race is gone".into())),
            Err(Once::Failed(other)) => Err(other),
        }
    }
}

/// A client's data key as stored: wrapped (AES-256-GCM) by the tenant's data key.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredClientKey {
    alg: String,
    wrapped: String,
    created_at: chrono::DateTime<chrono::Utc>,
}

/// What a client's wrapped key is bound to: moved to another client or tenant, it does not open.
fn client_key_aad(tenant: &TenantId, client: &ClientId) -> String {
    format!("mas:client-key:v1:{tenant}:{client}")
}

/// Why a value sealed under a client's key no longer opens.
pub fn client_key_gone(client: &ClientId) -> AppError {
    AppError::Internal(format!(
        "client {client}'s data key is gone (erased): what was sealed under it cannot be opened"
    ))
}

impl Keyring {
    /// The client's data key, or `None` if they have none (never had sealed data, or were
    /// erased). Not cached, unlike tenants' keys: one read of the client's partition per use, so
    /// an erasure takes effect in every process at once.
    pub async fn client_key(&self, store: &Store, tenant: &TenantId, client: &ClientId) -> AppResult<Option<DataKey>> {
        let Some(stored) = store.get::<StoredClientKey>(&keys::client_data_key(tenant, client)).await? else {
            return Ok(None);
        };
        if stored.alg != ALG {
            return Err(AppError::Internal(format!("client key wrapped with unknown algorithm {}", stored.alg)));
        }
        let tenant_key = self.existing(store, tenant).await?.ok_or_else(|| {
            AppError::Internal(format!("client {client} has a data key but tenant {tenant} has none"))
        })?;
        let wrapped = STANDARD
            .decode(&stored.wrapped)
            .map_err(|_| AppError::Internal("wrapped client key is not base64".into()))?;
        let bytes =
            decrypt(&tenant_key, client_key_aad(tenant, client).as_bytes(), &wrapped).map_err(crypto_failure)?;
        DataKey::from_slice(&bytes).map(Some).map_err(crypto_failure)
    }

    /// The key to seal the client's data with: theirs, or a new one together with the write
    /// that stores it (wrapped), which the caller commits in the same transaction as the first
    /// value sealed under it — so a key exists exactly when something sealed under it does, and
    /// of two first writes at once one commits and the other meets its not-exists condition.
    pub async fn client_key_for_writing(
        &self,
        store: &Store,
        audit: &AuditContext,
        client: &ClientId,
    ) -> AppResult<(DataKey, Option<Write>)> {
        let tenant = &audit.tenant_id;
        if let Some(key) = self.client_key(store, tenant, client).await? {
            return Ok((key, None));
        }
        let tenant_key = self.for_writing(store, audit).await?;
        let key = DataKey::random().map_err(crypto_failure)?;
        let wrapped =
            encrypt(&tenant_key, client_key_aad(tenant, client).as_bytes(), key.as_bytes()).map_err(crypto_failure)?;
        let stored =
            StoredClientKey { alg: ALG.into(), wrapped: STANDARD.encode(wrapped), created_at: store.clock.now() };
        let item = to_item(&keys::client_data_key(tenant, client), "client_data_key", &stored)?;
        Ok((key, Some(Write::put_new(item))))
    }

    /// Opens values sealed for one client, each under the key it names (the tenant's or the
    /// client's), reading each key at most once.
    pub fn opener<'a>(&'a self, store: &'a Store, tenant: &'a TenantId, client: &'a ClientId) -> Opener<'a> {
        Opener { keyring: self, store, tenant, client, tenant_key: None, client_key: None }
    }
}

/// See `Keyring::opener`.
pub struct Opener<'a> {
    keyring: &'a Keyring,
    store: &'a Store,
    tenant: &'a TenantId,
    client: &'a ClientId,
    tenant_key: Option<Arc<DataKey>>,
    client_key: Option<DataKey>,
}

impl Opener<'_> {
    pub async fn open<T: serde::de::DeserializeOwned>(&mut self, sealed: &Sealed, aad: &str) -> AppResult<T> {
        match sealed.key {
            KeyScope::Tenant => {
                if self.tenant_key.is_none() {
                    let key = self.keyring.existing(self.store, self.tenant).await?.ok_or_else(|| {
                        AppError::Internal(format!("tenant {} has sealed data but no data key", self.tenant))
                    })?;
                    self.tenant_key = Some(key);
                }
                sealed.open(self.tenant_key.as_deref().expect("just read"), aad)
            }
            KeyScope::Client => {
                if self.client_key.is_none() {
                    let key = self.keyring.client_key(self.store, self.tenant, self.client).await?;
                    self.client_key = Some(key.ok_or_else(|| client_key_gone(self.client))?);
                }
                sealed.open(self.client_key.as_ref().expect("just read"), aad)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> DataKey {
        DataKey::from_slice(&[byte; 32]).unwrap()
    }

    #[test]
    fn a_sealed_value_opens_only_with_its_key_and_its_associated_data() {
        let sealed =
            Sealed::seal(&key(1), KeyScope::Client, "tenant-a:client-1:v1", &json!({"secret": "warfarin"})).unwrap();
        assert!(!sealed.data.contains("warfarin"));
        let opened: serde_json::Value = sealed.open(&key(1), "tenant-a:client-1:v1").unwrap();
        assert_eq!(opened["secret"], "warfarin");
        assert!(sealed.open::<serde_json::Value>(&key(1), "tenant-a:client-2:v1").is_err(), "moved to another client");
        assert!(sealed.open::<serde_json::Value>(&key(2), "tenant-a:client-1:v1").is_err(), "another tenant's key");
    }

    #[test]
    fn sealing_twice_gives_different_ciphertexts_and_a_flipped_bit_is_refused() {
        let first = encrypt(&key(1), b"ad", b"same").unwrap();
        let second = encrypt(&key(1), b"ad", b"same").unwrap();
        assert_ne!(first, second, "a fresh nonce each time");
        let mut altered = first.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert_eq!(decrypt(&key(1), b"ad", &altered).unwrap_err(), CryptoError::Rejected);
        assert_eq!(decrypt(&key(1), b"ad", &first[..10]).unwrap_err(), CryptoError::Rejected);
    }

    #[test]
    fn a_value_sealed_before_client_keys_reads_as_the_tenants_and_a_new_one_names_the_client_key() {
        // Exactly what medical items held before this change: no `key` field.
        let old: Sealed = serde_json::from_value(json!({"alg": "A256GCM", "data": "AAAA"})).unwrap();
        assert_eq!(old.key, KeyScope::Tenant);
        assert_eq!(
            serde_json::to_value(&old).unwrap(),
            json!({"alg": "A256GCM", "data": "AAAA"}),
            "written back as it was"
        );
        let new = Sealed::seal(&key(1), KeyScope::Client, "ad", &json!(1)).unwrap();
        assert_eq!(serde_json::to_value(&new).unwrap()["key"], "client");
    }
}
