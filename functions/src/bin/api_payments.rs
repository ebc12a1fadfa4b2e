//! The `api_payments` Lambda: the route table's `Money` group (deposit intents, finalize,
//! refunds, appointment changes that settle fees), with Stripe. Only those routes run it, so only
//! they link and start the Stripe client, and only they are given its secrets. They need no
//! Cognito, SES or Twilio client (`config::api_payments`), and it links no other route.

use std::sync::Arc;

use mas_functions::config;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    mas_functions::init_tracing(true);
    let aws = config::aws().await;
    let secrets = config::Secrets::load(&aws).await?;
    let app = Arc::new(config::api_payments(&aws, &secrets)?);
    config::warm(app.store.table.as_ref()).await;
    lambda_http::run(mas_http::serve::<mas_http::Money>(app)).await
}
