//! Documents: generating one from the template in force (merge, mandatory clauses, placeholders),
//! rendering its PDFs with their stamps (the render worker), reading, voiding and verifying them.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use mas_booking::appointments;

use mas_catalog::catalog;

use mas_clients::clients::{self, ClientError};

use crate::templates;

use mas_accounts::tenants;
use mas_domain::appointment::{Appointment, AppointmentStatus};
use mas_domain::catalog::{LocationInput, PractitionerInput, ServiceInput};
use mas_domain::documents::{
    self, BookingFacts, ClientFacts, Document, DocumentStatus, Jurisdiction, MergedContent, Rendition, Sha256Hex,
    StampRecord, Template, TemplateKind, TemplateRef, Variant,
};
use mas_domain::error::{AppError, AppResult};
use mas_domain::esign::SigningSession;
use mas_domain::ids::{AppointmentId, ClientId, DocumentId, TenantId};
use mas_domain::values::{Color, Slug};
use mas_ports::events::DomainEvent;
use mas_ports::queue::QueueMessage;
use mas_ports::renderer::{RenderAuditRow, RenderBlock, RenderColors, RenderJob, RenderLogo, RenderSignature};
use mas_ports::{Blobs, Condition, Key, Queue, QueueName, Renderer, Retention, Write};
use mas_store::keys;
use mas_store::{AuditContext, Once, Plan, Store, TimelineEntry, from_item, to_item};

/// Asking for a document to be generated.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GenerateInput {
    pub kind: TemplateKind,
    pub client_id: ClientId,
    #[serde(default)]
    pub appointment_id: Option<AppointmentId>,
    /// Which template of the kind (`anti-wrinkle`, `dermal-filler`…); needed when several are in force.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "anti-wrinkle")]
    pub topic: Option<Slug>,
    /// Defaults to the clinic's (GB → UK, EU members → EU).
    #[serde(default)]
    pub jurisdiction: Option<Jurisdiction>,
    /// The day whose template is in force; defaults to today in the clinic's time zone.
    #[serde(default)]
    pub on: Option<NaiveDate>,
    /// Values for the placeholders, as nested objects: `{"treatment": {"area": "…"}}`. `clinic.*`
    /// and `document.*` are filled by the platform, and `client.*` (name, first_name, last_name,
    /// date_of_birth) from the client's record, overriding the context; with `appointment_id`,
    /// `practitioner.name` and `appointment.*` (date, time, timezone, location) from the booking,
    /// and `treatment.name` from its service unless given here.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub context: serde_json::Map<String, Value>,
    /// Optional blocks to leave out; a mandatory one cannot be.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub exclude_blocks: Vec<Slug>,
}

/// What the render worker is asked to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RenderMessage {
    pub tenant_id: TenantId,
    pub client_id: ClientId,
    pub document_id: DocumentId,
    pub variant: Variant,
}

impl QueueMessage for RenderMessage {
    const QUEUE: QueueName = QueueName::Render;
}

/// A document with its PDFs so far.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DocumentView {
    #[serde(flatten)]
    pub document: Document,
    /// The PDF as generated, once rendered.
    pub pdf: Option<Rendition>,
    /// The signed PDF (signature and audit page), once signed and rendered.
    pub signed_pdf: Option<Rendition>,
}

/// The documents' refusals, typed; the store's and ports' failures are kept whole as the source.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DocumentError {
    /// 422 `no_template_in_force` (field `topic` when one was named, else `kind`).
    #[error(
        "no {} template{} is in force for {jurisdiction} on {day}",
        kind.as_str(),
        topic.as_ref().map(|t| format!(" for `{t}`")).unwrap_or_default()
    )]
    NoTemplateInForce { kind: TemplateKind, topic: Option<Slug>, jurisdiction: Jurisdiction, day: NaiveDate },
    /// 422 `ambiguous_template` (field `topic`): several topics are in force; the caller names one.
    #[error(
        "several {} templates are in force for {jurisdiction}: {}; name one in `topic`",
        kind.as_str(),
        topics.iter().map(Slug::as_str).collect::<Vec<_>>().join(", ")
    )]
    AmbiguousTemplate { kind: TemplateKind, jurisdiction: Jurisdiction, topics: Vec<Slug> },
    /// 422 `unknown_reference` (field `client_id`).
    #[error("refers to no client of this clinic")]
    UnknownClient,
    /// 422 `unknown_reference` (field `appointment_id`).
    #[error("refers to no appointment of this clinic")]
    UnknownAppointment,
    /// 422 `client_mismatch` (field `appointment_id`).
    #[error("the appointment is another client's")]
    ClientMismatch,
    /// 409 `document_locked`: the same answer for every role.
    #[error("a signed document is a legal record: it cannot be deleted or changed by any role")]
    Locked,
    /// 409 `pdf_not_ready`.
    #[error("the PDF is still being rendered; try again in a moment")]
    PdfNotReady,
    /// 409 `not_signed`: a signed rendition asked of a document without a signature.
    #[error("the document has no signature to render")]
    NotSigned,
    #[error(transparent)]
    Store(#[from] AppError),
}

