//! The availability engine: a pure function from a clinic's rules to the start times a client may
//! book, and an explanation of why one given start can or cannot be booked. No I/O and no clock:
//! everything, `now` included, comes in through [`AvailabilityInput`].
//!
//! Rules, and the decisions behind them:
//! - Local rules (opening hours, closures, weekly working rules, the same-day cut-off, the
//!   advance limit) are evaluated in the location's IANA zone. A local boundary means **the
//!   first instant the clinic's clock reads that time or later**: an ambiguous time (clocks go
//!   back) is its earlier instant, and a time inside a gap (clocks go forward) is the instant of
//!   the jump. So a 10:00 rule is 10:00 local on both sides of a change.
//! - Starts lie on a grid in **local** time counted from the start of each opening span (09:00,
//!   09:15, …). A grid time that does not exist (in a gap) is skipped; one that exists twice (in
//!   an overlap) is offered once, at the **earlier** instant: the later pass of the repeated
//!   hour has no starts of its own.
//! - Durations are real elapsed time. An appointment occupies
//!   `[start − buffer_before, start + duration + buffer_after)`, and that whole span, buffers
//!   included, must lie inside opening hours and inside one unbroken stretch of the
//!   practitioner's working time at this location: a clinic expects the set-up and clean-down to
//!   happen while it is open and the practitioner is at work.
//! - Working time = weekly rules at this location + extra-hours exceptions at this location −
//!   time-off exceptions (time off applies everywhere, whatever its `location_id`). Extra hours
//!   never open a closed clinic.
//! - A practitioner's busy intervals (bookings and unexpired holds, each already including its
//!   own buffers) must not overlap the occupied span; every required resource must have a unit
//!   free over the whole span (the most units in use at once inside the span is below its
//!   capacity).
//! - Minimum notice counts from `now`; the advance limit counts local calendar days (with 30,
//!   the last bookable day is today + 30, until its end); after the same-day cut-off no start on
//!   today's local date is offered.
//!
//! [`compute`] and [`explain`] share one checker (`Engine::check`); `compute` keeps the grid
//! starts for which that checker finds no reason against at least one practitioner.

use std::collections::HashMap;
use std::ops::BitOrAssign;

use chrono::{DateTime, Days, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone as _, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::catalog::{ExceptionKind, Location, Practitioner, PractitionerException, Resource, Service};
use super::schedule::{LocalTime, Weekday};
use crate::error::{AppError, AppResult};
use crate::ids::{PractitionerId, ResourceId};

/// A clinic's booking policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct BookingRules {
    /// Starts lie this many minutes apart, counted in local time from each opening span's start.
    pub grid_minutes: u32,
    /// A start must be at least this many minutes after `now`.
    pub min_notice_minutes: u32,
    /// The last bookable local day is today plus this many days.
    pub max_advance_days: u32,
    /// From this local time on, nothing more can be booked for today.
    pub same_day_cutoff: Option<LocalTime>,
}

impl Default for BookingRules {
    fn default() -> Self {
        BookingRules { grid_minutes: 15, min_notice_minutes: 0, max_advance_days: 365, same_day_cutoff: None }
    }
}

impl BookingRules {
    pub fn check(&self) -> AppResult<()> {
        if !(5..=240).contains(&self.grid_minutes) || !self.grid_minutes.is_multiple_of(5) {
            return Err(AppError::invalid("out_of_range", "grid_minutes", "must be 5–240 minutes in steps of 5"));
        }
        if self.min_notice_minutes > 60 * 24 * 60 {
            return Err(AppError::invalid("out_of_range", "min_notice_minutes", "must be at most 60 days"));
        }
        if self.max_advance_days > 730 {
            return Err(AppError::invalid("out_of_range", "max_advance_days", "must be at most 730 days"));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BusyKind {
    Booked,
    /// A slot held while a deposit is paid; pass only holds that have not expired.
    Hold,
}

/// Time already taken: an appointment or an unexpired hold, for a practitioner, some resources
/// or both. `start..end` already includes that booking's own buffers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Busy {
    pub practitioner_id: Option<PractitionerId>,
    #[serde(default)]
    pub resource_ids: Vec<ResourceId>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub kind: BusyKind,
}

/// Everything the engine looks at. The caller loads it; the engine reads nothing else.
#[derive(Debug, Clone, Copy)]
pub struct AvailabilityInput<'a> {
    pub location: &'a Location,
    pub service: &'a Service,
    /// Candidates (archived or inactive ones are reported `practitioner_off`).
    pub practitioners: &'a [Practitioner],
    /// Exceptions of any of these practitioners (matched by `practitioner_id`).
    pub exceptions: &'a [PractitionerException],
    /// At least the service's required resources; others are ignored.
    pub resources: &'a [Resource],
    /// Bookings and unexpired holds of these practitioners and resources, at any location.
    pub busy: &'a [Busy],
    pub rules: BookingRules,
    pub now: DateTime<Utc>,
    /// Starts are looked for in `from..to`; the caller bounds the window (`max_advance_days`
    /// bounds it too).
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Only this practitioner.
    pub practitioner: Option<&'a PractitionerId>,
}

/// A bookable start and who can take it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Slot {
    pub start: DateTime<Utc>,
    /// The start on the location's wall clock.
    pub local_start: NaiveDateTime,
    pub practitioner_ids: Vec<PractitionerId>,
}

