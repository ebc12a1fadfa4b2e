//! Stripe Connect: each clinic takes online payments into its own Stripe account, connected to the
//! platform. The clinic's owner onboards the account with Stripe; Stripe tells us (the
//! `account.updated` webhook, or a fresh read) whether it may take charges and receive payouts and
//! what Stripe still needs. Charges are destination charges from the platform to that account,
//! less the platform's application fee ([`FeeRate`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::payment::ConnectedAccountId;
use crate::values::{MinorUnits, ParseError};

/// The platform's cut of each online payment, in basis points (hundredths of a percent):
/// `250` is 2.5%. A platform setting (`MAS_APPLICATION_FEE_BPS`), 0 to 10 000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "u32", into = "u32")]
pub struct FeeRate(u16);

impl FeeRate {
    pub const MAX: u32 = 10_000;

    pub fn basis_points(bps: u32) -> Result<FeeRate, ParseError> {
        if bps > Self::MAX {
            return Err(ParseError(format!("an application fee is 0 to {} basis points", Self::MAX)));
        }
        Ok(FeeRate(bps as u16))
    }

    /// Reads the setting as written (`"250"`); empty is no fee.
    pub fn parse(raw: &str) -> Result<FeeRate, ParseError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(FeeRate(0));
        }
        let bps: u32 =
            raw.parse().map_err(|_| ParseError(format!("an application fee is whole basis points, not {raw:?}")))?;
        FeeRate::basis_points(bps)
    }

    pub fn get(self) -> u32 {
        u32::from(self.0)
    }

    /// The fee on `amount`, to the nearest minor unit (halves up), never above the amount.
    pub fn of(self, amount: MinorUnits) -> MinorUnits {
        let fee = (i128::from(amount.get()) * i128::from(self.0) + 5_000) / 10_000;
        MinorUnits::new((fee as i64).min(amount.get())).expect("a fee of at most the amount is valid")
    }
}

impl TryFrom<u32> for FeeRate {
    type Error = ParseError;
    fn try_from(bps: u32) -> Result<FeeRate, ParseError> {
        FeeRate::basis_points(bps)
    }
}

impl From<FeeRate> for u32 {
    fn from(rate: FeeRate) -> u32 {
        rate.get()
    }
}

/// What Stripe still needs from the clinic before (or to keep) taking charges and payouts.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct Requirements {
    /// Needed now (by `current_deadline`), else capabilities are disabled.
    #[serde(default)]
    pub currently_due: Vec<String>,
    /// Overdue: capabilities are already disabled for these.
    #[serde(default)]
    pub past_due: Vec<String>,
    /// Why the account is disabled, if it is (`requirements.past_due`, `under_review`…).
    #[serde(default)]
    pub disabled_reason: Option<String>,
    #[serde(default)]
    pub current_deadline: Option<DateTime<Utc>>,
}

/// What Stripe says of a connected account now.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct AccountStatus {
    /// It may take charges: only then do online payments go to it.
    pub charges_enabled: bool,
    /// Stripe pays its balance out to the clinic's bank.
    pub payouts_enabled: bool,
    /// The clinic finished Stripe's onboarding form (Stripe may still be checking it).
    pub details_submitted: bool,
    #[serde(default)]
    pub requirements: Requirements,
}

/// Where a clinic's connection stands, in one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConnectState {
    /// No account yet: the owner has not started onboarding.
    NotConnected,
    /// An account exists; its onboarding form is not finished.
    Onboarding,
    /// Onboarded, but Stripe does not (or no longer) lets it take charges: see `requirements`.
    Restricted,
    /// It takes charges: online payments go to it.
    Active,
}

/// A clinic's connected account as we hold it (`TENANT#t` / `CONNECT`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Connection {
    pub account_id: ConnectedAccountId,
    pub status: AccountStatus,
    /// When it could first take charges.
    pub active_since: Option<DateTime<Utc>>,
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What taking in an account's status changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AccountChange {
    pub changed: bool,
    /// It could not take charges before and can now.
    pub now_chargeable: bool,
    /// It could take charges before and cannot now.
    pub no_longer_chargeable: bool,
}

