//! Every table key is built here and nowhere else (see `infra/access-patterns.md`). Every
//! tenant-owned key starts with `TENANT#{tenant_id}`, so a tenant's data is only reachable
//! through keys made from its own id.

use chrono::{DateTime, NaiveDate, Utc};

use mas_domain::documents::{Jurisdiction, SemVer, Sha256Hex, TemplateKind, Variant};
use mas_domain::ids::{
    AppointmentId, AuditId, ClientId, DeskPaymentId, DocumentId, GiftCardId, GiftOrderId, LocationId, MembershipId,
    PackageId, PayLinkId, PaymentId, PractitionerId, ResourceId, SaleId, SigningSessionId, TemplateId, TenantId,
    TimelineId, WaitlistId,
};
use mas_domain::payment::ReaderId;
use mas_domain::reach::CareLink;
use mas_domain::sale::InvoiceNumber;
use mas_domain::values::{Email, Hostname, Phone, Slug};
use mas_ports::{BlobKey, Key};

pub fn tenant_pk(tenant: &TenantId) -> String {
    format!("TENANT#{tenant}")
}

/// A tenant's reminder cadence and quiet hours.
pub fn notification_settings(tenant: &TenantId) -> Key {
    Key::new(tenant_pk(tenant), "NOTIFY#SETTINGS")
}

/// A client's channel preferences (consent per channel and purpose).
pub fn preferences(tenant: &TenantId, client: &ClientId) -> Key {
    Key::new(client_pk(tenant, client), "PREFS")
}

/// One message on one channel (its delivery record, which is also its send-once claim).
pub fn message(tenant: &TenantId, id: &mas_domain::ids::MessageId) -> Key {
    Key::new(format!("{}#MSG#{id}", tenant_pk(tenant)), "MSG")
}

/// GSI1 partition listing a client's messages by time.
pub fn client_messages(tenant: &TenantId, client: &ClientId) -> String {
    format!("{}#MSGS", client_pk(tenant, client))
}

/// The partition of the reminders planned for one subject (an appointment, a signing session).
pub fn reminder_plan(tenant: &TenantId, subject: &str) -> String {
    format!("{}#PLAN#{subject}", tenant_pk(tenant))
}

pub fn reminder(tenant: &TenantId, subject: &str, kind: &str) -> Key {
    Key::new(reminder_plan(tenant, subject), format!("DUE#{kind}"))
}

/// A notice to one staff member about one event (a product running low), written before it is
/// sent so a redelivered event sends it once.
pub fn staff_notice(tenant: &TenantId, subject: &str, member: &mas_domain::ids::MemberId) -> Key {
    Key::new(format!("{}#STAFFNOTICE", tenant_pk(tenant)), format!("{subject}#{member}"))
}

/// How many GSI1 partitions each hour of due reminders is spread over (write throughput per
/// partition; the sweep reads them all).
pub const DUE_SHARDS: u32 = 4;

/// GSI1 partition of reminders due in the UTC hour of `at`, shard `shard`.
pub fn due_bucket(at: DateTime<Utc>, shard: u32) -> String {
    format!("DUE#{}#{shard}", at.format("%Y-%m-%dT%H"))
}

/// Who last received an SMS from a given number of ours: where an inbound reply belongs.
pub fn sms_peer(phone: &str) -> Key {
    Key::new(format!("SMSPEER#{phone}"), "PEER")
}

/// A domain event committed with its change and not yet known to be on the bus.
pub fn event_outbox(tenant: &TenantId, event: &mas_domain::ids::DomainEventId) -> Key {
    Key::new(format!("{}#OUTBOX", tenant_pk(tenant)), event.to_string())
}

/// GSI1 partition of unpublished events (one: a backlog here is an incident, not a workload).
pub const EVENT_OUTBOX_INDEX: &str = "OUTBOX";

/// The partition of a tenant's event log: the events the projections read, kept for good,
/// written with the outbox in the change's transaction (`events_outbox::announce`).
pub fn event_log_pk(tenant: &TenantId) -> String {
    format!("{}#EVENTLOG", tenant_pk(tenant))
}

/// One event of the log, in time order (then by id).
pub fn event_log(tenant: &TenantId, at: DateTime<Utc>, event: &mas_domain::ids::DomainEventId) -> Key {
    Key::new(event_log_pk(tenant), format!("{}#{event}", at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)))
}

/// Which generation of the insight projections is read, and which is being rebuilt.
pub fn insight_state(tenant: &TenantId) -> Key {
    Key::new(format!("{}#INSIGHT", tenant_pk(tenant)), "STATE")
}

/// The partition of one generation's daily rollups of one dimension (`clinic` or an id).
pub fn insight_rollups_pk(tenant: &TenantId, generation: u32, dimension: &str) -> String {
    format!("{}#INSIGHT#G{generation}#DIM#{dimension}", tenant_pk(tenant))
}

/// One day's rollup (the sort key orders days).
pub fn insight_rollup(tenant: &TenantId, generation: u32, dimension: &str, day: NaiveDate) -> Key {
    Key::new(insight_rollups_pk(tenant, generation, dimension), insight_day_sk(day))
}

pub fn insight_day_sk(day: NaiveDate) -> String {
    format!("DAY#{day}")
}

/// An event a generation has applied (put-new: a redelivery is seen and counts once).
pub fn insight_applied(tenant: &TenantId, generation: u32, event: &mas_domain::ids::DomainEventId) -> Key {
    Key::new(format!("{}#INSIGHT#G{generation}#APPLIED", tenant_pk(tenant)), event.to_string())
}

/// A client's completed visits as one generation has seen them.
pub fn insight_client(tenant: &TenantId, generation: u32, client: &ClientId) -> Key {
    Key::new(format!("{}#INSIGHT#G{generation}#CLIENT", tenant_pk(tenant)), client.to_string())
}

/// A PDF an erasure left to delete once its lock has passed (`pdf.delete_due`); the blob key
/// names it, so scheduling it again replaces it.
pub fn pdf_delete_due(tenant: &TenantId, blob_key: &str) -> Key {
    Key::new(format!("{}#PDF_DELETE", tenant_pk(tenant)), format!("KEY#{blob_key}"))
}

/// GSI1 partition of the PDFs due to be deleted, sorted by when (one: erasures are rare, and
/// each item goes once its PDF is gone).
pub const PDF_DELETE_INDEX: &str = "PDF_DELETE_DUE";

/// GSI1 sort key of a PDF due for deletion: `after` in whole seconds (one fixed width, so the
/// text sorts as the time does), then the key.
pub fn pdf_delete_due_sk(after: DateTime<Utc>, blob_key: &str) -> String {
    format!("{}#{blob_key}", after.format("%Y-%m-%dT%H:%M:%SZ"))
}

pub fn tenant_profile(tenant: &TenantId) -> Key {
    Key::new(tenant_pk(tenant), "PROFILE")
}

