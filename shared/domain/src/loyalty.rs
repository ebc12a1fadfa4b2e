//! Loyalty: a clinic's points programme (off until the clinic turns it on). A client earns points
//! on what she pays for at the till, spends them at the till as a tender worth the programme's
//! value, and climbs tiers by what she earned in the last twelve months.
//!
//! **Earning** ([`points_for_sale`]). On a completed sale for a client, in the sale's own
//! transaction: the eligible lines (services, products and packages, as the programme says;
//! never gift cards; tips never) count at what she was charged for them (after every discount,
//! tax included: their `total_minor`). The part of the sale paid with points or gift cards
//! earns nothing: the eligible amount is scaled by the share of the total paid otherwise
//! (rounded down). That amount, in whole currency units (rounded down), times the points per
//! unit, times her tier's multiplier (basis points), rounded down, is what she earns. The tier
//! is the one she held *before* the sale.
//!
//! **Tiers** ([`Programme::tier_for`]): the highest tier whose threshold the points she earned
//! in the last twelve months reach (the current calendar month and the eleven before it, by
//! the month of each sale in UTC). Points a refund takes back leave that total too; staff
//! adjustments never count towards a tier.
//!
//! **Spending** ([`check_redemption`]): `points` of the balance, at least the programme's
//! minimum, worth `floor(points × reward_minor / reward_points)`; the till sends the value it
//! shows and the server checks it. The account is written on condition of the version read, in
//! the sale's transaction, so two tills never spend the same points.
//!
//! **Corrections.** Points that paid for a sale go back onto the account by a void or a refund
//! to `loyalty` (never as cash), pro rata to the money value given back. Points a sale earned are
//! taken back pro rata to the money given back (other than points and gift cards), all of them
//! by a void or a full refund. The balance never goes below zero: when she has spent them
//! already, what is left is taken and the rest is recorded as the movement's `shortfall` (the
//! clinic bears it).
//!
//! **Expiry** (optional, `expiry_months`): the whole balance lapses after that many months with
//! no points earned or spent. It is applied when the account is next read or written: reads show
//! it lapsed, and the next write records an `expired` movement.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Months, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{AppError, Rejection};
use crate::ids::{ClientId, CorrectionId, SaleId};
use crate::sale::{LineKind, Sale, Tender};
use crate::values::Name;

/// The most tiers a programme has.
pub const MAX_TIERS: usize = 5;
/// The most points one tender, adjustment or threshold names.
pub const MAX_POINTS: i64 = 10_000_000;
/// Minor units in one currency unit (every currency we take has two digits).
pub const MINOR_PER_UNIT: i64 = 100;

/// Which line kinds earn points (gift cards never do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EarnOn {
    pub services: bool,
    pub products: bool,
    /// Packages of sessions sold (the sessions redeemed later are at nothing to pay and earn nothing).
    pub packages: bool,
}

/// A tier: reached by points earned in the last twelve months, earning at a multiplier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = LoyaltyTier)]
pub struct Tier {
    pub name: Name,
    /// Points earned in the last twelve months that reach it (more than 0).
    pub min_points_12m: i64,
    /// Earned points are multiplied by this, in basis points (12500 = ×1.25): 10000 to 50000.
    pub multiplier_bp: i64,
}

/// What an owner or manager sets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgrammeInput {
    /// Off by default: nothing is earned or spent while off (balances stay).
    pub enabled: bool,
    /// Points per whole currency unit paid: 1 to 100.
    pub points_per_unit: i64,
    pub earn_on: EarnOn,
    /// `reward_points` points are worth `reward_minor` minor units (100 points = 500: £5).
    pub reward_points: i64,
    pub reward_minor: i64,
    /// The fewest points one sale may spend (0: any).
    pub min_redemption_points: i64,
    /// Ascending thresholds, at most five; none: everyone earns at ×1.
    #[serde(default)]
    pub tiers: Vec<Tier>,
    /// The balance lapses after this many months without earning or spending (1 to 60); never
    /// when absent.
    #[serde(default)]
    pub expiry_months: Option<i64>,
}

