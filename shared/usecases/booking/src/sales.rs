//! The desk till: completing a sale, reading and listing sales, and correcting one (a void the
//! same day, or a refund). A sale is written once, in one transaction with the clinic's next
//! invoice number, its audit record and its `sale.completed` event; it is never changed after.
//!
//! **Gapless numbering.** The counter item (`keys::invoice_counter`) holds the latest number.
//! A sale reads it (`n`), then writes in one transaction: the counter as `n + 1` on condition
//! it still holds `n` (or, for the first sale, that it does not exist), the claim of number
//! `n + 1`, and the sale. Two sales that read the same `n` cannot both commit; the loser's
//! transaction writes nothing, and it re-reads and tries again (`retry::on_contention`). So
//! every committed sale has a number, and the numbers run 1, 2, 3… with no gap (nothing takes a
//! number without committing its sale) and no duplicate.
//!
//! **Gift cards** (`gift_cards`). A gift-card tender's code becomes its card before the first
//! attempt; each attempt reads the card and writes it, less the amount, on condition of the
//! version read, beside the counter — so the sale's number and its spending of the card commit
//! together or not at all, and two sales never spend the same money. A gift-card line issues its
//! card (id and code fixed before the first attempt) in the same transaction.
//!
//! **Packages** (`packages`). A package line is priced from its template before the first
//! attempt; each attempt creates the client's package beside the counter (the template checked
//! unchanged). A service line covered by a package session reads the package and writes it with
//! a session more used, on condition of the version read — so the last session is used once.
//!
//! **Stock** (`stock`). A product line naming a catalog product's SKU takes it off the shelf at
//! the sale's location in the same transaction (the level on condition of its version); a void
//! puts it back.
//! **Loyalty** (`loyalty`). Each attempt reads the client's points account, spends a points
//! tender and adds what the sale earns, and writes it on condition of the version read, beside
//! the counter — so two tills never spend the same points.
//!
//! **Corrections.** A void or refund is its own item beside the sale (`COR#0001`, …), claimed
//! with "not exists" on the next sequence number, so two corrections decided from the same read
//! never both commit (the loser re-reads and re-checks what may still go back). Money back to a
//! card goes through the payments port's refund, asked after the correction is recorded as
//! pending (its key is the gateway's idempotency key) and recorded completed after.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::gift_cards::{self, IssuedGiftCard};
use crate::packages;
use crate::payments::{self, Ports};
use mas_catalog::catalog::{self, Reference};
use mas_domain::catalog::LocationInput;
use mas_domain::error::{AppError, AppResult};
use mas_domain::gift_card::SoldVia;
use mas_domain::ids::{CorrectionId, LocationId, SaleId, TenantId};
use mas_domain::payment::IntentStatus;
use mas_domain::sale::{
    self, Correction, CorrectionKind, CorrectionStatus, InvoiceNumber, Priced, Reason, RefundTo, Return, ReturnMethod,
    Sale, SaleInput, SaleStatus, Tender,
};
use mas_domain::team::Role;
use mas_domain::values::MinorUnits;
use mas_ports::events::DomainEvent;
use mas_ports::payments::RefundRequest;
use mas_ports::table::{GSI1PK, GSI1SK, SK};
use mas_ports::{Condition, Item, PaymentsError, Query, Write};
use mas_store::idempotency::Idempotency;
use mas_store::keys::{self, CatalogKind};
use mas_store::{AuditContext, Once, Plan, Store, from_item, retry, to_item};

/// How often a sale is re-decided from a fresh read when another took the number it read. Each
/// round of racing sales lets at least one through, so this bounds the burst one clinic's till
/// absorbs at once (the 50-at-once test needs far fewer rounds in practice).
pub const SALE_RETRIES: usize = 100;
/// How often a correction is re-decided when another correction of the same sale won.
pub const CORRECTION_RETRIES: usize = 8;

/// A sale with what happened to it since.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SaleView {
    /// The sale as it was recorded (never changed).
    pub sale: Sale,
    pub status: SaleStatus,
    /// Given back by voids and refunds that are not failed (pending ones included).
    pub returned_minor: i64,
    pub corrections: Vec<Correction>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Counter {
    last: u64,
}

fn number_taken() -> AppError {
    AppError::contention("another sale took this invoice number at the same moment; try again")
}

