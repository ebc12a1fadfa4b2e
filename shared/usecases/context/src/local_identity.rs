//! The embedded identity adapter: argon2id password hashes and refresh sessions in the table,
//! HS256 access tokens from `LocalIssuer` (the tokens the local host verifies).
//!
//! A refresh token is `{tenant}.{session}.{secret}`; the session item keeps the SHA-256 of the
//! current secret and of the one before it. A refresh spends the current secret with a write
//! conditional on the session's generation, so of two refreshes with one token only one wins;
//! presenting the spent secret again (a stolen copy, replayed) ends the whole session. A session
//! remembers the member's `auth_epoch`: after a password reset or removal it no longer refreshes.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::tokens::{LocalIssuer, StaffClaims};
use mas_domain::auth::{DECOY_HASH, Password, RefreshToken, password_matches};
use mas_domain::ids::MemberId;
use mas_ports::identity::{Account, CurrentAccount, IdentityError, IssuedTokens};
use mas_ports::{Clock, Condition, Identity, Table, TableError, Write};
use mas_store::keys;
use mas_store::{from_item, to_item};

/// How long a local access token lives: short, because refreshing is cheap.
pub const ACCESS_TOKEN_SECONDS: i64 = 15 * 60;
/// How long a refresh session lives without being used.
pub const SESSION_DAYS: i64 = 30;

pub struct LocalIdentity {
    table: Arc<dyn Table>,
    clock: Arc<dyn Clock>,
    issuer: Arc<LocalIssuer>,
}

#[derive(Serialize, Deserialize)]
struct PasswordRecord {
    password_hash: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct SessionRecord {
    member_id: MemberId,
    secret_hash: String,
    previous_hash: Option<String>,
    generation: u64,
    auth_epoch: u32,
    expires_at: DateTime<Utc>,
    /// Storage attribute (DynamoDB TTL): written, never read back (`from_item` drops it).
    #[serde(default)]
    ttl: i64,
}

impl LocalIdentity {
    pub fn new(table: Arc<dyn Table>, clock: Arc<dyn Clock>, issuer: Arc<LocalIssuer>) -> Self {
        LocalIdentity { table, clock, issuer }
    }

    fn access_token(&self, account: &Account) -> String {
        let claims = StaffClaims {
            sub: account.member_id.to_string(),
            email: account.email.clone(),
            tenant_id: account.tenant_id.clone(),
            member_id: account.member_id.clone(),
            auth_epoch: account.auth_epoch,
        };
        self.issuer.issue_for(&claims, self.clock.now(), ACCESS_TOKEN_SECONDS)
    }

    fn session_record(
        &self,
        account: &Account,
        token: &RefreshToken,
        previous: Option<String>,
        generation: u64,
    ) -> SessionRecord {
        let expires_at = self.clock.now() + Duration::days(SESSION_DAYS);
        SessionRecord {
            member_id: account.member_id.clone(),
            secret_hash: token.secret_hash(),
            previous_hash: previous,
            generation,
            auth_epoch: account.auth_epoch,
            expires_at,
            ttl: expires_at.timestamp(),
        }
    }

    fn issued(&self, account: &Account, token: &RefreshToken) -> IssuedTokens {
        IssuedTokens {
            access_token: self.access_token(account),
            refresh_token: token.to_string(),
            expires_in: ACCESS_TOKEN_SECONDS,
        }
    }

    async fn end_session(&self, token: &RefreshToken) -> Result<(), IdentityError> {
        let write = Write::Delete { key: keys::staff_session(&token.tenant_id, &token.session_id), condition: None };
        self.table.transact(vec![write]).await.map_err(unavailable)
    }
}

fn unavailable(err: TableError) -> IdentityError {
    IdentityError::Unavailable(err.to_string())
}

fn unreadable(err: mas_domain::error::AppError) -> IdentityError {
    IdentityError::Unavailable(err.to_string())
}

#[async_trait]
impl Identity for LocalIdentity {
    fn name(&self) -> &'static str {
        "local"
    }

    async fn register(&self, _account: &Account) -> Result<(), IdentityError> {
        // Nothing to make ahead: the password record appears with the first password.
        Ok(())
    }

