//! The daily close of a location's till (a Z report and its cash-up): what the day took by
//! tender method, what went back, the tips owed to each practitioner and the cash that should
//! be in the drawer; then the cash counted against it, recorded once per location and day.
//!
//! **What counts on a day.** A sale counts on its own local day (`Sale::business_day`), as
//! recorded; a void or refund counts on the local day it was made, whatever day its sale was
//! (money handed back this morning leaves this morning's drawer). Failed corrections (the gateway
//! refused) count nowhere; pending ones count (the money is promised). Cash taken is what was
//! handed over less the change; deposits paid online are not in the drawer. Tips are owed for
//! the day's sales not voided.
//!
//! **Gift cards.** Spending a gift card is its own method (`gift_card`), and so is money given
//! back onto one. A gift card sold is a liability, not takings: the money paid for it is in its
//! methods (the drawer holds the cash), and `gift_cards_sold` is taken off `net_takings_minor`;
//! the takings come when the card is spent.
//!
//! **Loyalty points** spent are their own method (`loyalty`), and so are points given back by a
//! void or refund, at their money value: not in the drawer.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{AppError, AppResult};
use crate::ids::{LocationId, PractitionerId};
use crate::sale::{self, Correction, CorrectionKind, CorrectionStatus, Reason, Sale, Tender};
use crate::values::{Currency, MinorUnits};

/// The tender methods, in the order a report lists them.
pub const METHODS: [&str; 8] =
    ["cash", "card", "card_external", "bank_transfer", "deposit", "gift_card", "loyalty", "external"];

/// One tender method's day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MethodTotal {
    /// `cash`, `card`, `card_external`, `bank_transfer`, `deposit`, `gift_card` (spent, or given
    /// back onto a card), or `external` (money given back on a terminal or by bank, which a
    /// correction does not split).
    pub method: String,
    pub taken_minor: i64,
    pub returned_minor: i64,
    /// `taken − returned`.
    pub net_minor: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct Count {
    pub count: u32,
    pub amount_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PractitionerTips {
    pub practitioner_id: PractitionerId,
    pub amount_minor: i64,
}

/// A location's day at the till, worked out from its sales and corrections.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DaySummary {
    pub location_id: LocationId,
    pub day: NaiveDate,
    pub currency: Currency,
    /// The day's sales (voided ones included, as recorded) and what they came to.
    pub sales: Count,
    pub tax_minor: i64,
    pub discount_minor: i64,
    pub voids: Count,
    pub refunds: Count,
    /// Every method, in `METHODS` order, zeros included.
    pub by_method: Vec<MethodTotal>,
    /// Gift cards sold on the day's sales not voided: a liability, not takings.
    pub gift_cards_sold: Count,
    /// All methods: what was taken less what went back, less the gift cards sold.
    pub net_takings_minor: i64,
    pub tips: Vec<PractitionerTips>,
    /// Cash taken less cash given back: what the drawer should hold beyond its float.
    pub expected_cash_minor: i64,
}

/// A correction of the day with the sale it corrects (for its location and currency).
pub struct DayCorrection<'a> {
    pub sale: &'a Sale,
    pub correction: &'a Correction,
}

