//! Packages and courses of treatment: sold by a sale's `package` line (priced from the catalog's
//! template), a session redeemed by a service line that names the package, given back by a
//! void or a package refund of that sale, voided by an owner or manager.
//!
//! - **Stored** (`infra/access-patterns.md`): the package `TENANT#t#PKG#{pkg}`/`PKG`, its
//!   movements beside it (`MOVE#…`: one Query reads a package and its history), and a reference
//!   in the client's partition (`PKG#{pkg}`: the client file's and the portal's list).
//! - **Never over-used.** A redemption is the package as read with its sessions used one up and
//!   its version one up, written on condition of the version read, in the sale's own
//!   transaction (with its invoice number): of two visits that read the same last session, one
//!   commits and the other starts again from a fresh read — and is refused `package_used_up`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use mas_catalog::catalog;
use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::{ClientId, PackageId, TenantId};
use mas_domain::package::{Movement, MovementKind, Package, PackageInput, PackageStatus};
use mas_domain::sale::{Correction, CorrectionKind, LineKind, Reason, ReturnMethod, Sale, SaleInput};
use mas_ports::table::SK;
use mas_ports::{Condition, Query, SortKey, Write};
use mas_store::keys;
use mas_store::{AuditContext, Plan, Store, from_item, to_item};

/// What a client partition's `PKG#{pkg}` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ClientRef {
    package_id: PackageId,
}

/// The refusals of selling and redeeming packages made here, typed; each becomes its code and
/// status in one place (`From<PackageError> for AppError`). `field` is where the request named it.
/// (The domain's own refusals — expired, used up, another client's — come from `domain::package`.)
#[derive(Debug, Clone, thiserror::Error)]
pub enum PackageError {
    /// 422 `unknown_reference`: no active template of this clinic.
    #[error("no such package on sale at this clinic")]
    UnknownTemplate { field: String },
    /// 422 `unknown_reference`: the template changed between pricing and the sale's write.
    #[error("the package changed meanwhile; try again")]
    TemplateChanged { field: String },
    /// 422 `package_currency_mismatch`.
    #[error("this package is priced in another currency")]
    OtherCurrency { field: String },
    /// 422 `unknown_package`.
    #[error("no such package at this clinic")]
    UnknownPackage { field: String },
    /// 409 `package_sold`: the package was created already (a replayed sale).
    #[error("this package was sold already")]
    Sold,
    /// 409 `package_used`: a sale whose package was used or voided since cannot be voided.
    #[error("a package this sale sold was used or voided already: the sale cannot be voided")]
    SoldPackageUsed,
}

impl From<PackageError> for AppError {
    fn from(err: PackageError) -> Self {
        use PackageError as E;
        let message = err.to_string();
        match err {
            E::UnknownTemplate { field } | E::TemplateChanged { field } => {
                AppError::invalid("unknown_reference", field, message)
            }
            E::OtherCurrency { field } => AppError::invalid("package_currency_mismatch", field, message),
            E::UnknownPackage { field } => AppError::invalid("unknown_package", field, message),
            E::Sold => AppError::conflict("package_sold", message),
            E::SoldPackageUsed => AppError::conflict("package_used", message),
        }
    }
}

/// A package with its history, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PackageView {
    pub package: Package,
    pub movements: Vec<Movement>,
}

fn package_item(t: &TenantId, package: &Package) -> AppResult<mas_ports::Item> {
    to_item(&keys::package(t, &package.id), "package", package)
}

/// The put of a changed package, on condition nobody changed it since it was read.
fn versioned_put(t: &TenantId, next: &Package) -> AppResult<Write> {
    Ok(Write::put_if(package_item(t, next)?, Condition::equals("version", next.version - 1)))
}

fn stale() -> AppError {
    AppError::contention("the package was used at the same moment; try again")
}

