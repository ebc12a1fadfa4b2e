//! The payments port over Stripe's API, through `async-stripe` 1.0: its client (auth, API
//! version, idempotency keys, rustls on aws-lc-rs) and its request builders (form encoding).
//! Responses are read as plain JSON (`Intent::from_stripe_json`) rather than as the crate's
//! typed objects, which require every field of the newest API version: localstripe — our test
//! peer — and older account API versions leave some out.
//!
//! Stripe Connect: clinics' Express accounts (`POST /v1/accounts`), their onboarding links
//! (`POST /v1/account_links`) and status (`GET /v1/accounts/{id}`) are forms built here (the
//! crate's Connect builders live in a crate we do not compile). Charges are destination charges
//! (`on_behalf_of`, `transfer_data[destination]`, `application_fee_amount`); a refund of one
//! reverses its transfer and gives back the fee as the platform's policy says. localstripe knows
//! none of this, so the forms are unit-tested below.
//!
//! Stripe Terminal (card readers at the desk): async-stripe 1.0 has the Terminal endpoints only
//! in its generated `async-stripe-terminal` crate, which we do not compile (as for Checkout and
//! Connect above), so Terminal Locations (`POST /v1/terminal/locations`), readers (`POST
//! /v1/terminal/readers`, `DELETE …/{id}`), `process_payment_intent`, `cancel_action` and the
//! `card_present` intent are forms built here on the crate's request builder, sent by the same
//! client. localstripe has no Terminal at all: these forms are unit-tested, and the flows run on
//! the simulated gateway; nothing here has been called against Stripe's test mode.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use stripe::{Client, ClientBuilder, IdempotencyKey, RequestStrategy, StripeError, StripeRequest};
use stripe_client_core::{RequestBuilder, StripeMethod};
use stripe_core::customer::{CreateCustomer, DeleteCustomer};
use stripe_core::payment_intent::{
    CreatePaymentIntent, CreatePaymentIntentOffSession, CreatePaymentIntentTransferData, RetrievePaymentIntent,
};
use stripe_core::refund::CreateRefund;

use mas_domain::payment::{ChargeDestination, ConnectedAccountId, CustomerId, IntentId, ReaderId, TerminalLocationId};
use mas_domain::values::{Currency, MinorUnits};
use mas_ports::payments::{
    AccountRequest, BrowserCheckout, ConnectedAccount, GatewayRefund, Intent, IntentRequest, OnboardingLink,
    OnboardingRequest, PaymentLink, PaymentLinkRequest, Payments, PaymentsError, ReaderRequest, RefundRequest,
    STRIPE_JS_URL, Subscription, SubscriptionPageRequest, TerminalLocationRequest, TerminalReader,
    subscription_from_stripe_json,
};

/// Each attempt's budget: a webhook or a refund must not wait on Stripe for long.
const TIMEOUT: Duration = Duration::from_secs(10);

pub struct StripeGateway {
    client: Client,
    /// For the sites' Payment Element (`STRIPE_PUBLISHABLE_KEY`); none: no card on a site.
    publishable_key: Option<String>,
    /// A refund of a destination charge gives the platform's fee back in proportion
    /// (`MAS_REFUND_APPLICATION_FEE`; yes unless set otherwise).
    refund_application_fee: bool,
}

impl StripeGateway {
    /// A client with `secret_key`; `api_base` points it elsewhere (localstripe in tests).
    pub fn new(secret_key: &str, api_base: Option<&str>) -> Result<StripeGateway, PaymentsError> {
        let mut builder = ClientBuilder::new(secret_key)
            .app_info("master-aesthetics-suite", Some(env!("CARGO_PKG_VERSION").into()), None)
            .timeout(TIMEOUT);
        if let Some(base) = api_base {
            let base = if base.ends_with('/') { base.to_owned() } else { format!("{base}/") };
            builder = builder.url(base);
        }
        let client = builder.build().map_err(|e| PaymentsError::Unavailable(format!("Stripe client: {e}")))?;
        Ok(StripeGateway { client, publishable_key: None, refund_application_fee: true })
    }

    /// Whether refunding a destination charge gives back the platform's application fee on the
    /// part refunded (`true`, the default) or the platform keeps it (`false`).
    pub fn with_refund_application_fee(mut self, refund: bool) -> StripeGateway {
        self.refund_application_fee = refund;
        self
    }

    /// The account's publishable key (`pk_live_…`/`pk_test_…`), which the sites' Payment
    /// Element starts Stripe.js with; anything else is refused, so a secret key put here by
    /// mistake never reaches a browser.
    pub fn with_publishable_key(mut self, key: &str) -> Result<StripeGateway, PaymentsError> {
        let key = key.trim();
        let well_formed = ["pk_live_", "pk_test_"].iter().any(|prefix| {
            key.strip_prefix(prefix)
                .is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric()))
        });
        if !well_formed {
            return Err(PaymentsError::Refused("a Stripe publishable key starts pk_live_ or pk_test_".into()));
        }
        self.publishable_key = Some(key.to_owned());
        Ok(self)
    }

    /// Sends one request (with `key` as its idempotency key) and reads the answer as JSON.
    async fn send(&self, request: &impl StripeRequest, key: Option<&str>) -> Result<Value, PaymentsError> {
        self.send_built(request.build(), key).await
    }

    /// `send` for a request built here (the Checkout Session calls, whose generated builders
    /// live in a crate of their own that we do not compile).
    async fn send_built(&self, request: RequestBuilder, key: Option<&str>) -> Result<Value, PaymentsError> {
        let strategy = match key {
            Some(key) => RequestStrategy::Idempotent(
                IdempotencyKey::new(key).map_err(|e| PaymentsError::Refused(format!("idempotency key: {e}")))?,
            ),
            None => RequestStrategy::Retry(2),
        };
        let answer: miniserde::json::Value = request
            .customize::<miniserde::json::Value>()
            .request_strategy(strategy)
            .send(&self.client)
            .await
            .map_err(classify)?;
        serde_json::from_str(&miniserde::json::to_string(&answer))
            .map_err(|e| PaymentsError::Unavailable(format!("unreadable Stripe answer: {e}")))
    }
}

