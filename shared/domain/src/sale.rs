//! The desk till: an itemised sale of services and retail products, priced in integer minor
//! units, paid by one or more tenders, numbered from the clinic's gapless invoice sequence and
//! never changed once recorded. A void or a refund is a separate correction that names the sale.
//!
//! **Pricing, line by line** (every figure an `i64` of minor units; no floats):
//!
//! 1. `gross = unit_price × quantity`;
//! 2. the line's own discount: a percentage of `gross` (rounded) or a fixed amount (at most `gross`);
//! 3. the sale's discount (a percentage of, or a fixed amount up to, what the lines come to after
//!    their own discounts) is shared among the lines in proportion to those amounts: line `i`
//!    takes `round(D × cᵢ / base) − round(D × cᵢ₋₁ / base)`, `cᵢ` the running total up to and
//!    including it, so the shares add up to the discount exactly and none exceeds its line;
//! 4. `net = gross − discounts`; the tax is on `net`: exclusive, `tax = round(net × rate / 10000)`
//!    and the line costs `net + tax`; inclusive, `tax = round(net × rate / (10000 + rate))` and
//!    the line costs `net`;
//! 5. tips (per practitioner, untaxed, never discounted) are added after the lines.
//!
//! **Rounding**: every `round` above is to the nearest minor unit, a half going to the even
//! neighbour (banker's rounding), applied once per line per step; totals are sums of the rounded
//! line figures, so the lines printed on an invoice always add up to its total.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{AppError, AppResult};
use crate::gift_card::{GiftCardCode, Recipient};
use crate::ids::{
    AppointmentId, ClientId, CorrectionId, GiftCardId, LocationId, PackageId, PackageTemplateId, PaymentId,
    PractitionerId, SaleId, ServiceId,
};
use crate::payment::IntentId;
use crate::team::{Permission, Role};
use crate::values::{Currency, MinorUnits, Name, ParseError};

/// The most lines one sale may have (each may add a check to the sale's one transaction).
pub const MAX_LINES: usize = 40;
/// The most tips and the most tenders one sale may have.
pub const MAX_TIPS: usize = 10;
pub const MAX_TENDERS: usize = 10;

/// `n / d` rounded to the nearest integer, a half to the even neighbour; `n ≥ 0`, `d > 0`.
pub fn div_round_half_even(n: i128, d: i128) -> i128 {
    let (q, r) = (n / d, n % d);
    match (2 * r).cmp(&d) {
        std::cmp::Ordering::Less => q,
        std::cmp::Ordering::Greater => q + 1,
        std::cmp::Ordering::Equal if q % 2 == 0 => q,
        std::cmp::Ordering::Equal => q + 1,
    }
}

fn scaled(amount: i64, numerator: i64, denominator: i64) -> i64 {
    div_round_half_even(i128::from(amount) * i128::from(numerator), i128::from(denominator)) as i64
}

macro_rules! bounded_number {
    ($(#[$doc:meta])* $name:ident, $min:expr, $max:expr, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
        #[serde(try_from = "i64", into = "i64")]
        #[schema(value_type = i64)]
        pub struct $name(u32);

        impl $name {
            pub fn new(value: i64) -> Result<Self, ParseError> {
                if !($min..=$max).contains(&value) {
                    return Err(ParseError(format!(concat!("must be ", $what, " from {} to {}"), $min, $max)));
                }
                Ok($name(value as u32))
            }

            pub fn get(self) -> i64 {
                i64::from(self.0)
            }
        }

        impl TryFrom<i64> for $name {
            type Error = ParseError;
            fn try_from(value: i64) -> Result<Self, ParseError> {
                $name::new(value)
            }
        }

        impl From<$name> for i64 {
            fn from(value: $name) -> i64 {
                value.get()
            }
        }
    };
}

bounded_number!(
    /// How many of a line: 1 to 999.
    Quantity, 1, 999, "a whole number"
);
bounded_number!(
    /// A tax rate in basis points (2000 = 20%): 0 to 10000.
    TaxRate, 0, 10_000, "basis points"
);
bounded_number!(
    /// A percentage discount in basis points (1000 = 10%): 1 to 10000.
    Percent, 1, 10_000, "basis points"
);
bounded_number!(
    /// Loyalty points spent as a tender: 1 to 10 000 000.
    Points, 1, 10_000_000, "a whole number of points"
);

macro_rules! short_text {
    ($(#[$doc:meta])* $name:ident, $max:literal, $example:literal, $allowed:expr, $rule:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        #[serde(try_from = "String", into = "String")]
        #[schema(value_type = String, example = $example)]
        pub struct $name(String);

        impl $name {
            pub fn parse(raw: &str) -> Result<Self, ParseError> {
                let text = raw.trim();
                let allowed: fn(char) -> bool = $allowed;
                if text.is_empty() || text.chars().count() > $max || !text.chars().all(allowed) {
                    return Err(ParseError(format!(concat!("must be 1–{} ", $rule), $max)));
                }
                Ok($name(text.to_owned()))
            }

        }

        crate::values::string_value!($name);
    };
}

short_text!(
    /// A retail product's stock-keeping unit.
    Sku, 40, "SPF-50-50ML", |c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'),
    "letters, digits, `-`, `_` or `.`"
);
short_text!(
    /// Why a discount was given, a sale voided or money given back (kept on the record and the
    /// audit log).
    Reason, 500, "loyal client", |c| !c.is_control(), "characters with no control characters"
);
short_text!(
    /// A card terminal's or a bank's reference for a payment made outside our gateway.
    Reference, 64, "TID-4411-000123", |c| c.is_ascii_graphic() || c == ' ', "printable ASCII characters"
);

/// A clinic's invoice number: its gapless sequence, printed `INV-000123`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "INV-000123")]
pub struct InvoiceNumber(u64);

impl InvoiceNumber {
    pub const FIRST: InvoiceNumber = InvoiceNumber(1);

    pub fn new(n: u64) -> Result<Self, ParseError> {
        if n == 0 {
            return Err(ParseError("invoice numbers start at 1".into()));
        }
        Ok(InvoiceNumber(n))
    }

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let digits = raw.strip_prefix("INV-").filter(|d| d.len() >= 6 && d.chars().all(|c| c.is_ascii_digit()));
        let n =
            digits.and_then(|d| d.parse::<u64>().ok()).ok_or_else(|| ParseError("must look like INV-000123".into()))?;
        InvoiceNumber::new(n)
    }

    pub fn get(self) -> u64 {
        self.0
    }

    /// The number that follows this one.
    pub fn next(self) -> InvoiceNumber {
        InvoiceNumber(self.0 + 1)
    }
}

impl fmt::Display for InvoiceNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "INV-{:06}", self.0)
    }
}

impl TryFrom<String> for InvoiceNumber {
    type Error = ParseError;
    fn try_from(raw: String) -> Result<Self, ParseError> {
        InvoiceNumber::parse(&raw)
    }
}

