//! The KPI read: a period's (and the previous period's) daily rollups of the clinic or one
//! location, practitioner or service, read by key range from the live generation: one query, never a scan.

use serde::Serialize;

use mas_domain::error::AppResult;
use mas_domain::ids::TenantId;
use mas_domain::insight::{Dimension, KpiPeriod, Kpis, Rollup};
use mas_ports::{Query, SortKey};
use mas_store::{Store, from_item, keys};

use crate::projection;

/// A period's KPIs and, when asked, the previous period's.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct KpiReport {
    /// What the figures are of: `clinic`, or a location's, practitioner's or service's id.
    pub dimension: String,
    /// Whether money is shown (roles without the full analytics permission see counts only).
    pub money: bool,
    pub current: Kpis,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<Kpis>,
}

/// The rollups of `dimension` over `period`, from the live generation.
pub async fn rollups(store: &Store, t: &TenantId, dimension: &Dimension, period: KpiPeriod) -> AppResult<Vec<Rollup>> {
    let generation = projection::state(store, t).await?.live;
    let query = Query::partition(keys::insight_rollups_pk(t, generation, &dimension.key()))
        .sk(SortKey::Between(keys::insight_day_sk(period.from), keys::insight_day_sk(period.to)));
    store.table.query_all(&query).await?.into_iter().map(from_item).collect()
}

pub async fn read(
    store: &Store,
    t: &TenantId,
    period: KpiPeriod,
    dimension: Dimension,
    compare: bool,
    money: bool,
) -> AppResult<KpiReport> {
    let previous = compare.then(|| period.previous());
    let range = KpiPeriod { from: previous.map_or(period.from, |p| p.from), to: period.to };
    let days = rollups(store, t, &dimension, range).await?;
    let view = |kpis: Kpis| if money { kpis } else { kpis.without_money() };
    Ok(KpiReport {
        dimension: dimension.key(),
        money,
        current: view(Kpis::of(period, &days)),
        previous: previous.map(|p| view(Kpis::of(p, &days))),
    })
}
