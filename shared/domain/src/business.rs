//! Who the clinic is in law, for its receipts and its site: the legal name it trades under, its
//! company registration number and its VAT registration number. A UK VAT invoice must show the
//! supplier's VAT registration number (HMRC VAT Notice 700/21, section 16.3), and a UK company
//! must show its registered name and number on its invoices and website (Companies Act 2006,
//! s.82 and the Company, Limited Liability Partnership and Business (Names and Trading
//! Disclosures) Regulations 2015). Each is optional: a sole trader below the VAT threshold has
//! neither.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::values::{Name, ParseError, string_value};

/// The clinic's legal identity, as printed on receipts and in its site's footer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BusinessDetails {
    /// The name the business is registered under (`Glow Aesthetics Ltd`), when it differs from
    /// the clinic's name.
    #[serde(default)]
    pub legal_name: Option<Name>,
    /// The company registration number (`09876543`, `SC123456`).
    #[serde(default)]
    pub company_number: Option<CompanyNumber>,
    /// The VAT registration number, country prefix first (`GB123456789`).
    #[serde(default)]
    pub vat_number: Option<VatNumber>,
}

impl BusinessDetails {
    /// The lines a receipt prints under the clinic's name (none when nothing is set).
    pub fn lines(&self, clinic_name: &str) -> Vec<String> {
        let mut lines = Vec::new();
        let legal = self.legal_name.as_ref().map(Name::as_str).filter(|legal| *legal != clinic_name);
        match (legal, &self.company_number) {
            (Some(legal), Some(number)) => lines.push(format!("{legal}, company number {number}")),
            (Some(legal), None) => lines.push(legal.to_owned()),
            (None, Some(number)) => lines.push(format!("Company number {number}")),
            (None, None) => {}
        }
        if let Some(vat) = &self.vat_number {
            lines.push(format!("VAT registration number {vat}"));
        }
        lines
    }
}

/// A VAT registration number: a two-letter country prefix (`GB`, `XI` for Northern Ireland, or
/// an EU member's VIES prefix, `EL` for Greece) and 2–12 letters or digits, read however it was
/// typed (`gb 123 4567 82` → `GB123456782`). A British number (`GB`/`XI`) is 9 digits passing
/// HMRC's check-digit test, 12 digits (a branch), or `GD`/`HA` and 3 digits (government
/// departments, health authorities).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "GB123456782")]
pub struct VatNumber(String);
string_value!(VatNumber);

/// The prefixes VAT numbers are written with: the UK's, and the EU's as VIES uses them.
const VAT_PREFIXES: &[&str] = &[
    "GB", "XI", "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "EL", "ES", "FI", "FR", "HR", "HU", "IE", "IT", "LT",
    "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "CH", "NO",
];

impl VatNumber {
    pub fn parse(raw: &str) -> Result<VatNumber, ParseError> {
        let compact: String =
            raw.chars().filter(|c| !c.is_whitespace() && !matches!(c, '-' | '.')).collect::<String>().to_uppercase();
        let bad = |why: &str| Err(ParseError(format!("a VAT number {why}, such as GB123456782")));
        if !compact.is_ascii() || compact.len() < 4 {
            return bad("is a country prefix and its digits");
        }
        let (prefix, body) = compact.split_at(2);
        if !VAT_PREFIXES.contains(&prefix) {
            return bad("starts with its country's prefix (GB, XI, or an EU country's)");
        }
        if body.len() > 12 || !body.chars().all(|c| c.is_ascii_alphanumeric()) {
            return bad("has at most 12 letters or digits after its prefix");
        }
        if matches!(prefix, "GB" | "XI") && !british_vat_body(body) {
            return bad("from HMRC has 9 digits that pass its check (or 12, or GD/HA and 3 digits)");
        }
        Ok(VatNumber(compact))
    }
}

