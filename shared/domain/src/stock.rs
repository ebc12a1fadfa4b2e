//! Products and stock: the clinic's product catalog (what it sells over the counter and what its
//! practitioners use in treatments), how many of each it holds at each location, and every
//! movement that changed that number.
//!
//! **Levels only move by a movement** ([`MovementKind`]): received from a supplier, sold at the
//! till (a sale's product line naming the catalog's SKU), returned by a void of that sale, used in
//! a treatment (the service's usage list, when its appointment is completed), or adjusted by a
//! manager with a reason (a count, damaged, expired, other with a note). Each movement and the
//! level it changed are written in one transaction, the level on condition of the version read
//! ([`Level::apply`]), so two tills selling the last unit at once never lose an update.
//!
//! **Below zero.** A sale or a treatment may take a level below zero: the goods were in the
//! client's hand or used on her, so the till never refuses them for a count that is wrong. The
//! level says so (`on_hand < 0`, listed first on the reorder list), and a receipt or a count
//! puts it right. An adjustment that removes goods (damaged, expired, other) may not: it would
//! record more goods thrown away than the books hold (409 `not_in_stock`).
//!
//! **Low stock.** A level at or below its reorder level is low. The movement that takes it there
//! from above says so once ([`Level::apply`] answers the crossing): `stock.low` is announced in
//! that movement's transaction, and not again until the level has risen above its reorder level.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{AppError, AppResult};
use crate::ids::{AppointmentId, CorrectionId, LocationId, ProductId, SaleId};
use crate::sale::{Reason, Reference, Sku, Tax};
use crate::values::{Money, Name, ParseError};

/// The most units one movement may carry, and the highest reorder level.
pub const MAX_UNITS: i64 = 100_000;
/// The most per-location reorder rules one product may have.
pub const MAX_LOCATION_RULES: usize = 50;
/// The most products one service's usage list may name.
pub const MAX_USAGE_LINES: usize = 20;

/// A whole number of units moved, received or used: 1 to 100 000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "i64", into = "i64")]
#[schema(value_type = i64, example = 12)]
pub struct Units(u32);

impl Units {
    pub fn new(value: i64) -> Result<Self, ParseError> {
        if !(1..=MAX_UNITS).contains(&value) {
            return Err(ParseError(format!("must be a whole number of units from 1 to {MAX_UNITS}")));
        }
        Ok(Units(value as u32))
    }

    pub fn get(self) -> i64 {
        i64::from(self.0)
    }
}

impl TryFrom<i64> for Units {
    type Error = ParseError;
    fn try_from(value: i64) -> Result<Self, ParseError> {
        Units::new(value)
    }
}

impl From<Units> for i64 {
    fn from(value: Units) -> i64 {
        value.get()
    }
}

/// A level at or below which a product is low: 0 to 100 000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "i64", into = "i64")]
#[schema(value_type = i64, example = 3)]
pub struct ReorderLevel(u32);

impl ReorderLevel {
    pub fn new(value: i64) -> Result<Self, ParseError> {
        if !(0..=MAX_UNITS).contains(&value) {
            return Err(ParseError(format!("must be a whole number from 0 to {MAX_UNITS}")));
        }
        Ok(ReorderLevel(value as u32))
    }

    pub fn get(self) -> i64 {
        i64::from(self.0)
    }
}

impl TryFrom<i64> for ReorderLevel {
    type Error = ParseError;
    fn try_from(value: i64) -> Result<Self, ParseError> {
        ReorderLevel::new(value)
    }
}

impl From<ReorderLevel> for i64 {
    fn from(value: ReorderLevel) -> i64 {
        value.get()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProductKind {
    /// Sold over the counter (the till offers it).
    Retail,
    /// Used by practitioners in treatments (a service's usage list names it); not for sale.
    ProfessionalUse,
}

/// When to reorder a product at one location, and how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReorderRule {
    /// Low at or below this many.
    pub reorder_level: ReorderLevel,
    /// How many one order usually brings.
    pub reorder_quantity: Units,
}

/// A location's own reorder rule for a product (a busy clinic keeps more).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocationRule {
    pub location_id: LocationId,
    pub reorder_level: ReorderLevel,
    pub reorder_quantity: Units,
}

