//! The clinic's credential signing key, Open Badges 3.0 credentials signed with it, and the
//! clinic's Bitstring Status List (W3C), itself a signed credential.
//!
//! **The key.** One Ed25519 key per clinic, made on first use and put with "not exists" (two
//! first uses at once keep the winner's). Its private half (PKCS#8) is sealed with AES-256-GCM
//! under the clinic's data key — the same envelope encryption as clinical fields (KMS wraps the
//! data key on AWS) — with associated data naming the clinic and the purpose, so the sealed key
//! opens nowhere else. The public half is published as a JWK in the issuer profile.
//!
//! **Why Ed25519 with `ring`.** EdDSA is one of the two algorithms Open Badges 3.0's VC-JWT
//! names; Ed25519 signatures are deterministic (no nonce to get wrong) and its keys are 32
//! bytes. `ring` is already in the build (rustls), is audited, constant-time, and has a small
//! API (generate, sign) that is hard to misuse; a JWT is three base64url parts, so no JOSE crate
//! is needed on top (the only header is `alg`/`typ`/`kid`). `aws-lc-rs` would do as well but
//! the architecture keeps `aws-*` crates in the adapters; `ed25519-dalek` would be a new build.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use zeroize::Zeroizing;

use mas_domain::certificate::{Certificate, StatusBits};
use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::TenantId;
use mas_domain::tenant::Tenant;
use mas_ports::Write;
use mas_store::crypto::{KeyScope, Keyring, Sealed};
use mas_store::{AuditContext, Once, Plan, Store, keys, to_item};

/// The contexts of an Open Badges 3.0 credential (VC 2.0 first, then OB 3.0.3).
pub const VC_CONTEXT: &str = "https://www.w3.org/ns/credentials/v2";
pub const OB_CONTEXT: &str = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json";

/// Where a clinic's public academy documents are: `{api}/v1/public/{slug}/…`.
#[derive(Debug, Clone)]
pub struct PublicUrls {
    base: String,
}

impl PublicUrls {
    /// `api` is the API's public origin (`http://127.0.0.1:3000`, `https://api.example.com`).
    pub fn new(api: &str, tenant: &Tenant) -> PublicUrls {
        PublicUrls { base: format!("{}/v1/public/{}", api.trim_end_matches('/'), tenant.slug) }
    }

    pub fn issuer(&self) -> String {
        format!("{}/academy/issuer", self.base)
    }

    pub fn key_id(&self) -> String {
        format!("{}#key-1", self.issuer())
    }

    pub fn status_list(&self) -> String {
        format!("{}/academy/status-list", self.base)
    }

    pub fn certificate(&self, number: &str) -> String {
        format!("{}/certificates/{number}", self.base)
    }

    pub fn achievement(&self, c: &Certificate) -> String {
        format!("{}/courses/{}/v{}", self.base, c.course_id, c.course_version)
    }
}

/// The signing key as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredIssuerKey {
    alg: String,
    /// The public key (32 bytes, base64url): the JWK's `x`.
    x: String,
    /// PKCS#8 of the key pair (base64), sealed under the clinic's data key.
    private: Sealed,
    created_at: DateTime<Utc>,
}

fn key_aad(t: &TenantId) -> String {
    format!("mas:issuer-key:v1:{t}")
}

fn crypto(what: &str) -> AppError {
    AppError::Internal(format!("credential signing: {what}"))
}

/// The clinic's public key as a JWK, if it has made one.
pub async fn public_jwk(store: &Store, t: &TenantId) -> AppResult<Option<Value>> {
    let stored: Option<StoredIssuerKey> = store.get(&keys::issuer_key(t)).await?;
    Ok(stored.map(|k| json!({"kty": "OKP", "crv": "Ed25519", "x": k.x, "alg": "EdDSA", "use": "sig"})))
}

