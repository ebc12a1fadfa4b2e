//! `stock.low` (`mas_booking::stock`): the members who may order and adjust stock at the
//! location (owners and managers: `Permission::StockAdjust`, with the location in their reach)
//! are emailed what ran low and what to order. Each member hears once per crossing: a marker
//! is put (if absent) before the email goes and taken back if it fails, so a redelivered event
//! sends nothing twice and a failed send is retried with the event.

use chrono::Duration;
use serde_json::Value;

use super::{Notifier, plain_email};
use mas_catalog::catalog::Catalog;
use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::LocationId;
use mas_domain::team::{Member, Permission};
use mas_ports::table::TTL;
use mas_ports::{DomainEvent, TableError, Write};
use mas_store::{keys, to_item};

/// How long a sent notice's marker is kept (past any redelivery of its event).
const MARKER_DAYS: i64 = 30;

pub async fn on_low(n: &Notifier, event: &DomainEvent) -> AppResult<()> {
    let t = &event.tenant_id;
    let field = |name: &str| event.payload.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
    let number = |name: &str| event.payload.get(name).and_then(Value::as_i64).unwrap_or_default();
    let location = LocationId::parse(&field("location_id")).map_err(|e| AppError::Internal(e.0))?;
    let tenant = mas_accounts::tenants::tenant(&n.store, t).await?;
    let catalog = Catalog::load(&n.store, t).await?;
    let location_name = catalog
        .locations
        .iter()
        .find(|l| l.id == location)
        .map_or_else(|| location.to_string(), |l| l.data.name.to_string());
    let (name, sku) = (field("name"), field("sku"));
    let subject = format!("Low stock at {location_name}: {name}");
    let lines = [
        format!(
            "{name} ({sku}) is down to {} at {location_name}; its reorder level is {}.",
            number("on_hand"),
            number("reorder_level")
        ),
        format!(
            "Suggested order: {}. The reorder list in the back office (Stock) shows everything at or below its level.",
            number("suggested_quantity")
        ),
    ];
    let members = mas_accounts::team::list(&n.store, t).await?;
    for member in members.iter().filter(|m| hears(m, &location)) {
        let marker = keys::staff_notice(t, event.id.as_str(), &member.id);
        let mut item = to_item(&marker, "staff_notice", &serde_json::json!({ "event": event.kind }))?;
        item.insert(TTL.into(), (n.store.clock.now() + Duration::days(MARKER_DAYS)).timestamp().into());
        match n.store.table.transact(vec![Write::put_new(item)]).await {
            Ok(()) => {}
            // Sent already (a redelivered event).
            Err(TableError::ConditionFailed { .. }) => continue,
            Err(other) => return Err(other.into()),
        }
        let email = plain_email(&n.mail_from, &tenant, &member.input.email, subject.clone(), &lines, None);
        if let Err(failed) = n.mailer.send_email(&email).await {
            n.store.table.transact(vec![Write::delete(marker)]).await?;
            return Err(AppError::backend("mailer")(failed));
        }
        tracing::info!(tenant_id = %t, member_id = %member.id, sku, "low stock notice sent");
    }
    Ok(())
}

/// Whether `member` orders stock at `location`.
fn hears(member: &Member, location: &LocationId) -> bool {
    member.input.role.allows(Permission::StockAdjust)
        && (member.input.location_ids.is_empty() || member.input.location_ids.contains(location))
}