impl From<DocumentError> for AppError {
    fn from(err: DocumentError) -> Self {
        use DocumentError as E;
        let message = err.to_string();
        match err {
            E::NoTemplateInForce { topic, .. } => {
                AppError::invalid("no_template_in_force", if topic.is_some() { "topic" } else { "kind" }, message)
            }
            E::AmbiguousTemplate { .. } => AppError::invalid("ambiguous_template", "topic", message),
            E::UnknownClient => AppError::invalid("unknown_reference", "client_id", message),
            E::UnknownAppointment => AppError::invalid("unknown_reference", "appointment_id", message),
            E::ClientMismatch => AppError::invalid("client_mismatch", "appointment_id", message),
            E::Locked => AppError::conflict("document_locked", message),
            E::PdfNotReady => AppError::conflict("pdf_not_ready", message),
            E::NotSigned => AppError::conflict("not_signed", message),
            E::Store(err) => err,
        }
    }
}

/// Inside a write made once, a refusal is a failure like any other.
impl From<DocumentError> for Once {
    fn from(err: DocumentError) -> Self {
        Once::Failed(err.into())
    }
}

/// Picks the template in force for the request: the clinic's own versions shadow the platform's;
/// with several topics in force the caller must name one.
pub fn choose_template<'a>(
    candidates: &'a [Template],
    topic: Option<&Slug>,
    kind: TemplateKind,
    jurisdiction: &Jurisdiction,
    day: NaiveDate,
) -> Result<&'a Template, DocumentError> {
    let mut topics: Vec<&Slug> = candidates.iter().map(|t| &t.topic).collect();
    topics.sort();
    topics.dedup();
    let in_force = |topic: &Slug| {
        let family: Vec<Template> = candidates.iter().filter(|t| &t.topic == topic).cloned().collect();
        documents::pick_in_force(&family, day).map(|t| t.id.clone())
    };
    let chosen: Vec<(&Slug, mas_domain::ids::TemplateId)> = match topic {
        Some(topic) => in_force(topic).map(|id| vec![(topic, id)]).unwrap_or_default(),
        None => topics.into_iter().filter_map(|t| in_force(t).map(|id| (t, id))).collect(),
    };
    match chosen.as_slice() {
        [(_, id)] => Ok(candidates.iter().find(|t| &t.id == id).expect("chosen from the candidates")),
        [] => Err(DocumentError::NoTemplateInForce {
            kind,
            topic: topic.cloned(),
            jurisdiction: jurisdiction.clone(),
            day,
        }),
        several => Err(DocumentError::AmbiguousTemplate {
            kind,
            jurisdiction: jurisdiction.clone(),
            topics: several.iter().map(|(t, _)| (*t).clone()).collect(),
        }),
    }
}

/// Generates a document from the template in force, announces `document.generated` in the same
/// transaction, and queues its render. Who the client is comes from their record, and with `appointment_id`
/// the practitioner, treatment and local date and time come from the appointment and the
/// catalog (`documents::apply_records`); the context fills the rest.
pub async fn generate(
    store: &Store,
    queue: &dyn Queue,
    audit: &AuditContext,
    input: GenerateInput,
) -> AppResult<DocumentView> {
    let document = create(store, audit, &input, None).await?;
    announce(queue, &document).await?;
    Ok(DocumentView { document, pdf: None, signed_pdf: None })
}

/// Reads what the records say about the client and the booking.
async fn record_facts(
    store: &Store,
    tenant: &TenantId,
    input: &GenerateInput,
) -> Result<(ClientFacts, Option<BookingFacts>), DocumentError> {
    let client = clients::get(store, tenant, &input.client_id).await.map_err(|e| match e {
        ClientError::NotFound => DocumentError::UnknownClient,
        other => DocumentError::Store(other.into()),
    })?;
    let facts = ClientFacts {
        first_name: client.data.first_name.to_string(),
        last_name: client.data.last_name.to_string(),
        date_of_birth: client.data.date_of_birth,
    };
    let Some(appointment_id) = &input.appointment_id else { return Ok((facts, None)) };
    let appointment = appointments::get(store, tenant, appointment_id).await.map_err(|e| match e {
        AppError::NotFound { .. } => DocumentError::UnknownAppointment,
        other => DocumentError::Store(other),
    })?;
    if appointment.client_id != input.client_id {
        return Err(DocumentError::ClientMismatch);
    }
    // Archived entries are still read: the booking was made with them.
    let (service, practitioner, location) = tokio::try_join!(
        catalog::get::<ServiceInput>(store, tenant, &appointment.service_id),
        catalog::get::<PractitionerInput>(store, tenant, &appointment.practitioner_id),
        catalog::get::<LocationInput>(store, tenant, &appointment.location_id),
    )?;
    let booking = BookingFacts {
        service_name: service.data.name.to_string(),
        practitioner_name: practitioner.data.display_name.to_string(),
        location_name: location.data.name.to_string(),
        local_start: appointment.start.with_timezone(&appointment.timezone.tz()),
    };
    Ok((facts, Some(booking)))
}

fn already_generated() -> Once {
    Once::AlreadyDone(AppError::conflict(
        "already_generated",
        "this appointment's document of that kind was generated before",
    ))
}

