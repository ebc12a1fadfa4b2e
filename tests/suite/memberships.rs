//! Memberships, black-box over HTTP on the simulated gateway: a plan in the catalog; the desk
//! starts a client's membership and she pays the first month on the hosted sign-up page (the
//! subscription's webhooks, signed, to our own endpoint); each paid month gives her that month's
//! credits as a package the till redeems; a failed renewal makes it past due (no credits, the
//! failure kept) until a retry is paid; pause gives no credits; she ends it in the portal at the
//! end of her month, and it never comes back. The same news twice, or eight times at once,
//! credits a month once.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::booking::{Setup, fixed_app, setup};
use crate::payments::portal_session;
use crate::support::app::*;
use crate::till::ring_up;

async fn plan(app: &TestApp, s: &Setup, credits: u32) -> String {
    let body = json!({"name": "Glow club", "price": {"amount_minor": 4900}, "credits_per_month": credits,
        "service_ids": [s.room_service_id]});
    let (status, plan) = app.post("/v1/membership-plans", &s.clinic.token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{plan}");
    plan["id"].as_str().unwrap().to_owned()
}

async fn memberships(app: &TestApp, s: &Setup) -> Vec<Value> {
    let (status, list) = app.get(&format!("/v1/clients/{}/memberships", s.client_id), &s.clinic.token).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array().unwrap().clone()
}

async fn credits(app: &TestApp, s: &Setup) -> Vec<Value> {
    let (status, list) = app.get(&format!("/v1/clients/{}/packages", s.client_id), &s.clinic.token).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array().unwrap().iter().filter(|p| p["membership_id"].is_string()).cloned().collect()
}

/// Starts `plan` for the setup's client and pays the sign-up page; answers the membership.
async fn join(app: &TestApp, s: &Setup, plan: &str) -> Value {
    let path = format!("/v1/clients/{}/memberships", s.client_id);
    let (status, pending) = app.post(&path, &s.clinic.token, json!({"plan_id": plan})).await;
    assert_eq!(status, StatusCode::CREATED, "{pending}");
    assert_eq!(pending["status"], "pending");
    let page = pending["signup_url"].as_str().expect("a sign-up page").to_owned();
    // The client is emailed the page (the desk may hand it over too).
    app.settle(&[&s.clinic.tenant_id]).await;
    let (_, outbox) = app.call("GET", "/local/outbox.json", None, None).await;
    let invitations: Vec<&Value> = outbox
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["to"] == "ada.lovelace@clients.test" && m["text"].as_str().unwrap_or_default().contains(&page))
        .collect();
    assert_eq!(invitations.len(), 1, "{outbox}");
    assert!(invitations[0]["subject"].as_str().unwrap().starts_with("Join "), "{}", invitations[0]);
    let session = page.rsplit('/').next().unwrap().to_owned();
    let (status, paid) = app.call("POST", &format!("/local/checkout/{session}"), None, None).await;
    assert_eq!(status, StatusCode::OK, "{paid}");
    let kinds: Vec<(&str, u64)> = paid["webhooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| (w["type"].as_str().unwrap(), w["status"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        vec![("payment_intent.succeeded", 200), ("checkout.session.completed", 200), ("invoice.paid", 200)]
    );
    memberships(app, s).await.into_iter().find(|m| m["id"] == pending["id"]).unwrap()
}

async fn bill(app: &TestApp, subscription: &str, outcome: &str) -> Value {
    let path = format!("/local/subscriptions/{subscription}/bill");
    let (status, billed) = app.call("POST", &path, None, Some(json!({"outcome": outcome}))).await;
    assert_eq!(status, StatusCode::OK, "{billed}");
    assert!(billed["webhooks"].as_array().unwrap().iter().all(|w| w["status"] == 200), "{billed}");
    billed
}

async fn act(app: &TestApp, token: &str, id: &str, action: &str) -> (StatusCode, Value) {
    app.post(&format!("/v1/memberships/{id}/actions"), token, json!({"action": action})).await
}

