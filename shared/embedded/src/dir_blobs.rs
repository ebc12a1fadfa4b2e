//! Embedded blob adapter: files under a directory (`$MAS_DATA_DIR/blobs`), read back through
//! HMAC-signed, expiring URLs that the local host serves at `/local-blobs/{key}`.
//!
//! Retention as S3 Object Lock keeps it: a blob's retain-until instant is in a sidecar file
//! (`#retention/{key}` under the root: `#` is in no key, so no blob can be named like a sidecar)
//! and a delete before it is refused. A file has one version, so its sidecar holds the latest
//! date any put or extension gave it, as a versioned bucket keeps the key until every version's
//! lock has passed.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use mas_domain::links::LinkSigner;
use mas_ports::{BlobError, BlobKey, Blobs, Clock, Retention};

const PURPOSE: &str = "local-blob";
pub const ROUTE_PREFIX: &str = "/local-blobs";

pub struct DirBlobs {
    root: PathBuf,
    /// Where the local host answers, e.g. `http://127.0.0.1:3000`.
    base_url: String,
    signer: Arc<LinkSigner>,
    clock: Arc<dyn Clock>,
    /// What `Retention::Default` keeps a blob for (the documents bucket's rule); none by default.
    default_retention: Option<chrono::Duration>,
}

/// Where retain-until dates are kept, beside the blobs (no key can start with `#`).
const RETENTION_DIR: &str = "#retention";

impl DirBlobs {
    pub fn new(
        root: impl Into<PathBuf>,
        base_url: impl Into<String>,
        signer: Arc<LinkSigner>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        DirBlobs {
            root: root.into(),
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            signer,
            clock,
            default_retention: None,
        }
    }

    /// Blobs put with `Retention::Default` are kept this long (as the documents bucket's Object
    /// Lock rule keeps them seven years).
    pub fn with_default_retention(mut self, period: chrono::Duration) -> Self {
        self.default_retention = Some(period);
        self
    }

    fn path(&self, key: &BlobKey) -> PathBuf {
        // BlobKey admits no empty, `.` or `..` segments, so this stays under the root.
        self.root.join(key.as_str())
    }

    fn sidecar(&self, key: &BlobKey) -> PathBuf {
        self.root.join(RETENTION_DIR).join(key.as_str())
    }

    async fn read_retention(&self, key: &BlobKey) -> Result<Option<DateTime<Utc>>, BlobError> {
        let path = self.sidecar(key);
        match tokio::fs::read_to_string(&path).await {
            Ok(text) => DateTime::parse_from_rfc3339(text.trim())
                .map(|at| Some(at.with_timezone(&Utc)))
                .map_err(|e| BlobError::Unavailable(format!("{}: {e}", path.display()))),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(io(&path, err)),
        }
    }

    /// Keeps the later of the date stored and `until` (whole seconds, as S3 keeps them).
    async fn retain(&self, key: &BlobKey, until: DateTime<Utc>) -> Result<(), BlobError> {
        let until = DateTime::from_timestamp(until.timestamp(), 0).unwrap_or(until);
        if self.read_retention(key).await?.is_some_and(|current| current >= until) {
            return Ok(());
        }
        write_atomically(&self.sidecar(key), until.to_rfc3339().into_bytes()).await
    }

    async fn exists(&self, key: &BlobKey) -> Result<bool, BlobError> {
        let path = self.path(key);
        tokio::fs::try_exists(&path).await.map_err(|e| io(&path, e))
    }

    /// The router serving presigned URLs; the local host (and tests) mount it.
    pub fn router(self: Arc<Self>) -> axum::Router {
        axum::Router::new().route(&format!("{ROUTE_PREFIX}/{{*key}}"), axum::routing::get(serve)).with_state(self)
    }

    fn signed_payload(key: &str, expires: i64) -> String {
        format!("{key}\n{expires}")
    }
}

fn io(path: &Path, err: std::io::Error) -> BlobError {
    BlobError::Unavailable(format!("{}: {err}", path.display()))
}

