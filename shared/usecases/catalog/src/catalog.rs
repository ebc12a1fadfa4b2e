//! Catalog operations, written once for every catalog entity. Every rule that depends on other
//! stored items is decided by a condition in the same transaction as the write: a referenced
//! location or resource must exist and not be archived at the moment of writing, and a slug is
//! claimed with "not exists" — never by a read followed by a write.

use std::collections::BTreeSet;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::error::CatalogError;
use mas_domain::catalog::{
    ExceptionInput, Location, LocationInput, Practitioner, PractitionerException, PractitionerInput, Record, Resource,
    ResourceInput, Service, ServiceInput,
};
use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::{
    ExceptionId, LocationId, MembershipPlanId, PackageTemplateId, PractitionerId, ResourceId, ServiceId, TenantId,
};
use mas_domain::membership::MembershipPlanInput;
use mas_domain::package::PackageInput;
use mas_domain::reach::{LocationScope, Sites};
use mas_ports::{Condition, Key, Query, SortKey, Write};
use mas_store::keys::{self, CatalogKind};
use mas_store::{AuditContext, Plan, Store, from_item, to_item};

/// Another catalog entity an entry points at, named by the field that holds the reference.
pub struct Reference {
    pub field: String,
    pub kind: CatalogKind,
    pub id: String,
}

/// A unique value an entry claims within its tenant (a service's slug).
pub struct Claim {
    pub key: Key,
    pub field: &'static str,
    /// The refusal when another entry holds the key.
    pub taken: CatalogError,
}

/// What each catalog entity tells the generic operations about itself.
pub trait Entry: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    type Id: Clone + std::fmt::Display + std::str::FromStr + Serialize + DeserializeOwned + Default + Send + Sync;
    const KIND: CatalogKind;
    /// For messages and audit actions: `location` → `location.created`.
    const NAME: &'static str;

    /// Rules within the entry itself; may fill derived fields (a slug from the name).
    fn normalize(&mut self) -> AppResult<()>;
    fn references(&self) -> Vec<Reference>;
    fn claims(&self, _tenant: &TenantId) -> Vec<Claim> {
        Vec::new()
    }
    /// Why an entry cannot be archived while others depend on it, if they do.
    fn in_use(_id: &Self::Id, _catalog: &Catalog) -> Option<String> {
        None
    }
    /// Where the entry is: a member restricted to locations changes it only when all of them
    /// are hers (`LocationScope::require_all`).
    fn sites(&self, id: &Self::Id) -> Sites;
    /// Whether reading it is narrowed to members of its locations too. Locations, services and
    /// practitioners are the clinic's public catalog (its site shows them): nothing to hide.
    /// Rooms and devices are not on the site.
    const READ_AT_SITES: bool = false;
}

pub fn reference(field: impl Into<String>, kind: CatalogKind, id: &impl ToString) -> Reference {
    Reference { field: field.into(), kind, id: id.to_string() }
}

impl Entry for LocationInput {
    type Id = LocationId;
    const KIND: CatalogKind = CatalogKind::Location;
    const NAME: &'static str = "location";

    fn normalize(&mut self) -> AppResult<()> {
        self.check()
    }

    fn references(&self) -> Vec<Reference> {
        Vec::new()
    }

    fn sites(&self, id: &LocationId) -> Sites {
        Sites::at([id])
    }

    fn in_use(id: &LocationId, catalog: &Catalog) -> Option<String> {
        if let Some(p) = catalog.practitioners.iter().find(|p| p.data.location_ids().any(|l| l == id)) {
            return Some(format!("practitioner {} works here; change their working rules first", p.id));
        }
        if let Some(r) = catalog.resources.iter().find(|r| &r.data.location_id == id) {
            return Some(format!("resource {} is here; archive or move it first", r.id));
        }
        catalog
            .services
            .iter()
            .find(|s| s.data.location_ids.contains(id))
            .map(|s| format!("service {} is offered here; change its locations first", s.id))
    }
}

impl Entry for ServiceInput {
    type Id = ServiceId;
    const KIND: CatalogKind = CatalogKind::Service;
    const NAME: &'static str = "service";

    fn normalize(&mut self) -> AppResult<()> {
        self.check()?;
        self.slug = Some(self.slug_or_derived()?);
        Ok(())
    }

