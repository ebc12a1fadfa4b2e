//! Appointment routes: book (staff, and the public site), list, read, change through the state
//! machine, and preview a fee. Booking honours `Idempotency-Key`: a retry gets the first answer.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::availability::{TimeArg, public_tenant};
use super::error::{ApiError, ApiResult, ErrorEnvelope};
use super::extract::{Actor, JsonBody, PathParams, QueryArgs};
use mas_domain::appointment::{
    Appointment, AppointmentAction, AppointmentStatus, BookingSource, MAX_VISIT_SERVICES, ScreeningSummary,
};
use mas_domain::clients::ClientInput;
use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::{AppointmentId, ClientId, LocationId, PractitionerId, RequestId, ServiceId};
use mas_domain::medical::MedicalAnswers;
use mas_domain::policy::{FeeAction, FeePreview};
use mas_domain::team::Permission;
use mas_domain::tenant::Tenant;
use mas_domain::values::Text;
use mas_store::AuditContext;
use mas_usecases::app::App;
use mas_usecases::appointments::{self as ops, BookingRequest, Change, ListFilter, NextService, Scope};
use mas_usecases::{clients, medical, tenants};

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffBookingInput {
    pub location_id: LocationId,
    pub service_id: ServiceId,
    /// An RFC 3339 time on the availability grid.
    pub start: DateTime<FixedOffset>,
    /// Anyone who can take it, when absent (practitioners always book themselves).
    pub practitioner_id: Option<PractitionerId>,
    pub client_id: ClientId,
    pub notes: Option<Text>,
    /// Screening answers taken now; when absent, the client's latest recorded questionnaire is
    /// used (if any). Recorded as a new questionnaire version when the caller may write clinical data.
    pub screening: Option<MedicalAnswers>,
    /// A clinician (clinical write permission) books despite a "consultation required" outcome.
    #[serde(default)]
    pub acknowledge_risk: bool,
    /// The client agrees to the policy's `card_on_file_terms` (`GET /v1/policies`): the card they
    /// pay the deposit with is kept and charged, without asking again, for the part of a late
    /// cancellation or no-show fee the deposit does not cover. Stored with the appointment, with
    /// the words agreed to; without it such a fee becomes an unpaid balance with a payment link.
    #[serde(default)]
    pub card_on_file_consent: bool,
    /// A visit's further services, in order, each starting when the one before it ends (its
    /// buffers kept), or alongside it (`with_previous`): booked, moved and cancelled together
    /// with the first, in one transaction.
    #[serde(default)]
    pub then: Vec<VisitServiceInput>,
}

/// One more service of a visit.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitServiceInput {
    pub service_id: ServiceId,
    /// Anyone who can take it, when absent.
    pub practitioner_id: Option<PractitionerId>,
    /// Run it alongside the service before it (same start) rather than after it: both services
    /// must allow it (`parallel_ok`, else 422 `not_parallel`), and it is done by another
    /// practitioner (naming the same one is 422 `same_practitioner`) with its own rooms. The
    /// next service starts when the later of the two has ended.
    #[serde(default)]
    pub with_previous: bool,
}

/// A visit's further services, each with its own screening outcome (`screenings` in the same
/// order); at most `MAX_VISIT_SERVICES` in all.
fn further_services(then: &[VisitServiceInput], screenings: Vec<Option<ScreeningSummary>>) -> Vec<NextService> {
    then.iter()
        .zip(screenings)
        .map(|(next, screening)| NextService {
            service_id: next.service_id.clone(),
            practitioner_id: next.practitioner_id.clone(),
            screening,
            with_previous: next.with_previous,
        })
        .collect()
}

fn check_visit_size(then: &[VisitServiceInput]) -> AppResult<()> {
    if then.len() >= MAX_VISIT_SERVICES {
        return Err(AppError::invalid(
            "too_many_services",
            "then",
            format!("a visit holds at most {MAX_VISIT_SERVICES} services"),
        ));
    }
    Ok(())
}

