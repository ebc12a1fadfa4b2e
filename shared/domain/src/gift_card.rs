//! Gift cards: a prepaid balance in one currency that a client spends at the clinic's till, in
//! part or in full, until it runs out or expires. Sold at the desk (a sale's gift-card line) or
//! online (the clinic's site, paid through the gateway), and spent as a sale's tender.
//!
//! **The code.** 20 symbols printed in five groups (`K7QM-3XTP-9HRW-2ZDN-CF4A`): 19 drawn at
//! random from a 32-symbol alphabet with no look-alikes (no `0`/`O`, no `1`/`I`), that is 95
//! bits, and one check symbol (Luhn mod 32), so a mistyped or (nearly any) swapped symbol is caught at the
//! desk before any lookup. Reading a code ignores case, spaces and dashes. The clinic keeps only
//! [`code_hash`] (SHA-256 of the clinic's id and the code: the lookup key, useless in another
//! clinic) and the last four symbols for display; the whole code is shown once, in the answer
//! that issued it, and emailed to the recipient.
//!
//! **Expiry.** A card's validity is the clinic's choice within what its country allows
//! ([`expiry_rule`]); a card bought today expires `validity` months after it was issued, or never.
//!
//! **Money.** The balance only moves by a movement ([`MovementKind`]): issued, redeemed by a
//! sale, returned by a sale's void or refund, voided. Redemptions are written on condition of
//! the card's version, so two sales never spend the same money.

use std::fmt;

use chrono::{DateTime, Months, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::error::{AppError, AppResult, Rejection};
use crate::ids::{ClientId, CorrectionId, GiftCardId, SaleId, TenantId};
use crate::values::{CountryCode, Currency, Email, Name, ParseError};

/// The code's symbols: digits 2–9 and the letters but `I` and `O` (32 of them).
pub const ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
/// Symbols in a code, the check symbol included.
pub const CODE_LENGTH: usize = 20;
/// Random bits in a code: 19 symbols of 5 bits.
pub const CODE_BITS: u32 = (CODE_LENGTH as u32 - 1) * 5;
// At least 80 random bits, or this does not compile.
const _: () = assert!(CODE_BITS >= 80);

fn symbol_value(c: u8) -> Option<usize> {
    ALPHABET.iter().position(|&a| a == c)
}

/// The Luhn mod 32 check symbol of `body`: catches any one wrong symbol, and any swap of two
/// neighbours but of `2` and `Z` (as Luhn's own misses `09` ↔ `90`).
fn check_symbol(body: &[u8]) -> u8 {
    let n = ALPHABET.len();
    let mut sum = 0;
    for (i, &c) in body.iter().rev().enumerate() {
        let mut v = symbol_value(c).expect("a code's body is of the alphabet");
        if i % 2 == 0 {
            v *= 2;
            v = v / n + v % n;
        }
        sum += v;
    }
    ALPHABET[(n - sum % n) % n]
}

/// A gift card's code (see the module notes). Only ever held in memory: never stored, logged or
/// serialised into a stored record.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "K7QM-3XTP-9HRW-2ZDN-CF4A")]
pub struct GiftCardCode(String);

impl GiftCardCode {
    /// A fresh code from the operating system's random source.
    pub fn generate() -> GiftCardCode {
        let mut rng = rand::rng();
        let mut body: Vec<u8> = (0..CODE_LENGTH - 1).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())]).collect();
        body.push(check_symbol(&body));
        GiftCardCode(String::from_utf8(body).expect("ASCII"))
    }

    /// Reads a code as a person types it: any case, spaces and dashes anywhere.
    pub fn parse(raw: &str) -> Result<GiftCardCode, ParseError> {
        let symbols: String =
            raw.chars().filter(|c| !c.is_whitespace() && *c != '-').map(|c| c.to_ascii_uppercase()).collect();
        if symbols.len() != CODE_LENGTH {
            return Err(ParseError(format!("a gift card code has {CODE_LENGTH} letters and digits")));
        }
        if let Some(bad) = symbols.bytes().find(|&c| symbol_value(c).is_none()) {
            let hint = match bad {
                b'0' | b'O' | b'1' | b'I' => " (codes never use 0, O, 1 or I)",
                _ => "",
            };
            return Err(ParseError(format!("`{}` is not in a gift card code{hint}", bad as char)));
        }
        let bytes = symbols.as_bytes();
        if check_symbol(&bytes[..CODE_LENGTH - 1]) != bytes[CODE_LENGTH - 1] {
            return Err(ParseError("this gift card code is mistyped (its check symbol does not match)".into()));
        }
        Ok(GiftCardCode(symbols))
    }

    /// The last four symbols (what receipts and lists show).
    pub fn last4(&self) -> String {
        self.0[CODE_LENGTH - 4..].to_owned()
    }

    /// Printed in groups of four: `XXXX-XXXX-XXXX-XXXX-XXXX`.
    pub fn grouped(&self) -> String {
        self.0.as_bytes().chunks(4).map(|g| std::str::from_utf8(g).expect("ASCII")).collect::<Vec<_>>().join("-")
    }
}

