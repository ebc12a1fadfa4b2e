//! Reads of a booking's own items that both appointments and payments need, here so payments
//! never depends on appointments (appointments settles fees through payments).

use mas_domain::appointment::Appointment;
use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::{AppointmentId, TenantId};
use mas_store::{Store, keys};

/// The appointment `id` of `tenant`, whoever may see it (callers check reach).
pub async fn appointment(store: &Store, tenant: &TenantId, id: &AppointmentId) -> AppResult<Appointment> {
    store.get(&keys::appointment(tenant, id)).await?.ok_or(AppError::NotFound { what: "appointment" })
}