/// The clinic's logo for PDFs (bytes and description), beside the brand.
pub fn brand_logo(tenant: &TenantId) -> Key {
    Key::new(tenant_pk(tenant), "LOGO")
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
    /// A package template (sessions of services sold together).
    Package,
    /// A product (`domain::stock`): what the clinic sells over the counter or uses in treatments.
    Product,
    /// A membership plan (a monthly subscription with credits).
    MembershipPlan,
}

impl CatalogKind {
    pub fn prefix(self) -> &'static str {
        match self {
            CatalogKind::Location => "CAT#LOC#",
            CatalogKind::Service => "CAT#SVC#",
            CatalogKind::Practitioner => "CAT#PRAC#",
            CatalogKind::PractitionerException => "CAT#PRACEXC#",
            CatalogKind::Resource => "CAT#RES#",
            CatalogKind::Package => "CAT#PKG#",
            CatalogKind::Product => "CAT#PROD#",
            CatalogKind::MembershipPlan => "CAT#MPL#",
        }
    }

    /// The kind an item's sort key names, if it is a catalog item.
    pub fn of_sort_key(sk: &str) -> Option<CatalogKind> {
        [
            Self::Location,
            Self::Service,
            Self::Practitioner,
            Self::PractitionerException,
            Self::Resource,
            Self::Package,
            Self::Product,
            Self::MembershipPlan,
        ]
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

/// A member's sign-in record: the local identity's password hash, and the two-step secret.
pub fn credential(tenant: &TenantId, member: &mas_domain::ids::MemberId) -> Key {
    Key::new(tenant_pk(tenant), format!("CRED#{member}"))
}

/// When a member may next be emailed a password reset link (one a minute).
pub fn password_reset_throttle(tenant: &TenantId, member: &mas_domain::ids::MemberId) -> Key {
    Key::new(tenant_pk(tenant), format!("RESET_THROTTLE#{member}"))
}

/// A staff refresh session of the local identity (the token names tenant and session).
pub fn staff_session(tenant: &TenantId, session: &str) -> Key {
    Key::new(format!("{}#SESSION#{session}", tenant_pk(tenant)), "SESSION")
}

/// A single-use staff link (an invitation or a password reset), by the SHA-256 of its token:
/// the link alone must lead to its clinic, so the key is not under a tenant.
pub fn staff_link(token_hash: &str) -> Key {
    Key::new(format!("STAFFLINK#{token_hash}"), "LINK")
}

/// Failed sign-ins for one email at one clinic (the email hashed: no address in a key).
pub fn sign_in_failures_account(tenant: &TenantId, email_hash: &str) -> Key {
    Key::new(format!("{}#SIGNIN#{email_hash}", tenant_pk(tenant)), "FAILURES")
}

/// Failed sign-ins from one client address, across clinics.
pub fn sign_in_failures_address(address: &str) -> Key {
    Key::new(format!("SIGNIN#ADDR#{address}"), "FAILURES")
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

/// The client item itself.
pub fn client(tenant: &TenantId, client: &ClientId) -> Key {
    Key::new(client_pk(tenant, client), "CLIENT")
}

/// GSI1 on a client item: a tenant's clients sorted by normalized `last first` (see
/// `domain::clients::sort_name`), so a prefix of the sort key is a name search and the whole
/// partition is the client list.
pub fn clients_gsi(tenant: &TenantId, sort_name: &str, client: &ClientId) -> (String, String) {
    (clients_gsi_pk(tenant), format!("{sort_name}#{client}"))
}

pub fn clients_gsi_pk(tenant: &TenantId) -> String {
    format!("{}#CLIENTS", tenant_pk(tenant))
}

/// The search box's name index (`domain::search`): one partition per filing key within a
/// tenant, one item per word of a client's name filed under it, sorted by the word, so a
/// `begins_with` on the word reads the names that start with a query word.
pub fn search_pk(tenant: &TenantId, filing_key: &str) -> String {
    format!("{}#SEARCH#{filing_key}", tenant_pk(tenant))
}

/// A word of `client`'s name filed under `filing_key`.
pub fn search_entry(tenant: &TenantId, filing_key: &str, word: &str, client: &ClientId) -> Key {
    Key::new(search_pk(tenant, filing_key), format!("{word}#{client}"))
}

/// Claims an email among a tenant's clients; holds the client id (`owner_id`).
pub fn client_email(tenant: &TenantId, email: &Email) -> Key {
    Key::new(tenant_pk(tenant), format!("CLIENT_EMAIL#{email}"))
}

/// Indexes a client by phone. Phones are not unique (families share one), so the client id is
/// part of the key and `client_phone_prefix` lists every client with that number.
pub fn client_phone(tenant: &TenantId, phone: &Phone, client: &ClientId) -> Key {
    Key::new(tenant_pk(tenant), format!("{}{client}", client_phone_prefix(phone)))
}

pub fn client_phone_prefix(phone: &Phone) -> String {
    format!("CLIENT_PHONE#{phone}#")
}

/// How far the clinic's care-team backfill got (`mas_domain::reach::CareBackfill`).
pub fn care_backfill(tenant: &TenantId) -> Key {
    Key::new(tenant_pk(tenant), "CARE_BACKFILL")
}

/// A client's care link, in the client's partition so that checking whether a member may see
/// a client is one batch read of (at most) two keys: `CARE#PRAC#{p}` (booked with a
/// practitioner, written by every booking) and `CARE#MEMBER#{m}` (shared with a member).
pub fn care_link(tenant: &TenantId, client: &ClientId, link: &CareLink) -> Key {
    let sk = match link {
        CareLink::BookedWith { practitioner_id } => format!("{CARE_PREFIX}PRAC#{practitioner_id}"),
        CareLink::SharedWith { member_id } => format!("{CARE_PREFIX}MEMBER#{member_id}"),
    };
    Key::new(client_pk(tenant, client), sk)
}

pub const CARE_PREFIX: &str = "CARE#";

/// GSI1 on a care link: one partition per practitioner profile or member, sorted by client, so
/// a care team is one Query per kind of link.
pub fn care_team_gsi(tenant: &TenantId, link: &CareLink, client: &ClientId) -> (String, String) {
    (care_team_gsi_pk(tenant, link), client.to_string())
}

pub fn care_team_gsi_pk(tenant: &TenantId, link: &CareLink) -> String {
    match link {
        CareLink::BookedWith { practitioner_id } => format!("{}#CARE#PRAC#{practitioner_id}", tenant_pk(tenant)),
        CareLink::SharedWith { member_id } => format!("{}#CARE#MEMBER#{member_id}", tenant_pk(tenant)),
    }
}

pub const MEDICAL_PREFIX: &str = "MED#";

/// One version of a client's medical questionnaire (`MED#v000001`); versions are never overwritten.
pub fn medical(tenant: &TenantId, client: &ClientId, version: u32) -> Key {
    Key::new(client_pk(tenant, client), format!("{MEDICAL_PREFIX}v{version:06}"))
}

/// Screening answers a visitor submitted online (`MEDSUB#{time}#{id}`), kept beside the
/// clinic's versions, never among them (their prefix is not `MED#`).
pub fn medical_submission(tenant: &TenantId, client: &ClientId, at: DateTime<Utc>, id: &str) -> Key {
    Key::new(client_pk(tenant, client), format!("{MEDICAL_SUBMISSION_PREFIX}{}#{id}", at.format("%Y%m%dT%H%M%S%.3fZ")))
}

pub const MEDICAL_SUBMISSION_PREFIX: &str = "MEDSUB#";

/// A rate limit's token bucket, by what it limits (`booking#addr#{ip}`, `booking#phone#{e164}`…).
pub fn limit_bucket(scope: &str) -> Key {
    Key::new(format!("LIMIT#{scope}"), "BUCKET")
}

/// A fixed-window limit's counter for window `index` of `scope` (`limits::take_from_window`).
pub fn limit_window(scope: &str, index: i64) -> Key {
    Key::new(format!("LIMIT#{scope}"), format!("WINDOW#{index}"))
}

/// How many texts a tenant sent on the UTC day of `at` (its daily SMS budget).
pub fn sms_budget(tenant: &TenantId, at: DateTime<Utc>) -> Key {
    Key::new(tenant_pk(tenant), format!("SMSBUDGET#{}", at.format("%Y-%m-%d")))
}

/// A tenant's data key for clinical fields, stored wrapped by the key wrapper (never in clear).
pub fn data_key(tenant: &TenantId) -> Key {
    Key::new(tenant_pk(tenant), "DATAKEY")
}

/// A client's own data key, wrapped by the tenant's (`crypto::Keyring::client_key`): deleting
/// it is what makes everything sealed for the client unreadable when they are erased.
pub fn client_data_key(tenant: &TenantId, client: &ClientId) -> Key {
    Key::new(client_pk(tenant, client), "DATAKEY")
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
pub fn template(
    owner: Option<&TenantId>,
    kind: TemplateKind,
    jurisdiction: &Jurisdiction,
    topic: &Slug,
    version: SemVer,
) -> Key {
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

/// Every signing session opened for a document (`{session_id}`), in the client's partition, so
/// an erasure finds and deletes them all (the latest one alone is `document_signing`).
pub fn document_session_ref(
    tenant: &TenantId,
    client: &ClientId,
    document: &DocumentId,
    session: &SigningSessionId,
) -> Key {
    Key::new(client_pk(tenant, client), format!("DOC#{document}#SESSION#{session}"))
}

/// An idempotency record that holds a response naming the client (`{key}`), in the client's
/// partition, so an erasure finds and deletes it before its day is up.
pub fn client_idempotency_ref(tenant: &TenantId, client: &ClientId, key: &str) -> Key {
    Key::new(client_pk(tenant, client), format!("IDEM#{key}"))
}

/// The document's latest signing session (`{session_id}`), so the client's portal can offer its link.
pub fn document_signing(tenant: &TenantId, client: &ClientId, document: &DocumentId) -> Key {
    Key::new(client_pk(tenant, client), format!("DOC#{document}#SIG"))
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

/// The tenant's published site: the current version, its content hash and when it went out.
pub fn site_publication(tenant: &TenantId) -> Key {
    Key::new(tenant_pk(tenant), "SITE")
}

/// One file of a published site, under the clinic's slug: the same path the local host serves
/// (`/sites/{slug}/{file}`), and the one the CloudFront Function rewrites a host's requests to.
pub fn site_file(slug: &Slug, file: &str) -> Result<BlobKey, mas_ports::BlobError> {
    BlobKey::parse(&format!("sites/{slug}/{file}"))
}

/// A portal sign-in link's token, by the SHA-256 of the token (the token itself is never stored).
pub fn portal_token(tenant: &TenantId, token_hash: &str) -> Key {
    Key::new(format!("{}#PORTAL#{token_hash}", tenant_pk(tenant)), "PORTAL_TOKEN")
}

/// When a client may next be emailed a portal sign-in link (the link route's throttle).
pub fn portal_link_throttle(tenant: &TenantId, client: &ClientId) -> Key {
    Key::new(client_pk(tenant, client), "PORTAL_THROTTLE")
}

/// Whose calendar a busy item or claim cell belongs to.
#[derive(Debug, Clone, Copy)]
pub enum CalendarOwner<'a> {
    Practitioner(&'a PractitionerId),
    Resource(&'a ResourceId),
}

/// A practitioner's or resource's calendar for one UTC month: busy items (`BUSY#{start}#{appt}`,
/// read by availability with one sort-key range per month) and claim blocks (`CLAIM#…`).
pub fn calendar_pk(tenant: &TenantId, owner: CalendarOwner, at: DateTime<Utc>) -> String {
    let month = at.format("%Y-%m");
    match owner {
        CalendarOwner::Practitioner(p) => format!("{}#PRAC#{p}#{month}", tenant_pk(tenant)),
        CalendarOwner::Resource(r) => format!("{}#RES#{r}#{month}", tenant_pk(tenant)),
    }
}

pub const BUSY_PREFIX: &str = "BUSY#";

/// Minute-precision UTC time that sorts as text.
fn sortable(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%MZ").to_string()
}

/// The sort key bounding busy items that start at `at` (use with `Between`).
pub fn busy_sk_bound(at: DateTime<Utc>) -> String {
    format!("{BUSY_PREFIX}{}", sortable(at))
}

pub fn busy(tenant: &TenantId, owner: CalendarOwner, start: DateTime<Utc>, appointment: &AppointmentId) -> Key {
    Key::new(calendar_pk(tenant, owner, start), format!("{BUSY_PREFIX}{}#{appointment}", sortable(start)))
}

/// The claim block holding one UTC hour of a calendar's claim cells (attributes `c{mm}`, the
/// holder's appointment id, and `h{mm}`, a hold's expiry, per five-minute cell `mm`); a
/// resource's blocks are per unit, so a room of capacity 2 has two of each. An hour never spans
/// two months, so a block lives in its month's calendar partition.
pub fn claim_block(tenant: &TenantId, owner: CalendarOwner, hour: DateTime<Utc>, unit: u32) -> Key {
    let hour_text = hour.format("%Y-%m-%dT%HZ");
    let sk = match owner {
        CalendarOwner::Practitioner(_) => format!("CLAIM#{hour_text}"),
        CalendarOwner::Resource(_) => format!("CLAIM#{hour_text}#{unit}"),
    };
    Key::new(calendar_pk(tenant, owner, hour), sk)
}

/// An appointment's partition: the appointment (`APPT`) and its payments (`PAY#…`).
pub fn appointment_pk(tenant: &TenantId, appointment: &AppointmentId) -> String {
    format!("{}#APPT#{appointment}", tenant_pk(tenant))
}

pub fn appointment(tenant: &TenantId, appointment: &AppointmentId) -> Key {
    Key::new(appointment_pk(tenant, appointment), "APPT")
}

/// Claims the automatic document of one kind and topic for an appointment (holds the document's
/// id): written with `attribute_not_exists` with the document, so a redelivered
/// `booking.confirmed` finds it taken and creates nothing.
pub fn booking_document(
    tenant: &TenantId,
    appointment: &AppointmentId,
    kind: mas_domain::documents::TemplateKind,
    topic: &mas_domain::values::Slug,
) -> Key {
    Key::new(appointment_pk(tenant, appointment), format!("DOC#{}#{topic}", kind.as_str()))
}

/// Records once that an automatic document could not be generated (and why).
pub fn booking_document_skipped(
    tenant: &TenantId,
    appointment: &AppointmentId,
    kind: mas_domain::documents::TemplateKind,
    topic: &mas_domain::values::Slug,
) -> Key {
    Key::new(appointment_pk(tenant, appointment), format!("DOCSKIP#{}#{topic}", kind.as_str()))
}

pub const PAYMENT_PREFIX: &str = "PAY#";

/// One payment towards an appointment (its deposit, or the balance).
pub fn payment(tenant: &TenantId, appointment: &AppointmentId, payment: &PaymentId) -> Key {
    Key::new(appointment_pk(tenant, appointment), format!("{PAYMENT_PREFIX}{payment}"))
}

/// Finds a payment's appointment from the payment id alone; holds the appointment id.
pub fn payment_ref(tenant: &TenantId, payment: &PaymentId) -> Key {
    Key::new(format!("{}#PAY#{payment}", tenant_pk(tenant)), "REF")
}

/// A Stripe PaymentIntent → the tenant, appointment and payment it pays (platform-wide: Stripe
/// names the intent, not the tenant).
pub fn stripe_intent(intent: &str) -> Key {
    Key::new(format!("STRIPE#PI#{intent}"), "REF")
}

/// A clinic's connected Stripe account (Stripe Connect): its id and what Stripe last said of it.
pub fn connection(tenant: &TenantId) -> Key {
    Key::new(tenant_pk(tenant), "CONNECT")
}

/// A connected Stripe account → the tenant it belongs to (platform-wide: Stripe's Connect events
/// name the account, and only this ties them to a clinic — never their metadata).
pub fn stripe_account(account: &str) -> Key {
    Key::new(format!("STRIPE#ACCT#{account}"), "REF")
}

/// A Stripe event we have received: deduplication, and the effects still to carry out (`ttl`).
pub fn stripe_event(event: &str) -> Key {
    Key::new(format!("STRIPE#EVT#{event}"), "EVT")
}

/// A Stripe Checkout Session (a payment link's hosted page) → the tenant, client and link it is
/// for (platform-wide, like `stripe_intent`).
pub fn stripe_session(session: &str) -> Key {
    Key::new(format!("STRIPE#CS#{session}"), "REF")
}

pub const PAY_LINK_PREFIX: &str = "PAYLINK#";

/// A payment link sent (or to be sent) to a client: in the client's partition, so their open
/// links and what they owe are one query.
pub fn pay_link(tenant: &TenantId, client: &ClientId, link: &PayLinkId) -> Key {
    Key::new(client_pk(tenant, client), format!("{PAY_LINK_PREFIX}{link}"))
}

pub const FEE_PREFIX: &str = "FEE#";

/// The fee above the deposit of one appointment and action (`cancel`, `no_show`), in the
/// client's partition: charged, or owed by the client.
pub fn fee_charge(tenant: &TenantId, client: &ClientId, appointment: &AppointmentId, action: &str) -> Key {
    Key::new(client_pk(tenant, client), format!("{FEE_PREFIX}{appointment}#{action}"))
}

/// The Stripe customer of a client who agreed to keep a card on file.
pub fn stripe_customer(tenant: &TenantId, client: &ClientId) -> Key {
    Key::new(client_pk(tenant, client), "STRIPE_CUSTOMER")
}

/// The first instant of the UTC month after `at`'s: walks month partitions (calendars, the
/// appointments index) one at a time.
pub fn next_month(at: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::Datelike;
    let first = at.date_naive().with_day(1).expect("day 1");
    let next = first.checked_add_months(chrono::Months::new(1)).expect("in range");
    next.and_hms_opt(0, 0, 0).expect("midnight").and_utc()
}

/// GSI1 on an appointment: a tenant's appointments by UTC month of their start, sorted by start.
pub fn appointments_by_start_gsi(tenant: &TenantId, start: DateTime<Utc>, id: &AppointmentId) -> (String, String) {
    (appointments_month_gsi_pk(tenant, start), format!("{}#{id}", sortable(start)))
}

pub fn appointments_month_gsi_pk(tenant: &TenantId, month_of: DateTime<Utc>) -> String {
    format!("{}#APPTS#{}", tenant_pk(tenant), month_of.format("%Y-%m"))
}

/// The GSI1 sort-key bound for appointments starting at `at`.
pub fn appointments_sk_bound(at: DateTime<Utc>) -> String {
    sortable(at)
}

/// Claims a confirmation number within a tenant; holds the appointment id.
pub fn confirmation_number(tenant: &TenantId, number: &str) -> Key {
    Key::new(tenant_pk(tenant), format!("BKNUM#{number}"))
}

/// The first response to a request with this `Idempotency-Key` (expires after a day).
pub fn idempotency(tenant: &TenantId, key: &str) -> Key {
    Key::new(format!("{}#IDEM#{key}", tenant_pk(tenant)), "IDEM")
}

/// The clinic's invoice counter: `last`, the number of the latest sale (absent before the first).
/// Each sale takes the next number with a write conditional on `last`, in the sale's transaction.
pub fn invoice_counter(tenant: &TenantId) -> Key {
    Key::new(tenant_pk(tenant), "INVOICE#COUNTER")
}

/// Claims one invoice number within a tenant; holds the sale id.
pub fn invoice_number(tenant: &TenantId, number: InvoiceNumber) -> Key {
    Key::new(tenant_pk(tenant), format!("INVOICE#{number}"))
}

pub fn sale_pk(tenant: &TenantId, sale: &SaleId) -> String {
    format!("{}#SALE#{sale}", tenant_pk(tenant))
}

/// A completed sale (written once, never changed).
pub fn sale(tenant: &TenantId, sale: &SaleId) -> Key {
    Key::new(sale_pk(tenant, sale), "SALE")
}

pub const CORRECTION_PREFIX: &str = "COR#";

/// The `seq`th correction (void or refund) of a sale, beside it.
pub fn sale_correction(tenant: &TenantId, sale: &SaleId, seq: u32) -> Key {
    Key::new(sale_pk(tenant, sale), format!("{CORRECTION_PREFIX}{seq:04}"))
}

/// GSI1 on a sale: a location's sales of one local day, by invoice number.
pub fn sales_by_day_gsi(
    tenant: &TenantId,
    location: &LocationId,
    day: NaiveDate,
    number: InvoiceNumber,
) -> (String, String) {
    (sales_day_gsi_pk(tenant, location, day), format!("{:012}", number.get()))
}

pub fn sales_day_gsi_pk(tenant: &TenantId, location: &LocationId, day: NaiveDate) -> String {
    format!("{}#SALES#{location}#{day}", tenant_pk(tenant))
}

/// GSI1 on a correction: a location's voids and refunds made on one local day (the daily close
/// counts money given back on the day it went, whatever day the sale was).
pub fn sale_corrections_day_gsi_pk(tenant: &TenantId, location: &LocationId, day: NaiveDate) -> String {
    format!("{}#SALECOR#{location}#{day}", tenant_pk(tenant))
}

pub const RECEIPT_PREFIX: &str = "RECEIPT#";

/// A sale's receipt (`seq` 0) or the credit note of its correction `seq`, beside the sale.
pub fn receipt(tenant: &TenantId, sale: &SaleId, seq: u32) -> Key {
    Key::new(sale_pk(tenant, sale), format!("{RECEIPT_PREFIX}{seq:04}"))
}

/// The same receipt in its client's partition, so the portal lists a client's receipts.
pub fn client_receipt(tenant: &TenantId, client: &ClientId, sale: &SaleId, seq: u32) -> Key {
    Key::new(client_pk(tenant, client), format!("{RECEIPT_PREFIX}{sale}#{seq:04}"))
}

/// Where a receipt's PDF is stored: named by its number and its own hash.
pub fn receipt_pdf(tenant: &TenantId, sale: &SaleId, number: &str, file: &Sha256Hex) -> BlobKey {
    BlobKey::parse(&format!("tenants/{tenant}/receipts/{sale}/{number}-{file}.pdf"))
        .expect("ids, invoice numbers and hex digests are valid key segments")
}

/// A location's cash-up of one local day (written once; a reopening deletes it).
pub fn till_close(tenant: &TenantId, location: &LocationId, day: NaiveDate) -> Key {
    Key::new(tenant_pk(tenant), format!("CLOSE#{location}#{day}"))
}

/// How many sales, voids and refunds a location's local day has had (`changes`, added to in
/// each one's transaction): a close commits on condition it has not moved since the close read
/// the day, so what it closes on is all there was.
pub fn till_day(tenant: &TenantId, location: &LocationId, day: NaiveDate) -> Key {
    Key::new(tenant_pk(tenant), format!("TILLDAY#{location}#{day}"))
}

/// A Stripe PaymentIntent a sale was paid with (platform-wide, like `stripe_intent`): one sale per
/// intent; holds the tenant and sale.
pub fn stripe_intent_sale(intent: &str) -> Key {
    Key::new(format!("STRIPE#PI#{intent}"), "SALE")
}

/// A waitlist entry (`domain::waitlist`): status, window, offer and `version`.
pub fn waitlist_entry(tenant: &TenantId, id: &WaitlistId) -> Key {
    Key::new(format!("{}#WAIT#{id}", tenant_pk(tenant)), "ENTRY")
}

/// GSI1 on a waitlist entry: a location's waitlist.
pub fn waitlist_gsi_pk(tenant: &TenantId, location: &LocationId) -> String {
    format!("{}#WAITLIST#{location}", tenant_pk(tenant))
}

/// GSI1 sort key of a waitlist entry: joining order.
pub fn waitlist_gsi_sk(created_at: DateTime<Utc>, id: &WaitlistId) -> String {
    format!("{}#{id}", created_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
}

pub const WAIT_PREFIX: &str = "WAIT#";

/// A client's waitlist entry, in their partition (the portal's list; erased with the client).
pub fn client_waitlist_entry(tenant: &TenantId, client: &ClientId, id: &WaitlistId) -> Key {
    Key::new(client_pk(tenant, client), format!("{WAIT_PREFIX}{id}"))
}

pub fn gift_card_pk(tenant: &TenantId, card: &GiftCardId) -> String {
    format!("{}#GIFT#{card}", tenant_pk(tenant))
}

/// A gift card (balance and version; never its code).
pub fn gift_card(tenant: &TenantId, card: &GiftCardId) -> Key {
    Key::new(gift_card_pk(tenant, card), "GIFT")
}

pub const GIFT_MOVE_PREFIX: &str = "MOVE#";

/// GSI1 on a gift card: the clinic's cards by issue time.
pub fn gift_cards_gsi_pk(tenant: &TenantId) -> String {
    format!("{}#GIFTS", tenant_pk(tenant))
}

/// A code's hash (`gift_card::code_hash`) → its card: the only way from a code to a card.
pub fn gift_card_code(tenant: &TenantId, hash: &str) -> Key {
    Key::new(tenant_pk(tenant), format!("GIFTCODE#{hash}"))
}

/// A card's code sealed for the recipient's email, deleted once it went (TTL as a backstop).
pub fn gift_card_mail_code(tenant: &TenantId, card: &GiftCardId) -> Key {
    Key::new(gift_card_pk(tenant, card), "MAILCODE")
}

pub const GIFT_PREFIX: &str = "GIFT#";

/// A card a client bought or was given, in their partition (the portal's list).
pub fn client_gift_card(tenant: &TenantId, client: &ClientId, card: &GiftCardId) -> Key {
    Key::new(client_pk(tenant, client), format!("{GIFT_PREFIX}{card}"))
}

/// A client's package partition: the package and its movements.
pub fn package_pk(tenant: &TenantId, package: &PackageId) -> String {
    format!("{}#PKG#{package}", tenant_pk(tenant))
}

/// A client's package (sessions and version).
pub fn package(tenant: &TenantId, package: &PackageId) -> Key {
    Key::new(package_pk(tenant, package), "PKG")
}

pub const PACKAGE_MOVE_PREFIX: &str = "MOVE#";
pub const PACKAGE_PREFIX: &str = "PKG#";

/// A package a client holds, in her partition (the client file's and the portal's list).
pub fn client_package(tenant: &TenantId, client: &ClientId, package: &PackageId) -> Key {
    Key::new(client_pk(tenant, client), format!("{PACKAGE_PREFIX}{package}"))
}

/// A client's membership, in its own partition.
pub fn membership(tenant: &TenantId, membership: &MembershipId) -> Key {
    Key::new(format!("{}#MEM#{membership}", tenant_pk(tenant)), "MEM")
}

pub const MEMBERSHIP_PREFIX: &str = "MEM#";

/// A membership a client holds, in her partition (the client file's and the portal's list).
pub fn client_membership(tenant: &TenantId, client: &ClientId, membership: &MembershipId) -> Key {
    Key::new(client_pk(tenant, client), format!("{MEMBERSHIP_PREFIX}{membership}"))
}

/// A gateway subscription (platform-wide, like `stripe_intent`): the clinic and membership its
/// webhooks are about.
pub fn stripe_subscription(subscription: &str) -> Key {
    Key::new(format!("STRIPE#SUB#{subscription}"), "MEMBERSHIP")
}

/// A membership's sign-up page (platform-wide): its `checkout.session.completed` names the
/// subscription, tied here to the clinic and membership.
pub fn stripe_signup(session: &str) -> Key {
    Key::new(format!("STRIPE#CS#{session}"), "MEMBERSHIP")
}

/// An online gift-card purchase waiting for its payment.
pub fn gift_order(tenant: &TenantId, order: &GiftOrderId) -> Key {
    Key::new(format!("{}#GIFTORDER#{order}", tenant_pk(tenant)), "ORDER")
}

/// A Stripe PaymentIntent that bought a gift card online (platform-wide, like `stripe_intent`):
/// a till sale may not count it as its card payment.
pub fn stripe_intent_gift(intent: &str) -> Key {
    Key::new(format!("STRIPE#PI#{intent}"), "GIFT")
}

pub const READER_PREFIX: &str = "READER#";

/// A card reader of the clinic (Stripe Terminal), listed by prefix in the tenant's partition.
pub fn card_reader(tenant: &TenantId, reader: &ReaderId) -> Key {
    Key::new(tenant_pk(tenant), format!("{READER_PREFIX}{reader}"))
}

/// A Stripe Terminal reader → the tenant that registered it (platform-wide: one clinic per reader).
pub fn stripe_reader(reader: &ReaderId) -> Key {
    Key::new(format!("STRIPE#TMR#{reader}"), "REF")
}

/// The Stripe Terminal Location of one of the clinic's locations (made once, for its readers).
pub fn terminal_location(tenant: &TenantId, location: &LocationId) -> Key {
    Key::new(tenant_pk(tenant), format!("TERMLOC#{location}"))
}

/// A card payment taken at the desk (on a reader, or a saved card).
pub fn desk_payment(tenant: &TenantId, payment: &DeskPaymentId) -> Key {
    Key::new(format!("{}#DESK#{payment}", tenant_pk(tenant)), "DESK")
}

/// A Stripe PaymentIntent made at the desk → the tenant and desk payment (platform-wide, like
/// `stripe_intent`, but its own sort key: a desk intent is no booking's, so a sale may take it).
pub fn stripe_intent_desk(intent: &str) -> Key {
    Key::new(format!("STRIPE#PI#{intent}"), "DESK")
}

pub const POLICY_PREFIX: &str = "POLICY#";

pub fn policy(tenant: &TenantId, version: u32) -> Key {
    Key::new(tenant_pk(tenant), format!("{POLICY_PREFIX}{version:06}"))
}

/// The audit log partition of one month, append-only; the sort key ends in the record's seal
/// (`audit::seal`), so a record can be checked against its own key.
pub fn audit(tenant: &TenantId, at: DateTime<Utc>, id: &AuditId, seal: &str) -> Key {
    Key::new(
        format!("{}#AUDIT#{}", tenant_pk(tenant), at.format("%Y-%m")),
        format!("{}#{id}#{seal}", at.format("%Y-%m-%dT%H:%M:%S%.3fZ")),
    )
}

/// The seal an audit record's sort key ends in; `None` for records written before seals.
pub fn audit_seal(sk: &str) -> Option<&str> {
    let mut parts = sk.split('#');
    let (_at, _id, seal) = (parts.next()?, parts.next()?, parts.next()?);
    Some(seal).filter(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
}

pub fn audit_month_pk(tenant: &TenantId, year_month: &str) -> String {
    format!("{}#AUDIT#{year_month}", tenant_pk(tenant))
}

/// A clinic's reviews and review requests (`domain::review`): one partition, as reviews come a
/// few a day; staff lists and the site read it whole (strongly consistent: a review published
/// is on the next publish).
pub fn reviews_pk(tenant: &TenantId) -> String {
    format!("{}#REVIEWS", tenant_pk(tenant))
}

/// Sort-key prefix of the reviews in `reviews_pk` (the requests sort under `REQUEST#`).
pub const REVIEW_PREFIX: &str = "REVIEW#";

/// One visit's review: its key is the appointment's (one review per visit, put only if absent).
pub fn review(tenant: &TenantId, appointment: &AppointmentId) -> Key {
    Key::new(reviews_pk(tenant), format!("{REVIEW_PREFIX}{appointment}"))
}

/// One visit's review request (its link's expiry; gone by TTL a month after).
pub fn review_request(tenant: &TenantId, appointment: &AppointmentId) -> Key {
    Key::new(reviews_pk(tenant), format!("REQUEST#{appointment}"))
}

/// A clinic's review settings (whether requests are sent).
pub fn review_settings(tenant: &TenantId) -> Key {
    Key::new(tenant_pk(tenant), "REVIEW#SETTINGS")
}

// ---- Products and stock (`mas_booking::stock`) ------------------------------------------

/// Claims a product's SKU within a tenant; holds the product id (`owner_id`): what a till's
/// product line and a service's usage list name.
pub fn product_sku(tenant: &TenantId, sku: &str) -> Key {
    Key::new(tenant_pk(tenant), format!("SKU#{sku}"))
}

/// What one treatment of a service uses (its usage list).
pub fn service_usage(tenant: &TenantId, service: &str) -> Key {
    Key::new(tenant_pk(tenant), format!("USAGE#{service}"))
}

/// One location's stock: a level per product, each product's movements, and what each sale
/// and treatment moved (one Query lists the levels, another a product's history).
pub fn stock_pk(tenant: &TenantId, location: &LocationId) -> String {
    format!("{}#STOCK#{location}", tenant_pk(tenant))
}

pub const STOCK_LEVEL_PREFIX: &str = "LEVEL#";
pub const STOCK_MOVE_PREFIX: &str = "MOVE#";

/// How many of a product a location holds (versioned: every movement is written on condition
/// of the version it read).
pub fn stock_level(tenant: &TenantId, location: &LocationId, product: &str) -> Key {
    Key::new(stock_pk(tenant, location), format!("{STOCK_LEVEL_PREFIX}{product}"))
}

/// The movements of one product at one location sort under this prefix, oldest first.
pub fn stock_moves_prefix(product: &str) -> String {
    format!("{STOCK_MOVE_PREFIX}{product}#")
}

/// One movement (`at` and a fresh ULID keep two at the same instant apart).
pub fn stock_movement(tenant: &TenantId, location: &LocationId, product: &str, at: &str, unique: &str) -> Key {
    Key::new(stock_pk(tenant, location), format!("{}{at}#{unique}", stock_moves_prefix(product)))
}

/// What a sale's product lines took off the shelf, so that its void puts back exactly that, once.
pub fn stock_of_sale(tenant: &TenantId, location: &LocationId, sale: &str) -> Key {
    Key::new(stock_pk(tenant, location), format!("SALE#{sale}"))
}

/// That a completed appointment's usage was deducted (created with "not exists": once).
pub fn stock_used_by(tenant: &TenantId, location: &LocationId, appointment: &str) -> Key {
    Key::new(stock_pk(tenant, location), format!("USED#{appointment}"))
}

// ---- Loyalty (`mas_booking::loyalty`) ---------------------------------------------------

/// The clinic's loyalty programme (versioned).
pub fn loyalty_programme(tenant: &TenantId) -> Key {
    Key::new(tenant_pk(tenant), "LOYALTY")
}

/// Every loyalty item of a client's partition starts with this: her account and her ledger.
pub const LOYALTY_PREFIX: &str = "LOYALTY#";
pub const LOYALTY_MOVE_PREFIX: &str = "LOYALTY#MOVE#";

/// A client's loyalty account (balance, months earned, version), in her partition: erasure
/// deletes it with the partition.
pub fn loyalty_account(tenant: &TenantId, client: &ClientId) -> Key {
    Key::new(client_pk(tenant, client), format!("{LOYALTY_PREFIX}ACCOUNT"))
}

// ---- The academy (`infra/access-patterns.md`: Academy) ----------------------------------------

/// A clinic's academy: its courses' drafts (`COURSE#…`), their slugs' claims (`COURSESLUG#…`)
/// and its cohorts (`COHORT#…`): the back office's lists and the public list are one query.
pub fn academy_pk(tenant: &TenantId) -> String {
    format!("{}#ACADEMY", tenant_pk(tenant))
}

pub const COURSE_PREFIX: &str = "COURSE#";
pub const COHORT_PREFIX: &str = "COHORT#";

pub fn course(tenant: &TenantId, course: &mas_domain::ids::CourseId) -> Key {
    Key::new(academy_pk(tenant), format!("{COURSE_PREFIX}{course}"))
}

/// Claims a course's slug within the clinic (the site's `/courses/{slug}`); holds the course id.
pub fn course_slug(tenant: &TenantId, slug: &Slug) -> Key {
    Key::new(academy_pk(tenant), format!("COURSESLUG#{slug}"))
}

/// A course's published versions, each written once (`V#00001`…): a partition of their own, so
/// reading the academy's lists never reads every version's lessons.
pub fn course_versions_pk(tenant: &TenantId, course: &mas_domain::ids::CourseId) -> String {
    format!("{}#COURSE#{course}", tenant_pk(tenant))
}

pub fn course_version(tenant: &TenantId, course: &mas_domain::ids::CourseId, number: u32) -> Key {
    Key::new(course_versions_pk(tenant, course), format!("V#{number:05}"))
}

pub fn cohort(tenant: &TenantId, cohort: &mas_domain::ids::CohortId) -> Key {
    Key::new(academy_pk(tenant), format!("{COHORT_PREFIX}{cohort}"))
}

/// A cohort's seats (`SEAT#0001`…), students' claims (`STUDENT#{email}`) and enrolments
/// (`ENROL#…`): the roster and the seats left are one query.
pub fn cohort_pk(tenant: &TenantId, cohort: &mas_domain::ids::CohortId) -> String {
    format!("{}#COHORT#{cohort}", tenant_pk(tenant))
}

pub const SEAT_PREFIX: &str = "SEAT#";
pub const ENROLMENT_PREFIX: &str = "ENROL#";

/// One seat of a cohort: who holds it and until when (claimed on condition it is absent or its
/// hold expired).
pub fn seat(tenant: &TenantId, cohort: &mas_domain::ids::CohortId, number: u32) -> Key {
    Key::new(cohort_pk(tenant, cohort), format!("{SEAT_PREFIX}{number:04}"))
}

/// A student's claim on a cohort (one enrolment per email), held like a seat.
pub fn cohort_student(tenant: &TenantId, cohort: &mas_domain::ids::CohortId, email: &Email) -> Key {
    Key::new(cohort_pk(tenant, cohort), format!("STUDENT#{email}"))
}

pub fn enrolment(
    tenant: &TenantId,
    cohort: &mas_domain::ids::CohortId,
    enrolment: &mas_domain::ids::EnrolmentId,
) -> Key {
    Key::new(cohort_pk(tenant, cohort), format!("{ENROLMENT_PREFIX}{enrolment}"))
}

/// The student's side of an enrolment, in its cohort's partition (so a cohort's gradebook is
/// one query): a completed lesson (`LESSON#{enrolment}#{module}#{lesson}`, written once), the
/// standing on a quiz (`QUIZ#{enrolment}#{quiz}`), each attempt
/// (`ATTEMPT#{enrolment}#{quiz}#{n}`) and the marker that the coursework is done (`DONE#…`,
/// written once: the event announcing it goes out once).
pub const LESSON_DONE_PREFIX: &str = "LESSON#";
pub const QUIZ_RECORD_PREFIX: &str = "QUIZ#";
pub const COURSEWORK_DONE_PREFIX: &str = "DONE#";

pub fn lesson_done(
    tenant: &TenantId,
    cohort: &mas_domain::ids::CohortId,
    enrolment: &mas_domain::ids::EnrolmentId,
    (module, lesson): (u32, u32),
) -> Key {
    Key::new(cohort_pk(tenant, cohort), format!("{LESSON_DONE_PREFIX}{enrolment}#{module:03}#{lesson:03}"))
}

pub fn quiz_record(
    tenant: &TenantId,
    cohort: &mas_domain::ids::CohortId,
    enrolment: &mas_domain::ids::EnrolmentId,
    quiz: &Slug,
) -> Key {
    Key::new(cohort_pk(tenant, cohort), format!("{QUIZ_RECORD_PREFIX}{enrolment}#{quiz}"))
}

pub fn quiz_attempt(
    tenant: &TenantId,
    cohort: &mas_domain::ids::CohortId,
    enrolment: &mas_domain::ids::EnrolmentId,
    quiz: &Slug,
    number: u32,
) -> Key {
    Key::new(cohort_pk(tenant, cohort), format!("ATTEMPT#{enrolment}#{quiz}#{number:03}"))
}

pub fn coursework_done(
    tenant: &TenantId,
    cohort: &mas_domain::ids::CohortId,
    enrolment: &mas_domain::ids::EnrolmentId,
) -> Key {
    Key::new(cohort_pk(tenant, cohort), format!("{COURSEWORK_DONE_PREFIX}{enrolment}"))
}

/// A student sign-in link's token, by its SHA-256 (the token itself is never stored).
pub fn student_token(tenant: &TenantId, token_hash: &str) -> Key {
    Key::new(format!("{}#LEARN#{token_hash}", tenant_pk(tenant)), "LEARN_TOKEN")
}

/// When an email may next be sent a student sign-in link (the link route's throttle).
pub fn student_link_throttle(tenant: &TenantId, email: &Email) -> Key {
    Key::new(format!("{}#LEARNER#{email}", tenant_pk(tenant)), "LEARN_THROTTLE")
}

pub const LOGBOOK_PREFIX: &str = "LOG#";

/// One practical logbook entry of a student (`LOG#{enr}#{log}`, the id a ULID so a student's
/// entries sort by when they were recorded); put once, never changed.
pub fn logbook_entry(
    tenant: &TenantId,
    cohort: &mas_domain::ids::CohortId,
    enrolment: &mas_domain::ids::EnrolmentId,
    entry: &mas_domain::ids::LogEntryId,
) -> Key {
    Key::new(cohort_pk(tenant, cohort), format!("{LOGBOOK_PREFIX}{enrolment}#{entry}"))
}

/// The certificate an enrolment was given (its number): put once, so a certificate is issued
/// once however often its event is delivered.
pub fn enrolment_certificate(
    tenant: &TenantId,
    cohort: &mas_domain::ids::CohortId,
    enrolment: &mas_domain::ids::EnrolmentId,
) -> Key {
    Key::new(cohort_pk(tenant, cohort), format!("CERTOF#{enrolment}"))
}

pub const CERTIFICATE_PREFIX: &str = "CERT#";

/// A certificate by its number, in the clinic's academy partition (the public page's read).
pub fn certificate(tenant: &TenantId, number: &mas_domain::certificate::CertificateNumber) -> Key {
    Key::new(academy_pk(tenant), format!("{CERTIFICATE_PREFIX}{number}"))
}

/// The clinic's credential signing key (Ed25519): the public half in the clear, the private half
/// sealed under the clinic's data key; put once.
pub fn issuer_key(tenant: &TenantId) -> Key {
    Key::new(academy_pk(tenant), "ISSUERKEY")
}

/// The clinic's revocation list (its bits and the next free index), versioned.
pub fn status_list(tenant: &TenantId) -> Key {
    Key::new(academy_pk(tenant), "STATUSLIST#1")
}

/// An enrolment's hosted payment page (platform-wide, like `stripe_session`): its
/// `checkout.session.*` events name the session, tied here to the clinic and enrolment.
pub fn stripe_enrolment(session: &str) -> Key {
    Key::new(format!("STRIPE#CS#{session}"), "ENROL")
}

// ---- Partner webhooks and API keys (`mas_partners`) --------------------------------------

/// Sort-key prefix of a tenant's webhook endpoints (one Query lists them; the secrets sort
/// under `WHSECRET#`, so a list never reads one).
pub const WEBHOOK_ENDPOINT_PREFIX: &str = "WHEP#";

pub fn webhook_endpoint(tenant: &TenantId, endpoint: &mas_domain::ids::WebhookEndpointId) -> Key {
    Key::new(tenant_pk(tenant), format!("{WEBHOOK_ENDPOINT_PREFIX}{endpoint}"))
}

/// An endpoint's signing secret, sealed with the tenant's data key (and the previous one while
/// a roll overlaps).
pub fn webhook_secret(tenant: &TenantId, endpoint: &mas_domain::ids::WebhookEndpointId) -> Key {
    Key::new(tenant_pk(tenant), format!("WHSECRET#{endpoint}"))
}

/// One endpoint's deliveries: one partition, keyed by the delivery's id (derived from the event
/// and the endpoint), so putting it only if absent makes it once.
pub fn webhook_delivery(
    tenant: &TenantId,
    endpoint: &mas_domain::ids::WebhookEndpointId,
    delivery: &mas_domain::ids::WebhookDeliveryId,
) -> Key {
    Key::new(webhook_deliveries_pk(tenant, endpoint), format!("WHD#{delivery}"))
}

pub fn webhook_deliveries_pk(tenant: &TenantId, endpoint: &mas_domain::ids::WebhookEndpointId) -> String {
    format!("{}#WHEP#{endpoint}", tenant_pk(tenant))
}

/// How many GSI1 partitions pending deliveries are spread over (the sweep reads them all).
pub const WEBHOOK_DUE_SHARDS: u32 = 4;

/// GSI1 partition and sort key of a pending delivery: due at `at` (the sweep asks for sort
/// keys up to now). Only pending deliveries carry them (a sparse index).
pub fn webhook_due(delivery: &mas_domain::ids::WebhookDeliveryId, at: DateTime<Utc>) -> (String, String) {
    let shard = delivery.as_str().bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    (webhook_due_pk(shard % WEBHOOK_DUE_SHARDS), format!("{}#{delivery}", webhook_due_at(at)))
}

pub fn webhook_due_pk(shard: u32) -> String {
    format!("WHDUE#{shard}")
}

/// A due time as the index sorts it (fixed width, so string order is time order).
pub fn webhook_due_at(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A tenant's API key as listed (name, scopes, prefix, revoked or not; its hash, never shown).
pub fn api_key(tenant: &TenantId, key: &mas_domain::ids::ApiKeyId) -> Key {
    Key::new(tenant_pk(tenant), format!("{API_KEY_PREFIX}{key}"))
}

pub const API_KEY_PREFIX: &str = "APIKEY#";

/// A live key by the SHA-256 of its secret: whose it is and its scopes (one read per call).
/// Revoking deletes it; it is outside every tenant's partition because the caller's tenant is
/// what it tells.
pub fn api_key_lookup(hash: &str) -> Key {
    Key::new(format!("APIKEYHASH#{hash}"), "APIKEY")
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
            audit(&t, Utc::now(), &AuditId::new(), "00"),
            document(&t, &ClientId::new(), &DocumentId::new()),
            rendition(&t, &ClientId::new(), &DocumentId::new(), Variant::Signed),
            document_ref(&t, &DocumentId::new()),
            signing_session(&t, &SigningSessionId::new()),
            template_ref(Some(&t), &TemplateId::new()),
            client(&t, &ClientId::parse("cli_1").unwrap()),
            client_email(&t, &email),
            client_phone(&t, &Phone::parse("+447700900123").unwrap(), &ClientId::parse("cli_1").unwrap()),
            medical(&t, &ClientId::parse("cli_1").unwrap(), 1),
            data_key(&t),
            client_data_key(&t, &ClientId::new()),
            payment(&t, &AppointmentId::new(), &PaymentId::new()),
            payment_ref(&t, &PaymentId::new()),
            stripe_customer(&t, &ClientId::new()),
            care_link(&t, &ClientId::new(), &CareLink::SharedWith { member_id: mas_domain::ids::MemberId::new() }),
            care_backfill(&t),
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
        assert!(
            !client_email(&TenantId::parse("ten_a").unwrap(), &Email::parse("a@b.co").unwrap())
                .sk
                .starts_with(MEMBER_PREFIX)
        );
    }

    #[test]
    fn medical_versions_sort_in_order_and_stay_apart_from_the_timeline() {
        let (t, c) = (TenantId::parse("ten_a").unwrap(), ClientId::parse("cli_1").unwrap());
        assert!(medical(&t, &c, 9).sk < medical(&t, &c, 10).sk);
        assert_eq!(medical(&t, &c, 1).sk, "MED#v000001");
        assert!(!medical(&t, &c, 1).sk.starts_with(TIMELINE_PREFIX));
        let link =
            care_link(&t, &c, &CareLink::BookedWith { practitioner_id: PractitionerId::parse("prc_1").unwrap() });
        assert!(
            ![MEDICAL_PREFIX, TIMELINE_PREFIX, MEDICAL_SUBMISSION_PREFIX, "DOC#"]
                .iter()
                .any(|p| link.sk.starts_with(p))
        );
        // `#` sorts before letters, so `jane` lists before `janet` whatever their ids.
        assert!(
            clients_gsi(&t, "smith jane", &ClientId::parse("cli_z").unwrap()).1 < clients_gsi(&t, "smith janet", &c).1
        );
    }
}
