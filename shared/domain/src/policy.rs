//! A clinic's booking and money policy, and the policy engine that prices deposits, cancellations,
//! reschedules and no-shows from it. Policies are versioned: a new version never changes an old
//! one, it takes effect from a date, and each appointment keeps the version it was booked under,
//! so a clinic tightening its rules never changes what existing clients agreed to.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::availability::BookingRules;
use super::catalog::DepositRule;
use super::values::{MinorUnits, Money};
use crate::error::{AppError, AppResult};
use crate::ids::ServiceId;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyInput {
    /// The first local day this version applies to; today when absent. Never in the past.
    // Absent from a stored version's input (its own `effective_from` says the day): flattened
    // into `Policy`, a second `effective_from` key would follow the first and, read back, be null.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effective_from: Option<NaiveDate>,
    pub booking: BookingRules,
    /// How long a booking waiting for its deposit holds its time (minutes).
    pub hold_minutes: u32,
    /// The deposit of services that do not set their own.
    pub deposit: DepositRule,
    /// Bounds on any computed deposit (minor units of the service's currency).
    pub deposit_min_minor: Option<MinorUnits>,
    pub deposit_max_minor: Option<MinorUnits>,
    /// Cancelling this many hours or fewer before the start costs `cancellation_fee_percent`.
    pub cancellation_window_hours: u32,
    /// Percent of the price, kept from the deposit (never more than was paid).
    pub cancellation_fee_percent: u8,
    /// Percent of the price charged for a no-show, kept from the deposit.
    pub no_show_fee_percent: u8,
    pub reschedule_allowed: bool,
    /// Clients may not move an appointment this many hours or fewer before its start.
    pub reschedule_window_hours: u32,
    /// Offered when screening says a consultation is needed first.
    pub consultation_service_id: Option<ServiceId>,
}

impl Default for PolicyInput {
    fn default() -> Self {
        PolicyInput {
            effective_from: None,
            booking: BookingRules::default(),
            hold_minutes: 15,
            deposit: DepositRule::None,
            deposit_min_minor: None,
            deposit_max_minor: None,
            cancellation_window_hours: 24,
            cancellation_fee_percent: 50,
            no_show_fee_percent: 100,
            reschedule_allowed: true,
            reschedule_window_hours: 24,
            consultation_service_id: None,
        }
    }
}

impl PolicyInput {
    pub fn check(&self) -> AppResult<()> {
        self.booking.check().map_err(|err| prefix_field(err, "booking"))?;
        if !(1..=24 * 60).contains(&self.hold_minutes) {
            return Err(AppError::invalid("out_of_range", "hold_minutes", "must be 1–1440 minutes"));
        }
        if let DepositRule::Percent { percent } = &self.deposit
            && *percent > 100
        {
            return Err(AppError::invalid("out_of_range", "deposit.percent", "must be 0–100"));
        }
        for (field, percent) in [
            ("cancellation_fee_percent", self.cancellation_fee_percent),
            ("no_show_fee_percent", self.no_show_fee_percent),
        ] {
            if percent > 100 {
                return Err(AppError::invalid("out_of_range", field, "must be 0–100"));
            }
        }
        if let (Some(min), Some(max)) = (self.deposit_min_minor, self.deposit_max_minor)
            && min > max
        {
            return Err(AppError::invalid("min_above_max", "deposit_min_minor", "must not exceed deposit_max_minor"));
        }
        for (field, hours) in [
            ("cancellation_window_hours", self.cancellation_window_hours),
            ("reschedule_window_hours", self.reschedule_window_hours),
        ] {
            if hours > 24 * 30 {
                return Err(AppError::invalid("out_of_range", field, "must be at most 720 hours"));
            }
        }
        Ok(())
    }
}

fn prefix_field(err: AppError, prefix: &str) -> AppError {
    match err {
        AppError::Invalid { code, field, message } => {
            AppError::Invalid { code, field: Some(format!("{prefix}.{}", field.unwrap_or_default())), message }
        }
        other => other,
    }
}

/// One stored version. Version 0 is the platform default every clinic starts with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Policy {
    pub version: u32,
    /// Always set on a stored version.
    pub effective_from: NaiveDate,
    pub created_at: DateTime<Utc>,
    /// A member id, or `platform` for version 0.
    pub created_by: String,
    #[serde(flatten)]
    pub input: PolicyInput,
}

