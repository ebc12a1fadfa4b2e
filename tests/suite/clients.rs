//! Black-box tests of clients, their timeline, medical questionnaires (encrypted at rest) and
//! screening, against the real router on loopback (SQLite per test).

use mas_domain::clients::ClientInput;
use mas_domain::ids::{ClientId, RequestId};
use mas_store::AuditContext;
use mas_usecases::clients as ops;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::app::*;

fn id(body: &Value) -> String {
    body["id"].as_str().unwrap_or_else(|| panic!("no id in {body}")).to_owned()
}

fn names(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("not a page: {page}"))
        .iter()
        .map(|c| format!("{} {}", c["first_name"].as_str().unwrap(), c["last_name"].as_str().unwrap()))
        .collect()
}

#[tokio::test]
async fn a_client_is_created_and_found_by_name_prefix_email_and_phone() {
    let app = spawn_app().await;
    let clinic = app.sign_up("glow").await;
    let mut jane = client_body("Jane", "Smith", Some("Jane.Smith@Example.com"));
    jane["phone"] = json!("+44 7700 900123");
    jane["date_of_birth"] = json!("1990-04-21");
    let (status, created) = app.post("/v1/clients", &clinic.token, jane).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert!(id(&created).starts_with("cli_"));
    assert_eq!((created["version"].as_u64(), created["email"].as_str()), (Some(1), Some("jane.smith@example.com")));
    assert_eq!(created["phone"], "+447700900123");
    app.post("/v1/clients", &clinic.token, client_body("Zoë", "Smithson", None)).await;
    app.post("/v1/clients", &clinic.token, client_body("Adam", "Brown", None)).await;

    let (status, got) = app.get(&format!("/v1/clients/{}", id(&created)), &clinic.token).await;
    assert_eq!((status, &got), (StatusCode::OK, &created));
    let search = |q: &str| format!("/v1/clients?q={}", q.replace('+', "%2B").replace(' ', "%20"));
    assert_eq!(names(&app.get(&search("smi"), &clinic.token).await.1), ["Jane Smith", "Zoë Smithson"]);
    assert_eq!(names(&app.get(&search("Smith J"), &clinic.token).await.1), ["Jane Smith"]);
    assert_eq!(names(&app.get(&search("smithson zoe"), &clinic.token).await.1), ["Zoë Smithson"], "accents fold");
    assert_eq!(names(&app.get(&search("JANE.smith@example.com"), &clinic.token).await.1), ["Jane Smith"]);
    assert_eq!(names(&app.get(&search("+44 7700 900123"), &clinic.token).await.1), ["Jane Smith"]);
    assert!(names(&app.get(&search("nobody@example.com"), &clinic.token).await.1).is_empty());
    assert_eq!(names(&app.get("/v1/clients", &clinic.token).await.1), ["Adam Brown", "Jane Smith", "Zoë Smithson"]);
}

#[tokio::test]
async fn a_second_client_with_the_same_email_is_409_naming_the_first_and_nothing_is_stored() {
    let app = spawn_app().await;
    let clinic = app.sign_up("glow").await;
    let (_, first) =
        app.post("/v1/clients", &clinic.token, client_body("Jane", "Smith", Some("jane@example.com"))).await;
    let (status, err) =
        app.post("/v1/clients", &clinic.token, client_body("Janet", "Smyth", Some(" JANE@example.com "))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{err}");
    assert_eq!(err["error"]["code"], "client_exists");
    assert_eq!(err["error"]["details"]["client_id"], first["id"]);
    assert_eq!(names(&app.get("/v1/clients", &clinic.token).await.1), ["Jane Smith"]);
    // Another clinic may have a client with the same email.
    let other = app.sign_up("radiance").await;
    let (status, _) =
        app.post("/v1/clients", &other.token, client_body("Jane", "Smith", Some("jane@example.com"))).await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn concurrent_creates_with_one_email_make_exactly_one_client() {
    let app = spawn_app().await;
    let clinic = app.sign_up("glow").await;
    let attempts = (0..6).map(|i| {
        let body = client_body(&format!("Twin{i}"), "Race", Some("race@example.com"));
        app.post("/v1/clients", &clinic.token, body)
    });
    let results = futures_join_all(attempts).await;
    let created: Vec<&Value> = results.iter().filter(|(s, _)| *s == StatusCode::CREATED).map(|(_, b)| b).collect();
    assert_eq!(created.len(), 1, "{results:?}");
    for (status, body) in results.iter().filter(|(s, _)| *s != StatusCode::CREATED) {
        assert_eq!(*status, StatusCode::CONFLICT, "{body}");
        assert!(
            body["error"]["code"] == "client_exists" && body["error"]["details"]["client_id"] == created[0]["id"]
                || body["error"]["code"] == "concurrent_update",
            "{body}"
        );
    }
}

/// `join_all` without the futures crate: run each on the current task set and collect in order.
pub(crate) async fn futures_join_all<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futures.map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in pinned.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending { std::task::Poll::Pending } else { std::task::Poll::Ready(()) }
    })
    .await;
    outputs.into_iter().map(Option::unwrap).collect()
}