/// Card problems (`card_error`, or Stripe's 402 "request failed") are declines; other 4xx
/// refusals; 404 not found; anything else may pass with time.
fn classify(err: StripeError) -> PaymentsError {
    match err {
        StripeError::Stripe(api, status) => {
            let why = api.message.clone().unwrap_or_else(|| api.type_.as_str().to_owned());
            match (api.type_.as_str(), status) {
                ("card_error", _) | (_, 402) => {
                    let code = api.decline_code.clone().or(api.code.as_ref().map(|c| c.as_str().to_owned()));
                    PaymentsError::Declined(code.unwrap_or(why))
                }
                (_, 404) => PaymentsError::NotFound,
                (_, 400..=403 | 405..=428 | 430..=499) => match api.code.as_ref().map(|c| c.as_str().to_owned()) {
                    // The reader's own refusals (`terminal_reader_busy`, `…_offline`) keep their
                    // code in front, for the desk to tell them apart.
                    Some(code) if code.starts_with("terminal_reader") => {
                        PaymentsError::Refused(format!("{code}: {why}"))
                    }
                    _ => PaymentsError::Refused(why),
                },
                _ => PaymentsError::Unavailable(format!("Stripe answered {status}: {why}")),
            }
        }
        other => PaymentsError::Unavailable(other.to_string()),
    }
}

/// A Checkout Session id as Stripe makes them (anything else cannot be one, so is not asked for).
fn is_session_id(id: &str) -> bool {
    id.starts_with("cs_") && id.len() <= 255 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn read_link(value: &Value) -> Result<PaymentLink, PaymentsError> {
    PaymentLink::from_stripe_json(value)
        .map_err(|e| PaymentsError::Unavailable(format!("unreadable Checkout Session: {e}")))
}

/// `POST /v1/checkout/sessions`, as Stripe reads its form: one line for the amount (a monthly
/// price made on the line in `subscription` mode: `price_data[recurring][interval]=month`, so no
/// Price object to keep in step with a plan), our ids on the session, the page's expiry, and
/// what the mode passes on: `payment_intent_data` to the intent a payment page makes, or
/// `subscription_data` to the subscription a sign-up page starts.
#[derive(serde::Serialize)]
struct CheckoutSessionForm<'a, ModeData> {
    mode: &'static str,
    line_items: [LineItem<'a>; 1],
    success_url: &'a str,
    cancel_url: &'a str,
    expires_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer: Option<&'a str>,
    metadata: &'a BTreeMap<String, String>,
    #[serde(flatten)]
    mode_data: ModeData,
}

#[derive(serde::Serialize)]
struct LineItem<'a> {
    quantity: u32,
    price_data: PriceData<'a>,
}

#[derive(serde::Serialize)]
struct PriceData<'a> {
    currency: String,
    unit_amount: i64,
    product_data: ProductData<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    recurring: Option<Recurring>,
}

#[derive(serde::Serialize)]
struct ProductData<'a> {
    name: &'a str,
}

#[derive(serde::Serialize)]
struct Recurring {
    interval: &'static str,
}

/// The one line of a page: `amount` of `currency`, named `name`; monthly when `recurring`.
fn line_item<'a>(name: &'a str, amount: MinorUnits, currency: &Currency, recurring: bool) -> [LineItem<'a>; 1] {
    [LineItem {
        quantity: 1,
        price_data: PriceData {
            currency: currency.as_str().to_lowercase(),
            unit_amount: amount.get(),
            product_data: ProductData { name },
            recurring: recurring.then_some(Recurring { interval: "month" }),
        },
    }]
}

#[derive(serde::Serialize)]
struct PaymentMode<'a> {
    payment_intent_data: IntentData<'a>,
}

#[derive(serde::Serialize)]
struct SubscriptionMode<'a> {
    subscription_data: SubscriptionData<'a>,
}

#[derive(serde::Serialize)]
struct IntentData<'a> {
    description: &'a str,
    metadata: &'a BTreeMap<String, String>,
    #[serde(flatten)]
    destination: DestinationFields<'a>,
}

/// A destination charge's fields on an intent's form (none for the platform's own charge): the
/// clinic is the merchant of record, the money goes to its account, less the platform's fee.
#[derive(serde::Serialize)]
struct DestinationFields<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    on_behalf_of: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    transfer_data: Option<TransferData<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    application_fee_amount: Option<i64>,
}

impl<'a> DestinationFields<'a> {
    fn of(destination: Option<&'a ChargeDestination>) -> Self {
        DestinationFields {
            on_behalf_of: destination.map(|d| d.account_id.as_str()),
            transfer_data: destination.map(|d| TransferData { destination: d.account_id.as_str() }),
            application_fee_amount: destination.map(|d| d.application_fee.get()),
        }
    }
}

fn checkout_session(request: &PaymentLinkRequest) -> RequestBuilder {
    let form = CheckoutSessionForm {
        mode: "payment",
        line_items: line_item(&request.description, request.amount, &request.currency, false),
        success_url: &request.success_url,
        cancel_url: &request.cancel_url,
        expires_at: request.expires_at.timestamp(),
        customer: request.customer.as_ref().map(CustomerId::as_str),
        metadata: &request.metadata,
        mode_data: PaymentMode {
            payment_intent_data: IntentData {
                description: &request.description,
                metadata: &request.metadata,
                destination: DestinationFields::of(request.destination.as_ref()),
            },
        },
    };
    RequestBuilder::new(StripeMethod::Post, "/checkout/sessions").form(&form)
}

