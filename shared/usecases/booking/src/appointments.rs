//! Booking, moving and changing appointments. The server never trusts a requested start: it asks
//! the availability engine again, then claims the practitioner's and resources' cells in the same
//! transaction that stores the appointment (see `domain::appointment` for the cells). A race is
//! lost at a cell's condition, never by luck; under DynamoDB transaction contention the booking
//! is re-decided from a fresh read.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use serde_json::{Value, json};

use crate::fees;
use crate::payments::{self, Ports};
use mas_catalog::availability::{self, BusyRecord, Calendar};
use mas_catalog::catalog::{add_reference_checks, reference};
use mas_catalog::policies;
use mas_clients::care_team;
use mas_clients::clients;
use mas_domain::appointment::{
    self, Appointment, AppointmentAction, AppointmentStatus, BookingSource, ScreeningSummary, StatusChange,
};
use mas_domain::availability::{BusyKind, Explanation, ReasonCode};
use mas_domain::error::{AppError, AppResult, Rejection};
use mas_domain::ids::{AppointmentId, ClientId, LocationId, PractitionerId, ServiceId, TenantId};
use mas_domain::medical::MedicalAnswers;
use mas_domain::payment::Payment;
use mas_domain::policy::{BookingTerms, FeeAction, FeePreview, Policy};
use mas_domain::reach::Reach;
use mas_domain::screening;
use mas_domain::team::{Member, Permission};
use mas_domain::tenant::Tenant;
use mas_domain::values::{MinorUnits, Money, Text};
use mas_ports::table::{GSI1PK, GSI1SK, TTL};
use mas_ports::{Condition, DomainEvent, Item, Key, Query, SortKey, Write};
use mas_store::keys::{self, CalendarOwner, CatalogKind};
use mas_store::{AuditContext, Plan, Store, TimelineEntry, from_item, retry, to_item};

/// Cells and busy items are kept this long after the time they cover, then expire.
const CALENDAR_RETENTION: Duration = Duration::days(30);
/// How often a booking is re-decided when DynamoDB reports transaction contention.
const CONTENTION_RETRIES: usize = 4;
/// How many candidate practitioners a booking "with anyone" tries before giving up.
const CANDIDATE_TRIES: usize = 3;
/// The longest window `list` reads.
pub const MAX_LIST_DAYS: i64 = 93;

/// What a booking asks for, once its caller is known and its client resolved.
#[derive(Debug, Clone)]
pub struct BookingRequest {
    pub location_id: LocationId,
    pub service_id: ServiceId,
    pub start: DateTime<Utc>,
    /// `None`: anyone who can take it.
    pub practitioner_id: Option<PractitionerId>,
    pub client_id: ClientId,
    pub source: BookingSource,
    pub screening: Option<ScreeningSummary>,
    pub notes: Option<Text>,
    /// Writes the booking carries in its own transaction (a public booking's new client and
    /// screening submission), so that a refused booking leaves none of them behind.
    pub prepared: Option<Plan>,
    /// The client agrees that the card they pay with may be kept and charged for the part of a
    /// fee the deposit does not cover (the policy's `card_on_file_terms`, stored with the booking).
    pub card_on_file_consent: bool,
    /// A waitlist offer (`crate::waitlist`): the booking is made with this id and held until
    /// then (pending, whatever its deposit) for the client to accept.
    pub offer: Option<OfferHold>,
}

/// The id and hold of a booking made as a waitlist offer.
#[derive(Debug, Clone)]
pub struct OfferHold {
    pub appointment_id: AppointmentId,
    pub until: DateTime<Utc>,
}

pub use mas_store::idempotency::{Idempotency, StoredResponse};

pub async fn stored_response(store: &Store, tenant: &TenantId, key: &str) -> AppResult<Option<StoredResponse>> {
    mas_store::idempotency::stored(store, tenant, key).await
}

/// Books, or explains why not: 422 `not_bookable` (closed, too soon, not offered…) or 409
/// `slot_taken` (someone else has the time), each with the engine's reasons as details.
pub async fn book(
    store: &Store,
    audit: &AuditContext,
    tenant: &Tenant,
    request: BookingRequest,
    idempotency: Option<&Idempotency>,
) -> Result<Appointment, ClaimError> {
    retry::on_contention(CONTENTION_RETRIES, || try_book(store, audit, tenant, &request, idempotency)).await
}

/// Why a booking's claim on the calendar failed, where the caller decides what to try next by
/// which rule failed: another practitioner may be free (`SlotTaken`, `ResourceTaken`), a fresh
/// confirmation number will do (`NumberTaken`). Answered as 409 with the same codes.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClaimError {
    /// Someone else holds one of the practitioner's cells at that time.
    #[error("that time has just been taken; choose another")]
    SlotTaken,
    /// Someone else holds a cell of a room or device the booking needs.
    #[error("{0}")]
    ResourceTaken(String),
    /// Another booking drew the same confirmation number.
    #[error("confirmation number clash")]
    NumberTaken,
    /// A request with the same `Idempotency-Key` stored its answer first: answer that one.
    #[error("this request is already being handled")]
    Replayed,
    #[error(transparent)]
    Other(#[from] AppError),
}

impl retry::Contended for ClaimError {
    fn is_contention(&self) -> bool {
        matches!(self, ClaimError::Other(err) if err.is_contention())
    }
}

/// The refusals of listing and changing appointments, typed; the store's failures are kept
/// whole as the source.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AppointmentError {
    /// 422 `empty_window` (field `to`).
    #[error("must be after `from`")]
    EmptyWindow,
    /// 422 `window_too_large` (field `to`).
    #[error("at most {MAX_LIST_DAYS} days at a time")]
    WindowTooLarge,
    /// 403: a practitioner acts only on their own appointments.
    #[error("practitioners may act only on their own appointments")]
    NotTheirs,
    /// 409 `stale_version`: the appointment changed since the caller read it.
    #[error("the appointment changed since you read it; reload it")]
    StaleVersion,
    /// 409 `illegal_transition`: `action` does not apply to an appointment in `status`.
    #[error("cannot {} an appointment that is {}", action.as_str(), status.as_str())]
    IllegalTransition { action: AppointmentAction, status: AppointmentStatus },
    /// 422 `required` (field `start`): a reschedule names the new start.
    #[error("a new start is required")]
    StartRequired,
    /// 409 `too_early`: a no-show before the start time.
    #[error("a no-show can be recorded only after the start time")]
    TooEarly,
    /// 409 `not_pending_deposit`: the booking no longer waits for its deposit.
    #[error("the booking is no longer waiting for its deposit")]
    NotPendingDeposit,
    #[error(transparent)]
    Store(#[from] AppError),
}

