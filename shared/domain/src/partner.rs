//! Partner integrations: webhook endpoints a clinic registers for chosen event kinds, the
//! signed deliveries made to them (retried with backoff, parked after [`MAX_FAILURES`]), and
//! server-to-server API keys with scopes.
//!
//! Deliveries are signed as Stripe signs its own (and as `webhook.rs` verifies Stripe's):
//! `Mas-Signature: t={unix seconds},v1={hex HMAC-SHA256 of "{t}.{raw body}" under the endpoint's
//! secret}`. The same [`WebhookSecret`] makes and checks both.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::error::AppError;
use crate::ids::{ApiKeyId, DomainEventId, TenantId, WebhookDeliveryId, WebhookEndpointId};
use crate::team::Permission;
use crate::webhook::WebhookSecret;

/// The header a delivery's signature travels in.
pub const SIGNATURE_HEADER: &str = "Mas-Signature";

/// What a signing secret starts with.
pub const SECRET_PREFIX: &str = "whsec_";

/// The event kinds a partner may subscribe to: those the platform announces whose payload is ids
/// and amounts only (never a client's name, contact or health data).
pub const EVENT_KINDS: [&str; 10] = [
    "booking.confirmed",
    "booking.rescheduled",
    "booking.cancelled",
    "booking.completed",
    "booking.no_show",
    "payment.succeeded",
    "payment.refunded",
    "sale.completed",
    "sale.voided",
    "sale.refunded",
];

/// How long to wait before each retry: after the first failure 1 min, then 5 min, 30 min, 2 h
/// and 6 h. The failure after the last wait parks the delivery.
pub const BACKOFF_SECONDS: [i64; 5] = [60, 5 * 60, 30 * 60, 2 * 3600, 6 * 3600];

/// Failures in a row (the first attempt and its five retries) after which a delivery is parked.
pub const MAX_FAILURES: u32 = BACKOFF_SECONDS.len() as u32 + 1;

/// How long a claimed attempt may take before another sweep may try it again (a worker that
/// died mid-attempt): longer than the 10 s timeout with room to record the outcome.
pub const CLAIM_SECONDS: i64 = 120;

/// A request to a partner's endpoint gives up after this long (a timeout is a failure).
pub const TIMEOUT_SECONDS: u64 = 10;

/// The subscribed kinds: at least one, each from [`EVENT_KINDS`], no repeats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "Vec<String>", into = "Vec<String>")]
#[schema(value_type = Vec<String>, example = json!(["booking.confirmed", "payment.succeeded"]))]
pub struct EventKinds(BTreeSet<String>);

impl EventKinds {
    pub fn parse(kinds: Vec<String>) -> Result<EventKinds, String> {
        if kinds.is_empty() {
            return Err("choose at least one event kind".into());
        }
        let mut set = BTreeSet::new();
        for kind in kinds {
            if !EVENT_KINDS.contains(&kind.as_str()) {
                return Err(format!(
                    "`{kind}` is not an event kind partners may subscribe to ({})",
                    EVENT_KINDS.join(", ")
                ));
            }
            set.insert(kind);
        }
        Ok(EventKinds(set))
    }

    pub fn contains(&self, kind: &str) -> bool {
        self.0.contains(kind)
    }
}

impl TryFrom<Vec<String>> for EventKinds {
    type Error = String;
    fn try_from(kinds: Vec<String>) -> Result<Self, String> {
        EventKinds::parse(kinds)
    }
}

impl From<EventKinds> for Vec<String> {
    fn from(kinds: EventKinds) -> Vec<String> {
        kinds.0.into_iter().collect()
    }
}

/// Where deliveries may go from this platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Egress {
    /// On AWS: `https` to a public address only (no loopback, private, link-local — the
    /// instance metadata service — or other reserved ranges): a clinic cannot make our workers
    /// call into our own network (SSRF).
    Public,
    /// The local host and tests: also `http` to loopback (`127.0.0.1`, `[::1]`, `localhost`).
    AlsoLoopback,
}

/// An endpoint's URL, checked for [`Egress`]. The host is checked here when it is an address;
/// a name is checked again by the sender against the addresses it resolves to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, example = "https://partner.example.com/hooks/mas")]
pub struct EndpointUrl(String);

