//! The `reminder_sweep` Lambda: fired by an EventBridge schedule; enqueues every reminder that
//! is due (and republishes events a request left in the outbox), and deletes the PDFs erasures
//! left to delete once their lock has passed. Its only input is the time.

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
    // The documents bucket: PDFs of erased clients' unsigned documents, deleted when due.
    let app = match mas_functions::config::documents(&aws)? {
        Some(blobs) => app.with_blobs(blobs),
        None => app,
    };
    let app = Arc::new(app);
    init.step(Step::Clients);
    init.log();
    lambda_runtime::run(service_fn(move |_: LambdaEvent<serde_json::Value>| {
        let app = app.clone();
        async move {
            let report =
                mas_usecases::notifications::plan::sweep(&mas_usecases::notifications::Notifier::of(&app)).await?;
            let pdfs = mas_usecases::gdpr::delete_due_pdfs(&app.store, app.blobs.as_ref()).await?;
            tracing::info!(
                enqueued = report.enqueued,
                reads = report.reads,
                pdfs_deleted = pdfs.deleted,
                pdfs_rescheduled = pdfs.rescheduled,
                pdfs_failed = pdfs.failed,
                "sweep"
            );
            Ok::<_, lambda_runtime::Error>(serde_json::json!({
                "enqueued": report.enqueued,
                "reads": report.reads,
                "pdfs": pdfs,
            }))
        }
    }))
    .await
}
