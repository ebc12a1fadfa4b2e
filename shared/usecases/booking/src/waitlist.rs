//! The waitlist (`domain::waitlist`): joining, listing, withdrawing, and offering freed time.
//!
//! An offer is a booking: `appointments::book` with an [`OfferHold`], so the time is claimed by
//! the same conditional writes as any booking (a cell can be held by one appointment only: of two
//! workers offering the same freed time, one wins and the other is told `slot_taken`), and the
//! entry's move `waiting → offered` rides in the same transaction as a put conditional on the
//! version read (an entry is offered one time at once). The booking waits (`pending_deposit`,
//! held until the offer expires) for the client's answer through a signed link:
//! accepting confirms it — or leaves it to its deposit, when the policy asks one — declining or
//! letting it expire cancels it and announces `waitlist.released`, which offers the time to the
//! next waiter. Events are handled idempotently without a record of them: the calendar itself
//! says whether the time is still free, and the entry whether it still waits.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::appointments::{self, BookingRequest, ClaimError, OfferHold};
use mas_catalog::availability::{self, Calendar};
use mas_catalog::catalog::Catalog;
use mas_clients::{care_team, clients};
use mas_domain::appointment::{Appointment, AppointmentStatus, BookingSource};
use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::{AppointmentId, ClientId, LocationId, PractitionerId, ServiceId, TenantId, WaitlistId};
use mas_domain::reach::Reach;
use mas_domain::tenant::Tenant;
use mas_domain::values::{MinorUnits, Money};
use mas_domain::waitlist::{self, Freed, Offer, WaitStatus, WaitlistEntry, Window, WindowError};
use mas_ports::table::{GSI1PK, GSI1SK, TTL};
use mas_ports::{Condition, DomainEvent, Query, SortKey, Write};
use mas_store::keys;
use mas_store::retry::Contended;
use mas_store::{AuditContext, Plan, Store, TimelineEntry, from_item, to_item};

/// How long an offer holds its time (never past the time itself).
pub const OFFER_MINUTES: i64 = 60;
/// Announced when an offer is made: the notifications worker sends its link.
pub const WAITLIST_OFFERED: &str = "waitlist.offered";
/// Announced when an offered time is given back (declined, expired): offered to the next waiter.
pub const WAITLIST_RELEASED: &str = "waitlist.released";
/// How many offers one freed span may make (each re-reads the waiters and the calendar).
const MAX_OFFERS_PER_EVENT: usize = 8;

/// The waitlist's refusals, typed; the store's failures kept whole.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WaitlistError {
    /// 422 with the window's own code and field.
    #[error("{0}")]
    Window(WindowError),
    /// 422 `not_offered` (field `service_id`): the service is not bookable (archived, inactive).
    #[error("this service cannot be booked")]
    NotOffered,
    /// 409 `entry_closed`: the entry is not waiting any more (booked, expired, withdrawn).
    #[error("this waitlist entry is {0} already")]
    Closed(&'static str),
    /// 409 `offer_gone`: the offer was answered already, or it expired.
    #[error("this offer is no longer open")]
    OfferGone,
    #[error(transparent)]
    Store(#[from] AppError),
}

impl From<WaitlistError> for AppError {
    fn from(err: WaitlistError) -> Self {
        let message = err.to_string();
        match err {
            WaitlistError::Window(w) => AppError::invalid(w.code(), w.field(), message),
            WaitlistError::NotOffered => AppError::invalid("not_offered", "service_id", message),
            WaitlistError::Closed(_) => AppError::conflict("entry_closed", message),
            WaitlistError::OfferGone => AppError::conflict("offer_gone", message),
            WaitlistError::Store(err) => err,
        }
    }
}

impl From<mas_ports::TableError> for WaitlistError {
    fn from(err: mas_ports::TableError) -> Self {
        WaitlistError::Store(err.into())
    }
}

/// What a client waits for.
#[derive(Debug, Clone)]
pub struct Wish {
    pub client_id: ClientId,
    pub location_id: LocationId,
    pub service_id: ServiceId,
    pub practitioner_id: Option<PractitionerId>,
    pub from_date: NaiveDate,
    pub to_date: NaiveDate,
    pub earliest: Option<NaiveTime>,
    pub latest: Option<NaiveTime>,
}

/// The reference in the client's partition (the portal's list).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ClientRef {
    entry_id: WaitlistId,
}

