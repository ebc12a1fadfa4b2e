//! Enrolments: a seat claimed and a student's place taken in one transaction; online with a
//! price, a hosted payment page the webhook settles; free or at the desk, confirmed at once.
//!
//! **The last seat is sold once.** Seats are items `SEAT#0001…` of the cohort's partition. A
//! claim reads the holds, picks a free seat and writes it on condition that it is absent or its
//! hold expired (`Condition::AbsentOrExpired`), with a check that the cohort did not change
//! since it was read (its seat count), the student's claim (`STUDENT#{email}`, held the same
//! way: one place per email) and the enrolment (put new), in one transaction. Of two claims of
//! one seat, one commits; the other reads again and takes another seat, or is told the cohort is
//! full. An unpaid enrolment holds its seat until [`SEAT_HOLD_MINUTES`] after it started (its page
//! stops taking payment ten minutes before): then the seat is free for the next claim, with no
//! sweep. A confirmed one holds it for good.
//!
//! [`SEAT_HOLD_MINUTES`]: mas_domain::academy::SEAT_HOLD_MINUTES

use std::future::Future;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use mas_domain::academy::{
    Cohort, EnrolledVia, Enrolment, EnrolmentStatus, PAYMENT_PAGE_MINUTES, SeatHold, Student, free_seats, hold_until,
};
use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::{CohortId, CourseId, EnrolmentId, TenantId};
use mas_domain::payment::ChargeDestination;
use mas_domain::values::MinorUnits;
use mas_ports::events::DomainEvent;
use mas_ports::{Condition, PaymentLink, PaymentLinkRequest, PaymentLinkStatus, Payments, Query, SortKey, Write};
use mas_store::{AuditContext, Plan, Store, from_item, keys, retry, to_item};

use crate::cohorts::{self, SeatItem, Viewer};
use crate::{AcademyError, ENROLMENT_CONFIRMED};

/// How often a claim reads again after losing a seat to another at the same moment.
const CLAIM_ATTEMPTS: usize = 12;

/// What `STRIPE#CS#{cs}`/`ENROL` holds: whose enrolment a hosted page pays.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckoutRef {
    pub tenant_id: TenantId,
    pub cohort_id: CohortId,
    pub enrolment_id: EnrolmentId,
}

