//! Requests made once per `Idempotency-Key`: the first response is stored (`keys::idempotency`,
//! a day) with "not exists" in the same transaction as the change it answers, so of two
//! requests with one key only one commits, and a repeat is answered the stored response. Public
//! and staff bookings and the desk till's sales use it.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::{ClientId, TenantId};
use mas_ports::Write;
use mas_ports::table::TTL;

use crate::{Plan, Store, keys, to_item};

/// How long a first response is kept for replay.
pub const KEPT_FOR: Duration = Duration::days(1);

/// A request's `Idempotency-Key` and the hash of what it asked, stored with the first response.
#[derive(Debug, Clone)]
pub struct Idempotency {
    pub key: String,
    pub request_hash: String,
}

/// The first response to an idempotent request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredResponse {
    pub request_hash: String,
    pub status: u16,
    pub body: Value,
}

/// The response stored under `key`, if a request with it committed (within a day).
pub async fn stored(store: &Store, tenant: &TenantId, key: &str) -> AppResult<Option<StoredResponse>> {
    store.get(&keys::idempotency(tenant, key)).await
}

impl Idempotency {
    /// Adds to `plan` the response `(status, body)` as this key's first, written only if no
    /// request with the key committed before (`replayed` is the plan's failure then). A response
    /// that names `client` is also referenced from the client's partition, so an erasure
    /// deletes it before its day is up.
    pub fn record<F: From<AppError>>(
        &self,
        plan: &mut Plan<F>,
        (tenant, client): (&TenantId, Option<&ClientId>),
        (status, body): (u16, &impl Serialize),
        now: DateTime<Utc>,
        replayed: impl Into<F>,
    ) -> AppResult<()> {
        let response = StoredResponse {
            request_hash: self.request_hash.clone(),
            status,
            body: serde_json::to_value(body).map_err(|e| AppError::Internal(e.to_string()))?,
        };
        let ttl = (now + KEPT_FOR).timestamp();
        let mut item = to_item(&keys::idempotency(tenant, &self.key), "idempotency", &response)?;
        item.insert(TTL.into(), ttl.into());
        plan.push(Write::put_new(item), replayed);
        if let Some(client) = client {
            let mut reference = to_item(
                &keys::client_idempotency_ref(tenant, client, &self.key),
                "idempotency_ref",
                &serde_json::json!({ "key": self.key }),
            )?;
            reference.insert(TTL.into(), ttl.into());
            plan.push(Write::put(reference), AppError::Internal("an unconditional put failed".into()));
        }
        Ok(())
    }
}
