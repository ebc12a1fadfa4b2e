//! Stand-ins for ports a process was not given: every call fails, saying what is missing.
//! (`App::new` starts with these; hosts that serve documents replace them.)

use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use chrono::{DateTime, Utc};

use crate::{BlobError, BlobKey, Blobs, Queue, QueueError, QueueName, Retention};

pub struct Unconfigured;

#[async_trait]
impl Blobs for Unconfigured {
    async fn put(&self, _: &BlobKey, _: Vec<u8>, _: &str, _: Retention) -> Result<(), BlobError> {
        Err(BlobError::Unavailable("no blob store is configured in this process".into()))
    }
    async fn retained_until(&self, _: &BlobKey) -> Result<Option<DateTime<Utc>>, BlobError> {
        Err(BlobError::Unavailable("no blob store is configured in this process".into()))
    }
    async fn extend_retention(&self, _: &BlobKey, _: DateTime<Utc>) -> Result<(), BlobError> {
        Err(BlobError::Unavailable("no blob store is configured in this process".into()))
    }
    async fn delete(&self, _: &BlobKey) -> Result<(), BlobError> {
        Err(BlobError::Unavailable("no blob store is configured in this process".into()))
    }
    async fn get(&self, _: &BlobKey) -> Result<Option<Vec<u8>>, BlobError> {
        Err(BlobError::Unavailable("no blob store is configured in this process".into()))
    }
    async fn presign(&self, _: &BlobKey, _: Duration) -> Result<String, BlobError> {
        Err(BlobError::Unavailable("no blob store is configured in this process".into()))
    }
}

#[async_trait]
impl Queue for Unconfigured {
    async fn send(&self, queue: QueueName, _: Value) -> Result<(), QueueError> {
        Err(QueueError::NotConfigured(queue.as_str()))
    }
}

#[async_trait]
impl crate::Mailer for Unconfigured {
    async fn send_email(&self, _: &crate::OutgoingEmail) -> Result<crate::Accepted, crate::SendError> {
        Err(crate::SendError::Unavailable("no mailer is configured in this process".into()))
    }
}

#[async_trait]
impl crate::SmsSender for Unconfigured {
    async fn send_sms(&self, _: &crate::OutgoingSms) -> Result<crate::Accepted, crate::SendError> {
        Err(crate::SendError::Unavailable("no SMS sender is configured in this process".into()))
    }
}

fn no_identity() -> crate::IdentityError {
    crate::IdentityError::Unavailable("no identity provider is configured in this process".into())
}

#[async_trait]
impl crate::Identity for Unconfigured {
    fn name(&self) -> &'static str {
        "unconfigured"
    }
    async fn register(&self, _: &crate::identity::Account) -> Result<(), crate::IdentityError> {
        Err(no_identity())
    }
    async fn set_password(
        &self,
        _: &crate::identity::Account,
        _: &mas_domain::auth::Password,
    ) -> Result<(), crate::IdentityError> {
        Err(no_identity())
    }
    async fn sign_in(
        &self,
        _: &crate::identity::Account,
        _: &str,
    ) -> Result<crate::identity::IssuedTokens, crate::IdentityError> {
        Err(no_identity())
    }
    async fn refresh(
        &self,
        _: &str,
        _: &(dyn crate::identity::CurrentAccount + Sync),
    ) -> Result<(crate::identity::Account, crate::identity::IssuedTokens), crate::IdentityError> {
        Err(no_identity())
    }
    async fn sign_out(&self, _: &str) -> Result<(), crate::IdentityError> {
        Err(no_identity())
    }
    async fn revoke_all(&self, _: &crate::identity::Account) -> Result<(), crate::IdentityError> {
        Err(no_identity())
    }
    async fn remove(&self, _: &crate::identity::Account) -> Result<(), crate::IdentityError> {
        Err(no_identity())
    }
}

fn not_configured(what: &str) -> String {
    format!("no {what} is configured in this process")
}

