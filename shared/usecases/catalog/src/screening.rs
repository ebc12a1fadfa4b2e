//! Screening a service for a client's answers: the service's clinical tags through the rule
//! table in `domain::screening`. Nothing is stored.

use mas_domain::catalog::ServiceInput;
use mas_domain::error::AppResult;
use mas_domain::ids::{ServiceId, TenantId};
use mas_domain::medical::MedicalAnswers;
use mas_domain::screening::{RiskAssessment, assess};
use mas_store::Store;

use crate::catalog;

/// The assessment of `service` (404 if the tenant has no such service) for these answers.
pub async fn assess_service(
    store: &Store,
    tenant: &TenantId,
    service: &ServiceId,
    answers: &MedicalAnswers,
) -> AppResult<RiskAssessment> {
    let service = catalog::get::<ServiceInput>(store, tenant, service).await?;
    Ok(assess(&service.data.effective_clinical_tags(), answers))
}