fn movement_write(t: &TenantId, movement: &Movement) -> AppResult<Write> {
    let sk = format!("{}{}#{}", keys::PACKAGE_MOVE_PREFIX, movement.at.to_rfc3339(), ulid::Ulid::new());
    let key = mas_ports::Key::new(keys::package_pk(t, &movement.package_id), sk);
    Ok(Write::put_new(to_item(&key, "package_movement", movement)?))
}

fn movement(package: &Package, kind: MovementKind, sessions: i64, at: DateTime<Utc>, by: &str) -> Movement {
    Movement {
        package_id: package.id.clone(),
        kind,
        sessions,
        remaining_after: package.remaining(),
        sale_id: None,
        appointment_id: None,
        correction_id: None,
        at,
        by: by.to_owned(),
    }
}

/// A package as stored (its status as stored: `active` or `voided`).
pub async fn get(store: &Store, t: &TenantId, id: &PackageId) -> AppResult<Package> {
    store.get(&keys::package(t, id)).await?.ok_or(AppError::NotFound { what: "package" })
}

/// A package and its movements (one Query of its partition), newest movement first, as of now.
pub async fn view(store: &Store, t: &TenantId, id: &PackageId) -> AppResult<PackageView> {
    let items = store.table.query_all(&Query::partition(keys::package_pk(t, id))).await?;
    let (mut package, mut movements) = (None, Vec::new());
    for item in items {
        let sk = item.get(SK).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
        if sk == "PKG" {
            package = Some(from_item::<Package>(item)?);
        } else if sk.starts_with(keys::PACKAGE_MOVE_PREFIX) {
            movements.push(from_item::<Movement>(item)?);
        }
    }
    movements.reverse();
    let package = package.ok_or(AppError::NotFound { what: "package" })?;
    Ok(PackageView { package: package.as_of(store.clock.now()), movements })
}

/// The packages a client holds, newest first, as of now (expired ones say so).
pub async fn for_client(store: &Store, t: &TenantId, client: &ClientId) -> AppResult<Vec<Package>> {
    let query = Query::partition(keys::client_pk(t, client)).sk(SortKey::BeginsWith(keys::PACKAGE_PREFIX.into()));
    let refs: Vec<ClientRef> =
        store.table.query_all(&query).await?.into_iter().map(from_item).collect::<AppResult<_>>()?;
    let package_keys: Vec<_> = refs.iter().map(|r| keys::package(t, &r.package_id)).collect();
    if package_keys.is_empty() {
        return Ok(Vec::new());
    }
    let now = store.clock.now();
    let mut packages: Vec<Package> = store
        .table
        .batch_get(&package_keys)
        .await?
        .into_iter()
        .map(|item| from_item::<Package>(item).map(|p| p.as_of(now)))
        .collect::<AppResult<_>>()?;
    packages.sort_by_key(|p| std::cmp::Reverse(p.sold_at));
    Ok(packages)
}

/// Voids a package (owners and managers, checked by the caller): no session can be used any more.
pub async fn void(store: &Store, audit: &AuditContext, id: &PackageId, reason: &Reason) -> AppResult<Package> {
    let t = &audit.tenant_id;
    mas_store::retry::on_contention(crate::payments::CONTENTION_RETRIES, || async {
        let mut package = get(store, t, id).await?;
        package.void(reason.as_str())?;
        let now = store.clock.now();
        let mut plan = Plan::new();
        plan.push(versioned_put(t, &package)?, stale());
        plan.push(movement_write(t, &movement(&package, MovementKind::Voided, 0, now, &audit.actor))?, stale());
        plan.commit(store, audit, "package.voided", package.id.as_str()).await?;
        Ok(package.as_of(now))
    })
    .await
}

