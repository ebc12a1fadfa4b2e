//! Where a cold start's init time goes: each binary's `main` times its steps and logs them once,
//! as one structured line (`"message":"init"`, one `*_ms` field per step and `total_ms`), just
//! before it asks for its first event. `scripts/coldstart --keep-logs` keeps those lines; README
//! → Benchmarks reads them.

use std::future::Future;
use std::time::Instant;

/// The steps a binary may time, in the order they happen. A step a binary does not take is left
/// out of its line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// The logger.
    Tracing,
    /// `aws_config::load`: region, credentials provider chain, HTTP client settings.
    AwsConfig,
    /// Reading the function's secrets from Secrets Manager.
    Secrets,
    /// Building the adapters (SDK clients, Stripe, Twilio…) and the app; the table's client
    /// alone, before `SecretsAndWarm`.
    Clients,
    /// The table's warm-up read (`config::warm`): connection, TLS, credentials. Overlaps
    /// `Secrets` (both in `SecretsAndWarm`).
    Warm,
    /// The secrets read and the warm-up, run at once: what they cost together.
    SecretsAndWarm,
    /// Building the router (the HTTP functions).
    Router,
    /// Parsing the fonts (`render`).
    Fonts,
}

/// The clock of one init.
pub struct InitTimer {
    started: Instant,
    last: Instant,
    steps: Vec<(Step, f64)>,
}

impl InitTimer {
    /// Starts the clock (first thing in `main`).
    pub fn start() -> InitTimer {
        let now = Instant::now();
        InitTimer { started: now, last: now, steps: Vec::new() }
    }

    /// Ends `step`: the time since the previous step ended.
    pub fn step(&mut self, step: Step) {
        let now = Instant::now();
        self.steps.push((step, ms(now - self.last)));
        self.last = now;
    }

    /// Records `step` as taking `took`, measured by the caller (a step run beside another);
    /// the clock of `step` is left alone.
    pub fn record(&mut self, step: Step, took: std::time::Duration) {
        self.steps.push((step, ms(took)));
    }

    /// Awaits `work` as `step`.
    pub async fn time<T>(&mut self, step: Step, work: impl Future<Output = T>) -> T {
        let value = work.await;
        self.step(step);
        value
    }

    /// A step's time; a step ended more than once (the clients built before and after the
    /// secrets) counts each time.
    fn get(&self, step: Step) -> Option<f64> {
        let times: Vec<f64> = self.steps.iter().filter(|(s, _)| *s == step).map(|(_, ms)| *ms).collect();
        (!times.is_empty()).then(|| (times.iter().sum::<f64>() * 100.0).round() / 100.0)
    }

    /// Logs every step and the total in one line.
    pub fn log(self) {
        tracing::info!(
            tracing_ms = self.get(Step::Tracing),
            aws_config_ms = self.get(Step::AwsConfig),
            secrets_ms = self.get(Step::Secrets),
            clients_ms = self.get(Step::Clients),
            warm_ms = self.get(Step::Warm),
            secrets_and_warm_ms = self.get(Step::SecretsAndWarm),
            router_ms = self.get(Step::Router),
            fonts_ms = self.get(Step::Fonts),
            total_ms = ms(self.started.elapsed()),
            "init"
        );
    }
}

fn ms(duration: std::time::Duration) -> f64 {
    (duration.as_secs_f64() * 1e5).round() / 100.0
}