/// Why a start cannot be booked (with one practitioner, or with anyone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    /// The location is closed (closure day, outside opening hours, archived) for part of the span.
    Closed,
    /// Inside opening hours but not on the grid (or the later pass of a repeated local time).
    OffGrid,
    /// Before `now` + minimum notice, or today after the same-day cut-off.
    TooSoon,
    /// Past the last bookable day.
    TooFar,
    /// The service is inactive, archived, or not offered at this location.
    NotOffered,
    /// A required resource is unknown, archived, inactive or at another location.
    ResourceUnavailable,
    /// A required resource has no free unit for the whole span.
    ResourceTaken,
    /// The service's category is not among the practitioner's specialties.
    NotQualified,
    /// Not working at this location for the whole span (or archived, inactive).
    PractitionerOff,
    /// The treatment itself overlaps one of the practitioner's bookings.
    Busy,
    /// Only this service's buffers overlap one of the practitioner's bookings.
    Buffer,
    /// Overlaps one of the practitioner's unexpired holds.
    Hold,
}

impl ReasonCode {
    const ALL: [ReasonCode; 12] = [
        ReasonCode::Closed,
        ReasonCode::OffGrid,
        ReasonCode::TooSoon,
        ReasonCode::TooFar,
        ReasonCode::NotOffered,
        ReasonCode::ResourceUnavailable,
        ReasonCode::ResourceTaken,
        ReasonCode::NotQualified,
        ReasonCode::PractitionerOff,
        ReasonCode::Busy,
        ReasonCode::Buffer,
        ReasonCode::Hold,
    ];
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Reason {
    pub code: ReasonCode,
    /// `None` when the reason holds for every practitioner.
    pub practitioner_id: Option<PractitionerId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Explanation {
    pub bookable: bool,
    /// Who could take this start.
    pub practitioner_ids: Vec<PractitionerId>,
    /// Every reason found, shared ones first, then each practitioner's.
    pub reasons: Vec<Reason>,
}

/// The bookable starts in `input.from..input.to`, sorted, each once.
pub fn compute(input: &AvailabilityInput) -> Vec<Slot> {
    let tz = input.location.data.timezone.tz();
    let limits = Limits::new(input, tz);
    let from = ceil_secs(input.from).max(limits.earliest);
    let to = ceil_secs(input.to).min(limits.beyond);
    if from >= to {
        return Vec::new();
    }
    let engine = Engine::new(input, tz, limits, from, to);
    if !engine.standing.is_empty() {
        return Vec::new();
    }
    let mut reasons = vec![Reasons::NONE; engine.staff.len()];
    let mut slots = Vec::new();
    for start in &engine.grid {
        if !engine.check(start.at, false, &mut reasons).is_empty() {
            continue;
        }
        let free = engine.staff.iter().zip(&reasons).filter(|(_, r)| r.is_empty());
        let practitioner_ids: Vec<PractitionerId> = free.map(|(staff, _)| staff.id.clone()).collect();
        if !practitioner_ids.is_empty() {
            slots.push(Slot { start: instant(start.at), local_start: start.local, practitioner_ids });
        }
    }
    slots
}

/// Whether `start` can be booked and every reason against it. `input.from`/`to` are ignored.
pub fn explain(input: &AvailabilityInput, start: DateTime<Utc>) -> Explanation {
    let tz = input.location.data.timezone.tz();
    let at = start.timestamp();
    let engine = Engine::new(input, tz, Limits::new(input, tz), at, at + 1);
    let mut staff_reasons = vec![Reasons::NONE; engine.staff.len()];
    let mut shared = engine.check(at, true, &mut staff_reasons);
    if start.timestamp_subsec_nanos() != 0 {
        shared |= ReasonCode::OffGrid;
    }
    let mut reasons: Vec<Reason> = shared.codes().map(|code| Reason { code, practitioner_id: None }).collect();
    let mut practitioner_ids = Vec::new();
    for (staff, own) in engine.staff.iter().zip(&staff_reasons) {
        if own.is_empty() {
            practitioner_ids.push(staff.id.clone());
        }
        reasons.extend(own.codes().map(|code| Reason { code, practitioner_id: Some(staff.id.clone()) }));
    }
    if engine.staff.is_empty() {
        reasons.push(Reason { code: ReasonCode::PractitionerOff, practitioner_id: input.practitioner.cloned() });
    }
    let bookable = shared.is_empty() && !practitioner_ids.is_empty();
    if !bookable {
        practitioner_ids.clear();
    }
    Explanation { bookable, practitioner_ids, reasons }
}

/// A set of reason codes, one bit each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Reasons(u16);

impl Reasons {
    const NONE: Reasons = Reasons(0);

    fn is_empty(self) -> bool {
        self.0 == 0
    }

    fn codes(self) -> impl Iterator<Item = ReasonCode> {
        ReasonCode::ALL.into_iter().filter(move |code| self.0 & (1 << *code as u16) != 0)
    }
}

impl BitOrAssign<ReasonCode> for Reasons {
    fn bitor_assign(&mut self, code: ReasonCode) {
        self.0 |= 1 << code as u16;
    }
}

/// Notice, advance and cut-off, as instants (epoch seconds).
#[derive(Debug, Clone, Copy)]
struct Limits {
    /// Starts before this are too soon (now + minimum notice).
    earliest: i64,
    /// Starts before this are too soon when today's cut-off has passed (the start of tomorrow).
    cutoff_until: Option<i64>,
    /// Starts at or after this are too far (the start of the day after the last bookable day).
    beyond: i64,
}

impl Limits {
    fn new(input: &AvailabilityInput, tz: Tz) -> Limits {
        let rules = input.rules;
        let now = ceil_secs(input.now);
        let local_now = input.now.with_timezone(&tz).naive_local();
        let today = local_now.date();
        let day_start = |days: u64| {
            today
                .checked_add_days(Days::new(days))
                .map_or(i64::MAX, |d| first_instant_at(tz, d.and_time(NaiveTime::MIN)))
        };
        let past_cutoff = rules.same_day_cutoff.is_some_and(|cutoff| local_now.time() >= cutoff.time());
        Limits {
            earliest: now.saturating_add(i64::from(rules.min_notice_minutes) * 60),
            cutoff_until: past_cutoff.then(|| day_start(1)),
            beyond: day_start(u64::from(rules.max_advance_days) + 1),
        }
    }
}

/// An interval in epoch seconds, `[start, end)`.
type Span = (i64, i64);

#[derive(Debug, Clone, Copy)]
struct GridStart {
    at: i64,
    local: NaiveDateTime,
}

#[derive(Debug, Clone, Copy)]
struct Taken {
    start: i64,
    end: i64,
    hold: bool,
}

/// A required resource: how many units, and the intervals that use one, sorted by start.
#[derive(Debug)]
struct Room {
    capacity: usize,
    taken: Vec<Span>,
    longest: i64,
}

impl Room {
    fn has_free_unit(&self, from: i64, until: i64) -> bool {
        let lo = self.taken.partition_point(|t| t.0 <= from - self.longest);
        let hi = self.taken.partition_point(|t| t.0 < until);
        let overlapping = || self.taken[lo..hi].iter().filter(|t| t.1 > from);
        if overlapping().count() < self.capacity {
            return true;
        }
        // The most units in use at once inside the span is reached where the span or one of the
        // overlapping intervals starts.
        !overlapping().any(|t| {
            let at = t.0.max(from);
            overlapping().filter(|o| o.0 <= at && at < o.1).count() >= self.capacity
        })
    }
}

/// One practitioner, prepared: reasons that hold whatever the start, working time as merged
/// intervals, and busy intervals sorted by start.
#[derive(Debug)]
struct Staff<'a> {
    id: &'a PractitionerId,
    standing: Reasons,
    working: Vec<Span>,
    taken: Vec<Taken>,
    longest: i64,
}

impl Staff<'_> {
    fn reasons(&self, from: i64, treatment: Span, until: i64, all: bool) -> Reasons {
        let mut reasons = self.standing;
        if !all && !reasons.is_empty() {
            return reasons;
        }
        if !covers(&self.working, from, until) {
            reasons |= ReasonCode::PractitionerOff;
            if !all {
                return reasons;
            }
        }
        let lo = self.taken.partition_point(|t| t.start <= from - self.longest);
        let hi = self.taken.partition_point(|t| t.start < until);
        for taken in self.taken[lo..hi].iter().filter(|t| t.end > from) {
            reasons |= if taken.hold {
                ReasonCode::Hold
            } else if taken.start < treatment.1 && treatment.0 < taken.end {
                ReasonCode::Busy
            } else {
                ReasonCode::Buffer
            };
            if !all {
                return reasons;
            }
        }
        reasons
    }
}

