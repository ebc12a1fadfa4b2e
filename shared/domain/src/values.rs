//! Small value types parsed at the edge: once built, each one is valid by construction. They
//! deserialize through `TryFrom<String>`, so a bad value in a request body is refused with the
//! field's path before any handler code runs.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Why a value could not be parsed; the message is safe to show to the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

fn fail<T>(message: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError(message.into()))
}

/// Implements the string plumbing every string-backed value shares: `TryFrom<String>` via
/// `parse`, `From<Self> for String`, `Display`, `FromStr`, `as_str`.
macro_rules! string_value {
    ($name:ident) => {
        impl TryFrom<String> for $name {
            type Error = ParseError;
            fn try_from(raw: String) -> Result<Self, ParseError> {
                $name::parse(&raw)
            }
        }
        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl std::str::FromStr for $name {
            type Err = ParseError;
            fn from_str(raw: &str) -> Result<Self, ParseError> {
                $name::parse(raw)
            }
        }
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
    };
}
pub(crate) use string_value;

/// A URL-safe identifier chosen by people: lowercase letters, digits and single hyphens, 2–63
/// characters, starting with a letter (tenant slugs, service slugs, categories).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "demo-clinic")]
pub struct Slug(String);
string_value!(Slug);

impl Slug {
    pub fn parse(raw: &str) -> Result<Slug, ParseError> {
        let ok_chars = raw.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !(2..=63).contains(&raw.len())
            || !ok_chars
            || !raw.starts_with(|c: char| c.is_ascii_lowercase())
            || raw.ends_with('-')
            || raw.contains("--")
        {
            return fail("must be 2–63 lowercase letters, digits or single hyphens, starting with a letter");
        }
        Ok(Slug(raw.to_owned()))
    }

    /// A slug made from a display name ("Lip Filler 1ml" → "lip-filler-1ml").
    pub fn from_name(name: &str) -> Result<Slug, ParseError> {
        let mut slug = String::new();
        for c in name.trim().to_lowercase().chars() {
            if c.is_ascii_alphanumeric() {
                slug.push(c);
            } else if !slug.is_empty() && !slug.ends_with('-') {
                slug.push('-');
            }
        }
        let slug = slug.trim_end_matches('-');
        let slug = slug.trim_start_matches(|c: char| c.is_ascii_digit());
        Slug::parse(slug.chars().take(63).collect::<String>().trim_end_matches('-'))
    }
}

/// An email address, trimmed and lowercased so one person has one spelling.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, format = Email, example = "owner@demo-clinic.test")]
pub struct Email(String);
string_value!(Email);

impl Email {
    pub fn parse(raw: &str) -> Result<Email, ParseError> {
        let email = raw.trim().to_lowercase();
        let valid = match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && local.len() <= 64
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains('@')
                    && !domain.contains("..")
            }
            None => false,
        };
        if !valid || email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return fail("must be an email address such as name@example.com");
        }
        Ok(Email(email))
    }
}

/// A short human text (names, titles): trimmed, 1–120 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "Botox — three areas")]
pub struct Name(String);
string_value!(Name);

impl Name {
    pub fn parse(raw: &str) -> Result<Name, ParseError> {
        let name = raw.trim();
        if name.is_empty() || name.chars().count() > 120 || name.chars().any(char::is_control) {
            return fail("must be 1–120 characters with no control characters");
        }
        Ok(Name(name.to_owned()))
    }
}

/// A longer human text (descriptions, bios): up to 4,000 characters; newlines and tabs allowed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String)]
pub struct Text(String);
string_value!(Text);

impl Text {
    pub fn parse(raw: &str) -> Result<Text, ParseError> {
        let text = raw.trim();
        if text.chars().count() > 4000 || text.chars().any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r') {
            return fail("must be at most 4,000 characters with no control characters");
        }
        Ok(Text(text.to_owned()))
    }
}

/// A phone number in E.164 form (`+` and 8–15 digits); spaces, dots, dashes and brackets are
/// dropped while parsing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "+442079460000")]
pub struct Phone(String);
string_value!(Phone);

impl Phone {
    pub fn parse(raw: &str) -> Result<Phone, ParseError> {
        let compact: String = raw.chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')')).collect();
        let digits = compact.strip_prefix('+').unwrap_or("");
        if !(8..=15).contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_digit()) || digits.starts_with('0') {
            return fail("must be an international number such as +44 20 7946 0000");
        }
        Ok(Phone(compact))
    }
}

/// An ISO 4217 currency code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "GBP")]
pub struct Currency(String);
string_value!(Currency);

