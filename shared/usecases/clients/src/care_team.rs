//! Care teams: which clients a practitioner may read or change (`mas_domain::reach::ClientScope`
//! decides; this module gathers the facts and keeps the links).
//!
//! A link is one item in the client's partition (`keys::care_link`): `CARE#PRAC#{p}` is written
//! in the transaction of every booking with practitioner `p` (staff and public alike, and a move
//! to another practitioner), so "seen or booked with" can never lag behind the booking;
//! `CARE#MEMBER#{m}` is an owner's or manager's share, or the practitioner's own new client.
//! Checking a client is one batch read of the member's two possible links; listing a care team
//! is one GSI1 Query per kind of link.
//!
//! Bookings made before links existed have none. For those, a practitioner who finds no link is
//! checked once more against the client's timeline (every booking names its appointment there):
//! a read-only fallback, so the read-only GET functions keep working, paid only when no link is
//! found. Such clients are reachable by id (from the calendar) but are not in the practitioner's
//! client list until `backfill` (or her next booking with them, or a share) writes their link.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use mas_domain::appointment::Appointment;
use mas_domain::clients::{Client, ClientQuery};
use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::{AppointmentId, ClientId, MemberId, PractitionerId, TenantId};
use mas_domain::reach::{BackfillStatus, CareBackfill, CareLink, ClientScope};
use mas_ports::{Condition, Key, Query, SortKey, Write};
use mas_store::keys;
use mas_store::{AuditContext, Plan, Store, TimelineEntry, from_item, to_item};

pub use crate::care_links::{CareLinkRecord, creator_link, link_booking, link_write};
use crate::clients::{self, ClientPage};

/// Whether `scope` reaches `client`; out of reach is 404 `client not found`, as if it did not exist.
pub async fn admit(store: &Store, tenant: &TenantId, scope: &ClientScope, client: &ClientId) -> AppResult<()> {
    if reaches(store, tenant, scope, client).await? { Ok(()) } else { Err(ClientScope::refuse()) }
}

/// Whether `scope` reaches `client` (the facts read, the domain's rule applied).
pub async fn reaches(store: &Store, tenant: &TenantId, scope: &ClientScope, client: &ClientId) -> AppResult<bool> {
    let wanted = scope.wanted_links();
    if wanted.is_empty() {
        return Ok(scope.admits(&[]));
    }
    let keys: Vec<Key> = wanted.iter().map(|link| keys::care_link(tenant, client, link)).collect();
    let found: Vec<CareLink> = store
        .table
        .batch_get(&keys)
        .await?
        .into_iter()
        .map(|item| from_item::<CareLinkRecord>(item).map(|r| r.link))
        .collect::<AppResult<_>>()?;
    if scope.admits(&found) {
        return Ok(true);
    }
    let ClientScope::CareTeam { practitioner_id: Some(practitioner), .. } = scope else { return Ok(false) };
    let legacy = booked_before_links(store, tenant, client, practitioner).await?;
    Ok(scope.admits(&legacy))
}

/// The `BookedWith` link an appointment made before links existed would have written: found
/// through the client's timeline, which names every appointment booked for them.
async fn booked_before_links(
    store: &Store,
    tenant: &TenantId,
    client: &ClientId,
    practitioner: &PractitionerId,
) -> AppResult<Vec<CareLink>> {
    let query = Query::partition(keys::client_pk(tenant, client)).sk(SortKey::BeginsWith(keys::TIMELINE_PREFIX.into()));
    let ids: BTreeSet<AppointmentId> = store
        .table
        .query_all(&query)
        .await?
        .into_iter()
        .map(from_item::<TimelineEntry>)
        .collect::<AppResult<Vec<_>>>()?
        .into_iter()
        .filter(|entry| entry.kind.starts_with("appointment."))
        .filter_map(|entry| entry.ref_id.and_then(|id| AppointmentId::parse(&id).ok()))
        .collect();
    let keys: Vec<Key> = ids.iter().map(|id| keys::appointment(tenant, id)).collect();
    let appointments: Vec<Appointment> =
        store.table.batch_get(&keys).await?.into_iter().map(from_item).collect::<AppResult<_>>()?;
    let seen = appointments.iter().any(|a| &a.client_id == client && &a.practitioner_id == practitioner);
    Ok(if seen { vec![CareLink::BookedWith { practitioner_id: practitioner.clone() }] } else { vec![] })
}

/// The clients of a care team (`None`: the scope is the whole clinic).
pub async fn members_clients(
    store: &Store,
    tenant: &TenantId,
    scope: &ClientScope,
) -> AppResult<Option<BTreeSet<ClientId>>> {
    let wanted = scope.wanted_links();
    if wanted.is_empty() {
        return Ok(None);
    }
    let mut team = BTreeSet::new();
    for link in &wanted {
        let query = Query::gsi1(keys::care_team_gsi_pk(tenant, link));
        for item in store.table.query_all(&query).await? {
            team.insert(from_item::<CareLinkRecord>(item)?.client_id);
        }
    }
    Ok(Some(team))
}

