//! The student's side, pure: the student session (a signed bearer for one email at one clinic,
//! like the client portal's, under its own signing purpose so neither is accepted for the
//! other), when a lesson is released (drip by date), and when an enrolment's coursework is done.

use std::collections::BTreeSet;

use base64::Engine;
use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::{CourseInput, CourseModule};
use crate::ids::TenantId;
use crate::links::LinkSigner;
use crate::values::{Email, Slug};

/// How long a student session lasts.
pub const SESSION_LIFETIME: Duration = Duration::hours(4);
const SESSION_PURPOSE: &str = "student-session";

/// Who a student session is for: an email at one clinic (a student is their enrolments).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StudentSession {
    pub tenant_id: TenantId,
    pub email: Email,
    pub expires_at: DateTime<Utc>,
}

impl StudentSession {
    pub fn new(tenant_id: TenantId, email: Email, now: DateTime<Utc>) -> StudentSession {
        StudentSession { tenant_id, email, expires_at: now + SESSION_LIFETIME }
    }

    /// The bearer the learning page sends: `{tenant}.{email, base64url}.{expiry}.{hmac}`.
    pub fn encode(&self, links: &LinkSigner) -> String {
        let email = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.email.as_str());
        let payload = format!("{}.{email}.{}", self.tenant_id, self.expires_at.timestamp());
        format!("{payload}.{}", links.sign(SESSION_PURPOSE, &payload))
    }

    /// The session a bearer carries, if we signed it and it has not expired.
    pub fn decode(links: &LinkSigner, raw: &str, now: DateTime<Utc>) -> Option<StudentSession> {
        let parts: Vec<&str> = raw.split('.').collect();
        let [tenant, email, expires, signature] = parts.as_slice() else { return None };
        if !links.verify(SESSION_PURPOSE, &format!("{tenant}.{email}.{expires}"), signature) {
            return None;
        }
        let expires_at = DateTime::from_timestamp(expires.parse().ok()?, 0)?;
        if expires_at <= now {
            return None;
        }
        let email = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(email).ok()?;
        Some(StudentSession {
            tenant_id: TenantId::parse(tenant).ok()?,
            email: Email::parse(std::str::from_utf8(&email).ok()?).ok()?,
            expires_at,
        })
    }
}

/// A lesson of a version: its module's and its own number, from 1.
pub type LessonRef = (u32, u32);

impl CourseModule {
    /// The day its lessons are released for a cohort starting on `starts_on` (`None`: from the
    /// start of the enrolment).
    pub fn released_on(&self, starts_on: NaiveDate) -> Option<NaiveDate> {
        self.release_after_days.map(|days| starts_on + Duration::days(i64::from(days)))
    }

    pub fn is_released(&self, starts_on: NaiveDate, today: NaiveDate) -> bool {
        self.released_on(starts_on).is_none_or(|day| today >= day)
    }
}

impl CourseInput {
    /// Every lesson of the course, in order.
    pub fn lesson_refs(&self) -> Vec<LessonRef> {
        self.modules
            .iter()
            .enumerate()
            .flat_map(|(m, module)| (0..module.lessons.len()).map(move |l| (m as u32 + 1, l as u32 + 1)))
            .collect()
    }

    pub fn has_lesson(&self, (module, lesson): LessonRef) -> bool {
        module >= 1
            && lesson >= 1
            && self.modules.get(module as usize - 1).is_some_and(|m| (lesson as usize) <= m.lessons.len())
    }
}

/// Whether an enrolment's coursework is done: every lesson of its version completed and every
/// quiz of it passed (what completion, with the practical sign-off, waits for).
pub fn coursework_done(content: &CourseInput, completed: &BTreeSet<LessonRef>, passed: &BTreeSet<Slug>) -> bool {
    content.lesson_refs().iter().all(|l| completed.contains(l))
        && content.quizzes.iter().all(|q| passed.contains(&q.id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::academy::quiz::Quiz;
    use crate::academy::{Lesson, LessonText};
    use crate::values::{MinorUnits, Name, Text};

    fn module(lessons: usize, release_after_days: Option<u32>) -> CourseModule {
        let lesson = Lesson {
            title: Name::parse("L").unwrap(),
            body: LessonText::parse("Text").unwrap(),
            video_key: None,
            resource_keys: vec![],
        };
        CourseModule { title: Name::parse("M").unwrap(), lessons: vec![lesson; lessons], release_after_days }
    }

    fn content(quizzes: Vec<Quiz>) -> CourseInput {
        CourseInput {
            title: Name::parse("Course").unwrap(),
            slug: Slug::parse("course").unwrap(),
            summary: Text::default(),
            cpd_hours: 1,
            price_minor: MinorUnits::new(0).unwrap(),
            modules: vec![module(2, None), module(1, Some(7))],
            prerequisites: vec![],
            quizzes,
        }
    }

    #[test]
    fn a_session_decodes_only_unedited_unexpired_and_never_as_a_client_portal_session() {
        let links = LinkSigner::new(b"secret");
        let now = Utc::now();
        let session = StudentSession::new(TenantId::parse("ten_a").unwrap(), Email::parse("ada@x.test").unwrap(), now);
        let bearer = session.encode(&links);
        let decoded = StudentSession::decode(&links, &bearer, now).unwrap();
        assert_eq!((decoded.tenant_id, decoded.email), (session.tenant_id.clone(), session.email.clone()));
        assert!(StudentSession::decode(&links, &bearer, now + SESSION_LIFETIME).is_none(), "expired");
        assert!(StudentSession::decode(&LinkSigner::new(b"other"), &bearer, now).is_none());
        let other_tenant = bearer.replacen("ten_a", "ten_b", 1);
        assert!(StudentSession::decode(&links, &other_tenant, now).is_none(), "another clinic");
        assert!(crate::portal::PortalSession::decode(&links, &bearer, now).is_none(), "not a portal session");
    }

    #[test]
    fn a_module_with_a_release_day_opens_that_many_days_after_the_cohort_starts() {
        let starts = NaiveDate::from_ymd_opt(2027, 1, 10).unwrap();
        let dripped = module(1, Some(7));
        assert!(!dripped.is_released(starts, starts + Duration::days(6)));
        assert!(dripped.is_released(starts, starts + Duration::days(7)));
        assert!(module(1, None).is_released(starts, starts - Duration::days(30)), "no date: open at once");
    }

    #[test]
    fn coursework_is_done_when_every_lesson_is_complete_and_every_quiz_passed() {
        let quiz: Quiz = serde_json::from_value(serde_json::json!({
            "id": "check", "title": "Check", "time_limit_minutes": 5, "max_attempts": 1, "pass_mark_percent": 50,
            "questions": [{"prompt": "2+2", "answer": {"kind": "numeric", "answer": 4.0, "tolerance": 0.0}}]
        }))
        .unwrap();
        let c = content(vec![quiz]);
        assert_eq!(c.lesson_refs(), vec![(1, 1), (1, 2), (2, 1)]);
        assert!(c.has_lesson((2, 1)) && !c.has_lesson((2, 2)) && !c.has_lesson((0, 1)) && !c.has_lesson((3, 1)));
        let all: BTreeSet<LessonRef> = c.lesson_refs().into_iter().collect();
        let passed: BTreeSet<Slug> = [Slug::parse("check").unwrap()].into();
        assert!(coursework_done(&c, &all, &passed));
        assert!(!coursework_done(&c, &all, &BTreeSet::new()), "a quiz not passed");
        let mut some = all.clone();
        some.remove(&(2, 1));
        assert!(!coursework_done(&c, &some, &passed), "a lesson not complete");
    }
}