    fn references(&self) -> Vec<Reference> {
        let resources = self.required_resources.iter().enumerate();
        let locations = self.location_ids.iter().enumerate();
        resources
            .map(|(i, id)| reference(format!("required_resources[{i}]"), CatalogKind::Resource, id))
            .chain(locations.map(|(i, id)| reference(format!("location_ids[{i}]"), CatalogKind::Location, id)))
            .collect()
    }

    fn sites(&self, _id: &ServiceId) -> Sites {
        if self.location_ids.is_empty() { Sites::Everywhere } else { Sites::at(&self.location_ids) }
    }

    fn claims(&self, tenant: &TenantId) -> Vec<Claim> {
        let slug = self.slug.as_ref().expect("normalize sets the slug");
        vec![Claim { key: keys::service_slug(tenant, slug), field: "slug", taken: CatalogError::SlugTaken }]
    }
}

impl Entry for PractitionerInput {
    type Id = PractitionerId;
    const KIND: CatalogKind = CatalogKind::Practitioner;
    const NAME: &'static str = "practitioner";

    fn normalize(&mut self) -> AppResult<()> {
        self.check()
    }

    fn references(&self) -> Vec<Reference> {
        self.working_rules
            .iter()
            .enumerate()
            .map(|(i, rule)| {
                reference(format!("working_rules[{i}].location_id"), CatalogKind::Location, &rule.location_id)
            })
            .collect()
    }

    fn sites(&self, _id: &PractitionerId) -> Sites {
        Sites::at(self.location_ids())
    }
}

impl Entry for ResourceInput {
    type Id = ResourceId;
    const KIND: CatalogKind = CatalogKind::Resource;
    const NAME: &'static str = "resource";

    fn normalize(&mut self) -> AppResult<()> {
        self.check()
    }

    fn references(&self) -> Vec<Reference> {
        vec![reference("location_id", CatalogKind::Location, &self.location_id)]
    }

    fn sites(&self, _id: &ResourceId) -> Sites {
        Sites::at([&self.location_id])
    }

    const READ_AT_SITES: bool = true;

    fn in_use(id: &ResourceId, catalog: &Catalog) -> Option<String> {
        catalog
            .services
            .iter()
            .find(|s| s.data.required_resources.contains(id))
            .map(|s| format!("service {} requires it; change the service first", s.id))
    }
}

impl Entry for PackageInput {
    type Id = PackageTemplateId;
    const KIND: CatalogKind = CatalogKind::Package;
    const NAME: &'static str = "package_template";

    fn normalize(&mut self) -> AppResult<()> {
        self.check()
    }

    /// The services it covers must exist and not be archived when it is written.
    fn references(&self) -> Vec<Reference> {
        let services = self.service_ids.iter().enumerate();
        services.map(|(i, id)| reference(format!("service_ids[{i}]"), CatalogKind::Service, id)).collect()
    }

    fn sites(&self, _id: &PackageTemplateId) -> Sites {
        Sites::Everywhere
    }
}

impl Entry for MembershipPlanInput {
    type Id = MembershipPlanId;
    const KIND: CatalogKind = CatalogKind::MembershipPlan;
    const NAME: &'static str = "membership_plan";

    fn normalize(&mut self) -> AppResult<()> {
        self.check()
    }

    /// The services its credits pay for must exist and not be archived when it is written.
    fn references(&self) -> Vec<Reference> {
        let services = self.service_ids.iter().enumerate();
        services.map(|(i, id)| reference(format!("service_ids[{i}]"), CatalogKind::Service, id)).collect()
    }

    fn sites(&self, _id: &MembershipPlanId) -> Sites {
        Sites::Everywhere
    }
}

/// A tenant's whole catalog, read with one Query. Archived entries are included.
#[derive(Debug, Default)]
pub struct Catalog {
    pub locations: Vec<Location>,
    pub services: Vec<Service>,
    pub practitioners: Vec<Practitioner>,
    pub resources: Vec<Resource>,
    pub exceptions: Vec<PractitionerException>,
}

