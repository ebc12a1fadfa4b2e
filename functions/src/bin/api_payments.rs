//! The `api_payments` Lambda: the same router as `api`, with Stripe. Only the routes that move
//! money run it (deposit intents, finalize, refunds, appointment changes that settle fees), so
//! only they link and start the Stripe client, and only they are given its secrets. They need
//! no Cognito, SES or Twilio client (`config::api_payments`).

use std::sync::Arc;

use mas_functions::config;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    mas_functions::init_tracing(true);
    let aws = config::aws().await;
    let secrets = config::Secrets::load(&aws).await?;
    let app = Arc::new(config::api_payments(&aws, &secrets)?);
    config::warm(app.store.table.as_ref()).await;
    lambda_http::run(mas_http::router(app)).await
}
