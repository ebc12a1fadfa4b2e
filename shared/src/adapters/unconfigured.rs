//! Stand-ins for ports a process was not given: every call fails, saying what is missing.
//! (`App::new` starts with these; hosts that serve documents replace them.)

use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use crate::ports::{BlobError, BlobKey, Blobs, Queue, QueueError, QueueName};

pub struct Unconfigured;

#[async_trait]
impl Blobs for Unconfigured {
    async fn put(&self, _: &BlobKey, _: Vec<u8>, _: &str) -> Result<(), BlobError> {
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
impl crate::ports::Mailer for Unconfigured {
    async fn send_email(
        &self,
        _: &crate::ports::OutgoingEmail,
    ) -> Result<crate::ports::Accepted, crate::ports::SendError> {
        Err(crate::ports::SendError::Unavailable("no mailer is configured in this process".into()))
    }
}

#[async_trait]
impl crate::ports::SmsSender for Unconfigured {
    async fn send_sms(&self, _: &crate::ports::OutgoingSms) -> Result<crate::ports::Accepted, crate::ports::SendError> {
        Err(crate::ports::SendError::Unavailable("no SMS sender is configured in this process".into()))
    }
}

fn no_identity() -> crate::ports::IdentityError {
    crate::ports::IdentityError::Unavailable("no identity provider is configured in this process".into())
}

#[async_trait]
impl crate::ports::Identity for Unconfigured {
    fn name(&self) -> &'static str {
        "unconfigured"
    }
    async fn register(&self, _: &crate::ports::identity::Account) -> Result<(), crate::ports::IdentityError> {
        Err(no_identity())
    }
    async fn set_password(
        &self,
        _: &crate::ports::identity::Account,
        _: &crate::domain::auth::Password,
    ) -> Result<(), crate::ports::IdentityError> {
        Err(no_identity())
    }
    async fn sign_in(
        &self,
        _: &crate::ports::identity::Account,
        _: &str,
    ) -> Result<crate::ports::identity::IssuedTokens, crate::ports::IdentityError> {
        Err(no_identity())
    }
    async fn refresh(
        &self,
        _: &str,
        _: &(dyn crate::ports::identity::CurrentAccount + Sync),
    ) -> Result<(crate::ports::identity::Account, crate::ports::identity::IssuedTokens), crate::ports::IdentityError>
    {
        Err(no_identity())
    }
    async fn sign_out(&self, _: &str) -> Result<(), crate::ports::IdentityError> {
        Err(no_identity())
    }
    async fn revoke_all(&self, _: &crate::ports::identity::Account) -> Result<(), crate::ports::IdentityError> {
        Err(no_identity())
    }
    async fn remove(&self, _: &crate::ports::identity::Account) -> Result<(), crate::ports::IdentityError> {
        Err(no_identity())
    }
}