impl retry::Contended for AppointmentError {
    fn is_contention(&self) -> bool {
        matches!(self, AppointmentError::Store(err) if err.is_contention())
    }
}

impl From<AppointmentError> for AppError {
    fn from(err: AppointmentError) -> Self {
        use AppointmentError as E;
        let message = err.to_string();
        match err {
            E::EmptyWindow => AppError::invalid("empty_window", "to", message),
            E::WindowTooLarge => AppError::invalid("window_too_large", "to", message),
            E::NotTheirs => AppError::Forbidden(message),
            E::StaleVersion => AppError::conflict("stale_version", message),
            E::IllegalTransition { .. } => AppError::conflict("illegal_transition", message),
            E::StartRequired => AppError::invalid("required", "start", message),
            E::TooEarly => AppError::conflict("too_early", message),
            E::NotPendingDeposit => AppError::conflict("not_pending_deposit", message),
            E::Store(err) => err,
        }
    }
}

impl From<mas_ports::TableError> for AppointmentError {
    fn from(err: mas_ports::TableError) -> Self {
        AppointmentError::Store(err.into())
    }
}

impl From<ClaimError> for AppointmentError {
    fn from(err: ClaimError) -> Self {
        AppointmentError::Store(err.into())
    }
}

impl From<ClaimError> for AppError {
    fn from(err: ClaimError) -> Self {
        match err {
            ClaimError::SlotTaken => AppError::conflict("slot_taken", ClaimError::SlotTaken.to_string()),
            ClaimError::ResourceTaken(message) => AppError::conflict("resource_taken", message),
            ClaimError::NumberTaken => AppError::conflict("confirmation_taken", ClaimError::NumberTaken.to_string()),
            ClaimError::Replayed => AppError::conflict("idempotency_replay", ClaimError::Replayed.to_string()),
            ClaimError::Other(err) => err,
        }
    }
}

fn resource_taken(resource: impl std::fmt::Display) -> ClaimError {
    ClaimError::ResourceTaken(format!("resource {resource} has no free unit at that time"))
}

async fn try_book(
    store: &Store,
    audit: &AuditContext,
    tenant: &Tenant,
    request: &BookingRequest,
    idempotency: Option<&Idempotency>,
) -> Result<Appointment, ClaimError> {
    let calendar = Calendar::load(store, tenant, window_around(request, request.start)).await?;
    let explanation = calendar.explain(request.start);
    if !explanation.bookable {
        return Err(refusal(&explanation).into());
    }
    let deposit =
        calendar.policy.deposit_for(calendar.service.data.price.clone(), calendar.service.data.deposit.clone());
    let mut last = ClaimError::SlotTaken;
    for practitioner_id in explanation.practitioner_ids.iter().take(CANDIDATE_TRIES) {
        let mut tries_left = 3;
        loop {
            let appointment = new_appointment(&calendar, request, practitioner_id, deposit.clone(), store.clock.now())?;
            match commit_new(store, audit, &calendar, &appointment, request.prepared.as_ref(), idempotency).await {
                Ok(()) => return Ok(appointment),
                Err(ClaimError::NumberTaken) if tries_left > 0 => tries_left -= 1,
                // Taken since the calendar was read: the next practitioner may be free.
                Err(taken @ (ClaimError::SlotTaken | ClaimError::ResourceTaken(_))) => {
                    last = taken;
                    break;
                }
                Err(other) => return Err(other),
            }
        }
    }
    Err(last)
}

/// The window to load for a booking at `start`: bookings that start up to a day later may
/// overlap its span.
fn window_around(request: &BookingRequest, start: DateTime<Utc>) -> availability::Request {
    availability::Request {
        location_id: request.location_id.clone(),
        service_id: request.service_id.clone(),
        practitioner_id: request.practitioner_id.clone(),
        from: start,
        to: start + Duration::days(1),
    }
}

/// Why a start cannot be booked, as the caller should hear it: 409 `slot_taken` when it is free
/// by the clinic's rules but someone else has the time (a practitioner who would otherwise take
/// it is busy or held, or a room is taken), else 422 `not_bookable`.
fn refusal(explanation: &Explanation) -> AppError {
    let taken = |code: &ReasonCode| {
        matches!(code, ReasonCode::Busy | ReasonCode::Buffer | ReasonCode::Hold | ReasonCode::ResourceTaken)
    };
    let shared: Vec<&ReasonCode> =
        explanation.reasons.iter().filter(|r| r.practitioner_id.is_none()).map(|r| &r.code).collect();
    let someone_only_taken = || {
        let mut by_practitioner: std::collections::BTreeMap<&PractitionerId, bool> = Default::default();
        for reason in &explanation.reasons {
            if let Some(p) = &reason.practitioner_id {
                *by_practitioner.entry(p).or_insert(true) &= taken(&reason.code);
            }
        }
        by_practitioner.values().any(|only_taken| *only_taken)
    };
    let is_taken = if shared.is_empty() { someone_only_taken() } else { shared.iter().all(|code| taken(code)) };
    let details = json!({ "reasons": explanation.reasons });
    if is_taken {
        AppError::Rejected {
            kind: Rejection::Conflict,
            code: "slot_taken",
            message: "that time has just been taken; choose another".into(),
            details,
        }
    } else {
        AppError::Rejected {
            kind: Rejection::Invalid,
            code: "not_bookable",
            message: "that time cannot be booked".into(),
            details,
        }
    }
}

