//! Products and stock: receiving deliveries, adjusting with a reason, reading levels, a
//! product's history and the reorder list; and the movements other changes make in their own
//! transaction — a sale's product lines (`push_sale`), its void (`push_correction`), and a
//! completed appointment's usage list (`push_usage`). The rules are the domain's
//! (`domain::stock`); the catalog's products are `catalog::Entry` (`/v1/products`).
//!
//! - **Stored** (`infra/access-patterns.md`): a partition per location (`TENANT#t#STOCK#{loc}`)
//!   with a level per product (`LEVEL#{prd}`), the product's movements (`MOVE#{prd}#{at}#…`: one
//!   Query reads its history), what each sale took (`SALE#{sale}`) and which appointments' usage
//!   was deducted (`USED#{apt}`). A product's SKU is claimed in the tenant's partition
//!   (`SKU#{sku}`: what a till line names), a service's usage list is `USAGE#{svc}`.
//! - **Never a lost update.** A movement reads the level, and writes it with the movement added
//!   and its version one up, on condition of the version read (a level never written: that it
//!   still does not exist), in one transaction with the movement item. Two tills that read the
//!   same level cannot both commit: the loser writes nothing and starts again from a fresh read
//!   (a sale re-decides its whole transaction, as it does for its invoice number).
//! - **Low stock** is announced (`stock.low`, through the outbox) by the movement that takes a
//!   level from above its reorder level to at or below it, decided from the version it writes:
//!   once per crossing however many tills sell at once.
//! - **Exactly once.** A sale's stock leaves in the sale's transaction and its record
//!   (`SALE#{sale}`) is written with it; a void puts back what that record says, on condition it
//!   was not put back already. A completed appointment's usage is deducted in the completion's
//!   transaction, beside `USED#{apt}` created with "not exists".

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use mas_catalog::catalog;
use mas_domain::appointment::Appointment;
use mas_domain::catalog::{LocationInput, Record, ServiceInput};
use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::{LocationId, ProductId, SaleId, ServiceId, TenantId};
use mas_domain::sale::{Correction, CorrectionKind, LineKind, Sale, Sku};
use mas_domain::stock::{
    self, AdjustInput, Crossing, Level, Movement, MovementKind, ProductInput, ProductKind, ReceiveInput, UsageInput,
};
use mas_ports::events::DomainEvent;
use mas_ports::{Condition, Query, SortKey, Write};
use mas_store::keys::{self, CatalogKind};
use mas_store::{AuditContext, Plan, Store, from_item, retry, to_item};

/// A product as the catalog keeps it.
pub type Product = Record<ProductId, ProductInput>;

/// How often a receipt or adjustment is re-decided when another movement of the same level won.
pub const MOVE_RETRIES: usize = 20;

/// The event a movement announces when it takes a level to or below its reorder level.
pub const STOCK_LOW: &str = "stock.low";

fn stale() -> AppError {
    AppError::contention("the stock level changed at the same moment; try again")
}

/// What a claim item holds (the catalog's `owner_id`).
#[derive(Debug, Deserialize)]
struct Claim {
    owner_id: ProductId,
}

/// The product holding `sku` (not archived), if any.
pub async fn product_by_sku(store: &Store, t: &TenantId, sku: &Sku) -> AppResult<Option<Product>> {
    let Some(claim) = store.get::<Claim>(&keys::product_sku(t, sku.as_str())).await? else { return Ok(None) };
    match catalog::get::<ProductInput>(store, t, &claim.owner_id).await {
        Ok(product) if !product.archived => Ok(Some(product)),
        Ok(_) | Err(AppError::NotFound { .. }) => Ok(None),
        Err(err) => Err(err),
    }
}

/// A product's level at a location (nothing on hand, version 0, when it never held any).
pub async fn level(store: &Store, t: &TenantId, location: &LocationId, product: &ProductId) -> AppResult<Level> {
    Ok(store
        .get::<Level>(&keys::stock_level(t, location, product.as_str()))
        .await?
        .unwrap_or_else(|| Level::empty(product.clone(), location.clone(), store.clock.now())))
}

