//! A client's rights over their data: the export (everything the clinic holds about them, one
//! JSON document with short-lived links to their PDFs) and the erasure (crypto-shredding, signed
//! consent kept under its legal retention, the rest deleted, one audit record saying which).
//!
//! Erasure, step by step (each step safe to repeat: a second call finishes and answers alike):
//! 1. read the client; a tombstone means it is done: finish the clean-up, answer its record;
//! 2. the confirmation must name the client (`gdpr::confirms`), else 422 and nothing changes;
//! 3. refuse while an appointment is to come (409 `future_appointments`, nothing changes);
//! 4. archive the client, conditional on the version read: from then on an update (same
//!    version condition), a booking or a questionnaire (`clients::live_check`) is refused by
//!    the table, so nothing new can arrive while we look;
//! 5. look at the appointments again (a booking that committed before step 4 is now visible):
//!    one to come un-archives the client and refuses;
//! 6. one transaction, conditional on the archived version: the client item becomes a
//!    tombstone (no name, no search index), the client's data key is deleted — from here every
//!    value sealed under it, in the table or any backup, is unreadable — the email and phone
//!    claims go, and the `client.erased` audit record is written with what was kept;
//! 7. clean-up, in batches: the client's partition (questionnaires, submissions, timeline,
//!    preferences, unsigned documents and their renditions), their messages, the reminders
//!    still planned after their past appointments, unsigned documents' references, stamps and
//!    every signing session, the stored answers of their bookings (idempotency records); kept
//!    appointments lose their screening outcome and notes. Signed documents and their PDFs are
//!    left exactly as they are;
//! 8. after the commit, through the events outbox: `client.erased` reaches the notifications
//!    worker, which deletes the client's customer (and cards on file) at the payment gateway
//!    (`after_erasure`, idempotent: a customer already gone is done).
//!
//! Credentials the client holds stop at step 4 whatever is left of them: a portal sign-in link
//! (`portal::open_session`) and session (`portal::session`) and a signing link
//! (`esign::load_session`) need a live client, read and re-checked in their own transactions.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use mas_booking::appointments;

use mas_clients::clients;

use mas_clients::medical;

use mas_messaging::notifications;

use mas_booking::payments;
use mas_documents::receipts::{self, ReceiptLink};

use mas_accounts::tenants;
use mas_context::app::App;
use mas_domain::appointment::Appointment;
use mas_domain::clients::Client;
use mas_domain::documents::{Document, Rendition, Variant};
use mas_domain::error::{AppError, AppResult, Rejection};
use mas_domain::gdpr::{self, EraseRequest, Erasure, Removed, RetainedDocument, ScheduledPdfDeletion};
use mas_domain::ids::{AppointmentId, ClientId, DocumentId, TenantId};
use mas_domain::medical::{MedicalRecord, MedicalSubmission};
use mas_domain::notifications::{Preferences, redact_links};
use mas_domain::payment::Payment;
use mas_messaging::notifications::MessageRecord;
use mas_ports::table::{GSI1PK, GSI1SK};
use mas_ports::{BlobError, BlobKey, Blobs, Condition, Item, Key, Query, SortKey, Write};
use mas_store::{AuditContext, ENTITY_TYPE, Plan, Store, TimelineEntry, from_item, keys, to_item};

/// The event an erasure announces (ids only: the client and their gateway customer, if any).
pub use mas_context::announcements::CLIENT_ERASED;

/// The export's format, so a reader knows what it holds.
pub const EXPORT_FORMAT: &str = "mas-client-export/1";

