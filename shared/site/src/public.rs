//! What a tenant's site shows: the public catalog (also the body of
//! `GET /v1/public/{tenant_slug}/catalog`).

use serde::Serialize;
use utoipa::ToSchema;

use mas_domain::catalog::{Address, DepositRule};
use mas_domain::ids::{LocationId, PractitionerId, ServiceId};
use mas_domain::schedule::{Closure, DayHours};
use mas_domain::tenant::{HttpsUrl, Seo, ThemePreset, ThemeTokens};
use mas_domain::values::{Currency, Minutes, Money, Name, Phone, Slug, Text, TimeZone};

#[derive(Serialize, ToSchema)]
pub struct PublicCatalog {
    pub clinic: PublicClinic,
    pub brand: PublicBrand,
    pub locations: Vec<PublicLocation>,
    pub services: Vec<PublicService>,
    pub practitioners: Vec<PublicPractitioner>,
    /// Reviews the clinic published (its site's reviews section and schema.org rating).
    pub reviews: PublicReviews,
}

/// The published reviews: the rating over all of them, and the newest few.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct PublicReviews {
    /// The average rating (1 to 5, one decimal); absent without reviews.
    pub rating_value: Option<f64>,
    pub review_count: usize,
    /// The newest, at most `MAX_SHOWN`.
    pub items: Vec<PublicReview>,
}

impl PublicReviews {
    pub const MAX_SHOWN: usize = 20;
}

/// One published review as the site shows it: the name she chose, never her record.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicReview {
    pub author: String,
    pub rating: u8,
    pub body: String,
    pub service: String,
    pub date_published: chrono::NaiveDate,
    /// The clinic's public reply.
    pub reply: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PublicClinic {
    pub name: Name,
    pub slug: Slug,
    pub currency: Currency,
}

#[derive(Serialize, ToSchema)]
pub struct PublicBrand {
    pub theme: ThemePreset,
    pub tokens: ThemeTokens,
    pub logo_url: Option<HttpsUrl>,
    pub seo: Seo,
    /// The clinic's legal name and numbers, for the footer (a UK company's site must show them).
    pub business: mas_domain::business::BusinessDetails,
}

#[derive(Serialize, ToSchema)]
pub struct PublicLocation {
    pub id: LocationId,
    pub name: Name,
    pub timezone: TimeZone,
    pub address: Address,
    pub phone: Option<Phone>,
    pub opening_hours: Vec<DayHours>,
    pub closures: Vec<Closure>,
}

#[derive(Serialize, ToSchema)]
pub struct PublicService {
    pub id: ServiceId,
    pub name: Name,
    pub slug: Option<Slug>,
    pub category: Slug,
    pub description: Text,
    pub duration_minutes: Minutes,
    pub price: Money,
    pub deposit: Option<DepositRule>,
    /// Empty: offered at every location.
    pub location_ids: Vec<LocationId>,
    /// It may run alongside another treatment of a visit that allows it too.
    pub parallel_ok: bool,
}

#[derive(Serialize, ToSchema)]
pub struct PublicPractitioner {
    pub id: PractitionerId,
    pub display_name: Name,
    pub title: Option<Name>,
    pub bio: Text,
    pub specialties: Vec<Slug>,
    pub location_ids: Vec<LocationId>,
}
