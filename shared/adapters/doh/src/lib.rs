//! TXT lookups over DNS-over-HTTPS, in the JSON form Cloudflare (`https://cloudflare-dns.com/dns-query`)
//! and Google (`https://dns.google/resolve`) answer: `?name=…&type=TXT` with
//! `Accept: application/dns-json`.
//!
//! Why DoH and not a stub resolver crate: it reuses the HTTP client the binary already links (no
//! DNS library in `api`), it asks a public recursive resolver (so a record just added is seen as
//! soon as the authoritative servers have it, not after the VPC resolver's negative cache), and it
//! is tested against a local server speaking the same JSON.

use async_trait::async_trait;
use mas_ports::{DnsError, TxtResolver};
use serde::Deserialize;

pub const CLOUDFLARE: &str = "https://cloudflare-dns.com/dns-query";

/// RR type 16.
const TXT: u16 = 16;
/// Response codes (RFC 1035 §4.1.1): NOERROR, NXDOMAIN.
const NOERROR: u16 = 0;
const NXDOMAIN: u16 = 3;

pub struct DohResolver {
    http: reqwest::Client,
    endpoint: String,
}

impl DohResolver {
    /// `endpoint`: the resolver's JSON API (`CLOUDFLARE` unless `MAS_DOH_URL` says otherwise).
    pub fn new(endpoint: &str) -> DohResolver {
        DohResolver {
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(5))
                .build()
                .expect("a reqwest client with default TLS"),
            endpoint: endpoint.to_owned(),
        }
    }
}

#[derive(Deserialize)]
struct Answer {
    #[serde(rename = "type")]
    kind: u16,
    data: String,
}

#[derive(Deserialize)]
struct Response {
    #[serde(rename = "Status")]
    status: u16,
    #[serde(rename = "Answer", default)]
    answer: Vec<Answer>,
}

/// One TXT record's text from its presentation form: one or more quoted strings
/// (`"v=spf1 " "-all"`), joined, with `\"` and `\\` unescaped; an unquoted form is kept as is.
fn record_text(data: &str) -> String {
    let data = data.trim();
    if !data.starts_with('"') {
        return data.to_owned();
    }
    let mut text = String::new();
    let (mut quoted, mut escaped) = (false, false);
    for c in data.chars() {
        match (quoted, escaped, c) {
            (true, true, c) => {
                text.push(c);
                escaped = false;
            }
            (true, false, '\\') => escaped = true,
            (true, false, '"') => quoted = false,
            (true, false, c) => text.push(c),
            (false, _, '"') => quoted = true,
            (false, _, _) => {}
        }
    }
    text
}

#[async_trait]
impl TxtResolver for DohResolver {
    fn name(&self) -> &'static str {
        "doh"
    }

    async fn txt(&self, name: &str) -> Result<Vec<String>, DnsError> {
        let unavailable = |e: reqwest::Error| DnsError::Unavailable(format!("{}: {e}", self.endpoint));
        let url = reqwest::Url::parse_with_params(&self.endpoint, [("name", name), ("type", "TXT")])
            .map_err(|e| DnsError::Unavailable(format!("{}: {e}", self.endpoint)))?;
        let response = self
            .http
            .get(url)
            .header("accept", "application/dns-json")
            .send()
            .await
            .map_err(unavailable)?
            .error_for_status()
            .map_err(unavailable)?;
        let body: Response = response.json().await.map_err(unavailable)?;
        match body.status {
            NOERROR => Ok(body.answer.iter().filter(|a| a.kind == TXT).map(|a| record_text(&a.data)).collect()),
            NXDOMAIN => Ok(Vec::new()),
            other => Err(DnsError::Unavailable(format!("{}: DNS response code {other} for {name}", self.endpoint))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::record_text;

    #[test]
    fn a_txt_records_quoted_strings_are_joined_and_unescaped() {
        assert_eq!(record_text("\"mas-verify=abc\""), "mas-verify=abc");
        assert_eq!(record_text("\"v=spf1 \" \"-all\""), "v=spf1 -all");
        assert_eq!(record_text(r#""say \"hi\" \\ bye""#), r#"say "hi" \ bye"#);
        assert_eq!(record_text("unquoted"), "unquoted");
    }
}
