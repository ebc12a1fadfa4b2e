//! The anonymous catalog a tenant's site reads: active services, locations, practitioners'
//! public profiles and the brand. Nothing private (emails, working rules, team) leaves here.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::error::{ApiResult, ErrorEnvelope};
use super::extract::PathParams;
use crate::app::App;
use crate::domain::catalog::{Address, DepositRule};
use crate::domain::schedule::{Closure, DayHours};
use crate::domain::tenant::{HttpsUrl, Seo, ThemePreset, ThemeTokens};
use crate::domain::values::{Currency, Minutes, Money, Name, Phone, Slug, Text, TimeZone};
use crate::ids::{LocationId, PractitionerId, ServiceId};
use crate::ops::catalog::Catalog;
use crate::ops::tenants;

#[derive(Serialize, ToSchema)]
pub struct PublicCatalog {
    pub clinic: PublicClinic,
    pub brand: PublicBrand,
    pub locations: Vec<PublicLocation>,
    pub services: Vec<PublicService>,
    pub practitioners: Vec<PublicPractitioner>,
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

#[utoipa::path(get, path = "/v1/public/{tenant_slug}/catalog", tag = "public", params(("tenant_slug" = String, Path)),
    responses((status = 200, body = PublicCatalog), (status = 404, body = ErrorEnvelope)))]
pub async fn catalog(State(app): State<Arc<App>>, path: PathParams) -> ApiResult<Json<PublicCatalog>> {
    let slug: Slug = path.id("tenant_slug", "clinic")?;
    Ok(Json(load(&app, &slug).await?))
}

/// The public catalog of the clinic with this slug (what its site is rendered from).
pub async fn load(app: &App, slug: &Slug) -> crate::error::AppResult<PublicCatalog> {
    let tenant_id = tenants::tenant_by_slug(&app.store, slug).await?;
    let (tenant, brand, catalog) = tokio::try_join!(
        tenants::tenant(&app.store, &tenant_id),
        tenants::brand(&app.store, &tenant_id),
        Catalog::load(&app.store, &tenant_id),
    )?;
    let locations = catalog
        .locations
        .into_iter()
        .filter(|l| !l.archived)
        .map(|l| PublicLocation {
            id: l.id,
            name: l.data.name,
            timezone: l.data.timezone,
            address: l.data.address,
            phone: l.data.phone,
            opening_hours: l.data.opening_hours,
            closures: l.data.closures,
        })
        .collect();
    let services = catalog
        .services
        .into_iter()
        .filter(|s| !s.archived && s.data.active)
        .map(|s| PublicService {
            id: s.id,
            name: s.data.name,
            slug: s.data.slug,
            category: s.data.category,
            description: s.data.description,
            duration_minutes: s.data.duration_minutes,
            price: s.data.price,
            deposit: s.data.deposit,
            location_ids: s.data.location_ids,
        })
        .collect();
    let practitioners = catalog
        .practitioners
        .into_iter()
        .filter(|p| !p.archived && p.data.active)
        .map(|p| {
            let mut location_ids: Vec<LocationId> = p.data.location_ids().cloned().collect();
            location_ids.sort();
            location_ids.dedup();
            PublicPractitioner {
                id: p.id,
                display_name: p.data.display_name,
                title: p.data.title,
                bio: p.data.bio,
                specialties: p.data.specialties,
                location_ids,
            }
        })
        .collect();
    Ok(PublicCatalog {
        clinic: PublicClinic { name: tenant.name, slug: tenant.slug, currency: tenant.currency },
        brand: PublicBrand {
            theme: brand.input.theme,
            tokens: brand.tokens,
            logo_url: brand.input.logo_url,
            seo: brand.input.seo,
        },
        locations,
        services,
        practitioners,
    })
}
