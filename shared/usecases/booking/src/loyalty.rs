//! Loyalty: the clinic's programme (versioned by a conditional write), a client's points account
//! and ledger, earning and spending at the till in the sale's own transaction, giving back and
//! taking back by the sale's voids and refunds, and staff adjustments (`domain::loyalty` has the
//! rules and the arithmetic).
//!
//! - **Stored** (`infra/access-patterns.md`): the programme `TENANT#t`/`LOYALTY`; the account
//!   `TENANT#t#CLIENT#c`/`LOYALTY#ACCOUNT` and its movements beside it
//!   (`LOYALTY#MOVE#{version}#{i}`: the account version that wrote it), in the client's
//!   partition, so erasure deletes them with it.
//! - **Never double-spent.** Every change of an account is the account as read with its version
//!   one up, written on condition of the version read (or that none exists yet), in the
//!   transaction of what changed it: of two sales that read the same balance, one commits and
//!   the other starts again from a fresh read — and is refused `loyalty_insufficient` when the
//!   points are gone.

use chrono::{DateTime, Utc};
use serde::Serialize;

use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::{ClientId, TenantId};
use mas_domain::loyalty::{self, Account, LoyaltyError, Movement, MovementKind, Programme, ProgrammeInput, Tier};
use mas_domain::sale::{Correction, CorrectionKind, CorrectionStatus, Reason, Return, ReturnMethod, Sale, Tender};
use mas_domain::values::Currency;
use mas_ports::{Condition, Key, Query, SortKey, Write};
use mas_store::keys;
use mas_store::{AuditContext, Plan, Store, from_item, to_item};

/// The most movements an account's answer lists (newest first).
pub const LEDGER_LIMIT: u32 = 100;
/// How often an adjustment is re-decided from a fresh read when a sale or another adjustment
/// changed the account first (each round lets one change through).
pub const ADJUST_RETRIES: usize = 30;

/// The programme in force (off, version 0, before the first save).
pub async fn programme(store: &Store, t: &TenantId) -> AppResult<Programme> {
    Ok(store.get::<Programme>(&keys::loyalty_programme(t)).await?.unwrap_or_default())
}

/// Replaces the programme, on condition that it is still `expected_version` when given (409
/// `stale_version` otherwise). Audited `loyalty.programme_saved`.
pub async fn save_programme(
    store: &Store,
    audit: &AuditContext,
    input: ProgrammeInput,
    expected_version: Option<u64>,
) -> AppResult<Programme> {
    input.check()?;
    let t = &audit.tenant_id;
    let current = programme(store, t).await?;
    let stale = || AppError::from(LoyaltyError::StaleProgramme);
    if expected_version.is_some_and(|v| v != current.version) {
        return Err(stale());
    }
    let next = Programme {
        input,
        version: current.version + 1,
        updated_at: Some(store.clock.now()),
        updated_by: Some(audit.actor.clone()),
    };
    let condition =
        if current.version == 0 { Condition::NotExists } else { Condition::equals("version", current.version) };
    let mut plan = Plan::new();
    plan.push(Write::put_if(to_item(&keys::loyalty_programme(t), "loyalty_programme", &next)?, condition), stale());
    plan.commit(store, audit, "loyalty.programme_saved", "loyalty_programme").await?;
    Ok(next)
}

/// The next tier and the points still to earn for it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct NextTier {
    pub name: String,
    pub points_to_go: i64,
}

/// A client's points as of now, with her ledger newest first.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AccountView {
    /// Whether the clinic's programme is on (balances stay while it is off).
    pub enabled: bool,
    /// Points she may spend now (0 once lapsed).
    pub balance: i64,
    /// What they are worth at the till, in minor units of `currency`.
    pub value_minor: i64,
    pub currency: Currency,
    /// Points earned in the last twelve months (the tier's measure).
    pub earned_12m: i64,
    pub lifetime_earned: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<Tier>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_tier: Option<NextTier>,
    /// The fewest points one sale may spend, and what 1 reward is (for the till).
    pub min_redemption_points: i64,
    pub reward_points: i64,
    pub reward_minor: i64,
    /// The account's version (0: no movement yet).
    pub version: u32,
    pub movements: Vec<Movement>,
}

