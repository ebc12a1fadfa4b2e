//! S3 blob adapter: one bucket, keys under each tenant's prefix, presigned GET URLs.

use std::time::Duration;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;

use mas_ports::{BlobError, BlobKey, Blobs};

#[derive(Debug, Clone)]
pub struct S3Blobs {
    client: Client,
    bucket: String,
}

fn unavailable(err: impl std::error::Error) -> BlobError {
    BlobError::Unavailable(DisplayErrorContext(err).to_string())
}

impl S3Blobs {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        S3Blobs { client, bucket: bucket.into() }
    }

    /// The bucket reached with the standard AWS configuration. An endpoint override (an emulator)
    /// gets path-style addressing, since `bucket.127.0.0.1` does not resolve.
    pub fn from_config(config: &SdkConfig, bucket: impl Into<String>) -> Self {
        let path_style = std::env::var("AWS_ENDPOINT_URL").is_ok_and(|u| !u.is_empty());
        let s3 = aws_sdk_s3::config::Builder::from(config).force_path_style(path_style).build();
        S3Blobs::new(Client::from_conf(s3), bucket)
    }

    /// Creates the bucket unless it exists (for tests and the local host on an emulator; the
    /// production bucket comes from template.yaml).
    pub async fn create_bucket_if_missing(&self) -> Result<(), BlobError> {
        if self.client.head_bucket().bucket(&self.bucket).send().await.is_ok() {
            return Ok(());
        }
        let region = self.client.config().region().map(|r| r.to_string()).unwrap_or_default();
        let mut create = self.client.create_bucket().bucket(&self.bucket);
        if !region.is_empty() && region != "us-east-1" {
            let location = aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(region.as_str()))
                .build();
            create = create.create_bucket_configuration(location);
        }
        match create.send().await {
            Ok(_) => Ok(()),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_bucket_already_owned_by_you()) => Ok(()),
            Err(err) => Err(unavailable(err)),
        }
    }
}

#[async_trait]
impl Blobs for S3Blobs {
    async fn put(&self, key: &BlobKey, bytes: Vec<u8>, content_type: &str) -> Result<(), BlobError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .content_type(content_type)
            // The documents bucket has Object Lock, and S3 refuses an upload into a retention
            // period without an integrity checksum; the SDK sends CRC32 by default, pinned here so
            // a change of client settings cannot drop it.
            .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Crc32)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map(drop)
            .map_err(unavailable)
    }

    async fn get(&self, key: &BlobKey) -> Result<Option<Vec<u8>>, BlobError> {
        match self.client.get_object().bucket(&self.bucket).key(key.as_str()).send().await {
            Ok(object) => {
                let bytes = object.body.collect().await.map_err(|e| BlobError::Unavailable(e.to_string()))?;
                Ok(Some(bytes.into_bytes().to_vec()))
            }
            Err(err) if matches!(err.as_service_error(), Some(GetObjectError::NoSuchKey(_))) => Ok(None),
            Err(err) => Err(unavailable(err)),
        }
    }

    async fn presign(&self, key: &BlobKey, expires_in: Duration) -> Result<String, BlobError> {
        let config = PresigningConfig::expires_in(expires_in).map_err(|e| BlobError::Unavailable(e.to_string()))?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .presigned(config)
            .await
            .map_err(unavailable)?;
        Ok(request.uri().to_owned())
    }
}
