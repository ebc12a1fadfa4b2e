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
//! | `DOCUMENTS_BUCKET` | the S3 bucket for rendered PDFs | unset: files under `$MAS_DATA_DIR/blobs` |
//! | `RENDER_QUEUE_URL` | the SQS queue of the render worker | unset: the host supplies a queue (the local host runs the worker in-process) |
//! | `MAS_LINK_SECRET` | HMAC secret of e-sign and local download links | generated once into the data directory; on Lambda, set only on the e-sign functions |
//! | `MAS_PUBLIC_URL` | the base URL links point at | `http://$MAS_ADDR` locally; on Lambda the request's own domain |
//! | `MAS_KMS_KEY_ID` | KMS key that wraps tenants' clinical data keys; required on Lambda | unset |
//! | `MAS_KEK` | without KMS, off Lambda: base64 of a 32-byte key-encryption key | a fixed development key |
//! | `MAS_PAYMENTS` | `stripe`, `simulated` (the local gateway that posts signed webhooks back) or `none` (a function that moves no money) | `none` on Lambda, else `simulated` |
//! | `STRIPE_SECRET_KEY` | Stripe API key; required with `stripe`; never logged | unset |
//! | `STRIPE_WEBHOOK_SECRET` | signing secret of `/webhooks/stripe`; required with `stripe` | generated once into the data directory |
//! | `STRIPE_API_BASE` | another Stripe endpoint (localstripe) | Stripe's |
//! | `MAS_EVENTS` | `eventbridge` or `in_process` | `eventbridge` on Lambda, else `in_process` |
//! | `EVENT_BUS_NAME` | the EventBridge bus; required with `eventbridge` | unset |
//! | `SITE_BUCKET` | the S3 bucket tenant sites are published to | unset: the documents' blob store (`sites/…` keys) |
//! | `SITE_DISTRIBUTION_ID` | the CloudFront distribution in front of `SITE_BUCKET` | unset: invalidations are only logged |
//! | `MAS_SITE_API_BASE` | the API's base URL, written into published pages (sites and API are different hosts on AWS) | empty: same origin |
//! | `MAS_MAIL` | `ses` (email by SES v2, SMS by Twilio) or `outbox` (both as files under `$MAS_DATA_DIR/outbox`) | `ses` on Lambda, else `outbox` |
//! | `MAIL_FROM` | the verified address clinics' mail is sent from | `bookings@mail.localhost` |
//! | `SES_CONFIGURATION_SET` | SES configuration set (bounce and complaint events) | unset |
//! | `TWILIO_ACCOUNT_SID`, `TWILIO_AUTH_TOKEN`, `TWILIO_FROM` | Twilio account, auth token (also verifies inbound webhooks) and sender (number or `MG…` service) | unset: SMS fail as unconfigured |
//! | `TWILIO_API_BASE` | another Twilio endpoint (a test's capture server) | Twilio's |
//! | `MAS_IDENTITY` | staff passwords and sessions: `cognito` (a Cognito user pool), `local` (the embedded adapter; with `MAS_AUTH=local`, which verifies its tokens) or `none` (a function that signs nobody in) | `cognito` on a Lambda with `COGNITO_USER_POOL_ID`, `none` on one without, else `local` |
//! | `COGNITO_USER_POOL_ID`, `COGNITO_CLIENT_ID` | the staff user pool and its app client (the JWT authorizer's audience); required with `cognito` | unset |
//! | `MAS_APP_URL` | where the back office is served (links in invitation and password reset emails) | `/app/` on the API's own host |
//! | `NOTIFY_QUEUE_URL` | the notifications worker's SQS queue | unset: the host supplies a queue |

use std::path::{Path, PathBuf};
use std::sync::Arc;

use aws_config::{BehaviorVersion, SdkConfig};

