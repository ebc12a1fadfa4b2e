//! Documents end to end, through the HTTP API: templates, generation (and its 422s), rendered PDFs
//! read by an independent reader (poppler), stamps verified and tampering caught, e-signature.

use std::sync::Arc;

use mas_domain::documents::{Approval, Sha256Hex, TemplateInput};
use mas_domain::ids::{ClientId, TemplateId};
use mas_ports::FixedClock;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::app::*;
use crate::support::pdf;

/// Adds the test client (named `CLIENT_NAME` on their record) and returns their id.
async fn client(app: &TestApp, clinic: &Clinic) -> String {
    let (status, client) =
        app.post("/v1/clients", &clinic.token, client_body("Zoë", "Ó Briain-Łukasiewicz", None)).await;
    assert_eq!(status, StatusCode::CREATED, "{client}");
    client["id"].as_str().unwrap().to_owned()
}

const CLIENT_NAME: &str = "Zoë Ó Briain-Łukasiewicz";

/// Generates an anti-wrinkle consent and waits for its PDF; returns the document and the PDF bytes.
async fn generated(app: &TestApp, clinic: &Clinic) -> (Value, Vec<u8>) {
    let (status, document) =
        app.post("/v1/documents/generate", &clinic.token, generate_body(&client(app, clinic).await, CLIENT_NAME)).await;
    assert_eq!(status, StatusCode::CREATED, "{document}");
    assert_eq!(document["status"], "generated");
    let id = document["id"].as_str().unwrap().to_owned();
    let document = wait_for_pdf(app, &clinic.token, &id, "pdf").await;
    let bytes = download_pdf(app, &clinic.token, &id, "generated").await;
    (document, bytes)
}

