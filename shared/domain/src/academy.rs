//! The academy: a clinic's courses, their published versions, cohorts with seats, and students'
//! enrolments. Pure types and rules; the use cases (`mas-academy`) store and race them.
//!
//! - **A course** is a draft the clinic edits (modules → lessons in [`LessonText`], optional
//!   video and resource keys, prerequisites, CPD hours, price). **Publishing** freezes the draft
//!   as version `n` ([`CourseVersion`]): written once, never changed. A cohort runs one version,
//!   and its students keep it whatever the draft becomes.
//! - **A cohort** is a run of a version with dates, seats and an educator (a team member).
//! - **Seats** are numbered `1..=seats`; an enrolment holds one. A seat is claimed by a write on
//!   condition that nobody holds it or that its holder's hold has expired
//!   ([`SeatHold::until`]): the last seat is sold once, whatever runs at the same moment, and a
//!   payment page left unpaid gives its seat back on its own (no sweep needed).
//! - **An enrolment** is the student (name, email: a student is an enrolment, not a staff role),
//!   its seat and its status: `pending_payment` (holding its seat until the hosted page
//!   expires), `confirmed` (paid, or free, or enrolled at the desk) or `cancelled`.

pub mod quiz;
pub mod student;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{AppError, AppResult};
use crate::ids::{CohortId, CourseId, EnrolmentId, MemberId};
use crate::values::{Currency, Email, MinorUnits, Name, ParseError, Slug, Text};

/// How long an unpaid enrolment's hosted payment page takes payment: Stripe's shortest (30
/// minutes, counted when it receives the request) and a minute to spare.
pub const PAYMENT_PAGE_MINUTES: i64 = 31;
/// How long the seat of an unpaid enrolment is held: the page's life and a grace for the
/// webhook that reports a payment made in its last moment.
pub const SEAT_HOLD_MINUTES: i64 = PAYMENT_PAGE_MINUTES + 10;
/// The most seats a cohort has (each is one item: a claim is one conditional write).
pub const MAX_SEATS: u32 = 200;
pub const MAX_MODULES: usize = 40;
pub const MAX_LESSONS_PER_MODULE: usize = 60;
pub const MAX_CPD_HOURS: u32 = 1000;

fn invalid(code: &'static str, field: impl Into<String>, message: impl Into<String>) -> AppError {
    AppError::invalid(code, field, message)
}

// ---- Lesson text: sanitised by construction ------------------------------------------------

/// A lesson's rich text: up to 20,000 characters of a small markup, so no HTML from an author
/// ever reaches a page. Blank lines separate paragraphs; lines starting `- ` are list items;
/// `# ` starts a heading; `**bold**` and `*italic*` inside a line. [`LessonText::to_html`]
/// escapes everything first and then adds only these tags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "# Anatomy\n\nThe **glabella** lies between the brows.\n\n- procerus\n- corrugators")]
pub struct LessonText(String);

impl LessonText {
    pub const MAX_CHARS: usize = 20_000;

