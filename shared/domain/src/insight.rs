//! Insight: what the domain events say about how a clinic is doing, as daily rollups per
//! (tenant, local day, dimension), and the KPI maths over a period of them.
//!
//! Pure: an event arrives here as a [`Fact`] (the insight crate reads it off the event's
//! payload); [`Fact::deltas`] says which counters of which day's rollups it adds to, and a
//! client's completed visits ([`ClientVisits`]) say what is derived from the client's history
//! (new or returning, rebooked within 30/60/90 days) in a way that does not depend on the order
//! the visits arrive in: the projection adds `after − before` of [`ClientVisits::contribution`].

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::{AppointmentId, ClientId, LocationId, PractitionerId, ServiceId};
use crate::values::Currency;

/// The event kinds the projections read: kept in each tenant's event log (written with the
/// outbox, in the same transaction) so the projections can be rebuilt from it.
pub const PROJECTED_KINDS: [&str; 7] = [
    "booking.created",
    "booking.completed",
    "booking.no_show",
    "booking.cancelled",
    "sale.completed",
    "sale.voided",
    "sale.refunded",
];

/// The longest period one KPI read covers (a year of days, and a leap day).
pub const MAX_PERIOD_DAYS: i64 = 366;

/// What a day's rollup is of: the whole clinic, or one location, practitioner or service.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dimension {
    Clinic,
    Location(LocationId),
    Practitioner(PractitionerId),
    Service(ServiceId),
}

impl Dimension {
    /// How keys name it: `clinic`, or the id (its prefix says what it is).
    pub fn key(&self) -> String {
        match self {
            Dimension::Clinic => "clinic".into(),
            Dimension::Location(id) => id.to_string(),
            Dimension::Practitioner(id) => id.to_string(),
            Dimension::Service(id) => id.to_string(),
        }
    }

    pub fn parse(raw: &str) -> Option<Dimension> {
        if raw == "clinic" {
            return Some(Dimension::Clinic);
        }
        LocationId::parse(raw)
            .map(Dimension::Location)
            .or_else(|_| PractitionerId::parse(raw).map(Dimension::Practitioner))
            .or_else(|_| ServiceId::parse(raw).map(Dimension::Service))
            .ok()
    }
}

/// Where an appointment belongs: every dimension it counts in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dims {
    pub location_id: LocationId,
    pub practitioner_id: PractitionerId,
    pub service_id: ServiceId,
}

impl Dims {
    pub fn all(&self) -> [Dimension; 4] {
        [
            Dimension::Clinic,
            Dimension::Location(self.location_id.clone()),
            Dimension::Practitioner(self.practitioner_id.clone()),
            Dimension::Service(self.service_id.clone()),
        ]
    }
}

/// Who cancelled, as the cancellation's reason is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelReason {
    /// The client (from their portal or a link).
    Client,
    /// A member of the clinic.
    Clinic,
    /// The platform: a hold whose deposit was not paid in time.
    Unpaid,
}

impl CancelReason {
    /// From the actor of the cancellation (`client`, `system` or a member id).
    pub fn of_actor(actor: &str) -> CancelReason {
        match actor {
            "client" => CancelReason::Client,
            "system" => CancelReason::Unpaid,
            _ => CancelReason::Clinic,
        }
    }
}

/// One service line of a sale, as revenue is counted per practitioner and service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleLineFact {
    pub practitioner_id: Option<PractitionerId>,
    pub service_id: Option<ServiceId>,
    pub total_minor: i64,
}

/// A completed visit as a client's history keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visit {
    pub appointment_id: AppointmentId,
    pub day: NaiveDate,
    #[serde(flatten)]
    pub dims: Dims,
}

