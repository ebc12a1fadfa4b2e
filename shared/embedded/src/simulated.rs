//! A simulated payment gateway for the local host, behaving like Stripe's test mode: intents
//! with `pi_…` ids and client secrets, idempotency keys, refunds never above what was collected,
//! customers and saved cards. Paying an intent (the local host's `/local/pay/{intent_id}`)
//! posts a `payment_intent.succeeded` (or `payment_failed`) event, signed with the webhook
//! secret exactly as Stripe signs it, to our own `/webhooks/stripe` — so the real verification
//! and processing path runs locally too. State lives in memory: a restart forgets intents.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rand::Rng;
use rand::distr::Alphanumeric;
use serde_json::{Value, json};

use mas_domain::payment::{ClientSecret, CustomerId, IntentId, IntentSnapshot, IntentStatus};
use mas_domain::webhook::WebhookSecret;
use mas_ports::Clock;
use mas_ports::payments::{GatewayRefund, Intent, IntentRequest, Payments, PaymentsError, RefundRequest};

#[path = "simulated_checkout.rs"]
mod checkout;
pub use checkout::{CheckoutPage, CheckoutPaid, session_json};

/// What paying an intent on the local host does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Succeed,
    /// The card is declined (`card_declined`); the intent can be paid again.
    Fail,
}

/// One webhook the gateway posted, kept so a test can replay it byte for byte.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub event_id: String,
    pub event_type: String,
    pub body: Vec<u8>,
    pub signature: String,
    pub status: u16,
}

#[derive(Debug, Clone)]
struct SimIntent {
    intent: Intent,
    save_for_later: bool,
    refunded: i64,
}

#[derive(Default)]
struct State {
    intents: HashMap<String, SimIntent>,
    /// Idempotency key → the intent, refund or customer it created.
    intent_keys: HashMap<String, String>,
    refund_keys: HashMap<String, GatewayRefund>,
    customer_keys: HashMap<String, CustomerId>,
    /// Saved cards: payment method → its customer.
    saved_methods: HashMap<String, CustomerId>,
    /// Customers deleted (a client's erasure).
    deleted_customers: Vec<CustomerId>,
    deliveries: Vec<Delivery>,
    /// Hosted payment pages (Checkout Sessions).
    checkout: checkout::Sessions,
    /// Saved cards that decline an off-session charge, with the decline code.
    declining: HashMap<String, String>,
}

pub struct SimulatedGateway {
    secret: WebhookSecret,
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
    http: reqwest::Client,
}

fn random(prefix: &str, len: usize) -> String {
    let body: String = rand::rng().sample_iter(&Alphanumeric).take(len).map(char::from).collect();
    format!("{prefix}{body}")
}

impl SimulatedGateway {
    pub fn new(secret: WebhookSecret, clock: Arc<dyn Clock>) -> SimulatedGateway {
        SimulatedGateway { secret, clock, state: Mutex::new(State::default()), http: reqwest::Client::new() }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("simulated gateway lock")
    }

    /// The client pays (or fails to pay) an intent, as Stripe.js would; nothing is posted yet.
    pub fn pay(&self, id: &IntentId, outcome: Outcome) -> Result<Intent, PaymentsError> {
        let mut state = self.state();
        let sim = state.intents.get_mut(id.as_str()).ok_or(PaymentsError::NotFound)?;
        let payable = matches!(
            sim.intent.snapshot.status,
            IntentStatus::RequiresPaymentMethod | IntentStatus::RequiresConfirmation | IntentStatus::RequiresAction
        );
        if !payable {
            return Err(PaymentsError::Refused(format!(
                "this PaymentIntent is {}",
                sim.intent.snapshot.status.as_str()
            )));
        }
        let snapshot = &mut sim.intent.snapshot;
        match outcome {
            Outcome::Succeed => {
                snapshot.status = IntentStatus::Succeeded;
                snapshot.amount_received = Some(snapshot.amount);
                snapshot.last_error = None;
                let method = random("pm_", 24);
                snapshot.payment_method = Some(method.clone());
                let save = sim.save_for_later;
                let customer = snapshot.customer.clone();
                let intent = sim.intent.clone();
                if let (true, Some(customer)) = (save, customer) {
                    state.saved_methods.insert(method, customer);
                }
                Ok(intent)
            }
            Outcome::Fail => {
                snapshot.status = IntentStatus::RequiresPaymentMethod;
                snapshot.last_error = Some("card_declined".into());
                Ok(sim.intent.clone())
            }
        }
    }

