//! Lists whose cursor came from a caller.

use mas_domain::error::{AppError, AppResult};
use mas_ports::{Page, Query, TableError};
use mas_store::Store;

/// Runs a query whose cursor came from a caller (a list route's `cursor`): a cursor that does not
/// belong to it is the caller's mistake (422 `invalid_cursor`), not ours.
pub async fn page_from_caller(store: &Store, query: Query) -> AppResult<Page> {
    let from_caller = query.cursor.is_some();
    store.table.query(&query).await.map_err(|err| match err {
        TableError::Invalid(_) if from_caller => {
            AppError::invalid("invalid_cursor", "cursor", "not a cursor this list handed out")
        }
        other => other.into(),
    })
}
