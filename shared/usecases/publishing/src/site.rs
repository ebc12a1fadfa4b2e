//! Publishing a clinic's static site: render every file from its brand and public catalog (the
//! same renderer the local host serves on request), write them under `sites/{slug}/` in the
//! sites bucket, record the published version with a conditional write, and ask the CDN to drop
//! its cached copies. Asked for by `POST /v1/site/publish` and by `site.changed` events (brand
//! and catalog changes), both through the site publish queue.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use mas_context::app::App;
use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::{PublishId, TenantId};
use mas_ports::queue::QueueMessage;
use mas_ports::{Condition, DomainEvent, QueueName, Write};
use mas_site::SiteOptions;
use mas_store::keys;
use mas_store::{AuditContext, Plan, to_item};

pub use mas_context::announcements::{SITE_CHANGED, change_event};

/// What the site publish queue carries: a direct request, or an EventBridge event whose
/// `detail` is a `site.changed` domain event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublishRequest {
    pub tenant_id: TenantId,
    pub publish_id: PublishId,
}

impl QueueMessage for PublishRequest {
    const QUEUE: QueueName = QueueName::SitePublish;
}

impl PublishRequest {
    /// Reads a queue message: `{tenant_id, publish_id}`, or an EventBridge envelope
    /// (`detail-type` `site.changed`, `detail` the domain event).
    pub fn from_message(body: &Value) -> AppResult<PublishRequest> {
        if let Some(detail) = body.get("detail") {
            let event: DomainEvent = serde_json::from_value(detail.clone())
                .map_err(|e| AppError::Internal(format!("unreadable site.changed event: {e}")))?;
            if event.kind != SITE_CHANGED {
                return Err(AppError::Internal(format!("the site publish queue got a {} event", event.kind)));
            }
            // One publish per event id: a redelivered event is the same publish.
            let publish_id =
                PublishId::parse(&format!("{}{}", PublishId::PREFIX, event.id.as_str().trim_start_matches("dev_")))
                    .map_err(|e| AppError::Internal(e.to_string()))?;
            return Ok(PublishRequest { tenant_id: event.tenant_id, publish_id });
        }
        serde_json::from_value(body.clone()).map_err(|e| AppError::Internal(format!("unreadable publish request: {e}")))
    }
}

/// The published state of a tenant's site (`TENANT#t` / `SITE`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Publication {
    /// 1 for the first publish; +1 for each publish that changed a file.
    pub version: u64,
    /// SHA-256 over every file's path, type and bytes.
    pub content_hash: String,
    pub publish_id: PublishId,
    pub published_at: DateTime<Utc>,
    /// Where the files are: `sites/{slug}/`.
    pub prefix: String,
    pub files: Vec<String>,
    /// The CDN's id of the invalidation, when it gave one.
    pub invalidation_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Published {
    /// Files were written and a new version recorded.
    New(Publication),
    /// The site is already exactly this; nothing was written or invalidated.
    Unchanged(Publication),
    /// The clinic is not live yet (its owner has not confirmed their email): nothing is
    /// published. The change events of its set-up land here; going live publishes.
    Withheld,
}

impl Published {
    pub fn publication(&self) -> Option<&Publication> {
        match self {
            Published::New(p) | Published::Unchanged(p) => Some(p),
            Published::Withheld => None,
        }
    }
}

/// Queues a publish of the tenant's site (the worker does it), with an audit record of who asked.
pub async fn request_publish(app: &App, audit: &AuditContext) -> AppResult<PublishId> {
    mas_accounts::tenants::require_live(&mas_accounts::tenants::tenant(&app.store, &audit.tenant_id).await?)?;
    let publish_id = PublishId::new();
    let request = PublishRequest { tenant_id: audit.tenant_id.clone(), publish_id: publish_id.clone() };
    Plan::new().commit(&app.store, audit, "site.publish_requested", publish_id.as_str()).await?;
    app.queue.enqueue(&request).await.map_err(AppError::backend("queue"))?;
    Ok(publish_id)
}

