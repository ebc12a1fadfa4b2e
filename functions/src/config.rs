//! A Lambda's configuration: each binary's `main` loads one AWS configuration (`aws()`) and
//! builds only the adapters it uses with the functions below, so a binary links only the SDK
//! clients it calls (the local host, `mas-local`, is the one place that can build them all).
//!
//! | variable | meaning | read by |
//! |---|---|---|
//! | `TABLE_NAME` | the DynamoDB table | `table` |
//! | `MAS_KMS_KEY_ID` | KMS key that wraps tenants' clinical data keys; required | `key_wrapper` |
//! | `EVENT_BUS_NAME` | the EventBridge bus; required | `events` |
//! | `RENDER_QUEUE_URL`, `NOTIFY_QUEUE_URL`, `SITE_PUBLISH_QUEUE_URL` | the SQS queues this function sends to | `queue` |
//! | `DOCUMENTS_BUCKET` | the S3 bucket of rendered PDFs | `documents` |
//! | `SITE_BUCKET`, `SITE_DISTRIBUTION_ID` | where tenant sites are published, and the CloudFront distribution in front | `site_publishing` |
//! | `MAS_SITE_API_BASE` | the API's base URL written into published pages | `base` |
//! | `MAS_SITE_DOMAIN` | parent domain of tenant subdomains | `base` |
//! | `MAS_LINK_SECRET_ARN` | the secret (Secrets Manager) holding the HMAC key of e-sign and portal links; only on the functions that issue or check them | `secrets`, `base` |
//! | `MAS_PUBLIC_URL` | the base URL links point at; unset: the request's own host | `base` |
//! | `MAS_DNS`, `MAS_DOH_URL` | `doh`: TXT lookups (custom domain proofs) over DNS-over-HTTPS, at `MAS_DOH_URL` (default Cloudflare's); unset: none | `dns` |
//! | `MAS_APP_URL` | where the back office is served (links in invitation and reset emails) | `base` |
//! | `MAS_PAYMENTS` | `stripe` on the functions that move money; otherwise none | `payments` |
//! | `STRIPE_SECRET_KEY_ARN`, `STRIPE_WEBHOOK_SECRET_ARN`, `STRIPE_API_BASE` | the secrets holding Stripe's API key and the webhook signing secret; another endpoint | `secrets`, `payments` |
//! | `STRIPE_PUBLISHABLE_KEY` | the account's publishable key (`pk_…`, public: not a secret), for the sites' Payment Element; only on the functions that answer card intents to browsers | `payments` |
//! | `STRIPE_CONNECT_WEBHOOK_SECRET_ARN` | the secret holding the Connect endpoint's signing secret (`/webhooks/stripe/connect`); unset: Connect events fail verification | `secrets`, `payments` |
//! | `MAS_APPLICATION_FEE_BPS` | the platform's cut of each online payment to a clinic's connected account, in basis points (`250` = 2.5%); unset: none | `base` |
//! | `MAS_REFUND_APPLICATION_FEE` | `true` (default): a refund of a clinic's charge gives back the platform's fee in proportion; `false`: the platform keeps it | `payments` |
//! | `COGNITO_USER_POOL_ID`, `COGNITO_CLIENT_ID` | the staff user pool and app client; without them nobody signs in here | `identity` |
//! | `MAS_MAIL` | `ses` (email by SES v2, SMS by Twilio) or `none` | `messaging` |
//! | `MAIL_FROM`, `SES_CONFIGURATION_SET` | the verified sender; the SES configuration set | `messaging` |
//! | `TWILIO_ACCOUNT_SID`, `TWILIO_AUTH_TOKEN_ARN`, `TWILIO_FROM`, `TWILIO_API_BASE` | Twilio's account, the secret holding its token (also verifies inbound webhooks), sender, endpoint | `secrets`, `messaging`, `base` |
//!
//! Secrets are never environment variables on Lambda: `{NAME}_ARN` names the secret and
//! `Secrets::load` reads them all once during init. Off Lambda (a developer running a binary by
//! hand) `{NAME}` itself may hold the value; on Lambda that is refused at start.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use aws_config::{BehaviorVersion, SdkConfig};
use mas_domain::error::AppError;
use mas_domain::links::LinkSigner;
use mas_domain::webhook::WebhookSecret;
use mas_ports::{Events, Identity, KeyWrapper, Payments, Queue, SmsSender, SystemClock, Table, Unconfigured};
use mas_usecases::app::{App, AuthMode, Config};

use crate::init::{InitTimer, Step};

