//! The `stripe_webhook` Lambda: `POST /webhooks/stripe` only, so the rest of the API stays out
//! of this binary.

use std::sync::Arc;

use mas_functions::config;
use mas_functions::init::{InitTimer, Step};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let mut init = InitTimer::start();
    mas_functions::init_tracing(true);
    init.step(Step::Tracing);
    // Built once per cold start: the table, Stripe and EventBridge clients are reused.
    let (aws, table, secrets) = config::start_with_secrets(&mut init).await?;
    let (gateway, secret) = config::stripe(&secrets)?;
    let app = Arc::new(config::base(table, &aws, &secrets)?.with_payments(gateway, secret));
    init.step(Step::Clients);
    let router = mas_http::webhook_router(app);
    init.step(Step::Router);
    init.log();
    lambda_http::run(router).await
}
