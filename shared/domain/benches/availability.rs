//! The availability engine on a busy fortnight: one London location, 10 practitioners, 14 days
//! (across the 2026-03-29 clock change), 300 existing bookings and holds, a 45-minute service
//! with buffers that needs one room.

use std::hint::black_box;

use chrono::{DateTime, Duration, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use mas_domain::availability::{AvailabilityInput, BookingRules, Busy, BusyKind, compute, explain};
use mas_domain::catalog::{Location, Practitioner, PractitionerException, Record, Resource, Service};
use mas_domain::ids::{ExceptionId, LocationId, PractitionerId, ResourceId, ServiceId};
use serde_json::json;

const DAYS: [&str; 7] = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339).unwrap().with_timezone(&Utc)
}

fn record<I, T>(id: I, data: T) -> Record<I, T> {
    let epoch = at("2025-01-01T00:00:00Z");
    Record { id, version: 1, created_at: epoch, updated_at: epoch, archived: false, data }
}

/// A small deterministic generator, so every run measures the same fortnight.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

struct Fortnight {
    location: Location,
    service: Service,
    practitioners: Vec<Practitioner>,
    exceptions: Vec<PractitionerException>,
    resources: Vec<Resource>,
    busy: Vec<Busy>,
    start: DateTime<Utc>,
}

impl Fortnight {
    fn new() -> Fortnight {
        let home = LocationId::parse("loc_london").unwrap();
        let room = ResourceId::parse("res_laser").unwrap();
        let opening: Vec<_> = DAYS
            .iter()
            .map(|d| {
                if *d == "sunday" {
                    json!({"day": d, "start": "10:00", "end": "16:00"})
                } else {
                    json!({"day": d, "start": "08:00", "end": "20:00"})
                }
            })
            .collect();
        let location = record(
            home.clone(),
            serde_json::from_value(json!({
                "name": "London", "timezone": "Europe/London",
                "address": {"line1": "1 Harley Street", "city": "London", "postcode": "W1G 9QD", "country": "GB"},
                "opening_hours": opening,
            }))
            .unwrap(),
        );
        let service = record(
            ServiceId::parse("svc_laser").unwrap(),
            serde_json::from_value(json!({
                "name": "Laser", "category": "laser", "duration_minutes": 45,
                "buffer_before_minutes": 10, "buffer_after_minutes": 15,
                "price": {"amount_minor": 18000}, "required_resources": [room.as_str()],
            }))
            .unwrap(),
        );
        let resources = vec![record(
            room.clone(),
            serde_json::from_value(
                json!({"name": "Laser room", "kind": "room", "location_id": home.as_str(), "capacity": 2}),
            )
            .unwrap(),
        )];
        let shifts = [("08:00", "16:00"), ("09:00", "17:00"), ("12:00", "20:00"), ("10:00", "18:30")];
        let practitioners: Vec<Practitioner> = (0..10)
            .map(|i| {
                let (start, end) = shifts[i % shifts.len()];
                let rules: Vec<_> = DAYS
                    .iter()
                    .enumerate()
                    .filter(|(d, _)| (d + i) % 7 < 5)
                    .map(|(_, d)| json!({"location_id": home.as_str(), "day": d, "start": start, "end": end}))
                    .collect();
                record(
                    PractitionerId::parse(&format!("prc_p{i}")).unwrap(),
                    serde_json::from_value(json!({
                        "display_name": format!("Practitioner {i}"),
                        "specialties": if i == 9 { vec!["injectables"] } else { vec!["laser", "skincare"] },
                        "working_rules": rules,
                    }))
                    .unwrap(),
                )
            })
            .collect();
        let start = at("2026-03-23T00:00:00Z");
        let mut random = Lcg(42);
        let exceptions = (0..6)
            .map(|i| {
                let from = start + Duration::days(random.below(14) as i64) + Duration::hours(8 + random.below(6) as i64);
                PractitionerException {
                    practitioner_id: practitioners[i].id.clone(),
                    record: record(
                        ExceptionId::parse(&format!("exc_{i}")).unwrap(),
                        serde_json::from_value(json!({
                            "kind": "time_off", "starts_at": from.to_rfc3339(), "ends_at": (from + Duration::hours(3)).to_rfc3339(),
                        }))
                        .unwrap(),
                    ),
                }
            })
            .collect();
        let busy = (0..300)
            .map(|_| {
                let who = &practitioners[random.below(10) as usize];
                let begins = start
                    + Duration::days(random.below(14) as i64)
                    + Duration::minutes(7 * 60 + 15 * random.below(48) as i64);
                let length = Duration::minutes(30 + 15 * random.below(5) as i64);
                Busy {
                    practitioner_id: Some(who.id.clone()),
                    resource_ids: if random.below(3) == 0 { vec![room.clone()] } else { Vec::new() },
                    start: begins,
                    end: begins + length,
                    kind: if random.below(10) == 0 { BusyKind::Hold } else { BusyKind::Booked },
                }
            })
            .collect();
        Fortnight { location, service, practitioners, exceptions, resources, busy, start }
    }

    fn input(&self) -> AvailabilityInput<'_> {
        AvailabilityInput {
            location: &self.location,
            service: &self.service,
            practitioners: &self.practitioners,
            exceptions: &self.exceptions,
            resources: &self.resources,
            busy: &self.busy,
            rules: BookingRules {
                grid_minutes: 15,
                min_notice_minutes: 120,
                max_advance_days: 60,
                same_day_cutoff: None,
            },
            now: self.start - Duration::hours(12),
            from: self.start,
            to: self.start + Duration::days(14),
            practitioner: None,
        }
    }
}

fn availability(c: &mut Criterion) {
    let fortnight = Fortnight::new();
    let input = fortnight.input();
    let slots = compute(&input);
    let offers: usize = slots.iter().map(|s| s.practitioner_ids.len()).sum();
    eprintln!("fortnight: {} bookable starts, {} practitioner offers", slots.len(), offers);
    assert!(slots.len() > 300, "the fixture should leave plenty of room");

    c.bench_function("compute 10 practitioners x 14 days x 300 bookings", |b| b.iter(|| compute(black_box(&input))));
    let start = slots[slots.len() / 2].start;
    c.bench_function("explain one start", |b| b.iter(|| explain(black_box(&input), black_box(start))));
}

criterion_group!(benches, availability);
criterion_main!(benches);
