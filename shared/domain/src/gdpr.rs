//! A client's rights over their data, as rules: what confirms an erasure, what stops one, what an
//! erasure keeps and why. The use cases (`mas_usecases::gdpr`) read and write; this decides.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::appointment::{Appointment, AppointmentStatus};
use crate::clients::Client;
use crate::documents::{Document, TemplateKind};
use crate::ids::{AppointmentId, ClientId, DocumentId};
use crate::values::Email;

/// Asking to erase a client.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EraseRequest {
    /// The client's email as on their record (any case), or their id (`cli_…`) when they have no
    /// email: typed by the owner, so an erasure aimed at the wrong client erases nobody.
    pub confirmation: String,
}

/// Whether `confirmation` names `client`: their email (compared as emails are stored:
/// lowercased, trimmed) when they have one, else their id. Nothing else confirms: not a name,
/// not the id of a client who has an email.
pub fn confirms(confirmation: &str, client: &Client) -> bool {
    match &client.data.email {
        Some(email) => Email::parse(confirmation).is_ok_and(|given| &given == email),
        None => confirmation.trim() == client.id.as_str(),
    }
}

/// Whether an appointment stops its client's erasure: one still to come (or under way) that is
/// not cancelled or done. Erasure refuses rather than cancels them, because cancelling decides
/// fees and refunds under the clinic's policy, which an owner should do knowingly, one by one.
pub fn blocks_erasure(appointment: &Appointment, now: DateTime<Utc>) -> bool {
    use AppointmentStatus::*;
    let open = matches!(appointment.status, PendingDeposit | Scheduled | CheckedIn | InProgress);
    open && appointment.end > now
}

/// Whether a document outlives its client's erasure: a signed one is a legal record (consent
/// to a treatment) kept until its `retain_until`; an unsigned one records no act of the client.
pub fn retained_on_erasure(document: &Document) -> bool {
    document.locked
}

/// Why signed documents are kept when the rest is erased.
pub const RETENTION_BASIS: &str = "Signed consent records are kept until their retain_until date (seven years from \
     signing) as evidence of informed consent, should a claim arise (UK GDPR Art. 17(3)(e)); the rest of the \
     client's personal and health data was erased, and what was sealed under the client's data key can no longer \
     be decrypted anywhere, backups included.";

/// A signed document kept after its client was erased.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RetainedDocument {
    pub document_id: DocumentId,
    pub kind: TemplateKind,
    #[schema(value_type = String)]
    pub topic: String,
    #[schema(value_type = String, format = Date)]
    pub retain_until: NaiveDate,
    /// Where its PDFs are (the bucket keeps them write-once until at least that date).
    pub pdf_blob_keys: Vec<String>,
}

impl RetainedDocument {
    pub fn of(document: &Document, pdf_blob_keys: Vec<String>) -> RetainedDocument {
        RetainedDocument {
            document_id: document.id.clone(),
            kind: document.kind,
            topic: document.topic.as_str().to_owned(),
            retain_until: document.retain_until,
            pdf_blob_keys,
        }
    }
}

/// How much of each kind of the client's data the erasure removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Removed {
    /// Whether the client had a data key (deleted: crypto-shredding).
    pub data_key: bool,
    pub medical_versions: usize,
    pub medical_submissions: usize,
    pub timeline_entries: usize,
    pub messages: usize,
    pub unsigned_documents: usize,
    /// Signing sessions of unsigned documents (each holds the client's opening events: time,
    /// IP, browser), the latest and every one it replaced. Any signing link of the client stops
    /// working at the erasure, whatever became of its session.
    #[serde(default)]
    pub signing_sessions: usize,
    /// Stored first answers of the client's bookings (idempotency records, kept a day for
    /// retries), deleted before their day is up.
    #[serde(default)]
    pub idempotency_records: usize,
    /// Whether the client had a customer (with cards on file) at the payment gateway: it is
    /// deleted there after the erasure commits (event `client.erased`, the notifications worker,
    /// retried until the gateway confirms; `client.payment_customer_deleted` records it).
    #[serde(default)]
    pub payment_customer: bool,
    /// Reviews she wrote (her words and the name she chose), deleted with their requests; the
    /// site is published again without them.
    #[serde(default)]
    pub reviews: usize,
}