use crate::adapters::{
    CloudFrontCdn, CognitoIdentity, DirBlobs, DynamoTable, EventBridgeEvents, InProcessEvents, KmsKeyWrapper,
    LocalIdentity, LocalKeyWrapper, LogCdn, Outbox, S3Blobs, SesMailer, SimulatedGateway, SqliteTable, SqsQueue,
    StripeGateway, TwilioSms, Unconfigured,
};
use crate::auth::LocalIssuer;
use crate::crypto::Keyring;
use crate::domain::webhook::WebhookSecret;
use crate::error::AppError;
use crate::links::LinkSigner;
use crate::ops::notifications::Notifier;
use crate::ops::payments::Ports;
use crate::ports::{
    Blobs, Cdn, Clock, Events, GatewayRefund, Identity, Intent, IntentRequest, KeyWrapper, Payments, PaymentsError,
    Queue, RefundRequest, SystemClock, Table,
};
use crate::ports::{Mailer, SmsSender};
use crate::store::Store;

/// The signing secret of a development or test host's simulated gateway: public, so never the
/// secret of a real Stripe endpoint.
pub const DEV_WEBHOOK_SECRET: &str = "whsec_local_development_only_not_a_real_secret";

pub enum AuthMode {
    /// On Lambda: API Gateway verified the JWT; claims come from the request context.
    ApiGateway,
    /// Locally: the host verifies bearer tokens itself (and the embedded identity signs them).
    Local(Arc<LocalIssuer>),
}

pub struct Config {
    pub site_domain: String,
}