impl Default for ProgrammeInput {
    fn default() -> Self {
        ProgrammeInput {
            enabled: false,
            points_per_unit: 1,
            earn_on: EarnOn { services: true, products: true, packages: true },
            reward_points: 100,
            reward_minor: 500,
            min_redemption_points: 100,
            tiers: Vec::new(),
            expiry_months: None,
        }
    }
}

/// Why a loyalty change is refused, typed; `From<LoyaltyError> for AppError` gives each its code
/// and status in one place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoyaltyError {
    /// 422 `invalid_programme` at `field`.
    #[error("{message}")]
    InvalidProgramme { field: String, message: String },
    /// 409 `stale_version`: saved over a change the caller had not seen.
    #[error("the programme changed since you read it; reload it")]
    StaleProgramme,
    /// 422 `invalid_points` (field `points`): an adjustment of nothing or beyond the bounds.
    #[error("a change of 1 to {MAX_POINTS} points, up or down")]
    InvalidPoints,
    /// 409 `loyalty_off`: points cannot pay while the programme is off.
    #[error("the clinic's loyalty programme is off")]
    Off,
    /// 422 `loyalty_below_minimum` at the tender's `points`.
    #[error("at least {minimum} points at a time")]
    BelowMinimum { field: String, minimum: i64 },
    /// 422 `loyalty_value_mismatch` (details `value_minor`): the tender's amount is not what its
    /// points are worth.
    #[error("{points} points are worth {value_minor}")]
    ValueMismatch { points: i64, value_minor: i64 },
    /// 409 `loyalty_insufficient` (details `balance`).
    #[error("the client has {balance} points")]
    Insufficient { balance: i64 },
}

impl From<LoyaltyError> for AppError {
    fn from(err: LoyaltyError) -> Self {
        use LoyaltyError as E;
        let message = err.to_string();
        match err {
            E::InvalidProgramme { field, .. } => AppError::invalid("invalid_programme", field, message),
            E::StaleProgramme => AppError::conflict("stale_version", message),
            E::InvalidPoints => AppError::invalid("invalid_points", "points", message),
            E::Off => AppError::conflict("loyalty_off", message),
            E::BelowMinimum { field, .. } => AppError::invalid("loyalty_below_minimum", field, message),
            E::ValueMismatch { value_minor, .. } => AppError::Rejected {
                kind: Rejection::Invalid,
                code: "loyalty_value_mismatch",
                message,
                details: serde_json::json!({ "value_minor": value_minor }),
            },
            E::Insufficient { balance } => AppError::Rejected {
                kind: Rejection::Conflict,
                code: "loyalty_insufficient",
                message,
                details: serde_json::json!({ "balance": balance }),
            },
        }
    }
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> LoyaltyError {
    LoyaltyError::InvalidProgramme { field: field.into(), message: message.into() }
}

impl ProgrammeInput {
    /// Checks the programme's bounds (422 `invalid_programme` at the field).
    pub fn check(&self) -> Result<(), LoyaltyError> {
        let within = |value: i64, min: i64, max: i64, field: &str| {
            if (min..=max).contains(&value) {
                Ok(())
            } else {
                Err(invalid(field, format!("must be from {min} to {max}")))
            }
        };
        within(self.points_per_unit, 1, 100, "points_per_unit")?;
        within(self.reward_points, 1, 100_000, "reward_points")?;
        within(self.reward_minor, 1, 100_000, "reward_minor")?;
        within(self.min_redemption_points, 0, 100_000, "min_redemption_points")?;
        if let Some(months) = self.expiry_months {
            within(months, 1, 60, "expiry_months")?;
        }
        if self.tiers.len() > MAX_TIERS {
            return Err(invalid("tiers", format!("at most {MAX_TIERS} tiers")));
        }
        let mut previous: Option<&Tier> = None;
        for (i, tier) in self.tiers.iter().enumerate() {
            within(tier.min_points_12m, 1, MAX_POINTS, &format!("tiers[{i}].min_points_12m"))?;
            within(tier.multiplier_bp, 10_000, 50_000, &format!("tiers[{i}].multiplier_bp"))?;
            if let Some(before) = previous {
                if tier.min_points_12m <= before.min_points_12m {
                    return Err(invalid(
                        format!("tiers[{i}].min_points_12m"),
                        "tiers go up: each needs more points than the one before",
                    ));
                }
                if tier.multiplier_bp < before.multiplier_bp {
                    return Err(invalid(
                        format!("tiers[{i}].multiplier_bp"),
                        "a higher tier earns at least as much as the one below",
                    ));
                }
                if tier.name == before.name || self.tiers[..i].iter().any(|t| t.name == tier.name) {
                    return Err(invalid(format!("tiers[{i}].name"), "tier names differ"));
                }
            }
            previous = Some(tier);
        }
        Ok(())
    }

