//! The table port's contract: every case below runs against the SQLite adapter (a fresh file per
//! test) and the DynamoDB adapter (a fresh table per test on moto).
//!
//! GSI1 is eventually consistent on AWS; moto and SQLite are immediate, so the GSI1 cases read
//! right after writing. Against real DynamoDB they would have to poll.

use std::collections::BTreeSet;
use std::sync::Arc;

use mas_dynamodb::DynamoTable;
use mas_embedded::SqliteTable;
use mas_ports::{Condition, Item, Key, Page, Query, SortKey, Table, TableError, Write};
use serde_json::{Value, json};

use crate::support::aws;

/// A fresh, empty table for one test, and whatever must live as long as it.
struct Fixture {
    table: Arc<dyn Table>,
    _dir: Option<tempfile::TempDir>,
}

async fn fresh_sqlite_table(_test: &str) -> Option<Fixture> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let table = SqliteTable::open(&dir.path().join("table.db")).expect("a new SQLite table");
    Some(Fixture { table: Arc::new(table), _dir: Some(dir) })
}

async fn fresh_dynamodb_table(test: &str) -> Option<Fixture> {
    let config = aws::moto(test).await?;
    let name = format!("contract-{}", ulid::Ulid::new());
    let table = DynamoTable::new(aws_sdk_dynamodb::Client::new(&config), name);
    table.create_table_if_missing().await.expect("a new table on moto");
    Some(Fixture { table: Arc::new(table), _dir: None })
}

/// One `#[tokio::test]` per case for one adapter.
macro_rules! adapter_tests {
    ($adapter:ident, $fresh:ident; $($case:ident),* $(,)?) => {
        mod $adapter {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    if let Some(fixture) = super::$fresh(stringify!($case)).await {
                        super::$case(::std::sync::Arc::clone(&fixture.table)).await;
                    }
                }
            )*
        }
    };
}

/// Every case, against every adapter. A case written below but not listed here is an unused
/// function, which the build reports.
macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        adapter_tests!(sqlite, fresh_sqlite_table; $($case),*);
        adapter_tests!(dynamodb, fresh_dynamodb_table; $($case),*);
    };
}

contract!(
    an_item_reads_back_exactly_as_it_was_written,
    get_of_a_missing_item_returns_none,
    a_plain_put_replaces_the_whole_item,
    a_put_with_not_exists_fails_when_the_item_is_there,
    a_put_with_not_exists_creates_an_absent_item,
    a_put_with_exists_replaces_only_an_item_that_is_there,
    an_equals_condition_lets_only_the_expected_version_through,
    an_equals_condition_compares_numbers_by_value,
    an_expired_hold_can_be_claimed_and_a_live_one_cannot,
    a_failed_condition_names_the_write_that_failed_and_writes_nothing,
    a_transaction_applies_every_kind_of_write_together,
    a_check_alone_writes_nothing_and_fails_when_its_condition_does_not_hold,
    a_failed_check_stops_the_writes_beside_it,
    delete_with_a_condition_removes_the_item_only_when_it_holds,
    deleting_a_missing_item_without_a_condition_succeeds,
    update_creates_a_missing_item_from_its_key_and_changes,
    update_adds_to_a_missing_counter_from_zero,
    update_removes_attributes_and_keeps_the_rest,
    an_update_whose_condition_fails_changes_nothing,
    adding_to_a_text_attribute_is_refused,
    setting_gsi_attributes_by_update_moves_the_item_onto_the_index,
    too_many_writes_are_refused_and_nothing_is_written,
    an_empty_transaction_is_refused,
    a_transaction_touching_one_key_twice_is_refused_and_nothing_is_written,
    writes_dynamodb_would_refuse_are_refused_alike,
    reads_dynamodb_would_refuse_are_refused_alike,
    a_partition_query_returns_only_that_partition_in_byte_order,
    a_descending_query_returns_the_partition_in_reverse_order,
    begins_with_returns_only_matching_sort_keys_in_order,
    between_is_inclusive_on_both_ends,
    gt_ge_lt_le_bound_the_sort_key,
    eq_finds_the_one_item_with_that_sort_key,
    paging_with_a_cursor_visits_every_item_once,
    paging_keeps_the_sort_key_condition_and_the_order,
    a_page_short_of_the_limit_has_no_cursor,
    a_full_last_page_has_no_cursor_or_one_that_leads_to_an_empty_page,
    a_partition_larger_than_one_response_still_pages_through_every_item,
    a_cursor_from_another_partition_or_a_garbled_one_is_refused,
    gsi1_query_returns_only_items_with_both_index_attributes,
    gsi1_queries_honour_sort_conditions_and_descending_order,
    gsi1_paging_visits_items_that_share_a_sort_key_once,
    batch_get_of_more_than_100_keys_returns_every_present_item_once,
    batch_get_of_no_keys_returns_nothing,
    concurrent_claims_of_one_key_let_exactly_one_win,
    concurrent_bookings_of_overlapping_cells_let_exactly_one_win,
    concurrent_adds_to_one_counter_are_all_counted,
    slots_of_one_item_are_claimed_only_while_free_or_expired,
    concurrent_claims_of_overlapping_slots_in_one_item_let_exactly_one_win,
);

/// Not part of the port, but what every DynamoDB case above stands on.
mod dynamodb_setup {
    use aws_sdk_dynamodb::types::{ProjectionType, TimeToLiveStatus};
    use mas_dynamodb::DynamoTable;

    use crate::support::aws;

    #[tokio::test]
    async fn creating_the_table_twice_is_harmless_and_gives_gsi1_and_ttl() {
        let Some(config) = aws::moto("creating_the_table_twice_is_harmless_and_gives_gsi1_and_ttl").await else {
            return;
        };
        let client = aws_sdk_dynamodb::Client::new(&config);
        let name = format!("setup-{}", ulid::Ulid::new());
        let table = DynamoTable::new(client.clone(), &name);
        table.create_table_if_missing().await.unwrap();
        table.create_table_if_missing().await.unwrap();

        let described = client.describe_table().table_name(&name).send().await.unwrap().table.unwrap();
        let indexes = described.global_secondary_indexes();
        assert_eq!(indexes.len(), 1);
        assert_eq!(indexes[0].index_name(), Some("GSI1"));
        let keys: Vec<&str> = indexes[0].key_schema().iter().map(|key| key.attribute_name()).collect();
        assert_eq!(keys, ["GSI1PK", "GSI1SK"]);
        assert_eq!(indexes[0].projection().and_then(|p| p.projection_type()), Some(&ProjectionType::All));
        let ttl =
            client.describe_time_to_live().table_name(&name).send().await.unwrap().time_to_live_description.unwrap();
        assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
        assert_eq!(ttl.attribute_name(), Some("ttl"));
    }
}

