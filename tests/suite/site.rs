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
    let landing = mas_http::serve_site::file(&app.app, "glow", "index.html").await;
    let service = mas_http::serve_site::file(&app.app, "glow", "service-profhilo.html").await;

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
    assert_eq!(mas_http::serve_site::file(&app.app, "nobody", "index.html").await.status(), 404);
    assert_eq!(mas_http::serve_site::file(&app.app, "glow", "../secrets").await.status(), 404);
}

#[test]
fn site_routes_are_not_api_routes() {
    assert!(mas_http::route_table().iter().all(|r| !r.path.starts_with("/sites")));
}

mod publish {
    use std::sync::Arc;
    use std::time::Duration;

    use mas_domain::ids::PublishId;
    use mas_embedded::InProcessEvents;
    use mas_embedded::SqliteTable;
    use mas_ports::LogCdn;
    use mas_ports::SystemClock;
    use mas_usecases::site::{self, PublishRequest, Published};
    use reqwest::StatusCode;
    use serde_json::json;

    use crate::support::app::{TestApp, serve};

    /// The test host with a CDN whose invalidations the test reads back.
    async fn app_with_cdn() -> (TestApp, Arc<LogCdn>) {
        let dir = tempfile::tempdir().unwrap();
        let table = Arc::new(SqliteTable::open(&dir.path().join("table.sqlite3")).unwrap());
        let events = Arc::new(InProcessEvents::new());
        let cdn = Arc::new(LogCdn::new());
        let (app, gateway) = crate::support::app::test_parts(table, Arc::new(SystemClock));
        let app = app.with_events(events.clone()).with_cdn(cdn.clone());
        (serve(app, gateway, events, dir).await, cdn)
    }

    #[tokio::test]
    async fn publishing_the_demo_clinic_writes_every_page_under_its_slug_and_a_second_publish_changes_nothing() {
        // GIVEN the demo clinic
        let (app, cdn) = app_with_cdn().await;
        // (seeded through a store whose `site.changed` events no worker hears, so that the
        // publish below is the first)
        let quiet = mas_store::Store::new(app.app.store.table.clone(), app.app.store.clock.clone());
        let demo = mas_usecases::demo::seed(&quiet, "sites.test").await.unwrap();
        let request = PublishRequest { tenant_id: demo.tenant_id.clone(), publish_id: PublishId::new() };

        // WHEN its site is published
        let first = site::publish(&app.app, &request).await.unwrap();

        // THEN every file the local host would serve is in the sites store, byte for byte, the
        // version is recorded and the CDN was asked to drop the clinic's prefix once
        let Published::New(publication) = &first else { panic!("the first publish writes: {first:?}") };
        assert_eq!(publication.version, 1);
        assert_eq!(publication.prefix, "sites/demo-clinic/");
        let catalog =
            mas_usecases::public_catalog::load(&app.app, &mas_domain::values::Slug::parse("demo-clinic").unwrap())
                .await
                .unwrap();
        let files = mas_site::render(&catalog, &Default::default());
        let names: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        for page in [
            "index.html",
            "services.html",
            "book.html",
            "portal/index.html",
            "privacy.html",
            "terms.html",
            "site.css",
            "site.js",
        ] {
            assert!(names.contains(&page), "{page} is not rendered: {names:?}");
        }
        assert_eq!(
            names.iter().filter(|n| n.starts_with("service-")).count(),
            catalog.services.len(),
            "one page per service"
        );
        for file in &files {
            let key = mas_store::keys::site_file(&catalog.clinic.slug, &file.path).unwrap();
            let stored = app.app.site_blobs().get(&key).await.unwrap();
            assert_eq!(
                stored.as_deref(),
                Some(file.body.as_bytes()),
                "{} differs from what the host serves",
                file.path
            );
            // And the local host serves the same bytes for it.
            let served = mas_http::serve_site::file(&app.app, "demo-clinic", &file.path).await;
            let served = axum::body::to_bytes(served.into_body(), 1 << 22).await.unwrap();
            assert_eq!(served.as_ref(), file.body.as_bytes(), "{}", file.path);
        }
        assert_eq!(publication.files.len(), files.len());
        assert_eq!(cdn.requests().len(), 1);
        assert_eq!(cdn.requests()[0].0, vec!["/sites/demo-clinic/*".to_owned()]);

        // WHEN it is published again with nothing changed (a redelivered message, or a second request)
        let again = site::publish(
            &app.app,
            &PublishRequest { tenant_id: demo.tenant_id.clone(), publish_id: PublishId::new() },
        )
        .await
        .unwrap();

        // THEN nothing is written or invalidated and the version stays
        let Published::Unchanged(same) = again else { panic!("a repeat publish changes nothing: {again:?}") };
        assert_eq!(same, *publication);
        assert_eq!(cdn.requests().len(), 1, "no second invalidation");
    }

