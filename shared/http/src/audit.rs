//! `GET /v1/audit`: the audit log, for owners and managers (`audit_read`), as JSON pages or CSV.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::{ApiResult, ErrorEnvelope};
use super::extract::{Actor, QueryArgs};
use mas_domain::team::Permission;
use mas_usecases::app::App;
use mas_usecases::audit::{self as ops, AuditFilter, AuditPage};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// `YYYY-MM` (the clinic's records are kept by UTC month); default this month.
    pub month: Option<String>,
    /// A member id (or `system`, `client`, `stripe`, `signup`).
    pub actor: Option<String>,
    /// An exact action (`medical.recorded`) or a family ending in `.` (`medical.`).
    pub action: Option<String>,
    pub entity_id: Option<String>,
    /// `csv` for a file (this page's records, with a header row); JSON otherwise.
    pub format: Option<String>,
    /// At most 500; default 100.
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// The audit log, newest first: who did what to which entity, when, in which request.
#[utoipa::path(get, path = "/v1/audit", tag = "audit", operation_id = "list_audit_records", security(("staff_jwt" = [])), params(AuditQuery),
    responses((status = 200, description = "JSON, or CSV with `format=csv` (this page's records, a header row first)",
            content((AuditPage = "application/json"), (String = "text/csv"))),
        (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn list(
    State(app): State<Arc<App>>,
    actor: Actor,
    QueryArgs(query): QueryArgs<AuditQuery>,
) -> ApiResult<Response> {
    actor.require(Permission::AuditRead)?;
    let month = query.month.unwrap_or_else(|| app.store.clock.now().format("%Y-%m").to_string());
    let filter = AuditFilter { actor: query.actor, action: query.action, entity_id: query.entity_id };
    let limit = query.limit.unwrap_or(100).clamp(1, 500);
    let page = ops::list(&app.store, &actor.tenant_id, &month, &filter, limit, query.cursor).await?;
    Ok(match query.format.as_deref() {
        Some("csv") => {
            let disposition = format!("attachment; filename=\"audit-{month}.csv\"");
            (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                    (header::CONTENT_DISPOSITION, disposition),
                ],
                ops::csv(&page.items),
            )
                .into_response()
        }
        _ => Json(page).into_response(),
    })
}