    /// The intent is cancelled (by the clinic, or Stripe after a long wait).
    pub fn cancel(&self, id: &IntentId) -> Result<Intent, PaymentsError> {
        let mut state = self.state();
        let sim = state.intents.get_mut(id.as_str()).ok_or(PaymentsError::NotFound)?;
        if matches!(sim.intent.snapshot.status, IntentStatus::Succeeded | IntentStatus::Canceled) {
            return Err(PaymentsError::Refused(format!(
                "this PaymentIntent is {}",
                sim.intent.snapshot.status.as_str()
            )));
        }
        sim.intent.snapshot.status = IntentStatus::Canceled;
        Ok(sim.intent.clone())
    }

    /// A Stripe-shaped event about `intent`, and the `Stripe-Signature` header for it.
    pub fn signed_event(&self, event_type: &str, intent: &Intent) -> (String, Vec<u8>, String) {
        let event_id = random("evt_", 24);
        let now = self.clock.now().timestamp();
        let body = json!({
            "id": event_id,
            "object": "event",
            "api_version": "2025-09-30.clover",
            "created": now,
            "livemode": false,
            "type": event_type,
            "data": { "object": intent_json(intent) },
        });
        let body = serde_json::to_vec(&body).expect("an event serializes");
        let signature = self.secret.sign(now, &body);
        (event_id, body, signature)
    }

    /// Posts `event_type` about `intent` to `url` (our `/webhooks/stripe`), signed.
    pub async fn deliver(&self, url: &str, event_type: &str, intent: &Intent) -> Result<Delivery, PaymentsError> {
        let (event_id, body, signature) = self.signed_event(event_type, intent);
        let response = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("stripe-signature", &signature)
            .body(body.clone())
            .send()
            .await
            .map_err(|e| PaymentsError::Unavailable(format!("posting the webhook to {url}: {e}")))?;
        let delivery =
            Delivery { event_id, event_type: event_type.into(), body, signature, status: response.status().as_u16() };
        self.state().deliveries.push(delivery.clone());
        Ok(delivery)
    }

    /// Every webhook posted so far.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.state().deliveries.clone()
    }

    /// Every refund made so far (any order).
    /// Whether `customer` exists (was created and not deleted since).
    pub fn has_customer(&self, customer: &CustomerId) -> bool {
        let state = self.state();
        state.customer_keys.values().any(|c| c == customer) && !state.deleted_customers.contains(customer)
    }

    pub fn refunds(&self) -> Vec<GatewayRefund> {
        self.state().refund_keys.values().cloned().collect()
    }

    /// From now on, charging the saved card `method` off-session is declined with `code`
    /// (`insufficient_funds`, or `authentication_required` for a card that needs 3-D Secure).
    pub fn decline_saved_card(&self, method: &str, code: &str) {
        self.state().declining.insert(method.to_owned(), code.to_owned());
    }

    /// Every intent the gateway holds (any order).
    pub fn intents(&self) -> Vec<Intent> {
        self.state().intents.values().map(|sim| sim.intent.clone()).collect()
    }
}

/// The intent as Stripe's API shows it.
pub fn intent_json(intent: &Intent) -> Value {
    let s = &intent.snapshot;
    json!({
        "id": intent.id,
        "object": "payment_intent",
        "amount": s.amount,
        "amount_received": s.amount_received.unwrap_or(0),
        "currency": intent.currency.to_lowercase(),
        "status": s.status.as_str(),
        "client_secret": intent.client_secret.as_ref().map(|c| c.0.clone()),
        "customer": s.customer,
        "payment_method": s.payment_method,
        "last_payment_error": s.last_error.as_ref().map(|code| json!({ "type": "card_error", "code": code })),
        "livemode": false,
        "metadata": intent.metadata,
    })
}

