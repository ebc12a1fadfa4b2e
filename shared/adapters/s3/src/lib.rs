//! S3 blob adapter: one bucket, keys under each tenant's prefix, presigned GET URLs, and
//! per-object retention on a bucket with Object Lock (PutObject with a mode and retain-until
//! date, PutObjectRetention to extend, DeleteObject on each version to delete for good).

use std::time::Duration;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::{ByteStream, DateTime as S3DateTime};
use aws_sdk_s3::types::{ObjectLockMode, ObjectLockRetention, ObjectLockRetentionMode};
use chrono::{DateTime, Utc};

use mas_ports::{BlobError, BlobKey, Blobs, Retention};

#[derive(Debug, Clone)]
pub struct S3Blobs {
    client: Client,
    bucket: String,
    /// The Object Lock mode of a retention this adapter sets (an extension keeps a version's own).
    lock_mode: ObjectLockMode,
}

/// One stored version of a key (or a delete marker, which has no retention).
struct Version {
    id: String,
    delete_marker: bool,
}

fn s3_date(at: DateTime<Utc>) -> S3DateTime {
    S3DateTime::from_secs(at.timestamp())
}

fn chrono_date(at: &S3DateTime) -> DateTime<Utc> {
    DateTime::from_timestamp(at.secs(), 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn unavailable(err: impl std::error::Error) -> BlobError {
    BlobError::Unavailable(DisplayErrorContext(err).to_string())
}

impl S3Blobs {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        S3Blobs { client, bucket: bucket.into(), lock_mode: ObjectLockMode::Compliance }
    }

    /// `COMPLIANCE` (the default: nobody can shorten or remove it) or `GOVERNANCE` (a test
    /// stack's bucket, which an administrator may empty); anything else is refused.
    pub fn with_lock_mode(mut self, mode: &str) -> Result<Self, BlobError> {
        self.lock_mode = match mode {
            "COMPLIANCE" => ObjectLockMode::Compliance,
            "GOVERNANCE" => ObjectLockMode::Governance,
            other => return Err(BlobError::Unavailable(format!("unknown Object Lock mode {other:?}"))),
        };
        Ok(self)
    }

    /// Every version of exactly `key` (ListObjectVersions by prefix, the other keys left out).
    async fn versions(&self, key: &BlobKey) -> Result<Vec<Version>, BlobError> {
        let mut found = Vec::new();
        let (mut key_marker, mut version_marker) = (None::<String>, None::<String>);
        loop {
            let page = self
                .client
                .list_object_versions()
                .bucket(&self.bucket)
                .prefix(key.as_str())
                .set_key_marker(key_marker.take())
                .set_version_id_marker(version_marker.take())
                .send()
                .await
                .map_err(unavailable)?;
            for version in page.versions() {
                if version.key() == Some(key.as_str())
                    && let Some(id) = version.version_id()
                {
                    found.push(Version { id: id.to_owned(), delete_marker: false });
                }
            }
            for marker in page.delete_markers() {
                if marker.key() == Some(key.as_str())
                    && let Some(id) = marker.version_id()
                {
                    found.push(Version { id: id.to_owned(), delete_marker: true });
                }
            }
            if page.is_truncated() != Some(true) {
                return Ok(found);
            }
            key_marker = page.next_key_marker().map(str::to_owned);
            version_marker = page.next_version_id_marker().map(str::to_owned);
        }
    }

    /// A version's retention: its mode and retain-until date, if it has one.
    async fn retention_of(
        &self,
        key: &BlobKey,
        version: &str,
    ) -> Result<Option<(ObjectLockMode, DateTime<Utc>)>, BlobError> {
        let head = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .version_id(version)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(head.object_lock_retain_until_date().map(|until| {
            (head.object_lock_mode().cloned().unwrap_or_else(|| self.lock_mode.clone()), chrono_date(until))
        }))
    }

    /// The object versions of `key` (delete markers left out); `NotFound` when there is none.
    async fn objects(&self, key: &BlobKey) -> Result<Vec<Version>, BlobError> {
        let objects: Vec<Version> = self.versions(key).await?.into_iter().filter(|v| !v.delete_marker).collect();
        if objects.is_empty() {
            return Err(BlobError::NotFound(key.to_string()));
        }
        Ok(objects)
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
        self.create_if_missing(false).await
    }

    /// Creates the bucket unless it exists, as template.yaml makes the documents bucket:
    /// versioned, with Object Lock and a default retention of `years` in this adapter's mode.
    pub async fn create_locked_bucket_if_missing(&self, years: i32) -> Result<(), BlobError> {
        self.create_if_missing(true).await?;
        use aws_sdk_s3::types::{DefaultRetention, ObjectLockConfiguration, ObjectLockEnabled, ObjectLockRule};
        let mode = ObjectLockRetentionMode::from(self.lock_mode.as_str());
        let rule = ObjectLockRule::builder()
            .default_retention(DefaultRetention::builder().mode(mode).years(years).build())
            .build();
        let lock =
            ObjectLockConfiguration::builder().object_lock_enabled(ObjectLockEnabled::Enabled).rule(rule).build();
        self.client
            .put_object_lock_configuration()
            .bucket(&self.bucket)
            .object_lock_configuration(lock)
            .send()
            .await
            .map(drop)
            .map_err(unavailable)
    }

    async fn create_if_missing(&self, locked: bool) -> Result<(), BlobError> {
        if self.client.head_bucket().bucket(&self.bucket).send().await.is_ok() {
            return Ok(());
        }
        let region = self.client.config().region().map(|r| r.to_string()).unwrap_or_default();
        let mut create = self.client.create_bucket().bucket(&self.bucket).object_lock_enabled_for_bucket(locked);
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
    async fn put(
        &self,
        key: &BlobKey,
        bytes: Vec<u8>,
        content_type: &str,
        retention: Retention,
    ) -> Result<(), BlobError> {
        let (mode, until) = match retention {
            Retention::Default => (None, None),
            Retention::Until(until) => (Some(self.lock_mode.clone()), Some(s3_date(until))),
        };
        self.client
            .put_object()
            .set_object_lock_mode(mode)
            .set_object_lock_retain_until_date(until)
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

    async fn retained_until(&self, key: &BlobKey) -> Result<Option<DateTime<Utc>>, BlobError> {
        let mut latest = None;
        for version in self.objects(key).await? {
            if let Some((_, until)) = self.retention_of(key, &version.id).await? {
                latest = latest.max(Some(until));
            }
        }
        Ok(latest)
    }

    async fn extend_retention(&self, key: &BlobKey, until: DateTime<Utc>) -> Result<(), BlobError> {
        for version in self.objects(key).await? {
            let current = self.retention_of(key, &version.id).await?;
            if current.as_ref().is_some_and(|(_, at)| at.timestamp() >= until.timestamp()) {
                continue;
            }
            // The version's own mode: moving GOVERNANCE to COMPLIANCE (or back) is not extending.
            let mode = current.map(|(mode, _)| mode).unwrap_or_else(|| self.lock_mode.clone());
            let retention = ObjectLockRetention::builder()
                .mode(ObjectLockRetentionMode::from(mode.as_str()))
                .retain_until_date(s3_date(until))
                .build();
            self.client
                .put_object_retention()
                .bucket(&self.bucket)
                .key(key.as_str())
                .version_id(&version.id)
                .retention(retention)
                .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Crc32)
                .send()
                .await
                .map_err(unavailable)?;
        }
        Ok(())
    }

    async fn delete(&self, key: &BlobKey) -> Result<(), BlobError> {
        let mut locked: Option<DateTime<Utc>> = None;
        for version in self.versions(key).await? {
            let deleted =
                self.client.delete_object().bucket(&self.bucket).key(key.as_str()).version_id(&version.id).send().await;
            match deleted {
                Ok(_) => {}
                // S3 answers a delete under Object Lock with 403 AccessDenied, as it answers a
                // missing permission: the version's retention tells them apart.
                Err(err) if err.code() == Some("AccessDenied") && !version.delete_marker => {
                    match self.retention_of(key, &version.id).await? {
                        Some((_, until)) if until > Utc::now() - chrono::Duration::minutes(5) => {
                            locked = locked.max(Some(until));
                        }
                        _ => return Err(unavailable(err)),
                    }
                }
                Err(err) => return Err(unavailable(err)),
            }
        }
        match locked {
            Some(until) => Err(BlobError::Locked { key: key.to_string(), until }),
            None => Ok(()),
        }
    }
}
