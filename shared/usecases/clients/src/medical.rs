//! Clients' medical questionnaires: every save is a new version (`MED#v{n}`, put with
//! not-exists, so of two saves racing for version n one wins and the other is a 409), and the
//! answers are sealed with the client's own data key before the item reaches the table (versions
//! sealed earlier under the tenant's key still open: each names its key). The
//! associated data names tenant, client and version, so a sealed answer copied to another
//! client, version or tenant does not open.

use serde::{Deserialize, Serialize};

use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::{ClientId, TenantId};
use mas_domain::medical::{MedicalAnswers, MedicalFile, MedicalRecord, MedicalSubmission, MedicalVersion};
use mas_ports::{Item, Query, SortKey, Write};
use mas_store::crypto::{KeyScope, Keyring, Sealed};
use mas_store::keys;
use mas_store::{AuditContext, Plan, Store, TimelineEntry, from_item, to_item};

use crate::clients;

/// A version as stored: who and when in clear, the answers sealed.
#[derive(Serialize, Deserialize)]
struct StoredVersion {
    client_id: ClientId,
    #[serde(flatten)]
    meta: MedicalVersion,
    answers_sealed: Sealed,
}

/// What a sealed questionnaire is bound to.
fn associated_data(tenant: &TenantId, client: &ClientId, version: u32) -> String {
    format!("mas:medical:v1:{tenant}:{client}:{version}")
}

fn versions_query(tenant: &TenantId, client: &ClientId) -> Query {
    Query::partition(keys::client_pk(tenant, client)).sk(SortKey::BeginsWith(keys::MEDICAL_PREFIX.into())).descending()
}

async fn open(store: &Store, keyring: &Keyring, tenant: &TenantId, stored: StoredVersion) -> AppResult<MedicalRecord> {
    let aad = associated_data(tenant, &stored.client_id, stored.meta.version);
    let answers = keyring.opener(store, tenant, &stored.client_id).open(&stored.answers_sealed, &aad).await?;
    Ok(MedicalRecord { client_id: stored.client_id, meta: stored.meta, answers })
}

/// Every version of the client's questionnaire, decrypted, newest first (for the client's
/// export: what the clinic recorded and when).
pub async fn history(
    store: &Store,
    keyring: &Keyring,
    tenant: &TenantId,
    client: &ClientId,
) -> AppResult<Vec<MedicalRecord>> {
    let items = store.table.query_all(&versions_query(tenant, client)).await?;
    let mut opener = keyring.opener(store, tenant, client);
    let mut records = Vec::with_capacity(items.len());
    for item in items {
        let stored: StoredVersion = from_item(item)?;
        let aad = associated_data(tenant, client, stored.meta.version);
        let answers = opener.open(&stored.answers_sealed, &aad).await?;
        records.push(MedicalRecord { client_id: stored.client_id, meta: stored.meta, answers });
    }
    Ok(records)
}

/// What the not-exists put of a client's new data key failing means: another first write for
/// the same client made one at the same moment.
fn client_key_taken() -> AppError {
    AppError::contention("the client's data key was made at the same moment by another change; try again")
}

/// Records a new version of the client's questionnaire (the previous ones stay).
pub async fn record(
    store: &Store,
    keyring: &Keyring,
    audit: &AuditContext,
    client: &ClientId,
    answers: MedicalAnswers,
) -> AppResult<MedicalRecord> {
    let tenant = &audit.tenant_id;
    clients::get(store, tenant, client).await?;
    let latest = store.table.query(&versions_query(tenant, client).limit(1)).await?.items.into_iter().next();
    let version = match latest {
        Some(item) => from_item::<StoredVersion>(item)?.meta.version + 1,
        None => 1,
    };
    let (key, new_key) = keyring.client_key_for_writing(store, audit, client).await?;
    let now = store.clock.now();
    let meta = MedicalVersion { version, recorded_at: now, recorded_by: audit.actor.clone() };
    let sealed = Sealed::seal(&key, KeyScope::Client, &associated_data(tenant, client, version), &answers)?;
    let stored = StoredVersion { client_id: client.clone(), meta: meta.clone(), answers_sealed: sealed };
    let item: Item = to_item(&keys::medical(tenant, client, version), "medical", &stored)?;
    let mut plan = Plan::new();
    plan.push(
        Write::put_new(item),
        AppError::contention("another version of the questionnaire was saved at the same moment; reload and try again"),
    );
    if let Some(write) = new_key {
        plan.push(write, client_key_taken());
    }
    plan.push(clients::live_check(tenant, client), AppError::NotFound { what: "client" });
    let summary = format!("Medical questionnaire recorded (version {version})");
    let entry = TimelineEntry::new(client, now, "medical.recorded", summary, None, &audit.actor);
    plan.push(entry.write(tenant)?, AppError::conflict("id_taken", "an id clash; try again"));
    plan.commit(store, audit, "medical.recorded", client.as_str()).await?;
    Ok(MedicalRecord { client_id: client.clone(), meta, answers })
}