// ---- helpers ----

fn item(value: Value) -> Item {
    value.as_object().cloned().expect("a JSON object")
}

fn key(pk: &str, sk: &str) -> Key {
    Key::new(pk, sk)
}

async fn put_all(table: &dyn Table, values: impl IntoIterator<Item = Value>) {
    let writes: Vec<Write> = values.into_iter().map(|value| Write::put(item(value))).collect();
    for chunk in writes.chunks(25) {
        table.transact(chunk.to_vec()).await.expect("setup writes");
    }
}

fn update(key: Key, set: Value, add: &[(&str, i64)], remove: &[&str]) -> Write {
    Write::Update {
        key,
        set: item(set),
        add: add.iter().map(|(name, by)| (name.to_string(), *by)).collect(),
        remove: remove.iter().map(|name| name.to_string()).collect(),
        condition: None,
    }
}

fn with_condition(write: Write, condition: Condition) -> Write {
    match write {
        Write::Update { key, set, add, remove, .. } => {
            Write::Update { key, set, add, remove, condition: Some(condition) }
        }
        other => panic!("only updates take a condition here, not {other:?}"),
    }
}

fn sort_keys(items: &[Item]) -> Vec<&str> {
    items.iter().map(|item| item["SK"].as_str().expect("a string SK")).collect()
}

async fn sort_keys_of(table: &dyn Table, query: Query) -> Vec<String> {
    let items = table.query_all(&query).await.expect("query");
    sort_keys(&items).into_iter().map(str::to_owned).collect()
}

/// Every page of `query`, following cursors (bounded, so a cursor loop fails instead of hanging).
async fn pages(table: &dyn Table, query: Query) -> Vec<Page> {
    let mut query = query;
    let mut pages = Vec::new();
    for _ in 0..200 {
        let page = table.query(&query).await.expect("a page");
        let cursor = page.cursor.clone();
        pages.push(page);
        match cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => return pages,
        }
    }
    panic!("the cursor never ran out");
}

fn is_invalid<T>(outcome: &Result<T, TableError>) -> bool {
    matches!(outcome, Err(TableError::Invalid(_)))
}

// ---- reads and plain writes ----

async fn an_item_reads_back_exactly_as_it_was_written(table: Arc<dyn Table>) {
    let written = item(json!({
        "PK": "TENANT#t", "SK": "PROFILE",
        "name": "Clinique Éclat ✨", "empty": "", "count": 3, "negative": -7, "fraction": 1.5,
        "beyond_f64": 9_007_199_254_740_993_u64, "flag": true, "nothing": null,
        "tags": ["a", "b"], "no_tags": [], "no_settings": {},
        "nested": {"deep": {"list": [1, {"y": "z"}, null, false]}},
        "ttl": 1_700_000_000
    }));
    table.transact(vec![Write::put(written.clone())]).await.unwrap();
    assert_eq!(table.get(&key("TENANT#t", "PROFILE")).await.unwrap(), Some(written));
}

async fn get_of_a_missing_item_returns_none(table: Arc<dyn Table>) {
    put_all(&*table, [json!({"PK": "p", "SK": "there"})]).await;
    assert_eq!(table.get(&key("p", "missing")).await.unwrap(), None);
    assert_eq!(table.get(&key("missing", "there")).await.unwrap(), None);
}

async fn a_plain_put_replaces_the_whole_item(table: Arc<dyn Table>) {
    put_all(&*table, [json!({"PK": "p", "SK": "s", "old": 1, "kept": "no"})]).await;
    table.transact(vec![Write::put(item(json!({"PK": "p", "SK": "s", "new": 2})))]).await.unwrap();
    assert_eq!(table.get(&key("p", "s")).await.unwrap(), Some(item(json!({"PK": "p", "SK": "s", "new": 2}))));
}

// ---- conditions ----

async fn a_put_with_not_exists_fails_when_the_item_is_there(table: Arc<dyn Table>) {
    put_all(&*table, [json!({"PK": "TENANT#t", "SK": "EMAIL#a@b.c", "client": "cli_1"})]).await;
    let second = Write::put_new(item(json!({"PK": "TENANT#t", "SK": "EMAIL#a@b.c", "client": "cli_2"})));
    assert_eq!(table.transact(vec![second]).await, Err(TableError::ConditionFailed { index: 0 }));
    let stored = table.get(&key("TENANT#t", "EMAIL#a@b.c")).await.unwrap().unwrap();
    assert_eq!(stored["client"], "cli_1");
}

async fn a_put_with_not_exists_creates_an_absent_item(table: Arc<dyn Table>) {
    let first = item(json!({"PK": "TENANT#t", "SK": "EMAIL#a@b.c", "client": "cli_1"}));
    table.transact(vec![Write::put_new(first.clone())]).await.unwrap();
    assert_eq!(table.get(&key("TENANT#t", "EMAIL#a@b.c")).await.unwrap(), Some(first));
}

async fn a_put_with_exists_replaces_only_an_item_that_is_there(table: Arc<dyn Table>) {
    let replacement = item(json!({"PK": "p", "SK": "s", "v": 2}));
    let put = || Write::put_if(replacement.clone(), Condition::Exists);
    assert_eq!(table.transact(vec![put()]).await, Err(TableError::ConditionFailed { index: 0 }));
    assert_eq!(table.get(&key("p", "s")).await.unwrap(), None);
    put_all(&*table, [json!({"PK": "p", "SK": "s", "v": 1})]).await;
    table.transact(vec![put()]).await.unwrap();
    assert_eq!(table.get(&key("p", "s")).await.unwrap(), Some(replacement));
}

async fn an_equals_condition_lets_only_the_expected_version_through(table: Arc<dyn Table>) {
    put_all(&*table, [json!({"PK": "p", "SK": "s", "version": 1, "status": "pending"})]).await;
    let put_if = |sk: &str, condition: Condition| {
        Write::put_if(item(json!({"PK": "p", "SK": sk, "version": 2, "status": "scheduled"})), condition)
    };
    let failed = Err(TableError::ConditionFailed { index: 0 });
    assert_eq!(table.transact(vec![put_if("s", Condition::equals("version", 2))]).await, failed);
    assert_eq!(table.transact(vec![put_if("s", Condition::equals("version", "1"))]).await, failed);
    assert_eq!(table.transact(vec![put_if("s", Condition::equals("missing", 1))]).await, failed);
    assert_eq!(table.transact(vec![put_if("absent", Condition::equals("version", 1))]).await, failed);
    assert_eq!(table.get(&key("p", "s")).await.unwrap().unwrap()["version"], 1);
    // `status` is a DynamoDB reserved word: the adapter must not write it into an expression.
    table.transact(vec![put_if("s", Condition::equals("status", "pending"))]).await.unwrap();
    assert_eq!(table.get(&key("p", "s")).await.unwrap().unwrap()["version"], 2);
}