/// How long the export's PDF links last: long enough to fetch every file right after the
/// export, short enough that a forwarded export stops opening them (export again for fresh ones).
pub const EXPORT_LINK_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// Everything the clinic holds about one client. PDFs come as links, not inline: a Lambda
/// answer is capped at 6 MB and a dozen signed consents in base64 would pass it; each link comes
/// with the file's SHA-256, so the fetched file can be checked against this document.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientExport {
    /// `mas-client-export/1`.
    pub format: String,
    pub exported_at: DateTime<Utc>,
    pub clinic: ExportClinic,
    /// Spelled out (not the `Client` alias) so the OpenAPI document names its schema.
    pub client: mas_domain::catalog::Record<ClientId, mas_domain::clients::ClientInput>,
    /// Consent to messages per channel and purpose.
    pub preferences: Preferences,
    /// Every version of the medical questionnaire the clinic recorded, newest first, decrypted.
    pub medical_history: Vec<MedicalRecord>,
    /// Screening answers the client gave online, newest first, decrypted.
    pub medical_submissions: Vec<MedicalSubmission>,
    /// Newest first.
    pub appointments: Vec<Appointment>,
    pub payments: Vec<Payment>,
    /// The receipts and credit notes of the client's sales at the desk, newest first, with
    /// links to their PDFs (valid as long as the documents' links).
    pub receipts: Vec<ReceiptLink>,
    /// The packages of treatment sessions she holds, newest first (sessions left, expiry).
    pub packages: Vec<mas_domain::package::Package>,
    /// Her memberships (plans, state, months paid).
    pub memberships: Vec<mas_domain::membership::Membership>,
    /// Her loyalty points, tier and whole ledger.
    pub loyalty: mas_booking::loyalty::AccountView,
    /// The reviews she wrote, as the clinic holds them (published or not).
    pub reviews: Vec<mas_domain::review::Review>,
    pub documents: Vec<ExportedDocument>,
    /// Every email and text to or from the client, newest first; links in them are `[link]`
    /// (a signing or sign-in link is a credential, not the client's data).
    pub messages: Vec<MessageRecord>,
    /// Newest first.
    pub timeline: Vec<TimelineEntry>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExportClinic {
    pub id: TenantId,
    pub name: String,
}

/// A document with links to its PDFs.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedDocument {
    #[serde(flatten)]
    pub document: Document,
    pub pdfs: Vec<ExportedPdf>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedPdf {
    pub variant: Variant,
    /// GET it without a token until `expires_at`.
    pub url: String,
    pub expires_at: DateTime<Utc>,
    /// SHA-256 of the file (what `sha256sum` prints).
    #[schema(value_type = String)]
    pub file_sha256: String,
    pub size_bytes: u64,
}

/// The client's partition, sorted by what each item is.
#[derive(Default)]
struct ClientFile {
    documents: Vec<Document>,
    renditions: Vec<Rendition>,
    /// Every item's key, for the clean-up.
    keys: Vec<(Key, Option<String>)>,
    medical_versions: usize,
    medical_submissions: usize,
    timeline: Vec<TimelineEntry>,
}

async fn client_file(store: &Store, tenant: &TenantId, client: &ClientId) -> AppResult<ClientFile> {
    let mut file = ClientFile::default();
    for item in store.table.query_all(&Query::partition(keys::client_pk(tenant, client))).await? {
        let kind = item.get(ENTITY_TYPE).and_then(|v| v.as_str()).map(str::to_owned);
        let Some(key) = Key::of(&item) else { continue };
        if key.sk.starts_with(keys::MEDICAL_PREFIX) {
            file.medical_versions += 1;
        } else if key.sk.starts_with(keys::MEDICAL_SUBMISSION_PREFIX) {
            file.medical_submissions += 1;
        }
        file.keys.push((key, kind.clone()));
        match kind.as_deref() {
            Some("document") => file.documents.push(from_item(item)?),
            Some("rendition") => file.renditions.push(from_item(item)?),
            Some("timeline") => file.timeline.push(from_item(item)?),
            _ => {}
        }
    }
    file.timeline.sort_by_key(|entry| std::cmp::Reverse((entry.at, entry.id.to_string())));
    Ok(file)
}

/// The client's appointments, found through their timeline (every booking and change writes an
/// entry naming the appointment), newest first.
async fn appointments_of(
    store: &Store,
    tenant: &TenantId,
    client: &ClientId,
    timeline: &[TimelineEntry],
) -> AppResult<Vec<Appointment>> {
    let ids: BTreeSet<&str> =
        timeline.iter().filter(|e| e.kind.starts_with("appointment.")).filter_map(|e| e.ref_id.as_deref()).collect();
    let mut found = Vec::new();
    for id in ids {
        let Ok(id) = AppointmentId::parse(id) else { continue };
        match appointments::get(store, tenant, &id).await {
            Ok(appointment) if &appointment.client_id == client => found.push(appointment),
            Ok(_) | Err(AppError::NotFound { .. }) => {}
            Err(err) => return Err(err),
        }
    }
    found.sort_by_key(|a| std::cmp::Reverse(a.start));
    Ok(found)
}