impl Catalog {
    pub async fn load(store: &Store, tenant: &TenantId) -> AppResult<Catalog> {
        let query = Query::partition(keys::tenant_pk(tenant)).sk(SortKey::BeginsWith(keys::CATALOG_PREFIX.into()));
        let mut catalog = Catalog::default();
        for item in store.table.query_all(&query).await? {
            let sk = item.get(mas_ports::table::SK).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
            match CatalogKind::of_sort_key(&sk) {
                Some(CatalogKind::Location) => catalog.locations.push(from_item(item)?),
                Some(CatalogKind::Service) => catalog.services.push(from_item(item)?),
                Some(CatalogKind::Practitioner) => catalog.practitioners.push(from_item(item)?),
                Some(CatalogKind::Resource) => catalog.resources.push(from_item(item)?),
                Some(CatalogKind::PractitionerException) => catalog.exceptions.push(from_item(item)?),
                Some(CatalogKind::Package | CatalogKind::MembershipPlan) | None => {}
            }
        }
        Ok(catalog)
    }
}

fn not_found<E: Entry>() -> AppError {
    AppError::NotFound { what: E::NAME }
}

pub async fn list<E: Entry>(
    store: &Store,
    tenant: &TenantId,
    include_archived: bool,
) -> AppResult<Vec<Record<E::Id, E>>> {
    let query = Query::partition(keys::tenant_pk(tenant)).sk(SortKey::BeginsWith(E::KIND.prefix().into()));
    let items = store.table.query_all(&query).await?;
    let records: Vec<Record<E::Id, E>> = items.into_iter().map(from_item).collect::<AppResult<_>>()?;
    Ok(records.into_iter().filter(|r| include_archived || !r.archived).collect())
}

pub async fn get<E: Entry>(store: &Store, tenant: &TenantId, id: &E::Id) -> AppResult<Record<E::Id, E>> {
    store.get(&keys::catalog_item(tenant, E::KIND, &id.to_string())).await?.ok_or_else(not_found::<E>)
}

/// Whether a member of `scope` may read `record`: always, but for entries read only at their
/// locations (`Entry::READ_AT_SITES`), where one elsewhere is as if it did not exist.
fn readable<E: Entry>(scope: &LocationScope, record: &Record<E::Id, E>) -> bool {
    !E::READ_AT_SITES || scope.covers(&record.data.sites(&record.id))
}

/// `list`, as a member of `scope` sees it.
pub async fn list_within<E: Entry>(
    store: &Store,
    tenant: &TenantId,
    scope: &LocationScope,
    include_archived: bool,
) -> AppResult<Vec<Record<E::Id, E>>> {
    let mut records = list::<E>(store, tenant, include_archived).await?;
    records.retain(|record| readable(scope, record));
    Ok(records)
}

/// `get`, as a member of `scope` sees it (404 for an entry read only at other locations).
pub async fn get_within<E: Entry>(
    store: &Store,
    tenant: &TenantId,
    scope: &LocationScope,
    id: &E::Id,
) -> AppResult<Record<E::Id, E>> {
    let record = get::<E>(store, tenant, id).await?;
    if readable(scope, &record) { Ok(record) } else { Err(not_found::<E>()) }
}

/// Adds a check per referenced entity (once per entity) that it exists and is not archived at
/// the moment of writing; its failure names the field that held the reference.
pub fn add_reference_checks<F: From<AppError>>(
    plan: &mut Plan<F>,
    tenant: &TenantId,
    references: impl IntoIterator<Item = Reference>,
) {
    let mut seen = BTreeSet::new();
    for r in references {
        let key = keys::catalog_item(tenant, r.kind, &r.id);
        if seen.insert(key.clone()) {
            let stale = AppError::from(CatalogError::UnknownReference { field: r.field });
            plan.push(Write::check(key, Condition::equals("archived", false)), stale);
        }
    }
}

fn moved_meanwhile() -> AppError {
    AppError::contention("the practitioner's working rules changed meanwhile; reload and try again")
}

fn concurrent<E: Entry>() -> AppError {
    AppError::contention(format!("the {} changed while this was being saved; reload and try again", E::NAME))
}

fn claim_taken(claim: &Claim) -> CatalogError {
    claim.taken.clone()
}

