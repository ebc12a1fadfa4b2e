//! The payments port: PaymentIntents, refunds and customers at the payment gateway, and the
//! clinics' connected accounts (Stripe Connect: onboarding, status). The Stripe adapter talks to
//! Stripe (or localstripe); the simulated gateway behaves like Stripe's test mode on the local
//! host and confirms intents (and onboarding) by posting signed webhooks back to us.
//!
//! Money goes to a clinic by **destination charges**: the intent is the platform's, with
//! `transfer_data[destination]` the clinic's account, `on_behalf_of` it (the clinic is the
//! merchant of record) and the platform's `application_fee_amount`. A refund of such a charge
//! takes the money back from the clinic's account (`reverse_transfer`) and, as the platform's
//! policy says, gives back the fee in proportion (`refund_application_fee`): the adapter reads
//! the charge and decides, so a refund "follows the charge" whoever asks for it.

use std::collections::BTreeMap;

use async_trait::async_trait;

use mas_domain::connect::{AccountStatus, Requirements};
use mas_domain::payment::{
    ChargeDestination, ClientSecret, ConnectedAccountId, CustomerId, IntentId, IntentSnapshot, ReaderId,
    TerminalLocationId,
};
use mas_domain::values::{Currency, MinorUnits};

/// What a new PaymentIntent asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct IntentRequest {
    pub amount: MinorUnits,
    pub currency: Currency,
    /// Ids that tie the intent back to us (`tenant_id`, `appointment_id`, `payment_id`, `kind`).
    pub metadata: BTreeMap<String, String>,
    /// The same key gives the same intent: a retried request never creates a second one.
    pub idempotency_key: String,
    pub customer: Option<CustomerId>,
    /// Keep the card on the customer for later charges (the client agreed).
    pub save_for_later: bool,
    /// Charge this saved card now, without the client present (`off_session`, confirmed at once).
    pub charge_saved_method: Option<String>,
    /// The clinic's connected account the money goes to, less the platform's fee; `None`
    /// charges the platform's own account (only where the gateway does not require a connection).
    pub destination: Option<ChargeDestination>,
}

/// A PaymentIntent as the gateway reports it now.
#[derive(Debug, Clone, PartialEq)]
pub struct Intent {
    pub id: IntentId,
    pub client_secret: Option<ClientSecret>,
    pub currency: String,
    pub snapshot: IntentSnapshot,
    pub metadata: BTreeMap<String, String>,
}

/// A hosted payment page the client opens from a link (Stripe Checkout in `payment` mode): it
/// collects `amount` once, and the intent it makes carries `metadata`.
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentLinkRequest {
    pub amount: MinorUnits,
    pub currency: Currency,
    /// The one line the page shows (`Balance for Profhilo, BK-12345678`).
    pub description: String,
    /// Ids that tie the page and its intent back to us (`tenant_id`, `client_id`, `link_id`, …).
    pub metadata: BTreeMap<String, String>,
    /// The same key gives the same page: a retried worker never makes a second one.
    pub idempotency_key: String,
    /// The client's customer, when they have one (their saved cards are offered).
    pub customer: Option<CustomerId>,
    /// Where the page sends the client after paying, and when they go back.
    pub success_url: String,
    pub cancel_url: String,
    /// When the page stops taking payment (Stripe: 30 minutes to 24 hours ahead).
    pub expires_at: chrono::DateTime<chrono::Utc>,
    /// The clinic's connected account the intent the page makes pays, less the platform's fee.
    pub destination: Option<ChargeDestination>,
}

/// Where a hosted payment page stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentLinkStatus {
    /// It takes payment.
    Open,
    /// It was paid (`paid` is then true) or completed without money arriving yet.
    Complete,
    Expired,
}

/// A hosted payment page as the gateway reports it now.
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentLink {
    /// `cs_…`
    pub id: String,
    /// Where the client pays; absent once the page is complete or expired.
    pub url: Option<String>,
    pub status: PaymentLinkStatus,
    /// The money arrived (Checkout's `payment_status` is `paid`).
    pub paid: bool,
    /// The intent the page made; Stripe makes it only when the client pays.
    pub payment_intent: Option<IntentId>,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    pub metadata: BTreeMap<String, String>,
    /// The subscription a sign-up page started once paid (`subscription` mode; `sub_…`).
    pub subscription: Option<String>,
}

