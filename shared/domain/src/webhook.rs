//! Stripe's webhook signatures (`Stripe-Signature: t=…,v1=…,v1=…`): HMAC-SHA256 with the
//! endpoint's secret over `{t}.{raw body}`. Verified here rather than by a Stripe crate because
//! a secret being rolled makes Stripe sign with the old and the new secret at once, and every
//! `v1` in the header must be tried (`async-stripe`'s webhook helper keeps only the last one).

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// How far a signature's timestamp may be from now (Stripe's own libraries use five minutes).
pub const TOLERANCE_SECONDS: i64 = 5 * 60;

/// The endpoint's signing secret (`whsec_…`). Its `Debug` is redacted so it never reaches a log.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    pub fn new(secret: impl Into<String>) -> Result<WebhookSecret, String> {
        let secret = secret.into();
        if secret.trim().len() < 16 || secret.chars().any(char::is_whitespace) {
            return Err("a webhook signing secret has at least 16 characters and no spaces".into());
        }
        Ok(WebhookSecret(secret))
    }

    /// A fresh secret of 32 random bytes (`{prefix}` and 64 hex digits): the partner webhooks'
    /// signing secrets are made here, so what we sign with and what we verify are one scheme.
    pub fn generate(prefix: &str) -> WebhookSecret {
        use rand::Rng;
        let mut bytes = [0u8; 32];
        rand::rng().fill(&mut bytes);
        WebhookSecret(format!("{prefix}{}", hex::encode(bytes)))
    }

    /// The secret itself: to seal it at rest and to show it once to whoever made it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    fn mac(&self, timestamp: i64, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.0.as_bytes()).expect("HMAC takes a key of any length");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(payload);
        mac
    }

    /// The `Stripe-Signature` header Stripe would send for `payload` at `timestamp`.
    pub fn sign(&self, timestamp: i64, payload: &[u8]) -> String {
        let tag = self.mac(timestamp, payload).finalize().into_bytes();
        let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
        format!("t={timestamp},v1={hex}")
    }

    /// Checks `header` against `payload` at `now` (epoch seconds): some `v1` must be the HMAC of
    /// the payload under this secret (compared in constant time), and its `t` within
    /// [`TOLERANCE_SECONDS`] of now.
    pub fn verify(&self, header: Option<&str>, payload: &[u8], now: i64) -> Result<(), SignatureError> {
        let header = header.ok_or(SignatureError::Missing)?;
        let mut timestamp = None;
        let mut candidates = Vec::new();
        for part in header.split(',') {
            let Some((name, value)) = part.trim().split_once('=') else { continue };
            match name {
                "t" if timestamp.is_none() => timestamp = value.parse::<i64>().ok(),
                "t" => return Err(SignatureError::Malformed),
                "v1" => candidates.extend(decode_hex(value)),
                _ => {} // v0 (test-mode legacy) and future schemes are not ours to trust
            }
        }
        let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
        if candidates.is_empty() {
            return Err(SignatureError::Malformed);
        }
        let expected = self.mac(timestamp, payload);
        if !candidates.iter().any(|tag| expected.clone().verify_slice(tag).is_ok()) {
            return Err(SignatureError::NoMatch);
        }
        if (now - timestamp).abs() > TOLERANCE_SECONDS {
            return Err(SignatureError::Stale);
        }
        Ok(())
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(…)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Stripe-Signature header is missing")]
    Missing,
    #[error("the Stripe-Signature header is not `t=…,v1=…`")]
    Malformed,
    #[error("no signature in the Stripe-Signature header matches the payload")]
    NoMatch,
    #[error("the signature's timestamp is more than five minutes from now")]
    Stale,
}

impl SignatureError {
    pub fn code(self) -> &'static str {
        match self {
            SignatureError::Missing => "signature_missing",
            SignatureError::Malformed => "signature_malformed",
            SignatureError::NoMatch => "signature_mismatch",
            SignatureError::Stale => "signature_stale",
        }
    }
}

