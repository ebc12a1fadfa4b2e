//! A simulated payment gateway for the local host, behaving like Stripe's test mode: intents
//! with `pi_…` ids and client secrets, idempotency keys, refunds never above what was collected,
//! customers and saved cards. Paying an intent (the local host's `/local/pay/{intent_id}`, or its
//! Stripe.js shim's card form with Stripe's test card numbers and 3-D Secure challenge) posts a
//! `payment_intent.succeeded` (or `payment_failed`, `requires_action`) event, signed with the
//! webhook secret exactly as Stripe signs it, to our own `/webhooks/stripe` — so the real
//! verification and processing path runs locally too. State lives in memory: a restart forgets
//! intents.
//!
//! Stripe Connect is simulated too (`simulated_connect.rs`): clinics' connected accounts, their
//! onboarding form on the local host and `account.updated` on our Connect webhook. Destination
//! charges keep their account and fee, and refunds of them reverse the transfer and give back
//! the fee in proportion (unless told to keep it). Unlike Stripe, the simulated gateway charges
//! the platform for a clinic that has not connected (so the local demo works without
//! onboarding), unless told to require a connection ([`SimulatedGateway::require_connected_accounts`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rand::Rng;
use rand::distr::Alphanumeric;
use serde_json::{Value, json};

use mas_domain::payment::{ClientSecret, CustomerId, IntentId, IntentSnapshot, IntentStatus};
use mas_domain::payment::{ConnectedAccountId, ReaderId, TerminalLocationId};
use mas_domain::webhook::WebhookSecret;
use mas_ports::Clock;
use mas_ports::payments::{
    AccountRequest, BrowserCheckout, ConnectedAccount, GatewayRefund, Intent, IntentRequest, OnboardingLink,
    OnboardingRequest, Payments, PaymentsError, ReaderRequest, RefundRequest, TerminalLocationRequest, TerminalReader,
};

#[path = "simulated_checkout.rs"]
mod checkout;
pub use checkout::{CheckoutPage, CheckoutPaid, session_json};
#[path = "simulated_billing.rs"]
mod billing;
#[path = "simulated_connect.rs"]
mod connect;
pub use connect::{Ledger, Onboarding, OnboardingPage, account_json};
#[path = "simulated_terminal.rs"]
mod terminal;
pub use terminal::{Presented, reader_json};

/// What paying an intent on the local host does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Succeed,
    /// The card is declined (`card_declined`); the intent can be paid again.
    Fail,
    /// The bank asks the client to authenticate (3-D Secure): the intent waits in
    /// `requires_action` until the challenge is completed (then it succeeds) or failed.
    RequiresAction,
}

/// The publishable key the simulated gateway gives browsers: any `pk_test_…` would do, since
/// the shim (`/local/stripe.js`) only checks its shape, as Stripe.js does.
pub const SIMULATED_PUBLISHABLE_KEY: &str = "pk_test_simulatedLocalGateway";
/// Where the local host serves its Stripe.js shim, on the API's origin.
pub const SHIM_PATH: &str = "/local/stripe.js";

/// What one of Stripe's test card numbers does in test mode (the subset the shim offers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestCard {
    Succeeds,
    /// Declined, with this decline code.
    Declined(&'static str),
    /// Asks for 3-D Secure authentication on every payment.
    ThreeDSecure,
}

/// The card a number stands for in Stripe's test mode: `None` when it is no card number at all
/// (wrong length or check digit). Numbers that are not test cards are declined, as Stripe's test
/// mode declines real cards.
pub fn test_card(number: &str) -> Option<TestCard> {
    let digits: String = number.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
    if !(12..=19).contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_digit()) || !luhn(&digits) {
        return None;
    }
    Some(match digits.as_str() {
        "4242424242424242" | "5555555555554444" | "4000056655665556" | "378282246310005" => TestCard::Succeeds,
        "4000000000000002" => TestCard::Declined("card_declined"),
        "4000000000009995" => TestCard::Declined("insufficient_funds"),
        "4000000000000069" => TestCard::Declined("expired_card"),
        "4000000000000127" => TestCard::Declined("incorrect_cvc"),
        "4000002760003184" | "4000002500003155" | "4000000000003220" => TestCard::ThreeDSecure,
        _ => TestCard::Declined("card_declined"),
    })
}

fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .chars()
        .rev()
        .filter_map(|c| c.to_digit(10))
        .enumerate()
        .map(|(i, d)| if i % 2 == 1 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d })
        .sum();
    sum.is_multiple_of(10)
}

