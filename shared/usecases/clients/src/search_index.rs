//! The search box's name index (`mas_domain::search`, `keys::search_entry`): written in the
//! same transaction as the client it files, so a search never misses a client just saved and
//! never finds one renamed or erased. A client's name files at most `FILED_WORDS` words, under
//! at most 7 keys each: 28 items, which keeps a rename (old out, new in) well inside one
//! transaction's 100 writes.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use mas_domain::clients::ClientInput;
use mas_domain::error::AppResult;
use mas_domain::ids::{ClientId, TenantId};
use mas_domain::search::{self, filing_keys, lookup_keys, matches};
use mas_ports::{Query, SortKey, Write};
use mas_store::{Store, from_item, keys, to_item};

/// The words of a name filed (a name of more words is found by its first four).
pub const FILED_WORDS: usize = 4;
/// The item kind of an index entry.
pub const ENTRY_KIND: &str = "search_entry";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    client_id: ClientId,
    word: String,
}

/// The (key, word) pairs a client's name is filed under.
fn filed(data: &ClientInput) -> BTreeSet<(String, String)> {
    let name = format!("{} {}", data.first_name.as_str(), data.last_name.as_str());
    search::words(&name)
        .into_iter()
        .take(FILED_WORDS)
        .flat_map(|word| filing_keys(&word).into_iter().map(move |key| (key, word.clone())))
        .collect()
}

/// The writes that move `client`'s entries from its name `before` to its name `after` (`None`:
/// not filed, as a client not yet created or erased). Entries both names file are left alone:
/// a transaction may not touch an item twice.
pub fn changes(
    tenant: &TenantId,
    client: &ClientId,
    before: Option<&ClientInput>,
    after: Option<&ClientInput>,
) -> AppResult<Vec<Write>> {
    let old = before.map(filed).unwrap_or_default();
    let new = after.map(filed).unwrap_or_default();
    let mut writes: Vec<Write> =
        old.difference(&new).map(|(key, word)| Write::delete(keys::search_entry(tenant, key, word, client))).collect();
    for (key, word) in new.difference(&old) {
        let entry = Entry { client_id: client.clone(), word: word.clone() };
        writes.push(Write::put(to_item(&keys::search_entry(tenant, key, word, client), ENTRY_KIND, &entry)?));
    }
    Ok(writes)
}

/// Files `data` for `client` again (the rebuild of a clinic's index): puts only, each
/// idempotent.
pub async fn refile(store: &Store, tenant: &TenantId, client: &ClientId, data: &ClientInput) -> AppResult<usize> {
    let writes = changes(tenant, client, None, Some(data))?;
    let count = writes.len();
    store.table.transact(writes).await?;
    Ok(count)
}

/// The clients whose names answer every query word, each with its closeness (lower first: the
/// sum over the words of `search::closeness`). Reads one partition per lookup key of each word
/// (a `begins_with` on the word's own four letters, whole partitions for the keys with a letter
/// left out, which hold the slips).
pub async fn find(store: &Store, tenant: &TenantId, words: &[String]) -> AppResult<Vec<(ClientId, u32)>> {
    let mut found: Option<BTreeMap<ClientId, u32>> = None;
    for word in words {
        let mut reads = Vec::new();
        for key in lookup_keys(word) {
            let query = Query::partition(keys::search_pk(tenant, &key));
            // A word with no slip forgiven is looked up under itself alone: only the words
            // that begin with it match. Otherwise a slip can be anywhere: partitions read whole.
            let query =
                if search::allowed_edits(word) == 0 { query.sk(SortKey::BeginsWith(word.clone())) } else { query };
            reads.push(async move { store.table.query_all(&query).await });
        }
        let mut best: BTreeMap<ClientId, u32> = BTreeMap::new();
        for items in futures_util::future::try_join_all(reads).await? {
            for item in items {
                let entry: Entry = from_item(item)?;
                if matches(word, &entry.word) {
                    let score = u32::from(search::closeness(word, &entry.word));
                    best.entry(entry.client_id).and_modify(|s| *s = (*s).min(score)).or_insert(score);
                }
            }
        }
        found = Some(match found {
            None => best,
            Some(so_far) => so_far
                .into_iter()
                .filter_map(|(client, score)| best.get(&client).map(|more| (client, score + more)))
                .collect(),
        });
    }
    let mut hits: Vec<(ClientId, u32)> = found.unwrap_or_default().into_iter().collect();
    hits.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    Ok(hits)
}
