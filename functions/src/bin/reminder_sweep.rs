//! The `reminder_sweep` Lambda: fired by an EventBridge schedule; enqueues every reminder that
//! is due (and republishes events a request left in the outbox). Its only input is the time.

use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use mas_shared::app::App;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    mas_functions::init_tracing(true);
    let app = Arc::new(App::from_env().await?);
    lambda_runtime::run(service_fn(move |_: LambdaEvent<serde_json::Value>| {
        let app = app.clone();
        async move {
            let report = mas_shared::ops::notifications::plan::sweep(&app.notifier()).await?;
            tracing::info!(enqueued = report.enqueued, reads = report.reads, "sweep");
            Ok::<_, lambda_runtime::Error>(serde_json::json!({ "enqueued": report.enqueued, "reads": report.reads }))
        }
    }))
    .await
}
