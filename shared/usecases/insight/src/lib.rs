//! Insight: the KPI projections. A worker applies each domain event once to daily rollups
//! (`projection::apply`), the rollups are rebuilt from the tenant's event log into a fresh
//! generation (`projection::rebuild`), and the KPI read takes a period's rollups by key range,
//! never by a scan (`kpis::read`).

pub mod facts;
pub mod kpis;
pub mod projection;
