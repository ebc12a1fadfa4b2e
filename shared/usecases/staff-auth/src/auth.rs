//! Staff sign-in, whatever the identity provider: who may try (a backoff per account and per
//! client address, answered the same for emails nobody uses), two-step codes, invitations and
//! password resets by single-use emailed links, and ending every session of a member at once.
//!
//! The provider (`ports::Identity`: Cognito on AWS, the embedded adapter locally) checks
//! passwords and keeps refresh sessions; everything here is the same on both.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use mas_context::app::App;
use mas_domain::auth::{ACCOUNT_BACKOFF, ADDRESS_BACKOFF, Backoff, DECOY_HASH, Password, TotpSecret, password_matches};
use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::{MemberId, RequestId, TenantId};
use mas_domain::portal::{new_link_token, plausible_token, token_hash};
use mas_domain::team::{Member, Role};
use mas_domain::tenant::Tenant;
use mas_domain::values::{Email, Slug};
use mas_ports::identity::{Account, CurrentAccount, IdentityError, IssuedTokens};
use mas_ports::{Condition, Key, TableError, Write};
use mas_store::keys;
use mas_store::{AuditContext, Plan, Store, from_item, to_item};

use mas_accounts::tenants::{self, TenantError};

/// What a signed-in member holds.
#[derive(Debug, Serialize, ToSchema)]
pub struct Session {
    /// Bearer token for the staff routes.
    pub access_token: String,
    /// Spent by `POST /v1/auth/refresh`, which answers a new one.
    pub refresh_token: String,
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Seconds the access token lives.
    pub expires_in: i64,
    pub tenant: Tenant,
    pub member: Member,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInInput {
    /// The clinic's slug (its address on the platform).
    #[schema(value_type = String, example = "demo-clinic")]
    pub clinic: Slug,
    pub email: Email,
    #[schema(example = "correct horse battery staple")]
    pub password: String,
    /// The authenticator app's six digits, for members who turned two-step sign-in on.
    #[serde(default)]
    #[schema(example = "123456")]
    pub code: Option<String>,
}

/// Staff sign-in's refusals, typed; the store's and the identity provider's failures are kept
/// whole as the source.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AuthError {
    /// 401 `invalid_credentials`: a wrong password and an unknown email answer the same.
    #[error("the email or password is wrong")]
    InvalidCredentials,
    /// 401 `session_ended`.
    #[error("the session has ended; sign in again")]
    SessionEnded,
    /// 401 `mfa_required`: the password was right; the authenticator's code is missing or wrong.
    #[error("enter the six-digit code from your authenticator app")]
    CodeRequired,
    /// 429 `too_many_attempts` with `Retry-After`.
    #[error("too many attempts; try again in {retry_after_seconds} s")]
    TooManyAttempts { retry_after_seconds: i64 },
    /// 401: the account's member was removed, or their email changed (Cognito's trigger).
    #[error("this account is no longer a member of the clinic")]
    NoLongerMember,
    /// 403: two-step sign-in is for owners and managers.
    #[error("two-step sign-in is for owners and managers")]
    TwoStepNotForRole,
    /// 422 `invalid_code` (field `code`).
    #[error("that code is not the current one; check the app's clock and try the next code")]
    WrongCode,
    /// 409 `no_pending_setup`.
    #[error("start the setup first")]
    NoPendingSetup,
    /// 409 `two_step_off`.
    #[error("two-step sign-in is not on")]
    TwoStepOff,
    #[error(transparent)]
    Tenant(#[from] TenantError),
    #[error(transparent)]
    Store(#[from] AppError),
}

impl From<AuthError> for AppError {
    fn from(err: AuthError) -> Self {
        let message = err.to_string();
        match err {
            AuthError::InvalidCredentials => AppError::SignInRefused { code: "invalid_credentials", message },
            AuthError::SessionEnded => AppError::SignInRefused { code: "session_ended", message },
            AuthError::CodeRequired => AppError::SignInRefused { code: "mfa_required", message },
            AuthError::TooManyAttempts { retry_after_seconds } => {
                AppError::Limited { code: "too_many_attempts", retry_after_seconds }
            }
            AuthError::NoLongerMember => AppError::Unauthenticated(message),
            AuthError::TwoStepNotForRole => AppError::Forbidden(message),
            AuthError::WrongCode => AppError::invalid("invalid_code", "code", message),
            AuthError::NoPendingSetup => AppError::conflict("no_pending_setup", message),
            AuthError::TwoStepOff => AppError::conflict("two_step_off", message),
            AuthError::Tenant(err) => err.into(),
            AuthError::Store(err) => err,
        }
    }
}

impl From<TableError> for AuthError {
    fn from(err: TableError) -> Self {
        AuthError::Store(err.into())
    }
}

fn invalid_credentials() -> AuthError {
    AuthError::InvalidCredentials
}

fn session_ended() -> AuthError {
    AuthError::SessionEnded
}

fn provider(err: IdentityError) -> AuthError {
    match err {
        IdentityError::WrongPassword => invalid_credentials(),
        IdentityError::SessionEnded => session_ended(),
        IdentityError::Unavailable(why) => AppError::Internal(format!("identity provider: {why}")).into(),
    }
}

pub fn account(tenant: &TenantId, member: &Member) -> Account {
    Account {
        tenant_id: tenant.clone(),
        member_id: member.id.clone(),
        email: member.input.email.clone(),
        auth_epoch: member.auth_epoch,
    }
}

async fn member_by_email(store: &Store, tenant: &TenantId, email: &Email) -> AppResult<Option<Member>> {
    #[derive(Deserialize)]
    struct EmailClaim {
        owner_id: MemberId,
    }
    let Some(claim) = store.get::<EmailClaim>(&keys::member_email(tenant, email)).await? else { return Ok(None) };
    store.get(&keys::member(tenant, claim.owner_id.as_str())).await
}

// ---- the backoff ----

#[derive(Serialize, Deserialize)]
struct Failures {
    failures: u32,
    last_failure: i64,
    /// Storage attribute (DynamoDB TTL): written, never read back (`from_item` drops it).
    #[serde(default)]
    ttl: i64,
}

async fn failures(store: &Store, key: &Key) -> AppResult<Option<Failures>> {
    store.get(key).await
}

/// Refuses with 429 while `key`'s failures make the caller wait.
async fn check_wait(store: &Store, key: &Key, backoff: Backoff, now: i64) -> Result<(), AuthError> {
    if let Some(f) = failures(store, key).await?
        && let Some(wait) = backoff.wait(f.failures, f.last_failure, now)
    {
        return Err(AuthError::TooManyAttempts { retry_after_seconds: wait });
    }
    Ok(())
}

/// Counts one more failure under `key`: a write conditional on the count it read, so concurrent
/// failures are each counted (a lost race reads again).
async fn note_failure(store: &Store, key: &Key, backoff: Backoff, now: i64) -> AppResult<()> {
    for _ in 0..5 {
        let current = failures(store, key).await?;
        let live = current.as_ref().map_or(0, |f| backoff.live_failures(f.failures, f.last_failure, now));
        let next = Failures { failures: live + 1, last_failure: now, ttl: now + backoff.window_seconds + 86_400 };
        let condition = match &current {
            None => Condition::NotExists,
            Some(f) => Condition::equals("last_failure", f.last_failure),
        };
        let write = Write::put_if(to_item(key, "sign_in_failures", &next)?, condition);
        match store.table.transact(vec![write]).await {
            Ok(()) => return Ok(()),
            Err(TableError::ConditionFailed { .. }) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(AppError::contention("too many sign-ins at the same moment; try again"))
}

async fn clear_failures(store: &Store, key: &Key) -> AppResult<()> {
    store.table.transact(vec![Write::Delete { key: key.clone(), condition: None }]).await.map_err(Into::into)
}

// ---- sign-in, refresh, sign-out ----

/// Signs a member in. A wrong password and an unknown email (or clinic) answer the same, take
/// about as long, and count against the same backoff.
pub async fn sign_in(
    app: &App,
    address: Option<&str>,
    request_id: RequestId,
    input: SignInInput,
) -> Result<Session, AuthError> {
    let store = &app.store;
    let now = store.clock.now().timestamp();
    let address_key = keys::sign_in_failures_address(address.unwrap_or("unknown"));
    check_wait(store, &address_key, ADDRESS_BACKOFF, now).await?;
    let tenant_id = match tenants::any_tenant_by_slug(store, &input.clinic).await {
        Ok(id) => Some(id),
        Err(AppError::NotFound { .. }) => None,
        Err(other) => return Err(other.into()),
    };
    let account_key = tenant_id.as_ref().map(|t| keys::sign_in_failures_account(t, &token_hash(input.email.as_str())));
    if let Some(key) = &account_key {
        check_wait(store, key, ACCOUNT_BACKOFF, now).await?;
    }
    let member = match &tenant_id {
        Some(t) => member_by_email(store, t, &input.email).await?,
        None => None,
    };
    let failed = || async {
        note_failure(store, &address_key, ADDRESS_BACKOFF, now).await?;
        if let Some(key) = &account_key {
            note_failure(store, key, ACCOUNT_BACKOFF, now).await?;
        }
        AppResult::Ok(())
    };
    let (Some(tenant_id), Some(member)) = (tenant_id, member) else {
        // Nobody's email: spend the time a password check takes, then answer as for a wrong one.
        let _ = password_matches(&DECOY_HASH, &input.password);
        failed().await?;
        return Err(invalid_credentials());
    };
    let tokens = match app.identity.sign_in(&account(&tenant_id, &member), &input.password).await {
        Ok(tokens) => tokens,
        Err(IdentityError::WrongPassword) => {
            failed().await?;
            return Err(invalid_credentials());
        }
        Err(other) => return Err(provider(other)),
    };
    // Two-step sign-in, checked only after the password, so the answer tells nothing to someone
    // without it; the session just opened is closed again unless the code is right.
    if let Some(secret) = two_step_secret(store, &tenant_id, &member.id).await? {
        let accepted = input.code.as_deref().is_some_and(|code| secret.accepts(code, now as u64));
        if !accepted {
            app.identity.sign_out(&tokens.refresh_token).await.map_err(provider)?;
            if input.code.is_some() {
                failed().await?;
            }
            return Err(AuthError::CodeRequired);
        }
    }
    if let Some(key) = &account_key {
        clear_failures(store, key).await?;
    }
    let audit = member_audit(&tenant_id, &member, request_id);
    Plan::new().commit(store, &audit, "member.signed_in", member.id.as_str()).await?;
    Ok(session(app, &tenant_id, member, tokens).await?)
}

async fn session(app: &App, tenant: &TenantId, member: Member, tokens: IssuedTokens) -> AppResult<Session> {
    let tenant = tenants::tenant(&app.store, tenant).await?;
    Ok(Session {
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
        token_type: "Bearer".into(),
        expires_in: tokens.expires_in,
        tenant,
        member,
    })
}

/// What a member does on their own behalf, for the audit log.
pub fn member_audit(tenant: &TenantId, member: &Member, request_id: RequestId) -> AuditContext {
    AuditContext { tenant_id: tenant.clone(), actor: member.id.to_string(), role: Some(member.input.role), request_id }
}

/// The account a refresh session belongs to, as the table has it now.
struct StoredAccounts<'a>(&'a Store);

#[async_trait::async_trait]
impl CurrentAccount for StoredAccounts<'_> {
    async fn account(&self, tenant: &TenantId, member: &MemberId) -> Result<Option<Account>, IdentityError> {
        let found: Option<Member> = self
            .0
            .get(&keys::member(tenant, member.as_str()))
            .await
            .map_err(|e| IdentityError::Unavailable(e.to_string()))?;
        Ok(found.map(|m| account(tenant, &m)))
    }
}

/// Spends a refresh token for a new session.
pub async fn refresh(app: &App, refresh_token: &str) -> Result<Session, AuthError> {
    let (account, tokens) = app.identity.refresh(refresh_token, &StoredAccounts(&app.store)).await.map_err(provider)?;
    let member: Member = app
        .store
        .get(&keys::member(&account.tenant_id, account.member_id.as_str()))
        .await?
        .ok_or_else(session_ended)?;
    Ok(session(app, &account.tenant_id, member, tokens).await?)
}

pub async fn sign_out(app: &App, refresh_token: &str) -> Result<(), AuthError> {
    app.identity.sign_out(refresh_token).await.map_err(provider)
}

/// Ends every session of `member` now: access tokens (the epoch every request checks) and
/// refresh sessions (the provider's). `writes` join the same transaction (a new password).
async fn end_all_sessions(
    app: &App,
    audit: &AuditContext,
    member: &Member,
    mut plan: Plan,
    action: &str,
) -> AppResult<Member> {
    let t = &audit.tenant_id;
    let next = Member {
        auth_epoch: member.auth_epoch + 1,
        version: member.version + 1,
        updated_at: app.store.clock.now(),
        ..member.clone()
    };
    let stale = AppError::contention("the member changed at the same moment; try again");
    plan.push(Write::put_if(tenants::member_item(t, &next)?, Condition::equals("version", member.version)), stale);
    plan.commit(&app.store, audit, action, member.id.as_str()).await?;
    app.identity.revoke_all(&account(t, &next)).await.map_err(provider)?;
    Ok(next)
}

/// "Sign out everywhere" for one's own account.
pub async fn sign_out_everywhere(app: &App, audit: &AuditContext, member: &Member) -> AppResult<()> {
    end_all_sessions(app, audit, member, Plan::new(), "member.sessions_ended").await.map(|_| ())
}

// ---- invitations and password resets ----

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum LinkPurpose {
    Invitation,
    PasswordReset,
    /// A new clinic's owner confirming their email, which puts the clinic live.
    EmailVerification,
}

#[derive(Serialize, Deserialize)]
struct StaffLink {
    purpose: LinkPurpose,
    tenant_id: TenantId,
    member_id: MemberId,
    expires_at: DateTime<Utc>,
    /// Storage attribute (DynamoDB TTL): written, never read back (`from_item` drops it).
    #[serde(default)]
    ttl: i64,
}

const INVITATION_DAYS: i64 = 7;
const RESET_MINUTES: i64 = 60;
const VERIFICATION_DAYS: i64 = 7;

/// Where the back office is: `MAS_APP_URL`, else `/app/` under `base`.
fn app_url(app: &App, base: &str) -> String {
    match &app.app_url {
        Some(url) => url.clone(),
        None => format!("{}/app/", base.trim_end_matches('/')),
    }
}

/// Stores a single-use link (its hash only) and returns the token.
async fn issue_link(
    app: &App,
    audit: &AuditContext,
    purpose: LinkPurpose,
    member: &MemberId,
    lifetime: Duration,
) -> AppResult<(String, DateTime<Utc>)> {
    let token = new_link_token();
    let expires_at = app.store.clock.now() + lifetime;
    let link = StaffLink {
        purpose,
        tenant_id: audit.tenant_id.clone(),
        member_id: member.clone(),
        expires_at,
        ttl: expires_at.timestamp() + 86_400,
    };
    let mut plan = Plan::new();
    plan.push(
        Write::put_new(to_item(&keys::staff_link(&token_hash(&token)), "staff_link", &link)?),
        AppError::Internal("a link token collided".into()),
    );
    let action = match purpose {
        LinkPurpose::Invitation => "member.invited",
        LinkPurpose::PasswordReset => "member.password_reset_requested",
        LinkPurpose::EmailVerification => "tenant.verification_sent",
    };
    plan.commit(&app.store, audit, action, member.as_str()).await?;
    Ok((token, expires_at))
}

/// The live link a token names, for `purpose`; anything else is not found.
async fn find_link(store: &Store, token: &str, purpose: LinkPurpose) -> AppResult<StaffLink> {
    let not_found = AppError::NotFound { what: "link (it may have been used or have expired)" };
    if !plausible_token(token) {
        return Err(not_found);
    }
    let link: Option<StaffLink> = store.get(&keys::staff_link(&token_hash(token))).await?;
    link.filter(|l| l.purpose == purpose && l.expires_at > store.clock.now()).ok_or(not_found)
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Owner => "an owner",
        Role::Manager => "a manager",
        Role::Practitioner => "a practitioner",
        Role::FrontDesk => "front desk",
        Role::Finance => "finance",
        Role::Support => "support",
        Role::Educator => "an educator",
    }
}

/// Emails `member` an invitation to set a password (7 days, single use), and makes their
/// account known to the identity provider.
pub async fn invite(app: &App, audit: &AuditContext, base: &str, member: &Member) -> AppResult<DateTime<Utc>> {
    let tenant = tenants::tenant(&app.store, &audit.tenant_id).await?;
    app.identity.register(&account(&tenant.id, member)).await.map_err(provider)?;
    let link = LinkMail {
        purpose: LinkPurpose::Invitation,
        lifetime: Duration::days(INVITATION_DAYS),
        screen: "accept-invite",
        subject: format!("Your invitation to {}", tenant.name),
        lines: [
            format!("Hello {},", member.input.name),
            format!("{} has invited you to its clinic desk as {}.", tenant.name, role_name(member.input.role)),
            format!("Open this link within {INVITATION_DAYS} days to choose your password (it works once):"),
        ],
    };
    email_link(app, audit, base, &tenant, member, link).await
}

/// A single-use link emailed to a member: what it is for, how long it lives, the back office's
/// screen that spends it (`#/{screen}?token=`), and what the email says before the link.
struct LinkMail {
    purpose: LinkPurpose,
    lifetime: Duration,
    screen: &'static str,
    subject: String,
    lines: [String; 3],
}

/// Issues `link` for `member` and emails it to them; answers when it expires.
async fn email_link(
    app: &App,
    audit: &AuditContext,
    base: &str,
    tenant: &Tenant,
    member: &Member,
    link: LinkMail,
) -> AppResult<DateTime<Utc>> {
    let (token, expires_at) = issue_link(app, audit, link.purpose, &member.id, link.lifetime).await?;
    let url = format!("{}#/{}?token={token}", app_url(app, base), link.screen);
    mas_messaging::notifications::send_plain_mail(
        app,
        tenant,
        &member.input.email,
        link.subject,
        &link.lines,
        Some(&url),
    )
    .await?;
    Ok(expires_at)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationPreview {
    pub clinic: ClinicName,
    pub email: Email,
    #[schema(value_type = String)]
    pub name: mas_domain::values::Name,
    pub role: Role,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClinicName {
    #[schema(value_type = String)]
    pub name: mas_domain::values::Name,
    #[schema(value_type = String)]
    pub slug: Slug,
}

/// Who an invitation is for, so the page can greet them before they choose a password.
pub async fn preview_invitation(app: &App, token: &str) -> AppResult<InvitationPreview> {
    let link = find_link(&app.store, token, LinkPurpose::Invitation).await?;
    let tenant = tenants::tenant(&app.store, &link.tenant_id).await?;
    let member: Member = app
        .store
        .get(&keys::member(&link.tenant_id, link.member_id.as_str()))
        .await?
        .ok_or(AppError::NotFound { what: "link" })?;
    Ok(InvitationPreview {
        clinic: ClinicName { name: tenant.name, slug: tenant.slug },
        email: member.input.email,
        name: member.input.name,
        role: member.input.role,
    })
}

/// Spends an invitation or reset link for a new password: the link is deleted in the same
/// transaction that moves the member to a new epoch, so of two uses one wins, and every earlier
/// session of the member ends.
async fn spend_link_for_password(
    app: &App,
    token: &str,
    purpose: LinkPurpose,
    password: &Password,
    request_id: RequestId,
) -> AppResult<(TenantId, Member)> {
    let link = find_link(&app.store, token, purpose).await?;
    let member: Member = app
        .store
        .get(&keys::member(&link.tenant_id, link.member_id.as_str()))
        .await?
        .ok_or(AppError::NotFound { what: "link" })?;
    let mut plan = Plan::new();
    let used = AppError::NotFound { what: "link (it may have been used or have expired)" };
    plan.push(Write::delete_if(keys::staff_link(&token_hash(token)), Condition::Exists), used);
    let audit = member_audit(&link.tenant_id, &member, request_id);
    let next = end_all_sessions(app, &audit, &member, plan, "member.password_set").await?;
    app.identity.set_password(&account(&link.tenant_id, &next), password).await.map_err(provider)?;
    Ok((link.tenant_id, next))
}

/// Accepts an invitation: sets the password and signs the member in.
pub async fn accept_invitation(
    app: &App,
    token: &str,
    password: &Password,
    request_id: RequestId,
) -> AppResult<Session> {
    let (tenant, member) = spend_link_for_password(app, token, LinkPurpose::Invitation, password, request_id).await?;
    session_for(app, &tenant, member, password).await
}

/// Emails a reset link (an hour, single use) when the email is a member's; the answer is the
/// same either way. At most one link per member per minute.
pub async fn request_password_reset(
    app: &App,
    base: &str,
    clinic: &Slug,
    email: &Email,
    request_id: RequestId,
) -> AppResult<()> {
    let Ok(tenant_id) = tenants::any_tenant_by_slug(&app.store, clinic).await else { return Ok(()) };
    let Some(member) = member_by_email(&app.store, &tenant_id, email).await? else {
        tracing::info!(tenant_id = %tenant_id, "a password reset was asked for an email that is no member's");
        return Ok(());
    };
    if !link_throttle_allows(&app.store, &tenant_id, &member.id).await? {
        return Ok(());
    }
    let tenant = tenants::tenant(&app.store, &tenant_id).await?;
    let audit = member_audit(&tenant_id, &member, request_id);
    let (token, _) =
        issue_link(app, &audit, LinkPurpose::PasswordReset, &member.id, Duration::minutes(RESET_MINUTES)).await?;
    let url = format!("{}#/reset-password?token={token}", app_url(app, base));
    let lines = [
        format!("Hello {},", member.input.name),
        format!(
            "Someone asked to reset your password for {}'s clinic desk. If it was not you, ignore this email.",
            tenant.name
        ),
        format!(
            "Open this link within {RESET_MINUTES} minutes to choose a new password (it works once; every device you are signed in on is signed out):"
        ),
    ];
    // A send failure is logged, not answered: the answer must stay the one a stranger gets.
    if let Err(err) = mas_messaging::notifications::send_plain_mail(
        app,
        &tenant,
        &member.input.email,
        format!("Reset your password for {}", tenant.name),
        &lines,
        Some(&url),
    )
    .await
    {
        tracing::error!(tenant_id = %tenant_id, %err, "the password reset email could not be sent");
    }
    Ok(())
}

/// At most one emailed link (a password reset, a new email confirmation) per member a minute.
async fn link_throttle_allows(store: &Store, tenant: &TenantId, member: &MemberId) -> AppResult<bool> {
    let now = store.clock.now().timestamp();
    let key = keys::password_reset_throttle(tenant, member);
    let item = to_item(&key, "reset_throttle", &json!({ "until": now + 60, "ttl": now + 86_400 }))?;
    match store
        .table
        .transact(vec![Write::put_if(item, Condition::AbsentOrExpired { attr: "until".into(), before: now })])
        .await
    {
        Ok(()) => Ok(true),
        Err(TableError::ConditionFailed { .. }) => Ok(false),
        Err(other) => Err(other.into()),
    }
}

/// Sets a new password from a reset link; every session of the member ends.
pub async fn confirm_password_reset(
    app: &App,
    token: &str,
    password: &Password,
    request_id: RequestId,
) -> AppResult<()> {
    let (tenant, member) =
        spend_link_for_password(app, token, LinkPurpose::PasswordReset, password, request_id).await?;
    clear_failures(&app.store, &keys::sign_in_failures_account(&tenant, &token_hash(member.input.email.as_str()))).await
}

// ---- a new clinic's owner confirms their email ----

/// Emails a new clinic's owner the link that puts the clinic live (7 days, single use). Asked
/// again (`resend`), at most once a minute: a quiet `false` otherwise. A clinic already live
/// gets 409 `already_live`.
pub async fn send_email_verification(
    app: &App,
    audit: &AuditContext,
    base: &str,
    tenant: &Tenant,
    owner: &Member,
    resend: bool,
) -> Result<bool, AuthError> {
    if tenant.is_live() {
        return Err(TenantError::AlreadyLive.into());
    }
    if resend && !link_throttle_allows(&app.store, &tenant.id, &owner.id).await? {
        return Ok(false);
    }
    let link = LinkMail {
        purpose: LinkPurpose::EmailVerification,
        lifetime: Duration::days(VERIFICATION_DAYS),
        screen: "verify-email",
        subject: format!("Confirm your email to open {}", tenant.name),
        lines: [
            format!("Hello {},", owner.input.name),
            format!("Thank you for creating {} on Master Aesthetics Suite.", tenant.name),
            format!(
                "Open this link within {VERIFICATION_DAYS} days to confirm your email. Your clinic's website, online booking and client portal open to the public once you have (the link works once):"
            ),
        ],
    };
    email_link(app, audit, base, tenant, owner, link).await?;
    Ok(true)
}

/// Spends an email verification link: the clinic goes live in the same transaction that
/// deletes the link, so a link works once.
pub async fn verify_email(app: &App, token: &str, request_id: RequestId) -> AppResult<Tenant> {
    let link = find_link(&app.store, token, LinkPurpose::EmailVerification).await?;
    let member: Member = app
        .store
        .get(&keys::member(&link.tenant_id, link.member_id.as_str()))
        .await?
        .ok_or(AppError::NotFound { what: "link" })?;
    let mut plan = Plan::new();
    let used = AppError::NotFound { what: "link (it may have been used or have expired)" };
    plan.push(Write::delete_if(keys::staff_link(&token_hash(token)), Condition::Exists), used);
    let audit = member_audit(&link.tenant_id, &member, request_id);
    Ok(tenants::go_live(&app.store, &audit, &app.config.site_domain, plan).await?)
}

/// Sets a password directly: a clinic's first owner at signup, the demo clinic's accounts.
pub async fn set_password(app: &App, tenant: &TenantId, member: &Member, password: &Password) -> AppResult<()> {
    let account = account(tenant, member);
    app.identity.register(&account).await.map_err(provider)?;
    Ok(app.identity.set_password(&account, password).await.map_err(provider)?)
}

/// Signs a member in with a password just set (an accepted invitation; a signup).
pub async fn session_for(app: &App, tenant: &TenantId, member: Member, password: &Password) -> AppResult<Session> {
    let tokens = app.identity.sign_in(&account(tenant, &member), password.as_str()).await.map_err(provider)?;
    session(app, tenant, member, tokens).await
}

// ---- the Cognito pre-token-generation trigger ----

/// The claims Cognito's pre-token-generation trigger adds to a member's ID token, read from the
/// member as the table has them now: `tenant_id`, `member_id`, `role` and `auth_epoch`, all
/// strings (as API Gateway hands claims on, `StaffClaims::from_map`). `attributes` are the
/// Cognito user's (`email`, `custom:tenant_id`, `custom:member_id`).
///
/// A removed member, or one whose email is no longer the user's, is an error: the trigger fails
/// and Cognito refuses the sign-in or refresh.
pub async fn pre_token_claims(
    store: &Store,
    attributes: &std::collections::HashMap<String, String>,
) -> Result<std::collections::BTreeMap<String, String>, AuthError> {
    let refused = || AuthError::NoLongerMember;
    let attribute = |name: &str| attributes.get(name).map(String::as_str).ok_or_else(refused);
    let tenant = TenantId::parse(attribute("custom:tenant_id")?).map_err(|_| refused())?;
    let member_id = MemberId::parse(attribute("custom:member_id")?).map_err(|_| refused())?;
    let email = Email::parse(attribute("email")?).map_err(|_| refused())?;
    let member: Member = store.get(&keys::member(&tenant, member_id.as_str())).await?.ok_or_else(refused)?;
    if member.input.email != email {
        return Err(refused());
    }
    // The role as the API writes it (`front_desk`).
    let role = json!(member.input.role).as_str().map(str::to_owned).ok_or_else(refused)?;
    Ok(std::collections::BTreeMap::from([
        ("tenant_id".to_owned(), tenant.to_string()),
        ("member_id".to_owned(), member.id.to_string()),
        ("role".to_owned(), role),
        ("auth_epoch".to_owned(), member.auth_epoch.to_string()),
    ]))
}

// ---- two-step sign-in (TOTP) ----

#[derive(Serialize, Deserialize, Default)]
struct TwoStep {
    totp: Option<TotpSecret>,
    totp_pending: Option<TotpSecret>,
}

async fn two_step(store: &Store, tenant: &TenantId, member: &MemberId) -> AppResult<TwoStep> {
    Ok(store
        .table
        .get(&keys::credential(tenant, member))
        .await?
        .map(from_item::<TwoStep>)
        .transpose()?
        .unwrap_or_default())
}

/// Whether the member turned two-step sign-in on.
pub async fn two_step_enabled(store: &Store, tenant: &TenantId, member: &MemberId) -> AppResult<bool> {
    Ok(two_step_secret(store, tenant, member).await?.is_some())
}

async fn two_step_secret(store: &Store, tenant: &TenantId, member: &MemberId) -> AppResult<Option<TotpSecret>> {
    Ok(two_step(store, tenant, member).await?.totp)
}

fn set_two_step(
    tenant: &TenantId,
    member: &MemberId,
    set: serde_json::Map<String, serde_json::Value>,
    remove: Vec<String>,
) -> Write {
    Write::Update { key: keys::credential(tenant, member), set, add: Default::default(), remove, condition: None }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TwoStepSetup {
    /// Base32, for typing into an authenticator app.
    pub secret: String,
    /// `otpauth://…`, for a QR code.
    pub otpauth_uri: String,
}

/// Only owners and managers hold two-step sign-in (they can change everything).
fn may_use_two_step(member: &Member) -> Result<(), AuthError> {
    match member.input.role {
        Role::Owner | Role::Manager => Ok(()),
        _ => Err(AuthError::TwoStepNotForRole),
    }
}

/// Starts two-step sign-in: a new secret, pending until a code from it is confirmed.
pub async fn start_two_step(app: &App, audit: &AuditContext, member: &Member) -> Result<TwoStepSetup, AuthError> {
    may_use_two_step(member)?;
    let tenant = tenants::tenant(&app.store, &audit.tenant_id).await?;
    let secret = TotpSecret::generate();
    let mut set = serde_json::Map::new();
    set.insert("totp_pending".into(), json!(secret));
    let mut plan = Plan::new();
    plan.push(
        set_two_step(&audit.tenant_id, &member.id, set, vec![]),
        AppError::Internal("two-step setup not stored".into()),
    );
    plan.commit(&app.store, audit, "member.two_step_started", member.id.as_str()).await?;
    let otpauth_uri = secret.uri(tenant.name.as_str(), member.input.email.as_str());
    Ok(TwoStepSetup { secret: secret.base32().to_owned(), otpauth_uri })
}

fn wrong_code() -> AuthError {
    AuthError::WrongCode
}

/// Turns two-step sign-in on, once a code from the pending secret is right.
pub async fn enable_two_step(app: &App, audit: &AuditContext, member: &Member, code: &str) -> Result<(), AuthError> {
    may_use_two_step(member)?;
    let now = app.store.clock.now().timestamp() as u64;
    let pending = two_step(&app.store, &audit.tenant_id, &member.id).await?.totp_pending;
    let secret = pending.ok_or(AuthError::NoPendingSetup)?;
    if !secret.accepts(code, now) {
        return Err(wrong_code());
    }
    let mut set = serde_json::Map::new();
    set.insert("totp".into(), json!(secret));
    let mut plan = Plan::new();
    plan.push(
        set_two_step(&audit.tenant_id, &member.id, set, vec!["totp_pending".into()]),
        AppError::Internal("two-step not stored".into()),
    );
    Ok(plan.commit(&app.store, audit, "member.two_step_enabled", member.id.as_str()).await?)
}

/// Turns two-step sign-in off, with a current code (so a stolen session alone cannot).
pub async fn disable_two_step(app: &App, audit: &AuditContext, member: &Member, code: &str) -> Result<(), AuthError> {
    let now = app.store.clock.now().timestamp() as u64;
    let secret = two_step_secret(&app.store, &audit.tenant_id, &member.id).await?;
    let secret = secret.ok_or(AuthError::TwoStepOff)?;
    if !secret.accepts(code, now) {
        return Err(wrong_code());
    }
    let mut plan = Plan::new();
    plan.push(
        set_two_step(&audit.tenant_id, &member.id, Default::default(), vec!["totp".into()]),
        AppError::Internal("two-step not removed".into()),
    );
    Ok(plan.commit(&app.store, audit, "member.two_step_disabled", member.id.as_str()).await?)
}

/// Forgets a removed member's sign-in (provider account and two-step secret).
pub async fn forget(app: &App, tenant: &TenantId, member: &Member) -> AppResult<()> {
    app.identity.remove(&account(tenant, member)).await.map_err(provider)?;
    app.store
        .table
        .transact(vec![Write::Delete { key: keys::credential(tenant, &member.id), condition: None }])
        .await
        .map_err(Into::into)
}