/// One movement to plan: `quantity` (signed) of `product` at `location`, with what it refers to.
pub struct Move {
    pub product: Product,
    pub location: LocationId,
    pub quantity: i64,
    /// The movement's kind, references and who; its quantity and level are filled in.
    pub movement: Movement,
}

/// Plans `moves`: each level read once, every movement applied to it in order (its item
/// records the level after it), the level written on condition of the version read, and
/// `stock.low` announced for each crossing. Answers the movements as written.
pub async fn push_moves<F: From<AppError>>(
    plan: &mut Plan<F>,
    store: &Store,
    t: &TenantId,
    moves: Vec<Move>,
) -> AppResult<Vec<Movement>> {
    let mut levels: BTreeMap<(LocationId, ProductId), (Level, u64)> = BTreeMap::new();
    let mut written = Vec::new();
    for m in moves {
        let key = (m.location.clone(), m.product.id.clone());
        if !levels.contains_key(&key) {
            let read = level(store, t, &m.location, &m.product.id).await?;
            let version = read.version;
            levels.insert(key.clone(), (read, version));
        }
        let (level, _) = levels.get_mut(&key).expect("read above");
        let rule = m.product.data.rule_at(&m.location);
        let at = m.movement.at;
        let crossing = level.apply(m.quantity, rule, at);
        let mut movement = m.movement;
        movement.product_id = m.product.id.clone();
        movement.sku = m.product.data.sku.clone();
        movement.location_id = m.location.clone();
        movement.quantity = m.quantity;
        movement.level_after = level.on_hand;
        let item_key = keys::stock_movement(
            t,
            &m.location,
            m.product.id.as_str(),
            &at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            &ulid::Ulid::new().to_string(),
        );
        plan.push(Write::put_new(to_item(&item_key, "stock_movement", &movement)?), stale());
        if crossing == Crossing::BecameLow {
            let payload = json!({
                "location_id": m.location,
                "product_id": m.product.id,
                "sku": m.product.data.sku,
                "name": m.product.data.name,
                "on_hand": level.on_hand,
                "reorder_level": rule.reorder_level,
                "suggested_quantity": stock::suggested_order(level.on_hand, rule),
            });
            let subject = format!("{}#{}@v{}", m.location, m.product.id, level.version);
            plan.announce(DomainEvent::new(t, STOCK_LOW, &subject, at, payload))?;
        }
        written.push(movement);
    }
    for ((location, product), (level, version_read)) in levels {
        let item = to_item(&keys::stock_level(t, &location, product.as_str()), "stock_level", &level)?;
        let write = if version_read == 0 {
            Write::put_new(item)
        } else {
            Write::put_if(item, Condition::equals("version", version_read))
        };
        plan.push(write, stale());
    }
    Ok(written)
}

fn blank(kind: MovementKind, at: DateTime<Utc>, by: &str) -> Movement {
    let nobody = Level::empty(ProductId::new(), LocationId::new(), at);
    Movement::new(&nobody, &Sku::parse("-").expect("a valid sku"), kind, 0, at, by)
}

/// A location of this clinic, not archived (422 `unknown_reference` at `location_id` otherwise).
async fn require_location(store: &Store, t: &TenantId, location: &LocationId) -> AppResult<()> {
    match catalog::get::<LocationInput>(store, t, location).await {
        Ok(l) if !l.archived => Ok(()),
        Ok(_) | Err(AppError::NotFound { .. }) => {
            Err(AppError::invalid("unknown_reference", "location_id", "no such location at this clinic"))
        }
        Err(err) => Err(err),
    }
}

/// A product of this clinic (archived ones included: their history stays readable).
pub async fn product(store: &Store, t: &TenantId, id: &ProductId) -> AppResult<Product> {
    catalog::get::<ProductInput>(store, t, id).await
}

