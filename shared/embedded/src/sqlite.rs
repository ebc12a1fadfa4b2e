//! Embedded table adapter: the table port over one SQLite file, with DynamoDB's key order,
//! conditions and all-or-nothing transactions.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior, params, params_from_iter};
use serde_json::Value;
use tokio::sync::Mutex;

use mas_ports::cursor::Cursor;
use mas_ports::table::{
    GSI1PK, GSI1SK, Index, Item, Key, PK, Page, Query, SK, SortKey, TTL, Table, TableError, Write, validate_key,
    validate_query, validate_transaction,
};

/// Text columns use BINARY collation: memcmp of UTF-8, which is DynamoDB's string key order.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS items (
    pk     TEXT NOT NULL COLLATE BINARY,
    sk     TEXT NOT NULL COLLATE BINARY,
    gsi1pk TEXT COLLATE BINARY,
    gsi1sk TEXT COLLATE BINARY,
    ttl    INTEGER,
    doc    TEXT NOT NULL,
    PRIMARY KEY (pk, sk)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS items_gsi1 ON items (gsi1pk, gsi1sk);
CREATE INDEX IF NOT EXISTS items_ttl ON items (ttl) WHERE ttl IS NOT NULL;
-- The audit log is append-only in storage itself: no update, delete or overwriting put of an
-- item in an audit partition (`TENANT#t#AUDIT#month`), whoever asks. On DynamoDB, IAM forbids
-- updates and deletes and each record's key carries its seal (mas_store::audit).
CREATE TRIGGER IF NOT EXISTS audit_records_are_never_replaced BEFORE INSERT ON items
    WHEN new.pk GLOB '*#AUDIT#*' AND EXISTS (SELECT 1 FROM items WHERE pk = new.pk AND sk = new.sk)
    BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_records_are_never_updated BEFORE UPDATE ON items
    WHEN old.pk GLOB '*#AUDIT#*'
    BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_records_are_never_deleted BEFORE DELETE ON items
    WHEN old.pk GLOB '*#AUDIT#*'
    BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
";

/// How long a write waits for another process holding the file's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

pub struct SqliteTable {
    // One connection: SQLite serializes writers anyway and reads take microseconds. The async
    // mutex keeps waiting callers off the blocking thread pool.
    conn: Arc<Mutex<Connection>>,
}

impl SqliteTable {
    /// Opens (creating the file, its parent directories and the schema if needed) a table file.
    pub fn open(path: &Path) -> Result<SqliteTable, TableError> {
        if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| TableError::Unavailable(format!("creating {}: {e}", parent.display())))?;
        }
        let conn = Connection::open(path).map_err(sql_error)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sql_error)?;
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0)).map_err(sql_error)?;
        // FULL: a commit is on disk when it returns (NORMAL in WAL mode may lose the last
        // commits on power loss, and a booking the client saw confirmed must not vanish).
        conn.pragma_update(None, "synchronous", "FULL").map_err(sql_error)?;
        SqliteTable::with_schema(conn)
    }

    pub fn open_in_memory() -> Result<SqliteTable, TableError> {
        SqliteTable::with_schema(Connection::open_in_memory().map_err(sql_error)?)
    }

    fn with_schema(conn: Connection) -> Result<SqliteTable, TableError> {
        conn.execute_batch(SCHEMA).map_err(sql_error)?;
        Ok(SqliteTable { conn: Arc::new(Mutex::new(conn)) })
    }

    /// Deletes items whose `ttl` is before `now`, as DynamoDB's TTL sweeper eventually does;
    /// returns how many went. Nothing relies on it for correctness: expiry that matters is a
    /// condition (`AbsentOrExpired`).
    pub async fn purge_expired(&self, now: DateTime<Utc>) -> Result<usize, TableError> {
        let now = now.timestamp();
        self.run(move |conn| {
            conn.execute("DELETE FROM items WHERE ttl IS NOT NULL AND ttl < ?1", [now]).map_err(sql_error)
        })
        .await
    }

    /// Runs blocking SQLite work off the async threads, holding the connection.
    async fn run<T, F>(&self, work: F) -> Result<T, TableError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, TableError> + Send + 'static,
    {
        let mut conn = Arc::clone(&self.conn).lock_owned().await;
        tokio::task::spawn_blocking(move || work(&mut conn))
            .await
            .map_err(|e| TableError::Unavailable(format!("sqlite worker failed: {e}")))?
    }
}