/// What an event says, for the projections. Days are local days at the location.
#[derive(Debug, Clone, PartialEq)]
pub enum Fact {
    /// A booking was made (counted on the day it was made); `online` is `None` for events that
    /// did not say where it came from.
    BookingMade {
        day: NaiveDate,
        dims: Dims,
        online: Option<bool>,
    },
    /// A visit was completed (counted on the appointment's day).
    VisitCompleted {
        client_id: ClientId,
        visit: Visit,
        minutes: i64,
    },
    NoShow {
        day: NaiveDate,
        dims: Dims,
        minutes: i64,
    },
    Cancelled {
        day: NaiveDate,
        dims: Dims,
        reason: CancelReason,
    },
    /// A sale at the till: its total counts for the clinic and its location, its service lines
    /// for their practitioner and service.
    Sale {
        day: NaiveDate,
        location_id: LocationId,
        currency: Currency,
        total_minor: i64,
        lines: Vec<SaleLineFact>,
    },
    /// Money given back (a void or a refund of a sale), on the day it went.
    Refund {
        day: NaiveDate,
        location_id: Option<LocationId>,
        currency: Currency,
        amount_minor: i64,
    },
}

/// The counters of a day's rollup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Counter {
    BookingsMade,
    BookingsOnline,
    BookingsDesk,
    Completed,
    NoShows,
    Cancellations,
    CancelledByClient,
    CancelledByClinic,
    CancelledUnpaid,
    RevenueMinor,
    RefundsMinor,
    NewClientVisits,
    ReturningClientVisits,
    Rebooked30,
    Rebooked60,
    Rebooked90,
    BookedMinutes,
}

impl Counter {
    pub const ALL: [Counter; 17] = {
        use Counter::*;
        [
            BookingsMade,
            BookingsOnline,
            BookingsDesk,
            Completed,
            NoShows,
            Cancellations,
            CancelledByClient,
            CancelledByClinic,
            CancelledUnpaid,
            RevenueMinor,
            RefundsMinor,
            NewClientVisits,
            ReturningClientVisits,
            Rebooked30,
            Rebooked60,
            Rebooked90,
            BookedMinutes,
        ]
    };

    /// The attribute (and JSON field) it is kept in.
    pub fn as_str(self) -> &'static str {
        use Counter::*;
        match self {
            BookingsMade => "bookings_made",
            BookingsOnline => "bookings_online",
            BookingsDesk => "bookings_desk",
            Completed => "completed",
            NoShows => "no_shows",
            Cancellations => "cancellations",
            CancelledByClient => "cancelled_by_client",
            CancelledByClinic => "cancelled_by_clinic",
            CancelledUnpaid => "cancelled_unpaid",
            RevenueMinor => "revenue_minor",
            RefundsMinor => "refunds_minor",
            NewClientVisits => "new_client_visits",
            ReturningClientVisits => "returning_client_visits",
            Rebooked30 => "rebooked_30",
            Rebooked60 => "rebooked_60",
            Rebooked90 => "rebooked_90",
            BookedMinutes => "booked_minutes",
        }
    }

    /// Whether it is money (left out of the view for roles that may not see money).
    pub fn is_money(self) -> bool {
        matches!(self, Counter::RevenueMinor | Counter::RefundsMinor)
    }
}

/// One counter of one day's rollup of one dimension, to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delta {
    pub day: NaiveDate,
    pub dimension: Dimension,
    pub counter: Counter,
    pub amount: i64,
}

fn each(day: NaiveDate, dims: &[Dimension], counter: Counter, amount: i64, out: &mut Vec<Delta>) {
    for dimension in dims {
        out.push(Delta { day, dimension: dimension.clone(), counter, amount });
    }
}

