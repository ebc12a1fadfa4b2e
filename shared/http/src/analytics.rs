//! Insight: the clinic's KPIs over a period (JSON, or CSV with `format=csv`), compared with the
//! previous period if asked, and the owners' rebuild of the projections from the event log.
//! Every role that sees the clinic's bookings sees the counts; money (revenue, refunds, the
//! average visit value) only those with the full analytics permission. The role is checked
//! before the query is read (403 before 422).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::{ApiError, ApiResult, ErrorEnvelope};
use super::extract::{Actor, QueryArgs};
use mas_domain::catalog::{LocationInput, PractitionerInput, ServiceInput};
use mas_domain::error::AppError;
use mas_domain::ids::{LocationId, PractitionerId, ServiceId};
use mas_domain::insight::{self, Dimension, KpiPeriod};
use mas_domain::team::Permission;
use mas_usecases::app::App;
use mas_usecases::catalog;
use mas_usecases::insight::Rebuilt;
use mas_usecases::kpis::{self as ops, KpiReport};

#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Compare {
    /// The period of the same length just before.
    Previous,
}

#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Json,
    /// A row per figure (a column per period).
    Csv,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct KpiQuery {
    /// The first local day (YYYY-MM-DD).
    pub from: NaiveDate,
    /// The last local day (included), at most 366 days after `from`.
    pub to: NaiveDate,
    /// One location (default: the whole clinic). At most one of `location_id`,
    /// `practitioner_id` and `service_id`.
    pub location_id: Option<LocationId>,
    /// One practitioner: their visits, and the revenue of the treatment lines they gave.
    pub practitioner_id: Option<PractitionerId>,
    /// One service: its visits, and the revenue of its treatment lines.
    pub service_id: Option<ServiceId>,
    /// `previous`: the same figures for the period just before.
    #[param(inline)]
    pub compare: Option<Compare>,
    /// `csv` for a file; JSON otherwise.
    #[param(inline)]
    pub format: Option<Format>,
}

/// The KPIs of a period from the daily rollups the projections keep (read by key range, never
/// a scan): bookings (online and at the desk), completed visits, show and no-show rates,
/// cancellations by who cancelled, revenue and refunds, the average visit value, new and
/// returning clients' visits, rebooking within 30/60/90 days and booked minutes, with each day.
#[utoipa::path(get, path = "/v1/analytics/kpis", tag = "analytics", operation_id = "get_kpis", security(("staff_jwt" = [])),
    params(KpiQuery),
    responses((status = 200, description = "JSON, or CSV with `format=csv` (money left out for roles that may not see it)",
            content((KpiReport = "application/json"), (String = "text/csv"))),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn kpis(
    State(app): State<Arc<App>>,
    actor: Actor,
    query: Result<QueryArgs<KpiQuery>, ApiError>,
) -> ApiResult<Response> {
    actor.require(Permission::AnalyticsLimited)?;
    let QueryArgs(query) = query?;
    let t = &actor.tenant_id;
    let period =
        KpiPeriod::new(query.from, query.to).map_err(|e| AppError::invalid("bad_period", "to", e.to_string()))?;
    let dimension = match (query.location_id, query.practitioner_id, query.service_id) {
        (None, None, None) => Dimension::Clinic,
        (Some(id), None, None) => {
            catalog::get::<LocationInput>(&app.store, t, &id).await?;
            Dimension::Location(id)
        }
        (None, Some(id), None) => {
            catalog::get::<PractitionerInput>(&app.store, t, &id).await?;
            Dimension::Practitioner(id)
        }
        (None, None, Some(id)) => {
            catalog::get::<ServiceInput>(&app.store, t, &id).await?;
            Dimension::Service(id)
        }
        _ => {
            let message = "give at most one of location_id, practitioner_id and service_id";
            return Err(AppError::invalid("one_dimension", "location_id", message).into());
        }
    };
    let money = actor.member.input.role.allows(Permission::AnalyticsFull);
    let compare = matches!(query.compare, Some(Compare::Previous));
    let report = ops::read(&app.store, t, period, dimension, compare, money).await?;
    Ok(match query.format {
        Some(Format::Csv) => {
            let disposition = format!("attachment; filename=\"kpis-{}-{}.csv\"", period.from, period.to);
            (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                    (header::CONTENT_DISPOSITION, disposition),
                ],
                insight::csv(&report.current, report.previous.as_ref(), money),
            )
                .into_response()
        }
        _ => Json(report).into_response(),
    })
}

/// Rebuilds the clinic's KPI projections from its event log into a fresh generation and makes
/// it the one read (owners; audited). Runs in the request: for a clinic with years of events,
/// the worker's path is Open work (README).
#[utoipa::path(post, path = "/v1/analytics/rebuild", tag = "analytics", operation_id = "rebuild_kpis", security(("staff_jwt" = [])),
    responses((status = 200, body = Rebuilt), (status = 403, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)))]
pub async fn rebuild(State(app): State<Arc<App>>, actor: Actor) -> ApiResult<Json<Rebuilt>> {
    actor.require(Permission::InsightRebuild)?;
    Ok(Json(mas_usecases::insight::rebuild(&app.store, &actor.audit()).await?))
}