/// Every message to or from the client (their log on GSI1), newest first.
async fn messages_of(store: &Store, tenant: &TenantId, client: &ClientId) -> AppResult<Vec<Item>> {
    Ok(store.table.query_all(&Query::gsi1(keys::client_messages(tenant, client)).descending()).await?)
}

/// Everything the clinic holds about the client, for them. Reading health data, it is audited
/// like a change (`client.exported`, in its own write: the export answers only once the record
/// of it is stored).
pub async fn export(app: &App, audit: &AuditContext, client_id: &ClientId) -> AppResult<ClientExport> {
    let store = &app.store;
    let t = &audit.tenant_id;
    let client = clients::get(store, t, client_id).await?;
    let file = client_file(store, t, client_id).await?;
    let medical_history = medical::history(store, &app.keyring, t, client_id).await?;
    let medical_submissions = medical::submissions(store, &app.keyring, t, client_id).await?;
    let appointments = appointments_of(store, t, client_id, &file.timeline).await?;
    let mut payments = Vec::new();
    for appointment in &appointments {
        payments.extend(payments::for_appointment(store, t, &appointment.id).await?);
    }
    let receipts = receipts::of_client(store, t, client_id).await?;
    let packages = mas_booking::packages::for_client(store, t, client_id).await?;
    let memberships = mas_booking::memberships::for_client(store, t, client_id).await?;
    let loyalty = mas_booking::loyalty::full_view(store, t, client_id).await?;
    let appointment_ids: Vec<AppointmentId> = appointments.iter().map(|a| a.id.clone()).collect();
    let reviews = mas_booking::reviews::of_client(store, t, client_id, &appointment_ids).await?;
    let receipts = receipts::links(store, app.blobs.as_ref(), receipts, EXPORT_LINK_LIFETIME).await?;
    let now = store.clock.now();
    let expires_at = now + chrono::Duration::seconds(EXPORT_LINK_LIFETIME.as_secs() as i64);
    let mut documents = Vec::new();
    for document in file.documents {
        let mut pdfs = Vec::new();
        let mut renditions: Vec<&Rendition> = file.renditions.iter().filter(|r| r.document_id == document.id).collect();
        renditions.sort_by_key(|r| r.variant);
        for rendition in renditions {
            let key = BlobKey::parse(&rendition.blob_key).map_err(|e| AppError::Internal(e.to_string()))?;
            let url = app.blobs.presign(&key, EXPORT_LINK_LIFETIME).await.map_err(AppError::backend("blobs"))?;
            pdfs.push(ExportedPdf {
                variant: rendition.variant,
                url,
                expires_at,
                file_sha256: rendition.file_sha256.as_str().to_owned(),
                size_bytes: rendition.size_bytes,
            });
        }
        documents.push(ExportedDocument { document, pdfs });
    }
    documents.sort_by_key(|d| std::cmp::Reverse(d.document.created_at));
    let messages = messages_of(store, t, client_id)
        .await?
        .into_iter()
        .map(|item| {
            let mut record: MessageRecord = from_item(item)?;
            record.summary = redact_links(&record.summary);
            Ok(record)
        })
        .collect::<AppResult<Vec<_>>>()?;
    let preferences = notifications::preferences(store, t, client_id).await?;
    let clinic = tenants::tenant(store, t).await?;
    store
        .commit(audit, "client.exported", client_id.as_str(), Vec::new())
        .await
        .map_err(|err| err.on_condition(|_| AppError::Internal("an audit record's key was already taken".into())))?;
    Ok(ClientExport {
        format: EXPORT_FORMAT.into(),
        exported_at: now,
        clinic: ExportClinic { id: t.clone(), name: clinic.name.as_str().to_owned() },
        client,
        preferences,
        medical_history,
        medical_submissions,
        appointments,
        payments,
        receipts,
        packages,
        memberships,
        loyalty,
        reviews,
        documents,
        messages,
        timeline: file.timeline,
    })
}