/// Stores a new document (and its reference, timeline entry and audit record; with `claim`, the
/// claim item too, all in one transaction) without queueing or announcing it.
async fn create(
    store: &Store,
    audit: &AuditContext,
    input: &GenerateInput,
    claim: Option<Key>,
) -> Result<Document, Once> {
    let tenant_id = &audit.tenant_id;
    let tenant = tenants::tenant(store, tenant_id).await?;
    let jurisdiction = input.jurisdiction.clone().unwrap_or_else(|| Jurisdiction::for_country(tenant.country.as_str()));
    let now = store.clock.now();
    let day = input.on.unwrap_or_else(|| now.with_timezone(&tenant.timezone.tz()).date_naive());
    let candidates = templates::family(store, tenant_id, input.kind, &jurisdiction).await?;
    let template = choose_template(&candidates, input.topic.as_ref(), input.kind, &jurisdiction, day)?;
    // A clinic's copy must still carry every mandatory clause of the platform's version in force,
    // including clauses the platform added after the copy was made.
    let also_mandatory: Vec<(Slug, String)> =
        match (template.is_global(), templates::global_of_family(&candidates, template, day)) {
            (false, Some(global)) => global
                .mandatory_blocks
                .iter()
                .map(|key| (key.clone(), global.block(key).map(|b| b.title.to_string()).unwrap_or_default()))
                .collect(),
            _ => Vec::new(),
        };
    documents::check_context(&input.context)?;
    let (client, booking) = record_facts(store, tenant_id, input).await?;
    let id = DocumentId::new();
    let mut context = input.context.clone();
    documents::apply_records(&mut context, &client, booking.as_ref());
    for (name, value) in documents::platform_context(tenant.name.as_str(), day, &id) {
        context.insert(name.to_owned(), value);
    }
    let content = documents::merge(template, &also_mandatory, &input.exclude_blocks, &context)?;
    let document = Document {
        id: id.clone(),
        tenant_id: tenant_id.clone(),
        client_id: input.client_id.clone(),
        appointment_id: input.appointment_id.clone(),
        kind: input.kind,
        topic: template.topic.clone(),
        template: TemplateRef {
            id: template.id.clone(),
            name: template.name.to_string(),
            version: template.version,
            jurisdiction: template.jurisdiction.clone(),
            global: template.is_global(),
        },
        content_sha256: Sha256Hex::of(&content.canonical()),
        content,
        client_name: client.full_name(),
        status: DocumentStatus::Generated,
        locked: false,
        signature: None,
        version: 1,
        created_at: now,
        created_by: audit.actor.clone(),
        retain_until: documents::retain_until(now),
    };
    let clash = || AppError::conflict("id_taken", "an id clash; try again");
    let mut plan = Plan::<Once>::typed();
    if let Some(claim) = claim {
        let record = BookingDocumentClaim { document_id: id.clone(), client_id: document.client_id.clone() };
        plan.push(Write::put_new(to_item(&claim, "booking_document", &record)?), already_generated());
    }
    plan.push(
        Write::put_new(to_item(&keys::document(tenant_id, &document.client_id, &id), "document", &document)?),
        clash(),
    );
    let reference =
        to_item(&keys::document_ref(tenant_id, &id), "document_ref", &json!({ "client_id": document.client_id }))?;
    plan.push(Write::put_new(reference), clash());
    let summary = format!("{} generated ({} {})", document.content.title, template.name, template.version);
    let entry =
        TimelineEntry::new(&document.client_id, now, "document.generated", summary, Some(id.to_string()), &audit.actor);
    plan.push(entry.write(tenant_id)?, clash());
    plan.announce(DomainEvent::new(tenant_id, "document.generated", id.as_str(), now, event_payload(&document)))?;
    plan.commit_as(store, audit, "document.generated", id.as_str()).await?;
    Ok(document)
}

/// Ids only: a document's events never carry personal or clinical data.
pub fn event_payload(document: &Document) -> Value {
    json!({
        "document_id": document.id,
        "client_id": document.client_id,
        "appointment_id": document.appointment_id,
        "kind": document.kind,
        "topic": document.topic,
    })
}

/// Queues the render of a generated document. Safe to repeat (the worker renders once), so a
/// redelivery may run this again; `document.generated` rode in the generating transaction.
async fn announce(queue: &dyn Queue, document: &Document) -> AppResult<()> {
    enqueue_render(queue, document, Variant::Generated).await
}

/// What an appointment's automatic-document claim holds.
#[derive(Debug, Serialize, Deserialize)]
struct BookingDocumentClaim {
    document_id: DocumentId,
    client_id: ClientId,
}

/// What `treatment.area` says on a form generated from a booking: nobody has stated the areas
/// yet, and the mandatory treatment clause must not be left blank or guessed.
pub const AREA_AGREED_AT_CONSULTATION: &str =
    "the areas agreed with the practitioner at the consultation before treatment";

/// The kinds of form a confirmed booking of a treatment that needs consent generates.
pub const BOOKING_KINDS: [TemplateKind; 2] = [TemplateKind::Consent, TemplateKind::Aftercare];