fn new_appointment(
    calendar: &Calendar,
    request: &BookingRequest,
    practitioner_id: &PractitionerId,
    deposit: Money,
    now: DateTime<Utc>,
) -> AppResult<Appointment> {
    let service = &calendar.service.data;
    let end = request.start + service.duration_minutes.duration();
    let (before, after) = (service.buffer_before_minutes.get(), service.buffer_after_minutes.get());
    let (occupied_from, occupied_until) = appointment::occupied_span(request.start, end, before, after);
    let (claim_from, claim_until) = appointment::claimed_span(occupied_from, occupied_until);
    let resources = calendar.free_units(claim_from, claim_until).map_err(resource_taken)?;
    let needs_deposit = deposit.amount_minor.get() > 0;
    let offer_until = request.offer.as_ref().map(|o| o.until);
    let held = needs_deposit || offer_until.is_some();
    let status = if held { AppointmentStatus::PendingDeposit } else { AppointmentStatus::Scheduled };
    let zone = calendar.location.data.timezone;
    Ok(Appointment {
        id: request.offer.as_ref().map_or_else(AppointmentId::new, |o| o.appointment_id.clone()),
        confirmation_number: appointment::confirmation_number(rand::rng().random()),
        status,
        client_id: request.client_id.clone(),
        location_id: request.location_id.clone(),
        service_id: request.service_id.clone(),
        practitioner_id: practitioner_id.clone(),
        resources,
        start: request.start,
        end,
        local_start: request.start.with_timezone(&zone.tz()).fixed_offset(),
        timezone: zone,
        buffer_before_minutes: before,
        buffer_after_minutes: after,
        hold_expires_at: offer_until.or_else(|| needs_deposit.then(|| now + hold_length(&calendar.policy))),
        price: service.price.clone(),
        deposit,
        deposit_paid: Money {
            amount_minor: MinorUnits::new(0).expect("zero"),
            currency: service.price.currency.clone(),
        },
        policy_version: calendar.policy.version,
        source: request.source,
        screening: request.screening.clone(),
        notes: request.notes.clone(),
        attendance_confirmed_at: None,
        card_on_file_consent: request.card_on_file_consent.then(|| appointment::CardOnFileConsent {
            agreed_at: now,
            policy_version: calendar.policy.version,
            terms: calendar.policy.card_on_file_terms(),
        }),
        history: vec![StatusChange {
            at: now,
            action: "book".into(),
            from: None,
            to: status,
            by: actor_name(request.source),
            note: None,
        }],
        version: 1,
        created_at: now,
        updated_at: now,
    })
}

fn hold_length(policy: &Policy) -> Duration {
    Duration::minutes(i64::from(policy.input.hold_minutes))
}

fn actor_name(source: BookingSource) -> String {
    match source {
        BookingSource::Online => "client".into(),
        BookingSource::Staff => "staff".into(),
    }
}

async fn commit_new(
    store: &Store,
    audit: &AuditContext,
    calendar: &Calendar,
    appointment: &Appointment,
    prepared: Option<&Plan>,
    idempotency: Option<&Idempotency>,
) -> Result<(), ClaimError> {
    let t = &audit.tenant_id;
    let now = store.clock.now();
    let mut plan = Plan::<ClaimError>::typed();
    if let Some(prepared) = prepared {
        plan.append(prepared.clone());
    }
    plan.push(
        Write::put_new(appointment_item(t, appointment)?),
        AppError::conflict("id_taken", "an id clash; try again"),
    );
    let number = to_item(
        &keys::confirmation_number(t, &appointment.confirmation_number),
        "claim",
        &json!({ "appointment_id": appointment.id }),
    )?;
    plan.push(Write::put_new(number), ClaimError::NumberTaken);
    claim_calendar(&mut plan, t, appointment, &HashSet::new(), now)?;
    let mut references = vec![
        reference("location_id", CatalogKind::Location, &appointment.location_id),
        reference("service_id", CatalogKind::Service, &appointment.service_id),
        reference("practitioner_id", CatalogKind::Practitioner, &appointment.practitioner_id),
    ];
    references
        .extend(appointment.resources.iter().map(|u| reference("resources", CatalogKind::Resource, &u.resource_id)));
    add_reference_checks(&mut plan, t, references);
    // A client created in this same transaction needs no check (an item is touched once).
    if !plan.writes_key(&client_key(t, &appointment.client_id)) {
        // Not only present: not being erased either (`clients::live_check`).
        plan.push(clients::live_check(t, &appointment.client_id), AppError::NotFound { what: "client" });
    }
    // The practitioner now looks after this client (their care team), from this very commit.
    care_team::link_booking(&mut plan, t, &appointment.client_id, &appointment.practitioner_id, now, &audit.actor)?;
    let summary =
        format!("Booked {} for {}", calendar.service.data.name, appointment.local_start.format("%a %-d %b %Y %H:%M"));
    let entry = TimelineEntry::new(
        &appointment.client_id,
        now,
        "appointment.booked",
        summary,
        Some(appointment.id.to_string()),
        &audit.actor,
    );
    plan.push(entry.write(t)?, AppError::conflict("id_taken", "an id clash; try again"));
    if let Some(idem) = idempotency {
        idem.record(&mut plan, (t, Some(&appointment.client_id)), (201, appointment), now, ClaimError::Replayed)?;
    }
    check_size(&plan)?;
    plan.announce(booking_event(t, "booking.created", appointment, now))?;
    if appointment.status == AppointmentStatus::Scheduled {
        // No deposit to wait for: it is confirmed as it is made (a deposit confirms it later,
        // with the payment).
        plan.announce(DomainEvent::new(
            t,
            "booking.confirmed",
            appointment.id.as_str(),
            now,
            booking_event(t, "", appointment, now).payload,
        ))?;
    }
    plan.commit_as(store, audit, "appointment.booked", appointment.id.as_str()).await
}

/// DynamoDB takes at most 100 writes in one transaction (one is the audit record).
fn check_size<F: From<AppError>>(plan: &Plan<F>) -> AppResult<()> {
    if plan.len() >= mas_ports::table::MAX_TRANSACTION_WRITES {
        return Err(AppError::invalid(
            "too_long_to_book",
            "service_id",
            "this appointment spans more time than one booking can claim; shorten the service or its buffers",
        ));
    }
    Ok(())
}

/// The client item's key (the clients module owns the item; a booking only checks it exists).
fn client_key(tenant: &TenantId, client: &ClientId) -> Key {
    Key::new(keys::client_pk(tenant, client), "CLIENT")
}

