//! Stripe Connect: each clinic takes online payments into its own Stripe account.
//!
//! - **Onboarding** ([`start_onboarding`], the owner): the clinic's Express account is made once
//!   (the gateway's idempotency key is the tenant's) and stored with its reference
//!   `STRIPE#ACCT#{acct}` → the tenant, both written only if absent in one transaction; each ask
//!   answers a fresh single-use link to Stripe's hosted form.
//! - **Status** ([`observe`]): what Stripe says of the account — from the `account.updated`
//!   webhook, tied to the clinic by the account id alone (never the event's metadata), or a fresh
//!   read when the owner asks for an onboarding link ([`refresh`]) — is taken in with a versioned write, its audit
//!   record and the `payments.account_updated` event. The account is always re-read, so events
//!   in any order end in what Stripe says now.
//! - **Charges** ([`destination`]): an online payment of a clinic whose account takes charges
//!   goes to that account less the platform's fee; without one, a gateway that requires it
//!   (Stripe) refuses with 409 `payments_not_connected`, and the simulated gateway charges the
//!   platform, as before Connect.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::payments::{self, Ports};
use mas_domain::connect::Connection;
use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::TenantId;
use mas_domain::payment::{ChargeDestination, ConnectedAccountId};
use mas_domain::values::MinorUnits;
use mas_ports::events::DomainEvent;
use mas_ports::payments::{AccountRequest, ConnectedAccount, OnboardingRequest, PaymentsError};
use mas_ports::{Condition, Write};
use mas_store::{AuditContext, Once, Plan, Store, keys, retry, to_item};

/// The event a change of a connected account's status announces.
pub const ACCOUNT_UPDATED: &str = "payments.account_updated";

/// What `STRIPE#ACCT#{acct}` holds: whose account it is.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccountRef {
    pub tenant_id: TenantId,
}

/// Why an online payment cannot be sent to the clinic's account.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// 409 `payments_not_connected`: a payment asked of a clinic that cannot take online payments.
    #[error("this clinic has not finished connecting its Stripe account, so it cannot take online payments yet")]
    NotConnected,
    #[error(transparent)]
    Store(#[from] AppError),
}

impl From<ConnectError> for AppError {
    fn from(err: ConnectError) -> Self {
        match err {
            ConnectError::NotConnected => AppError::conflict("payments_not_connected", err.to_string()),
            ConnectError::Store(err) => err,
        }
    }
}

/// Inside a change made once, a clinic that is not connected fails it like any other refusal.
impl From<ConnectError> for Once {
    fn from(err: ConnectError) -> Self {
        Once::Failed(err.into())
    }
}

/// The clinic's connected account, if it has started onboarding.
pub async fn connection(store: &Store, tenant: &TenantId) -> AppResult<Option<Connection>> {
    store.get(&keys::connection(tenant)).await
}

/// The clinic a connected account belongs to, if it is one of ours.
pub async fn tenant_of(store: &Store, account: &str) -> AppResult<Option<TenantId>> {
    Ok(store.get::<AccountRef>(&keys::stripe_account(account)).await?.map(|r| r.tenant_id))
}

/// Where an online payment of `amount` by a client of `tenant` goes: the clinic's account less
/// the platform's fee; the platform's own account (`None`) only where the gateway allows it.
pub async fn destination(
    ports: Ports<'_>,
    tenant: &TenantId,
    amount: MinorUnits,
) -> Result<Option<ChargeDestination>, ConnectError> {
    match connection(ports.store, tenant).await? {
        Some(c) if c.status.charges_enabled => {
            Ok(Some(ChargeDestination { account_id: c.account_id, application_fee: ports.application_fee.of(amount) }))
        }
        _ if ports.payments.requires_connected_account() => Err(ConnectError::NotConnected),
        _ => Ok(None),
    }
}

/// What the owner opens to onboard (or finish onboarding) the clinic's account.
#[derive(Debug, Clone)]
pub struct Onboarding {
    pub url: String,
    pub expires_at: DateTime<Utc>,
    pub connection: Connection,
}

/// Where Stripe's onboarding form sends the owner back.
#[derive(Debug, Clone)]
pub struct ReturnUrls {
    /// The link expired or was used: the page asks for a new one.
    pub refresh_url: String,
    /// The owner left the form (done or not): the page shows the status.
    pub return_url: String,
}

/// The clinic's connected account (made once) and a fresh link to its onboarding form. The
/// caller checked that the member may (owners only).
pub async fn start_onboarding(
    ports: Ports<'_>,
    audit: &AuditContext,
    country: &str,
    email: Option<String>,
    urls: ReturnUrls,
) -> AppResult<Onboarding> {
    let (store, t) = (ports.store, &audit.tenant_id);
    let connection = match connection(store, t).await? {
        // Re-read first: what Stripe says now is stored (a lost webhook heals here).
        Some(existing) => refresh(ports, audit).await?.unwrap_or(existing),
        None => create(ports, audit, country, email).await?,
    };
    let link = ports
        .payments
        .onboarding_link(OnboardingRequest {
            account: connection.account_id.clone(),
            refresh_url: urls.refresh_url,
            return_url: urls.return_url,
        })
        .await?;
    Ok(Onboarding { url: link.url, expires_at: link.expires_at, connection })
}

