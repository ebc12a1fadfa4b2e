use chrono::{DateTime, NaiveDateTime, TimeZone as _, Utc};
use serde_json::json;

use super::*;
use crate::catalog::{ExceptionInput, Record, ServiceInput};
use crate::ids::{ExceptionId, LocationId};

pub(super) fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339).expect("an RFC 3339 instant").with_timezone(&Utc)
}

pub(super) fn local(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").expect("a local date and time")
}

pub(super) fn record<I, T>(id: I, data: T) -> Record<I, T> {
    let epoch = at("2025-01-01T00:00:00Z");
    Record { id, version: 1, created_at: epoch, updated_at: epoch, archived: false, data }
}

pub(super) fn pid(name: &str) -> PractitionerId {
    PractitionerId::parse(&format!("prc_{name}")).unwrap()
}

pub(super) fn rid(name: &str) -> ResourceId {
    ResourceId::parse(&format!("res_{name}")).unwrap()
}

pub(super) fn home() -> LocationId {
    LocationId::parse("loc_home").unwrap()
}

pub(super) fn elsewhere() -> LocationId {
    LocationId::parse("loc_elsewhere").unwrap()
}

const DAYS: [&str; 7] = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

/// Rules as `(weekday, "HH:MM", "HH:MM")`; weekday `"daily"` expands to all seven days.
pub(super) fn week(spans: &[(&str, &str, &str)]) -> Vec<serde_json::Value> {
    spans
        .iter()
        .flat_map(|&(day, start, end)| {
            let days: Vec<&str> = if day == "daily" { DAYS.to_vec() } else { vec![day] };
            days.into_iter().map(move |d| json!({"day": d, "start": start, "end": end}))
        })
        .collect()
}

/// A clinic whose fields the tests adjust before asking for `input`.
pub(super) struct Clinic {
    pub location: Location,
    pub service: Service,
    pub practitioners: Vec<Practitioner>,
    pub exceptions: Vec<PractitionerException>,
    pub resources: Vec<Resource>,
    pub busy: Vec<Busy>,
    pub rules: BookingRules,
    pub now: DateTime<Utc>,
    pub only: Option<PractitionerId>,
}

impl Clinic {
    /// GIVEN a location in `zone` open `opening`, one 60-minute "injectables" service with no
    /// buffers, and practitioner `ada` working the same hours there; it is 2026-01-01.
    pub fn new(zone: &str, opening: &[(&str, &str, &str)]) -> Clinic {
        let location = serde_json::from_value(json!({
            "name": "Home", "timezone": zone,
            "address": {"line1": "1 High Street", "city": "Town", "postcode": "T1", "country": "GB"},
            "opening_hours": week(opening),
        }))
        .unwrap();
        let mut clinic = Clinic {
            location: record(home(), location),
            service: record(crate::ids::ServiceId::parse("svc_filler").unwrap(), Clinic::service_input(60, 0, 0)),
            practitioners: Vec::new(),
            exceptions: Vec::new(),
            resources: Vec::new(),
            busy: Vec::new(),
            rules: BookingRules::default(),
            now: at("2026-01-01T00:00:00Z"),
            only: None,
        };
        clinic.add_practitioner("ada", &["injectables"], home(), opening);
        clinic
    }

    pub fn service_input(duration: u32, before: u32, after: u32) -> ServiceInput {
        serde_json::from_value(json!({
            "name": "Filler", "category": "injectables", "duration_minutes": duration,
            "buffer_before_minutes": before, "buffer_after_minutes": after,
            "price": {"amount_minor": 25000}
        }))
        .unwrap()
    }

    pub fn with_service(mut self, duration: u32, before: u32, after: u32) -> Clinic {
        let required = std::mem::take(&mut self.service.data.required_resources);
        self.service.data = Clinic::service_input(duration, before, after);
        self.service.data.required_resources = required;
        self
    }

    pub fn add_practitioner(&mut self, name: &str, specialties: &[&str], at: LocationId, rules: &[(&str, &str, &str)]) {
        let rules: Vec<serde_json::Value> = week(rules)
            .into_iter()
            .map(|mut rule| {
                rule["location_id"] = json!(at.as_str());
                rule
            })
            .collect();
        let data = serde_json::from_value(json!({
            "display_name": name, "specialties": specialties, "working_rules": rules,
        }))
        .unwrap();
        self.practitioners.retain(|p| p.id != pid(name));
        self.practitioners.push(record(pid(name), data));
    }

    pub fn add_exception(&mut self, name: &str, kind: &str, starts_at: &str, ends_at: &str, at: Option<LocationId>) {
        let data: ExceptionInput = serde_json::from_value(json!({
            "kind": kind, "starts_at": starts_at, "ends_at": ends_at,
            "location_id": at.map(|l| l.as_str().to_owned()),
        }))
        .unwrap();
        let id = ExceptionId::parse(&format!("exc_{}", self.exceptions.len() + 1)).unwrap();
        self.exceptions.push(PractitionerException { practitioner_id: pid(name), record: record(id, data) });
    }

    pub fn add_room(&mut self, name: &str, capacity: u32, at: LocationId) {
        let data = serde_json::from_value(json!({
            "name": name, "kind": "room", "location_id": at.as_str(), "capacity": capacity,
        }))
        .unwrap();
        self.resources.push(record(rid(name), data));
        self.service.data.required_resources.push(rid(name));
    }

