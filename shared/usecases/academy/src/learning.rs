//! The student's side: sign-in by emailed link (a one-time token stored only as its hash and
//! consumed with a conditional delete, like the client portal's), a student session for an
//! email at one clinic, the student's confirmed enrolments with their version's lessons and
//! their progress, and marking a lesson complete (once; only a released lesson of their own
//! version). When the last lesson is completed or the last quiz passed, `academy.coursework_done`
//! is announced, once per enrolment (a marker written on condition it is absent).
//!
//! The email itself is sent by the caller (this crate knows no mailer): [`request_link`] answers
//! the token to send, or nothing, and the caller answers the visitor the same either way.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use mas_domain::academy::quiz::QuizRecord;
use mas_domain::academy::student::{LessonRef, StudentSession, coursework_done};
use mas_domain::academy::{Cohort, CourseInput, Enrolment, EnrolmentStatus, MediaKey};
use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::{CohortId, CourseId, EnrolmentId, RequestId, TenantId};
use mas_domain::links::LinkSigner;
use mas_domain::portal as tokens;
use mas_domain::values::{Email, Name, Slug, Text};
use mas_ports::events::DomainEvent;
use mas_ports::{Condition, Query, SortKey, Write};
use mas_store::{AuditContext, Once, Plan, Store, from_item, keys, to_item};

use crate::cohorts::{self, Viewer};

/// Announced once per enrolment when every lesson of its version is complete and every quiz
/// passed (completion, with the practical sign-off, reacts to it).
pub const COURSEWORK_DONE: &str = "academy.coursework_done";

/// At most one emailed link per email per minute, however many ask at once.
const LINK_THROTTLE_SECONDS: i64 = 60;

/// The student's refusals, typed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LearningError {
    /// 401: the sign-in link is unknown, used or expired.
    #[error("this sign-in link is not valid any more; ask for a new one")]
    LinkNotValid,
    /// 401: no session, or one that expired.
    #[error("sign in again")]
    SignedOut,
    /// 409 `not_released`: the lesson opens on `on`.
    #[error("this lesson opens on {on}")]
    NotReleased { on: NaiveDate },
    #[error(transparent)]
    Store(#[from] AppError),
}

impl From<LearningError> for AppError {
    fn from(err: LearningError) -> Self {
        let message = err.to_string();
        match err {
            LearningError::LinkNotValid | LearningError::SignedOut => AppError::Unauthenticated(message),
            LearningError::NotReleased { on } => AppError::Rejected {
                kind: mas_domain::error::Rejection::Conflict,
                code: "not_released",
                message,
                details: json!({ "release_on": on }),
            },
            LearningError::Store(err) => err,
        }
    }
}

impl From<mas_ports::TableError> for LearningError {
    fn from(err: mas_ports::TableError) -> Self {
        LearningError::Store(err.into())
    }
}

/// The stored half of a sign-in link.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct LinkRecord {
    email: Email,
    expires_at: DateTime<Utc>,
    #[serde(default)]
    ttl: i64,
}

pub(crate) fn student_audit(tenant: &TenantId, enrolment: &EnrolmentId) -> AuditContext {
    AuditContext {
        tenant_id: tenant.clone(),
        actor: format!("student:{enrolment}"),
        role: None,
        request_id: RequestId::new(),
    }
}

/// The email's confirmed enrolments at the clinic, with their cohorts, soonest cohort first
/// (one read of each cohort's claim for the email: a clinic runs tens of cohorts, not thousands).
pub async fn enrolments_of(store: &Store, t: &TenantId, email: &Email) -> AppResult<Vec<(Cohort, Enrolment)>> {
    let mut out = Vec::new();
    for cohort in cohorts::list(store, t, &Viewer::Clinic).await? {
        let claim = store.table.get(&keys::cohort_student(t, &cohort.id, email)).await?;
        let Some(id) = claim.as_ref().and_then(|c| c.get("enrolment_id")).and_then(|v| v.as_str()) else { continue };
        let Ok(id) = EnrolmentId::parse(id) else { continue };
        let Some(enrolment) = store.get::<Enrolment>(&keys::enrolment(t, &cohort.id, &id)).await? else { continue };
        if enrolment.status == EnrolmentStatus::Confirmed && &enrolment.student.email == email {
            out.push((cohort, enrolment));
        }
    }
    Ok(out)
}