async fn create(ports: Ports<'_>, audit: &AuditContext, country: &str, email: Option<String>) -> AppResult<Connection> {
    let (store, t) = (ports.store, &audit.tenant_id);
    // The key makes a concurrent first request get the same account.
    let account = ports
        .payments
        .create_connected_account(AccountRequest {
            idempotency_key: format!("connect-{t}"),
            country: country.to_owned(),
            email,
            metadata: [("tenant_id".to_owned(), t.to_string())].into(),
        })
        .await?;
    let now = store.clock.now();
    let connection = Connection::new(account.id.clone(), account.status.clone(), now);
    let mut plan = Plan::<Once>::typed();
    let exists = || Once::AlreadyDone(AppError::conflict("connection_exists", "stored by a concurrent request"));
    plan.push(Write::put_new(to_item(&keys::connection(t), "connection", &connection)?), exists());
    plan.push(
        Write::put_new(to_item(
            &keys::stripe_account(account.id.as_str()),
            "account_ref",
            &AccountRef { tenant_id: t.clone() },
        )?),
        exists(),
    );
    plan.announce(account_event(t, &connection, now))?;
    match plan.commit_as(store, audit, "payments.connect_started", account.id.as_str()).await {
        Ok(()) => Ok(connection),
        Err(Once::AlreadyDone(_)) => {
            self::connection(store, t).await?.ok_or_else(|| AppError::Internal("a connection vanished".into()))
        }
        Err(Once::Failed(other)) => Err(other),
    }
}

/// The clinic's connection as Stripe reports it now (a read of the account, taken in as the
/// webhook's news would be): each onboarding ask starts with it, so a lost webhook heals there.
/// A gateway that cannot be reached leaves what is stored.
pub async fn refresh(ports: Ports<'_>, audit: &AuditContext) -> AppResult<Option<Connection>> {
    let Some(stored) = connection(ports.store, &audit.tenant_id).await? else { return Ok(None) };
    match ports.payments.retrieve_connected_account(&stored.account_id).await {
        Ok(account) => Ok(Some(observe(ports.store, audit, &account, &|_| Ok(())).await?.unwrap_or(stored))),
        Err(PaymentsError::Unavailable(why)) => {
            tracing::warn!(tenant_id = %audit.tenant_id, %why, "connected account not re-read: the gateway is unavailable");
            Ok(Some(stored))
        }
        Err(other) => Err(other.into()),
    }
}

/// Takes in what the gateway says of the clinic's account now: a versioned write of the
/// connection with its audit record and `payments.account_updated`, when anything changed.
/// `also` adds writes to the same transaction as a change (the webhook's event record). `None` when the
/// account is not the clinic's (the caller found the clinic by the account, so never expected).
pub async fn observe(
    store: &Store,
    audit: &AuditContext,
    account: &ConnectedAccount,
    also: &(dyn Fn(&mut Plan) -> AppResult<()> + Sync),
) -> AppResult<Option<Connection>> {
    retry::on_contention(payments::CONTENTION_RETRIES, || try_observe(store, audit, account, also)).await
}

async fn try_observe(
    store: &Store,
    audit: &AuditContext,
    account: &ConnectedAccount,
    also: &(dyn Fn(&mut Plan) -> AppResult<()> + Sync),
) -> AppResult<Option<Connection>> {
    let t = &audit.tenant_id;
    let Some(current) = connection(store, t).await? else { return Ok(None) };
    if current.account_id != account.id {
        tracing::warn!(tenant_id = %t, account = %account.id, "news of an account that is not the clinic's: ignored");
        return Ok(None);
    }
    let now = store.clock.now();
    let mut next = current.clone();
    let change = next.observe(account.status.clone(), now);
    if !change.changed {
        return Ok(Some(current));
    }
    let mut plan = Plan::new();
    also(&mut plan)?;
    next.version += 1;
    next.updated_at = now;
    plan.push(
        Write::put_if(
            to_item(&keys::connection(t), "connection", &next)?,
            Condition::equals("version", current.version),
        ),
        AppError::contention("the clinic's connection changed while this was being saved; try again"),
    );
    plan.announce(account_event(t, &next, now))?;
    if change.now_chargeable {
        tracing::info!(tenant_id = %t, account = %account.id, "the clinic's connected account takes charges");
    }
    if change.no_longer_chargeable {
        tracing::warn!(tenant_id = %t, account = %account.id, "the clinic's connected account no longer takes charges");
    }
    plan.commit(store, audit, ACCOUNT_UPDATED, account.id.as_str()).await?;
    Ok(Some(next))
}

/// `payments.account_updated`: the account and where it stands (no personal data); one id per
/// version, so a repeat is dropped by consumers.
fn account_event(t: &TenantId, connection: &Connection, now: DateTime<Utc>) -> DomainEvent {
    let s = &connection.status;
    DomainEvent::new(
        t,
        ACCOUNT_UPDATED,
        &format!("{}@v{}", connection.account_id, connection.version),
        now,
        json!({
            "account_id": connection.account_id,
            "state": connection.state(),
            "charges_enabled": s.charges_enabled,
            "payouts_enabled": s.payouts_enabled,
            "details_submitted": s.details_submitted,
            "currently_due": s.requirements.currently_due.len(),
            "past_due": s.requirements.past_due.len(),
            "disabled_reason": s.requirements.disabled_reason,
        }),
    )
}

/// The connected account a Connect event names, as an id (`None` for one that cannot be ours).
pub fn account_id(raw: &str) -> Option<ConnectedAccountId> {
    ConnectedAccountId::parse(raw).ok()
}