#[async_trait]
impl Payments for SimulatedGateway {
    fn name(&self) -> &'static str {
        "simulated"
    }

    async fn create_customer(&self, idempotency_key: &str) -> Result<CustomerId, PaymentsError> {
        let mut state = self.state();
        let customer = state
            .customer_keys
            .entry(idempotency_key.to_owned())
            .or_insert_with(|| CustomerId::parse(&random("cus_", 14)).expect("a customer id"));
        Ok(customer.clone())
    }

    async fn delete_customer(&self, customer: &CustomerId) -> Result<(), PaymentsError> {
        let mut state = self.state();
        let known = state.customer_keys.values().any(|c| c == customer);
        if !known || state.deleted_customers.contains(customer) {
            return Err(PaymentsError::NotFound);
        }
        state.saved_methods.retain(|_, owner| owner != customer);
        state.deleted_customers.push(customer.clone());
        Ok(())
    }

    async fn create_intent(&self, request: IntentRequest) -> Result<Intent, PaymentsError> {
        let mut state = self.state();
        if let Some(id) = state.intent_keys.get(&request.idempotency_key) {
            return Ok(state.intents[id].intent.clone());
        }
        if request.amount.get() < 30 {
            return Err(PaymentsError::Refused("amount must be at least 30 minor units".into()));
        }
        let id = IntentId::parse(&random("pi_", 24)).expect("an intent id");
        let mut snapshot = IntentSnapshot {
            status: IntentStatus::RequiresPaymentMethod,
            amount: request.amount.get(),
            amount_received: Some(0),
            customer: request.customer.clone(),
            payment_method: None,
            last_error: None,
        };
        if let Some(method) = &request.charge_saved_method {
            // Off-session: the saved card of this customer is charged at once.
            if state.saved_methods.get(method) != request.customer.as_ref() {
                return Err(PaymentsError::Declined("no such saved card for this customer".into()));
            }
            if let Some(code) = state.declining.get(method) {
                return Err(PaymentsError::Declined(code.clone()));
            }
            snapshot.status = IntentStatus::Succeeded;
            snapshot.amount_received = Some(request.amount.get());
            snapshot.payment_method = Some(method.clone());
        }
        let intent = Intent {
            client_secret: Some(ClientSecret(format!("{id}_secret_{}", random("", 16)))),
            id: id.clone(),
            currency: request.currency.to_string(),
            snapshot,
            metadata: request.metadata.clone(),
        };
        state.intent_keys.insert(request.idempotency_key.clone(), id.to_string());
        state.intents.insert(
            id.to_string(),
            SimIntent { intent: intent.clone(), save_for_later: request.save_for_later, refunded: 0 },
        );
        Ok(intent)
    }

    async fn retrieve_intent(&self, id: &IntentId) -> Result<Intent, PaymentsError> {
        self.state().intents.get(id.as_str()).map(|sim| sim.intent.clone()).ok_or(PaymentsError::NotFound)
    }

    async fn refund(&self, request: RefundRequest) -> Result<GatewayRefund, PaymentsError> {
        let mut state = self.state();
        if let Some(refund) = state.refund_keys.get(&request.idempotency_key) {
            return Ok(refund.clone());
        }
        let sim = state.intents.get_mut(request.intent.as_str()).ok_or(PaymentsError::NotFound)?;
        let received = sim.intent.snapshot.amount_received.unwrap_or(0);
        if sim.intent.snapshot.status != IntentStatus::Succeeded {
            return Err(PaymentsError::Refused("this PaymentIntent has not succeeded".into()));
        }
        if request.amount.get() > received - sim.refunded {
            return Err(PaymentsError::Refused(format!(
                "refund of {} exceeds what is left of the charge ({})",
                request.amount.get(),
                received - sim.refunded
            )));
        }
        sim.refunded += request.amount.get();
        let refund = GatewayRefund { id: random("re_", 24), amount: request.amount.get(), status: "succeeded".into() };
        state.refund_keys.insert(request.idempotency_key, refund.clone());
        Ok(refund)
    }

    async fn create_payment_link(
        &self,
        request: mas_ports::PaymentLinkRequest,
    ) -> Result<mas_ports::PaymentLink, PaymentsError> {
        self.create_session(request)
    }

    async fn retrieve_payment_link(&self, id: &str) -> Result<mas_ports::PaymentLink, PaymentsError> {
        self.retrieve_session(id)
    }
}
