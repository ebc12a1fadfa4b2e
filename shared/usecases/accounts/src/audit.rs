//! Reading the audit log: every mutation's record (who, role, what, which entity, request id,
//! when), one partition per tenant and month, newest first, filtered and paged; CSV for export.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::TenantId;
use mas_domain::team::Role;
use mas_ports::Query;
use mas_store::audit::{Integrity, integrity};
use mas_store::keys;
use mas_store::{AuditContext, Store, from_item};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditRecord {
    pub id: String,
    /// A member id, `client:{id}`, `signup`, `system`, `stripe` or `client`.
    pub actor: String,
    pub role: Option<Role>,
    /// `noun.verb`: `appointment.booked`, `medical.recorded`, `member.signed_in`…
    pub action: String,
    pub entity_id: String,
    pub request_id: String,
    pub at: DateTime<Utc>,
    /// What the action's record says beyond who and which entity (`client.erased`: what was
    /// kept and why); absent for most actions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
    /// Whether the record still says what was written: checked on every read against the seal
    /// in its key (`altered`: the stored item was overwritten after it was written).
    #[serde(default = "unchecked")]
    pub integrity: Integrity,
}

/// What a record read from the table is until `list` checks it.
fn unchecked() -> Integrity {
    Integrity::Unsealed
}

/// What to keep; all given must match.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub actor: Option<String>,
    /// An exact action, or a prefix ending in `.` (`medical.`).
    pub action: Option<String>,
    pub entity_id: Option<String>,
}

impl AuditFilter {
    fn keeps(&self, record: &AuditRecord) -> bool {
        let action = |wanted: &String| match wanted.strip_suffix('.') {
            Some(prefix) => record.action.starts_with(&format!("{prefix}.")),
            None => &record.action == wanted,
        };
        self.actor.as_ref().is_none_or(|a| &record.actor == a)
            && self.action.as_ref().is_none_or(action)
            && self.entity_id.as_ref().is_none_or(|e| &record.entity_id == e)
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditRecord>,
    /// Pass back as `cursor` for the next page; absent on the last.
    pub cursor: Option<String>,
}

/// One page of `month`'s (`YYYY-MM`) records, newest first. Filters apply to each page read,
/// so a page may hold fewer than `limit` records and still have a cursor.
/// A read of the audit log refused, typed; the store's failures are kept whole as the source.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AuditError {
    /// 422 `invalid_month` (field `month`).
    #[error("must be a month such as 2026-12")]
    InvalidMonth,
    #[error(transparent)]
    Cursor(#[from] mas_context::paging::PagingError),
    #[error(transparent)]
    Store(#[from] AppError),
}

impl From<AuditError> for AppError {
    fn from(err: AuditError) -> Self {
        match err {
            AuditError::InvalidMonth => AppError::invalid("invalid_month", "month", err.to_string()),
            AuditError::Cursor(err) => err.into(),
            AuditError::Store(err) => err,
        }
    }
}

pub async fn list(
    store: &Store,
    tenant: &TenantId,
    month: &str,
    filter: &AuditFilter,
    limit: u32,
    cursor: Option<String>,
) -> Result<AuditPage, AuditError> {
    let valid_month = month.len() == 7 && chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").is_ok();
    if !valid_month {
        return Err(AuditError::InvalidMonth);
    }
    let query = Query::partition(keys::audit_month_pk(tenant, month)).descending().limit(limit).after(cursor);
    let page = mas_context::paging::page_from_caller(store, query).await?;
    let records: Vec<AuditRecord> = page
        .items
        .into_iter()
        .map(|item| {
            let checked = integrity(&item);
            if checked == Integrity::Altered {
                tracing::error!(tenant_id = %tenant, "an audit record does not match its seal: it was overwritten");
            }
            from_item::<AuditRecord>(item).map(|record| AuditRecord { integrity: checked, ..record })
        })
        .collect::<AppResult<_>>()?;
    Ok(AuditPage { items: records.into_iter().filter(|r| filter.keeps(r)).collect(), cursor: page.cursor })
}

/// Records that `audit` read clinical data (`action`, e.g. `medical.read`, on `entity_id`): its
/// own write, made before the data is answered, so a read the log cannot record is not answered
/// (503 for the caller to retry). Reads of a client's own data by the client are not logged.
pub async fn record_read(store: &Store, audit: &AuditContext, action: &str, entity_id: &str) -> AppResult<()> {
    record_read_detailed(store, audit, action, entity_id, None).await
}

/// `record_read`, with what the read covered (a calendar's appointment ids).
pub async fn record_read_detailed(
    store: &Store,
    audit: &AuditContext,
    action: &str,
    entity_id: &str,
    details: Option<serde_json::Value>,
) -> AppResult<()> {
    mas_store::Plan::new().commit_detailed(store, audit, action, entity_id, details).await
}

/// The records as CSV (RFC 4180: every field quoted, quotes doubled), with a header row.
pub fn csv(records: &[AuditRecord]) -> String {
    let header = ["at", "actor", "role", "action", "entity_id", "request_id", "id", "integrity"];
    mas_domain::csv::write(
        &header,
        records.iter().map(|r| {
            vec![
                r.at.to_rfc3339(),
                r.actor.clone(),
                r.role.map(|role| format!("{role:?}")).unwrap_or_default(),
                r.action.clone(),
                r.entity_id.clone(),
                r.request_id.clone(),
                r.id.clone(),
                format!("{:?}", r.integrity).to_lowercase(),
            ]
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(action: &str, actor: &str) -> AuditRecord {
        AuditRecord {
            id: "aud_1".into(),
            actor: actor.into(),
            role: Some(Role::Owner),
            action: action.into(),
            entity_id: "cli_1".into(),
            request_id: "req_1".into(),
            at: DateTime::parse_from_rfc3339("2026-12-06T10:00:00Z").unwrap().with_timezone(&Utc),
            details: None,
            integrity: Integrity::Intact,
        }
    }

    #[test]
    fn a_filter_matches_exact_actions_or_a_family_by_its_prefix() {
        let family = AuditFilter { action: Some("medical.".into()), ..Default::default() };
        assert!(family.keeps(&record("medical.recorded", "mem_1")));
        assert!(!family.keeps(&record("medicalx.recorded", "mem_1")));
        let exact =
            AuditFilter { action: Some("medical.recorded".into()), actor: Some("mem_2".into()), ..Default::default() };
        assert!(!exact.keeps(&record("medical.recorded", "mem_1")));
    }

    #[test]
    fn csv_quotes_every_field_and_doubles_quotes() {
        let text = csv(&[record("client.updated", "mem_\"x\"")]);
        assert_eq!(
            text,
            "at,actor,role,action,entity_id,request_id,id,integrity\r\n\"2026-12-06T10:00:00+00:00\",\"mem_\"\"x\"\"\",\"Owner\",\"client.updated\",\"cli_1\",\"req_1\",\"aud_1\",\"intact\"\r\n"
        );
    }
}