#[derive(serde::Serialize)]
struct SubscriptionData<'a> {
    description: &'a str,
    metadata: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    on_behalf_of: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    transfer_data: Option<TransferData<'a>>,
    /// Subscriptions take the platform's fee as a percentage of each invoice.
    #[serde(skip_serializing_if = "Option::is_none")]
    application_fee_percent: Option<String>,
}

/// The platform's fee on a destination as a percentage of `amount`, to two decimals (Stripe's
/// precision for `application_fee_percent`).
fn fee_percent(destination: &ChargeDestination, amount: i64) -> String {
    let basis_points = (destination.application_fee.get() * 10_000 + amount / 2) / amount.max(1);
    format!("{}.{:02}", basis_points / 100, basis_points % 100)
}

fn subscription_session(request: &SubscriptionPageRequest) -> RequestBuilder {
    let destination = request.destination.as_ref();
    let form = CheckoutSessionForm {
        mode: "subscription",
        line_items: line_item(&request.name, request.amount, &request.currency, true),
        success_url: &request.success_url,
        cancel_url: &request.cancel_url,
        expires_at: request.expires_at.timestamp(),
        customer: request.customer.as_ref().map(CustomerId::as_str),
        metadata: &request.metadata,
        mode_data: SubscriptionMode {
            subscription_data: SubscriptionData {
                description: &request.name,
                metadata: &request.metadata,
                on_behalf_of: destination.map(|d| d.account_id.as_str()),
                transfer_data: destination.map(|d| TransferData { destination: d.account_id.as_str() }),
                application_fee_percent: destination.map(|d| fee_percent(d, request.amount.get())),
            },
        },
    };
    RequestBuilder::new(StripeMethod::Post, "/checkout/sessions").form(&form)
}

/// `POST /v1/subscriptions/{id}`: pause collection (`pause_collection[behavior]=void`: no
/// invoice is charged while paused) or resume it (an empty `pause_collection`).
fn pause_request(id: &str, paused: bool) -> RequestBuilder {
    #[derive(serde::Serialize)]
    struct Behavior {
        behavior: &'static str,
    }
    #[derive(serde::Serialize)]
    struct Pause {
        pause_collection: Behavior,
    }
    #[derive(serde::Serialize)]
    struct Resume {
        pause_collection: &'static str,
    }
    let builder = RequestBuilder::new(StripeMethod::Post, format!("/subscriptions/{id}"));
    if paused {
        builder.form(&Pause { pause_collection: Behavior { behavior: "void" } })
    } else {
        builder.form(&Resume { pause_collection: "" })
    }
}

/// Cancels at once (`DELETE /v1/subscriptions/{id}`) or when the month paid for ends.
fn cancel_request(id: &str, at_period_end: bool) -> RequestBuilder {
    if at_period_end {
        #[derive(serde::Serialize)]
        struct AtPeriodEnd {
            cancel_at_period_end: bool,
        }
        RequestBuilder::new(StripeMethod::Post, format!("/subscriptions/{id}"))
            .form(&AtPeriodEnd { cancel_at_period_end: true })
    } else {
        RequestBuilder::new(StripeMethod::Delete, format!("/subscriptions/{id}"))
    }
}

fn is_subscription_id(id: &str) -> bool {
    id.strip_prefix("sub_").is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric()))
}

fn read_subscription(value: &Value) -> Result<Subscription, PaymentsError> {
    subscription_from_stripe_json(value)
        .map_err(|e| PaymentsError::Unavailable(format!("unreadable Subscription: {e}")))
}

/// The connected account and fee of a destination charge, as a Checkout Session passes them to
/// the intent its page makes.
#[derive(serde::Serialize)]
struct TransferData<'a> {
    destination: &'a str,
}

/// `POST /v1/payment_intents`: our ids, the customer and saved card, and for a clinic's
/// connected account a destination charge on its behalf with the platform's fee.
fn create_intent_request(request: &IntentRequest) -> CreatePaymentIntent {
    let mut create = CreatePaymentIntent::new(request.amount.get(), currency(request.currency.as_str()))
        .metadata(metadata(&request.metadata));
    if let Some(customer) = &request.customer {
        create = create.customer(customer.as_str());
    }
    if request.save_for_later {
        create = create.setup_future_usage(stripe_shared::PaymentIntentSetupFutureUsage::OffSession);
    }
    if let Some(method) = &request.charge_saved_method {
        create =
            create.payment_method(method.as_str()).confirm(true).off_session(CreatePaymentIntentOffSession::Bool(true));
    }
    if let Some(ChargeDestination { account_id, application_fee }) = &request.destination {
        create = create
            .on_behalf_of(account_id.as_str())
            .transfer_data(CreatePaymentIntentTransferData::new(account_id.as_str()))
            .application_fee_amount(application_fee.get());
    }
    create
}

/// `POST /v1/refunds` of `request`; for a destination charge (`connected`), the transfer is
/// reversed (the money comes back from the clinic's account) and the fee given back as `fee_back`
/// says.
fn create_refund_request(request: &RefundRequest, connected: bool, fee_back: bool) -> CreateRefund {
    let mut create = CreateRefund::new()
        .payment_intent(request.intent.as_str())
        .amount(request.amount.get())
        .metadata(metadata(&request.metadata));
    if connected {
        create = create.reverse_transfer(true).refund_application_fee(fee_back);
    }
    create
}

/// `POST /v1/accounts`: an Express account (Stripe hosts its onboarding and dashboard) that may
/// take card payments on its own behalf and receive transfers.
#[derive(serde::Serialize)]
struct AccountForm<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    country: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    capabilities: Capabilities,
    metadata: &'a BTreeMap<String, String>,
}

#[derive(serde::Serialize)]
struct Capabilities {
    card_payments: Requested,
    transfers: Requested,
}

#[derive(serde::Serialize)]
struct Requested {
    requested: bool,
}