pub struct App {
    pub store: Store,
    pub auth: AuthMode,
    /// Staff passwords and sessions: the embedded adapter with local auth; Cognito on AWS.
    pub identity: Arc<dyn Identity>,
    /// Where the back office is served (`MAS_APP_URL`); `None`: `/app/` on the API's host.
    pub app_url: Option<String>,
    /// How often public routes may be called per address, phone and clinic.
    pub limits: crate::ops::limits::Limits,
    pub config: Config,
    /// Tenants' data keys for clinical fields.
    pub keyring: Arc<Keyring>,
    pub payments: Arc<dyn Payments>,
    pub events: Arc<dyn Events>,
    /// Verifies `Stripe-Signature` on `/webhooks/stripe`.
    pub webhook_secret: WebhookSecret,
    /// The simulated gateway when it is the payments adapter (the local host's pay endpoint).
    pub simulated: Option<Arc<SimulatedGateway>>,
    pub blobs: Arc<dyn Blobs>,
    pub queue: Arc<dyn Queue>,
    pub links: Arc<LinkSigner>,
    /// The base URL of links we hand out; `None`: the request's own host.
    pub public_url: Option<String>,
    /// Set when blobs are files: the host serves their signed URLs (`DirBlobs::router`).
    pub local_blobs: Option<Arc<DirBlobs>>,
    /// Where published tenant sites go (`sites/{slug}/…`); `None`: `blobs`.
    pub site_blobs: Option<Arc<dyn Blobs>>,
    /// Drops the CDN's cached copies of a site after it is published.
    pub cdn: Arc<dyn Cdn>,
    /// The API's base URL as published pages call it; empty: the site's own origin.
    pub site_api_base: String,
    pub mailer: Arc<dyn Mailer>,
    pub sms: Arc<dyn SmsSender>,
    /// The address clinics' mail is sent from (their name is the display name).
    pub mail_from: String,
    /// Set when messages go to the outbox: the local host lists it.
    pub outbox: Option<Arc<Outbox>>,
    /// Verifies `X-Twilio-Signature` on `/webhooks/twilio` (the account's auth token).
    pub twilio_auth_token: Option<String>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl App {
    /// An app whose data keys are wrapped by the local development key, on the simulated
    /// payment gateway (with the public development secret) and an in-process bus (tests,
    /// embedded use); `with_key_wrapper`, `with_payments`, `with_simulated_payments` and
    /// `with_events` choose others. No blobs or queue (they fail when used) and a random link
    /// secret; `with_blobs`, `with_dir_blobs`, `with_queue` and `with_links` supply them.
    pub fn new(table: Arc<dyn Table>, clock: Arc<dyn Clock>, auth: AuthMode, config: Config) -> App {
        let keyring = Arc::new(Keyring::new(Arc::new(LocalKeyWrapper::dev())));
        let secret = WebhookSecret::new(DEV_WEBHOOK_SECRET).expect("the development secret is long enough");
        let simulated = Arc::new(SimulatedGateway::new(secret.clone(), clock.clone()));
        let events: Arc<dyn Events> = Arc::new(InProcessEvents::new());
        let identity: Arc<dyn Identity> = match &auth {
            AuthMode::Local(issuer) => Arc::new(LocalIdentity::new(table.clone(), clock.clone(), issuer.clone())),
            AuthMode::ApiGateway => Arc::new(Unconfigured),
        };
        App {
            store: Store::new(table, clock).with_events(events.clone()),
            auth,
            identity,
            app_url: None,
            limits: Default::default(),
            config,
            keyring,
            payments: simulated.clone(),
            events,
            webhook_secret: secret,
            simulated: Some(simulated),
            blobs: Arc::new(Unconfigured),
            queue: Arc::new(Unconfigured),
            links: Arc::new(LinkSigner::random()),
            public_url: None,
            local_blobs: None,
            site_blobs: None,
            cdn: Arc::new(LogCdn::new()),
            site_api_base: String::new(),
            mailer: Arc::new(Unconfigured),
            sms: Arc::new(Unconfigured),
            mail_from: "bookings@mail.localhost".into(),
            outbox: None,
            twilio_auth_token: None,
        }
    }

    /// The blob store tenant sites are published to.
    pub fn site_blobs(&self) -> &dyn Blobs {
        self.site_blobs.as_deref().unwrap_or(self.blobs.as_ref())
    }

    pub fn with_site_blobs(mut self, blobs: Arc<dyn Blobs>) -> App {
        self.site_blobs = Some(blobs);
        self
    }

    pub fn with_cdn(mut self, cdn: Arc<dyn Cdn>) -> App {
        self.cdn = cdn;
        self
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
        self.store = self.store.with_events(events.clone());
        self.events = events;
        self
    }

    /// Routes published events to this app's queue as template.yaml's rules do on AWS (the
    /// local host and tests, after `with_queue`).
    pub fn with_local_event_routing(self) -> App {
        let routed = Arc::new(crate::adapters::events::RoutedEvents::new(self.events.clone(), self.queue.clone()));
        self.with_events(routed)
    }

    /// Email and SMS both to the outbox (the local host and tests).
    pub fn with_outbox(mut self, outbox: Arc<Outbox>) -> App {
        self.mailer = outbox.clone();
        self.sms = outbox.clone();
        self.outbox = Some(outbox);
        self
    }

    pub fn with_messaging(mut self, mailer: Arc<dyn Mailer>, sms: Arc<dyn SmsSender>) -> App {
        self.mailer = mailer;
        self.sms = sms;
        self
    }

    /// What the messaging code works with.
    pub fn notifier(&self) -> Notifier {
        Notifier {
            store: self.store.clone(),
            mailer: self.mailer.clone(),
            sms: self.sms.clone(),
            queue: self.queue.clone(),
            events: self.events.clone(),
            mail_from: self.mail_from.clone(),
            links: self.links.clone(),
            public_url: self.public_url.clone(),
        }
    }

    /// The ports money moves through.
    pub fn ports(&self) -> Ports<'_> {
        Ports { store: &self.store, payments: self.payments.as_ref(), events: self.events.as_ref() }
    }

    pub fn with_key_wrapper(mut self, wrapper: Arc<dyn KeyWrapper>) -> App {
        self.keyring = Arc::new(Keyring::new(wrapper));
        self
    }

    /// Blobs as files, served by this process at their signed URLs.
    pub fn with_dir_blobs(mut self, blobs: Arc<DirBlobs>) -> App {
        self.blobs = blobs.clone();
        self.local_blobs = Some(blobs);
        self
    }

    pub fn with_blobs(mut self, blobs: Arc<dyn Blobs>) -> App {
        self.blobs = blobs;
        self
    }

    pub fn with_queue(mut self, queue: Arc<dyn Queue>) -> App {
        self.queue = queue;
        self
    }

    pub fn with_links(mut self, links: Arc<LinkSigner>) -> App {
        self.links = links;
        self
    }

    pub fn with_public_url(mut self, url: impl Into<String>) -> App {
        self.public_url = Some(url.into().trim_end_matches('/').to_owned());
        self
    }