/// What an erased client's item holds: the erasure's record, and the version it replaced (so a
/// late write conditional on an older version fails).
#[derive(Debug, Serialize, Deserialize)]
struct Tombstone {
    client_id: ClientId,
    version: u64,
    erasure: Erasure,
}

/// An erasure refused, typed; the store's and the other use cases' failures are kept whole.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ErasureError {
    /// 422 `confirmation_mismatch` (field `confirmation`).
    #[error("type the client's email as on their record (or their id, when they have no email) to confirm")]
    ConfirmationMismatch,
    /// 409 `future_appointments`, naming them: they are cancelled first (fees and refunds decided).
    #[error("the client has appointments to come: cancel them (deciding fees and refunds) before erasing")]
    FutureAppointments { appointment_ids: Vec<AppointmentId> },
    #[error(transparent)]
    Store(#[from] AppError),
}

impl From<mas_ports::TableError> for ErasureError {
    fn from(err: mas_ports::TableError) -> Self {
        ErasureError::Store(err.into())
    }
}

impl From<ErasureError> for AppError {
    fn from(err: ErasureError) -> Self {
        let message = err.to_string();
        match err {
            ErasureError::ConfirmationMismatch => AppError::invalid("confirmation_mismatch", "confirmation", message),
            ErasureError::FutureAppointments { appointment_ids } => AppError::Rejected {
                kind: Rejection::Conflict,
                code: "future_appointments",
                message,
                details: json!({ "appointment_ids": appointment_ids }),
            },
            ErasureError::Store(err) => err,
        }
    }
}

fn future_appointments(appointments: &[Appointment], now: DateTime<Utc>) -> Result<(), ErasureError> {
    let blocking: Vec<AppointmentId> =
        appointments.iter().filter(|a| gdpr::blocks_erasure(a, now)).map(|a| a.id.clone()).collect();
    if blocking.is_empty() {
        return Ok(());
    }
    Err(ErasureError::FutureAppointments { appointment_ids: blocking })
}

fn raced() -> AppError {
    AppError::contention("the client changed while being erased; try again")
}

/// Puts the client back as it was read with `archived` and the next version (the erasure mark,
/// or lifting it).
async fn set_archived(
    store: &Store,
    audit: &AuditContext,
    current: &Client,
    archived: bool,
    action: &str,
) -> AppResult<Client> {
    let next = Client { archived, version: current.version + 1, updated_at: store.clock.now(), ..current.clone() };
    let mut item = to_item(&keys::client(&audit.tenant_id, &current.id), "client", &next)?;
    if !archived {
        // Back in the list and the name search.
        let (pk, sk) = keys::clients_gsi(&audit.tenant_id, &next.data.sort_name(), &next.id);
        item.insert(mas_ports::table::GSI1PK.into(), pk.into());
        item.insert(mas_ports::table::GSI1SK.into(), sk.into());
    }
    let mut plan = Plan::new();
    plan.push(Write::put_if(item, Condition::equals("version", current.version)), raced());
    plan.commit(store, audit, action, current.id.as_str()).await?;
    Ok(next)
}

