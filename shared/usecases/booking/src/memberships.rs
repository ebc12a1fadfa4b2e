//! Memberships (`domain::membership`): a client joins a plan on a hosted sign-up page (the
//! gateway's subscription checkout), the gateway charges her card each month, and each paid
//! month gives her that month's credits as a package the till redeems.
//!
//! - **Stored** (`infra/access-patterns.md`): the membership `TENANT#t#MEM#{mem}`/`MEM`, a
//!   reference in the client's partition (`MEM#{mem}`), and two platform-wide references that
//!   tie the gateway's ids to the clinic: the sign-up page `STRIPE#CS#{cs}` and, once paid, the
//!   subscription `STRIPE#SUB#{sub}` (webhooks find a membership by these alone, never by the
//!   metadata an event carries).
//! - **Followed, not told.** Every webhook about a subscription (its invoices paid or failed,
//!   the subscription changed or deleted) re-reads the subscription from the gateway and
//!   applies [`Membership::observe`]; the membership is written on condition of the version read,
//!   with the month's credits and the event's own record in the same transaction, so a month is
//!   credited once however often, late or concurrently its news arrives.
//! - **Staff actions** (pause, resume, cancel) ask the gateway first and then record what it
//!   answers through the same observation, so the record never claims what the gateway did not do.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::payments::{CONTENTION_RETRIES, Ports};
use mas_catalog::catalog;
use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::{ClientId, MembershipId, MembershipPlanId, PackageId, RequestId, TenantId};
use mas_domain::membership::{
    FailedCharge, Membership, MembershipAction, MembershipPlanInput, MembershipStatus, Observation,
    ObservedSubscription, SIGNUP_HOURS,
};
use mas_domain::package::{Package, PackageInput, Sessions, ValidityMonths};
use mas_ports::events::DomainEvent;
use mas_ports::payments::{PaymentsError, SubscriptionPageRequest};
use mas_ports::{Condition, Query, SortKey, Write};
use mas_store::{AuditContext, Plan, Store, from_item, keys, retry, to_item};

/// A renewal's charge failed: the member is told (dunning) by the notifications worker.
pub const MEMBERSHIP_PAYMENT_FAILED: &str = "membership.payment_failed";
/// A membership the desk started, with its sign-up page: the client is emailed the page.
pub const MEMBERSHIP_STARTED: &str = "membership.started";

/// What a platform-wide `STRIPE#CS#…` or `STRIPE#SUB#…` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MembershipRef {
    pub tenant_id: TenantId,
    pub membership_id: MembershipId,
}

/// What a client partition's `MEM#{mem}` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ClientRef {
    membership_id: MembershipId,
}

/// The refusals made here, typed; each becomes its code and status in `From<MembershipError>`.
#[derive(Debug, Clone, thiserror::Error)]
pub enum MembershipError {
    /// 422 `unknown_reference`: no active plan of this clinic.
    #[error("no such membership plan open to new members at this clinic")]
    UnknownPlan,
    /// 422 `plan_currency_mismatch`.
    #[error("this plan is priced in another currency than the clinic's")]
    OtherCurrency,
    /// 409 `membership_exists`: she already holds a membership of this plan that has not ended.
    #[error("this client already has this membership")]
    AlreadyMember,
    /// 409 `payments_not_connected`: the clinic takes no card payments online yet.
    #[error("the clinic cannot take card payments online yet: connect its Stripe account first")]
    NotConnected,
}

impl From<MembershipError> for AppError {
    fn from(err: MembershipError) -> Self {
        use MembershipError as E;
        let message = err.to_string();
        match err {
            E::UnknownPlan => AppError::invalid("unknown_reference", "plan_id", message),
            E::OtherCurrency => AppError::invalid("plan_currency_mismatch", "plan_id", message),
            E::AlreadyMember => AppError::conflict("membership_exists", message),
            E::NotConnected => AppError::conflict("payments_not_connected", message),
        }
    }
}