pub fn appointment_item(tenant: &TenantId, appointment: &Appointment) -> AppResult<Item> {
    let mut item = to_item(&keys::appointment(tenant, &appointment.id), "appointment", appointment)?;
    let (pk, sk) = keys::appointments_by_start_gsi(tenant, appointment.start, &appointment.id);
    item.insert(GSI1PK.into(), pk.into());
    item.insert(GSI1SK.into(), sk.into());
    Ok(item)
}

/// Every calendar an appointment occupies: its practitioner's, and one unit of each resource.
fn owners(appointment: &Appointment) -> Vec<(CalendarOwner<'_>, u32)> {
    std::iter::once((CalendarOwner::Practitioner(&appointment.practitioner_id), 0))
        .chain(appointment.resources.iter().map(|u| (CalendarOwner::Resource(&u.resource_id), u.unit)))
        .collect()
}

/// The claim cells an appointment needs, per calendar.
fn cell_keys(tenant: &TenantId, appointment: &Appointment) -> Vec<Key> {
    let (from, until) = appointment.occupied();
    let cells = appointment::cells(from, until);
    owners(appointment)
        .into_iter()
        .flat_map(|(owner, unit)| cells.iter().map(move |cell| keys::claim_cell(tenant, owner, *cell, unit)))
        .collect()
}

fn busy_record(appointment: &Appointment) -> BusyRecord {
    let (from, until) = appointment.occupied();
    let (start, end) = appointment::claimed_span(from, until);
    let hold = appointment.status == AppointmentStatus::PendingDeposit;
    BusyRecord {
        appointment_id: appointment.id.clone(),
        practitioner_id: appointment.practitioner_id.clone(),
        resources: appointment.resources.clone(),
        start,
        end,
        kind: if hold { BusyKind::Hold } else { BusyKind::Booked },
        hold_until: appointment.hold_expires_at.filter(|_| hold).map(|at| at.timestamp()),
    }
}

/// Puts the appointment's busy items and claims its cells. A cell in `already_mine` is
/// re-written on condition that it is still this appointment's; any other must be free or an
/// expired hold.
fn claim_calendar<F: From<AppError> + From<ClaimError>>(
    plan: &mut Plan<F>,
    tenant: &TenantId,
    appointment: &Appointment,
    already_mine: &HashSet<Key>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let record = busy_record(appointment);
    let expires = (record.end + CALENDAR_RETENTION).timestamp();
    for (owner, _) in owners(appointment) {
        let mut item = to_item(&keys::busy(tenant, owner, record.start, &appointment.id), "busy", &record)?;
        item.insert(TTL.into(), expires.into());
        plan.push(Write::put(item), AppError::Internal("a busy item put has no condition".into()));
    }
    let cell = json!({ "appointment_id": appointment.id, "hold_until": record.hold_until, "ttl": expires });
    for key in cell_keys(tenant, appointment) {
        let item = to_item(&key, "claim_cell", &cell)?;
        let taken = if key.pk.contains("#RES#") {
            ClaimError::ResourceTaken("a room or device has just been taken at that time; choose another".into())
        } else {
            ClaimError::SlotTaken
        };
        let condition = if already_mine.contains(&key) {
            Condition::equals("appointment_id", appointment.id.as_str())
        } else {
            Condition::AbsentOrExpired { attr: "hold_until".into(), before: now.timestamp() + 1 }
        };
        plan.push(Write::put_if(item, condition), taken);
    }
    Ok(())
}

/// The cells of `appointment` that still belong to it (an expired hold may have lost some).
async fn cells_still_mine(store: &Store, tenant: &TenantId, appointment: &Appointment) -> AppResult<HashSet<Key>> {
    let keys = cell_keys(tenant, appointment);
    let mut mine = HashSet::new();
    for chunk in keys.chunks(100) {
        for item in store.table.batch_get(chunk).await? {
            let owner = item.get("appointment_id").and_then(Value::as_str);
            if owner == Some(appointment.id.as_str())
                && let Some(key) = Key::of(&item)
            {
                mine.insert(key);
            }
        }
    }
    Ok(mine)
}

/// Releases what an appointment holds: its busy items, and those of its cells it still owns.
fn release_calendar(
    plan: &mut Plan,
    tenant: &TenantId,
    appointment: &Appointment,
    mine: &HashSet<Key>,
    keep: &HashSet<Key>,
) {
    let record = busy_record(appointment);
    for (owner, _) in owners(appointment) {
        plan.push(
            Write::delete(keys::busy(tenant, owner, record.start, &appointment.id)),
            AppError::Internal("a busy delete has no condition".into()),
        );
    }
    for key in cell_keys(tenant, appointment).into_iter().filter(|k| mine.contains(k) && !keep.contains(k)) {
        plan.push(
            Write::delete_if(key, Condition::equals("appointment_id", appointment.id.as_str())),
            AppError::contention("the calendar changed while this was being saved; try again"),
        );
    }
}

pub use crate::records::appointment as get;

/// An appointment `reach` may see; one it may not is not found.
pub async fn get_within(store: &Store, tenant: &TenantId, reach: &Reach, id: &AppointmentId) -> AppResult<Appointment> {
    let appointment = get(store, tenant, id).await?;
    admit(store, tenant, reach, &appointment).await?;
    Ok(appointment)
}

/// Whether `reach` may see `appointment`: at one of the member's locations, and (for a
/// practitioner) their own or one of their care team's. Out of reach is 404, as if it did not exist.
pub async fn admit(store: &Store, tenant: &TenantId, reach: &Reach, appointment: &Appointment) -> AppResult<()> {
    reach.locations.find(&appointment.location_id, "appointment")?;
    if reach.clients.admits_appointment(&appointment.practitioner_id, false) {
        return Ok(());
    }
    let client_admitted = care_team::reaches(store, tenant, &reach.clients, &appointment.client_id).await?;
    if reach.clients.admits_appointment(&appointment.practitioner_id, client_admitted) {
        Ok(())
    } else {
        Err(AppError::NotFound { what: "appointment" })
    }
}

/// A staff booking `reach` may make: at one of the member's locations (403 elsewhere) and for a
/// client they may see (404 otherwise). Checked before anything of the booking is written.
pub async fn check_booking(
    store: &Store,
    tenant: &TenantId,
    reach: &Reach,
    location: &LocationId,
    client: &ClientId,
) -> AppResult<()> {
    reach.locations.require(location)?;
    care_team::admit(store, tenant, &reach.clients, client).await
}

