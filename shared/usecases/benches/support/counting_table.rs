//! A table that counts the read requests made through it (each Query page, each GetItem, each
//! BatchGetItem of up to 100 keys: one request each on DynamoDB), for the benchmarks' reports.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use mas_ports::{Item, Key, Page, Query, Table, TableError, Write};

pub struct CountingTable {
    inner: Arc<dyn Table>,
    /// Query pages.
    pub queries: AtomicUsize,
    /// GetItem and BatchGetItem requests.
    pub point_reads: AtomicUsize,
}

impl CountingTable {
    pub fn over(inner: Arc<dyn Table>) -> Arc<CountingTable> {
        Arc::new(CountingTable { inner, queries: AtomicUsize::new(0), point_reads: AtomicUsize::new(0) })
    }

    /// Every read request so far.
    #[allow(dead_code)] // Not every benchmark reports point reads.
    pub fn reads(&self) -> usize {
        self.queries.load(Ordering::Relaxed) + self.point_reads.load(Ordering::Relaxed)
    }
}

#[async_trait]
impl Table for CountingTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError> {
        self.point_reads.fetch_add(1, Ordering::Relaxed);
        self.inner.get(key).await
    }
    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, TableError> {
        self.point_reads.fetch_add(keys.len().div_ceil(100), Ordering::Relaxed);
        self.inner.batch_get(keys).await
    }
    async fn query(&self, query: &Query) -> Result<Page, TableError> {
        self.queries.fetch_add(1, Ordering::Relaxed);
        self.inner.query(query).await
    }
    async fn transact(&self, writes: Vec<Write>) -> Result<(), TableError> {
        self.inner.transact(writes).await
    }
}
