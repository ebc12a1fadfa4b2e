//! The `render` Lambda: SQS batches from the render queue in, PDFs in S3 out (worker.rs).

use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use mas_functions::config;
use mas_ports::Renderer;
use mas_render::KrillaRenderer;
use mas_render::worker::{self, SqsEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    mas_functions::init_tracing(true);
    let aws = config::aws().await;
    // Given no secrets: it issues and checks no links (and so links no Secrets Manager client).
    let mut app = config::base(&aws, &config::Secrets::default())?;
    if let Some(blobs) = config::documents(&aws)? {
        app = app.with_blobs(blobs);
    }
    let app = Arc::new(app);
    config::warm(app.store.table.as_ref()).await;
    // Fonts are parsed once per cold start.
    let renderer: Arc<dyn Renderer> = Arc::new(KrillaRenderer::new());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let (app, renderer) = (app.clone(), renderer.clone());
        async move { Ok::<_, lambda_runtime::Error>(worker::handle_batch(&app, renderer, event.payload).await) }
    }))
    .await
}