#[tokio::test]
async fn a_patch_with_a_stale_version_is_409_and_changes_nothing() {
    let app = spawn_app().await;
    let clinic = app.sign_up("glow").await;
    let (_, created) = app.post("/v1/clients", &clinic.token, client_body("Jane", "Smith", None)).await;
    let path = format!("/v1/clients/{}", id(&created));
    let (status, updated) = app.patch(&path, &clinic.token, json!({"version": 1, "phone": "+447700900123"})).await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!((updated["version"].as_u64(), updated["first_name"].as_str()), (Some(2), Some("Jane")));

    let (status, err) = app.patch(&path, &clinic.token, json!({"version": 1, "first_name": "Janet"})).await;
    assert_eq!((status, err["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("stale_version")));
    assert_eq!(app.get(&path, &clinic.token).await.1, updated);

    let (status, err) = app.patch(&path, &clinic.token, json!({"version": 2, "first_name": null})).await;
    assert_eq!(
        (status, err["error"]["details"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("first_name"))
    );
    let (status, cleared) = app.patch(&path, &clinic.token, json!({"version": 2, "phone": null})).await;
    assert_eq!((status, cleared["phone"].clone(), cleared["version"].as_u64()), (StatusCode::OK, Value::Null, Some(3)));
    assert!(names(&app.get("/v1/clients?q=%2B447700900123", &clinic.token).await.1).is_empty(), "phone index removed");
}

#[tokio::test]
async fn changing_the_email_moves_its_claim_and_an_email_in_use_is_refused() {
    let app = spawn_app().await;
    let clinic = app.sign_up("glow").await;
    let (_, jane) = app.post("/v1/clients", &clinic.token, client_body("Jane", "Smith", Some("jane@old.test"))).await;
    let (_, adam) =
        app.post("/v1/clients", &clinic.token, client_body("Adam", "Brown", Some("adam@example.com"))).await;
    let jane_path = format!("/v1/clients/{}", id(&jane));
    let (status, moved) = app.patch(&jane_path, &clinic.token, json!({"version": 1, "email": "jane@new.test"})).await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(names(&app.get("/v1/clients?q=jane@new.test", &clinic.token).await.1), ["Jane Smith"]);
    // The old email is free again.
    let (status, _) =
        app.post("/v1/clients", &clinic.token, client_body("Other", "Person", Some("jane@old.test"))).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, err) = app.patch(&jane_path, &clinic.token, json!({"version": 2, "email": "adam@example.com"})).await;
    assert_eq!((status, err["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("client_exists")));
    assert_eq!(err["error"]["details"]["client_id"], adam["id"]);
    assert_eq!(app.get(&jane_path, &clinic.token).await.1["email"], "jane@new.test");
}

#[tokio::test]
async fn the_client_list_pages_in_name_order_and_refuses_bad_cursors_and_limits() {
    let app = spawn_app().await;
    let clinic = app.sign_up("glow").await;
    for last in ["Evans", "Adams", "Davies", "Clark", "Brown"] {
        app.post("/v1/clients", &clinic.token, client_body("Sam", last, None)).await;
    }
    let mut seen = Vec::new();
    let mut path = "/v1/clients?limit=2".to_owned();
    for _ in 0..5 {
        let (status, page) = app.get(&path, &clinic.token).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        seen.extend(names(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/clients?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, ["Sam Adams", "Sam Brown", "Sam Clark", "Sam Davies", "Sam Evans"]);

    for bad in [
        "/v1/clients?cursor=garbage",
        "/v1/clients?limit=0",
        "/v1/clients?limit=101",
        "/v1/clients?limit=x",
        "/v1/clients?q=%21%21",
    ] {
        let (status, err) = app.get(bad, &clinic.token).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {err}");
    }
    // A cursor from another clinic's list does not read this one.
    let other = app.sign_up("radiance").await;
    app.post("/v1/clients", &other.token, client_body("A", "One", None)).await;
    app.post("/v1/clients", &other.token, client_body("B", "Two", None)).await;
    let (_, theirs) = app.get("/v1/clients?limit=1", &other.token).await;
    let cursor = theirs["next_cursor"].as_str().unwrap();
    let (status, _) = app.get(&format!("/v1/clients?cursor={cursor}"), &clinic.token).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_timeline_lists_each_change_newest_first_and_pages() {
    let app = spawn_app().await;
    let clinic = app.sign_up("glow").await;
    let (_, created) = app.post("/v1/clients", &clinic.token, client_body("Jane", "Smith", None)).await;
    let path = format!("/v1/clients/{}", id(&created));
    // Entries sort by time to the millisecond: keep the three changes apart.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    app.patch(&path, &clinic.token, json!({"version": 1, "notes": "Prefers mornings"})).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    app.put(&format!("{path}/medical"), &clinic.token, medical_body()).await;

    let (status, page) = app.get(&format!("{path}/timeline?limit=2"), &clinic.token).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let kinds: Vec<&str> = page["items"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["medical.recorded", "client.updated"]);
    assert_eq!(page["items"][1]["summary"], "Details updated: notes");
    assert!(!page.to_string().contains("Prefers mornings"), "the timeline names fields, not values");
    assert_eq!(page["items"][0]["actor"], clinic.owner_id.as_str());
    let cursor = page["next_cursor"].as_str().expect("a second page");
    let (_, rest) = app.get(&format!("{path}/timeline?limit=2&cursor={cursor}"), &clinic.token).await;
    assert_eq!(rest["items"][0]["kind"], "client.created");
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);

    let month = chrono::Utc::now().format("%Y-%m").to_string();
    let query = mas_ports::Query::partition(mas_store::keys::audit_month_pk(&clinic.tenant_id, &month));
    let audit = app.app.store.table.query_all(&query).await.unwrap();
    let mut actions: Vec<&str> = audit.iter().map(|r| r["action"].as_str().unwrap()).collect();
    actions.sort();
    assert_eq!(
        actions,
        [
            "client.created",
            "client.updated",
            "data_key.created",
            "medical.recorded",
            "tenant.created",
            "tenant.verification_sent",
            "tenant.went_live"
        ]
    );
}

#[tokio::test]
async fn each_medical_save_is_a_new_version_and_the_latest_is_returned() {
    let app = spawn_app().await;
    let clinic = app.sign_up("glow").await;
    let (_, created) = app.post("/v1/clients", &clinic.token, client_body("Jane", "Smith", None)).await;
    let path = format!("/v1/clients/{}/medical", id(&created));
    let (status, empty) = app.get(&path, &clinic.token).await;
    assert_eq!((status, empty), (StatusCode::OK, json!({"latest": null, "versions": [], "submissions": []})));

    let (status, first) = app.put(&path, &clinic.token, medical_body()).await;
    assert_eq!((status, first["version"].as_u64()), (StatusCode::OK, Some(1)), "{first}");
    let mut changed = medical_body();
    changed["anticoagulants"] = json!(true);
    changed["medications"] = json!("Apixaban");
    let (status, second) = app.put(&path, &clinic.token, changed.clone()).await;
    assert_eq!((status, second["version"].as_u64()), (StatusCode::OK, Some(2)), "{second}");

    let (status, file) = app.get(&path, &clinic.token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(file["latest"]["version"], 2);
    let mut expected = changed.clone();
    expected["allergies"] = Value::Null;
    expected["conditions"] = Value::Null;
    assert_eq!(file["latest"]["answers"], expected);
    let versions: Vec<u64> =
        file["versions"].as_array().unwrap().iter().map(|v| v["version"].as_u64().unwrap()).collect();
    assert_eq!(versions, [2, 1]);
    assert_eq!(file["versions"][1]["recorded_by"], clinic.owner_id.as_str());

    let mut unknown = medical_body();
    unknown["smoker"] = json!(true);
    let (status, err) = app.put(&path, &clinic.token, unknown).await;
    assert_eq!((status, err["error"]["details"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("smoker")));
    let mut missing = medical_body();
    missing.as_object_mut().unwrap().remove("bleeding_disorder");
    assert_eq!(app.put(&path, &clinic.token, missing).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.put("/v1/clients/cli_missing/medical", &clinic.token, medical_body()).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn concurrent_medical_saves_never_overwrite_a_version() {
    let app = spawn_app().await;
    let clinic = app.sign_up("glow").await;
    let (_, created) = app.post("/v1/clients", &clinic.token, client_body("Jane", "Smith", None)).await;
    let path = format!("/v1/clients/{}/medical", id(&created));
    let results = futures_join_all((0..6).map(|i| {
        let mut answers = medical_body();
        answers["conditions"] = json!(format!("save {i}"));
        app.put(&path, &clinic.token, answers)
    }))
    .await;
    let saved: Vec<&Value> = results.iter().filter(|(s, _)| *s == StatusCode::OK).map(|(_, b)| b).collect();
    assert!(!saved.is_empty());
    for (status, body) in results.iter().filter(|(s, _)| *s != StatusCode::OK) {
        assert_eq!(
            (*status, body["error"]["code"].as_str()),
            (StatusCode::CONFLICT, Some("concurrent_update")),
            "{body}"
        );
    }
    let (_, file) = app.get(&path, &clinic.token).await;
    let versions = file["versions"].as_array().unwrap();
    assert_eq!(versions.len(), saved.len(), "one stored version per successful save");
    for body in saved {
        let stored = versions.iter().find(|v| v["version"] == body["version"]).expect("its version is listed");
        assert_eq!(stored["recorded_at"], body["recorded_at"], "no save replaced another");
    }
}

#[tokio::test]
async fn front_desk_finance_and_support_get_403_on_medical_data_and_practitioners_do_not() {
    let app = spawn_app().await;
    let clinic = app.sign_up("glow").await;
    let (_, created) = app.post("/v1/clients", &clinic.token, client_body("Jane", "Smith", None)).await;
    let path = format!("/v1/clients/{}/medical", id(&created));
    app.put(&path, &clinic.token, medical_body()).await;
    for role in ["front_desk", "finance", "support"] {
        let (token, _) = app.member_token(&clinic, role).await;
        let (status, body) = app.get(&path, &token).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role} read: {body}");
        assert!(body.get("latest").is_none());
        assert_eq!(app.put(&path, &token, medical_body()).await.0, StatusCode::FORBIDDEN, "{role} write");
    }
    let (front_desk, _) = app.member_token(&clinic, "front_desk").await;
    assert_eq!(app.get(&format!("/v1/clients/{}", id(&created)), &front_desk).await.0, StatusCode::OK);
    assert_eq!(app.post("/v1/clients", &front_desk, client_body("Walk", "In", None)).await.0, StatusCode::CREATED);
    let (support, _) = app.member_token(&clinic, "support").await;
    assert_eq!(app.post("/v1/clients", &support, client_body("No", "Way", None)).await.0, StatusCode::FORBIDDEN);
    // A practitioner reads and writes it once the client is in her care team (shared with her).
    let (practitioner, practitioner_id) = app.member_token(&clinic, "practitioner").await;
    assert_eq!(app.get(&path, &practitioner).await.0, StatusCode::NOT_FOUND, "not in her care team yet");
    let share = format!("/v1/clients/{}/care-team/{practitioner_id}", id(&created));
    assert_eq!(app.put(&share, &clinic.token, json!({})).await.0, StatusCode::OK);
    assert_eq!(app.put(&path, &practitioner, medical_body()).await.0, StatusCode::OK);
    assert_eq!(app.get(&path, &practitioner).await.1["latest"]["version"], 2);
}

#[tokio::test]
async fn medical_answers_are_encrypted_at_rest() {
    let app = spawn_app().await;
    let clinic = app.sign_up("glow").await;
    let (_, created) = app.post("/v1/clients", &clinic.token, client_body("Jane", "Smith", None)).await;
    let mut answers = medical_body();
    answers["pregnant_or_breastfeeding"] = json!(true);
    answers["allergies"] = json!("Latex and penicillin");
    answers["conditions"] = json!("Hashimoto thyroiditis");
    let (status, _) = app.put(&format!("/v1/clients/{}/medical", id(&created)), &clinic.token, answers).await;
    assert_eq!(status, StatusCode::OK);

    let client = ClientId::parse(&id(&created)).unwrap();
    let partition = mas_ports::Query::partition(mas_store::keys::client_pk(&clinic.tenant_id, &client));
    let tenant = mas_ports::Query::partition(mas_store::keys::tenant_pk(&clinic.tenant_id));
    let mut items = app.app.store.table.query_all(&partition).await.unwrap();
    items.extend(app.app.store.table.query_all(&tenant).await.unwrap());
    let stored = serde_json::to_string(&items).unwrap();
    assert!(stored.contains("answers_sealed"), "the medical item is in the client partition");
    for plaintext in ["Latex", "penicillin", "Hashimoto", "pregnant_or_breastfeeding", "anticoagulants"] {
        assert!(!stored.contains(plaintext), "`{plaintext}` is readable at rest");
    }
}

#[tokio::test]
async fn another_clinics_token_gets_404_for_a_client_its_timeline_and_its_medical_file() {
    let app = spawn_app().await;
    let a = app.sign_up("clinic-a").await;
    let b = app.sign_up("clinic-b").await;
    let (_, created) = app.post("/v1/clients", &a.token, client_body("Jane", "Secret", Some("jane@secret.test"))).await;
    let path = format!("/v1/clients/{}", id(&created));
    app.put(&format!("{path}/medical"), &a.token, medical_body()).await;
    for (method, route, body) in [
        ("GET", path.clone(), None),
        ("PATCH", path.clone(), Some(json!({"version": 1, "first_name": "Mallory"}))),
        ("GET", format!("{path}/timeline"), None),
        ("GET", format!("{path}/medical"), None),
        ("PUT", format!("{path}/medical"), Some(medical_body())),
    ] {
        let (status, response) = app.call(method, &route, Some(&b.token), body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {route}: {response}");
        assert!(!response.to_string().contains("Secret"));
    }
    let (_, listed) = app.get("/v1/clients?q=jane@secret.test", &b.token).await;
    assert_eq!(listed["items"], json!([]));
    let (status, _) = app.post("/v1/clients", &b.token, client_body("Jane", "Other", Some("jane@secret.test"))).await;
    assert_eq!(status, StatusCode::CREATED, "emails are unique per clinic, not across clinics");
}

#[tokio::test]
async fn screening_flags_a_lidocaine_allergy_for_lip_filler_and_stores_nothing() {
    let app = spawn_app().await;
    let clinic = app.sign_up("glow").await;
    let mut filler = service_body("Lip filler");
    filler["clinical_tags"] = json!(["injectable", "filler", "lidocaine"]);
    let (status, service) = app.post("/v1/services", &clinic.token, filler).await;
    assert_eq!(status, StatusCode::CREATED, "{service}");
    let mut answers = medical_body();
    answers["lidocaine_allergy"] = json!(true);
    let body = json!({"service_id": service["id"], "answers": answers});
    let (status, assessment) = app.post("/v1/screening/assess", &clinic.token, body).await;
    assert_eq!(status, StatusCode::OK, "{assessment}");
    assert_eq!(assessment["outcome"], "contraindicated");
    assert_eq!(assessment["consultation_required"], true);
    assert_eq!(assessment["flags"][0]["code"], "lidocaine_allergy_with_lidocaine");
    assert_eq!(assessment["rules_version"], mas_domain::screening::RULES_VERSION);

    // Without tags of its own a service takes its category's: injectables → injectable, toxin.
    let (_, toxin) = app.post("/v1/services", &clinic.token, service_body("Anti-wrinkle")).await;
    let (_, assessment) =
        app.post("/v1/screening/assess", &clinic.token, json!({"service_id": toxin["id"], "answers": answers})).await;
    assert_eq!(
        (assessment["outcome"].as_str(), assessment["tags"].clone()),
        (Some("low"), json!(["injectable", "toxin"]))
    );
    let unknown = json!({"service_id": "svc_missing", "answers": medical_body()});
    assert_eq!(app.post("/v1/screening/assess", &clinic.token, unknown).await.0, StatusCode::NOT_FOUND);
    let (support, _) = app.member_token(&clinic, "support").await;
    let request = json!({"service_id": toxin["id"], "answers": medical_body()});
    assert_eq!(app.post("/v1/screening/assess", &support, request).await.0, StatusCode::FORBIDDEN);
}

fn booking_audit(tenant: &mas_domain::ids::TenantId) -> AuditContext {
    AuditContext { tenant_id: tenant.clone(), actor: "client".into(), role: None, request_id: RequestId::new() }
}

fn details(first: &str, email: Option<&str>) -> ClientInput {
    serde_json::from_value(client_body(first, "Booker", email)).unwrap()
}

#[tokio::test]
async fn a_public_booking_uses_an_existing_email_as_stored_and_plans_a_new_client_without_writing_it() {
    let app = spawn_app().await;
    let clinic = app.sign_up("glow").await;
    let (_, existing) =
        app.post("/v1/clients", &clinic.token, client_body("Jane", "Smith", Some("jane@example.com"))).await;
    let store = &app.app.store;
    let audit = booking_audit(&clinic.tenant_id);

    let (resolved, plan) =
        ops::for_public_booking(store, &audit, details("Mallory", Some("JANE@example.com"))).await.unwrap();
    assert_eq!(resolved.as_str(), id(&existing));
    assert!(plan.is_none(), "nothing to write for an existing client");
    let stored = ops::get(store, &clinic.tenant_id, &resolved).await.unwrap();
    assert_eq!((stored.data.first_name.as_str(), stored.version), ("Jane", 1), "an anonymous caller changed nothing");

    let (new, plan) = ops::for_public_booking(store, &audit, details("Nina", Some("nina@example.com"))).await.unwrap();
    assert!(plan.is_some_and(|p| !p.is_empty()), "a new client is planned");
    assert!(ops::get(store, &clinic.tenant_id, &new).await.is_err(), "and not written until the booking commits");

    let err = ops::for_public_booking(store, &audit, details("Anon", None)).await.unwrap_err();
    assert!(matches!(err, ops::ClientError::EmailRequired), "{err:?}");
    let answered = mas_domain::error::AppError::from(err);
    assert!(matches!(answered, mas_domain::error::AppError::Invalid { code: "email_required", .. }), "{answered:?}");
    let unknown = ops::get(store, &clinic.tenant_id, &ClientId::new()).await.unwrap_err();
    assert!(matches!(unknown, ops::ClientError::NotFound));
    assert!(matches!(unknown.into(), mas_domain::error::AppError::NotFound { what: "client" }));
}

#[tokio::test]
async fn two_first_bookings_with_one_email_at_once_make_one_client() {
    use crate::booking::{answers, fixed_app, public_booking, setup, tuesday};
    let (app, _) = fixed_app().await;
    let s = setup(&app, "twins").await;
    let path = "/v1/public/twins/appointments";
    let results = futures_join_all((0..5).map(|i| {
        app.call("POST", path, None, Some(public_booking(&s, tuesday(10 + i, 0), "twins@example.com", answers())))
    }))
    .await;
    let mut clients = std::collections::BTreeSet::new();
    for (status, body) in results {
        assert_eq!(status, StatusCode::CREATED, "{body}");
        clients.insert(body["client_id"].as_str().unwrap().to_owned());
    }
    assert_eq!(clients.len(), 1, "{clients:?}");
    let found = app.get("/v1/clients?q=twins@example.com", &s.clinic.token).await.1;
    assert_eq!(names(&found).len(), 1, "{found}");
}
