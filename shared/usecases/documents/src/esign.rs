//! E-signature: staff open a session for a rendered document and hand the client a signed link;
//! the client opens it, and signs or declines. Signing locks the document in the same
//! transaction that closes the session, so two signatures can never both land.

use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::documents::{self as docs, DocumentView};
use mas_domain::documents::{Document, DocumentStatus, SignatureRecord, Variant};
use mas_domain::error::{AppError, AppResult};
use mas_domain::esign::{Origin, SessionEvent, SessionStatus, SignInput, SigningSession};
use mas_domain::ids::{RequestId, SigningSessionId, TenantId};
use mas_domain::links::LinkSigner;
use mas_ports::{Blobs, Condition, DomainEvent, Queue, Write};
use mas_store::keys;
use mas_store::{AuditContext, Plan, Store, TimelineEntry, to_item};

const PURPOSE: &str = "esign";
pub const DEFAULT_HOURS: u32 = 72;
pub const MAX_HOURS: u32 = 14 * 24;
/// Opening the page again and again adds events up to this many; the first and last are kept.
const MAX_EVENTS: usize = 30;

#[derive(Debug, Default, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenInput {
    /// How long the link works: 1–336 hours (default 72).
    #[serde(default)]
    pub expires_in_hours: Option<u32>,
}

/// The link a client signs through: `{tenant}.{session}.{expiry}.{hmac}`.
pub fn token(links: &LinkSigner, session: &SigningSession) -> String {
    let payload = format!("{}.{}.{}", session.tenant_id, session.id, session.expires_at.timestamp());
    format!("{payload}.{}", links.sign(PURPOSE, &payload))
}

/// The session a link names, if we issued the link. A forged or garbled link is not found.
pub fn parse_token(links: &LinkSigner, raw: &str) -> AppResult<(TenantId, SigningSessionId)> {
    let not_found = || AppError::NotFound { what: "signing link" };
    let parts: Vec<&str> = raw.split('.').collect();
    let [tenant, session, expires, signature] = parts.as_slice() else { return Err(not_found()) };
    if !links.verify(PURPOSE, &format!("{tenant}.{session}.{expires}"), signature) {
        return Err(not_found());
    }
    Ok((TenantId::parse(tenant).map_err(|_| not_found())?, SigningSessionId::parse(session).map_err(|_| not_found())?))
}

fn event(at: chrono::DateTime<chrono::Utc>, event: SessionStatus, actor: &str, origin: &Origin) -> SessionEvent {
    SessionEvent { at, event, actor: actor.into(), ip: origin.ip.clone(), user_agent: origin.user_agent.clone() }
}

/// E-signing's refusals, typed; the store's failures are kept whole as the source.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EsignError {
    /// 422 `out_of_range` (field `expires_in_hours`).
    #[error("must be 1–{MAX_HOURS}")]
    HoursOutOfRange,
    /// 409 `already_signed`, to the staff opening a session.
    #[error("this document is already signed")]
    DocumentSigned,
    /// 409 `document_voided`, to the staff opening a session.
    #[error("this document has been voided")]
    DocumentVoided,
    /// 409 `pdf_not_ready`, to the staff opening a session.
    #[error("the PDF is still being rendered; try again in a moment")]
    PdfRendering,
    /// 409 `already_signed`: the session is over, signed.
    #[error("this document has already been signed")]
    AlreadySigned,
    /// 409 `session_declined`: the session is over, declined.
    #[error("this signing request was declined")]
    Declined,
    /// 409 `session_expired`: the session is over, expired.
    #[error("this signing link has expired; ask the clinic for a new one")]
    Expired,
    /// 422 `agreement_required` (field `agree`).
    #[error("tick the box to confirm you have read and agree")]
    AgreementRequired,
    /// 409 `document_voided`, to the signer.
    #[error("the clinic has withdrawn this document")]
    Withdrawn,
    /// 409 `already_signed`: signed at the same moment by another request.
    #[error("this document has just been signed")]
    JustSigned,
    /// 409 `pdf_not_ready`, to the signer.
    #[error("the PDF is not ready yet")]
    PdfNotReady,
    /// 409 `session_changed`.
    #[error("the signing session changed at the same moment; reload the page")]
    SessionChanged,
    #[error(transparent)]
    Store(#[from] AppError),
}

impl EsignError {
    /// The session is over (signed, declined or expired): nothing to send or remind.
    pub fn session_over(&self) -> bool {
        matches!(self, EsignError::AlreadySigned | EsignError::Declined | EsignError::Expired)
    }
}

