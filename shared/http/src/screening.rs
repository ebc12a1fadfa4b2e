//! Screening a treatment against a client's answers, for staff taking a booking. Nothing is
//! stored; the answers come with the request.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::{ApiError, ApiResult, ErrorEnvelope};
use super::extract::{Actor, JsonBody};
use mas_domain::ids::ServiceId;
use mas_domain::medical::MedicalAnswers;
use mas_domain::screening::RiskAssessment;
use mas_domain::team::Permission;
use mas_usecases::app::App;
use mas_usecases::screening as ops;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssessRequest {
    pub service_id: ServiceId,
    pub answers: MedicalAnswers,
}

/// The risk assessment of a service for these answers. Open to everyone who books (the caller
/// already holds the answers it sends, and nothing stored is read but the service).
#[utoipa::path(post, path = "/v1/screening/assess", tag = "screening", operation_id = "assess_screening",
    security(("staff_jwt" = [])), request_body = AssessRequest,
    responses((status = 200, body = RiskAssessment), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn assess(
    State(app): State<Arc<App>>,
    actor: Actor,
    request: Result<JsonBody<AssessRequest>, ApiError>,
) -> ApiResult<Json<RiskAssessment>> {
    actor.require(Permission::BookingWriteOwn)?;
    // The role first: a caller who may not do this learns nothing from the body's errors.
    let JsonBody(request) = request?;
    Ok(Json(ops::assess_service(&app.store, &actor.tenant_id, &request.service_id, &request.answers).await?))
}
