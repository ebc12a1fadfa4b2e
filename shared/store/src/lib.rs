//! Turning entities into items and back, and committing changes with their audit record in the
//! same transaction, so no mutation can land without its trace.

pub mod audit;
pub mod crypto;
pub mod events_outbox;
pub mod idempotency;
pub mod keys;
pub mod retry;

use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::{RequestId, TenantId};
use mas_domain::team::Role;
use mas_ports::table::{GSI1PK, GSI1SK, PK, SK, TTL};
use mas_ports::{Clock, Item, Key, Table, TableError, Write};

/// The attribute naming what an item holds (`location`, `claim`, `audit`…).
pub const ENTITY_TYPE: &str = "entity_type";

/// The item for an entity under `key`: its JSON fields plus `PK`, `SK` and `entity_type`.
pub fn to_item<T: Serialize>(key: &Key, kind: &str, entity: &T) -> AppResult<Item> {
    let Value::Object(mut item) = serde_json::to_value(entity).map_err(|e| AppError::Internal(e.to_string()))? else {
        return Err(AppError::Internal(format!("a {kind} does not serialize to an object")));
    };
    item.insert(PK.into(), key.pk.clone().into());
    item.insert(SK.into(), key.sk.clone().into());
    item.insert(ENTITY_TYPE.into(), kind.into());
    Ok(item)
}

/// The attributes the table keeps beside an entity's own (keys, index keys, expiry, kind).
pub const STORAGE_ATTRIBUTES: [&str; 6] = [PK, SK, GSI1PK, GSI1SK, TTL, ENTITY_TYPE];

/// The entity stored in an item; storage attributes are ignored.
pub fn from_item<T: DeserializeOwned>(mut item: Item) -> AppResult<T> {
    for attr in STORAGE_ATTRIBUTES {
        item.remove(attr);
    }
    serde_json::from_value(Value::Object(item)).map_err(|e| AppError::Internal(format!("unreadable item: {e}")))
}

/// Who is changing what, for the audit log.
#[derive(Debug, Clone)]
pub struct AuditContext {
    pub tenant_id: TenantId,
    /// A member id, or `signup` / `system` for changes no member made.
    pub actor: String,
    pub role: Option<Role>,
    pub request_id: RequestId,
}

#[derive(Clone)]
pub struct Store {
    pub table: Arc<dyn Table>,
    pub clock: Arc<dyn Clock>,
    /// Where events announced by committed plans are published (see `Plan::announce`).
    pub events: Arc<dyn mas_ports::Events>,
}

impl Store {
    /// A store with no bus: announced events wait in the events outbox (`with_events` chooses the
    /// bus they are published to).
    pub fn new(table: Arc<dyn Table>, clock: Arc<dyn Clock>) -> Self {
        Store { table, clock, events: Arc::new(mas_ports::Unconfigured) }
    }

    pub fn with_events(mut self, events: Arc<dyn mas_ports::Events>) -> Self {
        self.events = events;
        self
    }

    pub async fn get<T: DeserializeOwned>(&self, key: &Key) -> AppResult<Option<T>> {
        self.table.get(key).await?.map(from_item).transpose()
    }

    /// Applies `writes` plus one audit record (`action` on `entity_id`) atomically. A failed
    /// condition comes back as the table's error so the caller, who knows what each write
    /// meant, can say which rule was broken.
    pub async fn commit(
        &self,
        audit: &AuditContext,
        action: &str,
        entity_id: &str,
        writes: Vec<Write>,
    ) -> Result<(), CommitError> {
        self.commit_detailed(audit, action, entity_id, None, writes).await
    }

    /// `commit`, with `details` on the audit record: what a record of the action must say
    /// beyond who and which entity (an erasure: what was kept, and why).
    pub async fn commit_detailed(
        &self,
        audit: &AuditContext,
        action: &str,
        entity_id: &str,
        details: Option<Value>,
        mut writes: Vec<Write>,
    ) -> Result<(), CommitError> {
        writes.push(Write::put_new(audit::item(audit, action, entity_id, self.clock.now(), details)?));
        self.table.transact(writes).await.map_err(CommitError::Table)
    }
}

/// A transaction being planned: each write with what the failure of its condition would mean,
/// so the caller's rule — not the table's index — comes back when a condition fails.
///
/// `F` is what a failure is. Most plans say it as the `AppError` the caller answers
/// (`commit`); a use case that decides what to do next by which rule failed plans with its own
/// error type (`BookingError`, `Once`) and reads it back typed from `commit_as`. `F` only needs
/// to hold an `AppError`, for the failures every plan may meet (the store, the audit record).
#[derive(Debug, Clone)]
pub struct Plan<F = AppError> {
    writes: Vec<Write>,
    on_fail: Vec<F>,
    events: Vec<mas_ports::DomainEvent>,
}

impl<F> Default for Plan<F> {
    fn default() -> Self {
        Plan { writes: Vec::new(), on_fail: Vec::new(), events: Vec::new() }
    }
}

/// What a failed write of a plan meant, for a write that makes something happen once (a
/// payment, a message, a claim): it is already done, so the caller answers what is there. The
/// error inside is what to answer should the caller pass it on.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Once {
    #[error("{0}")]
    AlreadyDone(AppError),
    #[error(transparent)]
    Failed(#[from] AppError),
}

impl From<Once> for AppError {
    fn from(once: Once) -> Self {
        match once {
            Once::AlreadyDone(err) | Once::Failed(err) => err,
        }
    }
}

/// An audit record's put-new failed: its id (a fresh ULID) was taken. Never expected.
fn audit_key_taken() -> AppError {
    AppError::Internal("an audit record's key was already taken".into())
}