impl fmt::Display for GiftCardCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.grouped())
    }
}

/// Never the code itself in debug output (logs, panics).
impl fmt::Debug for GiftCardCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GiftCardCode(…{})", self.last4())
    }
}

impl TryFrom<String> for GiftCardCode {
    type Error = ParseError;
    fn try_from(raw: String) -> Result<Self, ParseError> {
        GiftCardCode::parse(&raw)
    }
}

impl From<GiftCardCode> for String {
    fn from(code: GiftCardCode) -> String {
        code.grouped()
    }
}

/// The lookup key of a code at one clinic: hex SHA-256 of the clinic's id and the code. A code
/// has 95 random bits, so the hash cannot be reversed by trying codes; bound to the clinic, the
/// same code means nothing at another.
pub fn code_hash(tenant: &TenantId, code: &GiftCardCode) -> String {
    hex::encode(Sha256::digest(format!("{tenant}|gift_card|{}", code.0).as_bytes()))
}

// ---- Expiry per jurisdiction ------------------------------------------------------------

/// What a country's law says about how soon a gift card may expire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum ExpiryRule {
    /// Gift cards may not expire at all.
    NeverExpires,
    /// Not sooner than this many months after issue.
    AtLeastMonths { months: u32 },
}

/// The rule for the clinic's country, with the source it follows. Where a country has no
/// statute we know of, [`DEFAULT_RULE`] (at least 12 months) applies. This is a product default,
/// not legal advice: a clinic should check its own jurisdiction (US states and Canadian provinces
/// differ; the strictest is used here where they do).
///
/// | Country | Rule | Source |
/// |---|---|---|
/// | US | ≥ 60 months | Credit CARD Act 2009, 12 CFR 1005.20(e) (Regulation E): funds may not expire within 5 years of issue or last load; some states (e.g. California, Civ. Code §1749.5) forbid expiry outright |
/// | CA | never | Ontario O. Reg. 17/05 s.25.3, Quebec Consumer Protection Act s.187.3 and most provinces forbid expiry dates on gift cards |
/// | IE | ≥ 60 months | Consumer Protection (Gift Vouchers) Act 2019: at least five years |
/// | AU | ≥ 36 months | Competition and Consumer Amendment (Gift Cards) Act 2018 (in force 1 Nov 2019): at least three years |
/// | DE | ≥ 36 months | BGB §195 (the general three-year limitation period); courts have struck shorter terms in standard terms |
/// | BE | ≥ 12 months | Code of Economic Law art. VI.81/1: at least one year |
/// | others (GB…) | ≥ 12 months | no statute we know of: a conservative default |
pub fn expiry_rule(country: &CountryCode) -> ExpiryRule {
    match country.as_str() {
        "US" | "IE" => ExpiryRule::AtLeastMonths { months: 60 },
        "CA" => ExpiryRule::NeverExpires,
        "AU" | "DE" => ExpiryRule::AtLeastMonths { months: 36 },
        _ => DEFAULT_RULE,
    }
}

/// Where a country has no rule we know of.
pub const DEFAULT_RULE: ExpiryRule = ExpiryRule::AtLeastMonths { months: 12 };
/// The longest validity a clinic may choose (ten years).
pub const MAX_VALIDITY_MONTHS: u32 = 120;

