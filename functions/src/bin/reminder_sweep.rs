//! The `reminder_sweep` Lambda: fired by an EventBridge schedule; enqueues every reminder that
//! is due (and republishes events a request left in the outbox). Its only input is the time.

use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use mas_functions::init::{InitTimer, Step};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let mut init = InitTimer::start();
    mas_functions::init_tracing(true);
    init.step(Step::Tracing);
    // The table, the bus (events left in the outbox) and the notify queue: nothing else.
    let (aws, table) = mas_functions::config::start(&mut init).await;
    // Given no secrets: it queues reminders, the notifications function writes their links.
    let no_secrets = mas_functions::config::Secrets::default();
    // The queue: due reminders go to the notify queue.
    let app = mas_functions::config::base(table, &aws, &no_secrets)?.with_queue(mas_functions::config::queue(&aws));
    let app = Arc::new(app);
    init.step(Step::Clients);
    init.log();
    lambda_runtime::run(service_fn(move |_: LambdaEvent<serde_json::Value>| {
        let app = app.clone();
        async move {
            let report = mas_usecases::notifications::plan::sweep(&app.notifier()).await?;
            tracing::info!(enqueued = report.enqueued, reads = report.reads, "sweep");
            Ok::<_, lambda_runtime::Error>(serde_json::json!({ "enqueued": report.enqueued, "reads": report.reads }))
        }
    }))
    .await
}
