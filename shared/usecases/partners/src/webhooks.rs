//! Webhook endpoints and their deliveries.
//!
//! - Fan-out: the `partner_webhooks` worker receives every event of `partner::EVENT_KINDS` (an
//!   EventBridge rule onto its queue; locally the routed bus). Each enabled endpoint subscribed
//!   to the kind gets one delivery, put only if absent under a key derived from the event and the
//!   endpoint, so a redelivered event makes none twice. The new deliveries are tried at once.
//! - Retries: a scheduled sweep (every minute) reads the due deliveries off a sparse index and
//!   tries them. Each attempt is first claimed by a conditional write (on the attempts count it
//!   read), so two sweeps, or a sweep and a replay, never make the same attempt twice; a claim
//!   whose worker died comes due again after `partner::CLAIM_SECONDS`.
//! - Replay: any delivery (or all an endpoint's parked ones) is made pending and due now.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use mas_context::app::App;
use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::{TenantId, WebhookDeliveryId, WebhookEndpointId};
use mas_domain::partner::{
    self, Delivery, DeliveryState, Endpoint, EndpointUrl, EventKinds, Outcome, SIGNATURE_HEADER,
};
use mas_domain::webhook::WebhookSecret;
use mas_ports::table::{GSI1PK, GSI1SK};
use mas_ports::{Condition, DomainEvent, OutboundPost, PostError, Query, SortKey, TableError, Write};
use mas_store::crypto::{KeyScope, Sealed};
use mas_store::{AuditContext, Plan, Store, from_item, keys, to_item};

/// How long a rolled secret keeps signing beside the new one (Stripe's default is 24 h too).
pub const ROLL_OVERLAP_HOURS: i64 = 24;

/// What a clinic says about an endpoint (create and replace).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointInput {
    /// `https://…` (on AWS, a public host; locally also `http://127.0.0.1:…`).
    pub url: String,
    /// Event kinds to receive: any of `booking.confirmed`, `booking.rescheduled`,
    /// `booking.cancelled`, `booking.completed`, `booking.no_show`, `payment.succeeded`,
    /// `payment.refunded`, `sale.completed`, `sale.voided`, `sale.refunded`.
    pub kinds: Vec<String>,
    /// Defaults to true.
    pub enabled: Option<bool>,
    /// At most 200 characters.
    pub description: Option<String>,
}

/// An endpoint with its signing secret: answered once, when it is made or its secret rolled.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EndpointWithSecret {
    #[serde(flatten)]
    pub endpoint: Endpoint,
    /// `whsec_…`: verify `Mas-Signature` with it. Shown this once; roll it if it is lost.
    pub secret: String,
}

/// The sealed secrets as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredSecret {
    current: Sealed,
    previous: Option<Sealed>,
    previous_until: Option<DateTime<Utc>>,
}

fn secret_aad(t: &TenantId, id: &WebhookEndpointId) -> String {
    format!("mas:webhook-secret:v1:{t}:{id}")
}

fn checked(app: &App, input: EndpointInput) -> AppResult<(EndpointUrl, EventKinds, bool, String)> {
    let url = EndpointUrl::parse(&input.url, app.partner_egress).map_err(|m| partner::invalid("url", m))?;
    let kinds = EventKinds::parse(input.kinds).map_err(|m| partner::invalid("kinds", m))?;
    let description = partner::description(input.description).map_err(|m| partner::invalid("description", m))?;
    Ok((url, kinds, input.enabled.unwrap_or(true), description))
}

async fn sealed(app: &App, audit: &AuditContext, id: &WebhookEndpointId, secret: &WebhookSecret) -> AppResult<Sealed> {
    let key = app.keyring.for_writing(&app.store, audit).await?;
    Sealed::seal(&key, KeyScope::Tenant, &secret_aad(&audit.tenant_id, id), &secret.expose())
}

