//! The simulated gateway's card readers, as Stripe Terminal's simulated readers behave in test
//! mode: a Terminal Location per key, readers registered with the codes Stripe gives simulated
//! devices (`simulated-wpe`, `simulated-s700`), one action at a time per reader (a second
//! `process_payment_intent` is refused with `terminal_reader_busy`), and a test helper that
//! presents a card to a reader ([`SimulatedGateway::present_card`], Stripe's
//! `present_payment_method`): Stripe's test card numbers decide, and the caller (the local host's
//! `/local/readers/{id}/present`) posts the signed `terminal.reader.action_*` and
//! `payment_intent.*` events, as Stripe sends them.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::{SimulatedGateway, TestCard, failure_message, random, test_card};
use mas_domain::payment::{IntentId, IntentStatus, ReaderId, TerminalLocationId};
use mas_ports::payments::{
    Intent, PaymentsError, READER_BUSY, ReaderAction, ReaderRequest, TerminalLocationRequest, TerminalReader,
};

#[derive(Default)]
pub(super) struct Readers {
    /// Idempotency key → the Terminal Location it made.
    locations: HashMap<String, TerminalLocationId>,
    by_id: HashMap<String, TerminalReader>,
}

/// The device a simulated registration code stands for.
fn simulated_device(code: &str) -> Option<&'static str> {
    match code {
        "simulated-wpe" => Some("simulated_wisepos_e"),
        "simulated-s700" => Some("simulated_stripe_s700"),
        _ => None,
    }
}

/// The reader as Stripe's API shows it.
pub fn reader_json(reader: &TerminalReader) -> Value {
    let action = reader.action.as_ref().map(|a| {
        json!({
            "type": a.kind,
            "status": a.status,
            "failure_code": a.failure_code,
            "failure_message": a.failure_message,
            "process_payment_intent": { "payment_intent": a.payment_intent },
        })
    });
    json!({
        "id": reader.id,
        "object": "terminal.reader",
        "label": reader.label,
        "location": reader.location,
        "device_type": reader.device_type,
        "status": "online",
        "livemode": false,
        "action": action,
        "metadata": reader.metadata,
    })
}

/// What presenting a card did: the reader and intent as they are now.
#[derive(Debug, Clone)]
pub struct Presented {
    pub reader: TerminalReader,
    pub intent: Intent,
}

impl SimulatedGateway {
    pub(super) fn terminal_location(&self, request: TerminalLocationRequest) -> TerminalLocationId {
        let mut state = self.state();
        state
            .readers
            .locations
            .entry(request.idempotency_key)
            .or_insert_with(|| TerminalLocationId::parse(&random("tml_", 20)).expect("a location id"))
            .clone()
    }

    pub(super) fn register(&self, request: ReaderRequest) -> Result<TerminalReader, PaymentsError> {
        let mut state = self.state();
        if !state.readers.locations.values().any(|l| l == &request.location) {
            return Err(PaymentsError::Refused(format!("no such location: {}", request.location)));
        }
        let Some(device_type) = simulated_device(&request.registration_code) else {
            return Err(PaymentsError::Refused(
                "invalid registration code: in test mode, use simulated-wpe or simulated-s700".into(),
            ));
        };
        let reader = TerminalReader {
            id: ReaderId::parse(&random("tmr_", 20)).expect("a reader id"),
            label: request.label,
            location: Some(request.location),
            device_type: device_type.to_owned(),
            action: None,
            metadata: request.metadata,
        };
        state.readers.by_id.insert(reader.id.to_string(), reader.clone());
        Ok(reader)
    }

    pub(super) fn unregister(&self, reader: &ReaderId) -> Result<(), PaymentsError> {
        self.state().readers.by_id.remove(reader.as_str()).map(drop).ok_or(PaymentsError::NotFound)
    }

    pub(super) fn process(&self, reader: &ReaderId, intent: &IntentId) -> Result<TerminalReader, PaymentsError> {
        let mut state = self.state();
        let status = state.intents.get(intent.as_str()).map(|sim| sim.intent.snapshot.status);
        let Some(status) = status else { return Err(PaymentsError::NotFound) };
        if !matches!(status, IntentStatus::RequiresPaymentMethod | IntentStatus::RequiresConfirmation) {
            return Err(PaymentsError::Refused(format!("this PaymentIntent is {}", status.as_str())));
        }
        let found = state.readers.by_id.get_mut(reader.as_str()).ok_or(PaymentsError::NotFound)?;
        if found.action.as_ref().is_some_and(|a| a.status == "in_progress") {
            return Err(PaymentsError::Refused(format!("{READER_BUSY}: the reader is busy with another action")));
        }
        found.action = Some(ReaderAction {
            kind: "process_payment_intent".into(),
            status: "in_progress".into(),
            payment_intent: Some(intent.clone()),
            failure_code: None,
            failure_message: None,
        });
        Ok(found.clone())
    }

    pub(super) fn cancel_action(&self, reader: &ReaderId) -> Result<TerminalReader, PaymentsError> {
        let mut state = self.state();
        let found = state.readers.by_id.get_mut(reader.as_str()).ok_or(PaymentsError::NotFound)?;
        if found.action.as_ref().is_some_and(|a| a.status == "in_progress") {
            found.action = None;
        }
        Ok(found.clone())
    }

    /// Stripe's test helper `present_payment_method`: the card `number` (a test card; the
    /// approved `4242…` when `None`) is presented to the reader's payment in progress. Approved,
    /// the intent succeeds and the action too; declined, the intent waits for another card with
    /// the decline code, and the action fails with it. Nothing is posted yet.
    pub fn present_card(&self, reader: &ReaderId, number: Option<&str>) -> Result<Presented, PaymentsError> {
        let card = match number {
            None => TestCard::Succeeds,
            Some(number) => test_card(number)
                .ok_or_else(|| PaymentsError::Refused("incorrect_number: not a valid card number".into()))?,
        };
        let intent_id = {
            let state = self.state();
            let found = state.readers.by_id.get(reader.as_str()).ok_or(PaymentsError::NotFound)?;
            match &found.action {
                Some(a) if a.status == "in_progress" => a.payment_intent.clone(),
                _ => None,
            }
            .ok_or_else(|| PaymentsError::Refused("the reader has no payment waiting for a card".into()))?
        };
        let intent = match card {
            // A card on a reader proves its holder with the chip or PIN: no 3-D Secure here.
            TestCard::Succeeds | TestCard::ThreeDSecure => self.settle(&intent_id, super::Outcome::Succeed, "")?,
            TestCard::Declined(code) => self.settle(&intent_id, super::Outcome::Fail, code)?,
        };
        let mut state = self.state();
        let found = state.readers.by_id.get_mut(reader.as_str()).ok_or(PaymentsError::NotFound)?;
        if let Some(action) = found.action.as_mut() {
            match card {
                TestCard::Declined(code) => {
                    action.status = "failed".into();
                    action.failure_code = Some(code.to_owned());
                    action.failure_message = Some(failure_message(code).to_owned());
                }
                _ => action.status = "succeeded".into(),
            }
        }
        Ok(Presented { reader: found.clone(), intent })
    }

    /// Every reader registered and not deleted (any order).
    pub fn readers(&self) -> Vec<TerminalReader> {
        self.state().readers.by_id.values().cloned().collect()
    }
}