/// Creates an entry; a member restricted to locations creates only what lies at hers (a new
/// location is at none of them: 403).
pub async fn create<E: Entry>(
    store: &Store,
    audit: &AuditContext,
    scope: &LocationScope,
    mut entry: E,
) -> Result<Record<E::Id, E>, CatalogError> {
    entry.normalize()?;
    let now = store.clock.now();
    let record =
        Record { id: E::Id::default(), version: 1, created_at: now, updated_at: now, archived: false, data: entry };
    scope.require_all(&record.data.sites(&record.id), E::NAME)?;
    let tenant = &audit.tenant_id;
    let id = record.id.to_string();
    let mut plan = Plan::<CatalogError>::typed();
    let item = to_item(&keys::catalog_item(tenant, E::KIND, &id), E::NAME, &record)?;
    plan.push(Write::put_new(item), AppError::conflict("id_taken", "an id clash; try again"));
    for claim in record.data.claims(tenant) {
        let claim_item = to_item(&claim.key, "claim", &json!({ "owner_id": id }))?;
        let taken = claim_taken(&claim);
        plan.push(Write::put_new(claim_item), taken);
    }
    add_reference_checks(&mut plan, tenant, record.data.references());
    announce_site_change::<E>(&mut plan, audit, store.clock.now())?;
    plan.commit_as(store, audit, &format!("{}.created", E::NAME), &id).await?;
    Ok(record)
}

/// What the clinic's site shows changed (rooms and devices are not on it): `site.changed` rides
/// in the change's transaction, and the bus routes it to the site publisher.
fn announce_site_change<E: Entry>(
    plan: &mut Plan<CatalogError>,
    audit: &AuditContext,
    at: chrono::DateTime<chrono::Utc>,
) -> AppResult<()> {
    // Rooms, devices and package templates are not on the site.
    if matches!(E::KIND, CatalogKind::Resource | CatalogKind::Package | CatalogKind::MembershipPlan) {
        return Ok(());
    }
    plan.announce(mas_context::announcements::change_event(&audit.tenant_id, audit.request_id.as_str(), E::NAME, at))
}

/// Replaces an entry; a member restricted to locations changes only what lies at hers, before
/// and after (the version read is the condition, so what was checked is what is replaced).
pub async fn replace<E: Entry>(
    store: &Store,
    audit: &AuditContext,
    scope: &LocationScope,
    id: &E::Id,
    mut entry: E,
) -> Result<Record<E::Id, E>, CatalogError> {
    entry.normalize()?;
    let tenant = &audit.tenant_id;
    let current: Record<E::Id, E> = get_within(store, tenant, scope, id).await?;
    scope.require_all(&current.data.sites(id).and(entry.sites(id)), E::NAME)?;
    if current.archived {
        return Err(CatalogError::Archived { what: E::NAME });
    }
    let record = Record { version: current.version + 1, updated_at: store.clock.now(), data: entry, ..current.clone() };
    let id_text = id.to_string();
    let mut plan = Plan::<CatalogError>::typed();
    let item = to_item(&keys::catalog_item(tenant, E::KIND, &id_text), E::NAME, &record)?;
    plan.push(Write::put_if(item, Condition::equals("version", current.version)), concurrent::<E>());
    let old_claims = current.data.claims(tenant);
    let new_claims = record.data.claims(tenant);
    for old in old_claims.iter().filter(|old| !new_claims.iter().any(|new| new.key == old.key)) {
        plan.push(
            Write::delete_if(old.key.clone(), Condition::equals("owner_id", id_text.as_str())),
            concurrent::<E>(),
        );
    }
    for new in new_claims.iter().filter(|new| !old_claims.iter().any(|old| old.key == new.key)) {
        let claim_item = to_item(&new.key, "claim", &json!({ "owner_id": id_text }))?;
        plan.push(Write::put_new(claim_item), claim_taken(new));
    }
    add_reference_checks(&mut plan, tenant, record.data.references());
    announce_site_change::<E>(&mut plan, audit, store.clock.now())?;
    plan.commit_as(store, audit, &format!("{}.updated", E::NAME), &id_text).await?;
    Ok(record)
}

/// Archives an entry: hidden from lists and the public site, kept for history, its claims freed.
pub async fn archive<E: Entry>(
    store: &Store,
    audit: &AuditContext,
    scope: &LocationScope,
    id: &E::Id,
) -> Result<Record<E::Id, E>, CatalogError> {
    let tenant = &audit.tenant_id;
    let current: Record<E::Id, E> = get_within(store, tenant, scope, id).await?;
    scope.require_all(&current.data.sites(id), E::NAME)?;
    if current.archived {
        return Ok(current);
    }
    if let Some(why) = E::in_use(id, &Catalog::load(store, tenant).await?) {
        return Err(CatalogError::InUse { why });
    }
    let record =
        Record { version: current.version + 1, updated_at: store.clock.now(), archived: true, ..current.clone() };
    let id_text = id.to_string();
    let mut plan = Plan::<CatalogError>::typed();
    let item = to_item(&keys::catalog_item(tenant, E::KIND, &id_text), E::NAME, &record)?;
    plan.push(Write::put_if(item, Condition::equals("version", current.version)), concurrent::<E>());
    for claim in current.data.claims(tenant) {
        plan.push(Write::delete_if(claim.key, Condition::equals("owner_id", id_text.as_str())), concurrent::<E>());
    }
    announce_site_change::<E>(&mut plan, audit, store.clock.now())?;
    plan.commit_as(store, audit, &format!("{}.archived", E::NAME), &id_text).await?;
    Ok(record)
}

