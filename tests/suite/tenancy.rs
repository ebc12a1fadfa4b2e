//! Tenant isolation, route by route: a token of clinic B aimed at clinic A's ids gets 404 (or
//! 403) and never a byte of A's data, and A's stored items do not change.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::app::*;

/// Clinic B's own ids, for routes whose bodies refer to them.
struct Own<'a> {
    location_id: &'a str,
    reader_id: &'a str,
    service_id: &'a str,
    client_id: &'a str,
}

fn body_for(method: &str, path: &str, own: &Own) -> Option<Value> {
    if !matches!(method, "POST" | "PUT" | "PATCH") {
        return None;
    }
    let collection = path.split('/').nth(2).unwrap_or_default();
    let location_id = own.location_id;
    Some(match (collection, path.ends_with("/exceptions")) {
        ("practitioners", true) => exception_body(),
        ("clients", _) if path.ends_with("/medical") => medical_body(),
        ("clients", _) if path.ends_with("/memberships") => json!({"plan_id": "mpl_01j00000000000000000000000"}),
        ("clients", _) if path.ends_with("/erase") => json!({"confirmation": "intruder@b.test"}),
        ("clients", _) if path.ends_with("/preferences") => {
            json!({"email": {"transactional": true, "marketing": true}, "sms": {"transactional": false, "marketing": false}})
        }
        ("review-settings", _) => json!({"send_requests": true}),
        ("webhook-endpoints", _) => json!({"url": "https://b-partner.example.com/hook", "kinds": ["sale.completed"]}),
        ("api-keys", _) => json!({"name": "B key", "scopes": ["catalog:read"]}),
        ("reviews", _) if path.ends_with("/reply") => json!({"text": "Intruder reply"}),
        ("notification-settings", _) => {
            serde_json::to_value(mas_domain::notifications::NotificationSettings::default()).unwrap()
        }
        ("clients", _) if path.ends_with("/loyalty/adjustments") => json!({"points": 10, "reason": "intruder"}),
        ("loyalty", _) => json!({"enabled": true, "points_per_unit": 1,
            "earn_on": {"services": true, "products": true, "packages": true},
            "reward_points": 100, "reward_minor": 500, "min_redemption_points": 100}),
        ("clients", _) if method == "PATCH" => json!({"version": 1, "first_name": "Intruder"}),
        ("clients", _) => client_body("Intruder", "B", Some("intruder@b.test")),
        ("screening", _) => json!({"service_id": own.service_id, "answers": medical_body()}),
        ("services", _) if path.ends_with("/usage") => json!({"lines": []}),
        ("locations", _) => location_body("Intruder"),
        ("services", _) => service_body("Intruder service"),
        ("practitioners", _) => practitioner_body(location_id),
        ("resources", _) => resource_body(location_id),
        ("team", _) => json!({"email": "intruder@b.test", "name": "Intruder", "role": "support"}),
        ("brand", _) => json!({"theme": "luxury_noir"}),
        ("templates", _) => template_body("1.0.0"),
        ("documents", _) if path.ends_with("/generate") => generate_body(own.client_id, "B client"),
        ("policies", _) => json!({"hold_minutes": 20}),
        ("commissions", _) => json!({"rules": [{"applies_to": {"kind": "all_services"},
            "rate": {"kind": "percent", "tiers": [{"from_minor": 0, "percent_bps": 1000}]}}]}),
        ("appointments", _) if method == "PATCH" => json!({"action": "cancel"}),
        ("payments", _) => json!({"amount": 100, "reason": "intruder"}),
        ("card-readers", _) => {
            json!({"location_id": location_id, "registration_code": "simulated-wpe", "label": "B desk"})
        }
        ("desk-payments", _) => json!({"method": "reader", "reader_id": own.reader_id, "location_id": location_id,
            "amount_minor": 1000}),
        ("products", _) if path.ends_with("/receive") => json!({"location_id": location_id, "quantity": 1}),
        ("products", _) if path.ends_with("/adjust") => {
            json!({"location_id": location_id, "reason": "count", "counted": 0})
        }
        ("products", _) => json!({"sku": "B-CREAM", "name": "B cream", "kind": "retail",
            "retail_price": {"amount_minor": 500}, "reorder_level": 1, "reorder_quantity": 6}),
        ("courses", _) if method == "PUT" => json!({"version": 1, "course": course_body("B-course")}),
        ("courses", _) => course_body("B-course"),
        ("cohorts", _) if path.ends_with("/logbook") => sign_off_body(),
        ("cohorts", _) if path.ends_with("/enrolments") => json!({"name": "Intruder", "email": "intruder@b.test"}),
        ("cohorts", _) if method == "PUT" => json!({"version": 1, "starts_on": "2030-01-01", "ends_on": "2030-01-02",
            "seats": 1, "educator_id": "mem_01j00000000000000000000000", "status": "closed"}),
        ("sales", _) if path.ends_with("/void") => json!({"reason": "intruder"}),
        ("gift-cards", _) if path.ends_with("/void") => json!({"reason": "intruder"}),
        ("packages", _) if path.ends_with("/void") => json!({"reason": "intruder"}),
        ("memberships", _) => json!({"action": "pause"}),
        ("membership-plans", _) => json!({"name": "B club", "price": {"amount_minor": 3000}}),
        ("package-templates", _) => json!({"name": "B course", "service_ids": [own.service_id], "sessions": 3,
            "price": {"amount_minor": 30000}, "validity_months": 12}),
        ("sales", _) if path.ends_with("/refund") => json!({"to": "cash", "reason": "intruder"}),
        ("sales", _) => json!({"location_id": location_id, "client_id": own.client_id, "lines": [
            {"kind": "product", "name": "B product", "quantity": 1, "unit_price_minor": 500,
             "tax": {"rate_bp": 0, "mode": "inclusive"}}],
            "tenders": [{"method": "cash", "tendered_minor": 500}]}),
        _ => json!({}),
    })
}