/// A variable, unset when empty.
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn required(name: &str, why: &str) -> Result<String, AppError> {
    env(name).ok_or_else(|| AppError::Internal(format!("{name} must be set: {why}")))
}

/// The secrets a function may be given, by the name the code reads them by.
pub const SECRET_NAMES: [&str; 5] = [
    "MAS_LINK_SECRET",
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "STRIPE_CONNECT_WEBHOOK_SECRET",
    "TWILIO_AUTH_TOKEN",
];

/// The function's secrets, read once during init.
#[derive(Default)]
pub struct Secrets(HashMap<&'static str, String>);

impl Secrets {
    /// Reads every secret whose `{NAME}_ARN` is set from Secrets Manager, all at once. A function
    /// given no ARN makes no call.
    pub async fn load(aws: &SdkConfig) -> Result<Secrets, AppError> {
        let (wanted, mut values) = secret_sources(env, env("AWS_LAMBDA_FUNCTION_NAME").is_some())?;
        if !wanted.is_empty() {
            let client = aws_sdk_secretsmanager::Client::new(aws);
            values.extend(mas_secretsmanager::read_all(&client, &wanted).await?);
        }
        Ok(Secrets(values))
    }

    /// Values given directly in the environment (`{NAME}`), for the local host off Lambda: the
    /// same rule as `load`, without reading any ARN.
    pub fn from_env() -> Secrets {
        Secrets(secret_sources(env, false).map(|(_, values)| values).unwrap_or_default())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    fn required(&self, name: &str, why: &str) -> Result<&str, AppError> {
        self.get(name).ok_or_else(|| AppError::Internal(format!("{name}_ARN must be set: {why}")))
    }
}

/// Where each secret comes from: the ARNs to read, and the values given directly (only off
/// Lambda). Pure, so the rule is tested without AWS.
fn secret_sources(
    var: impl Fn(&str) -> Option<String>,
    on_lambda: bool,
) -> Result<(Vec<mas_secretsmanager::SecretRef>, HashMap<&'static str, String>), AppError> {
    let mut wanted = Vec::new();
    let mut values = HashMap::new();
    for name in SECRET_NAMES {
        if let Some(arn) = var(&format!("{name}_ARN")) {
            wanted.push(mas_secretsmanager::SecretRef { name, arn });
        } else if let Some(value) = var(name) {
            if on_lambda {
                return Err(AppError::Internal(format!(
                    "{name} is a plain environment variable; on Lambda set {name}_ARN to its secret in Secrets Manager"
                )));
            }
            values.insert(name, value);
        }
    }
    Ok((wanted, values))
}

/// The process's one AWS configuration (region, credentials, `AWS_ENDPOINT_URL` for emulators),
/// shared by every client it builds.
pub async fn aws() -> SdkConfig {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    let loader = aws_config::defaults(BehaviorVersion::latest());
    match aws_trust() {
        AwsTrust::Platform => loader,
        // rustls with aws-lc, as aws-config's default client.
        AwsTrust::AmazonRoots => loader.http_client(
            aws_smithy_http_client::Builder::new()
                .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
                .tls_context(amazon_roots())
                .build_https(),
        ),
    }
    .load()
    .await
}

/// The roots that sign AWS service endpoints: Amazon Trust Services' four and the Starfield
/// Services root that cross-signs them, and DigiCert's two global roots for endpoints not yet
/// moved to Amazon's (copied from Debian's `ca-certificates`). Not tried against AWS from here
/// (no network): if an endpoint ever fails its handshake, `SSL_CERT_FILE` restores the platform's
/// store without a rebuild.
const AWS_ENDPOINT_ROOTS: &str = include_str!("roots/aws-endpoints.pem");

/// Which roots the SDK's HTTPS client trusts.
#[derive(Debug, PartialEq)]
enum AwsTrust {
    /// The seven roots above, compiled in: nothing to read at start. The platform's store costs a
    /// scan of its certificate directory and a parse of ~140 roots on every cold start
    /// (README: Benchmarks, ~14 ms).
    AmazonRoots,
    /// The platform's store, when the environment names one (`SSL_CERT_FILE`, `SSL_CERT_DIR`):
    /// an operator's way to trust something else (a TLS-intercepting proxy, an emulator).
    Platform,
}

fn aws_trust() -> AwsTrust {
    trust_from(env("SSL_CERT_FILE").is_some() || env("SSL_CERT_DIR").is_some())
}

fn trust_from(platform_store_named: bool) -> AwsTrust {
    if platform_store_named { AwsTrust::Platform } else { AwsTrust::AmazonRoots }
}

/// A TLS context trusting only those.
fn amazon_roots() -> aws_smithy_http_client::tls::TlsContext {
    use aws_smithy_http_client::tls::{TlsContext, TrustStore};
    let trust = TrustStore::empty().with_pem_certificate(AWS_ENDPOINT_ROOTS.as_bytes());
    TlsContext::builder().with_trust_store(trust).build().expect("a TLS context from a trust store")
}

/// The DynamoDB table (`TABLE_NAME`).
pub fn table(aws: &SdkConfig) -> Arc<dyn Table> {
    Arc::new(mas_dynamodb::DynamoTable::from_config(aws, env("TABLE_NAME").unwrap_or_else(|| "mas-local".into())))
}

/// The KMS key that wraps tenants' data keys (`MAS_KMS_KEY_ID`): required on Lambda, which never
/// protects real clinical data with a key from an environment variable.
pub fn key_wrapper(aws: &SdkConfig) -> Result<Arc<dyn KeyWrapper>, AppError> {
    let key_id = required("MAS_KMS_KEY_ID", "clinical data keys are wrapped by KMS on Lambda")?;
    Ok(Arc::new(mas_kms::KmsKeyWrapper::new(aws_sdk_kms::Client::new(aws), key_id)))
}

/// The EventBridge bus (`EVENT_BUS_NAME`).
pub fn events(aws: &SdkConfig) -> Result<Arc<dyn Events>, AppError> {
    let bus = required("EVENT_BUS_NAME", "committed changes announce their events on the bus")?;
    Ok(Arc::new(mas_eventbridge::EventBridgeEvents::new(aws_sdk_eventbridge::Client::new(aws), bus)))
}

/// The SQS queues whose URL variables are set; none: sending fails as unconfigured.
pub fn queue(aws: &SdkConfig) -> Arc<dyn Queue> {
    match mas_sqs::SqsQueue::from_env(aws) {
        Some(sqs) => Arc::new(sqs),
        None => Arc::new(Unconfigured),
    }
}

/// The documents bucket (`DOCUMENTS_BUCKET`); unset: blobs fail as unconfigured. A retention
/// this process sets is in `DOCUMENTS_LOCK_MODE` (the bucket's: `COMPLIANCE` on prod,
/// `GOVERNANCE` elsewhere; unset: `COMPLIANCE`).
pub fn documents(aws: &SdkConfig) -> Result<Option<Arc<mas_s3::S3Blobs>>, AppError> {
    let Some(bucket) = env("DOCUMENTS_BUCKET") else { return Ok(None) };
    let blobs = mas_s3::S3Blobs::from_config(aws, bucket);
    let blobs = match env("DOCUMENTS_LOCK_MODE") {
        Some(mode) => {
            blobs.with_lock_mode(&mode).map_err(|e| AppError::Internal(format!("DOCUMENTS_LOCK_MODE: {e}")))?
        }
        None => blobs,
    };
    Ok(Some(Arc::new(blobs)))
}

/// The base every function shares: the table (from `start`), tenants' data keys and the bus,
/// with the settings read from the environment. The functions that send to queues add `queue`
/// (the others then link no SQS client).
pub fn base(table: Arc<dyn Table>, aws: &SdkConfig, secrets: &Secrets) -> Result<App, AppError> {
    let config = Config { site_domain: env("MAS_SITE_DOMAIN").unwrap_or_else(|| "sites.localhost".into()) };
    let mut app = App::new(table, Arc::new(SystemClock), AuthMode::ApiGateway, config)
        .with_key_wrapper(key_wrapper(aws)?)
        .with_events(events(aws)?);
    // Only the functions that issue or check links get the secret; elsewhere a random one makes
    // any link check fail closed.
    app = app.with_links(Arc::new(match secrets.get("MAS_LINK_SECRET") {
        Some(secret) => LinkSigner::new(secret.as_bytes()),
        None => LinkSigner::random(),
    }));
    if let Some(url) = env("MAS_PUBLIC_URL") {
        app = app.with_public_url(url);
    }
    app.app_url = env("MAS_APP_URL");
    app.site_api_base = env("MAS_SITE_API_BASE").unwrap_or_default().trim_end_matches('/').to_owned();
    app.mail_from = env("MAIL_FROM").unwrap_or_else(|| "bookings@mail.localhost".into());
    app.twilio_auth_token = secrets.get("TWILIO_AUTH_TOKEN").map(str::to_owned);
    app.application_fee = application_fee()?;
    Ok(app)
}

/// The platform's cut of each online payment (`MAS_APPLICATION_FEE_BPS`; none when unset).
pub fn application_fee() -> Result<mas_domain::connect::FeeRate, AppError> {
    mas_domain::connect::FeeRate::parse(&env("MAS_APPLICATION_FEE_BPS").unwrap_or_default())
        .map_err(|e| AppError::Internal(format!("MAS_APPLICATION_FEE_BPS: {}", e.0)))
}

/// Whether a refund of a clinic's charge gives back the platform's fee (`MAS_REFUND_APPLICATION_FEE`).
pub fn refund_application_fee() -> Result<bool, AppError> {
    match env("MAS_REFUND_APPLICATION_FEE").as_deref() {
        None | Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(other) => {
            Err(AppError::Internal(format!("MAS_REFUND_APPLICATION_FEE must be true or false, not {other}")))
        }
    }
}

/// Stripe, on the functions whose template sets `MAS_PAYMENTS=stripe`; others move no money
/// (their gateway is unconfigured, and the webhook secret a random one).
pub fn payments(app: App, secrets: &Secrets) -> Result<App, AppError> {
    match env("MAS_PAYMENTS").as_deref() {
        Some("stripe") => {
            let (gateway, secret) = stripe(secrets)?;
            let app = app.with_payments(gateway, secret);
            // Only the function behind /webhooks/stripe/connect is given the Connect secret.
            match secrets.get("STRIPE_CONNECT_WEBHOOK_SECRET") {
                Some(connect) => Ok(app
                    .with_connect_webhook_secret(WebhookSecret::new(connect.to_owned()).map_err(AppError::Internal)?)),
                None => Ok(app),
            }
        }
        None | Some("none") => Ok(app),
        Some(other) => Err(AppError::Internal(format!("MAS_PAYMENTS must be stripe or none on Lambda, not {other}"))),
    }
}

/// For the notifications worker's calls to Stripe (an erased client's customer deleted, an agreed
/// fee charged off-session, a payment link's hosted page made): `mas-stripe-customers` over the
/// HTTPS client it links anyway, not the generated Stripe client, and no webhook secret.
/// `MAS_PAYMENTS` as for `payments`.
pub fn customer_deletion(app: App, secrets: &Secrets) -> Result<App, AppError> {
    match env("MAS_PAYMENTS").as_deref() {
        Some("stripe") => {
            let key = secrets.required(
                "STRIPE_SECRET_KEY",
                "this function deletes customers, charges agreed fees and makes payment links at Stripe",
            )?;
            let gateway = mas_stripe_customers::StripeCustomers::new(key, env("STRIPE_API_BASE").as_deref())
                .map_err(|e| AppError::Internal(e.to_string()))?;
            Ok(app.with_payments_gateway(Arc::new(gateway)))
        }
        None | Some("none") => Ok(app),
        Some(other) => Err(AppError::Internal(format!("MAS_PAYMENTS must be stripe or none on Lambda, not {other}"))),
    }
}

/// The Stripe gateway and the webhook signing secret (the secrets `STRIPE_SECRET_KEY` and
/// `STRIPE_WEBHOOK_SECRET`; `STRIPE_API_BASE`), with the publishable key `STRIPE_PUBLISHABLE_KEY`
/// when the function has one (those answering card intents to the sites' Payment Element).
pub fn stripe(secrets: &Secrets) -> Result<(Arc<dyn Payments>, WebhookSecret), AppError> {
    let key = secrets.required("STRIPE_SECRET_KEY", "this function moves money through Stripe")?;
    let secret = secrets.required("STRIPE_WEBHOOK_SECRET", "this function checks Stripe's signatures")?;
    let secret = WebhookSecret::new(secret.to_owned()).map_err(AppError::Internal)?;
    let mut gateway = mas_stripe::StripeGateway::new(key, env("STRIPE_API_BASE").as_deref())
        .map_err(|e| AppError::Internal(e.to_string()))?
        .with_refund_application_fee(refund_application_fee()?);
    if let Some(publishable) = env("STRIPE_PUBLISHABLE_KEY") {
        gateway = gateway
            .with_publishable_key(&publishable)
            .map_err(|e| AppError::Internal(format!("STRIPE_PUBLISHABLE_KEY: {e}")))?;
    }
    Ok((Arc::new(gateway), secret))
}

/// The TXT resolver that proves custom domains (`MAS_DNS=doh`, only on the function that verifies
/// them); elsewhere lookups fail as unconfigured.
pub fn dns(app: App) -> Result<App, AppError> {
    match env("MAS_DNS").as_deref() {
        Some("doh") => {
            let endpoint = env("MAS_DOH_URL").unwrap_or_else(|| mas_doh::CLOUDFLARE.into());
            Ok(app.with_dns(Arc::new(mas_doh::DohResolver::new(&endpoint))))
        }
        None | Some("none") => Ok(app),
        Some(other) => Err(AppError::Internal(format!("MAS_DNS must be doh or none, not {other}"))),
    }
}

/// Staff sign-in by the Cognito user pool (`COGNITO_USER_POOL_ID`, `COGNITO_CLIENT_ID`); a
/// function given no pool signs nobody in.
pub fn identity(aws: &SdkConfig) -> Arc<dyn Identity> {
    match (env("COGNITO_USER_POOL_ID"), env("COGNITO_CLIENT_ID")) {
        (Some(pool), Some(client)) => {
            Arc::new(mas_cognito::CognitoIdentity::new(aws_sdk_cognitoidentityprovider::Client::new(aws), pool, client))
        }
        _ => Arc::new(Unconfigured),
    }
}

/// Email by SES v2 and SMS by Twilio (`MAS_MAIL=ses`, the default); `MAS_MAIL=none`: neither.
pub fn messaging(app: App, aws: &SdkConfig, secrets: &Secrets) -> Result<App, AppError> {
    match env("MAS_MAIL").as_deref().unwrap_or("ses") {
        "ses" => {
            let mailer =
                Arc::new(mas_ses::SesMailer::new(aws_sdk_sesv2::Client::new(aws), env("SES_CONFIGURATION_SET")));
            Ok(app.with_messaging(mailer, twilio(secrets)))
        }
        "none" => Ok(app),
        other => Err(AppError::Internal(format!("MAS_MAIL must be ses or none on Lambda, not {other}"))),
    }
}

/// Twilio's REST API, when its account, token and sender are set; otherwise texts fail as
/// unconfigured.
pub fn twilio(secrets: &Secrets) -> Arc<dyn SmsSender> {
    match (env("TWILIO_ACCOUNT_SID"), secrets.get("TWILIO_AUTH_TOKEN"), env("TWILIO_FROM")) {
        (Some(sid), Some(token), Some(from)) => {
            let base = env("TWILIO_API_BASE").unwrap_or_else(|| mas_twilio::TWILIO_API.into());
            Arc::new(mas_twilio::TwilioSms::new(&base, &sid, token, &from))
        }
        _ => Arc::new(Unconfigured),
    }
}

/// Where sites are published (`SITE_BUCKET`) and the distribution whose cache is cleared after
/// (`SITE_DISTRIBUTION_ID`).
pub fn site_publishing(app: App, aws: &SdkConfig) -> Result<App, AppError> {
    let bucket = required("SITE_BUCKET", "the site publisher writes tenant sites there")?;
    let mut app = app.with_site_blobs(Arc::new(mas_s3::S3Blobs::from_config(aws, bucket)));
    if let Some(distribution) = env("SITE_DISTRIBUTION_ID") {
        let cdn = mas_cloudfront::CloudFrontCdn::new(aws_sdk_cloudfront::Client::new(aws), distribution);
        app = app.with_cdn(Arc::new(cdn));
    }
    Ok(app)
}

/// What every API route's function has: the base, the queues and the documents bucket.
fn api_core(table: Arc<dyn Table>, aws: &SdkConfig, secrets: &Secrets) -> Result<App, AppError> {
    let app = base(table, aws, secrets)?.with_queue(queue(aws));
    Ok(match documents(aws)? {
        Some(blobs) => app.with_blobs(blobs),
        None => app,
    })
}

/// The `api` binary's app: the core, staff sign-in, email and texts, and the DNS check when its
/// template asks for it. No payments: `api` links no Stripe client.
pub fn api(table: Arc<dyn Table>, aws: &SdkConfig, secrets: &Secrets) -> Result<App, AppError> {
    let app = dns(api_core(table, aws, secrets)?.with_identity(identity(aws)))?;
    Ok(partner_webhooks(messaging(app, aws, secrets)?))
}

/// Partner webhook deliveries (the worker, and the routes that ping an endpoint or replay a
/// delivery): HTTPS to public addresses only.
pub fn partner_webhooks(app: App) -> App {
    let egress = mas_domain::partner::Egress::Public;
    app.with_webhook_poster(Arc::new(mas_outbound::HttpPoster::new(egress)), egress)
}

/// The `api_payments` binary's app: the core and Stripe. The routes that move money sign nobody
/// in (the authorizer checked the token) and send no mail themselves (their events reach the
/// notifications function), so it links no Cognito, SES or Twilio client.
pub fn api_payments(table: Arc<dyn Table>, aws: &SdkConfig, secrets: &Secrets) -> Result<App, AppError> {
    payments(api_core(table, aws, secrets)?, secrets)
}

/// What a function given no secrets starts with: the AWS configuration and the table, its
/// connection opened (`warm`). Each step is timed on `init`.
pub async fn start(init: &mut InitTimer) -> (SdkConfig, Arc<dyn Table>) {
    let aws = init.time(Step::AwsConfig, self::aws()).await;
    let table = self::table(&aws);
    init.step(Step::Clients);
    init.time(Step::Warm, warm(table.as_ref())).await;
    (aws, table)
}

/// `start`, and the function's secrets read from Secrets Manager at the same time as the table's
/// connection is opened (neither waits for the other, so the two round trips overlap).
pub async fn start_with_secrets(init: &mut InitTimer) -> Result<(SdkConfig, Arc<dyn Table>, Secrets), AppError> {
    let aws = init.time(Step::AwsConfig, self::aws()).await;
    let table = self::table(&aws);
    init.step(Step::Clients);
    let read = async {
        let started = Instant::now();
        (Secrets::load(&aws).await, started.elapsed())
    };
    let warmed = async {
        let started = Instant::now();
        warm(table.as_ref()).await;
        started.elapsed()
    };
    let ((secrets, read), warmed) = tokio::join!(read, warmed);
    init.record(Step::Secrets, read);
    init.record(Step::Warm, warmed);
    init.step(Step::SecretsAndWarm);
    Ok((aws, table, secrets?))
}

/// Opens the table's connection during init (one read of a key that never exists): the TLS
/// handshake and the credentials lookup happen before the first event, not during it. A failure
/// is only logged; the first request will meet it properly.
pub async fn warm(table: &dyn Table) {
    if let Err(err) = table.get(&mas_ports::Key::new("WARM", "WARM")).await {
        tracing::warn!(%err, "warming the table connection failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn the_sdk_trusts_the_compiled_in_amazon_roots_unless_the_environment_names_a_store() {
        assert_eq!(trust_from(false), AwsTrust::AmazonRoots);
        assert_eq!(trust_from(true), AwsTrust::Platform);
        assert_eq!(AWS_ENDPOINT_ROOTS.matches("-----BEGIN CERTIFICATE-----").count(), 7);
        assert_eq!(AWS_ENDPOINT_ROOTS.matches("-----END CERTIFICATE-----").count(), 7);
        // The context holds the PEM as given; rustls parses it when the client first connects.
        let _context = amazon_roots();
    }

    #[test]
    fn on_lambda_secrets_are_read_from_the_arns_the_template_gives() {
        let arn = "arn:aws:secretsmanager:eu-west-2:1:secret:stripe";
        let (wanted, values) = secret_sources(vars(&[("STRIPE_SECRET_KEY_ARN", arn)]), true).unwrap();
        assert_eq!(wanted.len(), 1);
        assert_eq!((wanted[0].name, wanted[0].arn.as_str()), ("STRIPE_SECRET_KEY", arn));
        assert!(values.is_empty());
    }

    #[test]
    fn on_lambda_a_secret_in_a_plain_environment_variable_stops_the_function() {
        let err = secret_sources(vars(&[("TWILIO_AUTH_TOKEN", "token")]), true).expect_err("refused");
        assert!(err.to_string().contains("TWILIO_AUTH_TOKEN_ARN"), "{err}");
    }

    #[test]
    fn off_lambda_a_value_may_be_given_directly_and_an_arn_still_wins() {
        let given = vars(&[
            ("MAS_LINK_SECRET", "local"),
            ("STRIPE_WEBHOOK_SECRET", "whsec_x"),
            ("STRIPE_WEBHOOK_SECRET_ARN", "arn"),
        ]);
        let (wanted, values) = secret_sources(given, false).unwrap();
        assert_eq!(values.get("MAS_LINK_SECRET").map(String::as_str), Some("local"));
        assert!(!values.contains_key("STRIPE_WEBHOOK_SECRET"));
        assert_eq!(wanted.iter().map(|w| w.name).collect::<Vec<_>>(), ["STRIPE_WEBHOOK_SECRET"]);
    }
}