    pub fn parse(raw: &str) -> Result<LessonText, ParseError> {
        let text = raw.trim().replace("\r\n", "\n");
        if text.is_empty() || text.chars().count() > Self::MAX_CHARS {
            return Err(ParseError(format!("must be 1–{} characters", Self::MAX_CHARS)));
        }
        if text.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
            return Err(ParseError("must not contain control characters other than newlines and tabs".into()));
        }
        Ok(LessonText(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text as HTML: escaped, then paragraphs, headings, lists, bold and italic.
    pub fn to_html(&self) -> String {
        let mut out = String::new();
        for block in self.0.split("\n\n").map(str::trim).filter(|b| !b.is_empty()) {
            let lines: Vec<&str> = block.lines().map(str::trim).collect();
            if lines.iter().all(|l| l.starts_with("- ")) {
                out.push_str("<ul>");
                for line in lines {
                    out.push_str(&format!("<li>{}</li>", inline(&line[2..])));
                }
                out.push_str("</ul>");
            } else if let Some(heading) = block.strip_prefix("# ").filter(|_| lines.len() == 1) {
                out.push_str(&format!("<h3>{}</h3>", inline(heading)));
            } else {
                let body: Vec<String> = lines.iter().map(|l| inline(l)).collect();
                out.push_str(&format!("<p>{}</p>", body.join("<br>")));
            }
        }
        out
    }
}

/// One line escaped, then `**bold**` and `*italic*` (an unpaired marker stays as typed).
fn inline(line: &str) -> String {
    let escaped = crate::html::escape(line);
    let bold = pair(&escaped, "**", "strong");
    pair(&bold, "*", "em")
}

fn pair(text: &str, marker: &str, tag: &str) -> String {
    let parts: Vec<&str> = text.split(marker).collect();
    if parts.len() < 3 {
        return text.to_owned();
    }
    let mut out = String::new();
    let pairs = (parts.len() - 1) / 2;
    for (i, part) in parts.iter().enumerate() {
        out.push_str(part);
        if i + 1 < parts.len() {
            if i < pairs * 2 {
                let close = if i % 2 == 0 { "" } else { "/" };
                out.push_str(&format!("<{close}{tag}>"));
            } else {
                out.push_str(marker);
            }
        }
    }
    out
}

impl TryFrom<String> for LessonText {
    type Error = ParseError;
    fn try_from(raw: String) -> Result<Self, ParseError> {
        LessonText::parse(&raw)
    }
}

impl From<LessonText> for String {
    fn from(t: LessonText) -> String {
        t.0
    }
}

/// Where a lesson's video or a downloadable resource is kept in the clinic's media store
/// (`academy/…`): lowercase letters, digits, `-`, `_`, `.` and `/`, no `..`. Signed URLs are
/// made from it when a student opens the lesson (a later slice: the student portal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "academy/toxin-foundations/anatomy.mp4")]
pub struct MediaKey(String);

impl MediaKey {
    pub fn parse(raw: &str) -> Result<MediaKey, ParseError> {
        let ok = raw.starts_with("academy/")
            && raw.len() <= 200
            && !raw.contains("..")
            && !raw.ends_with('/')
            && raw.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_./".contains(c));
        if !ok {
            return Err(ParseError(
                "must be a key under `academy/` of lowercase letters, digits, `-`, `_`, `.` and `/`".into(),
            ));
        }
        Ok(MediaKey(raw.to_owned()))
    }
}

impl TryFrom<String> for MediaKey {
    type Error = ParseError;
    fn try_from(raw: String) -> Result<Self, ParseError> {
        MediaKey::parse(&raw)
    }
}

impl From<MediaKey> for String {
    fn from(k: MediaKey) -> String {
        k.0
    }
}

// ---- Courses -------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Lesson {
    pub title: Name,
    pub body: LessonText,
    #[serde(default)]
    pub video_key: Option<MediaKey>,
    #[serde(default)]
    pub resource_keys: Vec<MediaKey>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CourseModule {
    pub title: Name,
    pub lessons: Vec<Lesson>,
    /// Drip release: its lessons open this many days after the cohort starts (`None`: at once).
    #[serde(default)]
    pub release_after_days: Option<u32>,
}

/// What a student must have before enrolling: another of the clinic's courses, or a
/// qualification they declare (its evidence is checked in a later slice).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Prerequisite {
    Course { course_id: CourseId },
    Qualification { name: Name },
}

/// A course as the clinic writes it (its draft).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CourseInput {
    pub title: Name,
    /// The course's address on the clinic's site (`/courses/{slug}`); unique in the clinic.
    pub slug: Slug,
    #[serde(default)]
    pub summary: Text,
    /// Continuing professional development hours the course is worth (0–1000).
    #[serde(default)]
    pub cpd_hours: u32,
    /// The full price in the clinic's currency; 0 is a free course (confirmed at once).
    pub price_minor: MinorUnits,
    pub modules: Vec<CourseModule>,
    #[serde(default)]
    pub prerequisites: Vec<Prerequisite>,
    /// The course's quizzes (published with it: a version's quizzes never change).
    #[serde(default)]
    pub quizzes: Vec<quiz::Quiz>,
}

