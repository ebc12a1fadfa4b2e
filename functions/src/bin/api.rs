//! The `api` Lambda: every route of the table's `Core` group. Every API route's function runs
//! this binary (or `api_payments`, for the routes that move money) and API Gateway only ever
//! sends it its own route.

use std::sync::Arc;

use mas_functions::config;
use mas_functions::init::{InitTimer, Step};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let mut init = InitTimer::start();
    mas_functions::init_tracing(true);
    init.step(Step::Tracing);
    // Built once per cold start; the SDK clients and their connection pools are reused. Each
    // route's function gets the variables of what it uses (Cognito, link secret).
    let (aws, table, secrets) = config::start_with_secrets(&mut init).await?;
    let app = Arc::new(config::api(table, &aws, &secrets)?);
    init.step(Step::Clients);
    let router = mas_http::serve::<mas_http::Core>(app);
    init.step(Step::Router);
    init.log();
    lambda_http::run(router).await
}