/// Erases the client (see the module notes). Owners only (the route checks); the same answer
/// however often it is asked.
pub async fn erase(
    app: &App,
    audit: &AuditContext,
    client_id: &ClientId,
    request: EraseRequest,
) -> Result<Erasure, ErasureError> {
    let store = &app.store;
    let t = &audit.tenant_id;
    let key = keys::client(t, client_id);
    let item = store.table.get(&key).await?.ok_or(AppError::NotFound { what: "client" })?;
    if item.get(ENTITY_TYPE).and_then(|v| v.as_str()) == Some(clients::ERASED_ENTITY) {
        let tombstone: Tombstone = from_item(item)?;
        clean_up(store, audit, client_id, &tombstone.erasure).await?;
        return Ok(tombstone.erasure);
    }
    let read: Client = from_item(item)?;
    if !gdpr::confirms(&request.confirmation, &read) {
        return Err(ErasureError::ConfirmationMismatch);
    }
    let now = store.clock.now();
    let file = client_file(store, t, client_id).await?;
    future_appointments(&appointments_of(store, t, client_id, &file.timeline).await?, now)?;
    // An archived client is an erasure that stopped half-way: it goes on from the mark.
    let marked =
        if read.archived { read } else { set_archived(store, audit, &read, true, "client.erasure_started").await? };
    let file = client_file(store, t, client_id).await?;
    let appointments = appointments_of(store, t, client_id, &file.timeline).await?;
    if let Err(refusal) = future_appointments(&appointments, now) {
        set_archived(store, audit, &marked, false, "client.erasure_refused").await?;
        return Err(refusal);
    }

    let (retained, unsigned): (Vec<&Document>, Vec<&Document>) =
        file.documents.iter().partition(|d| gdpr::retained_on_erasure(d));
    let blobs_of = |document: &DocumentId| -> Vec<String> {
        file.renditions.iter().filter(|r| &r.document_id == document).map(|r| r.blob_key.clone()).collect()
    };
    // The unsigned documents' PDFs go now, from here on the erasure is decided (a repeat after a
    // crash finds them gone: done). Those still locked are scheduled before the record says so.
    let unsigned_pdfs: Vec<String> = unsigned.iter().flat_map(|d| blobs_of(&d.id)).collect();
    let pdfs = delete_pdfs(app.blobs.as_ref(), &unsigned_pdfs).await?;
    schedule_pdf_deletions(store, t, client_id, &pdfs.scheduled).await?;
    let message_count = messages_of(store, t, client_id).await?.len();
    let has_key = file.keys.iter().any(|(k, _)| k == &keys::client_data_key(t, client_id));
    let retained_prefixes: Vec<String> = retained.iter().map(|d| format!("DOC#{}#", d.id)).collect();
    let counted = |kind: &str| {
        file.keys
            .iter()
            .filter(|(k, of)| of.as_deref() == Some(kind) && !retained_prefixes.iter().any(|p| k.sk.starts_with(p)))
            .count()
    };
    let customer = payment_customer(store, t, client_id).await?;
    let appointments_ids: Vec<_> = appointments.iter().map(|a| a.id.clone()).collect();
    let erasure = Erasure {
        client_id: client_id.clone(),
        erased_at: now,
        erased_by: audit.actor.clone(),
        removed: Removed {
            data_key: has_key,
            medical_versions: file.medical_versions,
            medical_submissions: file.medical_submissions,
            timeline_entries: file.timeline.len(),
            messages: message_count,
            unsigned_documents: unsigned.len(),
            signing_sessions: counted("signing_session_ref"),
            idempotency_records: counted("idempotency_ref"),
            payment_customer: customer.is_some(),
            reviews: mas_booking::reviews::of_client(store, t, client_id, &appointments_ids).await?.len(),
        },
        retained_documents: retained.iter().map(|d| RetainedDocument::of(d, blobs_of(&d.id))).collect(),
        kept_appointments: appointments_ids,
        deleted_pdfs: pdfs.deleted,
        scheduled_pdf_deletions: pdfs.scheduled,
        unreferenced_pdfs: Vec::new(),
        basis: gdpr::RETENTION_BASIS.into(),
    };

    // Replies to texts are routed by the phone's last sender: not to this client any more. A
    // pointer another client has taken since is theirs (the condition), and is left alone.
    if let Some(phone) = &marked.data.phone {
        let peer = Write::delete_if(keys::sms_peer(phone.as_str()), Condition::equals("client_id", client_id.as_str()));
        match store.table.transact(vec![peer]).await {
            Ok(()) | Err(mas_ports::TableError::ConditionFailed { .. }) => {}
            Err(err) => return Err(err.into()),
        }
    }

    let tombstone = Tombstone { client_id: client_id.clone(), version: marked.version + 1, erasure: erasure.clone() };
    let mut plan = Plan::new();
    // No GSI1 attributes: out of the client list and the name search.
    plan.push(
        Write::put_if(to_item(&key, clients::ERASED_ENTITY, &tombstone)?, Condition::equals("version", marked.version)),
        raced(),
    );
    plan.push(
        Write::delete(keys::client_data_key(t, client_id)),
        AppError::Internal("a delete has no condition".into()),
    );
    let ours = || Condition::equals("owner_id", client_id.as_str());
    if let Some(email) = &marked.data.email {
        plan.push(Write::delete_if(keys::client_email(t, email), ours()), raced());
    }
    if let Some(phone) = &marked.data.phone {
        plan.push(Write::delete_if(keys::client_phone(t, phone, client_id), ours()), raced());
    }
    // Out of the search box in the same transaction: no search finds her from here on.
    for write in mas_clients::search_index::changes(t, client_id, Some(&marked.data), None)? {
        plan.push(write, AppError::Internal("a delete has no condition".into()));
    }
    // What is left to do outside our table, after this commits: ids only.
    let payload = json!({ "client_id": client_id, "payment_customer_id": customer });
    plan.announce(mas_ports::DomainEvent::new(t, CLIENT_ERASED, client_id.as_str(), now, payload))?;
    let details = serde_json::to_value(&erasure).map_err(|e| AppError::Internal(e.to_string()))?;
    plan.commit_detailed(store, audit, "client.erased", client_id.as_str(), Some(details)).await?;
    clean_up(store, audit, client_id, &erasure).await?;
    Ok(erasure)
}

