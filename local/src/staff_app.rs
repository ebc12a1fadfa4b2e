//! Serves the back office (`app/`, built into `app/dist` by `scripts/build-app`) at `/app/`, as
//! CloudFront serves it from S3 on AWS. A path that is not a file gets `index.html`, so the
//! app's own routes (`/app/#/…` and deep links) open it. Files are read on each request: a
//! rebuild shows on reload, without restarting the host.

use std::path::{Component, Path, PathBuf};

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

/// The directory the built app is served from: `MAS_APP_DIR`, else `app/dist`.
pub fn dir() -> PathBuf {
    std::env::var_os("MAS_APP_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("app/dist"))
}

pub fn router(dir: PathBuf) -> Router {
    Router::new()
        .route("/app", get(|| async { Redirect::permanent("/app/") }))
        .route("/app/", get(index))
        .route("/app/{*path}", get(file))
        .with_state(dir)
}

async fn index(State(dir): State<PathBuf>) -> Response {
    serve(&dir, "index.html").await
}

async fn file(State(dir): State<PathBuf>, UrlPath(path): UrlPath<String>) -> Response {
    serve(&dir, &path).await
}

async fn serve(dir: &Path, path: &str) -> Response {
    // Only plain relative components: `..`, roots and prefixes never leave the directory.
    let relative = Path::new(path);
    if !relative.components().all(|c| matches!(c, Component::Normal(_))) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let (file, bytes) = match tokio::fs::read(dir.join(relative)).await {
        Ok(bytes) => (path, bytes),
        // Only page routes fall back to the app; a missing asset is a 404, not HTML.
        Err(_) if relative.extension().is_none() => match tokio::fs::read(dir.join("index.html")).await {
            Ok(bytes) => ("index.html", bytes),
            Err(_) => return not_built(dir),
        },
        Err(_) => return StatusCode::NOT_FOUND.into_response(),
    };
    let cache = if file == "index.html" { "no-cache" } else { "no-cache, max-age=0" };
    ([(header::CONTENT_TYPE, content_type(file)), (header::CACHE_CONTROL, cache)], bytes).into_response()
}

fn content_type(file: &str) -> &'static str {
    match Path::new(file).extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("woff2") => "font/woff2",
        _ => "application/octet-stream",
    }
}

fn not_built(dir: &Path) -> Response {
    let message =
        format!("the back office is not built at {}: run scripts/build-app (scripts/dev does)", dir.display());
    (StatusCode::SERVICE_UNAVAILABLE, message).into_response()
}