    async fn set_password(&self, account: &Account, password: &Password) -> Result<(), IdentityError> {
        let mut set = mas_ports::Item::new();
        set.insert("password_hash".into(), password.hash().into());
        set.insert("updated_at".into(), json!(self.clock.now()));
        let write = Write::Update {
            key: keys::credential(&account.tenant_id, &account.member_id),
            set,
            add: Default::default(),
            remove: vec![],
            condition: None,
        };
        // Sessions opened before end with the epoch `ops::auth` moves on with every new password.
        self.table.transact(vec![write]).await.map_err(unavailable)
    }

    async fn sign_in(&self, account: &Account, password: &str) -> Result<IssuedTokens, IdentityError> {
        let stored =
            self.table.get(&keys::credential(&account.tenant_id, &account.member_id)).await.map_err(unavailable)?;
        let hash =
            stored.map(from_item::<PasswordRecord>).transpose().map_err(unreadable)?.and_then(|r| r.password_hash);
        // Without a password (an invitation not yet accepted) the decoy is checked, so the
        // answer takes as long as a wrong password.
        let matches = password_matches(hash.as_deref().unwrap_or(&DECOY_HASH), password);
        if hash.is_none() || !matches {
            return Err(IdentityError::WrongPassword);
        }
        let token = RefreshToken::new(account.tenant_id.clone());
        let record = self.session_record(account, &token, None, 1);
        let item = to_item(&keys::staff_session(&account.tenant_id, &token.session_id), "staff_session", &record)
            .map_err(unreadable)?;
        self.table.transact(vec![Write::put_new(item)]).await.map_err(unavailable)?;
        Ok(self.issued(account, &token))
    }

    async fn refresh(
        &self,
        refresh_token: &str,
        current: &(dyn CurrentAccount + Sync),
    ) -> Result<(Account, IssuedTokens), IdentityError> {
        let token = RefreshToken::parse(refresh_token).ok_or(IdentityError::SessionEnded)?;
        let key = keys::staff_session(&token.tenant_id, &token.session_id);
        let Some(item) = self.table.get(&key).await.map_err(unavailable)? else {
            return Err(IdentityError::SessionEnded);
        };
        let session: SessionRecord = from_item(item).map_err(unreadable)?;
        let presented = token.secret_hash();
        if session.previous_hash.as_deref() == Some(presented.as_str()) {
            // A spent secret again: someone holds a copy. End the session for both holders.
            tracing::warn!(tenant_id = %token.tenant_id, "a spent refresh token was presented; the session is ended");
            self.end_session(&token).await?;
            return Err(IdentityError::SessionEnded);
        }
        if session.secret_hash != presented || session.expires_at <= self.clock.now() {
            return Err(IdentityError::SessionEnded);
        }
        let account = current.account(&token.tenant_id, &session.member_id).await?;
        let Some(account) = account.filter(|a| a.auth_epoch == session.auth_epoch) else {
            self.end_session(&token).await?;
            return Err(IdentityError::SessionEnded);
        };
        let next = token.rotated();
        let record = self.session_record(&account, &next, Some(presented), session.generation + 1);
        let item = to_item(&key, "staff_session", &record).map_err(unreadable)?;
        match self.table.transact(vec![Write::put_if(item, Condition::equals("generation", session.generation))]).await
        {
            Ok(()) => Ok((account.clone(), self.issued(&account, &next))),
            // Another refresh with the same token won: this copy is spent.
            Err(TableError::ConditionFailed { .. }) => Err(IdentityError::SessionEnded),
            Err(other) => Err(unavailable(other)),
        }
    }

    async fn sign_out(&self, refresh_token: &str) -> Result<(), IdentityError> {
        match RefreshToken::parse(refresh_token) {
            Some(token) => self.end_session(&token).await,
            None => Ok(()),
        }
    }

    async fn revoke_all(&self, _account: &Account) -> Result<(), IdentityError> {
        // Every session remembers the epoch it was opened in; `ops::auth` has moved the member
        // to a new one, so none of them refreshes again (and TTL clears them).
        Ok(())
    }

    async fn remove(&self, account: &Account) -> Result<(), IdentityError> {
        let write = Write::Delete { key: keys::credential(&account.tenant_id, &account.member_id), condition: None };
        self.table.transact(vec![write]).await.map_err(unavailable)
    }
}
