//! The identity port on a Cognito user pool.
//!
//! A member is one Cognito user whose username is the member id (ids are globally unique, so one
//! person can belong to two clinics with one email), with `email`, `custom:tenant_id` and
//! `custom:member_id`. Passwords are set by the API (admin calls); nobody signs themselves up and
//! Cognito sends no mail (we send our own invitations and resets).
//!
//! Sign-in is `USER_PASSWORD_AUTH` and the **ID token is our access token**: the HTTP API's JWT
//! authorizer takes the app client as audience, and the pre-token-generation trigger
//! (`ops::auth::pre_token_claims`) adds our claims (`tenant_id`, `member_id`, `role`,
//! `auth_epoch`) to the ID token only.

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_cognitoidentityprovider::types::{
    AttributeType, AuthFlowType, AuthenticationResultType, MessageActionType,
};
use base64::Engine;
use serde_json::Value;

use mas_domain::auth::Password;
use mas_domain::ids::{MemberId, TenantId};
use mas_ports::identity::{Account, CurrentAccount, Identity, IdentityError, IssuedTokens};

pub struct CognitoIdentity {
    client: Client,
    user_pool_id: String,
    client_id: String,
}

impl CognitoIdentity {
    pub fn new(client: Client, user_pool_id: impl Into<String>, client_id: impl Into<String>) -> Self {
        CognitoIdentity { client, user_pool_id: user_pool_id.into(), client_id: client_id.into() }
    }

    fn attribute(name: &str, value: &str) -> AttributeType {
        AttributeType::builder().name(name).value(value).build().expect("name is set")
    }

    async fn create_user(&self, account: &Account) -> Result<(), Failure> {
        let created = self
            .client
            .admin_create_user()
            .user_pool_id(&self.user_pool_id)
            .username(account.member_id.as_str())
            .user_attributes(Self::attribute("email", account.email.as_str()))
            .user_attributes(Self::attribute("custom:tenant_id", account.tenant_id.as_str()))
            .user_attributes(Self::attribute("custom:member_id", account.member_id.as_str()))
            // We email our own invitation; Cognito's temporary password is never sent or used.
            .message_action(MessageActionType::Suppress)
            .send()
            .await;
        match created.map_err(Failure::from) {
            Err(f) if f.is("UsernameExistsException") => Ok(()),
            other => other.map(|_| ()),
        }
    }

    async fn global_sign_out(&self, account: &Account) -> Result<(), Failure> {
        let signed_out = self
            .client
            .admin_user_global_sign_out()
            .user_pool_id(&self.user_pool_id)
            .username(account.member_id.as_str())
            .send()
            .await;
        match signed_out.map_err(Failure::from) {
            // No user, no sessions.
            Err(f) if f.is("UserNotFoundException") => Ok(()),
            other => other.map(|_| ()),
        }
    }

    async fn set_permanent_password(&self, account: &Account, password: &Password) -> Result<(), Failure> {
        self.client
            .admin_set_user_password()
            .user_pool_id(&self.user_pool_id)
            .username(account.member_id.as_str())
            .password(password.as_str())
            .permanent(true)
            .send()
            .await
            .map(|_| ())
            .map_err(Failure::from)
    }

    async fn initiate(
        &self,
        flow: AuthFlowType,
        parameters: &[(&str, &str)],
    ) -> Result<AuthenticationResultType, Failure> {
        let mut request = self.client.initiate_auth().client_id(&self.client_id).auth_flow(flow);
        for (name, value) in parameters {
            request = request.auth_parameters(*name, *value);
        }
        let answer = request.send().await.map_err(Failure::from)?;
        // A challenge instead of tokens (NEW_PASSWORD_REQUIRED: a user whose password was never
        // set) is, for us, a password that does not open the account.
        answer
            .authentication_result
            .ok_or(Failure { code: Some("ChallengeInsteadOfTokens".into()), message: String::new() })
    }
}

/// A Cognito error, reduced to what decides our answer: its code.
#[derive(Debug)]
struct Failure {
    code: Option<String>,
    message: String,
}