/// Registers an endpoint; its secret is made here and answered this once.
pub async fn create(app: &App, audit: &AuditContext, input: EndpointInput) -> AppResult<EndpointWithSecret> {
    let (url, kinds, enabled, description) = checked(app, input)?;
    let t = &audit.tenant_id;
    let now = app.store.clock.now();
    let endpoint = Endpoint {
        id: WebhookEndpointId::new(),
        url,
        kinds,
        enabled,
        description,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let secret = partner::new_secret();
    let stored = StoredSecret {
        current: sealed(app, audit, &endpoint.id, &secret).await?,
        previous: None,
        previous_until: None,
    };
    let mut plan = Plan::new();
    let taken = || AppError::Internal("a new endpoint's id was taken".into());
    plan.push(
        Write::put_new(to_item(&keys::webhook_endpoint(t, &endpoint.id), "webhook_endpoint", &endpoint)?),
        taken(),
    );
    plan.push(Write::put_new(to_item(&keys::webhook_secret(t, &endpoint.id), "webhook_secret", &stored)?), taken());
    plan.commit(&app.store, audit, "webhook_endpoint.created", endpoint.id.as_str()).await?;
    Ok(EndpointWithSecret { endpoint, secret: secret.expose().to_owned() })
}

pub async fn list(store: &Store, t: &TenantId) -> AppResult<Vec<Endpoint>> {
    let query = Query::partition(keys::tenant_pk(t)).sk(SortKey::BeginsWith(keys::WEBHOOK_ENDPOINT_PREFIX.into()));
    store.table.query_all(&query).await?.into_iter().map(from_item).collect()
}

pub async fn get(store: &Store, t: &TenantId, id: &WebhookEndpointId) -> AppResult<Endpoint> {
    store.get(&keys::webhook_endpoint(t, id)).await?.ok_or(AppError::NotFound { what: "webhook endpoint" })
}

fn changed() -> AppError {
    AppError::contention("the endpoint changed meanwhile; read it again")
}

/// Replaces what the clinic says about an endpoint (its secret stays).
pub async fn replace(
    app: &App,
    audit: &AuditContext,
    id: &WebhookEndpointId,
    input: EndpointInput,
) -> AppResult<Endpoint> {
    let current = get(&app.store, &audit.tenant_id, id).await?;
    let (url, kinds, enabled, description) = checked(app, input)?;
    let now = app.store.clock.now();
    let next =
        Endpoint { url, kinds, enabled, description, version: current.version + 1, updated_at: now, ..current.clone() };
    let mut plan = Plan::new();
    let item = to_item(&keys::webhook_endpoint(&audit.tenant_id, id), "webhook_endpoint", &next)?;
    plan.push(Write::put_if(item, Condition::equals("version", current.version)), changed());
    plan.commit(&app.store, audit, "webhook_endpoint.updated", id.as_str()).await?;
    Ok(next)
}

/// Removes an endpoint and its secret: nothing more is sent to it (its deliveries stay listed
/// nowhere and expire with the partition's reads; pending ones park when the sweep meets them).
pub async fn remove(app: &App, audit: &AuditContext, id: &WebhookEndpointId) -> AppResult<()> {
    let t = &audit.tenant_id;
    get(&app.store, t, id).await?;
    let mut plan = Plan::new();
    plan.push(
        Write::delete_if(keys::webhook_endpoint(t, id), Condition::Exists),
        AppError::NotFound { what: "webhook endpoint" },
    );
    plan.push(Write::delete(keys::webhook_secret(t, id)), AppError::Internal("unreachable".into()));
    plan.commit(&app.store, audit, "webhook_endpoint.removed", id.as_str()).await
}

/// A new secret for an endpoint; the old one keeps signing beside it for
/// [`ROLL_OVERLAP_HOURS`] (both `v1`s are sent), so the partner can switch without a gap.
pub async fn roll_secret(app: &App, audit: &AuditContext, id: &WebhookEndpointId) -> AppResult<EndpointWithSecret> {
    let t = &audit.tenant_id;
    let current = get(&app.store, t, id).await?;
    let old: StoredSecret =
        app.store.get(&keys::webhook_secret(t, id)).await?.ok_or(AppError::NotFound { what: "webhook endpoint" })?;
    let now = app.store.clock.now();
    let secret = partner::new_secret();
    let stored = StoredSecret {
        current: sealed(app, audit, id, &secret).await?,
        previous: Some(old.current),
        previous_until: Some(now + Duration::hours(ROLL_OVERLAP_HOURS)),
    };
    let next = Endpoint { version: current.version + 1, updated_at: now, ..current.clone() };
    let mut plan = Plan::new();
    let item = to_item(&keys::webhook_endpoint(t, id), "webhook_endpoint", &next)?;
    plan.push(Write::put_if(item, Condition::equals("version", current.version)), changed());
    plan.push(Write::put(to_item(&keys::webhook_secret(t, id), "webhook_secret", &stored)?), changed());
    plan.commit(&app.store, audit, "webhook_endpoint.secret_rolled", id.as_str()).await?;
    Ok(EndpointWithSecret { endpoint: next, secret: secret.expose().to_owned() })
}

/// The secrets an endpoint signs with now: the current one, and the previous while it overlaps.
async fn signing_secrets(app: &App, t: &TenantId, id: &WebhookEndpointId) -> AppResult<Vec<WebhookSecret>> {
    let stored: StoredSecret =
        app.store.get(&keys::webhook_secret(t, id)).await?.ok_or(AppError::NotFound { what: "webhook endpoint" })?;
    let key = app
        .keyring
        .existing(&app.store, t)
        .await?
        .ok_or_else(|| AppError::Internal("an endpoint's secret exists but the tenant has no data key".into()))?;
    let aad = secret_aad(t, id);
    let open = |sealed: &Sealed| -> AppResult<WebhookSecret> {
        let raw: String = sealed.open(&key, &aad)?;
        WebhookSecret::new(raw).map_err(AppError::Internal)
    };
    let mut secrets = vec![open(&stored.current)?];
    if let (Some(previous), Some(until)) = (&stored.previous, stored.previous_until)
        && until > app.store.clock.now()
    {
        secrets.push(open(previous)?);
    }
    Ok(secrets)
}

/// `Mas-Signature` for `body` at `now`: `t=…,v1=…` with one `v1` per signing secret.
fn signature(secrets: &[WebhookSecret], now: i64, body: &[u8]) -> String {
    let mut header = format!("t={now}");
    for secret in secrets {
        let one = secret.sign(now, body);
        header.push_str(&one[one.find(",v1=").unwrap_or(one.len())..]);
    }
    header
}

/// One signed POST of `body` to `endpoint`.
async fn send(app: &App, t: &TenantId, endpoint: &Endpoint, body: &str) -> AppResult<Outcome> {
    let secrets = signing_secrets(app, t, &endpoint.id).await?;
    let now = app.store.clock.now().timestamp();
    let post = OutboundPost {
        url: endpoint.url.as_str().to_owned(),
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            ("User-Agent".into(), "MasterAestheticsSuite-Webhooks/1".into()),
            (SIGNATURE_HEADER.into(), signature(&secrets, now, body.as_bytes())),
        ],
        body: body.as_bytes().to_vec(),
    };
    Ok(match app.webhook_poster.post(&post).await {
        Ok(status) => Outcome::of_status(status),
        Err(PostError::Refused(why)) => Outcome::Failed { status: None, error: format!("not sent: {why}") },
        Err(PostError::NoAnswer(why)) => Outcome::Failed { status: None, error: why },
    })
}

