//! Availability: the bookable starts for a service at a location (for staff, and anonymously for
//! a clinic's site), and the explanation of one start for support staff.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiResult, ErrorEnvelope};
use super::extract::{Actor, PathParams, QueryArgs};
use mas_domain::appointment::{MAX_VISIT_SERVICES, PartShape, check_shape};
use mas_domain::availability::{Reason, day_start};
use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::{LocationId, PractitionerId, ServiceId};
use mas_domain::team::Permission;
use mas_domain::tenant::Tenant;
use mas_domain::values::{Slug, TimeZone};
use mas_usecases::app::App;
use mas_usecases::availability::{Calendar, Request, visit_slots};
use mas_usecases::tenants;

/// The longest window one availability request may cover.
pub const MAX_WINDOW_DAYS: i64 = 31;

/// A point in time as a query argument: an RFC 3339 instant, or a date meaning the start of that
/// day in the location's zone (as `to`, the end of it).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(try_from = "String")]
pub enum TimeArg {
    Day(NaiveDate),
    Instant(DateTime<FixedOffset>),
}

/// The years a time argument may name: far enough for any booking window, and far from the
/// calendar's ends, where adding a day would overflow.
const YEARS: std::ops::RangeInclusive<i32> = 2000..=2200;

impl TryFrom<String> for TimeArg {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        let arg = match NaiveDate::parse_from_str(&raw, "%Y-%m-%d") {
            Ok(day) => TimeArg::Day(day),
            // A `+` offset sent unencoded arrives as a space.
            Err(_) => DateTime::parse_from_rfc3339(&raw.replace(' ', "+"))
                .map(TimeArg::Instant)
                .map_err(|_| "must be a date (2026-12-01) or an RFC 3339 time (2026-12-01T09:00:00Z)".to_owned())?,
        };
        let year = match &arg {
            TimeArg::Day(day) => day.year(),
            TimeArg::Instant(at) => at.year(),
        };
        if !YEARS.contains(&year) {
            return Err(format!("must be in the years {} to {}", YEARS.start(), YEARS.end()));
        }
        Ok(arg)
    }
}

impl TimeArg {
    pub fn start(self, zone: TimeZone) -> DateTime<Utc> {
        match self {
            TimeArg::Day(day) => day_start(zone.tz(), day),
            TimeArg::Instant(at) => at.with_timezone(&Utc),
        }
    }

