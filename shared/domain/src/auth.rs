//! Staff sign-in rules, pure: what a password must be, how hashes are made and checked
//! (argon2id through the RustCrypto `argon2` crate, PHC strings), one-time codes (RFC 6238 TOTP
//! through `totp-rs`), refresh tokens' shape, and how long a caller waits after failed attempts.

use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use serde::{Deserialize, Serialize};
use totp_rs::{Algorithm, Secret, TOTP};
use utoipa::ToSchema;

use super::values::ParseError;
use crate::ids::TenantId;

/// A password a member chose: 10 to 128 characters, not only spaces, none at either end. Length is what makes a
/// password strong (NIST SP 800-63B); we impose no composition rules.
#[derive(Clone, Deserialize, ToSchema)]
#[serde(try_from = "String")]
/// 10 to 128 characters.
#[schema(value_type = String, example = "correct horse battery staple")]
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 10;
    pub const MAX_CHARS: usize = 128;

    pub fn parse(raw: &str) -> Result<Password, ParseError> {
        let chars = raw.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(ParseError(format!("must be at least {} characters", Self::MIN_CHARS)));
        }
        if chars > Self::MAX_CHARS {
            return Err(ParseError(format!("must be at most {} characters", Self::MAX_CHARS)));
        }
        if raw.trim().is_empty() {
            return Err(ParseError("must not be only spaces".into()));
        }
        // Cognito refuses these, and a space typed at either end is rarely meant.
        if raw.trim() != raw {
            return Err(ParseError("must not begin or end with a space".into()));
        }
        Ok(Password(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The argon2id hash to store (a PHC string with its own salt and parameters).
    pub fn hash(&self) -> String {
        use rand::Rng;
        let mut bytes = [0u8; 16];
        rand::rng().fill(&mut bytes);
        let salt = SaltString::encode_b64(&bytes).expect("16 bytes make a valid salt");
        Argon2::default()
            .hash_password(self.0.as_bytes(), &salt)
            .expect("argon2id with default parameters cannot fail")
            .to_string()
    }
}

impl TryFrom<String> for Password {
    type Error = ParseError;
    fn try_from(raw: String) -> Result<Self, ParseError> {
        Password::parse(&raw)
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(…)")
    }
}

/// Whether `attempt` is the password behind `stored` (a PHC string). An unreadable hash never
/// matches.
pub fn password_matches(stored: &str, attempt: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|hash| Argon2::default().verify_password(attempt.as_bytes(), &hash).is_ok())
}

/// A hash no password matches in practice, checked when the email is nobody's, so that an
/// unknown email costs the same time as a wrong password.
pub static DECOY_HASH: LazyLock<String> = LazyLock::new(|| Password(crate::portal::new_link_token()).hash());

/// How many seconds a caller must wait after `failures` failed attempts, the last at
/// `last_failure` (epoch seconds). A few attempts are free; then each failure doubles the wait,
/// up to a ceiling. Failures older than the window are forgotten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub free_attempts: u32,
    pub first_wait_seconds: i64,
    pub max_wait_seconds: i64,
    /// A quiet spell this long after the last failure starts the count afresh.
    pub window_seconds: i64,
}

/// Per account (clinic and email): five tries, then 30 s, 1 min, 2 min … up to 15 min.
pub const ACCOUNT_BACKOFF: Backoff =
    Backoff { free_attempts: 5, first_wait_seconds: 30, max_wait_seconds: 900, window_seconds: 3600 };

/// Per client address: enough for a clinic's whole front desk behind one NAT to mistype, not
/// enough to try many accounts.
pub const ADDRESS_BACKOFF: Backoff =
    Backoff { free_attempts: 30, first_wait_seconds: 60, max_wait_seconds: 900, window_seconds: 3600 };

impl Backoff {
    /// The failures that still count at `now`.
    pub fn live_failures(&self, failures: u32, last_failure: i64, now: i64) -> u32 {
        if now - last_failure >= self.window_seconds { 0 } else { failures }
    }