#[utoipa::path(post, path = "/v1/appointments", operation_id = "book_appointment", tag = "appointments", security(("staff_jwt" = [])), request_body = StaffBookingInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key returns the first response")),
    responses((status = 201, body = Appointment), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn book(
    State(app): State<Arc<App>>,
    actor: Actor,
    headers: HeaderMap,
    input: Result<JsonBody<StaffBookingInput>, ApiError>,
) -> ApiResult<Response> {
    actor.require(Permission::BookingWriteOwn)?;
    // The role first: a caller who may not do this learns nothing from the body's errors.
    let JsonBody(input) = input?;
    let mut practitioner_id = input.practitioner_id.clone();
    if !actor.member.input.role.allows(Permission::BookingWrite) {
        let own = actor.member.input.practitioner_id.clone().ok_or_else(|| {
            AppError::Forbidden("this account is not linked to a practitioner profile, so it cannot book".into())
        })?;
        if practitioner_id.as_ref().is_some_and(|p| p != &own) {
            return Err(AppError::Forbidden("practitioners may book only themselves".into()).into());
        }
        if input.then.iter().any(|next| next.practitioner_id.as_ref().is_some_and(|p| p != &own)) {
            return Err(AppError::Forbidden("practitioners may book only themselves".into()).into());
        }
        practitioner_id = Some(own);
    }
    let clinician = actor.member.input.role.allows(Permission::ClinicalWrite);
    if input.acknowledge_risk && !clinician {
        return Err(AppError::Forbidden("only a clinician may book despite the screening outcome".into()).into());
    }
    check_visit_size(&input.then)?;
    // Before anything is written (a clinician's answers are recorded while preparing).
    ops::check_booking(&app.store, &actor.tenant_id, &actor.reach(), &input.location_id, &input.client_id).await?;
    let tenant = tenants::tenant(&app.store, &actor.tenant_id).await?;
    let audit = actor.audit();
    let prepare = async {
        let answers = match &input.screening {
            Some(answers) => {
                if clinician {
                    medical::record(&app.store, &app.keyring, &audit, &input.client_id, answers.clone()).await?;
                }
                Some(answers.clone())
            }
            None => medical::latest(&app.store, &app.keyring, &tenant.id, &input.client_id).await?.map(|r| r.answers),
        };
        let mut screenings = Vec::with_capacity(input.then.len());
        for next in &input.then {
            screenings.push(match &answers {
                Some(answers) => {
                    Some(ops::screen(&app.store, &tenant, &next.service_id, answers, input.acknowledge_risk).await?)
                }
                None => None,
            });
        }
        let mut then = further_services(&input.then, screenings);
        if !actor.member.input.role.allows(Permission::BookingWrite) {
            // Practitioners book every service of a visit with themselves.
            for next in &mut then {
                next.practitioner_id = practitioner_id.clone();
            }
        }
        let screening = match &answers {
            Some(answers) => {
                Some(ops::screen(&app.store, &tenant, &input.service_id, answers, input.acknowledge_risk).await?)
            }
            None => None,
        };
        Ok(BookingRequest {
            location_id: input.location_id.clone(),
            service_id: input.service_id.clone(),
            start: input.start.with_timezone(&Utc),
            practitioner_id,
            then,
            client_id: input.client_id.clone(),
            source: BookingSource::Staff,
            screening,
            notes: input.notes.clone(),
            prepared: None,
            card_on_file_consent: input.card_on_file_consent,
            offer: None,
        })
    };
    idempotent(&app, &tenant, &audit, &headers, &input, prepare).await
}

/// What a visitor sends from the clinic's site: who they are, their screening answers, and the
/// time they chose.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublicBookingInput {
    pub location_id: LocationId,
    pub service_id: ServiceId,
    /// An RFC 3339 time offered by the availability route.
    pub start: DateTime<FixedOffset>,
    pub practitioner_id: Option<PractitionerId>,
    /// An existing client with this email is reused as stored (their details are not changed
    /// from the public site); otherwise a client is made from these details.
    pub client: ClientInput,
    /// Every question answered; kept encrypted as a new version of the client's questionnaire.
    pub screening: MedicalAnswers,
    pub notes: Option<Text>,
    /// The visitor ticked the clinic's `card_on_file_terms` (`GET /v1/public/{tenant_slug}/policy`,
    /// shown beside the box): the card they pay the deposit with is kept and charged, without
    /// asking again, for the part of a late cancellation or no-show fee the deposit does not
    /// cover. Stored with the appointment, with the words agreed to.
    #[serde(default)]
    pub card_on_file_consent: bool,
    /// A visit's further services, in order (see the staff booking's `then`).
    #[serde(default)]
    pub then: Vec<VisitServiceInput>,
}

