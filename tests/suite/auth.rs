//! Staff sign-in, black-box over HTTP on the embedded identity adapter: invitations, passwords,
//! refresh sessions, the backoff, resets, two-step codes, and ending sessions at once.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::app::{Clinic, TestApp, spawn_app, spawn_app_with_clock};

const PASSWORD: &str = "a long enough password";

async fn emailed_link(app: &TestApp, to: &str, marker: &str) -> String {
    app.emailed_link(to, marker).await
}

fn token_of(link: &str) -> String {
    crate::support::app::link_token(link)
}

async fn sign_in(app: &TestApp, clinic: &str, email: &str, password: &str) -> (StatusCode, Value) {
    app.call("POST", "/v1/auth/sign-in", None, Some(json!({"clinic": clinic, "email": email, "password": password})))
        .await
}

/// Invites a member with `role` and accepts the invitation with `PASSWORD`; their email and session.
async fn invited_member(app: &TestApp, clinic: &Clinic, role: &str) -> (String, Value) {
    let email = format!("{}-{}@{}.test", role.replace('_', "-"), &ulid::Ulid::new().to_string()[20..], clinic.slug)
        .to_lowercase();
    let (status, member) =
        app.post("/v1/team", &clinic.token, json!({"email": email, "name": "New Starter", "role": role})).await;
    assert_eq!(status, StatusCode::CREATED, "{member}");
    let token = token_of(&emailed_link(app, &email, "accept-invite").await);
    let (status, session) = app
        .call("POST", "/v1/auth/invitations/accept", None, Some(json!({"token": token, "password": PASSWORD})))
        .await;
    assert_eq!(status, StatusCode::OK, "{session}");
    (email, session)
}

fn access(session: &Value) -> &str {
    session["access_token"].as_str().unwrap()
}

fn refresh_token(session: &Value) -> &str {
    session["refresh_token"].as_str().unwrap()
}

