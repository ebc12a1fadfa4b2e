//! The `site_publish` Lambda: SQS batches from the site publish queue in, tenant sites in the
//! sites bucket and CloudFront invalidations out (`mas_functions::site_publish`).

use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use mas_functions::config;
use mas_functions::init::{InitTimer, Step};
use mas_functions::site_publish::{self, SqsEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let mut init = InitTimer::start();
    mas_functions::init_tracing(true);
    init.step(Step::Tracing);
    // Built once per cold start: the table, S3 and CloudFront clients are reused.
    // Given no secrets: published pages hold no signed links.
    let (aws, table) = config::start(&mut init).await;
    let no_secrets = config::Secrets::default();
    let app = Arc::new(config::site_publishing(config::base(table, &aws, &no_secrets)?, &aws)?);
    init.step(Step::Clients);
    init.log();
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let app = app.clone();
        async move { Ok::<_, lambda_runtime::Error>(site_publish::handle_batch(&app, event.payload).await) }
    }))
    .await
}