/// Works out a location's day (see the module's rules). `corrections` are those made on `day`
/// at the location; `sale_corrections` every correction of each of the day's sales (to tell
/// the voided ones).
pub fn summarize(
    location_id: &LocationId,
    day: NaiveDate,
    currency: Currency,
    sales: &[Sale],
    sale_corrections: &BTreeMap<String, Vec<Correction>>,
    corrections: &[DayCorrection<'_>],
) -> DaySummary {
    let mut taken: BTreeMap<&str, i64> = BTreeMap::new();
    let mut returned: BTreeMap<&str, i64> = BTreeMap::new();
    let mut tips: BTreeMap<PractitionerId, i64> = BTreeMap::new();
    let mut summary = DaySummary {
        location_id: location_id.clone(),
        day,
        currency,
        sales: Count::default(),
        tax_minor: 0,
        discount_minor: 0,
        voids: Count::default(),
        refunds: Count::default(),
        by_method: Vec::new(),
        gift_cards_sold: Count::default(),
        net_takings_minor: 0,
        tips: Vec::new(),
        expected_cash_minor: 0,
    };
    for s in sales {
        summary.sales.count += 1;
        summary.sales.amount_minor += s.totals.total_minor;
        summary.tax_minor += s.totals.tax_minor;
        summary.discount_minor += s.totals.discount_minor;
        for tender in &s.tenders {
            let amount = match tender {
                Tender::Cash { tendered_minor } => tendered_minor.get() - s.totals.change_minor,
                other => other.amount(),
            };
            *taken.entry(tender.method()).or_default() += amount;
        }
        let empty = Vec::new();
        let of_sale = sale_corrections.get(s.id.as_str()).unwrap_or(&empty);
        if sale::status(s, of_sale) != sale::SaleStatus::Voided {
            for tip in &s.tips {
                *tips.entry(tip.practitioner_id.clone()).or_default() += tip.amount_minor.get();
            }
            for line in s.lines.iter().filter(|l| l.input.kind == sale::LineKind::GiftCard) {
                summary.gift_cards_sold.count += 1;
                summary.gift_cards_sold.amount_minor += line.total_minor;
            }
        }
    }
    for DayCorrection { correction, .. } in corrections {
        if correction.status == CorrectionStatus::Failed {
            continue;
        }
        let counter = match correction.kind {
            CorrectionKind::Void => &mut summary.voids,
            CorrectionKind::Refund => &mut summary.refunds,
        };
        counter.count += 1;
        counter.amount_minor += correction.amount();
        for back in &correction.returns {
            let method = back.method.as_str();
            *returned.entry(method).or_default() += back.amount_minor;
        }
    }
    summary.by_method = METHODS
        .iter()
        .map(|m| {
            let (t, r) = (taken.get(m).copied().unwrap_or(0), returned.get(m).copied().unwrap_or(0));
            MethodTotal { method: (*m).to_owned(), taken_minor: t, returned_minor: r, net_minor: t - r }
        })
        .collect();
    summary.net_takings_minor =
        summary.by_method.iter().map(|m| m.net_minor).sum::<i64>() - summary.gift_cards_sold.amount_minor;
    summary.expected_cash_minor = summary.by_method[0].net_minor;
    summary.tips = tips
        .into_iter()
        .map(|(practitioner_id, amount_minor)| PractitionerTips { practitioner_id, amount_minor })
        .collect();
    summary
}

/// Notes or coins of one value, counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Denomination {
    /// The value of one note or coin, in minor units (2000 = £20).
    pub value_minor: MinorUnits,
    pub count: u32,
}

/// The cash counted at the close: by denomination, or a total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseInput {
    pub location_id: LocationId,
    /// The location's local day (YYYY-MM-DD).
    #[schema(value_type = String, format = Date)]
    pub date: NaiveDate,
    /// The notes and coins counted (their sum is the count); or give `counted_minor`.
    #[serde(default)]
    pub denominations: Vec<Denomination>,
    /// The cash counted in all, when not by denomination.
    #[serde(default)]
    pub counted_minor: Option<MinorUnits>,
    /// The drawer's float at opening (kept in it, so expected on top of the day's cash).
    #[serde(default)]
    pub float_minor: Option<MinorUnits>,
    #[serde(default)]
    pub note: Option<Reason>,
}

/// The most denominations one count may list.
pub const MAX_DENOMINATIONS: usize = 30;

impl CloseInput {
    /// The cash counted: the denominations' sum, or `counted_minor` (exactly one of the two).
    pub fn counted(&self) -> AppResult<i64> {
        match (self.denominations.is_empty(), self.counted_minor) {
            (true, Some(total)) => Ok(total.get()),
            (false, None) => {
                if self.denominations.len() > MAX_DENOMINATIONS {
                    return Err(AppError::invalid(
                        "too_many",
                        "denominations",
                        format!("at most {MAX_DENOMINATIONS} denominations"),
                    ));
                }
                let mut total: i64 = 0;
                for (i, d) in self.denominations.iter().enumerate() {
                    if d.value_minor.get() == 0 || d.count > 100_000 {
                        return Err(AppError::invalid(
                            "out_of_range",
                            format!("denominations[{i}]"),
                            "a note or coin is worth more than nothing, and at most 100000 of one are counted",
                        ));
                    }
                    total += d.value_minor.get() * i64::from(d.count);
                }
                Ok(total)
            }
            _ => Err(AppError::invalid(
                "count_required",
                "counted_minor",
                "give the cash counted either by denomination or as a total (one of the two)",
            )),
        }
    }
}

/// A location's day, closed: the cash counted against what was expected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CashUp {
    pub location_id: LocationId,
    pub day: NaiveDate,
    pub currency: Currency,
    pub float_minor: i64,
    /// The float plus the day's expected cash, at the close.
    pub expected_minor: i64,
    pub counted_minor: i64,
    /// `counted − expected`: negative when cash is missing.
    pub difference_minor: i64,
    pub denominations: Vec<Denomination>,
    pub note: Option<Reason>,
    /// The day as it stood when it was closed.
    pub summary: DaySummary,
    pub closed_by: String,
    pub closed_at: DateTime<Utc>,
}