fn entry_item(t: &TenantId, entry: &WaitlistEntry) -> AppResult<mas_ports::Item> {
    let mut item = to_item(&keys::waitlist_entry(t, &entry.id), "waitlist_entry", entry)?;
    item.insert(GSI1PK.into(), keys::waitlist_gsi_pk(t, &entry.location_id).into());
    item.insert(GSI1SK.into(), keys::waitlist_gsi_sk(entry.created_at, &entry.id).into());
    // Kept a month after its window is over, then gone.
    item.insert(TTL.into(), (entry.window.over_after() + Duration::days(30)).timestamp().into());
    Ok(item)
}

fn changed() -> AppError {
    AppError::conflict("waitlist_entry_changed", "the waitlist entry changed meanwhile; try again")
}

fn versioned(t: &TenantId, next: &WaitlistEntry, read: u64) -> AppResult<Write> {
    Ok(Write::put_if(entry_item(t, next)?, Condition::equals("version", read)))
}

/// Puts a client on the waitlist, in the transaction of `prepared` (an online join's new
/// client): the location and service must exist (the service bookable), the practitioner too
/// when named; the window is read on the location's calendar.
pub async fn join(
    store: &Store,
    audit: &AuditContext,
    wish: Wish,
    prepared: Option<Plan>,
) -> Result<WaitlistEntry, WaitlistError> {
    let t = &audit.tenant_id;
    let catalog = Catalog::load(store, t).await?;
    let location = catalog
        .locations
        .iter()
        .find(|l| l.id == wish.location_id && !l.archived)
        .ok_or(AppError::NotFound { what: "location" })?;
    let service =
        catalog.services.iter().find(|s| s.id == wish.service_id).ok_or(AppError::NotFound { what: "service" })?;
    if service.archived || !service.data.active {
        return Err(WaitlistError::NotOffered);
    }
    if let Some(p) = &wish.practitioner_id
        && !catalog.practitioners.iter().any(|x| &x.id == p && !x.archived)
    {
        return Err(AppError::NotFound { what: "practitioner" }.into());
    }
    let now = store.clock.now();
    let today = now.with_timezone(&location.data.timezone.tz()).date_naive();
    let window = Window::parse(wish.from_date, wish.to_date, wish.earliest, wish.latest, today)
        .map_err(WaitlistError::Window)?;
    let entry = WaitlistEntry {
        id: WaitlistId::new(),
        client_id: wish.client_id,
        location_id: wish.location_id,
        service_id: wish.service_id,
        practitioner_id: wish.practitioner_id,
        window,
        status: WaitStatus::Waiting,
        offer: None,
        added_by: audit.actor.clone(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let mut plan = prepared.unwrap_or_default();
    let taken = || AppError::conflict("id_taken", "an id clash; try again");
    plan.push(Write::put_new(entry_item(t, &entry)?), taken());
    let reference = to_item(
        &keys::client_waitlist_entry(t, &entry.client_id, &entry.id),
        "waitlist_ref",
        &ClientRef { entry_id: entry.id.clone() },
    )?;
    plan.push(Write::put_new(reference), taken());
    let client_key = mas_ports::Key::new(keys::client_pk(t, &entry.client_id), "CLIENT");
    if !plan.writes_key(&client_key) {
        plan.push(clients::live_check(t, &entry.client_id), AppError::NotFound { what: "client" });
    }
    let summary =
        format!("On the waitlist for {} ({} to {})", service.data.name, entry.window.from_date, entry.window.to_date);
    let line =
        TimelineEntry::new(&entry.client_id, now, "waitlist.joined", summary, Some(entry.id.to_string()), &audit.actor);
    plan.push(line.write(t)?, taken());
    plan.commit(store, audit, "waitlist.joined", entry.id.as_str()).await?;
    Ok(entry)
}

pub async fn get(store: &Store, t: &TenantId, id: &WaitlistId) -> AppResult<WaitlistEntry> {
    store.get(&keys::waitlist_entry(t, id)).await?.ok_or(AppError::NotFound { what: "waitlist entry" })
}

/// A location's entries in joining order (all statuses; the caller filters).
pub async fn at_location(store: &Store, t: &TenantId, location: &LocationId) -> AppResult<Vec<WaitlistEntry>> {
    let query = Query::gsi1(keys::waitlist_gsi_pk(t, location));
    store.table.query_all(&query).await?.into_iter().map(from_item).collect()
}

/// What staff see: a location's entries (one of theirs: 403 otherwise), optionally of one
/// service, open ones unless `all`; a practitioner only their own clients'.
pub async fn list(
    store: &Store,
    t: &TenantId,
    reach: &Reach,
    location: &LocationId,
    service: Option<&ServiceId>,
    all: bool,
) -> AppResult<Vec<WaitlistEntry>> {
    reach.locations.require(location)?;
    // Another clinic's location (or none) is not found, rather than an empty list.
    mas_catalog::catalog::get::<mas_domain::catalog::LocationInput>(store, t, location).await?;
    let mut entries = at_location(store, t, location).await?;
    entries.retain(|e| (all || e.status.is_open()) && service.is_none_or(|s| s == &e.service_id));
    if let Some(team) = care_team::members_clients(store, t, &reach.clients).await? {
        entries.retain(|e| team.contains(&e.client_id));
    }
    Ok(entries)
}

/// A client's own entries, newest first.
pub async fn for_client(store: &Store, t: &TenantId, client: &ClientId) -> AppResult<Vec<WaitlistEntry>> {
    let query = Query::partition(keys::client_pk(t, client)).sk(SortKey::BeginsWith(keys::WAIT_PREFIX.into()));
    let refs: Vec<ClientRef> =
        store.table.query_all(&query).await?.into_iter().map(from_item).collect::<AppResult<_>>()?;
    let entry_keys: Vec<_> = refs.iter().map(|r| keys::waitlist_entry(t, &r.entry_id)).collect();
    if entry_keys.is_empty() {
        return Ok(Vec::new());
    }
    let mut entries: Vec<WaitlistEntry> =
        store.table.batch_get(&entry_keys).await?.into_iter().map(from_item).collect::<AppResult<_>>()?;
    entries.retain(|e| &e.client_id == client);
    entries.sort_by_key(|e| std::cmp::Reverse(e.created_at));
    Ok(entries)
}

/// Takes an entry off the list (the client, or staff who may see it). An open offer is given
/// back with it (the time goes to the next waiter); an accepted one stays the client's booking.
pub async fn withdraw(
    store: &Store,
    audit: &AuditContext,
    entry: &WaitlistEntry,
) -> Result<WaitlistEntry, WaitlistError> {
    let t = &audit.tenant_id;
    let now = store.clock.now();
    match entry.status {
        WaitStatus::Waiting => {
            let next = entry.moved(WaitStatus::Withdrawn, now);
            let mut plan = Plan::new();
            plan.push(versioned(t, &next, entry.version)?, changed());
            plan.commit(store, audit, "waitlist.withdrawn", entry.id.as_str()).await?;
            Ok(next)
        }
        WaitStatus::Offered if entry.offer.as_ref().is_some_and(|o| o.accepted_at.is_none()) => {
            give_back(store, audit, entry, WaitStatus::Withdrawn, "the client declined the offer").await
        }
        other => Err(WaitlistError::Closed(other.as_str())),
    }
}

/// The time an appointment's event gave up: a cancellation's span, a move's former span (the
/// event says where it was), an offer given back (its own event says). `None` for other events.
pub fn freed_by(event: &DomainEvent, appointment: &Appointment) -> Option<Freed> {
    let (from, until) = appointment.occupied();
    match event.kind.as_str() {
        "booking.cancelled" => Some(Freed {
            location_id: appointment.location_id.clone(),
            practitioner_id: appointment.practitioner_id.clone(),
            from,
            until,
        }),
        "booking.rescheduled" => {
            let previous: DateTime<Utc> = serde_json::from_value(event.payload.get("previous_start")?.clone()).ok()?;
            let practitioner: PractitionerId =
                serde_json::from_value(event.payload.get("previous_practitioner_id")?.clone()).ok()?;
            let shift = previous - appointment.start;
            Some(Freed {
                location_id: appointment.location_id.clone(),
                practitioner_id: practitioner,
                from: from + shift,
                until: until + shift,
            })
        }
        _ => None,
    }
}

/// The span a `waitlist.released` event gave back.
pub fn released(event: &DomainEvent) -> Option<Freed> {
    serde_json::from_value(event.payload.get("freed")?.clone()).ok()
}

/// Offers freed time to the waiters who may take it, in turn, until no one more can: each offer
/// is a hold booked for the first waiter whose service the engine finds a free start for in the
/// span (with the practitioner who freed it) within their window. Returns the entries offered.
pub async fn offer_freed(
    store: &Store,
    audit: &AuditContext,
    tenant: &Tenant,
    freed: &Freed,
) -> AppResult<Vec<WaitlistEntry>> {
    let t = &tenant.id;
    let catalog = Catalog::load(store, t).await?;
    let Some(location) = catalog.locations.iter().find(|l| l.id == freed.location_id) else { return Ok(Vec::new()) };
    let zone = location.data.timezone.tz();
    let now = store.clock.now();
    if freed.until <= now {
        return Ok(Vec::new());
    }
    let mut offered = Vec::new();
    'rounds: for _ in 0..MAX_OFFERS_PER_EVENT {
        let entries = at_location(store, t, &freed.location_id).await?;
        for entry in waitlist::in_turn(&entries, freed, zone) {
            let request = availability::Request {
                location_id: freed.location_id.clone(),
                service_id: entry.service_id.clone(),
                practitioner_id: Some(freed.practitioner_id.clone()),
                from: freed.from.max(now),
                to: freed.until,
            };
            let calendar = match Calendar::load(store, tenant, request).await {
                Ok(calendar) => calendar,
                // Its service or the practitioner is gone from the catalog: not this one.
                Err(AppError::NotFound { .. }) => continue,
                Err(other) => return Err(other),
            };
            let starts: Vec<DateTime<Utc>> = calendar.slots().into_iter().map(|s| s.start).collect();
            let Some(start) = waitlist::first_start(entry, freed, &starts, zone) else { continue };
            match make_offer(store, audit, tenant, entry, &freed.practitioner_id, start).await {
                Ok(next) => {
                    offered.push(next);
                    continue 'rounds;
                }
                // Someone else holds it now (another worker's offer, a booking): the next waiter
                // may still fit elsewhere in the span.
                Err(ClaimError::SlotTaken | ClaimError::ResourceTaken(_)) => continue,
                // The entry changed since it was read (offered by another worker, withdrawn): read again.
                // The entry changed since it was read (offered by another worker, withdrawn), or
                // transactions collided (DynamoDB) past the booking's own retries: read again.
                Err(ClaimError::Other(AppError::Conflict { .. })) => continue 'rounds,
                Err(contended) if contended.is_contention() => continue 'rounds,
                // The client is gone (erased) or a catalog item is: not this one.
                Err(ClaimError::Other(AppError::NotFound { what })) => {
                    tracing::info!(tenant_id = %t, waitlist_id = %entry.id, what, "waitlist entry skipped");
                    continue;
                }
                // Not bookable after all (too soon, needs a room nobody has free…): not this one.
                Err(ClaimError::Other(refused @ AppError::Rejected { .. })) => {
                    tracing::info!(tenant_id = %t, waitlist_id = %entry.id, %refused, "waitlist offer refused");
                    continue;
                }
                Err(other) => return Err(other.into()),
            }
        }
        break;
    }
    Ok(offered)
}

/// Books the hold of an offer and moves the entry to `offered`, in one transaction.
async fn make_offer(
    store: &Store,
    audit: &AuditContext,
    tenant: &Tenant,
    entry: &WaitlistEntry,
    practitioner: &PractitionerId,
    start: DateTime<Utc>,
) -> Result<WaitlistEntry, ClaimError> {
    let t = &tenant.id;
    let now = store.clock.now();
    let until = (now + Duration::minutes(OFFER_MINUTES)).min(start);
    let appointment_id = AppointmentId::new();
    let mut next = entry.moved(WaitStatus::Offered, now);
    next.offer = Some(Offer {
        appointment_id: appointment_id.clone(),
        practitioner_id: practitioner.clone(),
        start,
        expires_at: until,
        offered_at: now,
        accepted_at: None,
    });
    let mut prepared = Plan::new();
    prepared.push(versioned(t, &next, entry.version)?, changed());
    prepared.announce(DomainEvent::new(
        t,
        WAITLIST_OFFERED,
        &format!("{}@v{}", next.id, next.version),
        now,
        json!({ "waitlist_id": next.id, "client_id": next.client_id, "appointment_id": appointment_id, "expires_at": until }),
    ))?;
    let request = BookingRequest {
        location_id: entry.location_id.clone(),
        service_id: entry.service_id.clone(),
        start,
        practitioner_id: Some(practitioner.clone()),
        then: Vec::new(),
        client_id: entry.client_id.clone(),
        source: BookingSource::Online,
        screening: None,
        notes: None,
        prepared: Some(prepared),
        card_on_file_consent: false,
        offer: Some(OfferHold { appointment_id, until }),
    };
    appointments::book(store, audit, tenant, request, None).await?;
    Ok(next)
}

/// The entry and the appointment an offer link names, if the offer is still open.
async fn open_offer(
    store: &Store,
    t: &TenantId,
    id: &WaitlistId,
    appointment_id: &AppointmentId,
) -> Result<(WaitlistEntry, Appointment), WaitlistError> {
    let entry = get(store, t, id).await?;
    let now = store.clock.now();
    let offer = entry.offer.as_ref().filter(|o| &o.appointment_id == appointment_id).ok_or(WaitlistError::OfferGone)?;
    if entry.status != WaitStatus::Offered || offer.accepted_at.is_some() {
        return Err(WaitlistError::OfferGone);
    }
    let appointment = appointments::get(store, t, appointment_id).await?;
    if appointment.status != AppointmentStatus::PendingDeposit || appointment.hold_expired(now) {
        return Err(WaitlistError::OfferGone);
    }
    Ok((entry, appointment))
}

/// The client takes the time offered. Without a deposit the booking is confirmed at once
/// (`booking.confirmed`: its confirmation and reminders follow); with one, it stays pending
/// until the deposit is paid (the portal's pay step) within the hold.
pub async fn accept(
    store: &Store,
    audit: &AuditContext,
    id: &WaitlistId,
    appointment_id: &AppointmentId,
) -> Result<Appointment, WaitlistError> {
    let t = &audit.tenant_id;
    let (entry, appointment) = open_offer(store, t, id, appointment_id).await?;
    let now = store.clock.now();
    let mut next = entry.moved(WaitStatus::Booked, now);
    if let Some(offer) = next.offer.as_mut() {
        offer.accepted_at = Some(now);
    }
    let mut plan = Plan::new();
    plan.push(versioned(t, &next, entry.version)?, changed());
    if appointment.deposit.amount_minor.get() > 0 {
        plan.commit(store, audit, "waitlist.accepted", entry.id.as_str()).await?;
        return Ok(appointment);
    }
    let mut confirmed = appointment.clone();
    confirmed.status = AppointmentStatus::Scheduled;
    plan.announce(DomainEvent::new(
        t,
        "booking.confirmed",
        appointment.id.as_str(),
        now,
        appointments::booking_event(t, "", &confirmed, now).payload,
    ))?;
    plan.audit_also(store, audit, "waitlist.accepted", entry.id.as_str())?;
    let zero =
        Money { amount_minor: MinorUnits::new(0).expect("zero"), currency: appointment.deposit.currency.clone() };
    match appointments::confirm_deposit(store, audit, &appointment, zero, plan).await {
        Ok(confirmed) => Ok(confirmed),
        Err(ClaimError::SlotTaken | ClaimError::ResourceTaken(_)) => Err(WaitlistError::OfferGone),
        Err(other) => Err(AppError::from(other).into()),
    }
}

/// The client gives the time back: the hold is cancelled and the entry withdrawn.
pub async fn decline(
    store: &Store,
    audit: &AuditContext,
    id: &WaitlistId,
    appointment_id: &AppointmentId,
) -> Result<WaitlistEntry, WaitlistError> {
    let (entry, _) = open_offer(store, &audit.tenant_id, id, appointment_id).await?;
    give_back(store, audit, &entry, WaitStatus::Withdrawn, "the client declined the offer").await
}

/// An offer whose time ran out (the sweep's due item at its expiry): the hold is cancelled and
/// the time offered to the next waiter. An offer answered meanwhile (or a deposit paid) is left
/// alone; an accepted offer whose deposit never came is released the same way.
pub async fn expire(
    store: &Store,
    audit: &AuditContext,
    id: &WaitlistId,
) -> Result<Option<WaitlistEntry>, WaitlistError> {
    let t = &audit.tenant_id;
    let entry = get(store, t, id).await?;
    let Some(offer) = entry.offer.clone() else { return Ok(None) };
    if !matches!(entry.status, WaitStatus::Offered | WaitStatus::Booked) {
        return Ok(None);
    }
    let appointment = appointments::get(store, t, &offer.appointment_id).await?;
    if appointment.status == AppointmentStatus::Cancelled && entry.status == WaitStatus::Offered {
        // The clinic cancelled the held booking itself (its time went on with the cancellation).
        let next = entry.moved(WaitStatus::Expired, store.clock.now());
        let mut plan = Plan::new();
        plan.push(versioned(t, &next, entry.version)?, changed());
        plan.commit(store, audit, "waitlist.expired", entry.id.as_str()).await?;
        return Ok(Some(next));
    }
    if !appointment.hold_expired(store.clock.now()) {
        return Ok(None);
    }
    give_back(store, audit, &entry, WaitStatus::Expired, "the waitlist offer expired").await.map(Some)
}

/// Cancels an offer's hold, moves the entry to `status`, and announces the span released.
async fn give_back(
    store: &Store,
    audit: &AuditContext,
    entry: &WaitlistEntry,
    status: WaitStatus,
    reason: &str,
) -> Result<WaitlistEntry, WaitlistError> {
    let t = &audit.tenant_id;
    let offer = entry.offer.as_ref().ok_or(WaitlistError::OfferGone)?;
    let appointment = appointments::get(store, t, &offer.appointment_id).await?;
    if appointment.status != AppointmentStatus::PendingDeposit {
        return Err(WaitlistError::OfferGone);
    }
    let now = store.clock.now();
    let next = entry.moved(status, now);
    let (from, until) = appointment.occupied();
    let freed = Freed {
        location_id: appointment.location_id.clone(),
        practitioner_id: appointment.practitioner_id.clone(),
        from,
        until,
    };
    let mut plan = Plan::new();
    plan.push(versioned(t, &next, entry.version)?, changed());
    plan.announce(DomainEvent::new(
        t,
        WAITLIST_RELEASED,
        &format!("{}@v{}", next.id, next.version),
        now,
        json!({ "waitlist_id": next.id, "appointment_id": appointment.id, "freed": freed }),
    ))?;
    plan.audit_also(store, audit, &format!("waitlist.{}", status.as_str()), entry.id.as_str())?;
    appointments::cancel_lost_hold(store, audit, &appointment, reason, plan).await?;
    Ok(next)
}

/// A waitlist event's entry id.
pub fn entry_of(event: &DomainEvent) -> Option<WaitlistId> {
    event.payload.get("waitlist_id").and_then(Value::as_str).and_then(|s| WaitlistId::parse(s).ok())
}