impl Policy {
    pub fn platform_default() -> Policy {
        Policy {
            version: 0,
            effective_from: NaiveDate::MIN,
            created_at: DateTime::<Utc>::MIN_UTC,
            created_by: "platform".into(),
            input: PolicyInput::default(),
        }
    }

    /// The version in force on `day`: the latest-effective one that has started (on a tie, the
    /// newer version). `versions` need not be sorted; version 0 applies when none has started.
    pub fn in_force(versions: &[Policy], day: NaiveDate) -> Policy {
        versions
            .iter()
            .filter(|p| p.effective_from <= day)
            .max_by_key(|p| (p.effective_from, p.version))
            .cloned()
            .unwrap_or_else(Policy::platform_default)
    }

    /// The deposit a booking of a service at `price` must pay: the service's own rule or the
    /// policy's, bounded by the policy's min and max and never above the price.
    pub fn deposit_for(&self, price: Money, service_rule: Option<DepositRule>) -> Money {
        let rule = service_rule.unwrap_or_else(|| self.input.deposit.clone());
        let raw = match rule {
            DepositRule::None => 0,
            DepositRule::Percent { percent } => percent_of(price.amount_minor.get(), percent),
            DepositRule::Fixed { amount_minor } => amount_minor.get(),
        };
        let mut amount = raw;
        if raw > 0 {
            if let Some(min) = self.input.deposit_min_minor {
                amount = amount.max(min.get());
            }
            if let Some(max) = self.input.deposit_max_minor {
                amount = amount.min(max.get());
            }
        }
        minor(amount.min(price.amount_minor.get()), &price)
    }

    /// What an action on an appointment would cost, decided at `now`.
    pub fn fee_preview(&self, action: FeeAction, terms: &BookingTerms, now: DateTime<Utc>) -> FeePreview {
        let hours_before = (terms.start - now).num_minutes() as f64 / 60.0;
        let (window, percent) = match action {
            FeeAction::Cancel => (self.input.cancellation_window_hours, self.input.cancellation_fee_percent),
            FeeAction::Reschedule => (self.input.reschedule_window_hours, 0),
            FeeAction::NoShow => (u32::MAX, self.input.no_show_fee_percent),
        };
        let within_window = hours_before <= f64::from(window);
        let mut refusal = None;
        if action == FeeAction::Reschedule {
            if !self.input.reschedule_allowed {
                refusal = Some("reschedule_not_allowed");
            } else if within_window {
                refusal = Some("inside_reschedule_window");
            }
        }
        if action == FeeAction::NoShow && now < terms.start {
            refusal = Some("not_started_yet");
        }
        let fee_due = if within_window { percent_of(terms.price.amount_minor.get(), percent) } else { 0 };
        let paid = terms.deposit_paid.amount_minor.get();
        let kept = fee_due.min(paid);
        FeePreview {
            action,
            allowed: refusal.is_none(),
            refusal,
            within_window,
            window_hours: if action == FeeAction::NoShow { None } else { Some(window) },
            fee: minor(fee_due, &terms.price),
            deposit_paid: terms.deposit_paid.clone(),
            kept_from_deposit: minor(kept, &terms.price),
            refund: minor(paid - kept, &terms.price),
            still_owed: minor(fee_due - kept, &terms.price),
            policy_version: self.version,
        }
    }
}

impl Policy {
    /// What a client agrees to when they let the clinic keep their card for fees (shown with the
    /// choice at booking, and stored with the appointment when they agree): the fees of this
    /// version that a deposit may not cover.
    pub fn card_on_file_terms(&self) -> String {
        let p = &self.input;
        format!(
            "I agree that the clinic may keep the card I pay with on file and charge it, without asking me again, \
             for the part of a fee its policy sets that my deposit does not cover: {}% of the price for cancelling \
             {} hours or less before the appointment, and {}% of the price if I do not come. (Policy version {}.)",
            p.cancellation_fee_percent, p.cancellation_window_hours, p.no_show_fee_percent, self.version
        )
    }
}

