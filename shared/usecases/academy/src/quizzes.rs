//! Quiz attempts, stored and raced. Starting writes the student's quiz record on condition that
//! it is the one read (absent, or its `version`) together with the new attempt (put new): of
//! concurrent starts one commits per record version, the others read again and meet the rules
//! again (one open attempt at a time; the attempt limit), so the limit holds whatever runs at
//! once. Submitting writes the attempt on condition that it is still `open` with the record on
//! condition of its version, in one transaction: a second submit changes nothing (409
//! `already_submitted`), a late one is refused (409 `time_up`). The questions a student is sent
//! never carry their answers.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use mas_domain::academy::quiz::{
    Answer, AttemptRefusal, AttemptStatus, Grade, QuestionView, Quiz, QuizAttempt, QuizRecord, new_seed,
};
use mas_domain::academy::student::StudentSession;
use mas_domain::academy::{CourseInput, Enrolment};
use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::CohortId;
use mas_domain::values::Slug;
use mas_ports::{Condition, Write};
use mas_store::{Plan, Store, keys, retry, to_item};

use crate::learning::{QuizRecordItem, announce_if_done, own, student_audit};

/// How often a start or submit reads again after another changed the record at the same moment.
const ATTEMPTS: usize = 16;

/// An attempt as the student sees it: the drawn questions without their answers, and once
/// submitted, the grade (which questions were right, never what was right).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttemptView {
    pub quiz_id: Slug,
    pub number: u32,
    pub questions: Vec<QuestionView>,
    pub started_at: DateTime<Utc>,
    pub deadline: DateTime<Utc>,
    pub status: AttemptStatus,
    pub submitted_at: Option<DateTime<Utc>>,
    pub grade: Option<Grade>,
}

