//! A clinic's clients: create, read, search, update, their timeline, and the anonymous path
//! booking uses. Every change writes a timeline entry and the audit record in one transaction.
//!
//! Keys and search (infra/access-patterns.md):
//! - the client item is `TENANT#t#CLIENT#c` / `CLIENT`, on GSI1 as `TENANT#t#CLIENTS` /
//!   `{last first}#{c}` (normalized: lowercase, accents folded). One GSI1 partition per tenant
//!   is the client list in name order, and a `begins_with` on it is a name-prefix search; both
//!   page with the table's cursor. Prefix search on a sort key is the one text search DynamoDB
//!   does natively, and reading "Smi" as the start of a surname is what a front desk types. The
//!   cost: a first-name-only search does not match, and GSI1 is eventually consistent on AWS, so
//!   a client created a moment ago may be missing from the list for a moment.
//! - an email is claimed by `TENANT#t` / `CLIENT_EMAIL#{email}` (put with not-exists in the same
//!   transaction as the client), which both keeps emails unique and answers an exact email
//!   search with one strongly consistent read.
//! - a phone is indexed by `TENANT#t` / `CLIENT_PHONE#{phone}#{c}`, one item per client (phones
//!   are shared within families), so an exact phone search is one Query plus a batch read.
//!
//! - the search box (`GET /v1/search`) finds a client by any word of her name, from its second
//!   letter, forgiving a slip: `search_index`, written in these same transactions.

use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use mas_domain::catalog::Record;
use mas_domain::clients::{Client, ClientInput, ClientPatch, ClientQuery};
use mas_domain::error::{AppError, AppResult, Rejection};
use mas_domain::ids::{ClientId, TenantId};
use mas_domain::reach::ClientScope;
use mas_domain::values::Email;
use mas_ports::table::{GSI1PK, GSI1SK};
use mas_ports::{Condition, Item, Key, Query, SortKey, Write};
use mas_store::keys;
use mas_store::{AuditContext, Plan, Store, TimelineEntry, from_item, to_item};

use crate::search_index;

pub const CLIENT_EXISTS: &str = "client_exists";

/// One page of a list, and the cursor for the next page when there may be one.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ClientPage {
    /// Written out rather than `Client`: utoipa names the schema from the arguments it sees.
    pub items: Vec<Record<ClientId, ClientInput>>,
    /// Pass as `cursor` to read the next page; absent on the last one.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TimelinePage {
    /// Newest first.
    pub items: Vec<TimelineEntry>,
    pub next_cursor: Option<String>,
}

/// The refusals of the client record, typed; the store's failures are kept whole as the source.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientError {
    /// 422 `out_of_range` (field `limit`).
    #[error("must be 1–{MAX_PAGE}")]
    PageSizeOutOfRange,
    /// 409 `stale_version`: the client changed since the caller read it.
    #[error("the client changed since it was read; reload and try again")]
    StaleVersion,
    /// 409 `client_exists`, naming the client that holds the email.
    #[error("a client with this email already exists")]
    Exists { owner: ClientId },
    /// Inside a transaction: the email claim is held; answered as `Exists` once its owner is read.
    #[error("taken")]
    EmailClaimed,
    /// 404: no such client in this clinic.
    #[error("client not found")]
    NotFound,
    /// 410 `client_erased`: says nothing of who they were.
    #[error("this client's data was erased")]
    Erased,
    /// 403: only clinical staff change the address a client signs in with.
    #[error("the email is how the client signs in to the portal: only clinical staff may change it")]
    SignInEmailForbidden,
    /// 422 `email_required` (field `email`): a public booking needs one.
    #[error("an email is needed to book")]
    EmailRequired,
    #[error(transparent)]
    Store(#[from] AppError),
}

impl mas_store::retry::Contended for ClientError {
    fn is_contention(&self) -> bool {
        matches!(self, ClientError::Store(err) if err.is_contention())
    }
}

