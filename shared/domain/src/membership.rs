//! Memberships: a monthly plan a client pays for by card subscription (Stripe Billing), with
//! treatment credits included each month.
//!
//! **Who decides.** The gateway owns the subscription: it charges each month, retries a failed
//! charge on its own schedule (dunning) and ends the subscription when retries run out. The
//! clinic's record follows what the gateway says the subscription *is now* (re-read on every
//! webhook, never taken from the event), through [`Membership::observe`]: pure, and idempotent
//! (the same observation twice changes nothing), so duplicate, late and out-of-order events end
//! in the same state.
//!
//! **Credits.** Each paid month gives the client that month's credits: a package of sessions
//! (`domain::package`, with the membership's id and no sale) for the plan's services, expiring
//! when the month ends. The till redeems them exactly as it redeems any package, so one
//! redemption path (versioned, in the sale's transaction) serves both. A period is credited
//! once: [`Membership::observe`] says which period is new, and the store's write of that
//! period's package is conditional on its key not existing.
//!
//! **Dunning.** A failed renewal makes the membership `past_due` (no new credits; what was
//! paid for stays usable until its month ends); each failed attempt is kept and announced so
//! the client is asked to update her card; the gateway's final failure ends it (`cancelled`).
//! A cancelled membership never comes back: a client who returns starts a new one.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{AppError, AppResult};
use crate::ids::{ClientId, MembershipId, MembershipPlanId, ServiceId};
use crate::values::{Money, Name};

/// The most credits a plan may include in a month, and the most services they may be used for.
pub const MAX_CREDITS: u32 = 20;
pub const MAX_SERVICES: usize = 20;
/// The least a plan may cost a month (Stripe's minimum charge is about 30 minor units).
pub const MIN_PRICE_MINOR: i64 = 100;
/// How long a sign-up page stays open (Stripe Checkout: at most 24 hours).
pub const SIGNUP_HOURS: i64 = 23;

fn yes() -> bool {
    true
}

/// A membership plan in the clinic's catalog (`/v1/membership-plans`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MembershipPlanInput {
    pub name: Name,
    /// What a month costs (charged by card each month from the day she joins).
    pub price: Money,
    /// Treatment credits included each month (0 to 20): one credit pays for one of
    /// `service_ids` at the till.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 20)]
    pub credits_per_month: u32,
    /// The services a credit may be used for (required when credits are included).
    #[serde(default)]
    pub service_ids: Vec<ServiceId>,
    /// Whether new members may join (an archived plan is kept for its members).
    #[serde(default = "yes")]
    pub active: bool,
}

