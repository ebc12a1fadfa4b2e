//! The TXT resolver port's assertions, run on both adapters: the records a developer sets by hand
//! (`RecordedTxt`) and DNS-over-HTTPS (`mas-doh`) against a loopback server speaking the JSON API
//! Cloudflare and Google answer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use mas_doh::DohResolver;
use mas_ports::{DnsError, RecordedTxt, TxtResolver};
use serde_json::{Value, json};

const NAME: &str = "_mas-verify.www.glow.example";

/// What every resolver must do: the texts at a name, nothing for a name without records.
async fn resolves_txt_records(resolver: &dyn TxtResolver) {
    let texts = resolver.txt(NAME).await.expect("answered");
    assert_eq!(texts.len(), 2, "{}: {texts:?}", resolver.name());
    assert!(texts.contains(&"mas-verify=0123abcd".to_owned()), "{}: {texts:?}", resolver.name());
    assert!(texts.contains(&"v=spf1 -all".to_owned()), "{}: {texts:?}", resolver.name());
    assert_eq!(resolver.txt("_mas-verify.nobody.example").await.expect("answered"), Vec::<String>::new());
}

#[tokio::test]
async fn recorded_txt_answers_the_records_set_on_it() {
    let recorded = RecordedTxt::new();
    recorded.set(NAME, vec!["mas-verify=0123abcd".into(), "v=spf1 -all".into()]);
    resolves_txt_records(&recorded).await;
    // Names compare as DNS compares them; an empty list removes.
    assert_eq!(recorded.txt("_MAS-VERIFY.www.glow.example.").await.unwrap().len(), 2);
    recorded.set(NAME, vec![]);
    assert!(recorded.txt(NAME).await.unwrap().is_empty());
}

/// A DoH server: `zone` maps a name to its answer (`Status` and `Answer`); it records the
/// `accept` header of each request.
async fn doh_server(zone: HashMap<String, Value>) -> (String, Arc<Mutex<Vec<String>>>) {
    type Shared = (HashMap<String, Value>, Arc<Mutex<Vec<String>>>);
    async fn answer(
        State((zone, seen)): State<Shared>,
        Query(query): Query<HashMap<String, String>>,
        headers: HeaderMap,
    ) -> (StatusCode, axum::Json<Value>) {
        let accept = headers.get("accept").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        seen.lock().unwrap().push(accept);
        if query.get("type").map(String::as_str) != Some("TXT") {
            return (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "type"})));
        }
        let name = query.get("name").cloned().unwrap_or_default();
        match zone.get(&name) {
            Some(answer) if answer == &json!("http 500") => (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(json!({}))),
            Some(answer) => (StatusCode::OK, axum::Json(answer.clone())),
            None => (StatusCode::OK, axum::Json(json!({"Status": 3, "Question": [{"name": name, "type": 16}]}))),
        }
    }
    let seen = Arc::new(Mutex::new(Vec::new()));
    let router = axum::Router::new().route("/dns-query", axum::routing::get(answer)).with_state((zone, seen.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/dns-query", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (base, seen)
}

#[tokio::test]
async fn dns_over_https_answers_the_txt_records_of_the_json_api_and_fails_loudly_when_the_resolver_does() {
    let zone = HashMap::from([
        (
            NAME.to_owned(),
            json!({"Status": 0, "Answer": [
                // A CNAME on the way is not a TXT record; a long text comes as several strings.
                {"name": NAME, "type": 5, "TTL": 300, "data": "elsewhere.example."},
                {"name": NAME, "type": 16, "TTL": 300, "data": "\"mas-verify=0123abcd\""},
                {"name": NAME, "type": 16, "TTL": 300, "data": "\"v=spf1 \" \"-all\""},
            ]}),
        ),
        ("servfail.example".to_owned(), json!({"Status": 2})),
        ("broken.example".to_owned(), json!("http 500")),
    ]);
    let (endpoint, seen) = doh_server(zone).await;
    let doh = DohResolver::new(&endpoint);
    resolves_txt_records(&doh).await;
    assert!(seen.lock().unwrap().iter().all(|accept| accept == "application/dns-json"));
    // A resolver that fails is not "no record": the clinic is told to try again, not that its
    // record is missing.
    for name in ["servfail.example", "broken.example"] {
        match doh.txt(name).await {
            Err(DnsError::Unavailable(why)) => assert!(why.contains(&endpoint), "{why}"),
            other => panic!("{name}: expected unavailable, got {other:?}"),
        }
    }
    let unreachable = DohResolver::new("http://127.0.0.1:9/dns-query");
    assert!(matches!(unreachable.txt(NAME).await, Err(DnsError::Unavailable(_))));
}
