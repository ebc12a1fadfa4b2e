//! The `stripe_webhook` Lambda: `POST /webhooks/stripe` only, so the rest of the API stays out
//! of this binary.

use std::sync::Arc;

use mas_functions::config;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    mas_functions::init_tracing(true);
    // Built once per cold start: the table, Stripe and EventBridge clients are reused.
    let aws = config::aws().await;
    let secrets = config::Secrets::load(&aws).await?;
    let (gateway, secret) = config::stripe(&secrets)?;
    let app = Arc::new(config::base(&aws, &secrets)?.with_payments(gateway, secret));
    mas_functions::config::warm(app.store.table.as_ref()).await;
    lambda_http::run(mas_http::webhook_router(app)).await
}