/// The input prepared for checking starts in one window: local rules turned into instants once.
#[derive(Debug)]
struct Engine<'a> {
    /// Reasons that hold for every start (service not offered, resource unavailable, …).
    standing: Reasons,
    before: i64,
    duration: i64,
    after: i64,
    limits: Limits,
    /// Opening hours minus closures, merged.
    opening: Vec<Span>,
    /// Grid starts inside the window, sorted, each once.
    grid: Vec<GridStart>,
    rooms: Vec<Room>,
    staff: Vec<Staff<'a>>,
}

impl<'a> Engine<'a> {
    /// Prepares for starts in `from..to` (epoch seconds).
    fn new(input: &AvailabilityInput<'a>, tz: Tz, limits: Limits, from: i64, to: i64) -> Engine<'a> {
        let location = input.location;
        let location_id = &location.id;
        let service = input.service;
        let minutes = |m: u32| i64::from(m) * 60;
        let (before, duration, after) = (
            minutes(service.data.buffer_before_minutes.get()),
            minutes(service.data.duration_minutes.get()),
            minutes(service.data.buffer_after_minutes.get()),
        );

        let mut standing = Reasons::NONE;
        if location.archived {
            standing |= ReasonCode::Closed;
        }
        let offered_here = service.data.location_ids.is_empty() || service.data.location_ids.contains(location_id);
        if service.archived || !service.data.active || !offered_here {
            standing |= ReasonCode::NotOffered;
        }

        // Everything a start in the window can touch: its occupied span, in whole local days
        // (one more each side so that no boundary near midnight is missed).
        let reach = (from.saturating_sub(before), to.saturating_add(duration + after));
        let first_day = local_date(tz, reach.0).pred_opt().unwrap_or(NaiveDate::MIN);
        let last_day = local_date(tz, reach.1).succ_opt().unwrap_or(NaiveDate::MAX);
        let days = || first_day.iter_days().take_while(move |day| *day <= last_day);
        let relevant = |start: i64, end: i64| start < end && end > reach.0 && start < reach.1;

        let grid_step = input.rules.grid_minutes.max(1);
        let mut opening = Vec::new();
        let mut grid = Vec::new();
        for day in days() {
            if location.data.closures.iter().any(|c| c.from <= day && day <= c.to) {
                continue;
            }
            let weekday = Weekday::of(day);
            for hours in location.data.opening_hours.iter().filter(|h| h.day == weekday) {
                opening.push(local_span(tz, day, hours.start, hours.end));
                let (open, close) = (minute_of_day(hours.start), minute_of_day(hours.end));
                for minute in (open..close).step_by(grid_step as usize) {
                    let local = day.and_time(NaiveTime::MIN) + chrono::Duration::minutes(i64::from(minute));
                    let at = match tz.from_local_datetime(&local) {
                        LocalResult::Single(at) => at.timestamp(),
                        LocalResult::Ambiguous(earlier, later) => earlier.timestamp().min(later.timestamp()),
                        LocalResult::None => continue,
                    };
                    if (from..to).contains(&at) {
                        grid.push(GridStart { at, local });
                    }
                }
            }
        }
        let opening = merge(opening);
        grid.sort_unstable_by_key(|g| g.at);
        grid.dedup_by_key(|g| g.at);

        let mut rooms = Vec::with_capacity(service.data.required_resources.len());
        let mut room_index = HashMap::new();
        for resource_id in &service.data.required_resources {
            let usable =
                input.resources.iter().find(|r| &r.id == resource_id).filter(|r| {
                    !r.archived && r.data.active && &r.data.location_id == location_id && r.data.capacity > 0
                });
            match usable {
                Some(resource) => {
                    room_index.insert(resource_id, rooms.len());
                    rooms.push(Room { capacity: resource.data.capacity as usize, taken: Vec::new(), longest: 0 });
                }
                None => standing |= ReasonCode::ResourceUnavailable,
            }
        }

        let mut staff: Vec<Staff<'a>> = Vec::new();
        let mut staff_index = HashMap::new();
        let mut time_off: Vec<Vec<Span>> = Vec::new();
        for practitioner in input.practitioners {
            if input.practitioner.is_some_and(|only| only != &practitioner.id)
                || staff_index.contains_key(&practitioner.id)
            {
                continue;
            }
            let mut own = Reasons::NONE;
            if practitioner.archived || !practitioner.data.active {
                own |= ReasonCode::PractitionerOff;
            }
            if !practitioner.data.specialties.contains(&service.data.category) {
                own |= ReasonCode::NotQualified;
            }
            let mut working = Vec::new();
            for day in days() {
                let weekday = Weekday::of(day);
                let rules = practitioner
                    .data
                    .working_rules
                    .iter()
                    .filter(|r| r.day == weekday && &r.location_id == location_id);
                working.extend(rules.map(|rule| local_span(tz, day, rule.start, rule.end)));
            }
            staff_index.insert(&practitioner.id, staff.len());
            staff.push(Staff { id: &practitioner.id, standing: own, working, taken: Vec::new(), longest: 0 });
            time_off.push(Vec::new());
        }

        for exception in input.exceptions {
            let Some(&index) = staff_index.get(&exception.practitioner_id) else { continue };
            let data = &exception.record.data;
            if exception.record.archived {
                continue;
            }
            match data.kind {
                ExceptionKind::ExtraHours if data.location_id.as_ref() == Some(location_id) => {
                    // Rounded inwards: never more working time than given.
                    let span = (ceil_secs(data.starts_at), data.ends_at.timestamp());
                    if relevant(span.0, span.1) {
                        staff[index].working.push(span);
                    }
                }
                ExceptionKind::ExtraHours => {}
                ExceptionKind::TimeOff => {
                    let span = (data.starts_at.timestamp(), ceil_secs(data.ends_at));
                    if relevant(span.0, span.1) {
                        time_off[index].push(span);
                    }
                }
            }
        }
        for (member, off) in staff.iter_mut().zip(time_off) {
            member.working = subtract(&merge(std::mem::take(&mut member.working)), &merge(off));
        }

        for busy in input.busy {
            let span = (busy.start.timestamp(), ceil_secs(busy.end));
            if !relevant(span.0, span.1) {
                continue;
            }
            if let Some(&index) = busy.practitioner_id.as_ref().and_then(|id| staff_index.get(id)) {
                let member = &mut staff[index];
                member.taken.push(Taken { start: span.0, end: span.1, hold: busy.kind == BusyKind::Hold });
                member.longest = member.longest.max(span.1 - span.0);
            }
            for resource_id in &busy.resource_ids {
                if let Some(&index) = room_index.get(resource_id) {
                    let room: &mut Room = &mut rooms[index];
                    room.taken.push(span);
                    room.longest = room.longest.max(span.1 - span.0);
                }
            }
        }
        for member in &mut staff {
            member.taken.sort_unstable_by_key(|t| (t.start, t.end));
        }
        for room in &mut rooms {
            room.taken.sort_unstable();
        }

        Engine { standing, before, duration, after, limits, opening, grid, rooms, staff }
    }

    /// The one rule checker. Returns the reasons that hold for every practitioner and writes each
    /// practitioner's own into `staff_reasons` (one per `self.staff`). With `all` false it stops
    /// at the first reason (enough for `compute`): then `staff_reasons` is only meaningful when
    /// the returned set is empty. Allocates nothing.
    fn check(&self, start: i64, all: bool, staff_reasons: &mut [Reasons]) -> Reasons {
        let from = start - self.before;
        let treatment = (start, start + self.duration);
        let until = treatment.1 + self.after;
        let mut shared = self.standing;
        if self.grid.binary_search_by_key(&start, |g| g.at).is_err() {
            shared |= if covers(&self.opening, start, start + 1) { ReasonCode::OffGrid } else { ReasonCode::Closed };
        }
        if !covers(&self.opening, from, until) {
            shared |= ReasonCode::Closed;
        }
        if start < self.limits.earliest || self.limits.cutoff_until.is_some_and(|until| start < until) {
            shared |= ReasonCode::TooSoon;
        }
        if start >= self.limits.beyond {
            shared |= ReasonCode::TooFar;
        }
        if !all && !shared.is_empty() {
            return shared;
        }
        if self.rooms.iter().any(|room| !room.has_free_unit(from, until)) {
            shared |= ReasonCode::ResourceTaken;
            if !all {
                return shared;
            }
        }
        for (member, reasons) in self.staff.iter().zip(staff_reasons.iter_mut()) {
            *reasons = member.reasons(from, treatment, until, all);
        }
        shared
    }
}

/// The first instant of local day `day` in `tz` (its midnight, or the end of a gap at midnight).
pub fn day_start(tz: Tz, day: NaiveDate) -> DateTime<Utc> {
    instant(first_instant_at(tz, day.and_time(NaiveTime::MIN)))
}

/// The first instant at which the clock in `tz` reads `local` or later: the instant itself when
/// the local time exists once, the earlier instant when it exists twice, and the instant the
/// clock jumps forward when it falls in a gap.
fn first_instant_at(tz: Tz, local: NaiveDateTime) -> i64 {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(at) => at.timestamp(),
        LocalResult::Ambiguous(earlier, later) => earlier.timestamp().min(later.timestamp()),
        LocalResult::None => {
            // UTC offsets lie within ±15 h, so the jump lies within this window, and readings
            // rise through a gap: bisect for the first instant that reads `local` or later.
            let naive = local.and_utc().timestamp();
            let (mut before, mut after) = (naive - 15 * 3600, naive + 15 * 3600);
            while after - before > 1 {
                let mid = before + (after - before) / 2;
                if reading(tz, mid) >= local {
                    after = mid;
                } else {
                    before = mid;
                }
            }
            after
        }
    }
}

