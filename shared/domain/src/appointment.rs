//! Appointments: their lifecycle as a state machine, and the claim cells that make double booking
//! impossible.
//!
//! **Claim cells.** A booking claims every five-minute cell (UTC-aligned, [`CELL_SECONDS`]) of
//! its occupied span `[start − buffer_before, end + buffer_after)`, for its practitioner and for
//! one unit of each required resource, in the same transaction that stores it; each cell is
//! written with "absent, or an expired hold". Two bookings that would overlap share at least one
//! cell, so exactly one transaction wins, on SQLite and DynamoDB alike. Five minutes is the
//! domain's own grid (durations, buffers and local times are multiples of it), so cells are
//! exact: back-to-back bookings never collide falsely. Cells are UTC because a local time repeats
//! when clocks go back; every offset in use is a multiple of 15 minutes, so local five-minute
//! times are UTC cell edges. The cost is one write per cell: DynamoDB's 100-write transaction
//! bounds how long one booking (or one move) can be, which `ops::appointments` checks.

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::values::{Money, Text, TimeZone};
use crate::ids::{AppointmentId, ClientId, LocationId, PractitionerId, ResourceId, ServiceId};

/// The width of a claim cell.
pub const CELL_SECONDS: i64 = 5 * 60;

/// `[start, end)` rounded out to whole cells.
pub fn claimed_span(start: DateTime<Utc>, end: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let from = start.timestamp().div_euclid(CELL_SECONDS) * CELL_SECONDS;
    let until = (end.timestamp() + CELL_SECONDS - 1).div_euclid(CELL_SECONDS) * CELL_SECONDS;
    (at(from), at(until))
}

/// The start of every cell `[start, end)` touches.
pub fn cells(start: DateTime<Utc>, end: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let (from, until) = claimed_span(start, end);
    (from.timestamp()..until.timestamp()).step_by(CELL_SECONDS as usize).map(at).collect()
}

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).expect("a cell edge within chrono's range")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AppointmentStatus {
    /// Cells held until the deposit is paid or the hold expires.
    PendingDeposit,
    Scheduled,
    CheckedIn,
    InProgress,
    Completed,
    Cancelled,
    NoShow,
}

impl AppointmentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AppointmentStatus::PendingDeposit => "pending_deposit",
            AppointmentStatus::Scheduled => "scheduled",
            AppointmentStatus::CheckedIn => "checked_in",
            AppointmentStatus::InProgress => "in_progress",
            AppointmentStatus::Completed => "completed",
            AppointmentStatus::Cancelled => "cancelled",
            AppointmentStatus::NoShow => "no_show",
        }
    }

    /// Whether the appointment still occupies its time.
    pub fn occupies_time(self) -> bool {
        !matches!(self, AppointmentStatus::Cancelled)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AppointmentAction {
    Reschedule,
    Cancel,
    CheckIn,
    Start,
    Complete,
    NoShow,
}

impl AppointmentAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AppointmentAction::Reschedule => "reschedule",
            AppointmentAction::Cancel => "cancel",
            AppointmentAction::CheckIn => "check_in",
            AppointmentAction::Start => "start",
            AppointmentAction::Complete => "complete",
            AppointmentAction::NoShow => "no_show",
        }
    }
}

/// The lifecycle. Every move not listed here is illegal:
///
/// ```text
/// pending_deposit ─(deposit paid)→ scheduled ─check_in→ checked_in ─start→ in_progress ─complete→ completed
///   │  ↺ reschedule                 │  ↺ reschedule       │
///   └─cancel→ cancelled ←─cancel────┘                     └─no_show is only from scheduled
/// scheduled ─no_show→ no_show
/// ```
/// A client who has checked in can still leave before treatment (`cancel` from `checked_in`).
pub fn next_status(from: AppointmentStatus, action: AppointmentAction) -> Option<AppointmentStatus> {
    use AppointmentAction as A;
    use AppointmentStatus as S;
    match (from, action) {
        (S::PendingDeposit | S::Scheduled, A::Reschedule) => Some(from),
        (S::PendingDeposit | S::Scheduled | S::CheckedIn, A::Cancel) => Some(S::Cancelled),
        (S::Scheduled, A::CheckIn) => Some(S::CheckedIn),
        (S::CheckedIn, A::Start) => Some(S::InProgress),
        (S::InProgress, A::Complete) => Some(S::Completed),
        (S::Scheduled, A::NoShow) => Some(S::NoShow),
        _ => None,
    }
}