#[async_trait]
impl Table for SqliteTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError> {
        validate_key(key)?;
        let key = key.clone();
        self.run(move |conn| read_item(conn, &key)).await
    }

    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, TableError> {
        keys.iter().try_for_each(validate_key)?;
        let keys: std::collections::BTreeSet<Key> = keys.iter().cloned().collect();
        self.run(move |conn| {
            // One read transaction, so the items come from one snapshot.
            let tx = conn.transaction().map_err(sql_error)?;
            let mut items = Vec::with_capacity(keys.len());
            for key in &keys {
                items.extend(read_item(&tx, key)?);
            }
            tx.commit().map_err(sql_error)?;
            Ok(items)
        })
        .await
    }

    async fn query(&self, query: &Query) -> Result<Page, TableError> {
        validate_query(query)?;
        let cursor = Cursor::of(query)?;
        let (sql, params) = select_sql(query, cursor.as_ref());
        let (index, limit) = (query.index, query.limit.map(|limit| limit as usize));
        self.run(move |conn| {
            let mut statement = conn.prepare_cached(&sql).map_err(sql_error)?;
            let docs = statement
                .query_map(params_from_iter(params), |row| row.get::<_, String>(0))
                .and_then(Iterator::collect::<Result<Vec<String>, _>>)
                .map_err(sql_error)?;
            let items = docs.iter().map(|doc| parse_doc(doc)).collect::<Result<Vec<Item>, _>>()?;
            page(index, limit, items)
        })
        .await
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), TableError> {
        validate_transaction(&writes)?;
        self.run(move |conn| {
            // IMMEDIATE takes the write lock up front, so concurrent transactions (from any
            // process) queue instead of failing when they upgrade from reading to writing.
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sql_error)?;
            for (index, write) in writes.into_iter().enumerate() {
                apply(&tx, index, write)?;
            }
            tx.commit().map_err(sql_error)
        })
        .await
    }
}

/// Splits the `limit + 1` rows a query fetched into a page, with a cursor only when more follow.
fn page(index: Index, limit: Option<usize>, mut items: Vec<Item>) -> Result<Page, TableError> {
    let cursor = match limit {
        Some(limit) if items.len() > limit => {
            items.truncate(limit);
            items.last().map(|last| Cursor::text_after(index, last)).transpose()?
        }
        _ => None,
    };
    Ok(Page { items, cursor })
}

/// The SQL for one page of `query` (starting after `cursor`), and its parameters.
fn select_sql(query: &Query, cursor: Option<&Cursor>) -> (String, Vec<SqlValue>) {
    let (partition, sort, order): (&str, &str, &[&str]) = match query.index {
        Index::Primary => ("pk", "sk", &["sk"]),
        // Ties on GSI1SK are broken by the primary key, which the cursor carries.
        Index::Gsi1 => ("gsi1pk", "gsi1sk", &["gsi1sk", "pk", "sk"]),
    };
    let mut sql = format!("SELECT doc FROM items WHERE {partition} = ? AND {sort} IS NOT NULL");
    let mut params = vec![SqlValue::Text(query.pk.clone())];
    if let Some(condition) = &query.sk {
        sort_condition(sort, condition, &mut sql, &mut params);
    }
    if let Some(cursor) = cursor {
        let after: Vec<&String> = match query.index {
            Index::Primary => vec![&cursor.sk],
            Index::Gsi1 => cursor.gsi1sk.iter().chain([&cursor.pk, &cursor.sk]).collect(),
        };
        let placeholders = vec!["?"; after.len()].join(", ");
        let op = if query.descending { "<" } else { ">" };
        sql += &format!(" AND ({}) {op} ({placeholders})", order.join(", "));
        params.extend(after.into_iter().map(|value| SqlValue::Text(value.clone())));
    }
    let direction = if query.descending { "DESC" } else { "ASC" };
    let order: Vec<String> = order.iter().map(|column| format!("{column} {direction}")).collect();
    sql += &format!(" ORDER BY {}", order.join(", "));
    if let Some(limit) = query.limit {
        sql += " LIMIT ?";
        params.push(SqlValue::Integer(i64::from(limit) + 1));
    }
    (sql, params)
}