fn yes() -> bool {
    true
}

/// A product in the clinic's catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductInput {
    /// Unique among the clinic's products that are not archived; what a till's product line names.
    pub sku: Sku,
    pub name: Name,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Name>,
    /// The shelf price (the till's line price).
    pub retail_price: Money,
    /// How the till taxes it (none when absent), as a product line's `tax`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax: Option<Tax>,
    pub kind: ProductKind,
    /// The reorder rule at every location without its own.
    pub reorder_level: ReorderLevel,
    pub reorder_quantity: Units,
    /// Locations with their own reorder rule (each named once).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub location_rules: Vec<LocationRule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier: Option<Name>,
    /// Whether the till offers it (an inactive product keeps its stock and history).
    #[serde(default = "yes")]
    pub active: bool,
}

impl ProductInput {
    pub fn check(&self) -> AppResult<()> {
        if self.location_rules.len() > MAX_LOCATION_RULES {
            return Err(AppError::invalid(
                "too_many",
                "location_rules",
                format!("at most {MAX_LOCATION_RULES} location rules"),
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, rule) in self.location_rules.iter().enumerate() {
            if !seen.insert(&rule.location_id) {
                return Err(AppError::invalid(
                    "duplicate",
                    format!("location_rules[{i}].location_id"),
                    "a location is named twice",
                ));
            }
        }
        Ok(())
    }

    /// The reorder rule at `location`: its own, or the product's default.
    pub fn rule_at(&self, location: &LocationId) -> ReorderRule {
        self.location_rules
            .iter()
            .find(|r| &r.location_id == location)
            .map_or(ReorderRule { reorder_level: self.reorder_level, reorder_quantity: self.reorder_quantity }, |r| {
                ReorderRule { reorder_level: r.reorder_level, reorder_quantity: r.reorder_quantity }
            })
    }
}

/// How many to order for a level `on_hand` under `rule`: enough to bring it back to its reorder
/// level plus one usual order (the reorder quantity when it has just reached its level, more
/// when it fell further or below zero); nothing when it is not low.
pub fn suggested_order(on_hand: i64, rule: ReorderRule) -> i64 {
    if on_hand > rule.reorder_level.get() {
        return 0;
    }
    rule.reorder_level.get() + rule.reorder_quantity.get() - on_hand
}

/// Whether `on_hand` is low under `rule`.
pub fn is_low(on_hand: i64, rule: ReorderRule) -> bool {
    on_hand <= rule.reorder_level.get()
}

/// The level after `movements` (each signed: negative when goods left), from nothing.
pub fn level_after(movements: &[Movement]) -> i64 {
    movements.iter().map(|m| m.quantity).sum()
}

/// How many of a product one location holds, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Level {
    pub product_id: ProductId,
    pub location_id: LocationId,
    /// Below zero when more were sold or used than the books held (see the module notes).
    pub on_hand: i64,
    /// Whether the last movement left it at or below its reorder level (a `stock.low` was
    /// announced when it got there).
    pub low: bool,
    /// Bumped by every movement; each is written on condition of the version it read.
    pub version: u64,
    pub updated_at: DateTime<Utc>,
}

/// What a movement did to a level's low-stock state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crossing {
    /// It went from above its reorder level to at or below it: announce `stock.low`.
    BecameLow,
    /// It rose above its reorder level again.
    Recovered,
    Unchanged,
}

impl Level {
    /// A location that never held the product: nothing on hand, version 0 (never stored).
    pub fn empty(product_id: ProductId, location_id: LocationId, at: DateTime<Utc>) -> Level {
        Level { product_id, location_id, on_hand: 0, low: false, version: 0, updated_at: at }
    }

    /// Moves `delta` units (negative when goods leave) under `rule`, and says whether that
    /// crossed the reorder level. A level first written low by its first movement is a crossing.
    pub fn apply(&mut self, delta: i64, rule: ReorderRule, at: DateTime<Utc>) -> Crossing {
        self.on_hand += delta;
        self.version += 1;
        self.updated_at = at;
        let low = is_low(self.on_hand, rule);
        let crossing = match (self.low, low) {
            (false, true) => Crossing::BecameLow,
            (true, false) => Crossing::Recovered,
            _ => Crossing::Unchanged,
        };
        self.low = low;
        crossing
    }
}