impl Fact {
    /// The counters this fact adds to on its own (what the client's history adds is
    /// [`ClientVisits::contribution`]'s).
    pub fn deltas(&self) -> Vec<Delta> {
        let mut out = Vec::new();
        match self {
            Fact::BookingMade { day, dims, online } => {
                let all = dims.all();
                each(*day, &all, Counter::BookingsMade, 1, &mut out);
                match online {
                    Some(true) => each(*day, &all, Counter::BookingsOnline, 1, &mut out),
                    Some(false) => each(*day, &all, Counter::BookingsDesk, 1, &mut out),
                    None => {}
                }
            }
            Fact::VisitCompleted { visit, minutes, .. } => {
                let all = visit.dims.all();
                each(visit.day, &all, Counter::Completed, 1, &mut out);
                each(visit.day, &all, Counter::BookedMinutes, *minutes, &mut out);
            }
            Fact::NoShow { day, dims, minutes } => {
                let all = dims.all();
                each(*day, &all, Counter::NoShows, 1, &mut out);
                each(*day, &all, Counter::BookedMinutes, *minutes, &mut out);
            }
            Fact::Cancelled { day, dims, reason } => {
                let all = dims.all();
                each(*day, &all, Counter::Cancellations, 1, &mut out);
                let by = match reason {
                    CancelReason::Client => Counter::CancelledByClient,
                    CancelReason::Clinic => Counter::CancelledByClinic,
                    CancelReason::Unpaid => Counter::CancelledUnpaid,
                };
                each(*day, &all, by, 1, &mut out);
            }
            Fact::Sale { day, location_id, total_minor, lines, .. } => {
                let whole = [Dimension::Clinic, Dimension::Location(location_id.clone())];
                each(*day, &whole, Counter::RevenueMinor, *total_minor, &mut out);
                for line in lines {
                    let mut dims = Vec::new();
                    dims.extend(line.practitioner_id.clone().map(Dimension::Practitioner));
                    dims.extend(line.service_id.clone().map(Dimension::Service));
                    each(*day, &dims, Counter::RevenueMinor, line.total_minor, &mut out);
                }
            }
            Fact::Refund { day, location_id, amount_minor, .. } => {
                let mut dims = vec![Dimension::Clinic];
                dims.extend(location_id.clone().map(Dimension::Location));
                each(*day, &dims, Counter::RefundsMinor, *amount_minor, &mut out);
            }
        }
        out
    }

    /// The currency of the money it counts, if any.
    pub fn currency(&self) -> Option<&Currency> {
        match self {
            Fact::Sale { currency, .. } | Fact::Refund { currency, .. } => Some(currency),
            _ => None,
        }
    }
}

/// A client's completed visits (one per appointment), in day order: what is derived from the
/// history rather than from one event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientVisits {
    pub visits: Vec<Visit>,
}

impl ClientVisits {
    /// The history with `visit`, or `None` when it is already in it.
    pub fn with(&self, visit: Visit) -> Option<ClientVisits> {
        if self.visits.iter().any(|v| v.appointment_id == visit.appointment_id) {
            return None;
        }
        let mut visits = self.visits.clone();
        visits.push(visit);
        visits.sort_by(|a, b| (a.day, &a.appointment_id).cmp(&(b.day, &b.appointment_id)));
        Some(ClientVisits { visits })
    }

    /// What this history adds to the rollups: each visit on the client's first day of visits
    /// is a new client's, every later one a returning client's; a visit whose client came back
    /// on a later day within 30, 60 or 90 days counts as rebooked within each window it meets.
    pub fn contribution(&self) -> Vec<Delta> {
        let mut out = Vec::new();
        let Some(first) = self.visits.iter().map(|v| v.day).min() else {
            return out;
        };
        for visit in &self.visits {
            let all = visit.dims.all();
            let kind = if visit.day == first { Counter::NewClientVisits } else { Counter::ReturningClientVisits };
            each(visit.day, &all, kind, 1, &mut out);
            let next = self.visits.iter().map(|v| v.day).filter(|d| *d > visit.day).min();
            if let Some(next) = next {
                let gap = (next - visit.day).num_days();
                for (window, counter) in
                    [(30, Counter::Rebooked30), (60, Counter::Rebooked60), (90, Counter::Rebooked90)]
                {
                    if gap <= window {
                        each(visit.day, &all, counter, 1, &mut out);
                    }
                }
            }
        }
        out
    }
}

