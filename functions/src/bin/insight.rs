//! The `insight` Lambda: SQS batches from the insight queue (the events the KPI projections
//! count, routed by `InsightRule`), each applied once to the tenant's daily rollups. It needs
//! the table and nothing else: no secrets, no KMS, no bus, no mail.

use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use mas_functions::config;
use mas_functions::init::{InitTimer, Step};
use mas_functions::sqs::{self, SqsEvent};
use mas_ports::SystemClock;
use mas_store::Store;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let mut init = InitTimer::start();
    mas_functions::init_tracing(true);
    init.step(Step::Tracing);
    let (_aws, table) = config::start(&mut init).await;
    let store = Arc::new(Store::new(table, Arc::new(SystemClock)));
    init.log();
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let store = store.clone();
        async move {
            let store = &store;
            let response =
                sqs::handle_batch(
                    event.payload,
                    |body| async move { mas_usecases::workers::insight(store, &body).await },
                )
                .await;
            Ok::<_, lambda_runtime::Error>(response)
        }
    }))
    .await
}
