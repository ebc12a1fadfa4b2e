//! Signing up a clinic, and its brand (with the host names its site answers on).

use serde_json::json;

use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::{MemberId, RequestId, TenantId};
use mas_domain::logo::{LogoFormat, LogoInfo, StoredLogo, stored_logo};
use mas_domain::team::{Member, MemberInput, Role};
use mas_domain::tenant::{Brand, BrandInput, DomainVerification, SignupInput, Tenant, TenantStatus};
use mas_domain::values::{Hostname, Slug};
use mas_ports::table::{GSI1PK, GSI1SK};
use mas_ports::{Condition, TxtResolver, Write};
use mas_store::keys;
use mas_store::{AuditContext, Plan, Store, to_item};

/// Stores the clinic's logo for its PDFs, replacing any earlier one; the image is decoded first
/// (`domain::logo::check_logo`). Documents rendered from now on carry it.
pub async fn put_logo(store: &Store, audit: &AuditContext, format: LogoFormat, bytes: &[u8]) -> AppResult<LogoInfo> {
    let logo = stored_logo(format, bytes, store.clock.now(), &audit.actor)?;
    let mut plan = Plan::new();
    plan.push(
        Write::put(to_item(&keys::brand_logo(&audit.tenant_id), "logo", &logo)?),
        AppError::Internal("logo not stored".into()),
    );
    plan.commit(store, audit, "brand.logo_uploaded", logo.info.sha256.as_str()).await?;
    Ok(logo.info)
}

/// The clinic's logo, if it uploaded one.
pub async fn logo(store: &Store, tenant: &TenantId) -> AppResult<Option<StoredLogo>> {
    store.get(&keys::brand_logo(tenant)).await
}

pub struct SignedUp {
    pub tenant: Tenant,
    pub owner: Member,
}

/// A clinic's refusals (signing up, going live, its brand and hosts), typed; the store's failures
/// are kept whole as the source.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TenantError {
    /// 422 `slug_reserved` (field `slug`).
    #[error("`{slug}` is kept for the platform")]
    SlugReserved { slug: Slug },
    /// 422 `invalid_slug` (field `slug`): the slug makes no host name.
    #[error("{why}")]
    InvalidSlug { why: String },
    /// 409 `slug_taken`.
    #[error("that clinic address is taken; choose another slug")]
    SlugTaken,
    /// 409 `already_live`.
    #[error("the clinic is already live")]
    AlreadyLive,
    /// 409 `clinic_not_verified`: the owner's email is not confirmed yet.
    #[error("confirm the owner's email first (open the link we emailed, or ask for a new one)")]
    NotVerified,
    /// 422 `domain_is_platforms` (field `domain`).
    #[error("a name under the platform's domain is a subdomain: set `subdomain`")]
    DomainIsPlatforms,
    /// 422 `invalid_subdomain` (field `subdomain`).
    #[error("{why}")]
    InvalidSubdomain { why: String },
    /// 409 `host_taken`: the host (named by its brand field, `domain` or `subdomain`) is another
    /// clinic's.
    #[error("that {field} is used by another clinic")]
    HostTaken { field: &'static str },
    /// 422 `no_domain_to_verify` (field `domain`).
    #[error("the brand has no custom domain waiting for verification")]
    NoDomainToVerify,
    /// 422 `domain_not_verified` (field `domain`): the TXT record was not found.
    #[error(
        "no TXT record `{record_name}` with the text `{record_value}` was found; add it at your DNS provider (changes can take a while to show)"
    )]
    DomainNotVerified { record_name: String, record_value: String },
    #[error(transparent)]
    Store(#[from] AppError),
}

impl From<TenantError> for AppError {
    fn from(err: TenantError) -> Self {
        let message = err.to_string();
        match err {
            TenantError::SlugReserved { .. } => AppError::invalid("slug_reserved", "slug", message),
            TenantError::InvalidSlug { .. } => AppError::invalid("invalid_slug", "slug", message),
            TenantError::SlugTaken => AppError::conflict("slug_taken", message),
            TenantError::AlreadyLive => AppError::conflict("already_live", message),
            TenantError::NotVerified => AppError::conflict("clinic_not_verified", message),
            TenantError::DomainIsPlatforms => AppError::invalid("domain_is_platforms", "domain", message),
            TenantError::InvalidSubdomain { .. } => AppError::invalid("invalid_subdomain", "subdomain", message),
            TenantError::HostTaken { .. } => AppError::conflict("host_taken", message),
            TenantError::NoDomainToVerify => AppError::invalid("no_domain_to_verify", "domain", message),
            TenantError::DomainNotVerified { .. } => AppError::invalid("domain_not_verified", "domain", message),
            TenantError::Store(err) => err,
        }
    }
}

