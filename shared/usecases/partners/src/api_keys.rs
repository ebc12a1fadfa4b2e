//! Server-to-server API keys: made with a name and scopes (the secret answered once), stored as
//! the SHA-256 of the secret, listed without it, revoked at once (the lookup item the calls read
//! is deleted in the same transaction).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::{ApiKeyId, TenantId};
use mas_domain::partner::{self, ApiKey, NewKey, Scope};
use mas_ports::{Condition, Query, SortKey, Write};
use mas_store::{AuditContext, Plan, Store, from_item, keys, to_item};

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyInput {
    /// What the key is for (1 to 80 characters).
    pub name: String,
    /// At least one of `appointments:read`, `clients:read`, `catalog:read`.
    #[schema(value_type = Vec<String>)]
    pub scopes: Vec<Scope>,
}

/// A new key with its secret: answered once.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct KeyWithSecret {
    #[serde(flatten)]
    pub key: ApiKey,
    /// `mas_key_…`: send it as `Authorization: Bearer mas_key_…`. Shown this once.
    pub secret: String,
}

/// The lookup item: a live key's tenant and scopes, under the hash of its secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Lookup {
    tenant_id: TenantId,
    key_id: ApiKeyId,
    scopes: BTreeSet<Scope>,
}

/// The stored key: what is listed, plus the hash (never answered).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredKey {
    #[serde(flatten)]
    key: ApiKey,
    hash: String,
}

pub async fn create(store: &Store, audit: &AuditContext, input: KeyInput) -> AppResult<KeyWithSecret> {
    let name = partner::key_name(&input.name).map_err(|m| partner::invalid("name", m))?;
    let scopes = partner::scopes(input.scopes).map_err(|m| partner::invalid("scopes", m))?;
    let made = NewKey::generate();
    let key = ApiKey {
        id: ApiKeyId::new(),
        name,
        scopes: scopes.clone(),
        prefix: made.prefix,
        created_at: store.clock.now(),
        created_by: audit.actor.clone(),
        revoked_at: None,
    };
    let t = &audit.tenant_id;
    let lookup = Lookup { tenant_id: t.clone(), key_id: key.id.clone(), scopes };
    let stored = StoredKey { key: key.clone(), hash: made.hash.clone() };
    let taken = || AppError::Internal("a new key's id or hash was taken".into());
    let mut plan = Plan::new();
    plan.push(Write::put_new(to_item(&keys::api_key(t, &key.id), "api_key", &stored)?), taken());
    plan.push(Write::put_new(to_item(&keys::api_key_lookup(&made.hash), "api_key_lookup", &lookup)?), taken());
    plan.commit(&store.clone(), audit, "api_key.created", key.id.as_str()).await?;
    Ok(KeyWithSecret { key, secret: made.secret })
}

/// The tenant's keys, revoked ones included, oldest first.
pub async fn list(store: &Store, t: &TenantId) -> AppResult<Vec<ApiKey>> {
    let query = Query::partition(keys::tenant_pk(t)).sk(SortKey::BeginsWith(keys::API_KEY_PREFIX.into()));
    let stored: Vec<StoredKey> =
        store.table.query_all(&query).await?.into_iter().map(from_item).collect::<AppResult<_>>()?;
    Ok(stored.into_iter().map(|s| s.key).collect())
}

/// Revokes a key: refused from the next call on. Revoking a revoked key changes nothing.
pub async fn revoke(store: &Store, audit: &AuditContext, id: &ApiKeyId) -> AppResult<ApiKey> {
    let t = &audit.tenant_id;
    let stored: StoredKey = store.get(&keys::api_key(t, id)).await?.ok_or(AppError::NotFound { what: "API key" })?;
    if stored.key.revoked_at.is_some() {
        return Ok(stored.key);
    }
    let revoked = StoredKey {
        key: ApiKey { revoked_at: Some(store.clock.now()), ..stored.key.clone() },
        hash: stored.hash.clone(),
    };
    let mut plan = Plan::new();
    let item = to_item(&keys::api_key(t, id), "api_key", &revoked)?;
    plan.push(
        Write::put_if(item, Condition::equals("revoked_at", serde_json::Value::Null)),
        AppError::contention("revoked meanwhile"),
    );
    plan.push(Write::delete(keys::api_key_lookup(&stored.hash)), AppError::Internal("unreachable".into()));
    plan.commit(store, audit, "api_key.revoked", id.as_str()).await?;
    Ok(revoked.key)
}

/// Who is calling with `presented` (the bearer token) and what they may do: `None` for anything
/// that is not a live key of ours.
pub async fn authenticate(store: &Store, presented: &str) -> AppResult<Option<Caller>> {
    let Some(hash) = partner::presented_key_hash(presented) else { return Ok(None) };
    let lookup: Option<Lookup> = store.get(&keys::api_key_lookup(&hash)).await?;
    Ok(lookup.map(|l| Caller { tenant_id: l.tenant_id, key_id: l.key_id, scopes: l.scopes }))
}

/// A server calling with a live key.
#[derive(Debug, Clone)]
pub struct Caller {
    pub tenant_id: TenantId,
    pub key_id: ApiKeyId,
    pub scopes: BTreeSet<Scope>,
}

impl Caller {
    /// 403 unless the key has `scope`.
    pub fn require(&self, scope: Scope) -> AppResult<()> {
        if self.scopes.contains(&scope) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!("this key lacks the `{}` scope", scope.as_str())))
        }
    }
}