#[tokio::test]
async fn a_member_invited_by_the_owner_chooses_a_password_from_the_emailed_link_and_signs_in() {
    let app = spawn_app().await;
    let clinic = app.sign_up("invites").await;
    let email = "new.desk@invites.test";
    let (status, member) =
        app.post("/v1/team", &clinic.token, json!({"email": email, "name": "Nia Desk", "role": "front_desk"})).await;
    assert_eq!(status, StatusCode::CREATED, "{member}");
    let link = emailed_link(&app, email, "accept-invite").await;
    assert!(link.starts_with(&format!("{}/app/#/accept-invite?token=", app.base)), "{link}");
    let token = token_of(&link);

    // Before accepting, nobody can sign in as her, whatever they try.
    assert_eq!(sign_in(&app, "invites", email, PASSWORD).await.0, StatusCode::UNAUTHORIZED);

    let (status, preview) = app.call("POST", "/v1/auth/invitations/preview", None, Some(json!({"token": token}))).await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(preview["email"], email);
    assert_eq!(preview["role"], "front_desk");
    assert_eq!(preview["clinic"]["slug"], "invites");

    let (status, weak) =
        app.call("POST", "/v1/auth/invitations/accept", None, Some(json!({"token": token, "password": "short"}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{weak}");
    assert_eq!(weak["error"]["details"]["field"], "password");

    let (status, session) = app
        .call("POST", "/v1/auth/invitations/accept", None, Some(json!({"token": token, "password": PASSWORD})))
        .await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(session["member"]["email"], email);
    assert_eq!(session["tenant"]["slug"], "invites");
    assert_eq!(session["expires_in"], 900);
    let (status, me) = app.get("/v1/me", access(&session)).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["member"]["role"], "front_desk");

    // The link worked once.
    let (status, again) = app
        .call("POST", "/v1/auth/invitations/accept", None, Some(json!({"token": token, "password": PASSWORD})))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{again}");
    let (status, signed_in) = sign_in(&app, "invites", email, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");
}

#[tokio::test]
async fn a_wrong_password_an_unknown_email_and_an_unknown_clinic_answer_alike() {
    let app = spawn_app().await;
    let clinic = app.sign_up("alike").await;
    let (email, _) = invited_member(&app, &clinic, "finance").await;
    let answers = [
        sign_in(&app, "alike", &email, "not the password at all").await,
        sign_in(&app, "alike", "nobody@alike.test", "not the password at all").await,
        sign_in(&app, "no-such-clinic", &email, "not the password at all").await,
    ];
    for (status, body) in &answers {
        assert_eq!(*status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body, &answers[0].1, "every refusal reads the same");
    }
    assert_eq!(answers[0].1["error"]["code"], "invalid_credentials");
}

#[tokio::test]
async fn after_five_failures_an_account_waits_and_says_how_long_even_for_an_unknown_email() {
    // The clock stands still, so the wait it announces is the policy's whole 30 s however slowly
    // this machine runs the attempts.
    let app = spawn_app_with_clock(std::sync::Arc::new(mas_ports::FixedClock::new(chrono::Utc::now()))).await;
    let clinic = app.sign_up("backoff").await;
    let (email, _) = invited_member(&app, &clinic, "front_desk").await;
    for target in [email.as_str(), "ghost@backoff.test"] {
        for attempt in 1..=5 {
            let (status, body) = sign_in(&app, "backoff", target, "wrong password, again").await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {attempt} for {target}: {body}");
        }
        let (status, headers, body) = app
            .send_with_headers(
                "POST",
                "/v1/auth/sign-in",
                None,
                &[],
                Some(json!({"clinic": "backoff", "email": target, "password": PASSWORD})),
            )
            .await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{target}: {body}");
        assert_eq!(body["error"]["code"], "too_many_attempts");
        assert_eq!(headers.get("retry-after").and_then(|v| v.to_str().ok()), Some("30"), "{target}");
    }
    // Another member of the same clinic is not locked out by her colleague's typos.
    let (other, _) = invited_member(&app, &clinic, "practitioner").await;
    assert_eq!(sign_in(&app, "backoff", &other, PASSWORD).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_refresh_token_is_spent_by_its_use_and_a_replayed_copy_ends_the_session() {
    let app = spawn_app().await;
    let clinic = app.sign_up("refresh").await;
    let (_, session) = invited_member(&app, &clinic, "manager").await;
    let first = refresh_token(&session).to_owned();
    let (status, renewed) = app.call("POST", "/v1/auth/refresh", None, Some(json!({"refresh_token": first}))).await;
    assert_eq!(status, StatusCode::OK, "{renewed}");
    assert_ne!(refresh_token(&renewed), first, "a new refresh token each time");
    assert_eq!(app.get("/v1/me", access(&renewed)).await.0, StatusCode::OK);

    // The first token again (a stolen copy): refused, and the session it belonged to is over.
    let (status, replay) = app.call("POST", "/v1/auth/refresh", None, Some(json!({"refresh_token": first}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{replay}");
    assert_eq!(replay["error"]["code"], "session_ended");
    let (status, _) =
        app.call("POST", "/v1/auth/refresh", None, Some(json!({"refresh_token": refresh_token(&renewed)}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the legitimate holder must sign in again too");

    // Signing out ends a session; garbage is simply not a session.
    let (_, fresh) = sign_in(&app, "refresh", session["member"]["email"].as_str().unwrap(), PASSWORD).await;
    let (status, _) =
        app.call("POST", "/v1/auth/sign-out", None, Some(json!({"refresh_token": refresh_token(&fresh)}))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) =
        app.call("POST", "/v1/auth/refresh", None, Some(json!({"refresh_token": refresh_token(&fresh)}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app.call("POST", "/v1/auth/refresh", None, Some(json!({"refresh_token": "x.y.z"}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_password_reset_ends_every_session_of_the_member_at_once() {
    let app = spawn_app().await;
    let clinic = app.sign_up("reset").await;
    let (email, session) = invited_member(&app, &clinic, "practitioner").await;
    let (status, _) = app
        .call("POST", "/v1/auth/password-reset", None, Some(json!({"clinic": "reset", "email": "nobody@reset.test"})))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "a stranger's email answers the same");
    let (status, accepted) =
        app.call("POST", "/v1/auth/password-reset", None, Some(json!({"clinic": "reset", "email": email}))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    assert_eq!(accepted["status"], "sent_if_known");
    let token = token_of(&emailed_link(&app, &email, "reset-password").await);

    let new_password = "a brand new passphrase";
    let (status, body) = app
        .call("POST", "/v1/auth/password-reset/confirm", None, Some(json!({"token": token, "password": new_password})))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    // The access token issued before the reset is refused now, not in fifteen minutes.
    let (status, me) = app.get("/v1/me", access(&session)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{me}");
    let (status, _) =
        app.call("POST", "/v1/auth/refresh", None, Some(json!({"refresh_token": refresh_token(&session)}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(sign_in(&app, "reset", &email, PASSWORD).await.0, StatusCode::UNAUTHORIZED, "the old password");
    let (status, fresh) = sign_in(&app, "reset", &email, new_password).await;
    assert_eq!(status, StatusCode::OK, "{fresh}");
    assert_eq!(app.get("/v1/me", access(&fresh)).await.0, StatusCode::OK);
    let (status, _) = app
        .call("POST", "/v1/auth/password-reset/confirm", None, Some(json!({"token": token, "password": new_password})))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a reset link works once");
}

#[tokio::test]
async fn removing_a_member_ends_their_access_and_refresh_at_once() {
    let app = spawn_app().await;
    let clinic = app.sign_up("removal").await;
    let (email, session) = invited_member(&app, &clinic, "support").await;
    assert_eq!(app.get("/v1/me", access(&session)).await.0, StatusCode::OK);
    let id = session["member"]["id"].as_str().unwrap();
    assert_eq!(app.delete(&format!("/v1/team/{id}"), &clinic.token).await.0, StatusCode::NO_CONTENT);
    assert_eq!(app.get("/v1/me", access(&session)).await.0, StatusCode::UNAUTHORIZED);
    let (status, _) =
        app.call("POST", "/v1/auth/refresh", None, Some(json!({"refresh_token": refresh_token(&session)}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(sign_in(&app, "removal", &email, PASSWORD).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn sign_out_everywhere_ends_the_members_other_sessions_too() {
    let app = spawn_app().await;
    let clinic = app.sign_up("everywhere").await;
    let (email, phone) = invited_member(&app, &clinic, "manager").await;
    let (_, laptop) = sign_in(&app, "everywhere", &email, PASSWORD).await;
    let (status, _) = app.post("/v1/auth/sign-out-everywhere", access(&laptop), json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for session in [&phone, &laptop] {
        assert_eq!(app.get("/v1/me", access(session)).await.0, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn with_two_step_on_an_owner_needs_the_authenticator_code_to_sign_in() {
    use mas_domain::auth::TotpSecret;
    let app = spawn_app().await;
    let clinic = app.sign_up("twostep").await;
    let (email, session) = invited_member(&app, &clinic, "manager").await;
    let (status, setup) = app.post("/v1/auth/mfa/setup", access(&session), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{setup}");
    assert!(setup["otpauth_uri"].as_str().unwrap().starts_with("otpauth://totp/"));
    let secret: TotpSecret = serde_json::from_value(setup["secret"].clone()).unwrap();
    let now = || chrono::Utc::now().timestamp() as u64;
    let (status, wrong) = app.post("/v1/auth/mfa/enable", access(&session), json!({"code": "000000"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{wrong}");
    assert_eq!(app.get("/v1/me", access(&session)).await.1["two_step_enabled"], false);
    let (status, _) = app.post("/v1/auth/mfa/enable", access(&session), json!({"code": secret.code_at(now())})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(app.get("/v1/me", access(&session)).await.1["two_step_enabled"], true);

    let (status, refused) = sign_in(&app, "twostep", &email, PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{refused}");
    assert_eq!(refused["error"]["code"], "mfa_required");
    let body = |code: &str| json!({"clinic": "twostep", "email": email, "password": PASSWORD, "code": code});
    let (status, _) = app.call("POST", "/v1/auth/sign-in", None, Some(body("123456"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, signed_in) = app.call("POST", "/v1/auth/sign-in", None, Some(body(&secret.code_at(now())))).await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");
    // Without the password, a right code gets nowhere and says nothing of two-step.
    let no_password =
        json!({"clinic": "twostep", "email": email, "password": "wrong password!", "code": secret.code_at(now())});
    let (status, body) = app.call("POST", "/v1/auth/sign-in", None, Some(no_password)).await;
    assert_eq!((status, body["error"]["code"].clone()), (StatusCode::UNAUTHORIZED, json!("invalid_credentials")));

    // Front desk cannot turn it on (owners and managers only).
    let (_, desk) = invited_member(&app, &clinic, "front_desk").await;
    assert_eq!(app.post("/v1/auth/mfa/setup", access(&desk), json!({})).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_clinic_signed_up_with_a_password_answers_with_the_owners_session() {
    let app = spawn_app().await;
    let body = json!({"name": "Glow", "slug": "glow-session", "owner": {"email": "you@glow.test", "name": "You", "password": PASSWORD}});
    let (status, signed_up) = app.call("POST", "/v1/tenants", None, Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{signed_up}");
    let session = &signed_up["session"];
    assert_eq!(session["member"]["role"], "owner");
    assert_eq!(app.get("/v1/me", access(session)).await.0, StatusCode::OK);
    assert_eq!(sign_in(&app, "glow-session", "you@glow.test", PASSWORD).await.0, StatusCode::OK);
}