impl EndpointUrl {
    pub fn parse(raw: &str, egress: Egress) -> Result<EndpointUrl, String> {
        let raw = raw.trim();
        if raw.len() > 2048 || raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("a URL has at most 2,048 characters and no spaces".into());
        }
        let (scheme, rest) = raw.split_once("://").ok_or("a URL starts with https://")?;
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.contains('@') {
            return Err("a URL may not carry a user name or password".into());
        }
        let host = host_of(authority).ok_or("the URL has no host")?;
        let loopback = is_loopback_host(&host);
        match scheme.to_ascii_lowercase().as_str() {
            "https" => {}
            "http" if loopback && egress == Egress::AlsoLoopback => {}
            _ => return Err("deliveries go to https:// URLs only".into()),
        }
        if loopback {
            return match egress {
                Egress::AlsoLoopback => Ok(EndpointUrl(raw.to_owned())),
                Egress::Public => Err("deliveries may not go to this platform's own machine".into()),
            };
        }
        if let Ok(ip) = host.parse::<IpAddr>() {
            if !is_public_ip(ip) {
                return Err("deliveries may not go to a private, link-local or reserved address".into());
            }
        } else {
            let lower = host.to_ascii_lowercase();
            if !lower.contains('.')
                || [".local", ".internal", ".localdomain", ".home.arpa"].iter().any(|s| lower.ends_with(s))
                || !lower.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
            {
                return Err("the URL's host is not a public domain name".into());
            }
        }
        Ok(EndpointUrl(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The host (a name or an address, brackets stripped), for the sender's resolution check.
    pub fn host(&self) -> String {
        let rest = self.0.split_once("://").map(|(_, rest)| rest).unwrap_or_default();
        host_of(rest.split(['/', '?', '#']).next().unwrap_or_default()).unwrap_or_default()
    }
}

/// `example.com:8443` → `example.com`; `[::1]:80` → `::1`.
fn host_of(authority: &str) -> Option<String> {
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next()?
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
            _ => authority,
        }
    };
    (!host.is_empty()).then(|| host.to_owned())
}

fn is_loopback_host(host: &str) -> bool {
    let lower = host.to_ascii_lowercase();
    lower == "localhost" || lower.ends_with(".localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether a delivery may go to `ip` on AWS: a globally routed unicast address.
pub fn is_public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        || (a == 192 && b == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
        || first == 0x2001 && ip.segments()[1] == 0x0db8 // documentation
        || first == 0x0064 && ip.segments()[1] == 0xff9b) // NAT64 (would reach IPv4 behind it)
}

/// A webhook endpoint as stored and listed (its secret is sealed beside it, never shown again).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Endpoint {
    pub id: WebhookEndpointId,
    pub url: EndpointUrl,
    pub kinds: EventKinds,
    /// A disabled endpoint is sent nothing new (its pending retries park when they come due).
    pub enabled: bool,
    /// What it is for, as the clinic calls it (at most 200 characters).
    pub description: String,
    /// Bumped by every change (rolling the secret too); a change names the version it read.
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Endpoint {
    /// Whether `kind` is to be delivered here now.
    pub fn wants(&self, kind: &str) -> bool {
        self.enabled && self.kinds.contains(kind)
    }
}

/// A description of at most 200 characters.
pub fn description(raw: Option<String>) -> Result<String, String> {
    let text = raw.unwrap_or_default().trim().to_owned();
    if text.chars().count() > 200 || text.chars().any(char::is_control) {
        return Err("a description has at most 200 characters on one line".into());
    }
    Ok(text)
}

/// Where one delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its next attempt (`next_attempt_at`).
    Pending,
    /// The endpoint answered 2xx.
    Succeeded,
    /// Failed [`MAX_FAILURES`] times in a row: no more attempts until it is replayed.
    Parked,
}

