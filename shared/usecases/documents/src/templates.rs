//! Templates: publishing versions (each a new item, written once with "not exists"), reading a
//! family, and seeding the platform's global templates, which clinics copy and adapt.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use mas_domain::documents::{Approval, Jurisdiction, Template, TemplateInput, TemplateKind};
use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::{RequestId, TemplateId, TenantId};
use mas_ports::{Query, SortKey, Write};
use mas_store::keys;
use mas_store::{AuditContext, Once, Plan, Store, from_item, to_item};

/// The audit partition for platform-level changes (global templates have no clinic).
pub fn platform_audit() -> AuditContext {
    AuditContext {
        tenant_id: TenantId::parse("ten_platform").expect("a valid id"),
        actor: "system".into(),
        role: None,
        request_id: RequestId::new(),
    }
}

#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub kind: Option<TemplateKind>,
    pub jurisdiction: Option<Jurisdiction>,
    pub include_global: bool,
}

async fn query_owner(store: &Store, owner: Option<&TenantId>, prefix: &str) -> AppResult<Vec<Template>> {
    let query = Query::partition(keys::templates_pk(owner)).sk(SortKey::BeginsWith(prefix.to_owned()));
    store.table.query_all(&query).await?.into_iter().map(from_item).collect()
}

/// A clinic's templates (and the platform's, when asked), newest version first within a family.
pub async fn list(store: &Store, tenant: &TenantId, filter: &Filter) -> AppResult<Vec<Template>> {
    let prefix = match (filter.kind, &filter.jurisdiction) {
        (Some(kind), Some(j)) => keys::templates_prefix(kind, j),
        (Some(kind), None) => format!("{}{}#", keys::TEMPLATE_PREFIX, kind.as_str()),
        (None, _) => keys::TEMPLATE_PREFIX.to_owned(),
    };
    let mut templates = query_owner(store, Some(tenant), &prefix).await?;
    if filter.include_global {
        templates.extend(query_owner(store, None, &prefix).await?);
    }
    templates.retain(|t| filter.jurisdiction.as_ref().is_none_or(|j| &t.jurisdiction == j));
    templates.sort_by(|a, b| {
        (a.tenant_id.is_none(), a.kind, &a.jurisdiction, &a.topic, std::cmp::Reverse(a.version)).cmp(&(
            b.tenant_id.is_none(),
            b.kind,
            &b.jurisdiction,
            &b.topic,
            std::cmp::Reverse(b.version),
        ))
    });
    Ok(templates)
}

/// Every version of a kind in a jurisdiction, the clinic's and the platform's.
pub async fn family(
    store: &Store,
    tenant: &TenantId,
    kind: TemplateKind,
    jurisdiction: &Jurisdiction,
) -> AppResult<Vec<Template>> {
    let prefix = keys::templates_prefix(kind, jurisdiction);
    let (mut own, global) =
        tokio::try_join!(query_owner(store, Some(tenant), &prefix), query_owner(store, None, &prefix))?;
    own.extend(global);
    Ok(own)
}

#[derive(Deserialize)]
struct TemplateRef {
    pk: String,
    sk: String,
}

/// A template the clinic may read: its own or a global one.
pub async fn get(store: &Store, tenant: &TenantId, id: &TemplateId) -> AppResult<Template> {
    for owner in [Some(tenant), None] {
        if let Some(reference) = store.get::<TemplateRef>(&keys::template_ref(owner, id)).await? {
            // The reference was written with the template in one transaction, in the same partition.
            if reference.pk == keys::templates_pk(owner) {
                let key = mas_ports::Key::new(reference.pk, reference.sk);
                return store.get(&key).await?.ok_or(AppError::NotFound { what: "template" });
            }
        }
    }
    Err(AppError::NotFound { what: "template" })
}