    /// The tier `earned_12m` points reach, if any.
    pub fn tier_for(&self, earned_12m: i64) -> Option<&Tier> {
        self.tiers.iter().rev().find(|t| earned_12m >= t.min_points_12m)
    }

    /// The next tier above `earned_12m` and the points still to earn for it.
    pub fn next_tier(&self, earned_12m: i64) -> Option<(&Tier, i64)> {
        self.tiers.iter().find(|t| earned_12m < t.min_points_12m).map(|t| (t, t.min_points_12m - earned_12m))
    }

    /// What `points` are worth, in minor units (rounded down).
    pub fn value_minor(&self, points: i64) -> i64 {
        (i128::from(points.max(0)) * i128::from(self.reward_minor) / i128::from(self.reward_points)) as i64
    }

    fn earns(&self, kind: LineKind) -> bool {
        match kind {
            LineKind::Service => self.earn_on.services,
            LineKind::Product => self.earn_on.products,
            LineKind::Package => self.earn_on.packages,
            LineKind::GiftCard => false,
        }
    }
}

/// The programme as stored: version 0 before the first save.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Programme {
    #[serde(flatten)]
    pub input: ProgrammeInput,
    pub version: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
}

/// What the part of `sale` paid otherwise than by points or gift cards earns at `multiplier_bp`
/// (see the module notes; 0 when the programme is off or the sale names no client).
pub fn points_for_sale(programme: &ProgrammeInput, sale: &Sale, multiplier_bp: i64) -> i64 {
    let total = sale.totals.total_minor;
    if !programme.enabled || sale.client_id.is_none() || total <= 0 {
        return 0;
    }
    let eligible: i64 = sale.lines.iter().filter(|l| programme.earns(l.input.kind)).map(|l| l.total_minor).sum();
    let base = i128::from(eligible) * i128::from(paid_otherwise(sale)) / i128::from(total);
    let units = base / i128::from(MINOR_PER_UNIT);
    (units * i128::from(programme.points_per_unit) * i128::from(multiplier_bp) / 10_000) as i64
}

/// The money the sale took otherwise than by points or gift cards (what earned points).
pub fn paid_otherwise(sale: &Sale) -> i64 {
    let by_value: i64 = sale
        .tenders
        .iter()
        .filter(|t| matches!(t, Tender::Loyalty { .. } | Tender::GiftCard { .. }))
        .map(Tender::amount)
        .sum();
    (sale.totals.total_minor - by_value).max(0)
}

/// How many of `earned` points should be taken back in all once `returned_otherwise` of the
/// `paid_otherwise` money went back (all of them on a void).
pub fn points_to_take_back(earned: i64, paid_otherwise: i64, returned_otherwise: i64, voided: bool) -> i64 {
    if voided || returned_otherwise >= paid_otherwise {
        return earned;
    }
    if paid_otherwise <= 0 {
        return 0;
    }
    (i128::from(earned) * i128::from(returned_otherwise.max(0)) / i128::from(paid_otherwise)) as i64
}

/// A redemption the till asks for, checked against the programme and the balance: 409
/// `loyalty_off` (programme off), 422 `loyalty_below_minimum`, 422 `loyalty_value_mismatch`
/// (with `value_minor`), 409 `loyalty_insufficient` (with `balance`).
pub fn check_redemption(
    programme: &ProgrammeInput,
    balance: i64,
    points: i64,
    amount_minor: i64,
    field: &str,
) -> Result<(), LoyaltyError> {
    if !programme.enabled {
        return Err(LoyaltyError::Off);
    }
    if points < programme.min_redemption_points {
        return Err(LoyaltyError::BelowMinimum {
            field: format!("{field}.points"),
            minimum: programme.min_redemption_points,
        });
    }
    let value = programme.value_minor(points);
    if amount_minor != value {
        return Err(LoyaltyError::ValueMismatch { points, value_minor: value });
    }
    if balance < points {
        return Err(LoyaltyError::Insufficient { balance });
    }
    Ok(())
}