impl PaymentLink {
    /// Reads a Checkout Session object as Stripe (or the simulated gateway) sends it.
    pub fn from_stripe_json(object: &serde_json::Value) -> Result<PaymentLink, String> {
        let text = |name: &str| object.get(name).and_then(|v| v.as_str());
        let id = text("id").filter(|id| id.starts_with("cs_")).ok_or("a Checkout Session without a `cs_` id")?;
        let status = match text("status") {
            Some("open") => PaymentLinkStatus::Open,
            Some("complete") => PaymentLinkStatus::Complete,
            Some("expired") => PaymentLinkStatus::Expired,
            other => return Err(format!("unknown Checkout Session status {other:?}")),
        };
        let expires_at = object
            .get("expires_at")
            .and_then(|v| v.as_i64())
            .and_then(|at| chrono::DateTime::from_timestamp(at, 0))
            .ok_or("a Checkout Session without expires_at")?;
        let metadata = object
            .get("metadata")
            .and_then(|m| m.as_object())
            .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
            .unwrap_or_default();
        Ok(PaymentLink {
            id: id.to_owned(),
            url: text("url").map(str::to_owned),
            status,
            paid: text("payment_status") == Some("paid"),
            payment_intent: object.get("payment_intent").and_then(stripe_ref).and_then(|id| IntentId::parse(&id).ok()),
            expires_at,
            metadata,
            subscription: object.get("subscription").and_then(stripe_ref).filter(|id| id.starts_with("sub_")),
        })
    }
}

/// A hosted sign-up page for a monthly subscription (Stripe Checkout in `subscription` mode):
/// the client pays the first month there, and the gateway charges her card each month after.
#[derive(Debug, Clone, PartialEq)]
pub struct SubscriptionPageRequest {
    /// What the page and her statements show (the plan's name).
    pub name: String,
    /// What each month costs.
    pub amount: MinorUnits,
    pub currency: Currency,
    /// Ids tying the page and the subscription back to us (`tenant_id`, `membership_id`).
    pub metadata: BTreeMap<String, String>,
    /// The same key gives the same page.
    pub idempotency_key: String,
    pub customer: Option<CustomerId>,
    pub success_url: String,
    pub cancel_url: String,
    /// When the page stops taking payment (30 minutes to 24 hours ahead).
    pub expires_at: chrono::DateTime<chrono::Utc>,
    /// The clinic's connected account each month's charge pays (the platform's fee as a share
    /// of the price: `application_fee_percent`).
    pub destination: Option<ChargeDestination>,
}

/// A subscription as the gateway reports it now.
pub type Subscription = mas_domain::membership::ObservedSubscription;

/// Reads a Subscription object as Stripe (any API version: the month paid for moved from the
/// subscription to its items in 2025) or the simulated gateway sends it.
pub fn subscription_from_stripe_json(object: &serde_json::Value) -> Result<Subscription, String> {
    use mas_domain::membership::{GatewayStatus, Period};
    let id = object
        .get("id")
        .and_then(|v| v.as_str())
        .filter(|id| id.starts_with("sub_"))
        .ok_or("a Subscription without a `sub_` id")?;
    let status = object.get("status").and_then(|v| v.as_str()).unwrap_or_default();
    let status = GatewayStatus::parse(status).ok_or_else(|| format!("unknown Subscription status {status:?}"))?;
    let time = |v: Option<&serde_json::Value>| {
        v.and_then(|v| v.as_i64()).and_then(|at| chrono::DateTime::from_timestamp(at, 0))
    };
    let item = object.pointer("/items/data/0");
    let start =
        time(object.get("current_period_start")).or_else(|| time(item.and_then(|i| i.get("current_period_start"))));
    let end = time(object.get("current_period_end")).or_else(|| time(item.and_then(|i| i.get("current_period_end"))));
    let period = match (start, end) {
        (Some(start), Some(end)) if end > start => Some(Period { start, end }),
        _ => None,
    };
    let paused = object.get("pause_collection").is_some_and(|p| p.is_object());
    Ok(Subscription {
        id: id.to_owned(),
        status,
        period,
        cancel_at_period_end: object.get("cancel_at_period_end").and_then(|v| v.as_bool()).unwrap_or(false),
        paused,
    })
}