/// Books from the clinic's public site: screening first (a treatment that needs a consultation
/// is refused with 422 `consultation_required` naming the consultation service), then the same
/// booking transaction staff use, which also creates the client when new and keeps the
/// visitor's answers as a submission for clinician review: a refused booking writes nothing.
/// An existing client (same email) is screened on the stricter of what the clinic recorded and
/// what the visitor answered, and nothing of theirs changes.
#[utoipa::path(post, path = "/v1/public/{tenant_slug}/appointments", tag = "public", operation_id = "book_public_appointment",
    params(("tenant_slug" = String, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key returns the first response")),
    request_body = PublicBookingInput,
    responses((status = 201, body = Appointment), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn book_public(
    State(app): State<Arc<App>>,
    path: PathParams,
    Extension(request_id): Extension<RequestId>,
    super::extract::RequestOrigin(origin): super::extract::RequestOrigin,
    headers: HeaderMap,
    JsonBody(input): JsonBody<PublicBookingInput>,
) -> ApiResult<Response> {
    let tenant = public_tenant(&app, &path).await?;
    check_public_booking_limits(&app, &tenant, origin.ip.as_deref(), &input).await?;
    let audit = AuditContext { tenant_id: tenant.id.clone(), actor: "client".into(), role: None, request_id };
    // Two first bookings with one new email race for the client's email claim: the loser
    // finds the winner's client on a second try.
    let mut tries = 2;
    loop {
        tries -= 1;
        let prepare = prepare_public_booking(&app, &tenant, &audit, &input);
        match idempotent(&app, &tenant, &audit, &headers, &input, prepare).await {
            Err(ApiError::App(AppError::Conflict { code: clients::CLIENT_EXISTS, .. })) if tries > 0 => continue,
            other => return other,
        }
    }
}

/// What a public booking may cost the clinic (each one may text a number): a number in a country
/// the clinic does not text is refused (422), and bookings per address, per phone number and per
/// clinic are limited (429 with `Retry-After`), before anything is read or written.
async fn check_public_booking_limits(
    app: &App,
    tenant: &Tenant,
    address: Option<&str>,
    input: &PublicBookingInput,
) -> AppResult<()> {
    use mas_usecases::limits::{take, take_for_address, take_from_window};
    if let Some(phone) = &input.client.phone {
        let settings = mas_usecases::notifications::settings(&app.store, &tenant.id).await?;
        let home = tenant.country.as_str();
        if !settings.texts_to(home, phone.as_str()) {
            return Err(AppError::invalid(
                "phone_country_not_texted",
                "client.phone",
                format!(
                    "the clinic texts only numbers in {}; leave the phone out or give one from there",
                    settings.sms_country_list(home)
                ),
            ));
        }
    }
    let limits = &app.limits;
    take_for_address(&app.store, "booking", address, limits.booking_per_address).await?;
    take_from_window(&app.store, &format!("booking#clinic#{}", tenant.id), limits.booking_per_clinic).await?;
    if let Some(phone) = &input.client.phone {
        take(&app.store, &format!("booking#phone#{phone}"), limits.booking_per_phone).await?;
    }
    Ok(())
}

async fn prepare_public_booking(
    app: &App,
    tenant: &Tenant,
    audit: &AuditContext,
    input: &PublicBookingInput,
) -> AppResult<BookingRequest> {
    check_visit_size(&input.then)?;
    // Every service is screened on the visitor's answers before anything is written.
    for service_id in std::iter::once(&input.service_id).chain(input.then.iter().map(|next| &next.service_id)) {
        ops::screen(&app.store, tenant, service_id, &input.screening, false).await?;
    }
    let (client_id, new_client) = clients::for_public_booking(&app.store, audit, input.client.clone()).await?;
    let recorded = match new_client {
        Some(_) => None,
        None => medical::latest(&app.store, &app.keyring, &tenant.id, &client_id).await?.map(|r| r.answers),
    };
    let screening = public_screening(app, tenant, input, recorded.as_ref(), &input.service_id).await?;
    let mut screenings = Vec::with_capacity(input.then.len());
    for next in &input.then {
        screenings.push(Some(public_screening(app, tenant, input, recorded.as_ref(), &next.service_id).await?));
    }
    let then = further_services(&input.then, screenings);
    let mut prepared = new_client.unwrap_or_default();
    prepared.append(medical::submission_plan(&app.store, &app.keyring, audit, &client_id, &input.screening).await?);
    Ok(BookingRequest {
        location_id: input.location_id.clone(),
        service_id: input.service_id.clone(),
        start: input.start.with_timezone(&Utc),
        practitioner_id: input.practitioner_id.clone(),
        then,
        client_id,
        source: BookingSource::Online,
        screening: Some(screening),
        notes: input.notes.clone(),
        prepared: Some(prepared),
        card_on_file_consent: input.card_on_file_consent,
        offer: None,
    })
}

/// One service's screening for a public booking: on the visitor's answers for a new client; for
/// an existing one, on the stricter of what the clinic recorded and what the visitor answered,
/// refused saying no more than the visitor's own answers would (never the recorded flags).
async fn public_screening(
    app: &App,
    tenant: &Tenant,
    input: &PublicBookingInput,
    recorded: Option<&MedicalAnswers>,
    service_id: &ServiceId,
) -> AppResult<ScreeningSummary> {
    let Some(recorded) = recorded else {
        return ops::screen(&app.store, tenant, service_id, &input.screening, false).await;
    };
    ops::screen(&app.store, tenant, service_id, &recorded.stricter(&input.screening), false).await.map_err(|err| {
        match err {
            AppError::Rejected { kind, code, message, details } => {
                let keep = ["consultation_service_id", "consultation_service_name"];
                let details = keep.iter().map(|k| ((*k).to_owned(), details[*k].clone())).collect();
                AppError::Rejected { kind, code, message, details: serde_json::Value::Object(details) }
            }
            other => other,
        }
    })
}

/// Runs a booking once per `Idempotency-Key` (`super::idempotency`): a repeat with the same
/// body gets the stored first response; the same key with another body is refused.
pub async fn idempotent(
    app: &App,
    tenant: &Tenant,
    audit: &AuditContext,
    headers: &HeaderMap,
    input: &impl Serialize,
    prepare: impl Future<Output = AppResult<BookingRequest>>,
) -> ApiResult<Response> {
    let idempotency = match super::idempotency::begin(&app.store, &tenant.id, headers, input).await? {
        super::idempotency::Begun::Replay(response) => return Ok(response),
        super::idempotency::Begun::Fresh(idempotency) => idempotency,
    };
    let request = prepare.await?;
    match ops::book(&app.store, audit, tenant, request, idempotency.as_ref()).await {
        Ok(appointment) => Ok((StatusCode::CREATED, Json(appointment)).into_response()),
        Err(ops::ClaimError::Replayed) => {
            super::idempotency::replay_committed(&app.store, &tenant.id, idempotency.as_ref()).await
        }
        Err(err) => Err(AppError::from(err).into()),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// A date (that day's start, UTC) or an RFC 3339 time.
    #[param(value_type = String)]
    pub from: TimeArg,
    /// A date (the end of that day, UTC) or an RFC 3339 time; at most 93 days after `from`.
    #[param(value_type = String)]
    pub to: TimeArg,
    pub practitioner_id: Option<PractitionerId>,
    pub location_id: Option<LocationId>,
    pub status: Option<AppointmentStatus>,
}

#[utoipa::path(get, path = "/v1/appointments", operation_id = "list_appointments", tag = "appointments", security(("staff_jwt" = [])), params(ListQuery),
    responses((status = 200, body = Vec<Appointment>), (status = 422, body = ErrorEnvelope)))]
pub async fn list(
    State(app): State<Arc<App>>,
    actor: Actor,
    QueryArgs(query): QueryArgs<ListQuery>,
) -> ApiResult<Json<Vec<Appointment>>> {
    actor.require(Permission::BookingRead)?;
    let tenant = tenants::tenant(&app.store, &actor.tenant_id).await?;
    let (from, to) = (query.from.start(tenant.timezone), query.to.end(tenant.timezone));
    let filter =
        ListFilter { practitioner_id: query.practitioner_id, location_id: query.location_id, status: query.status };
    let appointments = ops::list(&app.store, &tenant.id, &actor.reach(), from, to, &filter).await?;
    let shown: Vec<Appointment> = appointments.into_iter().map(|a| for_role(&actor, a)).collect();
    let screened: Vec<&AppointmentId> = shown.iter().filter(|a| a.screening.is_some()).map(|a| &a.id).collect();
    if !screened.is_empty() {
        let details = serde_json::json!({ "appointment_ids": screened });
        let audit = actor.audit();
        mas_usecases::audit::record_read_detailed(&app.store, &audit, SCREENING_READ, "appointments", Some(details))
            .await?;
    }
    Ok(Json(shown))
}

/// The audit action of a read that showed screening outcomes (health data).
const SCREENING_READ: &str = "appointment.screening_read";

/// An appointment as `actor` may see it: the screening outcome is health data, shown only to
/// roles that read clinical records (not front desk, finance or support), and each read that
/// shows one is in the audit log (`appointment.screening_read`).
fn for_role(actor: &Actor, mut appointment: Appointment) -> Appointment {
    if !actor.member.input.role.allows(Permission::ClinicalRead) {
        appointment.screening = None;
    }
    appointment
}

#[utoipa::path(get, path = "/v1/appointments/{id}", operation_id = "get_appointment", tag = "appointments", security(("staff_jwt" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Appointment), (status = 404, body = ErrorEnvelope)))]
pub async fn get(State(app): State<Arc<App>>, actor: Actor, path: PathParams) -> ApiResult<Json<Appointment>> {
    actor.require(Permission::BookingRead)?;
    let id: AppointmentId = path.id("id", "appointment")?;
    let shown = for_role(&actor, ops::get_within(&app.store, &actor.tenant_id, &actor.reach(), &id).await?);
    if shown.screening.is_some() {
        mas_usecases::audit::record_read(&app.store, &actor.audit(), SCREENING_READ, id.as_str()).await?;
    }
    Ok(Json(shown))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeInput {
    pub action: AppointmentAction,
    /// For `reschedule`: the new start (RFC 3339).
    pub start: Option<DateTime<FixedOffset>>,
    /// For `reschedule`: another practitioner (default: the same one).
    pub practitioner_id: Option<PractitionerId>,
    /// Why (kept in the appointment's history).
    pub reason: Option<Text>,
    /// Apply only if the appointment is still at this version.
    pub version: Option<u64>,
}

#[utoipa::path(patch, path = "/v1/appointments/{id}", operation_id = "change_appointment", tag = "appointments", security(("staff_jwt" = [])), params(("id" = String, Path)),
    request_body = ChangeInput,
    responses((status = 200, body = Appointment), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn change(
    State(app): State<Arc<App>>,
    actor: Actor,
    path: PathParams,
    input: Result<JsonBody<ChangeInput>, ApiError>,
) -> ApiResult<Json<Appointment>> {
    actor.require(Permission::BookingWriteOwn)?;
    // The role first: a caller who may not do this learns nothing from the body's errors.
    let JsonBody(input) = input?;
    let id: AppointmentId = path.id("id", "appointment")?;
    let scope = Scope::of(&actor.member);
    if input.action != AppointmentAction::Reschedule && (input.start.is_some() || input.practitioner_id.is_some()) {
        return Err(AppError::invalid(
            "only_for_reschedule",
            "start",
            "`start` and `practitioner_id` go with `reschedule` only",
        )
        .into());
    }
    let tenant = tenants::tenant(&app.store, &actor.tenant_id).await?;
    let change = Change {
        action: input.action,
        start: input.start.map(|s| s.with_timezone(&Utc)),
        practitioner_id: input.practitioner_id,
        reason: input.reason.map(|r| r.to_string()),
        expected_version: input.version,
    };
    let changed =
        ops::change(mas_usecases::payments::Ports::of(&app), &actor.audit(), &tenant, &id, &scope, change).await?;
    Ok(Json(for_role(&actor, changed)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FeePreviewQuery {
    pub action: FeeAction,
}

#[utoipa::path(get, path = "/v1/appointments/{id}/fee-preview", operation_id = "preview_appointment_fee", tag = "appointments", security(("staff_jwt" = [])),
    params(("id" = String, Path), FeePreviewQuery),
    responses((status = 200, body = FeePreview), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn fee_preview(
    State(app): State<Arc<App>>,
    actor: Actor,
    path: PathParams,
    QueryArgs(query): QueryArgs<FeePreviewQuery>,
) -> ApiResult<Json<FeePreview>> {
    actor.require(Permission::BookingRead)?;
    let id: AppointmentId = path.id("id", "appointment")?;
    Ok(Json(ops::fee_preview(&app.store, &actor.tenant_id, &actor.reach(), &id, query.action).await?))
}
