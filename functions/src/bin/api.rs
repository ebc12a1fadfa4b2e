//! The `api` Lambda: every route of the table's `Core` group. Every API route's function runs
//! this binary (or `api_payments`, for the routes that move money) and API Gateway only ever
//! sends it its own route.

use std::sync::Arc;

use mas_functions::config;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    mas_functions::init_tracing(true);
    // Built once per cold start; the SDK clients and their connection pools are reused. Each
    // route's function gets the variables of what it uses (Cognito, link secret).
    let aws = config::aws().await;
    let secrets = config::Secrets::load(&aws).await?;
    let app = Arc::new(config::api(&aws, &secrets)?);
    config::warm(app.store.table.as_ref()).await;
    lambda_http::run(mas_http::serve::<mas_http::Core>(app)).await
}
