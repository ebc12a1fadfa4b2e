//! The identity port's contract: every case below runs against the embedded adapter (a fresh
//! SQLite table per test) and the Cognito adapter (a fresh user pool per test on moto).
//!
//! Where moto 5.2.5 stops short of Cognito:
//! - it runs no Lambda triggers, so its ID tokens carry the user's `custom:tenant_id` and
//!   `custom:member_id` but not the trigger's claims (the adapter falls back to the former; the
//!   trigger itself is tested in `handlers.rs`);
//! - it has no `RevokeToken`, so signing one session out is checked on the embedded adapter only
//!   (`local_only` below); `AdminUserGlobalSignOut` it does, revoking refresh tokens as AWS
//!   documents;
//! - refreshing with a token of a user deleted since, it fails with an HTML 500 (its
//!   `create_tokens_from_refresh_token` looks the user up and gets None) where Cognito answers
//!   `NotAuthorizedException` (which the adapter answers as `SessionEnded`), so that case is
//!   also `local_only`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_sdk_cognitoidentityprovider::types::{AttributeDataType, ExplicitAuthFlowsType, SchemaAttributeType};
use mas_cognito::CognitoIdentity;
use mas_cognito::token_account;
use mas_domain::auth::Password;
use mas_domain::ids::{MemberId, TenantId};
use mas_domain::values::Email;
use mas_embedded::SqliteTable;
use mas_ports::SystemClock;
use mas_ports::identity::{Account, CurrentAccount, Identity, IdentityError, IssuedTokens};
use mas_usecases::local_identity::LocalIdentity;
use mas_usecases::tokens::LocalIssuer;

use crate::support::aws;

/// A fresh identity provider for one test, and whatever must live as long as it.
struct Fixture {
    identity: Arc<dyn Identity>,
    _dir: Option<tempfile::TempDir>,
}

async fn fresh_local_identity(_test: &str) -> Option<Fixture> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let table = SqliteTable::open(&dir.path().join("table.db")).expect("a new SQLite table");
    let issuer = LocalIssuer::new(ulid::Ulid::new().to_string().as_bytes());
    let identity = LocalIdentity::new(Arc::new(table), Arc::new(SystemClock), Arc::new(issuer));
    Some(Fixture { identity: Arc::new(identity), _dir: Some(dir) })
}

/// A user pool shaped as template.yaml's: immutable `tenant_id` and `member_id` attributes, a
/// public app client with USER_PASSWORD_AUTH and refresh.
async fn fresh_cognito_identity(test: &str) -> Option<Fixture> {
    let config = aws::moto(test).await?;
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&config);
    let custom = |name: &str| {
        SchemaAttributeType::builder().name(name).attribute_data_type(AttributeDataType::String).mutable(false).build()
    };
    let pool = cognito
        .create_user_pool()
        .pool_name(format!("staff-{}", ulid::Ulid::new().to_string().to_lowercase()))
        .schema(custom("tenant_id"))
        .schema(custom("member_id"))
        .send()
        .await
        .expect("a user pool on moto");
    let pool_id = pool.user_pool.and_then(|p| p.id).expect("the pool's id");
    let client = cognito
        .create_user_pool_client()
        .user_pool_id(&pool_id)
        .client_name("web")
        .generate_secret(false)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .send()
        .await
        .expect("an app client on moto");
    let client_id = client.user_pool_client.and_then(|c| c.client_id).expect("the client's id");
    Some(Fixture { identity: Arc::new(CognitoIdentity::new(cognito, pool_id, client_id)), _dir: None })
}

/// The accounts as the table has them now, as `ops::auth` answers a refresh.
#[derive(Default)]
struct Accounts(Mutex<HashMap<MemberId, Account>>);

impl Accounts {
    fn with(account: &Account) -> Accounts {
        let accounts = Accounts::default();
        accounts.put(account.clone());
        accounts
    }

    fn put(&self, account: Account) {
        self.0.lock().unwrap().insert(account.member_id.clone(), account);
    }

