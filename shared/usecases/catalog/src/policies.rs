//! A clinic's policy versions: read them, and publish a new one (never changing an old one).

use chrono::{DateTime, NaiveDate, Utc};

use crate::error::CatalogError;
use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::TenantId;
use mas_domain::policy::{Policy, PolicyInput};
use mas_domain::values::TimeZone;
use mas_ports::{Query, SortKey, Write};
use mas_store::keys;
use mas_store::{AuditContext, Plan, Store, from_item, to_item};

/// Every stored version, oldest first (version 0, the platform default, is not stored).
pub async fn versions(store: &Store, tenant: &TenantId) -> AppResult<Vec<Policy>> {
    let query = Query::partition(keys::tenant_pk(tenant)).sk(SortKey::BeginsWith(keys::POLICY_PREFIX.into()));
    store.table.query_all(&query).await?.into_iter().map(from_item).collect()
}

/// The local day `at` falls on in the clinic's zone: policies take effect on local days.
pub fn local_day(at: DateTime<Utc>, timezone: TimeZone) -> NaiveDate {
    at.with_timezone(&timezone.tz()).date_naive()
}

/// The version in force at `at` for a clinic in `timezone`.
pub async fn in_force(store: &Store, tenant: &TenantId, timezone: TimeZone, at: DateTime<Utc>) -> AppResult<Policy> {
    Ok(Policy::in_force(&versions(store, tenant).await?, local_day(at, timezone)))
}

/// One version by number (0 is the platform default).
pub async fn version(store: &Store, tenant: &TenantId, version: u32) -> AppResult<Policy> {
    if version == 0 {
        return Ok(Policy::platform_default());
    }
    store.get(&keys::policy(tenant, version)).await?.ok_or(AppError::NotFound { what: "policy version" })
}

/// Stores `input` as the next version. Two clinics' managers publishing at once cannot both take
/// the same number: the version item is written with "not exists".
pub async fn publish(
    store: &Store,
    audit: &AuditContext,
    timezone: TimeZone,
    input: PolicyInput,
) -> Result<Policy, CatalogError> {
    input.check()?;
    let now = store.clock.now();
    let today = local_day(now, timezone);
    let effective_from = input.effective_from.unwrap_or(today);
    if effective_from < today {
        return Err(CatalogError::PolicyInThePast);
    }
    let existing = versions(store, &audit.tenant_id).await?;
    let number = existing.iter().map(|p| p.version).max().unwrap_or(0) + 1;
    let policy = Policy {
        version: number,
        effective_from,
        created_at: now,
        created_by: audit.actor.clone(),
        // The version's `effective_from` above is the day; the input keeps none, so the flattened
        // record has the key once.
        input: PolicyInput { effective_from: None, ..input },
    };
    let mut plan = Plan::new();
    plan.push(
        Write::put_new(to_item(&keys::policy(&audit.tenant_id, number), "policy", &policy)?),
        AppError::contention("another policy version was published at the same moment; reload and try again"),
    );
    plan.commit(store, audit, "policy.published", &format!("policy-v{number}")).await?;
    Ok(policy)
}
