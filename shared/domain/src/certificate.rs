//! Certificates of the academy: issued once per completed enrolment, as a stamped PDF and an
//! Open Badges 3.0 credential signed with the clinic's key, revocable through the clinic's
//! Bitstring Status List (W3C). Pure types and rules; `mas-academy` issues, signs and revokes.
//!
//! **Numbers are random, not sequential** (`CERT-2026-7KQ2-M9XD-4HTP`: the year and 60 random
//! bits in Crockford's base32). The public verification page names the student, so a sequential
//! number would let anyone walk every clinic's list of students; a random one is shown only to
//! whom the student shows their certificate. Gapless numbering is a rule for invoices and
//! receipts (tax), not for certificates. With 60 bits, guessing one of a clinic's 10,000
//! numbers takes ~10¹⁴ tries (the public routes are rate limited per address besides); a clash
//! is refused by the number's "not exists" write and drawn again.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::documents::Sha256Hex;
use crate::ids::{CohortId, CourseId, EnrolmentId};
use crate::values::ParseError;

/// Crockford's base32 (no I, L, O, U): read aloud and typed without confusion.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A certificate's number: `CERT-{year}-{4}-{4}-{4}` (random; see the module's notes).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "CERT-2026-7KQ2-M9XD-4HTP")]
pub struct CertificateNumber(String);

impl CertificateNumber {
    /// The number for `year` drawn from 8 random bytes (their low 60 bits, 12 characters).
    pub fn from_random(year: i32, random: [u8; 8]) -> CertificateNumber {
        let mut bits = u64::from_be_bytes(random);
        let mut chars = [0u8; 12];
        for c in chars.iter_mut().rev() {
            *c = CROCKFORD[(bits & 31) as usize];
            bits >>= 5;
        }
        let text = std::str::from_utf8(&chars).expect("ascii");
        CertificateNumber(format!("CERT-{year:04}-{}-{}-{}", &text[..4], &text[4..8], &text[8..]))
    }

    /// Accepts the printed form in any letter case (typed from paper), stored upper case.
    pub fn parse(raw: &str) -> Result<CertificateNumber, ParseError> {
        let upper = raw.trim().to_ascii_uppercase();
        let parts: Vec<&str> = upper.split('-').collect();
        let ok = parts.len() == 5
            && parts[0] == "CERT"
            && parts[1].len() == 4
            && parts[1].chars().all(|c| c.is_ascii_digit())
            && parts[2..].iter().all(|p| p.len() == 4 && p.bytes().all(|b| CROCKFORD.contains(&b)));
        if !ok {
            return Err(ParseError("must be a certificate number such as CERT-2026-7KQ2-M9XD-4HTP".into()));
        }
        Ok(CertificateNumber(upper))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for CertificateNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for CertificateNumber {
    type Err = ParseError;
    fn from_str(raw: &str) -> Result<Self, ParseError> {
        CertificateNumber::parse(raw)
    }
}

impl TryFrom<String> for CertificateNumber {
    type Error = ParseError;
    fn try_from(raw: String) -> Result<Self, ParseError> {
        CertificateNumber::parse(&raw)
    }
}

impl From<CertificateNumber> for String {
    fn from(n: CertificateNumber) -> String {
        n.0
    }
}

/// Bits in a clinic's status list: 131,072 (16 KiB), the Bitstring Status List's minimum size,
/// which keeps a holder's index from narrowing down who they are.
pub const STATUS_LIST_BITS: u32 = 131_072;

/// A clinic's revocation bits: bit `i` set means the certificate with status index `i` is
/// revoked. Index 0 is the high bit of the first byte (the specification's order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusBits(Vec<u8>);

impl StatusBits {
    pub fn empty() -> StatusBits {
        StatusBits(vec![0; (STATUS_LIST_BITS / 8) as usize])
    }

    /// From stored bytes (shorter is padded with zeros; longer is refused).
    pub fn from_bytes(mut bytes: Vec<u8>) -> Result<StatusBits, ParseError> {
        let len = (STATUS_LIST_BITS / 8) as usize;
        if bytes.len() > len {
            return Err(ParseError("a status list is at most 16 KiB".into()));
        }
        bytes.resize(len, 0);
        Ok(StatusBits(bytes))
    }

    pub fn set(&mut self, index: u32) {
        self.0[(index / 8) as usize] |= 0x80 >> (index % 8);
    }

    pub fn get(&self, index: u32) -> bool {
        self.0[(index / 8) as usize] & (0x80 >> (index % 8)) != 0
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// A certificate as issued (and, later, revoked). What it prints is here, so the verification
/// page says exactly what the paper says and nothing more.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Certificate {
    pub number: CertificateNumber,
    pub enrolment_id: EnrolmentId,
    pub cohort_id: CohortId,
    pub course_id: CourseId,
    pub course_version: u32,
    pub student_name: String,
    pub course_title: String,
    pub cpd_hours: u32,
    /// The day the requirements were met (the clinic's day).
    pub completed_on: NaiveDate,
    pub educator_name: String,
    pub clinic_name: String,
    pub issued_at: DateTime<Utc>,
    /// SHA-256 of the PDF as stored.
    pub file_sha256: Sha256Hex,
    /// The certificate's bit in the clinic's status list.
    pub status_index: u32,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Where the PDF is stored.
    pub blob_key: String,
    /// The Open Badges 3.0 credential: a VC-JWT signed with the clinic's Ed25519 key.
    pub credential_jwt: String,
    pub version: u64,
}

impl Certificate {
    pub fn is_revoked(&self) -> bool {
        self.revoked_at.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_is_the_year_and_eight_unambiguous_characters_and_parses_back_in_any_case() {
        let n = CertificateNumber::from_random(2026, [0xff, 0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc]);
        assert_eq!(n.as_str().len(), "CERT-2026-XXXX-XXXX-XXXX".len());
        assert!(n.as_str().starts_with("CERT-2026-"));
        assert_eq!(CertificateNumber::parse(&n.as_str().to_lowercase()).unwrap(), n);
        assert_ne!(n, CertificateNumber::from_random(2026, [0xff, 0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbd]));
        for bad in
            ["CERT-2026-ABCD-EFGH", "CERT-2026-ABCD-EFGH-JKMI", "CRT-2026-ABCD-EFGH-JKMN", "CERT-26-ABCD-EFGH-JKMN"]
        {
            assert!(CertificateNumber::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn status_bits_count_from_the_high_bit_of_the_first_byte() {
        let mut bits = StatusBits::empty();
        assert_eq!(bits.as_bytes().len(), 16 * 1024);
        bits.set(0);
        bits.set(9);
        assert_eq!(&bits.as_bytes()[..2], &[0x80, 0x40]);
        assert!(bits.get(9) && !bits.get(8));
        let back = StatusBits::from_bytes(bits.as_bytes()[..2].to_vec()).unwrap();
        assert_eq!(back, bits);
    }
}
