//! The staff search box: one query across the clinic's clients, bookings and products, within
//! what the member may see. Every read is by key: a client by the name index
//! (`mas_clients::search_index`) or her email or phone claim, a booking by its number's claim,
//! products from the clinic's product list (one partition, hundreds of items at most). Nothing
//! scans the table, and every key carries the tenant: no other clinic's record can answer.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use mas_catalog::catalog;
use mas_clients::{clients, search_index};
use mas_domain::appointment::{AppointmentStatus, ConfirmationNumber};
use mas_domain::catalog::Record;
use mas_domain::clients::{ClientInput, ClientQuery};
use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::{AppointmentId, ClientId, LocationId, PractitionerId, ProductId, ServiceId, TenantId};
use mas_domain::reach::Reach;
use mas_domain::search::{self, SearchQuery};
use mas_domain::stock::ProductInput;
use mas_store::{Store, keys};

use crate::appointments;

/// The most results of each kind answered.
pub const MAX_RESULTS: usize = 20;

/// What the box found, best first within each kind.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SearchResults {
    /// Written out rather than `Client`: utoipa names the schema from the arguments it sees.
    pub clients: Vec<Record<ClientId, ClientInput>>,
    pub appointments: Vec<AppointmentHit>,
    pub products: Vec<Record<ProductId, ProductInput>>,
}

/// A booking found by its number: enough to open it (no notes, no screening).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AppointmentHit {
    pub id: AppointmentId,
    #[schema(value_type = String, example = "BK-04821937")]
    pub confirmation_number: String,
    pub client_id: ClientId,
    pub service_id: ServiceId,
    pub practitioner_id: PractitionerId,
    pub location_id: LocationId,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub status: AppointmentStatus,
}

/// What the member may see: clients and bookings within her reach, products when she reads
/// the catalog.
pub struct Sight {
    pub reach: Reach,
    /// A practitioner's care team (`None`: every client).
    pub care_team: Option<BTreeSet<ClientId>>,
    pub products: bool,
}

pub async fn search(store: &Store, t: &TenantId, sight: &Sight, query: &SearchQuery) -> AppResult<SearchResults> {
    let mut results = SearchResults { clients: Vec::new(), appointments: Vec::new(), products: Vec::new() };
    match query {
        SearchQuery::Email(email) => {
            results.clients = clients::search(store, t, ClientQuery::Email(email.clone()), 1, None).await?.items;
        }
        SearchQuery::Phone(phone) => {
            let page = clients::search(store, t, ClientQuery::Phone(phone.clone()), MAX_RESULTS as u32, None).await?;
            results.clients = page.items;
        }
        SearchQuery::Booking(number) => {
            results.appointments = booking(store, t, &sight.reach, number).await?.into_iter().collect();
        }
        SearchQuery::Words(words) => {
            let hits = search_index::find(store, t, words).await?;
            let admitted: Vec<ClientId> = hits
                .into_iter()
                .map(|(id, _)| id)
                .filter(|id| sight.care_team.as_ref().is_none_or(|team| team.contains(id)))
                .take(MAX_RESULTS)
                .collect();
            results.clients = clients::get_many(store, t, &admitted).await?;
            if sight.products {
                results.products = products(store, t, words).await?;
            }
        }
    }
    results.clients.retain(|c| sight.care_team.as_ref().is_none_or(|team| team.contains(&c.id)));
    Ok(results)
}

/// The booking with this number, when the member may see it.
async fn booking(
    store: &Store,
    t: &TenantId,
    reach: &Reach,
    number: &ConfirmationNumber,
) -> AppResult<Option<AppointmentHit>> {
    #[derive(Deserialize)]
    struct NumberClaim {
        appointment_id: AppointmentId,
    }
    let Some(claim) = store.get::<NumberClaim>(&keys::confirmation_number(t, number.as_str())).await? else {
        return Ok(None);
    };
    match appointments::get_within(store, t, reach, &claim.appointment_id).await {
        Ok(a) => Ok(Some(AppointmentHit {
            id: a.id,
            confirmation_number: a.confirmation_number,
            client_id: a.client_id,
            service_id: a.service_id,
            practitioner_id: a.practitioner_id,
            location_id: a.location_id,
            start: a.start,
            end: a.end,
            status: a.status,
        })),
        Err(AppError::NotFound { .. }) => Ok(None),
        Err(err) => Err(err),
    }
}

/// The clinic's products (not archived) whose name has a word answering every query word, or
/// whose SKU is the query.
async fn products(store: &Store, t: &TenantId, words: &[String]) -> AppResult<Vec<Record<ProductId, ProductInput>>> {
    let all = catalog::list::<ProductInput>(store, t, false).await?;
    let mut found: Vec<(u32, Record<ProductId, ProductInput>)> = all
        .into_iter()
        .filter_map(|p| {
            let name_words = search::words(&format!("{} {}", p.data.name.as_str(), p.data.sku.as_str()));
            let mut score = 0;
            for word in words {
                let best =
                    name_words.iter().filter(|w| search::matches(word, w)).map(|w| search::closeness(word, w)).min()?;
                score += u32::from(best);
            }
            Some((score, p))
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.data.name.as_str().cmp(b.1.data.name.as_str())));
    Ok(found.into_iter().take(MAX_RESULTS).map(|(_, p)| p).collect())
}
