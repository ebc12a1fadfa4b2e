//! The client portal's credentials, pure: the sign-in link's one-time token (only its hash is
//! stored) and the portal session, a signed bearer scoped to one tenant and one client that no
//! staff route accepts (staff routes take JWTs; this is `{tenant}.{client}.{expiry}.{hmac}` under
//! its own signing purpose).

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

use crate::ids::{ClientId, TenantId};
use crate::links::LinkSigner;

/// How long a sign-in link works.
pub const LINK_LIFETIME: Duration = Duration::minutes(15);
/// How long a portal session lasts.
pub const SESSION_LIFETIME: Duration = Duration::hours(2);
const SESSION_PURPOSE: &str = "portal-session";

/// A fresh sign-in token: 32 random bytes, URL-safe.
pub fn new_link_token() -> String {
    use base64::Engine;
    use rand::Rng;
    let mut bytes = [0u8; 32];
    rand::rng().fill(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What is stored for a token: its SHA-256, so a leaked table holds no usable link.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A token as a visitor may paste it: 43 URL-safe characters, or nothing we would look up.
pub fn plausible_token(raw: &str) -> bool {
    raw.len() == 43 && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Who a portal session is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalSession {
    pub tenant_id: TenantId,
    pub client_id: ClientId,
    pub expires_at: DateTime<Utc>,
}

impl PortalSession {
    pub fn new(tenant_id: TenantId, client_id: ClientId, now: DateTime<Utc>) -> PortalSession {
        PortalSession { tenant_id, client_id, expires_at: now + SESSION_LIFETIME }
    }

    /// The bearer the portal page sends.
    pub fn encode(&self, links: &LinkSigner) -> String {
        let payload = format!("{}.{}.{}", self.tenant_id, self.client_id, self.expires_at.timestamp());
        format!("{payload}.{}", links.sign(SESSION_PURPOSE, &payload))
    }

    /// The session a bearer carries, if we signed it and it has not expired.
    pub fn decode(links: &LinkSigner, raw: &str, now: DateTime<Utc>) -> Option<PortalSession> {
        let parts: Vec<&str> = raw.split('.').collect();
        let [tenant, client, expires, signature] = parts.as_slice() else { return None };
        if !links.verify(SESSION_PURPOSE, &format!("{tenant}.{client}.{expires}"), signature) {
            return None;
        }
        let expires_at = DateTime::from_timestamp(expires.parse().ok()?, 0)?;
        if expires_at <= now {
            return None;
        }
        Some(PortalSession {
            tenant_id: TenantId::parse(tenant).ok()?,
            client_id: ClientId::parse(client).ok()?,
            expires_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(now: DateTime<Utc>) -> PortalSession {
        PortalSession::new(TenantId::parse("ten_a").unwrap(), ClientId::parse("cli_b").unwrap(), now)
    }

    #[test]
    fn a_session_decodes_only_unedited_unexpired_and_under_its_own_secret() {
        let links = LinkSigner::new(b"secret");
        let now = Utc::now();
        let bearer = session(now).encode(&links);
        assert_eq!(
            PortalSession::decode(&links, &bearer, now),
            Some(session(now)).map(|mut s| {
                s.expires_at = DateTime::from_timestamp(s.expires_at.timestamp(), 0).unwrap();
                s
            })
        );
        assert_eq!(PortalSession::decode(&links, &bearer, now + SESSION_LIFETIME), None, "expired");
        assert_eq!(PortalSession::decode(&LinkSigner::new(b"other"), &bearer, now), None, "another secret");
        let edited = bearer.replacen("cli_b", "cli_c", 1);
        assert_eq!(PortalSession::decode(&links, &edited, now), None, "another client");
        assert_eq!(PortalSession::decode(&links, "a.b.c", now), None);
    }

    #[test]
    fn an_e_sign_link_signature_is_not_a_portal_session() {
        let links = LinkSigner::new(b"secret");
        let payload = "ten_a.cli_b.9999999999";
        let esign_style = format!("{payload}.{}", links.sign("esign", payload));
        assert_eq!(PortalSession::decode(&links, &esign_style, Utc::now()), None);
    }

    #[test]
    fn link_tokens_are_random_url_safe_and_stored_only_as_their_hash() {
        let (a, b) = (new_link_token(), new_link_token());
        assert_ne!(a, b);
        assert!(plausible_token(&a) && plausible_token(&b));
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
        assert!(!plausible_token("short") && !plausible_token(&format!("{}!", &a[..42])));
    }
}