/// The subscription an invoice is for: `subscription` before Stripe's 2025 API versions,
/// `parent.subscription_details.subscription` since.
pub fn invoice_subscription(invoice: &serde_json::Value) -> Option<String> {
    invoice
        .get("subscription")
        .and_then(stripe_ref)
        .or_else(|| invoice.pointer("/parent/subscription_details/subscription").and_then(stripe_ref))
        .filter(|id| id.starts_with("sub_"))
}

#[derive(Debug, Clone, PartialEq)]
pub struct RefundRequest {
    pub intent: IntentId,
    pub amount: MinorUnits,
    /// The gateway's idempotency key: a retry of the same refund never refunds twice.
    pub idempotency_key: String,
    pub metadata: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GatewayRefund {
    /// `re_…`
    pub id: String,
    pub amount: i64,
    pub status: String,
}

/// What a browser needs to confirm an intent itself with Stripe.js: where to load Stripe.js from
/// and the publishable key to start it with. Both are public (Stripe.js is a public script, and a
/// publishable key can only confirm what a client secret names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserCheckout {
    /// `pk_live_…` or `pk_test_…`.
    pub publishable_key: String,
    /// `https://js.stripe.com/v3/` for Stripe; the simulated gateway's shim is a path on the local
    /// host (`/local/stripe.js`), relative to the API's origin.
    pub js_url: String,
}

/// Where Stripe.js is served from: Stripe asks that it is always loaded from there, never bundled.
pub const STRIPE_JS_URL: &str = "https://js.stripe.com/v3/";

/// A clinic's new connected account (Express: Stripe hosts its onboarding and dashboard).
#[derive(Debug, Clone, PartialEq)]
pub struct AccountRequest {
    /// The same key gives the same account: a retried request never makes a second one.
    pub idempotency_key: String,
    /// ISO 3166 country of the business (`GB`).
    pub country: String,
    /// Prefills Stripe's onboarding form.
    pub email: Option<String>,
    /// Ids that tie the account back to us (`tenant_id`); never trusted on their own.
    pub metadata: BTreeMap<String, String>,
}

/// A connected account as the gateway reports it now.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectedAccount {
    pub id: ConnectedAccountId,
    pub status: AccountStatus,
    pub metadata: BTreeMap<String, String>,
}

/// A single-use link to the gateway's hosted onboarding form (Stripe Account Links).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnboardingLink {
    pub url: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// Where the onboarding form sends the owner: `return_url` when they leave it (done or not),
/// `refresh_url` when the link has expired or was used (ask for a new one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnboardingRequest {
    pub account: ConnectedAccountId,
    pub refresh_url: String,
    pub return_url: String,
}

impl ConnectedAccount {
    /// Reads an Account object as Stripe (or the simulated gateway) sends it.
    pub fn from_stripe_json(object: &serde_json::Value) -> Result<ConnectedAccount, String> {
        let id = object.get("id").and_then(|v| v.as_str()).ok_or("an Account without an id")?;
        let id = ConnectedAccountId::parse(id).map_err(|e| e.0)?;
        let flag = |name: &str| object.get(name).and_then(|v| v.as_bool()).unwrap_or(false);
        let requirements = object.get("requirements").filter(|r| r.is_object());
        let list = |name: &str| -> Vec<String> {
            requirements
                .and_then(|r| r.get(name))
                .and_then(|v| v.as_array())
                .map(|items| items.iter().filter_map(|i| i.as_str().map(str::to_owned)).collect())
                .unwrap_or_default()
        };
        let metadata = object
            .get("metadata")
            .and_then(|m| m.as_object())
            .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
            .unwrap_or_default();
        Ok(ConnectedAccount {
            id,
            status: AccountStatus {
                charges_enabled: flag("charges_enabled"),
                payouts_enabled: flag("payouts_enabled"),
                details_submitted: flag("details_submitted"),
                requirements: Requirements {
                    currently_due: list("currently_due"),
                    past_due: list("past_due"),
                    disabled_reason: requirements
                        .and_then(|r| r.get("disabled_reason"))
                        .and_then(|v| v.as_str())
                        .map(str::to_owned),
                    current_deadline: requirements
                        .and_then(|r| r.get("current_deadline"))
                        .and_then(|v| v.as_i64())
                        .and_then(|at| chrono::DateTime::from_timestamp(at, 0)),
                },
            },
            metadata,
        })
    }
}