/// What a test ping came to.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PingResult {
    pub delivered: bool,
    /// The endpoint's HTTP status, if it answered.
    pub status: Option<u16>,
    pub error: Option<String>,
}

/// Sends a signed `ping` event to the endpoint now (not stored as a delivery, not retried).
pub async fn ping(app: &App, audit: &AuditContext, id: &WebhookEndpointId) -> AppResult<PingResult> {
    let t = &audit.tenant_id;
    let endpoint = get(&app.store, t, id).await?;
    let now = app.store.clock.now();
    let event = DomainEvent::new(t, "ping", &format!("{id}#{}", now.timestamp_millis()), now, Value::Null);
    let body = partner::envelope(&event.id, "ping", now, t, &serde_json::json!({ "endpoint_id": id }));
    let outcome = send(app, t, &endpoint, &body).await?;
    Plan::new().commit(&app.store, audit, "webhook_endpoint.pinged", id.as_str()).await?;
    Ok(match outcome {
        Outcome::Delivered { status } => PingResult { delivered: true, status: Some(status), error: None },
        Outcome::Failed { status, error } => PingResult { delivered: false, status, error: Some(error) },
    })
}

/// A delivery's item: with the tenant (the sweep reads it off the index) and, while pending,
/// its place on the due index.
fn delivery_item(t: &TenantId, d: &Delivery) -> AppResult<mas_ports::Item> {
    let mut item = to_item(&keys::webhook_delivery(t, &d.endpoint_id, &d.id), "webhook_delivery", d)?;
    item.insert("tenant_id".into(), t.as_str().into());
    if let (DeliveryState::Pending, Some(at)) = (d.state, d.next_attempt_at) {
        let (pk, sk) = keys::webhook_due(&d.id, at);
        item.insert(GSI1PK.into(), pk.into());
        item.insert(GSI1SK.into(), sk.into());
    }
    Ok(item)
}

