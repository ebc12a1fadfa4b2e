//! Commissions: what a clinic pays its practitioners on what they sell, worked out from completed
//! sales and the refunds and voids made against them.
//!
//! **Rules.** A clinic's plan is a list of rules, each for one practitioner or everyone, for one
//! service, a service category, every service, or products; a line takes the most specific rule
//! that matches it (a practitioner's own before everyone's; a service before its category before
//! every service), the first listed on a tie. A rule pays a percentage of the line's amount
//! before tax (after discounts), optionally in **tiers** over the practitioner's total under that
//! rule in the period (marginal, like tax bands: 10% of the first £5,000, 15% above), or a fixed
//! amount per unit sold.
//!
//! **Refunds and voids** claw back in the period they are made: each line of the sale loses the
//! share of its amount that the refund is of the sale's total, at the same rule. A period's
//! commission under a rule is the rule's function of the period's net total, rounded once, so the
//! lines (shown rounded) always add up to it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{AppError, AppResult};
use crate::ids::{PractitionerId, ServiceId};
use crate::values::Slug;

/// The most rules one plan holds.
pub const MAX_RULES: usize = 200;
/// The most tiers one rule holds.
pub const MAX_TIERS: usize = 10;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommissionPlanInput {
    pub rules: Vec<CommissionRule>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommissionRule {
    /// Absent: everyone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub practitioner_id: Option<PractitionerId>,
    pub applies_to: AppliesTo,
    pub rate: Rate,
}

/// What a rule covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum AppliesTo {
    Service {
        service_id: ServiceId,
    },
    Category {
        category: Slug,
    },
    AllServices,
    /// Products sold (credited to the practitioner who rang the sale up).
    Products,
}

/// What a rule pays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Rate {
    /// A percentage in basis points (1250 = 12.5%) from each tier's floor upward; the first tier
    /// starts at 0.
    Percent { tiers: Vec<Tier> },
    /// A fixed amount per unit sold (a refunded share of the units takes its share back).
    Fixed { amount_minor: i64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CommissionTier)]
pub struct Tier {
    /// The practitioner's total under the rule in the period from which this rate applies.
    pub from_minor: i64,
    pub percent_bps: u32,
}