/// Asks for a sign-in link for `email`: `Some((token, expiry))` to email when the email holds a
/// confirmed enrolment at the clinic and no link went to it in the last minute; `None`
/// otherwise. The caller answers the visitor the same either way (no enrolment is revealed).
pub async fn request_link(store: &Store, t: &TenantId, email: &Email) -> AppResult<Option<(String, DateTime<Utc>)>> {
    let Some((_, first)) = enrolments_of(store, t, email).await?.into_iter().next() else {
        tracing::info!(tenant_id = %t, "a student link was asked for an email with no confirmed enrolment");
        return Ok(None);
    };
    let now = store.clock.now();
    let until = now.timestamp() + LINK_THROTTLE_SECONDS;
    let throttle = to_item(
        &keys::student_link_throttle(t, email),
        "student_throttle",
        &json!({ "until": until, "ttl": until + 86_400 }),
    )?;
    let write = Write::put_if(throttle, Condition::AbsentOrExpired { attr: "until".into(), before: now.timestamp() });
    match store.table.transact(vec![write]).await {
        Ok(()) => {}
        Err(mas_ports::TableError::ConditionFailed { .. }) => {
            tracing::info!(tenant_id = %t, "a student link was asked again within a minute; not sent");
            return Ok(None);
        }
        Err(other) => return Err(other.into()),
    }
    let token = tokens::new_link_token();
    let expires_at = now + tokens::LINK_LIFETIME;
    let record = LinkRecord { email: email.clone(), expires_at, ttl: expires_at.timestamp() + 86_400 };
    let mut plan = Plan::new();
    plan.push(
        Write::put_new(to_item(&keys::student_token(t, &tokens::token_hash(&token)), "student_link", &record)?),
        AppError::Internal("a student token collided".into()),
    );
    plan.commit(store, &student_audit(t, &first.id), "student.link_issued", first.id.as_str()).await?;
    Ok(Some((token, expires_at)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StudentSessionIssued {
    /// The bearer for `/v1/learn/…`.
    pub session: String,
    pub expires_at: DateTime<Utc>,
}

/// Exchanges a sign-in link's token for a student session, once: consuming it is a delete on
/// condition that it is still there, so of two uses one wins.
pub async fn open_session(
    store: &Store,
    links: &LinkSigner,
    t: &TenantId,
    token: &str,
) -> Result<StudentSessionIssued, LearningError> {
    if !tokens::plausible_token(token) {
        return Err(LearningError::LinkNotValid);
    }
    let key = keys::student_token(t, &tokens::token_hash(token));
    let Some(record) = store.get::<LinkRecord>(&key).await? else { return Err(LearningError::LinkNotValid) };
    let now = store.clock.now();
    if record.expires_at <= now {
        return Err(LearningError::LinkNotValid);
    }
    let Some((_, first)) = enrolments_of(store, t, &record.email).await?.into_iter().next() else {
        return Err(LearningError::LinkNotValid);
    };
    let mut plan: Plan<LearningError> = Plan::typed();
    plan.push(Write::delete_if(key, Condition::Exists), LearningError::LinkNotValid);
    plan.commit_as(store, &student_audit(t, &first.id), "student.signed_in", first.id.as_str()).await?;
    let session = StudentSession::new(t.clone(), record.email, now);
    Ok(StudentSessionIssued { session: session.encode(links), expires_at: session.expires_at })
}

/// The session a bearer carries, or 401.
pub fn session(store: &Store, links: &LinkSigner, bearer: Option<&str>) -> Result<StudentSession, LearningError> {
    let bearer = bearer.ok_or(LearningError::SignedOut)?;
    StudentSession::decode(links, bearer, store.clock.now()).ok_or(LearningError::SignedOut)
}

/// The student's own confirmed enrolment on a cohort, with the cohort and the content of its
/// version; anyone else's (or a cohort the student is not on) is not found.
pub(crate) async fn own(
    store: &Store,
    s: &StudentSession,
    cohort: &CohortId,
) -> AppResult<(Cohort, Enrolment, CourseInput)> {
    let t = &s.tenant_id;
    let not_found = || AppError::NotFound { what: "enrolment" };
    let cohort = match cohorts::get(store, t, cohort).await {
        Err(AppError::NotFound { .. }) => return Err(not_found()),
        other => other?,
    };
    let claim = store.table.get(&keys::cohort_student(t, &cohort.id, &s.email)).await?;
    let id = claim
        .as_ref()
        .and_then(|c| c.get("enrolment_id"))
        .and_then(|v| v.as_str())
        .and_then(|id| EnrolmentId::parse(id).ok())
        .ok_or_else(not_found)?;
    let enrolment: Enrolment = store.get(&keys::enrolment(t, &cohort.id, &id)).await?.ok_or_else(not_found)?;
    if enrolment.status != EnrolmentStatus::Confirmed || enrolment.student.email != s.email {
        return Err(not_found());
    }
    let version = crate::courses::version(store, t, &enrolment.course_id, enrolment.course_version)
        .await?
        .ok_or(AppError::Internal("an enrolment's course version is missing".into()))?;
    Ok((cohort, enrolment, version.content))
}

/// What the student has done on one enrolment.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    pub lessons: BTreeSet<LessonRef>,
    pub quizzes: Vec<(Slug, QuizRecord)>,
    pub done: bool,
}

impl Progress {
    pub fn passed(&self) -> BTreeSet<Slug> {
        self.quizzes.iter().filter(|(_, r)| r.passed).map(|(id, _)| id.clone()).collect()
    }
}

#[derive(Debug, Clone, Deserialize)]
struct LessonItem {
    module: u32,
    lesson: u32,
}

/// A quiz record as stored: which quiz, and the standing.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct QuizRecordItem {
    pub quiz_id: Slug,
    #[serde(flatten)]
    pub record: QuizRecord,
}

/// Reads one enrolment's progress (three sort-key prefixes of its cohort's partition).
pub async fn progress(store: &Store, t: &TenantId, cohort: &CohortId, enrolment: &EnrolmentId) -> AppResult<Progress> {
    let pk = keys::cohort_pk(t, cohort);
    let lessons: Vec<LessonItem> = store
        .table
        .query_all(
            &Query::partition(pk.clone()).sk(SortKey::BeginsWith(format!("{}{enrolment}#", keys::LESSON_DONE_PREFIX))),
        )
        .await?
        .into_iter()
        .map(from_item)
        .collect::<AppResult<_>>()?;
    let quizzes: Vec<QuizRecordItem> = store
        .table
        .query_all(&Query::partition(pk).sk(SortKey::BeginsWith(format!("{}{enrolment}#", keys::QUIZ_RECORD_PREFIX))))
        .await?
        .into_iter()
        .map(from_item)
        .collect::<AppResult<_>>()?;
    let done = store.table.get(&keys::coursework_done(t, cohort, enrolment)).await?.is_some();
    Ok(Progress {
        lessons: lessons.into_iter().map(|l| (l.module, l.lesson)).collect(),
        quizzes: quizzes.into_iter().map(|q| (q.quiz_id, q.record)).collect(),
        done,
    })
}

/// Whether an enrolment's coursework is done: every lesson of its version complete and every
/// quiz passed. For completion (the certificates), which adds the practical sign-off.
pub async fn is_coursework_done(
    store: &Store,
    t: &TenantId,
    cohort: &CohortId,
    enrolment: &EnrolmentId,
) -> AppResult<bool> {
    let e: Enrolment = crate::enrolments::get(store, t, cohort, enrolment).await?;
    let version = crate::courses::version(store, t, &e.course_id, e.course_version)
        .await?
        .ok_or(AppError::Internal("an enrolment's course version is missing".into()))?;
    let p = progress(store, t, cohort, enrolment).await?;
    Ok(coursework_done(&version.content, &p.lessons, &p.passed()))
}

/// Announces `academy.coursework_done` if the coursework is done and it was not announced
/// before: the marker is written on condition it is absent, in the same transaction as the
/// event's outbox entry, so two last steps at once announce it once.
pub(crate) async fn announce_if_done(
    store: &Store,
    audit: &AuditContext,
    e: &Enrolment,
    content: &CourseInput,
) -> AppResult<bool> {
    let t = &audit.tenant_id;
    let p = progress(store, t, &e.cohort_id, &e.id).await?;
    if p.done || !coursework_done(content, &p.lessons, &p.passed()) {
        return Ok(false);
    }
    let now = store.clock.now();
    let mut plan = Plan::<Once>::typed();
    plan.push(
        Write::put_new(to_item(
            &keys::coursework_done(t, &e.cohort_id, &e.id),
            "coursework_done",
            &json!({"enrolment_id": e.id, "at": now}),
        )?),
        Once::AlreadyDone(AppError::conflict("coursework_done", "announced already")),
    );
    let payload = json!({"enrolment_id": e.id, "cohort_id": e.cohort_id, "course_id": e.course_id,
        "course_version": e.course_version, "email": e.student.email});
    plan.announce(DomainEvent::new(t, COURSEWORK_DONE, e.id.as_str(), now, payload))?;
    match plan.commit_as(store, audit, "enrolment.coursework_done", e.id.as_str()).await {
        Ok(()) => Ok(true),
        Err(Once::AlreadyDone(_)) => Ok(false),
        Err(Once::Failed(err)) => Err(err),
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MyLesson {
    /// From 1 within its module.
    pub number: u32,
    pub title: Name,
    /// The lesson's text as HTML (escaped, then the course's small markup); absent until released.
    pub body_html: Option<String>,
    pub video_key: Option<MediaKey>,
    pub resource_keys: Vec<MediaKey>,
    pub completed: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MyModule {
    /// From 1.
    pub number: u32,
    pub title: Name,
    /// The day its lessons open (absent: open from the start).
    pub release_on: Option<NaiveDate>,
    pub released: bool,
    pub lessons: Vec<MyLesson>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MyQuiz {
    pub id: Slug,
    pub title: Name,
    /// Questions each attempt draws.
    pub questions: u32,
    pub time_limit_minutes: u32,
    pub max_attempts: u32,
    pub pass_mark_percent: u32,
    pub attempts_used: u32,
    /// The attempt still open (submit it before starting another).
    pub open_attempt: Option<u32>,
    pub open_deadline: Option<DateTime<Utc>>,
    pub best_percent: Option<u32>,
    pub passed: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MyEnrolment {
    pub enrolment_id: EnrolmentId,
    pub cohort_id: CohortId,
    pub course_id: CourseId,
    /// The version the student enrolled on (the cohort's).
    pub course_version: u32,
    pub title: Name,
    pub summary: Text,
    pub cpd_hours: u32,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub modules: Vec<MyModule>,
    pub quizzes: Vec<MyQuiz>,
    pub lessons_completed: u32,
    pub lessons_total: u32,
    /// Every lesson complete and every quiz passed.
    pub coursework_done: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MyLearning {
    pub name: Name,
    /// Confirmed enrolments, soonest cohort first.
    pub enrolments: Vec<MyEnrolment>,
}

/// What a student's page shows of one enrolment.
fn view(cohort: &Cohort, e: &Enrolment, content: &CourseInput, p: &Progress, today: NaiveDate) -> MyEnrolment {
    let modules = content
        .modules
        .iter()
        .enumerate()
        .map(|(m, module)| {
            let number = m as u32 + 1;
            let released = module.is_released(cohort.starts_on, today);
            MyModule {
                number,
                title: module.title.clone(),
                release_on: module.released_on(cohort.starts_on),
                released,
                lessons: module
                    .lessons
                    .iter()
                    .enumerate()
                    .map(|(l, lesson)| MyLesson {
                        number: l as u32 + 1,
                        title: lesson.title.clone(),
                        body_html: released.then(|| lesson.body.to_html()),
                        video_key: lesson.video_key.clone().filter(|_| released),
                        resource_keys: if released { lesson.resource_keys.clone() } else { Vec::new() },
                        completed: p.lessons.contains(&(number, l as u32 + 1)),
                    })
                    .collect(),
            }
        })
        .collect();
    let quizzes = content
        .quizzes
        .iter()
        .map(|q| {
            let record = p.quizzes.iter().find(|(id, _)| id == &q.id).map(|(_, r)| r.clone()).unwrap_or_default();
            MyQuiz {
                id: q.id.clone(),
                title: q.title.clone(),
                questions: q.draw.unwrap_or(q.questions.len() as u32),
                time_limit_minutes: q.time_limit_minutes,
                max_attempts: q.max_attempts,
                pass_mark_percent: q.pass_mark_percent,
                attempts_used: record.attempts,
                open_attempt: record.open,
                open_deadline: record.open_deadline,
                best_percent: record.best_percent,
                passed: record.passed,
            }
        })
        .collect();
    let all = content.lesson_refs();
    MyEnrolment {
        enrolment_id: e.id.clone(),
        cohort_id: cohort.id.clone(),
        course_id: e.course_id.clone(),
        course_version: e.course_version,
        title: content.title.clone(),
        summary: content.summary.clone(),
        cpd_hours: content.cpd_hours,
        starts_on: cohort.starts_on,
        ends_on: cohort.ends_on,
        modules,
        quizzes,
        lessons_completed: all.iter().filter(|l| p.lessons.contains(l)).count() as u32,
        lessons_total: all.len() as u32,
        coursework_done: coursework_done(content, &p.lessons, &p.passed()),
    }
}

/// The signed-in student's confirmed enrolments at the clinic, each with its version's lessons
/// (released ones with their text), quizzes and the student's progress.
pub async fn my_learning(store: &Store, s: &StudentSession) -> AppResult<MyLearning> {
    let t = &s.tenant_id;
    let today = crate::today(store, t).await?;
    let mut enrolments = Vec::new();
    let mut name = None;
    for (cohort, e) in enrolments_of(store, t, &s.email).await? {
        let version = crate::courses::version(store, t, &e.course_id, e.course_version)
            .await?
            .ok_or(AppError::Internal("an enrolment's course version is missing".into()))?;
        let p = progress(store, t, &cohort.id, &e.id).await?;
        name.get_or_insert_with(|| e.student.name.clone());
        enrolments.push(view(&cohort, &e, &version.content, &p, today));
    }
    let Some(name) = name else { return Err(LearningError::SignedOut.into()) };
    Ok(MyLearning { name, enrolments })
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LessonCompleted {
    pub module: u32,
    pub lesson: u32,
    /// False when it was complete already (nothing changed).
    pub newly_completed: bool,
    pub lessons_completed: u32,
    pub lessons_total: u32,
    pub coursework_done: bool,
}

/// Marks one of the student's lessons complete: idempotent (a marker written once); only a
/// lesson of the enrolment's own version (404 otherwise), only once released (409).
pub async fn complete_lesson(
    store: &Store,
    s: &StudentSession,
    cohort: &CohortId,
    lesson: LessonRef,
) -> Result<LessonCompleted, LearningError> {
    let t = &s.tenant_id;
    let (cohort, e, content) = own(store, s, cohort).await?;
    if !content.has_lesson(lesson) {
        return Err(AppError::NotFound { what: "lesson" }.into());
    }
    let module = &content.modules[lesson.0 as usize - 1];
    let today = crate::today(store, t).await?;
    if let Some(on) = module.released_on(cohort.starts_on).filter(|_| !module.is_released(cohort.starts_on, today)) {
        return Err(LearningError::NotReleased { on });
    }
    let audit = student_audit(t, &e.id);
    let now = store.clock.now();
    let mut plan = Plan::<Once>::typed();
    plan.push(
        Write::put_new(to_item(
            &keys::lesson_done(t, &cohort.id, &e.id, lesson),
            "lesson_done",
            &json!({"enrolment_id": e.id, "module": lesson.0, "lesson": lesson.1, "at": now}),
        )?),
        Once::AlreadyDone(AppError::conflict("lesson_completed", "complete already")),
    );
    let newly_completed = match plan.commit_as(store, &audit, "lesson.completed", e.id.as_str()).await {
        Ok(()) => true,
        Err(Once::AlreadyDone(_)) => false,
        Err(Once::Failed(err)) => return Err(err.into()),
    };
    announce_if_done(store, &audit, &e, &content).await?;
    let p = progress(store, t, &cohort.id, &e.id).await?;
    let all = content.lesson_refs();
    Ok(LessonCompleted {
        module: lesson.0,
        lesson: lesson.1,
        newly_completed,
        lessons_completed: all.iter().filter(|l| p.lessons.contains(l)).count() as u32,
        lessons_total: all.len() as u32,
        coursework_done: coursework_done(&content, &p.lessons, &p.passed()),
    })
}
