//! The daily close of a location's till (`mas_domain::cash_up` has the rules): the day's
//! figures read from its sales (GSI1 by location and local day) and the voids and refunds made
//! on it (GSI1 by location and the local day they were made); the cash-up recorded once per
//! location and day (`keys::till_close`, put with "not exists": a second close is 409
//! `day_closed`); an owner may reopen it (the record is deleted, conditional on it being there,
//! and the audit record keeps what it said).
//!
//! **Races.** While a day is closed, no sale, void or refund is recorded on it at that location:
//! each checks, in its own transaction, that the close is absent, and adds one to the day's
//! `changes` (`keys::till_day`). A close reads `changes` before the day's figures and commits on
//! condition it has not moved: a sale that lands while the close is being worked out either
//! fails the close (which works the day out again) or is refused by it. What a close records is
//! every sale, void and refund the day had.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::sales;
use mas_catalog::catalog;
use mas_domain::cash_up::{self, CashUp, CloseInput, DayCorrection, DaySummary, major};
use mas_domain::catalog::{LocationInput, PractitionerInput};
use mas_domain::csv::text_cell;
use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::{LocationId, TenantId};
use mas_domain::sale::{Correction, CorrectionKind, CorrectionStatus, Sale, Tender};
use mas_domain::tenant::Tenant;
use mas_ports::{Condition, Item, Query, Write};
use mas_store::{AuditContext, Plan, Store, from_item, keys, retry, to_item};

/// How often a close is worked out again when sales keep landing on the day meanwhile.
const CLOSE_RETRIES: usize = 5;

/// A location's day: its figures, and its cash-up once closed.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DayClose {
    pub summary: DaySummary,
    /// `None` while the day is open.
    pub close: Option<CashUp>,
}

/// What the day is made of, as read.
struct Day {
    summary: DaySummary,
    close: Option<CashUp>,
    sales: Vec<Sale>,
    corrections: Vec<(Sale, Correction)>,
}

/// The refusals of the daily close, typed; each becomes its code and status here.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CashUpError {
    /// 409 `day_closed`: the location's day is cashed up (a sale, void, refund or second close).
    #[error("the till of this location is closed for the day; an owner may reopen it")]
    DayClosed,
    /// 422 `day_not_started` (field `date`).
    #[error("{0} has not begun at this location yet")]
    DayNotStarted(NaiveDate),
}

impl From<CashUpError> for AppError {
    fn from(err: CashUpError) -> Self {
        let message = err.to_string();
        match err {
            CashUpError::DayClosed => AppError::conflict("day_closed", message),
            CashUpError::DayNotStarted(_) => AppError::invalid("day_not_started", "date", message),
        }
    }
}

/// The refusal of a change on a closed day.
pub fn day_closed() -> AppError {
    CashUpError::DayClosed.into()
}

/// The writes, inside a sale's, void's or refund's transaction, that keep it on an open day:
/// the day's close must be absent, and the day's `changes` go up by one (so a close being
/// worked out meanwhile fails and looks again).
pub fn push_open_day<F: From<AppError>>(plan: &mut Plan<F>, tenant: &TenantId, location: &LocationId, day: NaiveDate) {
    plan.push(Write::check(keys::till_close(tenant, location, day), Condition::NotExists), day_closed());
    let mut set = Item::new();
    set.insert(mas_store::ENTITY_TYPE.into(), json!("till_day"));
    plan.push(
        Write::Update {
            key: keys::till_day(tenant, location, day),
            set,
            add: [("changes".to_owned(), 1)].into(),
            remove: vec![],
            condition: None,
        },
        AppError::Internal("an unconditional update failed".into()),
    );
}

/// The day's `changes` so far (`None`: nothing recorded on it yet).
async fn changes(store: &Store, t: &TenantId, location: &LocationId, day: NaiveDate) -> AppResult<Option<i64>> {
    let item = store.table.get(&keys::till_day(t, location, day)).await?;
    Ok(item.and_then(|i| i.get("changes").and_then(Value::as_i64)))
}

/// The voids and refunds made at a location on a day, each with its sale (`sales`: the day's
/// own, read already; an older sale is read), in the order they were made.
pub(crate) async fn corrections_of_day(
    store: &Store,
    t: &TenantId,
    location: &LocationId,
    day: NaiveDate,
    sales: &[Sale],
) -> AppResult<Vec<(Sale, Correction)>> {
    let query = Query::gsi1(keys::sale_corrections_day_gsi_pk(t, location, day));
    let made: Vec<Correction> =
        store.table.query_all(&query).await?.into_iter().map(from_item).collect::<AppResult<_>>()?;
    let mut corrections = Vec::with_capacity(made.len());
    for correction in made {
        let sale = match sales.iter().find(|s| s.id == correction.sale_id) {
            Some(sale) => sale.clone(),
            None => sales::get(store, t, &correction.sale_id).await?,
        };
        corrections.push((sale, correction));
    }
    corrections.sort_by(|a, b| (a.1.at, &a.1.id).cmp(&(b.1.at, &b.1.id)));
    Ok(corrections)
}