/// The write of `next` if the stored delivery still has `read`'s attempts and state.
fn guarded(t: &TenantId, read: &Delivery, next: &Delivery) -> AppResult<Write> {
    let state = serde_json::to_value(read.state).map_err(|e| AppError::Internal(e.to_string()))?;
    let condition =
        Condition::All(vec![Condition::equals("attempts", read.attempts), Condition::equals("state", state)]);
    Ok(Write::put_if(delivery_item(t, next)?, condition))
}

/// Makes one attempt of `delivery` if it can claim it: `None` when another worker claimed it
/// first (or it changed meanwhile). The claim and the outcome are each a conditional write.
pub async fn attempt(app: &App, t: &TenantId, endpoint: &Endpoint, delivery: &Delivery) -> AppResult<Option<Delivery>> {
    let now = app.store.clock.now();
    let claimed = delivery.claimed(now);
    match app.store.table.transact(vec![guarded(t, delivery, &claimed)?]).await {
        Ok(()) => {}
        Err(TableError::ConditionFailed { .. }) => return Ok(None),
        Err(other) => return Err(other.into()),
    }
    let outcome = send(app, t, endpoint, &claimed.body).await?;
    let done = claimed.after(outcome, app.store.clock.now());
    match app.store.table.transact(vec![guarded(t, &claimed, &done)?]).await {
        Ok(()) => Ok(Some(done)),
        // Replayed while we sent: the replay's own attempt decides.
        Err(TableError::ConditionFailed { .. }) => Ok(None),
        Err(other) => Err(other.into()),
    }
}

/// What the fan-out of one event did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FanOut {
    /// Deliveries made (none for an event already fanned out).
    pub created: usize,
    /// Of those, delivered at the first attempt.
    pub delivered: usize,
}

/// The worker's part for one event: a delivery to each enabled endpoint subscribed to its kind,
/// made once, and tried at once.
pub async fn on_event(app: &App, event: &DomainEvent) -> AppResult<FanOut> {
    let mut report = FanOut::default();
    if !partner::EVENT_KINDS.contains(&event.kind.as_str()) {
        return Ok(report);
    }
    let t = &event.tenant_id;
    let now = app.store.clock.now();
    let body = partner::envelope(&event.id, &event.kind, event.occurred_at, t, &event.payload);
    for endpoint in list(&app.store, t).await?.into_iter().filter(|e| e.wants(&event.kind)) {
        let delivery = Delivery::new(&endpoint.id, &event.id, &event.kind, body.clone(), now);
        match app.store.table.transact(vec![Write::put_new(delivery_item(t, &delivery)?)]).await {
            Ok(()) => {}
            Err(TableError::ConditionFailed { .. }) => continue, // this event reached it before
            Err(other) => return Err(other.into()),
        }
        report.created += 1;
        if let Some(done) = attempt(app, t, &endpoint, &delivery).await? {
            report.delivered += usize::from(done.state == DeliveryState::Succeeded);
        }
    }
    Ok(report)
}

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    pub attempted: usize,
    pub succeeded: usize,
    pub failed: usize,
    pub parked: usize,
    /// Due deliveries another worker claimed first.
    pub skipped: usize,
}