    /// Seconds until another attempt is allowed, or `None` when it is allowed now.
    pub fn wait(&self, failures: u32, last_failure: i64, now: i64) -> Option<i64> {
        let failures = self.live_failures(failures, last_failure, now);
        if failures < self.free_attempts {
            return None;
        }
        let doublings = (failures - self.free_attempts).min(20);
        let wait = (self.first_wait_seconds << doublings).min(self.max_wait_seconds);
        let remaining = last_failure + wait - now;
        (remaining > 0).then_some(remaining)
    }
}

/// A refresh token: `{tenant}.{session}.{secret}`. The tenant and session name where the
/// session is stored; the secret (256 random bits) is stored only as its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    pub tenant_id: TenantId,
    pub session_id: String,
    pub secret: String,
}

impl RefreshToken {
    pub fn new(tenant_id: TenantId) -> RefreshToken {
        let session_id = ulid::Ulid::new().to_string().to_lowercase();
        RefreshToken { tenant_id, session_id, secret: crate::portal::new_link_token() }
    }

    /// The same session with a new secret (each refresh spends the old one).
    pub fn rotated(&self) -> RefreshToken {
        RefreshToken { secret: crate::portal::new_link_token(), ..self.clone() }
    }

    pub fn parse(raw: &str) -> Option<RefreshToken> {
        let mut parts = raw.trim().split('.');
        let (tenant, session, secret) = (parts.next()?, parts.next()?, parts.next()?);
        let session_ok = session.len() == 26 && session.bytes().all(|b| b.is_ascii_alphanumeric());
        if parts.next().is_some() || !session_ok || !crate::portal::plausible_token(secret) {
            return None;
        }
        Some(RefreshToken {
            tenant_id: TenantId::parse(tenant).ok()?,
            session_id: session.to_owned(),
            secret: secret.to_owned(),
        })
    }

    pub fn secret_hash(&self) -> String {
        crate::portal::token_hash(&self.secret)
    }
}

impl std::fmt::Display for RefreshToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.tenant_id, self.session_id, self.secret)
    }
}

/// A member's authenticator-app secret (RFC 6238: SHA-1, 6 digits, 30 s, as every authenticator
/// app expects), base32 as the apps show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TotpSecret(String);

impl TotpSecret {
    pub fn generate() -> TotpSecret {
        use rand::Rng;
        let mut bytes = [0u8; 20];
        rand::rng().fill(&mut bytes);
        TotpSecret(Secret::Raw(bytes.to_vec()).to_encoded().to_string())
    }

    pub fn base32(&self) -> &str {
        &self.0
    }

    fn totp(&self) -> Option<TOTP> {
        let bytes = Secret::Encoded(self.0.clone()).to_bytes().ok()?;
        Some(TOTP::new_unchecked(Algorithm::SHA1, 6, 1, 30, bytes))
    }

    /// Whether `code` is the code for `unix_time`, or for the 30 s step either side (clock skew).
    pub fn accepts(&self, code: &str, unix_time: u64) -> bool {
        let code = code.trim();
        code.len() == 6
            && code.bytes().all(|b| b.is_ascii_digit())
            && self.totp().is_some_and(|t| t.check(code, unix_time))
    }

    /// The code for `unix_time` (tests, and nothing else, need to compute one).
    pub fn code_at(&self, unix_time: u64) -> String {
        self.totp().map(|t| t.generate(unix_time)).unwrap_or_default()
    }

