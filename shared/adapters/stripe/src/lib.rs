//! The payments port over Stripe's API, through `async-stripe` 1.0: its client (auth, API
//! version, idempotency keys, rustls on aws-lc-rs) and its request builders (form encoding).
//! Responses are read as plain JSON (`Intent::from_stripe_json`) rather than as the crate's
//! typed objects, which require every field of the newest API version: localstripe — our test
//! peer — and older account API versions leave some out.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use stripe::{Client, ClientBuilder, IdempotencyKey, RequestStrategy, StripeError, StripeRequest};
use stripe_client_core::{RequestBuilder, StripeMethod};
use stripe_core::customer::{CreateCustomer, DeleteCustomer};
use stripe_core::payment_intent::{CreatePaymentIntent, CreatePaymentIntentOffSession, RetrievePaymentIntent};
use stripe_core::refund::CreateRefund;

use mas_domain::payment::{CustomerId, IntentId};
use mas_ports::payments::{
    BrowserCheckout, GatewayRefund, Intent, IntentRequest, PaymentLink, PaymentLinkRequest, Payments, PaymentsError,
    RefundRequest, STRIPE_JS_URL,
};

/// Each attempt's budget: a webhook or a refund must not wait on Stripe for long.
const TIMEOUT: Duration = Duration::from_secs(10);

pub struct StripeGateway {
    client: Client,
    /// For the sites' Payment Element (`STRIPE_PUBLISHABLE_KEY`); none: no card on a site.
    publishable_key: Option<String>,
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
        Ok(StripeGateway { client, publishable_key: None })
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
                (_, 400..=403 | 405..=428 | 430..=499) => PaymentsError::Refused(why),
                _ => PaymentsError::Unavailable(format!("Stripe answered {status}: {why}")),
            }
        }
        other => PaymentsError::Unavailable(other.to_string()),
    }
}

fn read_link(value: &Value) -> Result<PaymentLink, PaymentsError> {
    PaymentLink::from_stripe_json(value)
        .map_err(|e| PaymentsError::Unavailable(format!("unreadable Checkout Session: {e}")))
}

/// `POST /v1/checkout/sessions` in `payment` mode, as Stripe reads its form: one line for the
/// amount, our ids on the session and on the intent it makes, the page's expiry.
#[derive(serde::Serialize)]
struct CheckoutSessionForm<'a> {
    mode: &'static str,
    line_items: [LineItem<'a>; 1],
    success_url: &'a str,
    cancel_url: &'a str,
    expires_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer: Option<&'a str>,
    metadata: &'a BTreeMap<String, String>,
    payment_intent_data: IntentData<'a>,
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
}

#[derive(serde::Serialize)]
struct ProductData<'a> {
    name: &'a str,
}

#[derive(serde::Serialize)]
struct IntentData<'a> {
    description: &'a str,
    metadata: &'a BTreeMap<String, String>,
}

fn checkout_session(request: &PaymentLinkRequest) -> RequestBuilder {
    let form = CheckoutSessionForm {
        mode: "payment",
        line_items: [LineItem {
            quantity: 1,
            price_data: PriceData {
                currency: request.currency.as_str().to_lowercase(),
                unit_amount: request.amount.get(),
                product_data: ProductData { name: &request.description },
            },
        }],
        success_url: &request.success_url,
        cancel_url: &request.cancel_url,
        expires_at: request.expires_at.timestamp(),
        customer: request.customer.as_ref().map(CustomerId::as_str),
        metadata: &request.metadata,
        payment_intent_data: IntentData { description: &request.description, metadata: &request.metadata },
    };
    RequestBuilder::new(StripeMethod::Post, "/checkout/sessions").form(&form)
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
        let mut create = CreatePaymentIntent::new(request.amount.get(), currency(request.currency.as_str()))
            .metadata(metadata(&request.metadata));
        if let Some(customer) = &request.customer {
            create = create.customer(customer.as_str());
        }
        if request.save_for_later {
            create = create.setup_future_usage(stripe_shared::PaymentIntentSetupFutureUsage::OffSession);
        }
        if let Some(method) = &request.charge_saved_method {
            create = create
                .payment_method(method.as_str())
                .confirm(true)
                .off_session(CreatePaymentIntentOffSession::Bool(true));
        }
        let answer = self.send(&create, Some(&request.idempotency_key)).await?;
        read_intent(&answer)
    }

    async fn retrieve_intent(&self, id: &IntentId) -> Result<Intent, PaymentsError> {
        let answer = self.send(&RetrievePaymentIntent::new(id.as_str()), None).await?;
        read_intent(&answer)
    }

    async fn refund(&self, request: RefundRequest) -> Result<GatewayRefund, PaymentsError> {
        let create = CreateRefund::new()
            .payment_intent(request.intent.as_str())
            .amount(request.amount.get())
            .metadata(metadata(&request.metadata));
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
        let valid =
            id.starts_with("cs_") && id.len() <= 255 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(PaymentsError::NotFound);
        }
        let answer =
            self.send_built(RequestBuilder::new(StripeMethod::Get, format!("/checkout/sessions/{id}")), None).await?;
        read_link(&answer)
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
