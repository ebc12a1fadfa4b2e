//! The client portal: sign-in by emailed link (a one-time token, stored only as its hash and
//! consumed with a conditional delete, so of two uses one wins), a signed session scoped to one
//! client, and what that client may see and do: their appointments (reschedule and cancel within
//! the policy, through the same operations staff use), their documents and their preferences.
//! Another client's ids are simply not found.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use mas_accounts::tenants;
use mas_booking::appointments::{self, Change, Scope};
use mas_catalog::catalog::Catalog;
use mas_clients::clients;
use mas_context::app::App;
use mas_domain::appointment::{AppointmentAction, AppointmentStatus};
use mas_domain::documents::Document;
use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::{AppointmentId, ClientId, LocationId, RequestId, ServiceId, TenantId};
use mas_domain::notifications::Preferences;
use mas_domain::policy::{FeeAction, FeePreview};
use mas_domain::portal::{self, PortalSession};
use mas_domain::reach::Reach;
use mas_domain::values::{Email, Slug};
use mas_messaging::notifications::Notice;
use mas_ports::{Condition, Query, SortKey, Write};
use mas_store::keys;
use mas_store::{AuditContext, Plan, from_item, to_item};

/// The stored half of a sign-in link (`TENANT#t#PORTAL#{sha256}` / `PORTAL_TOKEN`).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct LinkRecord {
    client_id: ClientId,
    expires_at: DateTime<Utc>,
    /// DynamoDB's TTL removes links nobody used (`from_item` drops it when reading).
    #[serde(default)]
    ttl: i64,
}

fn client_audit(tenant: &TenantId, client: &ClientId) -> AuditContext {
    AuditContext {
        tenant_id: tenant.clone(),
        actor: format!("client:{client}"),
        role: None,
        request_id: RequestId::new(),
    }
}

/// Asks for a sign-in link. The answer is the same whether or not the email is a client's; for a
/// client, a link valid for 15 minutes is stored (as a hash) and sent to them.
pub async fn request_link(app: &App, slug: &Slug, email: &Email) -> AppResult<()> {
    let tenant = tenants::tenant(&app.store, &tenants::tenant_by_slug(&app.store, slug).await?).await?;
    let Some(client_id) = clients::email_owner(&app.store, &tenant.id, email).await? else {
        tracing::info!(tenant_id = %tenant.id, "portal link asked for an email that is not a client's");
        return Ok(());
    };
    if !throttle_allows(app, &tenant.id, &client_id).await? {
        tracing::info!(tenant_id = %tenant.id, "portal link asked again within a minute; not sent");
        return Ok(());
    }
    let (token, expires_at) = issue_link(app, &tenant.id, &client_id).await?;
    let url = format!("{}#token={token}", portal_url(app, &tenant.slug));
    send_portal_link(app, &tenant.id, &client_id, &url, expires_at).await
}

/// At most one emailed link per client per minute, however many ask at once: a put conditional
/// on the previous window having ended (so nobody can make the clinic flood a client's inbox).
const LINK_THROTTLE_SECONDS: i64 = 60;

async fn throttle_allows(app: &App, tenant: &TenantId, client: &ClientId) -> AppResult<bool> {
    let now = app.store.clock.now().timestamp();
    let until = now + LINK_THROTTLE_SECONDS;
    let item = to_item(
        &keys::portal_link_throttle(tenant, client),
        "portal_throttle",
        &serde_json::json!({ "until": until, "ttl": until + 86_400 }),
    )?;
    let write = Write::put_if(item, Condition::AbsentOrExpired { attr: "until".into(), before: now });
    match app.store.table.transact(vec![write]).await {
        Ok(()) => Ok(true),
        Err(mas_ports::TableError::ConditionFailed { .. }) => Ok(false),
        Err(other) => Err(other.into()),
    }
}