/// Renders and publishes the tenant's whole site. Idempotent: when the rendered files are the
/// ones already published, nothing is written and nothing invalidated.
pub async fn publish(app: &App, request: &PublishRequest) -> Result<Published, PublishError> {
    let tenant = mas_accounts::tenants::tenant(&app.store, &request.tenant_id).await?;
    if !tenant.is_live() {
        return Ok(Published::Withheld);
    }
    let catalog = crate::public_catalog::load(app, &tenant.slug).await?;
    let files = mas_site::render(&catalog, &SiteOptions { api_base: app.site_api_base.clone() });
    let content_hash = mas_site::content_hash(&files);
    let key = keys::site_publication(&tenant.id);
    let current: Option<Publication> = app.store.get(&key).await?;
    if let Some(current) = current.as_ref().filter(|c| c.content_hash == content_hash) {
        return Ok(Published::Unchanged(current.clone()));
    }
    let blobs = app.site_blobs();
    for file in &files {
        let blob = keys::site_file(&tenant.slug, &file.path).map_err(|e| AppError::Internal(e.to_string()))?;
        // The sites bucket has no Object Lock: a page is replaced at the next publish.
        blobs
            .put(&blob, file.body.as_bytes().to_vec(), file.content_type, mas_ports::Retention::Default)
            .await
            .map_err(AppError::backend("blobs"))?;
    }
    let version = current.as_ref().map_or(1, |c| c.version + 1);
    let prefix = format!("sites/{}/", tenant.slug);
    let reference = format!("{}-v{version}-{}", tenant.id, &content_hash[..16]);
    // Files first, then the CDN, then the record: a crash in between leaves the record behind,
    // so the retry writes the same files again and asks again with the same reference.
    let invalidation_id =
        app.cdn.invalidate(&[format!("/{prefix}*")], &reference).await.map_err(AppError::backend("cdn"))?;
    let publication = Publication {
        version,
        content_hash,
        publish_id: request.publish_id.clone(),
        published_at: app.store.clock.now(),
        prefix,
        files: files.iter().map(|f| f.path.clone()).collect(),
        invalidation_id,
    };
    // Two publishers racing: the record is written only over the version this one read.
    let condition = match &current {
        Some(c) => Condition::equals("version", c.version),
        None => Condition::NotExists,
    };
    // No audit record here: the publisher is the system, and every publish follows a change or a
    // request that was audited when it was made (`site.publish_requested`, the catalog's own).
    let write = Write::put_if(to_item(&key, "site_publication", &publication)?, condition);
    match app.store.table.transact(vec![write]).await {
        Ok(()) => {}
        Err(mas_ports::TableError::ConditionFailed { .. }) => {
            return Err(PublishError::Concurrent);
        }
        Err(other) => return Err(other.into()),
    }
    tracing::info!(tenant_id = %tenant.id, version, files = publication.files.len(), "site published");
    Ok(Published::New(publication))
}

/// A publish that did not happen.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PublishError {
    /// 409 `concurrent_publish`: another publish of the site finished first (the queue retries).
    #[error("another publish of this site finished first; this one will be retried")]
    Concurrent,
    #[error(transparent)]
    Store(#[from] AppError),
}

impl From<PublishError> for AppError {
    fn from(err: PublishError) -> Self {
        match err {
            PublishError::Concurrent => AppError::conflict("concurrent_publish", err.to_string()),
            PublishError::Store(err) => err,
        }
    }
}

impl From<mas_ports::TableError> for PublishError {
    fn from(err: mas_ports::TableError) -> Self {
        PublishError::Store(err.into())
    }
}

/// The tenant's current publication, if its site was ever published.
pub async fn publication(app: &App, tenant: &TenantId) -> AppResult<Option<Publication>> {
    app.store.get(&keys::site_publication(tenant)).await
}
