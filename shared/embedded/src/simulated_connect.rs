//! The simulated gateway's connected accounts, as Stripe Connect behaves for Express accounts: an
//! `acct_…` per idempotency key that can take nothing until its onboarding form is done, single-use
//! onboarding links (the local host serves the form at `/local/connect/{account}`, on the host its
//! return URL names), and `account.updated` posted to our Connect webhook, signed with the Connect
//! endpoint's own secret and carrying the account (`"account": "acct_…"`), as Stripe sends it.
//! Destination charges keep their account and fee; what each account was paid, less fees and
//! refunds, is its ledger ([`Ledger`]).

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::checkout::origin;
use super::{Delivery, SimulatedGateway, random};
use mas_domain::connect::{AccountStatus, Requirements};
use mas_domain::payment::{ConnectedAccountId, IntentStatus};
use mas_ports::payments::{AccountRequest, ConnectedAccount, OnboardingLink, OnboardingRequest, PaymentsError};

/// What the owner does on the simulated onboarding form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Onboarding {
    /// Everything given and verified at once: charges and payouts enabled.
    Complete,
    /// The form is submitted, but Stripe is still verifying: nothing enabled yet.
    Pending,
    /// Left before the end: the form is not submitted.
    Leave,
}

#[derive(Debug, Clone)]
pub(super) struct SimAccount {
    account: ConnectedAccount,
    /// Where the latest onboarding link sends the owner back, and when it stops working.
    return_url: Option<String>,
    refresh_url: Option<String>,
    link_expires_at: Option<DateTime<Utc>>,
}

#[derive(Default)]
pub(super) struct Accounts {
    by_id: HashMap<String, SimAccount>,
    /// Idempotency key → the account it made.
    keys: HashMap<String, String>,
}

impl Accounts {
    /// What Stripe says of `id` now, if it is one of ours.
    pub(super) fn status(&self, id: &ConnectedAccountId) -> Option<&AccountStatus> {
        self.by_id.get(id.as_str()).map(|a| &a.account.status)
    }
}

/// What the owner's onboarding page shows.
#[derive(Debug, Clone)]
pub struct OnboardingPage {
    pub account: ConnectedAccount,
    pub return_url: Option<String>,
    pub refresh_url: Option<String>,
    /// The link has expired (the page then sends the owner to `refresh_url` for a new one).
    pub expired: bool,
}

/// What a connected account was paid through destination charges: charges in, the platform's
/// fees out, refunds out (reversed transfers) and fees given back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ledger {
    pub charged: i64,
    pub application_fees: i64,
    pub reversed: i64,
    pub fees_refunded: i64,
}

impl Ledger {
    /// What the clinic keeps.
    pub fn net(&self) -> i64 {
        self.charged - self.application_fees - self.reversed + self.fees_refunded
    }
}

/// What Stripe asks of a new Express account before it may take charges.
fn first_requirements() -> Requirements {
    Requirements {
        currently_due: ["business_profile.url", "external_account", "individual.dob.day", "tos_acceptance.date"]
            .map(str::to_owned)
            .to_vec(),
        past_due: Vec::new(),
        disabled_reason: Some("requirements.past_due".into()),
        current_deadline: None,
    }
}

/// The account as Stripe's API shows it.
pub fn account_json(account: &ConnectedAccount) -> Value {
    let s = &account.status;
    json!({
        "id": account.id,
        "object": "account",
        "type": "express",
        "charges_enabled": s.charges_enabled,
        "payouts_enabled": s.payouts_enabled,
        "details_submitted": s.details_submitted,
        "requirements": {
            "currently_due": s.requirements.currently_due,
            "past_due": s.requirements.past_due,
            "eventually_due": s.requirements.currently_due,
            "disabled_reason": s.requirements.disabled_reason,
            "current_deadline": s.requirements.current_deadline.map(|at| at.timestamp()),
        },
        "metadata": account.metadata,
    })
}