#[tokio::test]
async fn a_membership_is_paid_monthly_credits_each_paid_month_once_and_ends_when_she_cancels() {
    let (app, clock) = fixed_app().await;
    let s = setup(&app, "members").await;
    let token = &s.clinic.token;

    // Plans: owners and managers write them (403 before the body); credits need their services.
    let (desk, _) = app.member_token(&s.clinic, "front_desk").await;
    let (status, _) = app.post("/v1/membership-plans", &desk, json!({"nonsense": true})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let no_services = json!({"name": "Club", "price": {"amount_minor": 4900}, "credits_per_month": 2});
    let (status, err) = app.post("/v1/membership-plans", token, no_services).await;
    assert_eq!((status, err["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("service_count")));
    let plan = plan(&app, &s, 2).await;

    // The desk starts it; a practitioner may not; an unknown plan is 422.
    let (practitioner, _) = app.member_token(&s.clinic, "practitioner").await;
    let path = format!("/v1/clients/{}/memberships", s.client_id);
    let (status, _) = app.post(&path, &practitioner, json!({"plan_id": plan})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, err) = app.post(&path, &desk, json!({"plan_id": "mpl_unknown"})).await;
    assert_eq!((status, err["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_reference")));

    // She pays the first month: active, and that month's two credits are hers until it ends.
    let member = join(&app, &s, &plan).await;
    let id = member["id"].as_str().unwrap().to_owned();
    let subscription = member["subscription_id"].as_str().unwrap().to_owned();
    assert_eq!(member["status"], "active", "{member}");
    assert!(member.get("signup_url").is_none(), "{member}");
    let first = credits(&app, &s).await;
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!((first[0]["sessions_remaining"].as_i64(), first[0]["membership_id"].as_str()), (Some(2), Some(&*id)));
    assert_eq!(first[0]["expires_at"], member["current_period"]["end"]);
    // A second membership of the same plan is refused while this one lasts.
    let (status, err) = app.post(&path, &desk, json!({"plan_id": plan})).await;
    assert_eq!((status, err["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("membership_exists")));

    // The same news again (a new event about the same paid invoice) credits nothing more.
    let webhook = format!("{}/webhooks/stripe", app.base);
    let invoice = json!({"id": "in_again", "object": "invoice", "subscription": subscription, "status": "paid"});
    let again = app.gateway().deliver_object(&webhook, "invoice.paid", invoice).await.unwrap();
    assert_eq!(again.status, 200);
    assert_eq!(credits(&app, &s).await.len(), 1);

    // A credit pays for a visit at the till: nothing to pay.
    let line = json!({"kind": "service", "name": "Laser", "service_id": s.room_service_id, "unit_price_minor": 30000,
        "tax": {"rate_bp": 2000, "mode": "inclusive"}, "package_id": first[0]["id"]});
    let visit = json!({"location_id": s.location_id, "client_id": s.client_id, "lines": [line], "tenders": []});
    let sold = ring_up(&app, token, visit).await;
    assert_eq!(sold["totals"]["total_minor"].as_i64(), Some(0), "{sold}");
    assert_eq!(credits(&app, &s).await[0]["sessions_remaining"].as_i64(), Some(1));

    // A month on, the renewal fails: past due, the failure kept, no new credits.
    clock.advance(Duration::days(31));
    bill(&app, &subscription, "fail").await;
    let past_due = &memberships(&app, &s).await[0];
    assert_eq!(past_due["status"], "past_due", "{past_due}");
    assert_eq!(past_due["failed_charges"].as_array().map(Vec::len), Some(1));
    assert_eq!(credits(&app, &s).await.len(), 1);
    assert_eq!(app.published("membership.payment_failed"), 1);
    // She is told, with the gateway's page to pay it or change her card.
    app.settle(&[&s.clinic.tenant_id]).await;
    let pay = app.emailed_link("ada.lovelace@clients.test", "invoice.stripe.com").await;
    assert!(pay.starts_with("https://invoice.stripe.com/"), "{pay}");
    // The retry is paid: active again, and the new month's credits arrive (once).
    bill(&app, &subscription, "succeed").await;
    let renewed = &memberships(&app, &s).await[0];
    assert_eq!(renewed["status"], "active");
    assert_eq!(credits(&app, &s).await.len(), 2);

    // Paused: nothing charged and no credits; resumed by the clinic.
    let (status, paused) = act(&app, token, &id, "pause").await;
    assert_eq!((status, paused["status"].as_str()), (StatusCode::OK, Some("paused")), "{paused}");
    let (status, err) = act(&app, token, &id, "pause").await;
    assert_eq!((status, err["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("membership_state")));
    clock.advance(Duration::days(31));
    bill(&app, &subscription, "succeed").await;
    assert_eq!(credits(&app, &s).await.len(), 2, "a paused month gives no credits");
    let (status, resumed) = act(&app, &desk, &id, "resume").await;
    assert_eq!((status, resumed["status"].as_str()), (StatusCode::OK, Some("active")), "{resumed}");

    // She ends it in the portal at the end of her month; at the month's end it is cancelled.
    let session = portal_session(&app, &s, &json!(s.client_id)).await;
    let (status, mine) = app.get("/v1/portal/memberships", &session).await;
    assert_eq!((status, mine[0]["id"].as_str()), (StatusCode::OK, Some(&*id)), "{mine}");
    let (status, ending) = app.call("POST", &format!("/v1/portal/memberships/{id}/cancel"), Some(&session), None).await;
    assert_eq!((status, ending["cancel_at_period_end"].as_bool()), (StatusCode::OK, Some(true)), "{ending}");
    bill(&app, &subscription, "succeed").await;
    let ended = &memberships(&app, &s).await[0];
    assert_eq!(ended["status"], "cancelled", "{ended}");
    assert!(ended["ended_at"].is_string());
    assert_eq!(app.published("membership.ended"), 1);
    // Nothing brings it back, and the clinic cannot act on it any more.
    let (status, err) = act(&app, token, &id, "resume").await;
    assert_eq!((status, err["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("membership_state")));
    // Another client's portal does not see (or end) it.
    let (_, other) = app.post("/v1/clients", token, client_body("Other", "Client", Some("other@x.test"))).await;
    let other_session = portal_session(&app, &s, &other["id"]).await;
    let (status, _) =
        app.call("POST", &format!("/v1/portal/memberships/{id}/cancel"), Some(&other_session), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn eight_deliveries_of_one_paid_month(app: TestApp, clock: std::sync::Arc<mas_ports::FixedClock>) {
    let s = setup(&app, "members-race").await;
    let plan = plan(&app, &s, 3).await;
    let member = join(&app, &s, &plan).await;
    let subscription = member["subscription_id"].as_str().unwrap().to_owned();
    clock.advance(Duration::days(31));
    // The gateway renews; its news of the paid month is delivered eight times at once (eight
    // events, as retries and Stripe's own duplicates would be), each finding the month new.
    let renewal = app.gateway().bill(&subscription, mas_embedded::simulated::Outcome::Succeed).unwrap();
    let (_, invoice) = renewal.into_iter().find(|(kind, _)| *kind == "invoice.paid").unwrap();
    let webhook = format!("{}/webhooks/stripe", app.base);
    let gateway = app.gateway();
    let deliveries = (0..8).map(|_| gateway.deliver_object(&webhook, "invoice.paid", invoice.clone()));
    for delivery in crate::clients::futures_join_all(deliveries).await {
        assert_eq!(delivery.unwrap().status, 200);
    }
    let months = credits(&app, &s).await;
    assert_eq!(months.len(), 2, "one package per paid month: {months:?}");
    assert!(months.iter().all(|p| p["sessions_total"] == 3));
}

mod a_paid_month_announced_eight_times_at_once_is_credited_once {
    use std::sync::Arc;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn on_sqlite() {
        let (app, clock) = super::fixed_app().await;
        super::eight_deliveries_of_one_paid_month(app, clock).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn on_dynamodb() {
        let clock = Arc::new(mas_ports::FixedClock::new(crate::booking::now()));
        if let Some(app) = crate::support::app::spawn_app_on_moto("membership_race", clock.clone()).await {
            super::eight_deliveries_of_one_paid_month(app, clock).await;
        }
    }
}

#[tokio::test]
async fn a_sign_up_page_left_unpaid_lapses_and_a_pending_membership_is_cancelled_by_closing_its_page() {
    let (app, _clock) = fixed_app().await;
    let s = setup(&app, "members-lapse").await;
    let plan = plan(&app, &s, 0).await;
    let path = format!("/v1/clients/{}/memberships", s.client_id);
    let (_, pending) = app.post(&path, &s.clinic.token, json!({"plan_id": plan})).await;
    let id = pending["id"].as_str().unwrap();
    let (status, cancelled) = act(&app, &s.clinic.token, id, "cancel").await;
    assert_eq!((status, cancelled["status"].as_str()), (StatusCode::OK, Some("lapsed")), "{cancelled}");
    // The page no longer takes payment.
    let session = pending["signup_url"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
    let (status, _) = app.call("POST", &format!("/local/checkout/{session}"), None, None).await;
    assert_eq!(status, StatusCode::GONE);
    // A new membership of the plan may start now that this one ended.
    let (status, _) = app.post(&path, &s.clinic.token, json!({"plan_id": plan})).await;
    assert_eq!(status, StatusCode::CREATED);
}
