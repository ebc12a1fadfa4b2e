//! The payments port of the notifications worker, over the HTTPS client the function already
//! links instead of the generated Stripe client (about 3 MB of the zip): `DELETE
//! /v1/customers/{id}` after an erasure, `POST /v1/checkout/sessions` for a payment link (the page
//! moves money only when the client pays on it), and `POST /v1/payment_intents` confirmed
//! off-session with a saved card, for a fee the client agreed at booking to have charged to it.
//! Both go to the clinic's connected account as destination charges with the platform's fee,
//! as the full adapter makes them. Every other call — customers, refunds, intents a client
//! confirms, connected accounts — fails as unavailable here, by design: those stay in the
//! functions given the full adapter (`mas-stripe`).

use async_trait::async_trait;
use serde_json::Value;

use mas_domain::payment::{ChargeDestination, ConnectedAccountId, CustomerId, IntentId};
use mas_ports::{
    AccountRequest, ConnectedAccount, GatewayRefund, Intent, IntentRequest, OnboardingLink, OnboardingRequest,
    PaymentLink, PaymentLinkRequest, Payments, PaymentsError, RefundRequest,
};

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

impl StripeCustomers {
    /// Posts a form (with `key` as Stripe's idempotency key) or gets `path`; the answer's JSON,
    /// or the error Stripe's error object says.
    async fn call(&self, path: &str, form: Option<(&[(String, String)], &str)>) -> Result<Value, PaymentsError> {
        let url = format!("{}/v1{path}", self.base);
        let request = match form {
            Some((fields, key)) => self.http.post(url).header("idempotency-key", key).form(fields),
            None => self.http.get(url),
        };
        let response = request
            .basic_auth(&self.key, None::<&str>)
            .send()
            .await
            .map_err(|e| PaymentsError::Unavailable(format!("Stripe: {e}")))?;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if (200..300).contains(&status) {
            return Ok(body);
        }
        Err(classify(status, &body))
    }
}

/// Card problems (`card_error`, or 402) are declines; other 4xx refusals; 404 not found;
/// anything else may pass with time (as the full adapter reads Stripe's errors).
fn classify(status: u16, body: &Value) -> PaymentsError {
    let error = body.get("error");
    let field = |name: &str| error.and_then(|e| e.get(name)).and_then(Value::as_str).map(str::to_owned);
    let why = field("message").or_else(|| field("type")).unwrap_or_else(|| format!("HTTP {status}"));
    match (field("type").as_deref(), status) {
        (Some("card_error"), _) | (_, 402) => {
            PaymentsError::Declined(field("decline_code").or(field("code")).unwrap_or(why))
        }
        (_, 404) => PaymentsError::NotFound,
        (_, 400..=499) if status != 429 => PaymentsError::Refused(why),
        _ => PaymentsError::Unavailable(format!("Stripe answered {status}: {why}")),
    }
}

fn metadata_fields(prefix: &str, metadata: &std::collections::BTreeMap<String, String>) -> Vec<(String, String)> {
    metadata.iter().map(|(k, v)| (format!("{prefix}[{k}]"), v.clone())).collect()
}

/// A destination charge's fields (`prefix` is `""` for an intent, `payment_intent_data` for the
/// intent a Checkout Session makes).
fn destination_fields(prefix: &str, destination: &Option<ChargeDestination>) -> Vec<(String, String)> {
    let Some(ChargeDestination { account_id, application_fee }) = destination else { return Vec::new() };
    let name = |field: &str| if prefix.is_empty() { field.to_owned() } else { format!("{prefix}[{field}]") };
    vec![
        (name("on_behalf_of"), account_id.to_string()),
        (format!("{}[destination]", name("transfer_data")), account_id.to_string()),
        (name("application_fee_amount"), application_fee.get().to_string()),
    ]
}

/// The form of an off-session charge of a saved card.
fn off_session_fields(request: &IntentRequest, customer: &CustomerId, method: &str) -> Vec<(String, String)> {
    let mut fields = vec![
        ("amount".to_owned(), request.amount.get().to_string()),
        ("currency".to_owned(), request.currency.as_str().to_lowercase()),
        ("customer".to_owned(), customer.as_str().to_owned()),
        ("payment_method".to_owned(), method.to_owned()),
        ("confirm".to_owned(), "true".to_owned()),
        ("off_session".to_owned(), "true".to_owned()),
    ];
    fields.extend(metadata_fields("metadata", &request.metadata));
    fields.extend(destination_fields("", &request.destination));
    fields
}