/// For the `booking.confirmed` consumer: generates the consent and aftercare forms of a booked
/// treatment that needs consent (`ServiceInput::consent_topics`; one pair per treatment it
/// combines) from the templates in force for the clinic's jurisdiction today. Idempotent under
/// at-least-once delivery: each (appointment, kind, topic) is claimed by a conditional write in the
/// document's own transaction, so a repeat creates nothing and returns the same documents (queueing
/// a render still missing and re-publishing `document.generated`, whose id is stable).
///
/// A form that cannot be generated (no template in force, an unfilled placeholder) does not fail
/// the call: it is left out of the result, written once to the client's timeline as
/// `document.generation_skipped` with the reason, logged, and published as
/// `document.generation_skipped` {appointment_id, client_id, kind, topic, code}. Storage or queue
/// failures are errors, to be retried by redelivery. A cancelled appointment, or a service that
/// needs no consent, gives no documents.
pub async fn generate_for_confirmed_booking(
    store: &Store,
    queue: &dyn Queue,
    tenant: &TenantId,
    appointment_id: &AppointmentId,
) -> AppResult<Vec<Document>> {
    let appointment = appointments::get(store, tenant, appointment_id).await?;
    if matches!(appointment.status, AppointmentStatus::Cancelled | AppointmentStatus::PendingDeposit) {
        return Ok(Vec::new());
    }
    let service = catalog::get::<ServiceInput>(store, tenant, &appointment.service_id).await?;
    let audit = AuditContext {
        tenant_id: tenant.clone(),
        actor: "system".into(),
        role: None,
        request_id: mas_domain::ids::RequestId::new(),
    };
    let mut documents = Vec::new();
    for topic in service.data.consent_topics() {
        for kind in BOOKING_KINDS {
            let claim = keys::booking_document(tenant, appointment_id, kind, &topic);
            let input = GenerateInput {
                kind,
                client_id: appointment.client_id.clone(),
                appointment_id: Some(appointment_id.clone()),
                topic: Some(topic.clone()),
                jurisdiction: None,
                on: None,
                context: json!({ "treatment": { "area": AREA_AGREED_AT_CONSULTATION } })
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
                exclude_blocks: Vec::new(),
            };
            match create(store, &audit, &input, Some(claim.clone())).await {
                Ok(document) => {
                    announce(queue, &document).await?;
                    documents.push(document);
                }
                Err(Once::AlreadyDone(_)) => {
                    let record: BookingDocumentClaim = store
                        .get(&claim)
                        .await?
                        .ok_or_else(|| AppError::Internal(format!("claim {claim:?} vanished")))?;
                    let view =
                        load_in(store, tenant, &record.client_id, &record.document_id).await?.ok_or_else(|| {
                            AppError::Internal(format!("claimed document {} is missing", record.document_id))
                        })?;
                    if view.pdf.is_none() {
                        announce(queue, &view.document).await?;
                    }
                    documents.push(view.document);
                }
                // The template cannot be filled from the booking: recorded, and the booking stands.
                Err(Once::Failed(err @ (AppError::Invalid { .. } | AppError::Missing { .. }))) => {
                    skipped(store, &audit, &appointment, kind, &topic, &err).await?;
                }
                Err(Once::Failed(err)) => return Err(err),
            }
        }
    }
    Ok(documents)
}

/// Records once (timeline and audit) and announces that an automatic form was not generated.
async fn skipped(
    store: &Store,
    audit: &AuditContext,
    appointment: &Appointment,
    kind: TemplateKind,
    topic: &Slug,
    err: &AppError,
) -> AppResult<()> {
    let code = match err {
        AppError::Invalid { code, .. } | AppError::Missing { code, .. } => *code,
        _ => "failed",
    };
    let tenant = &audit.tenant_id;
    tracing::warn!(tenant_id = %tenant, appointment_id = %appointment.id, kind = kind.as_str(), %topic, code,
        "automatic document not generated");
    let now = store.clock.now();
    let subject = format!("{}#{}#{topic}", appointment.id, kind.as_str());
    let mut plan = Plan::<Once>::typed();
    let marker = keys::booking_document_skipped(tenant, &appointment.id, kind, topic);
    let record = json!({ "code": code, "reason": err.to_string(), "at": now });
    let recorded = || Once::AlreadyDone(AppError::conflict("already_recorded", "recorded by an earlier delivery"));
    plan.push(Write::put_new(to_item(&marker, "booking_document_skipped", &record)?), recorded());
    let summary = format!("{} {} form not generated for the booking: {err}", topic, kind.as_str());
    let entry = TimelineEntry::new(
        &appointment.client_id,
        now,
        "document.generation_skipped",
        summary,
        Some(appointment.id.to_string()),
        &audit.actor,
    );
    plan.push(entry.write(tenant)?, recorded());
    let payload = json!({
        "appointment_id": appointment.id,
        "client_id": appointment.client_id,
        "kind": kind,
        "topic": topic,
        "code": code,
    });
    plan.announce(DomainEvent::new(tenant, "document.generation_skipped", &subject, now, payload))?;
    match plan.commit_as(store, audit, "document.generation_skipped", &subject).await {
        Ok(()) | Err(Once::AlreadyDone(_)) => Ok(()),
        Err(Once::Failed(other)) => Err(other),
    }
}

pub async fn enqueue_render(queue: &dyn Queue, document: &Document, variant: Variant) -> AppResult<()> {
    let message = RenderMessage {
        tenant_id: document.tenant_id.clone(),
        client_id: document.client_id.clone(),
        document_id: document.id.clone(),
        variant,
    };
    // The document is stored either way; if this fails its PDF stays pending (see README).
    queue.enqueue(&message).await.map_err(|e| AppError::Internal(format!("render not queued for {}: {e}", document.id)))
}