impl From<EsignError> for AppError {
    fn from(err: EsignError) -> Self {
        use EsignError as E;
        let message = err.to_string();
        match err {
            E::HoursOutOfRange => AppError::invalid("out_of_range", "expires_in_hours", message),
            E::DocumentSigned | E::AlreadySigned | E::JustSigned => AppError::conflict("already_signed", message),
            E::DocumentVoided | E::Withdrawn => AppError::conflict("document_voided", message),
            E::PdfRendering | E::PdfNotReady => AppError::conflict("pdf_not_ready", message),
            E::Declined => AppError::conflict("session_declined", message),
            E::Expired => AppError::conflict("session_expired", message),
            E::AgreementRequired => AppError::invalid("agreement_required", "agree", message),
            E::SessionChanged => AppError::conflict("session_changed", message),
            E::Store(err) => err,
        }
    }
}

fn session_changed() -> EsignError {
    EsignError::SessionChanged
}

/// Opens a signing session for a rendered, unsigned document and returns it with its link token.
pub async fn open(
    store: &Store,
    links: &LinkSigner,
    audit: &AuditContext,
    document_id: &mas_domain::ids::DocumentId,
    input: OpenInput,
) -> Result<(SigningSession, String), EsignError> {
    let hours = input.expires_in_hours.unwrap_or(DEFAULT_HOURS);
    if !(1..=MAX_HOURS).contains(&hours) {
        return Err(EsignError::HoursOutOfRange);
    }
    let view = docs::load(store, &audit.tenant_id, document_id).await?;
    let document = &view.document;
    match document.status {
        DocumentStatus::Signed => return Err(EsignError::DocumentSigned),
        DocumentStatus::Voided => return Err(EsignError::DocumentVoided),
        DocumentStatus::Generated => {}
    }
    if view.pdf.is_none() {
        return Err(EsignError::PdfRendering);
    }
    let now = store.clock.now();
    let origin = Origin::default();
    let session = SigningSession {
        id: SigningSessionId::new(),
        tenant_id: audit.tenant_id.clone(),
        document_id: document.id.clone(),
        client_id: document.client_id.clone(),
        // The link goes back to the caller; `document.signature_requested` lets notifications
        // send it to the client and remind them before `expires_at`.
        status: SessionStatus::Sent,
        created_at: now,
        expires_at: now + chrono::Duration::hours(i64::from(hours)),
        events: vec![
            event(now, SessionStatus::Created, &audit.actor, &origin),
            event(now, SessionStatus::Sent, &audit.actor, &origin),
        ],
        signature_png: None,
        typed_name: None,
        version: 1,
    };
    let mut plan = Plan::new();
    plan.push(
        Write::put_new(to_item(&keys::signing_session(&audit.tenant_id, &session.id), "signing_session", &session)?),
        AppError::conflict("id_taken", "an id clash; try again"),
    );
    plan.push(
        Write::check(
            keys::document(&audit.tenant_id, &document.client_id, &document.id),
            Condition::equals("version", document.version),
        ),
        AppError::contention("the document changed (it may have just been signed); reload it"),
    );
    // Every session of the document, for an erasure to find; the latest, for the portal.
    plan.push(
        Write::put(to_item(
            &keys::document_session_ref(&audit.tenant_id, &document.client_id, &document.id, &session.id),
            "signing_session_ref",
            &serde_json::json!({ "session_id": session.id }),
        )?),
        AppError::Internal("an unconditional put failed".into()),
    );
    // The latest session for the document, where the client's portal finds its link.
    let pointer = serde_json::json!({ "session_id": session.id });
    plan.push(
        Write::put(to_item(
            &keys::document_signing(&audit.tenant_id, &document.client_id, &document.id),
            "signing_pointer",
            &pointer,
        )?),
        AppError::Internal("an unconditional put failed".into()),
    );
    // Ids only: the consumer builds the link from the session (it never travels on the bus).
    let payload = json!({
        "document_id": session.document_id,
        "session_id": session.id,
        "client_id": session.client_id,
        "expires_at": session.expires_at,
    });
    plan.announce(DomainEvent::new(
        &audit.tenant_id,
        "document.signature_requested",
        session.id.as_str(),
        now,
        payload,
    ))?;
    plan.commit(store, audit, "esign.session_opened", session.id.as_str()).await?;
    let token = token(links, &session);
    Ok((session, token))
}

/// For the consumer of `document.signature_requested` (notifications) and its reminders: the
/// session and its link token (the page is `/v1/esign/{token}`), while it can still be signed.
/// A session that is signed, declined or expired is 409 (nothing to send); another clinic's or an
/// unknown one is 404. Read only.
pub async fn link_token(
    store: &Store,
    links: &LinkSigner,
    tenant: &TenantId,
    session_id: &SigningSessionId,
) -> Result<(SigningSession, String), EsignError> {
    let mut session = load_session(store, tenant, session_id).await?;
    session.status = session.current_status(store.clock.now());
    match session.status {
        SessionStatus::Created | SessionStatus::Sent | SessionStatus::Opened => {
            let token = token(links, &session);
            Ok((session, token))
        }
        SessionStatus::Signed => Err(EsignError::AlreadySigned),
        SessionStatus::Declined => Err(EsignError::Declined),
        SessionStatus::Expired => Err(EsignError::Expired),
    }
}

