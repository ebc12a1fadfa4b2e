//! The simulated gateway's monthly subscriptions, as Stripe Billing behaves for ours: a sign-up
//! page (Checkout in `subscription` mode) starts an `active` subscription for a month once its
//! first invoice is paid; each month's invoice charges the card again ([`SimulatedGateway::bill`]
//! on the local host's `/local/subscriptions/{id}/bill`). A failed charge makes it `past_due` and
//! is retried by the next `bill`; the fourth failure in a row cancels it, as Stripe's default
//! dunning settings do. Pausing voids invoices (`pause_collection`), cancelling ends it now or
//! at the end of the month. Each change answers the events Stripe would send about it.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Months, Utc};
use serde_json::{Value, json};

use super::{Outcome, SimulatedGateway, State, random};
use mas_domain::membership::{GatewayStatus, Period};
use mas_domain::payment::CustomerId;
use mas_ports::payments::{PaymentLink, PaymentLinkRequest, PaymentsError, Subscription, SubscriptionPageRequest};

/// Failed attempts at one invoice before the subscription is cancelled.
pub const ATTEMPTS: u32 = 4;

/// What a paid sign-up page starts a subscription with.
pub(super) struct Seed {
    pub name: String,
    pub amount: i64,
    pub currency: String,
    pub customer: Option<CustomerId>,
    pub metadata: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
struct SimSubscription {
    subscription: Subscription,
    amount: i64,
    currency: String,
    customer: String,
    metadata: BTreeMap<String, String>,
    /// The invoice being retried while `past_due`, and its failed attempts.
    open_invoice: Option<(String, u32)>,
}

#[derive(Default)]
pub(super) struct Subscriptions {
    by_id: HashMap<String, SimSubscription>,
}

/// One month on from `at` (calendar months, as Stripe bills).
fn month_after(at: DateTime<Utc>) -> DateTime<Utc> {
    at.checked_add_months(Months::new(1)).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The subscription as Stripe's API shows it (the month on the item, as 2025+ versions do, and
/// on the subscription, as older ones did).
fn subscription_json(sim: &SimSubscription) -> Value {
    let s = &sim.subscription;
    let (start, end) = s.period.map_or((None, None), |p| (Some(p.start.timestamp()), Some(p.end.timestamp())));
    json!({
        "id": s.id,
        "object": "subscription",
        "status": s.status.as_str(),
        "customer": sim.customer,
        "cancel_at_period_end": s.cancel_at_period_end,
        "pause_collection": if s.paused { json!({ "behavior": "void" }) } else { Value::Null },
        "current_period_start": start,
        "current_period_end": end,
        "items": { "object": "list", "data": [{
            "object": "subscription_item",
            "current_period_start": start,
            "current_period_end": end,
            "price": { "unit_amount": sim.amount, "currency": sim.currency.to_lowercase(), "recurring": { "interval": "month" } },
        }]},
        "metadata": sim.metadata,
        "livemode": false,
    })
}

fn invoice_json(sim: &SimSubscription, id: &str, paid: bool, attempt: u32, next_attempt: Option<i64>) -> Value {
    json!({
        "id": id,
        "object": "invoice",
        "status": if paid { "paid" } else { "open" },
        "customer": sim.customer,
        "subscription": sim.subscription.id,
        "parent": { "type": "subscription_details", "subscription_details": { "subscription": sim.subscription.id, "metadata": sim.metadata } },
        "amount_due": sim.amount,
        "amount_paid": if paid { sim.amount } else { 0 },
        "currency": sim.currency.to_lowercase(),
        "attempt_count": attempt,
        "next_payment_attempt": next_attempt,
        "hosted_invoice_url": format!("https://invoice.stripe.com/i/simulated/{id}"),
        "livemode": false,
    })
}

/// Starts the subscription a sign-up page's payment paid the first month of; answers its id and
/// the paid first invoice.
pub(super) fn start(state: &mut State, seed: Seed, now: DateTime<Utc>) -> (String, Value) {
    let id = random("sub_", 24);
    let sim = SimSubscription {
        subscription: Subscription {
            id: id.clone(),
            status: GatewayStatus::Active,
            period: Some(Period { start: now, end: month_after(now) }),
            cancel_at_period_end: false,
            paused: false,
        },
        amount: seed.amount,
        currency: seed.currency,
        customer: seed.customer.map_or_else(|| random("cus_", 14), |c| c.as_str().to_owned()),
        metadata: seed.metadata,
        open_invoice: None,
    };
    let _ = seed.name;
    let invoice = invoice_json(&sim, &random("in_", 24), true, 1, None);
    state.subscriptions.by_id.insert(id.clone(), sim);
    (id, invoice)
}

impl SimulatedGateway {
    pub(super) fn subscription_page(&self, request: SubscriptionPageRequest) -> Result<PaymentLink, PaymentsError> {
        let as_link = PaymentLinkRequest {
            amount: request.amount,
            currency: request.currency,
            description: request.name,
            metadata: request.metadata,
            idempotency_key: request.idempotency_key,
            customer: request.customer,
            success_url: request.success_url,
            cancel_url: request.cancel_url,
            expires_at: request.expires_at,
            destination: request.destination,
        };
        self.open_session(as_link, true)
    }

    pub(super) fn subscription(&self, id: &str) -> Result<Subscription, PaymentsError> {
        let state = self.state();
        let sim = state.subscriptions.by_id.get(id).ok_or(PaymentsError::NotFound)?;
        Ok(self.at_now(sim))
    }

    /// A subscription cancelled at the end of its month has ended once the month is over.
    fn at_now(&self, sim: &SimSubscription) -> Subscription {
        let mut seen = sim.subscription.clone();
        if seen.cancel_at_period_end && seen.period.is_some_and(|p| self.clock.now() >= p.end) {
            seen.status = GatewayStatus::Canceled;
        }
        seen
    }

    fn change(&self, id: &str, f: impl FnOnce(&mut Subscription)) -> Result<Subscription, PaymentsError> {
        let mut state = self.state();
        let sim = state.subscriptions.by_id.get_mut(id).ok_or(PaymentsError::NotFound)?;
        if sim.subscription.status == GatewayStatus::Canceled {
            return Err(PaymentsError::Refused("this subscription is canceled".into()));
        }
        f(&mut sim.subscription);
        Ok(sim.subscription.clone())
    }

    pub(super) fn pause(&self, id: &str, paused: bool) -> Result<Subscription, PaymentsError> {
        self.change(id, |s| s.paused = paused)
    }

    pub(super) fn end(&self, id: &str, at_period_end: bool) -> Result<Subscription, PaymentsError> {
        match self.change(id, |s| {
            if at_period_end {
                s.cancel_at_period_end = true;
            } else {
                s.status = GatewayStatus::Canceled;
            }
        }) {
            Err(PaymentsError::Refused(_)) => self.subscription(id),
            other => other,
        }
    }

    /// The subscription as Stripe's API shows it, for the events the local host posts.
    pub fn subscription_object(&self, id: &str) -> Option<Value> {
        self.state().subscriptions.by_id.get(id).map(subscription_json)
    }

    /// Bills a subscription as Stripe would at the month's end, or retries its open invoice when
    /// it is `past_due`: the card is charged (`outcome`), and the events Stripe sends about it are
    /// answered in order. A paused subscription's invoice is voided (nothing charged, no event
    /// but the subscription's); a cancelled one is not billed.
    pub fn bill(&self, id: &str, outcome: Outcome) -> Result<Vec<(&'static str, Value)>, PaymentsError> {
        let now = self.clock.now();
        let mut state = self.state();
        let sim = state.subscriptions.by_id.get_mut(id).ok_or(PaymentsError::NotFound)?;
        let s = &mut sim.subscription;
        if s.status == GatewayStatus::Canceled {
            return Err(PaymentsError::Refused("this subscription is canceled".into()));
        }
        if s.cancel_at_period_end {
            // The month it was to end with is over: it ends instead of renewing.
            s.status = GatewayStatus::Canceled;
            return Ok(vec![("customer.subscription.deleted", subscription_json(sim))]);
        }
        let (invoice_id, attempt) = match sim.open_invoice.take() {
            Some((invoice, failed)) => (invoice, failed + 1),
            None => {
                // A new month starts whether or not its invoice is paid.
                let start = s.period.map_or(now, |p| p.end);
                s.period = Some(Period { start, end: month_after(start) });
                (random("in_", 24), 1)
            }
        };
        if s.paused {
            return Ok(vec![("customer.subscription.updated", subscription_json(sim))]);
        }
        let mut events = Vec::new();
        if outcome == Outcome::Succeed {
            s.status = GatewayStatus::Active;
            events.push(("invoice.paid", invoice_json(sim, &invoice_id, true, attempt, None)));
        } else if attempt >= ATTEMPTS {
            s.status = GatewayStatus::Canceled;
            events.push(("invoice.payment_failed", invoice_json(sim, &invoice_id, false, attempt, None)));
            events.push(("customer.subscription.deleted", subscription_json(sim)));
            return Ok(events);
        } else {
            s.status = GatewayStatus::PastDue;
            let next = (now + chrono::Duration::days(3)).timestamp();
            sim.open_invoice = Some((invoice_id.clone(), attempt));
            events.push(("invoice.payment_failed", invoice_json(sim, &invoice_id, false, attempt, Some(next))));
        }
        events.push(("customer.subscription.updated", subscription_json(sim)));
        Ok(events)
    }
}