async fn read(store: &Store, t: &TenantId, location: &LocationId, day: NaiveDate) -> AppResult<Day> {
    // Another clinic's location, or none, is 404 like any id the caller cannot reach.
    let sales = sales::list(store, t, location, day).await?;
    let corrections = corrections_of_day(store, t, location, day, &sales).await?;
    // A void is made on its sale's own day, so the day's corrections tell which of its sales
    // are voided (refunds of them, made later, change no tip).
    let mut of_sales: BTreeMap<String, Vec<Correction>> = BTreeMap::new();
    for (sale, correction) in &corrections {
        if sale.business_day == day {
            of_sales.entry(sale.id.to_string()).or_default().push(correction.clone());
        }
    }
    let currency = match sales.first().or(corrections.first().map(|(s, _)| s)) {
        Some(sale) => sale.currency.clone(),
        None => store.get::<Tenant>(&keys::tenant_profile(t)).await?.map(|t| t.currency).unwrap_or_default(),
    };
    let day_corrections: Vec<DayCorrection<'_>> =
        corrections.iter().map(|(sale, correction)| DayCorrection { sale, correction }).collect();
    let summary = cash_up::summarize(location, day, currency, &sales, &of_sales, &day_corrections);
    let close = store.get::<CashUp>(&keys::till_close(t, location, day)).await?;
    Ok(Day { summary, close, sales, corrections })
}

/// A location's day at the till, with its cash-up once closed.
pub async fn day(store: &Store, t: &TenantId, location: &LocationId, day: NaiveDate) -> AppResult<DayClose> {
    let Day { summary, close, .. } = read(store, t, location, day).await?;
    Ok(DayClose { summary, close })
}

/// Closes a location's day with the cash counted: once (a second close is 409 `day_closed`
/// until an owner reopens it), not before the day has begun at the location (422
/// `day_not_started`). Audited `till.closed`.
pub async fn close(store: &Store, audit: &AuditContext, input: CloseInput) -> AppResult<CashUp> {
    let t = &audit.tenant_id;
    input.counted()?;
    let location = catalog::get::<LocationInput>(store, t, &input.location_id).await?;
    let today = store.clock.now().with_timezone(&location.data.timezone.tz()).date_naive();
    if input.date > today {
        return Err(CashUpError::DayNotStarted(input.date).into());
    }
    retry::on_contention(CLOSE_RETRIES, || try_close(store, audit, &input)).await
}

async fn try_close(store: &Store, audit: &AuditContext, input: &CloseInput) -> AppResult<CashUp> {
    let t = &audit.tenant_id;
    // Read before the figures: if it has not moved when the close commits, nothing was added.
    let seen = changes(store, t, &input.location_id, input.date).await?;
    let Day { summary, close, .. } = read(store, t, &input.location_id, input.date).await?;
    if close.is_some() {
        return Err(day_closed());
    }
    let record = cash_up::cash_up(summary, input, &audit.actor, store.clock.now())?;
    let mut plan = Plan::new();
    let item = to_item(&keys::till_close(t, &input.location_id, input.date), "till_close", &record)?;
    plan.push(Write::put_new(item), day_closed());
    let unchanged = match seen {
        None => Condition::NotExists,
        Some(n) => Condition::equals("changes", n),
    };
    plan.push(
        Write::check(keys::till_day(t, &input.location_id, input.date), unchanged),
        AppError::contention("a sale, void or refund was recorded on this day while it was being closed; try again"),
    );
    let entity = format!("{}#{}", input.location_id, input.date);
    let details = json!({
        "expected_minor": record.expected_minor,
        "counted_minor": record.counted_minor,
        "difference_minor": record.difference_minor,
        "currency": record.currency,
    });
    plan.commit_detailed(store, audit, "till.closed", &entity, Some(details)).await?;
    Ok(record)
}

/// Reopens a closed day (owners): its cash-up is deleted, the audit record keeping what it said.
pub async fn reopen(store: &Store, audit: &AuditContext, location: &LocationId, day: NaiveDate) -> AppResult<()> {
    let t = &audit.tenant_id;
    catalog::get::<LocationInput>(store, t, location).await?;
    let key = keys::till_close(t, location, day);
    let closed: CashUp = store.get(&key).await?.ok_or(AppError::NotFound { what: "close of this day" })?;
    let mut plan = Plan::new();
    plan.push(Write::delete_if(key, Condition::Exists), AppError::NotFound { what: "close of this day" });
    let details = serde_json::to_value(&closed).map_err(|e| AppError::Internal(e.to_string()))?;
    plan.commit_detailed(store, audit, "till.reopened", &format!("{location}#{day}"), Some(details)).await
}