impl Connection {
    pub fn new(account_id: ConnectedAccountId, status: AccountStatus, now: DateTime<Utc>) -> Connection {
        let active_since = status.charges_enabled.then_some(now);
        Connection { account_id, status, active_since, version: 1, created_at: now, updated_at: now }
    }

    pub fn state(&self) -> ConnectState {
        match (&self.status.charges_enabled, &self.status.details_submitted) {
            (true, _) => ConnectState::Active,
            (false, true) => ConnectState::Restricted,
            (false, false) => ConnectState::Onboarding,
        }
    }

    /// Takes in what Stripe says of the account now (a fresh read is the truth, so the latest
    /// read wins whatever order webhooks come in); the version and times are the caller's.
    pub fn observe(&mut self, status: AccountStatus, now: DateTime<Utc>) -> AccountChange {
        let before = self.status.charges_enabled;
        let changed = self.status != status;
        self.status = status;
        if self.status.charges_enabled && self.active_since.is_none() {
            self.active_since = Some(now);
        }
        AccountChange {
            changed,
            now_chargeable: !before && self.status.charges_enabled,
            no_longer_chargeable: before && !self.status.charges_enabled,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(n: i64) -> MinorUnits {
        MinorUnits::new(n).unwrap()
    }

    #[test]
    fn an_application_fee_is_basis_points_of_the_amount_rounded_to_the_nearest_minor_unit() {
        let rate = FeeRate::parse("250").unwrap();
        assert_eq!(rate.of(units(4000)).get(), 100, "2.5% of 40.00 is 1.00");
        assert_eq!(rate.of(units(30)).get(), 1, "0.75 rounds up");
        assert_eq!(FeeRate::parse("100").unwrap().of(units(49)).get(), 0, "0.49 rounds down");
        assert_eq!(FeeRate::parse("100").unwrap().of(units(50)).get(), 1, "a half rounds up");
        assert_eq!(FeeRate::parse("").unwrap().of(units(4000)).get(), 0, "no setting, no fee");
        assert_eq!(FeeRate::parse("10000").unwrap().of(units(MinorUnits::MAX)).get(), MinorUnits::MAX);
        for wrong in ["10001", "-1", "2.5", "abc"] {
            assert!(FeeRate::parse(wrong).is_err(), "{wrong}");
        }
        assert!(serde_json::from_str::<FeeRate>("10001").is_err());
        assert_eq!(serde_json::to_string(&rate).unwrap(), "250");
    }

    #[test]
    fn a_connection_is_active_only_while_stripe_lets_it_take_charges() {
        let now = chrono::DateTime::from_timestamp(1_900_000_000, 0).unwrap();
        let account = ConnectedAccountId::parse("acct_1Glow").unwrap();
        let mut connection = Connection::new(account, AccountStatus::default(), now);
        assert_eq!(connection.state(), ConnectState::Onboarding);
        let submitted = AccountStatus { details_submitted: true, ..Default::default() };
        let change = connection.observe(submitted.clone(), now);
        assert!(change.changed && !change.now_chargeable);
        assert_eq!(connection.state(), ConnectState::Restricted);
        let enabled = AccountStatus { charges_enabled: true, payouts_enabled: true, ..submitted.clone() };
        let change = connection.observe(enabled.clone(), now);
        assert!(change.now_chargeable && !change.no_longer_chargeable);
        assert_eq!((connection.state(), connection.active_since), (ConnectState::Active, Some(now)));
        assert!(!connection.observe(enabled, now).changed, "the same news twice changes nothing");
        let later = now + chrono::Duration::days(30);
        let past_due = AccountStatus {
            requirements: Requirements {
                past_due: vec!["individual.verification.document".into()],
                disabled_reason: Some("requirements.past_due".into()),
                ..Default::default()
            },
            ..submitted
        };
        let change = connection.observe(past_due, later);
        assert!(change.no_longer_chargeable);
        assert_eq!(connection.state(), ConnectState::Restricted);
        assert_eq!(connection.active_since, Some(now), "when it first took charges stays");
    }
}