fn stale() -> AppError {
    AppError::contention("the membership changed at the same moment; try again")
}

fn membership_item(t: &TenantId, membership: &Membership) -> AppResult<mas_ports::Item> {
    to_item(&keys::membership(t, &membership.id), "membership", membership)
}

/// The put of a changed membership, on condition nobody changed it since `version_read`.
fn versioned_put(t: &TenantId, next: &Membership, version_read: u32) -> AppResult<Write> {
    Ok(Write::put_if(membership_item(t, next)?, Condition::equals("version", version_read)))
}

pub async fn get(store: &Store, t: &TenantId, id: &MembershipId) -> AppResult<Membership> {
    store.get(&keys::membership(t, id)).await?.ok_or(AppError::NotFound { what: "membership" })
}

/// A client's memberships, newest first.
pub async fn for_client(store: &Store, t: &TenantId, client: &ClientId) -> AppResult<Vec<Membership>> {
    let query = Query::partition(keys::client_pk(t, client)).sk(SortKey::BeginsWith(keys::MEMBERSHIP_PREFIX.into()));
    let refs: Vec<ClientRef> =
        store.table.query_all(&query).await?.into_iter().map(from_item).collect::<AppResult<_>>()?;
    if refs.is_empty() {
        return Ok(Vec::new());
    }
    let wanted: Vec<_> = refs.iter().map(|r| keys::membership(t, &r.membership_id)).collect();
    let mut memberships: Vec<Membership> =
        store.table.batch_get(&wanted).await?.into_iter().map(from_item).collect::<AppResult<_>>()?;
    memberships.sort_by_key(|m| std::cmp::Reverse(m.created_at));
    Ok(memberships)
}

/// Where the sign-up page sends her back: the portal (`?membership=joined` once paid).
#[derive(Debug, Clone)]
pub struct ReturnUrls {
    pub success: String,
    pub cancel: String,
}

/// Starts a membership of `plan_id` for `client`: the membership (pending) and its hosted
/// sign-up page, where she pays the first month. A client holding a membership of the plan
/// that has not ended is refused (409 `membership_exists`).
pub async fn start(
    ports: Ports<'_>,
    audit: &AuditContext,
    client: &ClientId,
    plan_id: &MembershipPlanId,
    urls: &ReturnUrls,
) -> AppResult<Membership> {
    let (store, t) = (ports.store, &audit.tenant_id);
    let record = match catalog::get::<MembershipPlanInput>(store, t, plan_id).await {
        Err(AppError::NotFound { .. }) => return Err(MembershipError::UnknownPlan.into()),
        other => other?,
    };
    if record.archived || !record.data.active {
        return Err(MembershipError::UnknownPlan.into());
    }
    let tenant: mas_domain::tenant::Tenant =
        store.get(&keys::tenant_profile(t)).await?.ok_or(AppError::NotFound { what: "tenant" })?;
    if record.data.price.currency != tenant.currency {
        return Err(MembershipError::OtherCurrency.into());
    }
    let existing = for_client(store, t, client).await?;
    if existing.iter().any(|m| &m.plan_id == plan_id && !m.status.is_final()) {
        return Err(MembershipError::AlreadyMember.into());
    }
    let now = store.clock.now();
    let mut membership =
        Membership::pending(MembershipId::new(), client.clone(), plan_id.clone(), record.data.clone(), now);
    let amount = record.data.price.amount_minor;
    let destination = crate::connect::destination(ports, t, amount).await?;
    if destination.is_none() && ports.payments.requires_connected_account() {
        return Err(MembershipError::NotConnected.into());
    }
    let customer = crate::payments::customer_for(ports, audit, client).await?;
    let page = ports
        .payments
        .create_subscription_page(SubscriptionPageRequest {
            name: record.data.name.to_string(),
            amount,
            currency: tenant.currency.clone(),
            metadata: BTreeMap::from([
                ("tenant_id".to_owned(), t.to_string()),
                ("kind".to_owned(), "membership".to_owned()),
                ("membership_id".to_owned(), membership.id.to_string()),
            ]),
            idempotency_key: format!("{}-signup", membership.id),
            customer: Some(customer),
            success_url: urls.success.clone(),
            cancel_url: urls.cancel.clone(),
            expires_at: now + Duration::hours(SIGNUP_HOURS),
            destination,
        })
        .await?;
    membership.signup_url = page.url.clone();
    membership.signup_session_id = Some(page.id.clone());
    let taken = || AppError::conflict("id_taken", "an id clash; try again");
    let mut plan = Plan::new();
    plan.push(Write::put_new(membership_item(t, &membership)?), taken());
    let reference = ClientRef { membership_id: membership.id.clone() };
    plan.push(
        Write::put_new(to_item(&keys::client_membership(t, client, &membership.id), "membership_ref", &reference)?),
        taken(),
    );
    let platform = MembershipRef { tenant_id: t.clone(), membership_id: membership.id.clone() };
    plan.push(Write::put_new(to_item(&keys::stripe_signup(&page.id), "signup_ref", &platform)?), taken());
    let payload = json!({
        "membership_id": membership.id,
        "client_id": client,
        "plan": record.data.name,
        "amount_minor": amount,
        "currency": tenant.currency,
        "signup_url": page.url,
        "expires_at": now + Duration::hours(SIGNUP_HOURS),
    });
    plan.announce(DomainEvent::new(t, MEMBERSHIP_STARTED, membership.id.as_str(), now, payload))?;
    plan.commit(store, audit, "membership.started", membership.id.as_str()).await?;
    Ok(membership)
}