/// The cash-up of `summary` counted as `input` says, by `by` at `at`.
pub fn cash_up(summary: DaySummary, input: &CloseInput, by: &str, at: DateTime<Utc>) -> AppResult<CashUp> {
    let counted = input.counted()?;
    let float = input.float_minor.map_or(0, MinorUnits::get);
    let expected = float + summary.expected_cash_minor;
    Ok(CashUp {
        location_id: summary.location_id.clone(),
        day: summary.day,
        currency: summary.currency.clone(),
        float_minor: float,
        expected_minor: expected,
        counted_minor: counted,
        difference_minor: counted - expected,
        denominations: input.denominations.clone(),
        note: input.note.clone(),
        summary,
        closed_by: by.to_owned(),
        closed_at: at,
    })
}

/// `1234` → `12.34`, `-5` → `-0.05` (two minor digits, as every supported currency).
pub fn major(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", minor.abs() / 100, minor.abs() % 100)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{CorrectionId, SaleId};
    use crate::sale::{InvoiceNumber, LineInput, LineKind, Quantity, Return, ReturnMethod, SaleInput, Tip};
    use crate::values::Name;

    fn m(n: i64) -> MinorUnits {
        MinorUnits::new(n).unwrap()
    }

    fn sale_of(location: &LocationId, unit: i64, tenders: Vec<Tender>, tips: Vec<Tip>) -> Sale {
        let input = SaleInput {
            location_id: location.clone(),
            client_id: None,
            currency: Currency::gbp(),
            lines: vec![LineInput {
                kind: LineKind::Product,
                name: Name::parse("Serum").unwrap(),
                sku: None,
                service_id: None,
                appointment_id: None,
                practitioner_id: None,
                quantity: Quantity::new(1).unwrap(),
                unit_price_minor: m(unit),
                tax: None,
                discount: None,
                gift_card: None,
                package_template_id: None,
                package_id: None,
            }],
            discount: None,
            tips,
            tenders,
        };
        let priced = sale::price(&input).unwrap();
        let day = NaiveDate::from_ymd_opt(2027, 3, 1).unwrap();
        Sale::new(SaleId::new(), InvoiceNumber::FIRST, input, priced, day, Utc::now(), "mem_x")
    }

    fn correction(sale: &Sale, kind: CorrectionKind, returns: Vec<Return>) -> Correction {
        Correction {
            id: CorrectionId::new(),
            sale_id: sale.id.clone(),
            seq: 1,
            kind,
            reason: Reason::parse("x").unwrap(),
            returns,
            status: CorrectionStatus::Completed,
            at: Utc::now(),
            by: "mem_x".into(),
            goods_returned: false,
        }
    }

    #[test]
    fn the_drawer_expects_cash_taken_less_change_and_cash_given_back() {
        let location = LocationId::new();
        let p = PractitionerId::new();
        let cash = sale_of(&location, 1_250, vec![Tender::Cash { tendered_minor: m(2_000) }], vec![]);
        let mixed = sale_of(
            &location,
            10_000,
            vec![
                Tender::Deposit { amount_minor: m(4_000), payment_id: crate::ids::PaymentId::new() },
                Tender::CardExternal {
                    amount_minor: m(6_500),
                    terminal_reference: sale::Reference::parse("T").unwrap(),
                },
            ],
            vec![Tip { practitioner_id: p.clone(), amount_minor: m(500) }],
        );
        let voided = sale_of(
            &location,
            3_000,
            vec![Tender::Cash { tendered_minor: m(3_500) }],
            vec![Tip { practitioner_id: p.clone(), amount_minor: m(500) }],
        );
        let void = correction(&voided, CorrectionKind::Void, vec![Return::new(ReturnMethod::Cash, 3_500)]);
        let refund = correction(&mixed, CorrectionKind::Refund, vec![Return::new(ReturnMethod::Cash, 1_000)]);
        let of_sales = BTreeMap::from([(voided.id.to_string(), vec![void.clone()])]);
        let day = DayCorrection { sale: &voided, correction: &void };
        let day_refund = DayCorrection { sale: &mixed, correction: &refund };
        let sales = [cash, mixed.clone(), voided.clone()];
        let summary = summarize(
            &location,
            NaiveDate::from_ymd_opt(2027, 3, 1).unwrap(),
            Currency::gbp(),
            &sales,
            &of_sales,
            &[day, day_refund],
        );
        let cash = &summary.by_method[0];
        // 12.50 + 35.00 (with its tip) kept in cash, the change given back at once; 35.00 voided
        // and 10.00 refunded.
        assert_eq!((cash.taken_minor, cash.returned_minor, cash.net_minor), (4_750, 4_500, 250));
        assert_eq!(summary.expected_cash_minor, 250);
        let deposit = summary.by_method.iter().find(|m| m.method == "deposit").unwrap();
        assert_eq!(deposit.taken_minor, 4_000);
        assert_eq!((summary.sales.count, summary.sales.amount_minor), (3, 1_250 + 10_500 + 3_500));
        assert_eq!((summary.voids.count, summary.refunds.amount_minor), (1, 1_000));
        assert_eq!(
            summary.tips,
            vec![PractitionerTips { practitioner_id: p, amount_minor: 500 }],
            "not the voided sale's"
        );
        let input = CloseInput {
            location_id: location,
            date: summary.day,
            denominations: vec![
                Denomination { value_minor: m(2_000), count: 2 },
                Denomination { value_minor: m(50), count: 3 },
            ],
            counted_minor: None,
            float_minor: Some(m(5_000)),
            note: None,
        };
        let up = cash_up(summary, &input, "mem_x", Utc::now()).unwrap();
        assert_eq!((up.expected_minor, up.counted_minor, up.difference_minor), (5_250, 4_150, -1_100));
    }

    #[test]
    fn gift_cards_spent_are_their_own_method_and_gift_cards_sold_are_a_liability_not_takings() {
        let location = LocationId::new();
        // A £30.00 serum paid £20.00 by gift card and £10.00 in cash.
        let spent = sale_of(
            &location,
            3_000,
            vec![
                Tender::GiftCard {
                    amount_minor: m(2_000),
                    code: None,
                    gift_card_id: Some(crate::ids::GiftCardId::new()),
                    code_last4: Some("ABCD".into()),
                },
                Tender::Cash { tendered_minor: m(1_000) },
            ],
            vec![],
        );
        // A £50.00 gift card sold for cash.
        let mut input = SaleInput {
            location_id: location.clone(),
            client_id: None,
            currency: Currency::gbp(),
            lines: vec![LineInput {
                kind: LineKind::GiftCard,
                name: Name::parse("Gift card").unwrap(),
                sku: None,
                service_id: None,
                appointment_id: None,
                practitioner_id: None,
                quantity: Quantity::new(1).unwrap(),
                unit_price_minor: m(5_000),
                tax: None,
                discount: None,
                gift_card: Some(crate::gift_card::Recipient { name: Name::parse("Ada").unwrap(), email: None }),
                package_template_id: None,
                package_id: None,
            }],
            discount: None,
            tips: vec![],
            tenders: vec![Tender::Cash { tendered_minor: m(5_000) }],
        };
        let priced = sale::price(&input).unwrap();
        input.tenders = vec![Tender::Cash { tendered_minor: m(5_000) }];
        let day = NaiveDate::from_ymd_opt(2027, 3, 1).unwrap();
        let sold = Sale::new(SaleId::new(), InvoiceNumber::FIRST, input, priced, day, Utc::now(), "mem_x");
        let summary = summarize(&location, day, Currency::gbp(), &[spent, sold], &BTreeMap::new(), &[]);
        let method = |name: &str| summary.by_method.iter().find(|m| m.method == name).unwrap().net_minor;
        assert_eq!((method("gift_card"), method("cash")), (2_000, 6_000));
        assert_eq!((summary.gift_cards_sold.count, summary.gift_cards_sold.amount_minor), (1, 5_000));
        // The £30.00 serum is takings; the £50.00 card is not, though its cash is in the drawer.
        assert_eq!((summary.net_takings_minor, summary.expected_cash_minor), (3_000, 6_000));
    }

    #[test]
    fn a_count_is_by_denomination_or_a_total_never_both_nor_neither() {
        let mut input = CloseInput {
            location_id: LocationId::new(),
            date: NaiveDate::from_ymd_opt(2027, 3, 1).unwrap(),
            denominations: vec![],
            counted_minor: None,
            float_minor: None,
            note: None,
        };
        assert!(input.counted().is_err());
        input.counted_minor = Some(m(100));
        assert_eq!(input.counted().unwrap(), 100);
        input.denominations = vec![Denomination { value_minor: m(100), count: 1 }];
        assert!(input.counted().is_err());
    }

    #[test]
    fn money_in_major_units_keeps_the_sign_and_two_digits() {
        assert_eq!(
            (major(1234), major(-5), major(0), major(100)),
            ("12.34".into(), "-0.05".into(), "0.00".into(), "1.00".into())
        );
    }
}
