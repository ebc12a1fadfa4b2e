//! Embedded table adapter over SQLite (to be written).
pub struct SqliteTable;