/// The day as CSV: a row per tender of each sale, per return of each void or refund made on the
/// day, then the totals per method, the tips per practitioner and the cash-up. Money in major
/// units with its currency (`12.34`, `GBP`).
pub async fn csv(store: &Store, t: &TenantId, location: &LocationId, date: NaiveDate) -> AppResult<String> {
    let Day { summary, close, sales, corrections } = read(store, t, location, date).await?;
    let header =
        ["record", "invoice_number", "at", "method", "amount", "currency", "tax", "tips", "reference", "by", "note"];
    let c = summary.currency.to_string();
    let mut rows: Vec<Vec<String>> = Vec::new();
    for sale in &sales {
        for (i, tender) in sale.tenders.iter().enumerate() {
            let (amount, reference) = match tender {
                Tender::Cash { tendered_minor } => (tendered_minor.get() - sale.totals.change_minor, String::new()),
                Tender::Card { amount_minor, intent_id } => (amount_minor.get(), intent_id.to_string()),
                Tender::CardExternal { amount_minor, terminal_reference } => {
                    (amount_minor.get(), terminal_reference.to_string())
                }
                Tender::BankTransfer { amount_minor, reference } => (amount_minor.get(), reference.to_string()),
                Tender::Deposit { amount_minor, payment_id } => (amount_minor.get(), payment_id.to_string()),
                Tender::GiftCard { amount_minor, gift_card_id, .. } => {
                    (amount_minor.get(), gift_card_id.as_ref().map(ToString::to_string).unwrap_or_default())
                }
                Tender::Loyalty { amount_minor, points } => (amount_minor.get(), format!("{} points", points.get())),
            };
            // The sale's tax and tips once, on its first tender's row.
            let (tax, tips) = if i == 0 {
                (major(sale.totals.tax_minor), major(sale.totals.tips_minor))
            } else {
                (String::new(), String::new())
            };
            rows.push(vec![
                "sale".into(),
                sale.invoice_number.to_string(),
                sale.completed_at.to_rfc3339(),
                tender.method().into(),
                major(amount),
                sale.currency.to_string(),
                tax,
                tips,
                text_cell(&reference),
                text_cell(&sale.completed_by),
                String::new(),
            ]);
        }
    }
    for (sale, correction) in &corrections {
        if correction.status == CorrectionStatus::Failed {
            continue;
        }
        let record = match correction.kind {
            CorrectionKind::Void => "void",
            CorrectionKind::Refund => "refund",
        };
        for back in &correction.returns {
            let method = back.method.as_str();
            rows.push(vec![
                record.into(),
                sale.invoice_number.to_string(),
                correction.at.to_rfc3339(),
                method.into(),
                major(-back.amount_minor),
                sale.currency.to_string(),
                String::new(),
                String::new(),
                text_cell(back.gateway_refund_id.as_deref().unwrap_or_default()),
                text_cell(&correction.by),
                text_cell(correction.reason.as_str()),
            ]);
        }
    }
    let total = |record: &str, method: &str, amount: i64, reference: String, note: String| {
        vec![
            record.to_owned(),
            String::new(),
            String::new(),
            method.to_owned(),
            major(amount),
            c.clone(),
            String::new(),
            String::new(),
            reference,
            String::new(),
            note,
        ]
    };
    for m in &summary.by_method {
        let note = format!("taken {}, given back {}", major(m.taken_minor), major(m.returned_minor));
        rows.push(total("total", &m.method, m.net_minor, String::new(), note));
    }
    let sold = &summary.gift_cards_sold;
    let note = format!("{} sold: a liability, not takings", sold.count);
    rows.push(total("gift_cards_sold", "", sold.amount_minor, String::new(), note));
    rows.push(total("total", "all", summary.net_takings_minor, String::new(), String::new()));
    for tip in &summary.tips {
        let name = match catalog::get::<PractitionerInput>(store, t, &tip.practitioner_id).await {
            Ok(p) => p.data.display_name.to_string(),
            Err(AppError::NotFound { .. } | AppError::Gone { .. }) => String::new(),
            Err(err) => return Err(err),
        };
        rows.push(total("tips", "", tip.amount_minor, tip.practitioner_id.to_string(), text_cell(&name)));
    }
    let cash_note = "cash taken less change and cash given back".to_owned();
    rows.push(total("expected_cash", "cash", summary.expected_cash_minor, String::new(), cash_note));
    if let Some(up) = &close {
        let note = up.note.as_ref().map(|n| text_cell(n.as_str())).unwrap_or_default();
        rows.push(total("float", "cash", up.float_minor, String::new(), String::new()));
        rows.push(total(
            "expected_in_drawer",
            "cash",
            up.expected_minor,
            String::new(),
            "the float and the expected cash".into(),
        ));
        let mut counted = total("counted_cash", "cash", up.counted_minor, String::new(), String::new());
        (counted[2], counted[9]) = (up.closed_at.to_rfc3339(), text_cell(&up.closed_by));
        rows.push(counted);
        rows.push(total("difference", "cash", up.difference_minor, String::new(), note));
    }
    Ok(mas_domain::csv::write(&header, rows))
}