async fn load_session(store: &Store, tenant: &TenantId, id: &SigningSessionId) -> AppResult<SigningSession> {
    let not_found = || AppError::NotFound { what: "signing link" };
    let session: SigningSession = store.get(&keys::signing_session(tenant, id)).await?.ok_or_else(not_found)?;
    // The link of an erased client (or one being erased) opens nothing, not even a document
    // kept signed under retention; the writes below re-check it in their transactions.
    if !mas_clients::clients::is_live(store, tenant, &session.client_id).await? {
        return Err(not_found());
    }
    Ok(session)
}

fn client_audit(tenant: &TenantId) -> AuditContext {
    AuditContext { tenant_id: tenant.clone(), actor: "client".into(), role: None, request_id: RequestId::new() }
}

/// Refuses to act on a session that is over, recording the expiry if it has just happened.
async fn ensure_open(store: &Store, session: &SigningSession) -> Result<(), EsignError> {
    let now = store.clock.now();
    match session.current_status(now) {
        SessionStatus::Signed => Err(EsignError::AlreadySigned),
        SessionStatus::Declined => Err(EsignError::Declined),
        SessionStatus::Expired => {
            if session.status != SessionStatus::Expired {
                let mut expired = session.clone();
                expired.status = SessionStatus::Expired;
                expired.version += 1;
                expired.events.push(SessionEvent {
                    at: now,
                    event: SessionStatus::Expired,
                    actor: "system".into(),
                    ip: None,
                    user_agent: None,
                });
                let mut plan = Plan::<EsignError>::typed();
                let item =
                    to_item(&keys::signing_session(&session.tenant_id, &session.id), "signing_session", &expired)?;
                plan.push(Write::put_if(item, Condition::equals("version", session.version)), session_changed());
                // Best effort: whoever wins, the session is over.
                let _ = plan
                    .commit_as(store, &client_audit(&session.tenant_id), "esign.expired", session.id.as_str())
                    .await;
            }
            Err(EsignError::Expired)
        }
        SessionStatus::Created | SessionStatus::Sent | SessionStatus::Opened => Ok(()),
    }
}

/// What the signing page shows (read only).
pub async fn for_page(store: &Store, links: &LinkSigner, raw_token: &str) -> AppResult<(SigningSession, DocumentView)> {
    let (tenant, id) = parse_token(links, raw_token)?;
    let mut session = load_session(store, &tenant, &id).await?;
    session.status = session.current_status(store.clock.now());
    let view = docs::load(store, &tenant, &session.document_id).await?;
    Ok((session, view))
}

fn with_event(session: &SigningSession, status: SessionStatus, event: SessionEvent) -> SigningSession {
    let mut next = session.clone();
    next.status = status;
    next.version += 1;
    if next.events.len() >= MAX_EVENTS {
        next.events.remove(MAX_EVENTS / 2);
    }
    next.events.push(event);
    next
}

/// The client opened the page: recorded with time, IP and user agent.
pub async fn mark_opened(
    store: &Store,
    links: &LinkSigner,
    raw_token: &str,
    origin: &Origin,
) -> Result<SigningSession, EsignError> {
    let (tenant, id) = parse_token(links, raw_token)?;
    let session = load_session(store, &tenant, &id).await?;
    ensure_open(store, &session).await?;
    let next =
        with_event(&session, SessionStatus::Opened, event(store.clock.now(), SessionStatus::Opened, "client", origin));
    let mut plan = Plan::<EsignError>::typed();
    let item = to_item(&keys::signing_session(&tenant, &id), "signing_session", &next)?;
    plan.push(Write::put_if(item, Condition::equals("version", session.version)), session_changed());
    plan.push(
        mas_clients::clients::live_check(&tenant, &session.client_id),
        AppError::NotFound { what: "signing link" },
    );
    plan.commit_as(store, &client_audit(&tenant), "esign.opened", id.as_str()).await?;
    Ok(next)
}