fn create_account_request(request: &AccountRequest) -> RequestBuilder {
    let form = AccountForm {
        kind: "express",
        country: &request.country,
        email: request.email.as_deref(),
        capabilities: Capabilities {
            card_payments: Requested { requested: true },
            transfers: Requested { requested: true },
        },
        metadata: &request.metadata,
    };
    RequestBuilder::new(StripeMethod::Post, "/accounts").form(&form)
}

/// `POST /v1/account_links` for the account's onboarding form.
#[derive(serde::Serialize)]
struct AccountLinkForm<'a> {
    account: &'a str,
    refresh_url: &'a str,
    return_url: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
}

fn account_link_request(request: &OnboardingRequest) -> RequestBuilder {
    let form = AccountLinkForm {
        account: request.account.as_str(),
        refresh_url: &request.refresh_url,
        return_url: &request.return_url,
        kind: "account_onboarding",
    };
    RequestBuilder::new(StripeMethod::Post, "/account_links").form(&form)
}

/// `POST /v1/terminal/locations`: the place a clinic location's readers are registered at.
#[derive(serde::Serialize)]
struct TerminalLocationForm<'a> {
    display_name: &'a str,
    address: TerminalAddress<'a>,
    metadata: &'a BTreeMap<String, String>,
}

#[derive(serde::Serialize)]
struct TerminalAddress<'a> {
    line1: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    line2: Option<&'a str>,
    city: &'a str,
    postal_code: &'a str,
    country: &'a str,
}

fn terminal_location_request(request: &TerminalLocationRequest) -> RequestBuilder {
    let form = TerminalLocationForm {
        display_name: &request.display_name,
        address: TerminalAddress {
            line1: &request.line1,
            line2: request.line2.as_deref(),
            city: &request.city,
            postal_code: &request.postal_code,
            country: &request.country,
        },
        metadata: &request.metadata,
    };
    RequestBuilder::new(StripeMethod::Post, "/terminal/locations").form(&form)
}

/// `POST /v1/terminal/readers`: the reader showing the code, at the location.
#[derive(serde::Serialize)]
struct ReaderForm<'a> {
    registration_code: &'a str,
    label: &'a str,
    location: &'a str,
    metadata: &'a BTreeMap<String, String>,
}

fn register_reader_request(request: &ReaderRequest) -> RequestBuilder {
    let form = ReaderForm {
        registration_code: &request.registration_code,
        label: &request.label,
        location: request.location.as_str(),
        metadata: &request.metadata,
    };
    RequestBuilder::new(StripeMethod::Post, "/terminal/readers").form(&form)
}

/// `POST /v1/payment_intents` for a card presented on a reader: `card_present`, captured at
/// once, and for a clinic's connected account a destination charge with the platform's fee.
#[derive(serde::Serialize)]
struct PresentIntentForm<'a> {
    amount: i64,
    currency: String,
    payment_method_types: [&'static str; 1],
    capture_method: &'static str,
    metadata: &'a BTreeMap<String, String>,
    #[serde(flatten)]
    destination: DestinationFields<'a>,
}

fn present_intent_request(request: &IntentRequest) -> RequestBuilder {
    let form = PresentIntentForm {
        amount: request.amount.get(),
        currency: request.currency.as_str().to_lowercase(),
        payment_method_types: ["card_present"],
        capture_method: "automatic",
        metadata: &request.metadata,
        destination: DestinationFields::of(request.destination.as_ref()),
    };
    RequestBuilder::new(StripeMethod::Post, "/payment_intents").form(&form)
}

#[derive(serde::Serialize)]
struct ProcessForm<'a> {
    payment_intent: &'a str,
}

fn process_request(reader: &ReaderId, intent: &IntentId) -> RequestBuilder {
    RequestBuilder::new(StripeMethod::Post, format!("/terminal/readers/{reader}/process_payment_intent"))
        .form(&ProcessForm { payment_intent: intent.as_str() })
}

fn read_reader(value: &Value) -> Result<TerminalReader, PaymentsError> {
    TerminalReader::from_stripe_json(value).map_err(|e| PaymentsError::Unavailable(format!("unreadable Reader: {e}")))
}

fn read_account(value: &Value) -> Result<ConnectedAccount, PaymentsError> {
    ConnectedAccount::from_stripe_json(value)
        .map_err(|e| PaymentsError::Unavailable(format!("unreadable Account: {e}")))
}

fn read_intent(value: &Value) -> Result<Intent, PaymentsError> {
    Intent::from_stripe_json(value).map_err(|e| PaymentsError::Unavailable(format!("unreadable PaymentIntent: {e}")))
}

fn currency(code: &str) -> stripe_types::Currency {
    code.to_lowercase().parse().unwrap_or_else(|never: std::convert::Infallible| match never {})
}

