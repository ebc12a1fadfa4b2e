//! What an event says for the projections: its payload read into a [`Fact`]. Fields added to
//! the payloads for the projections (an appointment's end, time zone, source and last actor; a
//! sale's lines and tips; a correction's location and day) may be missing from older events,
//! which are still read: no minutes, the UTC day, no source, the clinic as the canceller.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::{AppointmentId, ClientId, LocationId, PractitionerId, ServiceId};
use mas_domain::insight::{CancelReason, Dims, Fact, SaleLineFact, Visit};
use mas_domain::values::{Currency, TimeZone};
use mas_ports::DomainEvent;

#[derive(Deserialize)]
struct BookingPayload {
    appointment_id: AppointmentId,
    client_id: ClientId,
    start: DateTime<Utc>,
    #[serde(default)]
    end: Option<DateTime<Utc>>,
    #[serde(default)]
    timezone: Option<TimeZone>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    by: Option<String>,
    location_id: LocationId,
    service_id: ServiceId,
    practitioner_id: PractitionerId,
}

#[derive(Deserialize)]
struct SaleLinePayload {
    #[serde(default)]
    service_id: Option<ServiceId>,
    #[serde(default)]
    practitioner_id: Option<PractitionerId>,
    total_minor: i64,
}

#[derive(Deserialize)]
struct SalePayload {
    location_id: LocationId,
    business_day: NaiveDate,
    total_minor: i64,
    #[serde(default)]
    tips_minor: i64,
    currency: Currency,
    #[serde(default)]
    lines: Vec<SaleLinePayload>,
}

#[derive(Deserialize)]
struct CorrectionPayload {
    amount_minor: i64,
    currency: Currency,
    #[serde(default)]
    location_id: Option<LocationId>,
    #[serde(default)]
    business_day: Option<NaiveDate>,
}

fn read<T: DeserializeOwned>(event: &DomainEvent) -> AppResult<T> {
    serde_json::from_value(event.payload.clone())
        .map_err(|e| AppError::Internal(format!("a {} event the projections cannot read: {e}", event.kind)))
}

/// The fact `event` states, or `None` for a kind the projections do not count.
pub fn of(event: &DomainEvent) -> AppResult<Option<Fact>> {
    let fact = match event.kind.as_str() {
        "booking.created" | "booking.completed" | "booking.no_show" | "booking.cancelled" => {
            let p: BookingPayload = read(event)?;
            let local = |at: DateTime<Utc>| match p.timezone {
                Some(tz) => at.with_timezone(&tz.tz()).date_naive(),
                None => at.date_naive(),
            };
            let dims = Dims {
                location_id: p.location_id.clone(),
                practitioner_id: p.practitioner_id.clone(),
                service_id: p.service_id.clone(),
            };
            let minutes = p.end.map_or(0, |end| (end - p.start).num_minutes().max(0));
            let day = local(p.start);
            match event.kind.as_str() {
                "booking.created" => Fact::BookingMade {
                    day: local(event.occurred_at),
                    dims,
                    online: p.source.as_deref().map(|s| s == "online"),
                },
                "booking.completed" => Fact::VisitCompleted {
                    client_id: p.client_id,
                    visit: Visit { appointment_id: p.appointment_id, day, dims },
                    minutes,
                },
                "booking.no_show" => Fact::NoShow { day, dims, minutes },
                _ => Fact::Cancelled { day, dims, reason: CancelReason::of_actor(p.by.as_deref().unwrap_or("")) },
            }
        }
        "sale.completed" => {
            let p: SalePayload = read(event)?;
            Fact::Sale {
                day: p.business_day,
                location_id: p.location_id,
                currency: p.currency,
                total_minor: p.total_minor - p.tips_minor,
                lines: p
                    .lines
                    .into_iter()
                    .map(|l| SaleLineFact {
                        practitioner_id: l.practitioner_id,
                        service_id: l.service_id,
                        total_minor: l.total_minor,
                    })
                    .collect(),
            }
        }
        "sale.voided" | "sale.refunded" => {
            let p: CorrectionPayload = read(event)?;
            Fact::Refund {
                day: p.business_day.unwrap_or_else(|| event.occurred_at.date_naive()),
                location_id: p.location_id,
                currency: p.currency,
                amount_minor: p.amount_minor,
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(fact))
}