    pub fn end(self, zone: TimeZone) -> DateTime<Utc> {
        match self {
            TimeArg::Day(day) => day_start(zone.tz(), day + Duration::days(1)),
            TimeArg::Instant(at) => at.with_timezone(&Utc),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AvailabilityQuery {
    pub location_id: LocationId,
    pub service_id: ServiceId,
    /// A date (that local day's start) or an RFC 3339 time.
    #[param(value_type = String)]
    pub from: TimeArg,
    /// A date (up to the end of that local day) or an RFC 3339 time; at most 31 days after `from`.
    #[param(value_type = String)]
    pub to: TimeArg,
    pub practitioner_id: Option<PractitionerId>,
    /// Also show each start in this IANA zone (the visitor's).
    #[param(value_type = Option<String>)]
    pub tz: Option<TimeZone>,
    /// A visit's further services, comma-separated, in order (with anyone who can take them):
    /// only starts from which all of them can follow one after another are offered. An id
    /// written `@svc_…` runs alongside the service before it (see the booking's `with_previous`).
    #[param(value_type = Option<String>)]
    pub then: Option<ServiceList>,
}

/// Service ids separated by commas, each with whether it runs alongside the one before it (an
/// `@` before the id), at most `MAX_VISIT_SERVICES - 1` of them.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String")]
pub struct ServiceList(pub Vec<(ServiceId, bool)>);

impl TryFrom<String> for ServiceList {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        let ids = raw
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(|part| {
                let (id, with_previous) = match part.strip_prefix('@') {
                    Some(id) => (id.trim(), true),
                    None => (part, false),
                };
                ServiceId::parse(id).map(|id| (id, with_previous)).map_err(|e| e.0)
            })
            .collect::<Result<Vec<_>, _>>()?;
        if ids.len() >= MAX_VISIT_SERVICES {
            return Err(format!("at most {} further services", MAX_VISIT_SERVICES - 1));
        }
        Ok(ServiceList(ids))
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Availability {
    pub location_id: LocationId,
    pub service_id: ServiceId,
    /// The location's zone: `local_start` is in it.
    pub timezone: TimeZone,
    pub display_timezone: Option<TimeZone>,
    pub grid_minutes: u32,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub slots: Vec<SlotView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SlotView {
    pub start: DateTime<Utc>,
    /// On the location's wall clock, with its offset.
    pub local_start: DateTime<FixedOffset>,
    /// In `tz`, when asked for.
    pub display_start: Option<DateTime<FixedOffset>>,
    pub practitioner_ids: Vec<PractitionerId>,
}

#[utoipa::path(get, path = "/v1/availability", operation_id = "get_availability", tag = "availability", security(("staff_jwt" = [])), params(AvailabilityQuery),
    responses((status = 200, body = Availability), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn staff(
    State(app): State<Arc<App>>,
    actor: Actor,
    QueryArgs(query): QueryArgs<AvailabilityQuery>,
) -> ApiResult<Json<Availability>> {
    actor.require(Permission::BookingRead)?;
    // Free times at a location are offered only to those who work there (403 elsewhere, as
    // booking there or filtering the calendar by it).
    actor.reach().locations.require(&query.location_id)?;
    let tenant = tenants::tenant(&app.store, &actor.tenant_id).await?;
    Ok(Json(availability(&app, &tenant, query).await?))
}

/// The same answer for a clinic's public site, without signing in.
#[utoipa::path(get, path = "/v1/public/{tenant_slug}/availability", operation_id = "get_public_availability", tag = "public", params(("tenant_slug" = String, Path), AvailabilityQuery),
    responses((status = 200, body = Availability), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn public(
    State(app): State<Arc<App>>,
    path: PathParams,
    QueryArgs(query): QueryArgs<AvailabilityQuery>,
) -> ApiResult<Json<Availability>> {
    let tenant = public_tenant(&app, &path).await?;
    Ok(Json(availability(&app, &tenant, query).await?))
}

/// A visit asked for with services alongside each other that do not allow it: 422, as booking it
/// would be.
fn check_parallel(first: &Calendar, rest: &[(Calendar, bool)]) -> AppResult<()> {
    let shapes: Vec<PartShape> = std::iter::once((first, false))
        .chain(rest.iter().map(|(c, with)| (c, *with)))
        .map(|(calendar, with_previous)| PartShape {
            parallel_ok: calendar.service.data.parallel_ok,
            with_previous,
            practitioner_id: None,
        })
        .collect();
    check_shape(&shapes).map_err(|err| AppError::invalid("not_parallel", "then", err.to_string()))
}

pub async fn public_tenant(app: &App, path: &PathParams) -> AppResult<Tenant> {
    let slug: Slug = path.id("tenant_slug", "clinic").map_err(|_| AppError::NotFound { what: "clinic" })?;
    let id = tenants::tenant_by_slug(&app.store, &slug).await?;
    tenants::tenant(&app.store, &id).await
}

async fn availability(app: &App, tenant: &Tenant, query: AvailabilityQuery) -> AppResult<Availability> {
    let location =
        mas_usecases::catalog::get::<mas_domain::catalog::LocationInput>(&app.store, &tenant.id, &query.location_id)
            .await?;
    let zone = location.data.timezone;
    let (from, to) = (query.from.start(zone), query.to.end(zone));
    if to <= from {
        return Err(AppError::invalid("empty_window", "to", "must be after `from`"));
    }
    if to - from > Duration::days(MAX_WINDOW_DAYS) {
        return Err(AppError::invalid("window_too_large", "to", format!("at most {MAX_WINDOW_DAYS} days at a time")));
    }
    let request = Request {
        location_id: query.location_id.clone(),
        service_id: query.service_id.clone(),
        practitioner_id: query.practitioner_id.clone(),
        from,
        to,
    };
    let calendar = Calendar::load(&app.store, tenant, request).await?;
    let mut rest = Vec::new();
    for (service_id, with_previous) in query.then.iter().flat_map(|list| &list.0) {
        let request = Request {
            location_id: query.location_id.clone(),
            service_id: service_id.clone(),
            practitioner_id: None,
            from,
            to: to + Duration::days(1),
        };
        rest.push((Calendar::load(&app.store, tenant, request).await?.follow_on(), *with_previous));
    }
    check_parallel(&calendar, &rest)?;
    let slots = if rest.is_empty() { calendar.slots() } else { visit_slots(&calendar, &rest) };
    let slots = slots
        .into_iter()
        .map(|slot| SlotView {
            start: slot.start,
            local_start: slot.start.with_timezone(&zone.tz()).fixed_offset(),
            display_start: query.tz.map(|tz| slot.start.with_timezone(&tz.tz()).fixed_offset()),
            practitioner_ids: slot.practitioner_ids,
        })
        .collect();
    Ok(Availability {
        location_id: query.location_id,
        service_id: query.service_id,
        timezone: zone,
        display_timezone: query.tz,
        grid_minutes: calendar.policy.input.booking.grid_minutes,
        from,
        to,
        slots,
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExplainQuery {
    pub location_id: LocationId,
    pub service_id: ServiceId,
    /// An RFC 3339 time.
    pub start: DateTime<FixedOffset>,
    pub practitioner_id: Option<PractitionerId>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExplainView {
    pub start: DateTime<Utc>,
    pub local_start: DateTime<FixedOffset>,
    pub bookable: bool,
    pub practitioner_ids: Vec<PractitionerId>,
    /// Shared reasons first (`practitioner_id` null), then each practitioner's.
    pub reasons: Vec<Reason>,
    pub policy_version: u32,
}

/// Why one start can or cannot be booked: for support staff answering "why can't I book 10:15?".
#[utoipa::path(get, path = "/v1/availability/explain", operation_id = "explain_availability", tag = "availability", security(("staff_jwt" = [])), params(ExplainQuery),
    responses((status = 200, body = ExplainView), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn explain(
    State(app): State<Arc<App>>,
    actor: Actor,
    QueryArgs(query): QueryArgs<ExplainQuery>,
) -> ApiResult<Json<ExplainView>> {
    actor.require(Permission::BookingRead)?;
    actor.reach().locations.require(&query.location_id)?;
    let tenant = tenants::tenant(&app.store, &actor.tenant_id).await?;
    let start = query.start.with_timezone(&Utc);
    let request = Request {
        location_id: query.location_id,
        service_id: query.service_id,
        practitioner_id: query.practitioner_id,
        from: start,
        to: start + Duration::days(1),
    };
    let calendar = Calendar::load(&app.store, &tenant, request).await?;
    let explanation = calendar.explain(start);
    Ok(Json(ExplainView {
        start,
        local_start: start.with_timezone(&calendar.location.data.timezone.tz()).fixed_offset(),
        bookable: explanation.bookable,
        practitioner_ids: explanation.practitioner_ids,
        reasons: explanation.reasons,
        policy_version: calendar.policy.version,
    }))
}