    pub fn book(&mut self, who: Option<&str>, rooms: &[&str], start: &str, end: &str, kind: BusyKind) {
        self.busy.push(Busy {
            practitioner_id: who.map(pid),
            resource_ids: rooms.iter().map(|r| rid(r)).collect(),
            start: at(start),
            end: at(end),
            kind,
        });
    }

    pub fn input(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> AvailabilityInput<'_> {
        AvailabilityInput {
            location: &self.location,
            service: &self.service,
            practitioners: &self.practitioners,
            exceptions: &self.exceptions,
            resources: &self.resources,
            busy: &self.busy,
            rules: self.rules,
            now: self.now,
            from,
            to,
            practitioner: self.only.as_ref(),
        }
    }

    /// The local starts (`HH:MM`) in `from..to`.
    pub fn starts(&self, from: &str, to: &str) -> Vec<String> {
        compute(&self.input(at(from), at(to))).iter().map(|s| s.local_start.format("%H:%M").to_string()).collect()
    }

    pub fn explain(&self, start: &str) -> Explanation {
        explain(&self.input(at(start), at(start)), at(start))
    }

    /// The reason codes for `start`, shared ones and every practitioner's, without duplicates.
    pub fn why(&self, start: &str) -> Vec<ReasonCode> {
        let mut codes: Vec<ReasonCode> = self.explain(start).reasons.into_iter().map(|r| r.code).collect();
        codes.dedup();
        codes
    }
}