/// A sale just recorded, with the gift cards it sold and their codes (shown this once).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Completed {
    #[serde(flatten)]
    pub sale: Sale,
    /// The gift cards the sale's gift-card lines issued, each with its whole code: shown in this
    /// answer only (a replay of the request answers the sale without them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub issued_gift_cards: Vec<IssuedGiftCard>,
    /// The client's packages the sale's package lines sold.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sold_packages: Vec<mas_domain::package::Package>,
}

/// The refusals of ringing up and correcting a sale made here, typed; each becomes its code and
/// status in one place (`From<SaleError> for AppError`). `field` is where the request named it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SaleError {
    /// 422 `unknown_reference` (field `location_id`).
    #[error("no such location at this clinic")]
    UnknownLocation,
    /// 422 `unknown_reference`: a line's appointment.
    #[error("no such appointment")]
    UnknownAppointment { field: String },
    /// 422 `intent_already_used`: the card payment paid for something else, or is named twice.
    #[error("this card payment paid for something else, or is named twice")]
    IntentUsed { field: String },
    /// 422 `unknown_card_payment`.
    #[error("no such card payment at this clinic")]
    UnknownCardPayment { field: String },
    /// 422 `card_payment_mismatch`: not succeeded, or not for exactly this amount.
    #[error("the card payment must have succeeded for exactly {amount_minor} {currency}")]
    CardPaymentMismatch { field: String, amount_minor: i64, currency: String },
    /// 422 `deposit_already_used`: the same deposit named twice.
    #[error("the same deposit is named twice")]
    DepositNamedTwice { field: String },
    /// 422 `unknown_deposit`.
    #[error("no such payment at this clinic")]
    UnknownDeposit { field: String },
    /// 422 `deposit_client_mismatch`.
    #[error("this deposit is another client's: the sale must name the client who paid it")]
    DepositOtherClient { field: String },
    /// 422 `deposit_currency_mismatch`.
    #[error("the deposit was paid in another currency")]
    DepositOtherCurrency { field: String },
    /// 409 `idempotency_replay`.
    #[error("this sale was recorded already")]
    Replayed,
    /// 409 `correction_recorded`: another request recorded this correction's outcome.
    #[error("this correction was recorded by another request")]
    CorrectionRecorded,
}

impl From<SaleError> for AppError {
    fn from(err: SaleError) -> Self {
        use SaleError as E;
        let message = err.to_string();
        match err {
            E::UnknownLocation => AppError::invalid("unknown_reference", "location_id", message),
            E::UnknownAppointment { field } => AppError::invalid("unknown_reference", field, message),
            E::IntentUsed { field } => AppError::invalid("intent_already_used", field, message),
            E::UnknownCardPayment { field } => AppError::invalid("unknown_card_payment", field, message),
            E::CardPaymentMismatch { field, .. } => AppError::invalid("card_payment_mismatch", field, message),
            E::DepositNamedTwice { field } => AppError::invalid("deposit_already_used", field, message),
            E::UnknownDeposit { field } => AppError::invalid("unknown_deposit", field, message),
            E::DepositOtherClient { field } => AppError::invalid("deposit_client_mismatch", field, message),
            E::DepositOtherCurrency { field } => AppError::invalid("deposit_currency_mismatch", field, message),
            E::Replayed => AppError::conflict("idempotency_replay", message),
            E::CorrectionRecorded => AppError::conflict("correction_recorded", message),
        }
    }
}

/// Completes a sale rung up by a member with `role`: priced, its references and card payments
/// checked, numbered and stored with its audit record and `sale.completed` event. With an
/// `Idempotency-Key`, the sale is stored as the key's first response in the same transaction:
/// a request with the same key that committed first makes this one `Once::AlreadyDone`, having
/// written nothing (the caller answers the stored sale).
pub async fn complete(
    ports: Ports<'_>,
    audit: &AuditContext,
    role: Role,
    mut input: SaleInput,
    idempotency: Option<&Idempotency>,
) -> Result<Completed, Once> {
    input.check_discount_allowed(role)?;
    sale::price(&input)?;
    packages::price_from_templates(ports.store, &audit.tenant_id, &mut input).await?;
    let priced = sale::price(&input)?;
    gift_cards::resolve_tenders(ports.store, &audit.tenant_id, &mut input).await?;
    let to_issue = gift_cards::cards_to_issue(&input);
    let to_sell = packages::packages_to_sell(&input);
    let (store, t) = (ports.store, &audit.tenant_id);
    let location = match catalog::get::<LocationInput>(store, t, &input.location_id).await {
        Err(AppError::NotFound { .. }) => None,
        other => Some(other?),
    }
    .filter(|l| !l.archived)
    .ok_or_else(|| AppError::from(SaleError::UnknownLocation))?;
    check_card_tenders(ports, t, &input).await?;
    let now = store.clock.now();
    let business_day = now.with_timezone(&location.data.timezone.tz()).date_naive();
    let id = SaleId::new();
    retry::on_contention(SALE_RETRIES, || {
        try_complete(ports, audit, &id, &input, &priced, business_day, idempotency, (&to_issue, &to_sell))
    })
    .await
}