/// Stores a new sign-in token for the client (its hash only) and returns the token itself, which
/// exists nowhere else, and when it expires.
pub async fn issue_link(app: &App, tenant: &TenantId, client_id: &ClientId) -> AppResult<(String, DateTime<Utc>)> {
    let token = portal::new_link_token();
    let expires_at = app.store.clock.now() + portal::LINK_LIFETIME;
    let record = LinkRecord { client_id: client_id.clone(), expires_at, ttl: expires_at.timestamp() + 86_400 };
    let mut plan = Plan::new();
    let key = keys::portal_token(tenant, &portal::token_hash(&token));
    plan.push(
        Write::put_new(to_item(&key, "portal_link", &record)?),
        AppError::Internal("a portal token collided".into()),
    );
    plan.commit(&app.store, &client_audit(tenant, client_id), "portal.link_issued", client_id.as_str()).await?;
    Ok((token, expires_at))
}

/// Where the portal page is: under the local host's `/sites/{slug}/`, or on the clinic's site.
fn portal_url(app: &App, slug: &Slug) -> String {
    mas_context::app::portal_url(app.public_url.as_deref(), &app.config.site_domain, slug)
}

/// The link goes by email through the notifications engine (the outbox locally, SES on AWS). It
/// is never logged: it is a credential.
async fn send_portal_link(
    app: &App,
    tenant: &TenantId,
    client: &ClientId,
    url: &str,
    expires_at: DateTime<Utc>,
) -> AppResult<()> {
    let notice = Notice::PortalLink { url: url.to_owned(), expires_at };
    // A failure is logged, not answered: the answer must stay the one a stranger gets (the
    // client may ask again after the throttle's minute).
    if let Err(err) = mas_messaging::notifications::send_notice(
        &mas_messaging::notifications::Notifier::of(app),
        tenant,
        client,
        notice,
    )
    .await
    {
        tracing::error!(tenant_id = %tenant, %err, "the portal link could not be sent");
    }
    Ok(())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionIssued {
    /// The bearer for `/v1/portal/…`.
    pub session: String,
    pub expires_at: DateTime<Utc>,
}

/// The portal's refusals, typed; the store's and the other use cases' failures are kept whole.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PortalError {
    /// 401: the sign-in link is unknown, used or expired.
    #[error("this sign-in link is not valid any more; ask for a new one")]
    LinkNotValid,
    /// 401: no session, or one that expired or whose client was erased.
    #[error("sign in to the portal again")]
    SignedOut,
    /// 422 `not_a_client_action` (field `action`): what a client may do is `expected`.
    #[error("must be {expected}")]
    NotAClientAction { expected: &'static str },
    /// 409 `already_started`.
    #[error("this appointment has started; please call the clinic")]
    AlreadyStarted,
    /// 409 with the policy's own refusal code (`inside_reschedule_window`, …) and its window.
    #[error("the clinic's policy does not allow this online; please call the clinic")]
    PolicyRefuses { code: &'static str, window_hours: Option<u32> },
    /// The change itself refused (`stale_version`, `illegal_transition`, …).
    #[error(transparent)]
    Change(#[from] mas_booking::appointments::AppointmentError),
    #[error(transparent)]
    Store(#[from] AppError),
}

impl From<PortalError> for AppError {
    fn from(err: PortalError) -> Self {
        let message = err.to_string();
        match err {
            PortalError::LinkNotValid | PortalError::SignedOut => AppError::Unauthenticated(message),
            PortalError::NotAClientAction { .. } => AppError::invalid("not_a_client_action", "action", message),
            PortalError::AlreadyStarted => AppError::conflict("already_started", message),
            PortalError::PolicyRefuses { code, window_hours } => AppError::Rejected {
                kind: mas_domain::error::Rejection::Conflict,
                code,
                message,
                details: json!({ "window_hours": window_hours }),
            },
            PortalError::Change(err) => err.into(),
            PortalError::Store(err) => err,
        }
    }
}

/// Exchanges a sign-in link's token for a portal session. A token works once: consuming it is a
/// delete conditional on it still being there, so of two simultaneous uses exactly one wins.
pub async fn open_session(app: &App, slug: &Slug, token: &str) -> Result<SessionIssued, PortalError> {
    let refused = || PortalError::LinkNotValid;
    let tenant_id = tenants::tenant_by_slug(&app.store, slug).await?;
    if !portal::plausible_token(token) {
        return Err(refused());
    }
    let key = keys::portal_token(&tenant_id, &portal::token_hash(token));
    let Some(record) = app.store.get::<LinkRecord>(&key).await? else { return Err(refused()) };
    let now = app.store.clock.now();
    if record.expires_at <= now {
        return Err(refused());
    }
    let mut plan = Plan::new();
    plan.push(Write::delete_if(key, Condition::Exists), refused());
    // A link sent before the client was erased (or while it is) signs nobody in.
    plan.push(clients::live_check(&tenant_id, &record.client_id), refused());
    plan.commit(
        &app.store,
        &client_audit(&tenant_id, &record.client_id),
        "portal.signed_in",
        record.client_id.as_str(),
    )
    .await?;
    let session = PortalSession::new(tenant_id, record.client_id, now);
    Ok(SessionIssued { session: session.encode(&app.links), expires_at: session.expires_at })
}

/// The session a bearer carries, or 401: also once its client is erased (or being erased), so a
/// session opened before the erasure stops at once rather than at its two hours' end (one read
/// of the client per portal request).
pub async fn session(app: &App, bearer: Option<&str>) -> Result<PortalSession, PortalError> {
    let unauthenticated = || PortalError::SignedOut;
    let bearer = bearer.ok_or_else(unauthenticated)?;
    let session = PortalSession::decode(&app.links, bearer, app.store.clock.now()).ok_or_else(unauthenticated)?;
    if !clients::is_live(&app.store, &session.tenant_id, &session.client_id).await? {
        return Err(unauthenticated());
    }
    Ok(session)
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PortalAppointment {
    pub id: AppointmentId,
    pub confirmation_number: String,
    pub status: AppointmentStatus,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The clinic's zone for this appointment (IANA).
    pub timezone: String,
    pub service_id: ServiceId,
    pub service_name: String,
    pub location_id: LocationId,
    pub location_name: String,
    pub practitioner_name: String,
    /// Whether the client may still reschedule or cancel it (policy permitting).
    pub can_change: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PortalAppointments {
    pub first_name: String,
    /// Soonest first.
    pub upcoming: Vec<PortalAppointment>,
    /// Most recent first.
    pub past: Vec<PortalAppointment>,
}

/// The client's appointments, found through their timeline (every booking and change writes an
/// entry there naming the appointment).
pub async fn appointments(app: &App, session: &PortalSession) -> AppResult<PortalAppointments> {
    let (t, c) = (&session.tenant_id, &session.client_id);
    let client = clients::get(&app.store, t, c).await?;
    let query = Query::partition(keys::client_pk(t, c)).sk(SortKey::BeginsWith(keys::TIMELINE_PREFIX.into()));
    let entries: Vec<mas_store::TimelineEntry> =
        app.store.table.query_all(&query).await?.into_iter().map(from_item).collect::<AppResult<_>>()?;
    let ids: BTreeSet<String> =
        entries.into_iter().filter(|e| e.kind.starts_with("appointment.")).filter_map(|e| e.ref_id).collect();
    let catalog = Catalog::load(&app.store, t).await?;
    let now = app.store.clock.now();
    let (mut upcoming, mut past) = (Vec::new(), Vec::new());
    for id in ids {
        let Ok(id) = AppointmentId::parse(&id) else { continue };
        let appointment = match appointments::get(&app.store, t, &id).await {
            Ok(a) => a,
            Err(AppError::NotFound { .. }) => continue,
            Err(err) => return Err(err),
        };
        if &appointment.client_id != c {
            continue;
        }
        let name_of = |found: Option<String>| found.unwrap_or_default();
        let view = PortalAppointment {
            can_change: appointment.start > now
                && matches!(appointment.status, AppointmentStatus::Scheduled | AppointmentStatus::PendingDeposit),
            id: appointment.id.clone(),
            confirmation_number: appointment.confirmation_number.clone(),
            status: appointment.status,
            start: appointment.start,
            end: appointment.end,
            timezone: appointment.timezone.tz().name().to_owned(),
            service_name: name_of(
                catalog
                    .services
                    .iter()
                    .find(|s| s.id == appointment.service_id)
                    .map(|s| s.data.name.as_str().to_owned()),
            ),
            location_name: name_of(
                catalog
                    .locations
                    .iter()
                    .find(|l| l.id == appointment.location_id)
                    .map(|l| l.data.name.as_str().to_owned()),
            ),
            practitioner_name: name_of(
                catalog
                    .practitioners
                    .iter()
                    .find(|p| p.id == appointment.practitioner_id)
                    .map(|p| p.data.display_name.as_str().to_owned()),
            ),
            service_id: appointment.service_id,
            location_id: appointment.location_id,
        };
        let active = !matches!(
            view.status,
            AppointmentStatus::Cancelled | AppointmentStatus::NoShow | AppointmentStatus::Completed
        );
        if view.start > now && active { upcoming.push(view) } else { past.push(view) }
    }
    upcoming.sort_by_key(|a| a.start);
    past.sort_by_key(|a| std::cmp::Reverse(a.start));
    Ok(PortalAppointments { first_name: client.data.first_name.as_str().to_owned(), upcoming, past })
}

/// One of the client's own appointments; anyone else's is not found.
async fn own_appointment(
    app: &App,
    session: &PortalSession,
    id: &AppointmentId,
) -> AppResult<mas_domain::appointment::Appointment> {
    let appointment = appointments::get(&app.store, &session.tenant_id, id).await?;
    if appointment.client_id != session.client_id {
        return Err(AppError::NotFound { what: "appointment" });
    }
    Ok(appointment)
}

/// What cancelling or moving the appointment now would cost, by the policy it was booked under.
pub async fn fee_preview(
    app: &App,
    session: &PortalSession,
    id: &AppointmentId,
    action: FeeAction,
) -> Result<FeePreview, PortalError> {
    if action == FeeAction::NoShow {
        return Err(PortalError::NotAClientAction { expected: "cancel or reschedule" });
    }
    own_appointment(app, session, id).await?;
    Ok(appointments::fee_preview(&app.store, &session.tenant_id, &Reach::whole_clinic(), id, action).await?)
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PortalChange {
    /// `reschedule` or `cancel`.
    pub action: String,
    /// For `reschedule`: the new start (one of the public availability's `start`s).
    #[serde(default)]
    pub start: Option<DateTime<Utc>>,
}

/// Reschedules or cancels the client's own appointment, only where the policy lets a client do
/// it (staff may still act outside it); the same operation staff use does the work, so fees,
/// refunds and the calendar move exactly as they would for staff.
pub async fn change(
    app: &App,
    session: &PortalSession,
    id: &AppointmentId,
    request: PortalChange,
) -> Result<PortalAppointment, PortalError> {
    let (action, fee_action) = match request.action.as_str() {
        "reschedule" => (AppointmentAction::Reschedule, FeeAction::Reschedule),
        "cancel" => (AppointmentAction::Cancel, FeeAction::Cancel),
        _ => return Err(PortalError::NotAClientAction { expected: "reschedule or cancel" }),
    };
    let current = own_appointment(app, session, id).await?;
    if current.start <= app.store.clock.now() {
        return Err(PortalError::AlreadyStarted);
    }
    let preview =
        appointments::fee_preview(&app.store, &session.tenant_id, &Reach::whole_clinic(), id, fee_action).await?;
    if let Some(refusal) = preview.refusal {
        return Err(PortalError::PolicyRefuses { code: refusal, window_hours: preview.window_hours });
    }
    let tenant = tenants::tenant(&app.store, &session.tenant_id).await?;
    let audit = client_audit(&session.tenant_id, &session.client_id);
    let change = Change {
        action,
        start: request.start,
        practitioner_id: None,
        reason: Some("changed by the client in the portal".into()),
        expected_version: Some(current.version),
    };
    appointments::change(mas_booking::payments::Ports::of(app), &audit, &tenant, id, &Scope::any(), change).await?;
    let listed = appointments(app, session).await?;
    listed
        .upcoming
        .into_iter()
        .chain(listed.past)
        .find(|a| &a.id == id)
        .ok_or(AppError::NotFound { what: "appointment" }.into())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PortalDocument {
    pub id: mas_domain::ids::DocumentId,
    pub title: String,
    pub status: String,
    pub created_at: DateTime<Utc>,
    /// A short-lived link to the PDF (the signed one when signed), once rendered.
    pub download_url: Option<String>,
    /// The signing page, while an e-sign session for it is open.
    pub sign_url: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PortalDocuments {
    pub documents: Vec<PortalDocument>,
}

/// The client's documents, newest first, with download links, and signing links where staff
/// opened an e-sign session that is still open (`base`: where `/v1/esign/{token}` is served).
pub async fn documents(app: &App, session: &PortalSession, base: &str) -> AppResult<PortalDocuments> {
    let (t, c) = (&session.tenant_id, &session.client_id);
    let query = Query::partition(keys::client_pk(t, c)).sk(SortKey::BeginsWith("DOC#".into()));
    let mut documents = Vec::new();
    for item in app.store.table.query_all(&query).await? {
        // Renditions share the prefix (`DOC#{id}#PDF#…`); only the documents themselves.
        if item.get("entity_type").and_then(|v| v.as_str()) != Some("document") {
            continue;
        }
        let document: Document = from_item(item)?;
        if &document.client_id != c {
            continue;
        }
        let link = mas_documents::documents::pdf_link(&app.store, app.blobs.as_ref(), t, &document.id, None).await.ok();
        let sign_url = signing_link(app, t, &document).await?.map(|token| format!("{base}/v1/esign/{token}"));
        documents.push(PortalDocument {
            sign_url,
            title: format!("{} — {}", title_case(document.kind.as_str()), document.topic.as_str().replace('-', " ")),
            status: serde_json::to_value(document.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            created_at: document.created_at,
            download_url: link.map(|l| l.url),
            id: document.id,
        });
    }
    documents.sort_by_key(|d| std::cmp::Reverse(d.created_at));
    Ok(PortalDocuments { documents })
}

/// The client's receipts and credit notes, newest first, with download links.
pub async fn receipts(app: &App, session: &PortalSession) -> AppResult<Vec<mas_documents::receipts::ReceiptLink>> {
    let issued = mas_documents::receipts::of_client(&app.store, &session.tenant_id, &session.client_id).await?;
    mas_documents::receipts::links(&app.store, app.blobs.as_ref(), issued, mas_documents::documents::PDF_LINK_LIFETIME)
        .await
}

/// The signing token of the document's latest session, if that session is still open.
async fn signing_link(app: &App, tenant: &TenantId, document: &Document) -> AppResult<Option<String>> {
    #[derive(Deserialize)]
    struct Pointer {
        session_id: mas_domain::ids::SigningSessionId,
    }
    if document.status != mas_domain::documents::DocumentStatus::Generated {
        return Ok(None);
    }
    let Some(pointer) =
        app.store.get::<Pointer>(&keys::document_signing(tenant, &document.client_id, &document.id)).await?
    else {
        return Ok(None);
    };
    let Some(signing) =
        app.store.get::<mas_domain::esign::SigningSession>(&keys::signing_session(tenant, &pointer.session_id)).await?
    else {
        return Ok(None);
    };
    let open = signing.client_id == document.client_id && signing.current_status(app.store.clock.now()).is_open();
    Ok(open.then(|| mas_documents::esign::token(&app.links, &signing)))
}

fn title_case(raw: &str) -> String {
    let mut chars = raw.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// The client's consent per channel (booking messages, marketing): the same record staff read
/// and change at `/v1/clients/{id}/preferences`.
pub async fn preferences(app: &App, session: &PortalSession) -> AppResult<Preferences> {
    mas_messaging::notifications::preferences(&app.store, &session.tenant_id, &session.client_id).await
}

/// Saves the client's own choices, on their timeline as changed by the client.
pub async fn set_preferences(app: &App, session: &PortalSession, wanted: Preferences) -> AppResult<Preferences> {
    let audit = client_audit(&session.tenant_id, &session.client_id);
    mas_messaging::notifications::set_preferences(
        &app.store,
        &audit,
        &session.client_id,
        wanted,
        "changed by the client in the portal",
    )
    .await
}