fn hhmm(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

// ---- the grid and opening hours ----

#[test]
fn starts_lie_on_the_grid_counted_from_opening_time_in_local_time() {
    // GIVEN a London clinic open 09:00–11:00 on Mondays and a 60-minute service
    let clinic = Clinic::new("Europe/London", &[("monday", "09:00", "11:00")]);
    // WHEN the availability of Monday 2026-06-01 (BST, UTC+1) is computed
    let slots = compute(&clinic.input(at("2026-06-01T00:00:00Z"), at("2026-06-02T00:00:00Z")));
    // THEN the starts are 09:00 … 10:00 local every 15 minutes, at their UTC instants
    let local: Vec<String> = slots.iter().map(|s| s.local_start.format("%H:%M").to_string()).collect();
    assert_eq!(local, hhmm(&["09:00", "09:15", "09:30", "09:45", "10:00"]));
    assert_eq!(slots[0].start, at("2026-06-01T08:00:00Z"));
    assert_eq!(slots[0].practitioner_ids, vec![pid("ada")]);
}

#[test]
fn a_grid_origin_off_the_quarter_hour_is_kept_for_each_opening_span() {
    // GIVEN split hours 09:00–10:00 and 13:10–14:30 and a 30-minute service on a 20-minute grid
    let mut clinic = Clinic::new("Europe/London", &[("monday", "09:00", "10:00"), ("monday", "13:10", "14:30")])
        .with_service(30, 0, 0);
    clinic.rules.grid_minutes = 20;
    // THEN each span's grid starts at its own opening time
    assert_eq!(
        clinic.starts("2026-06-01T00:00:00Z", "2026-06-02T00:00:00Z"),
        hhmm(&["09:00", "09:20", "13:10", "13:30", "13:50"])
    );
}

#[test]
fn asia_kolkata_half_hour_offset_keeps_the_local_grid() {
    // GIVEN a clinic in Kolkata (UTC+05:30) open 09:00–10:30
    let clinic = Clinic::new("Asia/Kolkata", &[("monday", "09:00", "10:30")]);
    let slots = compute(&clinic.input(at("2026-06-01T00:00:00Z"), at("2026-06-02T00:00:00Z")));
    // THEN 09:00 local is 03:30 UTC and the grid follows local time
    assert_eq!(slots[0].start, at("2026-06-01T03:30:00Z"));
    assert_eq!(slots.len(), 3);
    assert_eq!(slots[2].local_start, local("2026-06-01 09:30"));
}

#[test]
fn the_treatment_and_its_buffers_must_fit_inside_opening_hours() {
    // GIVEN 09:00–11:00 and a 60-minute service with 15 minutes before and 15 after
    let mut clinic = Clinic::new("Europe/London", &[("monday", "09:00", "11:00")]).with_service(60, 15, 15);
    // AND ada works longer than the clinic is open
    clinic.add_practitioner("ada", &["injectables"], home(), &[("monday", "07:00", "13:00")]);
    // THEN the first start leaves room for the set-up and the last for the clean-down
    assert_eq!(clinic.starts("2026-06-01T00:00:00Z", "2026-06-02T00:00:00Z"), hhmm(&["09:15", "09:30", "09:45"]));
    assert_eq!(clinic.why("2026-06-01T08:00:00Z"), vec![ReasonCode::Closed]);
    assert_eq!(clinic.why("2026-06-01T09:00:00Z"), vec![ReasonCode::Closed]);
}

#[test]
fn a_closure_day_has_no_starts_and_explains_closed() {
    // GIVEN a clinic open every day but closed on 2026-06-02
    let mut clinic = Clinic::new("Europe/London", &[("daily", "09:00", "10:00")]);
    clinic.location.data.closures =
        vec![serde_json::from_value(json!({"from": "2026-06-02", "to": "2026-06-02"})).unwrap()];
    // THEN Monday and Wednesday have starts and Tuesday has none
    let slots = compute(&clinic.input(at("2026-06-01T00:00:00Z"), at("2026-06-04T00:00:00Z")));
    let days: Vec<String> = slots.iter().map(|s| s.local_start.format("%d").to_string()).collect();
    assert_eq!(days, ["01", "03"].map(String::from));
    assert_eq!(clinic.why("2026-06-02T08:00:00Z"), vec![ReasonCode::Closed]);
}

#[test]
fn outside_opening_hours_is_closed_and_between_grid_marks_is_off_grid() {
    let mut clinic = Clinic::new("Europe/London", &[("monday", "09:00", "12:00")]);
    clinic.add_practitioner("ada", &["injectables"], home(), &[("monday", "07:00", "13:00")]);
    assert_eq!(clinic.why("2026-06-01T07:00:00Z"), vec![ReasonCode::Closed]);
    assert_eq!(clinic.why("2026-06-01T08:05:00Z"), vec![ReasonCode::OffGrid]);
    assert_eq!(clinic.why("2026-06-01T08:15:30Z"), vec![ReasonCode::OffGrid]);
    let explanation = clinic.explain("2026-06-01T08:15:00Z");
    assert!(explanation.bookable);
    assert_eq!(explanation.practitioner_ids, vec![pid("ada")]);
    assert!(explanation.reasons.is_empty());
}

#[test]
fn starts_at_or_after_the_end_of_the_window_are_not_returned() {
    let clinic = Clinic::new("Europe/London", &[("monday", "09:00", "12:00")]);
    assert_eq!(clinic.starts("2026-06-01T08:15:00Z", "2026-06-01T08:45:00Z"), hhmm(&["09:15", "09:30"]));
}

#[test]
fn an_archived_location_is_closed() {
    let mut clinic = Clinic::new("Europe/London", &[("monday", "09:00", "12:00")]);
    clinic.location.archived = true;
    assert!(clinic.starts("2026-06-01T00:00:00Z", "2026-06-02T00:00:00Z").is_empty());
    assert_eq!(clinic.why("2026-06-01T08:00:00Z"), vec![ReasonCode::Closed]);
}

// ---- the service ----

#[test]
fn a_service_not_offered_at_the_location_has_no_starts() {
    // GIVEN the service is offered only elsewhere
    let mut clinic = Clinic::new("Europe/London", &[("monday", "09:00", "12:00")]);
    clinic.service.data.location_ids = vec![elsewhere()];
    assert!(clinic.starts("2026-06-01T00:00:00Z", "2026-06-02T00:00:00Z").is_empty());
    assert_eq!(clinic.why("2026-06-01T08:00:00Z"), vec![ReasonCode::NotOffered]);
    // AND an inactive service is not offered anywhere
    clinic.service.data.location_ids = vec![home()];
    assert_eq!(clinic.starts("2026-06-01T00:00:00Z", "2026-06-02T00:00:00Z").len(), 9);
    clinic.service.data.active = false;
    assert_eq!(clinic.why("2026-06-01T08:00:00Z"), vec![ReasonCode::NotOffered]);
}

// ---- practitioners ----

#[test]
fn weekly_rules_at_another_location_do_not_count_here() {
    // GIVEN ada works Mondays only at another location
    let mut clinic = Clinic::new("Europe/London", &[("monday", "09:00", "12:00")]);
    clinic.add_practitioner("ada", &["injectables"], elsewhere(), &[("monday", "09:00", "12:00")]);
    assert!(clinic.starts("2026-06-01T00:00:00Z", "2026-06-02T00:00:00Z").is_empty());
    let explanation = clinic.explain("2026-06-01T08:00:00Z");
    assert_eq!(
        explanation.reasons,
        vec![Reason { code: ReasonCode::PractitionerOff, practitioner_id: Some(pid("ada")) }]
    );
}

#[test]
fn the_treatment_and_its_buffers_must_fit_inside_the_practitioners_hours() {
    // GIVEN the clinic opens 08:00–18:00 and ada works 09:00–11:00; 60 minutes + 15 before + 15 after
    let mut clinic = Clinic::new("Europe/London", &[("monday", "08:00", "18:00")]).with_service(60, 15, 15);
    clinic.add_practitioner("ada", &["injectables"], home(), &[("monday", "09:00", "11:00")]);
    assert_eq!(clinic.starts("2026-06-01T00:00:00Z", "2026-06-02T00:00:00Z"), hhmm(&["09:15", "09:30", "09:45"]));
    assert_eq!(clinic.why("2026-06-01T08:00:00Z"), vec![ReasonCode::PractitionerOff]);
    assert_eq!(clinic.why("2026-06-01T09:00:00Z"), vec![ReasonCode::PractitionerOff]);
}

#[test]
fn extra_hours_at_this_location_add_starts_but_never_open_a_closed_clinic() {
    // GIVEN ada does not work Mondays, and has extra hours on Monday 2026-06-01 10:00–13:00 local
    let mut clinic = Clinic::new("Europe/London", &[("monday", "09:00", "12:00")]);
    clinic.add_practitioner("ada", &["injectables"], home(), &[]);
    clinic.add_exception("ada", "extra_hours", "2026-06-01T10:00:00+01:00", "2026-06-01T13:00:00+01:00", Some(home()));
    // AND extra hours elsewhere the same morning, which do not count here
    clinic.add_exception(
        "ada",
        "extra_hours",
        "2026-06-01T08:00:00+01:00",
        "2026-06-01T10:00:00+01:00",
        Some(elsewhere()),
    );
    // THEN starts run from 10:00 until the clinic closes at 12:00
    assert_eq!(
        clinic.starts("2026-06-01T00:00:00Z", "2026-06-02T00:00:00Z"),
        hhmm(&["10:00", "10:15", "10:30", "10:45", "11:00"])
    );
    assert_eq!(clinic.why("2026-06-01T08:00:00Z"), vec![ReasonCode::PractitionerOff]);
    assert_eq!(clinic.why("2026-06-01T10:30:00Z"), vec![ReasonCode::Closed]);
}

#[test]
fn extra_hours_joining_a_weekly_rule_make_one_unbroken_stretch() {
    // GIVEN ada works 09:00–10:00 and has extra hours 10:00–11:00; a 90-minute service
    let mut clinic = Clinic::new("Europe/London", &[("monday", "09:00", "12:00")]).with_service(90, 0, 0);
    clinic.add_practitioner("ada", &["injectables"], home(), &[("monday", "09:00", "10:00")]);
    clinic.add_exception("ada", "extra_hours", "2026-06-01T10:00:00+01:00", "2026-06-01T11:00:00+01:00", Some(home()));
    assert_eq!(clinic.starts("2026-06-01T00:00:00Z", "2026-06-02T00:00:00Z"), hhmm(&["09:00", "09:15", "09:30"]));
}

#[test]
fn time_off_removes_starts_wherever_it_is_recorded() {
    // GIVEN ada has time off 10:00–11:00 recorded against another location
    let mut clinic = Clinic::new("Europe/London", &[("monday", "09:00", "12:00")]).with_service(30, 0, 0);
    clinic.add_exception(
        "ada",
        "time_off",
        "2026-06-01T10:00:00+01:00",
        "2026-06-01T11:00:00+01:00",
        Some(elsewhere()),
    );
    assert_eq!(
        clinic.starts("2026-06-01T00:00:00Z", "2026-06-02T00:00:00Z"),
        hhmm(&["09:00", "09:15", "09:30", "11:00", "11:15", "11:30"])
    );
    assert_eq!(clinic.why("2026-06-01T08:45:00Z"), vec![ReasonCode::PractitionerOff]);
}

#[test]
fn a_practitioner_without_the_services_category_is_not_qualified() {
    let mut clinic = Clinic::new("Europe/London", &[("monday", "09:00", "12:00")]);
    clinic.add_practitioner("ada", &["skincare"], home(), &[("monday", "09:00", "12:00")]);
    assert!(clinic.starts("2026-06-01T00:00:00Z", "2026-06-02T00:00:00Z").is_empty());
    assert_eq!(clinic.why("2026-06-01T08:00:00Z"), vec![ReasonCode::NotQualified]);
}

#[test]
fn an_archived_or_inactive_practitioner_is_off() {
    let mut clinic = Clinic::new("Europe/London", &[("monday", "09:00", "12:00")]);
    clinic.practitioners[0].data.active = false;
    assert!(clinic.starts("2026-06-01T00:00:00Z", "2026-06-02T00:00:00Z").is_empty());
    assert_eq!(clinic.why("2026-06-01T08:00:00Z"), vec![ReasonCode::PractitionerOff]);
    clinic.practitioners[0].data.active = true;
    clinic.practitioners[0].archived = true;
    assert_eq!(clinic.why("2026-06-01T08:00:00Z"), vec![ReasonCode::PractitionerOff]);
}

#[test]
fn each_start_lists_every_free_practitioner_and_the_filter_keeps_one() {
    // GIVEN ada works 09:00–11:00 and bea 10:00–12:00; 60-minute service
    let mut clinic = Clinic::new("Europe/London", &[("monday", "09:00", "12:00")]);
    clinic.add_practitioner("ada", &["injectables"], home(), &[("monday", "09:00", "11:00")]);
    clinic.add_practitioner("bea", &["injectables", "skincare"], home(), &[("monday", "10:00", "12:00")]);
    let slots = compute(&clinic.input(at("2026-06-01T00:00:00Z"), at("2026-06-02T00:00:00Z")));
    let at_ten = slots.iter().find(|s| s.local_start == local("2026-06-01 10:00")).unwrap();
    assert_eq!(at_ten.practitioner_ids, vec![pid("ada"), pid("bea")]);
    assert_eq!(slots.first().unwrap().practitioner_ids, vec![pid("ada")]);
    assert_eq!(slots.last().unwrap().practitioner_ids, vec![pid("bea")]);
    // WHEN only bea is asked for
    clinic.only = Some(pid("bea"));
    assert_eq!(
        clinic.starts("2026-06-01T00:00:00Z", "2026-06-02T00:00:00Z"),
        hhmm(&["10:00", "10:15", "10:30", "10:45", "11:00"])
    );
    // AND a practitioner who is not among the candidates is reported off
    clinic.only = Some(pid("cy"));
    assert_eq!(
        clinic.explain("2026-06-01T09:00:00Z").reasons,
        vec![Reason { code: ReasonCode::PractitionerOff, practitioner_id: Some(pid("cy")) }]
    );
}

#[test]
fn explain_gives_each_practitioner_their_own_reasons() {
    // GIVEN ada is booked at 10:00 and bea is not qualified
    let mut clinic = Clinic::new("Europe/London", &[("monday", "09:00", "12:00")]);
    clinic.add_practitioner("bea", &["skincare"], home(), &[("monday", "09:00", "12:00")]);
    clinic.book(Some("ada"), &[], "2026-06-01T09:00:00Z", "2026-06-01T10:00:00Z", BusyKind::Booked);
    let explanation = clinic.explain("2026-06-01T09:00:00Z");
    assert!(!explanation.bookable);
    assert_eq!(
        explanation.reasons,
        vec![
            Reason { code: ReasonCode::Busy, practitioner_id: Some(pid("ada")) },
            Reason { code: ReasonCode::NotQualified, practitioner_id: Some(pid("bea")) },
        ]
    );
    // AND a start bookable with ada still reports why bea cannot take it
    let explanation = clinic.explain("2026-06-01T08:00:00Z");
    assert!(explanation.bookable);
    assert_eq!(explanation.practitioner_ids, vec![pid("ada")]);
    assert_eq!(explanation.reasons, vec![Reason { code: ReasonCode::NotQualified, practitioner_id: Some(pid("bea")) }]);
}

// ---- bookings, holds and buffers ----

#[test]
fn a_booking_blocks_every_overlapping_start_and_explains_busy() {
    // GIVEN ada is booked 10:00–10:30 local (buffers of that booking included)
    let mut clinic = Clinic::new("Europe/London", &[("monday", "09:00", "12:00")]).with_service(30, 0, 0);
    clinic.book(Some("ada"), &[], "2026-06-01T09:00:00Z", "2026-06-01T09:30:00Z", BusyKind::Booked);
    // THEN 09:30 ends as it starts and 10:30 starts as it ends: both stay bookable
    assert_eq!(
        clinic.starts("2026-06-01T00:00:00Z", "2026-06-02T00:00:00Z"),
        hhmm(&["09:00", "09:15", "09:30", "10:30", "10:45", "11:00", "11:15", "11:30"])
    );
    assert_eq!(clinic.why("2026-06-01T08:45:00Z"), vec![ReasonCode::Busy]);
    assert_eq!(clinic.why("2026-06-01T09:15:00Z"), vec![ReasonCode::Busy]);
}

#[test]
fn another_practitioners_booking_does_not_block() {
    let mut clinic = Clinic::new("Europe/London", &[("monday", "09:00", "10:00")]);
    clinic.book(Some("bea"), &[], "2026-06-01T08:00:00Z", "2026-06-01T09:00:00Z", BusyKind::Booked);
    assert_eq!(clinic.starts("2026-06-01T00:00:00Z", "2026-06-02T00:00:00Z"), hhmm(&["09:00"]));
}

#[test]
fn a_clash_caused_only_by_the_services_buffers_explains_buffer() {
    // GIVEN a 30-minute service with 15 minutes either side, and ada booked 10:00–10:30 local
    let mut clinic = Clinic::new("Europe/London", &[("monday", "09:00", "12:00")]).with_service(30, 15, 15);
    clinic.book(Some("ada"), &[], "2026-06-01T09:00:00Z", "2026-06-01T09:30:00Z", BusyKind::Booked);
    // THEN 09:30 (clean-down would run into 10:00) and 10:30 (set-up would start at 10:15) clash by buffer only
    assert_eq!(clinic.why("2026-06-01T08:30:00Z"), vec![ReasonCode::Buffer]);
    assert_eq!(clinic.why("2026-06-01T09:30:00Z"), vec![ReasonCode::Buffer]);
    assert_eq!(clinic.why("2026-06-01T09:15:00Z"), vec![ReasonCode::Busy]);
    assert_eq!(
        clinic.starts("2026-06-01T00:00:00Z", "2026-06-02T00:00:00Z"),
        hhmm(&["09:15", "10:45", "11:00", "11:15"])
    );
}

#[test]
fn a_hold_blocks_like_a_booking_and_explains_hold() {
    let mut clinic = Clinic::new("Europe/London", &[("monday", "09:00", "11:00")]);
    clinic.book(Some("ada"), &[], "2026-06-01T08:30:00Z", "2026-06-01T09:30:00Z", BusyKind::Hold);
    // THEN every 60-minute start between 09:00 and 10:00 local touches the held 09:30–10:30
    assert!(clinic.starts("2026-06-01T00:00:00Z", "2026-06-02T00:00:00Z").is_empty());
    assert_eq!(clinic.why("2026-06-01T08:00:00Z"), vec![ReasonCode::Hold]);
}

// ---- resources ----

#[test]
fn a_room_in_use_blocks_every_practitioner_and_explains_resource_taken() {
    // GIVEN the service needs room one (capacity 1), which another booking uses 10:00–11:00
    let mut clinic = Clinic::new("Europe/London", &[("monday", "09:00", "12:00")]);
    clinic.add_room("one", 1, home());
    clinic.book(None, &["one"], "2026-06-01T09:00:00Z", "2026-06-01T10:00:00Z", BusyKind::Booked);
    assert_eq!(clinic.starts("2026-06-01T00:00:00Z", "2026-06-02T00:00:00Z"), hhmm(&["09:00", "11:00"]));
    let explanation = clinic.explain("2026-06-01T08:30:00Z");
    assert_eq!(explanation.reasons, vec![Reason { code: ReasonCode::ResourceTaken, practitioner_id: None }]);
}

#[test]
fn a_room_with_two_units_takes_a_second_booking_but_not_a_third() {
    let mut clinic = Clinic::new("Europe/London", &[("monday", "09:00", "11:00")]);
    clinic.add_room("suite", 2, home());
    clinic.book(None, &["suite"], "2026-06-01T08:00:00Z", "2026-06-01T09:00:00Z", BusyKind::Booked);
    assert_eq!(clinic.starts("2026-06-01T00:00:00Z", "2026-06-02T00:00:00Z").len(), 5);
    clinic.book(None, &["suite"], "2026-06-01T08:30:00Z", "2026-06-01T09:30:00Z", BusyKind::Hold);
    // THEN only starts whose hour misses 09:30–10:00 local (both units in use) remain
    assert_eq!(clinic.starts("2026-06-01T00:00:00Z", "2026-06-02T00:00:00Z"), hhmm(&["10:00"]));
    assert_eq!(clinic.why("2026-06-01T08:00:00Z"), vec![ReasonCode::ResourceTaken]);
}

#[test]
fn two_bookings_one_after_the_other_use_one_unit_of_a_two_unit_room() {
    // GIVEN the suite is used 09:00–09:30 and 09:30–10:00 local: never more than one unit at once
    let mut clinic = Clinic::new("Europe/London", &[("monday", "09:00", "10:00")]);
    clinic.add_room("suite", 2, home());
    clinic.book(None, &["suite"], "2026-06-01T08:00:00Z", "2026-06-01T08:30:00Z", BusyKind::Booked);
    clinic.book(None, &["suite"], "2026-06-01T08:30:00Z", "2026-06-01T09:00:00Z", BusyKind::Booked);
    assert_eq!(clinic.starts("2026-06-01T00:00:00Z", "2026-06-02T00:00:00Z"), hhmm(&["09:00"]));
}

#[test]
fn a_required_room_at_another_location_makes_the_service_unbookable_here() {
    let mut clinic = Clinic::new("Europe/London", &[("monday", "09:00", "12:00")]);
    clinic.add_room("far", 1, elsewhere());
    assert!(clinic.starts("2026-06-01T00:00:00Z", "2026-06-02T00:00:00Z").is_empty());
    assert_eq!(clinic.why("2026-06-01T08:00:00Z"), vec![ReasonCode::ResourceUnavailable]);
}

// ---- notice, advance, cut-off ----

#[test]
fn starts_inside_the_minimum_notice_are_too_soon() {
    // GIVEN it is 08:50 local and bookings need 60 minutes' notice
    let mut clinic = Clinic::new("Europe/London", &[("monday", "09:00", "12:00")]);
    clinic.now = at("2026-06-01T07:50:00Z");
    clinic.rules.min_notice_minutes = 60;
    clinic.add_practitioner("ada", &["injectables"], home(), &[("monday", "07:00", "13:00")]);
    assert_eq!(clinic.starts("2026-06-01T00:00:00Z", "2026-06-02T00:00:00Z")[0], "10:00");
    assert_eq!(clinic.why("2026-06-01T08:45:00Z"), vec![ReasonCode::TooSoon]);
    assert_eq!(clinic.why("2026-06-01T07:45:00Z"), vec![ReasonCode::Closed, ReasonCode::TooSoon]);
}

#[test]
fn starts_past_the_last_bookable_local_day_are_too_far() {
    // GIVEN it is Monday 23:30 local and bookings may be made one day ahead
    let mut clinic = Clinic::new("Europe/London", &[("daily", "09:00", "10:00")]);
    clinic.now = at("2026-06-01T22:30:00Z");
    clinic.rules.max_advance_days = 1;
    // THEN Tuesday is bookable to its end and Wednesday is too far
    let slots = compute(&clinic.input(at("2026-06-01T00:00:00Z"), at("2026-06-05T00:00:00Z")));
    assert_eq!(slots.iter().map(|s| s.local_start).collect::<Vec<_>>(), vec![local("2026-06-02 09:00")]);
    assert_eq!(clinic.why("2026-06-03T08:00:00Z"), vec![ReasonCode::TooFar]);
}

#[test]
fn after_the_same_day_cutoff_today_is_closed_to_bookings_but_tomorrow_is_not() {
    // GIVEN a 12:00 cut-off and a clinic open 09:00–18:00 every day
    let mut clinic = Clinic::new("Europe/London", &[("daily", "09:00", "18:00")]);
    clinic.rules.same_day_cutoff = Some(LocalTime::parse("12:00").unwrap());
    // WHEN it is 11:55 local, this afternoon is still bookable
    clinic.now = at("2026-06-01T10:55:00Z");
    assert_eq!(clinic.why("2026-06-01T14:00:00Z"), vec![]);
    // WHEN it is 12:00 local, it is not, and tomorrow morning is
    clinic.now = at("2026-06-01T11:00:00Z");
    assert_eq!(clinic.why("2026-06-01T14:00:00Z"), vec![ReasonCode::TooSoon]);
    let slots = compute(&clinic.input(at("2026-06-01T00:00:00Z"), at("2026-06-03T00:00:00Z")));
    assert_eq!(slots[0].local_start, local("2026-06-02 09:00"));
}

#[test]
fn the_rules_check_refuses_a_grid_off_five_minute_marks() {
    assert!(BookingRules::default().check().is_ok());
    assert!(BookingRules { grid_minutes: 7, ..BookingRules::default() }.check().is_err());
    assert!(BookingRules { grid_minutes: 0, ..BookingRules::default() }.check().is_err());
    assert!(BookingRules { max_advance_days: 10_000, ..BookingRules::default() }.check().is_err());
}

#[test]
fn booking_rules_left_out_default_to_a_fifteen_minute_grid_and_a_year_ahead() {
    let rules: BookingRules = serde_json::from_value(json!({"same_day_cutoff": "16:00"})).unwrap();
    assert_eq!((rules.grid_minutes, rules.min_notice_minutes, rules.max_advance_days), (15, 0, 365));
    assert!(serde_json::from_value::<BookingRules>(json!({"grid": 10})).is_err(), "unknown fields are refused");
}

#[test]
fn reason_codes_are_snake_case_on_the_wire() {
    let reason = Reason { code: ReasonCode::ResourceTaken, practitioner_id: None };
    assert_eq!(serde_json::to_value(reason).unwrap(), json!({"code": "resource_taken", "practitioner_id": null}));
    assert_eq!(serde_json::to_value(ReasonCode::OffGrid).unwrap(), json!("off_grid"));
}

// ---- daylight saving: hand-written cases ----

/// The local starts with their UTC offsets, e.g. "01:30+01:00".
fn offsets(clinic: &Clinic, from: &str, to: &str) -> Vec<String> {
    let tz = clinic.location.data.timezone.tz();
    compute(&clinic.input(at(from), at(to)))
        .iter()
        .map(|slot| {
            assert_eq!(
                slot.start.with_timezone(&tz).naive_local(),
                slot.local_start,
                "local_start is the start's wall time"
            );
            slot.start.with_timezone(&tz).format("%H:%M%:z").to_string()
        })
        .collect()
}

#[test]
fn london_spring_forward_skips_the_hour_that_does_not_exist() {
    // GIVEN a night clinic open 00:00–04:00 on Sunday 2026-03-29 (01:00 GMT → 02:00 BST), a 30-minute service, 30-minute grid
    let mut clinic = Clinic::new("Europe/London", &[("sunday", "00:00", "04:00")]).with_service(30, 0, 0);
    clinic.rules.grid_minutes = 30;
    assert_eq!(
        offsets(&clinic, "2026-03-28T12:00:00Z", "2026-03-29T12:00:00Z"),
        ["00:00+00:00", "00:30+00:00", "02:00+01:00", "02:30+01:00", "03:00+01:00", "03:30+01:00"]
    );
    // AND a 60-minute treatment at 00:30 GMT ends at 02:30 BST: 60 real minutes
    let clinic = clinic.with_service(60, 0, 0);
    assert_eq!(
        offsets(&clinic, "2026-03-28T12:00:00Z", "2026-03-29T12:00:00Z"),
        ["00:00+00:00", "00:30+00:00", "02:00+01:00", "02:30+01:00", "03:00+01:00"]
    );
}

#[test]
fn london_fall_back_offers_the_repeated_hour_once_at_the_earlier_instant() {
    // GIVEN open 00:00–03:00 on Sunday 2026-10-25 (02:00 BST → 01:00 GMT), a 30-minute service, 30-minute grid
    let mut clinic = Clinic::new("Europe/London", &[("sunday", "00:00", "03:00")]).with_service(30, 0, 0);
    clinic.rules.grid_minutes = 30;
    assert_eq!(
        offsets(&clinic, "2026-10-24T12:00:00Z", "2026-10-25T12:00:00Z"),
        ["00:00+01:00", "00:30+01:00", "01:00+01:00", "01:30+01:00", "02:00+00:00", "02:30+00:00"]
    );
    // AND the second 01:00 (GMT) is explained as off the grid, not offered twice
    assert_eq!(clinic.why("2026-10-25T01:00:00Z"), vec![ReasonCode::OffGrid]);
    assert!(clinic.explain("2026-10-25T00:00:00Z").bookable);
}

#[test]
fn a_sixty_minute_treatment_across_fall_back_lasts_sixty_real_minutes() {
    // GIVEN on 2026-10-25 ada works 00:00–02:00 local: 00:00 BST (23:00Z) to 02:00 GMT (02:00Z), three real hours
    let mut clinic = Clinic::new("Europe/London", &[("sunday", "00:00", "04:00")]);
    clinic.add_practitioner("ada", &["injectables"], home(), &[("sunday", "00:00", "02:00")]);
    // WHEN a 60-minute treatment starts at 01:45 BST (00:45Z)
    // THEN it ends at 01:45Z (01:45 GMT), inside her hours, although 01:45 plus 60 wall-clock minutes reads 02:45
    assert!(clinic.explain("2026-10-25T00:45:00Z").bookable);
    let slots = compute(&clinic.input(at("2026-10-24T12:00:00Z"), at("2026-10-25T12:00:00Z")));
    assert_eq!(slots.len(), 8, "00:00–01:45 on the quarter hour, each once");
    assert_eq!(slots.last().unwrap().start, at("2026-10-25T00:45:00Z"));
    assert_eq!(slots.last().unwrap().local_start, local("2026-10-25 01:45"));
    // AND the later pass of 01:00 (01:00 GMT = 01:00Z) fits her hours but is not a start of its own
    assert_eq!(clinic.why("2026-10-25T01:00:00Z"), vec![ReasonCode::OffGrid]);
}

#[test]
fn new_york_a_ten_oclock_rule_stays_ten_oclock_local_across_both_changes() {
    // GIVEN a New York clinic open 10:00–11:00 every day
    let clinic = Clinic::new("America/New_York", &[("daily", "10:00", "11:00")]);
    let first =
        |from: &str, to: &str| compute(&clinic.input(at(from), at(to))).iter().map(|s| s.start).collect::<Vec<_>>();
    // THEN around 2026-03-08 (EST → EDT) 10:00 is 15:00Z then 14:00Z
    assert_eq!(
        first("2026-03-07T00:00:00Z", "2026-03-10T00:00:00Z"),
        vec![at("2026-03-07T15:00:00Z"), at("2026-03-08T14:00:00Z"), at("2026-03-09T14:00:00Z")]
    );
    // AND around 2026-11-01 (EDT → EST) 14:00Z then 15:00Z
    assert_eq!(
        first("2026-10-31T00:00:00Z", "2026-11-03T00:00:00Z"),
        vec![at("2026-10-31T14:00:00Z"), at("2026-11-01T15:00:00Z"), at("2026-11-02T15:00:00Z")]
    );
}

#[test]
fn new_york_spring_forward_and_fall_back_at_two_in_the_morning() {
    let mut clinic = Clinic::new("America/New_York", &[("sunday", "01:00", "04:00")]).with_service(30, 0, 0);
    clinic.rules.grid_minutes = 30;
    // 2026-03-08: 02:00 EST → 03:00 EDT; 02:00 and 02:30 do not exist
    assert_eq!(
        offsets(&clinic, "2026-03-08T00:00:00Z", "2026-03-09T00:00:00Z"),
        ["01:00-05:00", "01:30-05:00", "03:00-04:00", "03:30-04:00"]
    );
    // 2026-11-01: 02:00 EDT → 01:00 EST; 01:00 and 01:30 once, at their EDT instants
    assert_eq!(
        offsets(&clinic, "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"),
        ["01:00-04:00", "01:30-04:00", "02:00-05:00", "02:30-05:00", "03:00-05:00", "03:30-05:00"]
    );
}

#[test]
fn lord_howe_thirty_minute_shift_in_both_directions() {
    let clinic = Clinic::new("Australia/Lord_Howe", &[("sunday", "01:00", "03:00")]).with_service(15, 0, 0);
    // 2026-04-05: 02:00 +11 → 01:30 +10:30; 01:30 and 01:45 once, at the +11 instants
    assert_eq!(
        offsets(&clinic, "2026-04-04T00:00:00Z", "2026-04-05T12:00:00Z"),
        [
            "01:00+11:00",
            "01:15+11:00",
            "01:30+11:00",
            "01:45+11:00",
            "02:00+10:30",
            "02:15+10:30",
            "02:30+10:30",
            "02:45+10:30"
        ]
    );
    // 2026-10-04: 02:00 +10:30 → 02:30 +11; 02:00 and 02:15 do not exist
    assert_eq!(
        offsets(&clinic, "2026-10-03T00:00:00Z", "2026-10-04T12:00:00Z"),
        ["01:00+10:30", "01:15+10:30", "01:30+10:30", "01:45+10:30", "02:30+11:00", "02:45+11:00"]
    );
}

#[test]
fn chatham_quarter_hour_zone_in_both_directions() {
    let clinic = Clinic::new("Pacific/Chatham", &[("sunday", "02:00", "04:30")]).with_service(30, 0, 0);
    // 2026-04-05: 03:45 +13:45 → 02:45 +12:45; 02:45–03:30 once, at the +13:45 instants
    assert_eq!(
        offsets(&clinic, "2026-04-04T00:00:00Z", "2026-04-05T12:00:00Z"),
        [
            "02:00+13:45",
            "02:15+13:45",
            "02:30+13:45",
            "02:45+13:45",
            "03:00+13:45",
            "03:15+13:45",
            "03:30+13:45",
            "03:45+12:45",
            "04:00+12:45"
        ]
    );
    // 2026-09-27: 02:45 +12:45 → 03:45 +13:45; 02:45–03:30 do not exist, and 02:30 runs 30 real minutes to 04:00
    assert_eq!(
        offsets(&clinic, "2026-09-26T00:00:00Z", "2026-09-27T12:00:00Z"),
        ["02:00+12:45", "02:15+12:45", "02:30+12:45", "03:45+13:45", "04:00+13:45"]
    );
}

#[test]
fn an_opening_time_inside_a_gap_opens_at_the_jump() {
    // GIVEN London opens 01:30 on 2026-03-29, a time that does not exist: the clinic opens at 02:00 BST
    let clinic = Clinic::new("Europe/London", &[("sunday", "01:30", "03:00")]).with_service(30, 0, 0);
    assert_eq!(
        offsets(&clinic, "2026-03-28T12:00:00Z", "2026-03-29T12:00:00Z"),
        ["02:00+01:00", "02:15+01:00", "02:30+01:00"]
    );
    assert_eq!(
        first_instant_at(chrono_tz::Europe::London, local("2026-03-29 01:30")),
        at("2026-03-29T01:00:00Z").timestamp()
    );
    assert_eq!(
        first_instant_at(chrono_tz::Pacific::Chatham, local("2026-09-27 03:00")),
        at("2026-09-26T14:00:00Z").timestamp()
    );
    assert_eq!(
        chrono_tz::Pacific::Chatham.timestamp_opt(at("2026-09-26T14:00:00Z").timestamp(), 0).unwrap().naive_local(),
        local("2026-09-27 03:45")
    );
}