/// A calendar month in UTC, `YYYY-MM`.
fn month_of(at: DateTime<Utc>) -> String {
    format!("{:04}-{:02}", at.year(), at.month())
}

/// The twelve months ending with `now`'s, oldest first.
fn last_twelve_months(now: DateTime<Utc>) -> Vec<String> {
    let first = now.date_naive().with_day(1).expect("the first of a month");
    (0..12u32).rev().filter_map(|back| first.checked_sub_months(Months::new(back))).map(month_of_date).collect()
}

fn month_of_date(day: chrono::NaiveDate) -> String {
    format!("{:04}-{:02}", day.year(), day.month())
}

/// A client's points account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Account {
    pub client_id: ClientId,
    /// Points she may spend.
    pub balance: i64,
    /// Points earned per calendar month (`YYYY-MM`, UTC), the last twelve kept: the tier's total.
    pub earned_by_month: BTreeMap<String, i64>,
    pub lifetime_earned: i64,
    /// The last time points were earned or spent (expiry counts from it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_activity_at: Option<DateTime<Utc>>,
    /// Bumped by every change; each change is written on condition of the version read (0: none yet).
    pub version: u32,
}

impl Account {
    pub fn new(client_id: ClientId) -> Account {
        Account {
            client_id,
            balance: 0,
            earned_by_month: BTreeMap::new(),
            lifetime_earned: 0,
            last_activity_at: None,
            version: 0,
        }
    }

    /// Points earned in the last twelve months as of `now`.
    pub fn earned_12m(&self, now: DateTime<Utc>) -> i64 {
        last_twelve_months(now).iter().filter_map(|m| self.earned_by_month.get(m)).sum()
    }

    fn prune(&mut self, now: DateTime<Utc>) {
        let keep = last_twelve_months(now);
        self.earned_by_month.retain(|m, _| keep.contains(m) || m.as_str() > keep[11].as_str());
    }

    /// Adds `points` earned at `at`.
    pub fn earn(&mut self, points: i64, at: DateTime<Utc>) {
        *self.earned_by_month.entry(month_of(at)).or_default() += points;
        self.balance += points;
        self.lifetime_earned += points;
        self.last_activity_at = Some(at);
        self.prune(at);
    }

    /// Takes back `points` earned at `earned_at`: from the tier's total of that month, and from
    /// the balance as far as it goes. Answers what was taken and the shortfall.
    pub fn take_back_earned(&mut self, points: i64, earned_at: DateTime<Utc>) -> (i64, i64) {
        if let Some(month) = self.earned_by_month.get_mut(&month_of(earned_at)) {
            *month = (*month - points).max(0);
        }
        self.lifetime_earned = (self.lifetime_earned - points).max(0);
        let taken = points.min(self.balance.max(0));
        self.balance -= taken;
        (taken, points - taken)
    }

    /// Spends `points` (checked by [`check_redemption`]).
    pub fn redeem(&mut self, points: i64, at: DateTime<Utc>) -> Result<(), LoyaltyError> {
        if self.balance < points {
            return Err(LoyaltyError::Insufficient { balance: self.balance });
        }
        self.balance -= points;
        self.last_activity_at = Some(at);
        Ok(())
    }

    /// Puts back points that paid for a sale (its void or refund).
    pub fn give_back(&mut self, points: i64) {
        self.balance += points;
    }

    /// A staff adjustment by `delta` (never below zero: 409 `loyalty_insufficient`).
    pub fn adjust(&mut self, delta: i64) -> Result<(), LoyaltyError> {
        if self.balance + delta < 0 {
            return Err(LoyaltyError::Insufficient { balance: self.balance });
        }
        self.balance += delta;
        Ok(())
    }

