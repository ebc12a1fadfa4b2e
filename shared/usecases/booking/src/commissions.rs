//! Commissions: the clinic's plan (its rules, versioned by a conditional write) and the payout
//! report of a period, worked out from the period's sales and the voids and refunds made in it
//! (`domain::commission` has the rules and the arithmetic).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{cash_up, sales};
use mas_catalog::catalog::Catalog;
use mas_domain::cash_up::major;
use mas_domain::commission::{self, CommissionPlanInput, Contribution, Rate, Sold};
use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::{LocationId, PractitionerId, SaleId, TenantId};
use mas_domain::reach::Reach;
use mas_domain::sale::{CorrectionStatus, LineKind, Sale};
use mas_domain::team::Member;
use mas_domain::values::Currency;
use mas_ports::{Condition, Key, Write};
use mas_store::keys::{self, tenant_pk};
use mas_store::{AuditContext, Plan, Store, to_item};

/// The longest period one report covers.
pub const MAX_PERIOD_DAYS: i64 = 62;

/// The clinic's plan as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CommissionPlan {
    #[serde(flatten)]
    pub input: CommissionPlanInput,
    /// 0 before the first save.
    pub version: u64,
    pub updated_at: Option<DateTime<Utc>>,
    pub updated_by: Option<String>,
}

fn plan_key(tenant: &TenantId) -> Key {
    Key::new(tenant_pk(tenant), "COMMISSION_PLAN")
}

/// The plan in force (empty, version 0, before the first save).
pub async fn plan(store: &Store, tenant: &TenantId) -> AppResult<CommissionPlan> {
    Ok(store.get::<CommissionPlan>(&plan_key(tenant)).await?.unwrap_or(CommissionPlan {
        input: CommissionPlanInput::default(),
        version: 0,
        updated_at: None,
        updated_by: None,
    }))
}

/// Replaces the plan, on condition that it is still `expected_version` when given (409
/// `stale_version` otherwise). Audited `commissions.plan_saved`.
pub async fn save_plan(
    store: &Store,
    audit: &AuditContext,
    input: CommissionPlanInput,
    expected_version: Option<u64>,
) -> AppResult<CommissionPlan> {
    input.check()?;
    let t = &audit.tenant_id;
    let current = plan(store, t).await?;
    if expected_version.is_some_and(|v| v != current.version) {
        return Err(stale());
    }
    let next = CommissionPlan {
        input,
        version: current.version + 1,
        updated_at: Some(store.clock.now()),
        updated_by: Some(audit.actor.clone()),
    };
    let condition =
        if current.version == 0 { Condition::NotExists } else { Condition::equals("version", current.version) };
    let mut plan = Plan::new();
    plan.push(Write::put_if(to_item(&plan_key(t), "commission_plan", &next)?, condition), stale());
    plan.commit(store, audit, "commissions.plan_saved", "commission_plan").await?;
    Ok(next)
}

fn stale() -> AppError {
    AppError::conflict("stale_version", "the plan changed since you read it; reload it")
}

