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

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::adapters::{DirBlobs, DynamoTable, S3Blobs, SqliteTable, SqsQueue, Unconfigured};
use crate::auth::LocalIssuer;
use crate::error::AppError;
use crate::links::LinkSigner;
use crate::ports::{Blobs, Clock, Queue, SystemClock, Table};
use crate::store::Store;

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
    pub blobs: Arc<dyn Blobs>,
    pub queue: Arc<dyn Queue>,
    pub links: Arc<LinkSigner>,
    /// The base URL of links we hand out; `None`: the request's own host.
    pub public_url: Option<String>,
    /// Set when blobs are files: the host serves their signed URLs (`DirBlobs::router`).
    pub local_blobs: Option<Arc<DirBlobs>>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl App {
    /// An app without blobs or a queue (they fail when used) and with a random link secret; the
    /// `with_…` methods supply them.
    pub fn new(table: Arc<dyn Table>, clock: Arc<dyn Clock>, auth: AuthMode, config: Config) -> App {
        App {
            store: Store::new(table, clock),
            auth,
            config,
            blobs: Arc::new(Unconfigured),
            queue: Arc::new(Unconfigured),
            links: Arc::new(LinkSigner::random()),
            public_url: None,
            local_blobs: None,
        }
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
            "local" => AuthMode::Local(Box::new(LocalIssuer::new(&local_secret(&data_dir, "MAS_JWT_SECRET", "jwt-secret")?))),
            other => return Err(AppError::Internal(format!("MAS_AUTH must be api_gateway or local, not {other}"))),
        };
        let config = Config { site_domain: env("MAS_SITE_DOMAIN").unwrap_or_else(|| "sites.localhost".into()) };
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        // On Lambda only the functions that issue or check links get the secret; elsewhere a random
        // one makes any link check fail closed.
        let links = Arc::new(match (on_lambda, env("MAS_LINK_SECRET")) {
            (true, Some(secret)) => LinkSigner::new(secret.as_bytes()),
            (true, None) => LinkSigner::random(),
            (false, _) => LinkSigner::new(&local_secret(&data_dir, "MAS_LINK_SECRET", "link-secret")?),
        });
        let public_url = env("MAS_PUBLIC_URL")
            .or_else(|| (!on_lambda).then(|| format!("http://{}", env("MAS_ADDR").unwrap_or_else(|| "127.0.0.1:3000".into()))));
        let queue: Arc<dyn Queue> = match SqsQueue::from_env().await {
            Some(sqs) => Arc::new(sqs),
            None => Arc::new(Unconfigured),
        };
        let mut app = App::new(table, clock.clone(), auth, config).with_queue(queue).with_links(links.clone());
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
        app.public_url = public_url;
        Ok(app)
    }
}

/// A local secret: the variable `var`, or one generated on first start and kept in the data
/// directory (as `file`) so tokens and links survive restarts.
fn local_secret(data_dir: &Path, var: &str, file: &str) -> Result<Vec<u8>, AppError> {
    if let Some(secret) = env(var) {
        return Ok(secret.into_bytes());
    }
    let path = data_dir.join(file);
    let io = |e: std::io::Error| AppError::Internal(format!("local secret at {}: {e}", path.display()));
    if let Ok(secret) = std::fs::read(&path) {
        return Ok(secret);
    }
    std::fs::create_dir_all(data_dir).map_err(io)?;
    let secret: String = {
        use rand::Rng;
        let mut rng = rand::rng();
        (0..48).map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[rng.random_range(0..36)])).collect()
    };
    std::fs::write(&path, &secret).map_err(io)?;
    Ok(secret.into_bytes())
}