impl From<InvoiceNumber> for String {
    fn from(n: InvoiceNumber) -> String {
        n.to_string()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaxMode {
    /// The unit price includes the tax.
    Inclusive,
    /// The tax is added to the unit price.
    Exclusive,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Tax {
    pub rate_bp: TaxRate,
    pub mode: TaxMode,
}

impl Tax {
    pub const NONE: Tax = Tax { rate_bp: TaxRate(0), mode: TaxMode::Exclusive };
}

/// A discount on a line or on the whole sale, with why it was given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Discount {
    /// A percentage, in basis points (1000 = 10%).
    Percent { basis_points: Percent, reason: Reason },
    /// A fixed amount, at most what it is taken from.
    Fixed { amount_minor: MinorUnits, reason: Reason },
}

impl Discount {
    /// What this discount takes from `base` (`None` when a fixed amount exceeds it).
    fn of(&self, base: i64) -> Option<i64> {
        match self {
            Discount::Percent { basis_points, .. } => Some(scaled(base, basis_points.get(), 10_000)),
            Discount::Fixed { amount_minor, .. } => (amount_minor.get() <= base).then_some(amount_minor.get()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    Service,
    Product,
    /// A gift card sold (a multi-purpose voucher: untaxed, never discounted, one per line; its
    /// `unit_price_minor` is the card's amount). Needs `gift_card`.
    GiftCard,
    /// A package of sessions sold (`package_template_id`; one per line, for the sale's client):
    /// priced from the template (the till's `unit_price_minor` is replaced by the template's),
    /// taxed as the desk taxes the service it covers, discounted like any line.
    Package,
}

/// One line as the till rings it up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineInput {
    pub kind: LineKind,
    pub name: Name,
    /// Products only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<Sku>,
    /// Services only: the catalog's service, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_id: Option<ServiceId>,
    /// Services only: the clinic's appointment this line is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appointment_id: Option<AppointmentId>,
    /// Services only: who gave the treatment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub practitioner_id: Option<PractitionerId>,
    #[serde(default = "one")]
    pub quantity: Quantity,
    pub unit_price_minor: MinorUnits,
    /// No tax when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax: Option<Tax>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount: Option<Discount>,
    /// Gift-card lines only: who the card is for (its code is emailed to them when they have an
    /// email address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gift_card: Option<Recipient>,
    /// Package lines only: the catalog's package template sold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_template_id: Option<PackageTemplateId>,
    /// Service lines only: the client's package a session of which covers this line (one per
    /// line): the line is then priced at nothing to pay and untaxed (its tax was due when the
    /// package was sold), and the package has one session less.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_id: Option<PackageId>,
}

fn one() -> Quantity {
    Quantity(1)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Tip {
    pub practitioner_id: PractitionerId,
    pub amount_minor: MinorUnits,
}

/// How (part of) a sale is paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum Tender {
    /// Notes and coins: what the client handed over; the change is worked out.
    Cash {
        tendered_minor: MinorUnits,
    },
    /// A card payment through our gateway: an intent of this clinic that has succeeded for
    /// exactly this amount (checked with the gateway), used by one sale only.
    Card {
        amount_minor: MinorUnits,
        intent_id: IntentId,
    },
    /// A card payment on a terminal outside our gateway, by its reference.
    CardExternal {
        amount_minor: MinorUnits,
        terminal_reference: Reference,
    },
    BankTransfer {
        amount_minor: MinorUnits,
        reference: Reference,
    },
    /// A booking's deposit the client paid online: counted towards this sale, at most what it
    /// collected and still holds, by one sale only (the payment records which).
    Deposit {
        amount_minor: MinorUnits,
        payment_id: PaymentId,
    },
    /// Part or all of a gift card's balance. The till sends the `code`; the recorded sale keeps
    /// the card's id and the code's last four symbols, never the code.
    GiftCard {
        amount_minor: MinorUnits,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<GiftCardCode>,
        /// Set when the sale is recorded.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        gift_card_id: Option<GiftCardId>,
        /// Set when the sale is recorded.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code_last4: Option<String>,
    },
    /// Loyalty points of the sale's client, worth `amount_minor` at the programme's value (the
    /// till sends the value it shows; the server checks it): spent in the sale's transaction.
    Loyalty {
        points: Points,
        amount_minor: MinorUnits,
    },
}

impl Tender {
    /// What the client handed over with this tender (cash before change).
    pub fn amount(&self) -> i64 {
        match self {
            Tender::Cash { tendered_minor } => tendered_minor.get(),
            Tender::Card { amount_minor, .. }
            | Tender::CardExternal { amount_minor, .. }
            | Tender::BankTransfer { amount_minor, .. }
            | Tender::Deposit { amount_minor, .. }
            | Tender::GiftCard { amount_minor, .. }
            | Tender::Loyalty { amount_minor, .. } => amount_minor.get(),
        }
    }

    /// The tender's method as the API names it (`cash`, `card`, `card_external`, …).
    pub fn method(&self) -> &'static str {
        match self {
            Tender::Cash { .. } => "cash",
            Tender::Card { .. } => "card",
            Tender::CardExternal { .. } => "card_external",
            Tender::BankTransfer { .. } => "bank_transfer",
            Tender::Deposit { .. } => "deposit",
            Tender::GiftCard { .. } => "gift_card",
            Tender::Loyalty { .. } => "loyalty",
        }
    }
}

/// A sale as the till sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaleInput {
    pub location_id: LocationId,
    #[serde(default)]
    pub client_id: Option<ClientId>,
    #[serde(default)]
    pub currency: Currency,
    pub lines: Vec<LineInput>,
    /// A discount on the whole sale (shared among the lines, before tax).
    #[serde(default)]
    pub discount: Option<Discount>,
    #[serde(default)]
    pub tips: Vec<Tip>,
    pub tenders: Vec<Tender>,
}

impl SaleInput {
    pub fn gives_discount(&self) -> bool {
        self.discount.is_some() || self.lines.iter().any(|l| l.discount.is_some())
    }

    /// A discount may be given only by a role with `Permission::DiscountGive` (403 otherwise).
    pub fn check_discount_allowed(&self, role: Role) -> AppResult<()> {
        if self.gives_discount() && !role.allows(Permission::DiscountGive) {
            return Err(AppError::Forbidden(format!("the {role:?} role may not give a discount")));
        }
        Ok(())
    }
}

/// A line with its figures (see the module's pricing rules).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SaleLine {
    #[serde(flatten)]
    pub input: LineInput,
    /// `unit_price × quantity`.
    pub gross_minor: i64,
    /// The line's own discount plus its share of the sale's.
    pub discount_minor: i64,
    /// `gross − discount`: the amount the tax mode applies to.
    pub net_minor: i64,
    pub tax_minor: i64,
    /// What the line adds to the sale (`net + tax` when exclusive, `net` when inclusive).
    pub total_minor: i64,
    /// Gift-card lines: the card it issued (set when the sale is recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gift_card_id: Option<GiftCardId>,
    /// Package lines: the client's package it sold (set when the sale is recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sold_package_id: Option<PackageId>,
}

impl SaleLine {
    /// Whether a package session pays for this line (nothing to pay on it).
    pub fn covered_by_package(&self) -> bool {
        self.input.package_id.is_some()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct Totals {
    /// The lines' gross amounts.
    pub subtotal_minor: i64,
    pub discount_minor: i64,
    pub tax_minor: i64,
    pub tips_minor: i64,
    /// What the client pays: the lines' totals plus tips.
    pub total_minor: i64,
    /// What the tenders handed over (cash before change).
    pub tendered_minor: i64,
    /// Cash given back.
    pub change_minor: i64,
}

/// The priced lines and totals of a sale input whose tenders settle it exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Priced {
    pub lines: Vec<SaleLine>,
    pub totals: Totals,
}

fn invalid(code: &'static str, field: impl Into<String>, message: impl Into<String>) -> AppError {
    AppError::invalid(code, field, message)
}

/// Prices `input` and checks its tenders against the total (see the module's rules).
pub fn price(input: &SaleInput) -> AppResult<Priced> {
    let mut priced = price_lines(input)?;
    let (tendered_minor, change_minor) = settle(priced.totals.total_minor, &input.tenders)?;
    priced.totals.tendered_minor = tendered_minor;
    priced.totals.change_minor = change_minor;
    Ok(priced)
}

/// What the till shows before it takes payment: `input` priced as `price` would, its tenders
/// compared with the total but not required to settle it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Quote {
    pub lines: Vec<SaleLine>,
    /// As a sale's; `tendered_minor` is what the tenders so far come to, and `change_minor` the
    /// change once they settle the sale (0 until then).
    pub totals: Totals,
    /// What is still to be paid after the tenders so far (0 once they cover the total).
    pub due_minor: i64,
    /// Whether these tenders settle the sale as they are (otherwise completing it answers 422).
    pub settled: bool,
}

/// Prices `input` (the same lines, discounts, tax and tips as `price`) without requiring its
/// tenders to settle it.
pub fn quote(input: &SaleInput) -> AppResult<Quote> {
    let Priced { lines, mut totals } = price_lines(input)?;
    let handed: i64 = input.tenders.iter().map(Tender::amount).sum();
    let settled = match settle(totals.total_minor, &input.tenders) {
        Ok((tendered, change)) => {
            (totals.tendered_minor, totals.change_minor) = (tendered, change);
            true
        }
        Err(_) => {
            totals.tendered_minor = handed;
            false
        }
    };
    Ok(Quote { lines, due_minor: (totals.total_minor - handed).max(0), totals, settled })
}

/// The lines and totals of `input`, its tenders not yet compared with them (`tendered_minor`
/// and `change_minor` are 0).
fn price_lines(input: &SaleInput) -> AppResult<Priced> {
    if input.lines.is_empty() || input.lines.len() > MAX_LINES {
        return Err(invalid("line_count", "lines", format!("a sale has 1 to {MAX_LINES} lines")));
    }
    if input.tips.len() > MAX_TIPS {
        return Err(invalid("tip_count", "tips", format!("at most {MAX_TIPS} tips")));
    }
    if input.tenders.len() > MAX_TENDERS {
        return Err(invalid("tender_count", "tenders", format!("at most {MAX_TENDERS} tenders")));
    }
    // Gross, and what is left after each line's own discount.
    let mut after_own = Vec::with_capacity(input.lines.len());
    for (i, line) in input.lines.iter().enumerate() {
        check_line_fields(i, line)?;
        // A line a package session covers was paid for when the package was sold.
        let gross = if line.package_id.is_some() { 0 } else { line.unit_price_minor.get() * line.quantity.get() };
        let own = match &line.discount {
            None => 0,
            Some(d) => d.of(gross).ok_or_else(|| {
                invalid("discount_exceeds_line", format!("lines[{i}].discount"), "a discount cannot exceed its line")
            })?,
        };
        after_own.push((gross, own));
    }
    // A gift card is never discounted: the sale's discount is shared among the other lines.
    let shares = |line: &LineInput| line.kind != LineKind::GiftCard;
    let base: i64 =
        input.lines.iter().zip(&after_own).filter(|(l, _)| shares(l)).map(|(_, (gross, own))| gross - own).sum();
    let sale_discount = match &input.discount {
        None => 0,
        Some(d) => d
            .of(base)
            .ok_or_else(|| invalid("discount_exceeds_sale", "discount", "a discount cannot exceed the sale"))?,
    };
    let mut lines = Vec::with_capacity(input.lines.len());
    let (mut running, mut allocated) = (0i64, 0i64);
    for (line, (gross, own)) in input.lines.iter().zip(after_own) {
        if shares(line) {
            running += gross - own;
        }
        let upto = if base == 0 { 0 } else { scaled(sale_discount, running, base) };
        let share = upto - allocated;
        allocated = upto;
        let net = gross - own - share;
        let tax = line.tax.unwrap_or(Tax::NONE);
        let rate = tax.rate_bp.get();
        let (tax_minor, total_minor) = match tax.mode {
            TaxMode::Exclusive => {
                let t = scaled(net, rate, 10_000);
                (t, net + t)
            }
            TaxMode::Inclusive => (scaled(net, rate, 10_000 + rate), net),
        };
        lines.push(SaleLine {
            input: line.clone(),
            gross_minor: gross,
            discount_minor: own + share,
            net_minor: net,
            tax_minor,
            total_minor,
            gift_card_id: None,
            sold_package_id: None,
        });
    }
    let with_package = input.lines.iter().position(|l| l.kind == LineKind::Package || l.package_id.is_some());
    if let Some(i) = with_package
        && input.client_id.is_none()
    {
        return Err(invalid(
            "package_client_required",
            format!("lines[{i}]"),
            "a package is sold to and used by a client: name the sale's client",
        ));
    }
    let sells_gift_card = input.lines.iter().any(|l| l.kind == LineKind::GiftCard);
    if let Some(i) = input.tenders.iter().position(|t| matches!(t, Tender::GiftCard { .. }))
        && sells_gift_card
    {
        return Err(invalid(
            "gift_card_for_gift_card",
            format!("tenders[{i}]"),
            "a gift card cannot pay for another gift card",
        ));
    }
    check_loyalty_tenders(input, sells_gift_card)?;
    for (i, tip) in input.tips.iter().enumerate() {
        if tip.amount_minor.get() == 0 {
            return Err(invalid("zero_amount", format!("tips[{i}].amount_minor"), "a tip is more than nothing"));
        }
    }
    let tips_minor: i64 = input.tips.iter().map(|t| t.amount_minor.get()).sum();
    let total_minor = lines.iter().map(|l| l.total_minor).sum::<i64>() + tips_minor;
    let totals = Totals {
        subtotal_minor: lines.iter().map(|l| l.gross_minor).sum(),
        discount_minor: lines.iter().map(|l| l.discount_minor).sum(),
        tax_minor: lines.iter().map(|l| l.tax_minor).sum(),
        tips_minor,
        total_minor,
        tendered_minor: 0,
        change_minor: 0,
    };
    Ok(Priced { lines, totals })
}

/// Points pay only for the sale's own client, once per sale, and never for a gift card.
fn check_loyalty_tenders(input: &SaleInput, sells_gift_card: bool) -> AppResult<()> {
    let mut loyalty = input.tenders.iter().enumerate().filter(|(_, t)| matches!(t, Tender::Loyalty { .. }));
    let Some((i, _)) = loyalty.next() else { return Ok(()) };
    if input.client_id.is_none() {
        return Err(invalid(
            "loyalty_client_required",
            format!("tenders[{i}]"),
            "points are the client's: name the sale's client",
        ));
    }
    if sells_gift_card {
        return Err(invalid("loyalty_for_gift_card", format!("tenders[{i}]"), "points cannot buy a gift card"));
    }
    if let Some((j, _)) = loyalty.next() {
        return Err(invalid("one_loyalty_tender", format!("tenders[{j}]"), "one points tender per sale"));
    }
    Ok(())
}

fn check_line_fields(i: usize, line: &LineInput) -> AppResult<()> {
    let misplaced = |field: &str, kind: &str| {
        Err(invalid("not_for_this_kind", format!("lines[{i}].{field}"), format!("only a {kind} line has a {field}")))
    };
    let field = |name: &str| format!("lines[{i}].{name}");
    if line.kind != LineKind::Package && line.package_template_id.is_some() {
        return misplaced("package_template_id", "package");
    }
    if line.package_id.is_some() {
        if line.kind != LineKind::Service {
            return misplaced("package_id", "service");
        }
        if line.service_id.is_none() {
            return Err(invalid(
                "package_needs_service",
                field("service_id"),
                "a line covered by a package names the catalog's service",
            ));
        }
        if line.quantity.get() != 1 {
            return Err(invalid("package_quantity", field("quantity"), "one package session per line"));
        }
        if line.discount.is_some() {
            return Err(invalid(
                "package_discounted",
                field("discount"),
                "a line covered by a package has nothing to discount",
            ));
        }
    }
    if line.kind == LineKind::Package {
        if line.package_template_id.is_none() {
            return Err(invalid("package_template_required", field("package_template_id"), "which package is sold?"));
        }
        if line.sku.is_some() || line.service_id.is_some() || line.appointment_id.is_some() || line.gift_card.is_some()
        {
            return Err(invalid("not_for_this_kind", field("kind"), "a package line names only its template"));
        }
        if line.practitioner_id.is_some() {
            return misplaced("practitioner_id", "service");
        }
        if line.quantity.get() != 1 {
            return Err(invalid("package_quantity", field("quantity"), "one package per line"));
        }
        return Ok(());
    }
    if line.kind == LineKind::GiftCard {
        if line.gift_card.is_none() {
            return Err(invalid("gift_card_recipient_required", field("gift_card"), "who is the gift card for?"));
        }
        if line.sku.is_some() || line.service_id.is_some() || line.appointment_id.is_some() {
            return Err(invalid("not_for_this_kind", field("kind"), "a gift-card line names no product or service"));
        }
        if line.practitioner_id.is_some() {
            return misplaced("practitioner_id", "service");
        }
        if line.quantity.get() != 1 {
            return Err(invalid("gift_card_quantity", field("quantity"), "one gift card per line"));
        }
        if line.tax.is_some_and(|t| t.rate_bp.get() != 0) {
            return Err(invalid("gift_card_taxed", field("tax"), "a gift card is not taxed when sold"));
        }
        if line.discount.is_some() {
            return Err(invalid("gift_card_discounted", field("discount"), "a gift card is never discounted"));
        }
        return crate::gift_card::check_amount(line.unit_price_minor.get(), &field("unit_price_minor"));
    }
    if line.gift_card.is_some() {
        return misplaced("gift_card", "gift_card");
    }
    match line.kind {
        LineKind::Service if line.sku.is_some() => misplaced("sku", "product"),
        LineKind::Product if line.service_id.is_some() => misplaced("service_id", "service"),
        LineKind::Product if line.appointment_id.is_some() => misplaced("appointment_id", "service"),
        LineKind::Product if line.practitioner_id.is_some() => misplaced("practitioner_id", "service"),
        _ => Ok(()),
    }
}

/// What the tenders handed over and the change, when they settle `total` exactly: the
/// non-cash tenders never exceed it, and cash may exceed what is left only by the change.
pub fn settle(total: i64, tenders: &[Tender]) -> AppResult<(i64, i64)> {
    let mut cash = None;
    let mut other = 0;
    for (i, tender) in tenders.iter().enumerate() {
        if tender.amount() == 0 {
            return Err(invalid("zero_amount", format!("tenders[{i}]"), "a tender is more than nothing"));
        }
        match tender {
            Tender::Cash { tendered_minor } if cash.is_none() => cash = Some(tendered_minor.get()),
            Tender::Cash { .. } => {
                return Err(invalid("one_cash_tender", format!("tenders[{i}]"), "one cash tender per sale"));
            }
            _ => other += tender.amount(),
        }
    }
    let does_not_sum = |message: String| invalid("tenders_do_not_sum", "tenders", message);
    if other > total {
        return Err(does_not_sum(format!(
            "card and transfer tenders come to {other}, more than the total of {total}; only cash may exceed it"
        )));
    }
    let due_in_cash = total - other;
    let cash = cash.unwrap_or(0);
    if cash < due_in_cash {
        return Err(does_not_sum(format!("the tenders come to {}, short of the total of {total}", other + cash)));
    }
    if cash > 0 && due_in_cash == 0 {
        return Err(does_not_sum("the other tenders pay it all: no cash is due".into()));
    }
    Ok((other + cash, cash - due_in_cash))
}

/// A completed sale, as stored and answered: never changed once recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Sale {
    pub id: SaleId,
    pub invoice_number: InvoiceNumber,
    pub location_id: LocationId,
    /// The day at the location (its time zone) the sale was made.
    pub business_day: NaiveDate,
    pub client_id: Option<ClientId>,
    pub currency: Currency,
    pub lines: Vec<SaleLine>,
    pub discount: Option<Discount>,
    pub tips: Vec<Tip>,
    pub tenders: Vec<Tender>,
    pub totals: Totals,
    pub completed_at: DateTime<Utc>,
    /// The member who rang it up.
    pub completed_by: String,
    /// Loyalty points the sale earned its client (set when the sale is recorded).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub points_earned: i64,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

impl Sale {
    /// The sale made of a priced `input`.
    pub fn new(
        id: SaleId,
        number: InvoiceNumber,
        input: SaleInput,
        priced: Priced,
        business_day: NaiveDate,
        at: DateTime<Utc>,
        by: &str,
    ) -> Sale {
        Sale {
            id,
            invoice_number: number,
            location_id: input.location_id,
            business_day,
            client_id: input.client_id,
            currency: input.currency,
            lines: priced.lines,
            discount: input.discount,
            tips: input.tips,
            tenders: input.tenders,
            totals: priced.totals,
            completed_at: at,
            completed_by: by.to_owned(),
            points_earned: 0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CorrectionKind {
    Void,
    Refund,
}

/// Where money given back goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReturnMethod {
    Cash,
    /// Back to the card through our gateway (the intent's refund).
    Card,
    /// Back on the card terminal or by bank, outside our gateway: recorded, done by staff.
    External,
    /// Released to the booking's deposit (a void): no money moves, and the deposit may count
    /// towards another sale.
    Deposit,
    /// Back onto the gift card that paid (never as cash).
    GiftCard,
    /// Sessions back onto the package that covered lines of the sale (no money moves).
    Package,
    /// Points back onto the client's loyalty account (never as cash).
    Loyalty,
}

impl ReturnMethod {
    /// Its wire name (as serialised).
    pub fn as_str(self) -> &'static str {
        match self {
            ReturnMethod::Cash => "cash",
            ReturnMethod::Card => "card",
            ReturnMethod::External => "external",
            ReturnMethod::Deposit => "deposit",
            ReturnMethod::GiftCard => "gift_card",
            ReturnMethod::Package => "package",
            ReturnMethod::Loyalty => "loyalty",
        }
    }
}

/// One amount given back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Return {
    pub method: ReturnMethod,
    pub amount_minor: i64,
    /// The intent refunded (`card` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent_id: Option<IntentId>,
    /// The gateway's refund, once made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_refund_id: Option<String>,
    /// The deposit released (`deposit` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<PaymentId>,
    /// The gift card credited (`gift_card` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gift_card_id: Option<GiftCardId>,
    /// The package credited (`package` only; `amount_minor` is 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_id: Option<PackageId>,
    /// The sessions put back onto it (`package` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions: Option<u32>,
    /// The points put back onto the client's account (`loyalty` only; `amount_minor` is their value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CorrectionStatus {
    /// Recorded; the gateway is being asked to refund a card.
    Pending,
    Completed,
    /// The gateway refused; nothing was given back.
    Failed,
}

impl Return {
    pub fn new(method: ReturnMethod, amount_minor: i64) -> Return {
        Return {
            method,
            amount_minor,
            intent_id: None,
            gateway_refund_id: None,
            payment_id: None,
            gift_card_id: None,
            package_id: None,
            sessions: None,
            points: None,
        }
    }
}

/// A void or refund of a sale: a record of its own, beside the sale, which stays as it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Correction {
    pub id: CorrectionId,
    pub sale_id: SaleId,
    /// 1, 2, … within the sale: claimed with the record, so two corrections never pass each other.
    pub seq: u32,
    pub kind: CorrectionKind,
    pub reason: Reason,
    pub returns: Vec<Return>,
    pub status: CorrectionStatus,
    pub at: DateTime<Utc>,
    pub by: String,
    /// A refund with the goods: the sale's catalog products went back on the shelf with it (a
    /// void always puts them back).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub goods_returned: bool,
}

