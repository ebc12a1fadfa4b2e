//! A client's rights over their data, black-box over HTTP: the export holds what was recorded,
//! the erasure shreds the client's key (a stored copy of their ciphertext no longer opens),
//! keeps signed consent under retention, is audited, is refused to anyone but an owner or
//! without the right confirmation, waits for appointments to come, and races by version.

use chrono::Duration;
use mas_domain::documents::Sha256Hex;
use mas_domain::ids::{ClientId, TenantId};
use mas_domain::medical::MedicalAnswers;
use mas_ports::{Clock, Item, Query};
use mas_store::crypto::Sealed;
use mas_store::keys;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::booking::{answers, fixed_app, public_booking, setup, tuesday};
use crate::support::app::*;
use crate::support::pdf;

fn id(body: &Value) -> String {
    body["id"].as_str().unwrap_or_else(|| panic!("no id in {body}")).to_owned()
}

/// A client with an email and a phone; their id.
async fn client(app: &TestApp, clinic: &Clinic, email: &str) -> String {
    let mut body = client_body("Jane", "Shredder", Some(email));
    body["phone"] = json!("+44 7700 900456");
    body["notes"] = json!("prefers afternoons");
    let (status, created) = app.post("/v1/clients", &clinic.token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    id(&created)
}

fn answers_with(allergies: &str) -> Value {
    let mut body = medical_body();
    body["allergies"] = json!(allergies);
    body
}

/// Every item of the client's partition and of the tenant's own partition.
/// The client's partition and the clinic's, less the site's publication record (going live
/// publishes the site in the background, whenever the worker gets to it).
async fn items(app: &TestApp, tenant: &TenantId, client: &str) -> Vec<Item> {
    let client = ClientId::parse(client).unwrap();
    let mut all = app.app.store.table.query_all(&Query::partition(keys::client_pk(tenant, &client))).await.unwrap();
    all.extend(app.app.store.table.query_all(&Query::partition(keys::tenant_pk(tenant))).await.unwrap());
    all.retain(|item| item.get("entity_type").and_then(|t| t.as_str()) != Some("site_publication"));
    all
}

/// The client's partition and their email claim (the team's items change as members are added).
async fn client_items(app: &TestApp, tenant: &TenantId, client: &str) -> Vec<Item> {
    let id = ClientId::parse(client).unwrap();
    let mut all = app.app.store.table.query_all(&Query::partition(keys::client_pk(tenant, &id))).await.unwrap();
    let claims = Query::partition(keys::tenant_pk(tenant)).sk(mas_ports::SortKey::BeginsWith("CLIENT_".into()));
    all.extend(app.app.store.table.query_all(&claims).await.unwrap());
    all
}

/// Generates a consent for the client and waits for its PDF; the document.
async fn document(app: &TestApp, clinic: &Clinic, client: &str) -> Value {
    let (status, document) =
        app.post("/v1/documents/generate", &clinic.token, generate_body(client, "Jane Shredder")).await;
    assert_eq!(status, StatusCode::CREATED, "{document}");
    wait_for_pdf(app, &clinic.token, &id(&document), "pdf").await
}

/// Signs the document through its e-sign link as the client would, and waits for the signed PDF.
async fn sign(app: &TestApp, clinic: &Clinic, document: &str) -> Value {
    let (status, link) = app.post(&format!("/v1/documents/{document}/esign"), &clinic.token, json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{link}");
    let path = link["sign_url"].as_str().unwrap().strip_prefix(&app.base).unwrap().to_owned();
    let body =
        json!({"typed_name": "Jane Shredder", "signature_png": pdf::data_url(&pdf::signature_png()), "agree": true});
    let (status, signed) = app.call("POST", &format!("{path}/sign"), None, Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{signed}");
    wait_for_pdf(app, &clinic.token, document, "signed_pdf").await
}

async fn erase(app: &TestApp, token: &str, client: &str, confirmation: &str) -> (StatusCode, Value) {
    app.post(&format!("/v1/clients/{client}/erase"), token, json!({ "confirmation": confirmation })).await
}

/// The audit records of this month with `action`.
async fn audited(app: &TestApp, clinic: &Clinic, action: &str) -> Vec<Value> {
    let month = app.app.store.clock.now().format("%Y-%m");
    let (status, page) = app.get(&format!("/v1/audit?month={month}&action={action}"), &clinic.token).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn the_export_holds_the_medical_history_submissions_appointments_documents_and_messages_recorded() {
    let (app, _) = fixed_app().await;
    let s = setup(&app, "export-clinic").await;
    let owner = &s.clinic.token;
    let (status, booked) = app
        .call(
            "POST",
            "/v1/public/export-clinic/appointments",
            None,
            Some(public_booking(&s, tuesday(10, 0), "grace@visitors.test", answers())),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{booked}");
    let client = booked["client_id"].as_str().unwrap().to_owned();
    let medical = format!("/v1/clients/{client}/medical");
    assert_eq!(app.put(&medical, owner, answers_with("Latex")).await.0, StatusCode::OK);
    let mut second = answers_with("Latex and penicillin");
    second["medications"] = json!("Metformin");
    assert_eq!(app.put(&medical, owner, second).await.0, StatusCode::OK);
    let generated = document(&app, &s.clinic, &client).await;
    app.settle(&[&s.clinic.tenant_id]).await;

    let (status, export) = app.get(&format!("/v1/clients/{client}/export"), owner).await;
    assert_eq!(status, StatusCode::OK, "{export}");
    assert_eq!(export["format"], "mas-client-export/1");
    assert_eq!(export["client"]["email"], "grace@visitors.test");
    let history: Vec<(u64, &str)> = export["medical_history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["version"].as_u64().unwrap(), r["answers"]["allergies"].as_str().unwrap()))
        .collect();
    assert_eq!(history, [(2, "Latex and penicillin"), (1, "Latex")], "every version, decrypted, newest first");
    assert_eq!(export["medical_history"][0]["answers"]["medications"], "Metformin");
    assert_eq!(export["medical_submissions"].as_array().unwrap().len(), 1, "the answers given with the booking");
    assert_eq!(export["appointments"][0]["id"], booked["id"]);
    assert_eq!(export["appointments"][0]["screening"]["outcome"], "low");
    // The booking brought its own consent and aftercare forms; ours is among them.
    let documents = export["documents"].as_array().unwrap();
    let ours = documents.iter().find(|d| d["id"] == generated["id"]).unwrap_or_else(|| panic!("{export}"));
    assert_eq!(ours["client_name"], "Grace Hopper", "named from the client's record");
    let pdf = &ours["pdfs"][0];
    assert_eq!(pdf["variant"], "generated");
    let (status, bytes) = app.download(pdf["url"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(bytes.starts_with(b"%PDF-"));
    assert_eq!(Sha256Hex::of(&bytes).as_str(), pdf["file_sha256"].as_str().unwrap(), "the file the export describes");
    let messages = export["messages"].as_array().unwrap();
    assert!(!messages.is_empty(), "the booking confirmation: {export}");
    assert!(messages.iter().all(|m| m["client_id"] == json!(client)));
    let timeline: Vec<&str> =
        export["timeline"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    for kind in ["client.created", "appointment.booked", "medical.recorded", "document.generated"] {
        assert!(timeline.contains(&kind), "{kind} in {timeline:?}");
    }
    assert_eq!(export["preferences"]["email"]["transactional"], true);

    let records = audited(&app, &s.clinic, "client.exported").await;
    assert_eq!(records.len(), 1, "every export is audited as a read of health data");
    assert_eq!((records[0]["entity_id"].as_str(), records[0]["role"].as_str()), (Some(client.as_str()), Some("owner")));
    let (manager, _) = app.member_token(&s.clinic, "manager").await;
    assert_eq!(app.get(&format!("/v1/clients/{client}/export"), &manager).await.0, StatusCode::OK);
    for role in ["practitioner", "front_desk", "finance", "support"] {
        let (token, _) = app.member_token(&s.clinic, role).await;
        let (status, body) = app.get(&format!("/v1/clients/{client}/export"), &token).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role}: {body}");
    }
    assert_eq!(audited(&app, &s.clinic, "client.exported").await.len(), 2, "refusals export nothing");
}

#[tokio::test]
async fn erasure_makes_the_client_unreadable_and_a_stored_copy_of_their_ciphertext_undecryptable() {
    let app = spawn_app().await;
    let clinic = app.sign_up("shred").await;
    let t = &clinic.tenant_id;
    let client = client(&app, &clinic, "jane.s@example.org").await;
    let client_id = ClientId::parse(&client).unwrap();
    let (status, _) = app.put(&format!("/v1/clients/{client}/medical"), &clinic.token, answers_with("Latex")).await;
    assert_eq!(status, StatusCode::OK);

    // What a backup, a stream or a stolen export of the table would hold.
    let copy = app.app.store.table.get(&keys::medical(t, &client_id, 1)).await.unwrap().unwrap();
    let sealed: Sealed = serde_json::from_value(copy["answers_sealed"].clone()).unwrap();
    let aad = format!("mas:medical:v1:{t}:{client}:1");
    let keyring = &app.app.keyring;
    let opened: MedicalAnswers =
        keyring.opener(&app.app.store, t, &client_id).open(&sealed, &aad).await.expect("opens before the erasure");
    assert_eq!(opened.allergies.unwrap().as_str(), "Latex");

    let (status, erasure) = erase(&app, &clinic.token, &client, "  JANE.S@example.org ").await;
    assert_eq!(status, StatusCode::OK, "{erasure}");
    assert_eq!(erasure["client_id"], json!(client));
    assert_eq!(erasure["removed"]["data_key"], true);
    assert_eq!(erasure["removed"]["medical_versions"], 1);

    let path = format!("/v1/clients/{client}");
    for route in [path.clone(), format!("{path}/timeline"), format!("{path}/medical"), format!("{path}/export")] {
        let (status, body) = app.get(&route, &clinic.token).await;
        assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::GONE, Some("client_erased")), "{route}");
    }
    let (status, _) = app.patch(&path, &clinic.token, json!({"version": 1, "first_name": "Back"})).await;
    assert_eq!(status, StatusCode::GONE);
    let (status, _) = app.put(&format!("{path}/medical"), &clinic.token, medical_body()).await;
    assert_eq!(status, StatusCode::GONE);
    for q in ["shredder", "jane%40shred.test", "%2B447700900456"] {
        let (_, found) = app.get(&format!("/v1/clients?q={q}"), &clinic.token).await;
        assert_eq!(found["items"], json!([]), "{q}: out of every search");
    }

    // The key is gone, so the copy opens under nothing: not the client's key, not the tenant's.
    assert!(keyring.client_key(&app.app.store, t, &client_id).await.unwrap().is_none());
    let err = keyring.opener(&app.app.store, t, &client_id).open::<MedicalAnswers>(&sealed, &aad).await.unwrap_err();
    assert!(err.to_string().contains("gone"), "{err}");
    let tenant_key = keyring.existing(&app.app.store, t).await.unwrap().unwrap();
    assert!(sealed.open::<MedicalAnswers>(&tenant_key, &aad).is_err());

    // Nothing of hers is left in the table: the tombstone names her by id only.
    let left = serde_json::to_string(&items(&app, t, &client).await).unwrap();
    for personal in ["Jane", "Shredder", "jane.s@example.org", "900456", "afternoons", "answers_sealed"] {
        assert!(!left.contains(personal), "`{personal}` is still stored: {left}");
    }

    let (status, again) = erase(&app, &clinic.token, &client, "anything: there is nothing left to compare").await;
    assert_eq!((status, &again), (StatusCode::OK, &erasure), "a second erasure answers the same record");
    assert_eq!(audited(&app, &clinic, "client.erased").await.len(), 1, "and erases nothing twice");
}

#[tokio::test]
async fn signed_consent_documents_survive_erasure_under_their_retention_and_unsigned_ones_go() {
    let app = spawn_app().await;
    let clinic = app.sign_up("retain").await;
    let client = client(&app, &clinic, "jane@retain.test").await;
    let signed = document(&app, &clinic, &client).await;
    let signed = sign(&app, &clinic, &id(&signed)).await;
    let unsigned = document(&app, &clinic, &client).await;

    let (status, erasure) = erase(&app, &clinic.token, &client, "jane@retain.test").await;
    assert_eq!(status, StatusCode::OK, "{erasure}");
    let retained = erasure["retained_documents"].as_array().unwrap();
    assert_eq!(retained.len(), 1, "{erasure}");
    assert_eq!(retained[0]["document_id"], signed["id"]);
    assert_eq!(retained[0]["retain_until"], signed["retain_until"]);
    let mut blobs: Vec<&str> =
        retained[0]["pdf_blob_keys"].as_array().unwrap().iter().map(|b| b.as_str().unwrap()).collect();
    blobs.sort();
    let mut expected =
        vec![signed["pdf"]["blob_key"].as_str().unwrap(), signed["signed_pdf"]["blob_key"].as_str().unwrap()];
    expected.sort();
    assert_eq!(blobs, expected);
    assert_eq!(erasure["removed"]["unsigned_documents"], 1);
    // Rendered just now, the unsigned PDF is still under its day's lock: left to the sweep.
    assert_eq!(erasure["deleted_pdfs"], json!([]), "{erasure}");
    let scheduled = erasure["scheduled_pdf_deletions"].as_array().unwrap();
    assert_eq!(scheduled.len(), 1, "{erasure}");
    assert_eq!(scheduled[0]["blob_key"], unsigned["pdf"]["blob_key"]);
    assert_eq!(erasure["unreferenced_pdfs"], json!([]), "nothing is left behind for good");
    assert!(erasure["basis"].as_str().unwrap().contains("retain_until"));

    // The signed record is whole: readable by id, its signed PDF downloads and still verifies.
    let (status, kept) = app.get(&format!("/v1/documents/{}", id(&signed)), &clinic.token).await;
    assert_eq!(status, StatusCode::OK, "{kept}");
    assert_eq!((kept["locked"].as_bool(), &kept["signature"]), (Some(true), &signed["signature"]));
    let (status, link) = app.get(&format!("/v1/documents/{}/pdf?variant=signed", id(&signed)), &clinic.token).await;
    assert_eq!(status, StatusCode::OK, "{link}");
    let (status, bytes) = app.download(link["url"].as_str().unwrap()).await;
    assert!(status.is_success() && bytes.starts_with(b"%PDF-"));
    let (status, verified) = app
        .call(
            "GET",
            &format!("/v1/documents/verify?hash={}", signed["signed_pdf"]["stamp"].as_str().unwrap()),
            None,
            None,
        )
        .await;
    assert_eq!((status, verified["valid"].as_bool()), (StatusCode::OK, Some(true)), "{verified}");

    // The unsigned one is gone, and its PDF verifies as nothing of ours.
    let (status, _) = app.get(&format!("/v1/documents/{}", id(&unsigned)), &clinic.token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, verified) = app
        .call("GET", &format!("/v1/documents/verify?hash={}", unsigned["pdf"]["stamp"].as_str().unwrap()), None, None)
        .await;
    assert_eq!(verified["valid"], false, "{verified}");
}

/// The blob store holds a file under `key` (read behind the API: the link routes need a record).
async fn stored(app: &TestApp, key: &Value) -> bool {
    let key = mas_ports::BlobKey::parse(key.as_str().unwrap()).unwrap();
    app.app.blobs.get(&key).await.unwrap().is_some()
}

async fn sweep_now(app: &TestApp) -> Value {
    let (status, report) = app.call("POST", "/local/sweep", None, None).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    report
}

#[tokio::test]
async fn erasure_deletes_unsigned_pdfs_at_once_or_once_their_day_is_over_and_keeps_signed_ones_seven_years() {
    let (app, clock) = fixed_app().await;
    let clinic = app.sign_up("pdf-erase").await;
    let client = client(&app, &clinic, "jane@pdf-erase.test").await;
    let old = document(&app, &clinic, &client).await;
    clock.advance(Duration::days(2));
    let signed = document(&app, &clinic, &client).await;
    let signed = sign(&app, &clinic, &id(&signed)).await;
    let fresh = document(&app, &clinic, &client).await;

    // Signing keeps the PDF the client signed as long as the signed one: seven years from now.
    let seven_years = clock.now() + Duration::days(7 * 365 - 2);
    for pdf in [&signed["pdf"]["blob_key"], &signed["signed_pdf"]["blob_key"]] {
        let key = mas_ports::BlobKey::parse(pdf.as_str().unwrap()).unwrap();
        let until = app.app.blobs.retained_until(&key).await.unwrap().unwrap();
        assert!(until > seven_years, "{pdf} kept until {until}");
    }
    assert_eq!(signed["retain_until"], json!(mas_domain::documents::retain_until(clock.now())), "from signing");

    let (status, erasure) = erase(&app, &clinic.token, &client, "jane@pdf-erase.test").await;
    assert_eq!(status, StatusCode::OK, "{erasure}");
    // Rendered two days ago, its lock is over: deleted now. Rendered today: once its day is over.
    assert_eq!(erasure["deleted_pdfs"], json!([old["pdf"]["blob_key"]]), "{erasure}");
    let scheduled = &erasure["scheduled_pdf_deletions"];
    assert_eq!(scheduled.as_array().map(Vec::len), Some(1), "{erasure}");
    assert_eq!(scheduled[0]["blob_key"], fresh["pdf"]["blob_key"]);
    let after: chrono::DateTime<chrono::Utc> = serde_json::from_value(scheduled[0]["after"].clone()).unwrap();
    assert!(after > clock.now() && after <= clock.now() + Duration::days(1), "{after}");
    assert_eq!(erasure["unreferenced_pdfs"], json!([]));
    assert!(!stored(&app, &old["pdf"]["blob_key"]).await, "the old unsigned PDF is gone");
    assert!(stored(&app, &fresh["pdf"]["blob_key"]).await, "locked for its day");

    // Before its lock has passed, the sweep leaves it.
    assert_eq!(sweep_now(&app).await["pdfs"]["deleted"], 0);
    assert!(stored(&app, &fresh["pdf"]["blob_key"]).await);

    clock.advance(Duration::hours(25));
    assert_eq!(sweep_now(&app).await["pdfs"]["deleted"], 1);
    assert!(!stored(&app, &fresh["pdf"]["blob_key"]).await, "deleted once its day was over");
    let deleted = audited(&app, &clinic, "client.pdf_deleted").await;
    assert_eq!(deleted.len(), 1, "{deleted:?}");
    assert_eq!(deleted[0]["entity_id"], json!(client));
    assert_eq!(deleted[0]["details"]["blob_key"], fresh["pdf"]["blob_key"]);
    assert_eq!(sweep_now(&app).await["pdfs"]["deleted"], 0, "done once");

    // The signed record stays whole for staff, by document id: both PDFs download.
    for variant in ["generated", "signed"] {
        let (status, link) =
            app.get(&format!("/v1/documents/{}/pdf?variant={variant}", id(&signed)), &clinic.token).await;
        assert_eq!(status, StatusCode::OK, "{link}");
        let (status, bytes) = app.download(link["url"].as_str().unwrap()).await;
        assert!(status.is_success() && bytes.starts_with(b"%PDF-"), "{variant}: {status}");
    }
    // A repeat of the erasure answers the same record.
    let (status, again) = erase(&app, &clinic.token, &client, "jane@pdf-erase.test").await;
    assert_eq!((status, &again), (StatusCode::OK, &erasure));
}

#[tokio::test]
async fn an_erasure_is_audited_with_who_when_and_what_was_kept_and_names_nobody() {
    let app = spawn_app().await;
    let clinic = app.sign_up("audited").await;
    let client = client(&app, &clinic, "jane.a@example.org").await;
    app.put(&format!("/v1/clients/{client}/medical"), &clinic.token, answers_with("Latex")).await;
    let (status, erasure) = erase(&app, &clinic.token, &client, "jane.a@example.org").await;
    assert_eq!(status, StatusCode::OK, "{erasure}");

    let records = audited(&app, &clinic, "client.erased").await;
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(record["actor"], json!(clinic.owner_id));
    assert_eq!(record["role"], "owner");
    assert_eq!(record["entity_id"], json!(client));
    assert_eq!(record["details"], erasure, "the record says what was removed, kept and why");
    assert_eq!(record["details"]["erased_by"], json!(clinic.owner_id));
    assert!(!record.to_string().contains("jane.a@example.org") && !record.to_string().contains("Shredder"));
    let started = audited(&app, &clinic, "client.erasure_started").await;
    assert_eq!(started.len(), 1, "the archive that stops new writes before the erasure is recorded too");
}

#[tokio::test]
async fn only_an_owner_may_erase_and_everyone_else_gets_403_with_nothing_changed() {
    let app = spawn_app().await;
    let clinic = app.sign_up("owners-only").await;
    let client = client(&app, &clinic, "jane@owners.test").await;
    let before = client_items(&app, &clinic.tenant_id, &client).await;
    for role in ["manager", "practitioner", "front_desk", "finance", "support"] {
        let (token, _) = app.member_token(&clinic, role).await;
        let (status, body) = erase(&app, &token, &client, "jane@owners.test").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role}: {body}");
        // The role is checked before the body: a malformed one is still 403.
        let (status, _) = app.post(&format!("/v1/clients/{client}/erase"), &token, json!({"nope": 1})).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role}");
    }
    assert_eq!(client_items(&app, &clinic.tenant_id, &client).await, before, "not one item of hers changed");
    assert_eq!(app.get(&format!("/v1/clients/{client}"), &clinic.token).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_wrong_confirmation_answers_422_and_changes_nothing() {
    let app = spawn_app().await;
    let clinic = app.sign_up("confirm").await;
    let client = client(&app, &clinic, "jane@confirm.test").await;
    app.put(&format!("/v1/clients/{client}/medical"), &clinic.token, answers_with("Latex")).await;
    let before = items(&app, &clinic.tenant_id, &client).await;
    for wrong in ["jane@confirm.example", "Jane Shredder", client.as_str(), ""] {
        let (status, body) = erase(&app, &clinic.token, &client, wrong).await;
        assert_eq!(
            (status, body["error"]["code"].as_str(), body["error"]["details"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("confirmation_mismatch"), Some("confirmation")),
            "`{wrong}`: {body}"
        );
    }
    let (status, _) = app.post(&format!("/v1/clients/{client}/erase"), &clinic.token, json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "the confirmation is required");
    assert_eq!(items(&app, &clinic.tenant_id, &client).await, before, "not one item changed");
    let (status, unknown) = erase(&app, &clinic.token, &ClientId::new().to_string(), "jane@confirm.test").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{unknown}");
    let (status, file) = app.get(&format!("/v1/clients/{client}/medical"), &clinic.token).await;
    assert_eq!((status, file["latest"]["answers"]["allergies"].as_str()), (StatusCode::OK, Some("Latex")));
}

#[tokio::test]
async fn erasure_waits_for_appointments_to_come_and_then_keeps_them_for_the_accounts_without_health_data() {
    let (app, clock) = fixed_app().await;
    let s = setup(&app, "waits").await;
    let owner = &s.clinic.token;
    let (status, booked) = app
        .call(
            "POST",
            "/v1/public/waits/appointments",
            None,
            Some(public_booking(&s, tuesday(10, 0), "grace@waits.test", answers())),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{booked}");
    let client = booked["client_id"].as_str().unwrap().to_owned();
    app.settle(&[&s.clinic.tenant_id]).await;
    let before = items(&app, &s.clinic.tenant_id, &client).await;

    let (status, refused) = erase(&app, owner, &client, "grace@waits.test").await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("future_appointments")),
        "{refused}"
    );
    assert_eq!(refused["error"]["details"]["appointment_ids"], json!([booked["id"]]));
    assert_eq!(items(&app, &s.clinic.tenant_id, &client).await, before, "a refusal changes nothing");

    // Once it is over, the erasure goes ahead and the appointment stays, naming the client by id.
    clock.advance(Duration::days(2));
    let (status, erasure) = erase(&app, owner, &client, "grace@waits.test").await;
    assert_eq!(status, StatusCode::OK, "{erasure}");
    assert_eq!(erasure["kept_appointments"], json!([booked["id"]]));
    assert_eq!(erasure["removed"]["medical_submissions"], 1);
    let (status, kept) = app.get(&format!("/v1/appointments/{}", id(&booked)), owner).await;
    assert_eq!(status, StatusCode::OK, "{kept}");
    assert_eq!((&kept["client_id"], &kept["price"]), (&booked["client_id"], &booked["price"]));
    assert!(kept["screening"].is_null(), "the screening outcome is health data: cleared");
    let plan = Query::partition(keys::reminder_plan(&s.clinic.tenant_id, &id(&booked)));
    assert_eq!(app.app.store.table.query_all(&plan).await.unwrap(), Vec::<Item>::new(), "no aftercare to send her");
    let (status, payments) = app.get(&format!("/v1/payments?appointment_id={}", id(&booked)), owner).await;
    assert_eq!(status, StatusCode::OK, "{payments}");
}

#[tokio::test]
async fn an_update_racing_an_erasure_is_decided_by_the_clients_version() {
    let app = spawn_app().await;
    let clinic = app.sign_up("race").await;
    for round in 0..6 {
        let email = format!("jane{round}@race.test");
        let client = client(&app, &clinic, &email).await;
        let path = format!("/v1/clients/{client}");
        let update = app.patch(&path, &clinic.token, json!({"version": 1, "first_name": "Renamed"}));
        let erasure = erase(&app, &clinic.token, &client, &email);
        let ((updated, _), (erased, body)) = tokio::join!(update, erasure);
        let (status, now) = app.get(&path, &clinic.token).await;
        match erased {
            StatusCode::OK => {
                // The update either came first (and was erased with the rest) or met the
                // erasure's version and was refused: never written after it.
                assert!(matches!(updated.as_u16(), 200 | 409 | 410), "round {round}: {updated}");
                assert_eq!(status, StatusCode::GONE);
                let left = serde_json::to_string(&items(&app, &clinic.tenant_id, &client).await).unwrap();
                assert!(!left.contains("Renamed") && !left.contains(&email), "round {round}: {left}");
            }
            StatusCode::CONFLICT => {
                assert_eq!(updated, StatusCode::OK, "round {round}: the erasure lost to the update: {body}");
                assert_eq!((status, now["first_name"].as_str()), (StatusCode::OK, Some("Renamed")));
                let (status, again) = erase(&app, &clinic.token, &client, &email).await;
                assert_eq!(status, StatusCode::OK, "round {round}: asked again, it goes ahead: {again}");
            }
            other => panic!("round {round}: the erasure answered {other}: {body}"),
        }
    }
}

#[tokio::test]
async fn erasure_deletes_the_clients_customer_and_cards_at_the_payment_gateway_once_and_after_it_commits() {
    use crate::payments::{book, clinic, deposit_policy, intent_request, pay};
    let (app, clock) = fixed_app().await;
    let s = clinic(&app, "gateway-erase", deposit_policy()).await;
    let tenant = &s.clinic.tenant_id;
    let kept = book(&app, &s, tuesday(10, 0), 0).await;
    let mut body = intent_request(&s, &kept);
    body["save_payment_method"] = json!(true);
    let (status, intent) = app.call("POST", "/v1/payments/deposit-intent", None, Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{intent}");
    pay(&app, &intent, "succeed").await;
    let client = ClientId::parse(&s.client_id).unwrap();
    let stored = app.app.store.table.get(&keys::stripe_customer(tenant, &client)).await.unwrap().expect("a customer");
    let customer = mas_domain::payment::CustomerId::parse(stored["customer_id"].as_str().unwrap()).unwrap();
    assert!(app.gateway().has_customer(&customer));

    clock.advance(Duration::days(2));
    let (status, erasure) = erase(&app, &s.clinic.token, &s.client_id, "ada.lovelace@clients.test").await;
    assert_eq!(status, StatusCode::OK, "{erasure}");
    assert_eq!(erasure["removed"]["payment_customer"], true, "the record says it goes: {erasure}");
    app.settle(&[tenant]).await;
    assert!(!app.gateway().has_customer(&customer), "deleted at the gateway, with the card kept on it");
    assert_eq!(app.published("client.erased"), 1);
    let deleted = audited(&app, &s.clinic, "client.payment_customer_deleted").await;
    assert_eq!(deleted.len(), 1, "{deleted:?}");
    assert_eq!(deleted[0]["entity_id"], s.client_id.as_str());

    // Asking again, or the worker receiving the event again, deletes nothing more.
    let (status, again) = erase(&app, &s.clinic.token, &s.client_id, "ada.lovelace@clients.test").await;
    assert_eq!((status, &again), (StatusCode::OK, &erasure));
    let event = app.events.published().into_iter().find(|e| e.kind == "client.erased").unwrap();
    assert_eq!(event.payload["payment_customer_id"], customer.as_str(), "ids only: {:?}", event.payload);
    mas_usecases::gdpr::after_erasure(&app.app, &event).await.unwrap();
    app.settle(&[tenant]).await;
    assert_eq!(audited(&app, &s.clinic, "client.payment_customer_deleted").await.len(), 1);
}

#[tokio::test]
async fn the_clients_sign_in_links_portal_sessions_signing_links_and_stored_booking_answers_stop_at_erasure() {
    let (app, clock) = fixed_app().await;
    let s = setup(&app, "tokens-erase").await;
    let tenant = &s.clinic.tenant_id;
    let path = "/v1/public/tokens-erase/appointments";
    let body = public_booking(&s, tuesday(10, 0), "grace@tokens.test", answers());
    let (status, _, booked) =
        app.send_with_headers("POST", path, None, &[("idempotency-key", "grace-books-once")], Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{booked}");
    let client = booked["client_id"].as_str().unwrap().to_owned();
    let client_id = ClientId::parse(&client).unwrap();
    app.settle(&[tenant]).await;

    // A portal session, a sign-in link not used yet, and two signing links (the second replaces
    // the first as the document's latest) of an unsigned document.
    let (token, _) = mas_usecases::portal::issue_link(&app.app, tenant, &client_id).await.unwrap();
    let (spare, _) = mas_usecases::portal::issue_link(&app.app, tenant, &client_id).await.unwrap();
    let session_path = "/v1/public/tokens-erase/portal/session";
    let (status, session) = app.call("POST", session_path, None, Some(json!({"token": token}))).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let session = session["session"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/v1/portal/appointments", &session).await.0, StatusCode::OK);
    let document = document(&app, &s.clinic, &client).await;
    let mut signing = Vec::new();
    for _ in 0..2 {
        let (status, link) =
            app.post(&format!("/v1/documents/{}/esign", id(&document)), &s.clinic.token, json!({})).await;
        assert_eq!(status, StatusCode::CREATED, "{link}");
        signing.push(link["sign_url"].as_str().unwrap().strip_prefix(&app.base).unwrap().to_owned());
    }
    assert_eq!(app.call("GET", &signing[0], None, None).await.0, StatusCode::OK, "a replaced link still opens");
    let idempotency = keys::idempotency(tenant, "grace-books-once");
    assert!(app.app.store.table.get(&idempotency).await.unwrap().is_some());

    clock.advance(Duration::days(2));
    let (status, erasure) = erase(&app, &s.clinic.token, &client, "grace@tokens.test").await;
    assert_eq!(status, StatusCode::OK, "{erasure}");
    assert_eq!(erasure["removed"]["signing_sessions"], 2, "{erasure}");
    assert_eq!(erasure["removed"]["idempotency_records"], 1, "{erasure}");

    let (status, body) = app.call("POST", session_path, None, Some(json!({"token": spare}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a sign-in link sent before signs nobody in: {body}");
    for route in ["/v1/portal/appointments", "/v1/portal/documents", "/v1/portal/preferences", "/v1/portal/receipts"] {
        assert_eq!(app.get(route, &session).await.0, StatusCode::UNAUTHORIZED, "{route}: the session ends with her");
    }
    for link in &signing {
        assert_eq!(app.call("GET", link, None, None).await.0, StatusCode::NOT_FOUND, "{link}");
        assert_eq!(app.call("POST", &format!("{link}/open"), None, Some(json!({}))).await.0, StatusCode::NOT_FOUND);
    }
    assert_eq!(app.app.store.table.get(&idempotency).await.unwrap(), None, "her booking's stored answer is gone");
    let sessions = app
        .app
        .store
        .table
        .query_all(&Query::partition(keys::client_pk(tenant, &client_id)))
        .await
        .unwrap()
        .into_iter()
        .filter(|item| item.get("entity_type").and_then(|v| v.as_str()) != Some("client_erased"))
        .count();
    assert_eq!(sessions, 0, "nothing of hers is left in her partition but the tombstone");
}