/// Creates the tenant, its default brand and its first owner in one transaction. The slug's
/// platform host (`{slug}.{site_domain}`, where CloudFront serves the site) is claimed in the
/// same transaction, in the namespace subdomains and custom domains share, so no other clinic
/// can take it as a subdomain and no clinic can sign up as another's subdomain.
///
/// The clinic starts pending (`TenantStatus::PendingEmailVerification`): both claims say so,
/// and public lookups (`tenant_by_slug`, `tenant_by_host`) pass over it until `go_live`.
pub async fn sign_up(
    store: &Store,
    request_id: RequestId,
    site_domain: &str,
    input: SignupInput,
) -> Result<SignedUp, TenantError> {
    if mas_domain::tenant::is_reserved_name(input.slug.as_str()) {
        return Err(TenantError::SlugReserved { slug: input.slug });
    }
    let slug_host =
        Hostname::parse(&format!("{}.{site_domain}", input.slug)).map_err(|e| TenantError::InvalidSlug { why: e.0 })?;
    let now = store.clock.now();
    let tenant = Tenant {
        id: TenantId::new(),
        slug: input.slug,
        name: input.name,
        country: input.country,
        currency: input.currency,
        timezone: input.timezone,
        created_at: now,
        status: TenantStatus::PendingEmailVerification,
    };
    let owner = Member {
        id: MemberId::new(),
        input: MemberInput {
            email: input.owner.email,
            name: input.owner.name,
            role: Role::Owner,
            location_ids: Vec::new(),
            practitioner_id: None,
        },
        version: 1,
        auth_epoch: 0,
        created_at: now,
        updated_at: now,
    };
    let brand_input = BrandInput::default();
    let brand = Brand {
        tokens: brand_input.tokens(),
        input: brand_input,
        domain_verification: None,
        version: 1,
        updated_at: now,
    };
    let t = &tenant.id;
    let id_clash = || AppError::conflict("id_taken", "an id clash; try again");
    let mut plan = Plan::<TenantError>::typed();
    plan.push(
        Write::put_new(to_item(&keys::tenant_slug(&tenant.slug), "claim", &json!({ "tenant_id": t, "live": false }))?),
        TenantError::SlugTaken,
    );
    plan.push(Write::put_new(to_item(&keys::tenant_profile(t), "tenant", &tenant)?), id_clash());
    plan.push(
        Write::put_new(to_item(
            &keys::host(&slug_host),
            "claim",
            &json!({ "tenant_id": t, "by": "slug", "live": false }),
        )?),
        TenantError::SlugTaken,
    );
    plan.push(Write::put_new(to_item(&keys::brand(t), "brand", &brand)?), id_clash());
    plan.push(Write::put_new(member_item(t, &owner)?), id_clash());
    let email = to_item(&keys::member_email(t, &owner.input.email), "claim", &json!({ "owner_id": owner.id }))?;
    plan.push(Write::put_new(email), id_clash());
    plan.push(Write::put_new(to_item(&keys::owner_count(t), "counter", &json!({ "count": 1 }))?), id_clash());
    let audit = AuditContext { tenant_id: t.clone(), actor: "signup".into(), role: None, request_id };
    plan.commit_as(store, &audit, "tenant.created", t.as_str()).await?;
    Ok(SignedUp { tenant, owner })
}

/// A member's item, on GSI1 under the person's email so their tenants can be listed.
pub fn member_item(tenant: &TenantId, member: &Member) -> AppResult<mas_ports::Item> {
    let mut item = to_item(&keys::member(tenant, member.id.as_str()), "member", member)?;
    let (gsi_pk, gsi_sk) = keys::user_tenants_gsi(&member.input.email, tenant);
    item.insert(GSI1PK.into(), gsi_pk.into());
    item.insert(GSI1SK.into(), gsi_sk.into());
    Ok(item)
}

pub async fn tenant(store: &Store, tenant: &TenantId) -> AppResult<Tenant> {
    store.get(&keys::tenant_profile(tenant)).await?.ok_or(AppError::NotFound { what: "tenant" })
}

/// A claim on a slug or a host name. `live` is false while the clinic waits for its owner's
/// email; claims written before the field existed are live.
#[derive(serde::Deserialize)]
struct Claim {
    tenant_id: TenantId,
    #[serde(default = "claims_are_live")]
    live: bool,
}

fn claims_are_live() -> bool {
    true
}

fn live_only(claim: Option<Claim>) -> AppResult<TenantId> {
    claim.filter(|c| c.live).map(|c| c.tenant_id).ok_or(AppError::NotFound { what: "clinic" })
}

/// The live clinic a public slug names: a clinic still waiting for its owner's email is not
/// found, so its booking, portal and payments answer nobody yet.
pub async fn tenant_by_slug(store: &Store, slug: &mas_domain::values::Slug) -> AppResult<TenantId> {
    live_only(store.get(&keys::tenant_slug(slug)).await?)
}