/// One attempt: read the counter, write the sale with the next number on condition the counter
/// has not moved.
#[allow(clippy::too_many_arguments)]
async fn try_complete(
    ports: Ports<'_>,
    audit: &AuditContext,
    id: &SaleId,
    input: &SaleInput,
    priced: &Priced,
    business_day: NaiveDate,
    idempotency: Option<&Idempotency>,
    (to_issue, to_sell): (&[gift_cards::ToIssue], &[packages::ToSell]),
) -> Result<Completed, Once> {
    let (store, t) = (ports.store, &audit.tenant_id);
    let counter_key = keys::invoice_counter(t);
    let last = store.get::<Counter>(&counter_key).await?.map_or(0, |c| c.last);
    let number = InvoiceNumber::new(last + 1).map_err(|e| AppError::Internal(e.0))?;
    let now = store.clock.now();
    let mut sale = Sale::new(id.clone(), number, input.clone(), priced.clone(), business_day, now, &audit.actor);
    for card in to_issue {
        sale.lines[card.line].gift_card_id = Some(card.id.clone());
    }
    for package in to_sell {
        sale.lines[package.line].sold_package_id = Some(package.id.clone());
    }
    // Before the sale is written: it records the points it earned.
    let points = crate::loyalty::prepare_sale(store, t, &mut sale).await?;

    let mut plan = Plan::<Once>::typed();
    // First, so that a request with the same key that committed first is what this one meets.
    if let Some(idem) = idempotency {
        let replayed = Once::AlreadyDone(SaleError::Replayed.into());
        idem.record(&mut plan, (t, sale.client_id.as_ref()), (201, &sale), now, replayed)?;
    }
    let counter = to_item(&counter_key, "invoice_counter", &Counter { last: number.get() })?;
    let counter_write =
        if last == 0 { Write::put_new(counter) } else { Write::put_if(counter, Condition::equals("last", last)) };
    plan.push(counter_write, number_taken());
    let claim = to_item(&keys::invoice_number(t, number), "invoice_number", &json!({ "sale_id": sale.id }))?;
    plan.push(Write::put_new(claim), number_taken());
    let mut item = to_item(&keys::sale(t, &sale.id), "sale", &sale)?;
    let (gsi_pk, gsi_sk) = keys::sales_by_day_gsi(t, &sale.location_id, business_day, number);
    item.insert(GSI1PK.into(), gsi_pk.into());
    item.insert(GSI1SK.into(), gsi_sk.into());
    plan.push(Write::put_new(item), AppError::Internal("a sale id was taken twice".into()));
    push_reference_checks(&mut plan, t, input)?;
    push_deposits(&mut plan, store, t, &sale).await?;
    gift_cards::push_redemptions(&mut plan, store, t, &sale).await?;
    packages::push_redemptions(&mut plan, store, t, &sale).await?;
    let sold_packages = packages::push_sales(&mut plan, store, t, &sale, to_sell).await?;
    crate::stock::push_sale(&mut plan, store, t, &sale).await?;
    crate::loyalty::push_sale(&mut plan, t, points)?;
    let mut issued = Vec::new();
    for card in to_issue {
        let line = &sale.lines[card.line];
        let recipient =
            line.input.gift_card.clone().ok_or_else(|| AppError::Internal("a gift line names nobody".into()))?;
        let issue = gift_cards::Issue {
            id: &card.id,
            code: &card.code,
            amount_minor: line.total_minor,
            currency: sale.currency.clone(),
            recipient,
            buyer: sale.client_id.clone(),
            sold_via: SoldVia::Desk { sale_id: sale.id.clone() },
            at: now,
        };
        let gift_card = gift_cards::push_issue(&mut plan, store, ports.keyring, audit, issue).await?;
        issued.push(IssuedGiftCard { gift_card, code: card.code.clone() });
    }
    crate::cash_up::push_open_day(&mut plan, t, &sale.location_id, business_day);
    plan.announce(DomainEvent::new(t, "sale.completed", sale.id.as_str(), now, event_payload(&sale)))?;
    plan.commit_as(store, audit, "sale.completed", sale.id.as_str()).await?;
    Ok(Completed { sale, issued_gift_cards: issued, sold_packages })
}

