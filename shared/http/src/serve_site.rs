//! Serving tenant sites from the local host, rendered on request: `/sites/{slug}/…`, and the
//! root of any host a brand claims (its custom domain or platform subdomain). Not API routes:
//! they are not in the OpenAPI route table, and on AWS S3 + CloudFront serve the same files.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use mas_domain::error::AppError;
use mas_domain::values::{Hostname, Slug};
use mas_site::{SiteOptions, render};
use mas_usecases::app::App;

/// `/sites/{slug}`, `/sites/{slug}/`, `/sites/{slug}/{file}` and the portal's folder.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route(
            "/sites/{slug}",
            get(|Path(slug): Path<String>| async move { Redirect::permanent(&format!("/sites/{slug}/")) }),
        )
        .route(
            "/sites/{slug}/",
            get(|State(app): State<Arc<App>>, Path(slug): Path<String>| async move {
                file(&app, &slug, "index.html").await
            }),
        )
        .route(
            "/sites/{slug}/{file}",
            get(|State(app): State<Arc<App>>, Path((slug, name)): Path<(String, String)>| async move {
                file(&app, &slug, &name).await
            }),
        )
        // The portal is a folder, as on CloudFront: `portal` redirects to `portal/`.
        .route(
            "/sites/{slug}/portal/",
            get(|State(app): State<Arc<App>>, Path(slug): Path<String>| async move {
                file(&app, &slug, "portal/index.html").await
            }),
        )
        .route(
            "/sites/{slug}/portal/{file}",
            get(|State(app): State<Arc<App>>, Path((slug, name)): Path<(String, String)>| async move {
                file(&app, &slug, &format!("portal/{name}")).await
            }),
        )
        .with_state(app)
}

/// One file of a tenant's site, rendered from its current brand and catalog.
pub async fn file(app: &App, slug: &str, name: &str) -> Response {
    let Ok(slug) = Slug::parse(slug) else { return not_found() };
    let catalog = match mas_usecases::public_catalog::load(app, &slug).await {
        Ok(catalog) => catalog,
        Err(AppError::NotFound { .. }) => return not_found(),
        Err(err) => {
            tracing::error!(error = %err, "rendering a site");
            return (StatusCode::INTERNAL_SERVER_ERROR, "the site could not be rendered").into_response();
        }
    };
    let name = if name.is_empty() {
        "index.html".to_owned()
    } else if name.ends_with('/') {
        format!("{name}index.html")
    } else {
        name.to_owned()
    };
    let name = name.as_str();
    match render(&catalog, &SiteOptions::default()).into_iter().find(|f| f.path == name) {
        Some(f) => {
            let mut response =
                ([(header::CONTENT_TYPE, f.content_type), (header::CACHE_CONTROL, "no-cache")], f.body).into_response();
            for (name, value) in mas_site::security_headers(&app.site_api_base) {
                if let Ok(value) = axum::http::HeaderValue::from_str(&value) {
                    response.headers_mut().insert(name, value);
                }
            }
            response
        }
        // A folder asked for without its slash (`portal`): as the CloudFront Function does.
        None if !name.contains('.')
            && render(&catalog, &SiteOptions::default()).iter().any(|f| f.path.starts_with(&format!("{name}/"))) =>
        {
            Redirect::permanent(&format!("{name}/")).into_response()
        }
        None => not_found(),
    }
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "page not found").into_response()
}

/// Middleware for the local host: a GET whose `Host` is claimed by a brand, for a path outside
/// the API, is answered with that tenant's site; everything else goes on to the API router.
pub async fn by_host(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let api_path = path.starts_with("/v1/")
        || path == "/health"
        || path == "/openapi.json"
        || path.starts_with("/sites/")
        || path.starts_with("/local-blobs/")
        // The local host's own pages and files (its Stripe.js shim, which a site on a claimed
        // host loads from its own origin).
        || path.starts_with("/local/");
    if req.method() != axum::http::Method::GET || api_path {
        return next.run(req).await;
    }
    let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    let host =
        host.rsplit_once(':').map_or(host, |(h, port)| if port.chars().all(|c| c.is_ascii_digit()) { h } else { host });
    if host == "localhost" || host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') {
        return next.run(req).await;
    }
    let Ok(hostname) = Hostname::parse(&host.to_ascii_lowercase()) else { return next.run(req).await };
    let Ok(tenant_id) = mas_usecases::tenants::tenant_by_host(&app.store, &hostname).await else {
        return next.run(req).await;
    };
    let Ok(tenant) = mas_usecases::tenants::tenant(&app.store, &tenant_id).await else { return next.run(req).await };
    let name = path.trim_start_matches('/').to_owned();
    file(&app, tenant.slug.as_str(), &name).await
}