#[derive(Deserialize)]
struct DocumentRef {
    client_id: ClientId,
}

/// The client a document belongs to (whose care team decides who may see it).
pub async fn client_of(store: &Store, tenant: &TenantId, id: &DocumentId) -> AppResult<ClientId> {
    let reference: Option<DocumentRef> = store.get(&keys::document_ref(tenant, id)).await?;
    reference.map(|r| r.client_id).ok_or(AppError::NotFound { what: "document" })
}

/// A document of this clinic with its renditions; another clinic's id is simply not found.
pub async fn load(store: &Store, tenant: &TenantId, id: &DocumentId) -> AppResult<DocumentView> {
    let not_found = || AppError::NotFound { what: "document" };
    let reference: DocumentRef = store.get(&keys::document_ref(tenant, id)).await?.ok_or_else(not_found)?;
    load_in(store, tenant, &reference.client_id, id).await?.ok_or_else(not_found)
}

async fn load_in(
    store: &Store,
    tenant: &TenantId,
    client: &ClientId,
    id: &DocumentId,
) -> AppResult<Option<DocumentView>> {
    let document_key = keys::document(tenant, client, id);
    let generated = keys::rendition(tenant, client, id, Variant::Generated);
    let signed = keys::rendition(tenant, client, id, Variant::Signed);
    let items = store.table.batch_get(&[document_key.clone(), generated.clone(), signed.clone()]).await?;
    let mut view: Option<Document> = None;
    let (mut pdf, mut signed_pdf) = (None, None);
    for item in items {
        match Key::of(&item) {
            Some(key) if key == document_key => view = Some(from_item(item)?),
            Some(key) if key == generated => pdf = Some(from_item(item)?),
            Some(key) if key == signed => signed_pdf = Some(from_item(item)?),
            _ => {}
        }
    }
    Ok(view.map(|document| DocumentView { document, pdf, signed_pdf }))
}

fn locked() -> DocumentError {
    DocumentError::Locked
}

/// For a caller whose role may not void documents: a signed document's answer is still 409, the
/// same for every role, so the rule reads as what it is (nobody may delete it), not as a missing
/// permission. Anything else keeps the caller's own refusal.
pub async fn refuse_void(store: &Store, tenant: &TenantId, id: &DocumentId, refusal: AppError) -> AppError {
    match load(store, tenant, id).await {
        Ok(view) if view.document.locked => locked().into(),
        _ => refusal,
    }
}

/// Voids an unsigned document: it stays stored (and verifiable, as voided) for the retention
/// period. A signed document is a legal record: no role may delete or void it.
pub async fn void(store: &Store, audit: &AuditContext, id: &DocumentId) -> Result<DocumentView, DocumentError> {
    let mut view = load(store, &audit.tenant_id, id).await?;
    let current = view.document.clone();
    if current.locked {
        return Err(locked());
    }
    if current.status == DocumentStatus::Voided {
        return Ok(view);
    }
    let next = Document { status: DocumentStatus::Voided, version: current.version + 1, ..current.clone() };
    let mut plan = Plan::new();
    let item = to_item(&keys::document(&audit.tenant_id, &current.client_id, id), "document", &next)?;
    plan.push(
        Write::put_if(item, Condition::equals("version", current.version)),
        AppError::contention("the document changed (it may have just been signed); reload it"),
    );
    plan.commit(store, audit, "document.voided", id.as_str()).await?;
    view.document = next;
    Ok(view)
}

/// How long a download link lasts.
pub const PDF_LINK_LIFETIME: Duration = Duration::from_secs(300);

#[derive(Debug, Serialize, ToSchema)]
pub struct PdfLink {
    /// A short-lived URL to GET the PDF with (no token needed).
    pub url: String,
    pub expires_at: DateTime<Utc>,
    pub variant: Variant,
    pub stamp: Sha256Hex,
    pub file_sha256: Sha256Hex,
}

/// A short-lived link to a document's PDF: the signed one when there is one, unless asked otherwise.
pub async fn pdf_link(
    store: &Store,
    blobs: &dyn Blobs,
    tenant: &TenantId,
    id: &DocumentId,
    variant: Option<Variant>,
) -> Result<PdfLink, DocumentError> {
    let view = load(store, tenant, id).await?;
    let rendition = match variant {
        Some(Variant::Generated) => view.pdf,
        Some(Variant::Signed) => view.signed_pdf,
        None => view.signed_pdf.or(view.pdf),
    };
    let Some(rendition) = rendition else {
        return Err(DocumentError::PdfNotReady);
    };
    let key = mas_ports::BlobKey::parse(&rendition.blob_key).map_err(|e| AppError::Internal(e.to_string()))?;
    let url = blobs.presign(&key, PDF_LINK_LIFETIME).await.map_err(AppError::backend("blobs"))?;
    let expires_at = store.clock.now() + chrono::Duration::seconds(PDF_LINK_LIFETIME.as_secs() as i64);
    Ok(PdfLink {
        url,
        expires_at,
        variant: rendition.variant,
        stamp: rendition.stamp,
        file_sha256: rendition.file_sha256,
    })
}

