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
//! | `MAS_LINK_SECRET` | HMAC secret of e-sign and portal links; only on the functions that issue or check them | `base` |
//! | `MAS_PUBLIC_URL` | the base URL links point at; unset: the request's own host | `base` |
//! | `MAS_APP_URL` | where the back office is served (links in invitation and reset emails) | `base` |
//! | `MAS_PAYMENTS` | `stripe` on the functions that move money; otherwise none | `payments` |
//! | `STRIPE_SECRET_KEY`, `STRIPE_WEBHOOK_SECRET`, `STRIPE_API_BASE` | Stripe's API key, the webhook signing secret, another endpoint | `payments` |
//! | `COGNITO_USER_POOL_ID`, `COGNITO_CLIENT_ID` | the staff user pool and app client; without them nobody signs in here | `identity` |
//! | `MAS_MAIL` | `ses` (email by SES v2, SMS by Twilio) or `none` | `messaging` |
//! | `MAIL_FROM`, `SES_CONFIGURATION_SET` | the verified sender; the SES configuration set | `messaging` |
//! | `TWILIO_ACCOUNT_SID`, `TWILIO_AUTH_TOKEN`, `TWILIO_FROM`, `TWILIO_API_BASE` | Twilio's account, token (also verifies inbound webhooks), sender, endpoint | `messaging`, `base` |

use std::sync::Arc;

use aws_config::{BehaviorVersion, SdkConfig};
use mas_domain::error::AppError;
use mas_domain::links::LinkSigner;
use mas_domain::webhook::WebhookSecret;
use mas_ports::{Events, Identity, KeyWrapper, Payments, Queue, SmsSender, SystemClock, Table, Unconfigured};
use mas_usecases::app::{App, AuthMode, Config};

/// A variable, unset when empty.
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn required(name: &str, why: &str) -> Result<String, AppError> {
    env(name).ok_or_else(|| AppError::Internal(format!("{name} must be set: {why}")))
}

/// The process's one AWS configuration (region, credentials, `AWS_ENDPOINT_URL` for emulators),
/// shared by every client it builds.
pub async fn aws() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
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

/// The documents bucket (`DOCUMENTS_BUCKET`); unset: blobs fail as unconfigured.
pub fn documents(aws: &SdkConfig) -> Option<Arc<mas_s3::S3Blobs>> {
    env("DOCUMENTS_BUCKET").map(|bucket| Arc::new(mas_s3::S3Blobs::from_config(aws, bucket)))
}

/// The base every function shares: the table, tenants' data keys, the bus and the queues, with
/// the settings read from the environment. The table alone is `table`.
pub fn base(aws: &SdkConfig) -> Result<App, AppError> {
    let config = Config { site_domain: env("MAS_SITE_DOMAIN").unwrap_or_else(|| "sites.localhost".into()) };
    let mut app = App::new(table(aws), Arc::new(SystemClock), AuthMode::ApiGateway, config)
        .with_key_wrapper(key_wrapper(aws)?)
        .with_events(events(aws)?)
        .with_queue(queue(aws));
    // Only the functions that issue or check links get the secret; elsewhere a random one makes
    // any link check fail closed.
    app = app.with_links(Arc::new(match env("MAS_LINK_SECRET") {
        Some(secret) => LinkSigner::new(secret.as_bytes()),
        None => LinkSigner::random(),
    }));
    if let Some(url) = env("MAS_PUBLIC_URL") {
        app = app.with_public_url(url);
    }
    app.app_url = env("MAS_APP_URL");
    app.site_api_base = env("MAS_SITE_API_BASE").unwrap_or_default().trim_end_matches('/').to_owned();
    app.mail_from = env("MAIL_FROM").unwrap_or_else(|| "bookings@mail.localhost".into());
    app.twilio_auth_token = env("TWILIO_AUTH_TOKEN");
    Ok(app)
}

/// Stripe, on the functions whose template sets `MAS_PAYMENTS=stripe`; others move no money
/// (their gateway is unconfigured, and the webhook secret a random one).
pub fn payments(app: App) -> Result<App, AppError> {
    match env("MAS_PAYMENTS").as_deref() {
        Some("stripe") => {
            let (gateway, secret) = stripe()?;
            Ok(app.with_payments(gateway, secret))
        }
        None | Some("none") => Ok(app),
        Some(other) => Err(AppError::Internal(format!("MAS_PAYMENTS must be stripe or none on Lambda, not {other}"))),
    }
}

/// The Stripe gateway and the webhook signing secret (`STRIPE_SECRET_KEY`, `STRIPE_WEBHOOK_SECRET`,
/// `STRIPE_API_BASE`).
pub fn stripe() -> Result<(Arc<dyn Payments>, WebhookSecret), AppError> {
    let key = required("STRIPE_SECRET_KEY", "MAS_PAYMENTS=stripe")?;
    let secret =
        WebhookSecret::new(required("STRIPE_WEBHOOK_SECRET", "MAS_PAYMENTS=stripe")?).map_err(AppError::Internal)?;
    let gateway = mas_stripe::StripeGateway::new(&key, env("STRIPE_API_BASE").as_deref())
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok((Arc::new(gateway), secret))
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
pub fn messaging(app: App, aws: &SdkConfig) -> Result<App, AppError> {
    match env("MAS_MAIL").as_deref().unwrap_or("ses") {
        "ses" => {
            let mailer =
                Arc::new(mas_ses::SesMailer::new(aws_sdk_sesv2::Client::new(aws), env("SES_CONFIGURATION_SET")));
            Ok(app.with_messaging(mailer, twilio()))
        }
        "none" => Ok(app),
        other => Err(AppError::Internal(format!("MAS_MAIL must be ses or none on Lambda, not {other}"))),
    }
}

/// Twilio's REST API, when its account, token and sender are set; otherwise texts fail as
/// unconfigured.
pub fn twilio() -> Arc<dyn SmsSender> {
    match (env("TWILIO_ACCOUNT_SID"), env("TWILIO_AUTH_TOKEN"), env("TWILIO_FROM")) {
        (Some(sid), Some(token), Some(from)) => {
            let base = env("TWILIO_API_BASE").unwrap_or_else(|| mas_twilio::TWILIO_API.into());
            Arc::new(mas_twilio::TwilioSms::new(&base, &sid, &token, &from))
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

/// Opens the table's connection during init (one read of a key that never exists): the TLS
/// handshake and the credentials lookup happen before the first event, not during it. A failure
/// is only logged; the first request will meet it properly.
pub async fn warm(table: &dyn Table) {
    let started = std::time::Instant::now();
    match table.get(&mas_ports::Key::new("WARM", "WARM")).await {
        Ok(_) => tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, "table connection warmed in init"),
        Err(err) => tracing::warn!(%err, "warming the table connection failed"),
    }
}
