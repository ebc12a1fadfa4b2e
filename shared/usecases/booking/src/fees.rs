//! Fees above the deposit: the part of a late-cancellation or no-show fee that the deposit kept
//! under the policy does not cover (`FeePreview::still_owed`).
//!
//! The change that incurs it (cancelling, recording a no-show) stores the fee as `due` and
//! announces `payment.fee_due` in its own transaction. The notifications worker then settles it
//! once ([`settle`]): charged off-session to the card the client agreed at booking to keep for
//! fees (the card their deposit was paid with), or — without that consent, without a saved card,
//! or when the card is declined or needs the client to authenticate — recorded as an unpaid
//! balance on the client with a payment link asked for (`payment.link_requested`).
//!
//! Once: the fee item moves out of `due` with a write conditional on its version, the charge's
//! payment id and the gateway's idempotency key are derived from the appointment and action, so
//! a retried or concurrent worker asks the gateway the same question under the same key (one
//! charge) and at most one of them records the answer.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::connect::ConnectError;
use crate::payments::{self, Ports};
use crate::records;
use mas_domain::appointment::Appointment;
use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::{AppointmentId, ClientId, TenantId};
use mas_domain::payment::{
    ChargeDestination, FeeCharge, FeeStatus, IntentStatus, LinkPurpose, PayLink, PaymentKind, fee_link_id,
    fee_payment_id, money_text,
};
use mas_domain::policy::{FeeAction, FeePreview};
use mas_ports::events::DomainEvent;
use mas_ports::payments::IntentRequest;
use mas_ports::{Condition, PaymentsError, Query, SortKey, Write};
use mas_store::keys;
use mas_store::{AuditContext, Once, Plan, Store, TimelineEntry, from_item, retry, to_item};

/// A fee above the deposit waits to be charged; routed to the notifications worker.
pub const FEE_DUE: &str = "payment.fee_due";

fn words(action: FeeAction) -> &'static str {
    match action {
        FeeAction::NoShow => "Missed-appointment fee",
        FeeAction::Cancel => "Late-cancellation fee",
        FeeAction::Reschedule => "Late-reschedule fee",
    }
}

fn id_taken() -> AppError {
    AppError::conflict("id_taken", "an id clash; try again")
}

fn fee_key(t: &TenantId, fee: &FeeCharge) -> mas_ports::Key {
    keys::fee_charge(t, &fee.client_id, &fee.appointment_id, fee.action.as_str())
}

fn fee_item(t: &TenantId, fee: &FeeCharge) -> AppResult<mas_ports::Item> {
    to_item(&fee_key(t, fee), "fee_charge", fee)
}