impl From<ClientError> for AppError {
    fn from(err: ClientError) -> Self {
        let message = err.to_string();
        match err {
            ClientError::PageSizeOutOfRange => AppError::invalid("out_of_range", "limit", message),
            ClientError::StaleVersion => AppError::conflict("stale_version", message),
            ClientError::Exists { owner } => AppError::Rejected {
                kind: Rejection::Conflict,
                code: CLIENT_EXISTS,
                message,
                details: json!({ "client_id": owner }),
            },
            ClientError::EmailClaimed => AppError::conflict(CLIENT_EXISTS, message),
            ClientError::NotFound => AppError::NotFound { what: "client" },
            ClientError::Erased => AppError::Gone { code: "client_erased", message },
            ClientError::SignInEmailForbidden => AppError::Forbidden(message),
            ClientError::EmailRequired => AppError::invalid("email_required", "email", message),
            ClientError::Store(err) => err,
        }
    }
}

impl From<mas_ports::TableError> for ClientError {
    fn from(err: mas_ports::TableError) -> Self {
        ClientError::Store(err.into())
    }
}

/// How many items a page may hold, and how many when the caller does not say.
pub const MAX_PAGE: u32 = 100;
pub const DEFAULT_PAGE: u32 = 25;

/// The page size asked for, within 1–`MAX_PAGE`.
pub fn page_size(limit: Option<u32>) -> Result<u32, ClientError> {
    match limit {
        None => Ok(DEFAULT_PAGE),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(_) => Err(ClientError::PageSizeOutOfRange),
    }
}

fn not_found() -> ClientError {
    ClientError::NotFound
}

fn stale() -> ClientError {
    ClientError::StaleVersion
}

/// A claim or index entry pointing at a client.
#[derive(Deserialize)]
struct Claim {
    owner_id: ClientId,
}

fn client_item(tenant: &TenantId, client: &Client) -> AppResult<Item> {
    let mut item = to_item(&keys::client(tenant, &client.id), "client", client)?;
    let (gsi_pk, gsi_sk) = keys::clients_gsi(tenant, &client.data.sort_name(), &client.id);
    item.insert(GSI1PK.into(), gsi_pk.into());
    item.insert(GSI1SK.into(), gsi_sk.into());
    Ok(item)
}

fn claim_write(key: Key, client: &ClientId) -> AppResult<Write> {
    Ok(Write::put_new(to_item(&key, "claim", &json!({ "owner_id": client }))?))
}

/// Who holds an email among the tenant's clients.
pub async fn email_owner(store: &Store, tenant: &TenantId, email: &Email) -> AppResult<Option<ClientId>> {
    Ok(store.get::<Claim>(&keys::client_email(tenant, email)).await?.map(|claim| claim.owner_id))
}

/// The 409 for an email another client holds, naming that client.
async fn exists_error(store: &Store, tenant: &TenantId, email: Option<&Email>) -> ClientError {
    let owner = match email {
        Some(email) => email_owner(store, tenant, email).await,
        None => Ok(None),
    };
    match owner {
        Ok(Some(owner)) => ClientError::Exists { owner },
        Ok(None) => AppError::contention("the clients changed while this was being saved; try again").into(),
        Err(err) => err.into(),
    }
}

/// What an erased client's item holds instead of the client (`mas_usecases::gdpr`).
pub const ERASED_ENTITY: &str = "client_erased";

/// The answer for a client who was erased, or whose erasure is under way: 410, saying nothing
/// of who they were.
pub fn erased() -> ClientError {
    ClientError::Erased
}

/// The client in a stored item: `None` for an erased client, or one being erased (erasure
/// archives the client first; clients are archived for nothing else).
fn live(item: Item) -> AppResult<Option<Client>> {
    if item.get(mas_store::ENTITY_TYPE).and_then(|v| v.as_str()) == Some(ERASED_ENTITY) {
        return Ok(None);
    }
    let client: Client = from_item(item)?;
    Ok((!client.archived).then_some(client))
}