/// A document's latest signing session (`keys::document_signing`), or one of all its sessions
/// (`keys::document_session_ref`).
#[derive(Deserialize)]
struct SigningPointer {
    session_id: mas_domain::ids::SigningSessionId,
}

/// Where a stored booking answer is (`keys::client_idempotency_ref`).
#[derive(Deserialize)]
struct IdempotencyPointer {
    key: String,
}

/// The client's customer at the payment gateway, if they kept a card on file.
async fn payment_customer(
    store: &Store,
    tenant: &TenantId,
    client: &ClientId,
) -> AppResult<Option<mas_domain::payment::CustomerId>> {
    #[derive(Deserialize)]
    struct Stored {
        customer_id: mas_domain::payment::CustomerId,
    }
    Ok(store.get::<Stored>(&keys::stripe_customer(tenant, client)).await?.map(|s| s.customer_id))
}

/// Step 8 (see the module notes): what an erasure leaves to do at the payment gateway, once it
/// has committed. Run by the notifications worker for `client.erased`; a redelivery finds the
/// customer gone and is done.
pub async fn after_erasure(app: &App, event: &mas_ports::DomainEvent) -> AppResult<()> {
    let field = |name: &str| event.payload.get(name).and_then(|v| v.as_str());
    let client = field("client_id").ok_or_else(|| AppError::Internal("client.erased without client_id".into()))?;
    let Some(customer) = field("payment_customer_id") else { return Ok(()) };
    let customer = mas_domain::payment::CustomerId::parse(customer)
        .map_err(|e| AppError::Internal(format!("customer: {}", e.0)))?;
    match app.payments.delete_customer(&customer).await {
        Ok(()) => {}
        Err(mas_ports::PaymentsError::NotFound) => return Ok(()),
        Err(err) => return Err(err.into()),
    }
    let audit = AuditContext {
        tenant_id: event.tenant_id.clone(),
        actor: "system".into(),
        role: None,
        request_id: mas_domain::ids::RequestId::new(),
    };
    let details = json!({ "payment_customer_id": customer, "gateway": app.payments.name() });
    app.store
        .commit_detailed(&audit, "client.payment_customer_deleted", client, Some(details), Vec::new())
        .await
        .map_err(|err| err.on_condition(|_| AppError::Internal("an audit record's key was already taken".into())))
}

/// What became of the PDFs of an erased client's unsigned documents.
struct PdfDeletions {
    deleted: Vec<String>,
    scheduled: Vec<ScheduledPdfDeletion>,
}

/// Deletes each PDF (every version); one still under its lock is left for later, with the date
/// its lock passes. Any other failure stops the erasure (the client stays archived; a repeat
/// goes on from there).
async fn delete_pdfs(blobs: &dyn Blobs, keys: &[String]) -> AppResult<PdfDeletions> {
    let mut outcome = PdfDeletions { deleted: Vec::new(), scheduled: Vec::new() };
    for raw in keys {
        let key = BlobKey::parse(raw).map_err(|e| AppError::Internal(e.to_string()))?;
        match blobs.delete(&key).await {
            Ok(()) => outcome.deleted.push(raw.clone()),
            Err(BlobError::Locked { until, .. }) => {
                outcome.scheduled.push(ScheduledPdfDeletion { blob_key: raw.clone(), after: until })
            }
            Err(other) => return Err(AppError::backend("blobs")(other)),
        }
    }
    Ok(outcome)
}