impl Correction {
    pub fn amount(&self) -> i64 {
        self.returns.iter().map(|r| r.amount_minor).sum()
    }
}

/// Where a sale stands after its corrections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SaleStatus {
    Completed,
    PartiallyRefunded,
    Refunded,
    Voided,
}

/// What counts against what may still be given back: every correction but a failed one.
fn live(corrections: &[Correction]) -> impl Iterator<Item = &Correction> {
    corrections.iter().filter(|c| c.status != CorrectionStatus::Failed)
}

pub fn returned(corrections: &[Correction]) -> i64 {
    live(corrections).map(Correction::amount).sum()
}

pub fn status(sale: &Sale, corrections: &[Correction]) -> SaleStatus {
    let done = corrections.iter().filter(|c| c.status == CorrectionStatus::Completed);
    if done.clone().any(|c| c.kind == CorrectionKind::Void) {
        return SaleStatus::Voided;
    }
    // A refund of package sessions alone gives back no money but is a refund all the same.
    if !done.clone().any(|c| c.kind == CorrectionKind::Refund) {
        return SaleStatus::Completed;
    }
    if done.map(Correction::amount).sum::<i64>() >= sale.totals.total_minor {
        SaleStatus::Refunded
    } else {
        SaleStatus::PartiallyRefunded
    }
}