    pub fn with_identity(mut self, identity: Arc<dyn Identity>) -> App {
        self.identity = identity;
        self
    }

    pub async fn from_env() -> Result<App, AppError> {
        let on_lambda = env("AWS_LAMBDA_FUNCTION_NAME").is_some();
        let table_kind = table_kind(on_lambda);
        let data_dir = data_dir();
        let key_choice = choose_key_wrapper(on_lambda, env("MAS_KMS_KEY_ID"), env("MAS_KEK"))?;
        let events_kind =
            env("MAS_EVENTS").unwrap_or_else(|| if on_lambda { "eventbridge".into() } else { "in_process".into() });
        let identity_kind = identity_kind(on_lambda);
        // One AWS configuration for every client (`AWS_ENDPOINT_URL` and friends select emulators).
        let needs_aws = table_kind == "dynamodb"
            || matches!(key_choice, KeyChoice::Kms(_))
            || events_kind == "eventbridge"
            || identity_kind == "cognito";
        let aws: Option<SdkConfig> =
            if needs_aws { Some(aws_config::defaults(BehaviorVersion::latest()).load().await) } else { None };
        let table = open_table(&table_kind, aws.as_ref(), on_lambda, &data_dir).await?;
        let auth = match env("MAS_AUTH").as_deref().unwrap_or(if on_lambda { "api_gateway" } else { "local" }) {
            "api_gateway" => AuthMode::ApiGateway,
            "local" => AuthMode::Local(std::sync::Arc::new(LocalIssuer::new(&local_secret(
                &data_dir,
                "MAS_JWT_SECRET",
                "jwt-secret",
            )?))),
            other => return Err(AppError::Internal(format!("MAS_AUTH must be api_gateway or local, not {other}"))),
        };
        let config = Config { site_domain: env("MAS_SITE_DOMAIN").unwrap_or_else(|| "sites.localhost".into()) };
        let wrapper: Arc<dyn KeyWrapper> = match (key_choice, &aws) {
            (KeyChoice::Kms(key_id), Some(aws)) => Arc::new(KmsKeyWrapper::new(aws_sdk_kms::Client::new(aws), key_id)),
            (KeyChoice::Kms(_), None) => unreachable!("the AWS configuration is loaded whenever KMS is chosen"),
            (KeyChoice::Local(kek), _) => Arc::new(kek),
            (KeyChoice::Dev, _) => {
                tracing::warn!("MAS_KEK is not set: clinical data keys are wrapped with the public development key");
                Arc::new(LocalKeyWrapper::dev())
            }
        };
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let app = App::new(table, clock.clone(), auth, config).with_key_wrapper(wrapper);
        let app = match env("MAS_PAYMENTS").as_deref().unwrap_or(if on_lambda { "none" } else { "simulated" }) {
            "stripe" => {
                let key = env("STRIPE_SECRET_KEY")
                    .ok_or_else(|| AppError::Internal("MAS_PAYMENTS=stripe needs STRIPE_SECRET_KEY".into()))?;
                let secret = env("STRIPE_WEBHOOK_SECRET")
                    .ok_or_else(|| AppError::Internal("MAS_PAYMENTS=stripe needs STRIPE_WEBHOOK_SECRET".into()))?;
                let secret = WebhookSecret::new(secret).map_err(AppError::Internal)?;
                let gateway = StripeGateway::new(&key, env("STRIPE_API_BASE").as_deref())
                    .map_err(|e| AppError::Internal(e.to_string()))?;
                app.with_payments(Arc::new(gateway), secret)
            }
            "simulated" => {
                let secret = match env("STRIPE_WEBHOOK_SECRET") {
                    Some(secret) => secret,
                    None => {
                        String::from_utf8_lossy(&stored_secret(&data_dir, "webhook-secret", "whsec_")?).into_owned()
                    }
                };
                app.with_simulated_payments(WebhookSecret::new(secret).map_err(AppError::Internal)?)
            }
            "none" => {
                // Nothing verifies against this secret: the function serves no webhook.
                let unused = String::from_utf8_lossy(&random_secret("whsec_")).into_owned();
                app.with_payments(Arc::new(NoPayments), WebhookSecret::new(unused).map_err(AppError::Internal)?)
            }
            other => {
                return Err(AppError::Internal(format!("MAS_PAYMENTS must be stripe, simulated or none, not {other}")));
            }
        };
        let app = match (events_kind.as_str(), &aws) {
            ("eventbridge", Some(aws)) => {
                let bus = env("EVENT_BUS_NAME")
                    .ok_or_else(|| AppError::Internal("MAS_EVENTS=eventbridge needs EVENT_BUS_NAME".into()))?;
                app.with_events(Arc::new(EventBridgeEvents::new(aws_sdk_eventbridge::Client::new(aws), bus)))
            }
            ("in_process", _) => app,
            (other, _) => {
                return Err(AppError::Internal(format!("MAS_EVENTS must be eventbridge or in_process, not {other}")));
            }
        };
        let app = match (identity_kind.as_str(), &aws) {
            ("cognito", Some(aws)) => {
                let needs = |name: &str| {
                    env(name).ok_or_else(|| AppError::Internal(format!("MAS_IDENTITY=cognito needs {name}")))
                };
                let (pool, client) = (needs("COGNITO_USER_POOL_ID")?, needs("COGNITO_CLIENT_ID")?);
                let cognito = aws_sdk_cognitoidentityprovider::Client::new(aws);
                app.with_identity(Arc::new(CognitoIdentity::new(cognito, pool, client)))
            }
            // The embedded adapter `App::new` chose for local auth (none with api_gateway).
            ("local", _) => app,
            ("none", _) => app.with_identity(Arc::new(Unconfigured)),
            (other, _) => {
                return Err(AppError::Internal(format!("MAS_IDENTITY must be cognito, local or none, not {other}")));
            }
        };
        // On Lambda only the functions that issue or check links get the secret; elsewhere a random
        // one makes any link check fail closed.
        let links = Arc::new(match (on_lambda, env("MAS_LINK_SECRET")) {
            (true, Some(secret)) => LinkSigner::new(secret.as_bytes()),
            (true, None) => LinkSigner::random(),
            (false, _) => LinkSigner::new(&local_secret(&data_dir, "MAS_LINK_SECRET", "link-secret")?),
        });
        let public_url = env("MAS_PUBLIC_URL").or_else(|| {
            (!on_lambda).then(|| format!("http://{}", env("MAS_ADDR").unwrap_or_else(|| "127.0.0.1:3000".into())))
        });
        let queue: Arc<dyn Queue> = match SqsQueue::from_env().await {
            Some(sqs) => Arc::new(sqs),
            None => Arc::new(Unconfigured),
        };
        let mut app = app.with_queue(queue).with_links(links.clone());
        app = match env("DOCUMENTS_BUCKET") {
            Some(bucket) => {
                let blobs = S3Blobs::from_env(bucket).await;
                if !on_lambda && env("AWS_ENDPOINT_URL").is_some() {
                    blobs.create_bucket_if_missing().await.map_err(|e| AppError::Internal(e.to_string()))?;
                }
                app.with_blobs(Arc::new(blobs))
            }
            None => {
                let base = public_url.clone().unwrap_or_default();
                app.with_dir_blobs(Arc::new(DirBlobs::new(data_dir.join("blobs"), base, links, clock)))
            }
        };
        if let Some(bucket) = env("SITE_BUCKET") {
            let blobs = S3Blobs::from_env(bucket).await;
            if !on_lambda && env("AWS_ENDPOINT_URL").is_some() {
                blobs.create_bucket_if_missing().await.map_err(|e| AppError::Internal(e.to_string()))?;
            }
            app = app.with_site_blobs(Arc::new(blobs));
        }
        if let Some(distribution) = env("SITE_DISTRIBUTION_ID") {
            let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
            app = app.with_cdn(Arc::new(CloudFrontCdn::new(aws_sdk_cloudfront::Client::new(&config), distribution)));
        }
        app.app_url = env("MAS_APP_URL");
        app.site_api_base = env("MAS_SITE_API_BASE").unwrap_or_default().trim_end_matches('/').to_owned();
        app.public_url = public_url;
        app.mail_from = env("MAIL_FROM").unwrap_or_else(|| "bookings@mail.localhost".into());
        app.twilio_auth_token = env("TWILIO_AUTH_TOKEN");
        let outbox = || {
            Outbox::new(data_dir.join("outbox")).map(Arc::new).map_err(|e| AppError::Internal(format!("outbox: {e}")))
        };
        let app = match env("MAS_MAIL").as_deref().unwrap_or(if on_lambda { "ses" } else { "outbox" }) {
            "outbox" => app.with_outbox(outbox()?),
            "ses" => {
                let aws = aws_config::defaults(BehaviorVersion::latest()).load().await;
                let mailer = Arc::new(SesMailer::new(aws_sdk_sesv2::Client::new(&aws), env("SES_CONFIGURATION_SET")));
                let sms: Arc<dyn SmsSender> =
                    match (env("TWILIO_ACCOUNT_SID"), env("TWILIO_AUTH_TOKEN"), env("TWILIO_FROM")) {
                        (Some(sid), Some(token), Some(from)) => {
                            let base =
                                env("TWILIO_API_BASE").unwrap_or_else(|| crate::adapters::twilio::TWILIO_API.into());
                            Arc::new(TwilioSms::new(&base, &sid, &token, &from))
                        }
                        _ => Arc::new(Unconfigured),
                    };
                app.with_messaging(mailer, sms)
            }
            other => return Err(AppError::Internal(format!("MAS_MAIL must be ses or outbox, not {other}"))),
        };
        Ok(app)
    }
}