fn sort_condition(column: &str, condition: &SortKey, sql: &mut String, params: &mut Vec<SqlValue>) {
    let text = |value: &String| SqlValue::Text(value.clone());
    let (clause, values) = match condition {
        SortKey::Eq(value) => (format!("{column} = ?"), vec![text(value)]),
        SortKey::Gt(value) => (format!("{column} > ?"), vec![text(value)]),
        SortKey::Ge(value) => (format!("{column} >= ?"), vec![text(value)]),
        SortKey::Lt(value) => (format!("{column} < ?"), vec![text(value)]),
        SortKey::Le(value) => (format!("{column} <= ?"), vec![text(value)]),
        SortKey::Between(low, high) => (format!("{column} BETWEEN ? AND ?"), vec![text(low), text(high)]),
        SortKey::BeginsWith(prefix) => match prefix_end(prefix) {
            Some(end) => (format!("{column} >= ? AND {column} < ?"), vec![text(prefix), SqlValue::Text(end)]),
            None => (format!("{column} >= ?"), vec![text(prefix)]),
        },
    };
    *sql += &format!(" AND {clause}");
    params.extend(values);
}

/// The least string above every string starting with `prefix` (UTF-8 byte order is code point
/// order), so a prefix match is a range the index can walk; `None` if no such string exists.
fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32);
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

fn apply(tx: &Connection, index: usize, write: Write) -> Result<(), TableError> {
    let key = write.key().ok_or_else(|| TableError::Invalid(format!("write {index} has no key")))?;
    let current = read_item(tx, &key)?;
    if write.condition().is_some_and(|condition| !condition.holds_for(current.as_ref())) {
        return Err(TableError::ConditionFailed { index });
    }
    match write {
        Write::Put { item, .. } => store(tx, &key, &item),
        Write::Update { set, add, remove, .. } => {
            let mut item = current.unwrap_or_else(|| key_item(&key));
            item.extend(set);
            for name in remove {
                item.remove(&name);
            }
            for (name, by) in add {
                let sum = add_to(item.get(&name), by).ok_or_else(|| {
                    TableError::Invalid(format!("write {index} adds to {name}, which is not a number"))
                })?;
                item.insert(name, sum);
            }
            store(tx, &key, &item)
        }
        Write::Delete { .. } => {
            tx.prepare_cached("DELETE FROM items WHERE pk = ?1 AND sk = ?2")
                .and_then(|mut statement| statement.execute(params![key.pk, key.sk]))
                .map_err(sql_error)?;
            Ok(())
        }
        Write::Check { .. } => Ok(()),
    }
}

fn key_item(key: &Key) -> Item {
    Item::from_iter([(PK.to_owned(), Value::from(key.pk.as_str())), (SK.to_owned(), Value::from(key.sk.as_str()))])
}

/// `current + by` as DynamoDB's ADD computes it (missing counts as 0); `None` if not a number.
fn add_to(current: Option<&Value>, by: i64) -> Option<Value> {
    let Some(current) = current else { return Some(by.into()) };
    let whole = current.as_i64().map(i128::from).or_else(|| current.as_u64().map(i128::from));
    match whole {
        Some(whole) => {
            let sum = whole + i128::from(by);
            Some(
                i64::try_from(sum)
                    .map(Value::from)
                    .or_else(|_| u64::try_from(sum).map(Value::from))
                    .unwrap_or_else(|_| (sum as f64).into()),
            )
        }
        None => current.as_f64().map(|current| (current + by as f64).into()),
    }
}