/// The form of a Checkout Session in `payment` mode.
fn session_fields(request: &PaymentLinkRequest) -> Vec<(String, String)> {
    let mut fields = vec![
        ("mode".to_owned(), "payment".to_owned()),
        ("line_items[0][quantity]".to_owned(), "1".to_owned()),
        ("line_items[0][price_data][currency]".to_owned(), request.currency.as_str().to_lowercase()),
        ("line_items[0][price_data][unit_amount]".to_owned(), request.amount.get().to_string()),
        ("line_items[0][price_data][product_data][name]".to_owned(), request.description.clone()),
        ("success_url".to_owned(), request.success_url.clone()),
        ("cancel_url".to_owned(), request.cancel_url.clone()),
        ("expires_at".to_owned(), request.expires_at.timestamp().to_string()),
        ("payment_intent_data[description]".to_owned(), request.description.clone()),
    ];
    if let Some(customer) = &request.customer {
        fields.push(("customer".to_owned(), customer.as_str().to_owned()));
    }
    fields.extend(metadata_fields("metadata", &request.metadata));
    fields.extend(metadata_fields("payment_intent_data[metadata]", &request.metadata));
    fields.extend(destination_fields("payment_intent_data", &request.destination));
    fields
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

    /// Only an off-session charge of a saved card (an agreed fee); anything else is not here.
    async fn create_intent(&self, request: IntentRequest) -> Result<Intent, PaymentsError> {
        let (Some(method), Some(customer)) = (&request.charge_saved_method, &request.customer) else {
            return Err(not_here());
        };
        let fields = off_session_fields(&request, customer, method);
        let answer = self.call("/payment_intents", Some((&fields, &request.idempotency_key))).await?;
        Intent::from_stripe_json(&answer)
            .map_err(|e| PaymentsError::Unavailable(format!("unreadable PaymentIntent: {e}")))
    }

    async fn retrieve_intent(&self, _: &IntentId) -> Result<Intent, PaymentsError> {
        Err(not_here())
    }

    async fn refund(&self, _: RefundRequest) -> Result<GatewayRefund, PaymentsError> {
        Err(not_here())
    }

    async fn create_payment_link(&self, request: PaymentLinkRequest) -> Result<PaymentLink, PaymentsError> {
        let fields = session_fields(&request);
        let answer = self.call("/checkout/sessions", Some((&fields, &request.idempotency_key))).await?;
        PaymentLink::from_stripe_json(&answer)
            .map_err(|e| PaymentsError::Unavailable(format!("unreadable Checkout Session: {e}")))
    }

    async fn retrieve_payment_link(&self, id: &str) -> Result<PaymentLink, PaymentsError> {
        if !(id.starts_with("cs_") && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')) {
            return Err(PaymentsError::NotFound);
        }
        let answer = self.call(&format!("/checkout/sessions/{id}"), None).await?;
        PaymentLink::from_stripe_json(&answer)
            .map_err(|e| PaymentsError::Unavailable(format!("unreadable Checkout Session: {e}")))
    }

    async fn expire_payment_link(&self, _: &str) -> Result<PaymentLink, PaymentsError> {
        Err(not_here())
    }

    fn requires_connected_account(&self) -> bool {
        true
    }

    async fn create_connected_account(&self, _: AccountRequest) -> Result<ConnectedAccount, PaymentsError> {
        Err(not_here())
    }

    async fn retrieve_connected_account(&self, _: &ConnectedAccountId) -> Result<ConnectedAccount, PaymentsError> {
        Err(not_here())
    }

    async fn onboarding_link(&self, _: OnboardingRequest) -> Result<OnboardingLink, PaymentsError> {
        Err(not_here())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mas_domain::values::{Currency, MinorUnits};
    use std::collections::BTreeMap;

    fn glow() -> Option<ChargeDestination> {
        Some(ChargeDestination {
            account_id: ConnectedAccountId::parse("acct_1Glow").unwrap(),
            application_fee: MinorUnits::new(50).unwrap(),
        })
    }

    fn has(fields: &[(String, String)], name: &str, value: &str) -> bool {
        fields.iter().any(|(n, v)| n == name && v == value)
    }

    /// localstripe refuses `transfer_data`, so the worker's forms are checked here.
    #[test]
    fn the_workers_fee_charges_and_payment_links_go_to_the_clinics_account_with_the_platforms_fee() {
        let request = IntentRequest {
            amount: MinorUnits::new(2000).unwrap(),
            currency: Currency::gbp(),
            metadata: BTreeMap::from([("tenant_id".to_owned(), "ten_1".to_owned())]),
            idempotency_key: "pay_1-intent".into(),
            customer: Some(CustomerId::parse("cus_1").unwrap()),
            save_for_later: false,
            charge_saved_method: Some("pm_1".into()),
            destination: glow(),
        };
        let fields = off_session_fields(&request, &CustomerId::parse("cus_1").unwrap(), "pm_1");
        assert!(has(&fields, "on_behalf_of", "acct_1Glow"), "{fields:?}");
        assert!(has(&fields, "transfer_data[destination]", "acct_1Glow"));
        assert!(has(&fields, "application_fee_amount", "50"));
        assert!(has(&fields, "off_session", "true") && has(&fields, "metadata[tenant_id]", "ten_1"));

        let link = PaymentLinkRequest {
            amount: MinorUnits::new(2000).unwrap(),
            currency: Currency::gbp(),
            description: "Fee".into(),
            metadata: BTreeMap::new(),
            idempotency_key: "lnk_1-page".into(),
            customer: None,
            success_url: "https://glow.example/?payment=done".into(),
            cancel_url: "https://glow.example/".into(),
            expires_at: chrono::DateTime::from_timestamp(1_900_000_000, 0).unwrap(),
            destination: glow(),
        };
        let fields = session_fields(&link);
        assert!(has(&fields, "payment_intent_data[on_behalf_of]", "acct_1Glow"), "{fields:?}");
        assert!(has(&fields, "payment_intent_data[transfer_data][destination]", "acct_1Glow"));
        assert!(has(&fields, "payment_intent_data[application_fee_amount]", "50"));
        let platform = session_fields(&PaymentLinkRequest { destination: None, ..link });
        assert!(!platform.iter().any(|(n, _)| n.contains("transfer_data") || n.contains("application_fee")));
    }
}