/// The table alone, for a function that needs nothing else (the pre-token-generation trigger).
pub async fn table_from_env() -> Result<Arc<dyn Table>, AppError> {
    let on_lambda = env("AWS_LAMBDA_FUNCTION_NAME").is_some();
    let kind = table_kind(on_lambda);
    let aws =
        if kind == "dynamodb" { Some(aws_config::defaults(BehaviorVersion::latest()).load().await) } else { None };
    open_table(&kind, aws.as_ref(), on_lambda, &data_dir()).await
}

fn table_kind(on_lambda: bool) -> String {
    env("MAS_TABLE").unwrap_or_else(|| {
        if on_lambda || env("AWS_ENDPOINT_URL").is_some() { "dynamodb".into() } else { "sqlite".into() }
    })
}

/// `MAS_IDENTITY`, defaulted: Cognito on a Lambda that was given a pool, no sign-in on one that
/// was not (it signs nobody in), the embedded adapter elsewhere.
fn identity_kind(on_lambda: bool) -> String {
    env("MAS_IDENTITY").unwrap_or_else(|| match (on_lambda, env("COGNITO_USER_POOL_ID")) {
        (true, Some(_)) => "cognito".into(),
        (true, None) => "none".into(),
        (false, _) => "local".into(),
    })
}

