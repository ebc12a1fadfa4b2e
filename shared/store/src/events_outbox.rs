//! Domain events that cannot be lost: each is written in the same transaction as the change it
//! announces, published right after the commit, and removed once the bus took it. If the
//! process dies between commit and publish, the sweep publishes what is left (the event's id
//! makes a second publication harmless to consumers).

use chrono::{DateTime, Duration, Utc};

use crate::keys;
use crate::{Plan, Store, from_item, to_item};
use mas_domain::error::{AppError, AppResult};
use mas_ports::table::{GSI1PK, GSI1SK, MAX_TRANSACTION_WRITES};
use mas_ports::{DomainEvent, Events, Query, SortKey, Write};

/// Events younger than this are left to the request that wrote them.
const GRACE_SECONDS: i64 = 60;
const PAGE: u32 = 500;

/// Adds `event` to `plan`, so it is stored exactly when the change is.
pub fn announce<F: From<AppError>>(plan: &mut Plan<F>, event: &DomainEvent) -> AppResult<()> {
    let mut item = to_item(&keys::event_outbox(&event.tenant_id, &event.id), "event_outbox", event)?;
    item.insert(GSI1PK.into(), keys::EVENT_OUTBOX_INDEX.into());
    item.insert(GSI1SK.into(), format!("{}#{}", event.occurred_at.to_rfc3339(), event.id).into());
    // A put, not put-new: announcing the same occurrence twice stores the same event once.
    plan.push(Write::put(item), AppError::Internal("an unconditional put failed".into()));
    if mas_domain::insight::PROJECTED_KINDS.contains(&event.kind.as_str()) {
        // The event history the projections are rebuilt from: kept, unlike the outbox's copy.
        let log = to_item(&keys::event_log(&event.tenant_id, event.occurred_at, &event.id), "event_log", event)?;
        plan.push(Write::put(log), AppError::Internal("an unconditional put failed".into()));
    }
    Ok(())
}

/// Publishes committed events and removes them from the outbox. A bus failure is logged, not
/// returned: the change is committed and the sweep will publish them.
pub async fn flush(store: &Store, events: &dyn Events, list: &[DomainEvent]) {
    if list.is_empty() {
        return;
    }
    if let Err(err) = publish_and_remove(store, events, list).await {
        tracing::warn!(%err, count = list.len(), "events stay in the outbox for the sweep");
    }
}

async fn publish_and_remove(store: &Store, events: &dyn Events, list: &[DomainEvent]) -> AppResult<()> {
    events.publish(list).await.map_err(AppError::backend("events"))?;
    let deletes: Vec<Write> = list.iter().map(|e| Write::delete(keys::event_outbox(&e.tenant_id, &e.id))).collect();
    for chunk in deletes.chunks(MAX_TRANSACTION_WRITES) {
        store.table.transact(chunk.to_vec()).await?;
    }
    Ok(())
}

/// Publishes events left in the outbox for more than a minute; answers the pages read.
pub async fn republish(store: &Store, events: &dyn Events, now: DateTime<Utc>) -> AppResult<usize> {
    let before = (now - Duration::seconds(GRACE_SECONDS)).to_rfc3339();
    let mut reads = 0;
    loop {
        let query = Query::gsi1(keys::EVENT_OUTBOX_INDEX).sk(SortKey::Lt(before.clone())).limit(PAGE);
        let page = store.table.query(&query).await?;
        reads += 1;
        if page.items.is_empty() {
            return Ok(reads);
        }
        let list: Vec<DomainEvent> = page.items.into_iter().map(from_item).collect::<AppResult<_>>()?;
        tracing::warn!(count = list.len(), "republishing events a request left unpublished");
        publish_and_remove(store, events, &list).await?;
        if page.cursor.is_none() {
            return Ok(reads);
        }
    }
}
