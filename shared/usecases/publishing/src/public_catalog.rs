//! The anonymous catalog a tenant's site reads: active services, locations, practitioners'
//! public profiles and the brand. Nothing private (emails, working rules, team) leaves here.

use mas_domain::error::AppResult;
use mas_domain::ids::LocationId;
use mas_domain::values::Slug;
use mas_site::{
    PublicBrand, PublicCatalog, PublicClinic, PublicLocation, PublicPractitioner, PublicReview, PublicReviews,
    PublicService,
};

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
            parallel_ok: s.data.parallel_ok,
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
        reviews: published_reviews(app, &tenant_id).await?,
    })
}

/// The clinic's published reviews (`mas_booking::reviews` writes them; read here from their
/// partition, strongly consistent, so a publish that follows a moderation sees it).
async fn published_reviews(app: &App, t: &mas_domain::ids::TenantId) -> AppResult<PublicReviews> {
    use mas_domain::review::{Review, ReviewStatus, average};
    use mas_ports::{Query, SortKey};
    let query =
        Query::partition(mas_store::keys::reviews_pk(t)).sk(SortKey::BeginsWith(mas_store::keys::REVIEW_PREFIX.into()));
    let mut published: Vec<Review> = app
        .store
        .table
        .query_all(&query)
        .await?
        .into_iter()
        .map(mas_store::from_item::<Review>)
        .collect::<AppResult<Vec<_>>>()?
        .into_iter()
        .filter(|r| r.status == ReviewStatus::Published)
        .collect();
    published.sort_by(|a, b| (b.published_at, &b.id).cmp(&(a.published_at, &a.id)));
    let (rating_value, review_count) = match average(published.iter().map(|r| r.rating)) {
        Some((value, count)) => (Some(value), count),
        None => (None, 0),
    };
    let items = published
        .into_iter()
        .take(PublicReviews::MAX_SHOWN)
        .map(|r| PublicReview {
            author: r.display_name,
            rating: r.rating.get(),
            body: r.text,
            service: r.service_name,
            date_published: r.published_at.unwrap_or(r.submitted_at).date_naive(),
            reply: r.reply.map(|reply| reply.text),
        })
        .collect();
    Ok(PublicReviews { rating_value, review_count, items })
}