/// How long a clinic's gift cards are valid: `None` never expire.
pub fn check_validity(country: &CountryCode, months: Option<u32>) -> AppResult<Option<u32>> {
    match (expiry_rule(country), months) {
        (_, None) => Ok(None),
        (ExpiryRule::NeverExpires, Some(_)) => Err(AppError::invalid(
            "expiry_not_allowed",
            "validity_months",
            format!("gift cards may not expire in {}", country.as_str()),
        )),
        (ExpiryRule::AtLeastMonths { months: min }, Some(m)) if m < min => Err(AppError::invalid(
            "validity_too_short",
            "validity_months",
            format!("gift cards must be valid at least {min} months in {}", country.as_str()),
        )),
        (_, Some(m)) if m > MAX_VALIDITY_MONTHS => Err(AppError::invalid(
            "validity_too_long",
            "validity_months",
            format!("at most {MAX_VALIDITY_MONTHS} months (or never expire)"),
        )),
        (_, Some(m)) => Ok(Some(m)),
    }
}

/// The validity a clinic gets until it chooses: the longer of two years and its country's
/// minimum, or never where expiry is forbidden.
pub fn default_validity(country: &CountryCode) -> Option<u32> {
    match expiry_rule(country) {
        ExpiryRule::NeverExpires => None,
        ExpiryRule::AtLeastMonths { months } => Some(months.max(24)),
    }
}

/// When a card issued at `issued_at` with `validity` months expires.
pub fn expires_at(issued_at: DateTime<Utc>, validity: Option<u32>) -> Option<DateTime<Utc>> {
    validity.map(|m| issued_at.checked_add_months(Months::new(m)).unwrap_or(DateTime::<Utc>::MAX_UTC))
}

// ---- Amounts ----------------------------------------------------------------------------

/// The least and the most one card may be sold for (minor units).
pub const MIN_AMOUNT: i64 = 500;
pub const MAX_AMOUNT: i64 = 100_000;

/// The preset amounts the clinic's site offers (minor units); a buyer may also choose any amount
/// from [`MIN_AMOUNT`] to [`MAX_AMOUNT`].
pub const PRESET_AMOUNTS: [i64; 4] = [2_500, 5_000, 10_000, 20_000];

pub fn check_amount(amount: i64, field: &str) -> AppResult<()> {
    if !(MIN_AMOUNT..=MAX_AMOUNT).contains(&amount) {
        return Err(AppError::invalid(
            "gift_card_amount",
            field,
            format!("a gift card is for {MIN_AMOUNT} to {MAX_AMOUNT} minor units"),
        ));
    }
    Ok(())
}

// ---- The card -------------------------------------------------------------------------

/// Who a card is for (the desk or the buyer names them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Recipient {
    pub name: Name,
    /// Where the code is emailed; without one, the code is only shown where it was bought.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GiftCardStatus {
    Active,
    /// Voided by an owner or manager: nothing more can be spent.
    Voided,
}

/// Where a card was sold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "channel", rename_all = "snake_case")]
pub enum SoldVia {
    /// A gift-card line of a sale at the desk.
    Desk { sale_id: SaleId },
    /// The clinic's site, paid through the gateway.
    Online { intent_id: String },
}

/// A gift card as stored and answered (never its code: see [`code_hash`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct GiftCard {
    pub id: GiftCardId,
    /// The code's last four symbols.
    pub code_last4: String,
    pub currency: Currency,
    pub initial_minor: i64,
    pub balance_minor: i64,
    pub status: GiftCardStatus,
    pub issued_at: DateTime<Utc>,
    /// `None`: never expires.
    pub expires_at: Option<DateTime<Utc>>,
    pub recipient: Recipient,
    /// The recipient's client record (made from their email when new).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient_client_id: Option<ClientId>,
    /// Who paid for it: the sale's client, or the online buyer's client record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_client_id: Option<ClientId>,
    pub sold_via: SoldVia,
    /// Why and by whom it was voided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub void_reason: Option<String>,
    /// Bumped by every change; each change is written on condition of the version it read.
    pub version: u32,
}