    /// Whether the balance has lapsed by `now` under `expiry_months`.
    pub fn lapsed(&self, expiry_months: Option<i64>, now: DateTime<Utc>) -> bool {
        let (Some(months), Some(last)) = (expiry_months, self.last_activity_at) else { return false };
        let until = last.checked_add_months(Months::new(months as u32)).unwrap_or(DateTime::<Utc>::MAX_UTC);
        self.balance > 0 && now >= until
    }

    /// Lapses the balance when due: the points that lapsed (0 when none did).
    pub fn expire_if_due(&mut self, expiry_months: Option<i64>, now: DateTime<Utc>) -> i64 {
        if !self.lapsed(expiry_months, now) {
            return 0;
        }
        std::mem::take(&mut self.balance)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = LoyaltyMovementKind)]
pub enum MovementKind {
    /// Earned by a sale.
    Earned,
    /// Spent as a sale's tender.
    Redeemed,
    /// Earned points taken back by a void or refund of the sale that earned them.
    Reversed,
    /// Points that paid for a sale, put back by its void or refund.
    Returned,
    /// A staff adjustment, with its reason.
    Adjusted,
    /// The balance lapsed after the programme's months without activity.
    Expired,
}

/// One movement of a client's points (signed: + in, − out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = LoyaltyMovement)]
pub struct Movement {
    pub kind: MovementKind,
    pub points: i64,
    pub balance_after: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sale_id: Option<SaleId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correction_id: Option<CorrectionId>,
    /// Adjustments: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Reversals: the points she had spent already, which could not be taken back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shortfall: Option<i64>,
    pub at: DateTime<Utc>,
    pub by: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::LocationId;
    use crate::sale::{InvoiceNumber, LineInput, Quantity, SaleInput, price};
    use crate::values::{Currency, MinorUnits};
    use chrono::{NaiveDate, TimeZone};

    fn m(amount: i64) -> MinorUnits {
        MinorUnits::new(amount).unwrap()
    }

    fn on() -> ProgrammeInput {
        ProgrammeInput {
            enabled: true,
            tiers: vec![
                Tier { name: Name::parse("Silver").unwrap(), min_points_12m: 500, multiplier_bp: 12_500 },
                Tier { name: Name::parse("Gold").unwrap(), min_points_12m: 2_000, multiplier_bp: 15_000 },
            ],
            ..ProgrammeInput::default()
        }
    }

    fn line(kind: LineKind, amount: i64) -> LineInput {
        LineInput {
            kind,
            name: Name::parse("Item").unwrap(),
            sku: None,
            service_id: None,
            appointment_id: None,
            practitioner_id: None,
            quantity: Quantity::new(1).unwrap(),
            unit_price_minor: m(amount),
            tax: None,
            discount: None,
            gift_card: (kind == LineKind::GiftCard)
                .then(|| crate::gift_card::Recipient { name: Name::parse("Ada").unwrap(), email: None }),
            package_template_id: None,
            package_id: None,
        }
    }

    fn sale(lines: Vec<LineInput>, tenders: Vec<Tender>) -> Sale {
        let input = SaleInput {
            location_id: LocationId::new(),
            client_id: Some(ClientId::new()),
            currency: Currency::gbp(),
            lines,
            discount: None,
            tips: vec![],
            tenders,
        };
        let priced = price(&input).unwrap();
        let day = NaiveDate::from_ymd_opt(2027, 3, 1).unwrap();
        Sale::new(SaleId::new(), InvoiceNumber::FIRST, input, priced, day, Utc::now(), "mem_x")
    }

    fn cash(amount: i64) -> Tender {
        Tender::Cash { tendered_minor: m(amount) }
    }

    #[test]
    fn a_sale_earns_a_point_per_whole_pound_at_each_tier_rounded_down() {
        let s = sale(vec![line(LineKind::Service, 12_399)], vec![cash(12_399)]);
        // £123.99 → 123 whole pounds.
        assert_eq!(points_for_sale(&on(), &s, 10_000), 123);
        assert_eq!(points_for_sale(&on(), &s, 12_500), 153, "123 × 1.25 = 153.75 → 153");
        assert_eq!(points_for_sale(&on(), &s, 15_000), 184, "123 × 1.5 = 184.5 → 184");
        let two = ProgrammeInput { points_per_unit: 2, ..on() };
        assert_eq!(points_for_sale(&two, &s, 10_000), 246);
    }

