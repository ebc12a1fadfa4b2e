//! Reviews, black-box over HTTP: a completed visit sends its client one review request with a
//! one-time link; she reviews it under her first name and initial (never her full name); the link
//! used again is refused and changes nothing; a forged, foreign or expired link opens nothing;
//! the clinic publishes (the site shows it, with schema.org markup), answers and takes it down;
//! a redelivered completion sends nothing twice; a clinic may turn requests off. And the race:
//! one link submitted many times at once makes one review (on SQLite and on DynamoDB).

use std::sync::Arc;

use chrono::Duration;
use mas_ports::{Clock, DomainEvent, FixedClock};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::booking::{Setup, booking, fixed_app, now, setup, tuesday};
use crate::support::app::*;

const ADA: &str = "ada.lovelace@clients.test";

/// Books Ada at `h`:00 on Tuesday and takes the visit to `completed`; the appointment's id.
async fn complete_visit(app: &TestApp, s: &Setup, clock: &FixedClock, h: u32) -> String {
    let t = &s.clinic.token;
    let (status, appt) = app.post("/v1/appointments", t, booking(s, &s.service_id, tuesday(h, 0), None)).await;
    assert_eq!(status, StatusCode::CREATED, "{appt}");
    let path = format!("/v1/appointments/{}", appt["id"].as_str().unwrap());
    clock.set(tuesday(h, 0) - Duration::minutes(10));
    for action in ["check_in", "start", "complete"] {
        let (status, body) = app.patch(&path, t, json!({ "action": action })).await;
        assert_eq!(status, StatusCode::OK, "{action}: {body}");
    }
    app.settle(&[&s.clinic.tenant_id]).await;
    appt["id"].as_str().unwrap().to_owned()
}

/// The review emails sent to `to`, newest first.
async fn review_mails(app: &TestApp, to: &str) -> Vec<Value> {
    let (_, outbox) = app.call("GET", "/local/outbox.json", None, None).await;
    let all = outbox.as_array().unwrap().clone();
    all.into_iter()
        .filter(|m| m["to"] == to && m["text"].as_str().unwrap_or_default().contains("review.html#review="))
        .collect()
}

