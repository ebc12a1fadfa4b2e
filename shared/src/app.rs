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

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::adapters::{DynamoTable, SqliteTable};
use crate::auth::LocalIssuer;
use crate::error::AppError;
use crate::ports::{Clock, SystemClock, Table};
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
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl App {
    pub fn new(table: Arc<dyn Table>, clock: Arc<dyn Clock>, auth: AuthMode, config: Config) -> App {
        App { store: Store::new(table, clock), auth, config }
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
        Ok(App::new(table, Arc::new(SystemClock), auth, config))
    }
}

/// The local signing secret: `MAS_JWT_SECRET`, or one generated on first start and kept in the
/// data directory so tokens survive restarts.
fn local_secret(data_dir: &Path) -> Result<Vec<u8>, AppError> {
    if let Some(secret) = env("MAS_JWT_SECRET") {
        return Ok(secret.into_bytes());
    }
    let path = data_dir.join("jwt-secret");
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
