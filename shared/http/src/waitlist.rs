//! Waitlist routes: staff list a location's waitlist, add a client to it and take one off; the
//! public site joins it (rate limited like a public booking, a known client reused as recorded);
//! an offer's link is answered without signing in (the link is signed); the portal lists and
//! withdraws the signed-in client's entries. The role is checked before the body is read.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::{NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::availability::public_tenant;
use super::error::{ApiError, ApiResult, ErrorEnvelope};
use super::extract::{Actor, JsonBody, PathParams, QueryArgs};
use mas_domain::appointment::Appointment;
use mas_domain::clients::ClientInput;
use mas_domain::error::AppError;
use mas_domain::ids::{ClientId, LocationId, PractitionerId, RequestId, ServiceId, WaitlistId};
use mas_domain::team::Permission;
use mas_domain::waitlist::{WaitlistEntry, read_offer_token};
use mas_store::AuditContext;
use mas_usecases::app::App;
use mas_usecases::waitlist::{self as ops, Wish};
use mas_usecases::{appointments, clients};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct WaitlistQuery {
    pub location_id: LocationId,
    pub service_id: Option<ServiceId>,
    /// Also entries that are closed (booked, expired, withdrawn); default only waiting and offered.
    #[serde(default)]
    pub all: bool,
}

