//! Booking, moving and changing appointments. The server never trusts a requested start: it asks
//! the availability engine again, then claims the practitioner's and resources' cells in the same
//! transaction that stores the appointment (see `domain::appointment` for the cells). A race is
//! lost at a cell's condition, never by luck; under DynamoDB transaction contention the booking
//! is re-decided from a fresh read.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use serde_json::json;

use crate::claims::{self, Claims};
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
use mas_store::keys::{self, CatalogKind};
use mas_store::{AuditContext, Plan, Store, TimelineEntry, from_item, retry, to_item};

/// How often a booking is re-decided when DynamoDB reports transaction contention.
const CONTENTION_RETRIES: usize = 4;
/// How many candidate practitioners a booking "with anyone" tries before giving up.
const CANDIDATE_TRIES: usize = 3;
/// The longest window `list` reads.
pub const MAX_LIST_DAYS: i64 = 93;

/// A booking that waits for its deposit, announced with its hold's end (`hold_expires_at` on
/// the appointment): the notifications worker plans its release for then.
pub const BOOKING_HELD: &str = "booking.held";

/// What a booking asks for, once its caller is known and its client resolved.
#[derive(Debug, Clone)]
pub struct BookingRequest {
    pub location_id: LocationId,
    pub service_id: ServiceId,
    pub start: DateTime<Utc>,
    /// `None`: anyone who can take it.
    pub practitioner_id: Option<PractitionerId>,
    /// The visit's further services, in order, each starting when the one before it ends (see
    /// `appointment::itinerary`), or with it when it runs alongside; empty for a single service.
    pub then: Vec<NextService>,
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

/// One more service of a visit, after the ones before it.
#[derive(Debug, Clone)]
pub struct NextService {
    pub service_id: ServiceId,
    /// `None`: anyone who can take it.
    pub practitioner_id: Option<PractitionerId>,
    /// This service's own screening outcome.
    pub screening: Option<ScreeningSummary>,
    /// It runs alongside the service before it (same start, another practitioner, its own
    /// rooms) rather than after it; both services must allow it (`parallel_ok`).
    pub with_previous: bool,
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
    let parts = plan_visit(store, tenant, request, &[]).await?;
    let deposit = visit_deposit(&parts);
    let mut last = ClaimError::SlotTaken;
    // Each try takes the next candidate of every service "with anyone" (the engine orders them).
    let tries = parts.iter().map(|p| p.explanation.practitioner_ids.len()).max().unwrap_or(0).min(CANDIDATE_TRIES);
    for attempt in 0..tries {
        let mut numbers_left = 3;
        loop {
            // A later try whose candidates cannot staff the parts alongside each other is skipped
            // (the first one can: `plan_visit` checked).
            let Some(appointments) = new_visit(&parts, request, attempt, &deposit, store.clock.now())? else {
                break;
            };
            let prepared = request.prepared.as_ref();
            let hold = if request.offer.is_some() { Hold::WaitlistOffer } else { Hold::Deposit };
            match commit_new(store, audit, &parts, &appointments, prepared, hold, idempotency).await {
                Ok(()) => return Ok(appointments.into_iter().next().expect("a visit has a service")),
                Err(ClaimError::NumberTaken) if numbers_left > 0 => numbers_left -= 1,
                // Taken since the calendar was read: the next practitioners may be free.
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

/// One service of a visit as the engine sees it at its start.
struct PlannedPart {
    calendar: Calendar,
    explanation: Explanation,
    start: DateTime<Utc>,
    /// The practitioner asked for (the engine's candidates are only theirs then).
    practitioner_id: Option<PractitionerId>,
    /// It runs alongside the part before it.
    with_previous: bool,
}

/// Asks the engine about every service of the visit at the start its itinerary gives it
/// (`appointment::itinerary`: one after another, or alongside the one before); `own` are
/// appointments being moved (their own time does not stand in their way). The visit's shape is
/// checked first (422: a service alongside another that does not allow it, or one practitioner
/// named for two services at once); the first service that cannot be booked refuses the whole
/// visit, naming it in the details, as does a group alongside each other that no distinct
/// practitioners or rooms can take.
async fn plan_visit(
    store: &Store,
    tenant: &Tenant,
    request: &BookingRequest,
    own: &[AppointmentId],
) -> Result<Vec<PlannedPart>, ClaimError> {
    let services: Vec<(&ServiceId, &Option<PractitionerId>, bool)> =
        std::iter::once((&request.service_id, &request.practitioner_id, false))
            .chain(request.then.iter().map(|next| (&next.service_id, &next.practitioner_id, next.with_previous)))
            .collect();
    // Every busy item a service could meet lies within a day per service of the visit's start.
    let window_end = request.start + Duration::days(i64::try_from(services.len()).unwrap_or(1));
    let mut calendars = Vec::with_capacity(services.len());
    for (index, (service_id, practitioner_id, _)) in services.iter().enumerate() {
        let window = availability::Request {
            location_id: request.location_id.clone(),
            service_id: (*service_id).clone(),
            practitioner_id: (*practitioner_id).clone(),
            from: request.start,
            to: window_end,
        };
        let mut calendar = Calendar::load(store, tenant, window).await?;
        if index > 0 {
            calendar = calendar.follow_on();
        }
        if !own.is_empty() {
            calendar.records.retain(|r| !own.contains(&r.appointment_id));
            calendar.busy = availability::engine_busy(&calendar.records, calendar.now);
        }
        calendars.push(calendar);
    }
    let shapes: Vec<appointment::PartShape> = calendars
        .iter()
        .zip(&services)
        .map(|(calendar, (_, practitioner_id, with_previous))| appointment::PartShape {
            parallel_ok: calendar.service.data.parallel_ok,
            with_previous: *with_previous,
            practitioner_id: practitioner_id.as_ref(),
        })
        .collect();
    appointment::check_shape(&shapes).map_err(shape_refusal)?;
    let legs: Vec<availability::Leg> = calendars.iter().zip(&services).map(|(c, (.., with))| (c, *with)).collect();
    let starts = availability::visit_starts(&legs, request.start);
    let mut parts: Vec<PlannedPart> = Vec::with_capacity(services.len());
    for (index, (calendar, start)) in calendars.into_iter().zip(starts).enumerate() {
        let (service_id, practitioner_id, with_previous) = services[index];
        let explanation = calendar.explain(start);
        if !explanation.bookable {
            let mut refused = refusal(&explanation);
            if let AppError::Rejected { details, .. } = &mut refused
                && !request.then.is_empty()
            {
                details["service_index"] = json!(index);
                details["service_id"] = json!(service_id);
                details["start"] = json!(start);
            }
            return Err(refused.into());
        }
        parts.push(PlannedPart {
            calendar,
            explanation,
            start,
            practitioner_id: practitioner_id.clone(),
            with_previous,
        });
    }
    let candidates: Vec<Vec<PractitionerId>> = parts.iter().map(|p| p.explanation.practitioner_ids.clone()).collect();
    let with_previous: Vec<bool> = parts.iter().map(|p| p.with_previous).collect();
    if appointment::staff(&candidates, &with_previous, 0).is_none() {
        return Err(ClaimError::Other(AppError::Rejected {
            kind: Rejection::Conflict,
            code: "slot_taken",
            message: "no two practitioners are free together for the services that run alongside each other".into(),
            details: json!({ "practitioner_ids": candidates }),
        }));
    }
    Ok(parts)
}

/// A visit's shape refused, as 422 on the `then` entry that asked for it.
fn shape_refusal(err: appointment::ShapeError) -> ClaimError {
    use appointment::ShapeError as E;
    let message = err.to_string();
    let refused = match err {
        E::NothingBefore => AppError::invalid("not_parallel", "with_previous", message),
        E::NotParallel { index } => {
            AppError::invalid("not_parallel", format!("then[{}].with_previous", index - 1), message)
        }
        E::SamePractitioner { index } => {
            AppError::invalid("same_practitioner", format!("then[{}].practitioner_id", index - 1), message)
        }
    };
    refused.into()
}

/// The visit's deposit: what the policy asks for each service, together (carried by the lead).
fn visit_deposit(parts: &[PlannedPart]) -> Money {
    let each = parts.iter().map(|p| {
        let service = &p.calendar.service.data;
        p.calendar.policy.deposit_for(service.price.clone(), service.deposit.clone())
    });
    let total: i64 = each.clone().map(|m| m.amount_minor.get()).sum();
    let currency = each.map(|m| m.currency).next().unwrap_or_default();
    Money { amount_minor: MinorUnits::new(total).expect("a sum of deposits"), currency }
}

/// The visit's appointments for one try: every service with its `attempt`-th candidate (or its
/// last, when it has fewer; distinct among services alongside each other), rooms none of which
/// two of its services hold at once, one confirmation number, the lead carrying the deposit.
/// `None` when this try's candidates cannot staff the services alongside each other.
fn new_visit(
    parts: &[PlannedPart],
    request: &BookingRequest,
    attempt: usize,
    deposit: &Money,
    now: DateTime<Utc>,
) -> Result<Option<Vec<Appointment>>, ClaimError> {
    let candidates: Vec<Vec<PractitionerId>> = parts.iter().map(|p| p.explanation.practitioner_ids.clone()).collect();
    let with_previous: Vec<bool> = parts.iter().map(|p| p.with_previous).collect();
    if candidates.iter().any(Vec::is_empty) {
        return Err(AppError::Internal("a bookable start without a practitioner".into()).into());
    }
    let Some(staffed) = appointment::staff(&candidates, &with_previous, attempt) else { return Ok(None) };
    let legs: Vec<availability::Leg> = parts.iter().map(|p| (&p.calendar, p.with_previous)).collect();
    let starts: Vec<DateTime<Utc>> = parts.iter().map(|p| p.start).collect();
    let units = availability::visit_units(&legs, &starts).map_err(resource_taken)?;
    let number = appointment::confirmation_number(rand::rng().random());
    let mut appointments = Vec::with_capacity(parts.len());
    for (index, ((part, practitioner_id), resources)) in parts.iter().zip(&staffed).zip(units).enumerate() {
        let share = if index == 0 { deposit.clone() } else { zero(&deposit.currency) };
        let mut next = new_appointment(&part.calendar, request, part.start, practitioner_id, share, now)?;
        next.resources = resources;
        next.confirmation_number = number.clone();
        if index > 0 {
            next.screening = request.then[index - 1].screening.clone();
        }
        if deposit.amount_minor.get() > 0 {
            next.status = AppointmentStatus::PendingDeposit;
            next.hold_expires_at = Some(now + hold_length(&part.calendar.policy));
            next.history[0].to = AppointmentStatus::PendingDeposit;
        }
        appointments.push(next);
    }
    let shape: Vec<bool> = parts.iter().map(|p| p.with_previous).collect();
    let visit = (appointments.len() > 1).then(|| visit_of(&appointments, &shape));
    for appointment in &mut appointments {
        appointment.visit = visit.clone();
    }
    Ok(Some(appointments))
}

/// The visit's itinerary as every one of its appointments carries it; `with_previous` says
/// which run alongside the one before.
fn visit_of(appointments: &[Appointment], with_previous: &[bool]) -> appointment::Visit {
    appointment::Visit {
        parts: appointments
            .iter()
            .zip(with_previous)
            .map(|(a, with_previous)| appointment::VisitPart {
                with_previous: *with_previous,
                appointment_id: a.id.clone(),
                service_id: a.service_id.clone(),
                practitioner_id: a.practitioner_id.clone(),
                start: a.start,
                end: a.end,
            })
            .collect(),
    }
}

fn zero(currency: &mas_domain::values::Currency) -> Money {
    Money { amount_minor: MinorUnits::new(0).expect("zero"), currency: currency.clone() }
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
    start: DateTime<Utc>,
    practitioner_id: &PractitionerId,
    deposit: Money,
    now: DateTime<Utc>,
) -> AppResult<Appointment> {
    let service = &calendar.service.data;
    let end = start + service.duration_minutes.duration();
    let (before, after) = (service.buffer_before_minutes.get(), service.buffer_after_minutes.get());
    let (occupied_from, occupied_until) = appointment::occupied_span(start, end, before, after);
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
        service_id: calendar.service.id.clone(),
        practitioner_id: practitioner_id.clone(),
        resources,
        start,
        end,
        local_start: start.with_timezone(&zone.tz()).fixed_offset(),
        timezone: zone,
        buffer_before_minutes: before,
        buffer_after_minutes: after,
        hold_expires_at: offer_until.or_else(|| needs_deposit.then(|| now + hold_length(&calendar.policy))),
        price: service.price.clone(),
        deposit,
        deposit_paid: zero(&service.price.currency),
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
        visit: None,
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

/// Stores a new booking (one appointment, or every service of a visit) in one transaction:
/// the appointments, their confirmation number, their claims and busy items, the checks that
/// what they name still exists, and the client's care team and timeline.
/// What a pending booking's hold is for: a deposit (released by the worker when it runs out,
/// through `booking.held`), or a waitlist offer (released by the offer's own expiry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hold {
    Deposit,
    WaitlistOffer,
}

async fn commit_new(
    store: &Store,
    audit: &AuditContext,
    parts: &[PlannedPart],
    appointments: &[Appointment],
    prepared: Option<&Plan>,
    hold: Hold,
    idempotency: Option<&Idempotency>,
) -> Result<(), ClaimError> {
    let t = &audit.tenant_id;
    let now = store.clock.now();
    let lead = &appointments[0];
    let mut plan = Plan::<ClaimError>::typed();
    if let Some(prepared) = prepared {
        plan.append(prepared.clone());
    }
    for appointment in appointments {
        plan.push(
            Write::put_new(appointment_item(t, appointment)?),
            AppError::conflict("id_taken", "an id clash; try again"),
        );
    }
    let number = to_item(
        &keys::confirmation_number(t, &lead.confirmation_number),
        "claim",
        &json!({ "appointment_id": lead.id }),
    )?;
    plan.push(Write::put_new(number), ClaimError::NumberTaken);
    let mut claims = Claims::new();
    let mut references = vec![reference("location_id", CatalogKind::Location, &lead.location_id)];
    for appointment in appointments {
        claims.claim(t, appointment, &HashMap::new(), now);
        put_busy(&mut plan, t, appointment)?;
        references.push(reference("service_id", CatalogKind::Service, &appointment.service_id));
        references.push(reference("practitioner_id", CatalogKind::Practitioner, &appointment.practitioner_id));
        references.extend(
            appointment.resources.iter().map(|u| reference("resources", CatalogKind::Resource, &u.resource_id)),
        );
    }
    claims.push_into(&mut plan);
    add_reference_checks(&mut plan, t, references);
    // A client created in this same transaction needs no check (an item is touched once).
    if !plan.writes_key(&client_key(t, &lead.client_id)) {
        // Not only present: not being erased either (`clients::live_check`).
        plan.push(clients::live_check(t, &lead.client_id), AppError::NotFound { what: "client" });
    }
    for appointment in appointments {
        // The practitioner now looks after this client (their care team), from this very commit.
        care_team::link_booking(&mut plan, t, &appointment.client_id, &appointment.practitioner_id, now, &audit.actor)?;
    }
    let names: Vec<&str> = parts.iter().map(|p| p.calendar.service.data.name.as_str()).collect();
    let summary = format!("Booked {} for {}", names.join(", then "), lead.local_start.format("%a %-d %b %Y %H:%M"));
    let entry = TimelineEntry::new(
        &lead.client_id,
        now,
        "appointment.booked",
        summary,
        Some(lead.id.to_string()),
        &audit.actor,
    );
    plan.push(entry.write(t)?, AppError::conflict("id_taken", "an id clash; try again"));
    if let Some(idem) = idempotency {
        idem.record(&mut plan, (t, Some(&lead.client_id)), (201, lead), now, ClaimError::Replayed)?;
    }
    check_size(&plan)?;
    if lead.status == AppointmentStatus::PendingDeposit && hold == Hold::Deposit {
        // The worker releases it when it runs out, so the waitlist hears of the time.
        plan.announce(booking_event(t, BOOKING_HELD, lead, now))?;
    }
    for appointment in appointments {
        plan.announce(booking_event(t, "booking.created", appointment, now))?;
        if appointment.status == AppointmentStatus::Scheduled {
            // No deposit to wait for: it is confirmed as it is made (a deposit confirms it later,
            // with the payment).
            plan.announce(confirmed_event(t, appointment, now))?;
        }
    }
    plan.commit_as(store, audit, "appointment.booked", lead.id.as_str()).await
}

fn confirmed_event(t: &TenantId, appointment: &Appointment, now: DateTime<Utc>) -> DomainEvent {
    DomainEvent::new(
        t,
        "booking.confirmed",
        appointment.id.as_str(),
        now,
        booking_event(t, "", appointment, now).payload,
    )
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

/// Puts the appointment's busy items (one per calendar it occupies, read by availability).
fn put_busy<F: From<AppError>>(plan: &mut Plan<F>, tenant: &TenantId, appointment: &Appointment) -> AppResult<()> {
    let record = busy_record(appointment);
    let expires = (record.end + claims::RETENTION).timestamp();
    for (owner, _) in claims::owners(appointment) {
        let mut item = to_item(&keys::busy(tenant, owner, record.start, &appointment.id), "busy", &record)?;
        item.insert(TTL.into(), expires.into());
        plan.push(Write::put(item), AppError::Internal("a busy item put has no condition".into()));
    }
    Ok(())
}

/// Deletes the appointment's busy items.
fn delete_busy<F: From<AppError>>(plan: &mut Plan<F>, tenant: &TenantId, appointment: &Appointment) {
    for key in busy_keys(tenant, appointment) {
        plan.push(Write::delete(key), AppError::Internal("a busy delete has no condition".into()));
    }
}

fn busy_keys(tenant: &TenantId, appointment: &Appointment) -> HashSet<Key> {
    let start = busy_record(appointment).start;
    claims::owners(appointment)
        .into_iter()
        .map(|(owner, _)| keys::busy(tenant, owner, start, &appointment.id))
        .collect()
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
            let moved = reschedule(store, audit, tenant, scope, current, change, &policy).await?;
            return Ok((moved, None));
        }
        AppointmentAction::Cancel => {
            // A visit is cancelled as a unit: every service of it that can still be cancelled.
            let others: Vec<Appointment> = visit_appointments(store, t, &current)
                .await?
                .into_iter()
                .filter(|a| a.id != current.id && appointment::next_status(a.status, change.action).is_some())
                .collect();
            for other in &others {
                scope.check(other)?;
            }
            let all: Vec<&Appointment> = std::iter::once(&current).chain(&others).collect();
            // The lead carries the visit's deposit, so the fee for the visit's price is settled there.
            if let Some(lead) = all.iter().copied().find(|a| a.is_visit_lead()) {
                let mut visit_terms = terms(lead);
                visit_terms.price.amount_minor =
                    MinorUnits::new(all.iter().map(|a| a.price.amount_minor.get()).sum()).expect("a sum of prices");
                let preview = policy.fee_preview(FeeAction::Cancel, &visit_terms, now);
                if lead.id == current.id {
                    note = Some(fee_note(&preview, note));
                }
                settlement =
                    payments::plan_fee_settlement(store, t, lead, "cancel", &preview.kept_from_deposit, &audit.actor)
                        .await?;
                fees::plan_fee(&mut plan, t, lead, &preview, now)?;
            }
            let held = claims::held(store, t, &all).await?;
            let mut claims = Claims::new();
            for appointment in &all {
                claims.release(t, appointment, &held);
                delete_busy(&mut plan, t, appointment);
            }
            claims.push_into(&mut plan);
            for other in &others {
                let reason = format!("cancelled with the visit ({})", current.confirmation_number);
                let mut next = advanced(other, AppointmentStatus::Cancelled, "cancel", &audit.actor, Some(reason), now);
                next.hold_expires_at = None;
                let (write, failure) = versioned_write(t, &next, other.version)?;
                plan.push(write, failure);
                plan.announce(booking_event(t, "booking.cancelled", &next, now))?;
            }
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
        // What the treatment used leaves the location's stock in the same transaction: once,
        // since only one completion of this version commits (`stock::push_usage`).
        AppointmentAction::Complete => crate::stock::push_usage(&mut plan, store, audit, &current, now).await?,
        AppointmentAction::CheckIn | AppointmentAction::Start => {}
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
    // The lead's deposit confirms the whole visit.
    let all = visit_appointments(store, t, current).await?;
    let waiting: Vec<&Appointment> =
        all.iter().filter(|a| a.id == current.id || a.status == AppointmentStatus::PendingDeposit).collect();
    let held = claims::held(store, t, &waiting).await?;
    let note = format!("deposit {} paid", mas_domain::payment::money_text(paid.amount_minor.get(), &paid.currency));
    let mut plan = Plan::<ClaimError>::typed();
    plan.append(extra);
    let mut claims = Claims::new();
    let mut confirmed = None;
    for appointment in waiting {
        let mut next =
            advanced(appointment, AppointmentStatus::Scheduled, "deposit_paid", &audit.actor, Some(note.clone()), now);
        next.hold_expires_at = None;
        if appointment.id == current.id {
            next.deposit_paid = paid.clone();
        } else {
            // The lead's confirmation is announced by the payment's own effects.
            plan.announce(confirmed_event(t, &next, now))?;
        }
        let (write, failure) = versioned_write(t, &next, appointment.version)?;
        plan.push(write, failure);
        claims.claim(t, &next, &held, now);
        put_busy(&mut plan, t, &next)?;
        if appointment.id == current.id {
            confirmed = Some(next);
        }
    }
    claims.push_into(&mut plan);
    let next = confirmed.expect("the paid appointment is confirmed");
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

/// The appointments of `current`'s visit in order (`current` as given), or `current` alone.
async fn visit_appointments(store: &Store, tenant: &TenantId, current: &Appointment) -> AppResult<Vec<Appointment>> {
    let Some(visit) = &current.visit else { return Ok(vec![current.clone()]) };
    let mut all = Vec::with_capacity(visit.parts.len());
    for id in visit.appointment_ids() {
        all.push(if id == &current.id { current.clone() } else { get(store, tenant, id).await? });
    }
    Ok(all)
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
    // Its callers say why the time went (a refund's effects, the waitlist's release).
    cancel_held(store, audit, current, reason, extra, false).await
}

/// What a deposit hold's end found: the booking it cancelled, or the booking as read when there
/// was nothing to release (so the caller need not read it again).
#[derive(Debug)]
pub enum HoldEnd {
    Released(Appointment),
    /// Paid, cancelled, or its hold was extended (a move restarts it).
    Kept(Appointment),
}

/// A deposit hold's end (the worker's due item from `booking.held`): a booking still waiting
/// for its deposit once its hold has run out is cancelled, and `booking.cancelled` tells the
/// waitlist its time is free. A booking kept is answered as read: the caller plans again for
/// its `hold_expires_at` when a hold is still running.
pub async fn release_expired_hold(store: &Store, audit: &AuditContext, id: &AppointmentId) -> AppResult<HoldEnd> {
    let current = get(store, &audit.tenant_id, id).await?;
    if !current.hold_expired(store.clock.now()) {
        return Ok(HoldEnd::Kept(current));
    }
    let reason = "the deposit was not paid before the hold ran out";
    // Paid or cancelled meanwhile (a webhook, the desk): the versioned write fails as
    // contention, and the retry from a fresh read finds nothing to release.
    cancel_held(store, audit, &current, reason, Plan::new(), true).await.map(HoldEnd::Released)
}

async fn cancel_held(
    store: &Store,
    audit: &AuditContext,
    current: &Appointment,
    reason: &str,
    extra: Plan,
    announce_current: bool,
) -> AppResult<Appointment> {
    let t = &audit.tenant_id;
    if current.status != AppointmentStatus::PendingDeposit {
        return Err(AppointmentError::NotPendingDeposit.into());
    }
    let now = store.clock.now();
    let all = visit_appointments(store, t, current).await?;
    let waiting: Vec<&Appointment> =
        all.iter().filter(|a| a.id == current.id || a.status == AppointmentStatus::PendingDeposit).collect();
    let held = claims::held(store, t, &waiting).await?;
    let mut plan = extra;
    let mut claims = Claims::new();
    let mut cancelled = None;
    for appointment in waiting {
        let mut next =
            advanced(appointment, AppointmentStatus::Cancelled, "cancel", &audit.actor, Some(reason.to_owned()), now);
        next.hold_expires_at = None;
        let (write, failure) = versioned_write(t, &next, appointment.version)?;
        plan.push(write, failure);
        claims.release(t, appointment, &held);
        delete_busy(&mut plan, t, appointment);
        if appointment.id != current.id || announce_current {
            plan.announce(booking_event(t, "booking.cancelled", &next, now))?;
        }
        if appointment.id == current.id {
            cancelled = Some(next);
        }
    }
    claims.push_into(&mut plan);
    let next = cancelled.expect("the lost hold is cancelled");
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
        // For the insight projections (version 1 events without them are still read): the
        // booked minutes, the local day, where the booking was made, and who made the last move
        // (a cancellation's reason is counted by it).
        "end": appointment.end,
        "timezone": appointment.timezone,
        "source": appointment.source,
        "by": appointment.history.last().map(|h| h.by.as_str()),
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

/// Moves an appointment, or the whole visit it belongs to (every service by the same amount; the
/// one addressed may change practitioner): the new cells are claimed and the old released in one
/// transaction, so at no moment does it hold both or neither.
async fn reschedule(
    store: &Store,
    audit: &AuditContext,
    tenant: &Tenant,
    scope: &Scope,
    current: Appointment,
    change: &Change,
    policy: &Policy,
) -> Result<Appointment, AppointmentError> {
    let start = change.start.ok_or(AppointmentError::StartRequired)?;
    let practitioner_id = &change.practitioner_id;
    let t = &tenant.id;
    let now = store.clock.now();
    let all = visit_appointments(store, t, &current).await?;
    if let Some(stuck) =
        all.iter().find(|a| appointment::next_status(a.status, AppointmentAction::Reschedule).is_none())
    {
        return Err(AppointmentError::IllegalTransition {
            action: AppointmentAction::Reschedule,
            status: stuck.status,
        });
    }
    for appointment in &all {
        scope.check(appointment)?;
    }
    let shift = start - current.start;
    // The move keeps the visit's shape: what ran alongside still does.
    let shape: Vec<bool> = match &current.visit {
        Some(visit) => all
            .iter()
            .map(|a| visit.parts.iter().find(|p| p.appointment_id == a.id).is_some_and(|p| p.with_previous))
            .collect(),
        None => vec![false; all.len()],
    };
    let practitioner_of = |a: &Appointment| match practitioner_id {
        Some(p) if a.id == current.id => p.clone(),
        _ => a.practitioner_id.clone(),
    };
    let request = BookingRequest {
        location_id: current.location_id.clone(),
        service_id: all[0].service_id.clone(),
        start: all[0].start + shift,
        practitioner_id: Some(practitioner_of(&all[0])),
        then: all[1..]
            .iter()
            .zip(&shape[1..])
            .map(|(a, with_previous)| NextService {
                service_id: a.service_id.clone(),
                practitioner_id: Some(practitioner_of(a)),
                screening: None,
                with_previous: *with_previous,
            })
            .collect(),
        client_id: current.client_id.clone(),
        source: current.source,
        screening: None,
        notes: None,
        prepared: None,
        card_on_file_consent: false,
        offer: None,
    };
    let own: Vec<AppointmentId> = all.iter().map(|a| a.id.clone()).collect();
    let parts = plan_visit(store, tenant, &request, &own).await.map_err(AppError::from)?;
    let legs: Vec<availability::Leg> = parts.iter().map(|p| (&p.calendar, p.with_previous)).collect();
    let starts: Vec<DateTime<Utc>> = parts.iter().map(|p| p.start).collect();
    let units = availability::visit_units(&legs, &starts).map_err(resource_taken).map_err(AppError::from)?;
    let mut moved = Vec::with_capacity(all.len());
    for ((old, part), resources) in all.iter().zip(&parts).zip(units) {
        let note = format!("from {}", old.local_start.to_rfc3339());
        let mut next = advanced(old, old.status, "reschedule", &audit.actor, Some(note), now);
        let duration = old.end - old.start;
        next.resources = resources;
        next.start = part.start;
        next.end = part.start + duration;
        next.local_start = part.start.with_timezone(&old.timezone.tz()).fixed_offset();
        next.practitioner_id = part.practitioner_id.clone().unwrap_or_else(|| old.practitioner_id.clone());
        next.attendance_confirmed_at = None;
        if next.status == AppointmentStatus::PendingDeposit {
            next.hold_expires_at = Some(now + hold_length(policy));
        }
        moved.push(next);
    }
    if moved.len() > 1 {
        let visit = visit_of(&moved, &shape);
        for next in &mut moved {
            next.visit = Some(visit.clone());
        }
    }

    let olds: Vec<&Appointment> = all.iter().collect();
    let held = claims::held(store, t, &olds).await?;
    let mut plan = Plan::new();
    let mut claims = Claims::new();
    let new_busy: HashSet<Key> = moved.iter().flat_map(|next| busy_keys(t, next)).collect();
    let mut references = Vec::new();
    for (old, next) in all.iter().zip(&moved) {
        let (write, failure) = versioned_write(t, next, old.version)?;
        plan.push(write, failure);
        // Busy items are keyed by start: the old ones go unless the new ones replace them in place.
        for key in busy_keys(t, old).difference(&new_busy) {
            plan.push(Write::delete(key.clone()), AppError::Internal("a busy delete has no condition".into()));
        }
        put_busy(&mut plan, t, next)?;
        claims.claim(t, next, &held, now);
        if next.practitioner_id != old.practitioner_id {
            care_team::link_booking(&mut plan, t, &next.client_id, &next.practitioner_id, now, &audit.actor)?;
        }
        references.push(reference("practitioner_id", CatalogKind::Practitioner, &next.practitioner_id));
        references.extend(next.resources.iter().map(|u| reference("resources", CatalogKind::Resource, &u.resource_id)));
    }
    for old in &all {
        claims.release(t, old, &held);
    }
    claims.push_into(&mut plan);
    add_reference_checks(&mut plan, t, references);
    let lead = &moved[0];
    let summary = format!("Moved {} to {}", lead.confirmation_number, lead.local_start.format("%a %-d %b %Y %H:%M"));
    let entry = TimelineEntry::new(
        &lead.client_id,
        now,
        "appointment.reschedule",
        summary,
        Some(current.id.to_string()),
        &audit.actor,
    );
    plan.push(entry.write(t)?, AppError::conflict("id_taken", "an id clash; try again"));
    check_size(&plan)?;
    for (old, next) in all.iter().zip(&moved) {
        let mut event = booking_event(t, "booking.rescheduled", next, now);
        // The time it gave up, for the waitlist (`crate::waitlist::freed_by`).
        event.payload["previous_start"] = json!(old.start);
        event.payload["previous_practitioner_id"] = json!(old.practitioner_id);
        plan.announce(event)?;
    }
    plan.commit(store, audit, "appointment.reschedule", current.id.as_str()).await?;
    Ok(moved.into_iter().find(|next| next.id == current.id).expect("the addressed appointment moved"))
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