/// Whether the client exists and is neither erased nor being erased: what a credential the
/// client holds (a portal session, a signing link) needs to keep working.
pub async fn is_live(store: &Store, tenant: &TenantId, id: &ClientId) -> AppResult<bool> {
    match store.table.get(&keys::client(tenant, id)).await? {
        Some(item) => Ok(live(item)?.is_some()),
        None => Ok(false),
    }
}

pub async fn get(store: &Store, tenant: &TenantId, id: &ClientId) -> Result<Client, ClientError> {
    let item = store.table.get(&keys::client(tenant, id)).await?.ok_or_else(not_found)?;
    live(item)?.ok_or_else(erased)
}

/// The check a write about a client makes in its own transaction: the client exists and is not
/// being erased (erasure archives the client before it looks for what stops it, then replaces
/// the item with a tombstone that has no `archived`), so a booking or a questionnaire racing an
/// erasure is refused by the table rather than left behind under a deleted key.
pub fn live_check(tenant: &TenantId, client: &ClientId) -> Write {
    Write::check(keys::client(tenant, client), Condition::equals("archived", false))
}

/// The clients among `ids` that exist, in the order given (unknown and erased ids are left out).
pub async fn get_many(store: &Store, tenant: &TenantId, ids: &[ClientId]) -> AppResult<Vec<Client>> {
    let keys: Vec<Key> = ids.iter().map(|id| keys::client(tenant, id)).collect();
    let mut found = Vec::new();
    for item in store.table.batch_get(&keys).await? {
        found.extend(live(item)?);
    }
    found.sort_by_key(|client| ids.iter().position(|id| id == &client.id));
    Ok(found)
}

/// Creates the client, its email claim, its phone index entry and its first timeline entry.
/// An email another client holds is a 409 `client_exists` naming that client.
pub async fn create(store: &Store, audit: &AuditContext, input: ClientInput) -> Result<Client, ClientError> {
    create_by(store, audit, input, &ClientScope::Clinic).await
}

/// `create`, by a member whose client scope is `creator`: a practitioner's new client joins her
/// care team in the same transaction (whoever records a client is looking after them).
pub async fn create_by(
    store: &Store,
    audit: &AuditContext,
    input: ClientInput,
    creator: &ClientScope,
) -> Result<Client, ClientError> {
    let email = input.email.clone();
    match insert(store, audit, input, creator).await {
        Err(ClientError::EmailClaimed) => Err(exists_error(store, &audit.tenant_id, email.as_ref()).await),
        other => other,
    }
}

/// `create`, with a clash on the email claim left as a plain `client_exists` conflict.
async fn insert(
    store: &Store,
    audit: &AuditContext,
    input: ClientInput,
    creator: &ClientScope,
) -> Result<Client, ClientError> {
    let (client, mut plan) = insert_plan(store, audit, input)?;
    if let Some(link) =
        crate::care_links::creator_link(creator, &audit.tenant_id, &client.id, client.created_at, &audit.actor)?
    {
        plan.push(link, AppError::Internal("a care link put has no condition".into()));
    }
    plan.commit_as(store, audit, "client.created", client.id.as_str()).await?;
    Ok(client)
}