/// The message Stripe gives a visitor for a failure code (what Stripe.js's `error.message` says).
pub fn failure_message(code: &str) -> &'static str {
    match code {
        "insufficient_funds" => "Your card has insufficient funds.",
        "expired_card" => "Your card has expired.",
        "incorrect_cvc" => "Your card's security code is incorrect.",
        AUTHENTICATION_FAILURE => {
            "We are unable to authenticate your payment method. Please choose a different payment method and try again."
        }
        _ => "Your card was declined.",
    }
}

/// Stripe's code for a failed 3-D Secure challenge.
pub const AUTHENTICATION_FAILURE: &str = "payment_intent_authentication_failure";

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
    /// Of a destination charge's application fee, what refunds gave back.
    fee_refunded: i64,
}

impl SimIntent {
    fn new(intent: Intent, save_for_later: bool) -> SimIntent {
        SimIntent { intent, save_for_later, refunded: 0, fee_refunded: 0 }
    }
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
    /// Clinics' connected accounts.
    accounts: connect::Accounts,
    /// Card readers (Stripe Terminal) and their locations.
    readers: terminal::Readers,
    /// Monthly subscriptions (memberships).
    subscriptions: billing::Subscriptions,
}

pub struct SimulatedGateway {
    secret: WebhookSecret,
    /// Signs the Connect endpoint's events (Stripe gives each endpoint its own secret).
    connect_secret: WebhookSecret,
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
    http: reqwest::Client,
    /// Refuse to charge a clinic without a connected account, as Stripe does here.
    require_connection: AtomicBool,
    /// A refund of a destination charge gives back the fee in proportion.
    refund_application_fee: AtomicBool,
}

fn random(prefix: &str, len: usize) -> String {
    let body: String = rand::rng().sample_iter(&Alphanumeric).take(len).map(char::from).collect();
    format!("{prefix}{body}")
}

impl SimulatedGateway {
    /// A gateway signing platform events with `secret` and Connect events with the public
    /// development Connect secret ([`crate::DEV_CONNECT_WEBHOOK_SECRET`]).
    pub fn new(secret: WebhookSecret, clock: Arc<dyn Clock>) -> SimulatedGateway {
        let connect_secret =
            WebhookSecret::new(crate::DEV_CONNECT_WEBHOOK_SECRET).expect("the development secret is long enough");
        SimulatedGateway {
            secret,
            connect_secret,
            clock,
            state: Mutex::new(State::default()),
            http: reqwest::Client::new(),
            require_connection: AtomicBool::new(false),
            refund_application_fee: AtomicBool::new(true),
        }
    }

    /// From now on, charge no clinic without a connected account that takes charges (as Stripe
    /// is configured on AWS), or charge the platform for them again (`false`, the default).
    pub fn require_connected_accounts(&self, required: bool) {
        self.require_connection.store(required, Ordering::SeqCst);
    }

    /// Whether a refund of a destination charge gives back the platform's fee in proportion
    /// (`true`, the default) or the platform keeps it.
    pub fn set_refund_application_fee(&self, refund: bool) {
        self.refund_application_fee.store(refund, Ordering::SeqCst);
    }

    /// The secret the Connect endpoint's events are signed with.
    pub fn connect_secret(&self) -> &WebhookSecret {
        &self.connect_secret
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("simulated gateway lock")
    }

    /// The client pays (or fails to pay) an intent, as Stripe.js would; nothing is posted yet.
    pub fn pay(&self, id: &IntentId, outcome: Outcome) -> Result<Intent, PaymentsError> {
        self.settle(id, outcome, "card_declined")
    }

    /// What Stripe.js's `confirmPayment` does with a card in the Payment Element: the client
    /// secret must be the intent's, and the card number decides, as Stripe's test cards do.
    /// Nothing is posted yet.
    pub fn confirm_card(&self, id: &IntentId, client_secret: &str, number: &str) -> Result<Intent, PaymentsError> {
        self.check_secret(id, client_secret)?;
        match test_card(number) {
            None => Err(PaymentsError::Refused("incorrect_number: the card number is not a valid card number".into())),
            Some(TestCard::Succeeds) => self.settle(id, Outcome::Succeed, ""),
            Some(TestCard::Declined(code)) => self.settle(id, Outcome::Fail, code),
            Some(TestCard::ThreeDSecure) => self.settle(id, Outcome::RequiresAction, ""),
        }
    }

    /// The client completes (or fails) the 3-D Secure challenge of an intent in
    /// `requires_action`. Nothing is posted yet.
    pub fn authenticate(&self, id: &IntentId, client_secret: &str, complete: bool) -> Result<Intent, PaymentsError> {
        self.check_secret(id, client_secret)?;
        let status = self.state().intents.get(id.as_str()).map(|sim| sim.intent.snapshot.status);
        if status != Some(IntentStatus::RequiresAction) {
            return Err(PaymentsError::Refused("this PaymentIntent is not waiting for authentication".into()));
        }
        if complete {
            self.settle(id, Outcome::Succeed, "")
        } else {
            self.settle(id, Outcome::Fail, AUTHENTICATION_FAILURE)
        }
    }