/// The returns of a void: each tender's money back the way it came (cash less the change).
/// Only on the sale's own day at its location, and only before any other correction.
pub fn plan_void(sale: &Sale, corrections: &[Correction], today: NaiveDate) -> AppResult<Vec<Return>> {
    if today != sale.business_day {
        return Err(AppError::conflict(
            "void_day_passed",
            "a sale can be voided only on the day it was made; refund it instead",
        ));
    }
    if live(corrections).next().is_some() {
        return Err(AppError::conflict("sale_already_corrected", "this sale has a void or refund already"));
    }
    let returns = sale
        .tenders
        .iter()
        .map(|tender| match tender {
            Tender::Cash { tendered_minor } => {
                Return::new(ReturnMethod::Cash, tendered_minor.get() - sale.totals.change_minor)
            }
            Tender::Card { amount_minor, intent_id } => {
                Return { intent_id: Some(intent_id.clone()), ..Return::new(ReturnMethod::Card, amount_minor.get()) }
            }
            Tender::CardExternal { amount_minor, .. } | Tender::BankTransfer { amount_minor, .. } => {
                Return::new(ReturnMethod::External, amount_minor.get())
            }
            Tender::Deposit { amount_minor, payment_id } => Return {
                payment_id: Some(payment_id.clone()),
                ..Return::new(ReturnMethod::Deposit, amount_minor.get())
            },
            Tender::GiftCard { amount_minor, gift_card_id, .. } => {
                Return { gift_card_id: gift_card_id.clone(), ..Return::new(ReturnMethod::GiftCard, amount_minor.get()) }
            }
            Tender::Loyalty { points, amount_minor } => {
                Return { points: Some(points.get()), ..Return::new(ReturnMethod::Loyalty, amount_minor.get()) }
            }
        })
        .filter(|r| r.amount_minor > 0)
        .chain(package_returns(sale, corrections))
        .collect();
    Ok(returns)
}