/// `BK-` and eight digits, from a random number below 10⁸; uniqueness within a tenant is
/// claimed in the booking transaction, not assumed.
pub fn confirmation_number(random: u32) -> String {
    format!("BK-{:08}", random % 100_000_000)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn a_span_claims_every_five_minute_cell_it_touches() {
        let t = |h, m| Utc.with_ymd_and_hms(2026, 3, 29, h, m, 0).unwrap();
        assert_eq!(cells(t(9, 0), t(9, 20)), vec![t(9, 0), t(9, 5), t(9, 10), t(9, 15)]);
        assert_eq!(cells(t(9, 50), t(10, 0)), vec![t(9, 50), t(9, 55)]);
        let odd = t(9, 2);
        assert_eq!(claimed_span(odd, odd + chrono::Duration::minutes(4)), (t(9, 0), t(9, 10)));
        assert_eq!(cells(t(9, 0), t(10, 0)).len(), 12);
    }

    #[test]
    fn two_spans_share_a_cell_exactly_when_their_claimed_spans_overlap() {
        let base = Utc.with_ymd_and_hms(2026, 3, 29, 8, 0, 0).unwrap().timestamp();
        // Steps of 100 s, so spans fall on and off cell edges.
        let at = |step: i64| DateTime::from_timestamp(base + step * 100, 0).unwrap();
        for a in 0..12 {
            for a_len in 1..6 {
                for b in 0..12 {
                    for b_len in 1..6 {
                        let (a0, a1) = (at(a), at(a + a_len));
                        let (b0, b1) = (at(b), at(b + b_len));
                        let share = cells(a0, a1).iter().any(|c| cells(b0, b1).contains(c));
                        let (c0, c1) = claimed_span(b0, b1);
                        assert_eq!(share, a0 < c1 && c0 < a1, "a={a}+{a_len} b={b}+{b_len}");
                    }
                }
            }
        }
    }

    #[test]
    fn only_the_listed_moves_are_legal() {
        use AppointmentAction as A;
        use AppointmentStatus as S;
        let statuses =
            [S::PendingDeposit, S::Scheduled, S::CheckedIn, S::InProgress, S::Completed, S::Cancelled, S::NoShow];
        let actions = [A::Reschedule, A::Cancel, A::CheckIn, A::Start, A::Complete, A::NoShow];
        let legal: Vec<(S, A)> = statuses
            .iter()
            .flat_map(|s| actions.iter().map(move |a| (*s, *a)))
            .filter(|(s, a)| next_status(*s, *a).is_some())
            .collect();
        assert_eq!(legal.len(), 9);
        for terminal in [S::Completed, S::Cancelled, S::NoShow] {
            assert!(actions.iter().all(|a| next_status(terminal, *a).is_none()), "{terminal:?} is final");
        }
        assert_eq!(next_status(S::Cancelled, A::Reschedule), None);
        assert_eq!(next_status(S::Scheduled, A::CheckIn), Some(S::CheckedIn));
    }

    #[test]
    fn confirmation_numbers_are_bk_and_eight_digits() {
        assert_eq!(confirmation_number(42), "BK-00000042");
        assert_eq!(confirmation_number(u32::MAX), "BK-94967295");
    }
}