/// A 32-byte tag from 64 hex digits; anything else is not a candidate.
fn decode_hex(raw: &str) -> Option<Vec<u8>> {
    if raw.len() != 64 || !raw.is_ascii() {
        return None;
    }
    (0..raw.len()).step_by(2).map(|i| u8::from_str_radix(&raw[i..i + 2], 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;
    const BODY: &[u8] = br#"{"id":"evt_1","type":"payment_intent.succeeded"}"#;

    fn secret(s: &str) -> WebhookSecret {
        WebhookSecret::new(s).unwrap()
    }

    #[test]
    fn a_signature_made_with_the_secret_verifies_and_a_changed_body_does_not() {
        let s = secret("whsec_test_secret_one");
        let header = s.sign(NOW, BODY);
        assert_eq!(s.verify(Some(&header), BODY, NOW), Ok(()));
        let tampered = br#"{"id":"evt_1","type":"payment_intent.succeeded" }"#;
        assert_eq!(s.verify(Some(&header), tampered, NOW), Err(SignatureError::NoMatch));
        assert_eq!(secret("whsec_another_secret").verify(Some(&header), BODY, NOW), Err(SignatureError::NoMatch));
    }

    #[test]
    fn every_v1_in_the_header_is_considered_so_a_rolled_secret_still_verifies() {
        let (old, new) = (secret("whsec_old_secret_0000"), secret("whsec_new_secret_1111"));
        let old_sig = old.sign(NOW, BODY);
        let new_sig = new.sign(NOW, BODY);
        let v1 = |header: &str| header.split_once(",v1=").unwrap().1.to_owned();
        // Stripe lists both while a secret is being rolled; either order, plus noise.
        let header = format!("t={NOW},v1={},v0=deadbeef,v1={}", v1(&old_sig), v1(&new_sig));
        assert_eq!(new.verify(Some(&header), BODY, NOW), Ok(()), "the last v1");
        assert_eq!(old.verify(Some(&header), BODY, NOW), Ok(()), "the first v1");
        let garbage_first = format!("t={NOW},v1=zz,v1=1234,v1={}", v1(&new_sig));
        assert_eq!(new.verify(Some(&garbage_first), BODY, NOW), Ok(()));
    }

    #[test]
    fn a_timestamp_more_than_five_minutes_away_is_stale_even_when_correctly_signed() {
        let s = secret("whsec_test_secret_one");
        let at_edge = s.sign(NOW - TOLERANCE_SECONDS, BODY);
        assert_eq!(s.verify(Some(&at_edge), BODY, NOW), Ok(()));
        let stale = s.sign(NOW - TOLERANCE_SECONDS - 1, BODY);
        assert_eq!(s.verify(Some(&stale), BODY, NOW), Err(SignatureError::Stale));
        let future = s.sign(NOW + TOLERANCE_SECONDS + 1, BODY);
        assert_eq!(s.verify(Some(&future), BODY, NOW), Err(SignatureError::Stale));
        // A forged header with a fresh timestamp is a mismatch, not merely stale.
        let forged = format!("t={NOW},v1={}", "0".repeat(64));
        assert_eq!(s.verify(Some(&forged), BODY, NOW), Err(SignatureError::NoMatch));
    }

    #[test]
    fn missing_and_malformed_headers_are_refused() {
        let s = secret("whsec_test_secret_one");
        assert_eq!(s.verify(None, BODY, NOW), Err(SignatureError::Missing));
        for bad in ["", "t=abc,v1=00", "v1=00", &format!("t={NOW}"), &format!("t={NOW},t={NOW},v1={}", "0".repeat(64))]
        {
            assert_eq!(s.verify(Some(bad), BODY, NOW), Err(SignatureError::Malformed), "{bad}");
        }
    }

    #[test]
    fn the_secret_never_shows_in_debug_output() {
        assert_eq!(format!("{:?}", secret("whsec_very_secret_value")), "WebhookSecret(…)");
        assert!(WebhookSecret::new("short").is_err());
    }
}