async fn an_equals_condition_compares_numbers_by_value(table: Arc<dyn Table>) {
    put_all(&*table, [json!({"PK": "p", "SK": "s", "version": 3})]).await;
    let check = Write::check(key("p", "s"), Condition::equals("version", 3.0));
    table.transact(vec![check]).await.unwrap();
}

async fn an_expired_hold_can_be_claimed_and_a_live_one_cannot(table: Arc<dyn Table>) {
    let claim = |hold_until: i64, now: i64| {
        Write::put_if(
            item(json!({"PK": "TENANT#t#PRAC#p#2025-03-01", "SK": "LOCK#10:00", "hold_until": hold_until})),
            Condition::AbsentOrExpired { attr: "hold_until".into(), before: now },
        )
    };
    let lock = key("TENANT#t#PRAC#p#2025-03-01", "LOCK#10:00");
    table.transact(vec![claim(1_100, 1_000)]).await.unwrap();
    assert_eq!(table.transact(vec![claim(1_200, 1_000)]).await, Err(TableError::ConditionFailed { index: 0 }));
    assert_eq!(table.transact(vec![claim(1_200, 1_100)]).await, Err(TableError::ConditionFailed { index: 0 }));
    table.transact(vec![claim(1_300, 1_101)]).await.unwrap();
    assert_eq!(table.get(&lock).await.unwrap().unwrap()["hold_until"], 1_300);
    // A confirmed booking keeps its cell without a hold: it never expires.
    put_all(&*table, [json!({"PK": lock.pk, "SK": lock.sk, "status": "booked"})]).await;
    assert_eq!(table.transact(vec![claim(9_999, 9_000)]).await, Err(TableError::ConditionFailed { index: 0 }));
}

async fn a_failed_condition_names_the_write_that_failed_and_writes_nothing(table: Arc<dyn Table>) {
    let day = "TENANT#t#PRAC#p#2025-03-01";
    put_all(&*table, [json!({"PK": day, "SK": "LOCK#10:15", "appointment": "apt_other"})]).await;
    let booking = vec![
        Write::put_new(item(json!({"PK": "TENANT#t#APPT#apt_1", "SK": "APPT", "status": "pending_deposit"}))),
        Write::put_new(item(json!({"PK": day, "SK": "LOCK#10:00", "appointment": "apt_1"}))),
        Write::put_new(item(json!({"PK": day, "SK": "LOCK#10:15", "appointment": "apt_1"}))),
        update(key("TENANT#t#KPI#2025-03", "DAY#01"), json!({}), &[("bookings", 1)], &[]),
    ];
    assert_eq!(table.transact(booking).await, Err(TableError::ConditionFailed { index: 2 }));
    assert_eq!(table.get(&key("TENANT#t#APPT#apt_1", "APPT")).await.unwrap(), None);
    assert_eq!(table.get(&key(day, "LOCK#10:00")).await.unwrap(), None);
    assert_eq!(table.get(&key(day, "LOCK#10:15")).await.unwrap().unwrap()["appointment"], "apt_other");
    assert_eq!(table.get(&key("TENANT#t#KPI#2025-03", "DAY#01")).await.unwrap(), None);
}

async fn a_transaction_applies_every_kind_of_write_together(table: Arc<dyn Table>) {
    put_all(
        &*table,
        [
            json!({"PK": "p", "SK": "update", "n": 1, "drop": true}),
            json!({"PK": "p", "SK": "delete"}),
            json!({"PK": "p", "SK": "check", "status": "open"}),
        ],
    )
    .await;
    let writes = vec![
        Write::put_new(item(json!({"PK": "p", "SK": "new", "x": 1}))),
        with_condition(update(key("p", "update"), json!({"s": "t"}), &[("n", 2)], &["drop"]), Condition::Exists),
        Write::delete_if(key("p", "delete"), Condition::Exists),
        Write::check(key("p", "check"), Condition::equals("status", "open")),
    ];
    table.transact(writes).await.unwrap();
    let all = table.query_all(&Query::partition("p")).await.unwrap();
    assert_eq!(
        all,
        [
            item(json!({"PK": "p", "SK": "check", "status": "open"})),
            item(json!({"PK": "p", "SK": "new", "x": 1})),
            item(json!({"PK": "p", "SK": "update", "n": 3, "s": "t"})),
        ]
    );
}

async fn a_check_alone_writes_nothing_and_fails_when_its_condition_does_not_hold(table: Arc<dyn Table>) {
    put_all(&*table, [json!({"PK": "p", "SK": "there", "status": "open"})]).await;
    table.transact(vec![Write::check(key("p", "absent"), Condition::NotExists)]).await.unwrap();
    table.transact(vec![Write::check(key("p", "there"), Condition::equals("status", "open"))]).await.unwrap();
    let failed = Err(TableError::ConditionFailed { index: 0 });
    assert_eq!(table.transact(vec![Write::check(key("p", "absent"), Condition::Exists)]).await, failed);
    assert_eq!(table.transact(vec![Write::check(key("p", "there"), Condition::NotExists)]).await, failed);
    let all = table.query_all(&Query::partition("p")).await.unwrap();
    assert_eq!(all, [item(json!({"PK": "p", "SK": "there", "status": "open"}))]);
}

async fn a_failed_check_stops_the_writes_beside_it(table: Arc<dyn Table>) {
    let writes = vec![
        Write::put(item(json!({"PK": "p", "SK": "written?"}))),
        Write::check(key("TENANT#t", "POLICY#deposit#v1"), Condition::Exists),
    ];
    assert_eq!(table.transact(writes).await, Err(TableError::ConditionFailed { index: 1 }));
    assert_eq!(table.get(&key("p", "written?")).await.unwrap(), None);
}