/// A PDF left to the sweep (`pdf.delete_due`): who it was of (for the audit record) and when.
#[derive(Debug, Serialize, Deserialize)]
struct PdfDeleteDue {
    tenant_id: TenantId,
    client_id: ClientId,
    blob_key: String,
    after: DateTime<Utc>,
}

fn pdf_delete_due_item(due: &PdfDeleteDue) -> AppResult<Item> {
    let mut item = to_item(&keys::pdf_delete_due(&due.tenant_id, &due.blob_key), "pdf_delete_due", due)?;
    item.insert(GSI1PK.into(), keys::PDF_DELETE_INDEX.into());
    item.insert(GSI1SK.into(), keys::pdf_delete_due_sk(due.after, &due.blob_key).into());
    Ok(item)
}

/// Writes one `pdf.delete_due` item per PDF (a put: scheduling again replaces it).
async fn schedule_pdf_deletions(
    store: &Store,
    tenant: &TenantId,
    client: &ClientId,
    scheduled: &[ScheduledPdfDeletion],
) -> AppResult<()> {
    let mut writes = Vec::with_capacity(scheduled.len());
    for pdf in scheduled {
        let due = PdfDeleteDue {
            tenant_id: tenant.clone(),
            client_id: client.clone(),
            blob_key: pdf.blob_key.clone(),
            after: pdf.after,
        };
        writes.push(Write::put(pdf_delete_due_item(&due)?));
    }
    for batch in writes.chunks(CLEAN_UP_BATCH) {
        store.table.transact(batch.to_vec()).await?;
    }
    Ok(())
}

/// What one pass over the PDFs due for deletion did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PdfSweep {
    pub deleted: usize,
    /// Still locked (a version stored later): scheduled again for when that lock passes.
    pub rescheduled: usize,
    /// The store failed: left for the next sweep.
    pub failed: usize,
}

const PDF_SWEEP_PAGE: u32 = 100;

/// For the sweep (on its schedule, beside the reminders): deletes the PDFs erasures left to
/// delete whose lock has passed, each audited as `client.pdf_deleted` (ids and the key) in the
/// write that removes its `pdf.delete_due` item. Safe to run twice at once: deleting what is
/// gone is done, and the second audit record has its own id.
pub async fn delete_due_pdfs(store: &Store, blobs: &dyn Blobs) -> AppResult<PdfSweep> {
    let now = store.clock.now();
    let upper = format!("{}~", keys::pdf_delete_due_sk(now, ""));
    let mut sweep = PdfSweep::default();
    let mut cursor = None;
    loop {
        let query = Query::gsi1(keys::PDF_DELETE_INDEX)
            .sk(SortKey::Le(upper.clone()))
            .limit(PDF_SWEEP_PAGE)
            .after(cursor.take());
        let page = store.table.query(&query).await?;
        for item in page.items {
            let due: PdfDeleteDue = from_item(item)?;
            let marker = keys::pdf_delete_due(&due.tenant_id, &due.blob_key);
            let key = BlobKey::parse(&due.blob_key).map_err(|e| AppError::Internal(e.to_string()))?;
            match blobs.delete(&key).await {
                Ok(()) => {
                    let audit = AuditContext {
                        tenant_id: due.tenant_id.clone(),
                        actor: "system".into(),
                        role: None,
                        request_id: mas_domain::ids::RequestId::new(),
                    };
                    let details = json!({ "blob_key": due.blob_key, "scheduled_after": due.after });
                    store
                        .commit_detailed(
                            &audit,
                            "client.pdf_deleted",
                            due.client_id.as_str(),
                            Some(details),
                            vec![Write::delete(marker)],
                        )
                        .await
                        .map_err(|err| {
                            err.on_condition(|_| AppError::Internal("an audit record's key was already taken".into()))
                        })?;
                    sweep.deleted += 1;
                }
                Err(BlobError::Locked { until, .. }) => {
                    // A clock behind the store's would find it locked again at once: a minute on.
                    let after = until.max(now + chrono::Duration::minutes(1));
                    let again = PdfDeleteDue { after, ..due };
                    store.table.transact(vec![Write::put(pdf_delete_due_item(&again)?)]).await?;
                    sweep.rescheduled += 1;
                }
                Err(err) => {
                    tracing::warn!(%err, tenant_id = %due.tenant_id, "a due PDF deletion failed; the next sweep tries again");
                    sweep.failed += 1;
                }
            }
        }
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(sweep),
        }
    }
}

