//! The `partner_webhooks` Lambda: two triggers, one binary. SQS batches from the partner
//! webhooks queue (the events partners may subscribe to, routed by `PartnerWebhooksRule`) fan
//! each event out to the endpoints subscribed to it and try each new delivery at once; the
//! EventBridge schedule (every minute) runs the retry sweep. Retries are the sweep's, not SQS's:
//! a failed delivery is recorded with its next attempt time, so the message itself succeeds;
//! only a failure to record (the table) fails the record and is retried by SQS, then
//! dead-lettered.

use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use mas_functions::config;
use mas_functions::init::{InitTimer, Step};
use mas_functions::sqs::{self, SqsEvent};
use mas_ports::QueueName;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let mut init = InitTimer::start();
    mas_functions::init_tracing(true);
    init.step(Step::Tracing);
    // The table, the tenants' data keys (the endpoints' sealed secrets) and the HTTPS sender;
    // no secrets, no queues to send to.
    let (aws, table) = config::start(&mut init).await;
    let app = config::base(table, &aws, &config::Secrets::default())?;
    let app = Arc::new(config::partner_webhooks(app));
    init.step(Step::Clients);
    init.log();
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let app = app.clone();
        async move {
            if event.payload.get("Records").is_some() {
                let batch: SqsEvent = serde_json::from_value(event.payload)?;
                let app = &app;
                let response = sqs::handle_batch(batch, |body| async move {
                    mas_usecases::workers::handle(app, QueueName::PartnerWebhooks, &body).await
                })
                .await;
                return Ok::<_, lambda_runtime::Error>(serde_json::to_value(response)?);
            }
            let report = mas_usecases::partner_webhooks::sweep(&app).await?;
            tracing::info!(?report, "partner webhook sweep");
            Ok(serde_json::to_value(report)?)
        }
    }))
    .await
}