async fn download_pdf(app: &TestApp, token: &str, id: &str, variant: &str) -> Vec<u8> {
    let (status, link) = app.get(&format!("/v1/documents/{id}/pdf?variant={variant}"), token).await;
    assert_eq!(status, StatusCode::OK, "{link}");
    let (status, bytes) = app.download(link["url"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(bytes.starts_with(b"%PDF-"));
    assert_eq!(Sha256Hex::of(&bytes).as_str(), link["file_sha256"].as_str().unwrap(), "the stored hash is the file's");
    bytes
}

/// Opens an e-sign session and returns the signing page's path.
async fn signing_path(app: &TestApp, clinic: &Clinic, id: &str, body: Value) -> String {
    let (status, link) = app.post(&format!("/v1/documents/{id}/esign"), &clinic.token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{link}");
    let url = link["sign_url"].as_str().unwrap();
    url.strip_prefix(&app.base).expect("a link to this host").to_owned()
}

fn signature_body(name: &str) -> Value {
    json!({"typed_name": name, "signature_png": pdf::data_url(&pdf::signature_png()), "agree": true})
}

async fn global_template_id(app: &TestApp, clinic: &Clinic, kind: &str, topic: &str) -> String {
    let (status, templates) = app.get(&format!("/v1/templates?kind={kind}&jurisdiction=UK"), &clinic.token).await;
    assert_eq!(status, StatusCode::OK, "{templates}");
    let found = templates.as_array().unwrap().iter().find(|t| t["topic"] == topic && t["tenant_id"].is_null());
    found.unwrap_or_else(|| panic!("no global {kind} template for {topic}: {templates}"))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn the_platforms_uk_templates_are_listed_and_a_clinic_publishes_an_adapted_copy_keeping_every_mandatory_block() {
    let app = spawn_app().await;
    let clinic = app.sign_up("glow").await;
    let (status, templates) = app.get("/v1/templates", &clinic.token).await;
    assert_eq!(status, StatusCode::OK, "{templates}");
    let globals: Vec<&Value> = templates.as_array().unwrap().iter().filter(|t| t["tenant_id"].is_null()).collect();
    assert_eq!(globals.len(), 8, "consent and aftercare for four treatments");
    for topic in ["anti-wrinkle", "dermal-filler", "chemical-peel", "laser"] {
        for kind in ["consent", "aftercare"] {
            assert!(
                globals.iter().any(|t| t["topic"] == topic && t["kind"] == kind && t["jurisdiction"] == "UK"),
                "{kind} {topic}"
            );
        }
    }

    // GIVEN the platform's filler consent WHEN the clinic copies it, rewording one optional block
    let base_id = global_template_id(&app, &clinic, "consent", "dermal-filler").await;
    let (_, base) = app.get(&format!("/v1/templates/{base_id}"), &clinic.token).await;
    let mut blocks = base["blocks"].as_array().unwrap().clone();
    for block in &mut blocks {
        if block["key"] == "photographs" {
            block["body"] = json!("We never take photographs without asking you first.");
        }
    }
    let copy = json!({
        "kind": "consent", "jurisdiction": "UK", "topic": "dermal-filler", "name": "Glow filler consent",
        "version": "1.0.0", "effective_from": "2025-01-01", "based_on": base_id, "blocks": blocks
    });
    let (status, published) = app.post("/v1/templates", &clinic.token, copy).await;
    // THEN it is published, approved by the owner, with the base's mandatory blocks kept mandatory
    assert_eq!(status, StatusCode::CREATED, "{published}");
    assert_eq!(published["tenant_id"], clinic.tenant_id.to_string());
    assert_eq!(published["approval"]["role"], "owner");
    assert_eq!(published["mandatory_blocks"], base["mandatory_blocks"]);
    let (status, read) = app.get(&format!("/v1/templates/{}", published["id"].as_str().unwrap()), &clinic.token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read, published);

    // A practitioner may read templates but not approve one.
    let (practitioner, _) = app.member_token(&clinic, "practitioner").await;
    assert_eq!(app.post("/v1/templates", &practitioner, template_body("1.0.0")).await.0, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/v1/templates", &practitioner).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_published_version_never_changes_so_publishing_it_again_is_409() {
    let app = spawn_app().await;
    let clinic = app.sign_up("glow").await;
    let (status, first) = app.post("/v1/templates", &clinic.token, template_body("1.0.0")).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let mut changed = template_body("1.0.0");
    changed["blocks"][1]["body"] = json!("Nothing can go wrong.");
    let (status, err) = app.post("/v1/templates", &clinic.token, changed).await;
    assert_eq!(status, StatusCode::CONFLICT, "{err}");
    assert_eq!(err["error"]["code"], "version_published");
    let (_, still) = app.get(&format!("/v1/templates/{}", first["id"].as_str().unwrap()), &clinic.token).await;
    assert_eq!(still["blocks"][1]["body"], "Redness and small bumps for a day or two.");
    assert_eq!(app.post("/v1/templates", &clinic.token, template_body("1.0.1")).await.0, StatusCode::CREATED);
}

#[tokio::test]
async fn a_copy_that_drops_a_mandatory_block_of_the_platforms_template_cannot_be_published() {
    let app = spawn_app().await;
    let clinic = app.sign_up("glow").await;
    let base_id = global_template_id(&app, &clinic, "consent", "laser").await;
    let (_, base) = app.get(&format!("/v1/templates/{base_id}"), &clinic.token).await;
    let blocks: Vec<Value> =
        base["blocks"].as_array().unwrap().iter().filter(|b| b["key"] != "eye-safety").cloned().collect();
    // Without based_on too: the platform's template of the same family still applies.
    let copy = json!({
        "kind": "consent", "jurisdiction": "UK", "topic": "laser", "name": "Our laser consent",
        "version": "2.0.0", "effective_from": "2025-01-01", "blocks": blocks
    });
    let (status, err) = app.post("/v1/templates", &clinic.token, copy).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(err["error"]["code"], "mandatory_block_missing");
    assert!(err["error"]["message"].as_str().unwrap().contains("eye-safety"), "{err}");

    let mut own = template_body("1.0.0");
    own["mandatory_blocks"] = json!(["treatment", "aftercare"]);
    let (status, err) = app.post("/v1/templates", &clinic.token, own).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(err["error"]["details"]["field"], "mandatory_blocks[1]");
}

#[tokio::test]
async fn a_generated_consent_pdf_read_by_poppler_shows_the_client_every_mandatory_clause_and_the_stamp() {
    let app = spawn_app().await;
    let clinic = app.sign_up("glow").await;
    let (document, bytes) = generated(&app, &clinic).await;
    assert_eq!(document["template"]["version"], "1.0.0");
    assert_eq!(document["template"]["global"], true);
    assert_eq!(
        document["retain_until"].as_str().unwrap()[..4].parse::<i32>().unwrap(),
        chrono::Utc::now().format("%Y").to_string().parse::<i32>().unwrap() + 7
    );
    let stamp = document["pdf"]["stamp"].as_str().unwrap();
    assert_eq!(stamp.len(), 64);

    // The client's timeline records it.
    let client_id = ClientId::parse(document["client_id"].as_str().unwrap()).unwrap();
    let timeline = mas_ports::Query::partition(mas_store::keys::client_pk(&clinic.tenant_id, &client_id))
        .sk(mas_ports::SortKey::BeginsWith(mas_store::keys::TIMELINE_PREFIX.into()));
    let entries = app.app.store.table.query_all(&timeline).await.unwrap();
    let kinds: Vec<&Value> =
        entries.iter().map(|e| &e["kind"]).filter(|k| k.as_str().unwrap().starts_with("document.")).collect();
    assert_eq!(kinds, [&json!("document.generated")]);
    let generated_events = app.events.published();
    let event = generated_events.iter().find(|e| e.kind == "document.generated").expect("document.generated published");
    assert_eq!(event.payload["document_id"], document["id"]);
    assert_eq!(event.payload["kind"], "consent");
    assert!(!event.payload.to_string().contains("Zoë"), "ids only: {}", event.payload);

    if !pdf::available("golden consent") {
        return;
    }
    let text = pdf::text(&bytes);
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains(CLIENT_NAME), "the client's name is missing:\n{text}");
    assert!(flat.contains("Clinic glow") && flat.contains("Dr Ada Okafor"), "{text}");
    let template_id = document["template"]["id"].as_str().unwrap();
    let (_, template) = app.get(&format!("/v1/templates/{template_id}"), &clinic.token).await;
    for key in template["mandatory_blocks"].as_array().unwrap() {
        let block = template["blocks"].as_array().unwrap().iter().find(|b| &b["key"] == key).unwrap();
        let title = block["title"].as_str().unwrap();
        assert!(flat.contains(title), "mandatory clause `{title}` is missing:\n{text}");
        let first_words: String =
            document["content"]["blocks"].as_array().unwrap().iter().find(|b| &b["key"] == key).unwrap()["body"]
                .as_str()
                .unwrap()
                .split_whitespace()
                .take(6)
                .collect::<Vec<_>>()
                .join(" ");
        assert!(flat.contains(&first_words), "the text of `{title}` is missing: {first_words}");
    }
    assert!(flat.contains(&format!("Stamp {stamp}")), "the stamp is not printed:\n{text}");
    let pages = pdf::pages(&bytes);
    assert!(
        flat.contains(&format!("Page 1 of {pages}")) && flat.contains(&format!("Page {pages} of {pages}")),
        "{text}"
    );
    assert!(flat.contains("£") || flat.contains("€") || flat.contains("ë"), "Unicode survives");
    let png = pdf::page_png(&bytes, 1, &pdf::golden_dir().join("consent-page-1.png"));
    println!("page 1 of the consent: {}", png.display());
}

#[tokio::test]
async fn unfilled_placeholders_are_422_naming_every_one_and_nothing_is_stored() {
    let app = spawn_app().await;
    let clinic = app.sign_up("glow").await;
    let mut body = generate_body(&client(&app, &clinic).await, CLIENT_NAME);
    body["context"] = json!({"client": {"name": "Ann"}, "treatment": {"name": ""}});
    let (status, err) = app.post("/v1/documents/generate", &clinic.token, body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(err["error"]["code"], "unfilled_placeholders");
    assert_eq!(err["error"]["details"]["missing"], json!(["practitioner.name", "treatment.area", "treatment.name"]));
    let refs = mas_ports::Query::partition(mas_store::keys::tenant_pk(&clinic.tenant_id))
        .sk(mas_ports::SortKey::BeginsWith("DOCREF#".into()));
    assert!(app.app.store.table.query_all(&refs).await.unwrap().is_empty());
}

#[tokio::test]
async fn leaving_out_a_mandatory_clause_is_422_naming_it_while_an_optional_one_may_go() {
    let app = spawn_app().await;
    let clinic = app.sign_up("glow").await;
    let mut body = generate_body(&client(&app, &clinic).await, CLIENT_NAME);
    body["exclude_blocks"] = json!(["photographs", "risks"]);
    let (status, err) = app.post("/v1/documents/generate", &clinic.token, body.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(err["error"]["code"], "mandatory_clause_missing");
    assert_eq!(err["error"]["details"]["missing"], json!(["risks"]));
    assert!(err["error"]["message"].as_str().unwrap().contains("Risks and side effects"), "{err}");

    body["exclude_blocks"] = json!(["photographs"]);
    let (status, document) = app.post("/v1/documents/generate", &clinic.token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{document}");
    assert!(document["content"]["blocks"].as_array().unwrap().iter().all(|b| b["key"] != "photographs"));

    let mut ambiguous = generate_body(&client(&app, &clinic).await, CLIENT_NAME);
    ambiguous.as_object_mut().unwrap().remove("topic");
    let (status, err) = app.post("/v1/documents/generate", &clinic.token, ambiguous).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["code"], "ambiguous_template");
}

#[tokio::test]
async fn a_clinic_copy_lacking_a_clause_the_platform_made_mandatory_later_is_refused_at_generation() {
    let app = spawn_app().await;
    let clinic = app.sign_up("glow").await;
    // GIVEN the clinic's own copy of the anti-wrinkle consent (it shadows the platform's)
    let base_id = global_template_id(&app, &clinic, "consent", "anti-wrinkle").await;
    let copy = json!({
        "kind": "consent", "jurisdiction": "UK", "topic": "anti-wrinkle", "name": "Glow anti-wrinkle consent",
        "version": "1.0.0", "effective_from": "2025-01-01", "based_on": base_id
    });
    assert_eq!(app.post("/v1/templates", &clinic.token, copy).await.0, StatusCode::CREATED);
    // WHEN the platform publishes 1.1.0 with a new mandatory clause
    let base = mas_usecases::templates::get(&app.app.store, &clinic.tenant_id, &TemplateId::parse(&base_id).unwrap())
        .await
        .unwrap();
    let mut blocks = serde_json::to_value(&base.blocks).unwrap();
    blocks.as_array_mut().unwrap().push(
        json!({"key": "remote-prescribing", "title": "No remote prescribing", "body": "Never prescribed remotely."}),
    );
    let mut mandatory = serde_json::to_value(&base.mandatory_blocks).unwrap();
    mandatory.as_array_mut().unwrap().push(json!("remote-prescribing"));
    let input: TemplateInput = serde_json::from_value(json!({
        "kind": "consent", "jurisdiction": "UK", "topic": "anti-wrinkle", "name": base.name, "version": "1.1.0",
        "effective_from": "2025-06-01", "blocks": blocks, "mandatory_blocks": mandatory
    }))
    .unwrap();
    let approval = Approval { by: "platform".into(), name: "Platform".into(), role: None, at: chrono::Utc::now() };
    let newer = input.into_template(TemplateId::new(), None, None, &[], approval).unwrap();
    mas_usecases::templates::publish_global(&app.app.store, &newer).await.unwrap();
    // THEN generating from the clinic's copy is refused, naming the clause
    let (status, err) = app
        .post("/v1/documents/generate", &clinic.token, generate_body(&client(&app, &clinic).await, CLIENT_NAME))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(err["error"]["code"], "mandatory_clause_missing");
    assert_eq!(err["error"]["details"]["missing"], json!(["remote-prescribing"]));
    assert!(err["error"]["message"].as_str().unwrap().contains("No remote prescribing"));
}

#[tokio::test]
async fn the_stamp_and_the_file_hash_verify_and_a_pdf_with_one_byte_changed_does_not() {
    let app = spawn_app().await;
    let clinic = app.sign_up("glow").await;
    let (document, bytes) = generated(&app, &clinic).await;
    let stamp = document["pdf"]["stamp"].as_str().unwrap();
    let file = document["pdf"]["file_sha256"].as_str().unwrap();

    let (status, answer) = app.call("GET", &format!("/v1/documents/verify?hash={stamp}"), None, None).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["valid"], true, "{answer}");
    assert_eq!(answer["matched"], "stamp");
    assert_eq!(answer["variant"], "generated");
    assert_eq!(answer["document_id"], document["id"]);
    assert_eq!(answer["template"]["version"], "1.0.0");
    assert_eq!(answer["clinic"], "Clinic glow");
    assert!(!answer.to_string().contains(CLIENT_NAME), "verification is public: no client data");
    let (_, by_file) = app.call("GET", &format!("/v1/documents/verify?hash={}", file.to_uppercase()), None, None).await;
    assert_eq!((by_file["valid"].clone(), by_file["matched"].clone()), (json!(true), json!("file")));

    let (status, uploaded) = app.post_bytes("/v1/documents/verify", "application/pdf", bytes.clone()).await;
    assert_eq!(status, StatusCode::OK, "{uploaded}");
    assert_eq!(uploaded["valid"], true, "{uploaded}");

    let mut tampered = bytes.clone();
    let middle = tampered.len() / 2;
    tampered[middle] ^= 0x01;
    let (status, refused) = app.post_bytes("/v1/documents/verify", "application/pdf", tampered).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(refused["valid"], false, "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("altered"), "{refused}");
    assert!(refused["document_id"].is_null());

    let (_, unknown) = app.call("GET", &format!("/v1/documents/verify?hash={}", "0".repeat(64)), None, None).await;
    assert_eq!(unknown["valid"], false);
    let (status, err) = app.call("GET", "/v1/documents/verify?hash=not-a-hash", None, None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(err["error"]["details"]["field"], "hash");
    let (status, _) = app.post_bytes("/v1/documents/verify", "text/plain", bytes).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn a_client_signs_through_the_link_and_the_signed_pdf_carries_the_signature_an_audit_page_and_its_own_stamp() {
    let app = spawn_app().await;
    let clinic = app.sign_up("glow").await;
    let (document, unsigned) = generated(&app, &clinic).await;
    let id = document["id"].as_str().unwrap().to_owned();
    let path = signing_path(&app, &clinic, &id, json!({"expires_in_hours": 24})).await;
    // The event's session rebuilds the very link staff were given (the token is not on the bus).
    let requested = app.events.published().into_iter().find(|e| e.kind == "document.signature_requested").unwrap();
    assert!(!requested.payload.to_string().contains(path.trim_start_matches("/v1/esign/")));
    let session_id =
        mas_domain::ids::SigningSessionId::parse(requested.payload["session_id"].as_str().unwrap()).unwrap();
    let (_, token) =
        mas_usecases::esign::link_token(&app.app.store, &app.app.links, &clinic.tenant_id, &session_id).await.unwrap();
    assert_eq!(format!("/v1/esign/{token}"), path);

    let (status, page) = app.get_text(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Consent to anti-wrinkle treatment") && page.contains(CLIENT_NAME), "{page}");
    assert!(page.contains("<canvas"), "a signature pad");
    let (status, opened) = app.call("POST", &format!("{path}/open"), None, None).await;
    assert_eq!((status, opened["status"].clone()), (StatusCode::OK, json!("opened")), "{opened}");

    let (status, not_agreed) = app
        .call(
            "POST",
            &format!("{path}/sign"),
            None,
            Some(json!({
                "typed_name": CLIENT_NAME, "signature_png": pdf::data_url(&pdf::signature_png()), "agree": false
            })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{not_agreed}");

    let (status, signed) = app.call("POST", &format!("{path}/sign"), None, Some(signature_body(CLIENT_NAME))).await;
    assert_eq!(status, StatusCode::OK, "{signed}");
    assert_eq!(signed["status"], "signed");

    let document = wait_for_pdf(&app, &clinic.token, &id, "signed_pdf").await;
    assert_eq!(document["locked"], true);
    assert_eq!(document["signature"]["typed_name"], CLIENT_NAME);
    assert_eq!(document["signature"]["ip"], "127.0.0.1");
    assert_eq!(document["signature"]["image_sha256"], Sha256Hex::of(&pdf::signature_png()).as_str());
    let signed_stamp = document["signed_pdf"]["stamp"].as_str().unwrap();
    assert_ne!(signed_stamp, document["pdf"]["stamp"].as_str().unwrap(), "the signed PDF has its own stamp");
    let signed_pdf = download_pdf(&app, &clinic.token, &id, "signed").await;

    let (_, answer) = app.post_bytes("/v1/documents/verify", "application/pdf", signed_pdf.clone()).await;
    assert_eq!((answer["valid"].clone(), answer["variant"].clone()), (json!(true), json!("signed")), "{answer}");
    assert!(answer["signed_at"].is_string());
    let (_, earlier) = app.post_bytes("/v1/documents/verify", "application/pdf", unsigned.clone()).await;
    assert_eq!(earlier["valid"], true);
    assert!(earlier["message"].as_str().unwrap().contains("since been signed"), "{earlier}");
    let mut tampered = signed_pdf.clone();
    let at = tampered.len() - 200;
    tampered[at] = tampered[at].wrapping_add(1);
    let (_, refused) = app.post_bytes("/v1/documents/verify", "application/pdf", tampered).await;
    assert_eq!(refused["valid"], false, "{refused}");

    let client_id = ClientId::parse(document["client_id"].as_str().unwrap()).unwrap();
    let timeline = mas_ports::Query::partition(mas_store::keys::client_pk(&clinic.tenant_id, &client_id))
        .sk(mas_ports::SortKey::BeginsWith(mas_store::keys::TIMELINE_PREFIX.into()));
    let kinds: Vec<Value> = app
        .app
        .store
        .table
        .query_all(&timeline)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e["kind"].clone())
        .filter(|k| k.as_str().unwrap().starts_with("document."))
        .collect();
    assert_eq!(kinds, [json!("document.generated"), json!("document.signed")]);

    // Notifications send the link from `document.signature_requested`; `document.signed` follows.
    let published = app.events.published();
    let requested = published.iter().find(|e| e.kind == "document.signature_requested").expect("signature requested");
    let session_id =
        mas_domain::ids::SigningSessionId::parse(requested.payload["session_id"].as_str().unwrap()).unwrap();
    let after_signing =
        mas_usecases::esign::link_token(&app.app.store, &app.app.links, &clinic.tenant_id, &session_id).await;
    assert!(matches!(after_signing, Err(mas_usecases::esign::EsignError::AlreadySigned)), "nothing to remind");
    let keys: Vec<&String> = requested.payload.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["client_id", "document_id", "expires_at", "session_id"]);
    assert_eq!(requested.payload["document_id"], json!(id));
    let signed_event = published.iter().find(|e| e.kind == "document.signed").expect("document.signed published");
    assert_eq!(signed_event.payload["document_id"], json!(id));
    assert_eq!(signed_event.payload["session_id"], requested.payload["session_id"]);
    for event in [requested, signed_event] {
        assert!(
            !event.payload.to_string().contains("Zoë") && !event.payload.to_string().contains("127.0.0.1"),
            "ids only"
        );
    }

    if !pdf::available("golden signed consent") {
        return;
    }
    let pages = pdf::pages(&signed_pdf);
    assert_eq!(pages, pdf::pages(&unsigned) + 1, "one audit page more");
    let flat = pdf::text(&signed_pdf).split_whitespace().collect::<Vec<_>>().join(" ");
    for expected in [
        &format!("Signed by {CLIENT_NAME}"),
        "Audit trail",
        "127.0.0.1",
        "e-sign opened by client",
        "e-sign signed by client",
        &format!("Stamp {signed_stamp}"),
        document["pdf"]["stamp"].as_str().unwrap(),
    ] {
        assert!(flat.contains(expected), "`{expected}` is missing from the signed PDF:\n{flat}");
    }
    let audit = pdf::page_png(&signed_pdf, pages as u32, &pdf::golden_dir().join("signed-consent-audit-page.png"));
    let signature_page =
        pdf::page_png(&signed_pdf, pages as u32 - 1, &pdf::golden_dir().join("signed-consent-signature-page.png"));
    println!("signed consent: {} and {}", signature_page.display(), audit.display());
}

#[tokio::test]
async fn signing_again_is_409_and_a_signed_document_cannot_be_deleted_by_any_role() {
    let app = spawn_app().await;
    let clinic = app.sign_up("glow").await;
    let (document, _) = generated(&app, &clinic).await;
    let id = document["id"].as_str().unwrap().to_owned();
    let path = signing_path(&app, &clinic, &id, json!({})).await;
    let second_path = signing_path(&app, &clinic, &id, json!({})).await;
    assert_eq!(app.call("POST", &format!("{path}/sign"), None, Some(signature_body("Ann"))).await.0, StatusCode::OK);

    let (status, err) = app.call("POST", &format!("{path}/sign"), None, Some(signature_body("Ann"))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{err}");
    assert_eq!(err["error"]["code"], "already_signed");
    // A second session opened before the signature cannot sign the locked document either.
    let (status, err) = app.call("POST", &format!("{second_path}/sign"), None, Some(signature_body("Bob"))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{err}");
    assert_eq!(err["error"]["code"], "already_signed");
    let (status, _) = app.post(&format!("/v1/documents/{id}/esign"), &clinic.token, json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT);

    for role in ["owner", "manager", "practitioner", "front_desk", "finance", "support"] {
        let (token, member_id) = if role == "owner" {
            (clinic.token.clone(), clinic.owner_id.clone())
        } else {
            app.member_token(&clinic, role).await
        };
        if role == "practitioner" {
            // A practitioner reaches only her care team (elsewhere the document is not found).
            let share = format!("/v1/clients/{}/care-team/{member_id}", document["client_id"].as_str().unwrap());
            assert_eq!(app.put(&share, &clinic.token, json!({})).await.0, StatusCode::OK);
        }
        let (status, err) = app.delete(&format!("/v1/documents/{id}"), &token).await;
        assert_eq!(
            (status, err["error"]["code"].as_str()),
            (StatusCode::CONFLICT, Some("document_locked")),
            "{role}: {err}"
        );
    }
    let (_, still) = app.get(&format!("/v1/documents/{id}"), &clinic.token).await;
    assert_eq!((still["status"].clone(), still["signature"]["typed_name"].clone()), (json!("signed"), json!("Ann")));
}

#[tokio::test]
async fn an_expired_link_cannot_sign_409_and_its_page_says_so() {
    let clock = Arc::new(FixedClock::new(chrono::Utc::now()));
    let app = spawn_app_with_clock(clock.clone()).await;
    let clinic = app.sign_up("glow").await;
    let (document, _) = generated(&app, &clinic).await;
    let id = document["id"].as_str().unwrap().to_owned();
    let path = signing_path(&app, &clinic, &id, json!({"expires_in_hours": 1})).await;
    clock.advance(chrono::Duration::minutes(61));

    // Notifications would rebuild the link from the event to remind the client: not once expired.
    let requested = app.events.published().into_iter().find(|e| e.kind == "document.signature_requested").unwrap();
    let session_id =
        mas_domain::ids::SigningSessionId::parse(requested.payload["session_id"].as_str().unwrap()).unwrap();
    let expired = mas_usecases::esign::link_token(&app.app.store, &app.app.links, &clinic.tenant_id, &session_id).await;
    assert!(matches!(expired, Err(mas_usecases::esign::EsignError::Expired)), "{expired:?}");

    let (status, err) = app.call("POST", &format!("{path}/sign"), None, Some(signature_body("Ann"))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{err}");
    assert_eq!(err["error"]["code"], "session_expired");
    assert_eq!(app.call("POST", &format!("{path}/open"), None, None).await.0, StatusCode::CONFLICT);
    let (status, page) = app.get_text(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("expired") && !page.contains("<canvas"), "{page}");
    let (_, unsigned) = app.get(&format!("/v1/documents/{id}"), &clinic.token).await;
    assert_eq!((unsigned["status"].clone(), unsigned["locked"].clone()), (json!("generated"), json!(false)));
}

#[tokio::test]
async fn a_declined_or_forged_link_cannot_sign() {
    let app = spawn_app().await;
    let clinic = app.sign_up("glow").await;
    let (document, _) = generated(&app, &clinic).await;
    let id = document["id"].as_str().unwrap().to_owned();
    let path = signing_path(&app, &clinic, &id, json!({})).await;

    let forged = format!("{}{}", &path[..path.len() - 1], if path.ends_with('0') { '1' } else { '0' });
    assert_eq!(app.get_text(&forged).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        app.call("POST", &format!("{forged}/sign"), None, Some(signature_body("Eve"))).await.0,
        StatusCode::NOT_FOUND
    );

    let (status, declined) = app.call("POST", &format!("{path}/decline"), None, None).await;
    assert_eq!((status, declined["status"].clone()), (StatusCode::OK, json!("declined")));
    let (status, err) = app.call("POST", &format!("{path}/sign"), None, Some(signature_body("Ann"))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(err["error"]["code"], "session_declined");
}

#[tokio::test]
async fn only_clinical_staff_and_the_front_desk_handle_documents_and_voiding_keeps_the_record() {
    let app = spawn_app().await;
    let clinic = app.sign_up("glow").await;
    let (front_desk, _) = app.member_token(&clinic, "front_desk").await;
    let (status, document) =
        app.post("/v1/documents/generate", &front_desk, generate_body(&client(&app, &clinic).await, "Ann Other")).await;
    assert_eq!(status, StatusCode::CREATED, "{document}");
    let id = document["id"].as_str().unwrap().to_owned();
    for role in ["finance", "support"] {
        let (token, _) = app.member_token(&clinic, role).await;
        assert_eq!(app.get(&format!("/v1/documents/{id}"), &token).await.0, StatusCode::FORBIDDEN, "{role}");
        assert_eq!(
            app.post("/v1/documents/generate", &token, generate_body(&ClientId::new().to_string(), "X")).await.0,
            StatusCode::FORBIDDEN
        );
    }

    let (status, voided) = app.delete(&format!("/v1/documents/{id}"), &clinic.token).await;
    assert_eq!((status, voided["status"].clone()), (StatusCode::OK, json!("voided")), "{voided}");
    let (status, kept) = app.get(&format!("/v1/documents/{id}"), &clinic.token).await;
    assert_eq!((status, kept["status"].clone()), (StatusCode::OK, json!("voided")));
    wait_for_pdf(&app, &clinic.token, &id, "pdf").await;
    let (status, err) = app.post(&format!("/v1/documents/{id}/esign"), &clinic.token, json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(err["error"]["code"], "document_voided");
}

#[tokio::test]
async fn a_document_for_an_appointment_takes_the_client_from_their_record_and_the_rest_from_the_booking() {
    use crate::booking::{booking, fixed_app, setup, tuesday};
    let (app, _clock) = fixed_app().await;
    let s = setup(&app, "records").await;
    let t = &s.clinic.token;
    let (status, appointment) =
        app.post("/v1/appointments", t, booking(&s, &s.service_id, tuesday(10, 0), Some(&s.practitioners[1]))).await;
    assert_eq!(status, StatusCode::CREATED, "{appointment}");
    let mut template = template_body("1.0.0");
    template["blocks"][0]["body"] = json!(
        "I, {{client.name}}, born {{client.date_of_birth}}, consent to {{treatment.name}} by {{practitioner.name}} \
         on {{appointment.date}} at {{appointment.time}} ({{appointment.timezone}}) at {{appointment.location}}."
    );
    assert_eq!(app.post("/v1/templates", t, template).await.0, StatusCode::CREATED);
    let body = json!({
        "kind": "consent", "topic": "skin-booster", "client_id": s.client_id, "appointment_id": appointment["id"],
        "context": {"client": {"name": "Somebody Else", "date_of_birth": "1 January 2001"},
                    "practitioner": {"name": "Dr Nobody"}}
    });

    // GIVEN a client record without a date of birth THEN the caller's date is not used: 422 names it
    let (status, err) = app.post("/v1/documents/generate", t, body.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(err["error"]["details"]["missing"], json!(["client.date_of_birth"]));

    // WHEN the record has it THEN every identity and booking fact comes from the records
    let (_, client) = app.get(&format!("/v1/clients/{}", s.client_id), t).await;
    let patch = json!({"version": client["version"], "date_of_birth": "1990-04-21"});
    let (status, patched) = app.patch(&format!("/v1/clients/{}", s.client_id), t, patch).await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    let (status, document) = app.post("/v1/documents/generate", t, body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{document}");
    assert_eq!(document["client_name"], "Ada Lovelace");
    assert_eq!(document["appointment_id"], appointment["id"]);
    assert_eq!(
        document["content"]["blocks"][0]["body"],
        "I, Ada Lovelace, born 21 April 1990, consent to Anti-wrinkle by Dr Two on 2 March 2027 at 10:00 \
         (Europe/London) at Mayfair."
    );

    // Another client's appointment, or an unknown client, is refused.
    let other = crate::booking::create_client(&app, &s.clinic, "Grace", "Hopper").await;
    let mut mismatched = body.clone();
    mismatched["client_id"] = json!(other);
    let (status, err) = app.post("/v1/documents/generate", t, mismatched).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("client_mismatch")),
        "{err}"
    );
    let (status, err) = app.post("/v1/documents/generate", t, generate_body(&ClientId::new().to_string(), "X")).await;
    assert_eq!(
        (status, err["error"]["details"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("client_id")),
        "{err}"
    );
}

#[tokio::test]
async fn a_confirmed_booking_gets_one_consent_and_one_aftercare_however_often_the_event_is_delivered() {
    use crate::booking::{booking, fixed_app, setup, tuesday};
    use mas_domain::ids::AppointmentId;
    use mas_usecases::documents::generate_for_confirmed_booking;
    let (app, _clock) = fixed_app().await;
    let s = setup(&app, "auto").await;
    let t = &s.clinic.token;
    let (status, appointment) = app.post("/v1/appointments", t, booking(&s, &s.service_id, tuesday(10, 0), None)).await;
    assert_eq!(status, StatusCode::CREATED, "{appointment}");
    let id = AppointmentId::parse(appointment["id"].as_str().unwrap()).unwrap();
    let tenant = &s.clinic.tenant_id;
    let a = &app.app;
    let deliver = || generate_for_confirmed_booking(&a.store, a.queue.as_ref(), tenant, &id);

    // Two deliveries at once, then a third after the PDFs exist.
    let (first, second) = tokio::join!(deliver(), deliver());
    let (first, second) = (first.unwrap(), second.unwrap());
    let ids = |docs: &[mas_domain::documents::Document]| {
        let mut ids: Vec<String> = docs.iter().map(|d| format!("{}:{}", d.kind.as_str(), d.id)).collect();
        ids.sort();
        ids
    };
    assert_eq!(first.len(), 2, "a consent and an aftercare form");
    assert_eq!(ids(&first), ids(&second), "the repeat returns the same documents");
    for document in &first {
        assert_eq!(document.topic.as_str(), "anti-wrinkle");
        assert_eq!(document.client_name, "Ada Lovelace");
        assert_eq!(document.appointment_id.as_ref(), Some(&id));
        wait_for_pdf(&app, t, document.id.as_str(), "pdf").await;
    }
    let third = deliver().await.unwrap();
    assert_eq!(ids(&third), ids(&first));

    let refs = mas_ports::Query::partition(mas_store::keys::tenant_pk(tenant))
        .sk(mas_ports::SortKey::BeginsWith("DOCREF#".into()));
    assert_eq!(app.app.store.table.query_all(&refs).await.unwrap().len(), 2, "nothing new was created");
    let consent = first.iter().find(|d| d.kind.as_str() == "consent").unwrap();
    let treatment = &consent.content.blocks.iter().find(|b| b.key.as_str() == "treatment").unwrap().body;
    assert!(treatment.contains("Anti-wrinkle") && treatment.contains("agreed with the practitioner"), "{treatment}");

    // Repeats of `document.generated` carry the same event id, so consumers see two events.
    let generated: Vec<_> = app.events.published().into_iter().filter(|e| e.kind == "document.generated").collect();
    let mut event_ids: Vec<String> = generated.iter().map(|e| e.id.to_string()).collect();
    event_ids.sort();
    event_ids.dedup();
    assert_eq!(event_ids.len(), 2, "{generated:?}");
    for event in &generated {
        let keys: Vec<&String> = event.payload.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["appointment_id", "client_id", "document_id", "kind", "topic"]);
        assert!(!event.payload.to_string().contains("Lovelace"));
    }
}

#[tokio::test]
async fn a_booked_treatment_without_a_template_in_force_is_recorded_once_and_the_call_still_succeeds() {
    use crate::booking::{booking, fixed_app, setup, tuesday};
    use mas_domain::ids::AppointmentId;
    use mas_usecases::documents::generate_for_confirmed_booking;
    let (app, _clock) = fixed_app().await;
    let s = setup(&app, "untemplated").await;
    let t = &s.clinic.token;
    let (status, service) = app
        .post(
            "/v1/services",
            t,
            json!({"name": "Microneedling", "category": "injectables", "duration_minutes": 30,
            "price": {"amount_minor": 15000}, "clinical_tags": ["microneedling"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{service}");
    let (status, consultation) = app
        .post(
            "/v1/services",
            t,
            json!({"name": "Consultation", "category": "injectables", "duration_minutes": 30,
            "price": {"amount_minor": 0}, "clinical_tags": ["lidocaine"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{consultation}");
    let tenant = &s.clinic.tenant_id;
    let a = &app.app;

    let (_, booked) =
        app.post("/v1/appointments", t, booking(&s, service["id"].as_str().unwrap(), tuesday(10, 0), None)).await;
    let id = AppointmentId::parse(booked["id"].as_str().unwrap()).unwrap();
    for _ in 0..2 {
        let documents = generate_for_confirmed_booking(&a.store, a.queue.as_ref(), tenant, &id).await.unwrap();
        assert!(documents.is_empty());
    }
    app.settle(&[tenant]).await;
    let skipped: Vec<_> =
        app.events.published().into_iter().filter(|e| e.kind == "document.generation_skipped").collect();
    // Announced once per (appointment, kind, topic), in the transaction that records the skip:
    // later deliveries find the record and announce nothing again.
    let mut ids: Vec<String> = skipped.iter().map(|e| e.id.to_string()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 2, "{skipped:?}");
    assert_eq!(skipped.len(), 2, "announced once each: {skipped:?}");
    assert_eq!(skipped[0].payload["code"], "no_template_in_force");
    assert_eq!(skipped[0].payload["topic"], "microneedling");
    let (_, timeline) = app.get(&format!("/v1/clients/{}/timeline", s.client_id), t).await;
    let noted = timeline.to_string().matches("document.generation_skipped").count();
    assert_eq!(noted, 2, "once per form, however often delivered: {timeline}");

    // A service that needs no consent generates nothing and records nothing.
    let (_, plain) =
        app.post("/v1/appointments", t, booking(&s, consultation["id"].as_str().unwrap(), tuesday(12, 0), None)).await;
    let plain = AppointmentId::parse(plain["id"].as_str().unwrap()).unwrap();
    let documents = generate_for_confirmed_booking(&a.store, a.queue.as_ref(), tenant, &plain).await.unwrap();
    assert!(documents.is_empty());
    app.settle(&[tenant]).await;
    assert_eq!(app.published("document.generation_skipped"), skipped.len(), "nothing more was skipped");
}

const LOGO_PNG: &[u8] = include_bytes!("../../shared/domain/testdata/python.png");
const LOGO_JPEG: &[u8] = include_bytes!("../../shared/domain/testdata/python.jpg");

#[tokio::test]
async fn a_clinic_uploads_its_logo_once_and_every_page_of_its_pdfs_carries_it() {
    let app = spawn_app().await;
    let clinic = app.sign_up("glow").await;

    // Only images, decoded whole, small, and only by those who may change the brand.
    let (status, _) = app.raw("PUT", "/v1/brand/logo", Some(&clinic.token), "image/svg+xml", b"<svg/>".to_vec()).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let truncated = LOGO_PNG[..800].to_vec(); // inside the pixel data (IDAT)
    let (status, err) = app.raw("PUT", "/v1/brand/logo", Some(&clinic.token), "image/png", truncated).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_image")),
        "{err}"
    );
    let (status, _) = app.raw("PUT", "/v1/brand/logo", Some(&clinic.token), "image/png", vec![0; 200 * 1024]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let (practitioner, _) = app.member_token(&clinic, "practitioner").await;
    let (status, _) = app.raw("PUT", "/v1/brand/logo", Some(&practitioner), "image/png", LOGO_PNG.to_vec()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, logo) = app.raw("PUT", "/v1/brand/logo", Some(&clinic.token), "image/jpeg", LOGO_JPEG.to_vec()).await;
    assert_eq!(status, StatusCode::OK, "{logo}");
    let (status, logo) = app.raw("PUT", "/v1/brand/logo", Some(&clinic.token), "image/png", LOGO_PNG.to_vec()).await;
    assert_eq!(status, StatusCode::OK, "{logo}");
    assert_eq!(
        (logo["format"].as_str(), logo["width"].as_u64(), logo["height"].as_u64()),
        (Some("png"), Some(16), Some(16))
    );
    assert_eq!(logo["sha256"], Sha256Hex::of(LOGO_PNG).as_str());

    let (document, bytes) = generated(&app, &clinic).await;
    assert!(document["pdf"]["stamp"].is_string());
    let (_, verified) = app.post_bytes("/v1/documents/verify", "application/pdf", bytes.clone()).await;
    assert_eq!(verified["valid"], true, "{verified}");
    if !pdf::available("golden consent with a logo") {
        return;
    }
    let flat = pdf::text(&bytes).split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains(CLIENT_NAME) && flat.contains("Clinic glow"), "{flat}");
    assert!(flat.contains(&format!("Stamp {}", document["pdf"]["stamp"].as_str().unwrap())));
    let pages = pdf::pages(&bytes) as u32;
    let images = pdf::images(&bytes);
    let logos: Vec<&(u32, u32, u32)> = images.iter().filter(|(_, w, h)| (*w, *h) == (16, 16)).collect();
    assert_eq!(logos.len() as u32, pages, "the logo on every page: {images:?}");
    let png = pdf::page_png(&bytes, 1, &pdf::golden_dir().join("consent-with-logo-page-1.png"));
    println!("page 1 with the logo: {}", png.display());
}

#[tokio::test]
async fn every_read_of_a_consent_document_or_a_medical_file_is_in_the_audit_log_naming_who_read_it() {
    let app = spawn_app().await;
    let clinic = app.sign_up("reads-logged").await;
    let (document, _) = generated(&app, &clinic).await;
    let id = document["id"].as_str().unwrap();
    let client = document["client_id"].as_str().unwrap();
    let reads = |action: &'static str| {
        let app = &app;
        let token = clinic.token.clone();
        async move {
            let (status, page) = app.get(&format!("/v1/audit?action={action}"), &token).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            page["items"].as_array().unwrap().clone()
        }
    };
    // `generated` took one link to the PDF (and read the document while waiting for it): each
    // read is one more record.
    assert_eq!(reads("document.pdf_opened").await.len(), 1);
    let before = reads("document.read").await.len();
    assert_eq!(app.get(&format!("/v1/documents/{id}"), &clinic.token).await.0, StatusCode::OK);
    assert_eq!(app.get(&format!("/v1/clients/{client}/medical"), &clinic.token).await.0, StatusCode::OK);
    assert_eq!(app.get(&format!("/v1/clients/{client}/medical"), &clinic.token).await.0, StatusCode::OK);
    let read = reads("document.read").await;
    assert_eq!(read.len(), before + 1, "{read:?}");
    assert_eq!((read[0]["entity_id"].as_str(), read[0]["actor"].as_str()), (Some(id), Some(clinic.owner_id.as_str())));
    assert_eq!(read[0]["integrity"], "intact");
    let medical = reads("medical.read").await;
    assert_eq!(medical.len(), 2, "{medical:?}");
    assert!(medical.iter().all(|r| r["entity_id"] == client && r["role"] == "owner"));

    // A read that is refused is not a read: finance may not open medical files.
    let (finance, _) = app.member_token(&clinic, "finance").await;
    assert_eq!(app.get(&format!("/v1/clients/{client}/medical"), &finance).await.0, StatusCode::FORBIDDEN);
    assert_eq!(reads("medical.read").await.len(), 2);
}
