//! The `twilio_webhook` Lambda: `POST /webhooks/twilio` (texts from clients) and
//! `/webhooks/twilio/status` (delivery reports) only.

use std::sync::Arc;

use mas_functions::config;
use mas_functions::init::{InitTimer, Step};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let mut init = InitTimer::start();
    mas_functions::init_tracing(true);
    init.step(Step::Tracing);
    // The table and the bus; the auth token (verifying signatures) is read by `base`.
    let (aws, table, secrets) = config::start_with_secrets(&mut init).await?;
    let app = Arc::new(config::base(table, &aws, &secrets)?);
    init.step(Step::Clients);
    let router = mas_http::twilio_router(app);
    init.step(Step::Router);
    init.log();
    lambda_http::run(router).await
}