/// Colours for a white page from the clinic's brand: brand colours where they read well on
/// white, dark neutrals where they do not (a dark theme's light text would vanish on paper).
pub fn paper_colors(tokens: &mas_domain::tenant::ThemeTokens) -> RenderColors {
    let white = Color::rgb(255, 255, 255);
    let pick = |c: Color, min: f64, fallback: Color| if c.contrast(white) >= min { c } else { fallback };
    let primary = pick(tokens.primary, 3.0, Color::rgb(0x33, 0x33, 0x33));
    let on_primary = if tokens.on_primary.contrast(primary) >= 4.5 { tokens.on_primary } else { white };
    RenderColors {
        primary,
        on_primary,
        text: pick(tokens.text, 7.0, Color::rgb(0x1f, 0x1d, 0x1a)),
        muted_text: pick(tokens.muted_text, 4.5, Color::rgb(0x55, 0x50, 0x4a)),
    }
}

pub const FOOTER_NOTE: &str = "Document stamp (SHA-256). Check it, or the PDF itself, at /v1/documents/verify";

/// What the render worker did.
#[derive(Debug, PartialEq)]
pub enum Rendered {
    New(Rendition),
    /// An earlier delivery of the same message rendered it already.
    Already(Rendition),
}

/// The render worker: renders a document's PDF (twice: with the stamp placeholder to get the
/// bytes the stamp covers, then with the stamp), stores it under the tenant's prefix and records
/// the rendition and its stamp lookups, each written once. Safe to run twice for one message.
pub async fn render(
    store: &Store,
    blobs: &dyn Blobs,
    renderer: Arc<dyn Renderer>,
    message: &RenderMessage,
) -> Result<Rendered, DocumentError> {
    let tenant = &message.tenant_id;
    let view = load_in(store, tenant, &message.client_id, &message.document_id)
        .await?
        .ok_or(AppError::NotFound { what: "document" })?;
    let existing = match message.variant {
        Variant::Generated => view.pdf.clone(),
        Variant::Signed => view.signed_pdf.clone(),
    };
    if let Some(rendition) = existing {
        return Ok(Rendered::Already(rendition));
    }
    let document = &view.document;
    if message.variant == Variant::Signed && document.signature.is_none() {
        return Err(DocumentError::NotSigned);
    }
    let (clinic, brand, logo) =
        tokio::try_join!(tenants::tenant(store, tenant), tenants::brand(store, tenant), tenants::logo(store, tenant))?;
    let logo = match logo {
        Some(logo) => Some(RenderLogo { format: logo.info.format, bytes: logo.bytes()? }),
        None => None,
    };
    let signature = match (&document.signature, message.variant) {
        (Some(signature), Variant::Signed) => {
            let session: SigningSession = store
                .get(&keys::signing_session(tenant, &signature.session_id))
                .await?
                .ok_or_else(|| AppError::Internal(format!("signing session {} is missing", signature.session_id)))?;
            Some(render_signature(document, &session, view.pdf.as_ref())?)
        }
        _ => None,
    };
    let mut job = RenderJob {
        clinic_name: clinic.name.to_string(),
        colors: paper_colors(&brand.tokens),
        title: document.content.title.clone(),
        subtitle: subtitle(document),
        blocks: render_blocks(&document.content),
        stamp: Sha256Hex::placeholder().to_string(),
        footer_note: FOOTER_NOTE.into(),
        signature,
        logo,
    };
    let draft = run(renderer.clone(), job.clone()).await?;
    let rendered_sha256 = Sha256Hex::of(&draft);
    let stamp = documents::stamp(
        tenant,
        &document.template.id,
        document.template.version,
        &document.canonical(message.variant),
        &rendered_sha256,
    );
    job.stamp = stamp.to_string();
    let pdf = run(renderer, job).await?;
    let file_sha256 = Sha256Hex::of(&pdf);
    let blob_key = keys::document_pdf(tenant, &document.id, message.variant, &file_sha256);
    let now = store.clock.now();
    let rendition = Rendition {
        document_id: document.id.clone(),
        variant: message.variant,
        stamp: stamp.clone(),
        file_sha256: file_sha256.clone(),
        rendered_sha256,
        size_bytes: pdf.len() as u64,
        blob_key: blob_key.to_string(),
        rendered_at: now,
    };
    // Kept a day while unsigned (`documents::UNSIGNED_PDF_RETENTION`: an erasure may delete it
    // after), seven years from signing once signed; the generated PDF of a signed document is
    // extended to the same date here too, so a failed extension at signing is retried with this
    // message (extending is idempotent and never shortens).
    let until = documents::pdf_retained_until(document, now);
    if message.variant == Variant::Signed
        && let Some(generated) = &view.pdf
    {
        extend(blobs, &generated.blob_key, until).await?;
    }
    blobs.put(&blob_key, pdf, "application/pdf", Retention::Until(until)).await.map_err(AppError::backend("blobs"))?;

    let already = || Once::AlreadyDone(AppError::conflict("already_rendered", "rendered by an earlier delivery"));
    let mut plan = Plan::<Once>::typed();
    let rendition_key = keys::rendition(tenant, &document.client_id, &document.id, message.variant);
    plan.push(Write::put_new(to_item(&rendition_key, "rendition", &rendition)?), already());
    for (hash, matched) in [(&stamp, "stamp"), (&file_sha256, "file")] {
        let record = StampRecord {
            tenant_id: tenant.clone(),
            client_id: document.client_id.clone(),
            document_id: document.id.clone(),
            variant: message.variant,
            matched: matched.into(),
            issued_at: now,
        };
        plan.push(Write::put_new(to_item(&keys::stamp(hash), "stamp", &record)?), already());
    }
    let audit = AuditContext {
        tenant_id: tenant.clone(),
        actor: "system".into(),
        role: None,
        request_id: mas_domain::ids::RequestId::new(),
    };
    let action = format!("document.rendered.{}", message.variant.as_str());
    match plan.commit_as(store, &audit, &action, document.id.as_str()).await {
        Ok(()) => Ok(Rendered::New(rendition)),
        Err(Once::AlreadyDone(_)) => {
            let again = load_in(store, tenant, &message.client_id, &message.document_id).await?;
            let existing = again.and_then(|v| if message.variant == Variant::Signed { v.signed_pdf } else { v.pdf });
            existing
                .map(Rendered::Already)
                .ok_or_else(|| AppError::Internal("a stamp of this render is already taken".into()).into())
        }
        Err(Once::Failed(err)) => Err(err.into()),
    }
}

