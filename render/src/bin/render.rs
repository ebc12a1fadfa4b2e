//! The `render` Lambda: SQS batches from the render queue in, PDFs in S3 out (worker.rs).

use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use mas_functions::config;
use mas_functions::init::{InitTimer, Step};
use mas_ports::Renderer;
use mas_render::KrillaRenderer;
use mas_render::worker::{self, SqsEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let mut init = InitTimer::start();
    mas_functions::init_tracing(true);
    init.step(Step::Tracing);
    // Given no secrets: it issues and checks no links (and so links no Secrets Manager client).
    let (aws, table) = config::start(&mut init).await;
    let no_secrets = config::Secrets::default();
    let mut app = config::base(table, &aws, &no_secrets)?;
    if let Some(blobs) = config::documents(&aws)? {
        app = app.with_blobs(blobs);
    }
    let app = Arc::new(app);
    init.step(Step::Clients);
    // Fonts are parsed once per cold start.
    let renderer: Arc<dyn Renderer> = Arc::new(KrillaRenderer::new());
    init.step(Step::Fonts);
    init.log();
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let (app, renderer) = (app.clone(), renderer.clone());
        async move { Ok::<_, lambda_runtime::Error>(worker::handle_batch(&app, renderer, event.payload).await) }
    }))
    .await
}