async fn currency(store: &Store, t: &TenantId) -> AppResult<Currency> {
    let profile: Option<mas_domain::tenant::Tenant> = store.get(&keys::tenant_profile(t)).await?;
    Ok(profile.map_or_else(Currency::gbp, |p| p.currency))
}

async fn account(store: &Store, t: &TenantId, client: &ClientId) -> AppResult<Account> {
    Ok(store.get::<Account>(&keys::loyalty_account(t, client)).await?.unwrap_or_else(|| Account::new(client.clone())))
}

fn summarise(programme: &ProgrammeInput, account: &Account, now: DateTime<Utc>, currency: Currency) -> AccountView {
    let balance = if account.lapsed(programme.expiry_months, now) { 0 } else { account.balance };
    let earned_12m = account.earned_12m(now);
    AccountView {
        enabled: programme.enabled,
        balance,
        value_minor: programme.value_minor(balance),
        currency,
        earned_12m,
        lifetime_earned: account.lifetime_earned,
        tier: programme.tier_for(earned_12m).cloned(),
        next_tier: programme
            .next_tier(earned_12m)
            .map(|(t, n)| NextTier { name: t.name.as_str().to_owned(), points_to_go: n }),
        min_redemption_points: programme.min_redemption_points,
        reward_points: programme.reward_points,
        reward_minor: programme.reward_minor,
        version: account.version,
        movements: Vec::new(),
    }
}

/// A client's points and her ledger (the newest `limit` movements).
pub async fn view(store: &Store, t: &TenantId, client: &ClientId, limit: u32) -> AppResult<AccountView> {
    read_view(store, t, client, Some(limit)).await
}

/// A client's points and her whole ledger, newest first (her data export).
pub async fn full_view(store: &Store, t: &TenantId, client: &ClientId) -> AppResult<AccountView> {
    read_view(store, t, client, None).await
}

async fn read_view(store: &Store, t: &TenantId, client: &ClientId, limit: Option<u32>) -> AppResult<AccountView> {
    let programme = programme(store, t).await?;
    let account = account(store, t, client).await?;
    let mut view = summarise(&programme.input, &account, store.clock.now(), currency(store, t).await?);
    let query = Query::partition(keys::client_pk(t, client))
        .sk(SortKey::BeginsWith(keys::LOYALTY_MOVE_PREFIX.into()))
        .descending();
    let items = match limit {
        Some(limit) => store.table.query(&query.limit(limit)).await?.items,
        None => store.table.query_all(&query).await?,
    };
    view.movements = items.into_iter().map(from_item).collect::<AppResult<_>>()?;
    Ok(view)
}

fn stale() -> AppError {
    AppError::contention("the client's points changed at the same moment; try again")
}

/// The put of a changed account, on condition nobody changed it since it was read (version
/// `read`; 0: on condition none exists).
fn versioned_put(t: &TenantId, next: &Account, read: u32) -> AppResult<Write> {
    let item = to_item(&keys::loyalty_account(t, &next.client_id), "loyalty_account", next)?;
    Ok(if read == 0 { Write::put_new(item) } else { Write::put_if(item, Condition::equals("version", read)) })
}

/// A movement's item, keyed by the account version that wrote it and its place in that change:
/// the ledger's order is the order the balance moved in, whatever the clocks say.
fn movement_write(t: &TenantId, client: &ClientId, version: u32, i: usize, movement: &Movement) -> AppResult<Write> {
    let sk = format!("{}{version:010}#{i:02}", keys::LOYALTY_MOVE_PREFIX);
    Ok(Write::put_new(to_item(&Key::new(keys::client_pk(t, client), sk), "loyalty_movement", movement)?))
}

/// A change of one account being made: the account as read, its movements so far.
struct Change {
    account: Account,
    read: u32,
    movements: Vec<Movement>,
}

impl Change {
    fn record(&mut self, kind: MovementKind, points: i64, at: DateTime<Utc>, by: &str) -> &mut Movement {
        self.movements.push(Movement {
            kind,
            points,
            balance_after: self.account.balance,
            sale_id: None,
            correction_id: None,
            reason: None,
            shortfall: None,
            at,
            by: by.to_owned(),
        });
        self.movements.last_mut().expect("just pushed")
    }