/// In the transaction of the change that incurs it: the fee above the deposit as `due`, and
/// `payment.fee_due` for the worker. Nothing when the deposit covers the fee.
pub fn plan_fee(
    plan: &mut Plan,
    t: &TenantId,
    appointment: &Appointment,
    preview: &FeePreview,
    now: DateTime<Utc>,
) -> AppResult<()> {
    if preview.still_owed.amount_minor.get() == 0 {
        return Ok(());
    }
    let fee = FeeCharge {
        appointment_id: appointment.id.clone(),
        client_id: appointment.client_id.clone(),
        action: preview.action,
        amount: preview.still_owed.clone(),
        fee: preview.fee.clone(),
        policy_version: preview.policy_version,
        status: FeeStatus::Due,
        payment_id: None,
        link_id: None,
        reason: None,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    plan.push(
        Write::put_new(fee_item(t, &fee)?),
        AppError::conflict("fee_exists", "this appointment's fee was already decided"),
    );
    let text = money_text(fee.amount.amount_minor.get(), &fee.amount.currency);
    let summary = format!("{} of {text} above the deposit is due", words(fee.action));
    let entry =
        TimelineEntry::new(&fee.client_id, now, "payment.fee_due", summary, Some(appointment.id.to_string()), "system");
    plan.push(entry.write(t)?, id_taken());
    let payload = json!({
        "appointment_id": fee.appointment_id,
        "client_id": fee.client_id,
        "action": fee.action,
        "amount_minor": fee.amount.amount_minor,
        "currency": fee.amount.currency,
    });
    plan.announce(DomainEvent::new(t, FEE_DUE, &format!("{}#{}", appointment.id, fee.action.as_str()), now, payload))
}

/// The fee of `appointment`'s `action`, if one was decided.
pub async fn get(
    store: &Store,
    t: &TenantId,
    client: &ClientId,
    appointment: &AppointmentId,
    action: FeeAction,
) -> AppResult<Option<FeeCharge>> {
    store.get(&keys::fee_charge(t, client, appointment, action.as_str())).await
}

/// Every fee above a deposit of the client's, oldest first.
pub async fn for_client(store: &Store, t: &TenantId, client: &ClientId) -> AppResult<Vec<FeeCharge>> {
    let query = Query::partition(keys::client_pk(t, client)).sk(SortKey::BeginsWith(keys::FEE_PREFIX.into()));
    let mut fees: Vec<FeeCharge> =
        store.table.query_all(&query).await?.into_iter().map(from_item).collect::<AppResult<_>>()?;
    fees.sort_by_key(|f| (f.created_at, f.appointment_id.to_string()));
    Ok(fees)
}

/// The worker's side of `payment.fee_due`.
pub async fn on_fee_due(ports: Ports<'_>, event: &DomainEvent) -> AppResult<()> {
    let field = |name: &str| event.payload.get(name).and_then(Value::as_str).unwrap_or_default();
    let unreadable = |what: &str| AppError::Internal(format!("{FEE_DUE} with an unreadable {what}"));
    let client = ClientId::parse(field("client_id")).map_err(|_| unreadable("client_id"))?;
    let appointment = AppointmentId::parse(field("appointment_id")).map_err(|_| unreadable("appointment_id"))?;
    let action: FeeAction =
        serde_json::from_value(event.payload["action"].clone()).map_err(|_| unreadable("action"))?;
    let audit = AuditContext {
        tenant_id: event.tenant_id.clone(),
        actor: "system".into(),
        role: None,
        request_id: mas_domain::ids::RequestId::new(),
    };
    settle(ports, &audit, &client, &appointment, action).await.map(drop)
}

/// Settles a `due` fee once: charged to the agreed card on file, or owed with a payment link.
/// A fee already settled is answered as it stands. A gateway that cannot be reached leaves it
/// `due` and fails, for the queue to retry (under the same idempotency key).
pub async fn settle(
    ports: Ports<'_>,
    audit: &AuditContext,
    client: &ClientId,
    appointment: &AppointmentId,
    action: FeeAction,
) -> AppResult<Option<FeeCharge>> {
    retry::on_contention(payments::CONTENTION_RETRIES, || try_settle(ports, audit, client, appointment, action)).await
}

/// Whether the fee can be charged online, and to which account: a clinic that is not connected
/// (where the gateway requires it) leaves the fee unpaid, with a link; any other failure fails.
fn online(
    destination: Result<Option<ChargeDestination>, ConnectError>,
) -> AppResult<(bool, Option<ChargeDestination>)> {
    match destination {
        Ok(destination) => Ok((true, destination)),
        Err(ConnectError::NotConnected) => Ok((false, None)),
        Err(ConnectError::Store(err)) => Err(err),
    }
}

/// What became of the attempt to charge.
enum Outcome {
    Charged(Box<mas_ports::Intent>),
    Unpaid(String),
}

async fn try_settle(
    ports: Ports<'_>,
    audit: &AuditContext,
    client: &ClientId,
    appointment_id: &AppointmentId,
    action: FeeAction,
) -> AppResult<Option<FeeCharge>> {
    let (store, t) = (ports.store, &audit.tenant_id);
    let Some(fee) = get(store, t, client, appointment_id, action).await? else { return Ok(None) };
    if fee.status != FeeStatus::Due {
        return Ok(Some(fee));
    }
    let appointment = records::appointment(store, t, appointment_id).await?;
    let saved = payments::for_appointment(store, t, appointment_id)
        .await?
        .into_iter()
        .rev()
        .find_map(|p| Some((p.customer_id.clone()?, p.payment_method_id.clone()?)));
    let payment_id = fee_payment_id(appointment_id, action);
    // The clinic's connected account takes the fee; one that cannot take online payments gets
    // the fee asked for by link, which says why it could not be sent.
    let (online, destination) = online(crate::connect::destination(ports, t, fee.amount.amount_minor).await)?;
    let outcome = match (&appointment.card_on_file_consent, saved) {
        (None, _) => {
            Outcome::Unpaid("no_consent: the client did not agree at booking to a card on file for fees".into())
        }
        (Some(_), None) => Outcome::Unpaid("no_saved_card: no card was kept on file with this booking".into()),
        (Some(_), Some(_)) if !online => {
            Outcome::Unpaid("not_connected: the clinic cannot take online payments yet".into())
        }
        (Some(_), Some((customer, method))) => {
            let mut metadata = payments::metadata(t, appointment_id, &payment_id, PaymentKind::Fee);
            metadata.insert("fee_action".into(), action.as_str().into());
            let request = IntentRequest {
                amount: fee.amount.amount_minor,
                currency: fee.amount.currency.clone(),
                metadata,
                idempotency_key: format!("{payment_id}-intent"),
                customer: Some(customer),
                save_for_later: false,
                charge_saved_method: Some(method),
                destination: destination.clone(),
            };
            match ports.payments.create_intent(request).await {
                Ok(intent) if matches!(intent.snapshot.status, IntentStatus::Succeeded | IntentStatus::Processing) => {
                    Outcome::Charged(Box::new(intent))
                }
                Ok(intent) => Outcome::Unpaid(format!(
                    "authentication_required: the card on file needs the client to confirm ({})",
                    intent.snapshot.status.as_str()
                )),
                Err(PaymentsError::Declined(code)) => Outcome::Unpaid(format!("declined: {code}")),
                Err(PaymentsError::Refused(why)) => Outcome::Unpaid(format!("refused: {why}")),
                Err(PaymentsError::NotFound) => Outcome::Unpaid("refused: the card on file is gone".into()),
                Err(unavailable @ PaymentsError::Unavailable(_)) => return Err(unavailable.into()),
            }
        }
    };
    let now = store.clock.now();
    let mut next = fee.clone();
    next.version += 1;
    next.updated_at = now;
    let text = money_text(fee.amount.amount_minor.get(), &fee.amount.currency);
    let mut plan = Plan::<Once>::typed();
    let raced = || Once::AlreadyDone(AppError::contention("the fee was settled by another worker"));
    let action_name = match outcome {
        Outcome::Charged(intent) => {
            let mut payment = payments::new_payment(
                payment_id,
                &appointment,
                PaymentKind::Fee,
                fee.amount.clone(),
                &intent,
                false,
                now,
            );
            payment.collection_method = Some(mas_domain::payment::CollectionMethod::Immediate);
            next.status = FeeStatus::Charged;
            next.payment_id = Some(payment.id.clone());
            payments::push_new_payment(&mut plan, t, &payment)?;
            let summary = format!("{} of {text} charged to the card on file", words(action));
            let entry = payments::timeline(&payment, now, "payment.fee_charged", summary, &audit.actor);
            plan.push(entry.write(t)?, id_taken());
            if payment.captured.get() > 0 {
                let payload = payments::event_payload(&payment);
                plan.announce(DomainEvent::new(t, "payment.succeeded", payment.id.as_str(), now, payload))?;
            }
            "payment.fee_charged"
        }
        Outcome::Unpaid(reason) => {
            let link = PayLink::requested(
                fee_link_id(appointment_id, action),
                fee.client_id.clone(),
                appointment_id.clone(),
                LinkPurpose::Fee,
                Some(action),
                fee.amount.clone(),
                now,
            );
            next.status = FeeStatus::Unpaid;
            next.link_id = Some(link.id.clone());
            next.reason = Some(reason.clone());
            plan.push(
                Write::put_new(to_item(&keys::pay_link(t, &link.client_id, &link.id), "pay_link", &link)?),
                raced(),
            );
            let why = reason.split(':').next().unwrap_or_default().replace('_', " ");
            let summary = format!("{} of {text} unpaid ({why}): payment link requested", words(action));
            let entry = TimelineEntry::new(
                &fee.client_id,
                now,
                "payment.fee_unpaid",
                summary,
                Some(appointment_id.to_string()),
                &audit.actor,
            );
            plan.push(entry.write(t)?, id_taken());
            plan.announce(payments::link_requested_event(t, &link, now))?;
            "payment.fee_unpaid"
        }
    };
    plan.push(Write::put_if(fee_item(t, &next)?, Condition::equals("version", fee.version)), raced());
    match plan.commit_as(store, audit, action_name, &format!("{appointment_id}#{}", action.as_str())).await {
        Ok(()) => Ok(Some(next)),
        // Another worker recorded the same answer first (the same charge, under the same key).
        Err(Once::AlreadyDone(_)) => Ok(get(store, t, client, appointment_id, action).await?),
        Err(Once::Failed(other)) => Err(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mas_domain::payment::ConnectedAccountId;
    use mas_domain::values::MinorUnits;

    #[test]
    fn a_clinic_that_is_not_connected_leaves_the_fee_unpaid_instead_of_failing() {
        let (charged_online, destination) = online(Err(ConnectError::NotConnected)).unwrap();
        assert!(!charged_online);
        assert!(destination.is_none());
    }

    #[test]
    fn a_failure_to_read_the_connection_fails_the_settling_with_its_cause() {
        let err = online(Err(ConnectError::Store(AppError::contention("raced")))).unwrap_err();
        assert!(err.is_contention(), "{err:?}");
    }

    #[test]
    fn a_connected_clinic_is_charged_online_to_its_own_account() {
        let account = ConnectedAccountId::parse("acct_1").unwrap();
        let to = ChargeDestination { account_id: account.clone(), application_fee: MinorUnits::new(10).unwrap() };
        let (charged_online, destination) = online(Ok(Some(to))).unwrap();
        assert!(charged_online);
        assert_eq!(destination.map(|d| d.account_id), Some(account));
    }
}
