//! Commissions: the clinic's plan (read by those who see money, saved by owners and managers)
//! and a period's payout report, as JSON or CSV. The role is checked before the body or query is
//! read (403 before 422).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ApiResult, ErrorEnvelope};
use super::extract::{Actor, JsonBody, QueryArgs};
use mas_domain::commission::CommissionPlanInput;
use mas_domain::ids::LocationId;
use mas_domain::team::Permission;
use mas_usecases::app::App;
use mas_usecases::catalog;
use mas_usecases::commissions::{self as ops, CommissionPlan, CommissionReport};

/// The plan in force: its rules in order (the most specific matching rule pays a line).
#[utoipa::path(get, path = "/v1/commissions/plan", tag = "commissions", operation_id = "get_commission_plan", security(("staff_jwt" = [])),
    responses((status = 200, body = CommissionPlan), (status = 403, body = ErrorEnvelope)))]
pub async fn get_plan(State(app): State<Arc<App>>, actor: Actor) -> ApiResult<Json<CommissionPlan>> {
    actor.require(Permission::AnalyticsFull)?;
    Ok(Json(ops::plan(&app.store, &actor.tenant_id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanInput {
    #[serde(flatten)]
    pub plan: CommissionPlanInput,
    /// The version read; when given, a plan saved meanwhile makes this 409 `stale_version`.
    pub expected_version: Option<u64>,
}

/// Replaces the plan (owners and managers), audited.
#[utoipa::path(put, path = "/v1/commissions/plan", tag = "commissions", operation_id = "save_commission_plan", security(("staff_jwt" = [])),
    request_body = PlanInput,
    responses((status = 200, body = CommissionPlan), (status = 403, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn save_plan(
    State(app): State<Arc<App>>,
    actor: Actor,
    input: Result<JsonBody<PlanInput>, ApiError>,
) -> ApiResult<Json<CommissionPlan>> {
    actor.require(Permission::TeamWrite)?;
    let JsonBody(input) = input?;
    Ok(Json(ops::save_plan(&app.store, &actor.audit(), input.plan, input.expected_version).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// The first local day (YYYY-MM-DD).
    pub from: NaiveDate,
    /// The last local day, at most 62 days after `from`.
    pub to: NaiveDate,
    /// One location (default: every location the caller works at).
    pub location_id: Option<LocationId>,
    /// `csv` for a file (a row per line, then a total per practitioner); JSON otherwise.
    pub format: Option<String>,
}

/// The commissions of a period per practitioner, each line with the rule it was paid under:
/// sales made in the period, less the shares of voids and refunds made in it.
#[utoipa::path(get, path = "/v1/commissions/report", tag = "commissions", operation_id = "get_commission_report", security(("staff_jwt" = [])),
    params(ReportQuery),
    responses((status = 200, description = "JSON, or CSV with `format=csv`",
            content((CommissionReport = "application/json"), (String = "text/csv"))),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn report(
    State(app): State<Arc<App>>,
    actor: Actor,
    query: Result<QueryArgs<ReportQuery>, ApiError>,
) -> ApiResult<Response> {
    actor.require(Permission::AnalyticsFull)?;
    let QueryArgs(query) = query?;
    let t = &actor.tenant_id;
    let report = ops::report(&app.store, t, &actor.reach(), query.from, query.to, query.location_id.as_ref()).await?;
    Ok(match query.format.as_deref() {
        Some("csv") => {
            let practitioners = catalog::list::<mas_domain::catalog::PractitionerInput>(&app.store, t, true).await?;
            let name_of = |id: &mas_domain::ids::PractitionerId| {
                practitioners
                    .iter()
                    .find(|p| &p.id == id)
                    .map_or_else(|| id.to_string(), |p| p.data.display_name.to_string())
            };
            let disposition = format!("attachment; filename=\"commissions-{}-{}.csv\"", query.from, query.to);
            (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                    (header::CONTENT_DISPOSITION, disposition),
                ],
                ops::csv(&report, name_of),
            )
                .into_response()
        }
        _ => Json(report).into_response(),
    })
}