/// The writes that create a client (record, email and phone claims, timeline, event), for a
/// transaction of the caller's; a clash on the email claim is `client_exists`.
fn insert_plan(store: &Store, audit: &AuditContext, input: ClientInput) -> AppResult<(Client, Plan<ClientError>)> {
    let now = store.clock.now();
    input.check(now.date_naive())?;
    let tenant = &audit.tenant_id;
    let client =
        Record { id: ClientId::new(), version: 1, created_at: now, updated_at: now, archived: false, data: input };
    let id_clash = || AppError::conflict("id_taken", "an id clash; try again");
    let mut plan = Plan::<ClientError>::typed();
    plan.push(Write::put_new(client_item(tenant, &client)?), id_clash());
    if let Some(email) = &client.data.email {
        plan.push(claim_write(keys::client_email(tenant, email), &client.id)?, ClientError::EmailClaimed);
    }
    if let Some(phone) = &client.data.phone {
        plan.push(claim_write(keys::client_phone(tenant, phone, &client.id), &client.id)?, id_clash());
    }
    for write in search_index::changes(tenant, &client.id, None, Some(&client.data))? {
        plan.push(write, id_clash());
    }
    let entry = TimelineEntry::new(&client.id, now, "client.created", "Client record created", None, &audit.actor);
    plan.push(entry.write(tenant)?, id_clash());
    let payload = serde_json::json!({ "client_id": client.id, "marketing_consent": client.data.marketing_consent });
    plan.announce(mas_ports::DomainEvent::new(tenant, "client.created", client.id.as_str(), now, payload))?;
    Ok((client, plan))
}

/// Applies a partial update made against `patch.version`. A stale version is a 409
/// `stale_version`; changing the email moves its claim in the same transaction.
///
/// The email is how a client signs in to the portal: only callers that `may_change_sign_in`
/// (clinical roles) change it, and the caller tells the old address (`Updated::previous_email`).
pub async fn update(
    store: &Store,
    audit: &AuditContext,
    id: &ClientId,
    patch: ClientPatch,
    may_change_sign_in: bool,
) -> Result<Updated, ClientError> {
    let tenant = &audit.tenant_id;
    let current = get(store, tenant, id).await?;
    if patch.version != current.version {
        return Err(stale());
    }
    let (data, changed) = patch.apply(&current.data);
    if changed.is_empty() {
        return Ok(Updated { client: current, previous_email: None });
    }
    if data.email != current.data.email && !may_change_sign_in {
        return Err(ClientError::SignInEmailForbidden);
    }
    let now = store.clock.now();
    data.check(now.date_naive())?;
    let next = Record { version: current.version + 1, updated_at: now, data, ..current.clone() };
    let mut plan = Plan::<ClientError>::typed();
    plan.push(Write::put_if(client_item(tenant, &next)?, Condition::equals("version", current.version)), stale());
    let owned_by_this_client = || Condition::equals("owner_id", id.as_str());
    if next.data.email != current.data.email {
        if let Some(old) = &current.data.email {
            plan.push(Write::delete_if(keys::client_email(tenant, old), owned_by_this_client()), stale());
        }
        if let Some(new) = &next.data.email {
            plan.push(claim_write(keys::client_email(tenant, new), id)?, ClientError::EmailClaimed);
        }
    }
    if next.data.phone != current.data.phone {
        if let Some(old) = &current.data.phone {
            plan.push(Write::delete_if(keys::client_phone(tenant, old, id), owned_by_this_client()), stale());
        }
        if let Some(new) = &next.data.phone {
            plan.push(claim_write(keys::client_phone(tenant, new, id), id)?, stale());
        }
    }
    for write in search_index::changes(tenant, id, Some(&current.data), Some(&next.data))? {
        plan.push(write, stale());
    }
    // Field names only: the timeline is read by roles that need not see the old values.
    let summary = format!("Details updated: {}", changed.join(", "));
    let entry = TimelineEntry::new(id, now, "client.updated", summary, None, &audit.actor);
    plan.push(entry.write(tenant)?, AppError::conflict("id_taken", "an id clash; try again"));
    let previous_email = current.data.email.clone().filter(|_| next.data.email != current.data.email);
    match plan.commit_as(store, audit, "client.updated", id.as_str()).await {
        Ok(()) => Ok(Updated { client: next, previous_email }),
        Err(ClientError::EmailClaimed) => Err(exists_error(store, tenant, next.data.email.as_ref()).await),
        Err(err) => Err(err),
    }
}

