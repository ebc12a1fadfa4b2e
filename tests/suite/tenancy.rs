//! Tenant isolation, route by route: a token of clinic B aimed at clinic A's ids gets 404 (or
//! 403) and never a byte of A's data, and A's stored items do not change.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::app::*;

fn body_for(method: &str, path: &str, location_id: &str) -> Option<Value> {
    if method != "POST" && method != "PUT" {
        return None;
    }
    let collection = path.split('/').nth(2).unwrap_or_default();
    Some(match (collection, path.ends_with("/exceptions")) {
        ("practitioners", true) => exception_body(),
        ("locations", _) => location_body("Intruder"),
        ("services", _) => service_body("Intruder service"),
        ("practitioners", _) => practitioner_body(location_id),
        ("resources", _) => resource_body(location_id),
        ("team", _) => json!({"email": "intruder@b.test", "name": "Intruder", "role": "support"}),
        ("brand", _) => json!({"theme": "luxury_noir"}),
        ("templates", _) => template_body("1.0.0"),
        ("documents", _) if path.ends_with("/generate") => generate_body(&mas_shared::ids::ClientId::new().to_string(), "B client"),
        _ => json!({}),
    })
}

#[tokio::test]
async fn another_clinics_token_gets_404_or_403_and_none_of_its_data_on_every_route() {
    let app = spawn_app().await;
    let a = app.sign_up("clinic-a").await;
    let b = app.sign_up("clinic-b").await;

    let (_, location) = app.post("/v1/locations", &a.token, location_body("A-secret-location")).await;
    let location_id = location["id"].as_str().unwrap().to_owned();
    let (_, resource) = app.post("/v1/resources", &a.token, resource_body(&location_id)).await;
    let mut service = service_body("A-secret-service");
    service["required_resources"] = json!([resource["id"]]);
    let (_, service) = app.post("/v1/services", &a.token, service).await;
    let (_, practitioner) = app.post("/v1/practitioners", &a.token, practitioner_body(&location_id)).await;
    let exceptions = format!("/v1/practitioners/{}/exceptions", practitioner["id"].as_str().unwrap());
    let (_, exception) = app.post(&exceptions, &a.token, exception_body()).await;
    let (_, member_id) = app.member_token(&a, "manager").await;
    let (_, template) = app.post("/v1/templates", &a.token, template_body("1.0.0")).await;
    let a_client = mas_shared::ids::ClientId::new();
    let (_, document) = app.post("/v1/documents/generate", &a.token, generate_body(a_client.as_str(), "A-secret-client")).await;
    let document_id = document["id"].as_str().unwrap().to_owned();
    // Let A's PDF render first, so nothing of A's is being written while B probes.
    wait_for_pdf(&app, &a.token, &document_id, "pdf").await;

    let id_of = |collection: &str| -> String {
        match collection {
            "locations" => location_id.clone(),
            "resources" => resource["id"].as_str().unwrap().to_owned(),
            "services" => service["id"].as_str().unwrap().to_owned(),
            "practitioners" => practitioner["id"].as_str().unwrap().to_owned(),
            "team" => member_id.clone(),
            "templates" => template["id"].as_str().unwrap().to_owned(),
            "documents" => document_id.clone(),
            other => panic!("the matrix does not know the collection `{other}`; add it"),
        }
    };
    let secrets: Vec<String> = vec![
        a.tenant_id.to_string(),
        location_id.clone(),
        id_of("resources"),
        id_of("services"),
        id_of("practitioners"),
        exception["id"].as_str().unwrap().to_owned(),
        member_id.clone(),
        "A-secret-location".into(),
        "A-secret-service".into(),
        "owner@clinic-a.test".into(),
        id_of("templates"),
        document_id.clone(),
        "A-secret-client".into(),
    ];

    let partition = mas_shared::ports::Query::partition(mas_shared::keys::tenant_pk(&a.tenant_id));
    let client_partition = mas_shared::ports::Query::partition(mas_shared::keys::client_pk(&a.tenant_id, &a_client));
    let before = app.app.store.table.query_all(&partition).await.unwrap();
    let client_before = app.app.store.table.query_all(&client_partition).await.unwrap();
    let (_, b_location) = app.post("/v1/locations", &b.token, location_body("B location")).await;
    let b_location_id = b_location["id"].as_str().unwrap();

    let mut checked = 0;
    for route in mas_shared::http::route_table().into_iter().filter(|r| !r.public) {
        let aims_at_a = route.path.contains('{');
        let collection = route.path.split('/').nth(2).unwrap_or_default().to_owned();
        let path = route
            .path
            .replace("{id}", &if aims_at_a { id_of(&collection) } else { String::new() })
            .replace("{exception_id}", exception["id"].as_str().unwrap());
        let body = body_for(route.method, &route.path, b_location_id);
        let (status, response) = app.call(route.method, &path, Some(&b.token), body).await;
        let text = response.to_string();
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "{} {path} leaked `{secret}`: {text}", route.method);
        }
        if aims_at_a {
            assert!(
                status == StatusCode::NOT_FOUND || status == StatusCode::FORBIDDEN,
                "{} {path} answered {status} to another clinic: {text}",
                route.method
            );
        } else {
            assert!(status.is_success(), "{} {path} failed for clinic B's own data: {status} {text}", route.method);
        }
        checked += 1;
    }
    assert!(checked >= 39, "only {checked} routes checked");
    let after = app.app.store.table.query_all(&partition).await.unwrap();
    assert_eq!(before, after, "clinic A's items changed");
    let client_after = app.app.store.table.query_all(&client_partition).await.unwrap();
    assert_eq!(client_before, client_after, "clinic A's client file changed");
}