/// The platform's version of a family that a clinic's copy inherits mandatory blocks from: the
/// one in force on `day`, or else the newest.
pub fn global_of_family<'a>(
    candidates: &'a [Template],
    like: &Template,
    day: chrono::NaiveDate,
) -> Option<&'a Template> {
    let family: Vec<&Template> = candidates
        .iter()
        .filter(|t| t.is_global() && t.same_family(like.kind, &like.jurisdiction, &like.topic))
        .collect();
    family
        .iter()
        .filter(|t| t.in_force_on(day))
        .max_by_key(|t| t.version)
        .or_else(|| family.iter().max_by_key(|t| t.version))
        .copied()
}

/// A template's writes. Both fail only when the version (or its id) is stored already: the
/// failure is `Once::AlreadyDone`, which seeding skips and publishing answers as 409.
fn template_writes<F: From<AppError> + From<Once>>(plan: &mut Plan<F>, template: &Template) -> AppResult<()> {
    let owner = template.tenant_id.as_ref();
    let key = keys::template(owner, template.kind, &template.jurisdiction, &template.topic, template.version);
    let reference =
        to_item(&keys::template_ref(owner, &template.id), "template_ref", &json!({ "pk": key.pk, "sk": key.sk }))?;
    plan.push(
        Write::put_new(to_item(&key, "template", template)?),
        Once::AlreadyDone(AppError::conflict(
            "version_published",
            format!(
                "version {} of this template is already published and never changes; publish a new version",
                template.version
            ),
        )),
    );
    plan.push(Write::put_new(reference), Once::AlreadyDone(AppError::conflict("id_taken", "an id clash; try again")));
    Ok(())
}

/// A template version refused, typed; the store's failures are kept whole as the source.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TemplateError {
    /// 422 `unknown_reference` (field `based_on`).
    #[error("refers to no template this clinic can read")]
    UnknownBase,
    /// 422 `family_mismatch` (field `based_on`): a copy keeps the family of what it copies.
    #[error(
        "{base} is a {} template for {jurisdiction} ({topic}); a copy keeps its kind, jurisdiction and topic",
        kind.as_str()
    )]
    FamilyMismatch { base: TemplateId, kind: TemplateKind, jurisdiction: Jurisdiction, topic: mas_domain::values::Slug },
    #[error(transparent)]
    Store(#[from] AppError),
}

impl From<TemplateError> for AppError {
    fn from(err: TemplateError) -> Self {
        let message = err.to_string();
        match err {
            TemplateError::UnknownBase => AppError::invalid("unknown_reference", "based_on", message),
            TemplateError::FamilyMismatch { .. } => AppError::invalid("family_mismatch", "based_on", message),
            TemplateError::Store(err) => err,
        }
    }
}

/// Publishes a clinic's template version, approved by the member in `audit`.
pub async fn publish(
    store: &Store,
    audit: &AuditContext,
    approver_name: &str,
    input: TemplateInput,
) -> Result<Template, TemplateError> {
    let tenant = &audit.tenant_id;
    let base = match &input.based_on {
        Some(id) => Some(get(store, tenant, id).await.map_err(|_| TemplateError::UnknownBase)?),
        None => None,
    };
    if let Some(base) = &base
        && !base.same_family(input.kind, &input.jurisdiction, &input.topic)
    {
        return Err(TemplateError::FamilyMismatch {
            base: base.id.clone(),
            kind: base.kind,
            jurisdiction: base.jurisdiction.clone(),
            topic: base.topic.clone(),
        });
    }
    let candidates = family(store, tenant, input.kind, &input.jurisdiction).await?;
    let approval =
        Approval { by: audit.actor.clone(), name: approver_name.to_owned(), role: audit.role, at: store.clock.now() };
    let effective_from = input.effective_from;
    let probe = Template {
        id: TemplateId::new(),
        tenant_id: Some(tenant.clone()),
        kind: input.kind,
        jurisdiction: input.jurisdiction.clone(),
        topic: input.topic.clone(),
        name: input.name.clone(),
        version: input.version,
        effective_from,
        effective_to: None,
        based_on: None,
        blocks: Vec::new(),
        mandatory_blocks: Vec::new(),
        approval: approval.clone(),
        published_at: approval.at,
    };
    let mut inherited: Vec<&Template> = base.iter().collect();
    if let Some(global) = global_of_family(&candidates, &probe, effective_from) {
        inherited.push(global);
    }
    let template = input.into_template(probe.id.clone(), Some(tenant.clone()), base.as_ref(), &inherited, approval)?;
    let mut plan = Plan::new();
    template_writes(&mut plan, &template)?;
    plan.commit(store, audit, "template.published", template.id.as_str()).await?;
    Ok(template)
}

