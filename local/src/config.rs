//! The local host's configuration: embedded adapters by default, AWS-compatible endpoints (moto)
//! where the environment names them. The one place that can build every adapter.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `MAS_TABLE` | `sqlite` or `dynamodb` | `dynamodb` when `AWS_ENDPOINT_URL` is set, else `sqlite` |
//! | `TABLE_NAME` | the DynamoDB table | `mas-local` |
//! | `MAS_DATA_DIR` | where the SQLite file, blobs, outbox and local secrets live | `.data` |
//! | `MAS_AUTH` | `local` (verify tokens here) or `api_gateway` (trust the authorizer's claims) | `local` |
//! | `MAS_JWT_SECRET` | local token secret | generated once into the data directory |
//! | `MAS_SITE_DOMAIN` | parent domain of tenant subdomains | `sites.localhost` |
//! | `DOCUMENTS_BUCKET` | an S3 bucket for rendered PDFs (created on the emulator) | unset: files under `$MAS_DATA_DIR/blobs` |
//! | `MAS_LINK_SECRET` | HMAC secret of e-sign, portal and download links | generated once into the data directory |
//! | `MAS_PUBLIC_URL` | the base URL links point at | `http://$MAS_ADDR` |
//! | `MAS_KMS_KEY_ID` | a KMS key (on the emulator) wrapping tenants' data keys | unset |
//! | `MAS_KEK` | without KMS: base64 of a 32-byte key-encryption key | the public development key |
//! | `MAS_PAYMENTS` | `simulated`, `stripe` or `none` | `simulated` |
//! | `STRIPE_SECRET_KEY`, `STRIPE_WEBHOOK_SECRET`, `STRIPE_API_BASE` | Stripe (or localstripe) with `stripe`; the simulated gateway's secret | the secret: generated once |
//! | `STRIPE_PUBLISHABLE_KEY` | with `stripe`: the publishable key the sites' Payment Element starts Stripe.js with | unset (the simulated gateway answers its own, and its shim `/local/stripe.js`) |
//! | `STRIPE_CONNECT_WEBHOOK_SECRET` | with `stripe`: the Connect endpoint's signing secret | with `simulated`: the public development Connect secret |
//! | `MAS_CONNECT` | with `simulated`: `required` refuses online payments of a clinic without a connected account, as Stripe does | `optional` (the platform is charged) |
//! | `MAS_APPLICATION_FEE_BPS`, `MAS_REFUND_APPLICATION_FEE` | the platform's fee on clinics' payments and whether refunds give it back, as on Lambda | none; `true` |
//! | `MAS_EVENTS` | `in_process` or `eventbridge` (`EVENT_BUS_NAME`) | `in_process` |
//! | `SITE_BUCKET`, `SITE_DISTRIBUTION_ID` | where sites are published, and the distribution to invalidate | unset: the documents' store, logged invalidations |
//! | `MAS_SITE_API_BASE` | the API's base URL written into published pages | empty: same origin |
//! | `MAS_MAIL` | `outbox` (files under `$MAS_DATA_DIR/outbox`) or `ses` (SES v2 and Twilio) | `outbox` |
//! | `MAIL_FROM`, `TWILIO_*` | as on Lambda (`mas_functions::config`) | |
//! | `MAS_IDENTITY` | `local` (argon2id hashes and sessions in the table), `cognito` or `none` | `local` |
//! | `MAS_APP_URL` | where the back office is served | `/app/` on this host |

use std::path::{Path, PathBuf};
use std::sync::Arc;

use mas_domain::error::AppError;
use mas_domain::links::LinkSigner;
use mas_domain::webhook::WebhookSecret;
use mas_embedded::{DirBlobs, InProcessEvents, LocalKeyWrapper, Outbox, SimulatedGateway, SqliteTable};
use mas_functions::config::{self as lambda, env};
use mas_ports::{Clock, KeyWrapper, Queue, SystemClock, Table, Unconfigured};
use mas_usecases::app::{App, AuthMode, Config};
use mas_usecases::tokens::LocalIssuer;

use crate::LocalHost;