impl MembershipPlanInput {
    pub fn check(&self) -> AppResult<()> {
        if self.price.amount_minor.get() < MIN_PRICE_MINOR {
            return Err(AppError::invalid(
                "price_too_low",
                "price.amount_minor",
                format!("a plan costs at least {MIN_PRICE_MINOR} minor units a month"),
            ));
        }
        if self.credits_per_month > MAX_CREDITS {
            return Err(AppError::invalid(
                "credits_out_of_range",
                "credits_per_month",
                format!("a plan includes 0 to {MAX_CREDITS} credits a month"),
            ));
        }
        if self.credits_per_month > 0 && self.service_ids.is_empty() {
            return Err(AppError::invalid(
                "service_count",
                "service_ids",
                "credits need the services they may be used for",
            ));
        }
        if self.service_ids.len() > MAX_SERVICES {
            return Err(AppError::invalid(
                "service_count",
                "service_ids",
                format!("credits may cover at most {MAX_SERVICES} services"),
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, id) in self.service_ids.iter().enumerate() {
            if !seen.insert(id) {
                return Err(AppError::invalid("duplicate", format!("service_ids[{i}]"), "a service is named twice"));
            }
        }
        Ok(())
    }
}

/// A subscription's status as the gateway reports it (Stripe's words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GatewayStatus {
    /// The first payment has not succeeded yet.
    Incomplete,
    /// The first payment never succeeded: the subscription never started.
    IncompleteExpired,
    Trialing,
    Active,
    /// A renewal failed; the gateway is retrying.
    PastDue,
    /// Retries ran out and the subscription is kept unpaid.
    Unpaid,
    Canceled,
    Paused,
}

impl GatewayStatus {
    pub fn parse(text: &str) -> Option<GatewayStatus> {
        Some(match text {
            "incomplete" => GatewayStatus::Incomplete,
            "incomplete_expired" => GatewayStatus::IncompleteExpired,
            "trialing" => GatewayStatus::Trialing,
            "active" => GatewayStatus::Active,
            "past_due" => GatewayStatus::PastDue,
            "unpaid" => GatewayStatus::Unpaid,
            "canceled" => GatewayStatus::Canceled,
            "paused" => GatewayStatus::Paused,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            GatewayStatus::Incomplete => "incomplete",
            GatewayStatus::IncompleteExpired => "incomplete_expired",
            GatewayStatus::Trialing => "trialing",
            GatewayStatus::Active => "active",
            GatewayStatus::PastDue => "past_due",
            GatewayStatus::Unpaid => "unpaid",
            GatewayStatus::Canceled => "canceled",
            GatewayStatus::Paused => "paused",
        }
    }
}

/// A month the subscription has been charged for: `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Period {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// The subscription as the gateway says it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedSubscription {
    pub id: String,
    pub status: GatewayStatus,
    pub period: Option<Period>,
    pub cancel_at_period_end: bool,
    /// Collection is paused (Stripe's `pause_collection`): no charge, no new credits.
    pub paused: bool,
}

/// Where a membership stands, as the clinic and the client see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MembershipStatus {
    /// Waiting for the client to pay the first month on the sign-up page.
    Pending,
    Active,
    /// A renewal failed and is being retried: no new credits until it is paid.
    PastDue,
    /// Paused by the clinic: nothing is charged and no credits are given.
    Paused,
    /// Ended (cancelled by the clinic or the client, or by the gateway when retries ran out).
    Cancelled,
    /// The first month was never paid.
    Lapsed,
}

impl MembershipStatus {
    pub fn is_final(self) -> bool {
        matches!(self, MembershipStatus::Cancelled | MembershipStatus::Lapsed)
    }
}

/// A failed charge of a renewal, as the gateway reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FailedCharge {
    /// The gateway's invoice (`in_…`).
    pub invoice_id: String,
    /// Which attempt at that invoice failed (1 = the first).
    pub attempt: u32,
    pub at: DateTime<Utc>,
    /// When the gateway will try again, if it will.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The gateway's page where she pays the invoice or changes her card (https only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pay_url: Option<String>,
}

/// A client's membership.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Membership {
    pub id: MembershipId,
    pub client_id: ClientId,
    pub plan_id: MembershipPlanId,
    /// The plan as she joined it (a later change of the plan changes no membership).
    pub plan: MembershipPlanInput,
    pub status: MembershipStatus,
    /// The gateway's subscription, once she paid the first month (`sub_…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<String>,
    /// The sign-up page (a hosted payment page) while she has not paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signup_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signup_session_id: Option<String>,
    /// The month paid for now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_period: Option<Period>,
    /// The last month whose credits were given (never given twice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credited_through: Option<DateTime<Utc>>,
    /// It ends when the month paid for ends.
    #[serde(default)]
    pub cancel_at_period_end: bool,
    /// Failed renewal charges, oldest first (the dunning history).
    #[serde(default)]
    pub failed_charges: Vec<FailedCharge>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
    /// Bumped by every change; each change is written on condition of the version it read.
    pub version: u32,
}

/// What an observation changed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Observation {
    /// The status moved (from, to).
    pub status_changed: Option<(MembershipStatus, MembershipStatus)>,
    /// A month newly paid for: its credits are due.
    pub new_period: Option<Period>,
    /// Anything at all changed (what to write).
    pub changed: bool,
}