/// Gives a membership's month of credits (`Package::credits`), in the caller's transaction: the
/// package, its first movement and the client's reference.
pub fn push_credits(plan: &mut Plan, t: &TenantId, credits: &Package, by: &str) -> AppResult<()> {
    let taken = || AppError::conflict("package_exists", "these credits were given already");
    plan.push(Write::put_new(package_item(t, credits)?), taken());
    let first = movement(credits, MovementKind::Credited, i64::from(credits.sessions_total), credits.sold_at, by);
    plan.push(movement_write(t, &first)?, taken());
    let reference = ClientRef { package_id: credits.id.clone() };
    plan.push(
        Write::put_new(to_item(&keys::client_package(t, &credits.client_id, &credits.id), "package_ref", &reference)?),
        taken(),
    );
    Ok(())
}

// ---- At the till ------------------------------------------------------------------------

/// Prices each package line from its template: the template's name and price replace what the
/// till sent (the desk's tax choice and discount stay). An unknown, archived or inactive
/// template is 422 `unknown_reference`; a template in another currency than the sale's, 422
/// `package_currency_mismatch`.
pub async fn price_from_templates(store: &Store, t: &TenantId, input: &mut SaleInput) -> AppResult<()> {
    for (i, line) in input.lines.iter_mut().enumerate() {
        if line.kind != LineKind::Package {
            continue;
        }
        let Some(template_id) = &line.package_template_id else { continue };
        let field = format!("lines[{i}].package_template_id");
        let template = match catalog::get::<PackageInput>(store, t, template_id).await {
            Err(AppError::NotFound { .. }) => None,
            other => Some(other?),
        }
        .filter(|r| !r.archived && r.data.active)
        .ok_or_else(|| AppError::from(PackageError::UnknownTemplate { field: field.clone() }))?;
        if template.data.price.currency != input.currency {
            return Err(PackageError::OtherCurrency { field }.into());
        }
        line.name = template.data.name.clone();
        line.unit_price_minor = template.data.price.amount_minor;
    }
    Ok(())
}

/// A package to sell, decided before the sale's transaction: its id stays the same however
/// often the transaction is tried.
#[derive(Debug, Clone)]
pub struct ToSell {
    pub id: PackageId,
    /// The sale line that sells it.
    pub line: usize,
}

/// One package for each package line of `input`.
pub fn packages_to_sell(input: &SaleInput) -> Vec<ToSell> {
    input
        .lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.kind == LineKind::Package)
        .map(|(line, _)| ToSell { id: PackageId::new(), line })
        .collect()
}

/// Creates the client's packages the sale's lines sell, in the sale's transaction: each package
/// (the template as read, checked unchanged by a condition on its version), its first movement
/// and the client's reference.
pub async fn push_sales<F: From<AppError>>(
    plan: &mut Plan<F>,
    store: &Store,
    t: &TenantId,
    sale: &Sale,
    to_sell: &[ToSell],
) -> AppResult<Vec<Package>> {
    let mut sold = Vec::new();
    for package in to_sell {
        let line = &sale.lines[package.line];
        let field = format!("lines[{}].package_template_id", package.line);
        let (Some(template_id), Some(client)) = (&line.input.package_template_id, &sale.client_id) else {
            return Err(AppError::Internal("a package line without its template or client".into()));
        };
        let template = catalog::get::<PackageInput>(store, t, template_id).await?;
        let changed = || AppError::from(PackageError::TemplateChanged { field: field.clone() });
        if template.data.price.amount_minor != line.input.unit_price_minor || template.archived || !template.data.active
        {
            return Err(changed());
        }
        plan.push(
            Write::check(
                keys::catalog_item(t, keys::CatalogKind::Package, template_id.as_str()),
                Condition::equals("version", template.version),
            ),
            changed(),
        );
        let created = Package::sold(
            package.id.clone(),
            client.clone(),
            template_id.clone(),
            template.data,
            line.total_minor,
            sale.currency.clone(),
            sale.id.clone(),
            sale.completed_at,
        );
        let taken = || AppError::from(PackageError::Sold);
        plan.push(Write::put_new(package_item(t, &created)?), taken());
        let mut first = movement(
            &created,
            MovementKind::Sold,
            i64::from(created.sessions_total),
            sale.completed_at,
            &sale.completed_by,
        );
        first.sale_id = Some(sale.id.clone());
        plan.push(movement_write(t, &first)?, taken());
        let reference = ClientRef { package_id: created.id.clone() };
        let item = to_item(&keys::client_package(t, client, &created.id), "package_ref", &reference)?;
        plan.push(Write::put_new(item), taken());
        sold.push(created);
    }
    Ok(sold)
}