/// `after − before`, per (day, dimension, counter), without the zeros.
pub fn difference(before: &[Delta], after: &[Delta]) -> Vec<Delta> {
    let mut sums: BTreeMap<(NaiveDate, Dimension, Counter), i64> = BTreeMap::new();
    for d in after {
        *sums.entry((d.day, d.dimension.clone(), d.counter)).or_default() += d.amount;
    }
    for d in before {
        *sums.entry((d.day, d.dimension.clone(), d.counter)).or_default() -= d.amount;
    }
    sums.into_iter()
        .filter(|(_, amount)| *amount != 0)
        .map(|((day, dimension, counter), amount)| Delta { day, dimension, counter, amount })
        .collect()
}

/// `deltas` summed per (day, dimension): one update per rollup item.
pub fn group(deltas: &[Delta]) -> BTreeMap<(NaiveDate, Dimension), BTreeMap<Counter, i64>> {
    let mut grouped: BTreeMap<(NaiveDate, Dimension), BTreeMap<Counter, i64>> = BTreeMap::new();
    for d in deltas {
        *grouped.entry((d.day, d.dimension.clone())).or_default().entry(d.counter).or_default() += d.amount;
    }
    grouped.retain(|_, counters| {
        counters.retain(|_, n| *n != 0);
        !counters.is_empty()
    });
    grouped
}

/// One day's rollup of one dimension (or a period's totals): counts, minutes and money in minor
/// units. Money fields are `None` in the view for roles that may not see money.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Rollup {
    /// The local day (absent on a period's totals).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day: Option<NaiveDate>,
    #[serde(default)]
    pub bookings_made: i64,
    /// Bookings made on the clinic's site.
    #[serde(default)]
    pub bookings_online: i64,
    /// Bookings made by the clinic's staff.
    #[serde(default)]
    pub bookings_desk: i64,
    #[serde(default)]
    pub completed: i64,
    #[serde(default)]
    pub no_shows: i64,
    #[serde(default)]
    pub cancellations: i64,
    #[serde(default)]
    pub cancelled_by_client: i64,
    #[serde(default)]
    pub cancelled_by_clinic: i64,
    /// Holds whose deposit was not paid in time.
    #[serde(default)]
    pub cancelled_unpaid: i64,
    /// What the till took: completed sales' totals, tax included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revenue_minor: Option<i64>,
    /// What went back: voids and refunds of sales.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refunds_minor: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<Currency>,
    /// Completed visits on a client's first day of visits.
    #[serde(default)]
    pub new_client_visits: i64,
    /// Completed visits of clients seen on an earlier day.
    #[serde(default)]
    pub returning_client_visits: i64,
    /// Completed visits whose client came back within 30 days (so far).
    #[serde(default)]
    pub rebooked_30: i64,
    #[serde(default)]
    pub rebooked_60: i64,
    #[serde(default)]
    pub rebooked_90: i64,
    /// Minutes of completed visits and no-shows.
    #[serde(default)]
    pub booked_minutes: i64,
}

impl Rollup {
    pub fn get(&self, counter: Counter) -> i64 {
        use Counter::*;
        match counter {
            BookingsMade => self.bookings_made,
            BookingsOnline => self.bookings_online,
            BookingsDesk => self.bookings_desk,
            Completed => self.completed,
            NoShows => self.no_shows,
            Cancellations => self.cancellations,
            CancelledByClient => self.cancelled_by_client,
            CancelledByClinic => self.cancelled_by_clinic,
            CancelledUnpaid => self.cancelled_unpaid,
            RevenueMinor => self.revenue_minor.unwrap_or(0),
            RefundsMinor => self.refunds_minor.unwrap_or(0),
            NewClientVisits => self.new_client_visits,
            ReturningClientVisits => self.returning_client_visits,
            Rebooked30 => self.rebooked_30,
            Rebooked60 => self.rebooked_60,
            Rebooked90 => self.rebooked_90,
            BookedMinutes => self.booked_minutes,
        }
    }