    /// As Stripe answers a publishable-key request naming an intent by a secret that is not its own.
    fn check_secret(&self, id: &IntentId, client_secret: &str) -> Result<(), PaymentsError> {
        let state = self.state();
        let sim = state.intents.get(id.as_str()).ok_or(PaymentsError::NotFound)?;
        match &sim.intent.client_secret {
            Some(secret) if secret.0 == client_secret => Ok(()),
            _ => Err(PaymentsError::Refused("the client_secret does not match this PaymentIntent".into())),
        }
    }

    fn settle(&self, id: &IntentId, outcome: Outcome, failure_code: &str) -> Result<Intent, PaymentsError> {
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
                snapshot.last_error = Some(failure_code.to_owned());
                Ok(sim.intent.clone())
            }
            Outcome::RequiresAction => {
                snapshot.status = IntentStatus::RequiresAction;
                snapshot.last_error = None;
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
        self.signed_object_event(event_type, intent_json(intent))
    }

    /// Posts `event_type` about `intent` to `url` (our `/webhooks/stripe`), signed.
    pub async fn deliver(&self, url: &str, event_type: &str, intent: &Intent) -> Result<Delivery, PaymentsError> {
        let signed = self.signed_event(event_type, intent);
        self.post_signed(url, event_type, signed).await
    }

    /// Posts a signed event (its id, body and `Stripe-Signature`) as Stripe would, and keeps
    /// the delivery for tests to replay.
    pub(crate) async fn post_signed(
        &self,
        url: &str,
        event_type: &str,
        (event_id, body, signature): (String, Vec<u8>, String),
    ) -> Result<Delivery, PaymentsError> {
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

    /// The card holder disputes a paid intent (or its dispute moves on to `status`): the event
    /// type Stripe sends and the dispute as its API shows it. One dispute per intent (`dp_…`).
    pub fn dispute(&self, id: &IntentId, status: &str) -> Result<(&'static str, Value), PaymentsError> {
        const STATUSES: [&str; 8] = [
            "warning_needs_response",
            "warning_under_review",
            "warning_closed",
            "needs_response",
            "under_review",
            "won",
            "lost",
            "prevented",
        ];
        if !STATUSES.contains(&status) {
            return Err(PaymentsError::Refused(format!("status must be one of {}", STATUSES.join(", "))));
        }
        let state = self.state();
        let sim = state.intents.get(id.as_str()).ok_or(PaymentsError::NotFound)?;
        if sim.intent.snapshot.status != IntentStatus::Succeeded {
            return Err(PaymentsError::Refused("only a paid PaymentIntent can be disputed".into()));
        }
        let event_type = match status {
            "needs_response" | "warning_needs_response" => "charge.dispute.created",
            "won" | "lost" | "warning_closed" | "prevented" => "charge.dispute.closed",
            _ => "charge.dispute.updated",
        };
        let body = &id.as_str()[3..];
        let dispute = json!({
            "id": format!("dp_{body}"),
            "object": "dispute",
            "charge": format!("ch_{body}"),
            "payment_intent": id,
            "amount": sim.intent.snapshot.amount_received.unwrap_or(sim.intent.snapshot.amount),
            "currency": sim.intent.currency.to_lowercase(),
            "status": status,
            "reason": "fraudulent",
        });
        Ok((event_type, dispute))
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
        "last_payment_error": s.last_error.as_ref().map(|code| {
            let kind = if code == AUTHENTICATION_FAILURE { "invalid_request_error" } else { "card_error" };
            json!({ "type": kind, "code": code, "message": failure_message(code) })
        }),
        "next_action": (s.status == IntentStatus::RequiresAction).then(|| json!({ "type": "use_stripe_sdk" })),
        "livemode": false,
        "metadata": intent.metadata,
    })
}