/// The local host's app from the environment, with the handles its local-only routes need.
/// The queue is the caller's (the host drains an in-process one); events are routed to it as
/// template.yaml's rules do (notifications; `site.changed` to the publisher).
pub async fn from_env(queue: Arc<dyn Queue>) -> Result<LocalHost, AppError> {
    let data_dir = data_dir();
    let emulator = env("AWS_ENDPOINT_URL").is_some();
    let table_kind = env("MAS_TABLE").unwrap_or_else(|| if emulator { "dynamodb".into() } else { "sqlite".into() });
    let key_choice = choose_key_wrapper(false, env("MAS_KMS_KEY_ID"), env("MAS_KEK"))?;
    // One AWS configuration, loaded only when something here talks to AWS (or an emulator).
    let aws = if emulator
        || table_kind == "dynamodb"
        || matches!(key_choice, KeyChoice::Kms(_))
        || env("MAS_EVENTS").as_deref() == Some("eventbridge")
        || env("MAS_IDENTITY").as_deref() == Some("cognito")
        || env("MAS_MAIL").as_deref() == Some("ses")
        || env("DOCUMENTS_BUCKET").is_some()
        || env("SITE_BUCKET").is_some()
    {
        Some(lambda::aws().await)
    } else {
        None
    };
    let aws_config = || aws.as_ref().ok_or_else(|| AppError::Internal("no AWS configuration was loaded".into()));
    let table: Arc<dyn Table> = match table_kind.as_str() {
        "dynamodb" => {
            let table = mas_dynamodb::DynamoTable::from_config(
                aws_config()?,
                env("TABLE_NAME").unwrap_or_else(|| "mas-local".into()),
            );
            // An emulator starts empty; on AWS the stack owns the table.
            table.create_table_if_missing().await?;
            Arc::new(table)
        }
        "sqlite" => Arc::new(SqliteTable::open(&data_dir.join("table.sqlite3"))?),
        other => return Err(AppError::Internal(format!("MAS_TABLE must be sqlite or dynamodb, not {other}"))),
    };
    let auth = match env("MAS_AUTH").as_deref().unwrap_or("local") {
        "api_gateway" => AuthMode::ApiGateway,
        "local" => {
            AuthMode::Local(Arc::new(LocalIssuer::new(&local_secret(&data_dir, "MAS_JWT_SECRET", "jwt-secret")?)))
        }
        other => return Err(AppError::Internal(format!("MAS_AUTH must be api_gateway or local, not {other}"))),
    };
    let config = Config { site_domain: env("MAS_SITE_DOMAIN").unwrap_or_else(|| "sites.localhost".into()) };
    let wrapper: Arc<dyn KeyWrapper> = match key_choice {
        KeyChoice::Kms(_) => lambda::key_wrapper(aws_config()?)?,
        KeyChoice::Local(kek) => Arc::new(kek),
        KeyChoice::Dev => {
            tracing::warn!("MAS_KEK is not set: clinical data keys are wrapped with the public development key");
            Arc::new(LocalKeyWrapper::dev())
        }
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let mut app = App::new(table, clock.clone(), auth, config).with_key_wrapper(wrapper);
    let mut simulated = None;
    app = match env("MAS_PAYMENTS").as_deref().unwrap_or("simulated") {
        "stripe" => lambda::payments(app, &lambda::Secrets::from_env())?,
        "simulated" => {
            let secret = match env("STRIPE_WEBHOOK_SECRET") {
                Some(secret) => secret,
                None => String::from_utf8_lossy(&stored_secret(&data_dir, "webhook-secret", "whsec_")?).into_owned(),
            };
            let secret = WebhookSecret::new(secret).map_err(AppError::Internal)?;
            let gateway = Arc::new(SimulatedGateway::new(secret.clone(), clock.clone()));
            gateway.set_refund_application_fee(lambda::refund_application_fee()?);
            match env("MAS_CONNECT").as_deref().unwrap_or("optional") {
                "required" => gateway.require_connected_accounts(true),
                "optional" => {}
                other => {
                    return Err(AppError::Internal(format!("MAS_CONNECT must be required or optional, not {other}")));
                }
            }
            simulated = Some(gateway.clone());
            let connect_secret = gateway.connect_secret().clone();
            app.with_payments(gateway, secret).with_connect_webhook_secret(connect_secret)
        }
        "none" => app,
        other => {
            return Err(AppError::Internal(format!("MAS_PAYMENTS must be stripe, simulated or none, not {other}")));
        }
    };
    app = match env("MAS_EVENTS").as_deref().unwrap_or("in_process") {
        "eventbridge" => app.with_events(lambda::events(aws_config()?)?),
        "in_process" => app.with_events(Arc::new(InProcessEvents::new())),
        other => return Err(AppError::Internal(format!("MAS_EVENTS must be eventbridge or in_process, not {other}"))),
    };
    app = match env("MAS_IDENTITY").as_deref().unwrap_or("local") {
        "cognito" => app.with_identity(lambda::identity(aws_config()?)),
        // The embedded adapter `App::new` chose for local auth (none with api_gateway).
        "local" => app,
        "none" => app.with_identity(Arc::new(Unconfigured)),
        other => return Err(AppError::Internal(format!("MAS_IDENTITY must be cognito, local or none, not {other}"))),
    };
    let links = Arc::new(LinkSigner::new(&local_secret(&data_dir, "MAS_LINK_SECRET", "link-secret")?));
    let public_url = env("MAS_PUBLIC_URL")
        .unwrap_or_else(|| format!("http://{}", env("MAS_ADDR").unwrap_or_else(|| "127.0.0.1:3000".into())));
    app = app.with_links(links.clone()).with_public_url(public_url.clone());
    let mut dir_blobs = None;
    app = match env("DOCUMENTS_BUCKET") {
        Some(bucket) => {
            // As template.yaml makes it on a stage other than prod: Object Lock, seven years,
            // GOVERNANCE (an emulator's bucket can be emptied).
            let blobs = mas_s3::S3Blobs::from_config(aws_config()?, bucket)
                .with_lock_mode(env("DOCUMENTS_LOCK_MODE").as_deref().unwrap_or("GOVERNANCE"))
                .map_err(|e| AppError::Internal(format!("DOCUMENTS_LOCK_MODE: {e}")))?;
            if emulator {
                blobs
                    .create_locked_bucket_if_missing(mas_domain::documents::RETENTION_YEARS as i32)
                    .await
                    .map_err(|e| AppError::Internal(e.to_string()))?;
            }
            app.with_blobs(Arc::new(blobs))
        }
        None => {
            let blobs = Arc::new(
                DirBlobs::new(data_dir.join("blobs"), public_url, links, clock)
                    .with_default_retention(documents_lock()),
            );
            dir_blobs = Some(blobs.clone());
            app.with_blobs(blobs)
        }
    };
    if env("SITE_BUCKET").is_some() {
        if emulator {
            let bucket = env("SITE_BUCKET").unwrap_or_default();
            let blobs = mas_s3::S3Blobs::from_config(aws_config()?, bucket);
            blobs.create_bucket_if_missing().await.map_err(|e| AppError::Internal(e.to_string()))?;
        }
        app = lambda::site_publishing(app, aws_config()?)?;
    }
    app.app_url = env("MAS_APP_URL");
    app.site_api_base = env("MAS_SITE_API_BASE").unwrap_or_default().trim_end_matches('/').to_owned();
    app.mail_from = env("MAIL_FROM").unwrap_or_else(|| "bookings@mail.localhost".into());
    app.twilio_auth_token = env("TWILIO_AUTH_TOKEN");
    app.application_fee = lambda::application_fee()?;
    let mut outbox = None;
    app = match env("MAS_MAIL").as_deref().unwrap_or("outbox") {
        "outbox" => {
            let files = Outbox::new(data_dir.join("outbox"))
                .map(Arc::new)
                .map_err(|e| AppError::Internal(format!("outbox: {e}")))?;
            outbox = Some(files.clone());
            app.with_messaging(files.clone(), files)
        }
        "ses" => lambda::messaging(app, aws_config()?, &lambda::Secrets::from_env())?,
        other => return Err(AppError::Internal(format!("MAS_MAIL must be ses or outbox, not {other}"))),
    };
    // TXT records a developer publishes through `/local/dns/{name}`; `MAS_DNS=doh` asks real DNS.
    let mut dns = None;
    app = if env("MAS_DNS").is_some() {
        lambda::dns(app)?
    } else {
        let records = Arc::new(mas_ports::RecordedTxt::new());
        dns = Some(records.clone());
        app.with_dns(records)
    };
    match env("MAS_LIMITS").as_deref() {
        None | Some("default") => {}
        Some("load-test") => {
            tracing::warn!("MAS_LIMITS=load-test: abuse limits are out of reach (load runs only)");
            app.limits = mas_usecases::limits::Limits::load_test();
        }
        Some(other) => return Err(AppError::Internal(format!("MAS_LIMITS must be default or load-test, not {other}"))),
    }
    // Partner webhooks: locally an endpoint may also be plain http on loopback (a developer's
    // receiver); `MAS_PARTNER_EGRESS=public` applies the AWS rule.
    let egress = match env("MAS_PARTNER_EGRESS").as_deref() {
        Some("public") => mas_domain::partner::Egress::Public,
        _ => mas_domain::partner::Egress::AlsoLoopback,
    };
    app = app.with_webhook_poster(Arc::new(mas_outbound::HttpPoster::new(egress)), egress);
    let app = mas_usecases::routing::route_locally(app.with_queue(queue));
    Ok(LocalHost { app: Arc::new(app), simulated, outbox, blobs: dir_blobs, dns })
}

fn data_dir() -> PathBuf {
    PathBuf::from(env("MAS_DATA_DIR").unwrap_or_else(|| ".data".into()))
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

/// What the documents bucket's Object Lock rule keeps a PDF stored without a retention of its own.
pub fn documents_lock() -> chrono::Duration {
    chrono::Duration::days(365 * i64::from(mas_domain::documents::RETENTION_YEARS))
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