/// What moved a level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = StockMovementKind)]
pub enum MovementKind {
    /// Delivered by a supplier.
    Received,
    /// Sold by a sale's product line.
    Sold,
    /// Back on the shelf by a void of the sale that sold it.
    Returned,
    /// Used in a treatment (the service's usage list, at the appointment's completion).
    Used,
    /// Set right by a manager, with a reason.
    Adjusted,
}

/// Why a level was adjusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AdjustReason {
    /// A stock count: the level becomes what was counted.
    Count,
    Damaged,
    Expired,
    /// Anything else: a note says what.
    Other,
}

/// A manager's adjustment of a level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustInput {
    pub location_id: LocationId,
    pub reason: AdjustReason,
    /// `count` only: how many were counted (0 or more); the level becomes this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 100000)]
    pub counted: Option<i64>,
    /// `damaged`, `expired` and `other`: how many units leave (`other` may add them back with a
    /// negative number). Never zero.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = -100000, maximum = 100000)]
    pub quantity: Option<i64>,
    /// Required with `other`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<Reason>,
}

impl AdjustInput {
    /// The rules of the input alone (422): `count` takes `counted`, the others `quantity`, and
    /// `other` a note.
    pub fn check(&self) -> AppResult<()> {
        match self.reason {
            AdjustReason::Count => {
                let counted = self
                    .counted
                    .ok_or_else(|| AppError::invalid("required", "counted", "a count says how many were counted"))?;
                if !(0..=MAX_UNITS).contains(&counted) {
                    return Err(AppError::invalid("out_of_range", "counted", format!("0 to {MAX_UNITS}")));
                }
                if self.quantity.is_some() {
                    return Err(AppError::invalid("misplaced", "quantity", "a count gives `counted`, not `quantity`"));
                }
            }
            reason => {
                let quantity = self
                    .quantity
                    .ok_or_else(|| AppError::invalid("required", "quantity", "say how many units leave the stock"))?;
                if quantity == 0 || quantity.abs() > MAX_UNITS {
                    return Err(AppError::invalid(
                        "out_of_range",
                        "quantity",
                        format!("1 to {MAX_UNITS} units (negative with `other` to add some back)"),
                    ));
                }
                if quantity < 0 && reason != AdjustReason::Other {
                    return Err(AppError::invalid(
                        "out_of_range",
                        "quantity",
                        "damaged or expired goods only leave the stock",
                    ));
                }
                if self.counted.is_some() {
                    return Err(AppError::invalid("misplaced", "counted", "only a count gives `counted`"));
                }
                if reason == AdjustReason::Other && self.note.is_none() {
                    return Err(AppError::invalid("required", "note", "say why the stock is adjusted"));
                }
            }
        }
        Ok(())
    }

    /// The signed change this adjustment makes to a level holding `on_hand`, or 409
    /// `not_in_stock` when it would throw away more than the books hold (see the module notes).
    pub fn delta(&self, on_hand: i64) -> AppResult<i64> {
        let delta = match self.reason {
            AdjustReason::Count => self.counted.unwrap_or(on_hand) - on_hand,
            _ => -self.quantity.unwrap_or(0),
        };
        if self.reason != AdjustReason::Count && delta < 0 && on_hand + delta < 0 {
            return Err(AppError::Rejected {
                kind: crate::error::Rejection::Conflict,
                code: "not_in_stock",
                message: format!("only {on_hand} on hand: count the stock instead"),
                details: serde_json::json!({ "on_hand": on_hand }),
            });
        }
        Ok(delta)
    }
}

/// A delivery from a supplier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiveInput {
    pub location_id: LocationId,
    pub quantity: Units,
    /// The supplier's delivery note or invoice reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier_reference: Option<Reference>,
    /// What one unit cost, in the clinic's currency's minor units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 1000000000)]
    pub unit_cost_minor: Option<crate::values::MinorUnits>,
}