/// The latest version of the client's questionnaire, decrypted; `None` if never recorded.
/// (For booking: screen a treatment against what the client last declared.)
pub async fn latest(
    store: &Store,
    keyring: &Keyring,
    tenant: &TenantId,
    client: &ClientId,
) -> AppResult<Option<MedicalRecord>> {
    clients::get(store, tenant, client).await?;
    let page = store.table.query(&versions_query(tenant, client).limit(1)).await?;
    match page.items.into_iter().next() {
        Some(item) => Ok(Some(open(store, keyring, tenant, from_item(item)?).await?)),
        None => Ok(None),
    }
}

/// The latest answers, decrypted, and who recorded each version when.
pub async fn file(store: &Store, keyring: &Keyring, tenant: &TenantId, client: &ClientId) -> AppResult<MedicalFile> {
    clients::get(store, tenant, client).await?;
    let stored: Vec<StoredVersion> = store
        .table
        .query_all(&versions_query(tenant, client))
        .await?
        .into_iter()
        .map(from_item)
        .collect::<AppResult<_>>()?;
    let versions = stored.iter().map(|s| s.meta.clone()).collect();
    let latest = match stored.into_iter().next() {
        Some(newest) => Some(open(store, keyring, tenant, newest).await?),
        None => None,
    };
    let submissions = submissions(store, keyring, tenant, client).await?;
    Ok(MedicalFile { latest, versions, submissions })
}

/// Answers a visitor submitted, as stored: when in clear, the answers sealed.
#[derive(Serialize, Deserialize)]
struct StoredSubmission {
    client_id: ClientId,
    id: String,
    submitted_at: chrono::DateTime<chrono::Utc>,
    answers_sealed: Sealed,
}

fn submission_associated_data(tenant: &TenantId, client: &ClientId, id: &str) -> String {
    format!("mas:medical-submission:v1:{tenant}:{client}:{id}")
}

/// The writes that keep screening answers a visitor gave online as a submission for clinician
/// review (sealed like versions), for the caller's transaction: the booking that carries them.
/// Nothing is written here (but the tenant's data key, the first time one is needed); the
/// client's data key, when they have none yet, is one of the plan's writes.
pub async fn submission_plan(
    store: &Store,
    keyring: &Keyring,
    audit: &AuditContext,
    client: &ClientId,
    answers: &MedicalAnswers,
) -> AppResult<Plan> {
    let tenant = &audit.tenant_id;
    let (key, new_key) = keyring.client_key_for_writing(store, audit, client).await?;
    let now = store.clock.now();
    let id = ulid::Ulid::new().to_string().to_lowercase();
    let sealed = Sealed::seal(&key, KeyScope::Client, &submission_associated_data(tenant, client, &id), answers)?;
    let stored =
        StoredSubmission { client_id: client.clone(), id: id.clone(), submitted_at: now, answers_sealed: sealed };
    let mut plan = Plan::new();
    if let Some(write) = new_key {
        plan.push(write, client_key_taken());
    }
    let id_clash = || AppError::conflict("id_taken", "an id clash; try again");
    plan.push(
        Write::put_new(to_item(&keys::medical_submission(tenant, client, now, &id), "medical_submission", &stored)?),
        id_clash(),
    );
    let summary = "Screening answers submitted online, for clinician review";
    let entry = TimelineEntry::new(client, now, "medical.submitted", summary, None, &audit.actor);
    plan.push(entry.write(tenant)?, id_clash());
    Ok(plan)
}

