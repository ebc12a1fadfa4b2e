//! Packages and courses of treatment ("6 laser sessions"): a clinic's catalog offers package
//! templates (what a client buys: the services it covers, how many sessions, the price, how long
//! it is valid); selling one at the till gives the client her package, a snapshot of the
//! template with its sessions, redeemed one per visit until none remain or it expires.
//!
//! **Money and tax.** A package is paid for when it is sold: the till's `package` line is priced
//! from the template and taxed as the desk taxes the service it covers (a prepayment for named
//! services is a single-purpose voucher: its tax is due when it is sold). A session redeemed
//! later is a service line "covered by package": nothing to pay and no tax again, so the sale of
//! the visit and its receipt show the treatment at zero, and the takings count the package once.
//!
//! **Sessions** only move by a movement ([`MovementKind`]): sold, redeemed by a sale's line,
//! returned by a void or refund of that sale (never as cash), voided. A redemption is written
//! on condition of the package's version, in the sale's own transaction, so two visits never use
//! the same last session.

use chrono::{DateTime, Months, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{AppError, AppResult, Rejection};
use crate::ids::{
    AppointmentId, ClientId, CorrectionId, MembershipId, PackageId, PackageTemplateId, SaleId, ServiceId,
};
use crate::values::{Currency, Money, Name, ParseError};

/// The fewest and the most sessions a package holds.
pub const MIN_SESSIONS: i64 = 1;
pub const MAX_SESSIONS: i64 = 50;
/// The longest validity a template may give (ten years).
pub const MAX_VALIDITY_MONTHS: i64 = 120;
/// The most services one template may cover.
pub const MAX_SERVICES: usize = 20;

/// How many sessions a package holds: 1 to 50.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "i64", into = "i64")]
#[schema(value_type = i64, example = 6)]
pub struct Sessions(u32);

impl Sessions {
    pub fn new(value: i64) -> Result<Self, ParseError> {
        if !(MIN_SESSIONS..=MAX_SESSIONS).contains(&value) {
            return Err(ParseError(format!(
                "must be a whole number of sessions from {MIN_SESSIONS} to {MAX_SESSIONS}"
            )));
        }
        Ok(Sessions(value as u32))
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl TryFrom<i64> for Sessions {
    type Error = ParseError;
    fn try_from(value: i64) -> Result<Self, ParseError> {
        Sessions::new(value)
    }
}

impl From<Sessions> for i64 {
    fn from(value: Sessions) -> i64 {
        i64::from(value.0)
    }
}

/// How long a package is valid after it is sold: 1 to 120 months.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "i64", into = "i64")]
#[schema(value_type = i64, example = 12)]
pub struct ValidityMonths(u32);

impl ValidityMonths {
    pub fn new(value: i64) -> Result<Self, ParseError> {
        if !(1..=MAX_VALIDITY_MONTHS).contains(&value) {
            return Err(ParseError(format!("must be a whole number of months from 1 to {MAX_VALIDITY_MONTHS}")));
        }
        Ok(ValidityMonths(value as u32))
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl TryFrom<i64> for ValidityMonths {
    type Error = ParseError;
    fn try_from(value: i64) -> Result<Self, ParseError> {
        ValidityMonths::new(value)
    }
}

impl From<ValidityMonths> for i64 {
    fn from(value: ValidityMonths) -> i64 {
        i64::from(value.0)
    }
}

fn yes() -> bool {
    true
}

/// A package template in the clinic's catalog: what a client buys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PackageInput {
    pub name: Name,
    /// The catalog's services a session may be used for (any one of them per session).
    pub service_ids: Vec<ServiceId>,
    pub sessions: Sessions,
    /// What the whole package costs (the till's line price, before the desk's tax choice).
    pub price: Money,
    /// Months from the sale until unused sessions lapse.
    pub validity_months: ValidityMonths,
    /// Whether the till offers it (an archived template is kept for the packages sold from it).
    #[serde(default = "yes")]
    pub active: bool,
}

impl PackageInput {
    pub fn check(&self) -> AppResult<()> {
        if self.service_ids.is_empty() || self.service_ids.len() > MAX_SERVICES {
            return Err(AppError::invalid(
                "service_count",
                "service_ids",
                format!("a package covers 1 to {MAX_SERVICES} services"),
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

    /// Whether a session of this template may be used for `service`.
    pub fn covers(&self, service: &ServiceId) -> bool {
        self.service_ids.contains(service)
    }
}

/// When a package sold at `sold_at`, valid `months`, expires (calendar months: a package sold on
/// 31 January for one month lapses on 28 or 29 February).
pub fn expires_at(sold_at: DateTime<Utc>, months: ValidityMonths) -> DateTime<Utc> {
    sold_at.checked_add_months(Months::new(months.get())).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PackageStatus {
    Active,
    /// Past its expiry with sessions unused (never stored: answered from the expiry).
    Expired,
    /// Voided by an owner or manager, or by a void of the sale that sold it.
    Voided,
}

/// A client's package as stored and answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Package {
    pub id: PackageId,
    pub client_id: ClientId,
    /// The catalog's template it was sold from (none: a membership's monthly credits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_id: Option<PackageTemplateId>,
    /// The membership whose month gave these sessions as credits (`domain::membership`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub membership_id: Option<MembershipId>,
    /// The template as it was sold (a later change of the template changes no package).
    pub template: PackageInput,
    /// What the sale's line took for it (after discounts, with its tax).
    pub paid_minor: i64,
    pub currency: Currency,
    pub sessions_total: u32,
    pub sessions_used: u32,
    /// `sessions_total − sessions_used`.
    pub sessions_remaining: u32,
    pub sold_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The sale whose line sold it (none: a membership's credits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sale_id: Option<SaleId>,
    /// Stored as `active` or `voided`; answered `expired` once past its expiry.
    pub status: PackageStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub void_reason: Option<String>,
    /// Bumped by every change; each change is written on condition of the version it read.
    pub version: u32,
}

impl Package {
    /// A package just sold from `template`.
    #[allow(clippy::too_many_arguments)]
    pub fn sold(
        id: PackageId,
        client_id: ClientId,
        template_id: PackageTemplateId,
        template: PackageInput,
        paid_minor: i64,
        currency: Currency,
        sale_id: SaleId,
        at: DateTime<Utc>,
    ) -> Package {
        let total = template.sessions.get();
        Package {
            id,
            client_id,
            template_id: Some(template_id),
            membership_id: None,
            expires_at: expires_at(at, template.validity_months),
            template,
            paid_minor,
            currency,
            sessions_total: total,
            sessions_used: 0,
            sessions_remaining: total,
            sold_at: at,
            sale_id: Some(sale_id),
            status: PackageStatus::Active,
            void_reason: None,
            version: 1,
        }
    }

    /// A membership's credits for one paid month: `template` names the plan and the services
    /// (nothing paid on the package itself: the month's charge paid for it), and the sessions
    /// lapse when the month ends.
    pub fn credits(
        id: PackageId,
        client_id: ClientId,
        membership_id: MembershipId,
        template: PackageInput,
        granted_at: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Package {
        let total = template.sessions.get();
        Package {
            id,
            client_id,
            template_id: None,
            membership_id: Some(membership_id),
            currency: template.price.currency.clone(),
            template,
            paid_minor: 0,
            sessions_total: total,
            sessions_used: 0,
            sessions_remaining: total,
            sold_at: granted_at,
            expires_at: until,
            sale_id: None,
            status: PackageStatus::Active,
            void_reason: None,
            version: 1,
        }
    }

    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now >= self.expires_at
    }

    pub fn remaining(&self) -> u32 {
        self.sessions_total - self.sessions_used
    }

    pub fn covers(&self, service: &ServiceId) -> bool {
        self.template.covers(service)
    }

    /// As answered at `now`: an active package past its expiry says `expired`.
    pub fn as_of(mut self, now: DateTime<Utc>) -> Package {
        if self.status == PackageStatus::Active && self.is_expired(now) {
            self.status = PackageStatus::Expired;
        }
        self
    }

    /// Uses `sessions` of it for `service` in a sale of `client`, or says why not: another
    /// client's or a package not covering the service is 422 (the line is wrong); a voided,
    /// expired or used-up package 409 (the package's state), the latter with what remains.
    pub fn redeem(
        &mut self,
        sessions: u32,
        client: Option<&ClientId>,
        service: Option<&ServiceId>,
        now: DateTime<Utc>,
        field: &str,
    ) -> AppResult<()> {
        if client != Some(&self.client_id) {
            return Err(AppError::invalid(
                "package_other_client",
                field,
                "this package is another client's: the sale must name the client who holds it",
            ));
        }
        match service {
            None => {
                return Err(AppError::invalid(
                    "package_needs_service",
                    field,
                    "a line covered by a package names the catalog's service",
                ));
            }
            Some(service) if !self.covers(service) => {
                return Err(AppError::invalid(
                    "package_not_covering",
                    field,
                    format!("{} does not cover this service", self.template.name),
                ));
            }
            Some(_) => {}
        }
        if self.status == PackageStatus::Voided {
            return Err(AppError::conflict("package_voided", "this package was voided"));
        }
        if self.is_expired(now) {
            return Err(AppError::Rejected {
                kind: Rejection::Conflict,
                code: "package_expired",
                message: "this package has expired".into(),
                details: serde_json::json!({ "expires_at": self.expires_at }),
            });
        }
        if sessions > self.remaining() {
            return Err(AppError::Rejected {
                kind: Rejection::Conflict,
                code: "package_used_up",
                message: format!("this package has {} session(s) left", self.remaining()),
                details: serde_json::json!({ "sessions_remaining": self.remaining() }),
            });
        }
        self.sessions_used += sessions;
        self.sessions_remaining = self.remaining();
        self.version += 1;
        Ok(())
    }

    /// Puts `sessions` back (a sale's void or refund): never more than were used.
    pub fn give_back(&mut self, sessions: u32) {
        self.sessions_used = self.sessions_used.saturating_sub(sessions);
        self.sessions_remaining = self.remaining();
        self.version += 1;
    }

    /// Voids it: no session can be used any more (what was used stays on record).
    pub fn void(&mut self, reason: &str) -> AppResult<()> {
        if self.status == PackageStatus::Voided {
            return Err(AppError::conflict("package_voided", "this package was voided already"));
        }
        self.status = PackageStatus::Voided;
        self.void_reason = Some(reason.to_owned());
        self.version += 1;
        Ok(())
    }
}

/// What moved a package's sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = PackageMovementKind)]
pub enum MovementKind {
    Sold,
    /// Given as a membership's credits for a paid month.
    Credited,
    /// Used by a sale's line (a visit).
    Redeemed,
    /// Given back by a void or refund of the sale that used it.
    Returned,
    Voided,
}

/// One line of a package's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = PackageMovement)]
pub struct Movement {
    pub package_id: PackageId,
    pub kind: MovementKind,
    /// Signed: negative when used.
    pub sessions: i64,
    pub remaining_after: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sale_id: Option<SaleId>,
    /// The visit the session was for, when the sale's line named it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appointment_id: Option<AppointmentId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correction_id: Option<CorrectionId>,
    pub at: DateTime<Utc>,
    /// A member id or `system`.
    pub by: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::MinorUnits;

    fn template(services: Vec<ServiceId>) -> PackageInput {
        PackageInput {
            name: Name::parse("Six laser sessions").unwrap(),
            service_ids: services,
            sessions: Sessions::new(6).unwrap(),
            price: Money { amount_minor: MinorUnits::new(90_000).unwrap(), currency: Currency::gbp() },
            validity_months: ValidityMonths::new(12).unwrap(),
            active: true,
        }
    }

    fn package(service: &ServiceId, client: &ClientId, at: DateTime<Utc>) -> Package {
        Package::sold(
            PackageId::new(),
            client.clone(),
            PackageTemplateId::new(),
            template(vec![service.clone()]),
            90_000,
            Currency::gbp(),
            SaleId::new(),
            at,
        )
    }

    #[test]
    fn sessions_and_validity_are_bounded() {
        assert!(Sessions::new(1).is_ok() && Sessions::new(50).is_ok());
        assert!(Sessions::new(0).is_err() && Sessions::new(51).is_err());
        assert!(ValidityMonths::new(1).is_ok() && ValidityMonths::new(120).is_ok());
        assert!(ValidityMonths::new(0).is_err() && ValidityMonths::new(121).is_err());
        assert!(serde_json::from_str::<Sessions>("51").is_err());
    }

    #[test]
    fn a_template_covers_at_least_one_service_each_named_once() {
        let laser = ServiceId::new();
        assert!(template(vec![laser.clone()]).check().is_ok());
        let err = template(vec![]).check().unwrap_err();
        assert!(matches!(err, AppError::Invalid { code: "service_count", .. }), "{err:?}");
        let err = template(vec![laser.clone(), laser.clone()]).check().unwrap_err();
        assert!(matches!(err, AppError::Invalid { code: "duplicate", .. }), "{err:?}");
        assert!(template(vec![laser.clone()]).covers(&laser));
        assert!(!template(vec![laser]).covers(&ServiceId::new()));
    }

    #[test]
    fn a_package_expires_its_validity_in_calendar_months_after_the_sale() {
        let sold = "2027-01-31T10:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let p = package(&ServiceId::new(), &ClientId::new(), sold);
        assert_eq!(p.expires_at.to_rfc3339(), "2028-01-31T10:00:00+00:00");
        assert_eq!(expires_at(sold, ValidityMonths::new(1).unwrap()).to_rfc3339(), "2027-02-28T10:00:00+00:00");
        assert!(!p.is_expired(p.expires_at - chrono::Duration::seconds(1)));
        assert!(p.is_expired(p.expires_at));
        assert_eq!(p.clone().as_of(p.expires_at).status, PackageStatus::Expired);
        assert_eq!(p.clone().as_of(p.sold_at).status, PackageStatus::Active);
    }

    #[test]
    fn redeeming_uses_sessions_until_none_remain_and_a_return_puts_them_back() {
        let (service, client) = (ServiceId::new(), ClientId::new());
        let now = Utc::now();
        let mut p = package(&service, &client, now);
        p.redeem(5, Some(&client), Some(&service), now, "l").unwrap();
        assert_eq!((p.sessions_used, p.sessions_remaining, p.version), (5, 1, 2));
        let err = p.clone().redeem(2, Some(&client), Some(&service), now, "l").unwrap_err();
        assert!(matches!(err, AppError::Rejected { code: "package_used_up", .. }), "{err:?}");
        p.redeem(1, Some(&client), Some(&service), now, "l").unwrap();
        assert_eq!(p.remaining(), 0);
        let err = p.clone().redeem(1, Some(&client), Some(&service), now, "l").unwrap_err();
        assert!(matches!(err, AppError::Rejected { code: "package_used_up", .. }), "{err:?}");
        p.give_back(1);
        assert_eq!((p.sessions_remaining, p.version), (1, 4));
        p.give_back(99);
        assert_eq!(p.sessions_remaining, 6, "never more back than was used");
    }

    #[test]
    fn another_clients_an_uncovered_service_an_expired_or_a_voided_package_is_refused_clearly() {
        let (service, client) = (ServiceId::new(), ClientId::new());
        let now = Utc::now();
        let p = package(&service, &client, now);
        let code = |r: AppResult<()>| match r.unwrap_err() {
            AppError::Invalid { code, .. } | AppError::Conflict { code, .. } | AppError::Rejected { code, .. } => code,
            other => panic!("{other:?}"),
        };
        assert_eq!(code(p.clone().redeem(1, Some(&ClientId::new()), Some(&service), now, "l")), "package_other_client");
        assert_eq!(code(p.clone().redeem(1, None, Some(&service), now, "l")), "package_other_client");
        assert_eq!(code(p.clone().redeem(1, Some(&client), Some(&ServiceId::new()), now, "l")), "package_not_covering");
        assert_eq!(code(p.clone().redeem(1, Some(&client), None, now, "l")), "package_needs_service");
        assert_eq!(code(p.clone().redeem(1, Some(&client), Some(&service), p.expires_at, "l")), "package_expired");
        let mut voided = p.clone();
        voided.void("refund agreed").unwrap();
        assert_eq!(code(voided.clone().redeem(1, Some(&client), Some(&service), now, "l")), "package_voided");
        assert_eq!(code(voided.void("again")), "package_voided");
    }
}
