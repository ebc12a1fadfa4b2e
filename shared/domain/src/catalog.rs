//! What a clinic offers and who and what delivers it: locations, services, practitioners (with
//! dated exceptions) and resources. Each has an input shape (what a client sends, unknown fields
//! refused) whose `check` applies the rules that span fields.

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::schedule::{Closure, DayHours, LocalTime, Weekday, check_closures, check_weekly};
use super::screening::ClinicalTag;
use super::values::{CountryCode, Email, MinorUnits, Minutes, Money, Name, Phone, Slug, Text, TimeZone};
use crate::error::{AppError, AppResult};
use crate::ids::{LocationId, PractitionerId, ResourceId};

/// A stored entity (a catalog entry, a client): the caller's fields plus what the server keeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Record<I, T> {
    pub id: I,
    /// Bumped on every change; a write with a stale version is refused (optimistic concurrency).
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Archived entities are kept for history (appointments refer to them) but hidden and unbookable.
    #[serde(default)]
    pub archived: bool,
    #[serde(flatten)]
    pub data: T,
}

pub type Location = Record<LocationId, LocationInput>;
pub type Service = Record<crate::ids::ServiceId, ServiceInput>;
pub type Practitioner = Record<PractitionerId, PractitionerInput>;
pub type Resource = Record<ResourceId, ResourceInput>;

/// A stored exception, with the practitioner it belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PractitionerException {
    pub practitioner_id: PractitionerId,
    #[serde(flatten)]
    pub record: Record<crate::ids::ExceptionId, ExceptionInput>,
}

const MAX_RULES: usize = 100;
const MAX_REFERENCES: usize = 20;

fn too_many(field: &str, max: usize) -> AppError {
    AppError::invalid("too_many_items", field, format!("at most {max} entries"))
}