impl Membership {
    /// A membership waiting for its first payment on `signup_url`.
    pub fn pending(
        id: MembershipId,
        client_id: ClientId,
        plan_id: MembershipPlanId,
        plan: MembershipPlanInput,
        now: DateTime<Utc>,
    ) -> Membership {
        Membership {
            id,
            client_id,
            plan_id,
            plan,
            status: MembershipStatus::Pending,
            subscription_id: None,
            signup_url: None,
            signup_session_id: None,
            current_period: None,
            credited_through: None,
            cancel_at_period_end: false,
            failed_charges: Vec::new(),
            created_at: now,
            updated_at: now,
            ended_at: None,
            version: 1,
        }
    }

    /// Follows the subscription as the gateway reports it now. A final membership never
    /// changes; a subscription other than its own is refused.
    pub fn observe(&mut self, seen: &ObservedSubscription, now: DateTime<Utc>) -> AppResult<Observation> {
        if let Some(own) = &self.subscription_id
            && own != &seen.id
        {
            return Err(AppError::conflict(
                "membership_other_subscription",
                "this is another membership's subscription",
            ));
        }
        let mut observation = Observation::default();
        if self.status.is_final() {
            return Ok(observation);
        }
        let before = self.clone();
        self.subscription_id = Some(seen.id.clone());
        let status = match seen.status {
            GatewayStatus::Incomplete => MembershipStatus::Pending,
            GatewayStatus::IncompleteExpired => MembershipStatus::Lapsed,
            GatewayStatus::Active | GatewayStatus::Trialing if seen.paused => MembershipStatus::Paused,
            GatewayStatus::Active | GatewayStatus::Trialing => MembershipStatus::Active,
            GatewayStatus::PastDue | GatewayStatus::Unpaid => MembershipStatus::PastDue,
            GatewayStatus::Paused => MembershipStatus::Paused,
            GatewayStatus::Canceled => MembershipStatus::Cancelled,
        };
        if status != self.status {
            observation.status_changed = Some((self.status, status));
            self.status = status;
        }
        if status != MembershipStatus::Pending {
            self.signup_url = None;
        }
        if status.is_final() {
            self.ended_at.get_or_insert(now);
        }
        if let Some(period) = seen.period {
            // A late event may describe an older month: months only move forward.
            if self.current_period.is_none_or(|p| period.start > p.start) {
                self.current_period = Some(period);
            }
            let paid_month = matches!(seen.status, GatewayStatus::Active | GatewayStatus::Trialing) && !seen.paused;
            if paid_month && self.credited_through.is_none_or(|done| period.start > done) {
                self.credited_through = Some(period.start);
                observation.new_period = Some(period);
            }
        }
        self.cancel_at_period_end = seen.cancel_at_period_end && !status.is_final();
        if *self != before {
            self.updated_at = now;
            self.version += 1;
            observation.changed = true;
        }
        Ok(observation)
    }

    /// Keeps a failed renewal charge; `false` when this attempt was known already.
    pub fn record_failure(&mut self, failure: FailedCharge) -> bool {
        let known =
            self.failed_charges.iter().any(|f| f.invoice_id == failure.invoice_id && f.attempt == failure.attempt);
        if known || self.status.is_final() {
            return false;
        }
        self.failed_charges.push(failure);
        self.updated_at = self.failed_charges.last().map_or(self.updated_at, |f| f.at.max(self.updated_at));
        self.version += 1;
        true
    }

