//! Staff identity. On AWS, API Gateway's JWT authorizer verifies the token and the handler reads
//! the claims from the request context; locally, `LocalIssuer` signs and verifies the same claims
//! (HS256 via `jsonwebtoken`, a maintained crate, rather than hand-rolled HMAC).

use std::collections::HashMap;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use mas_domain::error::AppError;
use mas_domain::ids::{MemberId, TenantId};
use mas_domain::values::Email;

/// The claims every staff request is scoped by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffClaims {
    pub sub: String,
    pub email: Email,
    pub tenant_id: TenantId,
    pub member_id: MemberId,
    /// The member's `auth_epoch` when the token was issued; a token from an earlier epoch (a
    /// password reset or "sign out everywhere" since) is refused.
    pub auth_epoch: u32,
}

impl StaffClaims {
    /// Reads claims as API Gateway passes them (every value a string).
    pub fn from_map(claims: &HashMap<String, String>) -> Result<StaffClaims, AppError> {
        let get = |name: &str| {
            claims.get(name).ok_or_else(|| AppError::Unauthenticated(format!("the token has no `{name}` claim")))
        };
        let bad = |name: &str| AppError::Unauthenticated(format!("the token's `{name}` claim is malformed"));
        Ok(StaffClaims {
            sub: get("sub")?.clone(),
            email: Email::parse(get("email")?).map_err(|_| bad("email"))?,
            tenant_id: TenantId::parse(get("tenant_id")?).map_err(|_| bad("tenant_id"))?,
            member_id: MemberId::parse(get("member_id")?).map_err(|_| bad("member_id"))?,
            auth_epoch: get("auth_epoch")?.parse().map_err(|_| bad("auth_epoch"))?,
        })
    }

    /// The claims of a token for `member` of `tenant`, issued now.
    pub fn for_member(tenant: &TenantId, member: &mas_domain::team::Member) -> StaffClaims {
        StaffClaims {
            sub: member.id.to_string(),
            email: member.input.email.clone(),
            tenant_id: tenant.clone(),
            member_id: member.id.clone(),
            auth_epoch: member.auth_epoch,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct TokenClaims {
    sub: String,
    email: String,
    tenant_id: String,
    member_id: String,
    auth_epoch: u32,
    iss: String,
    aud: String,
    iat: i64,
    exp: i64,
    token_use: String,
}

/// Signs and verifies local staff tokens.
pub struct LocalIssuer {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

pub const LOCAL_ISSUER: &str = "mas-local";
pub const LOCAL_AUDIENCE: &str = "mas-api";
/// What `issue` gives: a long-lived token for curl and tests (the welcome text prints one).
/// Signed-in sessions get short ones (`issue_for`).
const TOKEN_LIFETIME_SECONDS: i64 = 12 * 3600;

impl LocalIssuer {
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[LOCAL_ISSUER]);
        validation.set_audience(&[LOCAL_AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        LocalIssuer {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    pub fn issue(&self, claims: &StaffClaims, now: chrono::DateTime<chrono::Utc>) -> String {
        self.issue_for(claims, now, TOKEN_LIFETIME_SECONDS)
    }

    /// A token that lives `lifetime_seconds`.
    pub fn issue_for(&self, claims: &StaffClaims, now: chrono::DateTime<chrono::Utc>, lifetime_seconds: i64) -> String {
        let token = TokenClaims {
            sub: claims.sub.clone(),
            email: claims.email.to_string(),
            tenant_id: claims.tenant_id.to_string(),
            member_id: claims.member_id.to_string(),
            auth_epoch: claims.auth_epoch,
            iss: LOCAL_ISSUER.into(),
            aud: LOCAL_AUDIENCE.into(),
            iat: now.timestamp(),
            exp: now.timestamp() + lifetime_seconds,
            token_use: "id".into(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &token, &self.encoding).expect("HS256 signing cannot fail")
    }

    pub fn verify(&self, token: &str) -> Result<StaffClaims, AppError> {
        let data = jsonwebtoken::decode::<TokenClaims>(token, &self.decoding, &self.validation)
            .map_err(|e| AppError::Unauthenticated(format!("invalid token: {e}")))?;
        let c = data.claims;
        let map = HashMap::from([
            ("sub".to_owned(), c.sub),
            ("email".to_owned(), c.email),
            ("tenant_id".to_owned(), c.tenant_id),
            ("member_id".to_owned(), c.member_id),
            ("auth_epoch".to_owned(), c.auth_epoch.to_string()),
        ]);
        StaffClaims::from_map(&map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> StaffClaims {
        StaffClaims {
            sub: "mem_1".into(),
            email: Email::parse("owner@clinic.test").unwrap(),
            tenant_id: TenantId::parse("ten_a").unwrap(),
            member_id: MemberId::parse("mem_1").unwrap(),
            auth_epoch: 3,
        }
    }

    #[test]
    fn a_token_issued_locally_verifies_to_the_same_claims() {
        let issuer = LocalIssuer::new(b"0123456789abcdef0123456789abcdef");
        let token = issuer.issue(&claims(), chrono::Utc::now());
        assert_eq!(issuer.verify(&token).unwrap(), claims());
    }

    #[test]
    fn a_token_signed_with_another_secret_or_expired_is_refused() {
        let ours = LocalIssuer::new(b"0123456789abcdef0123456789abcdef");
        let theirs = LocalIssuer::new(b"fedcba9876543210fedcba9876543210");
        assert!(ours.verify(&theirs.issue(&claims(), chrono::Utc::now())).is_err());
        let long_ago = chrono::Utc::now() - chrono::Duration::days(2);
        assert!(ours.verify(&ours.issue(&claims(), long_ago)).is_err());
        assert!(ours.verify("not.a.token").is_err());
    }
}