/// Checks, inside the sale's transaction, that what it names exists: its location, the
/// catalog entries (not archived), the appointments, and that each gateway card payment is no
/// booking's and no other sale's.
fn push_reference_checks<F: From<AppError>>(plan: &mut Plan<F>, t: &TenantId, input: &SaleInput) -> AppResult<()> {
    let mut references =
        vec![Reference { field: "location_id".into(), kind: CatalogKind::Location, id: input.location_id.to_string() }];
    let mut appointments = BTreeSet::new();
    for (i, line) in input.lines.iter().enumerate() {
        if let Some(service) = &line.service_id {
            references.push(Reference {
                field: format!("lines[{i}].service_id"),
                kind: CatalogKind::Service,
                id: service.to_string(),
            });
        }
        if let Some(practitioner) = &line.practitioner_id {
            references.push(Reference {
                field: format!("lines[{i}].practitioner_id"),
                kind: CatalogKind::Practitioner,
                id: practitioner.to_string(),
            });
        }
        if let Some(appointment) = &line.appointment_id
            && appointments.insert(appointment.clone())
        {
            plan.push(
                Write::check(keys::appointment(t, appointment), Condition::Exists),
                AppError::from(SaleError::UnknownAppointment { field: format!("lines[{i}].appointment_id") }),
            );
        }
    }
    for (i, tip) in input.tips.iter().enumerate() {
        references.push(Reference {
            field: format!("tips[{i}].practitioner_id"),
            kind: CatalogKind::Practitioner,
            id: tip.practitioner_id.to_string(),
        });
    }
    catalog::add_reference_checks(plan, t, references);
    for (i, tender) in input.tenders.iter().enumerate() {
        let Tender::Card { intent_id, .. } = tender else { continue };
        let used = || AppError::from(SaleError::IntentUsed { field: format!("tenders[{i}].intent_id") });
        plan.push(Write::check(keys::stripe_intent(intent_id.as_str()), Condition::NotExists), used());
        plan.push(Write::check(keys::stripe_intent_gift(intent_id.as_str()), Condition::NotExists), used());
        let claim = json!({ "tenant_id": t, "intent_id": intent_id });
        plan.push(
            Write::put_new(to_item(&keys::stripe_intent_sale(intent_id.as_str()), "intent_sale", &claim)?),
            used(),
        );
    }
    Ok(())
}

/// Counts each deposit tender against its payment, in the sale's transaction: the payment as
/// read, with this sale recorded on it (`Payment::apply_to_sale`), written on condition of the
/// version read, so a refund of the deposit or another sale counting it at the same moment
/// makes this attempt start again from a fresh read (and the second sale is refused).
async fn push_deposits<F: From<AppError>>(
    plan: &mut Plan<F>,
    store: &Store,
    t: &TenantId,
    sale: &Sale,
) -> AppResult<()> {
    let mut seen = BTreeSet::new();
    for (i, tender) in sale.tenders.iter().enumerate() {
        let Tender::Deposit { amount_minor, payment_id } = tender else { continue };
        let field = format!("tenders[{i}].payment_id");
        if !seen.insert(payment_id.clone()) {
            return Err(SaleError::DepositNamedTwice { field }.into());
        }
        let mut payment = match payments::find(store, t, payment_id).await {
            Err(AppError::NotFound { .. }) => None,
            other => Some(other?),
        }
        .ok_or_else(|| AppError::from(SaleError::UnknownDeposit { field: field.clone() }))?;
        if sale.client_id.as_ref() != Some(&payment.client_id) {
            return Err(SaleError::DepositOtherClient { field }.into());
        }
        if payment.currency() != &sale.currency {
            return Err(SaleError::DepositOtherCurrency { field }.into());
        }
        payment.apply_to_sale(&sale.id, *amount_minor, sale.completed_at, &format!("tenders[{i}].amount_minor"))?;
        plan.push(payments::versioned_put(t, &payment)?, payments::stale());
    }
    Ok(())
}