/// Writes then renames, so a reader never sees half a file.
async fn write_atomically(path: &Path, bytes: Vec<u8>) -> Result<(), BlobError> {
    let parent = path.parent().expect("a key has at least one segment").to_path_buf();
    tokio::fs::create_dir_all(&parent).await.map_err(|e| io(&parent, e))?;
    let partial = parent.join(format!(".{}.partial", ulid::Ulid::new()));
    tokio::fs::write(&partial, bytes).await.map_err(|e| io(&partial, e))?;
    tokio::fs::rename(&partial, path).await.map_err(|e| io(path, e))
}

async fn remove(path: &Path) -> Result<(), BlobError> {
    match tokio::fs::remove_file(path).await {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(io(path, err)),
    }
}

#[async_trait]
impl Blobs for DirBlobs {
    async fn put(
        &self,
        key: &BlobKey,
        bytes: Vec<u8>,
        _content_type: &str,
        retention: Retention,
    ) -> Result<(), BlobError> {
        // The retention first: a blob is never on disk without the lock it was stored with.
        let until = match retention {
            Retention::Until(until) => Some(until),
            Retention::Default => self.default_retention.map(|period| self.clock.now() + period),
        };
        if let Some(until) = until {
            self.retain(key, until).await?;
        }
        write_atomically(&self.path(key), bytes).await
    }

    async fn get(&self, key: &BlobKey) -> Result<Option<Vec<u8>>, BlobError> {
        let path = self.path(key);
        match tokio::fs::read(&path).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(io(&path, err)),
        }
    }

    async fn presign(&self, key: &BlobKey, expires_in: Duration) -> Result<String, BlobError> {
        let expires = self.clock.now().timestamp() + expires_in.as_secs() as i64;
        let sig = self.signer.sign(PURPOSE, &Self::signed_payload(key.as_str(), expires));
        Ok(format!("{}{ROUTE_PREFIX}/{key}?expires={expires}&sig={sig}", self.base_url))
    }

    async fn retained_until(&self, key: &BlobKey) -> Result<Option<DateTime<Utc>>, BlobError> {
        if !self.exists(key).await? {
            return Err(BlobError::NotFound(key.to_string()));
        }
        self.read_retention(key).await
    }

    async fn extend_retention(&self, key: &BlobKey, until: DateTime<Utc>) -> Result<(), BlobError> {
        if !self.exists(key).await? {
            return Err(BlobError::NotFound(key.to_string()));
        }
        self.retain(key, until).await
    }

    async fn delete(&self, key: &BlobKey) -> Result<(), BlobError> {
        if let Some(until) = self.read_retention(key).await?
            && until > self.clock.now()
            && self.exists(key).await?
        {
            return Err(BlobError::Locked { key: key.to_string(), until });
        }
        remove(&self.path(key)).await?;
        remove(&self.sidecar(key)).await
    }
}

#[derive(Deserialize)]
struct Signed {
    expires: i64,
    sig: String,
}

async fn serve(
    State(blobs): State<Arc<DirBlobs>>,
    UrlPath(key): UrlPath<String>,
    Query(signed): Query<Signed>,
) -> Response {
    let refuse = |status: StatusCode, why: &'static str| (status, why).into_response();
    if !blobs.signer.verify(PURPOSE, &DirBlobs::signed_payload(&key, signed.expires), &signed.sig) {
        return refuse(StatusCode::FORBIDDEN, "this link is not valid");
    }
    if blobs.clock.now().timestamp() >= signed.expires {
        return refuse(StatusCode::FORBIDDEN, "this link has expired");
    }
    let Ok(key) = BlobKey::parse(&key) else { return refuse(StatusCode::NOT_FOUND, "not found") };
    match blobs.get(&key).await {
        Ok(Some(bytes)) => {
            let content_type = match key.as_str().rsplit('.').next() {
                Some("pdf") => "application/pdf",
                Some("png") => "image/png",
                _ => "application/octet-stream",
            };
            ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "private, no-store")], bytes)
                .into_response()
        }
        Ok(None) => refuse(StatusCode::NOT_FOUND, "not found"),
        Err(err) => {
            tracing::error!(%err, "local blob read failed");
            refuse(StatusCode::INTERNAL_SERVER_ERROR, "could not read the file")
        }
    }
}