async fn delete_with_a_condition_removes_the_item_only_when_it_holds(table: Arc<dyn Table>) {
    put_all(&*table, [json!({"PK": "p", "SK": "hold", "status": "held"})]).await;
    let delete_if = |status: &str| Write::delete_if(key("p", "hold"), Condition::equals("status", status));
    assert_eq!(table.transact(vec![delete_if("booked")]).await, Err(TableError::ConditionFailed { index: 0 }));
    assert!(table.get(&key("p", "hold")).await.unwrap().is_some());
    table.transact(vec![delete_if("held")]).await.unwrap();
    assert_eq!(table.get(&key("p", "hold")).await.unwrap(), None);
    let gone = Write::delete_if(key("p", "hold"), Condition::Exists);
    assert_eq!(table.transact(vec![gone]).await, Err(TableError::ConditionFailed { index: 0 }));
}

async fn deleting_a_missing_item_without_a_condition_succeeds(table: Arc<dyn Table>) {
    table.transact(vec![Write::delete(key("p", "never"))]).await.unwrap();
}

// ---- updates ----

async fn update_creates_a_missing_item_from_its_key_and_changes(table: Arc<dyn Table>) {
    table.transact(vec![update(key("p", "s"), json!({"name": "Ana"}), &[("visits", 1)], &["nothing"])]).await.unwrap();
    let stored = table.get(&key("p", "s")).await.unwrap();
    assert_eq!(stored, Some(item(json!({"PK": "p", "SK": "s", "name": "Ana", "visits": 1}))));
}

async fn update_adds_to_a_missing_counter_from_zero(table: Arc<dyn Table>) {
    let counter = key("TENANT#t#KPI#2025-03", "DAY#01");
    put_all(&*table, [json!({"PK": counter.pk, "SK": counter.sk, "label": "kept"})]).await;
    table.transact(vec![update(counter.clone(), json!({}), &[("bookings", 5)], &[])]).await.unwrap();
    table
        .transact(vec![update(counter.clone(), json!({}), &[("bookings", -2), ("revenue", 4_500)], &[])])
        .await
        .unwrap();
    let stored = table.get(&counter).await.unwrap().unwrap();
    assert_eq!((&stored["bookings"], &stored["revenue"], &stored["label"]), (&json!(3), &json!(4_500), &json!("kept")));
}

async fn update_removes_attributes_and_keeps_the_rest(table: Arc<dyn Table>) {
    put_all(&*table, [json!({"PK": "p", "SK": "s", "hold_until": 5, "ttl": 9, "status": "held", "note": "x"})]).await;
    let confirm = update(key("p", "s"), json!({"status": "booked"}), &[], &["hold_until", "ttl", "not_there"]);
    table.transact(vec![confirm]).await.unwrap();
    let stored = table.get(&key("p", "s")).await.unwrap();
    assert_eq!(stored, Some(item(json!({"PK": "p", "SK": "s", "status": "booked", "note": "x"}))));
}

async fn an_update_whose_condition_fails_changes_nothing(table: Arc<dyn Table>) {
    let before = json!({"PK": "p", "SK": "s", "version": 4, "status": "scheduled"});
    put_all(&*table, [before.clone()]).await;
    let stale = with_condition(
        update(key("p", "s"), json!({"status": "cancelled"}), &[("version", 1)], &[]),
        Condition::equals("version", 3),
    );
    assert_eq!(table.transact(vec![stale]).await, Err(TableError::ConditionFailed { index: 0 }));
    let on_missing = with_condition(update(key("p", "other"), json!({"a": 1}), &[], &[]), Condition::Exists);
    assert_eq!(table.transact(vec![on_missing]).await, Err(TableError::ConditionFailed { index: 0 }));
    assert_eq!(table.query_all(&Query::partition("p")).await.unwrap(), [item(before)]);
}

async fn adding_to_a_text_attribute_is_refused(table: Arc<dyn Table>) {
    put_all(&*table, [json!({"PK": "p", "SK": "s", "count": "three"})]).await;
    let outcome = table.transact(vec![update(key("p", "s"), json!({}), &[("count", 1)], &[])]).await;
    assert!(is_invalid(&outcome), "{outcome:?}");
    assert_eq!(table.get(&key("p", "s")).await.unwrap().unwrap()["count"], "three");
}

async fn setting_gsi_attributes_by_update_moves_the_item_onto_the_index(table: Arc<dyn Table>) {
    let appointment = key("TENANT#t#APPT#apt_1", "APPT");
    let due = || Query::gsi1("DUE#2025-03-01T09#0");
    put_all(&*table, [json!({"PK": appointment.pk, "SK": appointment.sk, "status": "scheduled"})]).await;
    assert_eq!(table.query_all(&due()).await.unwrap(), []);

    let plan = json!({"GSI1PK": "DUE#2025-03-01T09#0", "GSI1SK": "2025-03-01T09:30#t#apt_1#reminder"});
    table.transact(vec![update(appointment.clone(), plan, &[], &[])]).await.unwrap();
    let listed = table.query_all(&due()).await.unwrap();
    assert_eq!(listed, [table.get(&appointment).await.unwrap().unwrap()]);
    assert_eq!(listed[0]["status"], "scheduled");

    // Sent: the reminder leaves the sparse index once one of its keys is gone.
    table.transact(vec![update(appointment.clone(), json!({"sent": true}), &[], &["GSI1SK"])]).await.unwrap();
    assert_eq!(table.query_all(&due()).await.unwrap(), []);

    // Re-planned into another hour: it appears there and only there.
    let later = json!({"GSI1PK": "DUE#2025-03-01T10#0", "GSI1SK": "2025-03-01T10:30#t#apt_1#reminder"});
    table.transact(vec![update(appointment.clone(), later, &[], &[])]).await.unwrap();
    assert_eq!(table.query_all(&due()).await.unwrap(), []);
    let moved = table.query_all(&Query::gsi1("DUE#2025-03-01T10#0")).await.unwrap();
    assert_eq!(sort_keys(&moved), ["APPT"]);
}

// ---- refusals ----

async fn too_many_writes_are_refused_and_nothing_is_written(table: Arc<dyn Table>) {
    let writes: Vec<Write> = (0..101).map(|n| Write::put(item(json!({"PK": "p", "SK": format!("{n:03}")})))).collect();
    assert!(is_invalid(&table.transact(writes).await));
    assert_eq!(table.query_all(&Query::partition("p")).await.unwrap(), []);
    let most: Vec<Write> = (0..100).map(|n| Write::put(item(json!({"PK": "p", "SK": format!("{n:03}")})))).collect();
    table.transact(most).await.unwrap();
    assert_eq!(table.query_all(&Query::partition("p")).await.unwrap().len(), 100);
}

