//! A cohort's gradebook for its educator and the clinic: each student (confirmed enrolments)
//! against each quiz of the cohort's version (best score, attempts, passed) and the lessons
//! completed. One query of the cohort's partition reads it all.

use serde::Serialize;
use utoipa::ToSchema;

use mas_domain::academy::student::coursework_done;
use mas_domain::academy::{Enrolment, EnrolmentStatus};
use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::{CohortId, EnrolmentId, TenantId};
use mas_domain::values::{Email, Name, Slug};
use mas_ports::Query;
use mas_store::{Store, from_item, keys};

use crate::cohorts::{self, Viewer};
use crate::learning::{Progress, QuizRecordItem};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GradebookQuiz {
    pub id: Slug,
    pub title: Name,
    pub pass_mark_percent: u32,
    pub max_attempts: u32,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuizStanding {
    pub quiz_id: Slug,
    pub attempts: u32,
    pub best_percent: Option<u32>,
    pub passed: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GradebookRow {
    pub enrolment_id: EnrolmentId,
    pub name: Name,
    pub email: Email,
    pub lessons_completed: u32,
    /// One per quiz, in the quizzes' order.
    pub quizzes: Vec<QuizStanding>,
    pub coursework_done: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Gradebook {
    pub cohort_id: CohortId,
    pub course_version: u32,
    pub lessons_total: u32,
    pub quizzes: Vec<GradebookQuiz>,
    /// Confirmed enrolments, by name.
    pub students: Vec<GradebookRow>,
}

/// The gradebook of a cohort this viewer may see (an educator: only their own; 404 otherwise).
pub async fn gradebook(store: &Store, t: &TenantId, viewer: &Viewer, cohort: &CohortId) -> AppResult<Gradebook> {
    let cohort = cohorts::get_for(store, t, viewer, cohort).await?;
    let version = crate::courses::version(store, t, &cohort.course_id, cohort.course_version)
        .await?
        .ok_or(AppError::Internal("a cohort's course version is missing".into()))?;
    let content = version.content;
    let items = store.table.query_all(&Query::partition(keys::cohort_pk(t, &cohort.id))).await?;
    let mut enrolments: Vec<Enrolment> = Vec::new();
    let mut lessons: Vec<(String, (u32, u32))> = Vec::new();
    let mut records: Vec<(String, QuizRecordItem)> = Vec::new();
    for item in items {
        let sk = item.get(mas_ports::table::SK).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
        if sk.starts_with(keys::ENROLMENT_PREFIX) {
            enrolments.push(from_item(item)?);
        } else if let Some(rest) = sk.strip_prefix(keys::LESSON_DONE_PREFIX) {
            let owner = rest.split('#').next().unwrap_or_default().to_owned();
            let done: serde_json::Value = from_item(item)?;
            let (Some(m), Some(l)) = (done["module"].as_u64(), done["lesson"].as_u64()) else { continue };
            lessons.push((owner, (m as u32, l as u32)));
        } else if let Some(rest) = sk.strip_prefix(keys::QUIZ_RECORD_PREFIX) {
            let owner = rest.split('#').next().unwrap_or_default().to_owned();
            records.push((owner, from_item(item)?));
        }
    }
    enrolments.retain(|e| e.status == EnrolmentStatus::Confirmed);
    enrolments.sort_by(|a, b| (a.student.name.as_str(), &a.id).cmp(&(b.student.name.as_str(), &b.id)));
    let all = content.lesson_refs();
    let students = enrolments
        .into_iter()
        .map(|e| {
            let mine = e.id.as_str();
            let progress = Progress {
                lessons: lessons.iter().filter(|(o, _)| o == mine).map(|(_, l)| *l).collect(),
                quizzes: records
                    .iter()
                    .filter(|(o, _)| o == mine)
                    .map(|(_, r)| (r.quiz_id.clone(), r.record.clone()))
                    .collect(),
                done: false,
            };
            let quizzes = content
                .quizzes
                .iter()
                .map(|q| {
                    let r =
                        progress.quizzes.iter().find(|(id, _)| id == &q.id).map(|(_, r)| r.clone()).unwrap_or_default();
                    QuizStanding {
                        quiz_id: q.id.clone(),
                        attempts: r.attempts,
                        best_percent: r.best_percent,
                        passed: r.passed,
                    }
                })
                .collect();
            GradebookRow {
                lessons_completed: all.iter().filter(|l| progress.lessons.contains(l)).count() as u32,
                coursework_done: coursework_done(&content, &progress.lessons, &progress.passed()),
                quizzes,
                enrolment_id: e.id,
                name: e.student.name,
                email: e.student.email,
            }
        })
        .collect();
    Ok(Gradebook {
        cohort_id: cohort.id,
        course_version: cohort.course_version,
        lessons_total: all.len() as u32,
        quizzes: content
            .quizzes
            .iter()
            .map(|q| GradebookQuiz {
                id: q.id.clone(),
                title: q.title.clone(),
                pass_mark_percent: q.pass_mark_percent,
                max_attempts: q.max_attempts,
            })
            .collect(),
        students,
    })
}