    #[test]
    fn gift_cards_never_earn_and_line_kinds_earn_as_the_programme_says() {
        let s = sale(vec![line(LineKind::Product, 5_000), line(LineKind::GiftCard, 5_000)], vec![cash(10_000)]);
        assert_eq!(points_for_sale(&on(), &s, 10_000), 50);
        let no_products =
            ProgrammeInput { earn_on: EarnOn { services: true, products: false, packages: true }, ..on() };
        assert_eq!(points_for_sale(&no_products, &s, 10_000), 0);
        let off = ProgrammeInput { enabled: false, ..on() };
        assert_eq!(points_for_sale(&off, &s, 10_000), 0);
    }

    #[test]
    fn the_part_paid_with_points_or_a_gift_card_earns_nothing() {
        let points = Tender::Loyalty { points: crate::sale::Points::new(200).unwrap(), amount_minor: m(1_000) };
        let s = sale(vec![line(LineKind::Service, 10_000)], vec![points, cash(9_000)]);
        assert_eq!(points_for_sale(&on(), &s, 10_000), 90);
        let all = Tender::Loyalty { points: crate::sale::Points::new(2_000).unwrap(), amount_minor: m(10_000) };
        let s = sale(vec![line(LineKind::Service, 10_000)], vec![all]);
        assert_eq!(points_for_sale(&on(), &s, 10_000), 0);
    }

    #[test]
    fn the_tier_comes_from_points_earned_in_the_last_twelve_months() {
        let p = on();
        assert_eq!(p.tier_for(499), None);
        assert_eq!(p.tier_for(500).unwrap().name.as_str(), "Silver");
        assert_eq!(p.tier_for(2_000).unwrap().name.as_str(), "Gold");
        assert_eq!(p.next_tier(600).map(|(t, n)| (t.name.as_str().to_owned(), n)), Some(("Gold".into(), 1_400)));
        let mut account = Account::new(ClientId::new());
        let jan_2026 = Utc.with_ymd_and_hms(2026, 1, 15, 10, 0, 0).unwrap();
        let dec_2026 = Utc.with_ymd_and_hms(2026, 12, 15, 10, 0, 0).unwrap();
        account.earn(400, jan_2026);
        account.earn(300, dec_2026);
        assert_eq!(account.earned_12m(dec_2026), 700, "January to December are twelve months");
        let jan_2027 = Utc.with_ymd_and_hms(2027, 1, 2, 10, 0, 0).unwrap();
        assert_eq!(account.earned_12m(jan_2027), 300, "January 2026 has left the window");
        assert_eq!(account.balance, 700, "the balance keeps them");
    }

    #[test]
    fn points_are_worth_the_programmes_value_rounded_down_and_redemptions_are_checked() {
        let p = on();
        assert_eq!(p.value_minor(100), 500);
        assert_eq!(p.value_minor(150), 750);
        let odd = ProgrammeInput { reward_points: 3, reward_minor: 1, ..on() };
        assert_eq!(odd.value_minor(10), 3);
        assert!(check_redemption(&p, 500, 100, 500, "tenders[0]").is_ok());
        assert_eq!(
            check_redemption(&p, 500, 99, 495, "t"),
            Err(LoyaltyError::BelowMinimum { field: "t.points".into(), minimum: 100 })
        );
        assert_eq!(
            check_redemption(&p, 500, 100, 400, "t"),
            Err(LoyaltyError::ValueMismatch { points: 100, value_minor: 500 })
        );
        assert_eq!(check_redemption(&p, 50, 100, 500, "t"), Err(LoyaltyError::Insufficient { balance: 50 }));
        let off = ProgrammeInput { enabled: false, ..on() };
        assert_eq!(check_redemption(&off, 500, 100, 500, "t"), Err(LoyaltyError::Off));
        let code = |err: LoyaltyError| match AppError::from(err) {
            AppError::Invalid { code, .. } | AppError::Conflict { code, .. } | AppError::Rejected { code, .. } => code,
            other => panic!("{other:?}"),
        };
        assert_eq!(code(LoyaltyError::Insufficient { balance: 1 }), "loyalty_insufficient");
        assert_eq!(code(LoyaltyError::ValueMismatch { points: 1, value_minor: 5 }), "loyalty_value_mismatch");
    }

