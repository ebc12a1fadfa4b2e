//! Card payments at the desk: the clinic's card readers (Stripe Terminal) and the card payments
//! taken there — on a reader, or on the client's saved card (off-session, with her consent). A
//! desk payment's intent is what the till's `card` tender names; its status only moves forward
//! from what the gateway says of the intent (`DeskPayment::observe`), so events in any order end
//! in the same place.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::{AppointmentId, ClientId, DeskPaymentId, LocationId};
use crate::payment::{IntentId, IntentStatus, ReaderId, TerminalLocationId};
use crate::values::{Money, ParseError, string_value};

/// What the staff call a reader ("Front desk"): 1–60 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "Front desk")]
pub struct ReaderLabel(String);
string_value!(ReaderLabel);

impl ReaderLabel {
    pub fn parse(raw: &str) -> Result<ReaderLabel, ParseError> {
        let label = raw.trim();
        if label.is_empty() || label.chars().count() > 60 || label.chars().any(char::is_control) {
            return Err(ParseError("must be 1–60 characters with no control characters".into()));
        }
        Ok(ReaderLabel(label.to_owned()))
    }
}

/// The code a reader shows when it is set up (`sepia-cerulean-aardvark`, or
/// `simulated-wpe` for Stripe's simulated WisePOS E): 1–64 letters, digits or hyphens.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "simulated-wpe")]
pub struct RegistrationCode(String);
string_value!(RegistrationCode);

impl RegistrationCode {
    pub fn parse(raw: &str) -> Result<RegistrationCode, ParseError> {
        let code = raw.trim().to_ascii_lowercase();
        if code.is_empty() || code.len() > 64 || !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(ParseError("must be the reader's registration code: letters, digits and hyphens".into()));
        }
        Ok(RegistrationCode(code))
    }
}

/// A card reader of the clinic, at one of its locations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CardReader {
    pub id: ReaderId,
    pub location_id: LocationId,
    pub label: ReaderLabel,
    /// The gateway's place for the location's readers.
    pub terminal_location: TerminalLocationId,
    /// `bbpos_wisepos_e`, `stripe_s700`, `simulated_wisepos_e`…
    pub device_type: String,
    /// The desk payment last handed to it: the reader is busy while that one is pending.
    #[serde(default)]
    pub active_payment: Option<DeskPaymentId>,
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

/// How a desk payment is taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum DeskMethod {
    /// The client taps, inserts or swipes her card on a reader.
    Reader { reader_id: ReaderId },
    /// The card the client agreed at booking to keep on file, charged off-session.
    SavedCard { appointment_id: AppointmentId },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeskPaymentStatus {
    /// On the reader, waiting for the card.
    Pending,
    /// Paid: its intent may pay one sale (the `card` tender).
    Succeeded,
    /// The card was declined (`failure_code` says why); start another.
    Declined,
    /// The saved card needs the client to authenticate (3-D Secure): take it on a reader instead.
    RequiresAction,
    /// Cancelled at the desk before a card paid.
    Canceled,
}

impl DeskPaymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeskPaymentStatus::Pending => "pending",
            DeskPaymentStatus::Succeeded => "succeeded",
            DeskPaymentStatus::Declined => "declined",
            DeskPaymentStatus::RequiresAction => "requires_action",
            DeskPaymentStatus::Canceled => "canceled",
        }
    }

    /// Nothing more can happen to it at the desk.
    pub fn is_final(self) -> bool {
        !matches!(self, DeskPaymentStatus::Pending)
    }
}

/// A card payment taken at the desk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeskPayment {
    pub id: DeskPaymentId,
    pub location_id: LocationId,
    #[serde(flatten)]
    pub method: DeskMethod,
    #[serde(default)]
    pub client_id: Option<ClientId>,
    pub amount: Money,
    /// What the till's `card` tender names once the payment succeeded.
    pub intent_id: IntentId,
    pub status: DeskPaymentStatus,
    /// Stripe's decline code (`card_declined`, `insufficient_funds`…) when declined.
    #[serde(default)]
    pub failure_code: Option<String>,
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub created_by: String,
}

impl DeskPayment {
    /// Takes in what the gateway says of the intent now (and, from a reader's failed action,
    /// its failure code). Facts only grow: a succeeded payment stays succeeded whatever arrives
    /// late; a declined or cancelled one becomes succeeded only if the intent really did.
    /// Returns whether anything changed.
    pub fn observe(&mut self, intent: IntentStatus, last_error: Option<&str>, reader_failure: Option<&str>) -> bool {
        use DeskPaymentStatus as S;
        let failure = last_error.or(reader_failure).map(str::to_owned);
        let next = match (self.status, intent) {
            (S::Succeeded, _) => S::Succeeded,
            (_, IntentStatus::Succeeded) => S::Succeeded,
            (_, IntentStatus::Canceled) => S::Canceled,
            (S::Canceled, _) => S::Canceled,
            (_, IntentStatus::RequiresAction) if matches!(self.method, DeskMethod::SavedCard { .. }) => {
                S::RequiresAction
            }
            (_, IntentStatus::RequiresPaymentMethod) if failure.is_some() => S::Declined,
            (current, _) => current,
        };
        let failure = match next {
            S::Declined | S::RequiresAction => failure.or_else(|| self.failure_code.clone()),
            S::Succeeded | S::Pending => None,
            S::Canceled => self.failure_code.clone(),
        };
        let changed = next != self.status || failure != self.failure_code;
        self.status = next;
        self.failure_code = failure;
        changed
    }
}

