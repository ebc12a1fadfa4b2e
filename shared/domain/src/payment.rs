//! Payments towards appointments (the deposit, then the balance) and what the gateway tells us
//! about them afterwards. A payment's facts only grow — money captured, refunds, a dispute that
//! closes — so applying the gateway's news in any order, any number of times, ends in one state:
//! a late `processing` never undoes `succeeded`, and a refund total never shrinks.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::values::{Currency, MinorUnits, Money, ParseError};
use crate::error::{AppError, AppResult, Rejection};
use crate::ids::{AppointmentId, ClientId, PayLinkId, PaymentId, SaleId};
use crate::policy::FeeAction;

macro_rules! stripe_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
        #[serde(try_from = "String", into = "String")]
        #[schema(value_type = String, example = json!(concat!($prefix, "3PxYzAbCdEfGh1234567890")))]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// The prefix, then 1–200 ASCII letters, digits or underscores (Stripe's ids, and
            /// the simulated gateway's).
            pub fn parse(raw: &str) -> Result<Self, ParseError> {
                match raw.strip_prefix($prefix) {
                    Some(body)
                        if (1..=200).contains(&body.len())
                            && body.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
                    {
                        Ok($name(raw.to_owned()))
                    }
                    _ => Err(ParseError(format!("must be a Stripe id starting with `{}`", $prefix))),
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = ParseError;
            fn try_from(raw: String) -> Result<Self, ParseError> {
                $name::parse(&raw)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = ParseError;
            fn from_str(raw: &str) -> Result<Self, ParseError> {
                $name::parse(raw)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

stripe_id!(
    /// A PaymentIntent.
    IntentId,
    "pi_"
);
stripe_id!(
    /// A Stripe customer (a client who agreed to keep a card on file).
    CustomerId,
    "cus_"
);
stripe_id!(
    /// A clinic's own Stripe account, connected to the platform (Stripe Connect).
    ConnectedAccountId,
    "acct_"
);
stripe_id!(
    /// A Stripe Terminal card reader at the desk (`tmr_…`).
    ReaderId,
    "tmr_"
);
stripe_id!(
    /// A Stripe Terminal location (`tml_…`): where readers are registered; one per clinic location.
    TerminalLocationId,
    "tml_"
);

/// Where an online payment's money went: the clinic's connected account (a destination charge),
/// less the platform's application fee.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChargeDestination {
    pub account_id: ConnectedAccountId,
    /// What the platform keeps of the charge (minor units of the payment's currency).
    pub application_fee: MinorUnits,
}

/// The secret the browser confirms a PaymentIntent with. Never logged (its `Debug` is redacted),
/// never stored: it is read back from the gateway when asked for again.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, example = "pi_3PxYz_secret_abc")]
pub struct ClientSecret(pub String);

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret(…)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentKind {
    /// Paid online by the client to confirm a booking.
    Deposit,
    /// What is left of the price, collected by staff.
    Balance,
    /// The part of a late-cancellation or no-show fee the deposit did not cover: charged to the
    /// card the client agreed to keep for fees, or paid through a link.
    Fee,
}

impl PaymentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentKind::Deposit => "deposit",
            PaymentKind::Balance => "balance",
            PaymentKind::Fee => "fee",
        }
    }
}

/// How staff collect the balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CollectionMethod {
    /// At the desk: the card reader or the desk's checkout confirms the intent.
    InPerson,
    /// The client gets a link to pay.
    EmailLink,
    /// Charged now to the card the client agreed to keep on file.
    Immediate,
}

/// A PaymentIntent's status as the gateway reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IntentStatus {
    RequiresPaymentMethod,
    RequiresConfirmation,
    RequiresAction,
    Processing,
    RequiresCapture,
    Succeeded,
    Canceled,
}