/// Lists or searches a care team, by name. The team is read whole (a practitioner's care team is
/// hundreds of clients, not the clinic's thousands) and paged by the last client's sort key.
pub async fn search(
    store: &Store,
    tenant: &TenantId,
    team: &BTreeSet<ClientId>,
    query: ClientQuery,
    limit: u32,
    cursor: Option<String>,
) -> AppResult<ClientPage> {
    let ids: Vec<ClientId> = team.iter().cloned().collect();
    let mut found: Vec<(String, Client)> = clients::get_many(store, tenant, &ids)
        .await?
        .into_iter()
        .filter(|client| matches(&query, client))
        .map(|client| (sort_key(&client), client))
        .filter(|(key, _)| cursor.as_ref().is_none_or(|after| key > after))
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    let more = found.len() > limit as usize;
    found.truncate(limit as usize);
    let next_cursor = if more { found.last().map(|(key, _)| key.clone()) } else { None };
    Ok(ClientPage { items: found.into_iter().map(|(_, client)| client).collect(), next_cursor })
}

fn sort_key(client: &Client) -> String {
    format!("{}#{}", client.data.sort_name(), client.id)
}

/// The same match the clinic-wide search makes with its indexes.
fn matches(query: &ClientQuery, client: &Client) -> bool {
    match query {
        ClientQuery::All => true,
        ClientQuery::NamePrefix(prefix) => client.data.sort_name().starts_with(prefix.as_str()),
        ClientQuery::Email(email) => client.data.email.as_ref() == Some(email),
        ClientQuery::Phone(phone) => client.data.phone.as_ref() == Some(phone),
    }
}

/// Shares a client with a member (owners and managers decide; the route checks the role).
/// The client and the member must exist when the link is written (conditions in the same
/// transaction), so a share cannot outlive a member removed at the same moment.
pub async fn share(
    store: &Store,
    audit: &AuditContext,
    client: &ClientId,
    member: &MemberId,
) -> AppResult<CareLinkRecord> {
    let tenant = &audit.tenant_id;
    let record = CareLinkRecord {
        client_id: client.clone(),
        link: CareLink::SharedWith { member_id: member.clone() },
        since: store.clock.now(),
        by: audit.actor.clone(),
    };
    let mut plan = Plan::new();
    plan.push(Write::check(keys::client(tenant, client), Condition::Exists), AppError::NotFound { what: "client" });
    plan.push(
        Write::check(keys::member(tenant, member.as_str()), Condition::Exists),
        AppError::NotFound { what: "team member" },
    );
    plan.push(link_write(tenant, &record)?, AppError::Internal("a care link put has no condition".into()));
    plan.commit(store, audit, "client.shared", client.as_str()).await?;
    Ok(record)
}

/// Ends a share. Links made by bookings stay: they record what happened.
pub async fn unshare(store: &Store, audit: &AuditContext, client: &ClientId, member: &MemberId) -> AppResult<()> {
    let tenant = &audit.tenant_id;
    let key = keys::care_link(tenant, client, &CareLink::SharedWith { member_id: member.clone() });
    let mut plan = Plan::new();
    plan.push(Write::delete_if(key, Condition::Exists), AppError::NotFound { what: "share" });
    plan.commit(store, audit, "client.unshared", client.as_str()).await
}

/// Writes the `BookedWith` link of every appointment starting in `[from, to)` that lacks one:
/// for data booked before links existed (idempotent; run it again and nothing changes). Returns
/// how many links it wrote. `run_backfill` is the resumable, recorded run of a whole clinic.
pub async fn backfill(store: &Store, audit: &AuditContext, from: DateTime<Utc>, to: DateTime<Utc>) -> AppResult<usize> {
    let mut written = 0;
    let mut month = from;
    while month < to {
        written += backfill_month(store, audit, month).await?;
        month = mas_store::keys::next_month(month);
    }
    Ok(written)
}

/// How many links one transaction of the backfill writes (plus its audit record).
const BACKFILL_BATCH: usize = 25;

