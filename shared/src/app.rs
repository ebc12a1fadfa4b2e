//! The `App` context: every port an handler needs, built once per process from the environment.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `MAS_TABLE` | `sqlite` or `dynamodb` | `dynamodb` on Lambda or when `AWS_ENDPOINT_URL` is set, else `sqlite` |
//! | `TABLE_NAME` | the DynamoDB table | `mas-local` |
//! | `MAS_DATA_DIR` | where the SQLite file and the local signing secret live | `.data` |
//! | `MAS_AUTH` | `api_gateway` (trust the authorizer's claims) or `local` (verify tokens here) | `api_gateway` on Lambda, else `local` |
//! | `MAS_JWT_SECRET` | local token secret | generated once into the data directory |
//! | `MAS_SITE_DOMAIN` | parent domain of tenant subdomains | `sites.localhost` |
//! | `MAS_PAYMENTS` | `stripe` or `simulated` (the local gateway that posts signed webhooks back) | `stripe` on Lambda, else `simulated` |
//! | `STRIPE_SECRET_KEY` | Stripe API key; required with `stripe`; never logged | unset |
//! | `STRIPE_WEBHOOK_SECRET` | signing secret of `/webhooks/stripe`; required with `stripe` | generated once into the data directory |
//! | `STRIPE_API_BASE` | another Stripe endpoint (localstripe) | Stripe's |
//! | `MAS_EVENTS` | `eventbridge` or `in_process` | `eventbridge` on Lambda, else `in_process` |
//! | `EVENT_BUS_NAME` | the EventBridge bus; required with `eventbridge` | unset |

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::adapters::{DynamoTable, EventBridgeEvents, InProcessEvents, SimulatedGateway, SqliteTable, StripeGateway};
use crate::auth::LocalIssuer;
use crate::domain::webhook::WebhookSecret;
use crate::error::AppError;
use crate::ops::payments::Ports;
use crate::ports::{Clock, Events, Payments, SystemClock, Table};
use crate::store::Store;

/// The signing secret of a development or test host's simulated gateway: public, so never the
/// secret of a real Stripe endpoint.
pub const DEV_WEBHOOK_SECRET: &str = "whsec_local_development_only_not_a_real_secret";

pub enum AuthMode {
    /// On Lambda: API Gateway verified the JWT; claims come from the request context.
    ApiGateway,
    /// Locally: the host verifies bearer tokens itself. (Boxed: the keys are large.)
    Local(Box<LocalIssuer>),
}

pub struct Config {
    pub site_domain: String,
}

pub struct App {
    pub store: Store,
    pub auth: AuthMode,
    pub config: Config,
    pub payments: Arc<dyn Payments>,
    pub events: Arc<dyn Events>,
    /// Verifies `Stripe-Signature` on `/webhooks/stripe`.
    pub webhook_secret: WebhookSecret,
    /// The simulated gateway when it is the payments adapter (the local host's pay endpoint).
    pub simulated: Option<Arc<SimulatedGateway>>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl App {
    /// An app on the simulated gateway (with the public development secret) and an in-process
    /// bus; `with_payments`, `with_simulated_payments` and `with_events` choose others.
    pub fn new(table: Arc<dyn Table>, clock: Arc<dyn Clock>, auth: AuthMode, config: Config) -> App {
        let secret = WebhookSecret::new(DEV_WEBHOOK_SECRET).expect("the development secret is long enough");
        let simulated = Arc::new(SimulatedGateway::new(secret.clone(), clock.clone()));
        App {
            store: Store::new(table, clock),
            auth,
            config,
            payments: simulated.clone(),
            events: Arc::new(InProcessEvents::new()),
            webhook_secret: secret,
            simulated: Some(simulated),
        }
    }

    pub fn with_payments(mut self, payments: Arc<dyn Payments>, webhook_secret: WebhookSecret) -> App {
        self.payments = payments;
        self.webhook_secret = webhook_secret;
        self.simulated = None;
        self
    }

    /// The simulated gateway, signing its webhooks with `webhook_secret`.
    pub fn with_simulated_payments(mut self, webhook_secret: WebhookSecret) -> App {
        let simulated = Arc::new(SimulatedGateway::new(webhook_secret.clone(), self.store.clock.clone()));
        self.payments = simulated.clone();
        self.webhook_secret = webhook_secret;
        self.simulated = Some(simulated);
        self
    }

    pub fn with_events(mut self, events: Arc<dyn Events>) -> App {
        self.events = events;
        self
    }

    /// The ports money moves through.
    pub fn ports(&self) -> Ports<'_> {
        Ports { store: &self.store, payments: self.payments.as_ref(), events: self.events.as_ref() }
    }