/// Each gateway card tender must be an intent of this clinic that has succeeded for exactly
/// its amount, in the sale's currency.
async fn check_card_tenders(ports: Ports<'_>, t: &TenantId, input: &SaleInput) -> AppResult<()> {
    let mut seen = BTreeSet::new();
    for (i, tender) in input.tenders.iter().enumerate() {
        let Tender::Card { amount_minor, intent_id } = tender else { continue };
        let field = format!("tenders[{i}].intent_id");
        if !seen.insert(intent_id.clone()) {
            return Err(SaleError::IntentUsed { field }.into());
        }
        let intent = match ports.payments.retrieve_intent(intent_id).await {
            Err(PaymentsError::NotFound) => None,
            other => Some(other?),
        }
        .filter(|intent| intent.metadata.get("tenant_id").map(String::as_str) == Some(t.as_str()))
        .ok_or_else(|| AppError::from(SaleError::UnknownCardPayment { field: field.clone() }))?;
        let received = intent.snapshot.amount_received.unwrap_or(intent.snapshot.amount);
        if intent.snapshot.status != IntentStatus::Succeeded
            || received != amount_minor.get()
            || intent.currency != input.currency.as_str()
        {
            return Err(SaleError::CardPaymentMismatch {
                field,
                amount_minor: amount_minor.get(),
                currency: input.currency.as_str().to_owned(),
            }
            .into());
        }
    }
    Ok(())
}

fn event_payload(sale: &Sale) -> serde_json::Value {
    json!({
        "sale_id": sale.id,
        "invoice_number": sale.invoice_number,
        "location_id": sale.location_id,
        "client_id": sale.client_id,
        "business_day": sale.business_day,
        "total_minor": sale.totals.total_minor,
        "tax_minor": sale.totals.tax_minor,
        "tips_minor": sale.totals.tips_minor,
        "currency": sale.currency,
        // For the insight projections: what each treatment line took, by whom.
        "lines": sale
            .lines
            .iter()
            .filter(|l| l.input.service_id.is_some() || l.input.practitioner_id.is_some())
            .map(|l| json!({
                "service_id": l.input.service_id,
                "practitioner_id": l.input.practitioner_id,
                "total_minor": l.total_minor,
            }))
            .collect::<Vec<_>>(),
    })
}

pub async fn get(store: &Store, tenant: &TenantId, id: &SaleId) -> AppResult<Sale> {
    store.get(&keys::sale(tenant, id)).await?.ok_or(AppError::NotFound { what: "sale" })
}

/// A sale with its corrections, read with one query of its partition.
pub async fn view(store: &Store, tenant: &TenantId, id: &SaleId) -> AppResult<SaleView> {
    let items = store.table.query_all(&Query::partition(keys::sale_pk(tenant, id))).await?;
    let (mut found, mut corrections) = (None, Vec::new());
    for item in items {
        let sk = item.get(SK).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
        if sk == "SALE" {
            found = Some(from_item::<Sale>(item)?);
        } else if sk.starts_with(keys::CORRECTION_PREFIX) {
            corrections.push(from_item::<Correction>(item)?);
        }
    }
    let sale = found.ok_or(AppError::NotFound { what: "sale" })?;
    corrections.sort_by_key(|c| c.seq);
    Ok(SaleView {
        status: sale::status(&sale, &corrections),
        returned_minor: sale::returned(&corrections),
        sale,
        corrections,
    })
}

/// A location's sales of one local day, by invoice number.
/// A location of another clinic, or none, is 404 like any id the caller cannot reach.
pub async fn list(store: &Store, tenant: &TenantId, location: &LocationId, day: NaiveDate) -> AppResult<Vec<Sale>> {
    catalog::get::<LocationInput>(store, tenant, location).await?;
    of_day(store, tenant, location, day).await
}

/// A location's sales of one local day, the location known to be this clinic's.
pub(crate) async fn of_day(
    store: &Store,
    tenant: &TenantId,
    location: &LocationId,
    day: NaiveDate,
) -> AppResult<Vec<Sale>> {
    let query = Query::gsi1(keys::sales_day_gsi_pk(tenant, location, day));
    store.table.query_all(&query).await?.into_iter().map(from_item).collect()
}