#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub practitioner_id: Option<PractitionerId>,
    pub location_id: Option<LocationId>,
    pub status: Option<AppointmentStatus>,
}

/// Appointments starting in `[from, to)` that `reach` may see, by start time. A filter naming a
/// location outside the member's is refused (403); without one, only theirs are listed.
pub async fn list(
    store: &Store,
    tenant: &TenantId,
    reach: &Reach,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    filter: &ListFilter,
) -> Result<Vec<Appointment>, AppointmentError> {
    if let Some(location) = &filter.location_id {
        reach.locations.require(location)?;
    }
    if to <= from {
        return Err(AppointmentError::EmptyWindow);
    }
    if to - from > Duration::days(MAX_LIST_DAYS) {
        return Err(AppointmentError::WindowTooLarge);
    }
    let range = SortKey::Between(keys::appointments_sk_bound(from), format!("{}~", keys::appointments_sk_bound(to)));
    let mut all = Vec::new();
    let mut month = from;
    loop {
        let query = Query::gsi1(keys::appointments_month_gsi_pk(tenant, month)).sk(range.clone());
        for item in store.table.query_all(&query).await? {
            let appointment: Appointment = from_item(item)?;
            let keep = appointment.start >= from
                && appointment.start < to
                && filter.practitioner_id.as_ref().is_none_or(|p| p == &appointment.practitioner_id)
                && filter.location_id.as_ref().is_none_or(|l| l == &appointment.location_id)
                && filter.status.is_none_or(|s| s == appointment.status);
            if keep {
                all.push(appointment);
            }
        }
        month = mas_store::keys::next_month(month);
        if month >= to {
            break;
        }
    }
    all.retain(|a| reach.locations.admits(&a.location_id));
    // One read of the care team for the whole list, not one per appointment.
    if let Some(team) = care_team::members_clients(store, tenant, &reach.clients).await? {
        all.retain(|a| reach.clients.admits_appointment(&a.practitioner_id, team.contains(&a.client_id)));
    }
    all.sort_by(|a, b| (a.start, &a.id).cmp(&(b.start, &b.id)));
    Ok(all)
}

/// Who is acting on an appointment: what of the clinic they reach, and whose appointments they
/// may change (practitioners only their own).
#[derive(Debug, Clone)]
pub struct Scope {
    pub changes: Changes,
    pub reach: Reach,
}

#[derive(Debug, Clone)]
pub enum Changes {
    Any,
    OnlyPractitioner(Option<PractitionerId>),
}

impl Scope {
    /// The clinic itself, or a client already resolved (the portal): no limit.
    pub fn any() -> Self {
        Scope { changes: Changes::Any, reach: Reach::whole_clinic() }
    }

    pub fn of(member: &Member) -> Self {
        let changes = if member.input.role.allows(Permission::BookingWrite) {
            Changes::Any
        } else {
            Changes::OnlyPractitioner(member.input.practitioner_id.clone())
        };
        Scope { changes, reach: Reach::of(member) }
    }

    fn check(&self, appointment: &Appointment) -> Result<(), AppointmentError> {
        match &self.changes {
            Changes::Any => Ok(()),
            Changes::OnlyPractitioner(Some(me)) if me == &appointment.practitioner_id => Ok(()),
            Changes::OnlyPractitioner(_) => Err(AppointmentError::NotTheirs),
        }
    }
}

/// A change asked of an appointment.
#[derive(Debug, Clone)]
pub struct Change {
    pub action: AppointmentAction,
    /// For `reschedule`.
    pub start: Option<DateTime<Utc>>,
    /// For `reschedule`: move to this practitioner (default: the same one).
    pub practitioner_id: Option<PractitionerId>,
    pub reason: Option<String>,
    /// When given, the change applies only to this version (409 `stale_version` otherwise).
    pub expected_version: Option<u64>,
}

/// Moves an appointment through its lifecycle. Cancelling it or recording a no-show settles its
/// deposit by the policy it was booked under: the fee is kept, the rest of the deposit is
/// reserved for a refund in the same transaction and refunded through the gateway after it.
pub async fn change(
    ports: Ports<'_>,
    audit: &AuditContext,
    tenant: &Tenant,
    id: &AppointmentId,
    scope: &Scope,
    change: Change,
) -> Result<Appointment, AppointmentError> {
    let (appointment, settlement) =
        retry::on_contention(CONTENTION_RETRIES, || try_change(ports.store, audit, tenant, id, scope, &change)).await?;
    if let Some(deposit) = settlement {
        // The cancellation stands whatever the gateway says; a refund it could not make stays
        // reserved on the payment, and the next refund of that payment completes it.
        if let Err(err) = payments::complete_pending(ports, audit, deposit).await {
            tracing::error!(appointment_id = %appointment.id, error = %err, "deposit refund after a cancellation is still pending");
        }
    }
    Ok(appointment)
}