impl AttemptView {
    fn of(quiz: &Quiz, a: &QuizAttempt) -> AttemptView {
        AttemptView {
            quiz_id: a.quiz_id.clone(),
            number: a.number,
            questions: a.questions.iter().map(|n| quiz.questions[*n as usize].view(*n)).collect(),
            started_at: a.started_at,
            deadline: a.deadline,
            status: a.status,
            submitted_at: a.submitted_at,
            grade: a.grade.clone(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Submission {
    /// An answer per question answered (a question left out earns nothing).
    pub answers: Vec<Answer>,
}

#[derive(Debug, Clone, thiserror::Error)]
enum QuizError {
    #[error("changed at the same moment")]
    Stale,
    #[error(transparent)]
    Refused(#[from] AttemptRefusal),
    #[error(transparent)]
    Store(#[from] AppError),
}

impl From<mas_ports::TableError> for QuizError {
    fn from(err: mas_ports::TableError) -> Self {
        QuizError::Store(err.into())
    }
}

impl From<QuizError> for AppError {
    fn from(err: QuizError) -> Self {
        match err {
            QuizError::Stale => AppError::contention("the quiz changed at the same moment; try again"),
            QuizError::Refused(refusal) => refusal.into(),
            QuizError::Store(err) => err,
        }
    }
}

impl mas_store::retry::Contended for QuizError {
    fn is_contention(&self) -> bool {
        match self {
            QuizError::Stale => true,
            QuizError::Store(err) => err.is_contention(),
            QuizError::Refused(_) => false,
        }
    }
}

fn quiz_of<'a>(content: &'a CourseInput, id: &Slug) -> AppResult<&'a Quiz> {
    content.quizzes.iter().find(|q| &q.id == id).ok_or(AppError::NotFound { what: "quiz" })
}

fn record_write(s: &StudentSession, e: &Enrolment, quiz: &Slug, next: &QuizRecord, before: u64) -> AppResult<Write> {
    let item = QuizRecordItem { quiz_id: quiz.clone(), record: next.clone() };
    let key = keys::quiz_record(&s.tenant_id, &e.cohort_id, &e.id, quiz);
    let condition = if before == 0 { Condition::NotExists } else { Condition::equals("version", before) };
    Ok(Write::put_if(to_item(&key, "quiz_record", &item)?, condition))
}

/// Starts the student's next attempt at a quiz of their version: its questions drawn by a fresh
/// seed (stored) and sent without answers.
pub async fn start(store: &Store, s: &StudentSession, cohort: &CohortId, quiz_id: &Slug) -> AppResult<AttemptView> {
    let (_, e, content) = own(store, s, cohort).await?;
    let quiz = quiz_of(&content, quiz_id)?;
    let audit = student_audit(&s.tenant_id, &e.id);
    let started = retry::on_contention(ATTEMPTS, || async {
        let key = keys::quiz_record(&s.tenant_id, &e.cohort_id, &e.id, quiz_id);
        let mut standing = store.get::<QuizRecordItem>(&key).await?.map(|i| i.record).unwrap_or_default();
        let before = standing.version;
        let attempt = standing.start(quiz, new_seed(), store.clock.now())?;
        let mut plan: Plan<QuizError> = Plan::typed();
        plan.push(record_write(s, &e, quiz_id, &standing, before)?, QuizError::Stale);
        plan.push(
            Write::put_new(to_item(
                &keys::quiz_attempt(&s.tenant_id, &e.cohort_id, &e.id, quiz_id, attempt.number),
                "quiz_attempt",
                &attempt,
            )?),
            QuizError::Stale,
        );
        plan.commit_as(store, &audit, "quiz.attempt_started", e.id.as_str()).await?;
        Ok::<_, QuizError>(attempt)
    })
    .await?;
    Ok(AttemptView::of(quiz, &started))
}

async fn attempt_of(
    store: &Store,
    s: &StudentSession,
    e: &Enrolment,
    quiz: &Slug,
    number: u32,
) -> AppResult<QuizAttempt> {
    store
        .get(&keys::quiz_attempt(&s.tenant_id, &e.cohort_id, &e.id, quiz, number))
        .await?
        .ok_or(AppError::NotFound { what: "attempt" })
}

/// One of the student's attempts (to resume an open one, or read a result).
pub async fn get(
    store: &Store,
    s: &StudentSession,
    cohort: &CohortId,
    quiz_id: &Slug,
    number: u32,
) -> AppResult<AttemptView> {
    let (_, e, content) = own(store, s, cohort).await?;
    let quiz = quiz_of(&content, quiz_id)?;
    Ok(AttemptView::of(quiz, &attempt_of(store, s, &e, quiz_id, number).await?))
}

/// Submits an attempt: graded here, once, in time. The best result decides `passed`; passing
/// the last quiz may complete the coursework (announced once).
pub async fn submit(
    store: &Store,
    s: &StudentSession,
    cohort: &CohortId,
    quiz_id: &Slug,
    number: u32,
    submission: Submission,
) -> AppResult<AttemptView> {
    let (_, e, content) = own(store, s, cohort).await?;
    let quiz = quiz_of(&content, quiz_id)?;
    let audit = student_audit(&s.tenant_id, &e.id);
    let submitted = retry::on_contention(ATTEMPTS, || async {
        let mut attempt = attempt_of(store, s, &e, quiz_id, number).await?;
        attempt.submit(quiz, submission.answers.clone(), store.clock.now())?;
        let grade = attempt.grade.clone().ok_or(AppError::Internal("a submitted attempt has no grade".into()))?;
        let key = keys::quiz_record(&s.tenant_id, &e.cohort_id, &e.id, quiz_id);
        let mut standing = store.get::<QuizRecordItem>(&key).await?.map(|i| i.record).unwrap_or_default();
        let before = standing.version;
        standing.record(number, &grade);
        let mut plan: Plan<QuizError> = Plan::typed();
        plan.push(
            Write::put_if(
                to_item(
                    &keys::quiz_attempt(&s.tenant_id, &e.cohort_id, &e.id, quiz_id, number),
                    "quiz_attempt",
                    &attempt,
                )?,
                Condition::equals("status", "open"),
            ),
            QuizError::Refused(AttemptRefusal::Submitted),
        );
        plan.push(record_write(s, &e, quiz_id, &standing, before)?, QuizError::Stale);
        plan.commit_as(store, &audit, "quiz.attempt_submitted", e.id.as_str()).await?;
        Ok::<_, QuizError>(attempt)
    })
    .await?;
    if submitted.grade.as_ref().is_some_and(|g| g.passed) {
        announce_if_done(store, &audit, &e, &content).await?;
    }
    Ok(AttemptView::of(quiz, &submitted))
}