async fn an_empty_transaction_is_refused(table: Arc<dyn Table>) {
    assert!(is_invalid(&table.transact(vec![]).await));
}

async fn a_transaction_touching_one_key_twice_is_refused_and_nothing_is_written(table: Arc<dyn Table>) {
    let writes = vec![
        Write::put(item(json!({"PK": "p", "SK": "other"}))),
        Write::put(item(json!({"PK": "p", "SK": "twice", "n": 1}))),
        update(key("p", "twice"), json!({}), &[("n", 1)], &[]),
    ];
    assert!(is_invalid(&table.transact(writes).await));
    assert_eq!(table.query_all(&Query::partition("p")).await.unwrap(), []);
}

async fn writes_dynamodb_would_refuse_are_refused_alike(table: Arc<dyn Table>) {
    let refused = [
        Write::put(item(json!({"PK": "p"}))),
        Write::put(item(json!({"PK": "p", "SK": 7}))),
        Write::put(item(json!({"PK": "", "SK": "s"}))),
        Write::put(item(json!({"PK": "p", "SK": "s", "GSI1PK": "g"}))),
        // Moto stores a numeric GSI1SK; AWS refuses the type mismatch, and so do both adapters.
        Write::put(item(json!({"PK": "p", "SK": "s", "GSI1PK": "g", "GSI1SK": 1}))),
        update(key("p", "s"), json!({"PK": "q"}), &[], &[]),
        update(key("p", "s"), json!({}), &[], &[]),
        update(key("p", "s"), json!({"n": 1}), &[("n", 1)], &[]),
        Write::delete(key("p", "")),
    ];
    for write in refused {
        let outcome = table.transact(vec![write.clone()]).await;
        assert!(is_invalid(&outcome), "{write:?} gave {outcome:?}");
    }
    assert_eq!(table.query_all(&Query::partition("p")).await.unwrap(), []);
}

async fn reads_dynamodb_would_refuse_are_refused_alike(table: Arc<dyn Table>) {
    assert!(is_invalid(&table.get(&key("", "s")).await));
    assert!(is_invalid(&table.batch_get(&[key("p", "s"), key("p", "")]).await));
    assert!(is_invalid(&table.query(&Query::partition("")).await));
    assert!(is_invalid(&table.query(&Query::partition("p").limit(0)).await));
    // Moto answers a reversed BETWEEN with nothing; AWS refuses it, and so do both adapters.
    assert!(is_invalid(&table.query(&Query::partition("p").sk(SortKey::Between("b".into(), "a".into()))).await));
}

// ---- queries ----

/// Sort keys whose UTF-8 byte order differs from case-insensitive, locale and UTF-16 orders.
const AWKWARD_SORT_KEYS: [&str; 10] = ["a", "B", "é", "Z", "😀", "a#", "aa", "~", "z", "\u{FF5E}"];

async fn a_partition_query_returns_only_that_partition_in_byte_order(table: Arc<dyn Table>) {
    let partition = AWKWARD_SORT_KEYS.iter().map(|sk| json!({"PK": "TENANT#t", "SK": sk}));
    let neighbours = ["TENANT#t2", "TENANT#", "tenant#t"].iter().map(|pk| json!({"PK": pk, "SK": "a"}));
    put_all(&*table, partition.chain(neighbours)).await;
    let expected = ["B", "Z", "a", "a#", "aa", "z", "~", "é", "\u{FF5E}", "😀"];
    assert_eq!(sort_keys_of(&*table, Query::partition("TENANT#t")).await, expected);
    assert_eq!(sort_keys_of(&*table, Query::partition("TENANT#t2")).await, ["a"]);
}

async fn a_descending_query_returns_the_partition_in_reverse_order(table: Arc<dyn Table>) {
    put_all(&*table, AWKWARD_SORT_KEYS.iter().map(|sk| json!({"PK": "p", "SK": sk}))).await;
    let mut expected = AWKWARD_SORT_KEYS.to_vec();
    expected.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(sort_keys_of(&*table, Query::partition("p").descending()).await, expected);
}

async fn begins_with_returns_only_matching_sort_keys_in_order(table: Arc<dyn Table>) {
    let catalog = ["LOC#2", "LOC#1", "LOC$", "LOB#9", "LOC", "PRAC#1", "SVC#LOC#1", "LOC#1#room", "loc#3"];
    put_all(&*table, catalog.iter().map(|sk| json!({"PK": "TENANT#t", "SK": sk}))).await;
    let locations = || Query::partition("TENANT#t").sk(SortKey::BeginsWith("LOC#".into()));
    assert_eq!(sort_keys_of(&*table, locations()).await, ["LOC#1", "LOC#1#room", "LOC#2"]);
    assert_eq!(sort_keys_of(&*table, locations().descending()).await, ["LOC#2", "LOC#1#room", "LOC#1"]);
    let none = Query::partition("TENANT#t").sk(SortKey::BeginsWith("RES#".into()));
    assert_eq!(sort_keys_of(&*table, none).await, Vec::<String>::new());
}

async fn between_is_inclusive_on_both_ends(table: Arc<dyn Table>) {
    put_all(&*table, (1..=6).map(|day| json!({"PK": "p", "SK": format!("TL#2025-01-0{day}")}))).await;
    let between = |low: &str, high: &str| Query::partition("p").sk(SortKey::Between(low.into(), high.into()));
    let days = sort_keys_of(&*table, between("TL#2025-01-02", "TL#2025-01-04")).await;
    assert_eq!(days, ["TL#2025-01-02", "TL#2025-01-03", "TL#2025-01-04"]);
    let days = sort_keys_of(&*table, between("TL#2025-01-04T", "TL#2025-01-06").descending()).await;
    assert_eq!(days, ["TL#2025-01-06", "TL#2025-01-05"]);
    let one = sort_keys_of(&*table, between("TL#2025-01-03", "TL#2025-01-03")).await;
    assert_eq!(one, ["TL#2025-01-03"]);
}