/// Keeps a stored PDF at least until `until` (a signed document's retention).
pub async fn extend(blobs: &dyn Blobs, blob_key: &str, until: DateTime<Utc>) -> AppResult<()> {
    let key = mas_ports::BlobKey::parse(blob_key).map_err(|e| AppError::Internal(e.to_string()))?;
    blobs.extend_retention(&key, until).await.map_err(AppError::backend("blobs"))
}

async fn run(renderer: Arc<dyn Renderer>, job: RenderJob) -> AppResult<Vec<u8>> {
    tokio::task::spawn_blocking(move || renderer.render(&job))
        .await
        .map_err(|e| AppError::Internal(format!("render task failed: {e}")))?
        .map_err(|e| AppError::Internal(format!("render failed: {e}")))
}

fn subtitle(document: &Document) -> Vec<String> {
    vec![
        format!("Client: {}", document.client_name),
        format!("Issued: {}", document.created_at.format("%-d %B %Y, %H:%M UTC")),
        format!(
            "Document {} · template {} v{} ({})",
            document.id, document.template.id, document.template.version, document.template.jurisdiction
        ),
    ]
}

fn render_blocks(content: &MergedContent) -> Vec<RenderBlock> {
    content.blocks.iter().map(|b| RenderBlock { title: b.title.clone(), body: b.body.clone() }).collect()
}

fn render_signature(
    document: &Document,
    session: &SigningSession,
    generated: Option<&Rendition>,
) -> AppResult<RenderSignature> {
    let signature = document.signature.as_ref().expect("checked by the caller");
    let png = session
        .signature_png
        .as_deref()
        .and_then(|url| mas_domain::esign::PngDataUrl::parse(url).ok())
        .ok_or_else(|| AppError::Internal(format!("signing session {} has no readable signature", session.id)))?;
    let mut audit = vec![RenderAuditRow {
        at: document.created_at,
        event: format!("document generated by {}", document.created_by),
        ip: "—".into(),
        user_agent: "—".into(),
    }];
    audit.extend(session.events.iter().map(|e| RenderAuditRow {
        at: e.at,
        event: format!("e-sign {} by {}", e.event.as_str(), e.actor),
        ip: e.ip.clone().unwrap_or_else(|| "—".into()),
        user_agent: e.user_agent.clone().unwrap_or_else(|| "—".into()),
    }));
    let mut notes = vec![
        format!(
            "Document {} · {} v{} ({})",
            document.id, document.template.name, document.template.version, document.template.jurisdiction
        ),
        format!("Signed by {} (typed name) in session {}", signature.typed_name, session.id),
        format!("Signature image SHA-256: {}", signature.image_sha256),
        format!("Content SHA-256: {}", document.content_sha256),
    ];
    if let Some(generated) = generated {
        notes.push(format!("Unsigned PDF stamp: {}", generated.stamp));
        notes.push(format!("Unsigned PDF SHA-256: {}", generated.file_sha256));
    }
    Ok(RenderSignature {
        typed_name: signature.typed_name.clone(),
        png: png.bytes(),
        signed_at: signature.signed_at,
        audit,
        audit_notes: notes,
    })
}

/// The answer to "is this one of ours, unaltered?".
#[derive(Debug, Serialize, ToSchema)]
pub struct Verification {
    pub valid: bool,
    pub message: String,
    /// `stamp` (the hash printed in the footer) or `file` (the SHA-256 of the PDF's bytes).
    pub matched: Option<String>,
    pub variant: Option<Variant>,
    pub document_id: Option<DocumentId>,
    pub clinic: Option<String>,
    pub kind: Option<TemplateKind>,
    pub title: Option<String>,
    pub template: Option<TemplateRef>,
    pub issued_at: Option<DateTime<Utc>>,
    pub status: Option<DocumentStatus>,
    pub signed_at: Option<DateTime<Utc>>,
    /// A receipt or credit note of the desk till (instead of a document): its number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt_number: Option<String>,
}