/// Records a delivery from a supplier: the level goes up by its quantity.
pub async fn receive(store: &Store, audit: &AuditContext, id: &ProductId, input: &ReceiveInput) -> AppResult<Movement> {
    let t = &audit.tenant_id;
    let product = product(store, t, id).await?;
    if product.archived {
        return Err(AppError::conflict("archived", "this product is archived"));
    }
    require_location(store, t, &input.location_id).await?;
    retry::on_contention(MOVE_RETRIES, || async {
        let mut movement = blank(MovementKind::Received, store.clock.now(), &audit.actor);
        movement.supplier_reference = input.supplier_reference.clone();
        movement.unit_cost_minor = input.unit_cost_minor.map(|c| c.get());
        let mut plan = Plan::new();
        let one = Move {
            product: product.clone(),
            location: input.location_id.clone(),
            quantity: input.quantity.get(),
            movement,
        };
        let mut written = push_moves(&mut plan, store, t, vec![one]).await?;
        plan.commit(store, audit, "stock.received", id.as_str()).await?;
        Ok(written.remove(0))
    })
    .await
}

/// Adjusts a level with a reason (owners and managers, checked by the caller): a count sets it
/// to what was counted; damaged, expired and other move the quantity given.
pub async fn adjust(store: &Store, audit: &AuditContext, id: &ProductId, input: &AdjustInput) -> AppResult<Movement> {
    input.check()?;
    let t = &audit.tenant_id;
    let product = product(store, t, id).await?;
    if product.archived {
        return Err(AppError::conflict("archived", "this product is archived"));
    }
    require_location(store, t, &input.location_id).await?;
    retry::on_contention(MOVE_RETRIES, || async {
        let current = level(store, t, &input.location_id, id).await?;
        let delta = input.delta(current.on_hand)?;
        let mut movement = blank(MovementKind::Adjusted, store.clock.now(), &audit.actor);
        movement.reason = Some(input.reason);
        movement.note = input.note.clone();
        let mut plan = Plan::new();
        let one = Move { product: product.clone(), location: input.location_id.clone(), quantity: delta, movement };
        let mut written = push_moves(&mut plan, store, t, vec![one]).await?;
        plan.commit(store, audit, "stock.adjusted", id.as_str()).await?;
        Ok(written.remove(0))
    })
    .await
}

/// A product's level at one location, with its rule and what to order.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LevelView {
    pub product_id: ProductId,
    pub sku: Sku,
    pub name: String,
    pub kind: ProductKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supplier: Option<String>,
    pub location_id: LocationId,
    pub on_hand: i64,
    pub reorder_level: i64,
    pub reorder_quantity: i64,
    /// At or below its reorder level.
    pub low: bool,
    /// Whether this location ever held it (a product never received here is listed with 0 but
    /// is not on the reorder list).
    pub stocked: bool,
    /// What the reorder list suggests ordering (0 when not low).
    pub suggested_quantity: i64,
    /// The level's version (how many movements it has seen).
    pub version: u64,
}

fn view(product: &Product, location: &LocationId, level: Option<&Level>) -> LevelView {
    let rule = product.data.rule_at(location);
    let on_hand = level.map_or(0, |l| l.on_hand);
    LevelView {
        product_id: product.id.clone(),
        sku: product.data.sku.clone(),
        name: product.data.name.to_string(),
        kind: product.data.kind,
        supplier: product.data.supplier.as_ref().map(ToString::to_string),
        location_id: location.clone(),
        on_hand,
        reorder_level: rule.reorder_level.get(),
        reorder_quantity: rule.reorder_quantity.get(),
        low: stock::is_low(on_hand, rule),
        stocked: level.is_some(),
        suggested_quantity: stock::suggested_order(on_hand, rule),
        version: level.map_or(0, |l| l.version),
    }
}

