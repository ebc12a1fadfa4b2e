//! The simulated gateway's hosted payment pages, as Stripe Checkout in `payment` mode behaves: a
//! `cs_…` session with an expiry (30 minutes to 24 hours ahead), the same page for the same
//! idempotency key, and no intent until the client pays — then an intent carrying the session's
//! `payment_intent_data` metadata, and the session `complete`. The page is served by the host its
//! return URLs name (the local host's `/local/checkout/{id}`); paying it posts the signed
//! `payment_intent.succeeded` and `checkout.session.completed` webhooks, as Stripe does.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::{Delivery, SimIntent, SimulatedGateway, random};
use mas_domain::payment::{ChargeDestination, ClientSecret, CustomerId, IntentId, IntentSnapshot, IntentStatus};
use mas_ports::payments::{Intent, PaymentLink, PaymentLinkRequest, PaymentLinkStatus, PaymentsError};

#[derive(Debug, Clone)]
pub(super) struct SimSession {
    link: PaymentLink,
    amount: i64,
    currency: String,
    description: String,
    customer: Option<CustomerId>,
    /// Where the intent the page makes sends the money, less the platform's fee.
    destination: Option<ChargeDestination>,
    /// `checkout.session.expired` was announced (once).
    expiry_announced: bool,
    /// `subscription` mode: paying the page starts a monthly subscription (`simulated_billing`).
    recurring: bool,
}

#[derive(Default)]
pub(super) struct Sessions {
    by_id: HashMap<String, SimSession>,
    /// Idempotency key → the session it made.
    keys: HashMap<String, String>,
}

/// A hosted page as the local page shows it.
#[derive(Debug, Clone)]
pub struct CheckoutPage {
    pub link: PaymentLink,
    /// A sign-up page (Checkout's `subscription` mode).
    pub recurring: bool,
    pub amount: i64,
    pub currency: String,
    pub description: String,
}

/// What paying a hosted page did.
#[derive(Debug, Clone)]
pub struct CheckoutPaid {
    pub session: Value,
    pub intent: Intent,
    /// A sign-up page's first invoice, paid (for `invoice.paid`).
    pub invoice: Option<Value>,
}

/// `https://host:port` of `url`.
pub(super) fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(slash) => &url[..after_scheme + slash],
        None => url,
    }
}

/// The session as Stripe's API shows it.
pub fn session_json(page: &CheckoutPage) -> Value {
    let link = &page.link;
    let status = match link.status {
        PaymentLinkStatus::Open => "open",
        PaymentLinkStatus::Complete => "complete",
        PaymentLinkStatus::Expired => "expired",
    };
    json!({
        "id": link.id,
        "object": "checkout.session",
        "mode": if page.recurring { "subscription" } else { "payment" },
        "subscription": link.subscription,
        "status": status,
        "payment_status": if link.paid { "paid" } else { "unpaid" },
        "amount_total": page.amount,
        "currency": page.currency.to_lowercase(),
        "payment_intent": link.payment_intent,
        "url": link.url,
        "expires_at": link.expires_at.timestamp(),
        "metadata": link.metadata,
        "livemode": false,
    })
}

impl SimSession {
    /// Its state at `now`: an open page past its expiry is expired.
    fn at(&mut self, now: DateTime<Utc>) -> &mut SimSession {
        if self.link.status == PaymentLinkStatus::Open && now >= self.link.expires_at {
            self.link.status = PaymentLinkStatus::Expired;
            self.link.url = None;
        }
        self
    }

    fn page(&self) -> CheckoutPage {
        CheckoutPage {
            link: self.link.clone(),
            recurring: self.recurring,
            amount: self.amount,
            currency: self.currency.clone(),
            description: self.description.clone(),
        }
    }
}

impl SimulatedGateway {
    pub(super) fn create_session(&self, request: PaymentLinkRequest) -> Result<PaymentLink, PaymentsError> {
        self.open_session(request, false)
    }

