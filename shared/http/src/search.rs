//! The staff search box: one query across clients, bookings and products, answered within what
//! the member may see (a practitioner, her care team's clients and their bookings; bookings at
//! her locations only; products for roles that read the catalog).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::{ApiResult, ErrorEnvelope};
use super::extract::{Actor, QueryArgs};
use mas_domain::search::SearchQuery;
use mas_domain::team::Permission;
use mas_usecases::app::App;
use mas_usecases::care_team;
use mas_usecases::search::{self as ops, SearchResults, Sight};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// Words of a client's or a product's name, in any order, each from its second letter
    /// (`sar jon`; a slip forgiven in words of four letters or more: `sarh`); an email; a phone
    /// number in international form (`+44 7700 900123`); or a booking number (`BK-04821937`).
    pub q: String,
}

#[utoipa::path(get, path = "/v1/search", tag = "clients", operation_id = "search", security(("staff_jwt" = [])),
    params(SearchParams),
    responses((status = 200, description = "At most 20 of each kind, best first", body = SearchResults),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn search(
    State(app): State<Arc<App>>,
    actor: Actor,
    QueryArgs(args): QueryArgs<SearchParams>,
) -> ApiResult<Json<SearchResults>> {
    actor.require(Permission::BookingRead)?;
    let query = SearchQuery::parse(&args.q)?;
    let reach = actor.reach();
    let care_team = care_team::members_clients(&app.store, &actor.tenant_id, &reach.clients).await?;
    let sight = Sight { reach, care_team, products: actor.member.input.role.allows(Permission::CatalogRead) };
    Ok(Json(ops::search(&app.store, &actor.tenant_id, &sight, &query).await?))
}