impl CommissionPlanInput {
    /// Refuses a plan no clinic could mean, naming the field.
    pub fn check(&self) -> AppResult<()> {
        if self.rules.len() > MAX_RULES {
            return Err(AppError::invalid("too_many_rules", "rules", format!("at most {MAX_RULES} rules")));
        }
        for (i, rule) in self.rules.iter().enumerate() {
            let field = |name: &str| format!("rules[{i}].rate.{name}");
            match &rule.rate {
                Rate::Fixed { amount_minor } if !(0..=10_000_000).contains(amount_minor) => {
                    return Err(AppError::invalid("out_of_range", field("amount_minor"), "must be 0 to 10000000"));
                }
                Rate::Fixed { .. } => {}
                Rate::Percent { tiers } => {
                    if tiers.is_empty() || tiers.len() > MAX_TIERS {
                        return Err(AppError::invalid(
                            "out_of_range",
                            field("tiers"),
                            format!("1 to {MAX_TIERS} tiers"),
                        ));
                    }
                    if tiers[0].from_minor != 0 {
                        return Err(AppError::invalid(
                            "first_tier_not_zero",
                            field("tiers"),
                            "the first tier starts at 0",
                        ));
                    }
                    if tiers.windows(2).any(|pair| pair[1].from_minor <= pair[0].from_minor) {
                        return Err(AppError::invalid(
                            "tiers_not_ascending",
                            field("tiers"),
                            "each tier starts above the one before",
                        ));
                    }
                    if tiers.iter().any(|t| t.percent_bps > 10_000) {
                        return Err(AppError::invalid(
                            "out_of_range",
                            field("tiers"),
                            "a percentage is at most 10000 basis points",
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

/// What a line of a sale is, as far as commission goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sold {
    Service { service_id: Option<ServiceId>, category: Option<Slug> },
    Product,
}

impl AppliesTo {
    /// How specifically this covers `sold` (higher is more specific), or `None`.
    fn covers(&self, sold: &Sold) -> Option<u8> {
        match (self, sold) {
            (AppliesTo::Service { service_id }, Sold::Service { service_id: Some(id), .. }) if id == service_id => {
                Some(2)
            }
            (AppliesTo::Category { category }, Sold::Service { category: Some(c), .. }) if c == category => Some(1),
            (AppliesTo::AllServices, Sold::Service { .. }) => Some(0),
            (AppliesTo::Products, Sold::Product) => Some(0),
            _ => None,
        }
    }
}

/// The rule (its index in the plan) a line by `practitioner` of `sold` is paid under, if any.
pub fn rule_for(plan: &CommissionPlanInput, practitioner: &PractitionerId, sold: &Sold) -> Option<usize> {
    let mut best: Option<(u8, usize)> = None;
    for (i, rule) in plan.rules.iter().enumerate() {
        let whose = match &rule.practitioner_id {
            Some(p) if p == practitioner => 4,
            Some(_) => continue,
            None => 0,
        };
        if let Some(how) = rule.applies_to.covers(sold) {
            let score = whose + how;
            if best.is_none_or(|(top, _)| score > top) {
                best = Some((score, i));
            }
        }
    }
    best.map(|(_, i)| i)
}

/// A percentage rule's commission on a period total, in minor units, rounded half away from zero
/// once. A negative total (more refunded than sold) claws back at the first tier's rate.
pub fn tiered(tiers: &[Tier], total_minor: i64) -> i64 {
    let Some(first) = tiers.first() else { return 0 };
    if total_minor <= 0 {
        return round_bps(i128::from(total_minor) * i128::from(first.percent_bps));
    }
    let mut scaled: i128 = 0;
    for (i, tier) in tiers.iter().enumerate() {
        let floor = tier.from_minor;
        if total_minor <= floor {
            break;
        }
        let ceiling = tiers.get(i + 1).map_or(total_minor, |next| next.from_minor.min(total_minor));
        scaled += i128::from(ceiling - floor) * i128::from(tier.percent_bps);
    }
    round_bps(scaled)
}

/// `scaled / 10000`, rounded half away from zero.
fn round_bps(scaled: i128) -> i64 {
    let half = if scaled >= 0 { 5_000 } else { -5_000 };
    i64::try_from((scaled + half) / 10_000).unwrap_or(if scaled >= 0 { i64::MAX } else { i64::MIN })
}

/// One line's contribution in a period: its amount before tax (negative for a refund's share)
/// and, for fixed rules, its units (fractional after a partial refund, as a ratio).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Contribution {
    pub amount_minor: i64,
    pub units: f64,
}

/// The commission of a practitioner's lines under one rule, in order: each line's share (the
/// difference of the rule's function on the running totals, so they add up exactly) and the total.
pub fn under_rule(rate: &Rate, lines: &[Contribution]) -> (Vec<i64>, i64) {
    let mut shares = Vec::with_capacity(lines.len());
    let (mut amount, mut units, mut paid) = (0i64, 0f64, 0i64);
    for line in lines {
        amount += line.amount_minor;
        units += line.units;
        let so_far = match rate {
            Rate::Percent { tiers } => tiered(tiers, amount),
            Rate::Fixed { amount_minor } => (units * *amount_minor as f64).round() as i64,
        };
        shares.push(so_far - paid);
        paid = so_far;
    }
    (shares, paid)
}

/// A refund's share of a line: `-amount × refunded / sale total`, rounded half away from zero.
pub fn refunded_share(line_amount_minor: i64, refunded_minor: i64, sale_total_minor: i64) -> i64 {
    if sale_total_minor <= 0 {
        return 0;
    }
    let scaled = -i128::from(line_amount_minor) * i128::from(refunded_minor);
    let total = i128::from(sale_total_minor);
    let half = if scaled >= 0 { total / 2 } else { -(total / 2) };
    i64::try_from((scaled + half) / total).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiers(list: &[(i64, u32)]) -> Vec<Tier> {
        list.iter()
            .map(|(from_minor, percent_bps)| Tier { from_minor: *from_minor, percent_bps: *percent_bps })
            .collect()
    }

    #[test]
    fn tiers_pay_each_band_at_its_own_rate() {
        // 10% of the first £5,000, 15% from £5,000 to £10,000, 20% above.
        let bands = tiers(&[(0, 1000), (500_000, 1500), (1_000_000, 2000)]);
        assert_eq!(tiered(&bands, 400_000), 40_000);
        assert_eq!(tiered(&bands, 500_000), 50_000);
        assert_eq!(tiered(&bands, 700_000), 50_000 + 30_000);
        assert_eq!(tiered(&bands, 1_200_000), 50_000 + 75_000 + 40_000);
        // A refund-heavy period claws back at the first rate.
        assert_eq!(tiered(&bands, -10_000), -1_000);
        assert_eq!(tiered(&tiers(&[(0, 1250)]), 333), 42, "12.5% of 3.33 is 0.41625: rounded once, to 0.42");
    }

    #[test]
    fn lines_shares_add_up_to_the_commission_on_the_total_across_a_tier_boundary() {
        let rate = Rate::Percent { tiers: tiers(&[(0, 1000), (10_000, 2000)]) };
        let lines = [6_000, 6_000, -3_000, 333].map(|amount_minor| Contribution { amount_minor, units: 1.0 });
        let (shares, total) = under_rule(&rate, &lines);
        // Running totals 6000 → 600; 12000 → 1000 + 400; 9000 → 900; 9333 → 933.3.
        assert_eq!(shares, [600, 800, -500, 33]);
        assert_eq!(total, 933);
        assert_eq!(shares.iter().sum::<i64>(), total);
    }

    #[test]
    fn a_fixed_rule_pays_per_unit_and_a_refund_takes_back_its_share_of_units() {
        let rate = Rate::Fixed { amount_minor: 500 };
        let lines =
            [Contribution { amount_minor: 4_000, units: 2.0 }, Contribution { amount_minor: -1_000, units: -0.5 }];
        assert_eq!(under_rule(&rate, &lines), (vec![1000, -250], 750));
    }

    #[test]
    fn the_most_specific_rule_wins_and_the_first_listed_on_a_tie() {
        let p = PractitionerId::parse("prc_a").unwrap();
        let other = PractitionerId::parse("prc_b").unwrap();
        let botox = ServiceId::parse("svc_botox").unwrap();
        let injectables = Slug::parse("injectables").unwrap();
        let flat = |bps| Rate::Percent { tiers: tiers(&[(0, bps)]) };
        let rule = |who: Option<&PractitionerId>, applies_to: AppliesTo, bps| CommissionRule {
            practitioner_id: who.cloned(),
            applies_to,
            rate: flat(bps),
        };
        let plan = CommissionPlanInput {
            rules: vec![
                rule(None, AppliesTo::AllServices, 1000),
                rule(None, AppliesTo::Category { category: injectables.clone() }, 1200),
                rule(Some(&p), AppliesTo::AllServices, 1500),
                rule(None, AppliesTo::Service { service_id: botox.clone() }, 1300),
                rule(None, AppliesTo::Products, 500),
                rule(None, AppliesTo::AllServices, 9900),
            ],
        };
        let botox_sold = Sold::Service { service_id: Some(botox), category: Some(injectables.clone()) };
        let filler =
            Sold::Service { service_id: Some(ServiceId::parse("svc_filler").unwrap()), category: Some(injectables) };
        let facial = Sold::Service { service_id: None, category: None };
        assert_eq!(rule_for(&plan, &p, &botox_sold), Some(2), "her own rule beats everyone's, however specific");
        assert_eq!(rule_for(&plan, &other, &botox_sold), Some(3), "a service beats its category");
        assert_eq!(rule_for(&plan, &other, &filler), Some(1), "a category beats every service");
        assert_eq!(rule_for(&plan, &other, &facial), Some(0), "the first of two equal rules");
        assert_eq!(rule_for(&plan, &other, &Sold::Product), Some(4));
        assert_eq!(rule_for(&CommissionPlanInput::default(), &p, &facial), None);
    }

    #[test]
    fn a_refund_takes_back_the_lines_share_of_what_it_returned() {
        // £100 of a £250 sale (tips included) refunded: a £200 line loses £80.
        assert_eq!(refunded_share(20_000, 10_000, 25_000), -8_000);
        assert_eq!(refunded_share(1, 1, 3), 0);
        assert_eq!(refunded_share(20_000, 10_000, 0), 0);
    }

    #[test]
    fn a_plan_no_clinic_could_mean_is_refused_at_its_field() {
        let bad = |rate| CommissionPlanInput {
            rules: vec![CommissionRule { practitioner_id: None, applies_to: AppliesTo::AllServices, rate }],
        };
        let code = |plan: CommissionPlanInput| match plan.check() {
            Err(AppError::Invalid { code, .. }) => code,
            other => panic!("{other:?}"),
        };
        assert_eq!(code(bad(Rate::Percent { tiers: vec![] })), "out_of_range");
        assert_eq!(code(bad(Rate::Percent { tiers: tiers(&[(100, 1000)]) })), "first_tier_not_zero");
        assert_eq!(code(bad(Rate::Percent { tiers: tiers(&[(0, 1000), (0, 2000)]) })), "tiers_not_ascending");
        assert_eq!(code(bad(Rate::Percent { tiers: tiers(&[(0, 10_001)]) })), "out_of_range");
        assert_eq!(code(bad(Rate::Fixed { amount_minor: -1 })), "out_of_range");
        assert!(bad(Rate::Percent { tiers: tiers(&[(0, 1000), (500_000, 1500)]) }).check().is_ok());
    }
}
