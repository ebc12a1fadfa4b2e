//! The `twilio_webhook` Lambda: `POST /webhooks/twilio` (texts from clients) and
//! `/webhooks/twilio/status` (delivery reports) only.

use std::sync::Arc;

use mas_functions::config;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    mas_functions::init_tracing(true);
    // The table and the bus; the auth token (verifying signatures) is read by `base`.
    let aws = config::aws().await;
    let secrets = config::Secrets::load(&aws).await?;
    let app = Arc::new(config::base(&aws, &secrets)?);
    mas_functions::config::warm(app.store.table.as_ref()).await;
    lambda_http::run(mas_http::twilio_router(app)).await
}
