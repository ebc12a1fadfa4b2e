//! The `pre_token` Lambda: Cognito's pre-token-generation trigger (`mas_functions::pre_token`).
//! It reads members and nothing else, so it builds only the table.

use lambda_runtime::{LambdaEvent, service_fn};
use mas_functions::init::{InitTimer, Step};
use mas_functions::pre_token::{self, PreTokenEvent};
use mas_ports::SystemClock;
use mas_store::Store;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let mut init = InitTimer::start();
    mas_functions::init_tracing(true);
    init.step(Step::Tracing);
    // Built once per cold start: the DynamoDB client is reused.
    // The table alone (no bus: the trigger only reads).
    let (_, table) = mas_functions::config::start(&mut init).await;
    let store = Store::new(table, std::sync::Arc::new(SystemClock));
    init.log();
    lambda_runtime::run(service_fn(move |event: LambdaEvent<PreTokenEvent>| {
        let store = store.clone();
        async move {
            pre_token::handle(&store, event.payload).await.map_err(|err| {
                // Cognito shows the sign-in a generic refusal; the reason stays in our logs.
                tracing::warn!(%err, "pre-token-generation refused");
                lambda_runtime::Error::from(err.to_string())
            })
        }
    }))
    .await
}