/// The client declines to sign; the document stays unsigned.
pub async fn decline(
    store: &Store,
    links: &LinkSigner,
    raw_token: &str,
    origin: &Origin,
) -> Result<SigningSession, EsignError> {
    let (tenant, id) = parse_token(links, raw_token)?;
    let session = load_session(store, &tenant, &id).await?;
    ensure_open(store, &session).await?;
    let next = with_event(
        &session,
        SessionStatus::Declined,
        event(store.clock.now(), SessionStatus::Declined, "client", origin),
    );
    let mut plan = Plan::<EsignError>::typed();
    let item = to_item(&keys::signing_session(&tenant, &id), "signing_session", &next)?;
    plan.push(Write::put_if(item, Condition::equals("version", session.version)), session_changed());
    plan.push(
        mas_clients::clients::live_check(&tenant, &session.client_id),
        AppError::NotFound { what: "signing link" },
    );
    plan.commit_as(store, &client_audit(&tenant), "esign.declined", id.as_str()).await?;
    Ok(next)
}

/// The client signs: in one transaction the session closes as signed and the document is locked
/// with the signature record (both conditional on the versions read), a timeline entry and the
/// audit record are written. Then the signed PDF is queued for rendering.
pub async fn sign(
    store: &Store,
    queue: &dyn Queue,
    blobs: &dyn Blobs,
    links: &LinkSigner,
    raw_token: &str,
    origin: &Origin,
    input: SignInput,
) -> Result<DocumentView, EsignError> {
    let (tenant, id) = parse_token(links, raw_token)?;
    let session = load_session(store, &tenant, &id).await?;
    ensure_open(store, &session).await?;
    if !input.agree {
        return Err(EsignError::AgreementRequired);
    }
    let view = docs::load(store, &tenant, &session.document_id).await?;
    let current = &view.document;
    match current.status {
        DocumentStatus::Signed => return Err(EsignError::AlreadySigned),
        DocumentStatus::Voided => return Err(EsignError::Withdrawn),
        DocumentStatus::Generated => {}
    }
    let now = store.clock.now();
    let signed_event = event(now, SessionStatus::Signed, "client", origin);
    let mut closed = with_event(&session, SessionStatus::Signed, signed_event);
    closed.signature_png = Some(input.signature_png.as_str().to_owned());
    closed.typed_name = Some(input.typed_name.to_string());
    let signature = SignatureRecord {
        session_id: id.clone(),
        typed_name: input.typed_name.to_string(),
        image_sha256: input.signature_png.sha256(),
        signed_at: now,
        ip: origin.ip.clone().unwrap_or_default(),
        user_agent: origin.user_agent.clone().unwrap_or_default(),
    };
    let locked = Document {
        status: DocumentStatus::Signed,
        locked: true,
        signature: Some(signature),
        version: current.version + 1,
        // Seven years from signing: the consent is the act kept as evidence.
        retain_until: current.retain_until.max(mas_domain::documents::retain_until(now)),
        ..current.clone()
    };
    let already = || EsignError::JustSigned;
    let mut plan = Plan::<EsignError>::typed();
    let session_item = to_item(&keys::signing_session(&tenant, &id), "signing_session", &closed)?;
    plan.push(Write::put_if(session_item, Condition::equals("version", session.version)), already());
    let document_item = to_item(&keys::document(&tenant, &current.client_id, &current.id), "document", &locked)?;
    plan.push(Write::put_if(document_item, Condition::equals("version", current.version)), already());
    let rendition = keys::rendition(&tenant, &current.client_id, &current.id, Variant::Generated);
    plan.push(Write::check(rendition, Condition::Exists), EsignError::PdfNotReady);
    let summary = format!("{} signed by {}", current.content.title, input.typed_name);
    let entry =
        TimelineEntry::new(&current.client_id, now, "document.signed", summary, Some(current.id.to_string()), "client");
    plan.push(entry.write(&tenant)?, already());
    plan.push(
        mas_clients::clients::live_check(&tenant, &current.client_id),
        AppError::NotFound { what: "signing link" },
    );
    let mut payload = docs::event_payload(&locked);
    payload["session_id"] = json!(id);
    plan.announce(DomainEvent::new(&tenant, "document.signed", locked.id.as_str(), now, payload))?;
    plan.commit_as(store, &client_audit(&tenant), "document.signed", current.id.as_str()).await?;
    // The PDF the client signed was stored for a day (unsigned); it is kept as long as the
    // signed record from now on. A failure here is not the client's: the signature stands, and
    // the signed PDF's render extends it again, retried by its queue.
    if let Some(generated) = &view.pdf {
        let until = mas_domain::documents::pdf_retained_until(&locked, now);
        if let Err(err) = docs::extend(blobs, &generated.blob_key, until).await {
            tracing::warn!(%err, document_id = %locked.id, "generated PDF's retention not extended; the signed render will");
        }
    }
    docs::enqueue_render(queue, &locked, Variant::Signed).await?;
    Ok(DocumentView { document: locked, pdf: view.pdf, signed_pdf: None })
}