/// The sessions each package covered in the sale less what went back to it, by package.
fn packages_open(sale: &Sale, corrections: &[Correction]) -> Vec<(PackageId, u32)> {
    let mut open: Vec<(PackageId, u32)> = Vec::new();
    for id in sale.lines.iter().filter_map(|l| l.input.package_id.as_ref()) {
        match open.iter_mut().find(|(p, _)| p == id) {
            Some((_, n)) => *n += 1,
            None => open.push((id.clone(), 1)),
        }
    }
    for back in live(corrections).flat_map(|c| &c.returns) {
        if let Some((_, left)) = open.iter_mut().find(|(id, _)| back.package_id.as_ref() == Some(id)) {
            *left = left.saturating_sub(back.sessions.unwrap_or(0));
        }
    }
    open.retain(|(_, n)| *n > 0);
    open
}

/// The returns that put every session the sale used (and not yet given back) onto its package.
fn package_returns(sale: &Sale, corrections: &[Correction]) -> Vec<Return> {
    packages_open(sale, corrections)
        .into_iter()
        .map(|(id, n)| Return { package_id: Some(id), sessions: Some(n), ..Return::new(ReturnMethod::Package, 0) })
        .collect()
}

/// What the sale's package lines sold: never refunded as money (a void the same day voids the
/// unused packages; a pro-rata refund of unused sessions is open work).
pub fn packages_sold(sale: &Sale) -> i64 {
    sale.lines.iter().filter(|l| l.input.kind == LineKind::Package).map(|l| l.total_minor).sum()
}

/// Where a refund goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefundTo {
    Cash,
    /// Back to the sale's gateway card payments, through the gateway.
    Card,
    /// Back onto the gift cards that paid for the sale (what they paid less what went back).
    GiftCard,
    /// The package sessions that covered the sale's lines, back onto their packages (no money:
    /// `amount_minor` is not given).
    Package,
    /// Back onto the client's loyalty account, as the points that paid (never as cash).
    Loyalty,
}

/// What the sale's points tender paid and the points it spent, less what went back: `None`
/// when no points paid.
fn loyalty_open(sale: &Sale, corrections: &[Correction]) -> Option<(i64, i64)> {
    let (mut amount, mut points) = sale.tenders.iter().find_map(|t| match t {
        Tender::Loyalty { points, amount_minor } => Some((amount_minor.get(), points.get())),
        _ => None,
    })?;
    for back in live(corrections).flat_map(|c| &c.returns).filter(|r| r.method == ReturnMethod::Loyalty) {
        amount -= back.amount_minor;
        points -= back.points.unwrap_or(0);
    }
    Some((amount, points))
}

/// What each gift card paid for the sale less what went back to it, by card.
fn gift_cards_open(sale: &Sale, corrections: &[Correction]) -> Vec<(GiftCardId, i64)> {
    let mut open: Vec<(GiftCardId, i64)> = Vec::new();
    for tender in &sale.tenders {
        if let Tender::GiftCard { amount_minor, gift_card_id: Some(id), .. } = tender {
            open.push((id.clone(), amount_minor.get()));
        }
    }
    for back in live(corrections).flat_map(|c| &c.returns) {
        if let Some((_, left)) = open.iter_mut().find(|(id, _)| back.gift_card_id.as_ref() == Some(id)) {
            *left -= back.amount_minor;
        }
    }
    open
}

/// What the sale's gift-card lines sold: never refunded (a void the same day voids the cards).
pub fn gift_cards_sold(sale: &Sale) -> i64 {
    sale.lines.iter().filter(|l| l.input.kind == LineKind::GiftCard).map(|l| l.total_minor).sum()
}

