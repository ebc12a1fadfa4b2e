//! The payments port for a function that only ever deletes customers (the notifications worker,
//! after an erasure): one `DELETE /v1/customers/{id}` over the HTTPS client the function already
//! links, instead of the generated Stripe client (about 3 MB of the zip). Every other payments
//! call fails as unavailable here, by design: money moves only in the functions given the full
//! adapter (`mas-stripe`).

use async_trait::async_trait;
use serde_json::Value;

use mas_domain::payment::{CustomerId, IntentId};
use mas_ports::{GatewayRefund, Intent, IntentRequest, Payments, PaymentsError, RefundRequest};

const STRIPE_API: &str = "https://api.stripe.com";

pub struct StripeCustomers {
    http: reqwest::Client,
    key: String,
    base: String,
}

impl StripeCustomers {
    /// `base` is Stripe's API unless given (localstripe in tests).
    pub fn new(key: &str, base: Option<&str>) -> Result<StripeCustomers, reqwest::Error> {
        let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(20)).build()?;
        let base = base.unwrap_or(STRIPE_API).trim_end_matches('/').to_owned();
        Ok(StripeCustomers { http, key: key.to_owned(), base })
    }
}

fn not_here() -> PaymentsError {
    PaymentsError::Unavailable("this function only deletes customers at Stripe".into())
}

#[async_trait]
impl Payments for StripeCustomers {
    fn name(&self) -> &'static str {
        "stripe"
    }

    async fn create_customer(&self, _: &str) -> Result<CustomerId, PaymentsError> {
        Err(not_here())
    }

    async fn delete_customer(&self, customer: &CustomerId) -> Result<(), PaymentsError> {
        let url = format!("{}/v1/customers/{}", self.base, customer.as_str());
        let response = self
            .http
            .delete(url)
            .basic_auth(&self.key, None::<&str>)
            .send()
            .await
            .map_err(|e| PaymentsError::Unavailable(format!("Stripe: {e}")))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        match status.as_u16() {
            200 if body.get("deleted").and_then(Value::as_bool) == Some(true) => Ok(()),
            // A DELETE is idempotent at Stripe by nature: a second one finds nothing.
            404 => Err(PaymentsError::NotFound),
            _ => Err(PaymentsError::Unavailable(format!("Stripe answered {status} to a customer deletion: {body}"))),
        }
    }

    async fn create_intent(&self, _: IntentRequest) -> Result<Intent, PaymentsError> {
        Err(not_here())
    }

    async fn retrieve_intent(&self, _: &IntentId) -> Result<Intent, PaymentsError> {
        Err(not_here())
    }

    async fn refund(&self, _: RefundRequest) -> Result<GatewayRefund, PaymentsError> {
        Err(not_here())
    }
}