/// The missing `BookedWith` links of the appointments starting in `month`'s UTC month. Erased
/// clients get none (nothing is written into an erased client's partition again).
async fn backfill_month(store: &Store, audit: &AuditContext, month: DateTime<Utc>) -> AppResult<usize> {
    let tenant = &audit.tenant_id;
    let query = Query::gsi1(keys::appointments_month_gsi_pk(tenant, month));
    let appointments: Vec<Appointment> =
        store.table.query_all(&query).await?.into_iter().map(from_item).collect::<AppResult<_>>()?;
    let mut links: BTreeSet<(ClientId, PractitionerId)> =
        appointments.into_iter().map(|a| (a.client_id, a.practitioner_id)).collect();
    let keys: Vec<Key> = links
        .iter()
        .map(|(c, p)| keys::care_link(tenant, c, &CareLink::BookedWith { practitioner_id: p.clone() }))
        .collect();
    for item in store.table.batch_get(&keys).await? {
        let record: CareLinkRecord = from_item(item)?;
        if let CareLink::BookedWith { practitioner_id } = record.link {
            links.remove(&(record.client_id, practitioner_id));
        }
    }
    let clients: BTreeSet<ClientId> = links.iter().map(|(c, _)| c.clone()).collect();
    let clients: Vec<ClientId> = clients.into_iter().collect();
    let live: BTreeSet<ClientId> =
        clients::get_many(store, tenant, &clients).await?.into_iter().map(|client| client.id).collect();
    links.retain(|(client, _)| live.contains(client));
    let links: Vec<(ClientId, PractitionerId)> = links.into_iter().collect();
    let now = store.clock.now();
    for batch in links.chunks(BACKFILL_BATCH) {
        let mut plan = Plan::new();
        for (client, practitioner) in batch {
            link_booking(&mut plan, tenant, client, practitioner, now, &audit.actor)?;
        }
        let entity = month.format("%Y-%m").to_string();
        let details = serde_json::json!({ "clients": batch.iter().map(|(c, _)| c).collect::<Vec<_>>() });
        plan.commit_detailed(store, audit, "care_link.backfilled", &entity, Some(details)).await?;
    }
    Ok(links.len())
}

/// How much one request of the backfill may do: months until this much time has passed (at
/// least one month per request), well inside an API function's timeout.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub time: std::time::Duration,
    pub max_months: usize,
}

impl Budget {
    /// What a request to the API does: five seconds of months.
    pub const REQUEST: Budget = Budget { time: std::time::Duration::from_secs(5), max_months: usize::MAX };
}

fn backfill_raced() -> AppError {
    AppError::contention("another run of the backfill advanced it at the same moment; ask again")
}

/// The clinic's care-team backfill, recorded and resumable (see `CareBackfill`): starts it (a
/// put conditional on there being none), then does months within `budget`, each advancing the
/// marker conditional on its version. Done, it answers the marker and reads nothing else.
///
/// Why a route for owners (`POST /v1/care-team/backfill`) rather than lazily on a list or at
/// deploy: there is no index of every clinic to walk, the read-only GET functions must not
/// write, and a request that checks a marker would pay for it on every list. Until it runs, a
/// practitioner still reaches such clients by id (`booked_before_links`); the on-call engineer
/// (or the owner) runs it once per clinic, calling again while it answers `running`.
pub async fn run_backfill(
    store: &Store,
    audit: &AuditContext,
    signed_up: DateTime<Utc>,
    budget: Budget,
) -> AppResult<CareBackfill> {
    let key = keys::care_backfill(&audit.tenant_id);
    let mut run = match store.get::<CareBackfill>(&key).await? {
        Some(run) => run,
        None => {
            let run = CareBackfill::start(signed_up, store.clock.now(), &audit.actor);
            let mut plan = Plan::new();
            plan.push(Write::put_new(to_item(&key, "care_backfill", &run)?), backfill_raced());
            plan.commit(store, audit, "care_team.backfill_started", audit.tenant_id.as_str()).await?;
            run
        }
    };
    let started = std::time::Instant::now();
    let mut months = 0;
    while let Some(month) = run.pending() {
        if months >= budget.max_months || (months > 0 && started.elapsed() >= budget.time) {
            break;
        }
        let month_start = month.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
        let written = backfill_month(store, audit, month_start).await?;
        let next = run.advanced(written as u64, store.clock.now());
        let write = Write::put_if(to_item(&key, "care_backfill", &next)?, Condition::equals("version", run.version));
        if next.status == BackfillStatus::Done {
            // The last month, with the record of the whole run.
            let details = serde_json::to_value(&next).map_err(|e| AppError::Internal(e.to_string()))?;
            let mut plan = Plan::new();
            plan.push(write, backfill_raced());
            plan.commit_detailed(store, audit, "care_team.backfill_done", audit.tenant_id.as_str(), Some(details))
                .await?;
        } else {
            store.table.transact(vec![write]).await.map_err(|err| match err {
                mas_ports::TableError::ConditionFailed { .. } => backfill_raced(),
                other => other.into(),
            })?;
        }
        run = next;
        months += 1;
    }
    Ok(run)
}