/// The returns of a refund of `amount` (all that may still go back that way when `None`):
/// never more than the sale took less what was given back, and to a card never more than that
/// card paid less what went back to it.
pub fn plan_refund(
    sale: &Sale,
    corrections: &[Correction],
    to: RefundTo,
    amount: Option<MinorUnits>,
) -> AppResult<Vec<Return>> {
    if live(corrections).any(|c| c.kind == CorrectionKind::Void) {
        return Err(AppError::conflict("sale_voided", "this sale is voided"));
    }
    if to == RefundTo::Package {
        if amount.is_some() {
            return Err(invalid("amount_not_for_sessions", "amount_minor", "sessions go back whole: give no amount"));
        }
        let returns = package_returns(sale, corrections);
        if returns.is_empty() {
            return Err(invalid(
                "no_package_session",
                "to",
                "no package session covering this sale is left to give back",
            ));
        }
        return Ok(returns);
    }
    let left = sale.totals.total_minor - gift_cards_sold(sale) - packages_sold(sale) - returned(corrections);
    let gift_cards = gift_cards_open(sale, corrections);
    let gift_open: i64 = gift_cards.iter().map(|(_, open)| open).sum();
    let cards: Vec<(IntentId, i64)> = sale
        .tenders
        .iter()
        .filter_map(|t| match t {
            Tender::Card { amount_minor, intent_id } => {
                let back: i64 = live(corrections)
                    .flat_map(|c| &c.returns)
                    .filter(|r| r.intent_id.as_ref() == Some(intent_id))
                    .map(|r| r.amount_minor)
                    .sum();
                Some((intent_id.clone(), amount_minor.get() - back))
            }
            _ => None,
        })
        .collect();
    let loyalty = loyalty_open(sale, corrections);
    let loyalty_amount_open = loyalty.map_or(0, |(amount, _)| amount);
    let possible = match to {
        // What a gift card or points paid goes back onto it, never out of the drawer.
        RefundTo::Cash => left - gift_open - loyalty_amount_open,
        RefundTo::Loyalty if loyalty.is_none() => {
            return Err(invalid("no_loyalty_payment", "to", "no part of this sale was paid with points"));
        }
        RefundTo::Loyalty => left.min(loyalty_amount_open),
        RefundTo::GiftCard if gift_cards.is_empty() => {
            return Err(invalid("no_gift_card_payment", "to", "no part of this sale was paid by gift card"));
        }
        RefundTo::GiftCard => left.min(gift_open),
        RefundTo::Card if cards.is_empty() => {
            return Err(invalid("no_card_payment", "to", "no part of this sale was paid by card through the gateway"));
        }
        RefundTo::Card => left.min(cards.iter().map(|(_, open)| open).sum()),
        // Answered above: sessions, not money.
        RefundTo::Package => 0,
    };
    let amount = amount.map_or(possible, MinorUnits::get);
    if possible <= 0 {
        return Err(invalid("nothing_to_refund", "amount_minor", "nothing is left to give back this way"));
    }
    if amount == 0 {
        return Err(invalid("zero_amount", "amount_minor", "a refund is more than nothing"));
    }
    if amount > possible {
        return Err(AppError::Rejected {
            kind: crate::error::Rejection::Invalid,
            code: "refund_exceeds_paid",
            message: format!("at most {possible} can go back this way"),
            details: serde_json::json!({ "refundable_minor": possible }),
        });
    }
    Ok(match to {
        RefundTo::Cash => vec![Return::new(ReturnMethod::Cash, amount)],
        RefundTo::Card => spread(amount, cards, |intent, take| Return {
            intent_id: Some(intent),
            ..Return::new(ReturnMethod::Card, take)
        }),
        RefundTo::GiftCard => spread(amount, gift_cards, |card, take| Return {
            gift_card_id: Some(card),
            ..Return::new(ReturnMethod::GiftCard, take)
        }),
        RefundTo::Package => package_returns(sale, corrections),
        RefundTo::Loyalty => {
            let (open_amount, open_points) = loyalty.unwrap_or_default();
            // The whole of what is open takes every point left; a part, its share rounded down.
            let points = if amount >= open_amount {
                open_points
            } else {
                (i128::from(open_points) * i128::from(amount) / i128::from(open_amount)) as i64
            };
            vec![Return { points: Some(points), ..Return::new(ReturnMethod::Loyalty, amount) }]
        }
    })
}

