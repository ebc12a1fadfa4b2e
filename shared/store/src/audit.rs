//! The audit log's records, sealed: each record's sort key ends in the SHA-256 of the record's
//! canonical JSON, so the record can be checked against its own key.
//!
//! Why the key: IAM can forbid updating and deleting audit items (the table write policy does)
//! but no IAM condition tells a new item from an overwriting PutItem. An overwrite keeps the key
//! (else it is a new record, not a change to one), and a key cannot be made to match content it
//! was not computed from, so every changed record reads as `altered`. The embedded table refuses
//! the overwrite outright (`mas_embedded`), and point-in-time recovery keeps 35 days of the
//! table on AWS to restore what was there.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use mas_domain::error::AppResult;
use mas_domain::ids::{AuditId, TenantId};
use mas_ports::Item;
use mas_ports::table::SK;

use crate::{AuditContext, keys, to_item};

/// Whether a record still says what was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Integrity {
    /// Its content hashes to the seal in its key.
    Intact,
    /// Its content no longer hashes to its seal: the item was overwritten after it was written.
    Altered,
    /// Written before records were sealed: nothing to check it against.
    Unsealed,
}

/// The record's canonical JSON: object keys sorted at every depth, no spaces, and fields that
/// are null left out (a store may keep a null or drop it). The same record gives the same bytes
/// whatever order or form the store hands its attributes back in.
pub fn canonical(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.iter().filter(|(_, v)| !v.is_null()).map(|(k, _)| k).collect();
            keys.sort();
            let fields: Vec<String> =
                keys.into_iter().map(|k| format!("{}:{}", Value::String(k.clone()), canonical(&map[k]))).collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(items) => format!("[{}]", items.iter().map(canonical).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

/// The seal of a record: SHA-256 of its canonical JSON, in hex.
pub fn seal(record: &Value) -> String {
    let digest = Sha256::digest(canonical(record).as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// One audit record's item: who (`audit`) did `action` to `entity_id` at `at`, and `details` if
/// any, under a key that ends in the record's seal.
pub fn item(
    audit: &AuditContext,
    action: &str,
    entity_id: &str,
    at: DateTime<Utc>,
    details: Option<Value>,
) -> AppResult<Item> {
    let id = AuditId::new();
    let mut record = json!({
        "id": id,
        "tenant_id": audit.tenant_id,
        "actor": audit.actor,
        "role": audit.role,
        "action": action,
        "entity_id": entity_id,
        "request_id": audit.request_id,
        "at": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    });
    if let Some(details) = details {
        record["details"] = details;
    }
    to_item(&keys::audit(&audit.tenant_id, at, &id, &seal(&record)), "audit", &record)
}

/// Checks a stored audit item against the seal in its key.
pub fn integrity(item: &Item) -> Integrity {
    let Some(sk) = item.get(SK).and_then(Value::as_str) else { return Integrity::Altered };
    let Some(sealed) = keys::audit_seal(sk) else { return Integrity::Unsealed };
    let mut record = item.clone();
    for attr in crate::STORAGE_ATTRIBUTES {
        record.remove(attr);
    }
    if seal(&Value::Object(record)) == sealed { Integrity::Intact } else { Integrity::Altered }
}

/// Whether `key` names an audit record (what the embedded table refuses to overwrite).
pub fn is_audit_partition(tenant: &TenantId, pk: &str) -> bool {
    pk.starts_with(&keys::audit_month_pk(tenant, ""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mas_domain::ids::RequestId;

    fn context() -> AuditContext {
        AuditContext {
            tenant_id: TenantId::parse("ten_abc").unwrap(),
            actor: "mem_1".into(),
            role: None,
            request_id: RequestId::new(),
        }
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_depth() {
        let a = json!({"b": 1, "a": {"d": [1, {"z": 1, "y": "x"}], "c": null}});
        assert_eq!(canonical(&a), r#"{"a":{"d":[1,{"y":"x","z":1}]},"b":1}"#);
    }

    #[test]
    fn a_written_record_is_intact_and_any_change_to_it_reads_as_altered() {
        let item = item(&context(), "medical.read", "cli_1", Utc::now(), Some(json!({"why": "care"}))).unwrap();
        assert_eq!(integrity(&item), Integrity::Intact);
        let mut changed = item.clone();
        changed.insert("actor".into(), json!("mem_2"));
        assert_eq!(integrity(&changed), Integrity::Altered);
        let mut detail_changed = item.clone();
        detail_changed.insert("details".into(), json!({"why": "curiosity"}));
        assert_eq!(integrity(&detail_changed), Integrity::Altered);
        let mut removed = item.clone();
        removed.remove("details");
        assert_eq!(integrity(&removed), Integrity::Altered);
    }

    #[test]
    fn a_record_written_before_seals_is_unsealed_not_altered() {
        let mut item = item(&context(), "x.y", "e", Utc::now(), None).unwrap();
        let sk = item[SK].as_str().unwrap().to_owned();
        let unsealed = sk.rsplit_once('#').unwrap().0.to_owned();
        item.insert(SK.into(), json!(unsealed));
        assert_eq!(integrity(&item), Integrity::Unsealed);
    }
}
