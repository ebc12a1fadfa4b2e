//! The use cases: what a request or a worker does, by capability, over the ports and the store,
//! with every race decided by a conditional write. Handlers, workers, the demo seed and tests all
//! call these; `app::App` carries the ports a host built.

pub mod app;
pub mod appointments;
pub mod audit;
pub mod auth;
pub mod availability;
pub mod care_team;
pub mod catalog;
pub mod clients;
pub mod demo;
pub mod documents;
pub mod esign;
pub mod gdpr;
pub mod limits;
pub mod local_identity;
pub mod medical;
pub mod notifications;
pub mod payments;
pub mod policies;
pub mod portal;
pub mod public_catalog;
pub mod routing;
pub mod sales;
pub mod screening;
pub mod site;
pub mod stripe_events;
pub mod team;
pub mod templates;
pub mod tenants;
pub mod tokens;
pub mod workers;

/// Runs a query whose cursor came from a caller (a list route's `cursor`): a cursor that does not
/// belong to it is the caller's mistake (422 `invalid_cursor`), not ours.
pub(crate) async fn page_from_caller(
    store: &mas_store::Store,
    query: mas_ports::Query,
) -> mas_domain::error::AppResult<mas_ports::Page> {
    let from_caller = query.cursor.is_some();
    store.table.query(&query).await.map_err(|err| match err {
        mas_ports::TableError::Invalid(_) if from_caller => {
            mas_domain::error::AppError::invalid("invalid_cursor", "cursor", "not a cursor this list handed out")
        }
        other => other.into(),
    })
}