impl IntentStatus {
    pub fn parse(raw: &str) -> Result<IntentStatus, ParseError> {
        Ok(match raw {
            "requires_payment_method" => IntentStatus::RequiresPaymentMethod,
            "requires_confirmation" => IntentStatus::RequiresConfirmation,
            "requires_action" => IntentStatus::RequiresAction,
            "processing" => IntentStatus::Processing,
            "requires_capture" => IntentStatus::RequiresCapture,
            "succeeded" => IntentStatus::Succeeded,
            "canceled" => IntentStatus::Canceled,
            other => return Err(ParseError(format!("unknown PaymentIntent status `{other}`"))),
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            IntentStatus::RequiresPaymentMethod => "requires_payment_method",
            IntentStatus::RequiresConfirmation => "requires_confirmation",
            IntentStatus::RequiresAction => "requires_action",
            IntentStatus::Processing => "processing",
            IntentStatus::RequiresCapture => "requires_capture",
            IntentStatus::Succeeded => "succeeded",
            IntentStatus::Canceled => "canceled",
        }
    }

    /// Stripe never moves an intent out of these.
    fn is_terminal(self) -> bool {
        matches!(self, IntentStatus::Succeeded | IntentStatus::Canceled)
    }
}

/// A payment's status, derived from its facts (see [`Payment::derive_status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// Waiting for the payer (a card, 3-D Secure, the desk's reader).
    RequiresAction,
    Processing,
    Succeeded,
    /// The last attempt failed, or the intent was cancelled.
    Failed,
    Refunded,
    PartialRefund,
    Disputed,
}

impl PaymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::RequiresAction => "requires_action",
            PaymentStatus::Processing => "processing",
            PaymentStatus::Succeeded => "succeeded",
            PaymentStatus::Failed => "failed",
            PaymentStatus::Refunded => "refunded",
            PaymentStatus::PartialRefund => "partial_refund",
            PaymentStatus::Disputed => "disputed",
        }
    }
}

/// Why money went back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefundKind {
    /// Staff asked for it.
    Requested,
    /// A cancellation or no-show: the policy's fee is kept, the rest of the deposit returned.
    FeeSettlement,
    /// The booking it paid for does not exist (its time was taken after the hold ran out, or it
    /// was cancelled before the payment arrived): money is never kept for nothing.
    Automatic,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RefundRecord {
    /// Our key for this refund, also the gateway's idempotency key: a retry never refunds twice.
    pub key: String,
    /// The gateway's refund id (`re_…`).
    pub gateway_refund_id: String,
    pub amount: MinorUnits,
    pub kind: RefundKind,
    pub reason: String,
    /// A member id or `system`.
    pub by: String,
    pub at: DateTime<Utc>,
}

/// A refund asked of the gateway and not yet confirmed by it; its amount is not refundable again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PendingRefund {
    pub key: String,
    pub amount: MinorUnits,
    pub kind: RefundKind,
    pub reason: String,
    pub by: String,
    pub requested_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Dispute {
    /// The gateway's dispute id (`dp_…`).
    pub id: String,
    /// Stripe's dispute status: `needs_response`, `under_review`, `won`, `lost`…
    pub status: String,
    pub amount: MinorUnits,
}

impl Dispute {
    pub fn is_closed(&self) -> bool {
        matches!(self.status.as_str(), "won" | "lost" | "warning_closed" | "prevented")
    }

    /// Whether the money stays with the clinic after all.
    fn clinic_kept_the_money(&self) -> bool {
        matches!(self.status.as_str(), "won" | "warning_closed" | "prevented")
    }
}