/// One unit of a required resource that a booking holds (a room of capacity 2 has units 0 and 1).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub struct ResourceUnit {
    pub resource_id: ResourceId,
    pub unit: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BookingSource {
    /// The clinic's public site.
    Online,
    Staff,
}

/// The screening outcome kept with a booking: levels and codes only, never the answers (those
/// live encrypted in the client's medical record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ScreeningSummary {
    pub rules_version: u32,
    pub outcome: String,
    pub flag_codes: Vec<String>,
}

/// One move in an appointment's life, kept on the appointment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StatusChange {
    pub at: DateTime<Utc>,
    pub action: String,
    pub from: Option<AppointmentStatus>,
    pub to: AppointmentStatus,
    /// A member id, `client` or `system`.
    pub by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Appointment {
    pub id: AppointmentId,
    pub confirmation_number: String,
    pub status: AppointmentStatus,
    pub client_id: ClientId,
    pub location_id: LocationId,
    pub service_id: ServiceId,
    pub practitioner_id: PractitionerId,
    pub resources: Vec<ResourceUnit>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The start on the location's wall clock, with its offset.
    pub local_start: DateTime<FixedOffset>,
    pub timezone: TimeZone,
    pub buffer_before_minutes: u32,
    pub buffer_after_minutes: u32,
    /// While `pending_deposit`: when the held time is released to other bookers.
    pub hold_expires_at: Option<DateTime<Utc>>,
    pub price: Money,
    /// The deposit the policy asks for (zero: none).
    pub deposit: Money,
    pub deposit_paid: Money,
    /// The policy version this appointment was booked under; its fees follow it.
    pub policy_version: u32,
    pub source: BookingSource,
    /// The screening outcome (health data): answered only to roles that read clinical records.
    pub screening: Option<ScreeningSummary>,
    pub notes: Option<Text>,
    pub history: Vec<StatusChange>,
    /// When the client confirmed they will come (a `C` reply to a reminder); cleared by a move.
    #[serde(default)]
    pub attendance_confirmed_at: Option<DateTime<Utc>>,
    /// The client agreed at booking that the clinic may charge the card they pay with for the
    /// part of a fee the deposit does not cover; absent: they did not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_on_file_consent: Option<CardOnFileConsent>,
    /// Present when this appointment is one service of a visit booked as one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visit: Option<Visit>,
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a client agreed to about keeping their card for fees, as it was shown to them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CardOnFileConsent {
    pub agreed_at: DateTime<Utc>,
    /// The policy version whose fees it covers (the appointment's).
    pub policy_version: u32,
    /// The words agreed to (`Policy::card_on_file_terms`).
    pub terms: String,
}

/// The services of a visit booked as one, in order. Each service is its own appointment (with
/// its own practitioner, resources and state, so the desk sees who does what), and every one of
/// them carries this whole list. The first is the visit's lead: it carries the visit's deposit
/// and its fees, and the client's notices and reminders speak of the visit through it. A visit is
/// booked, moved and cancelled as a unit, in one transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Visit {
    pub parts: Vec<VisitPart>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VisitPart {
    pub appointment_id: AppointmentId,
    pub service_id: ServiceId,
    pub practitioner_id: PractitionerId,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Runs alongside the part before it (same start, another practitioner) rather than after it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub with_previous: bool,
}

impl Visit {
    pub fn lead(&self) -> Option<&AppointmentId> {
        self.parts.first().map(|p| &p.appointment_id)
    }

    pub fn appointment_ids(&self) -> impl Iterator<Item = &AppointmentId> {
        self.parts.iter().map(|p| &p.appointment_id)
    }
}

/// The most services one visit may hold (a salon's longest day: colour, cut, treatment, finish…).
pub const MAX_VISIT_SERVICES: usize = 6;

/// Where the next service of a visit starts: as soon as the previous one's occupied time (its
/// buffer after included) ends, after the next one's own buffer before, so their claims never
/// overlap and the same practitioner can do both.
pub fn next_start(previous_end: DateTime<Utc>, previous_buffer_after: u32, next_buffer_before: u32) -> DateTime<Utc> {
    previous_end + chrono::Duration::minutes(i64::from(previous_buffer_after) + i64::from(next_buffer_before))
}

/// How one service of a visit sits in time, for laying out the visit's itinerary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartTiming {
    pub duration_minutes: u32,
    pub buffer_before_minutes: u32,
    pub buffer_after_minutes: u32,
    /// Starts together with the part before it, rather than after it.
    pub with_previous: bool,
}

