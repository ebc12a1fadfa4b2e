//! Lists whose cursor came from a caller.

use mas_domain::error::AppError;
use mas_ports::{Page, Query, TableError};
use mas_store::Store;

/// A caller's list that could not be read.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PagingError {
    /// 422 `invalid_cursor` (field `cursor`): the cursor was not one this list handed out.
    #[error("not a cursor this list handed out")]
    InvalidCursor,
    #[error(transparent)]
    Store(#[from] AppError),
}

impl From<PagingError> for AppError {
    fn from(err: PagingError) -> Self {
        match err {
            PagingError::InvalidCursor => AppError::invalid("invalid_cursor", "cursor", err.to_string()),
            PagingError::Store(err) => err,
        }
    }
}

/// Runs a query whose cursor came from a caller (a list route's `cursor`): a cursor that does not
/// belong to it is the caller's mistake (422 `invalid_cursor`), not ours.
pub async fn page_from_caller(store: &Store, query: Query) -> Result<Page, PagingError> {
    let from_caller = query.cursor.is_some();
    store.table.query(&query).await.map_err(|err| match err {
        TableError::Invalid(_) if from_caller => PagingError::InvalidCursor,
        other => PagingError::Store(other.into()),
    })
}