fn local_span(tz: Tz, day: NaiveDate, start: LocalTime, end: LocalTime) -> Span {
    (first_instant_at(tz, day.and_time(start.time())), first_instant_at(tz, day.and_time(end.time())))
}

fn minute_of_day(time: LocalTime) -> u32 {
    use chrono::Timelike;
    time.time().hour() * 60 + time.time().minute()
}

fn instant(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn reading(tz: Tz, secs: i64) -> NaiveDateTime {
    instant(secs).with_timezone(&tz).naive_local()
}

fn local_date(tz: Tz, secs: i64) -> NaiveDate {
    reading(tz, secs).date()
}

fn ceil_secs<T: chrono::TimeZone>(at: DateTime<T>) -> i64 {
    at.timestamp() + i64::from(at.timestamp_subsec_nanos() > 0)
}

/// Whether one interval of `windows` (sorted, merged) holds all of `from..until`.
fn covers(windows: &[Span], from: i64, until: i64) -> bool {
    let index = windows.partition_point(|w| w.0 <= from);
    index > 0 && windows[index - 1].1 >= until
}

/// Sorted, with empty intervals dropped and overlapping or touching ones joined.
fn merge(mut spans: Vec<Span>) -> Vec<Span> {
    spans.retain(|s| s.0 < s.1);
    spans.sort_unstable();
    let mut merged: Vec<Span> = Vec::with_capacity(spans.len());
    for span in spans {
        match merged.last_mut() {
            Some(last) if span.0 <= last.1 => last.1 = last.1.max(span.1),
            _ => merged.push(span),
        }
    }
    merged
}

/// `windows` minus `holes` (both sorted and merged).
fn subtract(windows: &[Span], holes: &[Span]) -> Vec<Span> {
    let mut out = Vec::with_capacity(windows.len());
    for &(window_start, end) in windows {
        let mut start = window_start;
        let first = holes.partition_point(|h| h.1 <= start);
        for &(hole_start, hole_end) in &holes[first..] {
            if hole_start >= end {
                break;
            }
            if hole_start > start {
                out.push((start, hole_start));
            }
            start = start.max(hole_end);
            if start >= end {
                break;
            }
        }
        if start < end {
            out.push((start, end));
        }
    }
    out
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod properties;