fn read_item(conn: &Connection, key: &Key) -> Result<Option<Item>, TableError> {
    let doc = conn
        .prepare_cached("SELECT doc FROM items WHERE pk = ?1 AND sk = ?2")
        .and_then(|mut statement| {
            statement.query_row(params![key.pk, key.sk], |row| row.get::<_, String>(0)).optional()
        })
        .map_err(sql_error)?;
    doc.map(|doc| parse_doc(&doc)).transpose()
}

fn store(tx: &Connection, key: &Key, item: &Item) -> Result<(), TableError> {
    let text = |name: &str| item.get(name).and_then(Value::as_str);
    let ttl = item.get(TTL).and_then(|ttl| ttl.as_i64().or_else(|| ttl.as_f64().map(|ttl| ttl as i64)));
    let doc = serde_json::to_string(item).map_err(|e| TableError::Invalid(format!("item is not storable: {e}")))?;
    tx.prepare_cached(
        "INSERT OR REPLACE INTO items (pk, sk, gsi1pk, gsi1sk, ttl, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut statement| statement.execute(params![key.pk, key.sk, text(GSI1PK), text(GSI1SK), ttl, doc]))
    .map_err(sql_error)?;
    Ok(())
}

fn parse_doc(doc: &str) -> Result<Item, TableError> {
    serde_json::from_str(doc).map_err(|e| TableError::Unavailable(format!("stored item is not a JSON object: {e}")))
}

fn sql_error(err: rusqlite::Error) -> TableError {
    match err.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => TableError::Contention,
        // A trigger's refusal (the audit log is append-only): the request, not the backend.
        Some(ErrorCode::ConstraintViolation) => TableError::Invalid(format!("sqlite: {err}")),
        _ => TableError::Unavailable(format!("sqlite: {err}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(value: Value) -> Item {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn a_prefix_range_ends_just_past_every_string_with_that_prefix() {
        assert_eq!(prefix_end("LOC#").as_deref(), Some("LOC$"));
        assert_eq!(prefix_end("a\u{D7FF}").as_deref(), Some("a\u{E000}"));
        assert_eq!(prefix_end("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_end("\u{10FFFF}"), None);
        let end = prefix_end("ab").unwrap();
        for inside in ["ab", "ab\u{0}", "ab\u{10FFFF}", "abzzz"] {
            assert!(inside >= "ab" && inside < end.as_str(), "{inside:?}");
        }
        assert!("ac" >= end.as_str());
    }

    #[test]
    fn add_follows_dynamodb_number_arithmetic() {
        assert_eq!(add_to(None, -3), Some(json!(-3)));
        assert_eq!(add_to(Some(&json!(i64::MAX)), 1), Some(json!(i64::MAX as u64 + 1)));
        assert_eq!(add_to(Some(&json!(1.5)), 1), Some(json!(2.5)));
        assert_eq!(add_to(Some(&json!("1")), 1), None);
    }

    #[tokio::test]
    async fn an_audit_record_can_be_added_but_never_overwritten_updated_or_deleted() {
        let table = SqliteTable::open_in_memory().unwrap();
        let key = Key::new("TENANT#t#AUDIT#2026-12", "2026-12-07T10:00:00.000Z#aud_1#ab");
        let record = |actor: &str| item(json!({"PK": key.pk, "SK": key.sk, "actor": actor}));
        table.transact(vec![Write::put_new(record("mem_1"))]).await.unwrap();
        let overwrite = table.transact(vec![Write::put(record("mem_2"))]).await;
        assert!(matches!(overwrite, Err(TableError::Invalid(_))), "{overwrite:?}");
        let delete = table.transact(vec![Write::Delete { key: key.clone(), condition: None }]).await;
        assert!(matches!(delete, Err(TableError::Invalid(_))), "{delete:?}");
        assert_eq!(table.get(&key).await.unwrap().unwrap()["actor"], "mem_1");
        // Any other item is overwritten and deleted as before.
        let other = Key::new("TENANT#t", "CLIENT#c");
        let client = |name: &str| item(json!({"PK": other.pk, "SK": other.sk, "name": name}));
        table.transact(vec![Write::put(client("a"))]).await.unwrap();
        table.transact(vec![Write::put(client("b"))]).await.unwrap();
        table.transact(vec![Write::Delete { key: other.clone(), condition: None }]).await.unwrap();
        assert!(table.get(&other).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn open_creates_parent_directories_and_the_data_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/deeper/table.db");
        let table = SqliteTable::open(&path).unwrap();
        table.transact(vec![Write::put(item(json!({"PK": "p", "SK": "s", "n": 1})))]).await.unwrap();
        drop(table);
        let reopened = SqliteTable::open(&path).unwrap();
        assert_eq!(reopened.get(&Key::new("p", "s")).await.unwrap(), Some(item(json!({"PK": "p", "SK": "s", "n": 1}))));
        let mode: String = reopened.conn.lock().await.query_row("PRAGMA journal_mode", [], |row| row.get(0)).unwrap();
        assert_eq!(mode, "wal");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn two_handles_on_one_file_serialize_their_transactions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("table.db");
        let tables = [Arc::new(SqliteTable::open(&path).unwrap()), Arc::new(SqliteTable::open(&path).unwrap())];
        // Each booking claims the same 60 cells, so the transactions overlap in time.
        let booking = |n: usize| -> Vec<Write> {
            (0..60)
                .map(|cell| Write::put_new(item(json!({"PK": "day", "SK": format!("LOCK#{cell:02}"), "by": n}))))
                .collect()
        };
        let claims: Vec<_> = (0..16)
            .map(|n| {
                let table = Arc::clone(&tables[n % 2]);
                let writes = booking(n);
                tokio::spawn(async move { table.transact(writes).await })
            })
            .collect();
        let mut outcomes = Vec::new();
        for claim in claims {
            outcomes.push(claim.await.unwrap());
        }
        assert_eq!(outcomes.iter().filter(|outcome| outcome.is_ok()).count(), 1, "{outcomes:?}");
        assert!(
            outcomes.iter().all(|outcome| matches!(outcome, Ok(()) | Err(TableError::ConditionFailed { index: 0 })))
        );
    }

    #[tokio::test]
    async fn purging_removes_only_items_whose_ttl_has_passed() {
        let table = SqliteTable::open_in_memory().unwrap();
        let now = DateTime::from_timestamp(1_000, 0).unwrap();
        let items = [
            json!({"PK": "p", "SK": "old", "ttl": 999}),
            json!({"PK": "p", "SK": "now", "ttl": 1_000}),
            json!({"PK": "p", "SK": "keep"}),
        ];
        table.transact(items.into_iter().map(|value| Write::put(item(value))).collect()).await.unwrap();
        assert_eq!(table.purge_expired(now).await, Ok(1));
        let left = table.query_all(&Query::partition("p")).await.unwrap();
        assert_eq!(left.iter().map(|item| item["SK"].as_str().unwrap()).collect::<Vec<_>>(), ["keep", "now"]);
    }

    #[tokio::test]
    async fn an_update_that_sets_a_ttl_fills_the_ttl_column() {
        let table = SqliteTable::open_in_memory().unwrap();
        let update = Write::Update {
            key: Key::new("p", "s"),
            set: item(json!({"ttl": 5})),
            add: Default::default(),
            remove: vec![],
            condition: None,
        };
        table.transact(vec![update]).await.unwrap();
        assert_eq!(table.purge_expired(DateTime::from_timestamp(6, 0).unwrap()).await, Ok(1));
    }
}