    /// The `otpauth://` URI authenticator apps read (as a QR code or pasted).
    pub fn uri(&self, issuer: &str, account: &str) -> String {
        let label = format!("{}:{}", urlencode(issuer), urlencode(account));
        format!(
            "otpauth://totp/{label}?secret={}&issuer={}&algorithm=SHA1&digits=6&period=30",
            self.0,
            urlencode(issuer)
        )
    }
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_is_ten_to_128_characters_and_not_only_spaces() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse("          ").is_err());
        assert!(Password::parse(&"x".repeat(129)).is_err());
        assert!(Password::parse("ten chars!").is_ok());
        assert!(Password::parse("éééééééééé").is_ok(), "counted in characters, not bytes");
        assert!(Password::parse(" leading space").is_err() && Password::parse("trailing space ").is_err());
        assert!(Password::parse("spaces inside are fine").is_ok());
    }

    #[test]
    fn a_hashed_password_matches_itself_only() {
        let hash = Password::parse("correct horse battery").unwrap().hash();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(password_matches(&hash, "correct horse battery"));
        assert!(!password_matches(&hash, "correct horse battery "));
        assert!(!password_matches("not a phc string", "anything"));
        assert!(!password_matches(&DECOY_HASH, "correct horse battery"));
    }

    #[test]
    fn the_debug_form_of_a_password_never_shows_it() {
        assert_eq!(format!("{:?}", Password::parse("correct horse battery").unwrap()), "Password(…)");
    }

    #[test]
    fn five_account_failures_are_free_then_the_wait_doubles_up_to_fifteen_minutes() {
        let b = ACCOUNT_BACKOFF;
        let now = 1_000_000;
        assert_eq!(b.wait(4, now, now), None);
        assert_eq!(b.wait(5, now, now), Some(30));
        assert_eq!(b.wait(6, now, now), Some(60));
        assert_eq!(b.wait(7, now - 10, now), Some(110));
        assert_eq!(b.wait(30, now, now), Some(900));
        assert_eq!(b.wait(5, now - 30, now), None, "the wait is over");
        assert_eq!(b.wait(50, now - 3600, now), None, "an hour's quiet forgets the failures");
    }

    #[test]
    fn a_refresh_token_round_trips_and_rejects_anything_else() {
        let token = RefreshToken::new(TenantId::parse("ten_demo").unwrap());
        assert_eq!(RefreshToken::parse(&token.to_string()), Some(token.clone()));
        let rotated = token.rotated();
        assert_eq!(rotated.session_id, token.session_id);
        assert_ne!(rotated.secret, token.secret);
        for bad in ["", "a.b.c", "ten_demo.x.y", &format!("{token}.extra"), &token.to_string().replace("ten_", "cli_")]
        {
            assert_eq!(RefreshToken::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_totp_code_is_accepted_for_its_step_and_the_neighbouring_ones_only() {
        let secret = TotpSecret::generate();
        let t = 1_700_000_000;
        let code = secret.code_at(t);
        assert_eq!(code.len(), 6);
        assert!(secret.accepts(&code, t));
        assert!(secret.accepts(&code, t + 30), "one step of skew");
        assert!(!secret.accepts(&code, t + 95), "three steps later");
        assert!(!secret.accepts("12345", t) && !secret.accepts("abcdef", t));
    }

    #[test]
    fn a_totp_secret_matches_rfc_6238s_sha1_test_vector() {
        // RFC 6238 appendix B: secret "12345678901234567890", T = 59 s → 94287082 (8 digits);
        // our 6-digit code is its last six.
        let secret = TotpSecret(Secret::Raw(b"12345678901234567890".to_vec()).to_encoded().to_string());
        assert_eq!(secret.code_at(59), "287082");
        assert_eq!(secret.code_at(1_111_111_109), "081804");
    }

    #[test]
    fn the_otpauth_uri_names_the_clinic_and_the_member() {
        let uri = TotpSecret("JBSWY3DPEHPK3PXP".into()).uri("Glow Clinic", "ann@glow.test");
        assert_eq!(
            uri,
            "otpauth://totp/Glow%20Clinic:ann@glow.test?secret=JBSWY3DPEHPK3PXP&issuer=Glow%20Clinic&algorithm=SHA1&digits=6&period=30"
        );
    }
}
