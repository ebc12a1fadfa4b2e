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
use stripe_core::customer::{CreateCustomer, DeleteCustomer};
use stripe_core::payment_intent::{CreatePaymentIntent, CreatePaymentIntentOffSession, RetrievePaymentIntent};
use stripe_core::refund::CreateRefund;

use mas_domain::payment::{CustomerId, IntentId};
use mas_ports::payments::{
    BrowserCheckout, GatewayRefund, Intent, IntentRequest, Payments, PaymentsError, RefundRequest, STRIPE_JS_URL,
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
        let strategy = match key {
            Some(key) => RequestStrategy::Idempotent(
                IdempotencyKey::new(key).map_err(|e| PaymentsError::Refused(format!("idempotency key: {e}")))?,
            ),
            None => RequestStrategy::Retry(2),
        };
        let answer: miniserde::json::Value = request
            .build()
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