/// The parallel groups of a visit, as index ranges: a part that runs with the previous one joins
/// its group (the first part always opens one).
pub fn parallel_groups(with_previous: impl IntoIterator<Item = bool>) -> Vec<std::ops::Range<usize>> {
    let mut groups: Vec<std::ops::Range<usize>> = Vec::new();
    for (index, joins) in with_previous.into_iter().enumerate() {
        match groups.last_mut() {
            Some(group) if joins => group.end = index + 1,
            _ => groups.push(index..index + 1),
        }
    }
    groups
}

/// Every part's start when the visit's first part starts at `start`. The parts of a parallel
/// group start together; the next group starts once the latest of the group's occupied times
/// (buffer after included) ends, after the longest buffer before among its own parts, so no
/// part's claims overlap another's of an earlier or later group (the sequential case is
/// [`next_start`]).
pub fn itinerary(start: DateTime<Utc>, parts: &[PartTiming]) -> Vec<DateTime<Utc>> {
    let minutes = |m: u32| chrono::Duration::minutes(i64::from(m));
    let mut starts = Vec::with_capacity(parts.len());
    let mut left: Option<DateTime<Utc>> = None;
    for group in parallel_groups(parts.iter().map(|p| p.with_previous)) {
        let members = &parts[group];
        let at = match left {
            None => start,
            Some(left) => left + minutes(members.iter().map(|p| p.buffer_before_minutes).max().unwrap_or(0)),
        };
        left = members.iter().map(|p| at + minutes(p.duration_minutes + p.buffer_after_minutes)).max();
        starts.extend(members.iter().map(|_| at));
    }
    starts
}

/// What a visit request asks of one part's shape.
#[derive(Debug, Clone, Copy)]
pub struct PartShape<'a> {
    /// The service may run alongside another (`ServiceInput::parallel_ok`).
    pub parallel_ok: bool,
    pub with_previous: bool,
    /// The practitioner named for it (`None`: anyone).
    pub practitioner_id: Option<&'a PractitionerId>,
}

/// Why a visit's shape cannot be booked; `index` is the part's (0 is the first service).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    #[error("the first service has no service before it to run alongside")]
    NothingBefore,
    /// A part asked to run alongside another where one of the two does not allow it.
    #[error("service {} of the visit cannot run alongside the one before it: both must allow it (`parallel_ok`)", index + 1)]
    NotParallel { index: usize },
    /// One person cannot do two services at once.
    #[error("service {} of the visit runs alongside another with the same practitioner; one person cannot do both at once", index + 1)]
    SamePractitioner { index: usize },
}

/// Checks a visit's shape: every parallel group is made of services that all allow it, and no
/// practitioner is named for two parts of one group.
pub fn check_shape(parts: &[PartShape]) -> Result<(), ShapeError> {
    if parts.first().is_some_and(|p| p.with_previous) {
        return Err(ShapeError::NothingBefore);
    }
    for group in parallel_groups(parts.iter().map(|p| p.with_previous)) {
        if group.len() < 2 {
            continue;
        }
        for index in group.clone() {
            if !parts[index].parallel_ok {
                // The part that asked: this one, or the next one when this is the group's first.
                let asking = if index == group.start { index + 1 } else { index };
                return Err(ShapeError::NotParallel { index: asking });
            }
        }
        for index in group.clone() {
            let named = parts[index].practitioner_id;
            if named.is_some() && parts[group.start..index].iter().any(|p| p.practitioner_id == named) {
                return Err(ShapeError::SamePractitioner { index });
            }
        }
    }
    Ok(())
}