    /// A page in `payment` mode, or in `subscription` mode (`recurring`: its amount each month).
    pub(super) fn open_session(
        &self,
        request: PaymentLinkRequest,
        recurring: bool,
    ) -> Result<PaymentLink, PaymentsError> {
        let now = self.clock.now();
        let mut state = self.state();
        if let Some(id) = state.checkout.keys.get(&request.idempotency_key).cloned() {
            return Ok(state.checkout.by_id.get_mut(&id).expect("a keyed session").at(now).link.clone());
        }
        if request.amount.get() < 30 {
            return Err(PaymentsError::Refused("amount must be at least 30 minor units".into()));
        }
        if let Some(destination) = &request.destination
            && !state.accounts.status(&destination.account_id).is_some_and(|a| a.charges_enabled)
        {
            return Err(PaymentsError::Refused(format!(
                "the destination account {} cannot take charges",
                destination.account_id
            )));
        }
        let ahead = request.expires_at - now;
        if ahead < Duration::minutes(30) || ahead > Duration::hours(24) {
            return Err(PaymentsError::Refused("expires_at must be 30 minutes to 24 hours from now".into()));
        }
        let id = random("cs_test_", 40);
        let link = PaymentLink {
            url: Some(format!("{}/local/checkout/{id}", origin(&request.success_url))),
            id: id.clone(),
            status: PaymentLinkStatus::Open,
            paid: false,
            payment_intent: None,
            expires_at: request.expires_at,
            metadata: request.metadata.clone(),
            subscription: None,
        };
        let session = SimSession {
            link: link.clone(),
            amount: request.amount.get(),
            currency: request.currency.to_string(),
            description: request.description.clone(),
            customer: request.customer.clone(),
            destination: request.destination.clone(),
            expiry_announced: false,
            recurring,
        };
        state.checkout.keys.insert(request.idempotency_key, id.clone());
        state.checkout.by_id.insert(id, session);
        Ok(link)
    }

    pub(super) fn retrieve_session(&self, id: &str) -> Result<PaymentLink, PaymentsError> {
        let now = self.clock.now();
        let mut state = self.state();
        let session = state.checkout.by_id.get_mut(id).ok_or(PaymentsError::NotFound)?;
        Ok(session.at(now).link.clone())
    }

    /// Checkout's `expire`: an open page stops taking payment; any other is answered as it is.
    pub(super) fn expire_session(&self, id: &str) -> Result<PaymentLink, PaymentsError> {
        let now = self.clock.now();
        let mut state = self.state();
        let session = state.checkout.by_id.get_mut(id).ok_or(PaymentsError::NotFound)?.at(now);
        if session.link.status == PaymentLinkStatus::Open {
            session.link.status = PaymentLinkStatus::Expired;
            session.link.url = None;
        }
        Ok(session.link.clone())
    }

    /// A hosted page as it stands now.
    pub fn checkout_page(&self, id: &str) -> Option<CheckoutPage> {
        let now = self.clock.now();
        self.state().checkout.by_id.get_mut(id).map(|s| s.at(now).page())
    }