/// Uses a session of each package the sale's lines name, in the sale's transaction: the
/// package as read with its sessions used, on condition of the version read (see the module
/// notes). Lines naming the same package use it once each, in one write.
pub async fn push_redemptions<F: From<AppError>>(
    plan: &mut Plan<F>,
    store: &Store,
    t: &TenantId,
    sale: &Sale,
) -> AppResult<()> {
    let mut read: Vec<(Package, u32)> = Vec::new();
    let mut movements = Vec::new();
    for (i, line) in sale.lines.iter().enumerate() {
        let Some(id) = &line.input.package_id else { continue };
        let field = format!("lines[{i}].package_id");
        let at = match read.iter().position(|(p, _)| &p.id == id) {
            Some(at) => at,
            None => {
                let package = match get(store, t, id).await {
                    Err(AppError::NotFound { .. }) => {
                        return Err(PackageError::UnknownPackage { field }.into());
                    }
                    other => other?,
                };
                read.push((package.clone(), package.version));
                read.len() - 1
            }
        };
        let package = &mut read[at].0;
        package.redeem(1, sale.client_id.as_ref(), line.input.service_id.as_ref(), sale.completed_at, &field)?;
        let mut used = movement(package, MovementKind::Redeemed, -1, sale.completed_at, &sale.completed_by);
        used.sale_id = Some(sale.id.clone());
        used.appointment_id = line.input.appointment_id.clone();
        movements.push(used);
    }
    for (package, version_read) in &read {
        let write = Write::put_if(package_item(t, package)?, Condition::equals("version", *version_read));
        plan.push(write, stale());
    }
    for used in &movements {
        plan.push(movement_write(t, used)?, stale());
    }
    Ok(())
}

// ---- Corrections --------------------------------------------------------------------------

/// What a sale's void or refund does to its packages, in the correction's transaction: the
/// sessions that went back are put back onto their packages; a void also voids the packages the
/// sale sold, unless a session of one was used already (409 `package_used`).
pub async fn push_correction(
    plan: &mut Plan,
    store: &Store,
    audit: &AuditContext,
    sale: &Sale,
    correction: &Correction,
) -> AppResult<()> {
    let t = &audit.tenant_id;
    let at = correction.at;
    for back in correction.returns.iter().filter(|r| r.method == ReturnMethod::Package) {
        let (Some(id), Some(sessions)) = (&back.package_id, back.sessions) else { continue };
        let mut package = get(store, t, id).await?;
        package.give_back(sessions);
        plan.push(versioned_put(t, &package)?, stale());
        let mut returned = movement(&package, MovementKind::Returned, i64::from(sessions), at, &audit.actor);
        returned.sale_id = Some(sale.id.clone());
        returned.correction_id = Some(correction.id.clone());
        plan.push(movement_write(t, &returned)?, stale());
    }
    if correction.kind == CorrectionKind::Void {
        for id in sale.lines.iter().filter_map(|l| l.sold_package_id.as_ref()) {
            let mut package = get(store, t, id).await?;
            if package.sessions_used > 0 || package.status != PackageStatus::Active {
                return Err(PackageError::SoldPackageUsed.into());
            }
            package.void("its sale was voided")?;
            plan.push(versioned_put(t, &package)?, stale());
            let mut voided = movement(&package, MovementKind::Voided, 0, at, &audit.actor);
            voided.sale_id = Some(sale.id.clone());
            voided.correction_id = Some(correction.id.clone());
            plan.push(movement_write(t, &voided)?, stale());
        }
    }
    Ok(())
}