/// Currencies we take payments in: all have two minor-unit digits, which the money rules assume.
const SUPPORTED_CURRENCIES: &[&str] = &["GBP", "EUR", "USD", "AUD", "NZD", "CAD", "CHF", "SEK", "NOK", "DKK"];

impl Currency {
    pub fn parse(raw: &str) -> Result<Currency, ParseError> {
        if !SUPPORTED_CURRENCIES.contains(&raw) {
            return fail(format!("must be one of {}", SUPPORTED_CURRENCIES.join(", ")));
        }
        Ok(Currency(raw.to_owned()))
    }

    pub fn gbp() -> Currency {
        Currency("GBP".into())
    }
}

impl Default for Currency {
    fn default() -> Self {
        Currency::gbp()
    }
}

/// An amount of money in minor units (pence, cents) of a currency. Never a float.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Money {
    #[schema(minimum = 0, example = 25000)]
    pub amount_minor: MinorUnits,
    #[serde(default)]
    pub currency: Currency,
}

/// A non-negative amount in minor units, at most 10,000,000.00.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "i64", into = "i64")]
#[schema(value_type = i64)]
pub struct MinorUnits(i64);

impl MinorUnits {
    pub const MAX: i64 = 1_000_000_000;

    pub fn new(amount: i64) -> Result<MinorUnits, ParseError> {
        if !(0..=Self::MAX).contains(&amount) {
            return fail(format!("must be a whole number of minor units from 0 to {}", Self::MAX));
        }
        Ok(MinorUnits(amount))
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl TryFrom<i64> for MinorUnits {
    type Error = ParseError;
    fn try_from(amount: i64) -> Result<Self, ParseError> {
        MinorUnits::new(amount)
    }
}

impl From<MinorUnits> for i64 {
    fn from(value: MinorUnits) -> i64 {
        value.0
    }
}

/// An IANA time zone such as `Europe/London`; local rules are evaluated in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "Europe/London")]
pub struct TimeZone(chrono_tz::Tz);

impl TimeZone {
    pub fn parse(raw: &str) -> Result<TimeZone, ParseError> {
        match raw.parse::<chrono_tz::Tz>() {
            Ok(tz) => Ok(TimeZone(tz)),
            Err(_) => fail(format!("`{raw}` is not an IANA time zone such as Europe/London")),
        }
    }

    pub fn tz(self) -> chrono_tz::Tz {
        self.0
    }
}

impl TryFrom<String> for TimeZone {
    type Error = ParseError;
    fn try_from(raw: String) -> Result<Self, ParseError> {
        TimeZone::parse(&raw)
    }
}

impl From<TimeZone> for String {
    fn from(value: TimeZone) -> String {
        value.0.name().to_owned()
    }
}

/// A colour as `#rrggbb`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Color {
    pub r: u8,
    pub g: u8,
    pub b: u8,
}

impl Color {
    pub fn parse(raw: &str) -> Result<Color, ParseError> {
        let hex = raw.strip_prefix('#').filter(|h| h.len() == 6 && h.chars().all(|c| c.is_ascii_hexdigit()));
        let Some(hex) = hex else { return fail("must be a colour such as #1a1a1a") };
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).expect("checked hex digits");
        Ok(Color { r: byte(0), g: byte(2), b: byte(4) })
    }

    pub const fn rgb(r: u8, g: u8, b: u8) -> Color {
        Color { r, g, b }
    }

    /// WCAG 2.x relative luminance.
    pub fn luminance(self) -> f64 {
        let channel = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.039_28 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
        };
        0.2126 * channel(self.r) + 0.7152 * channel(self.g) + 0.0722 * channel(self.b)
    }

    /// WCAG contrast ratio between two colours (1.0–21.0).
    pub fn contrast(self, other: Color) -> f64 {
        let (a, b) = (self.luminance(), other.luminance());
        let (hi, lo) = if a > b { (a, b) } else { (b, a) };
        (hi + 0.05) / (lo + 0.05)
    }
}

impl utoipa::PartialSchema for Color {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^#[0-9a-fA-F]{6}$"))
            .examples([serde_json::json!("#1a1a1a")])
            .into()
    }
}

impl ToSchema for Color {}

impl TryFrom<String> for Color {
    type Error = ParseError;
    fn try_from(raw: String) -> Result<Self, ParseError> {
        Color::parse(&raw)
    }
}

impl From<Color> for String {
    fn from(c: Color) -> String {
        format!("#{:02x}{:02x}{:02x}", c.r, c.g, c.b)
    }
}