#[async_trait]
impl Payments for SimulatedGateway {
    fn name(&self) -> &'static str {
        "simulated"
    }

    fn browser_checkout(&self) -> Option<BrowserCheckout> {
        Some(BrowserCheckout { publishable_key: SIMULATED_PUBLISHABLE_KEY.into(), js_url: SHIM_PATH.into() })
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
            destination: request.destination.clone(),
        };
        if let Some(destination) = &request.destination {
            let account = state.accounts.status(&destination.account_id);
            if !account.is_some_and(|a| a.charges_enabled) {
                return Err(PaymentsError::Refused(format!(
                    "the destination account {} cannot take charges",
                    destination.account_id
                )));
            }
            if destination.application_fee.get() > request.amount.get() {
                return Err(PaymentsError::Refused("application_fee_amount exceeds the amount".into()));
            }
        }
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
        state.intents.insert(id.to_string(), SimIntent::new(intent.clone(), request.save_for_later));
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
        // The refund follows the charge: a destination charge's transfer is reversed, and the
        // fee given back in the refund's proportion (all of what is left of it at the last one).
        if let Some(destination) = &sim.intent.snapshot.destination
            && self.refund_application_fee.load(Ordering::SeqCst)
        {
            let fee = destination.application_fee.get();
            let back = if sim.refunded >= received { fee } else { fee * sim.refunded / received.max(1) };
            sim.fee_refunded = back.max(sim.fee_refunded);
        }
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

    async fn create_subscription_page(
        &self,
        request: mas_ports::payments::SubscriptionPageRequest,
    ) -> Result<mas_ports::PaymentLink, PaymentsError> {
        self.subscription_page(request)
    }

    async fn retrieve_subscription(&self, id: &str) -> Result<mas_ports::payments::Subscription, PaymentsError> {
        self.subscription(id)
    }

    async fn set_subscription_paused(
        &self,
        id: &str,
        paused: bool,
    ) -> Result<mas_ports::payments::Subscription, PaymentsError> {
        self.pause(id, paused)
    }

    async fn cancel_subscription(
        &self,
        id: &str,
        at_period_end: bool,
    ) -> Result<mas_ports::payments::Subscription, PaymentsError> {
        self.end(id, at_period_end)
    }

    async fn expire_payment_link(&self, id: &str) -> Result<mas_ports::PaymentLink, PaymentsError> {
        self.expire_session(id)
    }

    fn requires_connected_account(&self) -> bool {
        self.require_connection.load(Ordering::SeqCst)
    }

    async fn create_connected_account(&self, request: AccountRequest) -> Result<ConnectedAccount, PaymentsError> {
        self.create_account(request)
    }

    async fn retrieve_connected_account(&self, id: &ConnectedAccountId) -> Result<ConnectedAccount, PaymentsError> {
        self.retrieve_account(id)
    }

    async fn onboarding_link(&self, request: OnboardingRequest) -> Result<OnboardingLink, PaymentsError> {
        self.account_link(request)
    }

    async fn create_terminal_location(
        &self,
        request: TerminalLocationRequest,
    ) -> Result<TerminalLocationId, PaymentsError> {
        Ok(self.terminal_location(request))
    }

    async fn register_reader(&self, request: ReaderRequest) -> Result<TerminalReader, PaymentsError> {
        self.register(request)
    }

    async fn delete_reader(&self, reader: &ReaderId) -> Result<(), PaymentsError> {
        self.unregister(reader)
    }

    async fn create_present_intent(&self, request: IntentRequest) -> Result<Intent, PaymentsError> {
        if request.charge_saved_method.is_some() || request.save_for_later {
            return Err(PaymentsError::Refused("a card_present intent neither saves nor charges a saved card".into()));
        }
        self.create_intent(request).await
    }

    async fn process_payment_intent(
        &self,
        reader: &ReaderId,
        intent: &IntentId,
    ) -> Result<TerminalReader, PaymentsError> {
        self.process(reader, intent)
    }

    async fn cancel_reader_action(&self, reader: &ReaderId) -> Result<TerminalReader, PaymentsError> {
        self.cancel_action(reader)
    }

    async fn cancel_intent(&self, intent: &IntentId) -> Result<Intent, PaymentsError> {
        self.cancel(intent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stripes_test_cards_do_what_stripes_test_mode_does() {
        assert_eq!(test_card("4242 4242 4242 4242"), Some(TestCard::Succeeds));
        assert_eq!(test_card("4000-0000-0000-0002"), Some(TestCard::Declined("card_declined")));
        assert_eq!(test_card("4000000000009995"), Some(TestCard::Declined("insufficient_funds")));
        assert_eq!(test_card("4000 0027 6000 3184"), Some(TestCard::ThreeDSecure));
        // A real card number (valid check digit) is declined in test mode; a mistyped one is no card.
        assert_eq!(test_card("4111 1111 1111 1111"), Some(TestCard::Declined("card_declined")));
        assert_eq!(test_card("4242 4242 4242 4241"), None);
        assert_eq!(test_card("4242"), None);
        assert_eq!(failure_message(AUTHENTICATION_FAILURE), failure_message("payment_intent_authentication_failure"));
        assert_eq!(failure_message("card_declined"), "Your card was declined.");
    }
}