/// The clinic's key pair, opened: made (once) when it has none.
pub async fn signing_key(store: &Store, keyring: &Keyring, audit: &AuditContext) -> AppResult<Ed25519KeyPair> {
    let t = &audit.tenant_id;
    if let Some(stored) = store.get::<StoredIssuerKey>(&keys::issuer_key(t)).await? {
        return open(store, keyring, t, &stored).await;
    }
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| crypto("no randomness"))?;
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|_| crypto("a fresh key does not parse"))?;
    let data_key = keyring.for_writing(store, audit).await?;
    let encoded = Zeroizing::new(STANDARD.encode(pkcs8.as_ref()));
    let stored = StoredIssuerKey {
        alg: "EdDSA".into(),
        x: URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()),
        private: Sealed::seal(&data_key, KeyScope::Tenant, &key_aad(t), &*encoded)?,
        created_at: store.clock.now(),
    };
    let mut plan = Plan::<Once>::typed();
    let taken = Once::AlreadyDone(AppError::conflict("issuer_key_exists", "made at the same moment"));
    plan.push(Write::put_new(to_item(&keys::issuer_key(t), "issuer_key", &stored)?), taken);
    match plan.commit_as(store, audit, "issuer_key.created", t.as_str()).await {
        Ok(()) => Ok(pair),
        Err(Once::AlreadyDone(_)) => {
            let winner: StoredIssuerKey = store
                .get(&keys::issuer_key(t))
                .await?
                .ok_or_else(|| AppError::Internal("the signing key that won the race is gone".into()))?;
            open(store, keyring, t, &winner).await
        }
        Err(Once::Failed(err)) => Err(err),
    }
}

/// The clinic's existing key pair (`None`: it has issued nothing yet).
pub async fn existing_key(store: &Store, keyring: &Keyring, t: &TenantId) -> AppResult<Option<Ed25519KeyPair>> {
    match store.get::<StoredIssuerKey>(&keys::issuer_key(t)).await? {
        Some(stored) => Ok(Some(open(store, keyring, t, &stored).await?)),
        None => Ok(None),
    }
}

async fn open(store: &Store, keyring: &Keyring, t: &TenantId, stored: &StoredIssuerKey) -> AppResult<Ed25519KeyPair> {
    let data_key = keyring
        .existing(store, t)
        .await?
        .ok_or_else(|| AppError::Internal(format!("tenant {t} has a signing key but no data key")))?;
    let encoded: Zeroizing<String> = Zeroizing::new(stored.private.open(&data_key, &key_aad(t))?);
    let pkcs8 = Zeroizing::new(STANDARD.decode(encoded.as_bytes()).map_err(|_| crypto("sealed key is not base64"))?);
    Ed25519KeyPair::from_pkcs8(&pkcs8).map_err(|_| crypto("the sealed key does not parse"))
}

/// A compact JWS (`EdDSA`) of `claims`.
pub fn sign_jwt(pair: &Ed25519KeyPair, kid: &str, claims: &Value) -> String {
    let header = json!({"alg": "EdDSA", "typ": "JWT", "kid": kid});
    let encode = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).expect("JSON values serialise"));
    let signing_input = format!("{}.{}", encode(&header), encode(claims));
    let signature = pair.sign(signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
}

/// RFC 3339 in whole seconds (what VC validators parse everywhere).
fn instant(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The student's email as an Open Badges identity hash: `sha256$` and the hex of
/// SHA-256(email ‖ salt). The credential names the student by this, never by their address:
/// it is served at a public URL.
pub fn identity_hash(email: &str, salt: &str) -> String {
    use sha2::{Digest, Sha256};
    format!("sha256${}", hex::encode(Sha256::digest(format!("{email}{salt}").as_bytes())))
}

/// The Open Badges 3.0 credential of `c` (the VC-JWT's payload: the credential itself, with
/// `iss`, `nbf` and `jti` beside it, as OB 3.0 §8.2 says).
pub fn badge_claims(urls: &PublicUrls, c: &Certificate, clinic: &str, email: &str, salt: &str) -> Value {
    let id = urls.certificate(c.number.as_str());
    let issuer = urls.issuer();
    json!({
        "@context": [VC_CONTEXT, OB_CONTEXT],
        "id": id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": format!("{} — certificate of completion", c.course_title),
        "issuer": {"id": issuer, "type": ["Profile"], "name": clinic},
        "validFrom": instant(c.issued_at),
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [{"type": "IdentityObject", "identityHash": identity_hash(email, salt),
                "identityType": "emailAddress", "hashed": true, "salt": salt}],
            "achievement": {
                "id": urls.achievement(c),
                "type": ["Achievement"],
                "achievementType": "Certificate",
                "name": c.course_title,
                "description": format!("{} ({} CPD hours), taught at {}.", c.course_title, c.cpd_hours, clinic),
                "criteria": {"narrative": format!(
                    "Completed the course's coursework and was signed off as competent in each of its \
                     required practical treatments by the course educator; worth {} CPD hours.", c.cpd_hours)},
                "creditsAvailable": c.cpd_hours,
            },
        },
        "credentialStatus": {
            "id": format!("{}#{}", urls.status_list(), c.status_index),
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": c.status_index.to_string(),
            "statusListCredential": urls.status_list(),
        },
        "iss": issuer,
        "nbf": c.issued_at.timestamp(),
        "jti": id,
    })
}

