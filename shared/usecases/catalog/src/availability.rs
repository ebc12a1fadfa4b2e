//! Loading what the availability engine needs, and asking it. The catalog is one Query; the busy
//! time is one Query per practitioner (and per required resource) per UTC month the window
//! touches, each a sort-key range over that calendar's `BUSY#` items.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::policies;
use mas_domain::appointment::{self, PartTiming, ResourceUnit};
use mas_domain::availability::{self, AvailabilityInput, Busy, BusyKind, Explanation, Slot};
use mas_domain::catalog::{Location, Practitioner, Service};
use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::{AppointmentId, LocationId, PractitionerId, ResourceId, ServiceId};
use mas_domain::policy::Policy;
use mas_domain::tenant::Tenant;
use mas_ports::{Query, SortKey};
use mas_store::keys::{self, CalendarOwner};
use mas_store::{Store, from_item};

/// The longest span a booking can occupy (720 minutes + two 240-minute buffers) fits in this, so
/// a window's busy items are those starting at most this long before it.
const LOOKBACK: Duration = Duration::hours(24);

/// The busy item a booking writes in its practitioner's calendar and in each resource's: the
/// time it claims (occupied span rounded out to cells) and what it holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BusyRecord {
    pub appointment_id: AppointmentId,
    pub practitioner_id: PractitionerId,
    pub resources: Vec<ResourceUnit>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub kind: BusyKind,
    /// Epoch seconds after which a hold no longer holds.
    pub hold_until: Option<i64>,
}

impl BusyRecord {
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.kind == BusyKind::Booked || self.hold_until.is_some_and(|until| until > now.timestamp())
    }

    fn overlaps(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
        self.start < end && start < self.end
    }
}

/// What was asked for.
#[derive(Debug, Clone)]
pub struct Request {
    pub location_id: LocationId,
    pub service_id: ServiceId,
    pub practitioner_id: Option<PractitionerId>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// Everything the engine reads for one location and service over a window.
pub struct Calendar {
    pub location: Location,
    pub service: Service,
    pub practitioners: Vec<Practitioner>,
    pub catalog: Catalog,
    pub policy: Policy,
    pub records: Vec<BusyRecord>,
    pub busy: Vec<Busy>,
    pub now: DateTime<Utc>,
    pub request: Request,
}

impl Calendar {
    pub async fn load(store: &Store, tenant: &Tenant, request: Request) -> AppResult<Calendar> {
        let now = store.clock.now();
        let (catalog, policy) = tokio::try_join!(
            Catalog::load(store, &tenant.id),
            policies::in_force(store, &tenant.id, tenant.timezone, now)
        )?;
        let location = catalog
            .locations
            .iter()
            .find(|l| l.id == request.location_id)
            .cloned()
            .ok_or(AppError::NotFound { what: "location" })?;
        let service = catalog
            .services
            .iter()
            .find(|s| s.id == request.service_id)
            .cloned()
            .ok_or(AppError::NotFound { what: "service" })?;
        let practitioners: Vec<Practitioner> = match &request.practitioner_id {
            Some(id) => {
                let one = catalog.practitioners.iter().find(|p| &p.id == id);
                vec![one.cloned().ok_or(AppError::NotFound { what: "practitioner" })?]
            }
            // Only those who could ever take it; the engine decides the rest.
            None => catalog
                .practitioners
                .iter()
                .filter(|p| !p.archived && p.data.active && p.data.specialties.contains(&service.data.category))
                .cloned()
                .collect(),
        };
        let owners: Vec<Owner> = practitioners
            .iter()
            .map(|p| Owner::Practitioner(p.id.clone()))
            .chain(service.data.required_resources.iter().map(|r| Owner::Resource(r.clone())))
            .collect();
        let records = load_busy(store, &tenant.id, &owners, request.from - LOOKBACK, request.to).await?;
        let busy = engine_busy(&records, now);
        Ok(Calendar { location, service, practitioners, catalog, policy, records, busy, now, request })
    }

    /// This calendar for a visit's later service, which starts wherever the one before it leaves:
    /// on the five-minute cells rather than the clinic's grid of first starts, and not stopped by
    /// a same-day cutoff or minimum notice that let the visit's first service through.
    pub fn follow_on(mut self) -> Calendar {
        let rules = &mut self.policy.input.booking;
        rules.grid_minutes = (mas_domain::appointment::CELL_SECONDS / 60) as u32;
        rules.same_day_cutoff = None;
        rules.min_notice_minutes = 0;
        self
    }