    pub async fn from_env() -> Result<App, AppError> {
        let on_lambda = env("AWS_LAMBDA_FUNCTION_NAME").is_some();
        let table_kind = env("MAS_TABLE").unwrap_or_else(|| {
            if on_lambda || env("AWS_ENDPOINT_URL").is_some() { "dynamodb".into() } else { "sqlite".into() }
        });
        let data_dir = PathBuf::from(env("MAS_DATA_DIR").unwrap_or_else(|| ".data".into()));
        let table: Arc<dyn Table> = match table_kind.as_str() {
            "dynamodb" => {
                let table = DynamoTable::from_env(env("TABLE_NAME").unwrap_or_else(|| "mas-local".into())).await;
                if !on_lambda {
                    // An emulator starts empty; on AWS the stack owns the table.
                    table.create_table_if_missing().await?;
                }
                Arc::new(table)
            }
            "sqlite" => Arc::new(SqliteTable::open(&data_dir.join("table.sqlite3"))?),
            other => return Err(AppError::Internal(format!("MAS_TABLE must be sqlite or dynamodb, not {other}"))),
        };
        let auth = match env("MAS_AUTH").as_deref().unwrap_or(if on_lambda { "api_gateway" } else { "local" }) {
            "api_gateway" => AuthMode::ApiGateway,
            "local" => AuthMode::Local(Box::new(LocalIssuer::new(&local_secret(&data_dir)?))),
            other => return Err(AppError::Internal(format!("MAS_AUTH must be api_gateway or local, not {other}"))),
        };
        let config = Config { site_domain: env("MAS_SITE_DOMAIN").unwrap_or_else(|| "sites.localhost".into()) };
        let app = App::new(table, Arc::new(SystemClock), auth, config);
        let app = match env("MAS_PAYMENTS").as_deref().unwrap_or(if on_lambda { "stripe" } else { "simulated" }) {
            "stripe" => {
                let key = env("STRIPE_SECRET_KEY").ok_or_else(|| AppError::Internal("MAS_PAYMENTS=stripe needs STRIPE_SECRET_KEY".into()))?;
                let secret = env("STRIPE_WEBHOOK_SECRET")
                    .ok_or_else(|| AppError::Internal("MAS_PAYMENTS=stripe needs STRIPE_WEBHOOK_SECRET".into()))?;
                let secret = WebhookSecret::new(secret).map_err(AppError::Internal)?;
                let gateway = StripeGateway::new(&key, env("STRIPE_API_BASE").as_deref()).map_err(|e| AppError::Internal(e.to_string()))?;
                app.with_payments(Arc::new(gateway), secret)
            }
            "simulated" => {
                let secret = match env("STRIPE_WEBHOOK_SECRET") {
                    Some(secret) => secret,
                    None => String::from_utf8_lossy(&stored_secret(&data_dir, "webhook-secret", "whsec_")?).into_owned(),
                };
                app.with_simulated_payments(WebhookSecret::new(secret).map_err(AppError::Internal)?)
            }
            other => return Err(AppError::Internal(format!("MAS_PAYMENTS must be stripe or simulated, not {other}"))),
        };
        let app = match env("MAS_EVENTS").as_deref().unwrap_or(if on_lambda { "eventbridge" } else { "in_process" }) {
            "eventbridge" => {
                let bus = env("EVENT_BUS_NAME").ok_or_else(|| AppError::Internal("MAS_EVENTS=eventbridge needs EVENT_BUS_NAME".into()))?;
                let config = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
                app.with_events(Arc::new(EventBridgeEvents::new(aws_sdk_eventbridge::Client::new(&config), bus)))
            }
            "in_process" => app,
            other => return Err(AppError::Internal(format!("MAS_EVENTS must be eventbridge or in_process, not {other}"))),
        };
        Ok(app)
    }
}

/// The local signing secret: `MAS_JWT_SECRET`, or one generated on first start and kept in the
/// data directory so tokens survive restarts.
fn local_secret(data_dir: &Path) -> Result<Vec<u8>, AppError> {
    if let Some(secret) = env("MAS_JWT_SECRET") {
        return Ok(secret.into_bytes());
    }
    stored_secret(data_dir, "jwt-secret", "")
}

/// A random secret generated on first start and kept in the data directory under `name`.
fn stored_secret(data_dir: &Path, name: &str, prefix: &str) -> Result<Vec<u8>, AppError> {
    let path = data_dir.join(name);
    let io = |e: std::io::Error| AppError::Internal(format!("local secret at {}: {e}", path.display()));
    if let Ok(secret) = std::fs::read(&path) {
        return Ok(secret);
    }
    std::fs::create_dir_all(data_dir).map_err(io)?;
    let secret: String = {
        use rand::Rng;
        let mut rng = rand::rng();
        let body: String =
            (0..48).map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[rng.random_range(0..36)])).collect();
        format!("{prefix}{body}")
    };
    std::fs::write(&path, &secret).map_err(io)?;
    Ok(secret.into_bytes())
}