/// A place for a clinic location's card readers at the gateway (a Stripe Terminal Location).
#[derive(Debug, Clone, PartialEq)]
pub struct TerminalLocationRequest {
    /// The same key gives the same place: a retried request never makes a second one.
    pub idempotency_key: String,
    pub display_name: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub postal_code: String,
    /// ISO 3166 country (`GB`).
    pub country: String,
    /// Ids that tie it back to us (`tenant_id`, `location_id`).
    pub metadata: BTreeMap<String, String>,
}

/// A reader to register with the code it shows.
#[derive(Debug, Clone, PartialEq)]
pub struct ReaderRequest {
    pub registration_code: String,
    pub label: String,
    pub location: TerminalLocationId,
    pub metadata: BTreeMap<String, String>,
}

/// What a reader is doing (`action` of a Stripe Terminal Reader).
#[derive(Debug, Clone, PartialEq)]
pub struct ReaderAction {
    /// `process_payment_intent`, …
    pub kind: String,
    /// `in_progress`, `succeeded` or `failed`.
    pub status: String,
    pub payment_intent: Option<IntentId>,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
}

/// A card reader as the gateway reports it now.
#[derive(Debug, Clone, PartialEq)]
pub struct TerminalReader {
    pub id: ReaderId,
    pub label: String,
    pub location: Option<TerminalLocationId>,
    pub device_type: String,
    pub action: Option<ReaderAction>,
    pub metadata: BTreeMap<String, String>,
}

impl TerminalReader {
    /// Reads a Terminal Reader object as Stripe (or the simulated gateway) sends it.
    pub fn from_stripe_json(object: &serde_json::Value) -> Result<TerminalReader, String> {
        let text = |v: &serde_json::Value, name: &str| v.get(name).and_then(|v| v.as_str()).map(str::to_owned);
        let id = text(object, "id").ok_or("a Reader without an id")?;
        let id = ReaderId::parse(&id).map_err(|e| e.0)?;
        let action = object.get("action").filter(|a| a.is_object()).map(|a| {
            let kind = text(a, "type").unwrap_or_default();
            ReaderAction {
                payment_intent: a
                    .get(&kind)
                    .and_then(|detail| detail.get("payment_intent"))
                    .and_then(stripe_ref)
                    .and_then(|id| IntentId::parse(&id).ok()),
                status: text(a, "status").unwrap_or_default(),
                failure_code: text(a, "failure_code"),
                failure_message: text(a, "failure_message"),
                kind,
            }
        });
        let metadata = object
            .get("metadata")
            .and_then(|m| m.as_object())
            .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
            .unwrap_or_default();
        Ok(TerminalReader {
            id,
            label: text(object, "label").unwrap_or_default(),
            location: object.get("location").and_then(stripe_ref).and_then(|l| TerminalLocationId::parse(&l).ok()),
            device_type: text(object, "device_type").unwrap_or_default(),
            action,
            metadata,
        })
    }
}