/// Tries every delivery due by now (at most 100 per shard per run; the next run takes the rest).
pub async fn sweep(app: &App) -> AppResult<SweepReport> {
    let now = app.store.clock.now();
    let mut report = SweepReport::default();
    for shard in 0..keys::WEBHOOK_DUE_SHARDS {
        let query = Query::gsi1(keys::webhook_due_pk(shard))
            .sk(SortKey::Lt(format!("{}~", keys::webhook_due_at(now))))
            .limit(100);
        for item in app.store.table.query(&query).await?.items {
            let Some(t) = item.get("tenant_id").and_then(Value::as_str).and_then(|t| TenantId::parse(t).ok()) else {
                continue;
            };
            let delivery: Delivery = from_item(item)?;
            if !delivery.is_due(now) {
                continue;
            }
            let endpoint: Option<Endpoint> = app.store.get(&keys::webhook_endpoint(&t, &delivery.endpoint_id)).await?;
            let Some(endpoint) = endpoint.filter(|e| e.enabled) else {
                let parked = Delivery {
                    state: DeliveryState::Parked,
                    next_attempt_at: None,
                    last_error: Some("the endpoint is disabled or removed".into()),
                    updated_at: now,
                    ..delivery.clone()
                };
                if app.store.table.transact(vec![guarded(&t, &delivery, &parked)?]).await.is_ok() {
                    report.parked += 1;
                }
                continue;
            };
            match attempt(app, &t, &endpoint, &delivery).await? {
                None => report.skipped += 1,
                Some(done) => {
                    report.attempted += 1;
                    match done.state {
                        DeliveryState::Succeeded => report.succeeded += 1,
                        DeliveryState::Parked => report.parked += 1,
                        DeliveryState::Pending => report.failed += 1,
                    }
                }
            }
        }
    }
    Ok(report)
}

/// An endpoint's deliveries, newest first (at most `limit`).
pub async fn deliveries(
    store: &Store,
    t: &TenantId,
    endpoint: &WebhookEndpointId,
    limit: usize,
) -> AppResult<Vec<Delivery>> {
    get(store, t, endpoint).await?;
    let query = Query::partition(keys::webhook_deliveries_pk(t, endpoint));
    let mut all: Vec<Delivery> =
        store.table.query_all(&query).await?.into_iter().map(from_item).collect::<AppResult<_>>()?;
    all.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| b.id.cmp(&a.id)));
    all.truncate(limit);
    Ok(all)
}

/// Sends one delivery again now (whatever its state), and answers where it then stands.
pub async fn replay(
    app: &App,
    audit: &AuditContext,
    endpoint_id: &WebhookEndpointId,
    id: &WebhookDeliveryId,
) -> AppResult<Delivery> {
    let t = &audit.tenant_id;
    let endpoint = get(&app.store, t, endpoint_id).await?;
    let delivery: Delivery = app
        .store
        .get(&keys::webhook_delivery(t, endpoint_id, id))
        .await?
        .ok_or(AppError::NotFound { what: "webhook delivery" })?;
    let replayed = delivery.replayed(app.store.clock.now());
    let mut plan = Plan::new();
    plan.push(guarded(t, &delivery, &replayed)?, AppError::contention("the delivery is being attempted; try again"));
    plan.commit(&app.store, audit, "webhook_delivery.replayed", id.as_str()).await?;
    Ok(attempt(app, t, &endpoint, &replayed).await?.unwrap_or(replayed))
}

/// Makes every parked delivery of an endpoint pending and due now (the sweep sends them), and
/// answers how many.
pub async fn replay_parked(app: &App, audit: &AuditContext, endpoint_id: &WebhookEndpointId) -> AppResult<usize> {
    let t = &audit.tenant_id;
    get(&app.store, t, endpoint_id).await?;
    let now = app.store.clock.now();
    let query = Query::partition(keys::webhook_deliveries_pk(t, endpoint_id));
    let parked: Vec<Delivery> = app
        .store
        .table
        .query_all(&query)
        .await?
        .into_iter()
        .map(from_item::<Delivery>)
        .filter(|d| d.as_ref().is_ok_and(|d| d.state == DeliveryState::Parked))
        .collect::<AppResult<_>>()?;
    for chunk in parked.chunks(50) {
        let mut plan = Plan::new();
        for d in chunk {
            plan.push(
                guarded(t, d, &d.replayed(now))?,
                AppError::contention("a delivery changed meanwhile; try again"),
            );
        }
        plan.commit(&app.store, audit, "webhook_endpoint.parked_replayed", endpoint_id.as_str()).await?;
    }
    Ok(parked.len())
}
