//! Every table key is built here and nowhere else (see `infra/access-patterns.md`). Every
//! tenant-owned key starts with `TENANT#{tenant_id}`, so a tenant's data is only reachable
//! through keys made from its own id.

use chrono::{DateTime, Utc};

use crate::domain::documents::{Jurisdiction, SemVer, Sha256Hex, TemplateKind, Variant};
use crate::domain::values::{Email, Hostname, Slug};
use crate::ids::{AuditId, ClientId, DocumentId, SigningSessionId, TemplateId, TenantId, TimelineId};
use crate::ports::{BlobKey, Key};

pub fn tenant_pk(tenant: &TenantId) -> String {
    format!("TENANT#{tenant}")
}

pub fn tenant_profile(tenant: &TenantId) -> Key {
    Key::new(tenant_pk(tenant), "PROFILE")
}

pub fn brand(tenant: &TenantId) -> Key {
    Key::new(tenant_pk(tenant), "BRAND")
}

/// Claims a tenant slug platform-wide; holds the tenant id.
pub fn tenant_slug(slug: &Slug) -> Key {
    Key::new(format!("TENANT_SLUG#{slug}"), "SLUG")
}

/// Claims a host name (custom domain or platform subdomain) for one tenant's site.
pub fn host(host: &Hostname) -> Key {
    Key::new(format!("HOST#{host}"), "HOST")
}

/// Catalog entities share the `CAT#` prefix, so one Query reads a tenant's whole catalog.
pub const CATALOG_PREFIX: &str = "CAT#";

/// The kinds of catalog entity and their sort-key prefixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatalogKind {
    Location,
    Service,
    Practitioner,
    PractitionerException,
    Resource,
}

impl CatalogKind {
    pub fn prefix(self) -> &'static str {
        match self {
            CatalogKind::Location => "CAT#LOC#",
            CatalogKind::Service => "CAT#SVC#",
            CatalogKind::Practitioner => "CAT#PRAC#",
            CatalogKind::PractitionerException => "CAT#PRACEXC#",
            CatalogKind::Resource => "CAT#RES#",
        }
    }

    /// The kind an item's sort key names, if it is a catalog item.
    pub fn of_sort_key(sk: &str) -> Option<CatalogKind> {
        [Self::Location, Self::Service, Self::Practitioner, Self::PractitionerException, Self::Resource]
            .into_iter()
            .find(|kind| sk.starts_with(kind.prefix()))
    }
}

pub fn catalog_item(tenant: &TenantId, kind: CatalogKind, id: &str) -> Key {
    Key::new(tenant_pk(tenant), format!("{}{id}", kind.prefix()))
}

/// A practitioner's exceptions sort under the practitioner, so one prefix lists them.
pub fn practitioner_exceptions_prefix(practitioner: &str) -> String {
    format!("{}{practitioner}#", CatalogKind::PractitionerException.prefix())
}

pub fn practitioner_exception(tenant: &TenantId, practitioner: &str, exception: &str) -> Key {
    Key::new(tenant_pk(tenant), format!("{}{exception}", practitioner_exceptions_prefix(practitioner)))
}

/// Claims a service slug within a tenant; holds the service id.
pub fn service_slug(tenant: &TenantId, slug: &Slug) -> Key {
    Key::new(tenant_pk(tenant), format!("SVCSLUG#{slug}"))
}

pub const MEMBER_PREFIX: &str = "MEMBER#";

pub fn member(tenant: &TenantId, member: &str) -> Key {
    Key::new(tenant_pk(tenant), format!("{MEMBER_PREFIX}{member}"))
}

/// Claims an email within a tenant's team; holds the member id.
pub fn member_email(tenant: &TenantId, email: &Email) -> Key {
    Key::new(tenant_pk(tenant), format!("MEMBER_EMAIL#{email}"))
}

/// How many owners a tenant has; decremented only with a condition, so the last owner stays.
pub fn owner_count(tenant: &TenantId) -> Key {
    Key::new(tenant_pk(tenant), "OWNERS")
}

/// GSI1 on a member item: the tenants a person belongs to (read when issuing tokens).
pub fn user_tenants_gsi(email: &Email, tenant: &TenantId) -> (String, String) {
    (format!("USER#{email}"), tenant_pk(tenant))
}

/// A client's partition: the client item (`CLIENT`), medical versions (`MED#…`) and the
/// timeline (`TL#…`), so one Query reads a client's history.
pub fn client_pk(tenant: &TenantId, client: &ClientId) -> String {
    format!("{}#CLIENT#{client}", tenant_pk(tenant))
}

pub const TIMELINE_PREFIX: &str = "TL#";

/// One entry on a client's timeline, sorted by time.
pub fn client_timeline(tenant: &TenantId, client: &ClientId, at: DateTime<Utc>, id: &TimelineId) -> Key {
    Key::new(client_pk(tenant, client), format!("{TIMELINE_PREFIX}{}#{id}", at.format("%Y-%m-%dT%H:%M:%S%.3fZ")))
}

/// The partition of the platform's global templates, which clinics copy and adapt.
pub const GLOBAL_PK: &str = "GLOBAL";