impl GiftCard {
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|at| now >= at)
    }

    /// Takes `amount` off the balance for a sale, or says why not: a voided or expired card is
    /// 409, a card in another currency 422, more than the balance 409 with the balance.
    pub fn redeem(&mut self, amount: i64, currency: &Currency, now: DateTime<Utc>, field: &str) -> AppResult<()> {
        if self.status == GiftCardStatus::Voided {
            return Err(AppError::conflict("gift_card_voided", "this gift card was voided"));
        }
        if self.is_expired(now) {
            return Err(AppError::Rejected {
                kind: Rejection::Conflict,
                code: "gift_card_expired",
                message: "this gift card has expired".into(),
                details: serde_json::json!({ "expires_at": self.expires_at }),
            });
        }
        if &self.currency != currency {
            return Err(AppError::invalid(
                "gift_card_currency_mismatch",
                field,
                format!("this gift card is in {}", self.currency.as_str()),
            ));
        }
        if amount > self.balance_minor {
            return Err(AppError::Rejected {
                kind: Rejection::Conflict,
                code: "gift_card_insufficient",
                message: format!("this gift card holds {} only", self.balance_minor),
                details: serde_json::json!({ "balance_minor": self.balance_minor }),
            });
        }
        self.balance_minor -= amount;
        self.version += 1;
        Ok(())
    }

    /// Puts `amount` back (a sale's void or refund): never above what the card was issued for.
    pub fn give_back(&mut self, amount: i64) {
        self.balance_minor = (self.balance_minor + amount).min(self.initial_minor);
        self.version += 1;
    }

    /// Voids the card: its balance can no longer be spent (the balance is kept on record).
    pub fn void(&mut self, reason: &str) -> AppResult<()> {
        if self.status == GiftCardStatus::Voided {
            return Err(AppError::conflict("gift_card_voided", "this gift card was voided already"));
        }
        self.status = GiftCardStatus::Voided;
        self.void_reason = Some(reason.to_owned());
        self.version += 1;
        Ok(())
    }
}

/// What moved a card's balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = GiftCardMovementKind)]
pub enum MovementKind {
    Issued,
    /// Spent as a sale's tender.
    Redeemed,
    /// Given back by a void or refund of a sale it paid for.
    Returned,
    Voided,
}

/// One line of a card's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = GiftCardMovement)]
pub struct Movement {
    pub gift_card_id: GiftCardId,
    pub kind: MovementKind,
    /// Signed: negative when spent.
    pub amount_minor: i64,
    pub balance_after_minor: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sale_id: Option<SaleId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correction_id: Option<CorrectionId>,
    pub at: DateTime<Utc>,
    /// A member id, `stripe` or `system`.
    pub by: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn country(c: &str) -> CountryCode {
        CountryCode::parse(c).unwrap()
    }

    #[test]
    fn a_generated_code_has_twenty_unambiguous_symbols_and_reads_back_however_it_is_typed() {
        for _ in 0..200 {
            let code = GiftCardCode::generate();
            let printed = code.grouped();
            assert_eq!(printed.len(), 24, "{printed}");
            assert_eq!(printed.split('-').map(str::len).collect::<Vec<_>>(), vec![4; 5]);
            assert!(!printed.contains(['0', 'O', '1', 'I']), "{printed}");
            assert_eq!(GiftCardCode::parse(&printed).unwrap(), code);
            let typed = printed.to_lowercase().replace('-', " ");
            assert_eq!(GiftCardCode::parse(&typed).unwrap(), code);
        }
    }

    #[test]
    fn one_wrong_symbol_or_two_swapped_neighbours_fail_the_check() {
        let code = GiftCardCode::generate().0;
        for i in 0..CODE_LENGTH {
            let mut bytes = code.clone().into_bytes();
            let other = ALPHABET.iter().find(|&&c| c != bytes[i]).unwrap();
            bytes[i] = *other;
            let err = GiftCardCode::parse(std::str::from_utf8(&bytes).unwrap()).unwrap_err();
            assert!(err.0.contains("mistyped"), "{err:?}");
        }
        for i in 0..CODE_LENGTH - 1 {
            let mut bytes = code.clone().into_bytes();
            let pair = [bytes[i], bytes[i + 1]];
            if pair[0] == pair[1] || pair == *b"2Z" || pair == *b"Z2" {
                continue;
            }
            bytes.swap(i, i + 1);
            assert!(GiftCardCode::parse(std::str::from_utf8(&bytes).unwrap()).is_err(), "swap at {i}");
        }
    }

    #[test]
    fn a_code_of_the_wrong_length_or_with_a_look_alike_is_refused_with_a_clear_reason() {
        assert!(GiftCardCode::parse("ABCD-EFGH").unwrap_err().0.contains("20 letters and digits"));
        let with_zero = "0".repeat(CODE_LENGTH);
        assert!(GiftCardCode::parse(&with_zero).unwrap_err().0.contains("never use 0, O, 1 or I"));
    }

