//! The search box over 50,000 clients: clients created through `clients::create` (so the name
//! index is written as in production) in the embedded SQLite table, then each query of a set
//! (two and three letters, whole names, slips, two words, an email) answered by
//! `search::search` 20 times. Reports the seeding rate, each query's median and worst time,
//! its hits and its table reads (query pages and batch reads: requests on DynamoDB), and checks
//! every answer against a brute-force match over all 50,000 names (the same `search::matches`
//! rule): the index must find exactly the clients a scan would.
//! `cargo bench -p mas-usecases --bench search` (add `-- --quick` for 5,000 clients).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use mas_clients::search_index;
use mas_domain::clients::ClientInput;
use mas_domain::ids::{ClientId, RequestId, TenantId};
use mas_domain::reach::Reach;
use mas_domain::search::{self, SearchQuery};
use mas_embedded::SqliteTable;
use mas_ports::{FixedClock, Table};
use mas_store::{AuditContext, Store};
use serde_json::json;

#[path = "support/counting_table.rs"]
mod counting_table;
use counting_table::CountingTable;

const FIRST: [&str; 40] = [
    "Sarah",
    "Sara",
    "Olivia",
    "Amelia",
    "Isla",
    "Ava",
    "Mia",
    "Ivy",
    "Lily",
    "Freya",
    "Florence",
    "Willow",
    "Rosie",
    "Sophia",
    "Isabella",
    "Grace",
    "Evie",
    "Poppy",
    "Ella",
    "Charlotte",
    "Aisha",
    "Zoë",
    "Priya",
    "Mohammed",
    "Noah",
    "Oliver",
    "George",
    "Leo",
    "Arthur",
    "Muhammad",
    "Harry",
    "Oscar",
    "Jack",
    "Henry",
    "Theo",
    "Charlie",
    "Siobhan",
    "Niamh",
    "Chloé",
    "Ana",
];

/// Last names made from syllables: 1,250 of them, so 40 × 1,250 = 50,000 distinct names.
fn last_name(i: usize) -> String {
    const A: [&str; 25] = [
        "Thom", "John", "Wil", "Rob", "Ed", "Har", "Mar", "Ken", "Fitz", "Mac", "Mor", "Lang", "Brad", "Ash", "Col",
        "Dal", "Fair", "Gold", "Hol", "Kings", "Lock", "New", "Pen", "Stan", "Wood",
    ];
    const B: [&str; 50] = [
        "son", "sen", "ley", "ford", "ton", "wood", "field", "well", "by", "ham", "stone", "bury", "man", "er", "ing",
        "worth", "dale", "croft", "more", "ridge", "shaw", "ward", "win", "cott", "den", "hurst", "land", "low",
        "mere", "wick", "gate", "holm", "lake", "marsh", "mount", "park", "pool", "rock", "side", "thorpe", "vale",
        "way", "wynn", "brook", "burn", "cliff", "combe", "fell", "garth", "haven",
    ];
    format!("{}{}", A[i % A.len()], B[(i / A.len()) % B.len()])
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let clients: usize = if quick { 5_000 } else { 50_000 };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async move {
        let dir = tempfile::tempdir().unwrap();
        let sqlite: Arc<dyn Table> = Arc::new(SqliteTable::open(&dir.path().join("search.sqlite3")).unwrap());
        let table = CountingTable::over(sqlite);
        let clock = Arc::new(FixedClock::new(Utc.with_ymd_and_hms(2027, 1, 1, 9, 0, 0).unwrap()));
        let store = Store::new(table.clone(), clock);
        let t = TenantId::parse("ten_bench").unwrap();
        let audit =
            AuditContext { tenant_id: t.clone(), actor: "bench".into(), role: None, request_id: RequestId::new() };

        let seeding = Instant::now();
        let mut names: Vec<(ClientId, String)> = Vec::with_capacity(clients);
        for i in 0..clients {
            let (first, last) = (FIRST[i % FIRST.len()], last_name(i / FIRST.len()));
            let input: ClientInput = serde_json::from_value(json!({"first_name": first, "last_name": last,
                "email": format!("client{i}@bench.test")}))
            .unwrap();
            let client = mas_usecases::clients::create(&store, &audit, input).await.unwrap();
            names.push((client.id, format!("{first} {last}")));
        }
        let seeded = seeding.elapsed();
        println!(
            "seeded {clients} clients through clients::create in {:.1} s ({:.0} clients/s)",
            seeded.as_secs_f64(),
            clients as f64 / seeded.as_secs_f64()
        );

        let sight = mas_usecases::search::Sight { reach: Reach::whole_clinic(), care_team: None, products: false };
        println!("| query | hits (shown) | median ms | worst ms | table reads |");
        println!("|---|---:|---:|---:|---:|");
        for q in [
            "sa",
            "sar",
            "sarah",
            "sarh",
            "thomson",
            "kingsthorpe",
            "kinsgthorpe",
            "zoe",
            "sarah thomson",
            "ol fitzw",
            "client4242@bench.test",
        ] {
            let query = SearchQuery::parse(q).unwrap();
            let mut times = Vec::new();
            let mut reads = 0;
            let mut shown = 0;
            for _ in 0..20 {
                let before = table.reads();
                let started = Instant::now();
                let found = mas_usecases::search::search(&store, &t, &sight, &query).await.unwrap();
                times.push(started.elapsed());
                reads = table.reads() - before;
                shown = found.clients.len();
            }
            // Every client the index finds, against a scan of all the names with the same rule.
            let hits = match &query {
                SearchQuery::Words(words) => {
                    let found: BTreeSet<ClientId> =
                        search_index::find(&store, &t, words).await.unwrap().into_iter().map(|(id, _)| id).collect();
                    let scanned: BTreeSet<ClientId> = names
                        .iter()
                        .filter(|(_, name)| {
                            let filed: Vec<String> =
                                search::words(name).into_iter().take(search_index::FILED_WORDS).collect();
                            words.iter().all(|w| filed.iter().any(|f| indexed_match(w, f)))
                        })
                        .map(|(id, _)| id.clone())
                        .collect();
                    assert_eq!(found, scanned, "{q}: the index and the scan disagree");
                    found.len()
                }
                _ => shown,
            };
            times.sort();
            let ms = |d: Duration| d.as_secs_f64() * 1000.0;
            println!(
                "| `{q}` | {hits} ({shown}) | {:.2} | {:.2} | {reads} |",
                ms(times[times.len() / 2]),
                ms(times[times.len() - 1])
            );
        }
    });
}

/// What the index can find: a match (`search::matches`) whose word shares a key with the
/// query's (slips within the first four letters are at most one: the keys' promise).
fn indexed_match(query: &str, filed: &str) -> bool {
    search::matches(query, filed) && !search::filing_keys(filed).is_disjoint(&search::lookup_keys(query))
}