/// The partition holding a template owner's versions: a clinic's, or the platform's (`None`).
pub fn templates_pk(owner: Option<&TenantId>) -> String {
    owner.map_or_else(|| GLOBAL_PK.to_owned(), tenant_pk)
}

pub const TEMPLATE_PREFIX: &str = "TPL#";

/// The sort-key prefix of a kind's templates in one jurisdiction (every topic and version).
pub fn templates_prefix(kind: TemplateKind, jurisdiction: &Jurisdiction) -> String {
    format!("{TEMPLATE_PREFIX}{}#{jurisdiction}#", kind.as_str())
}

/// One published template version, written once with "not exists": `TPL#{kind}#{jurisdiction}#{topic}#{version}`.
pub fn template(owner: Option<&TenantId>, kind: TemplateKind, jurisdiction: &Jurisdiction, topic: &Slug, version: SemVer) -> Key {
    Key::new(templates_pk(owner), format!("{}{topic}#{}", templates_prefix(kind, jurisdiction), version.sort_key()))
}

/// A template id → the key of its version (so `GET /v1/templates/{id}` is two reads, not a scan).
pub fn template_ref(owner: Option<&TenantId>, id: &TemplateId) -> Key {
    Key::new(templates_pk(owner), format!("TPLID#{id}"))
}

/// A document, in its client's partition (so one Query reads the client file).
pub fn document(tenant: &TenantId, client: &ClientId, document: &DocumentId) -> Key {
    Key::new(client_pk(tenant, client), format!("DOC#{document}"))
}

/// A rendered PDF of a document, written once per variant.
pub fn rendition(tenant: &TenantId, client: &ClientId, document: &DocumentId, variant: Variant) -> Key {
    Key::new(client_pk(tenant, client), format!("DOC#{document}#PDF#{}", variant.as_str()))
}

/// A document id → its client, so routes that name only the document find it.
pub fn document_ref(tenant: &TenantId, document: &DocumentId) -> Key {
    Key::new(tenant_pk(tenant), format!("DOCREF#{document}"))
}

pub fn signing_session(tenant: &TenantId, session: &SigningSessionId) -> Key {
    Key::new(format!("{}#SIG#{session}", tenant_pk(tenant)), "SIG")
}

/// A stamp or a PDF's file hash → the document it belongs to. Platform-wide and public by design:
/// anyone holding a PDF may ask whether it is ours.
pub fn stamp(hash: &Sha256Hex) -> Key {
    Key::new(format!("STAMP#{hash}"), "STAMP")
}

/// Where a rendered PDF is stored, under the tenant's prefix. Named by its own hash, so a
/// repeated render never overwrites the file a stored hash describes.
pub fn document_pdf(tenant: &TenantId, document: &DocumentId, variant: Variant, file: &Sha256Hex) -> BlobKey {
    BlobKey::parse(&format!("tenants/{tenant}/documents/{document}/{}-{file}.pdf", variant.as_str()))
        .expect("ids and hex digests are valid key segments")
}

/// The audit log partition of one month, append-only.
pub fn audit(tenant: &TenantId, at: DateTime<Utc>, id: &AuditId) -> Key {
    Key::new(
        format!("{}#AUDIT#{}", tenant_pk(tenant), at.format("%Y-%m")),
        format!("{}#{id}", at.format("%Y-%m-%dT%H:%M:%S%.3fZ")),
    )
}

pub fn audit_month_pk(tenant: &TenantId, year_month: &str) -> String {
    format!("{}#AUDIT#{year_month}", tenant_pk(tenant))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tenant_owned_key_starts_with_the_tenant_partition() {
        let t = TenantId::parse("ten_abc").unwrap();
        let slug = Slug::parse("lip-filler").unwrap();
        let email = Email::parse("a@b.co").unwrap();
        for key in [
            tenant_profile(&t),
            brand(&t),
            catalog_item(&t, CatalogKind::Service, "svc_1"),
            practitioner_exception(&t, "prc_1", "exc_1"),
            service_slug(&t, &slug),
            member(&t, "mem_1"),
            member_email(&t, &email),
            audit(&t, Utc::now(), &AuditId::new()),
            document(&t, &ClientId::new(), &DocumentId::new()),
            rendition(&t, &ClientId::new(), &DocumentId::new(), Variant::Signed),
            document_ref(&t, &DocumentId::new()),
            signing_session(&t, &SigningSessionId::new()),
            template_ref(Some(&t), &TemplateId::new()),
        ] {
            assert!(key.pk.starts_with("TENANT#ten_abc"), "{key:?}");
        }
    }

    #[test]
    fn catalog_prefixes_do_not_capture_each_other() {
        let exception = practitioner_exception(&TenantId::parse("ten_a").unwrap(), "prc_1", "exc_1");
        assert_eq!(CatalogKind::of_sort_key(&exception.sk), Some(CatalogKind::PractitionerException));
        assert!(!exception.sk.starts_with(CatalogKind::Practitioner.prefix()));
        assert!(!"SVCSLUG#x".starts_with(CatalogKind::Service.prefix()));
        assert!(!"MEMBER_EMAIL#x".starts_with(MEMBER_PREFIX));
    }
}
