//! Signed links: HMAC-SHA256 over a purpose and a payload, so a link (an e-sign page, a local
//! blob download) proves we issued it and has not been edited. The secret comes from
//! `MAS_LINK_SECRET` (Secrets Manager on AWS) or is generated into the local data directory.

use hmac::{KeyInit, Mac};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

pub struct LinkSigner {
    key: Vec<u8>,
}

impl LinkSigner {
    pub fn new(secret: &[u8]) -> Self {
        LinkSigner { key: secret.to_vec() }
    }

    /// A signer with a random secret, for tests and for a process whose links need not outlive it.
    pub fn random() -> Self {
        use rand::Rng;
        let mut key = [0u8; 32];
        rand::rng().fill(&mut key);
        LinkSigner::new(&key)
    }

    fn mac(&self, purpose: &str, payload: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes a key of any length");
        mac.update(purpose.as_bytes());
        mac.update(b"\n");
        mac.update(payload.as_bytes());
        mac
    }

    /// Lowercase hex HMAC of `payload` for `purpose` (one purpose's signature is useless for another).
    pub fn sign(&self, purpose: &str, payload: &str) -> String {
        hex::encode(self.mac(purpose, payload).finalize().into_bytes())
    }

    /// Checks a signature in constant time.
    pub fn verify(&self, purpose: &str, payload: &str, signature: &str) -> bool {
        match hex::decode(signature) {
            Ok(bytes) => self.mac(purpose, payload).verify_slice(&bytes).is_ok(),
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_for_its_purpose_payload_and_secret() {
        let signer = LinkSigner::new(b"secret");
        let sig = signer.sign("esign", "ten_a.sig_b.100");
        assert!(signer.verify("esign", "ten_a.sig_b.100", &sig));
        assert!(!signer.verify("blob", "ten_a.sig_b.100", &sig));
        assert!(!signer.verify("esign", "ten_a.sig_b.101", &sig));
        assert!(!LinkSigner::new(b"other").verify("esign", "ten_a.sig_b.100", &sig));
        assert!(!signer.verify("esign", "ten_a.sig_b.100", "zz"));
    }
}
