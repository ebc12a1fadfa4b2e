//! The `site_publish` Lambda: SQS batches from the site publish queue in, tenant sites in the
//! sites bucket and CloudFront invalidations out (`mas_functions::site_publish`).

use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use mas_functions::config;
use mas_functions::site_publish::{self, SqsEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    mas_functions::init_tracing(true);
    // Built once per cold start: the table, S3 and CloudFront clients are reused.
    let aws = config::aws().await;
    // Given no secrets: published pages hold no signed links.
    let app = Arc::new(config::site_publishing(config::base(&aws, &config::Secrets::default())?, &aws)?);
    mas_functions::config::warm(app.store.table.as_ref()).await;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let app = app.clone();
        async move { Ok::<_, lambda_runtime::Error>(site_publish::handle_batch(&app, event.payload).await) }
    }))
    .await
}