    /// What the clinic may do now: pause (active), resume (paused), cancel (anything not final).
    pub fn check_action(&self, action: MembershipAction) -> AppResult<()> {
        let allowed = match action {
            MembershipAction::Pause => self.status == MembershipStatus::Active,
            MembershipAction::Resume => self.status == MembershipStatus::Paused,
            MembershipAction::Cancel | MembershipAction::CancelAtPeriodEnd => !self.status.is_final(),
        };
        if allowed {
            return Ok(());
        }
        Err(AppError::Rejected {
            kind: crate::error::Rejection::Conflict,
            code: "membership_state",
            message: format!("a {} membership cannot be {}", status_word(self.status), action.past_tense()),
            details: serde_json::json!({ "status": self.status }),
        })
    }
}

fn status_word(status: MembershipStatus) -> &'static str {
    match status {
        MembershipStatus::Pending => "pending",
        MembershipStatus::Active => "active",
        MembershipStatus::PastDue => "past-due",
        MembershipStatus::Paused => "paused",
        MembershipStatus::Cancelled => "cancelled",
        MembershipStatus::Lapsed => "lapsed",
    }
}

/// What the clinic (or the client, for cancel) asks of a membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MembershipAction {
    Pause,
    Resume,
    /// Ends it now (no refund of the month paid for; its credits stay until the month ends).
    Cancel,
    /// Ends it when the month paid for ends.
    CancelAtPeriodEnd,
}