/// One line of a product's history at one location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = StockMovement)]
pub struct Movement {
    pub product_id: ProductId,
    pub sku: Sku,
    pub location_id: LocationId,
    pub kind: MovementKind,
    /// Signed: negative when goods left.
    pub quantity: i64,
    pub level_after: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sale_id: Option<SaleId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correction_id: Option<CorrectionId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appointment_id: Option<AppointmentId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier_reference: Option<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_cost_minor: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<AdjustReason>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<Reason>,
    pub at: DateTime<Utc>,
    /// A member id or `system`.
    pub by: String,
}

impl Movement {
    /// A movement of `quantity` (signed) that left the level at `level_after`; the caller sets
    /// what it refers to.
    pub fn new(level: &Level, sku: &Sku, kind: MovementKind, quantity: i64, at: DateTime<Utc>, by: &str) -> Movement {
        Movement {
            product_id: level.product_id.clone(),
            sku: sku.clone(),
            location_id: level.location_id.clone(),
            kind,
            quantity,
            level_after: level.on_hand,
            sale_id: None,
            correction_id: None,
            appointment_id: None,
            supplier_reference: None,
            unit_cost_minor: None,
            reason: None,
            note: None,
            at,
            by: by.to_owned(),
        }
    }
}

/// One product a treatment uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UsageLine {
    pub sku: Sku,
    /// Whole units per treatment.
    pub quantity: Units,
}

/// What one treatment of a service uses, deducted at its location when its appointment is
/// completed.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UsageInput {
    pub lines: Vec<UsageLine>,
}

