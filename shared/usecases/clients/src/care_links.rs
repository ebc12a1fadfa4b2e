//! The writes that record a care link, in the transaction of what makes it (a booking, a share,
//! a practitioner's new client): below both `clients` (which creates clients) and `care_team`
//! (which reads the links to decide reach), so neither depends on the other.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::{ClientId, PractitionerId, TenantId};
use mas_domain::reach::{CareLink, ClientScope};
use mas_ports::Write;
use mas_ports::table::{GSI1PK, GSI1SK};
use mas_store::{Plan, keys, to_item};

/// A care link as stored: which client, why, since when and who made it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CareLinkRecord {
    pub client_id: ClientId,
    #[serde(flatten)]
    pub link: CareLink,
    pub since: DateTime<Utc>,
    /// A member id, `client` (a booking from the public site) or `system`.
    pub by: String,
}

/// The put of a care link (overwriting an earlier one of the same client and link: the link
/// only says that it exists).
pub fn link_write(tenant: &TenantId, record: &CareLinkRecord) -> AppResult<Write> {
    let mut item = to_item(&keys::care_link(tenant, &record.client_id, &record.link), "care_link", record)?;
    let (pk, sk) = keys::care_team_gsi(tenant, &record.link, &record.client_id);
    item.insert(GSI1PK.into(), pk.into());
    item.insert(GSI1SK.into(), sk.into());
    Ok(Write::put(item))
}

/// Adds to `plan` the link a booking (or a move) with `practitioner` makes, unless the plan
/// already writes it.
pub fn link_booking<F: From<AppError>>(
    plan: &mut Plan<F>,
    tenant: &TenantId,
    client: &ClientId,
    practitioner: &PractitionerId,
    now: DateTime<Utc>,
    actor: &str,
) -> AppResult<()> {
    let link = CareLink::BookedWith { practitioner_id: practitioner.clone() };
    if plan.writes_key(&keys::care_link(tenant, client, &link)) {
        return Ok(());
    }
    let record = CareLinkRecord { client_id: client.clone(), link, since: now, by: actor.to_owned() };
    plan.push(link_write(tenant, &record)?, AppError::Internal("a care link put has no condition".into()));
    Ok(())
}

/// The share a practitioner's own new client gets, in the transaction that creates the client:
/// whoever records a client is looking after them.
pub fn creator_link(
    scope: &ClientScope,
    tenant: &TenantId,
    client: &ClientId,
    now: DateTime<Utc>,
    actor: &str,
) -> AppResult<Option<Write>> {
    let ClientScope::CareTeam { member_id, .. } = scope else { return Ok(None) };
    let record = CareLinkRecord {
        client_id: client.clone(),
        link: CareLink::SharedWith { member_id: member_id.clone() },
        since: now,
        by: actor.to_owned(),
    };
    link_write(tenant, &record).map(Some)
}