    /// Lapses the balance first when due (an `expired` movement).
    fn expire(&mut self, programme: &ProgrammeInput, at: DateTime<Utc>, by: &str) {
        let lapsed = self.account.expire_if_due(programme.expiry_months, at);
        if lapsed > 0 {
            self.record(MovementKind::Expired, -lapsed, at, by);
        }
    }

    fn push<F: From<AppError>>(mut self, plan: &mut Plan<F>, t: &TenantId) -> AppResult<()> {
        if self.movements.is_empty() {
            return Ok(());
        }
        self.account.version = self.read + 1;
        plan.push(versioned_put(t, &self.account, self.read)?, stale());
        for (i, movement) in self.movements.iter().enumerate() {
            plan.push(movement_write(t, &self.account.client_id, self.account.version, i, movement)?, stale());
        }
        Ok(())
    }
}

async fn change(store: &Store, t: &TenantId, client: &ClientId) -> AppResult<Change> {
    let account = account(store, t, client).await?;
    Ok(Change { read: account.version, account, movements: Vec::new() })
}

/// A staff adjustment of `delta` points with its reason (owners and managers, checked by the
/// caller): never below zero (409 `loyalty_insufficient`); never counts towards a tier.
pub async fn adjust(
    store: &Store,
    audit: &AuditContext,
    client: &ClientId,
    delta: i64,
    reason: &Reason,
) -> AppResult<AccountView> {
    let t = &audit.tenant_id;
    if delta == 0 || delta.abs() > loyalty::MAX_POINTS {
        return Err(LoyaltyError::InvalidPoints.into());
    }
    let programme = programme(store, t).await?;
    mas_store::retry::on_contention(ADJUST_RETRIES, || async {
        let now = store.clock.now();
        let mut change = change(store, t, client).await?;
        change.expire(&programme.input, now, &audit.actor);
        change.account.adjust(delta)?;
        change.record(MovementKind::Adjusted, delta, now, &audit.actor).reason = Some(reason.as_str().to_owned());
        let mut plan = Plan::new();
        change.push(&mut plan, t)?;
        plan.commit(store, audit, "loyalty.adjusted", client.as_str()).await?;
        Ok::<_, AppError>(())
    })
    .await?;
    view(store, t, client, LEDGER_LIMIT).await
}

// ---- At the till ------------------------------------------------------------------------

/// What a sale does to its client's points, decided from a fresh read in each attempt at the
/// sale's transaction: its points tender spent (checked against the programme and the
/// balance), and the points it earns at her tier before it (set on `sale.points_earned`).
pub struct SaleChange(Option<Change>);

/// Decides a sale's points (see [`SaleChange`]): nothing for a walk-in, or while the programme
/// is off and no points pay (points paying while it is off: 409 `loyalty_off`).
pub async fn prepare_sale(store: &Store, t: &TenantId, sale: &mut Sale) -> AppResult<SaleChange> {
    let Some(client) = sale.client_id.clone() else { return Ok(SaleChange(None)) };
    let tender = sale.tenders.iter().enumerate().find_map(|(i, t)| match t {
        Tender::Loyalty { points, amount_minor } => Some((i, points.get(), amount_minor.get())),
        _ => None,
    });
    let programme = programme(store, t).await?.input;
    if !programme.enabled && tender.is_none() {
        return Ok(SaleChange(None));
    }
    let (at, by) = (sale.completed_at, sale.completed_by.clone());
    let mut change = change(store, t, &client).await?;
    change.expire(&programme, at, &by);
    if let Some((i, points, amount)) = tender {
        loyalty::check_redemption(&programme, change.account.balance, points, amount, &format!("tenders[{i}]"))?;
        change.account.redeem(points, at)?;
        change.record(MovementKind::Redeemed, -points, at, &by).sale_id = Some(sale.id.clone());
    }
    let multiplier = programme.tier_for(change.account.earned_12m(at)).map_or(10_000, |tier| tier.multiplier_bp);
    let earned = loyalty::points_for_sale(&programme, sale, multiplier);
    sale.points_earned = earned;
    if earned > 0 {
        change.account.earn(earned, at);
        change.record(MovementKind::Earned, earned, at, &by).sale_id = Some(sale.id.clone());
    }
    Ok(SaleChange(Some(change)))
}

