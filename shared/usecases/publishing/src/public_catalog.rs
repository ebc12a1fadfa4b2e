//! The anonymous catalog a tenant's site reads: active services, locations, practitioners'
//! public profiles and the brand. Nothing private (emails, working rules, team) leaves here.

use mas_domain::error::AppResult;
use mas_domain::ids::LocationId;
use mas_domain::values::Slug;
use mas_site::{PublicBrand, PublicCatalog, PublicClinic, PublicLocation, PublicPractitioner, PublicService};

use mas_accounts::tenants;
use mas_catalog::catalog::Catalog;
use mas_context::app::App;

/// The public catalog of the clinic with this slug (what its site is rendered from).
pub async fn load(app: &App, slug: &Slug) -> AppResult<PublicCatalog> {
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
            business: brand.input.business,
        },
        locations,
        services,
        practitioners,
    })
}