/// A location's waitlist in joining order (first joined, first offered).
#[utoipa::path(get, path = "/v1/waitlist", tag = "waitlist", operation_id = "list_waitlist", security(("staff_jwt" = [])),
    params(WaitlistQuery),
    responses((status = 200, body = Vec<WaitlistEntry>), (status = 403, body = ErrorEnvelope),
        (status = 404, description = "No such location", body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn list(
    State(app): State<Arc<App>>,
    actor: Actor,
    QueryArgs(query): QueryArgs<WaitlistQuery>,
) -> ApiResult<Json<Vec<WaitlistEntry>>> {
    actor.require(Permission::BookingRead)?;
    let t = &actor.tenant_id;
    Ok(Json(ops::list(&app.store, t, &actor.reach(), &query.location_id, query.service_id.as_ref(), query.all).await?))
}

/// When a client could come, on the location's wall clock.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowInput {
    pub from_date: NaiveDate,
    /// At most 92 days after `from_date`.
    pub to_date: NaiveDate,
    /// Starts no earlier than this (`HH:MM`).
    #[schema(value_type = Option<String>, example = "09:00")]
    pub earliest: Option<NaiveTime>,
    /// Starts no later than this (`HH:MM`).
    #[schema(value_type = Option<String>, example = "13:00")]
    pub latest: Option<NaiveTime>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffWaitlistInput {
    pub client_id: ClientId,
    pub location_id: LocationId,
    pub service_id: ServiceId,
    /// Anyone who offers the service, when absent.
    pub practitioner_id: Option<PractitionerId>,
    pub window: WindowInput,
}

fn wish(
    client_id: ClientId,
    location: LocationId,
    service: ServiceId,
    p: Option<PractitionerId>,
    w: WindowInput,
) -> Wish {
    Wish {
        client_id,
        location_id: location,
        service_id: service,
        practitioner_id: p,
        from_date: w.from_date,
        to_date: w.to_date,
        earliest: w.earliest,
        latest: w.latest,
    }
}

/// Adds a client to a location's waitlist (one of the member's locations, a client they may see).
#[utoipa::path(post, path = "/v1/waitlist", tag = "waitlist", operation_id = "add_to_waitlist", security(("staff_jwt" = [])),
    request_body = StaffWaitlistInput,
    responses((status = 201, body = WaitlistEntry), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn add(
    State(app): State<Arc<App>>,
    actor: Actor,
    input: Result<JsonBody<StaffWaitlistInput>, ApiError>,
) -> ApiResult<(StatusCode, Json<WaitlistEntry>)> {
    actor.require(Permission::BookingWrite)?;
    let JsonBody(input) = input?;
    let t = &actor.tenant_id;
    appointments::check_booking(&app.store, t, &actor.reach(), &input.location_id, &input.client_id).await?;
    let wish = wish(input.client_id, input.location_id, input.service_id, input.practitioner_id, input.window);
    let entry = ops::join(&app.store, &actor.audit(), wish, None).await?;
    Ok((StatusCode::CREATED, Json(entry)))
}

/// Takes an entry off the waitlist; an open offer is given back (to the next waiter) with it.
#[utoipa::path(delete, path = "/v1/waitlist/{id}", tag = "waitlist", operation_id = "remove_from_waitlist", security(("staff_jwt" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = WaitlistEntry), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, description = "`entry_closed`: booked, expired or withdrawn already", body = ErrorEnvelope)))]
pub async fn remove(State(app): State<Arc<App>>, actor: Actor, path: PathParams) -> ApiResult<Json<WaitlistEntry>> {
    actor.require(Permission::BookingWrite)?;
    let id: WaitlistId = path.id("id", "waitlist entry")?;
    let t = &actor.tenant_id;
    let entry = ops::get(&app.store, t, &id).await?;
    let reach = actor.reach();
    reach.locations.find(&entry.location_id, "waitlist entry")?;
    if let Err(ApiError::App(AppError::NotFound { .. })) = actor.admit_client(&app, &entry.client_id).await {
        return Err(AppError::NotFound { what: "waitlist entry" }.into());
    }
    Ok(Json(ops::withdraw(&app.store, &actor.audit(), &entry).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublicWaitlistInput {
    pub location_id: LocationId,
    pub service_id: ServiceId,
    pub practitioner_id: Option<PractitionerId>,
    pub window: WindowInput,
    /// An existing client with this email is reused as recorded (nothing of theirs changes);
    /// otherwise a client is made from these details.
    pub client: ClientInput,
}

/// Joins the clinic's waitlist from its site when no time suits: the first time that frees up in
/// the window is offered by email or text, held for a while. Rate limited like public bookings.
#[utoipa::path(post, path = "/v1/public/{tenant_slug}/waitlist", tag = "public", operation_id = "join_public_waitlist",
    params(("tenant_slug" = String, Path)), request_body = PublicWaitlistInput,
    responses((status = 201, body = WaitlistEntry), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope),
        (status = 429, body = ErrorEnvelope)))]
pub async fn join_public(
    State(app): State<Arc<App>>,
    path: PathParams,
    Extension(request_id): Extension<RequestId>,
    super::extract::RequestOrigin(origin): super::extract::RequestOrigin,
    JsonBody(input): JsonBody<PublicWaitlistInput>,
) -> ApiResult<(StatusCode, Json<WaitlistEntry>)> {
    use mas_usecases::limits::{take, take_for_address, take_from_window};
    let tenant = public_tenant(&app, &path).await?;
    let limits = &app.limits;
    take_for_address(&app.store, "waitlist", origin.ip.as_deref(), limits.booking_per_address).await?;
    take_from_window(&app.store, &format!("waitlist#clinic#{}", tenant.id), limits.booking_per_clinic).await?;
    if let Some(phone) = &input.client.phone {
        take(&app.store, &format!("waitlist#phone#{phone}"), limits.booking_per_phone).await?;
    }
    let audit = AuditContext { tenant_id: tenant.id.clone(), actor: "client".into(), role: None, request_id };
    let mut tries = 2;
    loop {
        tries -= 1;
        let (client_id, new_client) = clients::for_public_booking(&app.store, &audit, input.client.clone()).await?;
        let wish = wish(
            client_id,
            input.location_id.clone(),
            input.service_id.clone(),
            input.practitioner_id.clone(),
            input.window.clone(),
        );
        match ops::join(&app.store, &audit, wish, new_client).await {
            // Two first joins with one new email: the loser finds the winner's client.
            Err(ops::WaitlistError::Store(AppError::Conflict { code: clients::CLIENT_EXISTS, .. })) if tries > 0 => {
                continue;
            }
            other => return Ok((StatusCode::CREATED, Json(other?))),
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OfferAnswer {
    Accept,
    Decline,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferReply {
    /// The `offer` token of the link the client was sent.
    pub token: String,
    pub answer: OfferAnswer,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OfferOutcome {
    pub answer: OfferAnswer,
    /// Accepted: the booking (`scheduled`, or `pending_deposit` until its deposit is paid).
    pub appointment: Option<Appointment>,
    pub entry: Option<WaitlistEntry>,
}

/// Answers an offer from its link: accept (the booking is confirmed, or waits for its deposit)
/// or decline (the time goes to the next waiter). A link that is not ours is 404; an offer
/// answered already or expired, 409 `offer_gone`.
#[utoipa::path(post, path = "/v1/public/{tenant_slug}/waitlist/offer", tag = "public", operation_id = "answer_waitlist_offer",
    params(("tenant_slug" = String, Path)), request_body = OfferReply,
    responses((status = 200, body = OfferOutcome), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn answer_offer(
    State(app): State<Arc<App>>,
    path: PathParams,
    Extension(request_id): Extension<RequestId>,
    JsonBody(input): JsonBody<OfferReply>,
) -> ApiResult<Json<OfferOutcome>> {
    let tenant = public_tenant(&app, &path).await?;
    let not_found = || ApiError::from(AppError::NotFound { what: "offer" });
    let (t, entry_id, appointment_id) = read_offer_token(&app.links, &input.token).ok_or_else(not_found)?;
    if t != tenant.id {
        return Err(not_found());
    }
    let entry = ops::get(&app.store, &t, &entry_id).await?;
    let audit =
        AuditContext { tenant_id: t.clone(), actor: format!("client:{}", entry.client_id), role: None, request_id };
    let outcome = match input.answer {
        OfferAnswer::Accept => {
            let appointment = ops::accept(&app.store, &audit, &entry_id, &appointment_id).await?;
            OfferOutcome { answer: input.answer, appointment: Some(appointment), entry: None }
        }
        OfferAnswer::Decline => {
            let entry = ops::decline(&app.store, &audit, &entry_id, &appointment_id).await?;
            OfferOutcome { answer: input.answer, appointment: None, entry: Some(entry) }
        }
    };
    Ok(Json(outcome))
}

/// The signed-in client's waitlist entries, newest first.
#[utoipa::path(get, path = "/v1/portal/waitlist", tag = "portal", operation_id = "portal_waitlist",
    responses((status = 200, body = Vec<WaitlistEntry>), (status = 401, body = ErrorEnvelope)))]
pub async fn portal_list(State(app): State<Arc<App>>, headers: HeaderMap) -> ApiResult<Json<Vec<WaitlistEntry>>> {
    let session = super::portal::session(&app, &headers).await?;
    Ok(Json(ops::for_client(&app.store, &session.tenant_id, &session.client_id).await?))
}

/// The signed-in client leaves the waitlist (an open offer is given back with it).
#[utoipa::path(delete, path = "/v1/portal/waitlist/{id}", tag = "portal", operation_id = "portal_leave_waitlist",
    params(("id" = String, Path)),
    responses((status = 200, body = WaitlistEntry), (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope)))]
pub async fn portal_withdraw(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Extension(request_id): Extension<RequestId>,
    path: PathParams,
) -> ApiResult<Json<WaitlistEntry>> {
    let session = super::portal::session(&app, &headers).await?;
    let id: WaitlistId = path.id("id", "waitlist entry")?;
    let entry = ops::get(&app.store, &session.tenant_id, &id).await?;
    if entry.client_id != session.client_id {
        return Err(AppError::NotFound { what: "waitlist entry" }.into());
    }
    let audit = AuditContext {
        tenant_id: session.tenant_id.clone(),
        actor: format!("client:{}", session.client_id),
        role: None,
        request_id,
    };
    Ok(Json(ops::withdraw(&app.store, &audit, &entry).await?))
}
