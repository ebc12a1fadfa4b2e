//! The local host: every route from the same router, on embedded adapters (or on AWS-compatible
//! endpoints when `AWS_ENDPOINT_URL` is set), seeded with the platform's global templates and the
//! demo clinic. The render and site publish workers run in this process, draining an in-process
//! queue (published sites land under `$MAS_DATA_DIR/blobs/sites/`); rendered
//! PDFs are files under `$MAS_DATA_DIR/blobs`, served at signed `/local-blobs/…` URLs. With the
//! simulated gateway, also `/local/pay/{intent_id}`, which pays an intent and posts the signed
//! webhook.
//!
//! Each clinic's site is served at `/sites/{tenant_slug}/` and at the root of any host its brand
//! claims (rendered on request; not API routes, so not in the OpenAPI document).
//!
//! `local [--no-seed]`; `local --openapi` prints the OpenAPI document and exits;
//! `local --seed-only` seeds the global templates (and the demo clinic unless `--no-seed`) into
//! the configured table and exits (the one-off that seeds them on AWS; see README).
//! `MAS_ADDR` sets the address (default 127.0.0.1:3000).

use std::net::SocketAddr;
use std::sync::Arc;

use mas_embedded::ChannelQueue;
use mas_render::KrillaRenderer;
use mas_usecases::app::{App, AuthMode};
use mas_usecases::templates;
use mas_usecases::tokens::StaffClaims;

use mas_local::{config, local_routes, staff_app};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let flag = |name: &str| std::env::args().any(|a| a == name);
    if flag("--openapi") {
        println!("{}", mas_http::openapi().to_pretty_json()?);
        return Ok(());
    }
    mas_functions::init_tracing(false);
    let (queue, receiver) = ChannelQueue::new();
    // Always the in-process queue here: nothing else would consume the queues locally. Events are
    // routed to queues as template.yaml's rules do (notifications; site.changed to the publisher).
    let host = Arc::new(config::from_env(Arc::new(queue)).await?);
    let app = host.app.clone();
    let seeded = templates::seed_global(&app.store).await?;
    if flag("--seed-only") {
        println!("global templates: {seeded} written ({} in the seed)", templates::global_seed()?.len());
        if !flag("--no-seed") {
            let demo = mas_usecases::demo::seed(&app.store, &app.config.site_domain).await?;
            println!("demo clinic: {}", demo.tenant_id);
        }
        return Ok(());
    }
    let _worker = mas_local::spawn_workers(app.clone(), Arc::new(KrillaRenderer::new()), receiver);
    let _sweep = spawn_sweep(app.clone());
    let addr = std::env::var("MAS_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let base = format!("http://{}", listener.local_addr()?);
    if !flag("--no-seed") {
        let demo = mas_usecases::demo::seed(&app.store, &app.config.site_domain).await?;
        mas_usecases::demo::seed_accounts(&app, &demo).await?;
        if !demo.created {
            mas_usecases::demo::link_care_teams(&app.store, &demo).await?;
        }
        print_welcome(&app, &base, &demo, seeded);
    }
    println!("listening on {base}");
    let mut router = local_routes::router(host.clone())
        .merge(mas_http::serve_site::router(app.clone()))
        .merge(staff_app::router(staff_app::dir()));
    if let Some(blobs) = &host.blobs {
        router = router.merge(blobs.clone().router());
    }
    let router = router.layer(axum::middleware::from_fn_with_state(app, mas_http::serve_site::by_host));
    // The peer address stands in for API Gateway's source IP on e-sign audit trails.
    let service = router.into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service).with_graceful_shutdown(shutdown()).await?;
    Ok(())
}

fn print_welcome(app: &App, base: &str, demo: &mas_usecases::demo::DemoClinic, templates_written: usize) {
    let slug = mas_usecases::demo::DEMO_SLUG;
    println!();
    println!("Master Aesthetics Suite — local host");
    println!("  demo clinic {}: {}", if demo.created { "created" } else { "found" }, demo.tenant_id);
    println!("  global templates: {templates_written} newly seeded");
    println!(
        "  clinic desk     {base}/app/   (the back office) — sign in to clinic `{slug}` with password `{}` as:",
        mas_usecases::demo::DEMO_PASSWORD
    );
    for (email, _, role) in mas_usecases::demo::DEMO_ACCOUNTS {
        println!("                    {email:<28} ({role:?})");
    }
    println!("  clinic website  {base}/sites/{slug}/   (book an appointment: {base}/sites/{slug}/book.html)");
    println!("  health          {base}/health");
    println!("  public catalog  {base}/v1/public/{slug}/catalog");
    println!("  OpenAPI         {base}/openapi.json");
    println!("  outbox          {base}/local/outbox   (every email and text the host sent)");
    println!("  payments        {} (pay an intent at {base}/local/pay/{{intent_id}})", app.payments.name());
    if let AuthMode::Local(issuer) = &app.auth {
        let claims = StaffClaims::for_member(&demo.tenant_id, &demo.owner);
        let token = issuer.issue(&claims, app.store.clock.now());
        println!("  owner token (12 h), try:");
        println!("    export TOKEN={token}");
        println!("    curl -H \"Authorization: Bearer $TOKEN\" {base}/v1/services");
        println!("    curl -H \"Authorization: Bearer $TOKEN\" {base}/v1/templates?kind=consent");
    }
    println!();
}

/// The reminder sweep on a timer, as the EventBridge schedule runs it on AWS (every 30 s here,
/// so a demo's reminders show up promptly; `POST /local/sweep` runs it at once).
fn spawn_sweep(app: Arc<App>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(30));
        loop {
            every.tick().await;
            match mas_usecases::notifications::plan::sweep(&mas_usecases::notifications::Notifier::of(&app)).await {
                Ok(report) if report.enqueued > 0 => {
                    tracing::info!(enqueued = report.enqueued, reads = report.reads, "sweep")
                }
                Ok(_) => {}
                Err(err) => tracing::error!(%err, "sweep failed"),
            }
            match mas_usecases::partner_webhooks::sweep(&app).await {
                Ok(report) if report.attempted + report.parked > 0 => tracing::info!(?report, "partner webhooks"),
                Ok(_) => {}
                Err(err) => tracing::error!(%err, "partner webhook sweep failed"),
            }
            match mas_usecases::gdpr::delete_due_pdfs(&app.store, app.blobs.as_ref()).await {
                Ok(pdfs) if pdfs != Default::default() => tracing::info!(?pdfs, "due PDFs"),
                Ok(_) => {}
                Err(err) => tracing::error!(%err, "due PDF deletions failed"),
            }
        }
    })
}

/// Ctrl-C or SIGTERM (what a process manager sends): the server stops accepting, finishes the
/// requests in flight, then exits.
async fn shutdown() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::warn!(%err, "cannot listen for SIGTERM; only Ctrl-C stops the host");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down: finishing the requests in flight");
}