/// What the gateway says a PaymentIntent is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntentSnapshot {
    pub status: IntentStatus,
    pub amount: i64,
    /// What it has collected (some gateways omit it; a succeeded intent collected its amount).
    pub amount_received: Option<i64>,
    pub customer: Option<CustomerId>,
    pub payment_method: Option<String>,
    /// The last attempt's failure, for people (never card details).
    pub last_error: Option<String>,
    /// The connected account the charge goes to, with the platform's fee (a destination charge).
    pub destination: Option<ChargeDestination>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Payment {
    pub id: PaymentId,
    pub appointment_id: AppointmentId,
    pub client_id: ClientId,
    pub kind: PaymentKind,
    /// For a balance: how staff collect it.
    pub collection_method: Option<CollectionMethod>,
    pub intent_id: IntentId,
    /// What is asked for.
    pub amount: Money,
    /// What the gateway collected (minor units of `amount.currency`).
    pub captured: MinorUnits,
    /// What went back, whoever refunded it (here, or in Stripe's dashboard).
    pub refunded: MinorUnits,
    pub status: PaymentStatus,
    pub intent_status: IntentStatus,
    pub failure: Option<String>,
    pub refunds: Vec<RefundRecord>,
    pub pending_refund: Option<PendingRefund>,
    pub dispute: Option<Dispute>,
    /// The client agreed to keep the card on file for later charges.
    pub save_payment_method: bool,
    pub customer_id: Option<CustomerId>,
    /// The card kept on file (only when `save_payment_method`).
    pub payment_method_id: Option<String>,
    /// A deposit the desk till counted towards a sale: that much of it pays for the sale, so it
    /// is no longer refundable here (refund the sale instead) nor counted by another sale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_to_sale: Option<AppliedToSale>,
    /// The payment link this money came through (its hosted page made the intent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_id: Option<PayLinkId>,
    /// The clinic's connected Stripe account the charge went to, and the platform's fee; absent
    /// for a charge on the platform's own account (the simulated gateway without a connection,
    /// payments made before Connect).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<ChargeDestination>,
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Part of a deposit counted towards a sale (`sale::Tender::Deposit`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AppliedToSale {
    pub sale_id: SaleId,
    pub amount: MinorUnits,
    pub at: DateTime<Utc>,
}

/// What one observation changed, for the side effects that follow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Observed {
    pub changed: bool,
    /// Money arrived for the first time.
    pub newly_succeeded: bool,
    /// An attempt failed, or the intent was cancelled, before any money arrived.
    pub newly_failed: bool,
    pub refunded_more: bool,
    pub newly_disputed: bool,
    pub dispute_closed: bool,
}

impl Payment {
    pub fn currency(&self) -> &Currency {
        &self.amount.currency
    }

    /// The status its facts add up to: an open dispute first; then, once money arrived, how
    /// much of it went back; before that, where the intent stands.
    pub fn derive_status(&self) -> PaymentStatus {
        if self.dispute.as_ref().is_some_and(|d| !d.clinic_kept_the_money()) {
            return PaymentStatus::Disputed;
        }
        let (captured, refunded) = (self.captured.get(), self.refunded.get());
        if captured > 0 {
            return if refunded >= captured {
                PaymentStatus::Refunded
            } else if refunded > 0 {
                PaymentStatus::PartialRefund
            } else {
                PaymentStatus::Succeeded
            };
        }
        match self.intent_status {
            IntentStatus::Processing => PaymentStatus::Processing,
            IntentStatus::Canceled => PaymentStatus::Failed,
            IntentStatus::RequiresPaymentMethod if self.failure.is_some() => PaymentStatus::Failed,
            _ => PaymentStatus::RequiresAction,
        }
    }

    /// Takes in what the gateway says the intent is now. Money collected never decreases, and a
    /// terminal status (succeeded, canceled) is never left, whatever order the news comes in.
    pub fn observe_intent(&mut self, intent: &IntentSnapshot) -> Observed {
        let before = self.clone();
        let received = match (intent.status, intent.amount_received) {
            (_, Some(received)) if received > 0 => received,
            (IntentStatus::Succeeded, _) => intent.amount,
            _ => 0,
        };
        if received > self.captured.get() {
            self.captured =
                MinorUnits::new(received.min(self.amount.amount_minor.get())).unwrap_or(self.amount.amount_minor);
        }
        if !self.intent_status.is_terminal() {
            self.intent_status = intent.status;
            self.failure = match intent.status {
                IntentStatus::RequiresPaymentMethod | IntentStatus::Canceled => {
                    intent.last_error.clone().or(self.failure.take())
                }
                _ => None,
            };
            if intent.status == IntentStatus::Canceled && self.failure.is_none() {
                self.failure = Some("canceled".into());
            }
        }
        if self.destination.is_none() {
            self.destination = intent.destination.clone();
        }
        if self.save_payment_method {
            if self.customer_id.is_none() {
                self.customer_id = intent.customer.clone();
            }
            if intent.payment_method.is_some() && self.captured.get() > 0 {
                self.payment_method_id = intent.payment_method.clone();
            }
        }
        self.finish(&before)
    }

    /// Takes in a charge as the gateway reports it: what it collected and its refunded total
    /// (a `charge.refunded` may arrive before the intent's `succeeded`).
    pub fn observe_charge(&mut self, captured: i64, refunded_total: i64) -> Observed {
        let before = self.clone();
        if captured > self.captured.get() {
            self.captured =
                MinorUnits::new(captured.min(self.amount.amount_minor.get())).unwrap_or(self.amount.amount_minor);
        }
        let total = refunded_total.clamp(0, self.captured.get());
        if total > self.refunded.get() {
            self.refunded = MinorUnits::new(total).unwrap_or(self.refunded);
        }
        self.finish(&before)
    }

    /// Takes in a dispute; a closed dispute never reopens when older news arrives late.
    pub fn observe_dispute(&mut self, dispute: Dispute) -> Observed {
        let before = self.clone();
        let keep_current =
            self.dispute.as_ref().is_some_and(|d| d.id == dispute.id && d.is_closed() && !dispute.is_closed());
        if !keep_current {
            self.dispute = Some(dispute);
        }
        self.finish(&before)
    }

    /// Records a refund the gateway confirmed (once per key) and clears its reservation.
    pub fn record_refund(&mut self, refund: RefundRecord) -> Observed {
        let before = self.clone();
        if self.pending_refund.as_ref().is_some_and(|p| p.key == refund.key) {
            self.pending_refund = None;
        }
        if !self.refunds.iter().any(|r| r.key == refund.key) {
            self.refunds.push(refund);
            // Stripe's own total (from `charge.refunded`) may already include this refund, so the
            // larger of the two is the truth, never their sum.
            let ours: i64 = self.refunds.iter().map(|r| r.amount.get()).sum();
            let total = ours.max(self.refunded.get()).min(self.captured.get());
            self.refunded = MinorUnits::new(total).unwrap_or(self.refunded);
        }
        self.finish(&before)
    }

    fn finish(&mut self, before: &Payment) -> Observed {
        self.status = self.derive_status();
        let was_closed = before.dispute.as_ref().is_some_and(Dispute::is_closed);
        Observed {
            changed: self != before,
            newly_succeeded: before.captured.get() == 0 && self.captured.get() > 0,
            newly_failed: self.captured.get() == 0
                && self.status == PaymentStatus::Failed
                && (before.status != PaymentStatus::Failed || before.failure != self.failure),
            refunded_more: self.refunded > before.refunded,
            newly_disputed: before.dispute.is_none() && self.dispute.is_some(),
            // Also when the first news of a dispute is its closing (events come in any order).
            dispute_closed: !was_closed && self.dispute.as_ref().is_some_and(Dispute::is_closed),
        }
    }

    /// What can still be refunded: collected, less refunded, less a refund in flight, less what
    /// a sale counted of it.
    pub fn refundable(&self) -> i64 {
        let pending = self.pending_refund.as_ref().map_or(0, |p| p.amount.get());
        let applied = self.applied_to_sale.as_ref().map_or(0, |a| a.amount.get());
        (self.captured.get() - self.refunded.get() - pending - applied).max(0)
    }

    /// Counts `amount` of this deposit towards `sale`: only a deposit, only once (a second sale
    /// is refused: 409 `deposit_already_applied`), never more than it collected and still holds
    /// (422 `deposit_exceeds_paid`, with what is available). The caller writes it versioned.
    pub fn apply_to_sale(
        &mut self,
        sale: &SaleId,
        amount: MinorUnits,
        at: DateTime<Utc>,
        field: &str,
    ) -> AppResult<()> {
        if self.kind != PaymentKind::Deposit {
            return Err(AppError::invalid("not_a_deposit", field, "this payment is not a booking's deposit"));
        }
        if self.applied_to_sale.is_some() {
            return Err(AppError::conflict(
                "deposit_already_applied",
                "this deposit already counts towards another sale (void that sale to use it here)",
            ));
        }
        let available = self.refundable();
        if amount.get() == 0 || amount.get() > available {
            return Err(AppError::Rejected {
                kind: Rejection::Invalid,
                code: "deposit_exceeds_paid",
                message: format!("at most {available} of this deposit was paid and is still held"),
                details: serde_json::json!({ "field": field, "available_minor": available }),
            });
        }
        self.applied_to_sale = Some(AppliedToSale { sale_id: sale.clone(), amount, at });
        self.version += 1;
        self.updated_at = at;
        Ok(())
    }

    /// Releases the deposit from `sale` (its void): it may count towards another sale. False
    /// when it does not count towards that sale.
    pub fn release_from_sale(&mut self, sale: &SaleId, at: DateTime<Utc>) -> bool {
        if self.applied_to_sale.as_ref().is_none_or(|a| &a.sale_id != sale) {
            return false;
        }
        self.applied_to_sale = None;
        self.version += 1;
        self.updated_at = at;
        true
    }

    /// The amount a refund request may take (all that is refundable when `amount` is absent);
    /// never more than was collected and not yet given back.
    pub fn check_refund(&self, amount: Option<MinorUnits>) -> AppResult<MinorUnits> {
        let details = serde_json::json!({
            "captured": self.captured.get(),
            "refunded": self.refunded.get(),
            "refundable": self.refundable(),
            "currency": self.currency(),
        });
        let refuse = |code: &'static str, message: &str| AppError::Rejected {
            kind: Rejection::Invalid,
            code,
            message: message.into(),
            details: details.clone(),
        };
        if self.captured.get() == 0 {
            return Err(refuse(
                "nothing_captured",
                "this payment has not collected any money, so nothing can be refunded",
            ));
        }
        let refundable = self.refundable();
        let wanted = amount.map_or(refundable, MinorUnits::get);
        if refundable == 0 {
            return Err(refuse("nothing_to_refund", "everything this payment collected has already been refunded"));
        }
        if wanted == 0 {
            return Err(AppError::invalid("out_of_range", "amount", "a refund must be at least one minor unit"));
        }
        if wanted > refundable {
            return Err(refuse(
                "refund_exceeds_captured",
                "a refund may not exceed what was collected and not yet refunded",
            ));
        }
        Ok(MinorUnits::new(wanted).expect("within what was captured"))
    }
}