/// A course with one module of one lesson and one practical, free.
fn course_body(title: &str) -> Value {
    json!({"title": title, "slug": title.to_lowercase(), "price_minor": 0,
        "modules": [{"title": "One", "lessons": [{"title": "Only", "body": "Text."}]}],
        "competencies": [{"name": "Toxin", "required": 1}]})
}

/// A logbook entry: the course's practical, observed and competent.
fn sign_off_body() -> Value {
    json!({"competency": "Toxin", "performed_on": "2026-01-05", "model": {"kind": "named", "name": "A-secret-model"},
        "outcome": "competent"})
}

#[tokio::test]
async fn another_clinics_token_gets_404_or_403_and_none_of_its_data_on_every_route() {
    let app = spawn_app().await;
    let a = app.sign_up("clinic-a").await;
    let b = app.sign_up("clinic-b").await;
    // B's custom domain waits for its proof, which B has published (so B's own check succeeds).
    let (_, b_brand) = app.put("/v1/brand", &b.token, json!({"domain": "www.clinic-b.example"})).await;
    let proof = &b_brand["domain_verification"];
    let record = (proof["record_name"].as_str().unwrap(), proof["record_value"].as_str().unwrap().to_owned());
    app.host.dns.as_ref().expect("recorded DNS").set(record.0, vec![record.1]);

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
    let (_, client) =
        app.post("/v1/clients", &a.token, client_body("A-secret-client", "Doe", Some("a-client@secret.test"))).await;
    let client_id = client["id"].as_str().unwrap().to_owned();
    let mut answers = medical_body();
    answers["medications"] = json!("A-secret-medication");
    let (status, _) = app.put(&format!("/v1/clients/{client_id}/medical"), &a.token, answers).await;
    assert_eq!(status, StatusCode::OK);
    // A connects its own Stripe account, so B has A's connection to miss (B's own is its own).
    let a_account = crate::connect::connect(&app, &a).await;
    let monday = next_monday();
    // A asks a deposit, so its appointment has a payment for B to aim at.
    let (status, _) = app.put("/v1/policies", &a.token, json!({"deposit": {"kind": "percent", "percent": 20}})).await;
    assert_eq!(status, StatusCode::CREATED);
    let booking = json!({"location_id": location_id, "service_id": service["id"], "client_id": client_id,
        "start": format!("{monday}T10:00:00Z")});
    let (status, appointment) = app.post("/v1/appointments", &a.token, booking.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{appointment}");
    let appointment_id = appointment["id"].as_str().unwrap().to_owned();
    let deposit = json!({"tenant_slug": a.slug, "appointment_id": appointment_id,
        "confirmation_number": appointment["confirmation_number"]});
    let (status, intent) = app.call("POST", "/v1/payments/deposit-intent", None, Some(deposit)).await;
    assert_eq!(status, StatusCode::CREATED, "{intent}");
    let (status, paid) =
        app.call("POST", &format!("/local/pay/{}", intent["intent_id"].as_str().unwrap()), None, None).await;
    assert_eq!((status, paid["webhook"]["status"].as_u64()), (StatusCode::OK, Some(200)), "{paid}");
    let payment_id = intent["payment_id"].as_str().unwrap().to_owned();
    let finalize = json!({"appointment_id": appointment_id, "collection_method": "in_person"});
    let (_, template) = app.post("/v1/templates", &a.token, template_body("1.0.0")).await;
    let a_client = mas_domain::ids::ClientId::parse(&client_id).unwrap();
    let (_, document) =
        app.post("/v1/documents/generate", &a.token, generate_body(a_client.as_str(), "A-secret-client")).await;
    let document_id = document["id"].as_str().unwrap().to_owned();
    // A runs a loyalty programme, so its client's sale earns points B must not see or move.
    let programme = json!({"enabled": true, "points_per_unit": 1,
        "earn_on": {"services": true, "products": true, "packages": true},
        "reward_points": 100, "reward_minor": 500, "min_redemption_points": 100});
    let (status, programme) = app.put("/v1/loyalty/programme", &a.token, programme).await;
    assert_eq!(status, StatusCode::OK, "{programme}");
    // A sells at its desk, so B has a sale to aim at (void, refund, read), and a gift card (look
    // up by its code, read, void).
    let sale = json!({"location_id": location_id, "client_id": client_id, "lines": [
        {"kind": "product", "name": "A-secret-product", "quantity": 1, "unit_price_minor": 1000,
         "tax": {"rate_bp": 0, "mode": "inclusive"}},
        {"kind": "gift_card", "name": "Gift card", "unit_price_minor": 2500, "gift_card": {"name": "A-secret-recipient"}}],
        "tenders": [{"method": "cash", "tendered_minor": 3500}]});
    let (status, sale) = app.post("/v1/sales", &a.token, sale).await;
    assert_eq!(status, StatusCode::CREATED, "{sale}");
    let sale_id = sale["id"].as_str().unwrap().to_owned();
    // A sells its client a package of sessions, so B has a template and a package to aim at.
    let course = json!({"name": "A-secret-course", "service_ids": [service["id"]], "sessions": 6,
        "price": {"amount_minor": 60000}, "validity_months": 12});
    let (status, package_template) = app.post("/v1/package-templates", &a.token, course).await;
    assert_eq!(status, StatusCode::CREATED, "{package_template}");
    let package_template_id = package_template["id"].as_str().unwrap().to_owned();
    let sell = json!({"location_id": location_id, "client_id": client_id, "lines": [
        {"kind": "package", "name": "Course", "unit_price_minor": 60000, "package_template_id": package_template_id}],
        "tenders": [{"method": "cash", "tendered_minor": 60000}]});
    let (status, package_sale) = app.post("/v1/sales", &a.token, sell).await;
    assert_eq!(status, StatusCode::CREATED, "{package_sale}");
    let package_id = package_sale["sold_packages"][0]["id"].as_str().unwrap().to_owned();
    let gift_card_id = sale["issued_gift_cards"][0]["gift_card"]["id"].as_str().unwrap().to_owned();
    let gift_code = sale["issued_gift_cards"][0]["code"].as_str().unwrap().to_owned();
    // A stocks a product, sells one and says what a treatment uses, so B has a product, its
    // movements, a location's levels and a service's usage list to aim at.
    let cream = json!({"sku": "A-SECRET-SKU", "name": "A-secret-cream", "kind": "retail",
        "retail_price": {"amount_minor": 1000}, "reorder_level": 5, "reorder_quantity": 6});
    let (status, product) = app.post("/v1/products", &a.token, cream).await;
    assert_eq!(status, StatusCode::CREATED, "{product}");
    let product_id = product["id"].as_str().unwrap().to_owned();
    // A publishes a course, runs a cohort of it and enrols a student at the desk, so B has a
    // course, its versions, a cohort, its roster and an enrolment to aim at.
    let (status, course) = app.post("/v1/courses", &a.token, course_body("A-secret-academy-course")).await;
    assert_eq!(status, StatusCode::CREATED, "{course}");
    let course_id = course["id"].as_str().unwrap().to_owned();
    let (status, _) = app.post(&format!("/v1/courses/{course_id}/publish"), &a.token, json!(null)).await;
    assert_eq!(status, StatusCode::CREATED);
    let cohort_body = json!({"course_id": course_id, "starts_on": "2030-01-01", "ends_on": "2030-01-02", "seats": 3,
        "educator_id": member_id});
    let (status, cohort) = app.post("/v1/cohorts", &a.token, cohort_body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{cohort}");
    let cohort_id = cohort["id"].as_str().unwrap().to_owned();
    let student = json!({"name": "A-secret-student", "email": "a-student@secret.test"});
    let (status, enrolment) = app.post(&format!("/v1/cohorts/{cohort_id}/enrolments"), &a.token, student).await;
    assert_eq!(status, StatusCode::CREATED, "{enrolment}");
    let enrolment_id = enrolment["id"].as_str().unwrap().to_owned();
    // The student does the course's one lesson, and A signs her off (its one practical): the
    // enrolment completes and the
    // render worker issues its certificate, so B has a logbook and a certificate to aim at.
    let session = crate::academy_student::sign_in(&app, &a.slug, "a-student@secret.test").await;
    let lesson = format!("/v1/learn/cohorts/{cohort_id}/lessons/1/1/complete");
    let (status, done) = app.post(&lesson, &session, json!(null)).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    let signed = app
        .post(&format!("/v1/cohorts/{cohort_id}/enrolments/{enrolment_id}/logbook"), &a.token, sign_off_body())
        .await;
    assert_eq!(signed.0, StatusCode::CREATED, "{}", signed.1);
    assert!(signed.1["completed_at"].is_string(), "{}", signed.1);
    let certificate_number = crate::academy_certs::certificate_of(&app, &a.token, 1).await.remove(0);
    let delivery = json!({"location_id": location_id, "quantity": 6});
    let (status, _) = app.post(&format!("/v1/products/{product_id}/receive"), &a.token, delivery).await;
    assert_eq!(status, StatusCode::CREATED);
    let sell_cream = json!({"location_id": location_id, "client_id": client_id, "lines": [{"kind": "product", "name": "Cream",
        "sku": "A-SECRET-SKU", "unit_price_minor": 1000}], "tenders": [{"method": "cash", "tendered_minor": 1000}]});
    let (status, _) = app.post("/v1/sales", &a.token, sell_cream).await;
    assert_eq!(status, StatusCode::CREATED);
    let usage = json!({"lines": [{"sku": "A-SECRET-SKU", "quantity": 1}]});
    let (status, _) =
        app.put(&format!("/v1/services/{}/usage", service["id"].as_str().unwrap()), &a.token, usage).await;
    assert_eq!(status, StatusCode::OK);
    // A's client joins a membership plan, so B has a plan and a membership to aim at.
    let club = json!({"name": "A-secret-club", "price": {"amount_minor": 4900}, "credits_per_month": 1,
        "service_ids": [service["id"]]});
    let (status, membership_plan) = app.post("/v1/membership-plans", &a.token, club).await;
    assert_eq!(status, StatusCode::CREATED, "{membership_plan}");
    let membership_plan_id = membership_plan["id"].as_str().unwrap().to_owned();
    let join = json!({"plan_id": membership_plan_id});
    let (status, membership) = app.post(&format!("/v1/clients/{client_id}/memberships"), &a.token, join).await;
    assert_eq!(status, StatusCode::CREATED, "{membership}");
    let membership_id = membership["id"].as_str().unwrap().to_owned();
    // A takes a card at its desk, so B has a reader and a desk payment to aim at.
    let reader = json!({"location_id": location_id, "registration_code": "simulated-wpe", "label": "A-secret-reader"});
    let (status, reader) = app.post("/v1/card-readers", &a.token, reader).await;
    assert_eq!(status, StatusCode::CREATED, "{reader}");
    let reader_id = reader["id"].as_str().unwrap().to_owned();
    let card = json!({"method": "reader", "reader_id": reader_id, "location_id": location_id, "amount_minor": 1000});
    let (status, desk_payment) = app.post("/v1/desk-payments", &a.token, card).await;
    assert_eq!(status, StatusCode::CREATED, "{desk_payment}");
    let desk_payment_id = desk_payment["id"].as_str().unwrap().to_owned();
    // A's client waits for a time, so B has a waitlist entry to aim at.
    let wish = json!({"client_id": client_id, "location_id": location_id, "service_id": service["id"],
        "window": {"from_date": monday, "to_date": monday}});
    let (status, entry) = app.post("/v1/waitlist", &a.token, wish.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{entry}");
    let waitlist_id = entry["id"].as_str().unwrap().to_owned();
    // A's client reviewed her visit, so B has a review to aim at (written as the link's submit
    // would: the visit cannot be completed before its time here).
    let review = mas_domain::review::Review {
        id: mas_domain::ids::AppointmentId::parse(&appointment_id).unwrap(),
        client_id: mas_domain::ids::ClientId::parse(&client_id).unwrap(),
        location_id: mas_domain::ids::LocationId::parse(&location_id).unwrap(),
        service_name: "A-secret-service".into(),
        rating: mas_domain::review::Rating::parse(5).unwrap(),
        text: "A-secret-review".into(),
        display_name: "A-secret-reviewer".into(),
        status: mas_domain::review::ReviewStatus::Pending,
        submitted_at: chrono::Utc::now(),
        moderated_by: None,
        moderated_at: None,
        published_at: None,
        reply: None,
        version: 1,
    };
    let review_key = mas_store::keys::review(&a.tenant_id, &review.id);
    let item = mas_store::to_item(&review_key, "review", &review).unwrap();
    app.app.store.table.transact(vec![mas_ports::Write::put(item)]).await.unwrap();
    // Let A's PDF render first, so nothing of A's is being written while B probes.
    wait_for_pdf(&app, &a.token, &document_id, "pdf").await;

    // A partner webhook endpoint and an API key of A's (its secret and key are A's secrets too).
    let (status, endpoint) = app
        .post(
            "/v1/webhook-endpoints",
            &a.token,
            json!({"url": "https://a-secret-partner.example.com/hook", "kinds": ["booking.confirmed"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{endpoint}");
    let endpoint_id = endpoint["id"].as_str().unwrap().to_owned();
    let (status, api_key) =
        app.post("/v1/api-keys", &a.token, json!({"name": "A-secret-key", "scopes": ["clients:read"]})).await;
    assert_eq!(status, StatusCode::CREATED, "{api_key}");
    let api_key_id = api_key["id"].as_str().unwrap().to_owned();

    let id_of = |collection: &str| -> String {
        match collection {
            "locations" => location_id.clone(),
            "resources" => resource["id"].as_str().unwrap().to_owned(),
            "services" => service["id"].as_str().unwrap().to_owned(),
            "practitioners" => practitioner["id"].as_str().unwrap().to_owned(),
            "team" => member_id.clone(),
            "templates" => template["id"].as_str().unwrap().to_owned(),
            "documents" => document_id.clone(),
            "appointments" => appointment_id.clone(),
            "clients" => client_id.clone(),
            "payments" => payment_id.clone(),
            "sales" => sale_id.clone(),
            "gift-cards" => gift_card_id.clone(),
            "package-templates" => package_template_id.clone(),
            "packages" => package_id.clone(),
            "membership-plans" => membership_plan_id.clone(),
            "memberships" => membership_id.clone(),
            "card-readers" => reader_id.clone(),
            "desk-payments" => desk_payment_id.clone(),
            "waitlist" => waitlist_id.clone(),
            "reviews" => appointment_id.clone(),
            "products" => product_id.clone(),
            "courses" => course_id.clone(),
            "cohorts" => cohort_id.clone(),
            "certificates" => certificate_number.clone(),
            "webhook-endpoints" => endpoint_id.clone(),
            "api-keys" => api_key_id.clone(),
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
        appointment_id.clone(),
        "A-secret-location".into(),
        "A-secret-service".into(),
        "owner@clinic-a.test".into(),
        id_of("templates"),
        document_id.clone(),
        client_id.clone(),
        "A-secret-client".into(),
        "a-client@secret.test".into(),
        "A-secret-medication".into(),
        payment_id.clone(),
        intent["intent_id"].as_str().unwrap().to_owned(),
        a_account.clone(),
        gift_card_id.clone(),
        gift_code.clone(),
        package_template_id.clone(),
        package_id.clone(),
        "A-secret-course".into(),
        membership_plan_id.clone(),
        membership_id.clone(),
        "A-secret-club".into(),
        "A-secret-recipient".into(),
        reader_id.clone(),
        "A-secret-reader".into(),
        desk_payment_id.clone(),
        desk_payment["intent_id"].as_str().unwrap().to_owned(),
        waitlist_id.clone(),
        "A-secret-review".into(),
        "A-secret-reviewer".into(),
        product_id.clone(),
        "A-SECRET-SKU".into(),
        "A-secret-cream".into(),
        course_id.clone(),
        cohort_id.clone(),
        enrolment_id.clone(),
        certificate_number.clone(),
        "A-secret-academy-course".into(),
        "A-secret-student".into(),
        "A-secret-model".into(),
        "a-student@secret.test".into(),
        endpoint_id.clone(),
        endpoint["secret"].as_str().unwrap().to_owned(),
        "a-secret-partner".into(),
        api_key_id.clone(),
        api_key["secret"].as_str().unwrap().to_owned(),
        api_key["prefix"].as_str().unwrap().to_owned(),
        "A-secret-key".into(),
    ];

    // A's bookings set off background work (messages, consent forms, renders): let it finish,
    // so that any change to A's items after this point is B's doing.
    app.settle(&[&a.tenant_id, &b.tenant_id]).await;
    let partition = mas_ports::Query::partition(mas_store::keys::tenant_pk(&a.tenant_id));
    let client_partition = mas_ports::Query::partition(mas_store::keys::client_pk(&a.tenant_id, &a_client));
    // Renders write no audit record, so `settle` cannot see them: wait until every document of
    // A's client has its PDF, and A's sale its receipt (a busy machine renders slowly).
    for _ in 0..200 {
        let items = app.app.store.table.query_all(&client_partition).await.unwrap();
        let sk = |item: &mas_ports::Item| item["SK"].as_str().unwrap_or_default().to_owned();
        let documents = items.iter().map(sk).filter(|k| k.starts_with("DOC#") && k.matches('#').count() == 1).count();
        let rendered = items.iter().map(sk).filter(|k| k.starts_with("DOC#") && k.ends_with("#PDF#generated")).count();
        // A's three sales' receipts are rendered in the background too (copies in the client's file).
        let receipts = items.iter().map(sk).filter(|k| k.starts_with(mas_store::keys::RECEIPT_PREFIX)).count();
        if documents == rendered && receipts == 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    app.settle(&[&a.tenant_id, &b.tenant_id]).await;
    let before = app.app.store.table.query_all(&partition).await.unwrap();
    let client_before = app.app.store.table.query_all(&client_partition).await.unwrap();
    let appointment_partition = mas_ports::Query::partition(mas_store::keys::appointment_pk(
        &a.tenant_id,
        &mas_domain::ids::AppointmentId::parse(&appointment_id).unwrap(),
    ));
    let appointment_before = app.app.store.table.query_all(&appointment_partition).await.unwrap();
    let reviews_partition = mas_ports::Query::partition(mas_store::keys::reviews_pk(&a.tenant_id));
    let reviews_before = app.app.store.table.query_all(&reviews_partition).await.unwrap();
    let a_location = mas_domain::ids::LocationId::parse(&location_id).unwrap();
    let stock_partition = mas_ports::Query::partition(mas_store::keys::stock_pk(&a.tenant_id, &a_location));
    let stock_before = app.app.store.table.query_all(&stock_partition).await.unwrap();
    let academy_partition = mas_ports::Query::partition(mas_store::keys::academy_pk(&a.tenant_id));
    let academy_before = app.app.store.table.query_all(&academy_partition).await.unwrap();
    let a_cohort = mas_domain::ids::CohortId::parse(&cohort_id).unwrap();
    let cohort_partition = mas_ports::Query::partition(mas_store::keys::cohort_pk(&a.tenant_id, &a_cohort));
    let cohort_before = app.app.store.table.query_all(&cohort_partition).await.unwrap();
    assert!(cohort_before.len() >= 3, "A's seat, student claim and enrolment");
    assert!(stock_before.len() >= 3, "A's level, its movements and its sale's record");
    let (_, b_location) = app.post("/v1/locations", &b.token, location_body("B location")).await;
    let b_location_id = b_location["id"].as_str().unwrap();
    let (_, b_service) = app.post("/v1/services", &b.token, service_body("B service")).await;
    let (_, b_client) = app.post("/v1/clients", &b.token, client_body("B", "Client", None)).await;
    let b_reader = json!({"location_id": b_location_id, "registration_code": "simulated-wpe", "label": "B reader"});
    let (status, b_reader) = app.post("/v1/card-readers", &b.token, b_reader).await;
    assert_eq!(status, StatusCode::CREATED, "{b_reader}");
    let own = Own {
        location_id: b_location_id,
        reader_id: b_reader["id"].as_str().unwrap(),
        service_id: b_service["id"].as_str().unwrap(),
        client_id: b_client["id"].as_str().unwrap(),
    };
    // A document is generated from the client's record: B naming A's client (or A's appointment)
    // in a body gets a refusal that says nothing of A's data.
    for body in [generate_body(&client_id, "B client"), {
        let mut body = generate_body(own.client_id, "B client");
        body["appointment_id"] = json!(appointment_id);
        body
    }] {
        let (status, err) = app.post("/v1/documents/generate", &b.token, body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
        assert_eq!(err["error"]["code"], "unknown_reference");
        assert!(!secrets.iter().any(|s| err.to_string().contains(s.as_str())), "{err}");
    }

    let mut checked = 0;
    // The `/v1/auth/` staff routes name no id: they act on the caller's own sign-in (and one ends
    // the caller's sessions); tests/suite/auth.rs covers them.
    let routes = mas_http::route_table().into_iter().filter(|r| !r.public && !r.path.starts_with("/v1/auth/"));
    for route in routes {
        // Routes that name A's ids in their query or body rather than their path.
        let names_a = route.path.starts_with("/v1/availability")
            || (route.path == "/v1/appointments" && route.method == "POST")
            || route.path == "/v1/payments"
            || route.path == "/v1/notifications"
            || route.path == "/v1/payments/finalize"
            || (route.path == "/v1/sales" && route.method == "GET")
            || route.path == "/v1/gift-cards/lookup"
            || route.path == "/v1/waitlist"
            || route.path == "/v1/commissions/report"
            || route.path == "/v1/analytics/kpis"
            || route.path.starts_with("/v1/sales/close")
            || route.path.starts_with("/v1/stock")
            || (route.path == "/v1/cohorts" && route.method == "POST");
        let aims_at_a = route.path.contains('{') || names_a;
        let collection = route.path.split('/').nth(2).unwrap_or_default().to_owned();
        let mut path = route
            .path
            .replace("{id}", &if route.path.contains('{') { id_of(&collection) } else { String::new() })
            .replace("{exception_id}", exception["id"].as_str().unwrap())
            .replace("{enrolment_id}", &enrolment_id)
            .replace("{number}", &if route.path.contains("{number}") { id_of(&collection) } else { String::new() })
            .replace("{delivery_id}", "whd_0123456789abcdef0123456789abcdef");
        let service_id = service["id"].as_str().unwrap();
        path.push_str(&query_for(route.method, &route.path, &location_id, service_id, &monday, &appointment_id));
        if route.path == "/v1/notifications" {
            path.push_str(&format!("?client_id={client_id}"));
        }
        let body = match route.path.as_str() {
            "/v1/payments/finalize" => Some(finalize.clone()),
            // A cohort of A's course.
            "/v1/cohorts" if route.method == "POST" => Some(cohort_body.clone()),
            // A's card's code: another clinic's code opens nothing here.
            "/v1/gift-cards/lookup" => Some(json!({"code": gift_code})),
            // A's client on A's location's waitlist.
            "/v1/waitlist" if route.method == "POST" => Some(wish.clone()),
            // Closing A's location's day.
            "/v1/sales/close" if route.method == "POST" => {
                Some(json!({"location_id": location_id, "date": chrono::Utc::now().date_naive(), "counted_minor": 0}))
            }
            _ if names_a && route.method != "GET" => Some(booking.clone()),
            _ => body_for(route.method, &route.path, &own),
        };
        let (status, response) = if route.path == "/v1/brand/logo" {
            let png = include_bytes!("../../shared/domain/testdata/python.png").to_vec();
            app.raw(route.method, &path, Some(&b.token), "image/png", png).await
        } else {
            app.call(route.method, &path, Some(&b.token), body).await
        };
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
    assert!(checked >= 66, "only {checked} routes checked");
    let after = app.app.store.table.query_all(&partition).await.unwrap();
    assert_eq!(before, after, "clinic A's items changed");
    let client_after = app.app.store.table.query_all(&client_partition).await.unwrap();
    assert_eq!(client_before, client_after, "clinic A's client file changed");
    let appointment_after = app.app.store.table.query_all(&appointment_partition).await.unwrap();
    assert_eq!(appointment_before, appointment_after, "clinic A's appointment or payments changed");
    let reviews_after = app.app.store.table.query_all(&reviews_partition).await.unwrap();
    assert_eq!(reviews_before, reviews_after, "clinic A's reviews changed");
    let stock_after = app.app.store.table.query_all(&stock_partition).await.unwrap();
    assert_eq!(stock_before, stock_after, "clinic A's stock changed");
    let academy_after = app.app.store.table.query_all(&academy_partition).await.unwrap();
    assert_eq!(academy_before, academy_after, "clinic A's courses or cohorts changed");
    let cohort_after = app.app.store.table.query_all(&cohort_partition).await.unwrap();
    assert_eq!(cohort_before, cohort_after, "clinic A's cohort's seats or enrolments changed");
}

/// The query string a route needs: windows for listings, A's ids for availability and payments.
fn query_for(method: &str, path: &str, location_id: &str, service_id: &str, day: &str, appointment_id: &str) -> String {
    match path {
        "/v1/payments" => format!("?appointment_id={appointment_id}"),
        "/v1/sales" if method == "GET" => format!("?day={}&location_id={location_id}", chrono::Utc::now().date_naive()),
        "/v1/sales/close" | "/v1/sales/close.csv" if method != "POST" => {
            format!("?location_id={location_id}&date={}", chrono::Utc::now().date_naive())
        }
        "/v1/appointments" => format!("?from={day}&to={day}"),
        "/v1/waitlist" => format!("?location_id={location_id}"),
        "/v1/stock" | "/v1/stock/reorder" | "/v1/stock/reorder.csv" | "/v1/products/{id}/movements" => {
            format!("?location_id={location_id}")
        }
        "/v1/commissions/report" => format!("?from={day}&to={day}&location_id={location_id}"),
        "/v1/analytics/kpis" => format!("?from={day}&to={day}&location_id={location_id}&compare=previous"),
        "/v1/availability" => format!("?location_id={location_id}&service_id={service_id}&from={day}&to={day}"),
        "/v1/availability/explain" => {
            format!("?location_id={location_id}&service_id={service_id}&start={day}T10:00:00Z")
        }
        "/v1/appointments/{id}/fee-preview" => "?action=cancel".into(),
        // A's client's name: the search box answers B's own records only.
        "/v1/search" => "?q=A-secret-client".into(),
        _ => String::new(),
    }
}

/// A Monday at least two days ahead (the fixtures' location opens on Mondays).
fn next_monday() -> String {
    use chrono::Datelike;
    let mut day = chrono::Utc::now().date_naive() + chrono::Duration::days(2);
    while day.weekday() != chrono::Weekday::Mon {
        day += chrono::Duration::days(1);
    }
    day.to_string()
}

/// Every `/partner/` route (API keys) with clinic B's key holding every scope, aimed at clinic
/// A's ids: nothing of A's comes back (the tenant is the key's, never the request's).
#[tokio::test]
async fn another_clinics_api_key_reads_nothing_of_this_clinic_on_any_partner_route() {
    let app = spawn_app().await;
    let a = app.sign_up("keys-tenancy-a").await;
    let (status, client) =
        app.post("/v1/clients", &a.token, client_body("A-secret-keyholder", "A", Some("kh@a.test"))).await;
    assert_eq!(status, StatusCode::CREATED, "{client}");
    let client_id = client["id"].as_str().unwrap().to_owned();
    let (status, service) = app.post("/v1/services", &a.token, service_body("A-secret-keyed-service")).await;
    assert_eq!(status, StatusCode::CREATED, "{service}");
    let b = app.sign_up("keys-tenancy-b").await;
    let scopes = json!(["appointments:read", "clients:read", "catalog:read"]);
    let (status, key) = app.post("/v1/api-keys", &b.token, json!({"name": "B", "scopes": scopes})).await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    let key = key["secret"].as_str().unwrap().to_owned();
    let routes: Vec<_> = mas_http::route_table().into_iter().filter(|r| r.path.starts_with("/partner/")).collect();
    assert!(routes.len() >= 3, "{routes:?}");
    for route in routes {
        let path = route.path.replace("{id}", &client_id)
            + if route.path.ends_with("/appointments") { "?from=2027-01-01&to=2027-03-01" } else { "" };
        let (status, body) = app.call(route.method, &path, Some(&key), None).await;
        let text = body.to_string();
        assert!(
            !text.contains("A-secret") && !text.contains(&client_id),
            "{} {path} leaked A's data: {text}",
            route.method
        );
        assert!(status == StatusCode::NOT_FOUND || status.is_success(), "{} {path}: {status} {text}", route.method);
    }
}