    fn add(&mut self, counter: Counter, n: i64) {
        use Counter::*;
        let field = match counter {
            BookingsMade => &mut self.bookings_made,
            BookingsOnline => &mut self.bookings_online,
            BookingsDesk => &mut self.bookings_desk,
            Completed => &mut self.completed,
            NoShows => &mut self.no_shows,
            Cancellations => &mut self.cancellations,
            CancelledByClient => &mut self.cancelled_by_client,
            CancelledByClinic => &mut self.cancelled_by_clinic,
            CancelledUnpaid => &mut self.cancelled_unpaid,
            RevenueMinor => self.revenue_minor.get_or_insert(0),
            RefundsMinor => self.refunds_minor.get_or_insert(0),
            NewClientVisits => &mut self.new_client_visits,
            ReturningClientVisits => &mut self.returning_client_visits,
            Rebooked30 => &mut self.rebooked_30,
            Rebooked60 => &mut self.rebooked_60,
            Rebooked90 => &mut self.rebooked_90,
            BookedMinutes => &mut self.booked_minutes,
        };
        *field += n;
    }

    /// The sum of `days` (a period's totals).
    pub fn total<'a>(days: impl IntoIterator<Item = &'a Rollup>) -> Rollup {
        let mut total = Rollup { revenue_minor: Some(0), refunds_minor: Some(0), ..Rollup::default() };
        for day in days {
            for counter in Counter::ALL {
                total.add(counter, day.get(counter));
            }
            if total.currency.is_none() {
                total.currency = day.currency.clone();
            }
        }
        total
    }

    /// The same without money.
    pub fn without_money(mut self) -> Rollup {
        self.revenue_minor = None;
        self.refunds_minor = None;
        self.currency = None;
        self
    }
}

/// A period: local days `from` to `to`, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct KpiPeriod {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("`to` is before `from`")]
    Reversed,
    #[error("a period is at most {MAX_PERIOD_DAYS} days")]
    TooLong,
}

impl KpiPeriod {
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<KpiPeriod, PeriodError> {
        if to < from {
            return Err(PeriodError::Reversed);
        }
        if (to - from).num_days() + 1 > MAX_PERIOD_DAYS {
            return Err(PeriodError::TooLong);
        }
        Ok(KpiPeriod { from, to })
    }

    pub fn days(self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    /// The period of the same length just before this one.
    pub fn previous(self) -> KpiPeriod {
        let to = self.from - Duration::days(1);
        KpiPeriod { from: to - Duration::days(self.days() - 1), to }
    }

    /// The calendar month of `day`.
    pub fn month_of(day: NaiveDate) -> KpiPeriod {
        let from = day.with_day(1).expect("every month has a first");
        let next = if from.month() == 12 {
            NaiveDate::from_ymd_opt(from.year() + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(from.year(), from.month() + 1, 1)
        }
        .expect("a month's next first day");
        KpiPeriod { from, to: next - Duration::days(1) }
    }
}

/// A period's KPIs: its totals, the rates derived from them, and its days (for charts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Kpis {
    pub period: KpiPeriod,
    pub totals: Rollup,
    /// Completed visits over visits that were due (completed and no-shows); `None` when none
    /// were due.
    pub show_rate: Option<f64>,
    pub no_show_rate: Option<f64>,
    /// Online bookings over bookings made.
    pub online_share: Option<f64>,
    /// Cancellations over bookings due in the period (completed, no-shows and cancellations).
    pub cancellation_rate: Option<f64>,
    /// Revenue less refunds, per completed visit (absent without money).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub average_visit_value_minor: Option<i64>,
    /// Completed visits whose client came back within 30, 60 and 90 days, over completed
    /// visits (visits near the period's end have not had their whole window yet).
    pub rebooking_30: Option<f64>,
    pub rebooking_60: Option<f64>,
    pub rebooking_90: Option<f64>,
    /// Booked minutes over available minutes: not computed yet (the schedules' available
    /// minutes are not projected), so always `None`; `totals.booked_minutes` is.
    pub utilisation: Option<f64>,
    /// Each day of the period that has a rollup, in order.
    pub days: Vec<Rollup>,
}

fn ratio(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 / whole as f64 * 10_000.0).round() / 10_000.0)
}

