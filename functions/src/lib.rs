//! What every binary shares: its configuration (`config`: one AWS configuration, only the
//! adapters it uses); logging set-up; the queue workers' batch handling; the Cognito
//! trigger's event handling.

pub mod config;
pub mod init;
pub mod pre_token;
pub mod site_publish;
pub mod sqs;

/// JSON logs on Lambda (CloudWatch parses them), readable lines locally. `RUST_LOG` filters.
pub fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    if json {
        builder.json().flatten_event(true).without_time().init();
    } else {
        builder.compact().init();
    }
}