    fn forget(&self, member: &MemberId) {
        self.0.lock().unwrap().remove(member);
    }
}

#[async_trait::async_trait]
impl CurrentAccount for Accounts {
    async fn account(&self, tenant: &TenantId, member: &MemberId) -> Result<Option<Account>, IdentityError> {
        Ok(self.0.lock().unwrap().get(member).filter(|a| &a.tenant_id == tenant).cloned())
    }
}

fn new_account() -> Account {
    let member_id = MemberId::new();
    Account {
        tenant_id: TenantId::new(),
        email: Email::parse(&format!("{}@clinic.test", member_id.as_str())).unwrap(),
        member_id,
        auth_epoch: 0,
    }
}

const PASSWORD: &str = "Correct-horse-battery-7";

/// A registered account with `PASSWORD`, signed in once.
async fn signed_in(identity: &dyn Identity) -> (Account, IssuedTokens) {
    let account = new_account();
    identity.register(&account).await.expect("registered");
    identity.set_password(&account, &Password::parse(PASSWORD).unwrap()).await.expect("password set");
    let tokens = identity.sign_in(&account, PASSWORD).await.expect("signed in");
    (account, tokens)
}

/// Asserts the access token names `account` (read unverified, as the adapters hand it out).
fn assert_names(tokens: &IssuedTokens, account: &Account) {
    let named = token_account(&tokens.access_token).expect("the access token names an account");
    assert_eq!((&named.tenant_id, &named.member_id), (&account.tenant_id, &account.member_id));
}

/// One `#[tokio::test]` per case for one adapter.
macro_rules! adapter_tests {
    ($adapter:ident, $fresh:ident; $($case:ident),* $(,)?) => {
        mod $adapter {
            $(
                #[tokio::test]
                async fn $case() {
                    if let Some(fixture) = super::$fresh(stringify!($case)).await {
                        super::$case(fixture.identity.as_ref()).await;
                    }
                }
            )*
        }
    };
}

/// Every case, against every adapter.
macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        adapter_tests!(local, fresh_local_identity; $($case),*);
        adapter_tests!(cognito, fresh_cognito_identity; $($case),*);
    };
}

contract!(
    an_account_with_a_password_signs_in_and_gets_tokens_naming_it,
    registering_an_account_twice_is_not_an_error,
    a_wrong_password_is_refused_as_a_wrong_password,
    an_account_whose_password_was_never_set_does_not_sign_in,
    a_refresh_gives_an_access_token_for_the_same_account_and_a_refresh_token_that_refreshes_again,
    an_unknown_refresh_token_does_not_refresh,
    after_removal_the_account_no_longer_signs_in,
    removing_an_absent_account_is_not_an_error,
    after_revoke_all_a_refresh_token_no_longer_refreshes_but_the_password_still_signs_in,
);

adapter_tests!(
    local_only,
    fresh_local_identity;
    after_sign_out_the_refresh_token_no_longer_refreshes,
    after_removal_a_refresh_token_no_longer_refreshes,
);

async fn an_account_with_a_password_signs_in_and_gets_tokens_naming_it(identity: &dyn Identity) {
    let (account, tokens) = signed_in(identity).await;
    assert!(!tokens.refresh_token.is_empty());
    assert!(tokens.expires_in > 0, "{}", tokens.expires_in);
    assert_names(&tokens, &account);
}

async fn registering_an_account_twice_is_not_an_error(identity: &dyn Identity) {
    let (account, _) = signed_in(identity).await;
    identity.register(&account).await.expect("registering again");
    // And the password is still the one set.
    identity.sign_in(&account, PASSWORD).await.expect("signs in as before");
}

async fn a_wrong_password_is_refused_as_a_wrong_password(identity: &dyn Identity) {
    let (account, _) = signed_in(identity).await;
    assert_eq!(identity.sign_in(&account, "Not-the-password-7").await, Err(IdentityError::WrongPassword));
}