impl Kpis {
    /// The KPIs of `period` from its days' rollups (days outside it are ignored).
    pub fn of(period: KpiPeriod, days: &[Rollup]) -> Kpis {
        let mut days: Vec<Rollup> =
            days.iter().filter(|d| d.day.is_some_and(|day| day >= period.from && day <= period.to)).cloned().collect();
        days.sort_by_key(|d| d.day);
        let totals = Rollup::total(&days);
        let due = totals.completed + totals.no_shows;
        let net = totals.get(Counter::RevenueMinor) - totals.get(Counter::RefundsMinor);
        Kpis {
            period,
            show_rate: ratio(totals.completed, due),
            no_show_rate: ratio(totals.no_shows, due),
            online_share: ratio(totals.bookings_online, totals.bookings_made),
            cancellation_rate: ratio(totals.cancellations, due + totals.cancellations),
            average_visit_value_minor: (totals.completed > 0).then(|| net / totals.completed),
            rebooking_30: ratio(totals.rebooked_30, totals.completed),
            rebooking_60: ratio(totals.rebooked_60, totals.completed),
            rebooking_90: ratio(totals.rebooked_90, totals.completed),
            utilisation: None,
            totals,
            days,
        }
    }

    /// The same without money (totals, days and the average visit value).
    pub fn without_money(mut self) -> Kpis {
        self.totals = self.totals.without_money();
        self.days = self.days.into_iter().map(Rollup::without_money).collect();
        self.average_visit_value_minor = None;
        self
    }