/// `amount` given back over `sources` in order, each up to what is still open on it.
fn spread<T>(amount: i64, sources: Vec<(T, i64)>, back: impl Fn(T, i64) -> Return) -> Vec<Return> {
    let mut rest = amount;
    let mut returns = Vec::new();
    for (source, open) in sources {
        let take = rest.min(open);
        if take > 0 {
            returns.push(back(source, take));
            rest -= take;
        }
    }
    returns
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(amount: i64) -> MinorUnits {
        MinorUnits::new(amount).unwrap()
    }

    fn line(kind: LineKind, unit: i64, quantity: i64, tax: Option<(i64, TaxMode)>) -> LineInput {
        LineInput {
            kind,
            name: Name::parse("Item").unwrap(),
            sku: None,
            service_id: None,
            appointment_id: None,
            practitioner_id: None,
            quantity: Quantity::new(quantity).unwrap(),
            unit_price_minor: m(unit),
            tax: tax.map(|(rate, mode)| Tax { rate_bp: TaxRate::new(rate).unwrap(), mode }),
            discount: None,
            gift_card: None,
            package_template_id: None,
            package_id: None,
        }
    }

    fn cash(amount: i64) -> Tender {
        Tender::Cash { tendered_minor: m(amount) }
    }

    fn card(amount: i64) -> Tender {
        Tender::CardExternal { amount_minor: m(amount), terminal_reference: Reference::parse("T-1").unwrap() }
    }

    fn sale(lines: Vec<LineInput>, tenders: Vec<Tender>) -> SaleInput {
        SaleInput {
            location_id: LocationId::new(),
            client_id: None,
            currency: Currency::gbp(),
            lines,
            discount: None,
            tips: vec![],
            tenders,
        }
    }

    fn reason() -> Reason {
        Reason::parse("loyal client").unwrap()
    }

    #[test]
    fn halves_round_to_the_even_neighbour_and_everything_else_to_the_nearest() {
        assert_eq!(div_round_half_even(5, 2), 2);
        assert_eq!(div_round_half_even(7, 2), 4);
        assert_eq!(div_round_half_even(249, 100), 2);
        assert_eq!(div_round_half_even(251, 100), 3);
        assert_eq!(div_round_half_even(0, 7), 0);
    }

    #[test]
    fn exclusive_tax_is_added_to_the_line_and_inclusive_tax_is_taken_out_of_it() {
        let priced = price(&sale(
            vec![
                line(LineKind::Service, 10_000, 1, Some((2000, TaxMode::Exclusive))),
                line(LineKind::Product, 1_299, 2, Some((2000, TaxMode::Inclusive))),
            ],
            vec![cash(14_598)],
        ))
        .unwrap();
        assert_eq!((priced.lines[0].tax_minor, priced.lines[0].total_minor), (2_000, 12_000));
        // 2598 × 2000 / 12000 = 433.0
        assert_eq!((priced.lines[1].tax_minor, priced.lines[1].total_minor), (433, 2_598));
        assert_eq!(priced.totals.total_minor, 14_598);
        assert_eq!(priced.totals.tax_minor, 2_433);
    }

    #[test]
    fn tax_of_exactly_half_a_penny_rounds_to_the_even_penny() {
        // 25 × 1000 / 10000 = 2.5 → 2 ; 35 × 1000 / 10000 = 3.5 → 4
        let priced = price(&sale(
            vec![
                line(LineKind::Product, 25, 1, Some((1000, TaxMode::Exclusive))),
                line(LineKind::Product, 35, 1, Some((1000, TaxMode::Exclusive))),
            ],
            vec![cash(66)],
        ))
        .unwrap();
        assert_eq!(priced.lines.iter().map(|l| l.tax_minor).collect::<Vec<_>>(), vec![2, 4]);
        assert_eq!(priced.totals.total_minor, 66);
    }

    #[test]
    fn a_sale_discount_is_shared_in_proportion_and_adds_up_to_the_discount_exactly() {
        let mut input = sale(
            vec![
                line(LineKind::Product, 333, 1, None),
                line(LineKind::Product, 333, 1, None),
                line(LineKind::Product, 334, 1, None),
            ],
            vec![cash(900)],
        );
        input.discount = Some(Discount::Fixed { amount_minor: m(100), reason: reason() });
        let priced = price(&input).unwrap();
        let shares: Vec<i64> = priced.lines.iter().map(|l| l.discount_minor).collect();
        assert_eq!(shares.iter().sum::<i64>(), 100);
        // Running totals 333, 666, 1000 → round(33.3) = 33, round(66.6) = 67, 100: shares 33, 34, 33.
        assert_eq!(shares, vec![33, 34, 33]);
        assert_eq!(priced.totals.total_minor, 900);
    }

    #[test]
    fn a_discount_comes_off_before_the_tax_is_worked_out() {
        let mut l = line(LineKind::Service, 10_000, 1, Some((2000, TaxMode::Exclusive)));
        l.discount = Some(Discount::Percent { basis_points: Percent::new(1000).unwrap(), reason: reason() });
        let priced = price(&sale(vec![l], vec![cash(10_800)])).unwrap();
        let line = &priced.lines[0];
        assert_eq!(
            (line.discount_minor, line.net_minor, line.tax_minor, line.total_minor),
            (1_000, 9_000, 1_800, 10_800)
        );
    }

    #[test]
    fn a_fixed_discount_larger_than_its_line_is_refused() {
        let mut l = line(LineKind::Product, 500, 1, None);
        l.discount = Some(Discount::Fixed { amount_minor: m(501), reason: reason() });
        let err = price(&sale(vec![l], vec![cash(0)])).unwrap_err();
        assert!(matches!(err, AppError::Invalid { code: "discount_exceeds_line", .. }), "{err:?}");
    }

    #[test]
    fn cash_may_exceed_the_total_only_by_the_change() {
        let input = sale(vec![line(LineKind::Product, 1_250, 1, None)], vec![card(1_000), cash(500)]);
        let priced = price(&input).unwrap();
        assert_eq!((priced.totals.tendered_minor, priced.totals.change_minor), (1_500, 250));
    }

    #[test]
    fn tenders_short_of_the_total_or_card_beyond_it_are_refused() {
        for tenders in [vec![card(999)], vec![card(1_001)], vec![card(1_000), cash(1)], vec![cash(500), card(400)]] {
            let err = price(&sale(vec![line(LineKind::Product, 1_000, 1, None)], tenders.clone())).unwrap_err();
            assert!(matches!(err, AppError::Invalid { code: "tenders_do_not_sum", .. }), "{tenders:?}: {err:?}");
        }
    }

    #[test]
    fn a_quote_prices_as_the_sale_would_and_says_what_is_still_due() {
        let lines = vec![line(LineKind::Product, 1_250, 1, Some((2000, TaxMode::Exclusive)))];
        let none = quote(&sale(lines.clone(), vec![])).unwrap();
        assert_eq!(
            (none.totals.total_minor, none.totals.tax_minor, none.due_minor, none.settled),
            (1_500, 250, 1_500, false)
        );
        let part = quote(&sale(lines.clone(), vec![card(1_000)])).unwrap();
        assert_eq!((part.totals.tendered_minor, part.due_minor, part.settled), (1_000, 500, false));
        let over = quote(&sale(lines.clone(), vec![card(1_000), cash(2_000)])).unwrap();
        assert_eq!(
            (over.totals.tendered_minor, over.totals.change_minor, over.due_minor, over.settled),
            (3_000, 1_500, 0, true)
        );
        let priced = price(&sale(lines.clone(), vec![card(1_000), cash(2_000)])).unwrap();
        assert_eq!((priced.lines, priced.totals), (over.lines, over.totals));
        // A card beyond the total never settles it, and the quote says so without refusing.
        let beyond = quote(&sale(lines, vec![card(1_600)])).unwrap();
        assert_eq!((beyond.totals.change_minor, beyond.due_minor, beyond.settled), (0, 0, false));
    }

    #[test]
    fn tips_are_added_untaxed_after_the_lines() {
        let mut input =
            sale(vec![line(LineKind::Service, 10_000, 1, Some((2000, TaxMode::Inclusive)))], vec![card(10_500)]);
        input.tips = vec![Tip { practitioner_id: PractitionerId::new(), amount_minor: m(500) }];
        let priced = price(&input).unwrap();
        assert_eq!(
            (priced.totals.tips_minor, priced.totals.total_minor, priced.totals.tax_minor),
            (500, 10_500, 1_667)
        );
    }

    #[test]
    fn a_product_line_cannot_name_an_appointment() {
        let mut l = line(LineKind::Product, 100, 1, None);
        l.appointment_id = Some(AppointmentId::new());
        let err = price(&sale(vec![l], vec![cash(100)])).unwrap_err();
        assert!(matches!(err, AppError::Invalid { code: "not_for_this_kind", .. }), "{err:?}");
    }

    #[test]
    fn only_owners_and_managers_may_give_a_discount() {
        let mut input = sale(vec![line(LineKind::Product, 100, 1, None)], vec![cash(90)]);
        input.discount = Some(Discount::Fixed { amount_minor: m(10), reason: reason() });
        assert!(input.check_discount_allowed(Role::FrontDesk).is_err());
        assert!(input.check_discount_allowed(Role::Finance).is_err());
        assert!(input.check_discount_allowed(Role::Manager).is_ok());
    }

    #[test]
    fn invoice_numbers_print_with_six_digits_and_read_back() {
        let n = InvoiceNumber::new(123).unwrap();
        assert_eq!(n.to_string(), "INV-000123");
        assert_eq!(InvoiceNumber::parse("INV-000123").unwrap(), n);
        assert_eq!(InvoiceNumber::new(1_234_567).unwrap().to_string(), "INV-1234567");
        assert!(InvoiceNumber::parse("INV-12").is_err() && InvoiceNumber::new(0).is_err());
    }

    #[test]
    fn tenders_read_from_json_by_their_method_and_refuse_unknown_fields() {
        let tender: Tender = serde_json::from_str(r#"{"method":"cash","tendered_minor":500}"#).unwrap();
        assert_eq!(tender, cash(500));
        assert!(serde_json::from_str::<Tender>(r#"{"method":"cash","tendered_minor":5,"x":1}"#).is_err());
    }

    fn completed(tenders: Vec<Tender>) -> Sale {
        let input = sale(vec![line(LineKind::Product, 1_000, 1, None)], tenders);
        let priced = price(&input).unwrap();
        let day = NaiveDate::from_ymd_opt(2027, 3, 1).unwrap();
        Sale::new(SaleId::new(), InvoiceNumber::FIRST, input, priced, day, Utc::now(), "mem_x")
    }

    #[test]
    fn a_void_gives_each_tender_back_the_way_it_came_and_only_on_the_day() {
        let intent = IntentId::parse("pi_test").unwrap();
        let s = completed(vec![Tender::Card { amount_minor: m(600), intent_id: intent.clone() }, cash(500)]);
        let returns = plan_void(&s, &[], s.business_day).unwrap();
        assert_eq!(
            returns.iter().map(|r| (r.method, r.amount_minor)).collect::<Vec<_>>(),
            vec![(ReturnMethod::Card, 600), (ReturnMethod::Cash, 400)]
        );
        let err = plan_void(&s, &[], s.business_day.succ_opt().unwrap()).unwrap_err();
        assert!(matches!(err, AppError::Conflict { code: "void_day_passed", .. }));
    }

    fn gift_card_line(amount: i64) -> LineInput {
        LineInput {
            gift_card: Some(Recipient { name: Name::parse("Ada").unwrap(), email: None }),
            ..line(LineKind::GiftCard, amount, 1, None)
        }
    }

    fn gift(amount: i64) -> Tender {
        Tender::GiftCard {
            amount_minor: m(amount),
            code: None,
            gift_card_id: Some(GiftCardId::new()),
            code_last4: Some("ABCD".into()),
        }
    }

    #[test]
    fn a_gift_card_line_is_untaxed_undiscounted_and_takes_no_share_of_the_sale_discount() {
        let mut input = sale(vec![line(LineKind::Product, 1_000, 1, None), gift_card_line(5_000)], vec![cash(5_900)]);
        input.discount = Some(Discount::Percent { basis_points: Percent::new(1000).unwrap(), reason: reason() });
        let priced = price(&input).unwrap();
        assert_eq!(priced.lines.iter().map(|l| l.discount_minor).collect::<Vec<_>>(), vec![100, 0]);
        assert_eq!(priced.totals.total_minor, 5_900);
        let mut taxed = gift_card_line(5_000);
        taxed.tax = Some(Tax { rate_bp: TaxRate::new(2000).unwrap(), mode: TaxMode::Inclusive });
        let err = price(&sale(vec![taxed], vec![cash(5_000)])).unwrap_err();
        assert!(matches!(err, AppError::Invalid { code: "gift_card_taxed", .. }), "{err:?}");
        let mut nobody = gift_card_line(5_000);
        nobody.gift_card = None;
        let err = price(&sale(vec![nobody], vec![cash(5_000)])).unwrap_err();
        assert!(matches!(err, AppError::Invalid { code: "gift_card_recipient_required", .. }), "{err:?}");
        let err = price(&sale(vec![gift_card_line(100)], vec![cash(100)])).unwrap_err();
        assert!(matches!(err, AppError::Invalid { code: "gift_card_amount", .. }), "{err:?}");
        let err = price(&sale(vec![gift_card_line(5_000)], vec![gift(5_000)])).unwrap_err();
        assert!(matches!(err, AppError::Invalid { code: "gift_card_for_gift_card", .. }), "{err:?}");
    }

    #[test]
    fn what_a_gift_card_paid_goes_back_onto_it_and_never_out_of_the_drawer() {
        let s = completed(vec![gift(600), cash(400)]);
        let Tender::GiftCard { gift_card_id, .. } = &s.tenders[0] else { unreachable!() };
        let void = plan_void(&s, &[], s.business_day).unwrap();
        assert_eq!(void[0].gift_card_id.as_ref(), gift_card_id.as_ref());
        assert_eq!(
            void.iter().map(|r| (r.method, r.amount_minor)).collect::<Vec<_>>(),
            vec![(ReturnMethod::GiftCard, 600), (ReturnMethod::Cash, 400)]
        );
        let err = plan_refund(&s, &[], RefundTo::Cash, Some(m(401))).unwrap_err();
        assert!(matches!(err, AppError::Rejected { code: "refund_exceeds_paid", .. }), "{err:?}");
        let back = plan_refund(&s, &[], RefundTo::GiftCard, None).unwrap();
        assert_eq!((back[0].method, back[0].amount_minor), (ReturnMethod::GiftCard, 600));
        let cash_only = completed(vec![cash(1_000)]);
        let err = plan_refund(&cash_only, &[], RefundTo::GiftCard, None).unwrap_err();
        assert!(matches!(err, AppError::Invalid { code: "no_gift_card_payment", .. }), "{err:?}");
    }

    fn covered(service: &ServiceId, package: &PackageId) -> LineInput {
        LineInput {
            service_id: Some(service.clone()),
            package_id: Some(package.clone()),
            ..line(LineKind::Service, 15_000, 1, Some((2000, TaxMode::Inclusive)))
        }
    }

    #[test]
    fn a_line_a_package_covers_is_nothing_to_pay_and_untaxed_and_needs_the_client_and_its_service() {
        let (service, package) = (ServiceId::new(), PackageId::new());
        let mut input =
            sale(vec![covered(&service, &package), line(LineKind::Product, 1_000, 1, None)], vec![cash(1_000)]);
        input.client_id = Some(ClientId::new());
        input.discount = Some(Discount::Percent { basis_points: Percent::new(1000).unwrap(), reason: reason() });
        let priced = price(&input).unwrap();
        let l = &priced.lines[0];
        assert_eq!((l.gross_minor, l.discount_minor, l.tax_minor, l.total_minor), (0, 0, 0, 0));
        assert_eq!((priced.totals.subtotal_minor, priced.totals.total_minor), (1_000, 900));
        let walk_in = SaleInput { client_id: None, ..input.clone() };
        let err = price(&walk_in).unwrap_err();
        assert!(matches!(err, AppError::Invalid { code: "package_client_required", .. }), "{err:?}");
        let mut no_service = input.clone();
        no_service.lines[0].service_id = None;
        let err = price(&no_service).unwrap_err();
        assert!(matches!(err, AppError::Invalid { code: "package_needs_service", .. }), "{err:?}");
        let mut two = input.clone();
        two.lines[0].quantity = Quantity::new(2).unwrap();
        let err = price(&two).unwrap_err();
        assert!(matches!(err, AppError::Invalid { code: "package_quantity", .. }), "{err:?}");
        let mut product = input;
        product.lines[1].package_id = Some(package);
        let err = price(&product).unwrap_err();
        assert!(matches!(err, AppError::Invalid { code: "not_for_this_kind", .. }), "{err:?}");
    }

    #[test]
    fn a_package_line_is_taxed_and_discounted_like_a_service_and_names_its_template() {
        let mut l = line(LineKind::Package, 90_000, 1, Some((2000, TaxMode::Inclusive)));
        l.package_template_id = Some(PackageTemplateId::new());
        let mut input = sale(vec![l.clone()], vec![cash(90_000)]);
        input.client_id = Some(ClientId::new());
        let priced = price(&input).unwrap();
        assert_eq!((priced.lines[0].tax_minor, priced.totals.total_minor), (15_000, 90_000));
        let mut nameless = input.clone();
        nameless.lines[0].package_template_id = None;
        let err = price(&nameless).unwrap_err();
        assert!(matches!(err, AppError::Invalid { code: "package_template_required", .. }), "{err:?}");
    }

    #[test]
    fn a_void_or_a_package_refund_puts_the_sessions_back_once_and_never_as_money() {
        let package = PackageId::new();
        let mut input = sale(vec![covered(&ServiceId::new(), &package)], vec![]);
        input.client_id = Some(ClientId::new());
        let priced = price(&input).unwrap();
        let day = NaiveDate::from_ymd_opt(2027, 3, 1).unwrap();
        let s = Sale::new(SaleId::new(), InvoiceNumber::FIRST, input, priced, day, Utc::now(), "mem_x");
        let void = plan_void(&s, &[], day).unwrap();
        assert_eq!(
            void.iter().map(|r| (r.method, r.amount_minor, r.package_id.clone(), r.sessions)).collect::<Vec<_>>(),
            vec![(ReturnMethod::Package, 0, Some(package.clone()), Some(1))]
        );
        let err = plan_refund(&s, &[], RefundTo::Cash, None).unwrap_err();
        assert!(matches!(err, AppError::Invalid { code: "nothing_to_refund", .. }), "{err:?}");
        let back = plan_refund(&s, &[], RefundTo::Package, None).unwrap();
        assert_eq!(back, void);
        let done = Correction {
            id: CorrectionId::new(),
            sale_id: s.id.clone(),
            seq: 1,
            kind: CorrectionKind::Refund,
            reason: reason(),
            returns: back,
            status: CorrectionStatus::Completed,
            at: Utc::now(),
            by: "mem_x".into(),
            goods_returned: false,
        };
        assert_eq!(status(&s, std::slice::from_ref(&done)), SaleStatus::Refunded);
        let err = plan_refund(&s, &[done], RefundTo::Package, None).unwrap_err();
        assert!(matches!(err, AppError::Invalid { code: "no_package_session", .. }), "{err:?}");
    }

    #[test]
    fn refunds_never_give_back_more_than_was_paid() {
        let s = completed(vec![cash(1_000)]);
        let first = plan_refund(&s, &[], RefundTo::Cash, Some(m(700))).unwrap();
        let done = Correction {
            id: CorrectionId::new(),
            sale_id: s.id.clone(),
            seq: 1,
            kind: CorrectionKind::Refund,
            reason: reason(),
            returns: first,
            status: CorrectionStatus::Completed,
            at: Utc::now(),
            by: "mem_x".into(),
            goods_returned: false,
        };
        assert!(plan_refund(&s, std::slice::from_ref(&done), RefundTo::Cash, Some(m(301))).is_err());
        assert_eq!(plan_refund(&s, std::slice::from_ref(&done), RefundTo::Cash, None).unwrap()[0].amount_minor, 300);
        assert!(plan_refund(&s, &[done], RefundTo::Card, None).is_err(), "no card paid for it");
    }
}