async fn gt_ge_lt_le_bound_the_sort_key(table: Arc<dyn Table>) {
    put_all(&*table, ["a", "b", "c", "d"].iter().map(|sk| json!({"PK": "p", "SK": sk}))).await;
    let bounded = |condition: SortKey| Query::partition("p").sk(condition);
    assert_eq!(sort_keys_of(&*table, bounded(SortKey::Gt("b".into()))).await, ["c", "d"]);
    assert_eq!(sort_keys_of(&*table, bounded(SortKey::Ge("b".into()))).await, ["b", "c", "d"]);
    assert_eq!(sort_keys_of(&*table, bounded(SortKey::Lt("c".into()))).await, ["a", "b"]);
    assert_eq!(sort_keys_of(&*table, bounded(SortKey::Le("c".into()))).await, ["a", "b", "c"]);
    assert_eq!(sort_keys_of(&*table, bounded(SortKey::Gt("bb".into()))).await, ["c", "d"]);
    assert_eq!(sort_keys_of(&*table, bounded(SortKey::Le("c".into())).descending()).await, ["c", "b", "a"]);
}

async fn eq_finds_the_one_item_with_that_sort_key(table: Arc<dyn Table>) {
    put_all(&*table, ["PROFILE", "PROFILE#x", "PROFIL"].iter().map(|sk| json!({"PK": "p", "SK": sk}))).await;
    assert_eq!(sort_keys_of(&*table, Query::partition("p").sk(SortKey::Eq("PROFILE".into()))).await, ["PROFILE"]);
}

// ---- paging ----

async fn paging_with_a_cursor_visits_every_item_once(table: Arc<dyn Table>) {
    put_all(&*table, (0..10).map(|n| json!({"PK": "p", "SK": format!("TL#{n:02}"), "n": n}))).await;
    let everything = sort_keys_of(&*table, Query::partition("p")).await;
    for descending in [false, true] {
        let query = if descending { Query::partition("p").descending() } else { Query::partition("p") };
        let pages = pages(&*table, query.limit(3)).await;
        assert!(pages.iter().all(|page| page.items.len() <= 3));
        let visited: Vec<&str> = pages.iter().flat_map(|page| sort_keys(&page.items)).collect();
        let mut expected = everything.clone();
        if descending {
            expected.reverse();
        }
        assert_eq!(visited, expected, "descending: {descending}");
    }
}

async fn paging_keeps_the_sort_key_condition_and_the_order(table: Arc<dyn Table>) {
    let catalog = (0..5).map(|n| format!("SVC#{n}")).chain(["LOC#1".into(), "TPL#x".into()]);
    put_all(&*table, catalog.map(|sk| json!({"PK": "TENANT#t", "SK": sk}))).await;
    let services = Query::partition("TENANT#t").sk(SortKey::BeginsWith("SVC#".into())).descending().limit(2);
    let pages = pages(&*table, services).await;
    let visited: Vec<&str> = pages.iter().flat_map(|page| sort_keys(&page.items)).collect();
    assert_eq!(visited, ["SVC#4", "SVC#3", "SVC#2", "SVC#1", "SVC#0"]);
}

async fn a_page_short_of_the_limit_has_no_cursor(table: Arc<dyn Table>) {
    put_all(&*table, (0..4).map(|n| json!({"PK": "p", "SK": format!("{n}")}))).await;
    let page = table.query(&Query::partition("p").limit(10)).await.unwrap();
    assert_eq!((page.items.len(), page.cursor), (4, None));
    let page = table.query(&Query::partition("empty").limit(10)).await.unwrap();
    assert_eq!(page, Page::default());
}

/// The contract allows a cursor on a page that happens to end exactly at the last item (DynamoDB
/// returns one whenever it stops at the limit); following it must then give an empty last page.
/// Moto differs from AWS here: it returns no `LastEvaluatedKey` when nothing follows.
async fn a_full_last_page_has_no_cursor_or_one_that_leads_to_an_empty_page(table: Arc<dyn Table>) {
    put_all(&*table, (0..6).map(|n| json!({"PK": "p", "SK": format!("{n}")}))).await;
    let pages = pages(&*table, Query::partition("p").limit(3)).await;
    let sizes: Vec<usize> = pages.iter().map(|page| page.items.len()).collect();
    assert!(sizes == [3, 3] || sizes == [3, 3, 0], "page sizes {sizes:?}");
    assert_eq!(pages.last().unwrap().cursor, None);
}

/// DynamoDB ends a query page at 1 MB whatever the limit; the cursor then continues from there.
async fn a_partition_larger_than_one_response_still_pages_through_every_item(table: Arc<dyn Table>) {
    let body = "x".repeat(300_000);
    put_all(&*table, (0..5).map(|n| json!({"PK": "p", "SK": format!("DOC#{n}"), "body": body}))).await;
    let expected = ["DOC#0", "DOC#1", "DOC#2", "DOC#3", "DOC#4"];
    for query in [Query::partition("p"), Query::partition("p").limit(4)] {
        let pages = pages(&*table, query.clone()).await;
        let visited: Vec<&str> = pages.iter().flat_map(|page| sort_keys(&page.items)).collect();
        assert_eq!(visited, expected, "{query:?}");
        assert!(pages.iter().flat_map(|page| &page.items).all(|item| item["body"] == body));
    }
}

async fn a_cursor_from_another_partition_or_a_garbled_one_is_refused(table: Arc<dyn Table>) {
    put_all(&*table, (0..3).map(|n| json!({"PK": "TENANT#a", "SK": format!("{n}")}))).await;
    let page = table.query(&Query::partition("TENANT#a").limit(1)).await.unwrap();
    let foreign = page.cursor.expect("more items follow");
    let elsewhere = Query::partition("TENANT#b").limit(1).after(Some(foreign.clone()));
    assert!(is_invalid(&table.query(&elsewhere).await));
    let on_the_index = Query::gsi1("TENANT#a").limit(1).after(Some(foreign));
    assert!(is_invalid(&table.query(&on_the_index).await));
    let garbled = Query::partition("TENANT#a").after(Some("not a cursor!".into()));
    assert!(is_invalid(&table.query(&garbled).await));
}

// ---- GSI1 ----

async fn gsi1_query_returns_only_items_with_both_index_attributes(table: Arc<dyn Table>) {
    let hour = "DUE#2025-03-01T09#0";
    put_all(
        &*table,
        [
            json!({"PK": "TENANT#t#APPT#b", "SK": "APPT", "GSI1PK": hour, "GSI1SK": "09:45#t#b", "kind": "reminder"}),
            json!({"PK": "TENANT#t#APPT#a", "SK": "APPT", "GSI1PK": hour, "GSI1SK": "09:15#t#a", "kind": "prep"}),
            json!({"PK": "TENANT#t#APPT#c", "SK": "APPT", "kind": "none"}),
            json!({"PK": "TENANT#t#APPT#e", "SK": "APPT", "GSI1PK": "DUE#2025-03-01T10#0", "GSI1SK": "10:00#t#e"}),
        ],
    )
    .await;
    // Half an index key (allowed by update, as in DynamoDB) keeps an item off the index.
    table.transact(vec![update(key("TENANT#t#APPT#d", "APPT"), json!({"GSI1PK": hour}), &[], &[])]).await.unwrap();
    let due = table.query_all(&Query::gsi1(hour)).await.unwrap();
    let stored_a = table.get(&key("TENANT#t#APPT#a", "APPT")).await.unwrap().unwrap();
    let stored_b = table.get(&key("TENANT#t#APPT#b", "APPT")).await.unwrap().unwrap();
    assert_eq!(due, [stored_a, stored_b]);
}

