//! The load-test baseline: `GET /hello` answering a small JSON body on the local host's server
//! stack — the same axum features, tracing set-up, middleware shape (a request-context layer that
//! gives each request an id, a span and a "handled" log line, in front of a host-routing layer),
//! connect-info service and graceful shutdown — so `scripts/load.sh` can report the real routes
//! as ratios to it. `MAS_ADDR` sets the address (default 127.0.0.1:3000).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tracing::Instrument;

/// What the layers read, as the local host's layers read its `App`.
struct Hello {
    name: &'static str,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // As the local host's logging: readable lines, `RUST_LOG` filters (load.sh sets `warn`).
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt().with_env_filter(filter).with_target(false).compact().init();
    let state = Arc::new(Hello { name: "hello" });
    let router = Router::new()
        .route("/hello", get(hello))
        .layer(middleware::from_fn_with_state(state.clone(), request_context))
        .with_state(state.clone())
        .layer(middleware::from_fn_with_state(state, by_host));
    let addr = std::env::var("MAS_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    let service = router.into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service).with_graceful_shutdown(shutdown()).await?;
    Ok(())
}

async fn hello(State(state): State<Arc<Hello>>) -> impl IntoResponse {
    axum::Json(serde_json::json!({ "ok": true, "name": state.name }))
}

/// The shape of the API's request-context layer: an id, the caller's credentials (a bearer token
/// here only counts as present), a span with the matched route, and one log line per request.
async fn request_context(State(_): State<Arc<Hello>>, mut req: Request, next: Next) -> Response {
    let request_id = format!("req_{}", ulid::Ulid::new().to_string().to_lowercase());
    let bearer = req.headers().get(header::AUTHORIZATION).is_some();
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_default();
    let method = req.method().clone();
    req.extensions_mut().insert(request_id.clone());
    let span = tracing::info_span!("request", %request_id, bearer, %method, route);
    let started = Instant::now();
    let response = next.run(req).instrument(span.clone()).await;
    span.in_scope(|| {
        tracing::info!(
            status = response.status().as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "handled"
        )
    });
    response
}

/// The shape of the local host's host routing: API paths and requests to an IP address pass
/// through (as every load request does); a named host would be looked up (here: passes too).
async fn by_host(State(_): State<Arc<Hello>>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if req.method() != Method::GET || path.starts_with("/v1/") || path == "/health" {
        return next.run(req).await;
    }
    let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    let host =
        host.rsplit_once(':').map_or(host, |(h, port)| if port.chars().all(|c| c.is_ascii_digit()) { h } else { host });
    if host == "localhost" || host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') {
        return next.run(req).await;
    }
    next.run(req).await
}

/// Ctrl-C or SIGTERM: stop accepting, finish the requests in flight, exit.
async fn shutdown() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
}
