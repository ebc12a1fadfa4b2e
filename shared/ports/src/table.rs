//! The table port: one DynamoDB-shaped table of items addressed by `PK`/`SK`, a sparse `GSI1`,
//! and conditional transactional writes. Both adapters (DynamoDB, SQLite) pass the same contract.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use serde_json::Value;

/// An item: attribute name → JSON value. `PK` and `SK` are required; `GSI1PK`/`GSI1SK` put the
/// item on the GSI1 index (both or neither); `ttl` (epoch seconds) marks it for expiry.
pub type Item = serde_json::Map<String, Value>;

pub const PK: &str = "PK";
pub const SK: &str = "SK";
pub const GSI1PK: &str = "GSI1PK";
pub const GSI1SK: &str = "GSI1SK";
pub const TTL: &str = "ttl";

/// The most writes one transaction may carry (DynamoDB's limit, enforced by both adapters).
pub const MAX_TRANSACTION_WRITES: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Key { pk: pk.into(), sk: sk.into() }
    }

    /// The key of an item, if it has string `PK` and `SK` attributes.
    pub fn of(item: &Item) -> Option<Key> {
        Some(Key::new(item.get(PK)?.as_str()?, item.get(SK)?.as_str()?))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Index {
    Primary,
    /// Partition `GSI1PK`, sort `GSI1SK`; only items carrying both attributes appear.
    Gsi1,
}

/// A condition on the sort key of a query (compared as UTF-8 bytes, like DynamoDB strings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortKey {
    Eq(String),
    BeginsWith(String),
    /// Inclusive on both ends.
    Between(String, String),
    Gt(String),
    Ge(String),
    Lt(String),
    Le(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub index: Index,
    pub pk: String,
    pub sk: Option<SortKey>,
    /// Descending sort-key order when true.
    pub descending: bool,
    /// At most this many items in one page.
    pub limit: Option<u32>,
    /// The `cursor` of the previous page, to continue after it.
    pub cursor: Option<String>,
}

impl Query {
    pub fn partition(pk: impl Into<String>) -> Self {
        Query { index: Index::Primary, pk: pk.into(), sk: None, descending: false, limit: None, cursor: None }
    }

    pub fn gsi1(pk: impl Into<String>) -> Self {
        Query { index: Index::Gsi1, ..Query::partition(pk) }
    }

    pub fn sk(mut self, condition: SortKey) -> Self {
        self.sk = Some(condition);
        self
    }

    pub fn descending(mut self) -> Self {
        self.descending = true;
        self
    }

    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    pub fn after(mut self, cursor: Option<String>) -> Self {
        self.cursor = cursor;
        self
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Page {
    pub items: Vec<Item>,
    /// Present when more items may follow; opaque, adapter-specific, URL-safe.
    pub cursor: Option<String>,
}

/// A condition a write requires of the item currently stored under its key.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    NotExists,
    Exists,
    /// The item exists and `attr` equals `value` (optimistic versions, status guards).
    Equals {
        attr: String,
        value: Value,
    },
    /// The item does not exist, or its numeric `attr` is below `before` (an expired hold).
    AbsentOrExpired {
        attr: String,
        before: i64,
    },
    /// One slot inside an item is free: the item or its `attr` is absent, or its numeric
    /// `expires` is below `before` (a claim block's cell that nobody holds, or an expired hold).
    SlotFree {
        attr: String,
        expires: String,
        before: i64,
    },
    /// Every one of these holds (one write that checks several slots of one item).
    All(Vec<Condition>),
}

impl Condition {
    pub fn equals(attr: impl Into<String>, value: impl Into<Value>) -> Self {
        Condition::Equals { attr: attr.into(), value: value.into() }
    }

    /// Does a stored item (or its absence) satisfy this condition? The embedded adapter decides
    /// with this; the DynamoDB adapter translates the same meaning into a condition expression.
    pub fn holds_for(&self, current: Option<&Item>) -> bool {
        match (self, current) {
            (Condition::NotExists, current) => current.is_none(),
            (Condition::Exists, current) => current.is_some(),
            (Condition::Equals { .. }, None) => false,
            (Condition::Equals { attr, value }, Some(item)) => {
                item.get(attr).is_some_and(|stored| same_value(stored, value))
            }
            (Condition::AbsentOrExpired { .. }, None) => true,
            (Condition::AbsentOrExpired { attr, before }, Some(item)) => {
                item.get(attr).is_some_and(|at| is_before(at, *before))
            }
            (Condition::SlotFree { .. }, None) => true,
            (Condition::SlotFree { attr, expires, before }, Some(item)) => {
                item.get(attr).is_none_or(Value::is_null) || item.get(expires).is_some_and(|at| is_before(at, *before))
            }
            (Condition::All(all), current) => all.iter().all(|condition| condition.holds_for(current)),
        }
    }
}

/// Equality as DynamoDB sees it: numbers compare by value, so `1` equals `1.0`.
fn same_value(stored: &Value, wanted: &Value) -> bool {
    match (stored, wanted) {
        (Value::Number(a), Value::Number(b)) => match (a.as_i64(), b.as_i64()) {
            (Some(a), Some(b)) => a == b,
            _ => a.as_u64().zip(b.as_u64()).map_or_else(|| a.as_f64() == b.as_f64(), |(a, b)| a == b),
        },
        _ => stored == wanted,
    }
}

/// `at < before` for any JSON number (DynamoDB compares a fractional `9.5` too); not a number → false.
fn is_before(at: &Value, before: i64) -> bool {
    match at.as_i64() {
        Some(at) => at < before,
        None => at.as_f64().is_some_and(|at| at < before as f64),
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// Replace the whole item.
    Put {
        item: Item,
        condition: Option<Condition>,
    },
    /// Change some attributes, creating the item if absent (as DynamoDB's UpdateItem does).
    /// `add` adds to numeric attributes, treating a missing one as 0.
    Update {
        key: Key,
        set: Item,
        add: BTreeMap<String, i64>,
        remove: Vec<String>,
        condition: Option<Condition>,
    },
    Delete {
        key: Key,
        condition: Option<Condition>,
    },
    /// Writes nothing; fails the transaction unless the condition holds.
    Check {
        key: Key,
        condition: Condition,
    },
}

impl Write {
    pub fn put(item: Item) -> Self {
        Write::Put { item, condition: None }
    }

    pub fn put_new(item: Item) -> Self {
        Write::Put { item, condition: Some(Condition::NotExists) }
    }

    pub fn put_if(item: Item, condition: Condition) -> Self {
        Write::Put { item, condition: Some(condition) }
    }

    pub fn delete(key: Key) -> Self {
        Write::Delete { key, condition: None }
    }

    pub fn delete_if(key: Key, condition: Condition) -> Self {
        Write::Delete { key, condition: Some(condition) }
    }

    pub fn check(key: Key, condition: Condition) -> Self {
        Write::Check { key, condition }
    }

    /// The key this write touches; `None` for a put whose item lacks `PK`/`SK`.
    pub fn key(&self) -> Option<Key> {
        match self {
            Write::Put { item, .. } => Key::of(item),
            Write::Update { key, .. } | Write::Delete { key, .. } | Write::Check { key, .. } => Some(key.clone()),
        }
    }

    pub fn condition(&self) -> Option<&Condition> {
        match self {
            Write::Put { condition, .. } | Write::Update { condition, .. } | Write::Delete { condition, .. } => {
                condition.as_ref()
            }
            Write::Check { condition, .. } => Some(condition),
        }
    }
}

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum TableError {
    /// The condition of write number `index` (0-based, in the order given) did not hold; nothing
    /// in the transaction was written.
    #[error("condition failed on write {index}")]
    ConditionFailed { index: usize },
    /// Another transaction touched the same items at the same moment; nothing was written and the
    /// caller may retry.
    #[error("transaction conflict")]
    Contention,
    /// The backend is throttling (DynamoDB's capacity or request limits), after the SDK's own
    /// retries (the one retry layer for this): the caller should come back shortly.
    #[error("table throttled: {0}")]
    Throttled(String),
    /// The request itself is wrong (no PK/SK, the same key twice, too many writes, bad cursor).
    #[error("invalid table request: {0}")]
    Invalid(String),
    /// The backend failed; the message is for logs, never for clients.
    #[error("table unavailable: {0}")]
    Unavailable(String),
}

/// Checks what both adapters refuse before touching storage, so they refuse it alike.
pub fn validate_transaction(writes: &[Write]) -> Result<(), TableError> {
    if writes.is_empty() {
        return Err(TableError::Invalid("a transaction needs at least one write".into()));
    }
    if writes.len() > MAX_TRANSACTION_WRITES {
        return Err(TableError::Invalid(format!(
            "a transaction holds at most {MAX_TRANSACTION_WRITES} writes, got {}",
            writes.len()
        )));
    }
    let mut seen = BTreeSet::new();
    for (index, write) in writes.iter().enumerate() {
        let invalid = |why: String| TableError::Invalid(format!("write {index} {why}"));
        let key = write.key().ok_or_else(|| invalid("has no string PK and SK".into()))?;
        validate_key(&key).map_err(|_| invalid("has an empty PK or SK".into()))?;
        match write {
            Write::Put { item, .. } => validate_put(item).map_err(invalid)?,
            Write::Update { set, add, remove, .. } => validate_update(set, add, remove).map_err(invalid)?,
            Write::Delete { .. } | Write::Check { .. } => {}
        }
        if let Some(Condition::Equals { attr, .. } | Condition::AbsentOrExpired { attr, .. }) = write.condition()
            && attr.is_empty()
        {
            return Err(invalid("has a condition on an empty attribute name".into()));
        }
        if !seen.insert(key.clone()) {
            return Err(invalid(format!("touches {}/{} a second time", key.pk, key.sk)));
        }
    }
    Ok(())
}

/// DynamoDB refuses empty strings in key attributes, so both adapters refuse them.
pub fn validate_key(key: &Key) -> Result<(), TableError> {
    if key.pk.is_empty() || key.sk.is_empty() {
        return Err(TableError::Invalid(format!("empty PK or SK in key {}/{}", key.pk, key.sk)));
    }
    Ok(())
}

/// Checks a query the way DynamoDB would, before either adapter runs it.
pub fn validate_query(query: &Query) -> Result<(), TableError> {
    let invalid = |why: &str| Err(TableError::Invalid(format!("query on {:?}: {why}", query.pk)));
    if query.pk.is_empty() {
        return invalid("empty partition key");
    }
    if query.limit == Some(0) {
        return invalid("limit must be at least 1");
    }
    let bounds: Vec<&String> = match &query.sk {
        None => vec![],
        Some(SortKey::Between(low, high)) if low > high => return invalid("between needs low <= high"),
        Some(SortKey::Between(low, high)) => vec![low, high],
        Some(
            SortKey::Eq(value)
            | SortKey::BeginsWith(value)
            | SortKey::Gt(value)
            | SortKey::Ge(value)
            | SortKey::Lt(value)
            | SortKey::Le(value),
        ) => vec![value],
    };
    if bounds.iter().any(|bound| bound.is_empty()) {
        return invalid("empty sort key bound");
    }
    Ok(())
}

fn validate_put(item: &Item) -> Result<(), String> {
    if item.contains_key(GSI1PK) != item.contains_key(GSI1SK) {
        return Err("sets only one of GSI1PK and GSI1SK".into());
    }
    validate_attributes(item.iter())
}

/// DynamoDB refuses updates that touch the key, touch one attribute twice, or do nothing (a
/// transaction's update needs an expression), so both adapters refuse them.
fn validate_update(set: &Item, add: &BTreeMap<String, i64>, remove: &[String]) -> Result<(), String> {
    let names = set.keys().chain(add.keys()).chain(remove.iter());
    let mut seen = BTreeSet::new();
    for name in names {
        if name.is_empty() {
            return Err("has an empty attribute name".into());
        }
        if name == PK || name == SK {
            return Err(format!("cannot update the key attribute {name}"));
        }
        if !seen.insert(name) {
            return Err(format!("updates {name} more than once"));
        }
    }
    if seen.is_empty() {
        return Err("is an update that changes nothing".into());
    }
    if add.contains_key(GSI1PK) || add.contains_key(GSI1SK) {
        return Err("cannot add to a GSI1 key attribute".into());
    }
    validate_attributes(set.iter())
}

/// Attribute names are non-empty, and GSI1 key attributes hold non-empty strings.
fn validate_attributes<'a>(attributes: impl Iterator<Item = (&'a String, &'a Value)>) -> Result<(), String> {
    for (name, value) in attributes {
        if name.is_empty() {
            return Err("has an empty attribute name".into());
        }
        let is_index_key = name == GSI1PK || name == GSI1SK;
        if is_index_key && value.as_str().is_none_or(str::is_empty) {
            return Err(format!("sets {name} to {value}, not a non-empty string"));
        }
    }
    Ok(())
}

#[async_trait]
pub trait Table: Send + Sync {
    /// A strongly consistent read of one item.
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError>;
    /// Reads many items (any number of keys; missing ones are left out; order unspecified).
    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, TableError>;
    async fn query(&self, query: &Query) -> Result<Page, TableError>;
    /// Applies every write or none; a failed condition names the write that failed.
    async fn transact(&self, writes: Vec<Write>) -> Result<(), TableError>;

    /// Reads every page of a query (for partitions known to be small, such as a tenant catalog).
    async fn query_all(&self, query: &Query) -> Result<Vec<Item>, TableError> {
        let mut query = query.clone();
        let mut items = Vec::new();
        loop {
            let page = self.query(&query).await?;
            items.extend(page.items);
            match page.cursor {
                Some(cursor) => query.cursor = Some(cursor),
                None => return Ok(items),
            }
        }
    }
}

/// A table failure in the application's terms: contention is a conflict the caller may retry,
/// throttling is `Busy` (503 with Retry-After), anything else internal.
impl From<TableError> for mas_domain::error::AppError {
    fn from(err: TableError) -> Self {
        match err {
            TableError::Contention => {
                mas_domain::error::AppError::contention("another change was being saved at the same moment; try again")
            }
            TableError::Throttled(why) => mas_domain::error::AppError::Busy(why),
            other => mas_domain::error::AppError::backend("table")(other),
        }
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
    fn an_expired_hold_satisfies_absent_or_expired_and_a_live_one_does_not() {
        let condition = Condition::AbsentOrExpired { attr: "hold_until".into(), before: 100 };
        assert!(condition.holds_for(None));
        assert!(condition.holds_for(Some(&item(json!({"hold_until": 99})))));
        assert!(!condition.holds_for(Some(&item(json!({"hold_until": 100})))));
        // A confirmed claim has no hold: it never expires.
        assert!(!condition.holds_for(Some(&item(json!({"status": "booked"})))));
    }

    #[test]
    fn a_slot_is_free_when_its_item_or_its_attribute_is_absent_or_its_hold_ran_out() {
        let free = Condition::SlotFree { attr: "c05".into(), expires: "h05".into(), before: 100 };
        assert!(free.holds_for(None));
        assert!(free.holds_for(Some(&item(json!({"c00": "apt_a"})))));
        assert!(free.holds_for(Some(&item(json!({"c05": "apt_a", "h05": 99})))));
        assert!(!free.holds_for(Some(&item(json!({"c05": "apt_a", "h05": 100})))));
        // A confirmed booking's cell has no hold: it is never free.
        assert!(!free.holds_for(Some(&item(json!({"c05": "apt_a"})))));
        let both = Condition::All(vec![free, Condition::equals("c10", "apt_b")]);
        assert!(both.holds_for(Some(&item(json!({"c10": "apt_b"})))));
        assert!(!both.holds_for(Some(&item(json!({"c10": "apt_c"})))));
        assert!(!both.holds_for(None));
    }

    #[test]
    fn a_transaction_touching_one_key_twice_is_refused() {
        let put = Write::put(item(json!({"PK": "a", "SK": "b"})));
        let err = validate_transaction(&[put.clone(), put]).unwrap_err();
        assert!(matches!(err, TableError::Invalid(_)));
    }

    #[test]
    fn a_put_with_half_a_gsi_key_is_refused() {
        let put = Write::put(item(json!({"PK": "a", "SK": "b", "GSI1PK": "x"})));
        assert!(matches!(validate_transaction(&[put]), Err(TableError::Invalid(_))));
    }

    #[test]
    fn a_fractional_hold_is_compared_by_value() {
        let condition = Condition::AbsentOrExpired { attr: "hold_until".into(), before: 100 };
        assert!(condition.holds_for(Some(&item(json!({"hold_until": 99.5})))));
        assert!(!condition.holds_for(Some(&item(json!({"hold_until": 100.5})))));
        assert!(!condition.holds_for(Some(&item(json!({"hold_until": "99"})))));
    }

    #[test]
    fn equals_compares_numbers_by_value_and_everything_else_exactly() {
        let stored = item(json!({"v": 1, "big": u64::MAX, "s": "1"}));
        assert!(Condition::equals("v", 1.0).holds_for(Some(&stored)));
        assert!(Condition::equals("big", u64::MAX).holds_for(Some(&stored)));
        assert!(!Condition::equals("v", 2).holds_for(Some(&stored)));
        assert!(!Condition::equals("s", 1).holds_for(Some(&stored)));
        assert!(!Condition::equals("missing", Value::Null).holds_for(Some(&stored)));
    }

    fn update(set: Value, add: &[(&str, i64)], remove: &[&str]) -> Write {
        Write::Update {
            key: Key::new("a", "b"),
            set: item(set),
            add: add.iter().map(|(name, by)| (name.to_string(), *by)).collect(),
            remove: remove.iter().map(|name| name.to_string()).collect(),
            condition: None,
        }
    }

    #[test]
    fn updates_dynamodb_would_refuse_are_refused() {
        let refused = [
            update(json!({}), &[], &[]),
            update(json!({"PK": "x"}), &[], &[]),
            update(json!({}), &[("SK", 1)], &[]),
            update(json!({}), &[], &["PK"]),
            update(json!({"n": 1}), &[("n", 1)], &[]),
            update(json!({"n": 1}), &[], &["n"]),
            update(json!({}), &[], &["n", "n"]),
            update(json!({"": 1}), &[], &[]),
            update(json!({"GSI1PK": 7}), &[], &[]),
            update(json!({"GSI1SK": ""}), &[], &[]),
            update(json!({}), &[("GSI1SK", 1)], &[]),
        ];
        for write in refused {
            assert!(
                matches!(validate_transaction(std::slice::from_ref(&write)), Err(TableError::Invalid(_))),
                "{write:?}"
            );
        }
        let accepted = update(json!({"GSI1PK": "p", "status": "x"}), &[("count", 1)], &["GSI1SK", "hold"]);
        assert_eq!(validate_transaction(&[accepted]), Ok(()));
    }

    #[test]
    fn a_put_with_a_non_string_gsi_key_is_refused() {
        let put = Write::put(item(json!({"PK": "a", "SK": "b", "GSI1PK": "x", "GSI1SK": null})));
        assert!(matches!(validate_transaction(&[put]), Err(TableError::Invalid(_))));
    }

    #[test]
    fn queries_dynamodb_would_refuse_are_refused() {
        let refused = [
            Query::partition(""),
            Query::partition("p").limit(0),
            Query::partition("p").sk(SortKey::BeginsWith(String::new())),
            Query::gsi1("p").sk(SortKey::Between("b".into(), "a".into())),
        ];
        for query in refused {
            assert!(matches!(validate_query(&query), Err(TableError::Invalid(_))), "{query:?}");
        }
        assert_eq!(validate_query(&Query::partition("p").sk(SortKey::Between("a".into(), "a".into()))), Ok(()));
    }
}
