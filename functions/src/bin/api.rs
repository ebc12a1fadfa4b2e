//! The `api` Lambda: the whole HTTP router. Every API route's function runs this binary and
//! API Gateway only ever sends it its own route.

use std::sync::Arc;

use mas_shared::app::App;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    mas_functions::init_tracing(true);
    // Built once per cold start; the SDK client and its connection pool are reused.
    let app = Arc::new(App::from_env().await?);
    lambda_http::run(mas_shared::http::router(app)).await
}