/// Stripe's error code for a reader already doing something (another payment on it).
pub const READER_BUSY: &str = "terminal_reader_busy";
/// Stripe's error code for a reader that cannot be reached.
pub const READER_OFFLINE: &str = "terminal_reader_offline";

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PaymentsError {
    /// The card was declined or needs the client (an off-session charge that needs 3-D Secure).
    #[error("the payment was declined: {0}")]
    Declined(String),
    /// The gateway refused the request as such (an amount above what is refundable…).
    #[error("the payment gateway refused the request: {0}")]
    Refused(String),
    #[error("no such object at the payment gateway")]
    NotFound,
    /// The gateway could not be reached or failed; safe to retry with the same idempotency key.
    #[error("the payment gateway is unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait Payments: Send + Sync {
    /// `stripe` or `simulated`, for logs and the health of the local host.
    fn name(&self) -> &'static str;
    /// How a client's browser pays an intent of this gateway (the Payment Element), or `None`
    /// when this gateway was given no publishable key: then no card can be taken on a site.
    fn browser_checkout(&self) -> Option<BrowserCheckout> {
        None
    }
    /// A customer to keep a card on (one per client: the key makes a retry return the same one).
    async fn create_customer(&self, idempotency_key: &str) -> Result<CustomerId, PaymentsError>;
    /// Deletes a customer for good, with the cards kept on it (a client's erasure): no later
    /// charge can use them. `NotFound` when there is no such customer (deleted already): a
    /// caller that only wants it gone treats that as done.
    async fn delete_customer(&self, customer: &CustomerId) -> Result<(), PaymentsError>;
    async fn create_intent(&self, request: IntentRequest) -> Result<Intent, PaymentsError>;
    async fn retrieve_intent(&self, id: &IntentId) -> Result<Intent, PaymentsError>;
    async fn refund(&self, request: RefundRequest) -> Result<GatewayRefund, PaymentsError>;
    /// A hosted page where the client pays (the same key returns the same page).
    async fn create_payment_link(&self, request: PaymentLinkRequest) -> Result<PaymentLink, PaymentsError>;
    /// A hosted page as it stands now (`NotFound` for a page that is not this gateway's).
    async fn retrieve_payment_link(&self, id: &str) -> Result<PaymentLink, PaymentsError>;
    /// Stops a hosted page taking payment (Checkout's `expire`) and answers the page as it then
    /// stands: `Expired`, or `Complete` when the client paid it first. Expiring an expired page
    /// answers it as it is.
    async fn expire_payment_link(&self, id: &str) -> Result<PaymentLink, PaymentsError>;
    /// Whether online payments must go to a clinic's connected account (Stripe: always, so no
    /// clinic's money lands in the platform's account); the simulated gateway charges the
    /// platform for a clinic that has not connected, so the local demo works as it is.
    fn requires_connected_account(&self) -> bool;
    /// A new connected account for a clinic (the same key returns the same account).
    async fn create_connected_account(&self, request: AccountRequest) -> Result<ConnectedAccount, PaymentsError>;
    /// A connected account as it stands now (`NotFound` when it is not connected to us).
    async fn retrieve_connected_account(&self, id: &ConnectedAccountId) -> Result<ConnectedAccount, PaymentsError>;
    /// A fresh single-use link to the account's hosted onboarding form.
    async fn onboarding_link(&self, request: OnboardingRequest) -> Result<OnboardingLink, PaymentsError>;

    // Card readers at the desk (Stripe Terminal). A gateway without them refuses each call.

    /// A place for a clinic location's readers (the same key returns the same place).
    async fn create_terminal_location(
        &self,
        request: TerminalLocationRequest,
    ) -> Result<TerminalLocationId, PaymentsError> {
        let _ = request;
        Err(no_readers(self.name()))
    }
    /// Registers the reader showing `registration_code` at `location`.
    async fn register_reader(&self, request: ReaderRequest) -> Result<TerminalReader, PaymentsError> {
        let _ = request;
        Err(no_readers(self.name()))
    }
    /// Deletes a reader (`NotFound` when there is no such reader: gone already).
    async fn delete_reader(&self, reader: &ReaderId) -> Result<(), PaymentsError> {
        let _ = reader;
        Err(no_readers(self.name()))
    }
    /// A PaymentIntent for a card presented on a reader (`payment_method_types: [card_present]`,
    /// captured at once), with the request's metadata and destination.
    async fn create_present_intent(&self, request: IntentRequest) -> Result<Intent, PaymentsError> {
        let _ = request;
        Err(no_readers(self.name()))
    }
    /// Hands an intent to a reader, which asks for the card (`Refused` starting with
    /// [`READER_BUSY`] when it is doing something else).
    async fn process_payment_intent(
        &self,
        reader: &ReaderId,
        intent: &IntentId,
    ) -> Result<TerminalReader, PaymentsError> {
        let _ = (reader, intent);
        Err(no_readers(self.name()))
    }
    /// Stops what the reader is doing (the card has not been presented yet).
    async fn cancel_reader_action(&self, reader: &ReaderId) -> Result<TerminalReader, PaymentsError> {
        let _ = reader;
        Err(no_readers(self.name()))
    }
    /// Cancels an intent that has not succeeded (`Refused` when it has, or is cancelled).
    async fn cancel_intent(&self, intent: &IntentId) -> Result<Intent, PaymentsError> {
        let _ = intent;
        Err(no_readers(self.name()))
    }

    // Monthly subscriptions (memberships). A gateway without them refuses each call.

    /// A hosted sign-up page: the client pays the first month, and the subscription starts.
    async fn create_subscription_page(&self, request: SubscriptionPageRequest) -> Result<PaymentLink, PaymentsError> {
        let _ = request;
        Err(no_subscriptions(self.name()))
    }
    /// A subscription as it stands now (`NotFound` when it is not this gateway's).
    async fn retrieve_subscription(&self, id: &str) -> Result<Subscription, PaymentsError> {
        let _ = id;
        Err(no_subscriptions(self.name()))
    }
    /// Pauses collection (no charge, the subscription stays) or resumes it.
    async fn set_subscription_paused(&self, id: &str, paused: bool) -> Result<Subscription, PaymentsError> {
        let _ = (id, paused);
        Err(no_subscriptions(self.name()))
    }
    /// Cancels now, or when the month paid for ends. Cancelling a cancelled subscription
    /// answers it as it is.
    async fn cancel_subscription(&self, id: &str, at_period_end: bool) -> Result<Subscription, PaymentsError> {
        let _ = (id, at_period_end);
        Err(no_subscriptions(self.name()))
    }
}

