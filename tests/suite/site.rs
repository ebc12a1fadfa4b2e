//! Tenant sites: rendered from the live catalog, served outside the API's route table.

use axum::body::to_bytes;
use serde_json::json;

use crate::support::app::{service_body, spawn_app};

#[tokio::test]
async fn a_clinic_site_is_rendered_from_its_current_catalog() {
    // GIVEN a clinic with a service
    let app = spawn_app().await;
    let clinic = app.sign_up("glow").await;
    let mut body = service_body("Profhilo <glow>");
    body["slug"] = json!("profhilo");
    let (status, created) = app.post("/v1/services", &clinic.token, body).await;
    assert_eq!(status, 201, "{created}");

    // WHEN its landing page and the service's page are asked for
    let landing = mas_shared::site::serve::file(&app.app, "glow", "index.html").await;
    let service = mas_shared::site::serve::file(&app.app, "glow", "service-profhilo.html").await;

    // THEN both show the service, escaped
    assert_eq!(landing.status(), 200);
    let landing = String::from_utf8(to_bytes(landing.into_body(), 1 << 20).await.unwrap().to_vec()).unwrap();
    assert!(landing.contains("Profhilo &lt;glow&gt;"), "{landing}");
    assert_eq!(service.status(), 200);
}

#[tokio::test]
async fn an_unknown_clinic_or_page_is_not_found() {
    let app = spawn_app().await;
    app.sign_up("glow").await;
    assert_eq!(mas_shared::site::serve::file(&app.app, "nobody", "index.html").await.status(), 404);
    assert_eq!(mas_shared::site::serve::file(&app.app, "glow", "../secrets").await.status(), 404);
}

#[test]
fn site_routes_are_not_api_routes() {
    assert!(mas_shared::http::route_table().iter().all(|r| !r.path.starts_with("/sites")));
}