/// A period's commissions, per practitioner.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CommissionReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub currency: Currency,
    pub plan_version: u64,
    pub practitioners: Vec<PractitionerCommission>,
    /// Service and product sales no rule covers, or with nobody to credit.
    pub uncovered_minor: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PractitionerCommission {
    pub practitioner_id: PractitionerId,
    /// Their sales before tax under a rule in the period, less what was refunded.
    pub sales_minor: i64,
    pub commission_minor: i64,
    pub lines: Vec<CommissionLine>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CommissionLine {
    pub sale_id: SaleId,
    pub invoice_number: String,
    pub at: DateTime<Utc>,
    /// `sale`, or `refund` / `void` (a share taken back).
    pub kind: String,
    pub description: String,
    pub amount_minor: i64,
    pub commission_minor: i64,
    /// The plan's rule it was paid under.
    pub rule: usize,
}

/// One commissionable line, before the rules.
struct Entry {
    sale: SaleId,
    invoice: String,
    at: DateTime<Utc>,
    kind: &'static str,
    description: String,
    practitioner: Option<PractitionerId>,
    sold: Sold,
    contribution: Contribution,
}

/// The commissions of `[from, to]` (local days at each location the caller reaches, or at
/// `location`), under the plan in force now.
pub async fn report(
    store: &Store,
    tenant: &TenantId,
    reach: &Reach,
    from: NaiveDate,
    to: NaiveDate,
    location: Option<&LocationId>,
) -> AppResult<CommissionReport> {
    if to < from {
        return Err(AppError::invalid("empty_window", "to", "must not be before `from`"));
    }
    if (to - from).num_days() >= MAX_PERIOD_DAYS {
        return Err(AppError::invalid("window_too_large", "to", format!("at most {MAX_PERIOD_DAYS} days at a time")));
    }
    if let Some(location) = location {
        reach.locations.require(location)?;
    }
    let catalog = Catalog::load(store, tenant).await?;
    let plan = plan(store, tenant).await?;
    let locations: Vec<&LocationId> = catalog
        .locations
        .iter()
        .map(|l| &l.id)
        .filter(|id| location.is_none_or(|wanted| wanted == *id) && reach.locations.admits(id))
        .collect();
    if location.is_some() && locations.is_empty() {
        return Err(AppError::NotFound { what: "location" });
    }
    let category_of: HashMap<_, _> = catalog.services.iter().map(|s| (&s.id, &s.data.category)).collect();
    let mut sellers = Sellers { store, tenant, known: HashMap::new() };
    let mut entries = Vec::new();
    let mut currency = None;
    for location in locations {
        let mut day = from;
        while day <= to {
            // The locations come from the catalog just read: no check per day.
            let sales = sales::of_day(store, tenant, location, day).await?;
            for sale in &sales {
                currency.get_or_insert_with(|| sale.currency.clone());
                for line in commissionable(sale) {
                    let practitioner = sellers.credited(sale, line.0).await?;
                    entries.push(Entry {
                        sale: sale.id.clone(),
                        invoice: sale.invoice_number.to_string(),
                        at: sale.completed_at,
                        kind: "sale",
                        description: line.1,
                        practitioner,
                        sold: sold(line.0, &category_of),
                        contribution: Contribution { amount_minor: line.2, units: line.0.input.quantity.get() as f64 },
                    });
                }
            }
            for (sale, correction) in cash_up::corrections_of_day(store, tenant, location, day, &sales).await? {
                if correction.status == CorrectionStatus::Failed {
                    continue;
                }
                let returned = correction.amount();
                let total = sale.totals.total_minor;
                let kind = match correction.kind {
                    mas_domain::sale::CorrectionKind::Void => "void",
                    mas_domain::sale::CorrectionKind::Refund => "refund",
                };
                for line in commissionable(&sale) {
                    let practitioner = sellers.credited(&sale, line.0).await?;
                    let share = commission::refunded_share(line.2, returned, total);
                    let units = -(line.0.input.quantity.get() as f64) * returned as f64 / total.max(1) as f64;
                    entries.push(Entry {
                        sale: sale.id.clone(),
                        invoice: sale.invoice_number.to_string(),
                        at: correction.at,
                        kind,
                        description: line.1,
                        practitioner,
                        sold: sold(line.0, &category_of),
                        contribution: Contribution { amount_minor: share, units },
                    });
                }
            }
            day += Duration::days(1);
        }
    }
    entries.sort_by(|a, b| (a.at, &a.sale).cmp(&(b.at, &b.sale)));
    let currency = match currency {
        Some(currency) => currency,
        None => store
            .get::<mas_domain::tenant::Tenant>(&keys::tenant_profile(tenant))
            .await?
            .map(|t| t.currency)
            .unwrap_or_default(),
    };
    Ok(apply(&plan, entries, from, to, currency))
}

/// The rules over the period's entries (in time order).
fn apply(
    plan: &CommissionPlan,
    entries: Vec<Entry>,
    from: NaiveDate,
    to: NaiveDate,
    currency: Currency,
) -> CommissionReport {
    let mut uncovered = 0;
    let mut grouped: BTreeMap<(PractitionerId, usize), Vec<Entry>> = BTreeMap::new();
    for entry in entries {
        let rule = entry.practitioner.as_ref().and_then(|p| commission::rule_for(&plan.input, p, &entry.sold));
        match (entry.practitioner.clone(), rule) {
            (Some(p), Some(rule)) => grouped.entry((p, rule)).or_default().push(entry),
            _ => uncovered += entry.contribution.amount_minor,
        }
    }
    let mut by_practitioner: BTreeMap<PractitionerId, PractitionerCommission> = BTreeMap::new();
    for ((practitioner, rule), entries) in grouped {
        let rate: &Rate = &plan.input.rules[rule].rate;
        let contributions: Vec<Contribution> = entries.iter().map(|e| e.contribution).collect();
        let (shares, total) = commission::under_rule(rate, &contributions);
        let row = by_practitioner.entry(practitioner.clone()).or_insert_with(|| PractitionerCommission {
            practitioner_id: practitioner,
            sales_minor: 0,
            commission_minor: 0,
            lines: Vec::new(),
        });
        row.commission_minor += total;
        for (entry, share) in entries.into_iter().zip(shares) {
            row.sales_minor += entry.contribution.amount_minor;
            row.lines.push(CommissionLine {
                sale_id: entry.sale,
                invoice_number: entry.invoice,
                at: entry.at,
                kind: entry.kind.into(),
                description: entry.description,
                amount_minor: entry.contribution.amount_minor,
                commission_minor: share,
                rule,
            });
        }
    }
    let mut practitioners: Vec<PractitionerCommission> = by_practitioner.into_values().collect();
    for row in &mut practitioners {
        row.lines.sort_by(|a, b| (a.at, &a.sale_id).cmp(&(b.at, &b.sale_id)));
    }
    CommissionReport { from, to, currency, plan_version: plan.version, practitioners, uncovered_minor: uncovered }
}

/// A sale's service and product lines: the line, what it says, its amount before tax.
fn commissionable(sale: &Sale) -> Vec<(&mas_domain::sale::SaleLine, String, i64)> {
    sale.lines
        .iter()
        .filter(|line| matches!(line.input.kind, LineKind::Service | LineKind::Product))
        .map(|line| (line, line.input.name.to_string(), line.total_minor - line.tax_minor))
        .collect()
}

fn sold(
    line: &mas_domain::sale::SaleLine,
    category_of: &HashMap<&mas_domain::ids::ServiceId, &mas_domain::values::Slug>,
) -> Sold {
    match line.input.kind {
        LineKind::Product => Sold::Product,
        _ => Sold::Service {
            category: line.input.service_id.as_ref().and_then(|id| category_of.get(id)).map(|c| (*c).clone()),
            service_id: line.input.service_id.clone(),
        },
    }
}

/// Who a line is credited to: a service's practitioner; a product's seller, when the member who
/// rang the sale up is a practitioner.
struct Sellers<'a> {
    store: &'a Store,
    tenant: &'a TenantId,
    known: HashMap<String, Option<PractitionerId>>,
}