pub async fn list_exceptions(
    store: &Store,
    tenant: &TenantId,
    practitioner: &PractitionerId,
) -> AppResult<Vec<PractitionerException>> {
    get::<PractitionerInput>(store, tenant, practitioner).await?;
    let prefix = keys::practitioner_exceptions_prefix(practitioner.as_str());
    let items =
        store.table.query_all(&Query::partition(keys::tenant_pk(tenant)).sk(SortKey::BeginsWith(prefix))).await?;
    items.into_iter().map(from_item).collect()
}

/// A member restricted to locations changes the hours only of a practitioner who works only at
/// hers, and names only her locations (the practitioner's version is the condition).
async fn require_practitioner_sites(
    store: &Store,
    tenant: &TenantId,
    scope: &LocationScope,
    practitioner: &PractitionerId,
    also: Option<&LocationId>,
) -> AppResult<Option<Condition>> {
    if *scope == LocationScope::All {
        return Ok(None);
    }
    let current = get::<PractitionerInput>(store, tenant, practitioner).await?;
    if current.archived {
        return Err(AppError::NotFound { what: "practitioner" });
    }
    scope.require_all(&current.data.sites(practitioner).and(Sites::at(also)), "practitioner")?;
    Ok(Some(Condition::equals("version", current.version)))
}

pub async fn add_exception(
    store: &Store,
    audit: &AuditContext,
    scope: &LocationScope,
    practitioner: &PractitionerId,
    input: ExceptionInput,
) -> AppResult<PractitionerException> {
    input.check()?;
    let tenant = &audit.tenant_id;
    let unchanged = require_practitioner_sites(store, tenant, scope, practitioner, input.location_id.as_ref()).await?;
    let now = store.clock.now();
    let record =
        Record { id: ExceptionId::new(), version: 1, created_at: now, updated_at: now, archived: false, data: input };
    let key = keys::practitioner_exception(tenant, practitioner.as_str(), record.id.as_str());
    let exception = PractitionerException { practitioner_id: practitioner.clone(), record };
    let item = to_item(&key, "practitioner_exception", &exception)?;
    let mut plan = Plan::new();
    plan.push(Write::put_new(item), AppError::conflict("id_taken", "an id clash; try again"));
    let practitioner_key = keys::catalog_item(tenant, CatalogKind::Practitioner, practitioner.as_str());
    match unchanged {
        // The version read (not archived, at her locations) is still the one stored.
        Some(condition) => plan.push(Write::check(practitioner_key, condition), moved_meanwhile()),
        None => plan.push(
            Write::check(practitioner_key, Condition::equals("archived", false)),
            AppError::NotFound { what: "practitioner" },
        ),
    }
    if let Some(location) = &exception.record.data.location_id {
        add_reference_checks(&mut plan, tenant, [reference("location_id", CatalogKind::Location, location)]);
    }
    plan.commit(store, audit, "practitioner_exception.created", exception.record.id.as_str()).await?;
    Ok(exception)
}

pub async fn remove_exception(
    store: &Store,
    audit: &AuditContext,
    scope: &LocationScope,
    practitioner: &PractitionerId,
    exception: &ExceptionId,
) -> AppResult<()> {
    let key = keys::practitioner_exception(&audit.tenant_id, practitioner.as_str(), exception.as_str());
    let unchanged = require_practitioner_sites(store, &audit.tenant_id, scope, practitioner, None).await?;
    let mut plan = Plan::new();
    plan.push(Write::delete_if(key, Condition::Exists), AppError::NotFound { what: "exception" });
    if let Some(condition) = unchanged {
        let practitioner_key = keys::catalog_item(&audit.tenant_id, CatalogKind::Practitioner, practitioner.as_str());
        plan.push(Write::check(practitioner_key, condition), moved_meanwhile());
    }
    plan.commit(store, audit, "practitioner_exception.deleted", exception.as_str()).await
}
