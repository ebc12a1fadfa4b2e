//! Reviews (`domain::review`): the request a completed visit makes (once per visit, when the
//! clinic sends them), the review the client submits from its link (once: a put only if absent,
//! so a link used twice or twice at once makes one review and changes nothing the second time),
//! and the clinic's moderation (publish, reject, a public reply), each a put conditional on the
//! version read. A change to what the site shows announces `site.changed`, so the site is
//! published again as after a catalog change.

use chrono::Duration;
use serde::Serialize;
use utoipa::ToSchema;

use mas_catalog::catalog::Catalog;
use mas_clients::clients;
use mas_domain::appointment::{Appointment, AppointmentStatus};
use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::{AppointmentId, ClientId, TenantId};
use mas_domain::reach::Reach;
use mas_domain::review::{
    self, Rating, Reply, Review, ReviewError, ReviewRequest, ReviewSettings, ReviewStatus, default_display_name,
};
use mas_ports::table::TTL;
use mas_ports::{Condition, Key, Query, SortKey, Write};
use mas_store::keys;
use mas_store::{AuditContext, Once, Plan, Store, from_item, to_item};

/// What the site publisher is told changed.
const SITE_REASON: &str = "reviews";

/// The refusals of reviews, typed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ReviewsError {
    /// 422 with the rule's own code and field.
    #[error("{0}")]
    Invalid(ReviewError),
    /// 409 `link_used`: this visit was reviewed already (the link works once).
    #[error("this link was used already: the visit has its review")]
    Used,
    /// 409 `review_changed`: moderated by someone else meanwhile.
    #[error("the review changed meanwhile; reload it")]
    Changed,
    #[error(transparent)]
    Store(#[from] AppError),
}

impl From<ReviewsError> for AppError {
    fn from(err: ReviewsError) -> Self {
        let message = err.to_string();
        match err {
            ReviewsError::Invalid(e) => AppError::invalid(e.code(), e.field(), message),
            ReviewsError::Used => AppError::conflict("link_used", message),
            ReviewsError::Changed => AppError::conflict("review_changed", message),
            ReviewsError::Store(err) => err,
        }
    }
}

impl From<mas_ports::TableError> for ReviewsError {
    fn from(err: mas_ports::TableError) -> Self {
        ReviewsError::Store(err.into())
    }
}

pub async fn settings(store: &Store, t: &TenantId) -> AppResult<ReviewSettings> {
    Ok(store.get(&keys::review_settings(t)).await?.unwrap_or_default())
}

pub async fn put_settings(store: &Store, audit: &AuditContext, settings: &ReviewSettings) -> AppResult<()> {
    let mut plan = Plan::new();
    plan.push(
        Write::put(to_item(&keys::review_settings(&audit.tenant_id), "review_settings", settings)?),
        AppError::Internal("an unconditional put failed".into()),
    );
    plan.commit(store, audit, "review.settings_changed", "review_settings").await
}

/// The review request of a completed visit (its lead's appointment), made once: `None` when
/// the clinic sends none, the visit is not completed, or this is not the visit's lead. A second
/// call (a redelivered event) returns the request the first made.
pub async fn request(
    store: &Store,
    audit: &AuditContext,
    appointment: &Appointment,
) -> AppResult<Option<ReviewRequest>> {
    let t = &audit.tenant_id;
    if appointment.status != AppointmentStatus::Completed || !appointment.is_visit_lead() {
        return Ok(None);
    }
    let key = keys::review_request(t, &appointment.id);
    if let Some(made) = store.get::<ReviewRequest>(&key).await? {
        return Ok(Some(made));
    }
    if !settings(store, t).await?.send_requests {
        return Ok(None);
    }
    let made = ReviewRequest::new(
        appointment.id.clone(),
        appointment.client_id.clone(),
        appointment.location_id.clone(),
        store.clock.now(),
    );
    let mut item = to_item(&key, "review_request", &made)?;
    item.insert(TTL.into(), (made.expires_at + Duration::days(30)).timestamp().into());
    let mut plan = Plan::<Once>::typed();
    plan.push(Write::put_new(item), Once::AlreadyDone(AppError::conflict("review_requested", "requested already")));
    match plan.commit_as(store, audit, "review.requested", appointment.id.as_str()).await {
        Ok(()) => Ok(Some(made)),
        // Another delivery of the event made it first: that one stands.
        Err(Once::AlreadyDone(_)) => store.get(&key).await,
        Err(Once::Failed(other)) => Err(other),
    }
}