/// One event's delivery to one endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Delivery {
    pub id: WebhookDeliveryId,
    pub endpoint_id: WebhookEndpointId,
    pub event_id: DomainEventId,
    /// The event's kind (`booking.confirmed`…).
    pub kind: String,
    pub state: DeliveryState,
    /// Attempts made (or claimed) in all, replays included.
    pub attempts: u32,
    /// Failures since the last success or replay: what the backoff and parking count.
    pub failures: u32,
    /// When it is next tried (pending only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The endpoint's last HTTP status, if it answered.
    pub last_status: Option<u16>,
    /// Why the last attempt failed (a status outside 2xx, a timeout, a refused address).
    pub last_error: Option<String>,
    /// The exact bytes sent (and signed): the envelope, kept so a replay sends the same.
    #[schema(value_type = String)]
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A 2xx answer.
    Delivered { status: u16 },
    /// Any other answer, or none (`status` is `None`: timeout, refused connection, bad address).
    Failed { status: Option<u16>, error: String },
}

impl Outcome {
    /// 2xx is success; anything else a failure.
    pub fn of_status(status: u16) -> Outcome {
        if (200..300).contains(&status) {
            Outcome::Delivered { status }
        } else {
            Outcome::Failed { status: Some(status), error: format!("the endpoint answered {status}") }
        }
    }
}

/// The delivery id of `event` to `endpoint`: the same pair always gives the same id, which the
/// delivery's not-exists put turns into "once per event and endpoint".
pub fn delivery_id(endpoint: &WebhookEndpointId, event: &DomainEventId) -> WebhookDeliveryId {
    let digest = Sha256::digest(format!("{endpoint}|{event}").as_bytes());
    WebhookDeliveryId::parse(&format!("{}{}", WebhookDeliveryId::PREFIX, &hex::encode(digest)[..32]))
        .expect("hex digits make an id")
}

/// The JSON a partner receives: a stable envelope around the event's own payload (ids and
/// amounts only), `created` in unix seconds as Stripe's events have it.
pub fn envelope(
    event: &DomainEventId,
    kind: &str,
    occurred_at: DateTime<Utc>,
    tenant: &TenantId,
    data: &serde_json::Value,
) -> String {
    serde_json::json!({
        "id": event,
        "type": kind,
        "created": occurred_at.timestamp(),
        "tenant": tenant,
        "data": data,
    })
    .to_string()
}

impl Delivery {
    /// A new delivery, due at once.
    pub fn new(
        endpoint: &WebhookEndpointId,
        event: &DomainEventId,
        kind: &str,
        body: String,
        now: DateTime<Utc>,
    ) -> Delivery {
        Delivery {
            id: delivery_id(endpoint, event),
            endpoint_id: endpoint.clone(),
            event_id: event.clone(),
            kind: kind.to_owned(),
            state: DeliveryState::Pending,
            attempts: 0,
            failures: 0,
            next_attempt_at: Some(now),
            last_status: None,
            last_error: None,
            body,
            created_at: now,
            updated_at: now,
            delivered_at: None,
        }
    }

    /// Whether an attempt is due at `now`.
    pub fn is_due(&self, now: DateTime<Utc>) -> bool {
        self.state == DeliveryState::Pending && self.next_attempt_at.is_some_and(|at| at <= now)
    }

    /// The delivery with attempt `attempts + 1` claimed: should the worker die, it is due again
    /// after [`CLAIM_SECONDS`]. The claim is written on condition that `attempts` is still what
    /// was read, so two sweeps never both make the same attempt.
    pub fn claimed(&self, now: DateTime<Utc>) -> Delivery {
        Delivery {
            attempts: self.attempts + 1,
            next_attempt_at: Some(now + Duration::seconds(CLAIM_SECONDS)),
            updated_at: now,
            ..self.clone()
        }
    }

    /// The delivery after a claimed attempt came to `outcome`: delivered; or retried after the
    /// next wait of [`BACKOFF_SECONDS`]; or parked after [`MAX_FAILURES`] in a row.
    pub fn after(&self, outcome: Outcome, now: DateTime<Utc>) -> Delivery {
        let mut next = Delivery { updated_at: now, ..self.clone() };
        match outcome {
            Outcome::Delivered { status } => {
                next.state = DeliveryState::Succeeded;
                next.failures = 0;
                next.next_attempt_at = None;
                next.last_status = Some(status);
                next.last_error = None;
                next.delivered_at = Some(now);
            }
            Outcome::Failed { status, error } => {
                next.failures = self.failures + 1;
                next.last_status = status;
                next.last_error = Some(error);
                match retry_after(next.failures) {
                    Some(wait) => next.next_attempt_at = Some(now + wait),
                    None => {
                        next.state = DeliveryState::Parked;
                        next.next_attempt_at = None;
                    }
                }
            }
        }
        next
    }