/// What a payment link asks the client to pay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkPurpose {
    /// What is left of an appointment's price (the desk's "email the client a link").
    Balance,
    /// A fee the deposit did not cover and no card on file paid.
    Fee,
}

/// Where a payment link stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkStatus {
    /// Asked for; its hosted page may not exist yet and nothing has reached the client.
    Requested,
    /// The link reached the client on at least one channel.
    Sent,
    /// It could not be sent on any channel (`not_sent_reason` says why); it can still be paid.
    NotSent,
    /// Paid: the money is the payment `payment_id`.
    Paid,
    /// Its hosted page expired unpaid.
    Expired,
}

impl LinkStatus {
    /// Still payable (and worth sending).
    pub fn is_open(self) -> bool {
        matches!(self, LinkStatus::Requested | LinkStatus::Sent | LinkStatus::NotSent)
    }
}

/// A request that the client pay `amount` on a hosted payment page (Stripe Checkout; the local
/// host's simulated page). Its money, once paid, is the payment `payment_id` (made when the
/// gateway reports the page paid, since the page makes its own intent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PayLink {
    pub id: PayLinkId,
    pub client_id: ClientId,
    pub appointment_id: AppointmentId,
    pub purpose: LinkPurpose,
    /// For a fee: what it is the fee of.
    pub fee_action: Option<FeeAction>,
    pub amount: Money,
    /// The payment its money becomes.
    pub payment_id: PaymentId,
    pub status: LinkStatus,
    /// The gateway's hosted page (`cs_…`), once made.
    pub session_id: Option<String>,
    /// The page's address: the client's to open (never answered to staff or logged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub url: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub sent_at: Option<DateTime<Utc>>,
    /// Why no channel took it (no address, no consent…).
    pub not_sent_reason: Option<String>,
    pub paid_at: Option<DateTime<Utc>>,
    /// The intent the client pays in the portal instead of on the hosted page (which is expired
    /// as it is made, so the link has one way to be paid at a time).
    #[serde(default)]
    pub in_page_intent: Option<IntentId>,
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The body of an appointment id (after `apt_`), for ids derived from it.
fn body(appointment: &AppointmentId) -> &str {
    &appointment.as_str()[AppointmentId::PREFIX.len()..]
}