/// A function that moves no money (`MAS_PAYMENTS=none`): any use is a configuration error.
#[async_trait]
impl crate::Payments for Unconfigured {
    fn name(&self) -> &'static str {
        "none"
    }

    async fn create_customer(&self, _: &str) -> Result<mas_domain::payment::CustomerId, crate::PaymentsError> {
        Err(crate::PaymentsError::Unavailable(not_configured("payment gateway")))
    }

    async fn delete_customer(&self, _: &mas_domain::payment::CustomerId) -> Result<(), crate::PaymentsError> {
        Err(crate::PaymentsError::Unavailable(not_configured("payment gateway")))
    }

    async fn create_intent(&self, _: crate::IntentRequest) -> Result<crate::Intent, crate::PaymentsError> {
        Err(crate::PaymentsError::Unavailable(not_configured("payment gateway")))
    }

    async fn retrieve_intent(&self, _: &mas_domain::payment::IntentId) -> Result<crate::Intent, crate::PaymentsError> {
        Err(crate::PaymentsError::Unavailable(not_configured("payment gateway")))
    }

    async fn refund(&self, _: crate::RefundRequest) -> Result<crate::GatewayRefund, crate::PaymentsError> {
        Err(crate::PaymentsError::Unavailable(not_configured("payment gateway")))
    }

    async fn create_payment_link(
        &self,
        _: crate::PaymentLinkRequest,
    ) -> Result<crate::PaymentLink, crate::PaymentsError> {
        Err(crate::PaymentsError::Unavailable(not_configured("payment gateway")))
    }

    async fn retrieve_payment_link(&self, _: &str) -> Result<crate::PaymentLink, crate::PaymentsError> {
        Err(crate::PaymentsError::Unavailable(not_configured("payment gateway")))
    }

    async fn expire_payment_link(&self, _: &str) -> Result<crate::PaymentLink, crate::PaymentsError> {
        Err(crate::PaymentsError::Unavailable(not_configured("payment gateway")))
    }

    fn requires_connected_account(&self) -> bool {
        true
    }

    async fn create_connected_account(
        &self,
        _: crate::AccountRequest,
    ) -> Result<crate::ConnectedAccount, crate::PaymentsError> {
        Err(crate::PaymentsError::Unavailable(not_configured("payment gateway")))
    }

    async fn retrieve_connected_account(
        &self,
        _: &mas_domain::payment::ConnectedAccountId,
    ) -> Result<crate::ConnectedAccount, crate::PaymentsError> {
        Err(crate::PaymentsError::Unavailable(not_configured("payment gateway")))
    }

    async fn onboarding_link(
        &self,
        _: crate::OnboardingRequest,
    ) -> Result<crate::OnboardingLink, crate::PaymentsError> {
        Err(crate::PaymentsError::Unavailable(not_configured("payment gateway")))
    }
}

/// A process that holds no clinical data: opening a tenant's data key fails.
#[async_trait]
impl crate::KeyWrapper for Unconfigured {
    fn scheme(&self) -> &'static str {
        "none"
    }

    fn key_ref(&self) -> String {
        "none".into()
    }

    async fn generate(&self, _: &mas_domain::ids::TenantId) -> Result<crate::GeneratedKey, crate::CryptoError> {
        Err(crate::CryptoError::Unavailable(not_configured("key-encryption key")))
    }

    async fn unwrap(&self, _: &mas_domain::ids::TenantId, _: &[u8]) -> Result<crate::DataKey, crate::CryptoError> {
        Err(crate::CryptoError::Unavailable(not_configured("key-encryption key")))
    }
}

/// A process with no bus: announced events stay in the events outbox, where the sweep finds them.
#[async_trait]
impl crate::Events for Unconfigured {
    async fn publish(&self, _: &[crate::DomainEvent]) -> Result<(), crate::EventsError> {
        Err(crate::EventsError::Unavailable(not_configured("event bus")))
    }
}

#[async_trait]
impl crate::TxtResolver for Unconfigured {
    fn name(&self) -> &'static str {
        "unconfigured"
    }
    async fn txt(&self, _: &str) -> Result<Vec<String>, crate::DnsError> {
        Err(crate::DnsError::Unavailable("no DNS resolver is configured in this process".into()))
    }
}
