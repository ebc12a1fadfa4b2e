//! The staff identity port: who holds which password and which sessions. Cognito on AWS (its
//! pre-token-generation trigger adds our claims to the tokens it issues); locally the embedded
//! adapter keeps argon2id hashes and refresh sessions in the table and signs HS256 tokens.
//!
//! What every adapter shares stays above the port, in `ops::auth`: who may try (the backoff),
//! the one-time codes of two-step sign-in, invitations and reset links, and revoking access
//! tokens at once (the member's `auth_epoch`, which every token carries and every request checks).

use async_trait::async_trait;

use mas_domain::auth::Password;
use mas_domain::ids::{MemberId, TenantId};
use mas_domain::values::Email;

/// A member as the identity provider knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub tenant_id: TenantId,
    pub member_id: MemberId,
    pub email: Email,
    /// The member's current `auth_epoch`: tokens issued now carry it.
    pub auth_epoch: u32,
}

/// What a successful sign-in or refresh hands the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedTokens {
    /// A bearer JWT for the staff routes.
    pub access_token: String,
    /// Opaque; spent by the next refresh, which returns a new one.
    pub refresh_token: String,
    /// Seconds the access token lives.
    pub expires_in: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// The password is not this account's (or none was ever set).
    #[error("the email or password is wrong")]
    WrongPassword,
    /// The refresh token is unknown, spent, expired or revoked.
    #[error("the session has ended; sign in again")]
    SessionEnded,
    /// The provider cannot answer now.
    #[error("identity provider unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait Identity: Send + Sync {
    fn name(&self) -> &'static str;

    /// Makes the account known, with no password yet: it can sign in once one is set (an
    /// invitation accepted). Registering an account twice is not an error.
    async fn register(&self, account: &Account) -> Result<(), IdentityError>;

    /// Sets the account's password, replacing any earlier one, and ends all its refresh
    /// sessions.
    async fn set_password(&self, account: &Account, password: &Password) -> Result<(), IdentityError>;

    /// Checks the password and opens a session.
    async fn sign_in(&self, account: &Account, password: &str) -> Result<IssuedTokens, IdentityError>;

    /// Spends `refresh_token` for new tokens. `current` is asked for the account the session
    /// belongs to as it is now (gone: the session has ended).
    async fn refresh(
        &self,
        refresh_token: &str,
        current: &(dyn CurrentAccount + Sync),
    ) -> Result<(Account, IssuedTokens), IdentityError>;

    /// Ends the session of this refresh token (unknown tokens are ignored).
    async fn sign_out(&self, refresh_token: &str) -> Result<(), IdentityError>;

    /// Ends every refresh session of the account.
    async fn revoke_all(&self, account: &Account) -> Result<(), IdentityError>;

    /// Forgets the account (a member removed from the clinic).
    async fn remove(&self, account: &Account) -> Result<(), IdentityError>;
}

/// Looks an account up as it is now, for a refresh.
#[async_trait]
pub trait CurrentAccount {
    async fn account(&self, tenant: &TenantId, member: &MemberId) -> Result<Option<Account>, IdentityError>;
}