    #[test]
    fn a_refund_takes_back_earned_points_pro_rata_and_never_below_zero() {
        assert_eq!(points_to_take_back(100, 10_000, 2_500, false), 25);
        assert_eq!(points_to_take_back(100, 10_000, 3_333, false), 33);
        assert_eq!(points_to_take_back(100, 10_000, 10_000, false), 100);
        assert_eq!(points_to_take_back(100, 10_000, 0, true), 100);
        let mut account = Account::new(ClientId::new());
        let at = Utc::now();
        account.earn(100, at);
        account.redeem(80, at).unwrap();
        assert_eq!(account.take_back_earned(100, at), (20, 80), "she had spent 80 of them");
        assert_eq!((account.balance, account.earned_12m(at)), (0, 0));
    }

    #[test]
    fn a_programme_refuses_tiers_out_of_order_and_values_out_of_bounds() {
        assert!(on().check().is_ok());
        let mut p = on();
        p.tiers.swap(0, 1);
        assert!(p.check().is_err());
        assert!(ProgrammeInput { reward_points: 0, ..on() }.check().is_err());
        assert!(ProgrammeInput { expiry_months: Some(0), ..on() }.check().is_err());
        let mut lower = on();
        lower.tiers[1].multiplier_bp = 11_000;
        assert!(lower.check().is_err());
    }

    #[test]
    fn an_idle_balance_lapses_after_the_expiry_months_and_never_without_them() {
        let mut account = Account::new(ClientId::new());
        let at = Utc.with_ymd_and_hms(2026, 1, 15, 10, 0, 0).unwrap();
        account.earn(300, at);
        let later = Utc.with_ymd_and_hms(2026, 7, 15, 10, 0, 0).unwrap();
        assert!(!account.lapsed(None, later));
        assert!(!account.lapsed(Some(7), later));
        assert_eq!(account.expire_if_due(Some(6), later), 300);
        assert_eq!(account.balance, 0);
    }

    #[test]
    fn points_that_paid_go_back_as_points_pro_rata_never_as_cash() {
        use crate::sale::{RefundTo, ReturnMethod, plan_refund, plan_void};
        let points = Tender::Loyalty { points: crate::sale::Points::new(300).unwrap(), amount_minor: m(1_500) };
        let s = sale(vec![line(LineKind::Service, 10_000)], vec![points, cash(8_500)]);
        let void = plan_void(&s, &[], s.business_day).unwrap();
        assert_eq!((void[0].method, void[0].amount_minor, void[0].points), (ReturnMethod::Loyalty, 1_500, Some(300)));
        let part = plan_refund(&s, &[], RefundTo::Loyalty, Some(m(500))).unwrap();
        assert_eq!(part[0].points, Some(100));
        let cash_back = plan_refund(&s, &[], RefundTo::Cash, None).unwrap();
        assert_eq!(cash_back[0].amount_minor, 8_500, "the points' 1 500 never leaves the drawer");
        let only_cash = sale(vec![line(LineKind::Service, 1_000)], vec![cash(1_000)]);
        assert!(plan_refund(&only_cash, &[], RefundTo::Loyalty, None).is_err());
    }

    #[test]
    fn points_need_the_sales_client_and_never_buy_a_gift_card() {
        let points = || Tender::Loyalty { points: crate::sale::Points::new(100).unwrap(), amount_minor: m(500) };
        let mut input = SaleInput {
            location_id: LocationId::new(),
            client_id: None,
            currency: Currency::gbp(),
            lines: vec![line(LineKind::Product, 500)],
            discount: None,
            tips: vec![],
            tenders: vec![points()],
        };
        let code = |input: &SaleInput| match price(input).unwrap_err() {
            AppError::Invalid { code, .. } => code,
            other => panic!("{other:?}"),
        };
        assert_eq!(code(&input), "loyalty_client_required");
        input.client_id = Some(ClientId::new());
        assert!(price(&input).is_ok());
        input.lines = vec![line(LineKind::GiftCard, 500)];
        assert_eq!(code(&input), "loyalty_for_gift_card");
    }
}