fn metadata(map: &BTreeMap<String, String>) -> std::collections::HashMap<String, String> {
    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

#[async_trait]
impl Payments for StripeGateway {
    fn name(&self) -> &'static str {
        "stripe"
    }

    fn browser_checkout(&self) -> Option<BrowserCheckout> {
        let publishable_key = self.publishable_key.clone()?;
        Some(BrowserCheckout { publishable_key, js_url: STRIPE_JS_URL.to_owned() })
    }

    async fn create_customer(&self, idempotency_key: &str) -> Result<CustomerId, PaymentsError> {
        let answer = self.send(&CreateCustomer::new(), Some(idempotency_key)).await?;
        let id = answer.get("id").and_then(Value::as_str).unwrap_or_default();
        CustomerId::parse(id).map_err(|e| PaymentsError::Unavailable(format!("unreadable customer: {}", e.0)))
    }

    async fn delete_customer(&self, customer: &CustomerId) -> Result<(), PaymentsError> {
        // A DELETE is idempotent at Stripe by nature (a second one is 404): no key needed.
        let answer = self.send(&DeleteCustomer::new(customer.as_str()), None).await?;
        match answer.get("deleted").and_then(Value::as_bool) {
            Some(true) => Ok(()),
            _ => Err(PaymentsError::Unavailable("Stripe did not confirm the customer's deletion".into())),
        }
    }

    async fn create_intent(&self, request: IntentRequest) -> Result<Intent, PaymentsError> {
        let answer = self.send(&create_intent_request(&request), Some(&request.idempotency_key)).await?;
        read_intent(&answer)
    }

    async fn retrieve_intent(&self, id: &IntentId) -> Result<Intent, PaymentsError> {
        let answer = self.send(&RetrievePaymentIntent::new(id.as_str()), None).await?;
        read_intent(&answer)
    }

    async fn refund(&self, request: RefundRequest) -> Result<GatewayRefund, PaymentsError> {
        // The refund follows the charge: a destination charge's comes back from the clinic.
        let charge = self.send(&RetrievePaymentIntent::new(request.intent.as_str()), None).await?;
        let connected = read_intent(&charge)?.snapshot.destination.is_some();
        let create = create_refund_request(&request, connected, self.refund_application_fee);
        let answer = self.send(&create, Some(&request.idempotency_key)).await?;
        Ok(GatewayRefund {
            id: answer.get("id").and_then(Value::as_str).unwrap_or_default().to_owned(),
            amount: answer.get("amount").and_then(Value::as_i64).unwrap_or(request.amount.get()),
            status: answer.get("status").and_then(Value::as_str).unwrap_or("succeeded").to_owned(),
        })
    }

    async fn create_payment_link(&self, request: PaymentLinkRequest) -> Result<PaymentLink, PaymentsError> {
        let answer = self.send_built(checkout_session(&request), Some(&request.idempotency_key)).await?;
        read_link(&answer)
    }

    async fn retrieve_payment_link(&self, id: &str) -> Result<PaymentLink, PaymentsError> {
        if !is_session_id(id) {
            return Err(PaymentsError::NotFound);
        }
        let answer =
            self.send_built(RequestBuilder::new(StripeMethod::Get, format!("/checkout/sessions/{id}")), None).await?;
        read_link(&answer)
    }

    async fn expire_payment_link(&self, id: &str) -> Result<PaymentLink, PaymentsError> {
        if !is_session_id(id) {
            return Err(PaymentsError::NotFound);
        }
        let expire = RequestBuilder::new(StripeMethod::Post, format!("/checkout/sessions/{id}/expire"));
        match self.send_built(expire, None).await {
            Ok(answer) => read_link(&answer),
            // Stripe expires only an open page: a paid or expired one is answered as it stands.
            Err(PaymentsError::Refused(_)) => self.retrieve_payment_link(id).await,
            Err(other) => Err(other),
        }
    }

    fn requires_connected_account(&self) -> bool {
        true
    }

    async fn create_subscription_page(&self, request: SubscriptionPageRequest) -> Result<PaymentLink, PaymentsError> {
        let answer = self.send_built(subscription_session(&request), Some(&request.idempotency_key)).await?;
        read_link(&answer)
    }

    async fn retrieve_subscription(&self, id: &str) -> Result<Subscription, PaymentsError> {
        if !is_subscription_id(id) {
            return Err(PaymentsError::NotFound);
        }
        let answer =
            self.send_built(RequestBuilder::new(StripeMethod::Get, format!("/subscriptions/{id}")), None).await?;
        read_subscription(&answer)
    }

    async fn set_subscription_paused(&self, id: &str, paused: bool) -> Result<Subscription, PaymentsError> {
        if !is_subscription_id(id) {
            return Err(PaymentsError::NotFound);
        }
        read_subscription(&self.send_built(pause_request(id, paused), None).await?)
    }

    async fn cancel_subscription(&self, id: &str, at_period_end: bool) -> Result<Subscription, PaymentsError> {
        if !is_subscription_id(id) {
            return Err(PaymentsError::NotFound);
        }
        match self.send_built(cancel_request(id, at_period_end), None).await {
            Ok(answer) => read_subscription(&answer),
            // Stripe refuses to cancel a cancelled subscription: answer it as it stands.
            Err(PaymentsError::Refused(_)) => self.retrieve_subscription(id).await,
            Err(other) => Err(other),
        }
    }

    async fn create_connected_account(&self, request: AccountRequest) -> Result<ConnectedAccount, PaymentsError> {
        let answer = self.send_built(create_account_request(&request), Some(&request.idempotency_key)).await?;
        read_account(&answer)
    }

    async fn retrieve_connected_account(&self, id: &ConnectedAccountId) -> Result<ConnectedAccount, PaymentsError> {
        let answer = self.send_built(RequestBuilder::new(StripeMethod::Get, format!("/accounts/{id}")), None).await?;
        read_account(&answer)
    }

    async fn create_terminal_location(
        &self,
        request: TerminalLocationRequest,
    ) -> Result<TerminalLocationId, PaymentsError> {
        let answer = self.send_built(terminal_location_request(&request), Some(&request.idempotency_key)).await?;
        let id = answer.get("id").and_then(Value::as_str).unwrap_or_default();
        TerminalLocationId::parse(id).map_err(|e| PaymentsError::Unavailable(format!("unreadable Location: {}", e.0)))
    }

    async fn register_reader(&self, request: ReaderRequest) -> Result<TerminalReader, PaymentsError> {
        // A registration code is single-use at Stripe: a retry is refused rather than doubled.
        read_reader(&self.send_built(register_reader_request(&request), None).await?)
    }

    async fn delete_reader(&self, reader: &ReaderId) -> Result<(), PaymentsError> {
        let path = format!("/terminal/readers/{reader}");
        self.send_built(RequestBuilder::new(StripeMethod::Delete, path), None).await.map(drop)
    }

    async fn create_present_intent(&self, request: IntentRequest) -> Result<Intent, PaymentsError> {
        read_intent(&self.send_built(present_intent_request(&request), Some(&request.idempotency_key)).await?)
    }

    async fn process_payment_intent(
        &self,
        reader: &ReaderId,
        intent: &IntentId,
    ) -> Result<TerminalReader, PaymentsError> {
        read_reader(&self.send_built(process_request(reader, intent), None).await?)
    }

    async fn cancel_reader_action(&self, reader: &ReaderId) -> Result<TerminalReader, PaymentsError> {
        let path = format!("/terminal/readers/{reader}/cancel_action");
        read_reader(&self.send_built(RequestBuilder::new(StripeMethod::Post, path), None).await?)
    }

    async fn cancel_intent(&self, intent: &IntentId) -> Result<Intent, PaymentsError> {
        let path = format!("/payment_intents/{intent}/cancel");
        read_intent(&self.send_built(RequestBuilder::new(StripeMethod::Post, path), None).await?)
    }

    async fn onboarding_link(&self, request: OnboardingRequest) -> Result<OnboardingLink, PaymentsError> {
        // Account Links are single-use and short-lived: each ask makes a new one.
        let answer = self.send_built(account_link_request(&request), None).await?;
        let url = answer.get("url").and_then(Value::as_str).filter(|u| u.starts_with("https://"));
        let expires_at =
            answer.get("expires_at").and_then(Value::as_i64).and_then(|at| chrono::DateTime::from_timestamp(at, 0));
        match (url, expires_at) {
            (Some(url), Some(expires_at)) => Ok(OnboardingLink { url: url.to_owned(), expires_at }),
            _ => Err(PaymentsError::Unavailable("unreadable Account Link".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mas_domain::values::{Currency, MinorUnits};

    /// localstripe has no Checkout Sessions, so the form Stripe reads is checked here.
    #[test]
    fn a_payment_link_is_a_checkout_session_in_payment_mode_with_our_ids_on_it_and_on_its_intent() {
        let metadata =
            BTreeMap::from([("link_id".to_owned(), "lnk_1".to_owned()), ("tenant_id".to_owned(), "ten_1".to_owned())]);
        let request = PaymentLinkRequest {
            amount: MinorUnits::new(16000).unwrap(),
            currency: Currency::gbp(),
            description: "Balance for Profhilo, BK-12345678".into(),
            metadata,
            idempotency_key: "lnk_1-session".into(),
            customer: Some(CustomerId::parse("cus_abc").unwrap()),
            success_url: "https://glow.example/?payment=done".into(),
            cancel_url: "https://glow.example/".into(),
            expires_at: chrono::DateTime::from_timestamp(1_900_000_000, 0).unwrap(),
            destination: None,
        };
        let built = checkout_session(&request);
        assert!(matches!(built.method, StripeMethod::Post));
        assert_eq!(built.path, "/checkout/sessions");
        let body = built.body.unwrap().replace("%5B", "[").replace("%5D", "]");
        let fields: std::collections::BTreeSet<&str> = body.split('&').collect();
        for expected in [
            "mode=payment",
            "line_items[0][quantity]=1",
            "line_items[0][price_data][currency]=gbp",
            "line_items[0][price_data][unit_amount]=16000",
            "expires_at=1900000000",
            "customer=cus_abc",
            "metadata[link_id]=lnk_1",
            "metadata[tenant_id]=ten_1",
            "payment_intent_data[metadata][link_id]=lnk_1",
            "payment_intent_data[metadata][tenant_id]=ten_1",
        ] {
            assert!(fields.contains(expected), "{expected} missing from {body}");
        }
        assert!(body.contains("success_url=https"), "{body}");
    }

    /// The form as Stripe reads it, brackets unescaped, one field per entry.
    fn fields(built: RequestBuilder) -> std::collections::BTreeSet<String> {
        let body = built.body.expect("a form body");
        let body = body.replace("%5B", "[").replace("%5D", "]").replace("%3A", ":").replace("%2F", "/");
        body.split('&').map(str::to_owned).collect()
    }

    fn glow() -> ChargeDestination {
        ChargeDestination {
            account_id: ConnectedAccountId::parse("acct_1Glow").unwrap(),
            application_fee: MinorUnits::new(100).unwrap(),
        }
    }

    /// localstripe has no connected accounts (it refuses `transfer_data`), so the forms are here.
    #[test]
    fn a_clinics_intent_is_a_destination_charge_on_its_behalf_with_the_platforms_fee() {
        let request = IntentRequest {
            amount: MinorUnits::new(4000).unwrap(),
            currency: Currency::gbp(),
            metadata: BTreeMap::from([("tenant_id".to_owned(), "ten_1".to_owned())]),
            idempotency_key: "pay_1-intent".into(),
            customer: None,
            save_for_later: false,
            charge_saved_method: None,
            destination: Some(glow()),
        };
        let form = fields(create_intent_request(&request).build());
        for expected in [
            "amount=4000",
            "currency=gbp",
            "on_behalf_of=acct_1Glow",
            "transfer_data[destination]=acct_1Glow",
            "application_fee_amount=100",
            "metadata[tenant_id]=ten_1",
        ] {
            assert!(form.contains(expected), "{expected} missing from {form:?}");
        }
        let platform = fields(create_intent_request(&IntentRequest { destination: None, ..request }).build());
        assert!(!platform.iter().any(|f| f.contains("transfer_data") || f.contains("application_fee")), "{platform:?}");
    }

    /// localstripe has no Terminal, so the forms are here.
    #[test]
    fn a_desk_card_payment_is_a_card_present_destination_charge_handed_to_a_registered_reader() {
        let request = IntentRequest {
            amount: MinorUnits::new(14598).unwrap(),
            currency: Currency::gbp(),
            metadata: BTreeMap::from([("tenant_id".to_owned(), "ten_1".to_owned())]),
            idempotency_key: "dpy_1-intent".into(),
            customer: None,
            save_for_later: false,
            charge_saved_method: None,
            destination: Some(glow()),
        };
        let built = present_intent_request(&request);
        assert_eq!(built.path, "/payment_intents");
        let form = fields(built);
        for expected in [
            "amount=14598",
            "currency=gbp",
            "payment_method_types[0]=card_present",
            "capture_method=automatic",
            "on_behalf_of=acct_1Glow",
            "transfer_data[destination]=acct_1Glow",
            "application_fee_amount=100",
            "metadata[tenant_id]=ten_1",
        ] {
            assert!(form.contains(expected), "{expected} missing from {form:?}");
        }
        let place = TerminalLocationRequest {
            idempotency_key: "termloc-1".into(),
            display_name: "Mayfair".into(),
            line1: "1 Mount Street".into(),
            line2: None,
            city: "London".into(),
            postal_code: "W1K 3NB".into(),
            country: "GB".into(),
            metadata: BTreeMap::new(),
        };
        let form = fields(terminal_location_request(&place));
        assert!(form.contains("address[country]=GB") && form.contains("display_name=Mayfair"), "{form:?}");
        let reader = ReaderRequest {
            registration_code: "simulated-wpe".into(),
            label: "Front desk".into(),
            location: TerminalLocationId::parse("tml_1").unwrap(),
            metadata: BTreeMap::new(),
        };
        let form = fields(register_reader_request(&reader));
        assert!(form.contains("registration_code=simulated-wpe") && form.contains("location=tml_1"), "{form:?}");
        let built = process_request(&ReaderId::parse("tmr_1").unwrap(), &IntentId::parse("pi_1").unwrap());
        assert_eq!(built.path, "/terminal/readers/tmr_1/process_payment_intent");
        assert!(fields(built).contains("payment_intent=pi_1"));
    }

    #[test]
    fn a_refund_of_a_destination_charge_takes_the_money_back_from_the_clinic_and_the_fee_as_the_policy_says() {
        let request = RefundRequest {
            intent: IntentId::parse("pi_1").unwrap(),
            amount: MinorUnits::new(1500).unwrap(),
            idempotency_key: "rfd-1".into(),
            metadata: BTreeMap::new(),
        };
        let connected = fields(create_refund_request(&request, true, true).build());
        assert!(connected.contains("reverse_transfer=true") && connected.contains("refund_application_fee=true"));
        assert!(connected.contains("payment_intent=pi_1") && connected.contains("amount=1500"), "{connected:?}");
        let kept = fields(create_refund_request(&request, true, false).build());
        assert!(kept.contains("refund_application_fee=false"), "{kept:?}");
        let platform = fields(create_refund_request(&request, false, true).build());
        assert!(!platform.iter().any(|f| f.contains("reverse_transfer") || f.contains("application_fee")));
    }

    #[test]
    fn a_payment_links_intent_goes_to_the_clinics_account_with_the_fee() {
        let request = PaymentLinkRequest {
            amount: MinorUnits::new(16000).unwrap(),
            currency: Currency::gbp(),
            description: "Balance".into(),
            metadata: BTreeMap::new(),
            idempotency_key: "lnk_1-session".into(),
            customer: None,
            success_url: "https://glow.example/?payment=done".into(),
            cancel_url: "https://glow.example/".into(),
            expires_at: chrono::DateTime::from_timestamp(1_900_000_000, 0).unwrap(),
            destination: Some(glow()),
        };
        let form = fields(checkout_session(&request));
        for expected in [
            "payment_intent_data[on_behalf_of]=acct_1Glow",
            "payment_intent_data[transfer_data][destination]=acct_1Glow",
            "payment_intent_data[application_fee_amount]=100",
        ] {
            assert!(form.contains(expected), "{expected} missing from {form:?}");
        }
    }

    /// localstripe has no Checkout Sessions, so the sign-up page's form is checked here.
    #[test]
    fn a_membership_sign_up_page_is_a_monthly_checkout_session_paying_the_clinic_less_the_fee() {
        let request = SubscriptionPageRequest {
            name: "Glow club".into(),
            amount: MinorUnits::new(4900).unwrap(),
            currency: Currency::gbp(),
            metadata: BTreeMap::from([("membership_id".to_owned(), "mem_1".to_owned())]),
            idempotency_key: "mem_1-signup".into(),
            customer: Some(CustomerId::parse("cus_abc").unwrap()),
            success_url: "https://glow.example/?joined".into(),
            cancel_url: "https://glow.example/".into(),
            expires_at: chrono::DateTime::from_timestamp(1_900_000_000, 0).unwrap(),
            destination: Some(glow()),
        };
        let form = fields(subscription_session(&request));
        for expected in [
            "mode=subscription",
            "line_items[0][price_data][unit_amount]=4900",
            "line_items[0][price_data][recurring][interval]=month",
            "line_items[0][price_data][product_data][name]=Glow+club",
            "customer=cus_abc",
            "metadata[membership_id]=mem_1",
            "subscription_data[metadata][membership_id]=mem_1",
            "subscription_data[transfer_data][destination]=acct_1Glow",
            "subscription_data[on_behalf_of]=acct_1Glow",
            // £1.00 of £49.00.
            "subscription_data[application_fee_percent]=2.04",
        ] {
            assert!(form.contains(expected), "{expected} missing from {form:?}");
        }
        assert!(!form.iter().any(|f| f.starts_with("payment_intent_data")), "{form:?}");
    }

    #[test]
    fn pausing_voids_invoices_and_resuming_clears_the_pause() {
        let paused = fields(pause_request("sub_1", true));
        assert!(paused.contains("pause_collection[behavior]=void"), "{paused:?}");
        let resumed = fields(pause_request("sub_1", false));
        assert!(resumed.contains("pause_collection="), "{resumed:?}");
        let at_end = cancel_request("sub_1", true);
        assert_eq!(at_end.path, "/subscriptions/sub_1");
        assert!(fields(at_end).contains("cancel_at_period_end=true"));
        assert!(matches!(cancel_request("sub_1", false).method, StripeMethod::Delete));
    }

    /// Stripe's 2025+ API versions put the month paid for on the subscription's items;
    /// localstripe (and older versions) on the subscription.
    #[test]
    fn a_subscription_is_read_in_either_shape() {
        let new_shape = serde_json::json!({
            "id": "sub_1", "status": "past_due", "cancel_at_period_end": false,
            "pause_collection": null,
            "items": { "data": [{ "current_period_start": 1_800_000_000, "current_period_end": 1_802_592_000 }] }
        });
        let read = subscription_from_stripe_json(&new_shape).unwrap();
        assert_eq!(read.status, mas_domain::membership::GatewayStatus::PastDue);
        assert_eq!(read.period.unwrap().start.timestamp(), 1_800_000_000);
        assert!(!read.paused);
        let old_shape = serde_json::json!({
            "id": "sub_2", "status": "active", "cancel_at_period_end": true,
            "pause_collection": { "behavior": "void" },
            "current_period_start": 1_800_000_000, "current_period_end": 1_802_592_000
        });
        let read = subscription_from_stripe_json(&old_shape).unwrap();
        assert!(read.paused && read.cancel_at_period_end);
        assert_eq!(read.period.unwrap().end.timestamp(), 1_802_592_000);
        let invoice = serde_json::json!({ "parent": { "subscription_details": { "subscription": "sub_3" } } });
        assert_eq!(mas_ports::payments::invoice_subscription(&invoice).as_deref(), Some("sub_3"));
        assert!(subscription_from_stripe_json(&serde_json::json!({"id": "sub_4", "status": "odd"})).is_err());
    }

    #[test]
    fn a_clinics_account_is_an_express_account_onboarded_through_a_single_use_account_link() {
        let request = AccountRequest {
            idempotency_key: "connect-ten_1".into(),
            country: "GB".into(),
            email: Some("owner@glow.test".into()),
            metadata: BTreeMap::from([("tenant_id".to_owned(), "ten_1".to_owned())]),
        };
        let built = create_account_request(&request);
        assert_eq!((matches!(built.method, StripeMethod::Post), built.path.as_str()), (true, "/accounts"));
        let form = fields(built);
        for expected in [
            "type=express",
            "country=GB",
            "capabilities[card_payments][requested]=true",
            "capabilities[transfers][requested]=true",
            "metadata[tenant_id]=ten_1",
        ] {
            assert!(form.contains(expected), "{expected} missing from {form:?}");
        }
        let link = account_link_request(&OnboardingRequest {
            account: ConnectedAccountId::parse("acct_1Glow").unwrap(),
            refresh_url: "https://app.example/#/settings/payments?connect=refresh".into(),
            return_url: "https://app.example/#/settings/payments?connect=done".into(),
        });
        assert_eq!(link.path, "/account_links");
        let form = fields(link);
        assert!(form.contains("account=acct_1Glow") && form.contains("type=account_onboarding"), "{form:?}");
    }

    #[test]
    fn an_account_is_read_with_what_stripe_still_needs() {
        let account = serde_json::json!({"id": "acct_1Glow", "object": "account", "charges_enabled": false,
            "payouts_enabled": false, "details_submitted": true, "metadata": {"tenant_id": "ten_1"},
            "requirements": {"currently_due": ["external_account"], "past_due": [], "disabled_reason": "requirements.pending_verification",
                             "current_deadline": 1_900_000_000}});
        let read = read_account(&account).unwrap();
        assert_eq!(read.id.as_str(), "acct_1Glow");
        assert!(read.status.details_submitted && !read.status.charges_enabled);
        assert_eq!(read.status.requirements.currently_due, ["external_account"]);
        assert_eq!(read.status.requirements.disabled_reason.as_deref(), Some("requirements.pending_verification"));
        assert!(read.status.requirements.current_deadline.is_some());
        let intent = serde_json::json!({"id": "pi_1", "status": "succeeded", "amount": 4000,
            "transfer_data": {"destination": "acct_1Glow"}, "application_fee_amount": 100});
        assert_eq!(read_intent(&intent).unwrap().snapshot.destination, Some(glow()));
    }

    #[test]
    fn a_checkout_session_is_read_with_its_intent_once_paid() {
        let paid = serde_json::json!({"id": "cs_test_a1", "object": "checkout.session", "status": "complete",
            "payment_status": "paid", "payment_intent": "pi_123", "expires_at": 1_900_000_000, "url": null,
            "metadata": {"link_id": "lnk_1"}});
        let link = read_link(&paid).unwrap();
        assert!(link.paid && link.url.is_none());
        assert_eq!(link.payment_intent.unwrap().as_str(), "pi_123");
        assert_eq!(link.metadata["link_id"], "lnk_1");
    }

    #[test]
    fn browsers_get_stripe_js_and_the_publishable_key_and_never_a_secret_key() {
        let gateway = StripeGateway::new("sk_test_abc", None).unwrap();
        assert_eq!(gateway.browser_checkout(), None, "no publishable key: no card on a site");
        for wrong in ["sk_test_abc", "rk_live_abc", "pk_test_", "pk_test_a b", "whsec_abc"] {
            let gateway = StripeGateway::new("sk_test_abc", None).unwrap();
            assert!(gateway.with_publishable_key(wrong).is_err(), "{wrong}");
        }
        let gateway = StripeGateway::new("sk_test_abc", None).unwrap().with_publishable_key(" pk_test_51Abc ").unwrap();
        assert_eq!(
            gateway.browser_checkout(),
            Some(BrowserCheckout {
                publishable_key: "pk_test_51Abc".into(),
                js_url: "https://js.stripe.com/v3/".into()
            })
        );
    }
}