fn data_dir() -> PathBuf {
    PathBuf::from(env("MAS_DATA_DIR").unwrap_or_else(|| ".data".into()))
}

async fn open_table(
    kind: &str,
    aws: Option<&SdkConfig>,
    on_lambda: bool,
    data_dir: &Path,
) -> Result<Arc<dyn Table>, AppError> {
    match (kind, aws) {
        ("dynamodb", Some(aws)) => {
            let client = aws_sdk_dynamodb::Client::new(aws);
            let table = DynamoTable::new(client, env("TABLE_NAME").unwrap_or_else(|| "mas-local".into()));
            if !on_lambda {
                // An emulator starts empty; on AWS the stack owns the table.
                table.create_table_if_missing().await?;
            }
            Ok(Arc::new(table))
        }
        ("sqlite", _) => Ok(Arc::new(SqliteTable::open(&data_dir.join("table.sqlite3"))?)),
        (other, _) => Err(AppError::Internal(format!("MAS_TABLE must be sqlite or dynamodb, not {other}"))),
    }
}

/// Which key wrapper the environment asks for.
pub enum KeyChoice {
    Kms(String),
    Local(LocalKeyWrapper),
    /// The public development key: only off Lambda, and only when nothing else is configured.
    Dev,
}

/// KMS when `MAS_KMS_KEY_ID` is set; otherwise `MAS_KEK`, or the development key — except on
/// Lambda, which refuses to start without KMS rather than protect real clinical data with a
/// key from an environment variable.
pub fn choose_key_wrapper(
    on_lambda: bool,
    kms_key_id: Option<String>,
    kek: Option<String>,
) -> Result<KeyChoice, AppError> {
    match (kms_key_id, kek) {
        (Some(key_id), _) => Ok(KeyChoice::Kms(key_id)),
        (None, _) if on_lambda => Err(AppError::Internal(
            "MAS_KMS_KEY_ID must be set on Lambda: clinical data keys are wrapped by KMS there".into(),
        )),
        (None, Some(kek)) => LocalKeyWrapper::from_base64(&kek).map(KeyChoice::Local).map_err(AppError::Internal),
        (None, None) => Ok(KeyChoice::Dev),
    }
}

