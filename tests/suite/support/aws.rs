//! Reaching the moto server that `scripts/test` starts, for every AWS adapter's contract suite.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;

/// Set by `scripts/test` to the moto server it started, e.g. `http://127.0.0.1:5055`.
pub const MOTO_URL: &str = "MAS_TEST_MOTO_URL";
/// `1` skips the AWS halves of the contract suites when no moto is available.
pub const SKIP: &str = "MAS_SKIP_AWS_TESTS";

/// SDK configuration pointing at moto, or `None` when AWS tests are explicitly skipped (the
/// caller then returns). Panics when moto is neither configured nor skipped: an AWS test must
/// never pass without having run.
pub async fn moto(test: &str) -> Option<SdkConfig> {
    match std::env::var(MOTO_URL) {
        Ok(url) if !url.is_empty() => Some(config(url).await),
        _ if std::env::var(SKIP).as_deref() == Ok("1") => {
            println!("skipped {test}: {SKIP}=1 and no {MOTO_URL}");
            None
        }
        _ => panic!(
            "{test} needs a moto server: run the tests with scripts/test, which starts one and sets {MOTO_URL} \
             (or set {SKIP}=1 to skip the AWS tests knowingly)"
        ),
    }
}

async fn config(url: String) -> SdkConfig {
    // Fixed test credentials and region: nothing here may ever reach a real account.
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(url)
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "moto"))
        .load()
        .await
}
