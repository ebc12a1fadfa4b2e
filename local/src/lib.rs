//! The local host as a library: the embedded composition (`LocalHost`), built from the
//! environment by `config` or by tests, and the routes only a local host serves. The `local`
//! binary and the black-box tests serve the same thing.

pub mod config;
pub mod local_checkout;
pub mod local_connect;
pub mod local_readers;
pub mod local_routes;
pub mod staff_app;

use std::sync::Arc;

use mas_domain::webhook::WebhookSecret;
use mas_embedded::channel_queue::Message;
use mas_embedded::{DEV_WEBHOOK_SECRET, DirBlobs, LocalKeyWrapper, Outbox, SimulatedGateway};
use mas_ports::{Clock, Table};
use mas_ports::{QueueName, Renderer};
use mas_usecases::app::{App, AuthMode, Config};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinHandle;

/// The app and the embedded adapters the local-only routes read beside it.
pub struct LocalHost {
    pub app: Arc<App>,
    /// The simulated gateway when it is the payments adapter (`/local/pay/{intent_id}`).
    pub simulated: Option<Arc<SimulatedGateway>>,
    /// Where messages go when they are files (`/local/outbox`).
    pub outbox: Option<Arc<Outbox>>,
    /// Blobs as files, served by this process at their signed URLs.
    pub blobs: Option<Arc<DirBlobs>>,
    /// TXT records set by hand (`PUT /local/dns/{name}`), when they are the DNS adapter.
    pub dns: Option<Arc<mas_ports::RecordedTxt>>,
}

/// An app for development and tests: data keys wrapped by the public development key, the
/// simulated gateway signing its webhooks with the public development secrets (the platform's,
/// and the Connect endpoint's). The caller adds
/// the bus, queue, blobs and messaging it wants.
pub fn embedded_app(
    table: Arc<dyn Table>,
    clock: Arc<dyn Clock>,
    auth: AuthMode,
    config: Config,
) -> (App, Arc<SimulatedGateway>) {
    let secret = WebhookSecret::new(DEV_WEBHOOK_SECRET).expect("the development secret is long enough");
    let simulated = Arc::new(SimulatedGateway::new(secret.clone(), clock.clone()));
    let app = App::new(table, clock, auth, config)
        .with_key_wrapper(Arc::new(LocalKeyWrapper::dev()))
        .with_payments(simulated.clone(), secret)
        .with_connect_webhook_secret(simulated.connect_secret().clone());
    (app, simulated)
}

/// The local workers: drains the in-process queue, each message on its own task (renders here,
/// the rest by `mas_usecases::workers`), as the queues' Lambdas do on AWS. Ends when every sender
/// (the app's queue) is gone.
pub fn spawn_workers(
    app: Arc<App>,
    renderer: Arc<dyn Renderer>,
    mut receiver: UnboundedReceiver<Message>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        while let Some((queue, body)) = receiver.recv().await {
            match queue {
                QueueName::Render => {
                    let (app, renderer) = (app.clone(), renderer.clone());
                    tokio::spawn(async move {
                        if let Err(err) = mas_render::worker::handle(&app, renderer, &body).await {
                            tracing::error!(%err, "render failed");
                        }
                    });
                }
                other => {
                    let app = app.clone();
                    tokio::spawn(async move { mas_usecases::workers::run_local(&app, other, body).await });
                }
            }
        }
    })
}
