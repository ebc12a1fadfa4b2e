//! Issue 13, least privilege: a practitioner reaches only her care team (clients booked with her
//! or shared with her), and a member restricted to locations acts only there. Black-box over
//! HTTP; what is out of reach answers 404, as if it did not exist.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::booking::{Setup, answers, booking, fixed_app, iso, public_booking, setup, tuesday};
use crate::support::app::TestApp;

/// A team member made through the API (`extra`: `practitioner_id`, `location_ids`), and a token.
async fn member(app: &TestApp, s: &Setup, role: &str, name: &str, extra: Value) -> (String, String) {
    let email = format!("{}@{}.test", name.to_lowercase().replace(' ', "."), s.clinic.slug);
    let mut body = json!({"email": email, "name": name, "role": role});
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    let (status, member) = app.post("/v1/team", &s.clinic.token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{member}");
    let member: mas_domain::team::Member = serde_json::from_value(member).unwrap();
    (app.token_for(&s.clinic.tenant_id, &member), member.id.to_string())
}

/// Dr One and Dr Two, signed in as the practitioners of the setup's first two calendars.
async fn two_practitioners(app: &TestApp, s: &Setup) -> ((String, String), (String, String)) {
    let one = member(app, s, "practitioner", "Dr One", json!({"practitioner_id": s.practitioners[0]})).await;
    let two = member(app, s, "practitioner", "Dr Two", json!({"practitioner_id": s.practitioners[1]})).await;
    (one, two)
}

async fn status_of(app: &TestApp, path: &str, token: &str) -> StatusCode {
    app.get(path, token).await.0
}

fn ids(list: &Value) -> Vec<String> {
    let items = list.get("items").unwrap_or(list);
    items.as_array().unwrap().iter().map(|item| item["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_practitioner_cannot_read_a_client_she_has_never_seen() {
    let (app, _) = fixed_app().await;
    let s = setup(&app, "never-seen").await;
    let ((dr_one, _), _) = two_practitioners(&app, &s).await;
    let client = &s.client_id;
    for path in [
        format!("/v1/clients/{client}"),
        format!("/v1/clients/{client}/medical"),
        format!("/v1/clients/{client}/timeline"),
        format!("/v1/clients/{client}/preferences"),
        format!("/v1/notifications?client_id={client}"),
    ] {
        let (status, body) = app.get(&path, &dr_one).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert_eq!(body["error"]["code"], "not_found", "as if there were no such client: {body}");
    }
    let (status, _) =
        app.patch(&format!("/v1/clients/{client}"), &dr_one, json!({"version": 1, "first_name": "Eve"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.put(&format!("/v1/clients/{client}/medical"), &dr_one, answers()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nor write her medical file");
    let (status, body) = app.post("/v1/appointments", &dr_one, booking(&s, &s.service_id, tuesday(10, 0), None)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nor book her, which would make her one of hers: {body}");
    let (_, list) = app.get("/v1/clients", &dr_one).await;
    assert_eq!(ids(&list), Vec::<String>::new(), "{list}");
    let (_, search) = app.get("/v1/clients?q=ada.lovelace@clients.test", &dr_one).await;
    assert_eq!(ids(&search), Vec::<String>::new(), "{search}");

    // The owner and the front desk keep the whole client list.
    assert_eq!(status_of(&app, &format!("/v1/clients/{client}"), &s.clinic.token).await, StatusCode::OK);
    let (desk, _) = member(&app, &s, "front_desk", "Dan Desk", json!({})).await;
    let (_, list) = app.get("/v1/clients", &desk).await;
    assert_eq!(ids(&list), vec![client.clone()]);
}

#[tokio::test]
async fn a_practitioner_reads_a_client_once_she_is_booked_with_her() {
    let (app, _) = fixed_app().await;
    let s = setup(&app, "booked-with").await;
    let ((dr_one, _), (dr_two, _)) = two_practitioners(&app, &s).await;
    let (desk, _) = member(&app, &s, "front_desk", "Dan Desk", json!({})).await;
    let (status, appt) = app
        .post("/v1/appointments", &desk, booking(&s, &s.service_id, tuesday(10, 0), Some(&s.practitioners[0])))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{appt}");
    let appt_id = appt["id"].as_str().unwrap();
    let client = &s.client_id;

    assert_eq!(status_of(&app, &format!("/v1/clients/{client}"), &dr_one).await, StatusCode::OK);
    assert_eq!(status_of(&app, &format!("/v1/clients/{client}/medical"), &dr_one).await, StatusCode::OK);
    let (_, list) = app.get("/v1/clients?q=lovelace", &dr_one).await;
    assert_eq!(ids(&list), vec![client.clone()], "{list}");
    assert_eq!(status_of(&app, &format!("/v1/appointments/{appt_id}"), &dr_one).await, StatusCode::OK);
    let (status, again) = app.post("/v1/appointments", &dr_one, booking(&s, &s.service_id, tuesday(14, 0), None)).await;
    assert_eq!(status, StatusCode::CREATED, "she books her own client again: {again}");

    // Dr Two has never seen her: not her client, nor her appointment, nor on her calendar.
    assert_eq!(status_of(&app, &format!("/v1/clients/{client}"), &dr_two).await, StatusCode::NOT_FOUND);
    assert_eq!(status_of(&app, &format!("/v1/appointments/{appt_id}"), &dr_two).await, StatusCode::NOT_FOUND);
    let fee = format!("/v1/appointments/{appt_id}/fee-preview?action=cancel");
    assert_eq!(status_of(&app, &fee, &dr_two).await, StatusCode::NOT_FOUND);
    let (status, calendar) = app.get("/v1/appointments?from=2027-03-02&to=2027-03-02", &dr_two).await;
    assert_eq!((status, ids(&calendar)), (StatusCode::OK, vec![]), "{calendar}");
    let (_, calendar) = app.get("/v1/appointments?from=2027-03-02&to=2027-03-02", &dr_one).await;
    assert_eq!(ids(&calendar).len(), 2, "{calendar}");
    let (_, calendar) = app.get("/v1/appointments?from=2027-03-02&to=2027-03-02", &desk).await;
    assert_eq!(ids(&calendar).len(), 2, "the front desk sees the whole calendar: {calendar}");
}

#[tokio::test]
async fn a_client_booked_from_the_public_site_joins_only_her_practitioners_care_team() {
    let (app, _) = fixed_app().await;
    let s = setup(&app, "public-care").await;
    let ((dr_one, _), (dr_two, _)) = two_practitioners(&app, &s).await;
    let mut body = public_booking(&s, tuesday(10, 0), "grace@visitors.test", answers());
    body["practitioner_id"] = json!(s.practitioners[0]);
    let (status, appt) = app.call("POST", "/v1/public/public-care/appointments", None, Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{appt}");
    let client = appt["client_id"].as_str().unwrap();
    assert_eq!(status_of(&app, &format!("/v1/clients/{client}"), &dr_one).await, StatusCode::OK);
    assert_eq!(status_of(&app, &format!("/v1/clients/{client}"), &dr_two).await, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_client_moved_to_another_practitioner_joins_her_care_team_and_stays_in_the_first() {
    let (app, _) = fixed_app().await;
    let s = setup(&app, "moved-care").await;
    let ((dr_one, _), (dr_two, _)) = two_practitioners(&app, &s).await;
    let t = &s.clinic.token;
    let (_, appt) =
        app.post("/v1/appointments", t, booking(&s, &s.service_id, tuesday(10, 0), Some(&s.practitioners[0]))).await;
    let path = format!("/v1/appointments/{}", appt["id"].as_str().unwrap());
    let moved = json!({"action": "reschedule", "start": iso(tuesday(11, 0)), "practitioner_id": s.practitioners[1]});
    let (status, body) = app.patch(&path, t, moved).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(status_of(&app, &format!("/v1/clients/{}", s.client_id), &dr_two).await, StatusCode::OK);
    assert_eq!(status_of(&app, &format!("/v1/clients/{}", s.client_id), &dr_one).await, StatusCode::OK);
}

#[tokio::test]
async fn a_client_shared_with_a_practitioner_becomes_readable_and_unsharing_ends_it() {
    let (app, _) = fixed_app().await;
    let s = setup(&app, "shared").await;
    let ((dr_one, dr_one_id), (dr_two, _)) = two_practitioners(&app, &s).await;
    let t = &s.clinic.token;
    let client = &s.client_id;
    let share = format!("/v1/clients/{client}/care-team/{dr_one_id}");
    assert_eq!(status_of(&app, &format!("/v1/clients/{client}"), &dr_one).await, StatusCode::NOT_FOUND);

    // Only owners and managers share.
    let (status, _) = app.put(&share, &dr_two, json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (desk, _) = member(&app, &s, "front_desk", "Dan Desk", json!({})).await;
    assert_eq!(app.put(&share, &desk, json!({})).await.0, StatusCode::FORBIDDEN);

    let (manager, _) = member(&app, &s, "manager", "Mia Manager", json!({})).await;
    let (status, shared) = app.put(&share, &manager, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{shared}");
    assert_eq!(
        (shared["kind"].as_str(), shared["member_id"].as_str()),
        (Some("shared_with"), Some(dr_one_id.as_str()))
    );
    assert_eq!(status_of(&app, &format!("/v1/clients/{client}"), &dr_one).await, StatusCode::OK);
    assert_eq!(status_of(&app, &format!("/v1/clients/{client}/medical"), &dr_one).await, StatusCode::OK);
    let (_, list) = app.get("/v1/clients", &dr_one).await;
    assert_eq!(ids(&list), vec![client.clone()], "{list}");
    assert_eq!(status_of(&app, &format!("/v1/clients/{client}"), &dr_two).await, StatusCode::NOT_FOUND);

    let (status, _) = app.delete(&share, t).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(status_of(&app, &format!("/v1/clients/{client}"), &dr_one).await, StatusCode::NOT_FOUND);
    let (_, list) = app.get("/v1/clients", &dr_one).await;
    assert_eq!(ids(&list), Vec::<String>::new(), "{list}");
    assert_eq!(app.delete(&share, t).await.0, StatusCode::NOT_FOUND, "nothing left to unshare");

    // Unknown clients and members are not found; both changes are in the audit log.
    let (status, _) = app.put(&format!("/v1/clients/{client}/care-team/mem_nobody"), t, json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.put(&format!("/v1/clients/cli_nobody/care-team/{dr_one_id}"), t, json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, audit) = app.get(&format!("/v1/audit?entity_id={client}"), t).await;
    // (Reads of the medical file are there too, as `medical.read`.)
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .filter(|a| a.starts_with("client."))
        .collect();
    assert_eq!(actions[..2], ["client.unshared", "client.shared"], "{audit}");
}

#[tokio::test]
async fn a_practitioner_reads_the_client_she_records_and_her_colleague_does_not() {
    let (app, _) = fixed_app().await;
    let s = setup(&app, "recorded").await;
    let ((dr_one, _), (dr_two, _)) = two_practitioners(&app, &s).await;
    let (status, client) = app
        .post("/v1/clients", &dr_one, json!({"first_name": "Walk", "last_name": "In", "email": "walk@in.test"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{client}");
    let path = format!("/v1/clients/{}", client["id"].as_str().unwrap());
    assert_eq!(status_of(&app, &path, &dr_one).await, StatusCode::OK);
    assert_eq!(status_of(&app, &path, &dr_two).await, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_practitioner_keeps_the_clients_she_was_booked_with_before_care_links_existed() {
    let (app, _) = fixed_app().await;
    let s = setup(&app, "legacy").await;
    let ((dr_one, _), (dr_two, _)) = two_practitioners(&app, &s).await;
    let (status, appt) = app
        .post(
            "/v1/appointments",
            &s.clinic.token,
            booking(&s, &s.service_id, tuesday(10, 0), Some(&s.practitioners[0])),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{appt}");
    // As the booking would have been stored before this change: without its care link.
    let tenant = &s.clinic.tenant_id;
    let client = mas_domain::ids::ClientId::parse(&s.client_id).unwrap();
    let link = mas_domain::reach::CareLink::BookedWith {
        practitioner_id: mas_domain::ids::PractitionerId::parse(&s.practitioners[0]).unwrap(),
    };
    let key = mas_store::keys::care_link(tenant, &client, &link);
    let store = &app.app.store;
    assert!(store.table.get(&key).await.unwrap().is_some(), "the booking wrote the link");
    store.table.transact(vec![mas_ports::Write::delete(key.clone())]).await.unwrap();

    // Her client stays hers (found through the client's own bookings); never her colleague's.
    assert_eq!(status_of(&app, &format!("/v1/clients/{}", s.client_id), &dr_one).await, StatusCode::OK);
    assert_eq!(status_of(&app, &format!("/v1/clients/{}", s.client_id), &dr_two).await, StatusCode::NOT_FOUND);

    // The one-off backfill writes the link again (and only once), so her list has the client.
    let audit = mas_store::AuditContext {
        tenant_id: tenant.clone(),
        actor: "system".into(),
        role: None,
        request_id: mas_domain::ids::RequestId::new(),
    };
    let (from, to) = (tuesday(0, 0) - chrono::Duration::days(40), tuesday(0, 0) + chrono::Duration::days(40));
    assert_eq!(mas_usecases::care_team::backfill(store, &audit, from, to).await.unwrap(), 1);
    assert_eq!(mas_usecases::care_team::backfill(store, &audit, from, to).await.unwrap(), 0);
    let (_, list) = app.get("/v1/clients", &dr_one).await;
    assert_eq!(ids(&list), vec![s.client_id.clone()], "{list}");
}

#[tokio::test]
async fn a_practitioner_neither_reads_nor_prepares_documents_of_a_client_outside_her_care_team() {
    let (app, _) = fixed_app().await;
    let s = setup(&app, "care-docs").await;
    let ((dr_one, dr_one_id), _) = two_practitioners(&app, &s).await;
    let generate = crate::support::app::generate_body(&s.client_id, "Ada Lovelace");
    let (status, document) = app.post("/v1/documents/generate", &s.clinic.token, generate.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{document}");
    let id = document["id"].as_str().unwrap();
    for path in [format!("/v1/documents/{id}"), format!("/v1/documents/{id}/pdf")] {
        let (status, body) = app.get(&path, &dr_one).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
    }
    assert_eq!(app.post(&format!("/v1/documents/{id}/esign"), &dr_one, json!({})).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.delete(&format!("/v1/documents/{id}"), &dr_one).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.post("/v1/documents/generate", &dr_one, generate.clone()).await.0, StatusCode::NOT_FOUND);

    let share = format!("/v1/clients/{}/care-team/{dr_one_id}", s.client_id);
    assert_eq!(app.put(&share, &s.clinic.token, json!({})).await.0, StatusCode::OK);
    assert_eq!(status_of(&app, &format!("/v1/documents/{id}"), &dr_one).await, StatusCode::OK);
    assert_eq!(app.post("/v1/documents/generate", &dr_one, generate).await.0, StatusCode::CREATED);
}

/// A second location with its own practitioner, open every day.
async fn second_location(app: &TestApp, s: &Setup) -> (String, String) {
    let t = &s.clinic.token;
    let days = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
    let mut location = crate::support::app::location_body("Chelsea");
    location["opening_hours"] =
        json!(days.iter().map(|d| json!({"day": d, "start": "09:00", "end": "17:00"})).collect::<Vec<_>>());
    let (status, location) = app.post("/v1/locations", t, location).await;
    assert_eq!(status, StatusCode::CREATED, "{location}");
    let location_id = location["id"].as_str().unwrap().to_owned();
    let rules: Vec<Value> =
        days.iter().map(|d| json!({"location_id": location_id, "day": d, "start": "09:00", "end": "17:00"})).collect();
    let (status, p) = app
        .post(
            "/v1/practitioners",
            t,
            json!({"display_name": "Dr Chelsea", "specialties": ["injectables"], "working_rules": rules}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    (location_id, p["id"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn a_member_restricted_to_one_location_cannot_book_at_another() {
    let (app, _) = fixed_app().await;
    let s = setup(&app, "one-site").await;
    let (chelsea, _) = second_location(&app, &s).await;
    let (desk, _) = member(&app, &s, "front_desk", "Dan Desk", json!({"location_ids": [s.location_id]})).await;
    let mut elsewhere = booking(&s, &s.service_id, tuesday(10, 0), None);
    elsewhere["location_id"] = json!(chelsea);
    let (status, body) = app.post("/v1/appointments", &desk, elsewhere.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = app.post("/v1/appointments", &desk, booking(&s, &s.service_id, tuesday(10, 0), None)).await;
    assert_eq!(status, StatusCode::CREATED, "at her own location: {body}");
    let (status, body) = app.post("/v1/appointments", &s.clinic.token, elsewhere).await;
    assert_eq!(status, StatusCode::CREATED, "the owner works everywhere: {body}");
}

#[tokio::test]
async fn a_member_restricted_to_one_location_neither_sees_nor_changes_appointments_elsewhere() {
    let (app, _) = fixed_app().await;
    let s = setup(&app, "one-calendar").await;
    let (chelsea, _) = second_location(&app, &s).await;
    let t = &s.clinic.token;
    let (_, here) = app.post("/v1/appointments", t, booking(&s, &s.service_id, tuesday(10, 0), None)).await;
    let mut elsewhere = booking(&s, &s.service_id, tuesday(12, 0), None);
    elsewhere["location_id"] = json!(chelsea);
    let (status, there) = app.post("/v1/appointments", t, elsewhere).await;
    assert_eq!(status, StatusCode::CREATED, "{there}");
    let there_path = format!("/v1/appointments/{}", there["id"].as_str().unwrap());
    let (desk, _) = member(&app, &s, "front_desk", "Dan Desk", json!({"location_ids": [s.location_id]})).await;

    let (status, calendar) = app.get("/v1/appointments?from=2027-03-02&to=2027-03-02", &desk).await;
    assert_eq!((status, ids(&calendar)), (StatusCode::OK, vec![here["id"].as_str().unwrap().to_owned()]));
    let filtered = format!("/v1/appointments?from=2027-03-02&to=2027-03-02&location_id={chelsea}");
    assert_eq!(status_of(&app, &filtered, &desk).await, StatusCode::FORBIDDEN, "a filter for another location");
    assert_eq!(status_of(&app, &there_path, &desk).await, StatusCode::NOT_FOUND);
    assert_eq!(status_of(&app, &format!("{there_path}/fee-preview?action=cancel"), &desk).await, StatusCode::NOT_FOUND);
    let (status, _) = app.patch(&there_path, &desk, json!({"action": "cancel"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nor cancel it");
    let moved = json!({"action": "reschedule", "start": iso(tuesday(14, 0))});
    assert_eq!(app.patch(&there_path, &desk, moved).await.0, StatusCode::NOT_FOUND, "nor move it");
    let (_, still) = app.get(&there_path, t).await;
    assert_eq!(still["status"], there["status"], "untouched: {still}");

    // Nor do its payments reach a finance member of the first location.
    let (finance, _) = member(&app, &s, "finance", "Fay Finance", json!({"location_ids": [s.location_id]})).await;
    let there_id = there["id"].as_str().unwrap();
    assert_eq!(
        status_of(&app, &format!("/v1/payments?appointment_id={there_id}"), &finance).await,
        StatusCode::NOT_FOUND
    );
    let finalize = json!({"appointment_id": there_id, "collection_method": "in_person"});
    assert_eq!(app.post("/v1/payments/finalize", &finance, finalize).await.0, StatusCode::NOT_FOUND);
    let here_id = here["id"].as_str().unwrap();
    assert_eq!(status_of(&app, &format!("/v1/payments?appointment_id={here_id}"), &finance).await, StatusCode::OK);

    let (_, calendar) = app.get("/v1/appointments?from=2027-03-02&to=2027-03-02", t).await;
    assert_eq!(ids(&calendar).len(), 2, "the owner sees both: {calendar}");
}

#[tokio::test]
async fn a_member_restricted_to_one_location_is_offered_no_free_times_elsewhere() {
    let (app, _) = fixed_app().await;
    let s = setup(&app, "one-site-slots").await;
    let (chelsea, _) = second_location(&app, &s).await;
    let (desk, _) = member(&app, &s, "front_desk", "Dan Desk", json!({"location_ids": [s.location_id]})).await;
    let slots = |location: &str| {
        format!("/v1/availability?location_id={location}&service_id={}&from=2027-03-02&to=2027-03-02", s.service_id)
    };
    let explain = |location: &str| {
        format!(
            "/v1/availability/explain?location_id={location}&service_id={}&start=2027-03-02T10:00:00Z",
            s.service_id
        )
    };
    let (status, body) = app.get(&slots(&chelsea), &desk).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "free times at another location: {body}");
    assert_eq!(body["error"]["code"], "forbidden", "{body}");
    assert_eq!(status_of(&app, &explain(&chelsea), &desk).await, StatusCode::FORBIDDEN, "nor why a time is not free");
    let (status, body) = app.get(&slots(&s.location_id), &desk).await;
    assert_eq!(status, StatusCode::OK, "at her own location: {body}");
    assert!(!body["slots"].as_array().unwrap().is_empty(), "{body}");
    assert_eq!(status_of(&app, &explain(&s.location_id), &desk).await, StatusCode::OK);
    // Everyone else is offered both (empty `location_ids`: every location).
    let (everywhere, _) = member(&app, &s, "front_desk", "Eve Everywhere", json!({"location_ids": []})).await;
    assert_eq!(status_of(&app, &slots(&chelsea), &everywhere).await, StatusCode::OK);
    assert_eq!(status_of(&app, &slots(&chelsea), &s.clinic.token).await, StatusCode::OK);
}

#[tokio::test]
async fn a_manager_restricted_to_one_location_neither_sees_nor_changes_rooms_and_hours_elsewhere() {
    let (app, _) = fixed_app().await;
    let s = setup(&app, "one-site-rooms").await;
    let (chelsea, dr_chelsea) = second_location(&app, &s).await;
    let t = &s.clinic.token;
    let (status, room) =
        app.post("/v1/resources", t, json!({"name": "Chelsea laser", "kind": "device", "location_id": chelsea})).await;
    assert_eq!(status, StatusCode::CREATED, "{room}");
    let room_path = format!("/v1/resources/{}", room["id"].as_str().unwrap());
    let (manager, _) = member(&app, &s, "manager", "Max Manager", json!({"location_ids": [s.location_id]})).await;

    // Rooms and devices elsewhere are not hers to see (they are not on the clinic's site).
    let (status, list) = app.get("/v1/resources", &manager).await;
    assert_eq!((status, ids(&list)), (StatusCode::OK, vec![s.room_id.clone()]), "{list}");
    assert_eq!(status_of(&app, &room_path, &manager).await, StatusCode::NOT_FOUND);
    let (_, all) = app.get("/v1/resources", t).await;
    assert_eq!(ids(&all).len(), 2, "the owner sees both: {all}");

    // Nor to change: a room there, the location's hours, a practitioner working there.
    let new_room = json!({"name": "Another", "kind": "room", "location_id": chelsea});
    assert_eq!(app.post("/v1/resources", &manager, new_room).await.0, StatusCode::FORBIDDEN);
    let here_room = json!({"name": "Here", "kind": "room", "location_id": s.location_id});
    assert_eq!(app.post("/v1/resources", &manager, here_room).await.0, StatusCode::CREATED, "at hers");
    let moved = json!({"name": "Laser room", "kind": "room", "location_id": chelsea});
    let (status, body) = app.put(&format!("/v1/resources/{}", s.room_id), &manager, moved).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "nor move hers there: {body}");
    assert_eq!(app.delete(&room_path, &manager).await.0, StatusCode::NOT_FOUND);
    let (_, location) = app.get(&format!("/v1/locations/{chelsea}"), t).await;
    let mut hours = location.clone();
    for field in ["id", "version", "created_at", "updated_at", "archived"] {
        hours.as_object_mut().unwrap().remove(field);
    }
    hours["name"] = json!("Chelsea (closed)");
    let (status, body) = app.put(&format!("/v1/locations/{chelsea}"), &manager, hours.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(
        app.post("/v1/locations", &manager, crate::support::app::location_body("Soho")).await.0,
        StatusCode::FORBIDDEN
    );
    let time_off = json!({"kind": "time_off", "starts_at": iso(tuesday(9, 0)), "ends_at": iso(tuesday(17, 0))});
    let exceptions = format!("/v1/practitioners/{dr_chelsea}/exceptions");
    let (status, body) = app.post(&exceptions, &manager, time_off.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) =
        app.post(&format!("/v1/practitioners/{}/exceptions", s.practitioners[0]), &manager, time_off).await;
    assert_eq!(status, StatusCode::CREATED, "a practitioner of hers: {body}");
    let (_, unchanged) = app.get(&format!("/v1/locations/{chelsea}"), t).await;
    assert_eq!(unchanged, location, "untouched");
    assert_eq!(app.put(&format!("/v1/locations/{chelsea}"), t, hours).await.0, StatusCode::OK, "the owner may");
}

#[tokio::test]
async fn clients_booked_before_care_teams_join_her_list_once_the_owner_runs_the_backfill_and_a_second_run_changes_nothing()
 {
    let (app, _) = fixed_app().await;
    let s = setup(&app, "backfill").await;
    let ((dr_one, _), _) = two_practitioners(&app, &s).await;
    let t = &s.clinic.token;
    let (status, appt) =
        app.post("/v1/appointments", t, booking(&s, &s.service_id, tuesday(10, 0), Some(&s.practitioners[0]))).await;
    assert_eq!(status, StatusCode::CREATED, "{appt}");
    // As the booking would have been stored before care links existed: without its link.
    let tenant = &s.clinic.tenant_id;
    let client = mas_domain::ids::ClientId::parse(&s.client_id).unwrap();
    let link = mas_domain::reach::CareLink::BookedWith {
        practitioner_id: mas_domain::ids::PractitionerId::parse(&s.practitioners[0]).unwrap(),
    };
    let key = mas_store::keys::care_link(tenant, &client, &link);
    let store = &app.app.store;
    store.table.transact(vec![mas_ports::Write::delete(key.clone())]).await.unwrap();
    let (_, list) = app.get("/v1/clients", &dr_one).await;
    assert_eq!(ids(&list), Vec::<String>::new(), "not in her list yet: {list}");

    // Only the owner runs it.
    let (manager, _) = member(&app, &s, "manager", "Max Manager", json!({})).await;
    assert_eq!(app.post("/v1/care-team/backfill", &manager, json!({})).await.0, StatusCode::FORBIDDEN);
    assert_eq!(app.post("/v1/care-team/backfill", &dr_one, json!({})).await.0, StatusCode::FORBIDDEN);

    // The owner asks until it is done (each answer does what fits in one request).
    let mut run = Value::Null;
    for _ in 0..20 {
        let (status, body) = app.post("/v1/care-team/backfill", t, json!({})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        run = body;
        if run["status"] == "done" {
            break;
        }
    }
    assert_eq!(run["status"], "done", "{run}");
    assert_eq!(run["links_written"], 1, "{run}");
    assert!(store.table.get(&key).await.unwrap().is_some(), "the link is back");
    let (_, list) = app.get("/v1/clients", &dr_one).await;
    assert_eq!(ids(&list), vec![s.client_id.clone()], "in her list now: {list}");

    // Again: the same record, and nothing written (not even an audit record; the clinic's
    // background work, a rendered PDF, may add its own meanwhile).
    let care_records = |audit: Value| -> Vec<Value> {
        let items = audit["items"].as_array().unwrap().clone();
        items.into_iter().filter(|r| r["action"].as_str().unwrap().starts_with("care")).collect()
    };
    let before = care_records(app.get("/v1/audit", t).await.1);
    let (status, again) = app.post("/v1/care-team/backfill", t, json!({})).await;
    assert_eq!((status, &again), (StatusCode::OK, &run));
    assert_eq!(care_records(app.get("/v1/audit", t).await.1), before);
    assert_eq!(
        store.table.get(&mas_store::keys::care_backfill(tenant)).await.unwrap().unwrap()["version"],
        run["version"]
    );
}

#[tokio::test]
async fn a_backfill_cut_short_resumes_from_the_first_month_not_done() {
    let (app, _) = fixed_app().await;
    let s = setup(&app, "backfill-resume").await;
    let (status, appt) = app
        .post(
            "/v1/appointments",
            &s.clinic.token,
            booking(&s, &s.service_id, tuesday(10, 0), Some(&s.practitioners[0])),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{appt}");
    let tenant = &s.clinic.tenant_id;
    let client = mas_domain::ids::ClientId::parse(&s.client_id).unwrap();
    let link = mas_domain::reach::CareLink::BookedWith {
        practitioner_id: mas_domain::ids::PractitionerId::parse(&s.practitioners[0]).unwrap(),
    };
    let key = mas_store::keys::care_link(tenant, &client, &link);
    let store = &app.app.store;
    store.table.transact(vec![mas_ports::Write::delete(key.clone())]).await.unwrap();
    let audit = mas_store::AuditContext {
        tenant_id: tenant.clone(),
        actor: "system".into(),
        role: None,
        request_id: mas_domain::ids::RequestId::new(),
    };
    let signed_up = mas_usecases::tenants::tenant(store, tenant).await.unwrap().created_at;
    let one_month = mas_usecases::care_team::Budget { time: std::time::Duration::MAX, max_months: 1 };
    let mut months = Vec::new();
    loop {
        let run = mas_usecases::care_team::run_backfill(store, &audit, signed_up, one_month).await.unwrap();
        months.push(run.next_month);
        if run.status == mas_domain::reach::BackfillStatus::Done {
            assert_eq!(run.links_written, 1);
            break;
        }
    }
    let distinct: std::collections::BTreeSet<_> = months.iter().collect();
    assert_eq!(distinct.len(), months.len(), "each call went on from where the last stopped: {months:?}");
    assert!(store.table.get(&key).await.unwrap().is_some());
}