    pub fn input(&self) -> AvailabilityInput<'_> {
        AvailabilityInput {
            location: &self.location,
            service: &self.service,
            practitioners: &self.practitioners,
            exceptions: &self.catalog.exceptions,
            resources: &self.catalog.resources,
            busy: &self.busy,
            rules: self.policy.input.booking,
            now: self.now,
            from: self.request.from,
            to: self.request.to,
            practitioner: self.request.practitioner_id.as_ref(),
        }
    }

    pub fn slots(&self) -> Vec<Slot> {
        availability::compute(&self.input())
    }

    pub fn explain(&self, start: DateTime<Utc>) -> Explanation {
        availability::explain(&self.input(), start)
    }

    /// For each required resource, the lowest unit free over `[start, end)` (a claimed span), or
    /// the resource that has none.
    pub fn free_units(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Vec<ResourceUnit>, ResourceId> {
        self.free_units_besides(start, end, &[])
    }

    /// As `free_units`, also leaving the units that `besides` (a visit's own parts, not yet
    /// stored) hold over times overlapping `[start, end)`.
    pub fn free_units_besides(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        besides: &[OwnClaim],
    ) -> Result<Vec<ResourceUnit>, ResourceId> {
        let live: Vec<&BusyRecord> =
            self.records.iter().filter(|r| r.is_live(self.now) && r.overlaps(start, end)).collect();
        let own = besides.iter().filter(|c| c.start < end && start < c.end).flat_map(|c| c.resources.iter());
        let taken_units: Vec<&ResourceUnit> = live.iter().flat_map(|r| r.resources.iter()).chain(own).collect();
        let mut chosen = Vec::new();
        for resource_id in &self.service.data.required_resources {
            let capacity = self.catalog.resources.iter().find(|r| &r.id == resource_id).map_or(0, |r| r.data.capacity);
            let taken: HashSet<u32> =
                taken_units.iter().filter(|u| &u.resource_id == resource_id).map(|u| u.unit).collect();
            match (0..capacity).find(|unit| !taken.contains(unit)) {
                Some(unit) => chosen.push(ResourceUnit { resource_id: resource_id.clone(), unit }),
                None => return Err(resource_id.clone()),
            }
        }
        Ok(chosen)
    }

    /// How this calendar's service sits in a visit's itinerary.
    pub fn timing(&self, with_previous: bool) -> PartTiming {
        let service = &self.service.data;
        PartTiming {
            duration_minutes: service.duration_minutes.get(),
            buffer_before_minutes: service.buffer_before_minutes.get(),
            buffer_after_minutes: service.buffer_after_minutes.get(),
            with_previous,
        }
    }

    /// The claimed span of this calendar's service started at `start`, buffers included.
    pub fn claimed_at(&self, start: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        let service = &self.service.data;
        let (from, until) = appointment::occupied_span(
            start,
            start + service.duration_minutes.duration(),
            service.buffer_before_minutes.get(),
            service.buffer_after_minutes.get(),
        );
        appointment::claimed_span(from, until)
    }
}

/// The resource units a visit's own earlier part holds over its claimed span.
#[derive(Debug, Clone)]
pub struct OwnClaim {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub resources: Vec<ResourceUnit>,
}

/// One service of a visit: its calendar, and whether it runs alongside the one before it.
pub type Leg<'a> = (&'a Calendar, bool);

/// Every part's start when the visit starts at `start` (`appointment::itinerary`).
pub fn visit_starts(legs: &[Leg], start: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let timings: Vec<PartTiming> = legs.iter().map(|(calendar, with)| calendar.timing(*with)).collect();
    appointment::itinerary(start, &timings)
}

/// A unit of every required resource for every part at its start, none shared by two parts
/// whose claimed spans overlap (parts alongside each other), or the resource that has none.
pub fn visit_units(legs: &[Leg], starts: &[DateTime<Utc>]) -> Result<Vec<Vec<ResourceUnit>>, ResourceId> {
    let mut own: Vec<OwnClaim> = Vec::with_capacity(legs.len());
    for ((calendar, _), start) in legs.iter().zip(starts) {
        let (from, until) = calendar.claimed_at(*start);
        let resources = calendar.free_units_besides(from, until, &own)?;
        own.push(OwnClaim { start: from, end: until, resources });
    }
    Ok(own.into_iter().map(|claim| claim.resources).collect())
}