/// Where the hosted page sends the student after paying, and when they go back.
#[derive(Debug, Clone)]
pub struct ReturnUrls {
    pub success: String,
    pub cancel: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StudentClaim {
    enrolment_id: EnrolmentId,
    until: i64,
}

pub async fn get(store: &Store, t: &TenantId, cohort: &CohortId, id: &EnrolmentId) -> AppResult<Enrolment> {
    store.get(&keys::enrolment(t, cohort, id)).await?.ok_or(AppError::NotFound { what: "enrolment" })
}

/// A cohort's enrolments, oldest first (educators: only their own cohorts').
pub async fn roster(store: &Store, t: &TenantId, viewer: &Viewer, cohort: &CohortId) -> AppResult<Vec<Enrolment>> {
    cohorts::get_for(store, t, viewer, cohort).await?;
    let query = Query::partition(keys::cohort_pk(t, cohort)).sk(SortKey::BeginsWith(keys::ENROLMENT_PREFIX.into()));
    let mut enrolments: Vec<Enrolment> =
        store.table.query_all(&query).await?.into_iter().map(from_item).collect::<AppResult<_>>()?;
    enrolments.sort_by_key(|e| (e.created_at, e.id.clone()));
    Ok(enrolments)
}

/// The price of a cohort's place (its version's) and the cohort, for a caller that must know
/// where the money goes before the seat is claimed.
async fn cohort_and_price(
    store: &Store,
    t: &TenantId,
    course: Option<&CourseId>,
    cohort: &CohortId,
) -> AppResult<(Cohort, MinorUnits, mas_domain::values::Currency, String)> {
    let cohort = cohorts::get(store, t, cohort).await?;
    if course.is_some_and(|c| c != &cohort.course_id) {
        return Err(AppError::NotFound { what: "cohort" });
    }
    let version = crate::courses::version(store, t, &cohort.course_id, cohort.course_version)
        .await?
        .ok_or(AppError::Internal("a cohort's course version is missing".into()))?;
    Ok((cohort, version.content.price_minor, version.currency, version.content.title.as_str().to_owned()))
}

/// A seat among the free ones, spread by the enrolment's id so that racers aim at different seats.
fn pick(free: &[u32], id: &EnrolmentId, attempt: usize) -> Option<u32> {
    if free.is_empty() {
        return None;
    }
    let spread: usize = id.as_str().bytes().map(usize::from).sum::<usize>() + attempt;
    Some(free[spread % free.len().min(8)])
}

fn seat_write(t: &TenantId, cohort: &CohortId, hold: &SeatHold, condition: Condition) -> AppResult<Write> {
    let item = SeatItem { seat: hold.seat, enrolment_id: hold.enrolment_id.clone(), until: hold.until };
    Ok(Write::put_if(to_item(&keys::seat(t, cohort, hold.seat), "cohort_seat", &item)?, condition))
}

fn student_write(t: &TenantId, e: &Enrolment, condition: Condition) -> AppResult<Write> {
    let claim = StudentClaim { enrolment_id: e.id.clone(), until: e.hold().until };
    Ok(Write::put_if(
        to_item(&keys::cohort_student(t, &e.cohort_id, &e.student.email), "cohort_student", &claim)?,
        condition,
    ))
}

fn confirmed_event(t: &TenantId, e: &Enrolment, at: DateTime<Utc>) -> DomainEvent {
    let payload = json!({"enrolment_id": e.id, "cohort_id": e.cohort_id, "course_id": e.course_id,
        "course_version": e.course_version, "via": e.via});
    DomainEvent::new(t, ENROLMENT_CONFIRMED, e.id.as_str(), at, payload)
}

/// Claims a seat for `draft` (its seat is chosen here) and writes it, in one transaction.
async fn claim(store: &Store, audit: &AuditContext, draft: Enrolment) -> AppResult<Enrolment> {
    let t = &audit.tenant_id;
    let mut attempt = 0;
    let claimed = retry::on_contention(CLAIM_ATTEMPTS, || {
        attempt += 1;
        let mut enrolment = draft.clone();
        async move {
            let cohort = cohorts::get(store, t, &enrolment.cohort_id).await?;
            cohort.check_open(crate::today(store, t).await?)?;
            let now = store.clock.now();
            let holds = cohorts::holds(store, t, &cohort.id).await?;
            let free = free_seats(cohort.seats, &holds, now);
            enrolment.seat = pick(&free, &enrolment.id, attempt).ok_or(AcademyError::Full)?;
            let expired = Condition::AbsentOrExpired { attr: "until".into(), before: now.timestamp() };
            let mut plan: Plan<AcademyError> = Plan::typed();
            plan.push(
                Write::check(keys::cohort(t, &cohort.id), Condition::equals("version", cohort.version)),
                AcademyError::Stale,
            );
            plan.push(seat_write(t, &cohort.id, &enrolment.hold(), expired.clone())?, AcademyError::SeatTaken);
            plan.push(student_write(t, &enrolment, expired)?, AcademyError::AlreadyEnrolled);
            plan.push(
                Write::put_new(to_item(&keys::enrolment(t, &cohort.id, &enrolment.id), "enrolment", &enrolment)?),
                AppError::conflict("id_taken", "an id clash; try again"),
            );
            if enrolment.status == EnrolmentStatus::Confirmed {
                plan.announce(confirmed_event(t, &enrolment, now))?;
            }
            plan.commit_as(store, audit, "enrolment.created", enrolment.id.as_str()).await?;
            Ok::<_, AcademyError>(enrolment)
        }
    })
    .await;
    Ok(claimed?)
}

fn new_enrolment(
    cohort: &Cohort,
    student: Student,
    via: EnrolledVia,
    price: MinorUnits,
    currency: mas_domain::values::Currency,
    now: DateTime<Utc>,
) -> Enrolment {
    let pays_online = via == EnrolledVia::Online && price.get() > 0;
    Enrolment {
        id: EnrolmentId::new(),
        cohort_id: cohort.id.clone(),
        course_id: cohort.course_id.clone(),
        course_version: cohort.course_version,
        student,
        seat: 0,
        status: if pays_online { EnrolmentStatus::PendingPayment } else { EnrolmentStatus::Confirmed },
        via,
        price_minor: price.get(),
        currency,
        paid_minor: 0,
        hold_until: pays_online.then(|| hold_until(now)),
        checkout_session: None,
        pay_url: None,
        created_at: now,
        confirmed_at: (!pays_online).then_some(now),
        cancelled_at: None,
        completed_at: None,
        version: 1,
    }
}

/// Enrols a student at the desk: confirmed at once (the price is taken at the till).
pub async fn enrol_at_desk(
    store: &Store,
    audit: &AuditContext,
    cohort: &CohortId,
    student: Student,
) -> AppResult<Enrolment> {
    let (cohort, price, currency, _) = cohort_and_price(store, &audit.tenant_id, None, cohort).await?;
    let draft = new_enrolment(&cohort, student, EnrolledVia::Desk, price, currency, store.clock.now());
    claim(store, audit, draft).await
}

/// How a place with a price is paid: the gateway, where the clinic's money goes for an amount,
/// and where its hosted page sends the student back.
pub struct Checkout<'a, D> {
    pub payments: &'a dyn Payments,
    pub destination: D,
    pub urls: &'a ReturnUrls,
}