/// The clinic a slug names, live or not: staff sign-in and password resets, which a new
/// clinic's owner needs before the clinic goes live.
pub async fn any_tenant_by_slug(store: &Store, slug: &mas_domain::values::Slug) -> AppResult<TenantId> {
    let claim: Option<Claim> = store.get(&keys::tenant_slug(slug)).await?;
    claim.map(|c| c.tenant_id).ok_or(AppError::NotFound { what: "clinic" })
}

/// The live clinic whose brand claims this host (custom domain or platform subdomain).
pub async fn tenant_by_host(store: &Store, host: &Hostname) -> AppResult<TenantId> {
    live_only(store.get(&keys::host(host)).await?)
}

/// Puts a pending clinic live, in one transaction: its profile, and its slug and platform-host
/// claims (the only claims a pending clinic holds: domains wait until it is live). Conditional
/// on the clinic still being pending, so of two confirmations one wins. `plan` carries what
/// must commit with it (the spent link).
pub async fn go_live(
    store: &Store,
    audit: &AuditContext,
    site_domain: &str,
    also: Plan,
) -> Result<Tenant, TenantError> {
    let mut tenant = tenant(store, &audit.tenant_id).await?;
    if tenant.is_live() {
        return Err(TenantError::AlreadyLive);
    }
    let t = &tenant.id;
    tenant.status = TenantStatus::Live;
    let mut plan = Plan::<TenantError>::typed();
    plan.append(also);
    let not_pending = || TenantError::AlreadyLive;
    plan.push(
        Write::put_if(
            to_item(&keys::tenant_profile(t), "tenant", &tenant)?,
            Condition::equals("status", "pending_email_verification"),
        ),
        not_pending(),
    );
    plan.push(
        Write::put_if(
            to_item(&keys::tenant_slug(&tenant.slug), "claim", &json!({ "tenant_id": t }))?,
            Condition::equals("tenant_id", t.as_str()),
        ),
        not_pending(),
    );
    if let Ok(slug_host) = Hostname::parse(&format!("{}.{site_domain}", tenant.slug)) {
        let claim = store.get::<Claim>(&keys::host(&slug_host)).await?;
        if claim.is_some_and(|c| &c.tenant_id == t) {
            plan.push(
                Write::put_if(
                    to_item(&keys::host(&slug_host), "claim", &json!({ "tenant_id": t, "by": "slug" }))?,
                    Condition::equals("tenant_id", t.as_str()),
                ),
                not_pending(),
            );
        }
    }
    // Going live publishes the site it was set up with (the publish worker withheld it so far).
    plan.announce(mas_context::announcements::change_event(
        t,
        audit.request_id.as_str(),
        "went_live",
        store.clock.now(),
    ))?;
    plan.commit_as(store, audit, "tenant.went_live", t.as_str()).await?;
    Ok(tenant)
}

/// Refuses while the clinic waits for its owner's email: what would put it in front of the
/// public (publishing its site, claiming a domain).
pub fn require_live(tenant: &Tenant) -> Result<(), TenantError> {
    if tenant.is_live() {
        return Ok(());
    }
    Err(TenantError::NotVerified)
}

pub async fn brand(store: &Store, tenant: &TenantId) -> AppResult<Brand> {
    store.get(&keys::brand(tenant)).await?.ok_or(AppError::NotFound { what: "brand" })
}

/// The host names a brand claims: its custom domain and its platform subdomain.
fn hosts(brand: &BrandInput, site_domain: &str, own_slug: &Slug) -> Result<Vec<(Hostname, &'static str)>, TenantError> {
    let mut hosts = Vec::new();
    if let Some(domain) = &brand.domain {
        let platforms = domain.as_str() == site_domain || domain.as_str().ends_with(&format!(".{site_domain}"));
        if platforms {
            return Err(TenantError::DomainIsPlatforms);
        }
        hosts.push((domain.clone(), "domain"));
    }
    // The clinic's own slug is its host already (claimed at signup).
    if let Some(sub) = brand.subdomain.as_ref().filter(|s| *s != own_slug) {
        let host =
            Hostname::parse(&format!("{sub}.{site_domain}")).map_err(|e| TenantError::InvalidSubdomain { why: e.0 })?;
        hosts.push((host, "subdomain"));
    }
    Ok(hosts)
}

/// The hosts a brand holds a claim on: `hosts`, less a custom domain not yet proven (a pending
/// domain holds nothing, so nobody can keep a clinic from its own domain by naming it first).
fn claimed_hosts(
    brand: &Brand,
    site_domain: &str,
    own_slug: &Slug,
) -> Result<Vec<(Hostname, &'static str)>, TenantError> {
    let proven = brand.domain_verification.as_ref().is_none_or(DomainVerification::is_verified);
    let mut hosts = hosts(&brand.input, site_domain, own_slug)?;
    hosts.retain(|(_, field)| *field != "domain" || proven);
    Ok(hosts)
}

