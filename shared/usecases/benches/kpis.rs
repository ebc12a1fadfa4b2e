//! The KPI read over a year: a clinic's events of two years (a booking made, a visit completed
//! and a sale every day for each of 3 practitioners, a no-show every fourth day) applied by the
//! projections to the embedded SQLite table, then `GET /v1/analytics/kpis` for a whole year
//! compared with the year before (730 days of rollups) read 20 times. Reports the seeding rate,
//! the read's median and the number of table reads (query pages) per KPI read.
//! `cargo bench -p mas-usecases --bench kpis` (add `-- --quick` for 60 days a year).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use mas_domain::ids::{AppointmentId, ClientId, LocationId, PractitionerId, ServiceId, TenantId};
use mas_domain::insight::{Dimension, KpiPeriod};
use mas_embedded::SqliteTable;
use mas_ports::{DomainEvent, FixedClock, Table};
use mas_store::Store;
use serde_json::json;

#[path = "support/counting_table.rs"]
mod counting_table;
use counting_table::CountingTable;

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let days_a_year: i64 = if quick { 60 } else { 365 };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async move {
        let dir = tempfile::tempdir().unwrap();
        let sqlite: Arc<dyn Table> = Arc::new(SqliteTable::open(&dir.path().join("kpis.sqlite3")).unwrap());
        let table = CountingTable::over(sqlite);
        let first = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let clock = Arc::new(FixedClock::new(Utc.with_ymd_and_hms(2028, 1, 1, 0, 0, 0).unwrap()));
        let store = Store::new(table.clone(), clock);
        let t = TenantId::parse("ten_bench").unwrap();
        let location = LocationId::parse("loc_bench").unwrap();
        let service = ServiceId::parse("svc_bench").unwrap();
        let practitioners: Vec<PractitionerId> =
            (0..3).map(|i| PractitionerId::parse(&format!("prc_bench{i}")).unwrap()).collect();
        let clients: Vec<ClientId> = (0..200).map(|i| ClientId::parse(&format!("cli_bench{i}")).unwrap()).collect();

        let seeding = Instant::now();
        let mut events = 0;
        for d in 0..2 * days_a_year {
            let day = first + Duration::days(d);
            let start = Utc.from_utc_datetime(&day.and_hms_opt(10, 0, 0).unwrap());
            for (i, practitioner) in practitioners.iter().enumerate() {
                let appointment = AppointmentId::new();
                let client = &clients[(d as usize * 3 + i) % clients.len()];
                let booking = json!({"appointment_id": appointment, "client_id": client, "start": start,
                    "end": start + Duration::minutes(30), "timezone": "Europe/London", "source": "staff", "by": "mem_x",
                    "location_id": location, "service_id": service, "practitioner_id": practitioner});
                let no_show = d % 4 == 0 && i == 0;
                let mut list = vec![
                    DomainEvent::new(&t, "booking.created", &format!("{appointment}@v1"), start - Duration::days(3), booking.clone()),
                    DomainEvent::new(&t, if no_show { "booking.no_show" } else { "booking.completed" }, &format!("{appointment}@v2"), start, booking),
                ];
                if !no_show {
                    let sale = json!({"sale_id": format!("sal_{appointment}"), "location_id": location, "business_day": day,
                        "total_minor": 20000, "currency": "GBP",
                        "lines": [{"service_id": service, "practitioner_id": practitioner, "total_minor": 20000}]});
                    list.push(DomainEvent::new(&t, "sale.completed", &format!("sale-{appointment}"), start, sale));
                }
                for event in list {
                    mas_usecases::insight::apply(&store, &event).await.unwrap();
                    events += 1;
                }
            }
        }
        let seeded = seeding.elapsed().as_secs_f64();
        println!("seeded {events} events over {} days in {seeded:.1} s ({:.0} events/s)", 2 * days_a_year, events as f64 / seeded);

        let to = first + Duration::days(2 * days_a_year - 1);
        let period = KpiPeriod::new(to - Duration::days(days_a_year - 1), to).unwrap();
        let mut runs = Vec::new();
        for run in 1..=20 {
            table.queries.store(0, Ordering::Relaxed);
            let started = Instant::now();
            let report = mas_usecases::kpis::read(&store, &t, period, Dimension::Clinic, true, true).await.unwrap();
            let elapsed = started.elapsed();
            assert_eq!(report.current.days.len() as i64, days_a_year);
            assert_eq!(report.previous.as_ref().unwrap().days.len() as i64, days_a_year);
            if run == 1 {
                println!(
                    "a year's KPIs with the year before: {} visits, {} no-shows, revenue {}; table reads (query pages) {}",
                    report.current.totals.completed,
                    report.current.totals.no_shows,
                    report.current.totals.revenue_minor.unwrap_or(0),
                    table.queries.load(Ordering::Relaxed),
                );
            }
            runs.push(elapsed.as_secs_f64() * 1000.0);
        }
        runs.sort_by(f64::total_cmp);
        println!("KPI read of {} days of rollups: median {:.2} ms, min {:.2} ms, max {:.2} ms", 2 * days_a_year, runs[10], runs[0], runs[19]);
    });
}