impl SimulatedGateway {
    pub(super) fn create_account(&self, request: AccountRequest) -> Result<ConnectedAccount, PaymentsError> {
        let mut state = self.state();
        if let Some(id) = state.accounts.keys.get(&request.idempotency_key) {
            return Ok(state.accounts.by_id[id].account.clone());
        }
        if request.country.len() != 2 || !request.country.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(PaymentsError::Refused("country must be a two-letter ISO code".into()));
        }
        let id = ConnectedAccountId::parse(&random("acct_", 16)).expect("an account id");
        let account = ConnectedAccount {
            id: id.clone(),
            status: AccountStatus { requirements: first_requirements(), ..Default::default() },
            metadata: request.metadata.clone(),
        };
        state.accounts.keys.insert(request.idempotency_key, id.to_string());
        state.accounts.by_id.insert(
            id.to_string(),
            SimAccount { account: account.clone(), return_url: None, refresh_url: None, link_expires_at: None },
        );
        Ok(account)
    }

    pub(super) fn retrieve_account(&self, id: &ConnectedAccountId) -> Result<ConnectedAccount, PaymentsError> {
        self.state().accounts.by_id.get(id.as_str()).map(|a| a.account.clone()).ok_or(PaymentsError::NotFound)
    }

    pub(super) fn account_link(&self, request: OnboardingRequest) -> Result<OnboardingLink, PaymentsError> {
        let expires_at = self.clock.now() + Duration::minutes(5);
        let mut state = self.state();
        let account = state.accounts.by_id.get_mut(request.account.as_str()).ok_or(PaymentsError::NotFound)?;
        account.return_url = Some(request.return_url.clone());
        account.refresh_url = Some(request.refresh_url.clone());
        account.link_expires_at = Some(expires_at);
        Ok(OnboardingLink {
            url: format!("{}/local/connect/{}", origin(&request.return_url), request.account),
            expires_at,
        })
    }

    /// The onboarding page of `account`, if it exists.
    pub fn onboarding_page(&self, account: &ConnectedAccountId) -> Option<OnboardingPage> {
        let now = self.clock.now();
        let state = self.state();
        let sim = state.accounts.by_id.get(account.as_str())?;
        Some(OnboardingPage {
            account: sim.account.clone(),
            return_url: sim.return_url.clone(),
            refresh_url: sim.refresh_url.clone(),
            expired: sim.link_expires_at.is_none_or(|at| at <= now),
        })
    }

    /// The owner leaves the onboarding form (nothing is posted yet). An expired or used link
    /// refuses, as Stripe's do: the owner asks for a new one.
    pub fn onboard(
        &self,
        account: &ConnectedAccountId,
        outcome: Onboarding,
    ) -> Result<ConnectedAccount, PaymentsError> {
        let now = self.clock.now();
        let mut state = self.state();
        let sim = state.accounts.by_id.get_mut(account.as_str()).ok_or(PaymentsError::NotFound)?;
        if sim.link_expires_at.is_none_or(|at| at <= now) {
            return Err(PaymentsError::Refused("this onboarding link has expired or was used".into()));
        }
        sim.link_expires_at = None;
        let status = &mut sim.account.status;
        match outcome {
            Onboarding::Complete => {
                *status = AccountStatus {
                    charges_enabled: true,
                    payouts_enabled: true,
                    details_submitted: true,
                    requirements: Requirements::default(),
                }
            }
            Onboarding::Pending => {
                status.details_submitted = true;
                status.requirements = Requirements {
                    disabled_reason: Some("requirements.pending_verification".into()),
                    ..Requirements::default()
                };
            }
            Onboarding::Leave => {}
        }
        Ok(sim.account.clone())
    }

    /// Stripe changes its mind about an account (verification done, a document past due…):
    /// what `account.updated` then reports.
    pub fn set_account_status(
        &self,
        account: &ConnectedAccountId,
        status: AccountStatus,
    ) -> Result<ConnectedAccount, PaymentsError> {
        let mut state = self.state();
        let sim = state.accounts.by_id.get_mut(account.as_str()).ok_or(PaymentsError::NotFound)?;
        sim.account.status = status;
        Ok(sim.account.clone())
    }

    /// Every connected account (any order).
    pub fn accounts(&self) -> Vec<ConnectedAccount> {
        self.state().accounts.by_id.values().map(|a| a.account.clone()).collect()
    }

    /// What `account` was paid through destination charges, less fees and refunds.
    pub fn ledger(&self, account: &ConnectedAccountId) -> Ledger {
        let state = self.state();
        let mut ledger = Ledger::default();
        for sim in state.intents.values() {
            let snapshot = &sim.intent.snapshot;
            let Some(destination) = snapshot.destination.as_ref().filter(|d| &d.account_id == account) else {
                continue;
            };
            if snapshot.status != IntentStatus::Succeeded {
                continue;
            }
            ledger.charged += snapshot.amount_received.unwrap_or(snapshot.amount);
            ledger.application_fees += destination.application_fee.get();
            ledger.reversed += sim.refunded;
            ledger.fees_refunded += sim.fee_refunded;
        }
        ledger
    }

    /// A Stripe-shaped event from a connected account (`account` at the top, as Stripe's Connect
    /// endpoints receive them) about `object`, signed with the Connect endpoint's secret.
    pub fn signed_connect_event(
        &self,
        event_type: &str,
        account: &ConnectedAccountId,
        object: Value,
    ) -> (String, Vec<u8>, String) {
        self.sign_envelope(event_type, object, Some(account), &self.connect_secret)
    }

    /// Posts `account.updated` (as the account is now) to `url`, our Connect webhook.
    pub async fn deliver_account_updated(
        &self,
        url: &str,
        account: &ConnectedAccountId,
    ) -> Result<Delivery, PaymentsError> {
        let current = self.retrieve_account(account)?;
        let signed = self.signed_connect_event("account.updated", account, account_json(&current));
        self.post_signed(url, "account.updated", signed).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_onboarding_form_is_served_by_the_host_of_its_return_url() {
        assert_eq!(origin("http://127.0.0.1:3000/app/#/settings/payments"), "http://127.0.0.1:3000");
    }

    #[test]
    fn a_ledger_keeps_what_was_charged_less_the_fees_and_refunds() {
        let ledger = Ledger { charged: 4000, application_fees: 100, reversed: 1000, fees_refunded: 25 };
        assert_eq!(ledger.net(), 2925);
    }
}