/// Enrols a student from the clinic's site. A free course is confirmed at once; otherwise the
/// seat is held and a hosted page asks for the full price (`pay_url`), which the webhook
/// settles. `destination` says where the clinic's money goes for an amount (the payments
/// capability's rule). Deposits and instalments are a later slice.
pub async fn enrol_online<D, Fut>(
    store: &Store,
    checkout: Checkout<'_, D>,
    audit: &AuditContext,
    course: &CourseId,
    cohort: &CohortId,
    student: Student,
) -> AppResult<Enrolment>
where
    D: FnOnce(MinorUnits) -> Fut,
    Fut: Future<Output = AppResult<Option<ChargeDestination>>>,
{
    let Checkout { payments, destination, urls } = checkout;
    let t = &audit.tenant_id;
    let (cohort, price, currency, title) = cohort_and_price(store, t, Some(course), cohort).await?;
    let destination = if price.get() > 0 { destination(price).await? } else { None };
    let now = store.clock.now();
    let draft = new_enrolment(&cohort, student, EnrolledVia::Online, price, currency.clone(), now);
    let mut enrolment = claim(store, audit, draft).await?;
    if enrolment.status == EnrolmentStatus::Confirmed {
        return Ok(enrolment);
    }
    let request = PaymentLinkRequest {
        amount: price,
        currency,
        description: format!("{title}: a place on the cohort starting {}", cohort.starts_on),
        metadata: [
            ("tenant_id".to_owned(), t.to_string()),
            ("kind".to_owned(), "course_enrolment".to_owned()),
            ("cohort_id".to_owned(), cohort.id.to_string()),
            ("enrolment_id".to_owned(), enrolment.id.to_string()),
        ]
        .into(),
        idempotency_key: format!("{}-page", enrolment.id),
        customer: None,
        success_url: urls.success.clone(),
        cancel_url: urls.cancel.clone(),
        expires_at: now + Duration::minutes(PAYMENT_PAGE_MINUTES),
        destination,
    };
    let page = match payments.create_payment_link(request).await {
        Ok(page) => page,
        Err(err) => {
            // No page, no payment: the seat goes back now rather than when its hold ends.
            if let Err(release) = cancel(store, audit, &Viewer::Clinic, &cohort.id, &enrolment.id).await {
                tracing::warn!(error = %release, enrolment_id = %enrolment.id, "the seat of a failed enrolment waits for its hold to end");
            }
            return Err(err.into());
        }
    };
    let before = enrolment.version;
    enrolment.checkout_session = Some(page.id.clone());
    enrolment.pay_url = page.url.clone();
    enrolment.version += 1;
    let reference =
        CheckoutRef { tenant_id: t.clone(), cohort_id: cohort.id.clone(), enrolment_id: enrolment.id.clone() };
    let mut plan = Plan::new();
    plan.push(
        Write::put_if(
            to_item(&keys::enrolment(t, &cohort.id, &enrolment.id), "enrolment", &enrolment)?,
            Condition::equals("version", before),
        ),
        AppError::contention("the enrolment changed while its page was made"),
    );
    plan.push(
        Write::put_new(to_item(&keys::stripe_enrolment(&page.id), "enrolment_checkout", &reference)?),
        AppError::conflict("id_taken", "this payment page is another enrolment's"),
    );
    plan.commit(store, audit, "enrolment.payment_page", enrolment.id.as_str()).await?;
    Ok(enrolment)
}

/// The enrolment a hosted page pays, if it is one.
pub async fn of_session(store: &Store, session: &str) -> AppResult<Option<CheckoutRef>> {
    store.get(&keys::stripe_enrolment(session)).await
}

/// What the webhook's news of an enrolment's page did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    Confirmed,
    /// Confirmed before (a replayed or concurrent event), or nothing to do yet.
    Unchanged,
    /// The page expired unpaid: the enrolment is cancelled and its seat given back.
    Cancelled,
    /// Paid after its seat went to someone else (a webhook more than ten minutes late): kept
    /// pending, in the audit log as `enrolment.paid_without_seat`, for staff to refund.
    SeatLost,
}