/// What the webhook hands over so the event's own record commits with the membership's change.
pub type RecordPush<'a> = &'a (dyn Fn(&mut Plan) -> AppResult<()> + Sync);

/// The membership a sign-up page is for, if it is one of ours.
pub async fn of_signup(store: &Store, session: &str) -> AppResult<Option<MembershipRef>> {
    store.get(&keys::stripe_signup(session)).await
}

/// The membership a subscription is for, if it is one of ours.
pub async fn of_subscription(store: &Store, subscription: &str) -> AppResult<Option<MembershipRef>> {
    store.get(&keys::stripe_subscription(subscription)).await
}

/// A sign-up page was paid (`checkout.session.completed`): ties the subscription it started to
/// the membership (once; a second subscription for the same membership is refused) and follows it.
pub async fn signed_up(
    ports: Ports<'_>,
    request_id: &RequestId,
    reference: &MembershipRef,
    subscription: &str,
    record: RecordPush<'_>,
) -> AppResult<()> {
    let audit = system_audit(&reference.tenant_id, request_id);
    let key = keys::stripe_subscription(subscription);
    if ports.store.get::<MembershipRef>(&key).await?.is_none() {
        let mut plan = Plan::new();
        plan.push(Write::put_new(to_item(&key, "subscription_ref", reference)?), stale());
        // Linked meanwhile by another delivery: the same link.
        match plan.commit(ports.store, &audit, "membership.subscription_linked", reference.membership_id.as_str()).await
        {
            Err(err) if !err.is_contention() => return Err(err),
            _ => {}
        }
    }
    follow(ports, request_id, reference, subscription, None, record).await
}

/// A sign-up page expired unpaid (`checkout.session.expired`): the membership lapses.
pub async fn signup_expired(ports: Ports<'_>, request_id: &RequestId, reference: &MembershipRef) -> AppResult<()> {
    let audit = system_audit(&reference.tenant_id, request_id);
    let t = &reference.tenant_id;
    retry::on_contention(CONTENTION_RETRIES, || async {
        let mut membership = get(ports.store, t, &reference.membership_id).await?;
        if membership.status != MembershipStatus::Pending || membership.subscription_id.is_some() {
            return Ok(());
        }
        let read = membership.version;
        let now = ports.store.clock.now();
        membership.status = MembershipStatus::Lapsed;
        membership.signup_url = None;
        membership.ended_at = Some(now);
        membership.updated_at = now;
        membership.version += 1;
        let mut plan = Plan::new();
        plan.push(versioned_put(t, &membership, read)?, stale());
        plan.commit(ports.store, &audit, "membership.lapsed", membership.id.as_str()).await
    })
    .await
}

