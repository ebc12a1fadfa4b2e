//! The `stripe_webhook` Lambda: `POST /webhooks/stripe` only, so the rest of the API stays out
//! of this binary.

use std::sync::Arc;

use mas_shared::app::App;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    mas_functions::init_tracing(true);
    // Built once per cold start: the table, Stripe and EventBridge clients are reused.
    let app = Arc::new(App::from_env().await?);
    lambda_http::run(mas_shared::http::webhook_router(app)).await
}