/// A local secret: the variable `var`, or one generated on first start and kept in the data
/// directory (as `file`) so tokens and links survive restarts.
fn local_secret(data_dir: &Path, var: &str, file: &str) -> Result<Vec<u8>, AppError> {
    if let Some(secret) = env(var) {
        return Ok(secret.into_bytes());
    }
    stored_secret(data_dir, file, "")
}

/// A random secret generated on first start and kept in the data directory under `name`.
fn stored_secret(data_dir: &Path, name: &str, prefix: &str) -> Result<Vec<u8>, AppError> {
    let path = data_dir.join(name);
    let io = |e: std::io::Error| AppError::Internal(format!("local secret at {}: {e}", path.display()));
    if let Ok(secret) = std::fs::read(&path) {
        return Ok(secret);
    }
    std::fs::create_dir_all(data_dir).map_err(io)?;
    let secret = random_secret(prefix);
    write_private(&path, &secret).map_err(io)?;
    Ok(secret)
}

/// Writes a file only its owner can read (0600 on Unix): it holds a secret.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}

fn random_secret(prefix: &str) -> Vec<u8> {
    use rand::Rng;
    let mut rng = rand::rng();
    let body: String =
        (0..48).map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[rng.random_range(0..36)])).collect();
    format!("{prefix}{body}").into_bytes()
}

/// The payments adapter of a function that moves no money: any use is a configuration error.
struct NoPayments;

#[async_trait::async_trait]
impl Payments for NoPayments {
    fn name(&self) -> &'static str {
        "none"
    }

    async fn create_customer(&self, _: &str) -> Result<crate::domain::payment::CustomerId, PaymentsError> {
        Err(not_configured())
    }

    async fn create_intent(&self, _: IntentRequest) -> Result<Intent, PaymentsError> {
        Err(not_configured())
    }

    async fn retrieve_intent(&self, _: &crate::domain::payment::IntentId) -> Result<Intent, PaymentsError> {
        Err(not_configured())
    }

    async fn refund(&self, _: RefundRequest) -> Result<GatewayRefund, PaymentsError> {
        Err(not_configured())
    }
}

fn not_configured() -> PaymentsError {
    PaymentsError::Unavailable("this function has no payment gateway (MAS_PAYMENTS=none)".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_generated_local_secret_is_readable_by_its_owner_only_and_kept_across_starts() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let first = stored_secret(dir.path(), "jwt-secret", "").unwrap();
        let mode = std::fs::metadata(dir.path().join("jwt-secret")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        assert_eq!(stored_secret(dir.path(), "jwt-secret", "").unwrap(), first);
    }

    #[test]
    fn lambda_refuses_to_start_without_a_kms_key_even_with_a_local_kek() {
        let kek = Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".to_owned());
        assert!(choose_key_wrapper(true, None, None).is_err());
        assert!(choose_key_wrapper(true, None, kek.clone()).is_err());
        assert!(
            matches!(choose_key_wrapper(true, Some("alias/mas".into()), None), Ok(KeyChoice::Kms(id)) if id == "alias/mas")
        );
        assert!(matches!(choose_key_wrapper(false, None, kek), Ok(KeyChoice::Local(_))));
        assert!(matches!(choose_key_wrapper(false, None, None), Ok(KeyChoice::Dev)));
        assert!(choose_key_wrapper(false, None, Some("short".into())).is_err());
    }
}