    /// The client pays on the hosted page (nothing is posted yet). An expired or already paid
    /// page refuses; a declined card leaves the page open to try again, as Checkout does.
    pub fn pay_checkout(&self, id: &str, outcome: super::Outcome) -> Result<CheckoutPaid, PaymentsError> {
        let now = self.clock.now();
        let mut state = self.state();
        let session = state.checkout.by_id.get_mut(id).ok_or(PaymentsError::NotFound)?.at(now);
        match session.link.status {
            PaymentLinkStatus::Expired => return Err(PaymentsError::Refused("this payment link has expired".into())),
            PaymentLinkStatus::Complete => {
                return Err(PaymentsError::Refused("this payment link has already been paid".into()));
            }
            PaymentLinkStatus::Open => {}
        }
        if outcome == super::Outcome::Fail {
            return Err(PaymentsError::Declined("card_declined".into()));
        }
        let recurring = session.recurring;
        let seed = super::billing::Seed {
            name: session.description.clone(),
            amount: session.amount,
            currency: session.currency.clone(),
            customer: session.customer.clone(),
            metadata: session.link.metadata.clone(),
        };
        let intent_id = IntentId::parse(&random("pi_", 24)).expect("an intent id");
        let intent = Intent {
            client_secret: Some(ClientSecret(format!("{intent_id}_secret_{}", random("", 16)))),
            id: intent_id.clone(),
            currency: session.currency.to_uppercase(),
            snapshot: IntentSnapshot {
                status: IntentStatus::Succeeded,
                amount: session.amount,
                amount_received: Some(session.amount),
                customer: session.customer.clone(),
                payment_method: Some(random("pm_", 24)),
                last_error: None,
                destination: session.destination.clone(),
            },
            // In `subscription` mode the ids ride on the subscription, not on the invoice's intent.
            metadata: if recurring { Default::default() } else { session.link.metadata.clone() },
        };
        session.link.status = PaymentLinkStatus::Complete;
        session.link.paid = true;
        session.link.url = None;
        session.link.payment_intent = Some(intent_id.clone());
        let mut invoice = None;
        if recurring {
            let (subscription, first) = super::billing::start(&mut state, seed, now);
            let session = state.checkout.by_id.get_mut(id).expect("the session paid");
            session.link.subscription = Some(subscription);
            invoice = Some(first);
        }
        let page = state.checkout.by_id.get(id).expect("the session paid").page();
        state.intents.insert(intent_id.to_string(), SimIntent::new(intent.clone(), false));
        Ok(CheckoutPaid { session: session_json(&page), intent, invoice })
    }

    /// The session of an expired page, the first time it is asked for (to announce
    /// `checkout.session.expired` once, as Stripe does when a page expires).
    pub fn take_expiry(&self, id: &str) -> Option<Value> {
        let now = self.clock.now();
        let mut state = self.state();
        let session = state.checkout.by_id.get_mut(id)?.at(now);
        if session.link.status != PaymentLinkStatus::Expired || session.expiry_announced {
            return None;
        }
        session.expiry_announced = true;
        Some(session_json(&session.page()))
    }

    /// A Stripe-shaped event about any object (a Checkout Session), and its signature header.
    pub fn signed_object_event(&self, event_type: &str, object: Value) -> (String, Vec<u8>, String) {
        self.sign_envelope(event_type, object, None, &self.secret)
    }

    /// Stripe's event envelope about `object` — with `account` at the top for a connected
    /// account's event, as Stripe's Connect endpoints receive them — signed with `secret`.
    pub(super) fn sign_envelope(
        &self,
        event_type: &str,
        object: Value,
        account: Option<&mas_domain::payment::ConnectedAccountId>,
        secret: &mas_domain::webhook::WebhookSecret,
    ) -> (String, Vec<u8>, String) {
        let event_id = random("evt_", 24);
        let now = self.clock.now().timestamp();
        let mut body = json!({
            "id": event_id,
            "object": "event",
            "api_version": "2025-09-30.clover",
            "created": now,
            "livemode": false,
            "type": event_type,
            "data": { "object": object },
        });
        if let Some(account) = account {
            body["account"] = json!(account);
        }
        let body = serde_json::to_vec(&body).expect("an event serializes");
        let signature = secret.sign(now, &body);
        (event_id, body, signature)
    }

    /// Posts `event_type` about `object` to `url` (our `/webhooks/stripe`), signed.
    pub async fn deliver_object(&self, url: &str, event_type: &str, object: Value) -> Result<Delivery, PaymentsError> {
        let signed = self.signed_object_event(event_type, object);
        self.post_signed(url, event_type, signed).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_is_served_by_the_host_of_its_return_urls() {
        assert_eq!(origin("http://127.0.0.1:3000/sites/glow/?paid"), "http://127.0.0.1:3000");
        assert_eq!(origin("https://glow.example"), "https://glow.example");
    }
}