async fn gsi1_queries_honour_sort_conditions_and_descending_order(table: Arc<dyn Table>) {
    let due_at = ["09:00#t#a", "09:15#t#b", "09:15#u#c", "09:30#t#d", "10:00#t#e"];
    put_all(
        &*table,
        due_at.iter().map(|at| json!({"PK": format!("APPT#{at}"), "SK": "APPT", "GSI1PK": "DUE#h", "GSI1SK": at})),
    )
    .await;
    let gsi1_sort_keys = |items: Vec<Item>| -> Vec<String> {
        items.iter().map(|item| item["GSI1SK"].as_str().unwrap().to_owned()).collect()
    };
    let before = Query::gsi1("DUE#h").sk(SortKey::Lt("09:30".into())).descending();
    assert_eq!(gsi1_sort_keys(table.query_all(&before).await.unwrap()), ["09:15#u#c", "09:15#t#b", "09:00#t#a"]);
    let quarter = Query::gsi1("DUE#h").sk(SortKey::BeginsWith("09:15#".into()));
    assert_eq!(gsi1_sort_keys(table.query_all(&quarter).await.unwrap()), ["09:15#t#b", "09:15#u#c"]);
    let window = Query::gsi1("DUE#h").sk(SortKey::Between("09:15#t#b".into(), "09:30#t#d".into()));
    assert_eq!(gsi1_sort_keys(table.query_all(&window).await.unwrap()), ["09:15#t#b", "09:15#u#c", "09:30#t#d"]);
}

async fn gsi1_paging_visits_items_that_share_a_sort_key_once(table: Arc<dyn Table>) {
    let tied = (0..7).map(|n| json!({"PK": format!("APPT#{n}"), "SK": "APPT", "GSI1PK": "DUE#h", "GSI1SK": "09:00"}));
    let spread = (7..10)
        .map(|n| json!({"PK": format!("APPT#{n}"), "SK": "APPT", "GSI1PK": "DUE#h", "GSI1SK": format!("09:0{n}")}));
    put_all(&*table, tied.chain(spread)).await;
    for descending in [false, true] {
        let query = if descending { Query::gsi1("DUE#h").descending() } else { Query::gsi1("DUE#h") };
        let pages = pages(&*table, query.limit(2)).await;
        let visited: Vec<(String, String)> = pages
            .iter()
            .flat_map(|page| &page.items)
            .map(|item| (item["GSI1SK"].as_str().unwrap().into(), item["PK"].as_str().unwrap().into()))
            .collect();
        let distinct: BTreeSet<&String> = visited.iter().map(|(_, pk)| pk).collect();
        assert_eq!((visited.len(), distinct.len()), (10, 10), "descending: {descending}: {visited:?}");
        let mut in_order = visited.clone();
        in_order.sort_by(|a, b| if descending { b.0.cmp(&a.0) } else { a.0.cmp(&b.0) });
        let order: Vec<&String> = visited.iter().map(|(sk, _)| sk).collect();
        assert_eq!(order, in_order.iter().map(|(sk, _)| sk).collect::<Vec<_>>(), "descending: {descending}");
    }
}

// ---- batch_get ----

async fn batch_get_of_more_than_100_keys_returns_every_present_item_once(table: Arc<dyn Table>) {
    let present: Vec<Key> =
        (0..150).map(|n| key(&format!("TENANT#t#CLIENT#{}", n % 7), &format!("DOC#{n:03}"))).collect();
    put_all(&*table, present.iter().map(|k| json!({"PK": k.pk, "SK": k.sk, "size": k.sk.len()}))).await;
    let missing = (0..100).map(|n| key("TENANT#t#CLIENT#x", &format!("DOC#{n:03}")));
    let repeated = present.iter().take(20).cloned();
    let asked: Vec<Key> = present.iter().cloned().chain(missing).chain(repeated).collect();
    let found = table.batch_get(&asked).await.unwrap();
    let mut found_keys: Vec<Key> = found.iter().map(|item| Key::of(item).unwrap()).collect();
    found_keys.sort();
    let mut expected = present.clone();
    expected.sort();
    assert_eq!(found_keys, expected);
    assert!(found.iter().all(|item| item["size"] == 7));
}

async fn batch_get_of_no_keys_returns_nothing(table: Arc<dyn Table>) {
    assert_eq!(table.batch_get(&[]).await.unwrap(), []);
}

// ---- races ----

/// On DynamoDB a loser may also see `Contention` (a transaction conflict that outlasted the
/// retries); it still wrote nothing.
fn lost(outcome: &Result<(), TableError>) -> bool {
    matches!(outcome, Err(TableError::ConditionFailed { .. } | TableError::Contention))
}

async fn race<F>(racers: usize, table: &Arc<dyn Table>, writes: F) -> Vec<Result<(), TableError>>
where
    F: Fn(usize) -> Vec<Write>,
{
    // Spawn every racer before awaiting any, so they really run at once.
    let handles: Vec<_> = (0..racers)
        .map(|n| {
            let table = Arc::clone(table);
            let writes = writes(n);
            tokio::spawn(async move { table.transact(writes).await })
        })
        .collect();
    let mut outcomes = Vec::with_capacity(racers);
    for handle in handles {
        outcomes.push(handle.await.expect("a racer finished"));
    }
    outcomes
}

async fn concurrent_claims_of_one_key_let_exactly_one_win(table: Arc<dyn Table>) {
    let outcomes =
        race(20, &table, |n| vec![Write::put_new(item(json!({"PK": "TENANT#t", "SK": "EMAIL#a@b.c", "by": n})))]).await;
    let winners: Vec<usize> = (0..20).filter(|n| outcomes[*n].is_ok()).collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    assert!(outcomes.iter().filter(|outcome| outcome.is_err()).all(lost), "{outcomes:?}");
    assert!(
        outcomes.iter().all(|outcome| !matches!(outcome, Err(TableError::ConditionFailed { index }) if *index != 0))
    );
    assert_eq!(table.get(&key("TENANT#t", "EMAIL#a@b.c")).await.unwrap().unwrap()["by"], winners[0]);
}