/// A client after an update, and the address they signed in with before, when it changed.
pub struct Updated {
    pub client: Client,
    pub previous_email: Option<Email>,
}

/// The client a booking from the public site is for: the existing client with that email —
/// whose stored details are left exactly as they are, since an anonymous caller must not be
/// able to change a client record — or a new client made from `details`. Two first bookings
/// with one email at once: the email claim lets one create, and the other returns its id.
/// The email is required here (422 `email_required`).
/// The client a public booking is for, and the writes that create them when new, to commit in
/// the booking's own transaction (so a refused booking leaves no client behind). An existing
/// client with this email is used as stored: nothing of theirs changes from the public site.
pub async fn for_public_booking(
    store: &Store,
    audit: &AuditContext,
    details: ClientInput,
) -> Result<(ClientId, Option<Plan>), ClientError> {
    let email = details.email.clone().ok_or(ClientError::EmailRequired)?;
    if let Some(owner) = email_owner(store, &audit.tenant_id, &email).await? {
        return Ok((owner, None));
    }
    let (client, typed) = insert_plan(store, audit, details)?;
    // The booking's transaction answers in its own terms: a clash on the claim is `client_exists`.
    let mut plan = Plan::new();
    plan.append(typed);
    plan.audit_also(store, audit, "client.created", client.id.as_str())?;
    Ok((client.id, Some(plan)))
}

/// Lists or searches the tenant's clients (see the module notes for how each search works).
/// Name lists page with `cursor`; an email or phone search answers in one page.
pub async fn search(
    store: &Store,
    tenant: &TenantId,
    query: ClientQuery,
    limit: u32,
    cursor: Option<String>,
) -> AppResult<ClientPage> {
    let prefix = match query {
        ClientQuery::All => None,
        ClientQuery::NamePrefix(prefix) => Some(prefix),
        ClientQuery::Email(email) => {
            let owners: Vec<ClientId> = email_owner(store, tenant, &email).await?.into_iter().collect();
            return Ok(ClientPage { items: get_many(store, tenant, &owners).await?, next_cursor: None });
        }
        ClientQuery::Phone(phone) => {
            let index =
                Query::partition(keys::tenant_pk(tenant)).sk(SortKey::BeginsWith(keys::client_phone_prefix(&phone)));
            let owners: Vec<ClientId> = store
                .table
                .query_all(&index)
                .await?
                .into_iter()
                .map(|item| from_item::<Claim>(item).map(|claim| claim.owner_id))
                .collect::<AppResult<_>>()?;
            let mut items = get_many(store, tenant, &owners).await?;
            items.sort_by_cached_key(|client| client.data.sort_name());
            return Ok(ClientPage { items, next_cursor: None });
        }
    };
    let mut by_name = Query::gsi1(keys::clients_gsi_pk(tenant)).limit(limit).after(cursor);
    if let Some(prefix) = prefix {
        by_name = by_name.sk(SortKey::BeginsWith(prefix));
    }
    let page = mas_context::paging::page_from_caller(store, by_name).await?;
    let items = page.items.into_iter().map(from_item).collect::<AppResult<_>>()?;
    Ok(ClientPage { items, next_cursor: page.cursor })
}

/// The client's timeline, newest first.
pub async fn timeline(
    store: &Store,
    tenant: &TenantId,
    id: &ClientId,
    limit: u32,
    cursor: Option<String>,
) -> AppResult<TimelinePage> {
    get(store, tenant, id).await?;
    let query = Query::partition(keys::client_pk(tenant, id))
        .sk(SortKey::BeginsWith(keys::TIMELINE_PREFIX.into()))
        .descending()
        .limit(limit)
        .after(cursor);
    let page = mas_context::paging::page_from_caller(store, query).await?;
    let items = page.items.into_iter().map(from_item).collect::<AppResult<_>>()?;
    Ok(TimelinePage { items, next_cursor: page.cursor })
}