    #[tokio::test]
    async fn post_site_publish_answers_202_and_the_worker_publishes_a_brand_change_as_a_new_version() {
        // GIVEN a clinic that has just gone live (going live publishes version 1) and a
        // front-desk member
        let (app, cdn) = app_with_cdn().await;
        let clinic = app.sign_up("glow").await;
        let (front_desk, _) = app.member_token(&clinic, "front_desk").await;
        let first = wait_for_version(&app, &clinic.tenant_id, 1).await;

        // WHEN front desk asks for a publish THEN it is refused; the owner's is queued, and
        // the worker finds the site as it is (still version 1, nothing invalidated again)
        let (status, _) = app.call("POST", "/v1/site/publish", Some(&front_desk), None).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, accepted) = app.call("POST", "/v1/site/publish", Some(&clinic.token), None).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
        assert!(accepted["publish_id"].as_str().unwrap().starts_with("pub_"));
        let request = PublishRequest {
            tenant_id: clinic.tenant_id.clone(),
            publish_id: mas_domain::ids::PublishId::parse(accepted["publish_id"].as_str().unwrap()).unwrap(),
        };
        assert!(matches!(site::publish(&app.app, &request).await.unwrap(), Published::Unchanged(_)));
        assert_eq!(cdn.requests().len(), 1);

        // WHEN the brand changes THEN `site.changed` is announced, the bus routes it to the
        // publisher (as template.yaml's rule does), and the site is version 2
        let (status, _) = app.put("/v1/brand", &clinic.token, json!({"theme": "luxury_noir"})).await;
        assert_eq!(status, StatusCode::OK);
        let changed: Vec<_> = app
            .events
            .published()
            .into_iter()
            .filter(|e| e.kind == site::SITE_CHANGED && e.payload["reason"] == "brand")
            .collect();
        assert_eq!(changed.len(), 1);
        let second = wait_for_version(&app, &clinic.tenant_id, 2).await;
        let envelope = json!({"source": "mas", "detail-type": "site.changed", "detail": changed[0]});
        assert_eq!(PublishRequest::from_message(&envelope).unwrap().tenant_id, clinic.tenant_id);
        assert_ne!(second.content_hash, first.content_hash);
        assert_eq!(cdn.requests().len(), 2);
        // A redelivery of the same event is the same publish, and changes nothing.
        let repeat = mas_functions::site_publish::handle(&app.app, &envelope).await.unwrap();
        assert!(matches!(repeat, Published::Unchanged(_)));
    }

    async fn wait_for_version(app: &TestApp, tenant: &mas_domain::ids::TenantId, version: u64) -> site::Publication {
        for _ in 0..100 {
            if let Some(p) = site::publication(&app.app, tenant).await.unwrap()
                && p.version >= version
            {
                return p;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the site never reached version {version}");
    }
}

#[tokio::test]
async fn the_local_bus_routes_site_changed_to_the_site_publish_queue_as_eventbridge_would() {
    use std::sync::Arc;

    use mas_embedded::ChannelQueue;
    use mas_embedded::InProcessEvents;
    use mas_ports::{DomainEvent, Events, QueueName};
    use mas_usecases::routing::RoutedEvents;

    let (queue, mut receiver) = ChannelQueue::new();
    let bus = RoutedEvents::new(Arc::new(InProcessEvents::new()), Arc::new(queue));
    let tenant = mas_domain::ids::TenantId::parse("ten_a").unwrap();
    let changed = DomainEvent::new(&tenant, "site.changed", "req_1", chrono::Utc::now(), json!({"reason": "brand"}));
    bus.publish(std::slice::from_ref(&changed)).await.unwrap();
    let (name, body) = receiver.try_recv().unwrap();
    assert_eq!(name, QueueName::SitePublish);
    assert_eq!(body["detail-type"], "site.changed");
    assert_eq!(mas_usecases::site::PublishRequest::from_message(&body).unwrap().tenant_id, tenant);
    assert!(receiver.try_recv().is_err(), "sent once, to one queue");
}