fn no_subscriptions(gateway: &str) -> PaymentsError {
    PaymentsError::Refused(format!("subscriptions are not offered by the {gateway} payment gateway"))
}

fn no_readers(gateway: &str) -> PaymentsError {
    PaymentsError::Refused(format!("card readers are not offered by the {gateway} payment gateway"))
}

impl From<PaymentsError> for mas_domain::error::AppError {
    fn from(err: PaymentsError) -> Self {
        use mas_domain::error::{AppError, Rejection};
        match err {
            PaymentsError::Declined(why) => AppError::Rejected {
                kind: Rejection::Invalid,
                code: "payment_declined",
                message: "the card was declined or needs the client to confirm the payment".into(),
                details: serde_json::json!({ "reason": why }),
            },
            PaymentsError::Refused(why) => AppError::Rejected {
                kind: Rejection::Invalid,
                code: "payment_refused",
                message: "the payment gateway refused the request".into(),
                details: serde_json::json!({ "reason": why }),
            },
            PaymentsError::NotFound => AppError::NotFound { what: "payment intent" },
            unavailable @ PaymentsError::Unavailable(_) => AppError::backend("payment gateway")(unavailable),
        }
    }
}

/// The connected account a PaymentIntent pays (`transfer_data.destination`) and the platform's
/// fee on it (`application_fee_amount`), if it is a destination charge.
fn destination(object: &serde_json::Value) -> Option<ChargeDestination> {
    let account = object.pointer("/transfer_data/destination").and_then(stripe_ref)?;
    let fee = object.get("application_fee_amount").and_then(|v| v.as_i64()).unwrap_or(0);
    Some(ChargeDestination {
        account_id: ConnectedAccountId::parse(&account).ok()?,
        application_fee: MinorUnits::new(fee).ok()?,
    })
}

/// An id in a Stripe field that holds either the id or the expanded object.
pub fn stripe_ref(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(id) => Some(id.clone()),
        serde_json::Value::Object(object) => object.get("id").and_then(|id| id.as_str()).map(str::to_owned),
        _ => None,
    }
}

impl Intent {
    /// Reads a PaymentIntent object as Stripe (or localstripe, or our simulated gateway) sends
    /// it, tolerating the fields older API versions and emulators leave out.
    pub fn from_stripe_json(object: &serde_json::Value) -> Result<Intent, String> {
        use mas_domain::payment::IntentStatus;
        let text = |name: &str| object.get(name).and_then(|v| v.as_str());
        let id = IntentId::parse(text("id").ok_or("a PaymentIntent without an id")?).map_err(|e| e.0)?;
        let status = IntentStatus::parse(text("status").ok_or("a PaymentIntent without a status")?).map_err(|e| e.0)?;
        let amount = object.get("amount").and_then(|v| v.as_i64()).ok_or("a PaymentIntent without an amount")?;
        let error = object.get("last_payment_error").filter(|e| e.is_object());
        let last_error = error.and_then(|e| {
            ["decline_code", "code", "type"]
                .iter()
                .find_map(|field| e.get(*field).and_then(|v| v.as_str()).map(str::to_owned))
        });
        let metadata = object
            .get("metadata")
            .and_then(|m| m.as_object())
            .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
            .unwrap_or_default();
        Ok(Intent {
            id,
            client_secret: text("client_secret").map(|s| ClientSecret(s.to_owned())),
            currency: text("currency").unwrap_or_default().to_uppercase(),
            snapshot: IntentSnapshot {
                status,
                amount,
                amount_received: object.get("amount_received").and_then(|v| v.as_i64()),
                customer: object.get("customer").and_then(stripe_ref).and_then(|c| CustomerId::parse(&c).ok()),
                payment_method: object.get("payment_method").and_then(stripe_ref),
                last_error,
                destination: destination(object),
            },
            metadata,
        })
    }
}