    /// Sent again from the back office: pending and due now, with its failures forgotten (a
    /// replay that fails goes through the whole backoff again before it parks).
    pub fn replayed(&self, now: DateTime<Utc>) -> Delivery {
        Delivery {
            state: DeliveryState::Pending,
            failures: 0,
            next_attempt_at: Some(now),
            updated_at: now,
            ..self.clone()
        }
    }
}

/// The wait before the retry after the `failures`-th failure in a row; `None`: park it.
pub fn retry_after(failures: u32) -> Option<Duration> {
    let index = usize::try_from(failures).ok()?.checked_sub(1)?;
    BACKOFF_SECONDS.get(index).map(|s| Duration::seconds(*s))
}

/// What a server calling with an API key may do. Each scope is one of the staff permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
pub enum Scope {
    /// `GET /partner/v1/appointments`: the clinic's appointments (ids, times, status).
    #[serde(rename = "appointments:read")]
    AppointmentsRead,
    /// `GET /partner/v1/clients/{id}`: one client's record (name and contact details).
    #[serde(rename = "clients:read")]
    ClientsRead,
    /// `GET /partner/v1/services`: the clinic's services.
    #[serde(rename = "catalog:read")]
    CatalogRead,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::AppointmentsRead, Scope::ClientsRead, Scope::CatalogRead];

    /// The staff permission the scope stands for.
    pub fn permission(self) -> Permission {
        match self {
            Scope::AppointmentsRead => Permission::BookingRead,
            Scope::ClientsRead => Permission::BookingRead,
            Scope::CatalogRead => Permission::CatalogRead,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::AppointmentsRead => "appointments:read",
            Scope::ClientsRead => "clients:read",
            Scope::CatalogRead => "catalog:read",
        }
    }
}

/// A key's scopes: at least one.
pub fn scopes(list: Vec<Scope>) -> Result<BTreeSet<Scope>, String> {
    let set: BTreeSet<Scope> = list.into_iter().collect();
    if set.is_empty() {
        return Err("give the key at least one scope".into());
    }
    Ok(set)
}

/// What every API key starts with (so a leaked one is recognisable by secret scanners).
pub const KEY_PREFIX: &str = "mas_key_";

/// A freshly made API key: the secret (shown once), the prefix kept to recognise it in lists,
/// and the SHA-256 of the secret, which is all that is stored of it.
pub struct NewKey {
    pub secret: String,
    pub prefix: String,
    pub hash: String,
}

impl NewKey {
    /// 32 random bytes (256 bits) in hex after [`KEY_PREFIX`].
    pub fn generate() -> NewKey {
        use rand::Rng;
        let mut bytes = [0u8; 32];
        rand::rng().fill(&mut bytes);
        let secret = format!("{KEY_PREFIX}{}", hex::encode(bytes));
        let prefix = secret[..KEY_PREFIX.len() + 8].to_owned();
        let hash = key_hash(&secret);
        NewKey { secret, prefix, hash }
    }
}

/// The stored form of a key: SHA-256 in hex (the key has 256 bits of entropy, so a slow hash
/// adds nothing). `None` for anything not shaped like one of our keys.
pub fn presented_key_hash(presented: &str) -> Option<String> {
    let body = presented.strip_prefix(KEY_PREFIX)?;
    (body.len() == 64 && body.chars().all(|c| c.is_ascii_hexdigit())).then(|| key_hash(presented))
}

fn key_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// An API key as listed: never its secret or hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub name: String,
    #[schema(value_type = Vec<String>)]
    pub scopes: BTreeSet<Scope>,
    /// The key's first characters (`mas_key_1a2b3c4d`), to tell keys apart.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    /// The member who made it.
    pub created_by: String,
    /// Set when revoked: from then on the key is refused.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiKey {
    pub fn allows(&self, scope: Scope) -> bool {
        self.revoked_at.is_none() && self.scopes.contains(&scope)
    }
}