    #[test]
    fn the_code_never_shows_in_debug_output_and_its_hash_depends_on_the_clinic() {
        let code = GiftCardCode::generate();
        let debug = format!("{code:?}");
        assert!(!debug.contains(&code.0[..8]), "{debug}");
        assert!(debug.ends_with(&format!("{})", code.last4())));
        let (a, b) = (TenantId::parse("ten_a").unwrap(), TenantId::parse("ten_b").unwrap());
        assert_ne!(code_hash(&a, &code), code_hash(&b, &code));
        assert_eq!(code_hash(&a, &code), code_hash(&a, &GiftCardCode::parse(&code.grouped()).unwrap()));
        assert_eq!(code_hash(&a, &code).len(), 64);
    }

    #[test]
    fn the_validity_a_clinic_chooses_is_bounded_by_its_country() {
        assert_eq!(check_validity(&country("US"), Some(60)).unwrap(), Some(60));
        let err = check_validity(&country("US"), Some(24)).unwrap_err();
        assert!(matches!(err, AppError::Invalid { code: "validity_too_short", .. }), "{err:?}");
        let err = check_validity(&country("CA"), Some(60)).unwrap_err();
        assert!(matches!(err, AppError::Invalid { code: "expiry_not_allowed", .. }), "{err:?}");
        assert_eq!(check_validity(&country("CA"), None).unwrap(), None);
        assert_eq!(check_validity(&country("GB"), Some(12)).unwrap(), Some(12));
        assert!(check_validity(&country("GB"), Some(11)).is_err());
        assert!(check_validity(&country("GB"), Some(121)).is_err());
        assert!(check_validity(&country("AU"), Some(35)).is_err());
        assert_eq!(
            [default_validity(&country("GB")), default_validity(&country("US")), default_validity(&country("CA"))],
            [Some(24), Some(60), None]
        );
    }

    #[test]
    fn a_card_expires_its_validity_in_calendar_months_after_issue() {
        let issued = "2027-01-31T10:00:00Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(expires_at(issued, Some(1)).unwrap().to_rfc3339(), "2027-02-28T10:00:00+00:00");
        assert_eq!(expires_at(issued, Some(60)).unwrap().to_rfc3339(), "2032-01-31T10:00:00+00:00");
        assert_eq!(expires_at(issued, None), None);
    }

    fn card(balance: i64) -> GiftCard {
        GiftCard {
            id: GiftCardId::new(),
            code_last4: "ABCD".into(),
            currency: Currency::gbp(),
            initial_minor: 5_000,
            balance_minor: balance,
            status: GiftCardStatus::Active,
            issued_at: Utc::now(),
            expires_at: Some(Utc::now() + chrono::Duration::days(1)),
            recipient: Recipient { name: Name::parse("Ada").unwrap(), email: None },
            recipient_client_id: None,
            buyer_client_id: None,
            sold_via: SoldVia::Desk { sale_id: SaleId::new() },
            void_reason: None,
            version: 1,
        }
    }

    #[test]
    fn redeeming_takes_from_the_balance_and_refuses_more_than_it_holds_or_a_dead_card() {
        let now = Utc::now();
        let mut c = card(5_000);
        c.redeem(1_000, &Currency::gbp(), now, "t").unwrap();
        assert_eq!((c.balance_minor, c.version), (4_000, 2));
        let err = c.redeem(4_001, &Currency::gbp(), now, "t").unwrap_err();
        assert!(matches!(err, AppError::Rejected { code: "gift_card_insufficient", .. }), "{err:?}");
        let err = c.redeem(1, &Currency::parse("EUR").unwrap(), now, "t").unwrap_err();
        assert!(matches!(err, AppError::Invalid { code: "gift_card_currency_mismatch", .. }), "{err:?}");
        let err = c.clone().redeem(1, &Currency::gbp(), now + chrono::Duration::days(2), "t").unwrap_err();
        assert!(matches!(err, AppError::Rejected { code: "gift_card_expired", .. }), "{err:?}");
        c.void("lost").unwrap();
        let err = c.redeem(1, &Currency::gbp(), now, "t").unwrap_err();
        assert!(matches!(err, AppError::Conflict { code: "gift_card_voided", .. }), "{err:?}");
        c.give_back(99_999);
        assert_eq!(c.balance_minor, 5_000, "never above what it was issued for");
    }

    #[test]
    fn amounts_are_bounded() {
        assert!(check_amount(MIN_AMOUNT, "a").is_ok() && check_amount(MAX_AMOUNT, "a").is_ok());
        assert!(check_amount(MIN_AMOUNT - 1, "a").is_err() && check_amount(MAX_AMOUNT + 1, "a").is_err());
    }
}