/// Voids a sale on its own day at its location: every tender's money back the way it came.
pub async fn void(ports: Ports<'_>, audit: &AuditContext, id: &SaleId, reason: Reason) -> AppResult<SaleView> {
    let store = ports.store;
    let sale = get(store, &audit.tenant_id, id).await?;
    let location = catalog::get::<LocationInput>(store, &audit.tenant_id, &sale.location_id).await?;
    let today = store.clock.now().with_timezone(&location.data.timezone.tz()).date_naive();
    correct(ports, audit, id, CorrectionKind::Void, (reason, false), |sale, corrections| {
        sale::plan_void(sale, corrections, today)
    })
    .await
}

/// Gives back part or all of what a sale took, in cash or to its gateway card payments. With
/// `goods_returned`, the sale's catalog products go back on the shelf in the same transaction
/// (once: `stock::push_correction`).
pub async fn refund(
    ports: Ports<'_>,
    audit: &AuditContext,
    id: &SaleId,
    to: RefundTo,
    amount: Option<MinorUnits>,
    (reason, goods_returned): (Reason, bool),
) -> AppResult<SaleView> {
    correct(ports, audit, id, CorrectionKind::Refund, (reason, goods_returned), |sale, corrections| {
        sale::plan_refund(sale, corrections, to, amount)
    })
    .await
}

fn action(kind: CorrectionKind, status: CorrectionStatus) -> &'static str {
    match (kind, status) {
        (CorrectionKind::Void, CorrectionStatus::Pending) => "sale.void_requested",
        (CorrectionKind::Void, CorrectionStatus::Completed) => "sale.voided",
        (CorrectionKind::Refund, CorrectionStatus::Pending) => "sale.refund_requested",
        (CorrectionKind::Refund, CorrectionStatus::Completed) => "sale.refunded",
        (_, CorrectionStatus::Failed) => "sale.correction_failed",
    }
}

async fn correct(
    ports: Ports<'_>,
    audit: &AuditContext,
    id: &SaleId,
    kind: CorrectionKind,
    (reason, goods_returned): (Reason, bool),
    decide: impl Fn(&Sale, &[Correction]) -> AppResult<Vec<Return>>,
) -> AppResult<SaleView> {
    let store = ports.store;
    let t = &audit.tenant_id;
    let sale = get(store, t, id).await?;
    let location = catalog::get::<LocationInput>(store, t, &sale.location_id).await?;
    let recorded = retry::on_contention(CORRECTION_RETRIES, || async {
        let current = view(store, t, id).await?;
        let returns = decide(&current.sale, &current.corrections)?;
        let needs_gateway = returns.iter().any(|r| r.method == ReturnMethod::Card);
        let correction = Correction {
            id: CorrectionId::new(),
            sale_id: id.clone(),
            seq: current.corrections.len() as u32 + 1,
            kind,
            reason: reason.clone(),
            returns,
            status: if needs_gateway { CorrectionStatus::Pending } else { CorrectionStatus::Completed },
            at: store.clock.now(),
            by: audit.actor.clone(),
            goods_returned,
        };
        let mut plan = Plan::new();
        let item = correction_item(t, &current.sale, &location.data, &correction)?;
        plan.push(
            Write::put_new(item),
            AppError::contention("another correction of this sale was saved at the same moment; try again"),
        );
        let day = correction.at.with_timezone(&location.data.timezone.tz()).date_naive();
        crate::cash_up::push_open_day(&mut plan, t, &current.sale.location_id, day);
        gift_cards::push_correction(&mut plan, store, audit, &current.sale, &correction).await?;
        packages::push_correction(&mut plan, store, audit, &current.sale, &correction).await?;
        crate::stock::push_correction(&mut plan, store, audit, &current.sale, &correction).await?;
        crate::loyalty::push_correction(&mut plan, store, audit, &current.sale, &current.corrections, &correction)
            .await?;
        for back in correction.returns.iter().filter(|r| r.method == ReturnMethod::Deposit) {
            // Released in the same transaction: the deposit may count towards another sale.
            let Some(payment_id) = &back.payment_id else { continue };
            let mut payment = payments::find(store, t, payment_id).await?;
            if payment.release_from_sale(id, correction.at) {
                plan.push(payments::versioned_put(t, &payment)?, payments::stale());
            }
        }
        if correction.status == CorrectionStatus::Completed {
            announce_correction(&mut plan, t, &current.sale, &location.data, &correction)?;
        }
        plan.commit(store, audit, action(kind, correction.status), correction.id.as_str()).await?;
        Ok::<_, AppError>(correction)
    })
    .await?;
    if recorded.status == CorrectionStatus::Pending {
        refund_cards(ports, audit, recorded).await?;
    }
    view(store, t, id).await
}