/// A key's name: 1 to 80 characters on one line.
pub fn key_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 80 || name.chars().any(char::is_control) {
        return Err("a key's name has 1 to 80 characters on one line".into());
    }
    Ok(name.to_owned())
}

/// A 422 for `field` with `message`.
pub fn invalid(field: &str, message: String) -> AppError {
    AppError::invalid("invalid_field", field, message)
}

/// The signing secret of a new endpoint (or a rolled one).
pub fn new_secret() -> WebhookSecret {
    WebhookSecret::generate(SECRET_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + Duration::minutes(minutes)
    }

    #[test]
    fn https_urls_to_public_hosts_are_accepted_everywhere() {
        for url in ["https://partner.example.com/hooks", "https://hooks.example.org:8443/a?b=c", "https://8.8.8.8/x"] {
            assert!(EndpointUrl::parse(url, Egress::Public).is_ok(), "{url}");
        }
    }

    #[test]
    fn private_link_local_and_loopback_addresses_are_refused_on_aws() {
        for url in [
            "https://127.0.0.1/x",
            "https://localhost/x",
            "https://10.0.0.5/x",
            "https://172.16.3.4/x",
            "https://192.168.1.1/x",
            "https://169.254.169.254/latest/meta-data",
            "https://100.64.0.1/x",
            "https://0.0.0.0/x",
            "https://[::1]/x",
            "https://[fd00::1]/x",
            "https://[fe80::1]/x",
            "https://[::ffff:169.254.169.254]/x",
            "https://metadata.internal/x",
            "https://printer.local/x",
            "https://intranet/x",
            "http://partner.example.com/x",
            "https://user:pw@partner.example.com/x",
            "ftp://partner.example.com/x",
            "partner.example.com",
        ] {
            assert!(EndpointUrl::parse(url, Egress::Public).is_err(), "{url}");
        }
    }

    #[test]
    fn plain_http_is_allowed_to_loopback_only_when_the_platform_runs_locally() {
        assert!(EndpointUrl::parse("http://127.0.0.1:8123/hook", Egress::AlsoLoopback).is_ok());
        assert!(EndpointUrl::parse("http://localhost:8123/hook", Egress::AlsoLoopback).is_ok());
        assert!(EndpointUrl::parse("http://[::1]:8123/hook", Egress::AlsoLoopback).is_ok());
        assert!(EndpointUrl::parse("http://127.0.0.1:8123/hook", Egress::Public).is_err());
        assert!(EndpointUrl::parse("http://partner.example.com/hook", Egress::AlsoLoopback).is_err());
        assert!(EndpointUrl::parse("http://10.1.2.3/hook", Egress::AlsoLoopback).is_err());
        assert_eq!(EndpointUrl::parse("http://[::1]:8123/hook", Egress::AlsoLoopback).unwrap().host(), "::1");
    }

    #[test]
    fn kinds_must_be_ones_the_platform_announces_to_partners() {
        assert!(EventKinds::parse(vec![]).is_err());
        assert!(EventKinds::parse(vec!["client.erased".into()]).is_err());
        let kinds = EventKinds::parse(vec!["booking.confirmed".into(), "booking.confirmed".into()]).unwrap();
        assert_eq!(Vec::<String>::from(kinds), ["booking.confirmed"]);
    }

    #[test]
    fn failures_wait_one_five_thirty_minutes_two_and_six_hours_then_the_sixth_parks() {
        let mut d = Delivery::new(
            &WebhookEndpointId::new(),
            &DomainEventId::parse("dev_1").unwrap(),
            "booking.confirmed",
            "{}".into(),
            at(0),
        );
        let mut now = at(0);
        let mut waits = Vec::new();
        for _ in 0..MAX_FAILURES {
            assert!(d.is_due(now));
            let claimed = d.claimed(now);
            assert!(!claimed.is_due(now), "a claimed attempt is not due again at once");
            d = claimed.after(Outcome::of_status(500), now);
            if let Some(next) = d.next_attempt_at {
                waits.push((next - now).num_minutes());
                now = next;
            }
        }
        assert_eq!(waits, [1, 5, 30, 120, 360]);
        assert_eq!(d.state, DeliveryState::Parked);
        assert_eq!((d.attempts, d.failures, d.last_status), (6, 6, Some(500)));
        assert!(!d.is_due(at(100_000)));
        let replayed = d.replayed(at(2000));
        assert!(replayed.is_due(at(2000)));
        let done = replayed.claimed(at(2000)).after(Outcome::of_status(204), at(2000));
        assert_eq!(
            (done.state, done.attempts, done.failures, done.delivered_at),
            (DeliveryState::Succeeded, 7, 0, Some(at(2000)))
        );
    }

    #[test]
    fn only_2xx_is_success() {
        assert_eq!(Outcome::of_status(200), Outcome::Delivered { status: 200 });
        assert_eq!(Outcome::of_status(299), Outcome::Delivered { status: 299 });
        for status in [199, 301, 400, 410, 500] {
            assert!(matches!(Outcome::of_status(status), Outcome::Failed { .. }), "{status}");
        }
    }

    #[test]
    fn one_event_to_one_endpoint_is_always_the_same_delivery_and_to_another_never() {
        let (a, b) = (WebhookEndpointId::new(), WebhookEndpointId::new());
        let event = DomainEventId::parse("dev_0123").unwrap();
        assert_eq!(delivery_id(&a, &event), delivery_id(&a, &event));
        assert_ne!(delivery_id(&a, &event), delivery_id(&b, &event));
    }

    #[test]
    fn the_envelope_is_stable_and_its_signature_verifies_with_the_secret_shown() {
        let tenant = TenantId::parse("ten_a").unwrap();
        let event = DomainEventId::parse("dev_1").unwrap();
        let body =
            envelope(&event, "booking.confirmed", at(0), &tenant, &serde_json::json!({"appointment_id": "apt_1"}));
        let parsed: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(parsed["type"], "booking.confirmed");
        assert_eq!(parsed["created"], 1_800_000_000);
        assert_eq!(parsed["data"]["appointment_id"], "apt_1");
        let secret = new_secret();
        assert!(secret.expose().starts_with("whsec_") && secret.expose().len() == 6 + 64);
        let header = secret.sign(at(0).timestamp(), body.as_bytes());
        let shown = WebhookSecret::new(secret.expose()).unwrap();
        assert_eq!(shown.verify(Some(&header), body.as_bytes(), at(0).timestamp()), Ok(()));
    }

    #[test]
    fn a_key_is_recognised_by_its_hash_and_nothing_else_is_a_key() {
        let key = NewKey::generate();
        assert!(key.secret.starts_with("mas_key_") && key.secret.len() == 8 + 64);
        assert!(key.secret.starts_with(&key.prefix) && key.prefix.len() == 16);
        assert_eq!(presented_key_hash(&key.secret), Some(key.hash.clone()));
        assert_ne!(NewKey::generate().hash, key.hash);
        assert_eq!(presented_key_hash("mas_key_short"), None);
        assert_eq!(presented_key_hash(&key.secret.replace("mas_key_", "sk_live_")), None);
    }

    #[test]
    fn a_revoked_key_allows_nothing_and_a_live_one_only_its_scopes() {
        let mut key = ApiKey {
            id: ApiKeyId::new(),
            name: "Zapier".into(),
            scopes: scopes(vec![Scope::AppointmentsRead]).unwrap(),
            prefix: "mas_key_00000000".into(),
            created_at: at(0),
            created_by: "mem_1".into(),
            revoked_at: None,
        };
        assert!(key.allows(Scope::AppointmentsRead) && !key.allows(Scope::ClientsRead));
        key.revoked_at = Some(at(1));
        assert!(!key.allows(Scope::AppointmentsRead));
        assert!(scopes(vec![]).is_err());
        let parsed: Vec<Scope> = serde_json::from_str(r#"["appointments:read","catalog:read"]"#).unwrap();
        assert_eq!(parsed, [Scope::AppointmentsRead, Scope::CatalogRead]);
    }
}
