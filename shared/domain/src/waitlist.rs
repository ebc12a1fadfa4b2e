//! The waitlist: a client waits for a service at a location, with one practitioner or anyone,
//! within a window of days and (optionally) times of day on the location's wall clock. When time
//! frees up (a cancellation, a move, an offer given back), the waiting entries that could take it
//! are asked in turn — first come, first asked — and the first whose window admits a free start
//! gets an offer: that start, held for them for a while. Everything here is pure; the use case
//! (`mas_booking::waitlist`) asks the availability engine which starts are free and lets the
//! calendar's conditional writes decide who holds them.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::{AppointmentId, ClientId, LocationId, PractitionerId, ServiceId, TenantId, WaitlistId};
use crate::links::LinkSigner;

/// The longest window one entry may wait over.
pub const MAX_WINDOW_DAYS: i64 = 92;

/// When a client could come: days `from_date..=to_date` and, when given, starts no earlier than
/// `earliest` and no later than `latest`, on the location's wall clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Window {
    pub from_date: NaiveDate,
    pub to_date: NaiveDate,
    #[schema(value_type = Option<String>, example = "09:00:00")]
    pub earliest: Option<NaiveTime>,
    #[schema(value_type = Option<String>, example = "13:00:00")]
    pub latest: Option<NaiveTime>,
}

/// Why a window cannot be waited on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    /// Field `to_date`.
    #[error("must not be before `from_date`")]
    Backwards,
    /// Field `to_date`.
    #[error("a window spans at most {MAX_WINDOW_DAYS} days")]
    TooLong,
    /// Field `to_date`: the window is over already.
    #[error("the window is in the past")]
    Past,
    /// Field `latest`.
    #[error("must be after `earliest`")]
    EmptyTimes,
}

impl WindowError {
    pub fn field(self) -> &'static str {
        match self {
            WindowError::Backwards | WindowError::TooLong | WindowError::Past => "to_date",
            WindowError::EmptyTimes => "latest",
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            WindowError::Backwards => "empty_window",
            WindowError::TooLong => "window_too_large",
            WindowError::Past => "window_past",
            WindowError::EmptyTimes => "empty_times",
        }
    }
}

impl Window {
    /// A window a client may wait on, given the location's `today`.
    pub fn parse(
        from_date: NaiveDate,
        to_date: NaiveDate,
        earliest: Option<NaiveTime>,
        latest: Option<NaiveTime>,
        today: NaiveDate,
    ) -> Result<Window, WindowError> {
        if to_date < from_date {
            return Err(WindowError::Backwards);
        }
        if to_date < today {
            return Err(WindowError::Past);
        }
        if (to_date - from_date).num_days() >= MAX_WINDOW_DAYS {
            return Err(WindowError::TooLong);
        }
        if let (Some(e), Some(l)) = (earliest, latest)
            && l <= e
        {
            return Err(WindowError::EmptyTimes);
        }
        Ok(Window { from_date, to_date, earliest, latest })
    }

    /// Whether a start at `local` (the location's wall clock) suits.
    pub fn admits_local(&self, local: NaiveDateTime) -> bool {
        let (date, time) = (local.date(), local.time());
        date >= self.from_date
            && date <= self.to_date
            && self.earliest.is_none_or(|e| time >= e)
            && self.latest.is_none_or(|l| time <= l)
    }

    /// Whether a start at instant `start` suits, read on the wall clock of `zone` (so a window
    /// of 09:00–10:00 means those hours in summer time and in winter time alike).
    pub fn admits(&self, start: DateTime<Utc>, zone: Tz) -> bool {
        self.admits_local(start.with_timezone(&zone).naive_local())
    }

    /// Whether any day of `[from, until)` (on the wall clock of `zone`) is one of the window's.
    pub fn touches(&self, from: DateTime<Utc>, until: DateTime<Utc>, zone: Tz) -> bool {
        let first = from.with_timezone(&zone).date_naive();
        let last = (until - Duration::seconds(1)).with_timezone(&zone).date_naive();
        first <= self.to_date && last >= self.from_date
    }