/// The token of the newest review link emailed to `to` (waiting for the worker up to 20 s: on
/// DynamoDB it takes its time).
async fn review_token(app: &TestApp, to: &str) -> String {
    for _ in 0..200 {
        if !review_mails(app, to).await.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let link = app.emailed_link(to, "#review=").await;
    link.split("#review=").nth(1).unwrap().to_owned()
}

async fn submit(app: &TestApp, slug: &str, body: Value) -> (StatusCode, Value) {
    app.call("POST", &format!("/v1/public/{slug}/reviews"), None, Some(body)).await
}

async fn reviews(app: &TestApp, s: &Setup, status: &str) -> Vec<Value> {
    let (code, body) = app.get(&format!("/v1/reviews?status={status}"), &s.clinic.token).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    body.as_array().unwrap().clone()
}

/// The site's home page as the local host serves it (rendered from what is stored now, with the
/// same renderer the publisher uploads).
async fn home_page(app: &TestApp, s: &Setup) -> String {
    let page = mas_http::serve_site::file(&app.app, &s.clinic.slug, "index.html").await;
    assert_eq!(page.status(), StatusCode::OK);
    let bytes = axum::body::to_bytes(page.into_body(), usize::MAX).await.unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// The version of the clinic's published site (the publish worker's record).
async fn published_version(app: &TestApp, s: &Setup) -> u64 {
    mas_usecases::site::publication(&app.app, &s.clinic.tenant_id).await.unwrap().map_or(0, |p| p.version)
}

/// Waits (up to 10 s) for the publish worker to publish a version after `version`.
async fn published_after(app: &TestApp, s: &Setup, version: u64) -> bool {
    for _ in 0..100 {
        if published_version(app, s).await > version {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    false
}

fn json_ld(page: &str) -> Option<Value> {
    let open = r#"<script type="application/ld+json">"#;
    let start = page.find(open)? + open.len();
    let end = start + page[start..].find("</script>")?;
    Some(serde_json::from_str(&page[start..end]).expect("the JSON-LD parses"))
}

#[tokio::test]
async fn a_completed_visit_is_reviewed_once_from_its_link_and_shown_on_the_site_once_the_clinic_publishes_it() {
    let (app, clock) = fixed_app().await;
    let s = setup(&app, "reviews-flow").await;
    let slug = s.clinic.slug.clone();
    let visit = complete_visit(&app, &s, &clock, 10).await;
    let mails = review_mails(&app, ADA).await;
    assert_eq!(mails.len(), 1, "one request: {mails:?}");
    assert!(mails[0]["subject"].as_str().unwrap().contains("How was your Anti-wrinkle"), "{}", mails[0]);
    let token = review_token(&app, ADA).await;

    // Her full name is refused as the name shown, and that refusal spends nothing.
    let mut body = json!({"token": token, "rating": 5, "text": "Calm, kind </script><b>and</b> precise.", "display_name": "Ada Lovelace"});
    let (status, refused) = submit(&app, &slug, body.clone()).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("full_name_shown"))
    );
    let (status, _) = submit(&app, &slug, json!({"token": token, "rating": 6, "text": "x"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    body.as_object_mut().unwrap().remove("display_name");
    let (status, sent) = submit(&app, &slug, body).await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    assert_eq!(sent, json!({"rating": 5, "display_name": "Ada L.", "status": "pending"}));

    // The link used again is refused, and the review stays as she first wrote it.
    let again = json!({"token": token, "rating": 1, "text": "Changed my mind", "display_name": "Someone"});
    let (status, used) = submit(&app, &slug, again).await;
    assert_eq!((status, used["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("link_used")), "{used}");
    let pending = reviews(&app, &s, "pending").await;
    assert_eq!(pending.len(), 1);
    assert_eq!((pending[0]["id"].as_str(), pending[0]["rating"].as_u64()), (Some(visit.as_str()), Some(5)));
    assert_eq!(pending[0]["text"], "Calm, kind </script><b>and</b> precise.");
    assert_eq!(pending[0]["service_name"], "Anti-wrinkle");
    // Not on the site before the clinic publishes it.
    assert!(!home_page(&app, &s).await.contains("Calm, kind"));

    // Only owners and managers moderate: the front desk is refused before its body is read.
    let (desk, _) = app.member_token(&s.clinic, "front_desk").await;
    assert_eq!(app.get("/v1/reviews", &desk).await.0, StatusCode::FORBIDDEN);
    let reply_path = format!("/v1/reviews/{visit}/reply");
    assert_eq!(app.put(&reply_path, &desk, json!({"nonsense": true})).await.0, StatusCode::FORBIDDEN);
    assert_eq!(app.post(&format!("/v1/reviews/{visit}/publish"), &desk, json!({})).await.0, StatusCode::FORBIDDEN);

    let changes = app.published("site.changed");
    app.settle(&[&s.clinic.tenant_id]).await;
    let version = published_version(&app, &s).await;
    let (status, published) = app.post(&format!("/v1/reviews/{visit}/publish"), &s.clinic.token, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{published}");
    assert_eq!(
        (published["status"].as_str(), published["moderated_by"].as_str()),
        (Some("published"), Some(s.clinic.owner_id.as_str()))
    );
    assert_eq!(app.published("site.changed"), changes + 1, "publishing republishes the site");
    let (status, replied) = app.put(&reply_path, &s.clinic.token, json!({"text": "Thank you, Ada & team <3"})).await;
    assert_eq!(status, StatusCode::OK, "{replied}");
    app.settle(&[&s.clinic.tenant_id]).await;
    assert_eq!(app.published("site.changed"), changes + 2, "a reply to a published review republishes");
    assert!(published_after(&app, &s, version).await, "the publish worker published the site again");

    let page = home_page(&app, &s).await;
    assert!(page.contains("Calm, kind &lt;/script&gt;&lt;b&gt;and&lt;/b&gt; precise."), "{page}");
    assert!(page.contains("Ada L.") && !page.contains("Lovelace"));
    assert!(page.contains("Thank you, Ada &amp; team &lt;3"));
    let ld = json_ld(&page).expect("schema.org markup");
    assert_eq!((ld["@type"].as_str(), ld["name"].as_str()), (Some("MedicalBusiness"), Some("Clinic reviews-flow")));
    assert_eq!(
        ld["aggregateRating"],
        json!({"@type": "AggregateRating", "ratingValue": 5.0, "reviewCount": 1, "bestRating": 5, "worstRating": 1})
    );
    assert_eq!(ld["review"][0]["author"], json!({"@type": "Person", "name": "Ada L."}));
    assert_eq!(ld["review"][0]["reviewBody"], "Calm, kind </script><b>and</b> precise.");
    assert_eq!(ld["review"][0]["reviewRating"]["ratingValue"], 5);
    assert_eq!(ld["review"][0]["datePublished"], "2027-03-02");

    // Taken down: off the site, and the site published again.
    let (status, down) = app.post(&format!("/v1/reviews/{visit}/reject"), &s.clinic.token, json!({})).await;
    assert_eq!((status, down["status"].as_str()), (StatusCode::OK, Some("rejected")));
    assert_eq!(app.published("site.changed"), changes + 3);
    let page = home_page(&app, &s).await;
    assert!(!page.contains("Calm, kind") && json_ld(&page).is_none());
    assert_eq!(reviews(&app, &s, "rejected").await.len(), 1);
    assert!(reviews(&app, &s, "published").await.is_empty());
    // Each moderation is audited.
    let (_, audit) = app.get("/v1/audit?limit=100", &s.clinic.token).await;
    let actions: Vec<&str> =
        audit["items"].as_array().map_or(vec![], |a| a.iter().filter_map(|e| e["action"].as_str()).collect());
    for action in ["review.submitted", "review.published", "review.replied", "review.rejected"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
}

#[tokio::test]
async fn erasing_a_client_deletes_her_reviews_and_unused_requests_and_takes_them_off_the_site() {
    let (app, clock) = fixed_app().await;
    let s = setup(&app, "reviews-erased").await;
    let slug = s.clinic.slug.clone();
    let visit = complete_visit(&app, &s, &clock, 10).await;
    let token = review_token(&app, ADA).await;
    let body = json!({"token": token, "rating": 4, "text": "Lovely and thorough"});
    assert_eq!(submit(&app, &slug, body).await.0, StatusCode::CREATED);
    let (status, _) = app.post(&format!("/v1/reviews/{visit}/publish"), &s.clinic.token, json!({})).await;
    assert_eq!(status, StatusCode::OK);
    // A second visit, reviewed by nobody yet: its link is still open.
    let unused = {
        complete_visit(&app, &s, &clock, 14).await;
        review_token(&app, ADA).await
    };
    app.settle(&[&s.clinic.tenant_id]).await;
    assert!(home_page(&app, &s).await.contains("Lovely and thorough"));
    let changes = app.published("site.changed");

    clock.set(tuesday(18, 0));
    let path = format!("/v1/clients/{}/erase", s.client_id);
    let (status, erasure) = app.post(&path, &s.clinic.token, json!({"confirmation": ADA})).await;
    assert_eq!(status, StatusCode::OK, "{erasure}");
    assert_eq!(erasure["removed"]["reviews"], 1, "{erasure}");
    for status in ["pending", "published", "rejected"] {
        assert!(reviews(&app, &s, status).await.is_empty(), "no {status} review of hers is left");
    }
    assert_eq!(app.published("site.changed"), changes + 1, "the site is published again without it");
    let page = home_page(&app, &s).await;
    assert!(!page.contains("Lovely and thorough") && json_ld(&page).is_none(), "{page}");
    // Her unused link names a visit whose request is gone: it makes nothing.
    let (status, body) = submit(&app, &slug, json!({"token": unused, "rating": 5, "text": "Hello"})).await;
    assert_ne!(status, StatusCode::CREATED, "{body}");
    assert!(reviews(&app, &s, "pending").await.is_empty());
}

#[tokio::test]
async fn a_redelivered_completion_sends_nothing_twice_and_a_clinic_can_turn_requests_off() {
    let (app, clock) = fixed_app().await;
    let s = setup(&app, "reviews-once").await;
    let visit = complete_visit(&app, &s, &clock, 10).await;
    let event = DomainEvent::new(
        &s.clinic.tenant_id,
        "booking.completed",
        &visit,
        clock.now(),
        json!({"appointment_id": visit}),
    );
    let notifier = mas_usecases::notifications::Notifier::of(&app.app);
    for _ in 0..2 {
        mas_usecases::notifications::plan::on_event(&notifier, &event).await.unwrap();
    }
    assert_eq!(review_mails(&app, ADA).await.len(), 1, "one request however often the event comes");

    let (desk, _) = app.member_token(&s.clinic, "front_desk").await;
    assert_eq!(app.put("/v1/review-settings", &desk, json!({"send_requests": false})).await.0, StatusCode::FORBIDDEN);
    let (status, off) = app.put("/v1/review-settings", &s.clinic.token, json!({"send_requests": false})).await;
    assert_eq!((status, off), (StatusCode::OK, json!({"send_requests": false})));
    assert_eq!(app.get("/v1/review-settings", &s.clinic.token).await.1, json!({"send_requests": false}));
    complete_visit(&app, &s, &clock, 14).await;
    assert_eq!(review_mails(&app, ADA).await.len(), 1, "no request once the clinic turned them off");
}

#[tokio::test]
async fn a_forged_foreign_or_expired_review_link_is_refused_and_makes_no_review() {
    let (app, clock) = fixed_app().await;
    let s = setup(&app, "reviews-forged").await;
    let other = app.sign_up("reviews-other").await;
    complete_visit(&app, &s, &clock, 10).await;
    let token = review_token(&app, ADA).await;
    let body = |token: &str| json!({"token": token, "rating": 4, "text": "Fine"});

    // An edited expiry (or any other edit) breaks the signature.
    let (payload, signature) = token.rsplit_once('.').unwrap();
    let (head, expiry) = payload.rsplit_once('.').unwrap();
    let stretched = format!("{head}.{}.{signature}", expiry.parse::<i64>().unwrap() + 86_400 * 365);
    for forged in
        [stretched, token.replacen("apt_", "apt_0", 1), "nonsense".into(), format!("{payload}.{}", "0".repeat(64))]
    {
        let (status, answer) = submit(&app, &s.clinic.slug, body(&forged)).await;
        assert_eq!((status, answer["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")), "{forged}");
    }
    // Another clinic's site does not take this clinic's link.
    assert_eq!(submit(&app, &other.slug, body(&token)).await.0, StatusCode::NOT_FOUND);

    clock.advance(Duration::days(31));
    let (status, expired) = submit(&app, &s.clinic.slug, body(&token)).await;
    assert_eq!((status, expired["error"]["code"].as_str()), (StatusCode::GONE, Some("link_expired")), "{expired}");
    assert!(reviews(&app, &s, "pending").await.is_empty());
}

// ---- One review per link, on both adapters ----------------------------------------------------

/// Eight submissions of one link at once: one review is made (201), the others are told the
/// link was used (409), and the review is one of theirs, whole.
async fn concurrent_submissions(app: TestApp, clock: Arc<FixedClock>) {
    let s = setup(&app, "reviews-race").await;
    complete_visit(&app, &s, &clock, 10).await;
    let token = review_token(&app, ADA).await;
    let app = Arc::new(app);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..8 {
        let (app, slug, token) = (app.clone(), s.clinic.slug.clone(), token.clone());
        tasks.spawn(async move {
            let text = format!("Review number {i}");
            submit(&app, &slug, json!({"token": token, "rating": 1 + i % 5, "text": text})).await
        });
    }
    let mut statuses = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (status, body) = done.unwrap();
        assert!(matches!(status, StatusCode::CREATED | StatusCode::CONFLICT), "{status}: {body}");
        statuses.push(status);
    }
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CREATED).count(), 1, "{statuses:?}");
    let all = reviews(&app, &s, "pending").await;
    assert_eq!(all.len(), 1, "{all:?}");
    let n: u64 = all[0]["text"].as_str().unwrap().trim_start_matches("Review number ").parse().unwrap();
    assert_eq!(all[0]["rating"].as_u64(), Some(1 + n % 5), "one writer's review, whole");
}

mod one_link_submitted_eight_times_at_once_makes_one_review {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn on_sqlite() {
        let (app, clock) = super::fixed_app().await;
        super::concurrent_submissions(app, clock).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn on_dynamodb() {
        let clock = std::sync::Arc::new(super::FixedClock::new(super::now()));
        if let Some(app) = crate::support::app::spawn_app_on_moto("review_race", clock.clone()).await {
            super::concurrent_submissions(app, clock).await;
        }
    }
}