/// Every product of the clinic (not archived) at one location, by name: one Query of the
/// location's levels and one of the catalog's products. A location of another clinic is 404.
pub async fn levels(store: &Store, t: &TenantId, location: &LocationId) -> AppResult<Vec<LevelView>> {
    catalog::get::<LocationInput>(store, t, location).await?;
    let query = Query::partition(keys::stock_pk(t, location)).sk(SortKey::BeginsWith(keys::STOCK_LEVEL_PREFIX.into()));
    let stored: Vec<Level> =
        store.table.query_all(&query).await?.into_iter().map(from_item).collect::<AppResult<_>>()?;
    let by_product: BTreeMap<&ProductId, &Level> = stored.iter().map(|l| (&l.product_id, l)).collect();
    let products = catalog::list::<ProductInput>(store, t, false).await?;
    let mut views: Vec<LevelView> =
        products.iter().map(|p| view(p, location, by_product.get(&p.id).copied())).collect();
    views.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.sku.as_str().cmp(b.sku.as_str())));
    Ok(views)
}

/// What a location should order: the products it stocks that are at or below their reorder
/// level, those below zero first, then the lowest against their level.
pub async fn reorder_list(store: &Store, t: &TenantId, location: &LocationId) -> AppResult<Vec<LevelView>> {
    let mut low: Vec<LevelView> =
        levels(store, t, location).await?.into_iter().filter(|v| v.stocked && v.low).collect();
    low.sort_by_key(|v| (v.on_hand >= 0, v.on_hand - v.reorder_level));
    Ok(low)
}

/// A product's movements at one location, newest first (one Query of the location's partition).
pub async fn movements(
    store: &Store,
    t: &TenantId,
    location: &LocationId,
    product: &ProductId,
) -> AppResult<Vec<Movement>> {
    catalog::get::<LocationInput>(store, t, location).await?;
    self::product(store, t, product).await?;
    let prefix = keys::stock_moves_prefix(product.as_str());
    let query = Query::partition(keys::stock_pk(t, location)).sk(SortKey::BeginsWith(prefix)).descending();
    store.table.query_all(&query).await?.into_iter().map(from_item).collect()
}

// ---- A service's usage list ---------------------------------------------------------------

/// A service's usage list (empty when none was saved). A service of another clinic is 404.
pub async fn usage(store: &Store, t: &TenantId, service: &ServiceId) -> AppResult<UsageInput> {
    catalog::get::<ServiceInput>(store, t, service).await?;
    Ok(store.get::<UsageInput>(&keys::service_usage(t, service.as_str())).await?.unwrap_or_default())
}

/// Replaces a service's usage list (owners and managers): each SKU must be a product of the
/// clinic (422 `unknown_reference` at `lines[i].sku`).
pub async fn put_usage(
    store: &Store,
    audit: &AuditContext,
    service: &ServiceId,
    input: UsageInput,
) -> AppResult<UsageInput> {
    input.check()?;
    let t = &audit.tenant_id;
    catalog::get::<ServiceInput>(store, t, service).await?;
    let mut plan = Plan::new();
    for (i, line) in input.lines.iter().enumerate() {
        let unknown = || AppError::invalid("unknown_reference", format!("lines[{i}].sku"), "no such product");
        if product_by_sku(store, t, &line.sku).await?.is_none() {
            return Err(unknown());
        }
        // Still claimed when the list is written (an archive at the same moment frees it).
        plan.push(Write::check(keys::product_sku(t, line.sku.as_str()), Condition::Exists), unknown());
    }
    plan.push(
        Write::check(
            keys::catalog_item(t, CatalogKind::Service, service.as_str()),
            Condition::equals("archived", false),
        ),
        AppError::NotFound { what: "service" },
    );
    plan.push(Write::put(to_item(&keys::service_usage(t, service.as_str()), "service_usage", &input)?), stale());
    plan.commit(store, audit, "service_usage.updated", service.as_str()).await?;
    Ok(input)
}

// ---- Movements other changes make -----------------------------------------------------------

/// What a sale's product lines took off the shelf (`SALE#{sale}`), so its void puts back
/// exactly that, once.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SaleStock {
    sale_id: SaleId,
    /// Product id and units, one per line that moved stock.
    taken: Vec<(ProductId, i64)>,
    returned: bool,
}