/// The Bitstring Status List's `encodedList`: the bits GZIP-compressed, base64url, with the
/// multibase prefix `u`.
pub fn encoded_list(bits: &StatusBits) -> AppResult<String> {
    use std::io::Write as _;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bits.as_bytes()).map_err(|e| AppError::Internal(format!("gzip: {e}")))?;
    let compressed = gz.finish().map_err(|e| AppError::Internal(format!("gzip: {e}")))?;
    Ok(format!("u{}", URL_SAFE_NO_PAD.encode(compressed)))
}

/// The clinic's status list as a signed credential (`BitstringStatusListCredential`), valid
/// from `now`.
pub fn status_list_jwt(
    pair: &Ed25519KeyPair,
    urls: &PublicUrls,
    bits: &StatusBits,
    now: DateTime<Utc>,
) -> AppResult<String> {
    let id = urls.status_list();
    let claims = json!({
        "@context": [VC_CONTEXT],
        "id": id,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": urls.issuer(),
        "validFrom": instant(now),
        "credentialSubject": {
            "id": format!("{id}#list"),
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encoded_list(bits)?,
        },
        "iss": urls.issuer(),
        "nbf": now.timestamp(),
        "jti": id,
    });
    Ok(sign_jwt(pair, &urls.key_id(), &claims))
}

/// The issuer profile (Open Badges `Profile`) with the clinic's public key as a JWK
/// verification method, shaped like a DID document's so a verifier finds the key by `kid`.
pub fn issuer_profile(urls: &PublicUrls, clinic: &str, jwk: Value) -> Value {
    json!({
        "@context": [VC_CONTEXT, OB_CONTEXT],
        "id": urls.issuer(),
        "type": ["Profile"],
        "name": clinic,
        "verificationMethod": [{"id": urls.key_id(), "type": "JsonWebKey", "controller": urls.issuer(),
            "publicKeyJwk": jwk}],
        "assertionMethod": [urls.key_id()],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{ED25519, UnparsedPublicKey};

    #[test]
    fn a_jwt_is_signed_over_its_first_two_parts_and_verifies_with_the_public_key_only() {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let jwt = sign_jwt(&pair, "k", &json!({"a": 1}));
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["alg"], "EdDSA");
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        let public = UnparsedPublicKey::new(&ED25519, pair.public_key().as_ref());
        assert!(public.verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature).is_ok());
        assert!(public.verify(format!("{}.e30", parts[0]).as_bytes(), &signature).is_err(), "another payload fails");
    }

    #[test]
    fn an_encoded_list_inflates_back_to_the_bits_with_the_revoked_one_set() {
        use std::io::Read;
        let mut bits = StatusBits::empty();
        bits.set(5);
        let encoded = encoded_list(&bits).unwrap();
        let compressed = URL_SAFE_NO_PAD.decode(encoded.strip_prefix('u').unwrap()).unwrap();
        let mut raw = Vec::new();
        flate2::read::GzDecoder::new(&compressed[..]).read_to_end(&mut raw).unwrap();
        assert_eq!(raw.len(), 16 * 1024);
        assert_eq!(raw[0], 0b0000_0100);
    }
}
