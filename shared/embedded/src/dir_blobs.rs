//! Embedded blob adapter: files under a directory (`$MAS_DATA_DIR/blobs`), read back through
//! HMAC-signed, expiring URLs that the local host serves at `/local-blobs/{key}`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use mas_domain::links::LinkSigner;
use mas_ports::{BlobError, BlobKey, Blobs, Clock};

const PURPOSE: &str = "local-blob";
pub const ROUTE_PREFIX: &str = "/local-blobs";

pub struct DirBlobs {
    root: PathBuf,
    /// Where the local host answers, e.g. `http://127.0.0.1:3000`.
    base_url: String,
    signer: Arc<LinkSigner>,
    clock: Arc<dyn Clock>,
}

impl DirBlobs {
    pub fn new(
        root: impl Into<PathBuf>,
        base_url: impl Into<String>,
        signer: Arc<LinkSigner>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        DirBlobs { root: root.into(), base_url: base_url.into().trim_end_matches('/').to_owned(), signer, clock }
    }

    fn path(&self, key: &BlobKey) -> PathBuf {
        // BlobKey admits no empty, `.` or `..` segments, so this stays under the root.
        self.root.join(key.as_str())
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

#[async_trait]
impl Blobs for DirBlobs {
    async fn put(&self, key: &BlobKey, bytes: Vec<u8>, _content_type: &str) -> Result<(), BlobError> {
        let path = self.path(key);
        let parent = path.parent().expect("a key has at least one segment").to_path_buf();
        tokio::fs::create_dir_all(&parent).await.map_err(|e| io(&parent, e))?;
        // Write then rename, so a reader never sees half a file.
        let partial = parent.join(format!(".{}.partial", ulid::Ulid::new()));
        tokio::fs::write(&partial, bytes).await.map_err(|e| io(&partial, e))?;
        tokio::fs::rename(&partial, &path).await.map_err(|e| io(&path, e))
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