/// Whether a reader may take a new payment: it is free unless the payment it was last handed is
/// still pending.
pub fn reader_free(active: Option<&DeskPayment>) -> bool {
    active.is_none_or(|p| p.status.is_final())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::{Currency, MinorUnits};

    fn payment(method: DeskMethod) -> DeskPayment {
        let now = Utc::now();
        DeskPayment {
            id: DeskPaymentId::new(),
            location_id: LocationId::new(),
            method,
            client_id: None,
            amount: Money { amount_minor: MinorUnits::new(5000).unwrap(), currency: Currency::gbp() },
            intent_id: IntentId::parse("pi_test").unwrap(),
            status: DeskPaymentStatus::Pending,
            failure_code: None,
            version: 1,
            created_at: now,
            updated_at: now,
            created_by: "mem_x".into(),
        }
    }

    fn on_reader() -> DeskPayment {
        payment(DeskMethod::Reader { reader_id: ReaderId::parse("tmr_test").unwrap() })
    }

    #[test]
    fn a_paid_reader_payment_stays_paid_whatever_news_arrives_late() {
        let mut p = on_reader();
        assert!(p.observe(IntentStatus::Succeeded, None, None));
        assert_eq!(p.status, DeskPaymentStatus::Succeeded);
        assert!(!p.observe(IntentStatus::RequiresPaymentMethod, Some("card_declined"), None));
        assert!(!p.observe(IntentStatus::Canceled, None, None));
        assert_eq!((p.status, p.failure_code), (DeskPaymentStatus::Succeeded, None));
    }

    #[test]
    fn a_declined_card_says_why_from_the_intent_or_else_from_the_reader() {
        let mut p = on_reader();
        assert!(!p.observe(IntentStatus::RequiresPaymentMethod, None, None), "waiting for the card is no news");
        assert!(p.observe(IntentStatus::RequiresPaymentMethod, None, Some("card_declined")));
        assert_eq!((p.status, p.failure_code.as_deref()), (DeskPaymentStatus::Declined, Some("card_declined")));
        let mut q = on_reader();
        assert!(q.observe(IntentStatus::RequiresPaymentMethod, Some("insufficient_funds"), Some("card_declined")));
        assert_eq!(q.failure_code.as_deref(), Some("insufficient_funds"));
    }

    #[test]
    fn a_cancelled_payment_becomes_paid_only_if_its_intent_did_succeed() {
        let mut p = on_reader();
        assert!(p.observe(IntentStatus::Canceled, None, None));
        assert!(!p.observe(IntentStatus::RequiresPaymentMethod, Some("card_declined"), None));
        assert_eq!(p.status, DeskPaymentStatus::Canceled);
        assert!(p.observe(IntentStatus::Succeeded, None, None));
        assert_eq!(p.status, DeskPaymentStatus::Succeeded);
    }

    #[test]
    fn a_saved_card_that_needs_the_client_requires_action_and_a_reader_one_keeps_waiting() {
        let apt = AppointmentId::new();
        let mut saved = payment(DeskMethod::SavedCard { appointment_id: apt });
        assert!(saved.observe(IntentStatus::RequiresAction, None, None));
        assert_eq!(saved.status, DeskPaymentStatus::RequiresAction);
        let mut reader = on_reader();
        assert!(!reader.observe(IntentStatus::RequiresAction, None, None));
        assert_eq!(reader.status, DeskPaymentStatus::Pending);
    }

    #[test]
    fn a_reader_is_busy_only_while_its_last_payment_is_pending() {
        let mut p = on_reader();
        assert!(reader_free(None));
        assert!(!reader_free(Some(&p)));
        p.observe(IntentStatus::RequiresPaymentMethod, Some("card_declined"), None);
        assert!(reader_free(Some(&p)));
    }

    #[test]
    fn labels_and_registration_codes_are_checked() {
        assert!(ReaderLabel::parse("  Front desk ").is_ok_and(|l| l.as_str() == "Front desk"));
        assert!(ReaderLabel::parse("").is_err());
        assert!(ReaderLabel::parse(&"x".repeat(61)).is_err());
        assert_eq!(RegistrationCode::parse("Simulated-WPE").unwrap().as_str(), "simulated-wpe");
        assert!(RegistrationCode::parse("no spaces").is_err());
    }
}