impl<E, R> From<SdkError<E, R>> for Failure
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    fn from(err: SdkError<E, R>) -> Failure {
        Failure { code: err.code().map(str::to_owned), message: DisplayErrorContext(&err).to_string() }
    }
}

/// Codes meaning "these credentials do not open a session": a wrong password or token, no such
/// user (or a removed one), the trigger refusing a removed member, a password never set.
const REFUSED: [&str; 6] = [
    "NotAuthorizedException",
    "UserNotFoundException",
    "UserLambdaValidationException",
    "UserNotConfirmedException",
    "PasswordResetRequiredException",
    "ChallengeInsteadOfTokens",
];

impl Failure {
    fn is(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }

    fn refused(&self) -> bool {
        self.code.as_deref().is_some_and(|code| REFUSED.contains(&code))
    }

    /// Anything else is the provider failing us (down, throttling, misconfigured): never the
    /// caller's fault.
    fn unavailable(self) -> IdentityError {
        IdentityError::Unavailable(format!("cognito: {}", self.message))
    }

    /// For a sign-in: refused means a wrong password.
    fn for_sign_in(self) -> IdentityError {
        if self.refused() { IdentityError::WrongPassword } else { self.unavailable() }
    }

    /// For a refresh: refused means the session has ended.
    fn for_session(self) -> IdentityError {
        if self.refused() { IdentityError::SessionEnded } else { self.unavailable() }
    }
}

/// The account an ID token names (and the `auth_epoch` it carries, when the trigger added one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenAccount {
    pub tenant_id: TenantId,
    pub member_id: MemberId,
    pub auth_epoch: Option<u32>,
}

/// Reads the account from a JWT's claims **without verifying its signature**: only for a token
/// that came straight from the issuer over TLS (a refresh's answer). Our claims first (the
/// trigger's `tenant_id`, `member_id`), else the user's `custom:` attributes, which Cognito puts
/// in every ID token.
pub fn token_account(token: &str) -> Option<TokenAccount> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Map<String, Value> = serde_json::from_slice(&bytes).ok()?;
    let text = |name: &str| match claims.get(name).or_else(|| claims.get(&format!("custom:{name}")))? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    Some(TokenAccount {
        tenant_id: TenantId::parse(&text("tenant_id")?).ok()?,
        member_id: MemberId::parse(&text("member_id")?).ok()?,
        auth_epoch: text("auth_epoch").and_then(|e| e.parse().ok()),
    })
}

fn issued(result: &AuthenticationResultType, refresh_token: Option<&str>) -> Result<IssuedTokens, IdentityError> {
    let missing = |what: &str| IdentityError::Unavailable(format!("cognito answered without {what}"));
    Ok(IssuedTokens {
        access_token: result.id_token().ok_or_else(|| missing("an ID token"))?.to_owned(),
        refresh_token: result.refresh_token().or(refresh_token).ok_or_else(|| missing("a refresh token"))?.to_owned(),
        expires_in: i64::from(result.expires_in()),
    })
}