/// A correction's item, on GSI1 by its location's local day: the daily close counts money given
/// back on the day it went.
fn correction_item(t: &TenantId, sale: &Sale, location: &LocationInput, correction: &Correction) -> AppResult<Item> {
    let day = correction.at.with_timezone(&location.timezone.tz()).date_naive();
    let mut item = to_item(&keys::sale_correction(t, &sale.id, correction.seq), "sale_correction", correction)?;
    item.insert(GSI1PK.into(), keys::sale_corrections_day_gsi_pk(t, &sale.location_id, day).into());
    item.insert(GSI1SK.into(), format!("{}#{}", correction.at.to_rfc3339(), correction.id).into());
    Ok(item)
}

fn announce_correction(
    plan: &mut Plan,
    t: &TenantId,
    sale: &Sale,
    location: &LocationInput,
    correction: &Correction,
) -> AppResult<()> {
    let kind = match correction.kind {
        CorrectionKind::Void => "sale.voided",
        CorrectionKind::Refund => "sale.refunded",
    };
    let payload = json!({
        "sale_id": sale.id,
        "invoice_number": sale.invoice_number,
        "correction_id": correction.id,
        "amount_minor": correction.amount(),
        "currency": sale.currency,
        // For the insight projections: where and on which local day the money went back.
        "location_id": sale.location_id,
        "business_day": correction.at.with_timezone(&location.timezone.tz()).date_naive(),
    });
    plan.announce(DomainEvent::new(t, kind, correction.id.as_str(), correction.at, payload))
}

/// Asks the gateway for a pending correction's card refunds (each under its own key, so a
/// retry never refunds twice) and records the outcome: completed, or failed when the gateway
/// refused the first of them. A gateway that cannot be reached leaves it pending.
async fn refund_cards(ports: Ports<'_>, audit: &AuditContext, pending: Correction) -> AppResult<()> {
    let (store, t) = (ports.store, &audit.tenant_id);
    let mut done = pending.clone();
    let mut refusal = None;
    for (i, back) in done.returns.iter_mut().enumerate() {
        let Some(intent) = back.intent_id.clone() else { continue };
        let request = RefundRequest {
            intent,
            amount: MinorUnits::new(back.amount_minor).map_err(|e| AppError::Internal(e.0))?,
            idempotency_key: format!("{}-{i}", pending.id),
            metadata: BTreeMap::from([
                ("tenant_id".to_owned(), t.to_string()),
                ("sale_id".to_owned(), pending.sale_id.to_string()),
                ("correction_id".to_owned(), pending.id.to_string()),
            ]),
        };
        match ports.payments.refund(request).await {
            Ok(refund) => back.gateway_refund_id = Some(refund.id),
            Err(err @ PaymentsError::Unavailable(_)) => {
                tracing::error!(correction_id = %pending.id, %err, "sale refund left pending");
                return Err(err.into());
            }
            Err(err) if i == 0 => {
                refusal = Some(err);
                break;
            }
            Err(err) => {
                tracing::error!(correction_id = %pending.id, %err, "sale refund refused part-way; left pending");
                return Err(err.into());
            }
        }
    }
    done.status = if refusal.is_some() { CorrectionStatus::Failed } else { CorrectionStatus::Completed };
    let sale = get(store, t, &done.sale_id).await?;
    let location = catalog::get::<LocationInput>(store, t, &sale.location_id).await?;
    let mut plan = Plan::new();
    let item = correction_item(t, &sale, &location.data, &done)?;
    plan.push(
        Write::put_if(item, Condition::equals("status", "pending")),
        AppError::from(SaleError::CorrectionRecorded),
    );
    if done.status == CorrectionStatus::Completed {
        announce_correction(&mut plan, t, &sale, &location.data, &done)?;
    }
    plan.commit(store, audit, action(done.kind, done.status), done.id.as_str()).await?;
    match refusal {
        Some(err) => Err(err.into()),
        None => Ok(()),
    }
}