impl UsageInput {
    pub fn check(&self) -> AppResult<()> {
        if self.lines.len() > MAX_USAGE_LINES {
            return Err(AppError::invalid("too_many", "lines", format!("at most {MAX_USAGE_LINES} products")));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, line) in self.lines.iter().enumerate() {
            if !seen.insert(line.sku.as_str()) {
                return Err(AppError::invalid("duplicate", format!("lines[{i}].sku"), "a product is named twice"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::{Currency, MinorUnits};

    fn rule(level: i64, quantity: i64) -> ReorderRule {
        ReorderRule {
            reorder_level: ReorderLevel::new(level).unwrap(),
            reorder_quantity: Units::new(quantity).unwrap(),
        }
    }

    fn product() -> ProductInput {
        ProductInput {
            sku: Sku::parse("SPF-50").unwrap(),
            name: Name::parse("Sun cream SPF 50").unwrap(),
            category: None,
            retail_price: Money { amount_minor: MinorUnits::new(2_500).unwrap(), currency: Currency::gbp() },
            tax: None,
            kind: ProductKind::Retail,
            reorder_level: ReorderLevel::new(3).unwrap(),
            reorder_quantity: Units::new(12).unwrap(),
            location_rules: vec![],
            supplier: None,
            active: true,
        }
    }

    fn level() -> Level {
        Level::empty(ProductId::new(), LocationId::new(), Utc::now())
    }

    #[test]
    fn units_and_reorder_levels_are_bounded_whole_numbers() {
        assert!(Units::new(1).is_ok() && Units::new(MAX_UNITS).is_ok());
        assert!(Units::new(0).is_err() && Units::new(MAX_UNITS + 1).is_err());
        assert!(ReorderLevel::new(0).is_ok() && ReorderLevel::new(-1).is_err());
        assert!(serde_json::from_str::<Units>("0").is_err());
    }

    #[test]
    fn a_location_rule_overrides_the_products_default_and_each_location_is_named_once() {
        let mut p = product();
        let busy = LocationId::new();
        assert_eq!(p.rule_at(&busy), rule(3, 12));
        p.location_rules.push(LocationRule {
            location_id: busy.clone(),
            reorder_level: ReorderLevel::new(10).unwrap(),
            reorder_quantity: Units::new(24).unwrap(),
        });
        assert_eq!(p.rule_at(&busy), rule(10, 24));
        assert_eq!(p.rule_at(&LocationId::new()), rule(3, 12));
        assert!(p.check().is_ok());
        p.location_rules.push(p.location_rules[0].clone());
        assert!(matches!(p.check().unwrap_err(), AppError::Invalid { code: "duplicate", .. }));
    }

    #[test]
    fn the_level_after_movements_is_their_sum_and_may_fall_below_zero() {
        let mut l = level();
        let sku = Sku::parse("SPF-50").unwrap();
        let mut moves = Vec::new();
        for delta in [10, -4, -7, 2] {
            l.apply(delta, rule(3, 12), Utc::now());
            moves.push(Movement::new(&l, &sku, MovementKind::Adjusted, delta, Utc::now(), "m"));
        }
        assert_eq!(level_after(&moves), 1);
        assert_eq!(moves[2].level_after, -1, "a sale may take it below zero");
        assert_eq!((l.on_hand, l.version), (1, 4));
    }

    #[test]
    fn reaching_the_reorder_level_is_one_crossing_until_the_level_recovers() {
        let mut l = level();
        let r = rule(3, 12);
        let at = Utc::now();
        assert_eq!(l.apply(10, r, at), Crossing::Unchanged);
        assert_eq!(l.apply(-6, r, at), Crossing::Unchanged, "4 is above 3");
        assert_eq!(l.apply(-1, r, at), Crossing::BecameLow, "3 is at the level");
        assert_eq!(l.apply(-1, r, at), Crossing::Unchanged, "still low: said once");
        assert_eq!(l.apply(12, r, at), Crossing::Recovered);
        assert_eq!(l.apply(-12, r, at), Crossing::BecameLow, "a second crossing is said again");
        let mut fresh = level();
        assert_eq!(fresh.apply(2, r, at), Crossing::BecameLow, "a first delivery below the level is low");
    }

    #[test]
    fn the_suggested_order_brings_a_low_level_back_to_its_level_plus_one_order() {
        let r = rule(3, 12);
        assert_eq!(suggested_order(4, r), 0);
        assert_eq!(suggested_order(3, r), 12);
        assert_eq!(suggested_order(0, r), 15);
        assert_eq!(suggested_order(-2, r), 17);
        assert!(is_low(3, r) && !is_low(4, r));
    }

    #[test]
    fn an_adjustment_needs_its_reason_s_figure_and_never_throws_away_more_than_is_held() {
        let base = AdjustInput {
            location_id: LocationId::new(),
            reason: AdjustReason::Count,
            counted: Some(7),
            quantity: None,
            note: None,
        };
        base.check().unwrap();
        assert_eq!(base.delta(10).unwrap(), -3);
        assert_eq!(base.delta(-2).unwrap(), 9, "a count puts a negative level right");
        let no_count = AdjustInput { counted: None, ..base.clone() };
        assert!(matches!(no_count.check().unwrap_err(), AppError::Invalid { code: "required", .. }));
        let damaged = AdjustInput { reason: AdjustReason::Damaged, counted: None, quantity: Some(2), ..base.clone() };
        damaged.check().unwrap();
        assert_eq!(damaged.delta(5).unwrap(), -2);
        assert!(matches!(damaged.delta(1).unwrap_err(), AppError::Rejected { code: "not_in_stock", .. }));
        let back = AdjustInput { quantity: Some(-2), ..damaged.clone() };
        assert!(matches!(back.check().unwrap_err(), AppError::Invalid { code: "out_of_range", .. }));
        let other = AdjustInput { reason: AdjustReason::Other, ..back.clone() };
        assert!(matches!(other.check().unwrap_err(), AppError::Invalid { code: "required", .. }), "a note");
        let other = AdjustInput { note: Some(Reason::parse("found in the back room").unwrap()), ..other };
        other.check().unwrap();
        assert_eq!(other.delta(0).unwrap(), 2);
        let zero = AdjustInput { quantity: Some(0), ..damaged };
        assert!(zero.check().is_err());
    }

    #[test]
    fn a_usage_list_names_each_product_once() {
        let line = UsageLine { sku: Sku::parse("VIAL-1").unwrap(), quantity: Units::new(1).unwrap() };
        assert!(UsageInput { lines: vec![line.clone()] }.check().is_ok());
        let twice = UsageInput { lines: vec![line.clone(), line] };
        assert!(matches!(twice.check().unwrap_err(), AppError::Invalid { code: "duplicate", .. }));
    }
}