/// What a client writes.
#[derive(Debug, Clone)]
pub struct Submission {
    pub rating: i64,
    pub text: String,
    /// Her first name and initial when absent.
    pub display_name: Option<String>,
}

/// A visit's review from its link (the caller checked the link's signature and expiry): created
/// only if the visit has none, else `Used` and nothing changes.
pub async fn submit(
    store: &Store,
    audit: &AuditContext,
    appointment_id: &AppointmentId,
    input: Submission,
) -> Result<Review, ReviewsError> {
    let t = &audit.tenant_id;
    let request: ReviewRequest =
        store.get(&keys::review_request(t, appointment_id)).await?.ok_or(AppError::NotFound { what: "review link" })?;
    let rating = Rating::parse(input.rating).map_err(ReviewsError::Invalid)?;
    let text = review::parse_text(&input.text).map_err(ReviewsError::Invalid)?;
    let client = clients::get(store, t, &request.client_id).await.map_err(AppError::from)?;
    let (first, last) = (client.data.first_name.as_str(), client.data.last_name.as_str());
    let display_name = match input.display_name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        Some(chosen) => review::parse_display_name(chosen, first, last).map_err(ReviewsError::Invalid)?,
        None => default_display_name(first, last),
    };
    // Cheap refusal of a second use before the catalog is read; the put below decides races.
    if store.get::<Review>(&keys::review(t, appointment_id)).await?.is_some() {
        return Err(ReviewsError::Used);
    }
    let appointment = crate::appointments::get(store, t, appointment_id).await?;
    let catalog = Catalog::load(store, t).await?;
    let service_ids: Vec<_> = match &appointment.visit {
        Some(visit) => visit.parts.iter().map(|p| p.service_id.clone()).collect(),
        None => vec![appointment.service_id.clone()],
    };
    let service_name = service_ids
        .iter()
        .filter_map(|id| catalog.services.iter().find(|s| &s.id == id))
        .map(|s| s.data.name.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let review = Review {
        id: appointment_id.clone(),
        client_id: request.client_id.clone(),
        location_id: request.location_id.clone(),
        service_name,
        rating,
        text,
        display_name,
        status: ReviewStatus::Pending,
        submitted_at: store.clock.now(),
        moderated_by: None,
        moderated_at: None,
        published_at: None,
        reply: None,
        version: 1,
    };
    let mut plan = Plan::<ReviewsError>::typed();
    plan.push(Write::put_new(to_item(&keys::review(t, appointment_id), "review", &review)?), ReviewsError::Used);
    plan.commit_as(store, audit, "review.submitted", appointment_id.as_str()).await?;
    Ok(review)
}

/// The reviews `client` wrote about `appointments` (hers: a review's id is its visit's lead),
/// read in one batch of keys rather than one read per visit.
pub async fn of_client(
    store: &Store,
    t: &TenantId,
    client: &ClientId,
    appointments: &[AppointmentId],
) -> AppResult<Vec<Review>> {
    let keys: Vec<_> = appointments.iter().map(|id| keys::review(t, id)).collect();
    let mut reviews: Vec<Review> =
        store.table.batch_get(&keys).await?.into_iter().map(from_item).collect::<AppResult<_>>()?;
    reviews.retain(|review| &review.client_id == client);
    reviews.sort_by(|a, b| (a.submitted_at, &a.id).cmp(&(b.submitted_at, &b.id)));
    Ok(reviews)
}

/// A client's erasure: her reviews go (their words and the name she chose are hers), with the
/// requests of the same visits (an unused link stops working); the site is published again
/// when one of them was on it. Idempotent: a repeat finds them gone.
pub async fn erase_client(
    store: &Store,
    audit: &AuditContext,
    client: &ClientId,
    appointments: &[AppointmentId],
) -> AppResult<usize> {
    let t = &audit.tenant_id;
    let reviews = of_client(store, t, client, appointments).await?;
    let mut plan = Plan::new();
    for review in &reviews {
        plan.push(
            Write::delete_if(keys::review(t, &review.id), Condition::equals("client_id", client.as_str())),
            AppError::contention("the review changed while the client was being erased; try again"),
        );
    }
    let request_keys: Vec<_> = appointments.iter().map(|id| keys::review_request(t, id)).collect();
    let requests: Vec<Key> = store.table.batch_get(&request_keys).await?.iter().filter_map(Key::of).collect();
    for key in &requests {
        plan.push(Write::delete(key.clone()), AppError::Internal("a delete has no condition".into()));
    }
    if reviews.is_empty() && requests.is_empty() {
        return Ok(0);
    }
    let now = store.clock.now();
    if reviews.iter().any(|r| r.status == ReviewStatus::Published) {
        plan.announce(mas_context::announcements::change_event(t, audit.request_id.as_str(), SITE_REASON, now))?;
    }
    plan.commit(store, audit, "review.erased", client.as_str()).await?;
    Ok(reviews.len())
}