/// A client's online submissions, decrypted, newest first.
pub async fn submissions(
    store: &Store,
    keyring: &Keyring,
    tenant: &TenantId,
    client: &ClientId,
) -> AppResult<Vec<MedicalSubmission>> {
    let query = Query::partition(keys::client_pk(tenant, client))
        .sk(SortKey::BeginsWith(keys::MEDICAL_SUBMISSION_PREFIX.into()))
        .descending();
    let items = store.table.query_all(&query).await?;
    let mut opener = keyring.opener(store, tenant, client);
    let mut submissions = Vec::with_capacity(items.len());
    for item in items {
        let stored: StoredSubmission = from_item(item)?;
        let aad = submission_associated_data(tenant, client, &stored.id);
        let answers = opener.open(&stored.answers_sealed, &aad).await?;
        submissions.push(MedicalSubmission { id: stored.id, submitted_at: stored.submitted_at, answers });
    }
    Ok(submissions)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use mas_domain::ids::RequestId;
    use mas_embedded::LocalKeyWrapper;
    use mas_embedded::SqliteTable;
    use mas_ports::SystemClock;

    struct Fixture {
        store: Store,
        keyring: Keyring,
        audit: AuditContext,
        _dir: tempfile::TempDir,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let table = SqliteTable::open(&dir.path().join("t.sqlite3")).unwrap();
        let store = Store::new(Arc::new(table), Arc::new(SystemClock));
        let audit = AuditContext {
            tenant_id: TenantId::parse("ten_a").unwrap(),
            actor: "mem_1".into(),
            role: None,
            request_id: RequestId::new(),
        };
        Fixture { store, keyring: Keyring::new(Arc::new(LocalKeyWrapper::dev())), audit, _dir: dir }
    }

    async fn client(f: &Fixture, name: &str) -> ClientId {
        let input = serde_json::from_value(json!({"first_name": name, "last_name": "Test"})).unwrap();
        clients::create(&f.store, &f.audit, input).await.unwrap().id
    }

    fn answers() -> MedicalAnswers {
        serde_json::from_value(json!({
            "pregnant_or_breastfeeding": false, "anticoagulants": true, "bleeding_disorder": false,
            "lidocaine_allergy": false, "isotretinoin_last_6_months": false,
            "active_skin_infection_at_site": false, "autoimmune_disease": false,
            "medications": "Warfarin 5mg daily", "allergies": "Penicillin"
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn the_stored_item_holds_no_plaintext_answer_and_reads_back_decrypted() {
        let f = fixture();
        let id = client(&f, "Ada").await;
        assert!(
            f.store.table.get(&keys::data_key(&f.audit.tenant_id)).await.unwrap().is_none(),
            "no key before first use"
        );
        record(&f.store, &f.keyring, &f.audit, &id, answers()).await.unwrap();

        let raw = f.store.table.get(&keys::medical(&f.audit.tenant_id, &id, 1)).await.unwrap().unwrap();
        let text = serde_json::to_string(&raw).unwrap();
        for plaintext in ["Warfarin", "Penicillin", "anticoagulants", "pregnant_or_breastfeeding", "lidocaine_allergy"]
        {
            assert!(!text.contains(plaintext), "`{plaintext}` is readable in the stored item: {text}");
        }
        let wrapped_key = f.store.table.get(&keys::data_key(&f.audit.tenant_id)).await.unwrap().unwrap();
        assert_eq!(wrapped_key["scheme"], "local");

        // A fresh keyring (a cold start) unwraps the stored key and opens the answers.
        let cold = Keyring::new(Arc::new(LocalKeyWrapper::dev()));
        let file = file(&f.store, &cold, &f.audit.tenant_id, &id).await.unwrap();
        assert_eq!(file.latest.unwrap().answers, answers());
    }

    #[tokio::test]
    async fn a_sealed_questionnaire_moved_to_another_client_does_not_open() {
        let f = fixture();
        let (ada, eve) = (client(&f, "Ada").await, client(&f, "Eve").await);
        record(&f.store, &f.keyring, &f.audit, &ada, answers()).await.unwrap();
        record(&f.store, &f.keyring, &f.audit, &eve, answers()).await.unwrap();
        let t = &f.audit.tenant_id;
        let mut moved = f.store.table.get(&keys::medical(t, &ada, 1)).await.unwrap().unwrap();
        let target = keys::medical(t, &eve, 1);
        moved.insert("PK".into(), target.pk.into());
        moved.insert("client_id".into(), json!(eve));
        f.store.table.transact(vec![Write::put(moved)]).await.unwrap();
        let err = file(&f.store, &f.keyring, t, &eve).await.unwrap_err();
        assert!(matches!(err, AppError::Internal(ref why) if why.contains("authentication")), "{err:?}");
    }

    #[tokio::test]
    async fn another_key_encryption_key_cannot_unwrap_the_tenants_data_key() {
        let f = fixture();
        let id = client(&f, "Ada").await;
        record(&f.store, &f.keyring, &f.audit, &id, answers()).await.unwrap();
        let other = Keyring::new(Arc::new(LocalKeyWrapper::new(mas_ports::DataKey::from_slice(&[9; 32]).unwrap())));
        assert!(file(&f.store, &other, &f.audit.tenant_id, &id).await.is_err());
    }

    #[tokio::test]
    async fn each_save_is_a_new_version_and_the_file_lists_them_newest_first() {
        let f = fixture();
        let id = client(&f, "Ada").await;
        record(&f.store, &f.keyring, &f.audit, &id, answers()).await.unwrap();
        let mut second = answers();
        second.anticoagulants = false;
        record(&f.store, &f.keyring, &f.audit, &id, second.clone()).await.unwrap();
        let file = file(&f.store, &f.keyring, &f.audit.tenant_id, &id).await.unwrap();
        assert_eq!(file.versions.iter().map(|v| v.version).collect::<Vec<_>>(), [2, 1]);
        assert_eq!(file.latest.unwrap().answers, second);
        let missing = ClientId::new();
        let err = record(&f.store, &f.keyring, &f.audit, &missing, answers()).await.unwrap_err();
        assert!(matches!(err, AppError::NotFound { what: "client" }));
    }

    #[tokio::test]
    async fn a_version_sealed_under_the_tenants_key_before_client_keys_still_opens_beside_newer_ones() {
        let f = fixture();
        let id = client(&f, "Ada").await;
        let t = &f.audit.tenant_id;
        // Version 1 exactly as it was stored before client keys: sealed under the tenant's key,
        // with no `key` in the envelope.
        let tenant_key = f.keyring.for_writing(&f.store, &f.audit).await.unwrap();
        let sealed = Sealed::seal(&tenant_key, KeyScope::Tenant, &associated_data(t, &id, 1), &answers()).unwrap();
        let meta = MedicalVersion { version: 1, recorded_at: f.store.clock.now(), recorded_by: "mem_1".into() };
        let old = StoredVersion { client_id: id.clone(), meta, answers_sealed: sealed };
        let item = to_item(&keys::medical(t, &id, 1), "medical", &old).unwrap();
        assert!(item["answers_sealed"].get("key").is_none(), "the old envelope names no key");
        f.store.table.transact(vec![Write::put_new(item)]).await.unwrap();

        let mut second = answers();
        second.anticoagulants = false;
        record(&f.store, &f.keyring, &f.audit, &id, second.clone()).await.unwrap();
        let stored = f.store.table.get(&keys::medical(t, &id, 2)).await.unwrap().unwrap();
        assert_eq!(stored["answers_sealed"]["key"], "client", "new versions go under the client's key");
        let all = history(&f.store, &f.keyring, t, &id).await.unwrap();
        assert_eq!(
            all.iter().map(|r| (r.meta.version, r.answers.clone())).collect::<Vec<_>>(),
            [(2, second), (1, answers())]
        );
    }

    #[tokio::test]
    async fn each_client_has_their_own_key_and_without_it_only_their_answers_stop_opening() {
        let f = fixture();
        let (ada, eve) = (client(&f, "Ada").await, client(&f, "Eve").await);
        let t = &f.audit.tenant_id;
        assert!(
            f.store.table.get(&keys::client_data_key(t, &ada)).await.unwrap().is_none(),
            "made with the first sealed value"
        );
        record(&f.store, &f.keyring, &f.audit, &ada, answers()).await.unwrap();
        record(&f.store, &f.keyring, &f.audit, &eve, answers()).await.unwrap();
        let ada_key = f.keyring.client_key(&f.store, t, &ada).await.unwrap().unwrap();
        let eve_key = f.keyring.client_key(&f.store, t, &eve).await.unwrap().unwrap();
        assert_ne!(ada_key.as_bytes(), eve_key.as_bytes());
        let wrapped = f.store.table.get(&keys::client_data_key(t, &ada)).await.unwrap().unwrap();
        assert!(!serde_json::to_string(&wrapped).unwrap().contains(&hex::encode(ada_key.as_bytes())));

        f.store.table.transact(vec![Write::delete(keys::client_data_key(t, &ada))]).await.unwrap();
        let err = file(&f.store, &f.keyring, t, &ada).await.unwrap_err();
        assert!(matches!(err, AppError::Internal(ref why) if why.contains("gone")), "{err:?}");
        // The tenant's key does not open it either: it was never sealed under it.
        let raw: StoredVersion =
            from_item(f.store.table.get(&keys::medical(t, &ada, 1)).await.unwrap().unwrap()).unwrap();
        let tenant_key = f.keyring.existing(&f.store, t).await.unwrap().unwrap();
        assert!(raw.answers_sealed.open::<MedicalAnswers>(&tenant_key, &associated_data(t, &ada, 1)).is_err());
        assert_eq!(file(&f.store, &f.keyring, t, &eve).await.unwrap().latest.unwrap().answers, answers());
    }
}