/// Follows a subscription after news of it (an invoice paid or failed, the subscription changed
/// or deleted): the gateway's subscription as it is now, observed; `failure` is a failed charge
/// the event reported. The month's credits, the announcements and the event's record are
/// written with the membership, on condition of the version read.
pub async fn follow(
    ports: Ports<'_>,
    request_id: &RequestId,
    reference: &MembershipRef,
    subscription: &str,
    failure: Option<FailedCharge>,
    record: RecordPush<'_>,
) -> AppResult<()> {
    let seen = ports.payments.retrieve_subscription(subscription).await?;
    let audit = system_audit(&reference.tenant_id, request_id);
    retry::on_contention(CONTENTION_RETRIES, || {
        apply(ports.store, &audit, "membership.observed", reference, &seen, failure.clone(), record)
    })
    .await
    .map(drop)
}

async fn apply(
    store: &Store,
    audit: &AuditContext,
    action: &str,
    reference: &MembershipRef,
    seen: &ObservedSubscription,
    failure: Option<FailedCharge>,
    record: RecordPush<'_>,
) -> AppResult<Membership> {
    let t = &reference.tenant_id;
    let mut membership = get(store, t, &reference.membership_id).await?;
    let read = membership.version;
    let now = store.clock.now();
    let observation = membership.observe(seen, now)?;
    let failed = failure.filter(|f| membership.record_failure(f.clone()));
    let mut plan = Plan::new();
    if membership.version != read {
        plan.push(versioned_put(t, &membership, read)?, stale());
        announce(&mut plan, t, &membership, &observation, failed.as_ref(), now)?;
        if let Some(period) = observation.new_period
            && membership.plan.credits_per_month > 0
        {
            let credits = month_credits(&membership, period.start, period.end)?;
            crate::packages::push_credits(&mut plan, t, &credits, "system")?;
        }
    }
    record(&mut plan)?;
    plan.commit(store, audit, action, membership.id.as_str()).await?;
    Ok(membership)
}

/// One paid month's credits: a package of the plan's services, lapsing when the month ends.
fn month_credits(membership: &Membership, start: DateTime<Utc>, end: DateTime<Utc>) -> AppResult<Package> {
    let plan = &membership.plan;
    let sessions = Sessions::new(i64::from(plan.credits_per_month)).map_err(|e| AppError::Internal(e.0))?;
    let name = format!("{} credits, {}", plan.name, start.format("%B %Y"));
    let template = PackageInput {
        name: mas_domain::values::Name::parse(&name).map_err(|e| AppError::Internal(e.0))?,
        service_ids: plan.service_ids.clone(),
        sessions,
        price: mas_domain::values::Money {
            amount_minor: mas_domain::values::MinorUnits::new(0).map_err(|e| AppError::Internal(e.0))?,
            currency: plan.price.currency.clone(),
        },
        validity_months: ValidityMonths::new(1).map_err(|e| AppError::Internal(e.0))?,
        active: true,
    };
    Ok(Package::credits(PackageId::new(), membership.client_id.clone(), membership.id.clone(), template, start, end))
}