/// The proof the next brand needs: kept while the domain stays the same, a new token for a new
/// domain (even one this clinic proved before: control may have changed hands), none without one.
fn next_verification(current: &Brand, input: &BrandInput) -> Option<DomainVerification> {
    match &input.domain {
        Some(domain) if current.input.domain.as_ref() == Some(domain) => current.domain_verification.clone(),
        Some(domain) => {
            let token: [u8; 16] = rand::random();
            let token: String = token.iter().map(|b| format!("{b:02x}")).collect();
            Some(DomainVerification::pending(domain.clone(), &token))
        }
        None => None,
    }
}

pub async fn put_brand(
    store: &Store,
    audit: &AuditContext,
    site_domain: &str,
    input: BrandInput,
) -> Result<Brand, TenantError> {
    input.check()?;
    let t = &audit.tenant_id;
    let current = brand(store, t).await?;
    let clinic = tenant(store, t).await?;
    let slug = clinic.slug.clone();
    let next = Brand {
        tokens: input.tokens(),
        domain_verification: next_verification(&current, &input),
        input,
        version: current.version + 1,
        updated_at: store.clock.now(),
    };
    let old_hosts = claimed_hosts(&current, site_domain, &slug)?;
    let new_hosts = claimed_hosts(&next, site_domain, &slug)?;
    let claims_new_host = new_hosts.iter().any(|(h, _)| !old_hosts.iter().any(|(o, _)| o == h));
    if claims_new_host {
        require_live(&clinic)?;
    }
    let stale = || AppError::contention("the brand changed while this was being saved; reload and try again");
    let mut plan = Plan::<TenantError>::typed();
    plan.push(
        Write::put_if(to_item(&keys::brand(t), "brand", &next)?, Condition::equals("version", current.version)),
        stale(),
    );
    for (host, _) in old_hosts.iter().filter(|(h, _)| !new_hosts.iter().any(|(n, _)| n == h)) {
        plan.push(Write::delete_if(keys::host(host), Condition::equals("tenant_id", t.as_str())), stale());
    }
    for (host, field) in new_hosts.iter().filter(|(h, _)| !old_hosts.iter().any(|(o, _)| o == h)) {
        let claim = Write::put_new(to_item(&keys::host(host), "claim", &json!({ "tenant_id": t }))?);
        plan.push(claim, TenantError::HostTaken { field });
    }
    plan.announce(mas_context::announcements::change_event(t, audit.request_id.as_str(), "brand", store.clock.now()))?;
    plan.commit_as(store, audit, "brand.updated", t.as_str()).await?;
    Ok(next)
}

/// Looks for the brand's TXT record and, when it holds the token, claims the custom domain: the
/// site answers on it from then on. Proven already: the brand as it is. The claim is a put that
/// fails if the name is held, so of two clinics that both show a token (the domain's owner gave
/// both), the first to verify keeps it (409 for the other).
pub async fn verify_domain(store: &Store, dns: &dyn TxtResolver, audit: &AuditContext) -> Result<Brand, TenantError> {
    let t = &audit.tenant_id;
    require_live(&tenant(store, t).await?)?;
    let current = brand(store, t).await?;
    let Some(proof) = current.domain_verification.clone() else {
        return Err(TenantError::NoDomainToVerify);
    };
    if proof.is_verified() {
        return Ok(current);
    }
    let texts = dns.txt(&proof.record_name).await.map_err(|e| {
        tracing::warn!(error = %e, name = %proof.record_name, "TXT lookup failed");
        AppError::Busy("the DNS lookup failed; try again in a minute".into())
    })?;
    if !proof.is_proven_by(&texts) {
        return Err(TenantError::DomainNotVerified {
            record_name: proof.record_name.clone(),
            record_value: proof.record_value.clone(),
        });
    }
    let now = store.clock.now();
    let next = Brand {
        domain_verification: Some(DomainVerification { verified_at: Some(now), ..proof.clone() }),
        version: current.version + 1,
        updated_at: now,
        ..current.clone()
    };
    let stale = AppError::contention("the brand changed while its domain was being verified; reload and try again");
    let mut plan = Plan::<TenantError>::typed();
    plan.push(
        Write::put_if(to_item(&keys::brand(t), "brand", &next)?, Condition::equals("version", current.version)),
        stale,
    );
    plan.push(
        Write::put_new(to_item(&keys::host(&proof.domain), "claim", &json!({ "tenant_id": t }))?),
        TenantError::HostTaken { field: "domain" },
    );
    plan.announce(mas_context::announcements::change_event(t, audit.request_id.as_str(), "brand", now))?;
    plan.commit_as(store, audit, "brand.domain_verified", t.as_str()).await?;
    Ok(next)
}