/// Takes the sale's catalog products off the shelf at its location, in the sale's transaction.
/// A product line whose SKU is no product of the clinic (a one-off item) moves nothing.
pub async fn push_sale<F: From<AppError>>(
    plan: &mut Plan<F>,
    store: &Store,
    t: &TenantId,
    sale: &Sale,
) -> AppResult<()> {
    let mut moves = Vec::new();
    let mut taken = Vec::new();
    for line in &sale.lines {
        let (LineKind::Product, Some(sku)) = (line.input.kind, &line.input.sku) else { continue };
        let Some(product) = product_by_sku(store, t, sku).await? else { continue };
        let units = line.input.quantity.get();
        let mut movement = blank(MovementKind::Sold, sale.completed_at, &sale.completed_by);
        movement.sale_id = Some(sale.id.clone());
        taken.push((product.id.clone(), units));
        moves.push(Move { product, location: sale.location_id.clone(), quantity: -units, movement });
    }
    if moves.is_empty() {
        return Ok(());
    }
    push_moves(plan, store, t, moves).await?;
    let record = SaleStock { sale_id: sale.id.clone(), taken, returned: false };
    let item = to_item(&keys::stock_of_sale(t, &sale.location_id, sale.id.as_str()), "sale_stock", &record)?;
    plan.push(Write::put_new(item), AppError::Internal("a sale's stock was taken twice".into()));
    Ok(())
}

/// What a void, or a refund with the goods (`goods_returned`), does to the stock its sale took:
/// puts it all back on the shelf at the sale's location (`returned`), once — a later refund or
/// void of the same sale puts nothing back again. A refund without the goods leaves the stock.
pub async fn push_correction(
    plan: &mut Plan,
    store: &Store,
    audit: &AuditContext,
    sale: &Sale,
    correction: &Correction,
) -> AppResult<()> {
    if correction.kind != CorrectionKind::Void && !correction.goods_returned {
        return Ok(());
    }
    let t = &audit.tenant_id;
    let key = keys::stock_of_sale(t, &sale.location_id, sale.id.as_str());
    let Some(mut record) = store.get::<SaleStock>(&key).await? else { return Ok(()) };
    if record.returned {
        return Ok(());
    }
    let mut moves = Vec::new();
    for (product_id, units) in &record.taken {
        let product = product(store, t, product_id).await?;
        let mut movement = blank(MovementKind::Returned, correction.at, &audit.actor);
        movement.sale_id = Some(sale.id.clone());
        movement.correction_id = Some(correction.id.clone());
        moves.push(Move { product, location: sale.location_id.clone(), quantity: *units, movement });
    }
    push_moves(plan, store, t, moves).await?;
    record.returned = true;
    plan.push(Write::put_if(to_item(&key, "sale_stock", &record)?, Condition::equals("returned", false)), stale());
    Ok(())
}

/// Deducts what `appointment`'s service uses (its usage list) at its location, in the
/// transaction that completes it, beside `USED#{apt}` created with "not exists": once.
pub async fn push_usage(
    plan: &mut Plan,
    store: &Store,
    audit: &AuditContext,
    appointment: &Appointment,
    at: DateTime<Utc>,
) -> AppResult<()> {
    let t = &audit.tenant_id;
    let Some(list) = store.get::<UsageInput>(&keys::service_usage(t, appointment.service_id.as_str())).await? else {
        return Ok(());
    };
    let mut moves = Vec::new();
    for line in &list.lines {
        let Some(product) = product_by_sku(store, t, &line.sku).await? else { continue };
        let mut movement = blank(MovementKind::Used, at, &audit.actor);
        movement.appointment_id = Some(appointment.id.clone());
        moves.push(Move {
            product,
            location: appointment.location_id.clone(),
            quantity: -line.quantity.get(),
            movement,
        });
    }
    if moves.is_empty() {
        return Ok(());
    }
    push_moves(plan, store, t, moves).await?;
    let done = json!({ "appointment_id": appointment.id, "at": at });
    let key = keys::stock_used_by(t, &appointment.location_id, appointment.id.as_str());
    plan.push(
        Write::put_new(to_item(&key, "stock_used", &done)?),
        AppError::conflict("usage_recorded", "this treatment's usage was deducted already"),
    );
    Ok(())
}