    /// The last instant the window can matter: the end of `to_date` in `zone` (a day late at
    /// most, whatever the zone).
    pub fn over_after(&self) -> DateTime<Utc> {
        (self.to_date + Duration::days(2)).and_hms_opt(0, 0, 0).expect("midnight").and_utc()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WaitStatus {
    /// In the queue: the next time that suits is offered to them.
    Waiting,
    /// A time is held for them until the offer expires.
    Offered,
    /// They took the time offered (it is an appointment now).
    Booked,
    /// The offer ran out unanswered, or the window passed.
    Expired,
    /// Taken off the list: by the client (also by declining an offer) or the clinic.
    Withdrawn,
}

impl WaitStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            WaitStatus::Waiting => "waiting",
            WaitStatus::Offered => "offered",
            WaitStatus::Booked => "booked",
            WaitStatus::Expired => "expired",
            WaitStatus::Withdrawn => "withdrawn",
        }
    }

    /// Whether the entry still wants something (it may be offered, or holds an offer).
    pub fn is_open(self) -> bool {
        matches!(self, WaitStatus::Waiting | WaitStatus::Offered)
    }
}

/// A time held for a waiting client: the appointment holding it (pending until accepted) and
/// until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Offer {
    pub appointment_id: AppointmentId,
    pub practitioner_id: PractitionerId,
    pub start: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub offered_at: DateTime<Utc>,
    /// Set once the client accepted (the appointment is theirs; a deposit may still be due).
    pub accepted_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WaitlistEntry {
    pub id: WaitlistId,
    pub client_id: ClientId,
    pub location_id: LocationId,
    pub service_id: ServiceId,
    /// `None`: anyone who offers the service.
    pub practitioner_id: Option<PractitionerId>,
    pub window: Window,
    pub status: WaitStatus,
    /// The offer made (the latest one).
    pub offer: Option<Offer>,
    /// `client` (online) or the staff member who added them.
    pub added_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

/// Time someone gave up: a practitioner's, at a location, over `[from, until)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Freed {
    pub location_id: LocationId,
    pub practitioner_id: PractitionerId,
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

impl WaitlistEntry {
    /// Whether this entry may be asked about `freed`: it waits, at that location, for that
    /// practitioner or anyone, on one of the freed days.
    pub fn may_take(&self, freed: &Freed, zone: Tz) -> bool {
        self.status == WaitStatus::Waiting
            && self.location_id == freed.location_id
            && self.practitioner_id.as_ref().is_none_or(|p| p == &freed.practitioner_id)
            && self.window.touches(freed.from, freed.until, zone)
    }

    /// The next version, moved to `status`.
    pub fn moved(&self, status: WaitStatus, now: DateTime<Utc>) -> WaitlistEntry {
        let mut next = self.clone();
        next.status = status;
        next.version += 1;
        next.updated_at = now;
        next
    }
}

/// What an offer link signs (`links::LinkSigner`): one purpose's signature is useless for another.
pub const OFFER_LINK_PURPOSE: &str = "waitlist_offer";

/// The token of an offer's link: the clinic, the entry and the held appointment, signed. It is
/// good for as long as the offer is open (the entry's state, not the token, makes it one-time).
pub fn offer_token(signer: &LinkSigner, tenant: &TenantId, entry: &WaitlistId, appointment: &AppointmentId) -> String {
    let payload = format!("{tenant}.{entry}.{appointment}");
    let signature = signer.sign(OFFER_LINK_PURPOSE, &payload);
    format!("{payload}.{signature}")
}

/// What an offer link's token names, if we signed it.
pub fn read_offer_token(signer: &LinkSigner, token: &str) -> Option<(TenantId, WaitlistId, AppointmentId)> {
    let (payload, signature) = token.rsplit_once('.')?;
    if !signer.verify(OFFER_LINK_PURPOSE, payload, signature) {
        return None;
    }
    let mut parts = payload.split('.');
    let tenant = TenantId::parse(parts.next()?).ok()?;
    let entry = WaitlistId::parse(parts.next()?).ok()?;
    let appointment = AppointmentId::parse(parts.next()?).ok()?;
    parts.next().is_none().then_some((tenant, entry, appointment))
}

/// The entries that may take `freed`, in their turn: first joined, first asked.
pub fn in_turn<'a>(entries: &'a [WaitlistEntry], freed: &Freed, zone: Tz) -> Vec<&'a WaitlistEntry> {
    let mut turn: Vec<&WaitlistEntry> = entries.iter().filter(|e| e.may_take(freed, zone)).collect();
    turn.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    turn
}

