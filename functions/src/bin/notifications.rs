//! The `notifications` Lambda: SQS batches from the notify queue (domain events routed by the
//! EventBridge rule, and due reminders from the sweep) in; emails and texts out. Failed records
//! are reported one by one, so SQS retries only them and dead-letters a poison message.

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
    // Built once per cold start: the table, SES and Twilio clients are reused.
    let (aws, table, secrets) = config::start_with_secrets(&mut init).await?;
    // The queue: a confirmed booking's consent forms go to the render queue.
    let app = config::base(table, &aws, &secrets)?.with_queue(config::queue(&aws));
    let app = config::messaging(app, &aws, &secrets)?;
    // Stripe: an erased client's customer is deleted there (`client.erased`), an agreed fee is
    // charged off-session (`payment.fee_due`) and a payment link's page made
    // (`payment.link_requested`); no refunds, no client-confirmed intents.
    let app = Arc::new(config::customer_deletion(app, &secrets)?);
    init.step(Step::Clients);
    init.log();
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let app = app.clone();
        async move {
            let app = &app;
            let response = sqs::handle_batch(event.payload, |body| async move {
                mas_usecases::workers::handle(app, QueueName::Notify, &body).await
            })
            .await;
            Ok::<_, lambda_runtime::Error>(response)
        }
    }))
    .await
}