/// The platform's seed templates (UK consent and aftercare for injectables, dermal fillers,
/// chemical peels and laser), checked in as JSON and reviewed like code.
const GLOBAL_SEED: &str = include_str!("../seed/global-templates.json");

#[derive(Deserialize)]
struct Seed {
    approved_by: String,
    approved_at: DateTime<Utc>,
    templates: Vec<serde_json::Value>,
}

/// A seed's id, derived from its family and version, so seeding twice finds the same ids.
fn seed_id(input: &TemplateInput) -> TemplateId {
    let family = format!("{}|{}|{}|{}", input.kind.as_str(), input.jurisdiction, input.topic, input.version);
    let digest = hex::encode(Sha256::digest(family.as_bytes()));
    TemplateId::parse(&format!("{}{}", TemplateId::PREFIX, &digest[..26])).expect("hex is a valid id body")
}

/// The global templates as they are seeded.
pub fn global_seed() -> AppResult<Vec<Template>> {
    let seed: Seed =
        serde_json::from_str(GLOBAL_SEED).map_err(|e| AppError::Internal(format!("global-templates.json: {e}")))?;
    let approval = Approval { by: "platform".into(), name: seed.approved_by, role: None, at: seed.approved_at };
    seed.templates
        .into_iter()
        .map(|value| {
            let input: TemplateInput =
                serde_json::from_value(value).map_err(|e| AppError::Internal(format!("global-templates.json: {e}")))?;
            let id = seed_id(&input);
            input.into_template(id, None, None, &[], approval.clone())
        })
        .collect()
}

/// Publishes a platform (global) template version; 409 when that version exists.
pub async fn publish_global(store: &Store, template: &Template) -> Result<(), Once> {
    if !template.is_global() {
        return Err(AppError::Internal("publish_global takes global templates only".into()).into());
    }
    let mut plan = Plan::<Once>::typed();
    template_writes(&mut plan, template)?;
    plan.commit_as(store, &platform_audit(), "template.published", template.id.as_str()).await
}

/// Writes every global seed template that is not there yet; published versions are never
/// touched. Returns how many were written. Safe to run on every start and on AWS as a one-off.
pub async fn seed_global(store: &Store) -> AppResult<usize> {
    let mut written = 0;
    for template in global_seed()? {
        match publish_global(store, &template).await {
            Ok(()) => written += 1,
            Err(Once::AlreadyDone(_)) => {}
            Err(Once::Failed(err)) => return Err(err),
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_global_seed_has_uk_consent_and_aftercare_for_four_treatments_with_stable_ids() {
        let seed = global_seed().unwrap();
        for topic in ["anti-wrinkle", "dermal-filler", "chemical-peel", "laser"] {
            for kind in [TemplateKind::Consent, TemplateKind::Aftercare] {
                let found = seed
                    .iter()
                    .filter(|t| t.kind == kind && t.topic.as_str() == topic && t.jurisdiction.as_str() == "UK");
                assert_eq!(found.count(), 1, "{kind:?} {topic}");
            }
        }
        assert_eq!(
            global_seed().unwrap().iter().map(|t| t.id.clone()).collect::<Vec<_>>(),
            seed.iter().map(|t| t.id.clone()).collect::<Vec<_>>()
        );
        let known =
            ["client.name", "clinic.name", "document.date", "treatment.name", "treatment.area", "practitioner.name"];
        for template in &seed {
            assert!(template.is_global() && !template.mandatory_blocks.is_empty(), "{}", template.name);
            for block in &template.blocks {
                for placeholder in block.body.placeholders() {
                    assert!(known.contains(&placeholder.as_str()), "{}: {placeholder}", template.name);
                }
            }
        }
    }
}
