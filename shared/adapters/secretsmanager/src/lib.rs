//! Secrets from AWS Secrets Manager, read once per cold start. A Lambda's template gives it the
//! ARN of each secret it may read (`{NAME}_ARN`), never the value, so a secret is not in the
//! function's configuration, its console page or `GetFunctionConfiguration`, and IAM decides
//! which function reads which secret.
//!
//! Secrets Manager rather than SSM SecureString: its SDK crate has a tenth of SSM's operations
//! (smaller binaries, shorter builds), and one `GetSecretValue` per secret is all we call.

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::DisplayErrorContext;
use mas_domain::error::AppError;

/// A secret to read: the name the code knows it by (`STRIPE_SECRET_KEY`) and its ARN.
#[derive(Debug, Clone)]
pub struct SecretRef {
    pub name: &'static str,
    pub arn: String,
}

/// Reads every secret at once (one round trip's latency at init, not one per secret). A secret
/// that cannot be read, or holds no string, fails the whole load: a function never starts with
/// a secret silently missing.
pub async fn read_all(client: &Client, wanted: &[SecretRef]) -> Result<Vec<(&'static str, String)>, AppError> {
    let reads = wanted.iter().map(|secret| async move {
        let out = client.get_secret_value().secret_id(&secret.arn).send().await.map_err(|e| {
            AppError::Internal(format!(
                "reading the secret {} ({}): {}",
                secret.name,
                secret.arn,
                DisplayErrorContext(e)
            ))
        })?;
        let value = out.secret_string().filter(|v| !v.is_empty()).ok_or_else(|| {
            AppError::Internal(format!("the secret {} ({}) holds no string", secret.name, secret.arn))
        })?;
        Ok((secret.name, value.to_owned()))
    });
    futures_util::future::try_join_all(reads).await
}