fn derived<T>(parse: fn(&str) -> Result<T, ParseError>, raw: String) -> T {
    parse(&raw).unwrap_or_else(|e| panic!("a derived id is valid ({raw}): {}", e.0))
}

/// The `n`th balance link of an appointment (a new one only once the last expired).
pub fn balance_link_id(appointment: &AppointmentId, n: usize) -> PayLinkId {
    derived(PayLinkId::parse, format!("{}{}b{n}", PayLinkId::PREFIX, body(appointment)))
}

/// The link of the fee an appointment's `action` left unpaid (one per appointment and action).
pub fn fee_link_id(appointment: &AppointmentId, action: FeeAction) -> PayLinkId {
    derived(PayLinkId::parse, format!("{}{}f{}", PayLinkId::PREFIX, body(appointment), action.code()))
}

/// The off-session charge of an appointment's fee (one per appointment and action).
pub fn fee_payment_id(appointment: &AppointmentId, action: FeeAction) -> PaymentId {
    derived(PaymentId::parse, format!("{}{}f{}", PaymentId::PREFIX, body(appointment), action.code()))
}

impl PayLink {
    /// A link just asked for: the payment its money becomes is derived from it.
    #[allow(clippy::too_many_arguments)]
    pub fn requested(
        id: PayLinkId,
        client_id: ClientId,
        appointment_id: AppointmentId,
        purpose: LinkPurpose,
        fee_action: Option<FeeAction>,
        amount: Money,
        now: DateTime<Utc>,
    ) -> PayLink {
        let rest = &id.as_str()[PayLinkId::PREFIX.len() + body(&appointment_id).len()..];
        let payment_id = derived(PaymentId::parse, format!("{}{}l{rest}", PaymentId::PREFIX, body(&appointment_id)));
        PayLink {
            id,
            client_id,
            appointment_id,
            purpose,
            fee_action,
            amount,
            payment_id,
            status: LinkStatus::Requested,
            session_id: None,
            url: None,
            expires_at: None,
            sent_at: None,
            not_sent_reason: None,
            paid_at: None,
            in_page_intent: None,
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    /// Still payable at `now`: open, and its page (if made) not past its expiry.
    pub fn payable(&self, now: DateTime<Utc>) -> bool {
        self.status.is_open() && self.expires_at.is_none_or(|at| at > now)
    }

    /// What the client is asked to pay for, in words (`the balance`, `the no-show fee`).
    pub fn what(&self) -> &'static str {
        match (self.purpose, self.fee_action) {
            (LinkPurpose::Balance, _) => "the balance",
            (LinkPurpose::Fee, Some(FeeAction::NoShow)) => "the missed-appointment fee",
            (LinkPurpose::Fee, Some(FeeAction::Cancel)) => "the late-cancellation fee",
            (LinkPurpose::Fee, _) => "the fee",
        }
    }

    /// The link as staff see it: without its address (the client's to open).
    pub fn redacted(mut self) -> PayLink {
        self.url = None;
        self
    }
}

/// Where a fee above the deposit stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FeeStatus {
    /// Decided with the cancellation or no-show; not yet charged.
    Due,
    /// Charged off-session to the card the client agreed to keep for fees.
    Charged,
    /// Owed by the client: no consent, no card on file, or the card was declined; a payment link
    /// was asked for.
    Unpaid,
    /// Paid through its payment link.
    Paid,
}

