//! Publishing the clinic's static site (the work is done by the site publish worker).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::error::{ApiResult, ErrorEnvelope};
use super::extract::Actor;
use mas_domain::ids::PublishId;
use mas_domain::team::Permission;
use mas_usecases::app::App;
use mas_usecases::site as ops;

#[derive(Serialize, ToSchema)]
pub struct PublishAccepted {
    pub publish_id: PublishId,
    /// Always `queued`: the worker renders, uploads and invalidates.
    pub status: &'static str,
}

/// Queues a publish of the clinic's whole site (owner and manager).
#[utoipa::path(post, path = "/v1/site/publish", tag = "brand", security(("staff_jwt" = [])),
    responses((status = 202, body = PublishAccepted), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
pub async fn publish(State(app): State<Arc<App>>, actor: Actor) -> ApiResult<(StatusCode, Json<PublishAccepted>)> {
    actor.require(Permission::BrandWrite)?;
    let publish_id = ops::request_publish(&app, &actor.audit()).await?;
    Ok((StatusCode::ACCEPTED, Json(PublishAccepted { publish_id, status: "queued" })))
}
