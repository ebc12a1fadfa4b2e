//! The DNS port: the TXT records at a name, which is how a clinic proves it controls its custom
//! domain. On Lambda a DNS-over-HTTPS resolver (`mas-doh`); locally the records a developer
//! publishes by hand (`RecordedTxt`, `PUT /local/dns/{name}`), since a laptop's domain is not ours
//! to edit.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DnsError {
    /// The resolver could not answer (timeout, SERVFAIL, unreachable); the message is for logs.
    #[error("dns unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait TxtResolver: Send + Sync {
    fn name(&self) -> &'static str;
    /// The text of every TXT record at `name` (each record's strings joined); none, when the name
    /// does not exist or holds no TXT record.
    async fn txt(&self, name: &str) -> Result<Vec<String>, DnsError>;
}

/// TXT records held in memory: the local host's DNS (set through `/local/dns/{name}`) and the
/// tests'. Names compare case-insensitively, without a trailing dot, as in DNS.
#[derive(Debug, Default)]
pub struct RecordedTxt {
    records: Mutex<HashMap<String, Vec<String>>>,
}

fn normal(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

impl RecordedTxt {
    pub fn new() -> RecordedTxt {
        RecordedTxt::default()
    }

    /// Replaces the TXT records at `name` (an empty list removes them).
    pub fn set(&self, name: &str, texts: Vec<String>) {
        let mut records = self.records.lock().expect("dns lock");
        if texts.is_empty() {
            records.remove(&normal(name));
        } else {
            records.insert(normal(name), texts);
        }
    }
}

#[async_trait]
impl TxtResolver for RecordedTxt {
    fn name(&self) -> &'static str {
        "recorded"
    }

    async fn txt(&self, name: &str) -> Result<Vec<String>, DnsError> {
        Ok(self.records.lock().expect("dns lock").get(&normal(name)).cloned().unwrap_or_default())
    }
}