/// A DNS host name a tenant site answers on (`www.clinic.co.uk`), lowercased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "www.demo-clinic.co.uk")]
pub struct Hostname(String);
string_value!(Hostname);

impl Hostname {
    pub fn parse(raw: &str) -> Result<Hostname, ParseError> {
        let host = raw.trim().trim_end_matches('.').to_lowercase();
        let label_ok = |l: &str| {
            (1..=63).contains(&l.len())
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        let labels: Vec<&str> = host.split('.').collect();
        if host.len() > 253 || labels.len() < 2 || !labels.iter().all(|l| label_ok(l)) {
            return fail("must be a host name such as www.example.com");
        }
        Ok(Hostname(host))
    }
}

/// An ISO 3166-1 alpha-2 country code, uppercase.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "GB")]
pub struct CountryCode(String);
string_value!(CountryCode);

impl CountryCode {
    pub fn parse(raw: &str) -> Result<CountryCode, ParseError> {
        if raw.len() != 2 || !raw.chars().all(|c| c.is_ascii_uppercase()) {
            return fail("must be a two-letter country code such as GB");
        }
        Ok(CountryCode(raw.to_owned()))
    }
}

/// A bounded whole number of minutes, used for durations, buffers and notice periods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "i64", into = "i64")]
#[schema(value_type = i64)]
pub struct Minutes(u32);

impl Minutes {
    pub fn new(value: i64, min: u32, max: u32) -> Result<Minutes, ParseError> {
        if value < i64::from(min) || value > i64::from(max) {
            return fail(format!("must be a whole number of minutes from {min} to {max}"));
        }
        Ok(Minutes(value as u32))
    }

    pub fn get(self) -> u32 {
        self.0
    }

    pub fn duration(self) -> chrono::Duration {
        chrono::Duration::minutes(i64::from(self.0))
    }
}

impl TryFrom<i64> for Minutes {
    type Error = ParseError;
    /// The general bound (0 to 7 days); fields with tighter limits check them in `validate`.
    fn try_from(value: i64) -> Result<Self, ParseError> {
        Minutes::new(value, 0, 7 * 24 * 60)
    }
}

impl From<Minutes> for i64 {
    fn from(value: Minutes) -> i64 {
        i64::from(value.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slug_is_lowercase_letters_digits_and_single_hyphens() {
        assert!(Slug::parse("demo-clinic").is_ok());
        for bad in ["D", "Demo", "-demo", "demo-", "de--mo", "1demo", "de mo", "déjà"] {
            assert!(Slug::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn a_slug_is_derived_from_a_display_name() {
        assert_eq!(Slug::from_name("Lip Filler (1ml)").unwrap().as_str(), "lip-filler-1ml");
        assert_eq!(Slug::from_name("  HydraFacial®  Deluxe ").unwrap().as_str(), "hydrafacial-deluxe");
    }

    #[test]
    fn emails_are_normalized_to_lowercase_and_refused_when_malformed() {
        assert_eq!(Email::parse("  Jane.Doe@Example.COM ").unwrap().as_str(), "jane.doe@example.com");
        for bad in ["", "jane", "jane@", "@example.com", "jane@example", "ja ne@example.com", "a@b@c.com"] {
            assert!(Email::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn a_time_zone_must_be_an_iana_name() {
        assert_eq!(String::from(TimeZone::parse("Australia/Lord_Howe").unwrap()), "Australia/Lord_Howe");
        assert!(TimeZone::parse("Mars/Olympus_Mons").is_err());
        assert!(TimeZone::parse("").is_err());
    }

    #[test]
    fn money_is_never_negative_and_never_fractional() {
        assert!(serde_json::from_str::<Money>(r#"{"amount_minor": 1500}"#).is_ok());
        assert!(serde_json::from_str::<Money>(r#"{"amount_minor": -1}"#).is_err());
        assert!(serde_json::from_str::<Money>(r#"{"amount_minor": 15.5}"#).is_err());
        assert!(serde_json::from_str::<Money>(r#"{"amount_minor": 1, "currency": "XYZ"}"#).is_err());
    }

    #[test]
    fn phones_are_kept_in_e164_form() {
        assert_eq!(String::from(Phone::parse("+44 20 7946 0000").unwrap()), "+442079460000");
        assert!(Phone::parse("020 7946 0000").is_err());
    }

    #[test]
    fn contrast_of_black_on_white_is_21() {
        let ratio = Color::rgb(0, 0, 0).contrast(Color::rgb(255, 255, 255));
        assert!((ratio - 21.0).abs() < 0.01);
        assert_eq!(String::from(Color::parse("#A0b1C2").unwrap()), "#a0b1c2");
    }
}