/// A PDF an erasure could not delete yet: its lock lasts until `after`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ScheduledPdfDeletion {
    pub blob_key: String,
    pub after: DateTime<Utc>,
}

/// What an erasure did and kept: the answer to `POST /v1/clients/{id}/erase` (the same answer
/// however often it is asked), the `client.erased` audit record's details and what the client's
/// item holds afterwards. Names the client only by id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Erasure {
    pub client_id: ClientId,
    pub erased_at: DateTime<Utc>,
    /// The member who erased.
    pub erased_by: String,
    pub removed: Removed,
    /// Signed documents kept under their legal retention (see `basis`).
    pub retained_documents: Vec<RetainedDocument>,
    /// Past appointments (and their payments) kept for the clinic's accounts, naming the client
    /// only by id; their screening outcome and notes were cleared.
    pub kept_appointments: Vec<AppointmentId>,
    /// PDFs of unsigned documents deleted by the erasure (every stored version of each).
    #[serde(default)]
    pub deleted_pdfs: Vec<String>,
    /// PDFs of unsigned documents still under their lock at the erasure (rendered less than a
    /// day before, or stored before PDFs had a retention of their own: seven years): the sweep
    /// deletes each once `after` has passed, and audits it as `client.pdf_deleted`.
    #[serde(default)]
    pub scheduled_pdf_deletions: Vec<ScheduledPdfDeletion>,
    /// Erasures made before PDFs had a retention of their own listed here the PDFs they left in
    /// the bucket, unreferenced, under its seven-year lock. Empty since.
    #[serde(default)]
    pub unreferenced_pdfs: Vec<String>,
    /// Why what is kept is kept.
    pub basis: String,
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use serde_json::json;

    use super::*;

    fn client(email: Option<&str>) -> Client {
        let mut body = json!({"id": "cli_1", "version": 1, "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z", "first_name": "Jane", "last_name": "Smith"});
        if let Some(email) = email {
            body["email"] = json!(email);
        }
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn the_clients_email_in_any_case_confirms_and_nothing_else_does() {
        let jane = client(Some("jane@example.com"));
        assert!(confirms("jane@example.com", &jane));
        assert!(confirms("  Jane@Example.COM ", &jane));
        assert!(!confirms("jane@example.org", &jane));
        assert!(!confirms("cli_1", &jane), "the id does not stand in for an email the client has");
        assert!(!confirms("Jane Smith", &jane));
        assert!(!confirms("", &jane));
    }

    #[test]
    fn a_client_without_an_email_is_confirmed_by_their_id() {
        let anonymous = client(None);
        assert!(confirms("cli_1", &anonymous));
        assert!(confirms(" cli_1 ", &anonymous));
        assert!(!confirms("cli_2", &anonymous));
        assert!(!confirms("", &anonymous));
    }

    fn appointment(status: &str, end: DateTime<Utc>) -> Appointment {
        let start = end - Duration::minutes(30);
        serde_json::from_value(json!({
            "id": "apt_1", "confirmation_number": "BK-00000001", "status": status, "client_id": "cli_1",
            "location_id": "loc_1", "service_id": "svc_1", "practitioner_id": "prc_1", "resources": [],
            "start": start, "end": end, "local_start": start.fixed_offset(), "timezone": "Europe/London",
            "buffer_before_minutes": 0, "buffer_after_minutes": 0, "hold_expires_at": null,
            "price": {"amount_minor": 1000, "currency": "GBP"}, "deposit": {"amount_minor": 0, "currency": "GBP"},
            "deposit_paid": {"amount_minor": 0, "currency": "GBP"}, "policy_version": 1, "source": "staff",
            "screening": null, "notes": null, "history": [], "version": 1,
            "created_at": start, "updated_at": start
        }))
        .unwrap()
    }

    #[test]
    fn only_an_open_appointment_still_to_end_stops_an_erasure() {
        let now = Utc::now();
        let later = now + Duration::days(3);
        let earlier = now - Duration::days(3);
        for status in ["pending_deposit", "scheduled", "checked_in", "in_progress"] {
            assert!(blocks_erasure(&appointment(status, later), now), "{status} to come");
            assert!(!blocks_erasure(&appointment(status, earlier), now), "{status} long past");
        }
        for status in ["completed", "cancelled", "no_show"] {
            assert!(!blocks_erasure(&appointment(status, later), now), "{status}");
        }
    }
}
