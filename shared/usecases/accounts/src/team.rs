//! The clinic's team: who may sign in, with which role, where. Removing a member revokes access
//! at once (every request reads the membership). A tenant always keeps at least one owner: the
//! owner count only goes down under a condition on its current value.

use serde_json::json;

use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::{MemberId, TenantId};
use mas_domain::team::{Member, MemberInput, Role};
use mas_ports::{Condition, Key, Query, SortKey, Write};
use mas_store::keys::{self, CatalogKind};
use mas_store::{AuditContext, Plan, Store, from_item, to_item};

use crate::tenants::member_item;
use mas_catalog::catalog::{Reference, add_reference_checks, reference};

pub async fn list(store: &Store, tenant: &TenantId) -> AppResult<Vec<Member>> {
    let query = Query::partition(keys::tenant_pk(tenant)).sk(SortKey::BeginsWith(keys::MEMBER_PREFIX.into()));
    store.table.query_all(&query).await?.into_iter().map(from_item).collect()
}

/// The team's refusals, typed; the store's failures are kept whole as the source.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TeamError {
    /// 403: only an owner makes, changes or removes an owner.
    #[error("only an owner may add, change or remove an owner")]
    OwnerOnly,
    /// 422 `duplicate_entry` at `location_ids[index]`.
    #[error("listed twice")]
    LocationListedTwice { index: usize },
    /// 422 `too_many_items` (field `location_ids`).
    #[error("at most {MAX_LOCATIONS} entries")]
    TooManyLocations,
    /// 409 `last_owner`: the change would leave the clinic without an owner.
    #[error("a clinic needs at least one owner; make someone else owner first")]
    LastOwner,
    /// 409 `email_taken`.
    #[error("someone on the team already uses that email")]
    EmailTaken,
    #[error(transparent)]
    Store(#[from] AppError),
}

impl From<TeamError> for AppError {
    fn from(err: TeamError) -> Self {
        let message = err.to_string();
        match err {
            TeamError::OwnerOnly => AppError::Forbidden(message),
            TeamError::LocationListedTwice { index } => {
                AppError::invalid("duplicate_entry", format!("location_ids[{index}]"), message)
            }
            TeamError::TooManyLocations => AppError::invalid("too_many_items", "location_ids", message),
            TeamError::LastOwner => AppError::conflict("last_owner", message),
            TeamError::EmailTaken => AppError::conflict("email_taken", message),
            TeamError::Store(err) => err,
        }
    }
}

/// How many locations a member may be restricted to.
const MAX_LOCATIONS: usize = 20;

pub async fn get(store: &Store, tenant: &TenantId, id: &MemberId) -> AppResult<Member> {
    store.get(&keys::member(tenant, id.as_str())).await?.ok_or(AppError::NotFound { what: "team member" })
}

/// Only an owner may make, change or remove an owner.
fn check_owner_rule(acting: Role, touched: &[Role]) -> Result<(), TeamError> {
    if acting != Role::Owner && touched.contains(&Role::Owner) {
        return Err(TeamError::OwnerOnly);
    }
    Ok(())
}

/// The catalog entities a member refers to, which must be live when the member is written.
fn references(input: &MemberInput) -> Vec<Reference> {
    let locations = input.location_ids.iter().enumerate();
    let mut refs: Vec<Reference> =
        locations.map(|(i, id)| reference(format!("location_ids[{i}]"), CatalogKind::Location, id)).collect();
    if let Some(practitioner) = &input.practitioner_id {
        refs.push(reference("practitioner_id", CatalogKind::Practitioner, practitioner));
    }
    refs
}

fn check_input(input: &MemberInput) -> Result<(), TeamError> {
    for (i, location) in input.location_ids.iter().enumerate() {
        if input.location_ids[..i].contains(location) {
            return Err(TeamError::LocationListedTwice { index: i });
        }
    }
    if input.location_ids.len() > MAX_LOCATIONS {
        return Err(TeamError::TooManyLocations);
    }
    Ok(())
}

async fn owner_count(store: &Store, tenant: &TenantId) -> AppResult<i64> {
    let item = store.table.get(&keys::owner_count(tenant)).await?;
    Ok(item.and_then(|i| i.get("count").and_then(|c| c.as_i64())).unwrap_or(0))
}