async fn an_account_whose_password_was_never_set_does_not_sign_in(identity: &dyn Identity) {
    let account = new_account();
    identity.register(&account).await.expect("registered");
    assert_eq!(identity.sign_in(&account, PASSWORD).await, Err(IdentityError::WrongPassword));
    // Nor one the provider never heard of.
    assert_eq!(identity.sign_in(&new_account(), PASSWORD).await, Err(IdentityError::WrongPassword));
}

async fn a_refresh_gives_an_access_token_for_the_same_account_and_a_refresh_token_that_refreshes_again(
    identity: &dyn Identity,
) {
    let (account, tokens) = signed_in(identity).await;
    let accounts = Accounts::with(&account);
    let (refreshed_account, refreshed) = identity.refresh(&tokens.refresh_token, &accounts).await.expect("refreshed");
    assert_eq!(refreshed_account, account);
    assert_names(&refreshed, &account);
    // Rotated (embedded adapter) or the same (Cognito without rotation): either way it works.
    let (again, _) = identity.refresh(&refreshed.refresh_token, &accounts).await.expect("refreshed again");
    assert_eq!(again, account);
}

async fn an_unknown_refresh_token_does_not_refresh(identity: &dyn Identity) {
    let (account, _) = signed_in(identity).await;
    let accounts = Accounts::with(&account);
    for token in ["", "not-a-token", "ten_x.sess_y.zzzz", "4bd8c5c2-4a10-4b3a-9d2b-0b7f2d7f6e11"] {
        assert_eq!(identity.refresh(token, &accounts).await, Err(IdentityError::SessionEnded), "{token}");
    }
}

async fn after_removal_the_account_no_longer_signs_in(identity: &dyn Identity) {
    let (account, _) = signed_in(identity).await;
    identity.remove(&account).await.expect("removed");
    assert_eq!(identity.sign_in(&account, PASSWORD).await, Err(IdentityError::WrongPassword));
}

async fn after_removal_a_refresh_token_no_longer_refreshes(identity: &dyn Identity) {
    let (account, tokens) = signed_in(identity).await;
    let accounts = Accounts::with(&account);
    // As `ops::team` removes a member: gone from the table, then forgotten by the provider.
    accounts.forget(&account.member_id);
    identity.remove(&account).await.expect("removed");
    assert_eq!(identity.refresh(&tokens.refresh_token, &accounts).await, Err(IdentityError::SessionEnded));
}

async fn removing_an_absent_account_is_not_an_error(identity: &dyn Identity) {
    identity.remove(&new_account()).await.expect("nothing to remove is fine");
}

async fn after_revoke_all_a_refresh_token_no_longer_refreshes_but_the_password_still_signs_in(identity: &dyn Identity) {
    let (account, tokens) = signed_in(identity).await;
    let accounts = Accounts::with(&account);
    // As `ops::auth` ends every session: the member moves to a new epoch, then the provider is told.
    let next = Account { auth_epoch: account.auth_epoch + 1, ..account.clone() };
    accounts.put(next.clone());
    identity.revoke_all(&next).await.expect("revoked");
    assert_eq!(identity.refresh(&tokens.refresh_token, &accounts).await, Err(IdentityError::SessionEnded));
    let fresh = identity.sign_in(&next, PASSWORD).await.expect("signs in again");
    let (refreshed, _) = identity.refresh(&fresh.refresh_token, &accounts).await.expect("the new session refreshes");
    assert_eq!(refreshed, next);
}

async fn after_sign_out_the_refresh_token_no_longer_refreshes(identity: &dyn Identity) {
    let (account, tokens) = signed_in(identity).await;
    let accounts = Accounts::with(&account);
    identity.sign_out(&tokens.refresh_token).await.expect("signed out");
    assert_eq!(identity.refresh(&tokens.refresh_token, &accounts).await, Err(IdentityError::SessionEnded));
    identity.sign_out("not-a-token").await.expect("an unknown token is ignored");
}
