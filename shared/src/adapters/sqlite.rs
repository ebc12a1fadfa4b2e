//! TEMPORARY stand-in until the adapters branch merges.
use crate::ports::*;
pub struct SqliteTable;
impl SqliteTable {
    pub fn open(_: &std::path::Path) -> Result<SqliteTable, TableError> { Err(TableError::Unavailable("stub".into())) }
    pub fn open_in_memory() -> Result<SqliteTable, TableError> { Err(TableError::Unavailable("stub".into())) }
}
#[async_trait::async_trait]
impl Table for SqliteTable {
    async fn get(&self, _: &Key) -> Result<Option<Item>, TableError> { unimplemented!() }
    async fn batch_get(&self, _: &[Key]) -> Result<Vec<Item>, TableError> { unimplemented!() }
    async fn query(&self, _: &Query) -> Result<Page, TableError> { unimplemented!() }
    async fn transact(&self, _: Vec<Write>) -> Result<(), TableError> { unimplemented!() }
}