impl CourseInput {
    /// The rules beyond each field's own: at least one module, each with a lesson; bounded
    /// sizes; a prerequisite names neither the course itself nor anything twice.
    pub fn check(&self, own_id: Option<&CourseId>) -> AppResult<()> {
        if self.cpd_hours > MAX_CPD_HOURS {
            return Err(invalid("cpd_hours_out_of_range", "cpd_hours", format!("at most {MAX_CPD_HOURS} hours")));
        }
        if self.modules.is_empty() || self.modules.len() > MAX_MODULES {
            return Err(invalid("modules_required", "modules", format!("1–{MAX_MODULES} modules")));
        }
        for (i, module) in self.modules.iter().enumerate() {
            if module.release_after_days.is_some_and(|d| d > 3650) {
                return Err(invalid(
                    "release_out_of_range",
                    format!("modules[{i}].release_after_days"),
                    "at most 3,650 days after the start",
                ));
            }
            if module.lessons.is_empty() || module.lessons.len() > MAX_LESSONS_PER_MODULE {
                return Err(invalid(
                    "lessons_required",
                    format!("modules[{i}].lessons"),
                    format!("1–{MAX_LESSONS_PER_MODULE} lessons"),
                ));
            }
        }
        for (i, prerequisite) in self.prerequisites.iter().enumerate() {
            let field = format!("prerequisites[{i}]");
            if let (Prerequisite::Course { course_id }, Some(own)) = (prerequisite, own_id)
                && course_id == own
            {
                return Err(invalid("prerequisite_is_itself", field, "a course cannot require itself"));
            }
            if self.prerequisites[..i].contains(prerequisite) {
                return Err(invalid("prerequisite_twice", field, "named twice"));
            }
        }
        quiz::check_quizzes(&self.quizzes)
    }

    pub fn lesson_count(&self) -> usize {
        self.modules.iter().map(|m| m.lessons.len()).sum()
    }
}

/// A course's draft with what was published of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Course {
    pub id: CourseId,
    #[serde(flatten)]
    pub draft: CourseInput,
    /// The newest published version (`None`: never published).
    pub published_version: Option<u32>,
    /// Bumped by each change of the draft (optimistic concurrency: send it back to change it).
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A published version of a course: written once, never changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CourseVersion {
    pub course_id: CourseId,
    /// 1, 2, 3…
    pub number: u32,
    pub content: CourseInput,
    pub currency: Currency,
    pub published_at: DateTime<Utc>,
    pub published_by: String,
}

impl Course {
    /// The next version publishing the draft makes.
    pub fn next_version(&self) -> u32 {
        self.published_version.map_or(1, |n| n + 1)
    }

    /// A version of the draft as it is now.
    pub fn publish(&self, currency: Currency, at: DateTime<Utc>, by: &str) -> CourseVersion {
        CourseVersion {
            course_id: self.id.clone(),
            number: self.next_version(),
            content: self.draft.clone(),
            currency,
            published_at: at,
            published_by: by.to_owned(),
        }
    }
}

// ---- Cohorts ------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CohortStatus {
    /// Takes enrolments (until it starts, while seats are left).
    Open,
    /// Takes no more enrolments; those made stand.
    Closed,
    /// Will not run.
    Cancelled,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CohortInput {
    pub course_id: CourseId,
    /// The published version it runs; the newest when not given.
    #[serde(default)]
    pub course_version: Option<u32>,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    /// 1–200.
    pub seats: u32,
    /// The team member who teaches it (an educator, or any member).
    pub educator_id: MemberId,
}