async fn try_change(
    store: &Store,
    audit: &AuditContext,
    tenant: &Tenant,
    id: &AppointmentId,
    scope: &Scope,
    change: &Change,
) -> Result<(Appointment, Option<Payment>), AppointmentError> {
    let t = &tenant.id;
    let current = get_within(store, t, &scope.reach, id).await?;
    scope.check(&current)?;
    if let Some(expected) = change.expected_version
        && expected != current.version
    {
        return Err(AppointmentError::StaleVersion);
    }
    let Some(next_status) = appointment::next_status(current.status, change.action) else {
        return Err(AppointmentError::IllegalTransition { action: change.action, status: current.status });
    };
    let now = store.clock.now();
    let policy = policies::version(store, t, current.policy_version).await?;
    let mut note = change.reason.clone();
    let mut plan = Plan::new();
    let mut settlement: Option<Payment> = None;
    let stale = || AppError::contention("the appointment changed while this was being saved; try again");
    match change.action {
        AppointmentAction::Reschedule => {
            let start = change.start.ok_or(AppointmentError::StartRequired)?;
            let moved =
                reschedule(store, audit, tenant, current, start, change.practitioner_id.clone(), &policy).await?;
            return Ok((moved, None));
        }
        AppointmentAction::Cancel => {
            let preview = policy.fee_preview(FeeAction::Cancel, &terms(&current), now);
            note = Some(fee_note(&preview, note));
            settlement =
                payments::plan_fee_settlement(store, t, &current, "cancel", &preview.kept_from_deposit, &audit.actor)
                    .await?;
            fees::plan_fee(&mut plan, t, &current, &preview, now)?;
            let mine = cells_still_mine(store, t, &current).await?;
            release_calendar(&mut plan, t, &current, &mine, &HashSet::new());
        }
        AppointmentAction::NoShow => {
            let preview = policy.fee_preview(FeeAction::NoShow, &terms(&current), now);
            if preview.refusal == Some("not_started_yet") {
                return Err(AppointmentError::TooEarly);
            }
            note = Some(fee_note(&preview, note));
            settlement =
                payments::plan_fee_settlement(store, t, &current, "no_show", &preview.kept_from_deposit, &audit.actor)
                    .await?;
            fees::plan_fee(&mut plan, t, &current, &preview, now)?;
        }
        AppointmentAction::CheckIn | AppointmentAction::Start | AppointmentAction::Complete => {}
    }
    let mut next = advanced(&current, next_status, change.action.as_str(), &audit.actor, note, now);
    if next_status == AppointmentStatus::Cancelled {
        next.hold_expires_at = None;
    }
    let (write, failure) = versioned_write(t, &next, current.version)?;
    plan.push(write, failure);
    let summary = format!("Appointment {} ({})", next_status.as_str().replace('_', " "), next.confirmation_number);
    let entry = TimelineEntry::new(
        &next.client_id,
        now,
        &format!("appointment.{}", change.action.as_str()),
        summary,
        Some(id.to_string()),
        &audit.actor,
    );
    plan.push(entry.write(t)?, stale());
    if let Some(deposit) = &settlement {
        plan.push(payments::versioned_put(t, deposit)?, stale());
    }
    if let Some(kind) = event_kind(change.action) {
        plan.announce(booking_event(t, kind, &next, now))?;
    }
    plan.commit(store, audit, &format!("appointment.{}", change.action.as_str()), id.as_str()).await?;
    Ok((next, settlement))
}

/// Confirms a booking whose deposit was paid, in one transaction with `extra` (the payment's own
/// writes): `pending_deposit → scheduled` (on condition of its version), `deposit_paid` set,
/// every claim cell re-written without its hold (on condition that it is still this booking's;
/// a cell lost after the hold expired must be free or an expired hold to be taken back) and the
/// busy items turned into bookings. A cell someone else now holds fails with
/// `ClaimError::SlotTaken` or `ResourceTaken`, and nothing is written.
pub async fn confirm_deposit(
    store: &Store,
    audit: &AuditContext,
    current: &Appointment,
    paid: Money,
    extra: Plan,
) -> Result<Appointment, ClaimError> {
    let t = &audit.tenant_id;
    if current.status != AppointmentStatus::PendingDeposit {
        let stale = AppError::conflict("not_pending_deposit", "the booking is no longer waiting for its deposit");
        return Err(stale.into());
    }
    let now = store.clock.now();
    let mine = cells_still_mine(store, t, current).await?;
    let note = format!("deposit {} paid", mas_domain::payment::money_text(paid.amount_minor.get(), &paid.currency));
    let mut next = advanced(current, AppointmentStatus::Scheduled, "deposit_paid", &audit.actor, Some(note), now);
    next.hold_expires_at = None;
    next.deposit_paid = paid.clone();
    let mut plan = Plan::<ClaimError>::typed();
    plan.append(extra);
    let (write, failure) = versioned_write(t, &next, current.version)?;
    plan.push(write, failure);
    claim_calendar(&mut plan, t, &next, &mine, now)?;
    let summary = format!("Booking {} confirmed: deposit paid", next.confirmation_number);
    let entry = TimelineEntry::new(
        &next.client_id,
        now,
        "appointment.confirmed",
        summary,
        Some(next.id.to_string()),
        &audit.actor,
    );
    plan.push(entry.write(t)?, AppError::conflict("id_taken", "an id clash; try again"));
    check_size(&plan)?;
    plan.commit_as(store, audit, "appointment.confirmed", next.id.as_str()).await?;
    Ok(next)
}

/// Cancels a booking waiting for its deposit whose time is gone (the hold expired and someone
/// else booked it), in one transaction with `extra`: it releases whatever it still holds.
pub async fn cancel_lost_hold(
    store: &Store,
    audit: &AuditContext,
    current: &Appointment,
    reason: &str,
    extra: Plan,
) -> AppResult<Appointment> {
    let t = &audit.tenant_id;
    if current.status != AppointmentStatus::PendingDeposit {
        return Err(AppointmentError::NotPendingDeposit.into());
    }
    let now = store.clock.now();
    let mine = cells_still_mine(store, t, current).await?;
    let mut next =
        advanced(current, AppointmentStatus::Cancelled, "cancel", &audit.actor, Some(reason.to_owned()), now);
    next.hold_expires_at = None;
    let mut plan = extra;
    let (write, failure) = versioned_write(t, &next, current.version)?;
    plan.push(write, failure);
    release_calendar(&mut plan, t, current, &mine, &HashSet::new());
    let summary = format!("Booking {} cancelled: {reason}", next.confirmation_number);
    let entry = TimelineEntry::new(
        &next.client_id,
        now,
        "appointment.cancel",
        summary,
        Some(next.id.to_string()),
        &audit.actor,
    );
    plan.push(entry.write(t)?, AppError::conflict("id_taken", "an id clash; try again"));
    plan.commit(store, audit, "appointment.cancelled", next.id.as_str()).await?;
    Ok(next)
}

/// The next version of `current`, moved to `to` by `action`, with the move in its history.
fn advanced(
    current: &Appointment,
    to: AppointmentStatus,
    action: &str,
    by: &str,
    note: Option<String>,
    now: DateTime<Utc>,
) -> Appointment {
    let mut next = current.clone();
    next.status = to;
    next.version += 1;
    next.updated_at = now;
    next.history.push(StatusChange {
        at: now,
        action: action.into(),
        from: Some(current.status),
        to,
        by: by.into(),
        note,
    });
    next
}

