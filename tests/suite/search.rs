//! The staff search box (`GET /v1/search`), black-box over HTTP: clients by any word of their
//! name from its second letter with one slip forgiven, exact emails, phones and booking numbers,
//! products by name; renames and erasures reflected at once; nothing of another clinic, and a
//! practitioner's care team only.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::booking::{Setup, booking, create_client, fixed_app, setup, tuesday};
use crate::support::app::*;

async fn search(app: &TestApp, token: &str, q: &str) -> Value {
    let path = format!("/v1/search?q={}", q.replace(' ', "%20").replace('+', "%2B"));
    let (status, found) = app.get(&path, token).await;
    assert_eq!(status, StatusCode::OK, "{q}: {found}");
    found
}

/// The full names of the clients found, best first.
fn names(found: &Value) -> Vec<String> {
    found["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| format!("{} {}", c["first_name"].as_str().unwrap(), c["last_name"].as_str().unwrap()))
        .collect()
}

async fn clients_of(app: &TestApp, s: &Setup) {
    for (first, last) in [("Sarah", "Jones"), ("Sara", "Johnson"), ("Zoë", "O'Brien"), ("Tom", "Thompson")] {
        create_client(app, &s.clinic, first, last).await;
    }
}

#[tokio::test]
async fn the_box_finds_a_client_by_any_word_of_her_name_from_its_second_letter_and_forgives_one_slip() {
    let (app, _) = fixed_app().await;
    let s = setup(&app, "search-names").await;
    clients_of(&app, &s).await;
    let t = &s.clinic.token;
    let mut both = names(&search(&app, t, "sa").await);
    both.sort();
    assert_eq!(both, ["Sara Johnson", "Sarah Jones"], "two letters of a first name");
    assert_eq!(
        names(&search(&app, t, "sara").await),
        ["Sara Johnson", "Sarah Jones"],
        "the same word before a longer one"
    );
    assert_eq!(names(&search(&app, t, "jones").await), ["Sarah Jones"], "a last name alone");
    let mut both = names(&search(&app, t, "jo sar").await);
    both.sort();
    assert_eq!(both, ["Sara Johnson", "Sarah Jones"], "words in any order");
    assert_eq!(names(&search(&app, t, "jon").await), ["Sarah Jones"], "three letters are the start of a word, exactly");
    assert_eq!(
        names(&search(&app, t, "sarah").await),
        ["Sarah Jones", "Sara Johnson"],
        "the word, then one slip from it"
    );
    assert_eq!(names(&search(&app, t, "sarh jones").await), ["Sarah Jones"], "a letter left out");
    assert_eq!(names(&search(&app, t, "thompsen").await), ["Tom Thompson"], "a letter changed");
    assert_eq!(names(&search(&app, t, "tohmpson").await), ["Tom Thompson"], "two letters swapped");
    assert_eq!(names(&search(&app, t, "zoe obrien").await), ["Zoë O'Brien"], "accents and apostrophes folded");
    assert_eq!(names(&search(&app, t, "Zoë").await), ["Zoë O'Brien"]);
    assert!(names(&search(&app, t, "sra").await).is_empty(), "three letters must be the start of a word");
    assert!(names(&search(&app, t, "smith").await).is_empty());
    assert!(names(&search(&app, t, "sarah thompson").await).is_empty(), "every word must answer");

    for bad in ["", "%20", "x", "BK-12", "not@an@email"] {
        let (status, body) = app.get(&format!("/v1/search?q={bad}"), t).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert_eq!(body["error"]["code"], "invalid_query", "{body}");
    }
    let (status, _) = app.call("GET", "/v1/search?q=sarah", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn emails_phones_and_booking_numbers_are_exact_and_another_clinics_records_are_never_found() {
    let (app, _) = fixed_app().await;
    let s = setup(&app, "search-exact").await;
    let t = &s.clinic.token;
    let (status, phoned) = app
        .post("/v1/clients", t, json!({"first_name": "Priya", "last_name": "Patel", "phone": "+447700900123"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{phoned}");
    let (status, booked) = app.post("/v1/appointments", t, booking(&s, &s.service_id, tuesday(10, 0), None)).await;
    assert_eq!(status, StatusCode::CREATED, "{booked}");
    let number = booked["confirmation_number"].as_str().unwrap();

    assert_eq!(names(&search(&app, t, "ada.lovelace@clients.test").await), ["Ada Lovelace"]);
    assert_eq!(names(&search(&app, t, "+44 7700 900123").await), ["Priya Patel"]);
    let found = search(&app, t, &number.to_lowercase()).await;
    assert_eq!(found["appointments"][0]["id"], booked["id"], "{found}");
    assert_eq!(found["appointments"][0]["client_id"], json!(s.client_id));
    assert!(found["appointments"][0].get("notes").is_none(), "a hit carries no notes: {found}");

    // Clinic B, with a client of the same name, finds its own and nothing of A's.
    let b = setup(&app, "search-exact-b").await;
    let own = search(&app, &b.clinic.token, "ada").await;
    assert_eq!(own["clients"].as_array().unwrap().len(), 1);
    assert_eq!(own["clients"][0]["id"], json!(b.client_id), "B's own Ada, not A's: {own}");
    for q in ["priya", "ada.lovelace@clients.test", "+447700900123", number] {
        let found = search(&app, &b.clinic.token, q).await;
        let text = found.to_string();
        assert!(!text.contains(&s.client_id) && !text.contains(phoned["id"].as_str().unwrap()), "{q}: {found}");
        assert!(found["appointments"].as_array().unwrap().is_empty(), "{q}: {found}");
    }
}

#[tokio::test]
async fn a_renamed_client_is_found_by_her_new_name_only_and_an_erased_one_by_nothing() {
    let (app, _) = fixed_app().await;
    let s = setup(&app, "search-changes").await;
    let t = &s.clinic.token;
    let id = create_client(&app, &s.clinic, "Grace", "Hopper").await;
    let (status, renamed) =
        app.patch(&format!("/v1/clients/{id}"), t, json!({"version": 1, "last_name": "Brewster"})).await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    assert!(names(&search(&app, t, "hopper").await).is_empty(), "the old name is gone");
    assert_eq!(names(&search(&app, t, "grace brew").await), ["Grace Brewster"]);

    let (status, erased) =
        app.post(&format!("/v1/clients/{id}/erase"), t, json!({"confirmation": "grace.hopper@clients.test"})).await;
    assert_eq!(status, StatusCode::OK, "{erased}");
    assert!(names(&search(&app, t, "grace").await).is_empty(), "an erased client is found by nothing");
    assert!(names(&search(&app, t, "grace.hopper@clients.test").await).is_empty());
    // Nothing of her name is left in the index.
    for key in mas_domain::search::filing_keys("grace") {
        let query = mas_ports::Query::partition(mas_store::keys::search_pk(&s.clinic.tenant_id, &key));
        let left = app.app.store.table.query_all(&query).await.unwrap();
        assert!(left.iter().all(|item| item["client_id"] != json!(id)), "{key}: {left:?}");
    }
}

#[tokio::test]
async fn a_practitioner_finds_only_her_care_team_and_products_by_name() {
    let (app, _) = fixed_app().await;
    let s = setup(&app, "search-reach").await;
    clients_of(&app, &s).await;
    let (practitioner, _) = app.member_token(&s.clinic, "practitioner").await;
    assert!(names(&search(&app, &practitioner, "jones").await).is_empty(), "never booked with her");
    assert_eq!(names(&search(&app, &s.clinic.token, "jones").await), ["Sarah Jones"]);

    let (status, serum) = app
        .post(
            "/v1/products",
            &s.clinic.token,
            json!({"sku": "HY-SERUM", "name": "Hydrating serum", "kind": "retail",
                "retail_price": {"amount_minor": 4500}, "reorder_level": 1, "reorder_quantity": 6}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{serum}");
    for q in ["hydr", "serm", "hy-serum"] {
        let found = search(&app, &s.clinic.token, q).await;
        assert_eq!(found["products"][0]["id"], serum["id"], "{q}: {found}");
    }
    assert!(search(&app, &s.clinic.token, "cream").await["products"].as_array().unwrap().is_empty());
}