async fn concurrent_bookings_of_overlapping_cells_let_exactly_one_win(table: Arc<dyn Table>) {
    let day = "TENANT#t#PRAC#p#2025-03-01";
    let booking = |n: usize| {
        vec![
            Write::put_new(item(
                json!({"PK": format!("TENANT#t#APPT#apt_{n}"), "SK": "APPT", "GSI1PK": day, "GSI1SK": "10:00"}),
            )),
            Write::put_new(item(json!({"PK": day, "SK": "LOCK#10:00", "appointment": n}))),
            Write::put_new(item(json!({"PK": day, "SK": "LOCK#10:15", "appointment": n}))),
        ]
    };
    let outcomes = race(10, &table, booking).await;
    let winners: Vec<usize> = (0..10).filter(|n| outcomes[*n].is_ok()).collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    assert!(outcomes.iter().filter(|outcome| outcome.is_err()).all(lost), "{outcomes:?}");
    let cells = table.query_all(&Query::partition(day)).await.unwrap();
    assert!(cells.iter().all(|cell| cell["appointment"] == winners[0]), "{cells:?}");
    let appointments = table.query_all(&Query::gsi1(day)).await.unwrap();
    assert_eq!(appointments.len(), 1, "{appointments:?}");
    assert_eq!(appointments[0]["PK"], format!("TENANT#t#APPT#apt_{}", winners[0]));
}

async fn concurrent_adds_to_one_counter_are_all_counted(table: Arc<dyn Table>) {
    let counter = key("TENANT#t#KPI#2025-03", "DAY#01");
    let outcomes = race(20, &table, |_| vec![update(counter.clone(), json!({}), &[("bookings", 1)], &[])]).await;
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    assert_eq!(table.get(&counter).await.unwrap().unwrap()["bookings"], 20);
}

/// A claim of slots `minutes` of one block by `owner`, each on condition that it is free.
fn claim_slots(block: &Key, owner: &str, minutes: &[&str], hold_until: Option<i64>, now: i64) -> Write {
    let mut set = serde_json::Map::new();
    let mut remove = Vec::new();
    for m in minutes {
        set.insert(format!("c{m}"), json!(owner));
        match hold_until {
            Some(until) => {
                set.insert(format!("h{m}"), json!(until));
            }
            None => remove.push(format!("h{m}")),
        }
    }
    let conditions = minutes
        .iter()
        .map(|m| Condition::SlotFree { attr: format!("c{m}"), expires: format!("h{m}"), before: now })
        .collect();
    Write::Update {
        key: block.clone(),
        set,
        add: Default::default(),
        remove,
        condition: Some(Condition::All(conditions)),
    }
}

async fn slots_of_one_item_are_claimed_only_while_free_or_expired(table: Arc<dyn Table>) {
    let block = key("TENANT#t#PRAC#p#2025-03", "CLAIM#2025-03-01T10Z");
    table.transact(vec![claim_slots(&block, "a", &["00", "05"], Some(100), 50)]).await.unwrap();
    // Another slot of the same item is free; a held one is not, until its hold runs out.
    table.transact(vec![claim_slots(&block, "b", &["10"], None, 50)]).await.unwrap();
    let refused = table.transact(vec![claim_slots(&block, "c", &["05", "15"], None, 99)]).await;
    assert!(matches!(refused, Err(TableError::ConditionFailed { index: 0 })), "{refused:?}");
    table.transact(vec![claim_slots(&block, "c", &["05", "15"], None, 101)]).await.unwrap();
    // A confirmed slot (no hold) is never free.
    let refused = table.transact(vec![claim_slots(&block, "d", &["10"], None, i64::MAX)]).await;
    assert!(matches!(refused, Err(TableError::ConditionFailed { index: 0 })), "{refused:?}");
    let stored = table.get(&block).await.unwrap().unwrap();
    assert_eq!(
        (&stored["c00"], &stored["c05"], &stored["c10"], &stored["c15"]),
        (&json!("a"), &json!("c"), &json!("b"), &json!("c"))
    );
    assert_eq!(stored["h00"], 100);
    assert!(!stored.contains_key("h05"), "the new owner's confirmed slot drops the old hold: {stored:?}");
    // Releasing is a removal on condition that the slot is still the releaser's.
    let release = |owner: &str| Write::Update {
        key: block.clone(),
        set: Default::default(),
        add: Default::default(),
        remove: vec!["c00".into(), "h00".into()],
        condition: Some(Condition::All(vec![Condition::equals("c00", owner)])),
    };
    assert!(matches!(table.transact(vec![release("z")]).await, Err(TableError::ConditionFailed { index: 0 })));
    table.transact(vec![release("a")]).await.unwrap();
    let stored = table.get(&block).await.unwrap().unwrap();
    assert!(!stored.contains_key("c00") && stored["c05"] == "c", "{stored:?}");
}

async fn concurrent_claims_of_overlapping_slots_in_one_item_let_exactly_one_win(table: Arc<dyn Table>) {
    let block = key("TENANT#t#PRAC#p#2025-03", "CLAIM#2025-03-01T10Z");
    // Racer n wants slots n and n+1 (of 0..=10): neighbours overlap, so at most every other wins.
    let minutes: Vec<String> = (0..12).map(|i| format!("{:02}", i * 5)).collect();
    let outcomes = race(10, &table, |n| {
        let mine = [minutes[n].as_str(), minutes[n + 1].as_str()];
        vec![claim_slots(&block, &format!("r{n}"), &mine, None, 0)]
    })
    .await;
    assert!(outcomes.iter().filter(|outcome| outcome.is_err()).all(lost), "{outcomes:?}");
    let stored = table.get(&block).await.unwrap().unwrap();
    for n in (0..10).filter(|n| outcomes[*n].is_ok()) {
        let owner = json!(format!("r{n}"));
        assert_eq!((&stored[&format!("c{}", minutes[n])], &stored[&format!("c{}", minutes[n + 1])]), (&owner, &owner));
    }
    let won: usize = outcomes.iter().filter(|o| o.is_ok()).count();
    let taken = stored.keys().filter(|k| k.starts_with('c')).count();
    assert_eq!(taken, won * 2, "every winner holds both its slots and no loser holds any: {stored:?}");
    assert!(won >= 1);
}