fn no_duplicates<T: PartialEq>(items: &[T], field: &str) -> AppResult<()> {
    for (index, item) in items.iter().enumerate() {
        if items[..index].contains(item) {
            return Err(AppError::invalid("duplicate_entry", format!("{field}[{index}]"), "listed twice"));
        }
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Address {
    pub line1: Name,
    #[serde(default)]
    pub line2: Option<Name>,
    pub city: Name,
    pub postcode: Name,
    pub country: CountryCode,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocationInput {
    pub name: Name,
    /// Opening hours, closures, schedules and reminders at this location are evaluated in this zone.
    pub timezone: TimeZone,
    pub address: Address,
    #[serde(default)]
    pub phone: Option<Phone>,
    #[serde(default)]
    pub email: Option<Email>,
    #[serde(default)]
    pub opening_hours: Vec<DayHours>,
    #[serde(default)]
    pub closures: Vec<Closure>,
}

impl LocationInput {
    pub fn check(&self) -> AppResult<()> {
        if self.opening_hours.len() > MAX_RULES {
            return Err(too_many("opening_hours", MAX_RULES));
        }
        if self.closures.len() > MAX_RULES {
            return Err(too_many("closures", MAX_RULES));
        }
        check_weekly(&self.opening_hours)
            .map_err(|e| AppError::invalid(e.code, format!("opening_hours[{}]", e.index), e.message))?;
        check_closures(&self.closures)
            .map_err(|e| AppError::invalid(e.code, format!("closures[{}]", e.index), e.message))
    }
}

/// How much deposit a service asks for, overriding the tenant's policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum DepositRule {
    None,
    Percent { percent: u8 },
    Fixed { amount_minor: MinorUnits },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceInput {
    pub name: Name,
    /// Unique within the tenant; made from the name when left out.
    #[serde(default)]
    pub slug: Option<Slug>,
    /// Practitioners perform services whose category is among their specialties.
    pub category: Slug,
    #[serde(default)]
    pub description: Text,
    /// 5–720, on a 5-minute grid.
    pub duration_minutes: Minutes,
    #[serde(default = "zero_minutes")]
    pub buffer_before_minutes: Minutes,
    #[serde(default = "zero_minutes")]
    pub buffer_after_minutes: Minutes,
    pub price: Money,
    #[serde(default)]
    pub deposit: Option<DepositRule>,
    /// Rooms or devices that must all be free for the whole appointment.
    #[serde(default)]
    pub required_resources: Vec<ResourceId>,
    /// Where the service is offered; empty means every location.
    #[serde(default)]
    pub location_ids: Vec<LocationId>,
    #[serde(default = "yes")]
    pub active: bool,
    /// What the treatment involves clinically, for screening; when empty, derived from the
    /// category (`effective_clinical_tags`).
    #[serde(default)]
    pub clinical_tags: Vec<ClinicalTag>,
    /// It can run alongside another service of the same visit that allows it too (colour
    /// processing while a manicure is done), by another practitioner.
    #[serde(default)]
    pub parallel_ok: bool,
}

/// The template topic (as the platform's seed templates name them) a clinical tag needs, given
/// all of a service's tags.
fn consent_topic(tag: ClinicalTag, all: &[ClinicalTag]) -> Option<&'static str> {
    match tag {
        ClinicalTag::Toxin => Some("anti-wrinkle"),
        ClinicalTag::Filler => Some("dermal-filler"),
        ClinicalTag::Peel => Some("chemical-peel"),
        ClinicalTag::Laser => Some("laser"),
        ClinicalTag::Microneedling => Some("microneedling"),
        // An injectable that is neither toxin nor filler (a skin booster) still needs consent.
        ClinicalTag::Injectable if !all.iter().any(|t| matches!(t, ClinicalTag::Toxin | ClinicalTag::Filler)) => {
            Some("injectable")
        }
        ClinicalTag::Injectable | ClinicalTag::Lidocaine => None,
    }
}

fn zero_minutes() -> Minutes {
    Minutes::new(0, 0, 0).expect("zero is in range")
}

fn yes() -> bool {
    true
}

fn check_minutes(value: Minutes, field: &str, min: u32, max: u32) -> AppResult<()> {
    if value.get() < min || value.get() > max || !value.get().is_multiple_of(5) {
        return Err(AppError::invalid("out_of_range", field, format!("must be {min}–{max} minutes in steps of 5")));
    }
    Ok(())
}

impl ServiceInput {
    pub fn check(&self) -> AppResult<()> {
        check_minutes(self.duration_minutes, "duration_minutes", 5, 720)?;
        check_minutes(self.buffer_before_minutes, "buffer_before_minutes", 0, 240)?;
        check_minutes(self.buffer_after_minutes, "buffer_after_minutes", 0, 240)?;
        match &self.deposit {
            Some(DepositRule::Percent { percent }) if *percent > 100 => {
                return Err(AppError::invalid("out_of_range", "deposit.percent", "must be 0–100"));
            }
            Some(DepositRule::Fixed { amount_minor }) if *amount_minor > self.price.amount_minor => {
                return Err(AppError::invalid(
                    "deposit_above_price",
                    "deposit.amount_minor",
                    "a deposit cannot exceed the price",
                ));
            }
            _ => {}
        }
        if self.required_resources.len() > MAX_REFERENCES {
            return Err(too_many("required_resources", MAX_REFERENCES));
        }
        if self.location_ids.len() > MAX_REFERENCES {
            return Err(too_many("location_ids", MAX_REFERENCES));
        }
        no_duplicates(&self.required_resources, "required_resources")?;
        no_duplicates(&self.location_ids, "location_ids")?;
        no_duplicates(&self.clinical_tags, "clinical_tags")
    }

    /// The tags screening uses: the service's own, or those its category implies.
    pub fn effective_clinical_tags(&self) -> Vec<ClinicalTag> {
        if self.clinical_tags.is_empty() {
            ClinicalTag::for_category(&self.category)
        } else {
            self.clinical_tags.clone()
        }
    }

    /// The consent (and aftercare) template topics a booking of this service needs, one per
    /// treatment it combines; empty when it needs no consent. Derived from the clinical tags (the
    /// service's own, or its category's) so a clinic marks a treatment once, for screening and
    /// consent alike. Filler wins over toxin's generic `injectable`; lidocaine alone is a property
    /// of a product, not a treatment, and needs no form of its own.
    pub fn consent_topics(&self) -> Vec<Slug> {
        let tags = self.effective_clinical_tags();
        let mut topics: Vec<&str> = tags.iter().filter_map(|tag| consent_topic(*tag, &tags)).collect();
        topics.dedup();
        topics.into_iter().map(|t| Slug::parse(t).expect("topic slugs are valid")).collect()
    }

    /// Whether a confirmed booking of this service generates its consent and aftercare forms.
    pub fn consent_required(&self) -> bool {
        !self.consent_topics().is_empty()
    }

    /// The slug to store: the one given, or one made from the name.
    pub fn slug_or_derived(&self) -> AppResult<Slug> {
        match &self.slug {
            Some(slug) => Ok(slug.clone()),
            None => Slug::from_name(self.name.as_str()).map_err(|_| {
                AppError::invalid("slug_required", "slug", "give a slug: none can be made from this name")
            }),
        }
    }
}

/// One weekly span a practitioner works at one location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkingRule {
    pub location_id: LocationId,
    pub day: Weekday,
    pub start: LocalTime,
    pub end: LocalTime,
}

impl WorkingRule {
    pub fn hours(&self) -> DayHours {
        DayHours { day: self.day, start: self.start, end: self.end }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PractitionerInput {
    pub display_name: Name,
    #[serde(default)]
    pub title: Option<Name>,
    #[serde(default)]
    pub bio: Text,
    #[serde(default)]
    pub email: Option<Email>,
    /// Service categories this practitioner may perform.
    #[serde(default)]
    pub specialties: Vec<Slug>,
    #[serde(default)]
    pub working_rules: Vec<WorkingRule>,
    #[serde(default = "yes")]
    pub active: bool,
}

impl PractitionerInput {
    pub fn check(&self) -> AppResult<()> {
        if self.working_rules.len() > MAX_RULES {
            return Err(too_many("working_rules", MAX_RULES));
        }
        if self.specialties.len() > MAX_REFERENCES {
            return Err(too_many("specialties", MAX_REFERENCES));
        }
        no_duplicates(&self.specialties, "specialties")?;
        // One person cannot work two places at once: overlaps are refused across locations too.
        let hours: Vec<DayHours> = self.working_rules.iter().map(WorkingRule::hours).collect();
        check_weekly(&hours).map_err(|e| AppError::invalid(e.code, format!("working_rules[{}]", e.index), e.message))
    }

    pub fn location_ids(&self) -> impl Iterator<Item = &LocationId> {
        self.working_rules.iter().map(|rule| &rule.location_id)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExceptionKind {
    /// Not available, whatever the weekly rules say.
    TimeOff,
    /// Available at `location_id` in addition to the weekly rules.
    ExtraHours,
}

/// A dated change to a practitioner's weekly rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExceptionInput {
    pub kind: ExceptionKind,
    #[schema(value_type = String, format = DateTime, example = "2026-12-24T13:00:00+00:00")]
    pub starts_at: DateTime<FixedOffset>,
    #[schema(value_type = String, format = DateTime, example = "2026-12-27T09:00:00+00:00")]
    pub ends_at: DateTime<FixedOffset>,
    /// Required for extra hours: where the practitioner is available.
    #[serde(default)]
    pub location_id: Option<LocationId>,
    #[serde(default)]
    pub note: Option<Name>,
}

impl ExceptionInput {
    pub fn check(&self) -> AppResult<()> {
        if self.starts_at >= self.ends_at {
            return Err(AppError::invalid("empty_time_range", "ends_at", "must be after starts_at"));
        }
        let length = self.ends_at - self.starts_at;
        match self.kind {
            ExceptionKind::TimeOff if length > chrono::Duration::days(366) => {
                Err(AppError::invalid("time_range_too_long", "ends_at", "time off may last at most a year"))
            }
            ExceptionKind::ExtraHours if length > chrono::Duration::hours(24) => {
                Err(AppError::invalid("time_range_too_long", "ends_at", "extra hours may span at most 24 hours"))
            }
            ExceptionKind::ExtraHours if self.location_id.is_none() => {
                Err(AppError::invalid("location_required", "location_id", "extra hours need a location"))
            }
            _ => Ok(()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    Room,
    Device,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceInput {
    pub name: Name,
    pub kind: ResourceKind,
    pub location_id: LocationId,
    /// How many appointments may use it at once (1–50).
    #[serde(default = "one")]
    pub capacity: u32,
    #[serde(default = "yes")]
    pub active: bool,
}

fn one() -> u32 {
    1
}

impl ResourceInput {
    pub fn check(&self) -> AppResult<()> {
        if !(1..=50).contains(&self.capacity) {
            return Err(AppError::invalid("out_of_range", "capacity", "must be 1–50"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn service(extra: serde_json::Value) -> Result<ServiceInput, serde_json::Error> {
        let mut body = json!({
            "name": "Lip filler", "category": "injectables", "duration_minutes": 45,
            "price": {"amount_minor": 25000}
        });
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        serde_json::from_value(body)
    }

    #[test]
    fn a_service_gets_its_slug_from_its_name_and_zero_buffers_by_default() {
        let service = service(json!({})).unwrap();
        service.check().unwrap();
        assert_eq!(service.slug_or_derived().unwrap().as_str(), "lip-filler");
        assert_eq!(service.buffer_after_minutes.get(), 0);
        assert_eq!(service.price.currency.as_str(), "GBP");
    }

    #[test]
    fn a_service_without_clinical_tags_takes_them_from_its_category() {
        use ClinicalTag::*;
        assert_eq!(service(json!({})).unwrap().effective_clinical_tags(), [Injectable, Toxin]);
        let own = service(json!({"clinical_tags": ["injectable", "filler", "lidocaine"]})).unwrap();
        assert_eq!(own.effective_clinical_tags(), [Injectable, Filler, Lidocaine]);
        let twice = service(json!({"clinical_tags": ["peel", "peel"]})).unwrap();
        assert!(matches!(twice.check(), Err(AppError::Invalid { code: "duplicate_entry", .. })));
        assert!(service(json!({"clinical_tags": ["tattoo"]})).is_err());
    }

    #[test]
    fn a_treatment_needs_one_consent_per_treatment_it_combines_and_a_consultation_needs_none() {
        let topics = |extra| service(extra).unwrap().consent_topics().iter().map(|t| t.to_string()).collect::<Vec<_>>();
        assert_eq!(topics(json!({})), ["anti-wrinkle"], "from the injectables category");
        assert_eq!(topics(json!({"clinical_tags": ["injectable", "filler", "lidocaine"]})), ["dermal-filler"]);
        assert_eq!(topics(json!({"clinical_tags": ["toxin", "filler"]})), ["anti-wrinkle", "dermal-filler"]);
        assert_eq!(topics(json!({"clinical_tags": ["injectable"]})), ["injectable"], "a skin booster");
        assert!(topics(json!({"clinical_tags": ["lidocaine"]})).is_empty());
        let consultation = service(json!({"category": "consultation"})).unwrap();
        assert!(!consultation.consent_required());
        assert!(service(json!({"category": "laser"})).unwrap().consent_required());
    }

    #[test]
    fn negative_durations_and_prices_are_refused_while_parsing() {
        assert!(service(json!({"duration_minutes": -15})).is_err());
        assert!(service(json!({"price": {"amount_minor": -1}})).is_err());
        assert!(service(json!({"colour": "red"})).is_err(), "unknown fields are refused");
    }

    #[test]
    fn a_duration_off_the_five_minute_grid_or_a_deposit_above_the_price_breaks_a_rule() {
        let odd = service(json!({"duration_minutes": 42})).unwrap();
        assert!(matches!(odd.check(), Err(AppError::Invalid { code: "out_of_range", .. })));
        let greedy = service(json!({"deposit": {"kind": "fixed", "amount_minor": 30000}})).unwrap();
        assert!(matches!(greedy.check(), Err(AppError::Invalid { code: "deposit_above_price", .. })));
    }

    #[test]
    fn a_practitioner_cannot_work_overlapping_hours_at_two_locations() {
        let practitioner: PractitionerInput = serde_json::from_value(json!({
            "display_name": "Dr Ada",
            "working_rules": [
                {"location_id": "loc_a", "day": "monday", "start": "09:00", "end": "13:00"},
                {"location_id": "loc_b", "day": "monday", "start": "12:00", "end": "17:00"}
            ]
        }))
        .unwrap();
        let err = practitioner.check().unwrap_err();
        assert!(
            matches!(err, AppError::Invalid { code: "overlapping_rules", field: Some(f), .. } if f == "working_rules[1]")
        );
    }

    #[test]
    fn extra_hours_need_a_location_and_time_off_must_end_after_it_starts() {
        let extra: ExceptionInput = serde_json::from_value(json!({
            "kind": "extra_hours", "starts_at": "2026-12-05T09:00:00Z", "ends_at": "2026-12-05T13:00:00Z"
        }))
        .unwrap();
        assert!(matches!(extra.check(), Err(AppError::Invalid { code: "location_required", .. })));
        let backwards: ExceptionInput = serde_json::from_value(json!({
            "kind": "time_off", "starts_at": "2026-12-05T09:00:00Z", "ends_at": "2026-12-05T08:00:00Z"
        }))
        .unwrap();
        assert!(matches!(backwards.check(), Err(AppError::Invalid { code: "empty_time_range", .. })));
    }
}
