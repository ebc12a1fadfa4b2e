//! The client portal over HTTP: sign-in links that reveal nothing and work once, sessions that
//! reach only their own client's data and never a staff route, and changes within the policy.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::booking::{answers, fixed_app, iso, public_booking, setup, tuesday};
use crate::support::app::TestApp;
use mas_domain::ids::{ClientId, TenantId};

/// A signed-in portal session for `client`, through a link issued as `POST …/portal/link` does.
async fn sign_in(app: &TestApp, tenant: &TenantId, slug: &str, client: &str) -> String {
    let client = ClientId::parse(client).unwrap();
    let (token, _) = mas_usecases::portal::issue_link(&app.app, tenant, &client).await.unwrap();
    let (status, session) =
        app.call("POST", &format!("/v1/public/{slug}/portal/session"), None, Some(json!({"token": token}))).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    session["session"].as_str().unwrap().to_owned()
}

/// The audit actions of the tenant's current month, oldest first.
pub(crate) async fn audit_actions(app: &TestApp, tenant: &TenantId) -> Vec<String> {
    let month = app.app.store.clock.now().format("%Y-%m").to_string();
    let query = mas_ports::Query::partition(mas_store::keys::audit_month_pk(tenant, &month));
    app.app
        .store
        .table
        .query_all(&query)
        .await
        .unwrap()
        .iter()
        .map(|i| i["action"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn asking_for_a_link_answers_the_same_for_a_client_and_a_stranger_and_issues_one_only_for_the_client() {
    let (app, _) = fixed_app().await;
    let s = setup(&app, "portal-link").await;
    let path = "/v1/public/portal-link/portal/link";
    let known = app.call("POST", path, None, Some(json!({"email": "ada.lovelace@clients.test"}))).await;
    let stranger = app.call("POST", path, None, Some(json!({"email": "nobody@clients.test"}))).await;
    assert_eq!(known.0, StatusCode::ACCEPTED);
    assert_eq!(known, stranger, "the answer must not tell a client from a stranger");
    let actions = audit_actions(&app, &s.clinic.tenant_id).await;
    assert_eq!(actions.iter().filter(|a| *a == "portal.link_issued").count(), 1, "{actions:?}");
    // The client's link is in the outbox (email), and it signs them in once.
    let (status, outbox) = app.call("GET", "/local/outbox.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let mails: Vec<&Value> =
        outbox.as_array().unwrap().iter().filter(|m| m["to"] == "ada.lovelace@clients.test").collect();
    assert_eq!(mails.len(), 1, "{outbox}");
    assert!(!outbox.to_string().contains("nobody@clients.test"), "nothing is sent to a stranger");
    let text = mails[0]["text"].as_str().unwrap();
    let token =
        text.split("#token=").nth(1).expect("the link in the mail").split(|c: char| c.is_whitespace()).next().unwrap();
    assert!(text.contains("/sites/portal-link/portal/#token="), "{text}");
    let (status, _) =
        app.call("POST", "/v1/public/portal-link/portal/session", None, Some(json!({"token": token}))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.call("POST", path, None, Some(json!({"email": "not an email"}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) =
        app.call("POST", "/v1/public/no-such-clinic/portal/link", None, Some(json!({"email": "a@b.test"}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_link_works_once_even_when_used_twice_at_the_same_moment_and_not_after_fifteen_minutes() {
    let (app, clock) = fixed_app().await;
    let s = setup(&app, "portal-once").await;
    let client = ClientId::parse(&s.client_id).unwrap();
    let path = "/v1/public/portal-once/portal/session";

    // Two simultaneous uses: exactly one session.
    let (token, _) = mas_usecases::portal::issue_link(&app.app, &s.clinic.tenant_id, &client).await.unwrap();
    let body = json!({"token": token});
    let (a, b) = tokio::join!(
        app.call("POST", path, None, Some(body.clone())),
        app.call("POST", path, None, Some(body.clone()))
    );
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::UNAUTHORIZED], "{a:?} {b:?}");
    let (status, _) = app.call("POST", path, None, Some(body)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a third use");

    // A link 15 minutes old is refused; a forged one too.
    let (token, _) = mas_usecases::portal::issue_link(&app.app, &s.clinic.tenant_id, &client).await.unwrap();
    clock.advance(Duration::minutes(15));
    let (status, _) = app.call("POST", path, None, Some(json!({"token": token}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app.call("POST", path, None, Some(json!({"token": "A".repeat(43)}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Another clinic's slug does not open this clinic's link.
    let other = app.sign_up("portal-other").await;
    let (token, _) = mas_usecases::portal::issue_link(&app.app, &s.clinic.tenant_id, &client).await.unwrap();
    let (status, _) = app
        .call("POST", &format!("/v1/public/{}/portal/session", other.slug), None, Some(json!({"token": token})))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_portal_session_sees_only_its_clients_data_and_opens_no_staff_route() {
    let (app, _) = fixed_app().await;
    let s = setup(&app, "portal-scope").await;
    let book = "/v1/public/portal-scope/appointments";
    let (status, mine) =
        app.call("POST", book, None, Some(public_booking(&s, tuesday(10, 0), "grace@visitors.test", answers()))).await;
    assert_eq!(status, StatusCode::CREATED, "{mine}");
    let (status, theirs) =
        app.call("POST", book, None, Some(public_booking(&s, tuesday(11, 0), "eve@visitors.test", answers()))).await;
    assert_eq!(status, StatusCode::CREATED, "{theirs}");
    let session = sign_in(&app, &s.clinic.tenant_id, "portal-scope", mine["client_id"].as_str().unwrap()).await;

    let (status, listed) = app.get("/v1/portal/appointments", &session).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed["first_name"], "Grace");
    let ids: Vec<&Value> = listed["upcoming"].as_array().unwrap().iter().map(|a| &a["id"]).collect();
    assert_eq!(ids, [&mine["id"]], "only the client's own appointment");
    assert!(!listed.to_string().contains(theirs["confirmation_number"].as_str().unwrap()));

    // Another client's appointment is not found, whatever is asked of it.
    let other = theirs["id"].as_str().unwrap();
    let (status, _) = app.get(&format!("/v1/portal/appointments/{other}/fee-preview?action=cancel"), &session).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) =
        app.patch(&format!("/v1/portal/appointments/{other}"), &session, json!({"action": "cancel"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, still) = app.get(&format!("/v1/appointments/{other}"), &s.clinic.token).await;
    assert_eq!(still["status"], theirs["status"], "the other client's booking is untouched");

    // The session is no staff token, and a staff token is no session; no bearer is 401 too.
    for path in ["/v1/clients", "/v1/appointments?from=2027-03-01&to=2027-03-07", "/v1/me"] {
        let (status, _) = app.get(path, &session).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
    }
    let (status, _) = app.get("/v1/portal/appointments", &s.clinic.token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app.call("GET", "/v1/portal/appointments", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let edited = session.replacen(mine["client_id"].as_str().unwrap(), theirs["client_id"].as_str().unwrap(), 1);
    let (status, _) = app.get("/v1/portal/appointments", &edited).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a session edited to name another client");
}

#[tokio::test]
async fn a_client_reschedules_within_the_policy_after_seeing_the_fee_and_cannot_inside_its_window() {
    let (app, clock) = fixed_app().await;
    let s = setup(&app, "portal-move").await;
    let (status, booked) = app
        .call(
            "POST",
            "/v1/public/portal-move/appointments",
            None,
            Some(public_booking(&s, tuesday(10, 0), "grace@visitors.test", answers())),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{booked}");
    let id = booked["id"].as_str().unwrap();
    let session = sign_in(&app, &s.clinic.tenant_id, "portal-move", booked["client_id"].as_str().unwrap()).await;

    // The fee preview first: 26 hours ahead, outside the default 24-hour window, so no fee.
    let (status, preview) =
        app.get(&format!("/v1/portal/appointments/{id}/fee-preview?action=reschedule"), &session).await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!((preview["allowed"].as_bool(), preview["fee"]["amount_minor"].as_i64()), (Some(true), Some(0)));
    let (status, _) = app.get(&format!("/v1/portal/appointments/{id}/fee-preview?action=no_show"), &session).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "no-shows are not the client's to record");

    // Then the move, to a free time.
    let (status, moved) = app
        .patch(
            &format!("/v1/portal/appointments/{id}"),
            &session,
            json!({"action": "reschedule", "start": iso(tuesday(14, 0))}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["start"], iso(tuesday(14, 0)));
    let (_, staff_view) = app.get(&format!("/v1/appointments/{id}"), &s.clinic.token).await;
    assert_eq!(staff_view["start"], iso(tuesday(14, 0)), "staff see the new time");
    let (_, timeline) =
        app.get(&format!("/v1/clients/{}/timeline", booked["client_id"].as_str().unwrap()), &s.clinic.token).await;
    assert!(
        timeline.to_string().contains(&format!("client:{}", booked["client_id"].as_str().unwrap())),
        "the client is the actor: {timeline}"
    );

    // Inside the window the portal refuses (staff may still move it).
    clock.advance(Duration::hours(20));
    let (status, _) = app.get("/v1/portal/appointments", &session).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a session lasts two hours");
    let session = sign_in(&app, &s.clinic.tenant_id, "portal-move", booked["client_id"].as_str().unwrap()).await;
    let (status, refused) = app
        .patch(
            &format!("/v1/portal/appointments/{id}"),
            &session,
            json!({"action": "reschedule", "start": iso(tuesday(15, 0))}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(refused["error"]["code"], "inside_reschedule_window");

    // Cancelling is allowed (the fee, if any, applies); the appointment moves to the past list.
    let (status, cancelled) =
        app.patch(&format!("/v1/portal/appointments/{id}"), &session, json!({"action": "cancel"})).await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled");
    let (_, listed) = app.get("/v1/portal/appointments", &session).await;
    assert_eq!(listed["upcoming"].as_array().unwrap().len(), 0);
    assert_eq!(listed["past"][0]["id"], booked["id"]);
}

#[tokio::test]
async fn a_client_reads_and_changes_their_message_preferences_and_lists_their_documents() {
    let (app, _) = fixed_app().await;
    let s = setup(&app, "portal-prefs").await;
    let session = sign_in(&app, &s.clinic.tenant_id, "portal-prefs", &s.client_id).await;
    let (status, prefs) = app.get("/v1/portal/preferences", &session).await;
    assert_eq!(status, StatusCode::OK, "{prefs}");
    assert_eq!(
        (prefs["email"]["transactional"].as_bool(), prefs["email"]["marketing"].as_bool()),
        (Some(true), Some(false))
    );
    let wanted = json!({"email": {"transactional": true, "marketing": true}, "sms": {"transactional": false, "marketing": false}});
    let (status, prefs) = app.put("/v1/portal/preferences", &session, wanted.clone()).await;
    assert_eq!((status, &prefs), (StatusCode::OK, &wanted));
    // The same record staff read (the notifications engine's), changed by the client.
    let (_, staff_view) = app.get(&format!("/v1/clients/{}/preferences", s.client_id), &s.clinic.token).await;
    assert_eq!(staff_view, wanted);
    let (_, timeline) = app.get(&format!("/v1/clients/{}/timeline", s.client_id), &s.clinic.token).await;
    assert!(timeline.to_string().contains("changed by the client in the portal"), "{timeline}");
    let (status, _) =
        app.put("/v1/portal/preferences", &session, json!({"email": {"transactional": true, "marketing": true}})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "both channels are required");

    let (status, documents) = app.get("/v1/portal/documents", &session).await;
    assert_eq!((status, documents["documents"].as_array().map(Vec::len)), (StatusCode::OK, Some(0)));
    let generate = crate::support::app::generate_body(&s.client_id, "Ada Lovelace");
    let (status, document) = app.post("/v1/documents/generate", &s.clinic.token, generate).await;
    assert_eq!(status, StatusCode::CREATED, "{document}");
    crate::support::app::wait_for_pdf(&app, &s.clinic.token, document["id"].as_str().unwrap(), "pdf").await;
    let (_, documents) = app.get("/v1/portal/documents", &session).await;
    assert_eq!(documents["documents"][0]["id"], document["id"], "{documents}");
    let url = documents["documents"][0]["download_url"].as_str().expect("a download link");
    let (status, pdf) = app.download(url).await;
    assert_eq!(status, StatusCode::OK);
    assert!(pdf.starts_with(b"%PDF"));
    assert!(documents["documents"][0]["sign_url"].is_null(), "no signing link before staff open a session");

    // Staff open an e-sign session: the portal offers the same signing page, until it is signed.
    let (status, esign) = app
        .post(&format!("/v1/documents/{}/esign", document["id"].as_str().unwrap()), &s.clinic.token, json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{esign}");
    let (_, documents) = app.get("/v1/portal/documents", &session).await;
    assert_eq!(documents["documents"][0]["sign_url"], esign["sign_url"], "{documents}");
}

#[tokio::test]
async fn asking_for_links_again_and_again_emails_the_client_at_most_once_a_minute_and_answers_the_same() {
    let (app, clock) = fixed_app().await;
    let s = setup(&app, "portal-throttle").await;
    let path = "/v1/public/portal-throttle/portal/link";
    let ask = || app.call("POST", path, None, Some(json!({"email": "ada.lovelace@clients.test"})));
    let answers = futures_join(ask(), ask(), ask()).await;
    assert!(answers.iter().all(|a| a.0 == StatusCode::ACCEPTED && *a == answers[0]), "{answers:?}");
    let mails =
        |outbox: Value| outbox.as_array().unwrap().iter().filter(|m| m["to"] == "ada.lovelace@clients.test").count();
    assert_eq!(mails(app.call("GET", "/local/outbox.json", None, None).await.1), 1, "three asks at once, one email");
    clock.advance(Duration::seconds(61));
    assert_eq!(ask().await.0, StatusCode::ACCEPTED);
    assert_eq!(mails(app.call("GET", "/local/outbox.json", None, None).await.1), 2, "a minute later, another");
    let actions = audit_actions(&app, &s.clinic.tenant_id).await;
    assert_eq!(actions.iter().filter(|a| *a == "portal.link_issued").count(), 2);
}

async fn futures_join<F: std::future::Future>(a: F, b: F, c: F) -> Vec<F::Output> {
    let (a, b, c) = tokio::join!(a, b, c);
    vec![a, b, c]
}