/// Settles an enrolment from its page as the gateway reports it now: paid confirms it (once),
/// expired cancels it. Called by the verified Stripe webhook.
pub async fn settle(
    store: &Store,
    audit: &AuditContext,
    reference: &CheckoutRef,
    page: &PaymentLink,
) -> AppResult<Settled> {
    let t = &reference.tenant_id;
    match (page.status, page.paid) {
        (PaymentLinkStatus::Complete, true) => {
            let outcome = retry::on_contention(CLAIM_ATTEMPTS, || confirm(store, audit, reference, page)).await;
            match outcome {
                Err(AcademyError::SeatTaken) => {
                    tracing::warn!(enrolment_id = %reference.enrolment_id, "an enrolment was paid after its seat went to another");
                    mas_store::Plan::new()
                        .commit(store, audit, "enrolment.paid_without_seat", reference.enrolment_id.as_str())
                        .await?;
                    Ok(Settled::SeatLost)
                }
                other => Ok(other?),
            }
        }
        (PaymentLinkStatus::Expired, _) => {
            let e = get(store, t, &reference.cohort_id, &reference.enrolment_id).await?;
            if e.status != EnrolmentStatus::PendingPayment {
                return Ok(Settled::Unchanged);
            }
            cancel(store, audit, &Viewer::Clinic, &reference.cohort_id, &reference.enrolment_id).await?;
            Ok(Settled::Cancelled)
        }
        _ => Ok(Settled::Unchanged),
    }
}

async fn confirm(
    store: &Store,
    audit: &AuditContext,
    reference: &CheckoutRef,
    page: &PaymentLink,
) -> Result<Settled, AcademyError> {
    let t = &reference.tenant_id;
    let mut e = get(store, t, &reference.cohort_id, &reference.enrolment_id).await?;
    if e.checkout_session.as_deref() != Some(page.id.as_str()) {
        return Err(AppError::Internal("a page settled an enrolment it does not pay".into()).into());
    }
    let before = e.version;
    let now = store.clock.now();
    // The page was made for the full price and cannot be paid in part.
    if !e.confirm_paid(e.price_minor, now)? {
        return Ok(Settled::Unchanged);
    }
    let ours = Condition::equals("enrolment_id", e.id.as_str());
    let mut plan: Plan<AcademyError> = Plan::typed();
    plan.push(
        Write::put_if(
            to_item(&keys::enrolment(t, &e.cohort_id, &e.id), "enrolment", &e)?,
            Condition::equals("version", before),
        ),
        AcademyError::Stale,
    );
    plan.push(seat_write(t, &e.cohort_id, &e.hold(), ours.clone())?, AcademyError::SeatTaken);
    plan.push(student_write(t, &e, ours)?, AcademyError::SeatTaken);
    plan.announce(confirmed_event(t, &e, now))?;
    plan.commit_as(store, audit, "enrolment.paid", e.id.as_str()).await?;
    Ok(Settled::Confirmed)
}

/// Cancels an enrolment (staff, or its page expired unpaid): its seat and the student's place
/// go back. A paid one's refund is staff's to make (open work: refunds by policy).
pub async fn cancel(
    store: &Store,
    audit: &AuditContext,
    viewer: &Viewer,
    cohort: &CohortId,
    id: &EnrolmentId,
) -> AppResult<Enrolment> {
    let t = &audit.tenant_id;
    cohorts::get_for(store, t, viewer, cohort).await?;
    let outcome = retry::on_contention(CLAIM_ATTEMPTS, || async {
        let mut e = get(store, t, cohort, id).await?;
        let before = e.version;
        e.cancel(store.clock.now())?;
        let mut plan: Plan<AcademyError> = Plan::typed();
        plan.push(
            Write::put_if(
                to_item(&keys::enrolment(t, cohort, id), "enrolment", &e)?,
                Condition::equals("version", before),
            ),
            AcademyError::Stale,
        );
        // Given back only while they are still this enrolment's (a lapsed hold may be another's now).
        let ours = Condition::equals("enrolment_id", id.as_str());
        let seat = keys::seat(t, cohort, e.seat);
        if store
            .table
            .get(&seat)
            .await?
            .is_some_and(|s| s.get("enrolment_id").and_then(|v| v.as_str()) == Some(id.as_str()))
        {
            plan.push(Write::delete_if(seat, ours.clone()), AcademyError::Stale);
        }
        let student = keys::cohort_student(t, cohort, &e.student.email);
        if store
            .table
            .get(&student)
            .await?
            .is_some_and(|s| s.get("enrolment_id").and_then(|v| v.as_str()) == Some(id.as_str()))
        {
            plan.push(Write::delete_if(student, ours), AcademyError::Stale);
        }
        plan.commit_as(store, audit, "enrolment.cancelled", id.as_str()).await?;
        Ok::<_, AcademyError>(e)
    })
    .await;
    Ok(outcome?)
}
