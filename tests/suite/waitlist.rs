//! The waitlist, black-box over HTTP: a client waits for a time; a cancellation frees one; the
//! first waiter it suits is offered it (held for her, the link by email) while the next waits;
//! declining gives it to the next, who accepts and is booked; an answered or expired offer is
//! gone; an offer nobody answers is released by the sweep. And the race: however many workers
//! offer the same freed time at once, one offer holds it (on SQLite and on DynamoDB).

use std::sync::Arc;

use chrono::Duration;
use mas_domain::ids::{LocationId, PractitionerId, RequestId};
use mas_domain::waitlist::Freed;
use mas_ports::FixedClock;
use mas_store::AuditContext;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::booking::{Setup, booking, create_client, fixed_app, iso, now, setup, tuesday};
use crate::support::app::*;

/// Client `first` waits for the anti-wrinkle treatment on Tuesday 09:30–11:00 (London), with
/// `practitioner` or anyone.
async fn wait_for(app: &TestApp, s: &Setup, first: &str, practitioner: Option<&str>) -> (String, Value) {
    let client_id = create_client(app, &s.clinic, first, "Waiter").await;
    let mut body = json!({"client_id": client_id, "location_id": s.location_id, "service_id": s.service_id,
        "window": {"from_date": "2027-03-02", "to_date": "2027-03-02", "earliest": "09:30", "latest": "11:00"}});
    if let Some(p) = practitioner {
        body["practitioner_id"] = json!(p);
    }
    let (status, entry) = app.post("/v1/waitlist", &s.clinic.token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{entry}");
    assert_eq!(entry["status"], "waiting");
    (client_id, entry)
}

async fn entries(app: &TestApp, s: &Setup) -> Vec<Value> {
    let path = format!("/v1/waitlist?location_id={}&all=true", s.location_id);
    let (status, body) = app.get(&path, &s.clinic.token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array().unwrap().clone()
}

fn entry<'a>(all: &'a [Value], id: &Value) -> &'a Value {
    all.iter().find(|e| &e["id"] == id).unwrap_or_else(|| panic!("no entry {id} in {all:?}"))
}

/// The offer token of the newest offer email to `to`.
async fn offer_token(app: &TestApp, to: &str) -> String {
    let link = app.emailed_link(to, "#offer=").await;
    link.split("#offer=").nth(1).unwrap().to_owned()
}

async fn answer(app: &TestApp, s: &Setup, token: &str, answer: &str) -> (StatusCode, Value) {
    let path = format!("/v1/public/{}/waitlist/offer", s.clinic.slug);
    app.call("POST", &path, None, Some(json!({"token": token, "answer": answer}))).await
}

