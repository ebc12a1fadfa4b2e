//! `Idempotency-Key` on the routes that create something once (bookings, the till's sales): a
//! repeat with the same key and body gets the stored first response (with
//! `Idempotent-Replayed: true`) and writes nothing; the same key with another body is 422
//! `idempotency_key_reused`. The record itself is written in the change's own transaction
//! (`mas_store::idempotency`).

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::error::ApiError;
use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::TenantId;
use mas_store::Store;
use mas_store::idempotency::{self, Idempotency};

pub const HEADER: &str = "idempotency-key";

/// What a request with (or without) a key is to do.
pub enum Begun {
    /// A request with this key and body committed before: answer this.
    Replay(Response),
    /// Go ahead, recording the first response under the key (when there is one).
    Fresh(Option<Idempotency>),
}

/// Reads the header and answers a stored response for a repeat (or refuses a key reused for
/// another body); otherwise the key and the body's hash to record with the change.
pub async fn begin(
    store: &Store,
    tenant: &TenantId,
    headers: &HeaderMap,
    input: &impl Serialize,
) -> Result<Begun, ApiError> {
    let Some(key) = key(headers)? else { return Ok(Begun::Fresh(None)) };
    let body = serde_json::to_vec(input).map_err(|e| AppError::Internal(e.to_string()))?;
    let request_hash: String = Sha256::digest(&body).iter().map(|b| format!("{b:02x}")).collect();
    if let Some(replay) = replay(store, tenant, &key, &request_hash).await? {
        return Ok(Begun::Replay(replay));
    }
    Ok(Begun::Fresh(Some(Idempotency { key, request_hash })))
}

/// The stored response, for a change whose transaction found the key taken by a request that
/// committed at the same moment.
pub async fn replay_committed(
    store: &Store,
    tenant: &TenantId,
    idempotency: Option<&Idempotency>,
) -> Result<Response, ApiError> {
    let idem = idempotency.ok_or_else(|| AppError::Internal("only an idempotent request is replayed".into()))?;
    replay(store, tenant, &idem.key, &idem.request_hash)
        .await?
        .ok_or_else(|| AppError::Internal("an idempotency record vanished".into()).into())
}

fn key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(raw) = headers.get(HEADER) else { return Ok(None) };
    let key = raw.to_str().unwrap_or_default().trim();
    let valid = (1..=255).contains(&key.len()) && key.chars().all(|c| c.is_ascii_graphic());
    if !valid {
        return Err(ApiError::Malformed {
            code: "invalid_idempotency_key",
            message: "Idempotency-Key must be 1–255 visible ASCII characters".into(),
        });
    }
    Ok(Some(key.to_owned()))
}

async fn replay(store: &Store, tenant: &TenantId, key: &str, request_hash: &str) -> AppResult<Option<Response>> {
    let Some(stored) = idempotency::stored(store, tenant, key).await? else { return Ok(None) };
    if stored.request_hash != request_hash {
        return Err(AppError::invalid(
            "idempotency_key_reused",
            "Idempotency-Key",
            "this key was used for a different request; use a new key for a new one",
        ));
    }
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut response = (status, Json(stored.body)).into_response();
    response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    Ok(Some(response))
}
