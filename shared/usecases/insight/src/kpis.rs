//! The KPI read: a period's (and the previous period's) daily rollups of the clinic or one
//! location, read by key range from the live generation: one query, never a scan.

use serde::Serialize;

use mas_domain::error::AppResult;
use mas_domain::ids::{LocationId, TenantId};
use mas_domain::insight::{Dimension, Kpis, Period, Rollup};
use mas_ports::{Query, SortKey};
use mas_store::{Store, from_item, keys};

use crate::projection;

/// A period's KPIs and, when asked, the previous period's.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct KpiReport {
    /// The location the figures are of; absent: the whole clinic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location_id: Option<LocationId>,
    /// Whether money is shown (roles without the full analytics permission see counts only).
    pub money: bool,
    pub current: Kpis,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<Kpis>,
}

/// The rollups of `dimension` over `period`, from the live generation.
pub async fn rollups(store: &Store, t: &TenantId, dimension: &Dimension, period: Period) -> AppResult<Vec<Rollup>> {
    let generation = projection::state(store, t).await?.live;
    let query = Query::partition(keys::insight_rollups_pk(t, generation, &dimension.key()))
        .sk(SortKey::Between(keys::insight_day_sk(period.from), keys::insight_day_sk(period.to)));
    store.table.query_all(&query).await?.into_iter().map(from_item).collect()
}

pub async fn read(
    store: &Store,
    t: &TenantId,
    period: Period,
    location: Option<LocationId>,
    compare: bool,
    money: bool,
) -> AppResult<KpiReport> {
    let dimension = location.clone().map_or(Dimension::Clinic, Dimension::Location);
    let previous = compare.then(|| period.previous());
    let range = Period { from: previous.map_or(period.from, |p| p.from), to: period.to };
    let days = rollups(store, t, &dimension, range).await?;
    let view = |kpis: Kpis| if money { kpis } else { kpis.without_money() };
    Ok(KpiReport {
        location_id: location,
        money,
        current: view(Kpis::of(period, &days)),
        previous: previous.map(|p| view(Kpis::of(p, &days))),
    })
}