/// The first of `free_starts` (the engine's free starts for the entry's service, in order) that
/// lies in the freed span and suits the entry's window.
pub fn first_start(
    entry: &WaitlistEntry,
    freed: &Freed,
    free_starts: &[DateTime<Utc>],
    zone: Tz,
) -> Option<DateTime<Utc>> {
    free_starts.iter().copied().filter(|s| *s >= freed.from && *s < freed.until && entry.window.admits(*s, zone)).min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn time(s: &str) -> NaiveTime {
        NaiveTime::parse_from_str(s, "%H:%M").unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn entry(id: &str, joined: &str, practitioner: Option<&str>, window: Window) -> WaitlistEntry {
        WaitlistEntry {
            id: WaitlistId::parse(id).unwrap(),
            client_id: ClientId::parse("cli_a").unwrap(),
            location_id: LocationId::parse("loc_a").unwrap(),
            service_id: ServiceId::parse("svc_a").unwrap(),
            practitioner_id: practitioner.map(|p| PractitionerId::parse(p).unwrap()),
            window,
            status: WaitStatus::Waiting,
            offer: None,
            added_by: "client".into(),
            created_at: utc(joined),
            updated_at: utc(joined),
            version: 1,
        }
    }

    fn morning(from: &str, to: &str) -> Window {
        Window { from_date: date(from), to_date: date(to), earliest: Some(time("09:00")), latest: Some(time("10:00")) }
    }

    fn freed(practitioner: &str, from: &str, until: &str) -> Freed {
        Freed {
            location_id: LocationId::parse("loc_a").unwrap(),
            practitioner_id: PractitionerId::parse(practitioner).unwrap(),
            from: utc(from),
            until: utc(until),
        }
    }

    #[test]
    fn a_morning_window_means_the_mornings_of_the_locations_clock_in_summer_and_in_winter() {
        let london = chrono_tz::Europe::London;
        let window = morning("2026-03-01", "2026-04-30");
        // 08:30 UTC is 08:30 in March before the change, 09:30 after it.
        assert!(!window.admits(utc("2026-03-27T08:30:00Z"), london));
        assert!(window.admits(utc("2026-03-30T08:30:00Z"), london));
        // The day of the change itself: 09:00 BST is 08:00 UTC.
        assert!(window.admits(utc("2026-03-29T08:00:00Z"), london));
        assert!(!window.admits(utc("2026-03-29T09:30:00Z"), london));
        // A start late in the evening in New York is the next day in UTC: the local day counts.
        let new_york = chrono_tz::America::New_York;
        let evening =
            Window { from_date: date("2026-04-30"), to_date: date("2026-04-30"), earliest: None, latest: None };
        assert!(evening.admits(new_york.with_ymd_and_hms(2026, 4, 30, 22, 0, 0).unwrap().to_utc(), new_york));
        assert!(!evening.admits(utc("2026-04-30T03:00:00Z"), new_york));
    }

    #[test]
    fn the_waiters_who_may_take_a_freed_time_are_asked_first_joined_first() {
        let london = chrono_tz::Europe::London;
        let later = entry("wai_b", "2026-05-02T10:00:00Z", None, morning("2026-06-01", "2026-06-30"));
        let earlier = entry("wai_a", "2026-05-01T10:00:00Z", Some("prc_x"), morning("2026-06-01", "2026-06-30"));
        let other_practitioner =
            entry("wai_c", "2026-04-01T10:00:00Z", Some("prc_y"), morning("2026-06-01", "2026-06-30"));
        let other_days = entry("wai_d", "2026-04-01T10:00:00Z", None, morning("2026-07-01", "2026-07-30"));
        let mut withdrawn = entry("wai_e", "2026-04-01T10:00:00Z", None, morning("2026-06-01", "2026-06-30"));
        withdrawn.status = WaitStatus::Withdrawn;
        let mut elsewhere = entry("wai_f", "2026-04-01T10:00:00Z", None, morning("2026-06-01", "2026-06-30"));
        elsewhere.location_id = LocationId::parse("loc_b").unwrap();
        let all = [later, earlier, other_practitioner, other_days, withdrawn, elsewhere];
        let span = freed("prc_x", "2026-06-10T08:00:00Z", "2026-06-10T09:00:00Z");
        let turn: Vec<&str> = in_turn(&all, &span, london).iter().map(|e| e.id.as_str()).collect();
        assert_eq!(turn, ["wai_a", "wai_b"]);
    }

    #[test]
    fn the_start_offered_is_the_first_free_one_in_the_freed_span_that_suits_the_window() {
        let london = chrono_tz::Europe::London;
        let waiter = entry("wai_a", "2026-05-01T10:00:00Z", None, morning("2026-06-01", "2026-06-30"));
        let span = freed("prc_x", "2026-06-10T07:30:00Z", "2026-06-10T10:00:00Z");
        // 07:30 UTC is 08:30 BST: too early for her; 08:00 and 08:15 UTC (09:00, 09:15 BST) suit;
        // 10:00 UTC is past the freed span.
        let starts = [
            utc("2026-06-10T10:00:00Z"),
            utc("2026-06-10T08:15:00Z"),
            utc("2026-06-10T07:30:00Z"),
            utc("2026-06-10T08:00:00Z"),
        ];
        assert_eq!(first_start(&waiter, &span, &starts, london), Some(utc("2026-06-10T08:00:00Z")));
        assert_eq!(first_start(&waiter, &span, &[utc("2026-06-10T07:30:00Z")], london), None);
    }

    #[test]
    fn an_offer_token_names_its_entry_only_with_our_signature() {
        let signer = LinkSigner::new(b"secret");
        let (t, e, a) = (
            TenantId::parse("ten_a").unwrap(),
            WaitlistId::parse("wai_b").unwrap(),
            AppointmentId::parse("apt_c").unwrap(),
        );
        let token = offer_token(&signer, &t, &e, &a);
        assert_eq!(read_offer_token(&signer, &token), Some((t.clone(), e.clone(), a.clone())));
        assert_eq!(read_offer_token(&LinkSigner::new(b"other"), &token), None);
        let forged = token.replace("wai_b", "wai_x");
        assert_eq!(read_offer_token(&signer, &forged), None);
        assert_eq!(read_offer_token(&signer, "nonsense"), None);
    }

    #[test]
    fn a_window_must_run_forwards_within_its_limit_and_not_be_over() {
        let today = date("2026-05-01");
        let ok = Window::parse(date("2026-05-01"), date("2026-05-31"), None, None, today);
        assert!(ok.is_ok());
        assert_eq!(
            Window::parse(date("2026-05-10"), date("2026-05-01"), None, None, today),
            Err(WindowError::Backwards)
        );
        assert_eq!(Window::parse(date("2026-04-01"), date("2026-04-30"), None, None, today), Err(WindowError::Past));
        assert_eq!(Window::parse(date("2026-05-01"), date("2026-08-31"), None, None, today), Err(WindowError::TooLong));
        let times = Window::parse(today, today, Some(time("12:00")), Some(time("09:00")), today);
        assert_eq!(times, Err(WindowError::EmptyTimes));
    }
}
