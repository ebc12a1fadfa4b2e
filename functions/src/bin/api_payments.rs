//! The `api_payments` Lambda: the route table's `Money` group (deposit intents, finalize,
//! refunds, appointment changes that settle fees), with Stripe. Only those routes run it, so only
//! they link and start the Stripe client, and only they are given its secrets. They need no
//! Cognito, SES or Twilio client (`config::api_payments`), and it links no other route.

use std::sync::Arc;

use mas_functions::config;
use mas_functions::init::{InitTimer, Step};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let mut init = InitTimer::start();
    mas_functions::init_tracing(true);
    init.step(Step::Tracing);
    let (aws, table, secrets) = config::start_with_secrets(&mut init).await?;
    let app = Arc::new(config::api_payments(table, &aws, &secrets)?);
    init.step(Step::Clients);
    let router = mas_http::serve::<mas_http::Money>(app);
    init.step(Step::Router);
    init.log();
    lambda_http::run(router).await
}