impl Plan<AppError> {
    pub fn new() -> Self {
        Plan::default()
    }

    /// Commits the writes and their audit record (`action` on `entity_id`) atomically.
    pub async fn commit(self, store: &Store, audit: &AuditContext, action: &str, entity_id: &str) -> AppResult<()> {
        self.commit_detailed(store, audit, action, entity_id, None).await
    }

    /// `commit`, with `details` on the audit record (see `Store::commit_detailed`).
    pub async fn commit_detailed(
        self,
        store: &Store,
        audit: &AuditContext,
        action: &str,
        entity_id: &str,
        details: Option<Value>,
    ) -> AppResult<()> {
        self.commit_typed(store, audit, action, entity_id, details).await
    }
}

impl<F: From<AppError>> Plan<F> {
    /// A plan whose failures are `F` (see the type's documentation).
    pub fn typed() -> Self {
        Plan::default()
    }

    pub fn push(&mut self, write: Write, failure: impl Into<F>) {
        self.writes.push(write);
        self.on_fail.push(failure.into());
    }

    /// Adds another plan's writes (and what their failures mean) after these.
    pub fn append<G: Into<F>>(&mut self, other: Plan<G>) {
        self.writes.extend(other.writes);
        self.on_fail.extend(other.on_fail.into_iter().map(Into::into));
        self.events.extend(other.events);
    }

    /// Announces `event` with this change: stored in the same transaction (the events outbox)
    /// and published once it commits.
    pub fn announce(&mut self, event: mas_ports::DomainEvent) -> AppResult<()> {
        crate::events_outbox::announce(self, &event)?;
        self.events.push(event);
        Ok(())
    }

    /// One more audit record in this transaction, for a change that rides in another's commit
    /// (a client created by the booking that needs them).
    pub fn audit_also(&mut self, store: &Store, audit: &AuditContext, action: &str, entity_id: &str) -> AppResult<()> {
        let item = audit::item(audit, action, entity_id, store.clock.now(), None)?;
        self.push(Write::put_new(item), audit_key_taken());
        Ok(())
    }

    /// Whether any planned write is to `key` (a transaction may touch an item only once).
    pub fn writes_key(&self, key: &Key) -> bool {
        self.writes.iter().any(|w| w.key().as_ref() == Some(key))
    }

    /// How many writes are planned (the audit record is one more).
    pub fn len(&self) -> usize {
        self.writes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }

    /// Commits like `commit`, answering a failed condition as the `F` pushed with its write.
    pub async fn commit_as(self, store: &Store, audit: &AuditContext, action: &str, entity_id: &str) -> Result<(), F> {
        self.commit_typed(store, audit, action, entity_id, None).await
    }

    async fn commit_typed(
        self,
        store: &Store,
        audit: &AuditContext,
        action: &str,
        entity_id: &str,
        details: Option<Value>,
    ) -> Result<(), F> {
        let mut on_fail = self.on_fail;
        match store.commit_detailed(audit, action, entity_id, details, self.writes).await {
            Ok(()) => {}
            Err(CommitError::Table(TableError::ConditionFailed { index })) if index < on_fail.len() => {
                return Err(on_fail.swap_remove(index));
            }
            Err(CommitError::Table(TableError::ConditionFailed { .. })) => {
                return Err(audit_key_taken().into());
            }
            Err(CommitError::Table(other)) => return Err(AppError::from(other).into()),
            Err(CommitError::App(err)) => return Err(err.into()),
        }
        crate::events_outbox::flush(store, store.events.as_ref(), &self.events).await;
        Ok(())
    }
}

#[derive(Debug)]
pub enum CommitError {
    Table(TableError),
    App(AppError),
}

impl From<AppError> for CommitError {
    fn from(err: AppError) -> Self {
        CommitError::App(err)
    }
}

impl CommitError {
    /// Turns a failed condition into the caller's domain error; anything else passes through.
    pub fn on_condition(self, explain: impl FnOnce(usize) -> AppError) -> AppError {
        match self {
            CommitError::Table(TableError::ConditionFailed { index }) => explain(index),
            CommitError::Table(other) => other.into(),
            CommitError::App(err) => err,
        }
    }
}

/// One line of a client's history (an appointment booked, moved or cancelled; later messages,
/// documents and payments), written in the same transaction as the change it records.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, Serialize, utoipa::ToSchema)]
pub struct TimelineEntry {
    pub id: mas_domain::ids::TimelineId,
    pub client_id: mas_domain::ids::ClientId,
    pub at: chrono::DateTime<chrono::Utc>,
    /// What happened, as `noun.verb`: `appointment.booked`, `client.updated`, `medical.recorded`.
    pub kind: String,
    /// One line a person can read; never clinical detail.
    pub summary: String,
    /// The id of the thing it is about (an appointment, a document…).
    pub ref_id: Option<String>,
    /// A member id, `client` or `system`.
    pub actor: String,
}

impl TimelineEntry {
    pub fn new(
        client_id: &mas_domain::ids::ClientId,
        at: chrono::DateTime<chrono::Utc>,
        kind: &str,
        summary: impl Into<String>,
        ref_id: Option<String>,
        actor: &str,
    ) -> Self {
        TimelineEntry {
            id: mas_domain::ids::TimelineId::new(),
            client_id: client_id.clone(),
            at,
            kind: kind.into(),
            summary: summary.into(),
            ref_id,
            actor: actor.into(),
        }
    }

    /// The put that records this entry (it never overwrites another).
    pub fn write(&self, tenant: &TenantId) -> AppResult<Write> {
        let key = keys::client_timeline(tenant, &self.client_id, self.at, &self.id);
        Ok(Write::put_new(to_item(&key, "timeline", self)?))
    }
}