/// The part of a late-cancellation or no-show fee the deposit did not cover, one per appointment
/// and action: charged once to the card on file when the client agreed to that at booking,
/// otherwise an unpaid balance on the client with a payment link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FeeCharge {
    pub appointment_id: AppointmentId,
    pub client_id: ClientId,
    pub action: FeeAction,
    /// What is charged: the fee less what the deposit kept.
    pub amount: Money,
    /// The whole fee the policy asked for.
    pub fee: Money,
    pub policy_version: u32,
    pub status: FeeStatus,
    /// The payment that paid it (the off-session charge, or its link's payment).
    pub payment_id: Option<PaymentId>,
    /// The link asked for when it is unpaid.
    pub link_id: Option<PayLinkId>,
    /// Why it is unpaid: `no_consent`, `no_saved_card`, or the gateway's decline.
    pub reason: Option<String>,
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl FeeCharge {
    /// Still owed by the client.
    pub fn outstanding(&self) -> bool {
        matches!(self.status, FeeStatus::Due | FeeStatus::Unpaid)
    }
}

/// `4000` GBP → `£40.00`, as a client reads a price (every supported currency has two minor
/// digits): the symbol where it is unambiguous in British English (£, €, $ for US dollars, and
/// A$, NZ$, CA$ as `Intl.NumberFormat('en-GB')` writes them), the code before the figure for
/// the rest (`CHF 12.00`); a negative amount keeps its sign in front (`-£4.02`).
pub fn money_text(amount: i64, currency: &Currency) -> String {
    let sign = if amount < 0 { "-" } else { "" };
    let (units, cents) = (amount.unsigned_abs() / 100, amount.unsigned_abs() % 100);
    let symbol = match currency.as_str() {
        "GBP" => "£",
        "EUR" => "€",
        "USD" => "$",
        "AUD" => "A$",
        "NZD" => "NZ$",
        "CAD" => "CA$",
        code => return format!("{sign}{code} {units}.{cents:02}"),
    };
    format!("{sign}{symbol}{units}.{cents:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payment(amount: i64) -> Payment {
        let now = Utc::now();
        Payment {
            id: PaymentId::new(),
            appointment_id: AppointmentId::new(),
            client_id: ClientId::new(),
            kind: PaymentKind::Deposit,
            collection_method: None,
            intent_id: IntentId::parse("pi_test1").unwrap(),
            amount: Money { amount_minor: MinorUnits::new(amount).unwrap(), currency: Currency::gbp() },
            captured: MinorUnits::new(0).unwrap(),
            refunded: MinorUnits::new(0).unwrap(),
            status: PaymentStatus::RequiresAction,
            intent_status: IntentStatus::RequiresPaymentMethod,
            failure: None,
            refunds: vec![],
            pending_refund: None,
            dispute: None,
            save_payment_method: false,
            customer_id: None,
            payment_method_id: None,
            applied_to_sale: None,
            link_id: None,
            destination: None,
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    fn snapshot(status: IntentStatus, received: Option<i64>) -> IntentSnapshot {
        IntentSnapshot {
            status,
            amount: 4000,
            amount_received: received,
            customer: None,
            payment_method: None,
            last_error: None,
            destination: None,
        }
    }

    #[test]
    fn the_connected_account_a_charge_went_to_is_kept_once_known_and_never_replaced() {
        let mut p = payment(4000);
        let destination = ChargeDestination {
            account_id: ConnectedAccountId::parse("acct_1Clinic").unwrap(),
            application_fee: MinorUnits::new(100).unwrap(),
        };
        let first = p.observe_intent(&IntentSnapshot {
            destination: Some(destination.clone()),
            ..snapshot(IntentStatus::RequiresPaymentMethod, None)
        });
        assert!(first.changed && !first.newly_succeeded);
        let other = ChargeDestination {
            account_id: ConnectedAccountId::parse("acct_2Other").unwrap(),
            application_fee: MinorUnits::new(0).unwrap(),
        };
        let later = p.observe_intent(&IntentSnapshot {
            destination: Some(other),
            ..snapshot(IntentStatus::RequiresPaymentMethod, None)
        });
        assert!(!later.changed);
        assert_eq!(p.destination, Some(destination));
        assert!(ConnectedAccountId::parse("acct_").is_err() && ConnectedAccountId::parse("acc_1").is_err());
    }

    #[test]
    fn a_late_processing_never_downgrades_a_succeeded_payment() {
        let mut p = payment(4000);
        let first = p.observe_intent(&snapshot(IntentStatus::Succeeded, Some(4000)));
        assert!(first.newly_succeeded && first.changed);
        let late = p.observe_intent(&snapshot(IntentStatus::Processing, Some(0)));
        assert!(!late.changed, "{p:?}");
        assert_eq!((p.status, p.captured.get()), (PaymentStatus::Succeeded, 4000));
        assert!(!p.observe_intent(&snapshot(IntentStatus::Succeeded, Some(4000))).newly_succeeded, "once only");
    }

    fn dispute(status: &str) -> Dispute {
        Dispute { id: "dp_1".into(), status: status.into(), amount: MinorUnits::new(2500).unwrap() }
    }

    #[test]
    fn news_in_any_order_ends_in_the_same_payment() {
        let news: [fn(&mut Payment); 5] = [
            |p| {
                p.observe_intent(&snapshot(IntentStatus::Processing, None));
            },
            |p| {
                p.observe_intent(&snapshot(IntentStatus::Succeeded, None));
            },
            |p| {
                p.observe_charge(4000, 1500);
            },
            |p| {
                p.observe_dispute(dispute("needs_response"));
            },
            |p| {
                p.observe_dispute(dispute("won"));
            },
        ];
        let orders = [[0, 1, 2, 3, 4], [4, 3, 2, 1, 0], [2, 0, 4, 1, 3], [1, 4, 0, 3, 2]];
        let mut ends = Vec::new();
        for order in orders {
            let mut p = payment(4000);
            for i in order {
                news[i](&mut p);
            }
            ends.push((p.status, p.captured, p.refunded, p.dispute.clone()));
        }
        assert!(ends.iter().all(|e| e == &ends[0]), "{ends:?}");
        assert_eq!(ends[0].0, PaymentStatus::PartialRefund);
    }

    #[test]
    fn a_refund_may_not_exceed_what_was_captured_and_not_yet_refunded() {
        let mut p = payment(4000);
        assert!(matches!(p.check_refund(None), Err(AppError::Rejected { code: "nothing_captured", .. })));
        p.observe_intent(&snapshot(IntentStatus::Succeeded, Some(4000)));
        assert_eq!(p.check_refund(None).unwrap().get(), 4000);
        let record = |key: &str, amount| RefundRecord {
            key: key.into(),
            gateway_refund_id: format!("re_{key}"),
            amount: MinorUnits::new(amount).unwrap(),
            kind: RefundKind::Requested,
            reason: "asked".into(),
            by: "mem_1".into(),
            at: Utc::now(),
        };
        p.record_refund(record("a", 1000));
        assert_eq!(p.status, PaymentStatus::PartialRefund);
        assert!(matches!(
            p.check_refund(Some(MinorUnits::new(3001).unwrap())),
            Err(AppError::Rejected { code: "refund_exceeds_captured", .. })
        ));
        p.record_refund(record("a", 1000));
        assert_eq!(p.refunded.get(), 1000, "the same refund recorded twice counts once");
        // Stripe's charge.refunded already counted it: the larger total wins, never the sum.
        p.observe_charge(4000, 1000);
        assert_eq!(p.refunded.get(), 1000);
        p.record_refund(record("b", 3000));
        assert_eq!((p.status, p.refundable()), (PaymentStatus::Refunded, 0));
        assert!(matches!(p.check_refund(None), Err(AppError::Rejected { code: "nothing_to_refund", .. })));
    }

    #[test]
    fn a_failed_attempt_is_failed_until_money_arrives_and_a_closed_dispute_never_reopens() {
        let mut p = payment(4000);
        let mut failed = snapshot(IntentStatus::RequiresPaymentMethod, None);
        failed.last_error = Some("card_declined".into());
        assert!(p.observe_intent(&failed).newly_failed);
        assert_eq!(p.status, PaymentStatus::Failed);
        assert!(p.observe_intent(&snapshot(IntentStatus::Succeeded, Some(4000))).newly_succeeded);
        let lost = Dispute { id: "dp_1".into(), status: "lost".into(), amount: MinorUnits::new(4000).unwrap() };
        p.observe_dispute(lost.clone());
        let late = p.observe_dispute(Dispute { status: "needs_response".into(), ..lost });
        assert!(!late.changed);
        assert_eq!(p.status, PaymentStatus::Disputed);
    }

    #[test]
    fn money_reads_as_currency_and_two_digits() {
        assert_eq!(money_text(4000, &Currency::gbp()), "£40.00");
        assert_eq!(money_text(5, &Currency::gbp()), "£0.05");
        assert_eq!(money_text(-402, &Currency::gbp()), "-£4.02");
        assert_eq!(money_text(123456, &Currency::parse("EUR").unwrap()), "€1234.56");
        assert_eq!(money_text(1200, &Currency::parse("CHF").unwrap()), "CHF 12.00");
    }
}
