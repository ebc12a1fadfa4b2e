//! The `twilio_webhook` Lambda: `POST /webhooks/twilio` (texts from clients) and
//! `/webhooks/twilio/status` (delivery reports) only.

use std::sync::Arc;

use mas_shared::app::App;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    mas_functions::init_tracing(true);
    let app = Arc::new(App::from_env().await?);
    lambda_http::run(mas_shared::http::twilio_router(app)).await
}