/// The write that takes one owner away, refused when it would leave none.
async fn one_owner_fewer(store: &Store, tenant: &TenantId) -> Result<(Write, TeamError), TeamError> {
    let count = owner_count(store, tenant).await?;
    if count <= 1 {
        return Err(TeamError::LastOwner);
    }
    let item = to_item(&keys::owner_count(tenant), "counter", &json!({ "count": count - 1 }))?;
    Ok((Write::put_if(item, Condition::equals("count", count)), concurrent().into()))
}

fn one_owner_more(tenant: &TenantId) -> Write {
    Write::Update {
        key: keys::owner_count(tenant),
        set: Default::default(),
        add: [("count".to_owned(), 1)].into(),
        remove: vec![],
        condition: None,
    }
}

fn concurrent() -> AppError {
    AppError::contention("the team changed while this was being saved; reload and try again")
}

fn email_claim(tenant: &TenantId, member: &Member) -> AppResult<Write> {
    Ok(Write::put_new(to_item(
        &keys::member_email(tenant, &member.input.email),
        "claim",
        &json!({ "owner_id": member.id }),
    )?))
}

fn email_taken() -> TeamError {
    TeamError::EmailTaken
}

pub async fn create(
    store: &Store,
    audit: &AuditContext,
    acting: Role,
    input: MemberInput,
) -> Result<Member, TeamError> {
    check_input(&input)?;
    check_owner_rule(acting, &[input.role])?;
    let t = &audit.tenant_id;
    let now = store.clock.now();
    let member = Member { id: MemberId::new(), input, version: 1, auth_epoch: 0, created_at: now, updated_at: now };
    let mut plan = Plan::<TeamError>::typed();
    plan.push(Write::put_new(member_item(t, &member)?), AppError::conflict("id_taken", "an id clash; try again"));
    plan.push(email_claim(t, &member)?, email_taken());
    add_reference_checks(&mut plan, t, references(&member.input));
    if member.input.role == Role::Owner {
        plan.push(one_owner_more(t), concurrent());
    }
    plan.commit_as(store, audit, "member.created", member.id.as_str()).await?;
    Ok(member)
}

pub async fn replace(
    store: &Store,
    audit: &AuditContext,
    acting: Role,
    id: &MemberId,
    input: MemberInput,
) -> Result<Member, TeamError> {
    check_input(&input)?;
    let t = &audit.tenant_id;
    let current = get(store, t, id).await?;
    check_owner_rule(acting, &[current.input.role, input.role])?;
    let next = Member { input, version: current.version + 1, updated_at: store.clock.now(), ..current.clone() };
    let mut plan = Plan::<TeamError>::typed();
    plan.push(Write::put_if(member_item(t, &next)?, Condition::equals("version", current.version)), concurrent());
    if next.input.email != current.input.email {
        let old: Key = keys::member_email(t, &current.input.email);
        plan.push(Write::delete_if(old, Condition::equals("owner_id", id.as_str())), concurrent());
        plan.push(email_claim(t, &next)?, email_taken());
    }
    add_reference_checks(&mut plan, t, references(&next.input));
    match (current.input.role == Role::Owner, next.input.role == Role::Owner) {
        (true, false) => {
            let (write, failure) = one_owner_fewer(store, t).await?;
            plan.push(write, failure);
        }
        (false, true) => plan.push(one_owner_more(t), concurrent()),
        _ => {}
    }
    plan.commit_as(store, audit, "member.updated", id.as_str()).await?;
    Ok(next)
}

/// Removes the member and returns who they were (their sign-in is forgotten by the caller).
pub async fn remove(store: &Store, audit: &AuditContext, acting: Role, id: &MemberId) -> Result<Member, TeamError> {
    let t = &audit.tenant_id;
    let current = get(store, t, id).await?;
    check_owner_rule(acting, &[current.input.role])?;
    let mut plan = Plan::<TeamError>::typed();
    plan.push(
        Write::delete_if(keys::member(t, id.as_str()), Condition::equals("version", current.version)),
        concurrent(),
    );
    let email = keys::member_email(t, &current.input.email);
    plan.push(Write::delete_if(email, Condition::equals("owner_id", id.as_str())), concurrent());
    if current.input.role == Role::Owner {
        let (write, failure) = one_owner_fewer(store, t).await?;
        plan.push(write, failure);
    }
    plan.commit_as(store, audit, "member.deleted", id.as_str()).await?;
    Ok(current)
}