/// Every review of the clinic (not the requests), newest first.
pub async fn all(store: &Store, t: &TenantId) -> AppResult<Vec<Review>> {
    let query = Query::partition(keys::reviews_pk(t)).sk(SortKey::BeginsWith(keys::REVIEW_PREFIX.into()));
    let mut reviews: Vec<Review> =
        store.table.query_all(&query).await?.into_iter().map(from_item).collect::<AppResult<_>>()?;
    reviews.sort_by(|a, b| (b.submitted_at, &b.id).cmp(&(a.submitted_at, &a.id)));
    Ok(reviews)
}

/// What a member sees: the reviews of her locations in `status`, newest first.
pub async fn list(store: &Store, t: &TenantId, reach: &Reach, status: ReviewStatus) -> AppResult<Vec<Review>> {
    let mut reviews = all(store, t).await?;
    reviews.retain(|r| r.status == status && reach.locations.admits(&r.location_id));
    Ok(reviews)
}

/// One review a member may see (another location's is not found).
pub async fn get(store: &Store, t: &TenantId, reach: &Reach, id: &AppointmentId) -> AppResult<Review> {
    let review: Review = store.get(&keys::review(t, id)).await?.ok_or(AppError::NotFound { what: "review" })?;
    reach.locations.find(&review.location_id, "review")?;
    Ok(review)
}

fn versioned(t: &TenantId, next: &Review, read: u64) -> AppResult<Write> {
    Ok(Write::put_if(to_item(&keys::review(t, &next.id), "review", next)?, Condition::equals("version", read)))
}

/// Publishes or rejects (takes down) a review; the site is published again when what it shows
/// changes. Moderating a review to the status it has changes nothing.
pub async fn moderate(
    store: &Store,
    audit: &AuditContext,
    review: &Review,
    status: ReviewStatus,
) -> Result<Review, ReviewsError> {
    if review.status == status {
        return Ok(review.clone());
    }
    let t = &audit.tenant_id;
    let now = store.clock.now();
    let next = review.moderated(status, &audit.actor, now);
    let mut plan = Plan::<ReviewsError>::typed();
    plan.push(versioned(t, &next, review.version)?, ReviewsError::Changed);
    if review.status == ReviewStatus::Published || status == ReviewStatus::Published {
        plan.announce(mas_context::announcements::change_event(t, audit.request_id.as_str(), SITE_REASON, now))?;
    }
    plan.commit_as(store, audit, &format!("review.{}", status.as_str()), review.id.as_str()).await?;
    Ok(next)
}

/// The clinic's public reply (replacing any earlier one); shown on the site with the review.
pub async fn reply(store: &Store, audit: &AuditContext, review: &Review, text: &str) -> Result<Review, ReviewsError> {
    let t = &audit.tenant_id;
    let text = review::parse_reply(text).map_err(ReviewsError::Invalid)?;
    let now = store.clock.now();
    let next = Review {
        reply: Some(Reply { text, by: audit.actor.clone(), at: now }),
        version: review.version + 1,
        ..review.clone()
    };
    let mut plan = Plan::<ReviewsError>::typed();
    plan.push(versioned(t, &next, review.version)?, ReviewsError::Changed);
    if review.status == ReviewStatus::Published {
        plan.announce(mas_context::announcements::change_event(t, audit.request_id.as_str(), SITE_REASON, now))?;
    }
    plan.commit_as(store, audit, "review.replied", review.id.as_str()).await?;
    Ok(next)
}

/// What the client is told after submitting (nothing of her record).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Submitted {
    pub rating: Rating,
    pub display_name: String,
    /// `pending`: the clinic reads it before it is shown.
    pub status: ReviewStatus,
}

impl From<&Review> for Submitted {
    fn from(r: &Review) -> Self {
        Submitted { rating: r.rating, display_name: r.display_name.clone(), status: r.status }
    }
}