impl CohortInput {
    pub fn check(&self) -> AppResult<()> {
        if self.seats == 0 || self.seats > MAX_SEATS {
            return Err(invalid("seats_out_of_range", "seats", format!("1–{MAX_SEATS} seats")));
        }
        if self.ends_on < self.starts_on {
            return Err(invalid("ends_before_start", "ends_on", "a cohort ends on or after the day it starts"));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Cohort {
    pub id: CohortId,
    pub course_id: CourseId,
    /// The version it runs (fixed when it is made).
    pub course_version: u32,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub seats: u32,
    pub educator_id: MemberId,
    pub status: CohortStatus,
    pub version: u64,
    pub created_at: DateTime<Utc>,
}

impl Cohort {
    /// Whether a new enrolment may be made on `today` (the clinic's day).
    pub fn check_open(&self, today: NaiveDate) -> Result<(), AppError> {
        match self.status {
            CohortStatus::Open if today < self.starts_on => Ok(()),
            CohortStatus::Open => {
                Err(AppError::conflict("cohort_started", "this cohort has started; enrolment closed"))
            }
            CohortStatus::Closed => Err(AppError::conflict("cohort_closed", "this cohort takes no more enrolments")),
            CohortStatus::Cancelled => Err(AppError::conflict("cohort_cancelled", "this cohort was cancelled")),
        }
    }
}

// ---- Seats --------------------------------------------------------------------------------

/// What a seat's item holds: who has it and until when (a confirmed enrolment's hold never
/// ends: [`SeatHold::FOREVER`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatHold {
    pub seat: u32,
    pub enrolment_id: EnrolmentId,
    /// Epoch seconds; the seat is free again from then on.
    pub until: i64,
}

impl SeatHold {
    pub const FOREVER: i64 = i64::MAX / 2;

    /// Held up to and including its last second: free once `until` is in the past (the
    /// table's condition, "absent or `until` < now", says the same).
    pub fn is_held(&self, now: DateTime<Utc>) -> bool {
        self.until >= now.timestamp()
    }
}

/// The end of a pending enrolment's hold on its seat.
pub fn hold_until(now: DateTime<Utc>) -> DateTime<Utc> {
    now + Duration::minutes(SEAT_HOLD_MINUTES)
}

/// The seats nobody holds at `now`, lowest first: absent ones and expired holds.
pub fn free_seats(seats: u32, holds: &[SeatHold], now: DateTime<Utc>) -> Vec<u32> {
    (1..=seats).filter(|n| !holds.iter().any(|h| h.seat == *n && h.is_held(now))).collect()
}

// ---- Enrolments ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EnrolmentStatus {
    /// Holding its seat while the student pays on the hosted page.
    PendingPayment,
    Confirmed,
    Cancelled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EnrolledVia {
    /// The clinic's site.
    Online,
    /// Staff at the desk.
    Desk,
}

/// The student: an enrolment's person (not a staff member; the student portal is a later slice).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Student {
    pub name: Name,
    pub email: Email,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Enrolment {
    pub id: EnrolmentId,
    pub cohort_id: CohortId,
    pub course_id: CourseId,
    /// The version the student enrolled on: theirs whatever is published later.
    pub course_version: u32,
    pub student: Student,
    pub seat: u32,
    pub status: EnrolmentStatus,
    pub via: EnrolledVia,
    pub price_minor: i64,
    pub currency: Currency,
    pub paid_minor: i64,
    /// When the seat goes back unless paid (pending only).
    pub hold_until: Option<DateTime<Utc>>,
    /// The hosted payment page (`cs_…`) of an online enrolment with a price.
    pub checkout_session: Option<String>,
    /// Where the student pays (pending only).
    pub pay_url: Option<String>,
    pub created_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub version: u64,
}

impl Enrolment {
    /// The seat hold this enrolment's state calls for.
    pub fn hold(&self) -> SeatHold {
        let until = match (self.status, self.hold_until) {
            (EnrolmentStatus::Confirmed, _) => SeatHold::FOREVER,
            (EnrolmentStatus::PendingPayment, Some(until)) => until.timestamp(),
            _ => 0,
        };
        SeatHold { seat: self.seat, enrolment_id: self.id.clone(), until }
    }

    /// Records the payment of the full price: `Ok(true)` when it confirmed the enrolment now,
    /// `Ok(false)` when it was confirmed already (a replayed webhook). Less than the price, or a
    /// cancelled enrolment, is refused.
    pub fn confirm_paid(&mut self, paid_minor: i64, at: DateTime<Utc>) -> AppResult<bool> {
        match self.status {
            EnrolmentStatus::Confirmed => Ok(false),
            EnrolmentStatus::Cancelled => {
                Err(AppError::conflict("enrolment_cancelled", "this enrolment was cancelled; its payment is not taken"))
            }
            EnrolmentStatus::PendingPayment if paid_minor < self.price_minor => {
                Err(AppError::conflict("underpaid", format!("{paid_minor} paid of the price of {}", self.price_minor)))
            }
            EnrolmentStatus::PendingPayment => {
                self.status = EnrolmentStatus::Confirmed;
                self.paid_minor = paid_minor;
                self.confirmed_at = Some(at);
                self.hold_until = None;
                self.pay_url = None;
                self.version += 1;
                Ok(true)
            }
        }
    }

    /// Cancels it (staff): its seat goes back. Paid money is refunded by staff (open work).
    pub fn cancel(&mut self, at: DateTime<Utc>) -> AppResult<()> {
        if self.status == EnrolmentStatus::Cancelled {
            return Err(AppError::conflict("enrolment_cancelled", "cancelled already"));
        }
        self.status = EnrolmentStatus::Cancelled;
        self.cancelled_at = Some(at);
        self.hold_until = None;
        self.pay_url = None;
        self.version += 1;
        Ok(())
    }

    /// A pending enrolment whose hold ran out: its seat may be someone else's now.
    pub fn lapsed(&self, now: DateTime<Utc>) -> bool {
        self.status == EnrolmentStatus::PendingPayment && self.hold_until.is_some_and(|until| until < now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 10, minute, 0).unwrap()
    }

    fn lesson(body: &str) -> Lesson {
        Lesson {
            title: Name::parse("Anatomy").unwrap(),
            body: LessonText::parse(body).unwrap(),
            video_key: None,
            resource_keys: vec![],
        }
    }

    fn course(modules: Vec<CourseModule>) -> CourseInput {
        CourseInput {
            title: Name::parse("Toxin foundations").unwrap(),
            slug: Slug::parse("toxin-foundations").unwrap(),
            summary: Text::default(),
            cpd_hours: 6,
            price_minor: MinorUnits::new(45000).unwrap(),
            modules,
            prerequisites: vec![],
            quizzes: vec![],
        }
    }

    fn pending(price: i64) -> Enrolment {
        Enrolment {
            id: EnrolmentId::new(),
            cohort_id: CohortId::new(),
            course_id: CourseId::new(),
            course_version: 1,
            student: Student { name: Name::parse("Ada").unwrap(), email: Email::parse("ada@x.test").unwrap() },
            seat: 1,
            status: EnrolmentStatus::PendingPayment,
            via: EnrolledVia::Online,
            price_minor: price,
            currency: Currency::default(),
            paid_minor: 0,
            hold_until: Some(hold_until(at(0))),
            checkout_session: Some("cs_1".into()),
            pay_url: Some("https://pay".into()),
            created_at: at(0),
            confirmed_at: None,
            cancelled_at: None,
            version: 1,
        }
    }

    #[test]
    fn lesson_text_never_lets_an_authors_html_through_and_renders_its_own_markup() {
        let text =
            LessonText::parse("# Safety <script>\n\nInject **slowly** and *aspirate*.\n\n- one\n- <b>two</b>").unwrap();
        let html = text.to_html();
        assert_eq!(
            html,
            "<h3>Safety &lt;script&gt;</h3><p>Inject <strong>slowly</strong> and <em>aspirate</em>.</p>\
             <ul><li>one</li><li>&lt;b&gt;two&lt;/b&gt;</li></ul>"
        );
        assert!(LessonText::parse("x\u{0007}").is_err(), "control characters are refused");
        assert!(LessonText::parse("  ").is_err());
        assert_eq!(LessonText::parse("3 * 4 = 12").unwrap().to_html(), "<p>3 * 4 = 12</p>", "a lone marker stays");
    }

    #[test]
    fn a_media_key_stays_under_academy_and_never_climbs_out() {
        assert!(MediaKey::parse("academy/toxin/anatomy.mp4").is_ok());
        for bad in ["videos/a.mp4", "academy/../secrets", "academy/A.mp4", "academy/", "academy/a b"] {
            assert!(MediaKey::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_course_needs_lessons_in_every_module_and_no_prerequisite_on_itself_or_twice() {
        assert!(course(vec![]).check(None).is_err());
        let empty = CourseModule { title: Name::parse("M").unwrap(), lessons: vec![], release_after_days: None };
        assert!(course(vec![empty]).check(None).is_err());
        let good =
            CourseModule { title: Name::parse("M").unwrap(), lessons: vec![lesson("Text")], release_after_days: None };
        let mut input = course(vec![good]);
        assert!(input.check(None).is_ok());
        let own = CourseId::new();
        input.prerequisites = vec![Prerequisite::Course { course_id: own.clone() }];
        let err = input.check(Some(&own)).unwrap_err();
        assert!(matches!(err, AppError::Invalid { code: "prerequisite_is_itself", .. }));
        let other = Prerequisite::Qualification { name: Name::parse("Level 7").unwrap() };
        input.prerequisites = vec![other.clone(), other];
        assert!(matches!(input.check(Some(&own)).unwrap_err(), AppError::Invalid { code: "prerequisite_twice", .. }));
        input.prerequisites.clear();
        input.cpd_hours = MAX_CPD_HOURS + 1;
        assert!(input.check(None).is_err());
    }

    #[test]
    fn publishing_freezes_the_draft_as_the_next_version() {
        let module =
            CourseModule { title: Name::parse("M").unwrap(), lessons: vec![lesson("First")], release_after_days: None };
        let mut c = Course {
            id: CourseId::new(),
            draft: course(vec![module]),
            published_version: None,
            version: 1,
            created_at: at(0),
            updated_at: at(0),
        };
        let first = c.publish(Currency::default(), at(1), "mem_1");
        assert_eq!(first.number, 1);
        c.published_version = Some(1);
        c.draft.title = Name::parse("Changed").unwrap();
        let second = c.publish(Currency::default(), at(2), "mem_1");
        assert_eq!(second.number, 2);
        assert_eq!(first.content.title.as_str(), "Toxin foundations", "the first version keeps its content");
        assert_eq!(second.content.title.as_str(), "Changed");
    }

    #[test]
    fn a_cohort_needs_seats_and_an_end_on_or_after_its_start_and_closes_when_it_starts() {
        let day = |d| NaiveDate::from_ymd_opt(2027, 1, d).unwrap();
        let mut input = CohortInput {
            course_id: CourseId::new(),
            course_version: None,
            starts_on: day(10),
            ends_on: day(11),
            seats: 0,
            educator_id: MemberId::new(),
        };
        assert!(input.check().is_err());
        input.seats = MAX_SEATS + 1;
        assert!(input.check().is_err());
        input.seats = 8;
        assert!(input.check().is_ok());
        input.ends_on = day(9);
        assert!(matches!(input.check().unwrap_err(), AppError::Invalid { code: "ends_before_start", .. }));
        let cohort = Cohort {
            id: CohortId::new(),
            course_id: input.course_id.clone(),
            course_version: 1,
            starts_on: day(10),
            ends_on: day(11),
            seats: 8,
            educator_id: input.educator_id.clone(),
            status: CohortStatus::Open,
            version: 1,
            created_at: at(0),
        };
        assert!(cohort.check_open(day(9)).is_ok());
        assert!(cohort.check_open(day(10)).is_err());
        let closed = Cohort { status: CohortStatus::Closed, ..cohort };
        assert!(closed.check_open(day(1)).is_err());
    }

    #[test]
    fn a_seat_is_free_when_nobody_holds_it_or_its_hold_has_expired() {
        let enrolment = EnrolmentId::new();
        let holds = vec![
            SeatHold { seat: 1, enrolment_id: enrolment.clone(), until: SeatHold::FOREVER },
            SeatHold { seat: 2, enrolment_id: enrolment.clone(), until: hold_until(at(0)).timestamp() },
        ];
        assert_eq!(free_seats(3, &holds, at(1)), vec![3]);
        let last_second = at(0) + Duration::minutes(SEAT_HOLD_MINUTES);
        assert_eq!(free_seats(3, &holds, last_second), vec![3], "held to its last second");
        let after_hold = last_second + Duration::seconds(1);
        assert_eq!(free_seats(3, &holds, after_hold), vec![2, 3], "an unpaid hold gives its seat back");
    }

    #[test]
    fn a_payment_confirms_a_pending_enrolment_once_and_holds_its_seat_for_good() {
        let mut e = pending(45000);
        assert!(matches!(e.confirm_paid(100, at(5)).unwrap_err(), AppError::Conflict { code: "underpaid", .. }));
        assert!(e.confirm_paid(45000, at(5)).unwrap());
        assert_eq!(e.status, EnrolmentStatus::Confirmed);
        assert_eq!(e.hold().until, SeatHold::FOREVER);
        assert!(!e.confirm_paid(45000, at(6)).unwrap(), "a replay changes nothing");
        assert_eq!(e.version, 2);
        let mut cancelled = pending(45000);
        cancelled.cancel(at(1)).unwrap();
        assert!(cancelled.confirm_paid(45000, at(2)).is_err());
        assert_eq!(cancelled.hold().until, 0, "a cancelled enrolment holds nothing");
    }

    #[test]
    fn a_pending_enrolment_lapses_when_its_hold_runs_out() {
        let e = pending(1000);
        assert!(!e.lapsed(at(1)));
        assert!(!e.lapsed(at(0) + Duration::minutes(SEAT_HOLD_MINUTES)));
        assert!(e.lapsed(at(0) + Duration::minutes(SEAT_HOLD_MINUTES) + Duration::seconds(1)));
    }
}
