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
//! | `MAS_KMS_KEY_ID` | KMS key that wraps tenants' clinical data keys; required on Lambda | unset |
//! | `MAS_KEK` | without KMS, off Lambda: base64 of a 32-byte key-encryption key | a fixed development key |

use std::path::{Path, PathBuf};
use std::sync::Arc;

use aws_config::{BehaviorVersion, SdkConfig};

use crate::adapters::{DynamoTable, KmsKeyWrapper, LocalKeyWrapper, SqliteTable};
use crate::auth::LocalIssuer;
use crate::crypto::Keyring;
use crate::error::AppError;
use crate::ports::{Clock, KeyWrapper, SystemClock, Table};
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
    /// Tenants' data keys for clinical fields.
    pub keyring: Arc<Keyring>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl App {
    /// An app whose data keys are wrapped by the local development key (tests, embedded use);
    /// `with_key_wrapper` chooses another.
    pub fn new(table: Arc<dyn Table>, clock: Arc<dyn Clock>, auth: AuthMode, config: Config) -> App {
        let keyring = Arc::new(Keyring::new(Arc::new(LocalKeyWrapper::dev())));
        App { store: Store::new(table, clock), auth, config, keyring }
    }

    pub fn with_key_wrapper(mut self, wrapper: Arc<dyn KeyWrapper>) -> App {
        self.keyring = Arc::new(Keyring::new(wrapper));
        self
    }

    pub async fn from_env() -> Result<App, AppError> {
        let on_lambda = env("AWS_LAMBDA_FUNCTION_NAME").is_some();
        let table_kind = env("MAS_TABLE").unwrap_or_else(|| {
            if on_lambda || env("AWS_ENDPOINT_URL").is_some() { "dynamodb".into() } else { "sqlite".into() }
        });
        let data_dir = PathBuf::from(env("MAS_DATA_DIR").unwrap_or_else(|| ".data".into()));
        let key_choice = choose_key_wrapper(on_lambda, env("MAS_KMS_KEY_ID"), env("MAS_KEK"))?;
        // One AWS configuration for every client (`AWS_ENDPOINT_URL` and friends select emulators).
        let aws: Option<SdkConfig> = if table_kind == "dynamodb" || matches!(key_choice, KeyChoice::Kms(_)) {
            Some(aws_config::defaults(BehaviorVersion::latest()).load().await)
        } else {
            None
        };
        let table: Arc<dyn Table> = match (table_kind.as_str(), &aws) {
            ("dynamodb", Some(aws)) => {
                let client = aws_sdk_dynamodb::Client::new(aws);
                let table = DynamoTable::new(client, env("TABLE_NAME").unwrap_or_else(|| "mas-local".into()));
                if !on_lambda {
                    // An emulator starts empty; on AWS the stack owns the table.
                    table.create_table_if_missing().await?;
                }
                Arc::new(table)
            }
            ("sqlite", _) => Arc::new(SqliteTable::open(&data_dir.join("table.sqlite3"))?),
            (other, _) => return Err(AppError::Internal(format!("MAS_TABLE must be sqlite or dynamodb, not {other}"))),
        };
        let auth = match env("MAS_AUTH").as_deref().unwrap_or(if on_lambda { "api_gateway" } else { "local" }) {
            "api_gateway" => AuthMode::ApiGateway,
            "local" => AuthMode::Local(Box::new(LocalIssuer::new(&local_secret(&data_dir)?))),
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
        Ok(App::new(table, Arc::new(SystemClock), auth, config).with_key_wrapper(wrapper))
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
pub fn choose_key_wrapper(on_lambda: bool, kms_key_id: Option<String>, kek: Option<String>) -> Result<KeyChoice, AppError> {
    match (kms_key_id, kek) {
        (Some(key_id), _) => Ok(KeyChoice::Kms(key_id)),
        (None, _) if on_lambda => {
            Err(AppError::Internal("MAS_KMS_KEY_ID must be set on Lambda: clinical data keys are wrapped by KMS there".into()))
        }
        (None, Some(kek)) => LocalKeyWrapper::from_base64(&kek).map(KeyChoice::Local).map_err(AppError::Internal),
        (None, None) => Ok(KeyChoice::Dev),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_refuses_to_start_without_a_kms_key_even_with_a_local_kek() {
        let kek = Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".to_owned());
        assert!(choose_key_wrapper(true, None, None).is_err());
        assert!(choose_key_wrapper(true, None, kek.clone()).is_err());
        assert!(matches!(choose_key_wrapper(true, Some("alias/mas".into()), None), Ok(KeyChoice::Kms(id)) if id == "alias/mas"));
        assert!(matches!(choose_key_wrapper(false, None, kek), Ok(KeyChoice::Local(_))));
        assert!(matches!(choose_key_wrapper(false, None, None), Ok(KeyChoice::Dev)));
        assert!(choose_key_wrapper(false, None, Some("short".into())).is_err());
    }
}