#[async_trait::async_trait]
impl Identity for CognitoIdentity {
    fn name(&self) -> &'static str {
        "cognito"
    }

    async fn register(&self, account: &Account) -> Result<(), IdentityError> {
        self.create_user(account).await.map_err(Failure::unavailable)
    }

    async fn set_password(&self, account: &Account, password: &Password) -> Result<(), IdentityError> {
        match self.set_permanent_password(account, password).await {
            // A member the pool never saw (invited before Cognito was configured): make them.
            Err(f) if f.is("UserNotFoundException") => {
                self.create_user(account).await.map_err(Failure::unavailable)?;
                self.set_permanent_password(account, password).await.map_err(Failure::unavailable)?;
            }
            other => other.map_err(Failure::unavailable)?,
        }
        self.global_sign_out(account).await.map_err(Failure::unavailable)
    }

    async fn sign_in(&self, account: &Account, password: &str) -> Result<IssuedTokens, IdentityError> {
        // No password we set looks like this; Cognito would call it a bad parameter, not a
        // wrong password.
        let length = password.chars().count();
        if length == 0 || length > Password::MAX_CHARS {
            return Err(IdentityError::WrongPassword);
        }
        let result = self
            .initiate(
                AuthFlowType::UserPasswordAuth,
                &[("USERNAME", account.member_id.as_str()), ("PASSWORD", password)],
            )
            .await
            .map_err(Failure::for_sign_in)?;
        issued(&result, None)
    }

    async fn refresh(
        &self,
        refresh_token: &str,
        current: &(dyn CurrentAccount + Sync),
    ) -> Result<(Account, IssuedTokens), IdentityError> {
        if refresh_token.is_empty() {
            return Err(IdentityError::SessionEnded);
        }
        let result = self
            .initiate(AuthFlowType::RefreshTokenAuth, &[("REFRESH_TOKEN", refresh_token)])
            .await
            .map_err(Failure::for_session)?;
        // Cognito rotates refresh tokens only when the client asks it to; otherwise the same one
        // stays valid and is handed back.
        let tokens = issued(&result, Some(refresh_token))?;
        let named = token_account(&tokens.access_token)
            .ok_or_else(|| IdentityError::Unavailable("cognito's ID token names no member".into()))?;
        let account = current.account(&named.tenant_id, &named.member_id).await?;
        let live = account.filter(|a| named.auth_epoch.is_none_or(|epoch| epoch == a.auth_epoch));
        let Some(account) = live else {
            // Removed, or moved to a new epoch since the trigger read it: this session is over.
            if let Err(err) = self.sign_out(&tokens.refresh_token).await {
                tracing::warn!(%err, "a refresh token of an ended session could not be revoked");
            }
            return Err(IdentityError::SessionEnded);
        };
        Ok((account, tokens))
    }

    async fn sign_out(&self, refresh_token: &str) -> Result<(), IdentityError> {
        if refresh_token.is_empty() {
            return Ok(());
        }
        let revoked = self.client.revoke_token().client_id(&self.client_id).token(refresh_token).send().await;
        match revoked.map_err(Failure::from) {
            // Not a refresh token of this client: nothing to end.
            Err(f) if f.is("UnsupportedTokenTypeException") || f.is("InvalidParameterException") => Ok(()),
            other => other.map(|_| ()).map_err(Failure::unavailable),
        }
    }

    async fn revoke_all(&self, account: &Account) -> Result<(), IdentityError> {
        self.global_sign_out(account).await.map_err(Failure::unavailable)
    }

    async fn remove(&self, account: &Account) -> Result<(), IdentityError> {
        let deleted = self
            .client
            .admin_delete_user()
            .user_pool_id(&self.user_pool_id)
            .username(account.member_id.as_str())
            .send()
            .await;
        match deleted.map_err(Failure::from) {
            Err(f) if f.is("UserNotFoundException") => Ok(()),
            other => other.map(|_| ()).map_err(Failure::unavailable),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: Value) -> String {
        let b64 = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        format!("{}.{}.sig", b64(br#"{"alg":"RS256"}"#), b64(claims.to_string().as_bytes()))
    }

    #[test]
    fn a_token_names_its_account_by_our_claims_before_the_custom_attributes() {
        let token = jwt(serde_json::json!({
            "tenant_id": "ten_ours", "member_id": "mem_ours", "auth_epoch": "4",
            "custom:tenant_id": "ten_attr", "custom:member_id": "mem_attr",
        }));
        let named = token_account(&token).unwrap();
        assert_eq!(
            (named.tenant_id.as_str(), named.member_id.as_str(), named.auth_epoch),
            ("ten_ours", "mem_ours", Some(4))
        );
    }

    #[test]
    fn without_the_triggers_claims_a_token_names_its_account_by_the_custom_attributes() {
        let token = jwt(serde_json::json!({"custom:tenant_id": "ten_attr", "custom:member_id": "mem_attr"}));
        let named = token_account(&token).unwrap();
        assert_eq!(
            (named.tenant_id.as_str(), named.member_id.as_str(), named.auth_epoch),
            ("ten_attr", "mem_attr", None)
        );
        assert_eq!(token_account("not-a-jwt"), None);
        assert_eq!(token_account(&jwt(serde_json::json!({"sub": "x"}))), None);
    }
}
