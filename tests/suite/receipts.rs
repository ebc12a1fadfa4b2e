//! Receipts and credit notes of the desk till, black-box over HTTP: each completed sale gets a
//! stamped PDF through the document renderer (numbered by its invoice), verifiable like any
//! document, emailed to its client and listed in their portal and on the sale; each void or
//! refund gets its own credit note; a sale's event delivered again issues nothing twice.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::booking::{Setup, fixed_app, setup};
use crate::support::app::*;
use crate::support::pdf;
use crate::till::{lines, ring_up, sale_body};

/// The sale's receipts as staff list them, once there are `n` (they are rendered a moment after
/// the sale or correction); panics after 30 s.
pub async fn receipts(app: &TestApp, token: &str, sale: &Value, n: usize) -> Vec<Value> {
    let path = format!("/v1/sales/{}/receipts", sale["id"].as_str().unwrap());
    for _ in 0..600 {
        let (status, list) = app.get(&path, token).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        let list = list.as_array().unwrap().clone();
        if list.len() >= n {
            assert_eq!(list.len(), n, "{list:?}");
            return list;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{n} receipts of {} were not issued within 30 s", sale["invoice_number"]);
}

async fn pdf_of(app: &TestApp, receipt: &Value) -> Vec<u8> {
    let (status, bytes) = app.download(receipt["url"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(bytes.starts_with(b"%PDF-"), "a PDF");
    bytes
}

async fn outbox(app: &TestApp) -> Vec<Value> {
    let (status, outbox) = app.call("GET", "/local/outbox.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    outbox.as_array().unwrap().clone()
}

async fn portal_session(app: &TestApp, s: &Setup, client: &str) -> String {
    let client = mas_domain::ids::ClientId::parse(client).unwrap();
    let (token, _) = mas_usecases::portal::issue_link(&app.app, &s.clinic.tenant_id, &client).await.unwrap();
    let path = format!("/v1/public/{}/portal/session", s.clinic.slug);
    let (status, session) = app.call("POST", &path, None, Some(json!({"token": token}))).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    session["session"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_sale_gets_a_stamped_receipt_pdf_that_verifies_is_emailed_to_its_client_and_is_in_their_portal() {
    let (app, _clock) = fixed_app().await;
    let s = setup(&app, "receipt-sale").await;
    // Who the clinic is in law goes on its receipts (a VAT invoice names the VAT number).
    let business =
        json!({"legal_name": "Receipt Sale Ltd", "company_number": "sc 123456", "vat_number": "gb 123 4567 82"});
    let (status, brand) = app.put("/v1/brand", &s.clinic.token, json!({"business": business})).await;
    assert_eq!(status, StatusCode::OK, "{brand}");
    assert_eq!(brand["business"]["vat_number"], "GB123456782", "stored as read: {brand}");
    let (status, refused) =
        app.put("/v1/brand", &s.clinic.token, json!({"business": {"vat_number": "GB123456781"}})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a mistyped VAT number: {refused}");
    let sale =
        ring_up(&app, &s.clinic.token, sale_body(&s, lines(&s), json!([{"method": "cash", "tendered_minor": 15000}])))
            .await;

    let listed = receipts(&app, &s.clinic.token, &sale, 1).await;
    let receipt = &listed[0];
    assert_eq!((receipt["kind"].as_str(), receipt["number"].as_str()), (Some("receipt"), Some("INV-000001")));
    assert_eq!((receipt["amount_minor"].as_i64(), receipt["currency"].as_str()), (Some(14_598), Some("GBP")));
    let bytes = pdf_of(&app, receipt).await;
    let stamp = receipt["stamp"].as_str().unwrap();
    assert_eq!(receipt["file_sha256"].as_str().unwrap(), mas_domain::documents::Sha256Hex::of(&bytes).as_str());
    if pdf::available("receipt") {
        let text = pdf::text(&bytes);
        for expected in [
            "Receipt INV-000001",
            "Client: Ada Lovelace",
            "Anti-wrinkle",
            "SPF 50",
            "Total: £145.98",
            "Change given: £4.02",
            "Receipt Sale Ltd, company number SC123456",
            "VAT registration number GB123456782",
        ] {
            assert!(text.contains(expected), "`{expected}` in {text}");
        }
        assert!(text.replace(['\n', ' '], "").contains(stamp), "the stamp is printed: {text}");
    }

    // Anyone may check it, by its stamp, its file hash or its bytes; it names the clinic and
    // the number, never the client.
    let (status, answer) = app.call("GET", &format!("/v1/documents/verify?hash={stamp}"), None, None).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!((answer["valid"].as_bool(), answer["matched"].as_str()), (Some(true), Some("stamp")), "{answer}");
    assert_eq!(answer["receipt_number"], "INV-000001");
    assert_eq!(answer["clinic"], "Clinic receipt-sale");
    assert!(!answer.to_string().contains("Lovelace"), "{answer}");
    let (_, by_file) = app.post_bytes("/v1/documents/verify", "application/pdf", bytes.clone()).await;
    assert_eq!((by_file["valid"].as_bool(), by_file["matched"].as_str()), (Some(true), Some("file")), "{by_file}");
    let mut tampered = bytes.clone();
    let middle = tampered.len() / 2;
    tampered[middle] ^= 0x01;
    let (_, refused) = app.post_bytes("/v1/documents/verify", "application/pdf", tampered).await;
    assert_eq!(refused["valid"], false, "{refused}");

    // The client is told by email where to find it, with its stamp.
    let mut mails = Vec::new();
    for _ in 0..200 {
        mails = outbox(&app)
            .await
            .into_iter()
            .filter(|m| {
                m["to"] == "ada.lovelace@clients.test"
                    && m["subject"].as_str().unwrap_or_default().contains("INV-000001")
            })
            .collect();
        if !mails.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(mails.len(), 1, "one email with the receipt");
    let text = mails[0]["text"].as_str().unwrap();
    assert!(text.contains(stamp) && text.contains("/sites/receipt-sale/portal/"), "{text}");

    // Their portal lists it, with its own link to the same PDF.
    let session = portal_session(&app, &s, &s.client_id).await;
    let (status, mine) = app.get("/v1/portal/receipts", &session).await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    let mine = mine.as_array().unwrap();
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!((mine[0]["number"].as_str(), mine[0]["stamp"].as_str()), (Some("INV-000001"), Some(stamp)));
    assert_eq!(pdf_of(&app, &mine[0]).await, bytes);
    let (status, _) = app.call("GET", "/v1/portal/receipts", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let other = crate::booking::create_client(&app, &s.clinic, "Eve", "Other").await;
    let (status, theirs) = app.get("/v1/portal/receipts", &portal_session(&app, &s, &other).await).await;
    assert_eq!((status, theirs), (StatusCode::OK, json!([])), "another client's portal lists none of hers");

    // Her data export carries it too, with a link to the same PDF.
    let (status, export) = app.get(&format!("/v1/clients/{}/export", s.client_id), &s.clinic.token).await;
    assert_eq!(status, StatusCode::OK, "{export}");
    let exported = export["receipts"].as_array().expect("the export's receipts");
    assert_eq!(exported.len(), 1, "{exported:?}");
    assert_eq!((exported[0]["number"].as_str(), exported[0]["stamp"].as_str()), (Some("INV-000001"), Some(stamp)));
    assert_eq!(pdf_of(&app, &exported[0]).await, bytes);

    // Staff reading the links is audited; the issue is too.
    let actions = crate::portal::audit_actions(&app, &s.clinic.tenant_id).await;
    for action in ["sale.receipt_issued", "sale.receipts_opened"] {
        assert!(actions.contains(&action.to_owned()), "{action} in {actions:?}");
    }
}

#[tokio::test]
async fn a_void_and_a_refund_each_get_a_credit_note_and_the_receipt_stays_as_issued() {
    let (app, _clock) = fixed_app().await;
    let s = setup(&app, "receipt-credit").await;
    let (manager, _) = app.member_token(&s.clinic, "manager").await;
    let cash = json!([{"method": "cash", "tendered_minor": 15000}]);
    let voided = ring_up(&app, &s.clinic.token, sale_body(&s, lines(&s), cash.clone())).await;
    // A walk-in: a receipt like any, but nobody to email and no portal to list it in.
    let mut walk_in = sale_body(&s, lines(&s), cash);
    walk_in.as_object_mut().unwrap().remove("client_id");
    let refunded = ring_up(&app, &s.clinic.token, walk_in).await;
    let first = receipts(&app, &s.clinic.token, &voided, 1).await.remove(0);
    receipts(&app, &s.clinic.token, &refunded, 1).await;

    let path = |sale: &Value, what: &str| format!("/v1/sales/{}/{what}", sale["id"].as_str().unwrap());
    let (status, view) = app.post(&path(&voided, "void"), &manager, json!({"reason": "wrong client"})).await;
    assert_eq!(status, StatusCode::CREATED, "{view}");
    let (status, view) = app
        .post(&path(&refunded, "refund"), &manager, json!({"to": "cash", "amount_minor": 2000, "reason": "goodwill"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{view}");

    let of_void = receipts(&app, &s.clinic.token, &voided, 2).await;
    for field in ["number", "stamp", "file_sha256", "issued_at"] {
        assert_eq!(of_void[0][field], first[field], "the receipt stays as it was issued: {field}");
    }
    let note = &of_void[1];
    assert_eq!((note["kind"].as_str(), note["number"].as_str()), (Some("credit_note"), Some("INV-000001-C1")));
    assert_eq!(note["amount_minor"], 14_598);
    let of_refund = receipts(&app, &s.clinic.token, &refunded, 2).await;
    assert_eq!(
        (of_refund[1]["number"].as_str(), of_refund[1]["amount_minor"].as_i64()),
        (Some("INV-000002-C1"), Some(2_000))
    );
    let bytes = pdf_of(&app, note).await;
    if pdf::available("credit note") {
        let text = pdf::text(&bytes);
        for expected in
            ["Credit note INV-000001-C1", "Void of invoice INV-000001", "Reason: wrong client", "In cash: £145.98"]
        {
            assert!(text.contains(expected), "`{expected}` in {text}");
        }
        let text = pdf::text(&pdf_of(&app, &of_refund[1]).await);
        assert!(text.contains("Client: walk-in") && text.contains("Total credited: £20.00"), "{text}");
    }
    let (_, answer) =
        app.call("GET", &format!("/v1/documents/verify?hash={}", note["stamp"].as_str().unwrap()), None, None).await;
    assert_eq!((answer["valid"].as_bool(), answer["receipt_number"].as_str()), (Some(true), Some("INV-000001-C1")));

    // The client of the voided sale hears of both; the walk-in's receipts go to nobody.
    app.settle(&[&s.clinic.tenant_id]).await;
    let subjects: Vec<String> = outbox(&app)
        .await
        .iter()
        .filter(|m| m["to"] == "ada.lovelace@clients.test")
        .filter_map(|m| m["subject"].as_str().map(str::to_owned))
        .filter(|subject| subject.contains("INV-"))
        .collect();
    assert_eq!(subjects.len(), 2, "{subjects:?}");
    assert!(subjects.iter().any(|s| s.contains("credit note INV-000001-C1")), "{subjects:?}");
    assert!(!subjects.iter().any(|s| s.contains("INV-000002")), "{subjects:?}");
    assert_eq!(app.published(mas_usecases::receipts::RECEIPT_ISSUED), 4);
}

#[tokio::test]
async fn a_sales_event_delivered_again_issues_no_second_receipt_nor_email() {
    let (app, _clock) = fixed_app().await;
    let s = setup(&app, "receipt-again").await;
    let sale =
        ring_up(&app, &s.clinic.token, sale_body(&s, lines(&s), json!([{"method": "cash", "tendered_minor": 15000}])))
            .await;
    let issued = receipts(&app, &s.clinic.token, &sale, 1).await.remove(0);
    app.settle(&[&s.clinic.tenant_id]).await;
    let event = app.events.published().into_iter().find(|e| e.kind == "sale.completed").unwrap();
    // The body the bus delivers it in, as an EventBridge rule would put it on the queue.
    let body = mas_usecases::notifications::plan::Work::event_body(&event);
    let renderer: Arc<dyn mas_ports::Renderer> = Arc::new(mas_render::KrillaRenderer::new());
    for _ in 0..2 {
        let made = mas_render::worker::handle(&app.app, renderer.clone(), &body).await.unwrap();
        let mas_render::worker::Made::Receipt(again) = made else { panic!("a receipt: {made:?}") };
        assert_eq!((again.number.as_str(), again.stamp.as_str()), ("INV-000001", issued["stamp"].as_str().unwrap()));
    }
    app.settle(&[&s.clinic.tenant_id]).await;
    receipts(&app, &s.clinic.token, &sale, 1).await;
    assert_eq!(app.published(mas_usecases::receipts::RECEIPT_ISSUED), 1);
}

#[tokio::test]
async fn a_sales_receipts_are_listed_to_payments_readers_only() {
    let (app, _clock) = fixed_app().await;
    let s = setup(&app, "receipt-roles").await;
    let sale =
        ring_up(&app, &s.clinic.token, sale_body(&s, lines(&s), json!([{"method": "cash", "tendered_minor": 15000}])))
            .await;
    receipts(&app, &s.clinic.token, &sale, 1).await;
    let path = format!("/v1/sales/{}/receipts", sale["id"].as_str().unwrap());
    for (role, expected) in [
        ("practitioner", StatusCode::FORBIDDEN),
        ("front_desk", StatusCode::OK),
        ("finance", StatusCode::OK),
        ("support", StatusCode::OK),
    ] {
        let (token, _) = app.member_token(&s.clinic, role).await;
        let (status, body) = app.get(&path, &token).await;
        assert_eq!(status, expected, "{role}: {body}");
    }
    let (status, _) = app.get(&format!("/v1/sales/{}/receipts", mas_domain::ids::SaleId::new()), &s.clinic.token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