    /// `(name, value)` of each figure, money ones left out when `money` is false, for a CSV.
    pub fn figures(&self, money: bool) -> Vec<(&'static str, String)> {
        let rate = |r: Option<f64>| r.map(|r| format!("{r:.4}")).unwrap_or_default();
        let mut out: Vec<(&'static str, String)> = Counter::ALL
            .iter()
            .filter(|c| money || !c.is_money())
            .map(|c| (c.as_str(), self.totals.get(*c).to_string()))
            .collect();
        out.push(("show_rate", rate(self.show_rate)));
        out.push(("no_show_rate", rate(self.no_show_rate)));
        out.push(("online_share", rate(self.online_share)));
        out.push(("cancellation_rate", rate(self.cancellation_rate)));
        if money {
            out.push((
                "average_visit_value_minor",
                self.average_visit_value_minor.map(|v| v.to_string()).unwrap_or_default(),
            ));
            out.push(("currency", self.totals.currency.as_ref().map(|c| c.to_string()).unwrap_or_default()));
        }
        out.push(("rebooking_30", rate(self.rebooking_30)));
        out.push(("rebooking_60", rate(self.rebooking_60)));
        out.push(("rebooking_90", rate(self.rebooking_90)));
        out
    }
}

/// The CSV of a period and, if given, the one it is compared with: a row per figure.
pub fn csv(current: &Kpis, previous: Option<&Kpis>, money: bool) -> String {
    let now = current.figures(money);
    let before = previous.map(|p| p.figures(money));
    let header: &[&str] = if previous.is_some() { &["figure", "period", "previous"] } else { &["figure", "period"] };
    let rows = now.iter().enumerate().map(|(i, (name, value))| {
        let mut row = vec![name.to_string(), value.clone()];
        if let Some(before) = &before {
            row.push(before[i].1.clone());
        }
        row
    });
    let mut head = vec![
        vec!["from".to_string(), current.period.from.to_string()],
        vec!["to".to_string(), current.period.to.to_string()],
    ];
    if let Some(p) = previous {
        head[0].push(p.period.from.to_string());
        head[1].push(p.period.to.to_string());
    }
    crate::csv::write(header, head.into_iter().chain(rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn dims() -> Dims {
        Dims {
            location_id: LocationId::parse("loc_a").unwrap(),
            practitioner_id: PractitionerId::parse("prc_a").unwrap(),
            service_id: ServiceId::parse("svc_a").unwrap(),
        }
    }

    fn visit(id: &str, d: &str) -> Visit {
        Visit { appointment_id: AppointmentId::parse(id).unwrap(), day: day(d), dims: dims() }
    }

    fn totals(deltas: &[Delta]) -> BTreeMap<(NaiveDate, Counter), i64> {
        let mut out = BTreeMap::new();
        for d in deltas.iter().filter(|d| d.dimension == Dimension::Clinic) {
            *out.entry((d.day, d.counter)).or_insert(0) += d.amount;
        }
        out.retain(|_, n| *n != 0);
        out
    }

    #[test]
    fn a_booking_counts_once_in_each_of_its_four_dimensions_and_by_where_it_was_made() {
        let fact = Fact::BookingMade { day: day("2026-03-02"), dims: dims(), online: Some(true) };
        let grouped = group(&fact.deltas());
        assert_eq!(grouped.len(), 4);
        for counters in grouped.values() {
            assert_eq!(counters.get(&Counter::BookingsMade), Some(&1));
            assert_eq!(counters.get(&Counter::BookingsOnline), Some(&1));
            assert_eq!(counters.get(&Counter::BookingsDesk), None);
        }
    }

    #[test]
    fn a_sale_counts_its_total_for_the_clinic_and_its_service_lines_for_their_practitioner_and_service() {
        let fact = Fact::Sale {
            day: day("2026-03-02"),
            location_id: LocationId::parse("loc_a").unwrap(),
            currency: Currency::parse("GBP").unwrap(),
            total_minor: 15_000,
            lines: vec![SaleLineFact {
                practitioner_id: Some(PractitionerId::parse("prc_a").unwrap()),
                service_id: Some(ServiceId::parse("svc_a").unwrap()),
                total_minor: 12_000,
            }],
        };
        let grouped = group(&fact.deltas());
        let revenue = |dim: Dimension| grouped[&(day("2026-03-02"), dim)][&Counter::RevenueMinor];
        assert_eq!(revenue(Dimension::Clinic), 15_000);
        assert_eq!(revenue(Dimension::Location(LocationId::parse("loc_a").unwrap())), 15_000);
        assert_eq!(revenue(Dimension::Practitioner(PractitionerId::parse("prc_a").unwrap())), 12_000);
        assert_eq!(revenue(Dimension::Service(ServiceId::parse("svc_a").unwrap())), 12_000);
    }

    #[test]
    fn a_clients_history_counts_the_first_day_new_later_days_returning_and_rebookings_by_window() {
        let history = ClientVisits::default()
            .with(visit("apt_1", "2026-01-01"))
            .and_then(|h| h.with(visit("apt_2", "2026-01-21")))
            .and_then(|h| h.with(visit("apt_3", "2026-03-10")))
            .unwrap();
        let t = totals(&history.contribution());
        assert_eq!(t[&(day("2026-01-01"), Counter::NewClientVisits)], 1);
        assert_eq!(t[&(day("2026-01-21"), Counter::ReturningClientVisits)], 1);
        assert_eq!(t[&(day("2026-03-10"), Counter::ReturningClientVisits)], 1);
        // 20 days: every window.
        assert_eq!(t[&(day("2026-01-01"), Counter::Rebooked30)], 1);
        assert_eq!(t[&(day("2026-01-01"), Counter::Rebooked90)], 1);
        // 48 days: 60 and 90, not 30.
        assert_eq!(t.get(&(day("2026-01-21"), Counter::Rebooked30)), None);
        assert_eq!(t[&(day("2026-01-21"), Counter::Rebooked60)], 1);
        assert_eq!(t[&(day("2026-01-21"), Counter::Rebooked90)], 1);
        assert_eq!(t.get(&(day("2026-03-10"), Counter::Rebooked90)), None);
    }

    #[test]
    fn visits_arriving_in_any_order_add_up_to_the_same_history() {
        let visits = [visit("apt_1", "2026-01-01"), visit("apt_2", "2026-01-21"), visit("apt_3", "2026-03-10")];
        let replay = |order: &[usize]| {
            let mut history = ClientVisits::default();
            let mut sum = Vec::new();
            for i in order {
                let next = history.with(visits[*i].clone()).unwrap();
                sum.extend(difference(&history.contribution(), &next.contribution()));
                history = next;
            }
            totals(&sum)
        };
        let in_order = replay(&[0, 1, 2]);
        assert_eq!(replay(&[2, 0, 1]), in_order);
        assert_eq!(replay(&[1, 2, 0]), in_order);
        assert_eq!(in_order[&(day("2026-01-01"), Counter::NewClientVisits)], 1);
        assert_eq!(in_order.get(&(day("2026-03-10"), Counter::NewClientVisits)), None);
    }

    #[test]
    fn a_visit_already_in_the_history_adds_nothing() {
        let history = ClientVisits::default().with(visit("apt_1", "2026-01-01")).unwrap();
        assert_eq!(history.with(visit("apt_1", "2026-01-01")), None);
    }

    #[test]
    fn the_kpis_of_a_period_are_its_days_summed_and_the_rates_of_those_sums() {
        let days = vec![
            Rollup {
                day: Some(day("2026-03-01")),
                completed: 3,
                no_shows: 1,
                cancellations: 1,
                revenue_minor: Some(30_000),
                refunds_minor: Some(5_000),
                rebooked_30: 1,
                bookings_made: 4,
                bookings_online: 1,
                ..Rollup::default()
            },
            Rollup { day: Some(day("2026-03-02")), completed: 1, revenue_minor: Some(10_000), ..Rollup::default() },
            // Outside the period.
            Rollup { day: Some(day("2026-04-01")), completed: 50, ..Rollup::default() },
        ];
        let kpis = Kpis::of(KpiPeriod::new(day("2026-03-01"), day("2026-03-31")).unwrap(), &days);
        assert_eq!(kpis.totals.completed, 4);
        assert_eq!(kpis.show_rate, Some(0.8));
        assert_eq!(kpis.no_show_rate, Some(0.2));
        assert_eq!(kpis.cancellation_rate, Some(1.0 / 6.0 * 10_000.0).map(|r: f64| r.round() / 10_000.0));
        assert_eq!(kpis.online_share, Some(0.25));
        // (30,000 + 10,000 − 5,000) / 4 visits.
        assert_eq!(kpis.average_visit_value_minor, Some(8_750));
        assert_eq!(kpis.rebooking_30, Some(0.25));
        assert_eq!(kpis.days.len(), 2);
        let plain = kpis.without_money();
        assert_eq!((plain.totals.revenue_minor, plain.average_visit_value_minor), (None, None));
        assert!(plain.days.iter().all(|d| d.revenue_minor.is_none()));
    }

    #[test]
    fn the_previous_period_is_as_long_and_ends_the_day_before() {
        let march = KpiPeriod::month_of(day("2026-03-17"));
        assert_eq!((march.from, march.to), (day("2026-03-01"), day("2026-03-31")));
        let before = march.previous();
        assert_eq!((before.from, before.to), (day("2026-01-29"), day("2026-02-28")));
        assert_eq!(KpiPeriod::new(day("2026-01-01"), day("2027-01-02")), Err(PeriodError::TooLong));
        assert_eq!(KpiPeriod::new(day("2026-01-02"), day("2026-01-01")), Err(PeriodError::Reversed));
    }

    #[test]
    fn the_csv_leaves_money_out_for_a_view_without_money() {
        let kpis = Kpis::of(
            KpiPeriod::month_of(day("2026-03-01")),
            &[Rollup { day: Some(day("2026-03-01")), revenue_minor: Some(100), completed: 1, ..Rollup::default() }],
        );
        let full = csv(&kpis, None, true);
        assert!(full.contains("\"revenue_minor\",\"100\""), "{full}");
        let plain = csv(&kpis, Some(&kpis), false);
        assert!(!plain.contains("revenue") && !plain.contains("average_visit_value"), "{plain}");
        assert!(plain.starts_with("figure,period,previous\r\n"), "{plain}");
    }

    #[test]
    fn a_dimension_is_named_by_its_id_and_read_back() {
        for d in dims().all() {
            assert_eq!(Dimension::parse(&d.key()), Some(d));
        }
        assert_eq!(Dimension::parse("cli_x"), None);
    }
}
