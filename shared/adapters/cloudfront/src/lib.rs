//! CDN adapters: CloudFront (`CreateInvalidation` on the sites distribution) and, locally, one
//! that logs what it would invalidate and remembers it (tests read it back).

use async_trait::async_trait;
use aws_sdk_cloudfront::Client;
use aws_sdk_cloudfront::error::DisplayErrorContext;
use aws_sdk_cloudfront::types::{InvalidationBatch, Paths};

use mas_ports::cdn::{Cdn, CdnError};

#[derive(Debug, Clone)]
pub struct CloudFrontCdn {
    client: Client,
    distribution_id: String,
}

impl CloudFrontCdn {
    pub fn new(client: Client, distribution_id: impl Into<String>) -> CloudFrontCdn {
        CloudFrontCdn { client, distribution_id: distribution_id.into() }
    }
}

#[async_trait]
impl Cdn for CloudFrontCdn {
    fn name(&self) -> &'static str {
        "cloudfront"
    }

    async fn invalidate(&self, paths: &[String], reference: &str) -> Result<Option<String>, CdnError> {
        let quantity = i32::try_from(paths.len()).map_err(|_| CdnError::Unavailable("too many paths".into()))?;
        let paths = Paths::builder()
            .quantity(quantity)
            .set_items(Some(paths.to_vec()))
            .build()
            .map_err(|e| CdnError::Unavailable(e.to_string()))?;
        // CloudFront treats a repeated caller reference with the same paths as the same request.
        let batch = InvalidationBatch::builder()
            .paths(paths)
            .caller_reference(reference)
            .build()
            .map_err(|e| CdnError::Unavailable(e.to_string()))?;
        let answer = self
            .client
            .create_invalidation()
            .distribution_id(&self.distribution_id)
            .invalidation_batch(batch)
            .send()
            .await
            .map_err(|e| CdnError::Unavailable(DisplayErrorContext(e).to_string()))?;
        Ok(answer.invalidation().map(|i| i.id().to_owned()))
    }
}