impl Sellers<'_> {
    async fn credited(&mut self, sale: &Sale, line: &mas_domain::sale::SaleLine) -> AppResult<Option<PractitionerId>> {
        if line.input.kind != LineKind::Product {
            return Ok(line.input.practitioner_id.clone());
        }
        if let Some(known) = self.known.get(&sale.completed_by) {
            return Ok(known.clone());
        }
        let member: Option<Member> = self.store.get(&keys::member(self.tenant, &sale.completed_by)).await?;
        let practitioner = member.and_then(|m| m.input.practitioner_id);
        self.known.insert(sale.completed_by.clone(), practitioner.clone());
        Ok(practitioner)
    }
}

/// The report as CSV: a row per line, then a total row per practitioner (money in major units).
pub fn csv(report: &CommissionReport, name_of: impl Fn(&PractitionerId) -> String) -> String {
    let header = ["practitioner", "invoice_number", "at", "kind", "description", "amount", "commission", "currency"];
    let c = report.currency.to_string();
    let mut rows: Vec<Vec<String>> = Vec::new();
    for row in &report.practitioners {
        let name = mas_domain::csv::text_cell(&name_of(&row.practitioner_id));
        for line in &row.lines {
            rows.push(vec![
                name.clone(),
                line.invoice_number.clone(),
                line.at.to_rfc3339(),
                line.kind.clone(),
                mas_domain::csv::text_cell(&line.description),
                major(line.amount_minor),
                major(line.commission_minor),
                c.clone(),
            ]);
        }
        rows.push(vec![
            name,
            String::new(),
            String::new(),
            "total".into(),
            String::new(),
            major(row.sales_minor),
            major(row.commission_minor),
            c.clone(),
        ]);
    }
    mas_domain::csv::write(&header, rows)
}