/// Writes a sale's points change into its transaction (nothing when it has none).
pub fn push_sale<F: From<AppError>>(plan: &mut Plan<F>, t: &TenantId, change: SaleChange) -> AppResult<()> {
    match change.0 {
        Some(change) => change.push(plan, t),
        None => Ok(()),
    }
}

// ---- Corrections --------------------------------------------------------------------------

/// Money given back otherwise than as points, onto gift cards or as package sessions.
fn returned_otherwise(returns: &[Return]) -> i64 {
    returns
        .iter()
        .filter(|r| !matches!(r.method, ReturnMethod::Loyalty | ReturnMethod::GiftCard | ReturnMethod::Package))
        .map(|r| r.amount_minor)
        .sum()
}

/// What a sale's void or refund does to its client's points, in the correction's transaction:
/// the points that paid and went back are put back; the points the sale earned are taken back
/// pro rata to the money given back (all by a void), as far as the balance goes (the rest is the
/// movement's `shortfall`).
pub async fn push_correction(
    plan: &mut Plan,
    store: &Store,
    audit: &AuditContext,
    sale: &Sale,
    earlier: &[Correction],
    correction: &Correction,
) -> AppResult<()> {
    let Some(client) = &sale.client_id else { return Ok(()) };
    let t = &audit.tenant_id;
    let points_back: i64 =
        correction.returns.iter().filter(|r| r.method == ReturnMethod::Loyalty).filter_map(|r| r.points).sum();
    let paid = loyalty::paid_otherwise(sale);
    let before: i64 =
        earlier.iter().filter(|c| c.status != CorrectionStatus::Failed).map(|c| returned_otherwise(&c.returns)).sum();
    let after = before + returned_otherwise(&correction.returns);
    let voided = correction.kind == CorrectionKind::Void;
    let earned = sale.points_earned;
    let take = loyalty::points_to_take_back(earned, paid, after, voided)
        - loyalty::points_to_take_back(earned, paid, before, false);
    if points_back == 0 && take <= 0 {
        return Ok(());
    }
    let (at, by) = (correction.at, audit.actor.as_str());
    let mut change = change(store, t, client).await?;
    if points_back > 0 {
        change.account.give_back(points_back);
        let movement = change.record(MovementKind::Returned, points_back, at, by);
        (movement.sale_id, movement.correction_id) = (Some(sale.id.clone()), Some(correction.id.clone()));
    }
    if take > 0 {
        let (taken, shortfall) = change.account.take_back_earned(take, sale.completed_at);
        let movement = change.record(MovementKind::Reversed, -taken, at, by);
        (movement.sale_id, movement.correction_id) = (Some(sale.id.clone()), Some(correction.id.clone()));
        movement.shortfall = (shortfall > 0).then_some(shortfall);
    }
    change.push(plan, t)
}

// ---- The portal -------------------------------------------------------------------------

/// One movement as the client sees it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PortalMovement {
    pub kind: MovementKind,
    pub points: i64,
    pub at: DateTime<Utc>,
}

/// What the portal shows: her balance, what it is worth, her tier, her latest movements.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PortalLoyalty {
    pub enabled: bool,
    pub balance: i64,
    pub value_minor: i64,
    pub currency: Currency,
    pub earned_12m: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_tier: Option<NextTier>,
    pub movements: Vec<PortalMovement>,
}

/// A client's own points, for the portal (her latest 20 movements).
pub async fn for_portal(store: &Store, t: &TenantId, client: &ClientId) -> AppResult<PortalLoyalty> {
    let view = view(store, t, client, 20).await?;
    Ok(PortalLoyalty {
        enabled: view.enabled,
        balance: view.balance,
        value_minor: view.value_minor,
        currency: view.currency,
        earned_12m: view.earned_12m,
        tier: view.tier.map(|t| t.name.as_str().to_owned()),
        next_tier: view.next_tier,
        movements: view
            .movements
            .into_iter()
            .map(|m| PortalMovement { kind: m.kind, points: m.points, at: m.at })
            .collect(),
    })
}
