//! The projections: each event applied once to a generation's daily rollups, in one
//! transaction that puts an "applied" marker on condition that it is new and ADDs the counters
//! (a redelivered event, or two deliveries of it at once, count once). A completed visit also
//! rewrites the client's visit history on condition of its version, adding what the history
//! now says minus what it said (order-independent: see `mas_domain::insight::ClientVisits`).
//!
//! Generations: the KPI read takes the live one. A rebuild fills the next one from the tenant's
//! event log while the worker applies new events to both (their markers keep each counted once
//! per generation), then makes it live.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::TenantId;
use mas_domain::insight::{ClientVisits, Counter, Dimension, Fact, difference, group};
use mas_domain::values::Currency;
use mas_ports::table::TTL;
use mas_ports::{Condition, DomainEvent, Item, Query, TableError, Write};
use mas_store::{AuditContext, ENTITY_TYPE, Plan, Store, from_item, keys, to_item};

use crate::facts;

/// How long an "applied" marker is kept: longer than the bus and the queue retry an event.
const APPLIED_DAYS: i64 = 35;
/// Tries when another visit of the same client is applied at the same moment.
const CLIENT_RETRIES: usize = 8;
/// Events read from the log per page by a rebuild.
const LOG_PAGE: u32 = 500;

/// Which generation of rollups is read, and which one a rebuild is filling.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InsightState {
    pub live: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub building: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rebuilt_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub version: u64,
}

pub async fn state(store: &Store, tenant: &TenantId) -> AppResult<InsightState> {
    Ok(store.get(&keys::insight_state(tenant)).await?.unwrap_or_default())
}

/// What applying an event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Counted,
    /// Applied before (a redelivery): nothing changed.
    AlreadyCounted,
    /// Not a kind the projections count.
    Ignored,
}

/// Applies `event` to the live generation (and to the one being rebuilt, if any).
pub async fn apply(store: &Store, event: &DomainEvent) -> AppResult<Applied> {
    let Some(fact) = facts::of(event)? else {
        return Ok(Applied::Ignored);
    };
    let current = state(store, &event.tenant_id).await?;
    let live = apply_to(store, current.live, event, &fact).await?;
    if let Some(building) = current.building {
        apply_to(store, building, event, &fact).await?;
    }
    Ok(live)
}

/// Applies `event` (stating `fact`) to `generation`, once.
pub async fn apply_to(store: &Store, generation: u32, event: &DomainEvent, fact: &Fact) -> AppResult<Applied> {
    let t = &event.tenant_id;
    for _ in 0..CLIENT_RETRIES {
        let mut deltas = fact.deltas();
        let mut marker = to_item(
            &keys::insight_applied(t, generation, &event.id),
            "insight_applied",
            &json!({ "kind": event.kind, "occurred_at": event.occurred_at }),
        )?;
        marker.insert(TTL.into(), (store.clock.now() + Duration::days(APPLIED_DAYS)).timestamp().into());
        let mut writes = vec![Write::put_new(marker)];
        if let Fact::VisitCompleted { client_id, visit, .. } = fact {
            let key = keys::insight_client(t, generation, client_id);
            let stored = store.table.get(&key).await?;
            let version = stored.as_ref().and_then(|i| i.get("version")).and_then(Value::as_u64);
            let before: ClientVisits = stored.map(from_item).transpose()?.unwrap_or_default();
            if let Some(after) = before.with(visit.clone()) {
                deltas.extend(difference(&before.contribution(), &after.contribution()));
                let mut item = to_item(&key, "insight_client", &after)?;
                item.insert("version".into(), (version.unwrap_or(0) + 1).into());
                let condition = version.map_or(Condition::NotExists, |v| Condition::equals("version", v));
                writes.push(Write::put_if(item, condition));
            }
        }
        for ((day, dimension), counters) in group(&deltas) {
            writes.push(rollup_update(t, generation, day, &dimension, counters, fact.currency()));
        }
        match store.table.transact(writes).await {
            Ok(()) => return Ok(Applied::Counted),
            Err(TableError::ConditionFailed { index: 0 }) => return Ok(Applied::AlreadyCounted),
            // The client's history changed since it was read (another of their visits): again.
            Err(TableError::ConditionFailed { .. }) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(AppError::contention("a client's visit history kept changing while an event was applied"))
}

fn rollup_update(
    t: &TenantId,
    generation: u32,
    day: chrono::NaiveDate,
    dimension: &Dimension,
    counters: std::collections::BTreeMap<Counter, i64>,
    currency: Option<&Currency>,
) -> Write {
    let mut set = Item::new();
    set.insert(ENTITY_TYPE.into(), "insight_rollup".into());
    set.insert("day".into(), day.to_string().into());
    if let Some(currency) = currency {
        set.insert("currency".into(), currency.to_string().into());
    }
    Write::Update {
        key: keys::insight_rollup(t, generation, &dimension.key(), day),
        set,
        add: counters.into_iter().map(|(c, n)| (c.as_str().to_owned(), n)).collect(),
        remove: Vec::new(),
        condition: None,
    }
}

/// What a rebuild did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Rebuilt {
    /// The generation now live.
    pub generation: u32,
    /// Events read from the log.
    pub events: usize,
    /// Events this rebuild counted (the worker may have counted the newest already).
    pub counted: usize,
}

/// Rebuilds the tenant's rollups from its event log into a fresh generation, then makes it the
/// one read. Safe to run again after a crash (the same generation is resumed; its markers keep
/// each event counted once), and beside the worker (which applies new events to both).
pub async fn rebuild(store: &Store, audit: &AuditContext) -> AppResult<Rebuilt> {
    let t = &audit.tenant_id;
    let mut current = state(store, t).await?;
    let generation = match current.building {
        Some(building) => building,
        None => {
            let next =
                InsightState { building: Some(current.live + 1), version: current.version + 1, ..current.clone() };
            save_state(store, audit, &current, &next, "insight.rebuild_started").await?;
            current = next;
            current.live + 1
        }
    };
    let (mut events, mut counted) = (0, 0);
    let mut cursor = None;
    loop {
        let query = Query::partition(keys::event_log_pk(t)).limit(LOG_PAGE).after(cursor);
        let page = store.table.query(&query).await?;
        for item in page.items {
            let event: DomainEvent = from_item(item)?;
            events += 1;
            if let Some(fact) = facts::of(&event)?
                && apply_to(store, generation, &event, &fact).await? == Applied::Counted
            {
                counted += 1;
            }
        }
        cursor = page.cursor;
        if cursor.is_none() {
            break;
        }
    }
    let done = InsightState {
        live: generation,
        building: None,
        rebuilt_at: Some(store.clock.now()),
        version: current.version + 1,
    };
    save_state(store, audit, &current, &done, "insight.rebuilt").await?;
    tracing::info!(tenant_id = %t, generation, events, counted, "insight projections rebuilt");
    Ok(Rebuilt { generation, events, counted })
}

async fn save_state(
    store: &Store,
    audit: &AuditContext,
    current: &InsightState,
    next: &InsightState,
    action: &str,
) -> AppResult<()> {
    let key = keys::insight_state(&audit.tenant_id);
    let condition =
        if current.version == 0 { Condition::NotExists } else { Condition::equals("version", current.version) };
    let mut plan = Plan::new();
    plan.push(
        Write::put_if(to_item(&key, "insight_state", next)?, condition),
        AppError::conflict("rebuild_running", "another rebuild of the projections changed them; try again"),
    );
    plan.commit(store, audit, action, &format!("G{}", next.building.unwrap_or(next.live))).await
}