/// How many deletes go in one transaction of the clean-up.
const CLEAN_UP_BATCH: usize = 25;

/// Step 7 of the erasure (see the module notes): deletes what is left of the client but the
/// tombstone and the signed documents, and clears what kept appointments say about them.
/// Idempotent: deleting what is gone is no error, and a cleared appointment is left alone.
///
/// These writes carry no audit record of their own: they finish what the `client.erased`
/// record, committed before them, describes.
async fn clean_up(store: &Store, audit: &AuditContext, client: &ClientId, erasure: &Erasure) -> AppResult<()> {
    let tenant = &audit.tenant_id;
    // Her reviews and their requests (the site is published again without them).
    mas_booking::reviews::erase_client(store, audit, client, &erasure.kept_appointments).await?;
    let retained: Vec<String> = erasure.retained_documents.iter().map(|d| format!("DOC#{}", d.document_id)).collect();
    let is_retained = |sk: &str| retained.iter().any(|prefix| sk == prefix || sk.starts_with(&format!("{prefix}#")));
    let file = client_file(store, tenant, client).await?;
    let mut deletes: Vec<Key> = Vec::new();
    for (key, kind) in &file.keys {
        if key.sk == "CLIENT" || is_retained(&key.sk) {
            continue;
        }
        if matches!(kind.as_deref(), Some("signing_pointer" | "signing_session_ref"))
            && let Some(pointer) = store.get::<SigningPointer>(key).await?
        {
            deletes.push(keys::signing_session(tenant, &pointer.session_id));
        }
        if kind.as_deref() == Some("idempotency_ref")
            && let Some(pointer) = store.get::<IdempotencyPointer>(key).await?
        {
            deletes.push(keys::idempotency(tenant, &pointer.key));
        }
        deletes.push(key.clone());
    }
    for document in file.documents.iter().filter(|d| !is_retained(&format!("DOC#{}", d.id))) {
        deletes.push(keys::document_ref(tenant, &document.id));
    }
    for rendition in file.renditions.iter().filter(|r| !is_retained(&format!("DOC#{}", r.document_id))) {
        // The public verification lookups: a PDF of an erased, unsigned document verifies as
        // nothing of ours rather than naming a record that is gone.
        deletes.push(keys::stamp(&rendition.stamp));
        deletes.push(keys::stamp(&rendition.file_sha256));
    }
    for item in messages_of(store, tenant, client).await? {
        deletes.extend(Key::of(&item));
    }
    // Reminders still planned after a kept appointment (aftercare, follow-up, rebooking).
    for id in &erasure.kept_appointments {
        let plan = Query::partition(keys::reminder_plan(tenant, id.as_str()));
        deletes.extend(store.table.query_all(&plan).await?.iter().filter_map(Key::of));
    }
    // A transaction touches an item once (the latest pointer and a session's own reference
    // name the same session).
    let mut seen = BTreeSet::new();
    deletes.retain(|key| seen.insert((key.pk.clone(), key.sk.clone())));
    for batch in deletes.chunks(CLEAN_UP_BATCH) {
        store.table.transact(batch.iter().cloned().map(Write::delete).collect()).await?;
    }
    for id in &erasure.kept_appointments {
        let appointment = match appointments::get(store, tenant, id).await {
            Ok(appointment) => appointment,
            Err(AppError::NotFound { .. }) => continue,
            Err(err) => return Err(err),
        };
        if appointment.screening.is_none() && appointment.notes.is_none() {
            continue;
        }
        // The outcome of screening is health data and notes are free text: neither is needed
        // to keep the clinic's accounts.
        let next =
            Appointment { screening: None, notes: None, version: appointment.version + 1, ..appointment.clone() };
        let item = appointments::appointment_item(tenant, &next)?;
        store.table.transact(vec![Write::put_if(item, Condition::equals("version", appointment.version))]).await?;
    }
    Ok(())
}