/// The money facts of one appointment that the fee rules read.
#[derive(Debug, Clone)]
pub struct BookingTerms {
    pub start: DateTime<Utc>,
    pub price: Money,
    /// What has actually been paid towards the deposit (zero while it is pending).
    pub deposit_paid: Money,
}

/// `percent` of `amount`, rounded half up to a whole minor unit.
fn percent_of(amount: i64, percent: u8) -> i64 {
    (amount * i64::from(percent) + 50) / 100
}

fn minor(amount: i64, like: &Money) -> Money {
    Money { amount_minor: MinorUnits::new(amount.max(0)).unwrap_or(like.amount_minor), currency: like.currency.clone() }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FeeAction {
    Cancel,
    Reschedule,
    NoShow,
}

impl FeeAction {
    pub fn as_str(self) -> &'static str {
        match self {
            FeeAction::Cancel => "cancel",
            FeeAction::Reschedule => "reschedule",
            FeeAction::NoShow => "no_show",
        }
    }

    /// One letter, for ids derived from an appointment and an action.
    pub fn code(self) -> char {
        match self {
            FeeAction::Cancel => 'c',
            FeeAction::Reschedule => 'r',
            FeeAction::NoShow => 'n',
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FeePreview {
    pub action: FeeAction,
    /// Whether the policy lets a client do this now (staff may still act; the fee applies).
    pub allowed: bool,
    /// Why not, when not allowed: `reschedule_not_allowed`, `inside_reschedule_window`, `not_started_yet`.
    pub refusal: Option<&'static str>,
    /// The action falls inside the policy's window (so its fee applies).
    pub within_window: bool,
    pub window_hours: Option<u32>,
    /// The whole fee the policy asks for.
    pub fee: Money,
    pub deposit_paid: Money,
    /// The part of the fee taken from the deposit.
    pub kept_from_deposit: Money,
    /// What goes back to the client from the deposit.
    pub refund: Money,
    /// The part of the fee the deposit does not cover.
    pub still_owed: Money,
    pub policy_version: u32,
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::values::Currency;

    fn money(amount: i64) -> Money {
        Money { amount_minor: MinorUnits::new(amount).unwrap(), currency: Currency::default() }
    }

    fn policy(input: PolicyInput) -> Policy {
        Policy { version: 3, effective_from: NaiveDate::MIN, created_at: Utc::now(), created_by: "t".into(), input }
    }

    #[test]
    fn a_percent_deposit_is_bounded_by_the_policy_and_never_exceeds_the_price() {
        let p = policy(PolicyInput {
            deposit: DepositRule::Percent { percent: 20 },
            deposit_min_minor: Some(MinorUnits::new(3000).unwrap()),
            deposit_max_minor: Some(MinorUnits::new(10000).unwrap()),
            ..PolicyInput::default()
        });
        assert_eq!(p.deposit_for(money(20000), None).amount_minor.get(), 4000);
        assert_eq!(p.deposit_for(money(5000), None).amount_minor.get(), 3000, "min applies");
        assert_eq!(p.deposit_for(money(100000), None).amount_minor.get(), 10000, "max applies");
        assert_eq!(p.deposit_for(money(2000), None).amount_minor.get(), 2000, "never above the price");
        let fixed = Some(DepositRule::Fixed { amount_minor: MinorUnits::new(5000).unwrap() });
        assert_eq!(p.deposit_for(money(20000), fixed).amount_minor.get(), 5000, "the service's own rule wins");
        assert_eq!(p.deposit_for(money(20000), Some(DepositRule::None)).amount_minor.get(), 0, "and may waive it");
    }

    #[test]
    fn percentages_round_half_up_to_a_whole_minor_unit() {
        assert_eq!(percent_of(12345, 10), 1235);
        assert_eq!(percent_of(12344, 10), 1234);
        assert_eq!(percent_of(1, 50), 1);
    }

    #[test]
    fn cancelling_inside_the_window_keeps_the_fee_from_the_deposit_and_refunds_the_rest() {
        let p =
            policy(PolicyInput { cancellation_window_hours: 48, cancellation_fee_percent: 25, ..Default::default() });
        let start = Utc.with_ymd_and_hms(2026, 12, 10, 10, 0, 0).unwrap();
        let terms = BookingTerms { start, price: money(20000), deposit_paid: money(8000) };
        let inside = p.fee_preview(FeeAction::Cancel, &terms, start - chrono::Duration::hours(47));
        assert!(inside.within_window && inside.allowed);
        assert_eq!(
            (
                inside.fee.amount_minor.get(),
                inside.kept_from_deposit.amount_minor.get(),
                inside.refund.amount_minor.get()
            ),
            (5000, 5000, 3000)
        );
        let outside = p.fee_preview(FeeAction::Cancel, &terms, start - chrono::Duration::hours(49));
        assert!(!outside.within_window);
        assert_eq!((outside.fee.amount_minor.get(), outside.refund.amount_minor.get()), (0, 8000));
        assert_eq!(outside.policy_version, 3);
    }

    #[test]
    fn a_fee_above_the_deposit_is_owed_not_taken() {
        let p = policy(PolicyInput { no_show_fee_percent: 100, ..Default::default() });
        let start = Utc.with_ymd_and_hms(2026, 12, 10, 10, 0, 0).unwrap();
        let terms = BookingTerms { start, price: money(20000), deposit_paid: money(5000) };
        let preview = p.fee_preview(FeeAction::NoShow, &terms, start + chrono::Duration::minutes(30));
        assert_eq!(
            (preview.kept_from_deposit.amount_minor.get(), preview.still_owed.amount_minor.get()),
            (5000, 15000)
        );
        assert_eq!(preview.refund.amount_minor.get(), 0);
        let early = p.fee_preview(FeeAction::NoShow, &terms, start - chrono::Duration::minutes(30));
        assert_eq!(early.refusal, Some("not_started_yet"));
    }

    #[test]
    fn rescheduling_is_refused_inside_its_window_or_when_the_policy_forbids_it() {
        let start = Utc.with_ymd_and_hms(2026, 12, 10, 10, 0, 0).unwrap();
        let terms = BookingTerms { start, price: money(20000), deposit_paid: money(0) };
        let p = policy(PolicyInput { reschedule_window_hours: 12, ..Default::default() });
        assert!(p.fee_preview(FeeAction::Reschedule, &terms, start - chrono::Duration::hours(13)).allowed);
        let late = p.fee_preview(FeeAction::Reschedule, &terms, start - chrono::Duration::hours(11));
        assert_eq!(late.refusal, Some("inside_reschedule_window"));
        let strict = policy(PolicyInput { reschedule_allowed: false, ..Default::default() });
        let never = strict.fee_preview(FeeAction::Reschedule, &terms, start - chrono::Duration::days(10));
        assert_eq!(never.refusal, Some("reschedule_not_allowed"));
    }

    #[test]
    fn the_version_in_force_is_the_latest_that_has_started() {
        let day = |d| NaiveDate::from_ymd_opt(2026, 12, d).unwrap();
        let version = |v, from| Policy { version: v, effective_from: from, ..Policy::platform_default() };
        let versions = [version(1, day(1)), version(2, day(20)), version(3, day(10))];
        assert_eq!(Policy::in_force(&versions, day(5)).version, 1);
        assert_eq!(Policy::in_force(&versions, day(15)).version, 3);
        assert_eq!(Policy::in_force(&versions, day(25)).version, 2);
        assert_eq!(Policy::in_force(&versions[..0], day(25)).version, 0);
        let tie = [version(4, day(1)), version(5, day(1))];
        assert_eq!(Policy::in_force(&tie, day(1)).version, 5, "a newer version on the same day wins");
    }

    #[test]
    fn policy_rules_out_of_range_are_refused_with_their_field() {
        let bad = PolicyInput { cancellation_fee_percent: 120, ..Default::default() };
        let Err(AppError::Invalid { field, .. }) = bad.check() else { panic!() };
        assert_eq!(field.as_deref(), Some("cancellation_fee_percent"));
        let grid =
            PolicyInput { booking: BookingRules { grid_minutes: 7, ..Default::default() }, ..Default::default() };
        let Err(AppError::Invalid { field, .. }) = grid.check() else { panic!() };
        assert_eq!(field.as_deref(), Some("booking.grid_minutes"));
    }
}