/// Records that the client confirmed attendance (once; later confirmations change nothing).
pub async fn confirm_attendance(store: &Store, audit: &AuditContext, id: &AppointmentId) -> AppResult<Appointment> {
    let t = &audit.tenant_id;
    let current = get(store, t, id).await?;
    if current.attendance_confirmed_at.is_some() || current.status != AppointmentStatus::Scheduled {
        return Ok(current);
    }
    let now = store.clock.now();
    let mut next = current.clone();
    next.attendance_confirmed_at = Some(now);
    next.version += 1;
    next.updated_at = now;
    let mut plan = Plan::new();
    let (write, failure) = versioned_write(t, &next, current.version)?;
    plan.push(write, failure);
    let summary = format!("Client confirmed attendance for {}", next.confirmation_number);
    let entry = TimelineEntry::new(
        &next.client_id,
        now,
        "appointment.attendance_confirmed",
        summary,
        Some(id.to_string()),
        &audit.actor,
    );
    plan.push(entry.write(t)?, AppError::conflict("id_taken", "an id clash; try again"));
    plan.commit(store, audit, "appointment.attendance_confirmed", id.as_str()).await?;
    Ok(next)
}

/// The event a state-machine action announces.
fn event_kind(action: AppointmentAction) -> Option<&'static str> {
    match action {
        AppointmentAction::Cancel => Some("booking.cancelled"),
        AppointmentAction::Complete => Some("booking.completed"),
        AppointmentAction::NoShow => Some("booking.no_show"),
        AppointmentAction::CheckIn => Some("booking.checked_in"),
        AppointmentAction::Start => Some("booking.started"),
        // A move goes through `reschedule`, which announces `booking.rescheduled`.
        AppointmentAction::Reschedule => None,
    }
}

/// The event announcing a booking change, with ids only; `subject` makes each occurrence's id.
pub fn booking_event(t: &TenantId, kind: &str, appointment: &Appointment, now: DateTime<Utc>) -> DomainEvent {
    let payload = serde_json::json!({
        "appointment_id": appointment.id,
        "client_id": appointment.client_id,
        "confirmation_number": appointment.confirmation_number,
        "status": appointment.status,
        "start": appointment.start,
        "location_id": appointment.location_id,
        "service_id": appointment.service_id,
        "practitioner_id": appointment.practitioner_id,
    });
    DomainEvent::new(t, kind, &format!("{}@v{}", appointment.id, appointment.version), now, payload)
}

/// The put of `next`, on condition that the stored appointment is still `current_version`.
fn versioned_write(tenant: &TenantId, next: &Appointment, current_version: u64) -> AppResult<(Write, AppError)> {
    Ok((
        Write::put_if(appointment_item(tenant, next)?, Condition::equals("version", current_version)),
        AppError::contention("the appointment changed while this was being saved; try again"),
    ))
}

fn fee_note(preview: &FeePreview, reason: Option<String>) -> String {
    let mut note = format!(
        "policy v{}: fee {} (kept from deposit {}, refund {}, owed {})",
        preview.policy_version,
        preview.fee.amount_minor.get(),
        preview.kept_from_deposit.amount_minor.get(),
        preview.refund.amount_minor.get(),
        preview.still_owed.amount_minor.get()
    );
    if let Some(reason) = reason {
        note.push_str("; ");
        note.push_str(&reason);
    }
    note
}

fn terms(appointment: &Appointment) -> BookingTerms {
    BookingTerms {
        start: appointment.start,
        price: appointment.price.clone(),
        deposit_paid: appointment.deposit_paid.clone(),
    }
}

/// What an action would cost now, under the version the appointment was booked with.
pub async fn fee_preview(
    store: &Store,
    tenant: &TenantId,
    reach: &Reach,
    id: &AppointmentId,
    action: FeeAction,
) -> AppResult<FeePreview> {
    let appointment = get_within(store, tenant, reach, id).await?;
    let policy = policies::version(store, tenant, appointment.policy_version).await?;
    Ok(policy.fee_preview(action, &terms(&appointment), store.clock.now()))
}

/// Moves an appointment: the new cells are claimed and the old released in one transaction, so
/// at no moment does it hold both or neither.
async fn reschedule(
    store: &Store,
    audit: &AuditContext,
    tenant: &Tenant,
    current: Appointment,
    start: DateTime<Utc>,
    practitioner_id: Option<PractitionerId>,
    policy: &Policy,
) -> AppResult<Appointment> {
    let t = &tenant.id;
    let now = store.clock.now();
    let practitioner_id = practitioner_id.unwrap_or_else(|| current.practitioner_id.clone());
    let request = BookingRequest {
        location_id: current.location_id.clone(),
        service_id: current.service_id.clone(),
        start,
        practitioner_id: Some(practitioner_id.clone()),
        client_id: current.client_id.clone(),
        source: current.source,
        screening: None,
        notes: None,
        prepared: None,
        card_on_file_consent: false,
        offer: None,
    };
    let mut calendar = Calendar::load(store, tenant, window_around(&request, start)).await?;
    // Its own time does not stand in its way.
    calendar.records.retain(|r| r.appointment_id != current.id);
    calendar.busy = availability::engine_busy(&calendar.records, calendar.now);
    let explanation = calendar.explain(start);
    if !explanation.bookable {
        return Err(refusal(&explanation));
    }
    let note = format!("from {}", current.local_start.to_rfc3339());
    let mut next = advanced(&current, current.status, "reschedule", &audit.actor, Some(note), now);
    let duration = current.end - current.start;
    let (from, until) = appointment::occupied_span(
        start,
        start + duration,
        current.buffer_before_minutes,
        current.buffer_after_minutes,
    );
    let (claim_from, claim_until) = appointment::claimed_span(from, until);
    next.resources = calendar.free_units(claim_from, claim_until).map_err(resource_taken)?;
    next.start = start;
    next.end = start + duration;
    next.local_start = start.with_timezone(&current.timezone.tz()).fixed_offset();
    next.practitioner_id = practitioner_id;
    next.attendance_confirmed_at = None;
    if next.status == AppointmentStatus::PendingDeposit {
        next.hold_expires_at = Some(now + hold_length(policy));
    }

    let mine = cells_still_mine(store, t, &current).await?;
    let new_cells: HashSet<Key> = cell_keys(t, &next).into_iter().collect();
    let mut plan = Plan::new();
    let (write, failure) = versioned_write(t, &next, current.version)?;
    plan.push(write, failure);
    // Busy items are keyed by start: the old ones go unless the new ones replace them in place.
    let old_busy: HashSet<Key> =
        owners(&current).into_iter().map(|(o, _)| keys::busy(t, o, busy_record(&current).start, &current.id)).collect();
    let new_busy: HashSet<Key> =
        owners(&next).into_iter().map(|(o, _)| keys::busy(t, o, busy_record(&next).start, &next.id)).collect();
    for key in old_busy.difference(&new_busy) {
        plan.push(Write::delete(key.clone()), AppError::Internal("a busy delete has no condition".into()));
    }
    for key in cell_keys(t, &current).into_iter().filter(|k| mine.contains(k) && !new_cells.contains(k)) {
        plan.push(
            Write::delete_if(key, Condition::equals("appointment_id", current.id.as_str())),
            AppError::contention("the calendar changed while this was being saved; try again"),
        );
    }
    claim_calendar(&mut plan, t, &next, &mine, now)?;
    if next.practitioner_id != current.practitioner_id {
        care_team::link_booking(&mut plan, t, &next.client_id, &next.practitioner_id, now, &audit.actor)?;
    }
    let mut references = vec![reference("practitioner_id", CatalogKind::Practitioner, &next.practitioner_id)];
    references.extend(next.resources.iter().map(|u| reference("resources", CatalogKind::Resource, &u.resource_id)));
    add_reference_checks(&mut plan, t, references);
    let summary = format!("Moved {} to {}", next.confirmation_number, next.local_start.format("%a %-d %b %Y %H:%M"));
    let entry = TimelineEntry::new(
        &next.client_id,
        now,
        "appointment.reschedule",
        summary,
        Some(next.id.to_string()),
        &audit.actor,
    );
    plan.push(entry.write(t)?, AppError::conflict("id_taken", "an id clash; try again"));
    check_size(&plan)?;
    let mut moved = booking_event(t, "booking.rescheduled", &next, now);
    // The time it gave up, for the waitlist (`crate::waitlist::freed_by`).
    moved.payload["previous_start"] = json!(current.start);
    moved.payload["previous_practitioner_id"] = json!(current.practitioner_id);
    plan.announce(moved)?;
    plan.commit(store, audit, "appointment.reschedule", next.id.as_str()).await?;
    Ok(next)
}