impl Verification {
    fn unknown(message: impl Into<String>) -> Verification {
        Verification {
            valid: false,
            message: message.into(),
            matched: None,
            variant: None,
            document_id: None,
            clinic: None,
            kind: None,
            title: None,
            template: None,
            issued_at: None,
            status: None,
            signed_at: None,
            receipt_number: None,
        }
    }
}

/// Looks a stamp or a file hash up. Says nothing about the client: anyone may ask.
pub async fn verify_hash(store: &Store, hash: &Sha256Hex, only_files: bool) -> AppResult<Verification> {
    let item = store.table.get(&keys::stamp(hash)).await?;
    if let Some(item) = &item
        && item.get(mas_store::ENTITY_TYPE).and_then(Value::as_str) == Some(crate::receipts::RECEIPT_STAMP)
    {
        let record: mas_domain::receipt::ReceiptStampRecord = from_item(item.clone())?;
        if !only_files || record.matched == "file" {
            return verify_receipt(store, record).await;
        }
    }
    let record: Option<StampRecord> = match item {
        Some(item)
            if item.get(mas_store::ENTITY_TYPE).and_then(Value::as_str) != Some(crate::receipts::RECEIPT_STAMP) =>
        {
            Some(from_item(item)?)
        }
        _ => None,
    };
    let Some(record) = record.filter(|r| !only_files || r.matched == "file") else {
        return Ok(Verification::unknown(if only_files {
            "Not verified: no document we issued has exactly these bytes. The PDF was altered after we issued it, or it is not ours."
        } else {
            "Not verified: no document we issued has this stamp or file hash. Check that you copied it exactly; otherwise the document is not ours or was altered."
        }));
    };
    let view = load_in(store, &record.tenant_id, &record.client_id, &record.document_id)
        .await?
        .ok_or_else(|| AppError::Internal(format!("stamp {hash} points at a missing document")))?;
    let clinic = tenants::tenant(store, &record.tenant_id).await?;
    let document = view.document;
    let what = match record.variant {
        Variant::Generated => "the document as issued (before signing)",
        Variant::Signed => "the signed document, with its signature and audit page",
    };
    let mut message = format!(
        "Verified: this is {what}, unaltered: {} issued by {} from template {} v{}.",
        document.content.title, clinic.name, document.template.name, document.template.version
    );
    if record.variant == Variant::Generated && document.status == DocumentStatus::Signed {
        message.push_str(" It has since been signed; the signed PDF carries its own stamp.");
    }
    if document.status == DocumentStatus::Voided {
        message.push_str(" The clinic has since voided it: it is no longer in use.");
    }
    Ok(Verification {
        valid: true,
        message,
        matched: Some(record.matched),
        variant: Some(record.variant),
        document_id: Some(document.id),
        clinic: Some(clinic.name.to_string()),
        kind: Some(document.kind),
        title: Some(document.content.title),
        template: Some(document.template),
        issued_at: Some(record.issued_at),
        status: Some(document.status),
        signed_at: document.signature.map(|s| s.signed_at),
        receipt_number: None,
    })
}

/// A receipt's or credit note's stamp: which clinic issued which number, and when (never whose).
async fn verify_receipt(store: &Store, record: mas_domain::receipt::ReceiptStampRecord) -> AppResult<Verification> {
    let clinic = tenants::tenant(store, &record.tenant_id).await?;
    let title = format!("{} {}", record.kind.title(), record.number);
    let mut verification = Verification::unknown(format!(
        "Verified: this is {title} issued by {} on {}, unaltered.",
        clinic.name,
        record.issued_at.format("%-d %B %Y")
    ));
    verification.valid = true;
    verification.matched = Some(record.matched);
    verification.clinic = Some(clinic.name.to_string());
    verification.title = Some(title);
    verification.issued_at = Some(record.issued_at);
    verification.receipt_number = Some(record.number);
    Ok(verification)
}

/// Verifies an uploaded PDF by the SHA-256 of its bytes: one changed byte and it is not ours.
pub async fn verify_pdf(store: &Store, bytes: &[u8]) -> AppResult<Verification> {
    if !bytes.starts_with(b"%PDF-") {
        return Ok(Verification::unknown("Not verified: the upload is not a PDF file."));
    }
    verify_hash(store, &Sha256Hex::of(bytes), true).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(topic: Option<&Slug>) -> AppError {
        let uk = Jurisdiction::parse("UK").unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        choose_template(&[], topic, TemplateKind::Consent, &uk, day).unwrap_err().into()
    }

    #[test]
    fn no_template_in_force_names_the_topic_field_when_a_topic_was_asked_for_and_the_kind_otherwise() {
        let laser = Slug::parse("laser").unwrap();
        let AppError::Invalid { code, field, message } = refusal(Some(&laser)) else { panic!("422") };
        assert_eq!((code, field.as_deref()), ("no_template_in_force", Some("topic")));
        assert_eq!(message, "no consent template for `laser` is in force for UK on 2026-12-07");
        let AppError::Invalid { field, message, .. } = refusal(None) else { panic!("422") };
        assert_eq!(field.as_deref(), Some("kind"));
        assert_eq!(message, "no consent template is in force for UK on 2026-12-07");
    }
}