#[tokio::test]
async fn a_cancelled_time_is_offered_to_the_first_waiter_it_suits_and_on_her_decline_to_the_next_who_books_it() {
    let (app, _) = fixed_app().await;
    let s = setup(&app, "waitlist-flow").await;
    let t = &s.clinic.token;
    let p0 = s.practitioners[0].clone();
    let (status, booked) = app.post("/v1/appointments", t, booking(&s, &s.service_id, tuesday(10, 0), Some(&p0))).await;
    assert_eq!(status, StatusCode::CREATED, "{booked}");
    // Bea joined first for Dr One; Cleo after, for anyone; Dora for Dr Two only.
    let (_, bea) = wait_for(&app, &s, "Bea", Some(&p0)).await;
    let (_, cleo) = wait_for(&app, &s, "Cleo", None).await;
    let (_, dora) = wait_for(&app, &s, "Dora", Some(&s.practitioners[1])).await;

    let path = format!("/v1/appointments/{}", booked["id"].as_str().unwrap());
    let (status, body) = app.patch(&path, t, json!({"action": "cancel"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.settle(&[&s.clinic.tenant_id]).await;

    let all = entries(&app, &s).await;
    let offered = entry(&all, &bea["id"]);
    assert_eq!(offered["status"], "offered", "{offered}");
    assert_eq!(offered["offer"]["start"], iso(tuesday(10, 0)));
    assert_eq!(offered["offer"]["practitioner_id"], p0.as_str());
    assert_eq!(entry(&all, &cleo["id"])["status"], "waiting", "one time, one offer");
    assert_eq!(entry(&all, &dora["id"])["status"], "waiting", "another practitioner's waiter is not asked");
    // The time is held: nobody else can book it meanwhile.
    let (status, body) = app.post("/v1/appointments", t, booking(&s, &s.service_id, tuesday(10, 0), Some(&p0))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // Bea gives it back: Cleo is offered the same time.
    let bea_token = offer_token(&app, "bea.waiter@clients.test").await;
    let (status, body) = answer(&app, &s, &bea_token, "decline").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["entry"]["status"], "withdrawn");
    app.settle(&[&s.clinic.tenant_id]).await;
    let all = entries(&app, &s).await;
    let next = entry(&all, &cleo["id"]);
    assert_eq!(next["status"], "offered", "{next}");
    assert_eq!(next["offer"]["start"], iso(tuesday(10, 0)));

    // Bea's link is spent; Cleo takes hers and is booked.
    assert_eq!(answer(&app, &s, &bea_token, "accept").await.0, StatusCode::CONFLICT);
    let cleo_token = offer_token(&app, "cleo.waiter@clients.test").await;
    let (status, body) = answer(&app, &s, &cleo_token, "accept").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["appointment"]["status"], "scheduled", "{body}");
    assert_eq!(body["appointment"]["start"], iso(tuesday(10, 0)));
    let (status, again) = answer(&app, &s, &cleo_token, "accept").await;
    assert_eq!((status, again["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("offer_gone")));
    app.settle(&[&s.clinic.tenant_id]).await;
    let all = entries(&app, &s).await;
    assert_eq!(entry(&all, &cleo["id"])["status"], "booked");
    // A forged or foreign token opens nothing.
    let forged = cleo_token.replacen('a', "b", 1);
    assert_eq!(answer(&app, &s, &forged, "accept").await.0, StatusCode::NOT_FOUND);
    // Her booking was confirmed like any other: the confirmation went out.
    let (_, outbox) = app.call("GET", "/local/outbox.json", None, None).await;
    let confirmed = outbox.as_array().unwrap().iter().any(|m| {
        m["to"] == "cleo.waiter@clients.test" && m["subject"].as_str().unwrap_or_default().contains("is booked")
    });
    assert!(confirmed, "{outbox}");
}

#[tokio::test]
async fn an_offer_nobody_answers_is_released_by_the_sweep_and_offered_to_the_next_waiter() {
    let (app, clock) = fixed_app().await;
    let s = setup(&app, "waitlist-expiry").await;
    let t = &s.clinic.token;
    let p0 = s.practitioners[0].clone();
    let (_, booked) = app.post("/v1/appointments", t, booking(&s, &s.service_id, tuesday(10, 0), Some(&p0))).await;
    let (_, first) = wait_for(&app, &s, "Eve", None).await;
    let (_, second) = wait_for(&app, &s, "Fay", None).await;
    let path = format!("/v1/appointments/{}", booked["id"].as_str().unwrap());
    assert_eq!(app.patch(&path, t, json!({"action": "cancel"})).await.0, StatusCode::OK);
    app.settle(&[&s.clinic.tenant_id]).await;
    assert_eq!(entry(&entries(&app, &s).await, &first["id"])["status"], "offered");

    clock.advance(Duration::minutes(61));
    let (status, report) = app.call("POST", "/local/sweep", None, None).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    app.settle(&[&s.clinic.tenant_id]).await;
    let all = entries(&app, &s).await;
    assert_eq!(entry(&all, &first["id"])["status"], "expired");
    let next = entry(&all, &second["id"]);
    assert_eq!(next["status"], "offered", "{next}");
    let token = offer_token(&app, "eve.waiter@clients.test").await;
    let (status, body) = answer(&app, &s, &token, "accept").await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("offer_gone")), "{body}");
}

#[tokio::test]
async fn a_deposit_hold_that_runs_out_unpaid_is_cancelled_by_the_sweep_and_its_time_offered_to_the_waiter_once() {
    let (app, clock) = fixed_app().await;
    let s = setup(&app, "waitlist-lapsed-hold").await;
    let t = &s.clinic.token;
    let policy = json!({"deposit": {"kind": "percent", "percent": 20}, "hold_minutes": 10});
    assert_eq!(app.put("/v1/policies", t, policy).await.0, StatusCode::CREATED);
    let p0 = s.practitioners[0].clone();
    let (status, held) = app.post("/v1/appointments", t, booking(&s, &s.service_id, tuesday(10, 0), Some(&p0))).await;
    assert_eq!((status, held["status"].as_str()), (StatusCode::CREATED, Some("pending_deposit")), "{held}");
    let (_, gia) = wait_for(&app, &s, "Gia", Some(&p0)).await;
    let (_, hana) = wait_for(&app, &s, "Hana", Some(&p0)).await;
    app.settle(&[&s.clinic.tenant_id]).await;
    let sweep = || app.call("POST", "/local/sweep", None, None);

    // Before its end the hold stands: nothing is released, nobody is offered.
    clock.advance(Duration::minutes(9));
    assert_eq!(sweep().await.0, StatusCode::OK);
    app.settle(&[&s.clinic.tenant_id]).await;
    let path = format!("/v1/appointments/{}", held["id"].as_str().unwrap());
    assert_eq!(app.get(&path, t).await.1["status"], "pending_deposit");
    assert_eq!(entry(&entries(&app, &s).await, &gia["id"])["status"], "waiting");

    clock.advance(Duration::minutes(2));
    assert_eq!(sweep().await.0, StatusCode::OK);
    app.settle(&[&s.clinic.tenant_id]).await;
    let (_, lapsed) = app.get(&path, t).await;
    assert_eq!(lapsed["status"], "cancelled", "{lapsed}");
    let history = lapsed["history"].as_array().unwrap();
    assert_eq!(history.last().unwrap()["note"], "the deposit was not paid before the hold ran out");
    let all = entries(&app, &s).await;
    let offered = entry(&all, &gia["id"]);
    assert_eq!(offered["status"], "offered", "{offered}");
    assert_eq!(offered["offer"]["start"], iso(tuesday(10, 0)));
    assert_eq!(entry(&all, &hana["id"])["status"], "waiting", "one freed time, one offer");

    // The sweep and the worker again: nothing more is released or offered.
    assert_eq!(sweep().await.0, StatusCode::OK);
    app.settle(&[&s.clinic.tenant_id]).await;
    let again = entries(&app, &s).await;
    assert_eq!(entry(&again, &gia["id"])["offer"], offered["offer"]);
    assert_eq!(entry(&again, &hana["id"])["status"], "waiting");
}

#[tokio::test]
async fn a_moved_booking_offers_the_time_it_left_and_a_cancelled_offer_s_entry_expires() {
    let (app, _) = fixed_app().await;
    let s = setup(&app, "waitlist-move").await;
    let t = &s.clinic.token;
    let p0 = s.practitioners[0].clone();
    let (_, booked) = app.post("/v1/appointments", t, booking(&s, &s.service_id, tuesday(10, 0), Some(&p0))).await;
    let (_, ida) = wait_for(&app, &s, "Ida", Some(&p0)).await;
    let path = format!("/v1/appointments/{}", booked["id"].as_str().unwrap());
    let (status, moved) = app.patch(&path, t, json!({"action": "reschedule", "start": iso(tuesday(14, 0))})).await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    app.settle(&[&s.clinic.tenant_id]).await;
    let offered = entry(&entries(&app, &s).await, &ida["id"]).clone();
    assert_eq!(offered["status"], "offered", "{offered}");
    assert_eq!(offered["offer"]["start"], iso(tuesday(10, 0)), "the time the booking left, not its new one");
    // The clinic cancels the held booking itself: her offer is over when its hour is.
    let held = format!("/v1/appointments/{}", offered["offer"]["appointment_id"].as_str().unwrap());
    assert_eq!(app.patch(&held, t, json!({"action": "cancel"})).await.0, StatusCode::OK);
    let audit = AuditContext {
        tenant_id: s.clinic.tenant_id.clone(),
        actor: "system".into(),
        role: None,
        request_id: RequestId::new(),
    };
    let id = mas_domain::ids::WaitlistId::parse(ida["id"].as_str().unwrap()).unwrap();
    let expired = mas_usecases::waitlist::expire(&app.app.store, &audit, &id).await.unwrap().expect("moved on");
    assert_eq!(expired.status, mas_domain::waitlist::WaitStatus::Expired);
}

#[tokio::test]
async fn a_visitor_joins_from_the_site_without_changing_a_clients_details_and_leaves_from_her_portal() {
    let (app, _) = fixed_app().await;
    let s = setup(&app, "waitlist-public").await;
    let path = format!("/v1/public/{}/waitlist", s.clinic.slug);
    let join = |first: &str| {
        json!({"location_id": s.location_id, "service_id": s.service_id,
            "window": {"from_date": "2027-03-02", "to_date": "2027-03-09", "earliest": "09:00"},
            "client": {"first_name": first, "last_name": "Lovelace", "email": "ada.lovelace@clients.test"}})
    };
    // Ada is the clinic's client already (same email): she joins as herself, her name unchanged.
    let (status, entry_a) = app.call("POST", &path, None, Some(join("Impostor"))).await;
    assert_eq!(status, StatusCode::CREATED, "{entry_a}");
    assert_eq!(entry_a["client_id"], s.client_id.as_str());
    let (_, client) = app.get(&format!("/v1/clients/{}", s.client_id), &s.clinic.token).await;
    assert_eq!(client["first_name"], "Ada", "{client}");
    // A window that runs backwards is refused on its field.
    let mut backwards = join("Ada");
    backwards["window"]["to_date"] = json!("2027-03-01");
    let (status, err) = app.call("POST", &path, None, Some(backwards)).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("empty_window")),
        "{err}"
    );

    let client = mas_domain::ids::ClientId::parse(&s.client_id).unwrap();
    let (token, _) = mas_usecases::portal::issue_link(&app.app, &s.clinic.tenant_id, &client).await.unwrap();
    let session_path = format!("/v1/public/{}/portal/session", s.clinic.slug);
    let (_, session) = app.call("POST", &session_path, None, Some(json!({"token": token}))).await;
    let bearer = session["session"].as_str().unwrap();
    let (status, mine) = app.get("/v1/portal/waitlist", bearer).await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(mine.as_array().unwrap().len(), 1);
    let leave = format!("/v1/portal/waitlist/{}", entry_a["id"].as_str().unwrap());
    let (status, left) = app.delete(&leave, bearer).await;
    assert_eq!((status, left["status"].as_str()), (StatusCode::OK, Some("withdrawn")), "{left}");
    let (status, again) = app.delete(&leave, bearer).await;
    assert_eq!((status, again["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("entry_closed")), "{again}");
    // Staff no longer see her among those waiting.
    let (_, open) = app.get(&format!("/v1/waitlist?location_id={}", s.location_id), &s.clinic.token).await;
    assert_eq!(open, json!([]));
}

// ---- One offer per freed time, on both adapters ----------------------------------------------

/// Eight workers offer the same freed 45 minutes at once (as redelivered or duplicate events
/// would): one offer is made, to the first waiter; the second still waits; one hold is booked.
async fn concurrent_offers(app: TestApp) {
    let s = setup(&app, "waitlist-race").await;
    let p0 = s.practitioners[0].clone();
    let (_, first) = wait_for(&app, &s, "Gia", Some(&p0)).await;
    let (_, second) = wait_for(&app, &s, "Hal", None).await;
    let tenant = mas_usecases::tenants::tenant(&app.app.store, &s.clinic.tenant_id).await.unwrap();
    let freed = Freed {
        location_id: LocationId::parse(&s.location_id).unwrap(),
        practitioner_id: PractitionerId::parse(&p0).unwrap(),
        from: tuesday(9, 55),
        until: tuesday(10, 40),
    };
    let app = Arc::new(app);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (app, tenant, freed) = (app.clone(), tenant.clone(), freed.clone());
        tasks.spawn(async move {
            let audit = AuditContext {
                tenant_id: tenant.id.clone(),
                actor: "system".into(),
                role: None,
                request_id: RequestId::new(),
            };
            mas_usecases::waitlist::offer_freed(&app.app.store, &audit, &tenant, &freed).await.unwrap().len()
        });
    }
    let mut offers = 0;
    while let Some(done) = tasks.join_next().await {
        offers += done.unwrap();
    }
    assert_eq!(offers, 1, "one offer in all");
    let all = entries(&app, &s).await;
    assert_eq!(entry(&all, &first["id"])["status"], "offered");
    assert_eq!(entry(&all, &second["id"])["status"], "waiting");
    let path = format!("/v1/appointments?from=2027-03-02&to=2027-03-02&practitioner_id={p0}");
    let (status, held) = app.get(&path, &s.clinic.token).await;
    assert_eq!(status, StatusCode::OK, "{held}");
    assert_eq!(held.as_array().unwrap().len(), 1, "{held}");
    assert_eq!(held[0]["status"], "pending_deposit");
    assert_eq!(held[0]["id"], entry(&all, &first["id"])["offer"]["appointment_id"]);
}

mod eight_workers_offering_one_freed_time_at_once_offer_it_once {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn on_sqlite() {
        super::concurrent_offers(super::fixed_app().await.0).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn on_dynamodb() {
        let clock = std::sync::Arc::new(super::FixedClock::new(super::now()));
        if let Some(app) = crate::support::app::spawn_app_on_moto("waitlist_race", clock).await {
            super::concurrent_offers(app).await;
        }
    }
}