impl MembershipAction {
    fn past_tense(self) -> &'static str {
        match self {
            MembershipAction::Pause => "paused",
            MembershipAction::Resume => "resumed",
            MembershipAction::Cancel | MembershipAction::CancelAtPeriodEnd => "cancelled",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::{Currency, MinorUnits};
    use chrono::TimeZone;

    fn plan(credits: u32, services: usize) -> MembershipPlanInput {
        MembershipPlanInput {
            name: Name::parse("Glow club").unwrap(),
            price: Money { amount_minor: MinorUnits::new(4900).unwrap(), currency: Currency::default() },
            credits_per_month: credits,
            service_ids: (0..services).map(|_| ServiceId::new()).collect(),
            active: true,
        }
    }

    fn day(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap() + chrono::Duration::days(i64::from(d))
    }

    fn month(from: u32) -> Period {
        Period { start: day(from), end: day(from + 30) }
    }

    fn seen(status: GatewayStatus, period: Option<Period>) -> ObservedSubscription {
        ObservedSubscription { id: "sub_1".into(), status, period, cancel_at_period_end: false, paused: false }
    }

    fn member() -> Membership {
        Membership::pending(MembershipId::new(), ClientId::new(), MembershipPlanId::new(), plan(2, 1), day(0))
    }

    #[test]
    fn a_plan_with_credits_names_the_services_they_pay_for() {
        assert!(plan(2, 1).check().is_ok());
        assert!(plan(0, 0).check().is_ok());
        let err = plan(2, 0).check().unwrap_err();
        assert!(format!("{err:?}").contains("service_count"));
        assert!(format!("{:?}", plan(21, 1).check().unwrap_err()).contains("credits_out_of_range"));
        let mut cheap = plan(0, 0);
        cheap.price.amount_minor = MinorUnits::new(99).unwrap();
        assert!(format!("{:?}", cheap.check().unwrap_err()).contains("price_too_low"));
        let mut twice = plan(1, 1);
        twice.service_ids.push(twice.service_ids[0].clone());
        assert!(format!("{:?}", twice.check().unwrap_err()).contains("duplicate"));
    }

    #[test]
    fn the_first_paid_month_activates_and_is_credited_once() {
        let mut m = member();
        let first = m.observe(&seen(GatewayStatus::Active, Some(month(0))), day(0)).unwrap();
        assert_eq!(m.status, MembershipStatus::Active);
        assert_eq!(first.new_period, Some(month(0)));
        assert_eq!(first.status_changed, Some((MembershipStatus::Pending, MembershipStatus::Active)));
        let version = m.version;
        let again = m.observe(&seen(GatewayStatus::Active, Some(month(0))), day(1)).unwrap();
        assert_eq!(again, Observation::default(), "the same news twice changes nothing");
        assert_eq!(m.version, version);
    }

    #[test]
    fn each_renewal_is_credited_and_a_late_event_about_an_older_month_is_not() {
        let mut m = member();
        m.observe(&seen(GatewayStatus::Active, Some(month(0))), day(0)).unwrap();
        let renewed = m.observe(&seen(GatewayStatus::Active, Some(month(30))), day(30)).unwrap();
        assert_eq!(renewed.new_period, Some(month(30)));
        let late = m.observe(&seen(GatewayStatus::Active, Some(month(0))), day(31)).unwrap();
        assert_eq!(late.new_period, None);
        assert_eq!(m.current_period, Some(month(30)), "months only move forward");
    }

    #[test]
    fn a_failed_renewal_gives_no_credits_until_it_is_paid() {
        let mut m = member();
        m.observe(&seen(GatewayStatus::Active, Some(month(0))), day(0)).unwrap();
        let failed = m.observe(&seen(GatewayStatus::PastDue, Some(month(30))), day(30)).unwrap();
        assert_eq!(m.status, MembershipStatus::PastDue);
        assert_eq!(failed.new_period, None);
        let paid = m.observe(&seen(GatewayStatus::Active, Some(month(30))), day(33)).unwrap();
        assert_eq!(m.status, MembershipStatus::Active);
        assert_eq!(paid.new_period, Some(month(30)), "paid late, credited then");
    }

    #[test]
    fn a_paused_membership_gets_no_credits_and_a_cancelled_one_never_comes_back() {
        let mut m = member();
        m.observe(&seen(GatewayStatus::Active, Some(month(0))), day(0)).unwrap();
        let mut paused = seen(GatewayStatus::Active, Some(month(30)));
        paused.paused = true;
        let o = m.observe(&paused, day(30)).unwrap();
        assert_eq!((m.status, o.new_period), (MembershipStatus::Paused, None));
        m.observe(&seen(GatewayStatus::Canceled, Some(month(30))), day(40)).unwrap();
        assert_eq!(m.status, MembershipStatus::Cancelled);
        assert_eq!(m.ended_at, Some(day(40)));
        let o = m.observe(&seen(GatewayStatus::Active, Some(month(60))), day(60)).unwrap();
        assert_eq!((m.status, o), (MembershipStatus::Cancelled, Observation::default()));
    }

    #[test]
    fn an_unpaid_first_month_lapses_and_another_subscription_is_refused() {
        let mut m = member();
        m.observe(&seen(GatewayStatus::IncompleteExpired, None), day(1)).unwrap();
        assert_eq!(m.status, MembershipStatus::Lapsed);
        let mut other = member();
        other.subscription_id = Some("sub_2".into());
        assert!(other.observe(&seen(GatewayStatus::Active, Some(month(0))), day(0)).is_err());
    }

    #[test]
    fn each_failed_attempt_is_kept_once() {
        let mut m = member();
        let failure = |attempt| FailedCharge {
            invoice_id: "in_1".into(),
            attempt,
            at: day(30),
            next_attempt_at: None,
            pay_url: None,
        };
        assert!(m.record_failure(failure(1)));
        assert!(!m.record_failure(failure(1)));
        assert!(m.record_failure(failure(2)));
        assert_eq!(m.failed_charges.len(), 2);
    }

    #[test]
    fn only_an_active_membership_pauses_and_only_a_paused_one_resumes() {
        let mut m = member();
        assert!(m.check_action(MembershipAction::Pause).is_err());
        assert!(m.check_action(MembershipAction::Cancel).is_ok());
        m.observe(&seen(GatewayStatus::Active, Some(month(0))), day(0)).unwrap();
        assert!(m.check_action(MembershipAction::Pause).is_ok());
        assert!(m.check_action(MembershipAction::Resume).is_err());
        m.observe(&seen(GatewayStatus::Canceled, Some(month(0))), day(3)).unwrap();
        assert!(m.check_action(MembershipAction::Cancel).is_err());
    }
}