/// The domain events a change calls for (each id stable per occurrence, so a replay is one).
fn announce(
    plan: &mut Plan,
    t: &TenantId,
    membership: &Membership,
    observation: &Observation,
    failed: Option<&FailedCharge>,
    at: DateTime<Utc>,
) -> AppResult<()> {
    let base = json!({
        "membership_id": membership.id,
        "client_id": membership.client_id,
        "plan": membership.plan.name,
        "status": membership.status,
    });
    let with = |extra: serde_json::Value| {
        let mut payload = base.clone();
        if let (Some(payload), Some(extra)) = (payload.as_object_mut(), extra.as_object()) {
            payload.extend(extra.clone());
        }
        payload
    };
    if let Some(period) = observation.new_period {
        let subject = format!("{}#{}", membership.id, period.start.timestamp());
        let payload = with(json!({ "period_start": period.start, "period_end": period.end }));
        plan.announce(DomainEvent::new(t, "membership.renewed", &subject, at, payload))?;
    }
    if let Some(failure) = failed {
        let subject = format!("{}#{}#{}", membership.id, failure.invoice_id, failure.attempt);
        let payload = with(json!({
            "attempt": failure.attempt,
            "next_attempt_at": failure.next_attempt_at,
            "pay_url": failure.pay_url,
            "amount_minor": membership.plan.price.amount_minor,
            "currency": membership.plan.price.currency,
        }));
        plan.announce(DomainEvent::new(t, MEMBERSHIP_PAYMENT_FAILED, &subject, at, payload))?;
    }
    if let Some((_, to)) = observation.status_changed
        && to.is_final()
    {
        plan.announce(DomainEvent::new(t, "membership.ended", membership.id.as_str(), at, base.clone()))?;
    }
    Ok(())
}

fn system_audit(tenant: &TenantId, request_id: &RequestId) -> AuditContext {
    AuditContext { tenant_id: tenant.clone(), actor: "stripe".into(), role: None, request_id: request_id.clone() }
}

/// Pauses, resumes or cancels a membership: the gateway first, then what it answers is recorded
/// (a membership still waiting for its first payment is cancelled by closing its sign-up page).
pub async fn act(
    ports: Ports<'_>,
    audit: &AuditContext,
    id: &MembershipId,
    action: MembershipAction,
) -> AppResult<Membership> {
    let t = &audit.tenant_id;
    let membership = get(ports.store, t, id).await?;
    membership.check_action(action)?;
    let Some(subscription) = membership.subscription_id.clone() else {
        // Pending: nothing charged yet. Close the page so it can no longer be paid; if she paid
        // meanwhile, the page says so and the membership follows its subscription instead.
        if let Some(session) = &membership.signup_session_id {
            let page = ports.payments.expire_payment_link(session).await?;
            if let Some(subscription) = page.subscription {
                let reference = MembershipRef { tenant_id: t.clone(), membership_id: id.clone() };
                signed_up(ports, &audit.request_id, &reference, &subscription, &|_| Ok(())).await?;
                return Box::pin(act(ports, audit, id, action)).await;
            }
        }
        let lapse = MembershipRef { tenant_id: t.clone(), membership_id: id.clone() };
        signup_expired(ports, &audit.request_id, &lapse).await?;
        return get(ports.store, t, id).await;
    };
    let seen = match action {
        MembershipAction::Pause => ports.payments.set_subscription_paused(&subscription, true).await,
        MembershipAction::Resume => ports.payments.set_subscription_paused(&subscription, false).await,
        MembershipAction::Cancel => ports.payments.cancel_subscription(&subscription, false).await,
        MembershipAction::CancelAtPeriodEnd => ports.payments.cancel_subscription(&subscription, true).await,
    };
    let seen = match seen {
        Err(PaymentsError::NotFound) => return Err(AppError::NotFound { what: "subscription" }),
        other => other?,
    };
    let reference = MembershipRef { tenant_id: t.clone(), membership_id: id.clone() };
    let action_name = match action {
        MembershipAction::Pause => "membership.paused",
        MembershipAction::Resume => "membership.resumed",
        MembershipAction::Cancel | MembershipAction::CancelAtPeriodEnd => "membership.cancelled",
    };
    // What was written: the membership as the gateway now has it.
    retry::on_contention(CONTENTION_RETRIES, || {
        apply(ports.store, audit, action_name, &reference, &seen, None, &|_| Ok(()))
    })
    .await
}