/// Bookable starts of a visit: starts of the first calendar's service from which every further
/// service (one calendar each, loaded over the window and a day beyond, with whether it runs
/// alongside the one before it) can be booked where the itinerary puts it
/// (`appointment::itinerary`), the parts alongside each other with different practitioners and
/// rooms enough for all. The practitioners offered are the first service's; the later ones are
/// chosen when it is booked.
pub fn visit_slots(first: &Calendar, rest: &[(Calendar, bool)]) -> Vec<Slot> {
    let legs: Vec<Leg> = std::iter::once((first, false)).chain(rest.iter().map(|(c, with)| (c, *with))).collect();
    let with_previous: Vec<bool> = legs.iter().map(|(_, with)| *with).collect();
    first
        .slots()
        .into_iter()
        .filter(|slot| {
            let starts = visit_starts(&legs, slot.start);
            let mut candidates = vec![slot.practitioner_ids.clone()];
            for ((calendar, _), start) in legs.iter().zip(&starts).skip(1) {
                let explanation = calendar.explain(*start);
                if !explanation.bookable {
                    return false;
                }
                candidates.push(explanation.practitioner_ids);
            }
            appointment::staff(&candidates, &with_previous, 0).is_some() && visit_units(&legs, &starts).is_ok()
        })
        .collect()
}

#[derive(Debug, Clone)]
enum Owner {
    Practitioner(PractitionerId),
    Resource(ResourceId),
}

impl Owner {
    fn calendar(&self) -> CalendarOwner<'_> {
        match self {
            Owner::Practitioner(p) => CalendarOwner::Practitioner(p),
            Owner::Resource(r) => CalendarOwner::Resource(r),
        }
    }
}

/// The busy items of every owner starting in `[from, to)`, each booking once, whatever its state.
async fn load_busy(
    store: &Store,
    tenant: &mas_domain::ids::TenantId,
    owners: &[Owner],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<Vec<BusyRecord>> {
    let range = SortKey::Between(keys::busy_sk_bound(from), format!("{}~", keys::busy_sk_bound(to)));
    let mut queries = tokio::task::JoinSet::new();
    for owner in owners {
        for month in months(from, to) {
            let query = Query::partition(keys::calendar_pk(tenant, owner.calendar(), month)).sk(range.clone());
            let table = store.table.clone();
            queries.spawn(async move { table.query_all(&query).await });
        }
    }
    let mut seen = HashSet::new();
    let mut records = Vec::new();
    while let Some(done) = queries.join_next().await {
        let items = done.map_err(|e| AppError::Internal(format!("busy query task: {e}")))??;
        for item in items {
            let record: BusyRecord = from_item(item)?;
            if seen.insert(record.appointment_id.clone()) {
                records.push(record);
            }
        }
    }
    records.sort_by(|a, b| (a.start, &a.appointment_id).cmp(&(b.start, &b.appointment_id)));
    Ok(records)
}

/// The first instant of every UTC month from `from`'s to `to`'s.
fn months(from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    use chrono::Datelike;
    let first = |at: DateTime<Utc>| {
        at.date_naive().with_day(1).expect("day 1 exists").and_hms_opt(0, 0, 0).expect("midnight exists").and_utc()
    };
    let mut months = vec![first(from)];
    while let Some(&last) = months.last() {
        let next = first(last + Duration::days(32));
        if next > to {
            break;
        }
        months.push(next);
    }
    months
}

/// What the engine should treat as taken now: bookings, and holds that have not expired.
pub fn engine_busy(records: &[BusyRecord], now: DateTime<Utc>) -> Vec<Busy> {
    records
        .iter()
        .filter(|r| r.is_live(now))
        .map(|r| Busy {
            practitioner_id: Some(r.practitioner_id.clone()),
            resource_ids: r.resources.iter().map(|u| u.resource_id.clone()).collect(),
            start: r.start,
            end: r.end,
            kind: r.kind,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn a_window_reads_every_utc_month_it_touches() {
        let at = |y, m, d| Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap();
        assert_eq!(months(at(2026, 12, 30), at(2027, 1, 2)).len(), 2);
        assert_eq!(months(at(2026, 12, 1), at(2026, 12, 31)).len(), 1);
        assert_eq!(months(at(2026, 1, 31), at(2026, 3, 1)).len(), 3);
    }

    #[test]
    fn an_expired_hold_is_not_busy_but_a_live_one_and_a_booking_are() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
        let record = |kind, hold_until| BusyRecord {
            appointment_id: AppointmentId::new(),
            practitioner_id: PractitionerId::parse("prc_a").unwrap(),
            resources: vec![],
            start: now,
            end: now + Duration::hours(1),
            kind,
            hold_until,
        };
        let records = [
            record(BusyKind::Hold, Some(now.timestamp())),
            record(BusyKind::Hold, Some(now.timestamp() + 1)),
            record(BusyKind::Booked, None),
        ];
        let busy = engine_busy(&records, now);
        assert_eq!(busy.iter().map(|b| b.kind).collect::<Vec<_>>(), vec![BusyKind::Hold, BusyKind::Booked]);
    }
}
