//! Black-box tests of the HTTP API against the real router on loopback (SQLite per test).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::app::*;

#[tokio::test]
async fn health_answers_200_without_a_token() {
    let app = spawn_app().await;
    let (status, body) = app.call("GET", "/health", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
}

/// A generic record (`Record<ClientId, ClientInput>`) written through a type alias (`Client`)
/// loses its type arguments in the derive, and its schema came out as a bare `Record`: another
/// record's (a service's), so a client's data export was validated as a service. Every record's
/// schema is named by its types, and every reference resolves.
#[tokio::test]
async fn every_record_in_the_openapi_document_is_named_by_its_types_and_every_reference_resolves() {
    let app = spawn_app().await;
    let (_, doc) = app.call("GET", "/openapi.json", None, None).await;
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    assert!(!schemas.contains_key("Record"), "a bare `Record` schema: {}", schemas["Record"]);
    let text = doc.to_string();
    for reference in text.split("\"#/components/schemas/").skip(1) {
        let name = reference.split('"').next().unwrap();
        assert!(schemas.contains_key(name), "a reference to {name}, which the document does not define");
    }
}

#[tokio::test]
async fn the_openapi_document_is_3_1_and_describes_every_route() {
    let app = spawn_app().await;
    let (status, doc) = app.call("GET", "/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    let routes = mas_http::route_table();
    for route in &routes {
        let operation = &doc["paths"][&route.path][route.method.to_lowercase()];
        assert!(operation.is_object(), "{} {} missing from the document", route.method, route.path);
        assert!(operation["responses"].is_object(), "{} {} has no responses", route.method, route.path);
    }
    let mut operation_ids = std::collections::BTreeSet::new();
    for route in &routes {
        let id = doc["paths"][&route.path][route.method.to_lowercase()]["operationId"].as_str().unwrap().to_owned();
        assert!(operation_ids.insert(id.clone()), "operationId {id} is used twice");
    }
    assert!(routes.len() >= 35, "expected the whole issue-2 API, found {} routes", routes.len());
    assert!(doc["components"]["securitySchemes"]["staff_jwt"].is_object());
    for route in routes.iter().filter(|r| !r.public) {
        let responses = &doc["paths"][&route.path][route.method.to_lowercase()]["responses"];
        assert!(responses["401"].is_object(), "{} {} does not document 401", route.method, route.path);
    }
}

/// The schema a `$ref` (or an array of them) points at, by component name.
fn component<'a>(doc: &'a Value, schema: &Value) -> (&'a str, &'a Value) {
    let reference = schema["$ref"].as_str().or(schema["items"]["$ref"].as_str()).unwrap_or_else(|| panic!("{schema}"));
    let name = reference.strip_prefix("#/components/schemas/").unwrap();
    let (name, schema) = doc["components"]["schemas"].as_object().unwrap().get_key_value(name).unwrap();
    (name.as_str(), schema)
}

#[test]
fn each_record_is_documented_as_itself_its_input_fields_and_its_own() {
    let doc = serde_json::to_value(mas_http::openapi()).unwrap();
    let writes = [
        ("post", "/v1/locations", "201"),
        ("post", "/v1/services", "201"),
        ("post", "/v1/practitioners", "201"),
        ("post", "/v1/resources", "201"),
        ("post", "/v1/clients", "201"),
        ("post", "/v1/team", "201"),
        ("put", "/v1/brand", "200"),
        ("put", "/v1/policies", "201"),
    ];
    let mut records = std::collections::BTreeSet::new();
    for (method, path, status) in writes {
        let operation = &doc["paths"][path][method];
        let (input_name, input) = component(&doc, &operation["requestBody"]["content"]["application/json"]["schema"]);
        let (record_name, record) =
            component(&doc, &operation["responses"][status]["content"]["application/json"]["schema"]);
        assert!(records.insert(record_name), "{method} {path} answers {record_name}, as another route does");
        assert!(record.get("allOf").is_none(), "{record_name} is written as parts: {record}");
        let fields = record["properties"].as_object().unwrap();
        for field in input["properties"].as_object().unwrap().keys().map(String::as_str).chain(["version"]) {
            assert!(fields.contains_key(field), "{record_name} ({method} {path}) lacks {input_name}'s `{field}`");
        }
        let (list_name, _) = match method {
            "post" => {
                component(&doc, &doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"])
            }
            _ => (record_name, record),
        };
        if path != "/v1/clients" {
            assert_eq!(list_name, record_name, "GET {path} lists what POST answers");
        }
    }
    assert!(!serde_json::to_string(&doc).unwrap().contains("allOf"), "a flattened struct is still written as parts");
}

#[tokio::test]
async fn a_clinic_signs_up_and_its_owner_token_reads_me() {
    let app = spawn_app().await;
    let clinic = app.sign_up("glow").await;
    let (status, me) = app.get("/v1/me", &clinic.token).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["tenant"]["slug"], "glow");
    assert_eq!(me["member"]["role"], "owner");
    assert!(me["permissions"].as_array().unwrap().contains(&json!("payments_write")));
}

#[tokio::test]
async fn a_taken_clinic_slug_is_refused_with_409_and_nothing_is_created() {
    let app = spawn_app().await;
    app.sign_up("glow").await;
    let body = json!({"name": "Other", "slug": "glow", "owner": {"email": "x@other.test", "name": "X"}});
    let (status, err) = app.call("POST", "/v1/tenants", None, Some(body)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(err["error"]["code"], "slug_taken");
}

#[tokio::test]
async fn requests_without_or_with_a_forged_token_are_401() {
    let app = spawn_app().await;
    let clinic = app.sign_up("glow").await;
    let (status, err) = app.call("GET", "/v1/locations", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(err["error"]["code"], "unauthenticated");
    assert_eq!(err["error"].get("details"), None, "an error with nothing more to say has no details: {err}");
    let forged = format!("{}x", clinic.token);
    assert_eq!(app.get("/v1/locations", &forged).await.0, StatusCode::UNAUTHORIZED);
    let other_secret = mas_usecases::tokens::LocalIssuer::new(b"another-secret-another-secret-12");
    let me: mas_domain::team::Member =
        serde_json::from_value(app.get("/v1/me", &clinic.token).await.1["member"].clone()).unwrap();
    let claims = mas_usecases::tokens::StaffClaims::for_member(&clinic.tenant_id, &me);
    let foreign = other_secret.issue(&claims, chrono::Utc::now());
    assert_eq!(app.get("/v1/me", &foreign).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn malformed_json_is_400_unknown_fields_422_and_neither_stores_anything() {
    let app = spawn_app().await;
    let clinic = app.sign_up("glow").await;
    let (status, err) =
        app.raw("POST", "/v1/locations", Some(&clinic.token), "application/json", b"{\"name\": ".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["code"], "malformed_json");

    let mut body = location_body("Soho");
    body["colour"] = json!("red");
    let (status, err) = app.post("/v1/locations", &clinic.token, body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["details"]["field"], "colour");

    let mut body = location_body("Soho");
    body["address"]["flat"] = json!("2");
    let (status, err) = app.post("/v1/locations", &clinic.token, body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["details"]["field"], "address.flat");

    let (status, err) = app.raw("POST", "/v1/locations", Some(&clinic.token), "text/plain", b"{}".to_vec()).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{err}");
    let (_, listed) = app.get("/v1/locations", &clinic.token).await;
    assert_eq!(listed, json!([]));
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let app = spawn_app().await;
    let clinic = app.sign_up("glow").await;
    let mut body = location_body("Soho");
    body["padding"] = json!("x".repeat(70 * 1024));
    let bytes = serde_json::to_vec(&body).unwrap();
    let (status, err) = app.raw("POST", "/v1/locations", Some(&clinic.token), "application/json", bytes).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(err["error"]["code"], "body_too_large");
}

#[tokio::test]
async fn bad_values_are_422_naming_the_field() {
    let app = spawn_app().await;
    let clinic = app.sign_up("glow").await;
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "/v1/locations",
            {
                let mut b = location_body("X");
                b["timezone"] = json!("Europe/Atlantis");
                b
            },
            "timezone",
        ),
        (
            "/v1/locations",
            {
                let mut b = location_body("X");
                b["opening_hours"] = json!([{"day": "monday", "start": "09:00", "end": "13:00"},
                                        {"day": "monday", "start": "12:00", "end": "17:00"}]);
                b
            },
            "opening_hours[1]",
        ),
        (
            "/v1/services",
            {
                let mut b = service_body("Xeomin");
                b["duration_minutes"] = json!(-30);
                b
            },
            "duration_minutes",
        ),
        (
            "/v1/services",
            {
                let mut b = service_body("Xeomin");
                b["price"] = json!({"amount_minor": -100});
                b
            },
            "price.amount_minor",
        ),
        (
            "/v1/services",
            {
                let mut b = service_body("Xeomin");
                b["price"] = json!({"amount_minor": 10.5});
                b
            },
            "price.amount_minor",
        ),
        (
            "/v1/services",
            {
                let mut b = service_body("Xeomin");
                b["required_resources"] = json!(["res_missing"]);
                b
            },
            "required_resources[0]",
        ),
        ("/v1/practitioners", practitioner_body("loc_missing"), "working_rules[0].location_id"),
        (
            "/v1/resources",
            {
                let mut b = resource_body("loc_x");
                b["capacity"] = json!(0);
                b
            },
            "capacity",
        ),
    ];
    for (path, body, field) in cases {
        let (status, err) = app.post(path, &clinic.token, body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path} {field}: {err}");
        assert_eq!(err["error"]["details"]["field"], field, "{path}: {err}");
    }
    for path in ["/v1/locations", "/v1/services", "/v1/practitioners", "/v1/resources"] {
        assert_eq!(app.get(path, &clinic.token).await.1, json!([]), "{path} stored something");
    }
}

#[tokio::test]
async fn service_slugs_are_unique_per_tenant_and_freed_by_renaming() {
    let app = spawn_app().await;
    let clinic = app.sign_up("glow").await;
    let (status, first) = app.post("/v1/services", &clinic.token, service_body("Lip filler")).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(first["slug"], "lip-filler");
    let (status, err) = app.post("/v1/services", &clinic.token, service_body("Lip Filler")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(err["error"]["code"], "slug_taken");

    let mut renamed = service_body("Lip filler");
    renamed["slug"] = json!("lip-filler-1ml");
    let path = format!("/v1/services/{}", first["id"].as_str().unwrap());
    let (status, updated) = app.put(&path, &clinic.token, renamed).await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["version"], 2);
    let (status, _) = app.post("/v1/services", &clinic.token, service_body("Lip filler")).await;
    assert_eq!(status, StatusCode::CREATED, "the old slug was released");
    // Another clinic may use the same slug.
    let other = app.sign_up("radiance").await;
    assert_eq!(app.post("/v1/services", &other.token, service_body("Lip filler")).await.0, StatusCode::CREATED);
}

#[tokio::test]
async fn a_location_in_use_cannot_be_archived_and_an_archived_one_cannot_be_referenced() {
    let app = spawn_app().await;
    let clinic = app.sign_up("glow").await;
    let (_, location) = app.post("/v1/locations", &clinic.token, location_body("Soho")).await;
    let location_id = location["id"].as_str().unwrap();
    let (status, _) = app.post("/v1/resources", &clinic.token, resource_body(location_id)).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, err) = app.delete(&format!("/v1/locations/{location_id}"), &clinic.token).await;
    assert_eq!(status, StatusCode::CONFLICT, "{err}");
    assert_eq!(err["error"]["code"], "in_use");

    let (_, spare) = app.post("/v1/locations", &clinic.token, location_body("Spare")).await;
    let spare_id = spare["id"].as_str().unwrap();
    let (status, archived) = app.delete(&format!("/v1/locations/{spare_id}"), &clinic.token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(archived["archived"], true);
    let (status, err) = app.post("/v1/resources", &clinic.token, resource_body(spare_id)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["code"], "unknown_reference");
    let (_, listed) = app.get("/v1/locations", &clinic.token).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let (_, all) = app.get("/v1/locations?include_archived=true", &clinic.token).await;
    assert_eq!(all.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn practitioner_exceptions_are_added_listed_and_removed() {
    let app = spawn_app().await;
    let clinic = app.sign_up("glow").await;
    let (_, location) = app.post("/v1/locations", &clinic.token, location_body("Soho")).await;
    let (status, practitioner) =
        app.post("/v1/practitioners", &clinic.token, practitioner_body(location["id"].as_str().unwrap())).await;
    assert_eq!(status, StatusCode::CREATED, "{practitioner}");
    let base = format!("/v1/practitioners/{}/exceptions", practitioner["id"].as_str().unwrap());
    let (status, exception) = app.post(&base, &clinic.token, exception_body()).await;
    assert_eq!(status, StatusCode::CREATED, "{exception}");
    let (_, listed) = app.get(&base, &clinic.token).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let extra = json!({"kind": "extra_hours", "starts_at": "2026-12-05T09:00:00Z", "ends_at": "2026-12-05T13:00:00Z"});
    let (status, err) = app.post(&base, &clinic.token, extra).await;
    assert_eq!((status, err["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("location_required")));
    let path = format!("{base}/{}", exception["id"].as_str().unwrap());
    assert_eq!(app.delete(&path, &clinic.token).await.0, StatusCode::NO_CONTENT);
    assert_eq!(app.delete(&path, &clinic.token).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn roles_get_403_for_what_the_matrix_denies() {
    let app = spawn_app().await;
    let clinic = app.sign_up("glow").await;
    let (front_desk, _) = app.member_token(&clinic, "front_desk").await;
    let (support, _) = app.member_token(&clinic, "support").await;
    let (manager, _) = app.member_token(&clinic, "manager").await;
    let (practitioner, _) = app.member_token(&clinic, "practitioner").await;

    assert_eq!(app.post("/v1/services", &front_desk, service_body("Anti-wrinkle")).await.0, StatusCode::FORBIDDEN);
    assert_eq!(app.post("/v1/services", &practitioner, service_body("Anti-wrinkle")).await.0, StatusCode::FORBIDDEN);
    assert_eq!(app.put("/v1/brand", &support, json!({})).await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        app.post("/v1/team", &support, json!({"email": "s@x.test", "name": "S", "role": "support"})).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.get("/v1/services", &support).await.0, StatusCode::OK, "support may read");
    assert_eq!(app.post("/v1/services", &manager, service_body("Anti-wrinkle")).await.0, StatusCode::CREATED);
    let (status, err) =
        app.post("/v1/team", &manager, json!({"email": "o2@x.test", "name": "O", "role": "owner"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only owners make owners: {err}");
}

#[tokio::test]
async fn removing_a_member_revokes_their_token_and_the_last_owner_stays() {
    let app = spawn_app().await;
    let clinic = app.sign_up("glow").await;
    let (manager, manager_id) = app.member_token(&clinic, "manager").await;
    assert_eq!(app.get("/v1/me", &manager).await.0, StatusCode::OK);
    assert_eq!(app.delete(&format!("/v1/team/{manager_id}"), &clinic.token).await.0, StatusCode::NO_CONTENT);
    assert_eq!(app.get("/v1/me", &manager).await.0, StatusCode::UNAUTHORIZED);

    let (status, err) = app.delete(&format!("/v1/team/{}", clinic.owner_id), &clinic.token).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(err["error"]["code"], "last_owner");
    let duplicate = json!({"email": "owner@glow.test", "name": "Again", "role": "support"});
    let (status, err) = app.post("/v1/team", &clinic.token, duplicate).await;
    assert_eq!((status, err["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("email_taken")));
}

#[tokio::test]
async fn the_brand_refuses_unreadable_colours_and_a_subdomain_another_clinic_holds() {
    let app = spawn_app().await;
    let glow = app.sign_up("glow").await;
    let radiance = app.sign_up("radiance").await;
    let (status, brand) =
        app.put("/v1/brand", &glow.token, json!({"theme": "luxury_noir", "subdomain": "glowing"})).await;
    assert_eq!(status, StatusCode::OK, "{brand}");
    assert_eq!(brand["tokens"]["background"], "#0f0f10");
    let (status, err) = app.put("/v1/brand", &radiance.token, json!({"subdomain": "glowing"})).await;
    assert_eq!((status, err["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("host_taken")));
    let pale = json!({"overrides": {"text": "#eeeeee"}});
    let (status, err) = app.put("/v1/brand", &radiance.token, pale).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("insufficient_contrast"))
    );
    // Glow moves to a new subdomain; the old one is free for Radiance.
    assert_eq!(app.put("/v1/brand", &glow.token, json!({"subdomain": "glow-soho"})).await.0, StatusCode::OK);
    assert_eq!(app.put("/v1/brand", &radiance.token, json!({"subdomain": "glowing"})).await.0, StatusCode::OK);
}

#[tokio::test]
async fn the_public_catalog_shows_active_services_and_no_private_data() {
    let app = spawn_app().await;
    let clinic = app.sign_up("glow").await;
    let (_, location) = app.post("/v1/locations", &clinic.token, location_body("Soho")).await;
    app.post("/v1/practitioners", &clinic.token, practitioner_body(location["id"].as_str().unwrap())).await;
    app.post("/v1/services", &clinic.token, service_body("Lip filler")).await;
    let mut hidden = service_body("Secret menu");
    hidden["active"] = json!(false);
    app.post("/v1/services", &clinic.token, hidden).await;

    let (status, catalog) = app.call("GET", "/v1/public/glow/catalog", None, None).await;
    assert_eq!(status, StatusCode::OK, "{catalog}");
    let names: Vec<&str> =
        catalog["services"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["Lip filler"]);
    assert_eq!(catalog["practitioners"][0]["display_name"], "Dr Test");
    let text = catalog.to_string();
    assert!(!text.contains("dr@private.test") && !text.contains("owner@glow.test") && !text.contains("working_rules"));
    assert_eq!(app.call("GET", "/v1/public/nobody/catalog", None, None).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn every_mutation_leaves_an_audit_record_with_actor_and_request_id() {
    let app = spawn_app().await;
    let clinic = app.sign_up("glow").await;
    let (_, location) = app.post("/v1/locations", &clinic.token, location_body("Soho")).await;
    let id = location["id"].as_str().unwrap();
    app.put(&format!("/v1/locations/{id}"), &clinic.token, location_body("Soho Square")).await;
    app.delete(&format!("/v1/locations/{id}"), &clinic.token).await;
    // A refused change leaves no record.
    app.post("/v1/locations", &clinic.token, json!({"name": "x"})).await;

    let month = chrono::Utc::now().format("%Y-%m").to_string();
    let query = mas_ports::Query::partition(mas_store::keys::audit_month_pk(&clinic.tenant_id, &month));
    let records = app.app.store.table.query_all(&query).await.unwrap();
    let actions: Vec<&str> = records.iter().map(|r| r["action"].as_str().unwrap()).collect();
    let signup = ["tenant.created", "tenant.verification_sent", "tenant.went_live"];
    let changes = ["location.created", "location.updated", "location.archived"];
    assert_eq!(actions, [&signup[..], &changes[..]].concat());
    for record in &records[signup.len()..] {
        assert_eq!(record["actor"], clinic.owner_id.as_str());
        assert_eq!(record["role"], "owner");
        assert!(record["request_id"].as_str().unwrap().starts_with("req_"));
        assert_eq!(record["entity_id"], id);
    }
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_the_error_envelope() {
    let app = spawn_app().await;
    let (status, err) = app.call("GET", "/v1/nothing-here", None, None).await;
    assert_eq!((status, err["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("route_not_found")));
    let (status, err) = app.call("PATCH", "/health", None, None).await;
    assert_eq!((status, err["error"]["code"].as_str()), (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed")));
}