/// One practitioner for every part of a visit, from each part's candidates (in the engine's
/// order; the `attempt`-th is preferred, or the last when there are fewer), different within each
/// parallel group. `None` when some group cannot be staffed by distinct people.
pub fn staff(
    candidates: &[Vec<PractitionerId>],
    with_previous: &[bool],
    attempt: usize,
) -> Option<Vec<PractitionerId>> {
    let preference = |list: &[PractitionerId]| -> Vec<PractitionerId> {
        let first = attempt.min(list.len().saturating_sub(1));
        list.get(first)
            .into_iter()
            .chain(list.iter().enumerate().filter(|(i, _)| *i != first).map(|(_, p)| p))
            .cloned()
            .collect()
    };
    let mut chosen = Vec::with_capacity(candidates.len());
    for group in parallel_groups(with_previous.iter().copied()) {
        let options: Vec<Vec<PractitionerId>> = candidates[group].iter().map(|c| preference(c)).collect();
        if options.len() == 1 {
            chosen.push(options[0].first()?.clone());
            continue;
        }
        let mut picked = Vec::with_capacity(options.len());
        if !assign(&options, &mut picked) {
            return None;
        }
        chosen.extend(picked);
    }
    Some(chosen)
}

/// Backtracking: the first assignment, in preference order, of distinct practitioners.
fn assign(options: &[Vec<PractitionerId>], picked: &mut Vec<PractitionerId>) -> bool {
    let Some(mine) = options.get(picked.len()) else { return true };
    for candidate in mine {
        if picked.contains(candidate) {
            continue;
        }
        picked.push(candidate.clone());
        if assign(options, picked) {
            return true;
        }
        picked.pop();
    }
    false
}

impl Appointment {
    /// A single booking, or the first service of a visit: the one the client hears about.
    pub fn is_visit_lead(&self) -> bool {
        self.visit.as_ref().and_then(Visit::lead).is_none_or(|lead| lead == &self.id)
    }

    /// The time it keeps from others, buffers included.
    pub fn occupied(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        occupied_span(self.start, self.end, self.buffer_before_minutes, self.buffer_after_minutes)
    }

    /// A pending deposit whose hold has run out: its time may already belong to someone else.
    pub fn hold_expired(&self, now: DateTime<Utc>) -> bool {
        self.status == AppointmentStatus::PendingDeposit && self.hold_expires_at.is_some_and(|until| until <= now)
    }
}

pub fn occupied_span(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    before: u32,
    after: u32,
) -> (DateTime<Utc>, DateTime<Utc>) {
    (start - chrono::Duration::minutes(i64::from(before)), end + chrono::Duration::minutes(i64::from(after)))
}

/// A booking's confirmation number as a caller types it: `BK-` and eight digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "BK-04821937")]
pub struct ConfirmationNumber(String);

impl ConfirmationNumber {
    pub fn parse(raw: &str) -> Result<ConfirmationNumber, super::values::ParseError> {
        let raw = raw.trim().to_uppercase();
        match raw.strip_prefix("BK-") {
            Some(digits) if digits.len() == 8 && digits.chars().all(|c| c.is_ascii_digit()) => {
                Ok(ConfirmationNumber(raw))
            }
            _ => Err(super::values::ParseError("must be a confirmation number such as BK-04821937".into())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ConfirmationNumber {
    type Error = super::values::ParseError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        ConfirmationNumber::parse(&raw)
    }
}

impl From<ConfirmationNumber> for String {
    fn from(number: ConfirmationNumber) -> String {
        number.0
    }
}

#[cfg(test)]
mod parallel;