/// HMRC's check: the first seven digits weighted 8 down to 2, plus the last two as a number,
/// is a multiple of 97 (numbers issued before 2010), or is once 55 is added (issued since).
fn british_vat_body(body: &str) -> bool {
    let digits: Vec<u32> = body.chars().filter_map(|c| c.to_digit(10)).collect();
    if let Some(rest) = body.strip_prefix("GD").or_else(|| body.strip_prefix("HA")) {
        return rest.len() == 3 && rest.chars().all(|c| c.is_ascii_digit());
    }
    if digits.len() != body.len() || !(digits.len() == 9 || digits.len() == 12) {
        return false;
    }
    let weighted: u32 = digits[..7].iter().zip((2..=8).rev()).map(|(d, w)| d * w).sum();
    let total = weighted + digits[7] * 10 + digits[8];
    total.is_multiple_of(97) || (total + 55).is_multiple_of(97)
}

/// A company registration number: 2–12 letters and digits (`09876543`, `SC123456`), upper case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "09876543")]
pub struct CompanyNumber(String);
string_value!(CompanyNumber);

impl CompanyNumber {
    pub fn parse(raw: &str) -> Result<CompanyNumber, ParseError> {
        let compact: String = raw.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase();
        if !(2..=12).contains(&compact.len()) || !compact.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(ParseError("a company number is 2–12 letters and digits, such as 09876543".into()));
        }
        Ok(CompanyNumber(compact))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_british_vat_number_is_read_however_it_was_typed_and_must_pass_hmrcs_check() {
        // 1×8+2×7+3×6+4×5+5×4+6×3+7×2 = 112; +82 = 194 = 2 × 97.
        assert_eq!(VatNumber::parse("gb 123 4567 82").unwrap().as_str(), "GB123456782");
        // The since-2010 series: +55 makes it a multiple of 97 (112 + 27 + 55 = 194).
        assert_eq!(VatNumber::parse("GB123-4567-27").unwrap().as_str(), "GB123456727");
        assert!(VatNumber::parse("GB123456781").is_err(), "a mistyped digit fails the check");
        assert!(VatNumber::parse("GB12345678").is_err(), "eight digits");
        assert_eq!(VatNumber::parse("GBGD001").unwrap().as_str(), "GBGD001");
        assert!(VatNumber::parse("GBGD0012").is_err());
        assert_eq!(VatNumber::parse("XI123456782").unwrap().as_str(), "XI123456782");
    }

    #[test]
    fn other_vat_numbers_need_a_known_prefix_and_at_most_twelve_letters_or_digits() {
        assert_eq!(VatNumber::parse("IE 6388047V").unwrap().as_str(), "IE6388047V");
        assert_eq!(VatNumber::parse("el094259216").unwrap().as_str(), "EL094259216");
        assert!(VatNumber::parse("ZZ123456").is_err(), "no such prefix");
        assert!(VatNumber::parse("123456789").is_err(), "no prefix");
        assert!(VatNumber::parse("DE1234567890123").is_err(), "too long");
        assert!(VatNumber::parse("FR12 345/678").is_err(), "a slash is no digit");
        assert!(serde_json::from_str::<VatNumber>("\"GB123456781\"").is_err(), "checked when read as JSON too");
    }

    #[test]
    fn a_receipt_prints_the_legal_name_company_and_vat_numbers_that_are_set() {
        let none = BusinessDetails::default();
        assert!(none.lines("Glow").is_empty());
        let all = BusinessDetails {
            legal_name: Some(Name::parse("Glow Aesthetics Ltd").unwrap()),
            company_number: Some(CompanyNumber::parse("sc 123456").unwrap()),
            vat_number: Some(VatNumber::parse("GB123456782").unwrap()),
        };
        assert_eq!(
            all.lines("Glow"),
            ["Glow Aesthetics Ltd, company number SC123456", "VAT registration number GB123456782"]
        );
        let same_name = BusinessDetails { legal_name: Some(Name::parse("Glow").unwrap()), ..Default::default() };
        assert!(same_name.lines("Glow").is_empty(), "the clinic's own name is not printed twice");
    }
}