/// The risk gate every booking of a clinical treatment passes: the service's clinical tags are
/// assessed against the answers (the versioned rule table in `domain::screening`); when a
/// consultation is required the booking is refused with 422 `consultation_required`, naming the
/// clinic's consultation service, unless a clinician has acknowledged the risk.
pub async fn screen(
    store: &Store,
    tenant: &Tenant,
    service_id: &ServiceId,
    answers: &MedicalAnswers,
    acknowledged_by_clinician: bool,
) -> AppResult<ScreeningSummary> {
    let catalog = mas_catalog::catalog::Catalog::load(store, &tenant.id).await?;
    let service =
        catalog.services.iter().find(|s| &s.id == service_id).ok_or(AppError::NotFound { what: "service" })?;
    let assessment = screening::assess(&service.data.effective_clinical_tags(), answers);
    if assessment.consultation_required && !acknowledged_by_clinician {
        let policy = policies::in_force(store, &tenant.id, tenant.timezone, store.clock.now()).await?;
        let consultation = consultation_service(&catalog, policy.input.consultation_service_id.as_ref());
        return Err(AppError::Rejected {
            kind: Rejection::Invalid,
            code: "consultation_required",
            message: match consultation {
                Some(c) => format!("this treatment needs a consultation first: please book \"{}\"", c.data.name),
                None => {
                    "this treatment needs a consultation with a practitioner first; please contact the clinic".into()
                }
            },
            details: json!({
                "consultation_service_id": consultation.map(|c| &c.id),
                "consultation_service_name": consultation.map(|c| &c.data.name),
                "outcome": assessment.outcome,
                "flags": assessment.flags,
            }),
        });
    }
    Ok(ScreeningSummary {
        rules_version: assessment.rules_version,
        outcome: serde_json::to_value(assessment.outcome)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        flag_codes: assessment.flags.into_iter().map(|f| f.code).collect(),
    })
}

/// The clinic's consultation service: the one its policy names, else an active service in the
/// `consultation` category.
fn consultation_service<'a>(
    catalog: &'a mas_catalog::catalog::Catalog,
    named: Option<&ServiceId>,
) -> Option<&'a mas_domain::catalog::Service> {
    let live = |s: &&mas_domain::catalog::Service| !s.archived && s.data.active;
    match named {
        Some(id) => catalog.services.iter().filter(live).find(|s| &s.id == id),
        None => catalog.services.iter().filter(live).find(|s| s.data.category.to_string() == "consultation"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mas_domain::availability::Reason;

    fn explanation(reasons: &[(ReasonCode, Option<&str>)]) -> Explanation {
        Explanation {
            bookable: false,
            practitioner_ids: vec![],
            reasons: reasons
                .iter()
                .map(|(code, p)| Reason { code: *code, practitioner_id: p.map(|p| PractitionerId::parse(p).unwrap()) })
                .collect(),
        }
    }

    fn code(err: AppError) -> &'static str {
        match err {
            AppError::Rejected { code, .. } => code,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_time_someone_else_holds_is_taken_and_a_time_nobody_works_is_not_bookable() {
        use ReasonCode::*;
        let taken = [
            vec![(Hold, Some("prc_a")), (PractitionerOff, Some("prc_b"))],
            vec![(ResourceTaken, None), (PractitionerOff, Some("prc_b"))],
            vec![(Busy, Some("prc_a")), (Buffer, Some("prc_a"))],
        ];
        for reasons in taken {
            assert_eq!(code(refusal(&explanation(&reasons))), "slot_taken", "{reasons:?}");
        }
        let not_bookable = [
            vec![(Closed, None), (Busy, Some("prc_a"))],
            vec![(PractitionerOff, Some("prc_a")), (PractitionerOff, Some("prc_b"))],
            vec![(Busy, Some("prc_a")), (NotQualified, Some("prc_a"))],
            vec![(TooSoon, None)],
        ];
        for reasons in not_bookable {
            assert_eq!(code(refusal(&explanation(&reasons))), "not_bookable", "{reasons:?}");
        }
    }
}
