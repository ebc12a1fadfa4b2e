//! Quizzes, pure: part of a course's draft and so of each published version (never changed under
//! a student). A quiz is a bank of questions (single choice, multiple choice, numeric with a
//! tolerance, short text with exact answers), of which each attempt draws `draw` in an order
//! made from the attempt's own seed (stored: the same attempt always shows the same questions),
//! with a time limit, an attempt limit and a pass mark. Grading happens here, on the server;
//! a student is only ever sent [`QuestionView`]s, which carry no answer.
//!
//! A student's standing on a quiz is one [`QuizRecord`] (attempts started, the open one, the
//! best score, passed); starting and submitting change it by rules the store makes atomic.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{AppError, AppResult};
use crate::values::{Name, Slug, Text};

pub const MAX_QUIZZES: usize = 20;
pub const MAX_QUESTIONS: usize = 100;
pub const MAX_OPTIONS: usize = 10;
pub const MAX_ANSWERS: usize = 10;
pub const MAX_ATTEMPTS: u32 = 20;
pub const MAX_TIME_LIMIT_MINUTES: u32 = 300;
/// How late a submission is still taken after the time limit (the network, a slow click).
pub const SUBMIT_GRACE_SECONDS: i64 = 30;

fn invalid(code: &'static str, field: impl Into<String>, message: impl Into<String>) -> AppError {
    AppError::invalid(code, field, message)
}

/// What a question asks and what is right (the right part never reaches a student).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum QuestionKind {
    /// One option is right (`correct`: its index, from 0).
    SingleChoice { options: Vec<Name>, correct: u32 },
    /// Exactly the options in `correct` (indexes, from 0) are right: all of them and no other.
    MultipleChoice { options: Vec<Name>, correct: Vec<u32> },
    /// A number within `tolerance` of `answer` (inclusive).
    Numeric { answer: f64, tolerance: f64 },
    /// Any of `answers`, compared trimmed, case-folded and with inner spaces collapsed.
    ShortText { answers: Vec<Name> },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Question {
    pub prompt: Text,
    /// What it is worth (1–100; 1 when not given).
    #[serde(default = "one")]
    pub points: u32,
    pub answer: QuestionKind,
}

fn one() -> u32 {
    1
}

/// A quiz of a course (its draft, then each published version).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Quiz {
    /// The quiz's id within the course (`anatomy-check`): unique in the course.
    pub id: Slug,
    pub title: Name,
    /// The bank; each attempt draws `draw` of them.
    pub questions: Vec<Question>,
    /// How many questions an attempt draws (all when not given).
    #[serde(default)]
    pub draw: Option<u32>,
    /// Minutes from starting an attempt to submitting it (1–300).
    pub time_limit_minutes: u32,
    /// How many attempts a student may start (1–20).
    pub max_attempts: u32,
    /// The score that passes, in percent of the drawn questions' points (1–100).
    pub pass_mark_percent: u32,
}

/// The rules beyond each field's own, for a course's quizzes.
pub fn check_quizzes(quizzes: &[Quiz]) -> AppResult<()> {
    if quizzes.len() > MAX_QUIZZES {
        return Err(invalid("too_many_quizzes", "quizzes", format!("at most {MAX_QUIZZES} quizzes")));
    }
    for (i, quiz) in quizzes.iter().enumerate() {
        let at = |field: &str| format!("quizzes[{i}].{field}");
        if quizzes[..i].iter().any(|q| q.id == quiz.id) {
            return Err(invalid("quiz_id_twice", at("id"), "another quiz of the course has this id"));
        }
        if quiz.questions.is_empty() || quiz.questions.len() > MAX_QUESTIONS {
            return Err(invalid("questions_required", at("questions"), format!("1–{MAX_QUESTIONS} questions")));
        }
        if quiz.draw.is_some_and(|n| n == 0 || n as usize > quiz.questions.len()) {
            return Err(invalid("draw_out_of_range", at("draw"), "from 1 to the number of questions in the bank"));
        }
        if quiz.time_limit_minutes == 0 || quiz.time_limit_minutes > MAX_TIME_LIMIT_MINUTES {
            return Err(invalid("time_limit_out_of_range", at("time_limit_minutes"), "1–300 minutes"));
        }
        if quiz.max_attempts == 0 || quiz.max_attempts > MAX_ATTEMPTS {
            return Err(invalid("attempts_out_of_range", at("max_attempts"), format!("1–{MAX_ATTEMPTS} attempts")));
        }
        if quiz.pass_mark_percent == 0 || quiz.pass_mark_percent > 100 {
            return Err(invalid("pass_mark_out_of_range", at("pass_mark_percent"), "1–100 percent"));
        }
        for (j, question) in quiz.questions.iter().enumerate() {
            question.check(&format!("quizzes[{i}].questions[{j}]"))?;
        }
    }
    Ok(())
}

impl Question {
    fn check(&self, at: &str) -> AppResult<()> {
        if self.prompt.as_str().is_empty() {
            return Err(invalid("prompt_required", format!("{at}.prompt"), "a question asks something"));
        }
        if self.points == 0 || self.points > 100 {
            return Err(invalid("points_out_of_range", format!("{at}.points"), "1–100 points"));
        }
        let field = format!("{at}.answer");
        let options_ok = |options: &[Name]| (2..=MAX_OPTIONS).contains(&options.len());
        match &self.answer {
            QuestionKind::SingleChoice { options, correct } => {
                if !options_ok(options) {
                    return Err(invalid("options_out_of_range", field, format!("2–{MAX_OPTIONS} options")));
                }
                if *correct as usize >= options.len() {
                    return Err(invalid("correct_out_of_range", field, "`correct` names no option"));
                }
            }
            QuestionKind::MultipleChoice { options, correct } => {
                if !options_ok(options) {
                    return Err(invalid("options_out_of_range", field, format!("2–{MAX_OPTIONS} options")));
                }
                let distinct: BTreeSet<&u32> = correct.iter().collect();
                if correct.is_empty()
                    || distinct.len() != correct.len()
                    || correct.iter().any(|c| *c as usize >= options.len())
                {
                    return Err(invalid(
                        "correct_out_of_range",
                        field,
                        "`correct` names one or more options, each once",
                    ));
                }
            }
            QuestionKind::Numeric { answer, tolerance } => {
                if !answer.is_finite() || !tolerance.is_finite() || *tolerance < 0.0 {
                    return Err(invalid("numeric_out_of_range", field, "a finite answer and a tolerance of 0 or more"));
                }
            }
            QuestionKind::ShortText { answers } => {
                if answers.is_empty() || answers.len() > MAX_ANSWERS {
                    return Err(invalid("answers_out_of_range", field, format!("1–{MAX_ANSWERS} accepted answers")));
                }
            }
        }
        Ok(())
    }
}

/// A text answer as compared: trimmed, lowercased, inner runs of spaces made one.
pub fn normalise(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// A student's answer to one question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum AnswerValue {
    /// A single choice: the option's index.
    Choice(u32),
    /// A multiple choice: the options' indexes.
    Choices(Vec<u32>),
    Number(f64),
    Text(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    /// The question's number in the bank (as the attempt shows it).
    pub question: u32,
    pub value: AnswerValue,
}

impl Question {
    /// Whether `value` is right (an answer of another kind is wrong).
    pub fn is_right(&self, value: &AnswerValue) -> bool {
        match (&self.answer, value) {
            (QuestionKind::SingleChoice { correct, .. }, AnswerValue::Choice(c)) => c == correct,
            (QuestionKind::MultipleChoice { correct, .. }, AnswerValue::Choices(chosen)) => {
                let want: BTreeSet<&u32> = correct.iter().collect();
                let got: BTreeSet<&u32> = chosen.iter().collect();
                got.len() == chosen.len() && want == got
            }
            (QuestionKind::Numeric { answer, tolerance }, AnswerValue::Number(n)) => {
                n.is_finite() && (n - answer).abs() <= *tolerance + 1e-9
            }
            (QuestionKind::ShortText { answers }, AnswerValue::Text(text)) => {
                let given = normalise(text);
                !given.is_empty() && answers.iter().any(|a| normalise(a.as_str()) == given)
            }
            _ => false,
        }
    }
}

/// A question as a student sees it: its number in the bank, the prompt and the options, never
/// what is right.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct QuestionView {
    pub number: u32,
    /// `single_choice`, `multiple_choice`, `numeric` or `short_text`.
    pub kind: &'static str,
    pub prompt: Text,
    pub points: u32,
    /// The options of a choice (empty otherwise).
    pub options: Vec<Name>,
}

impl Question {
    pub fn view(&self, number: u32) -> QuestionView {
        let (kind, options) = match &self.answer {
            QuestionKind::SingleChoice { options, .. } => ("single_choice", options.clone()),
            QuestionKind::MultipleChoice { options, .. } => ("multiple_choice", options.clone()),
            QuestionKind::Numeric { .. } => ("numeric", Vec::new()),
            QuestionKind::ShortText { .. } => ("short_text", Vec::new()),
        };
        QuestionView { number, kind, prompt: self.prompt.clone(), points: self.points, options }
    }
}

/// A fresh seed for an attempt's draw.
pub fn new_seed() -> u64 {
    use rand::Rng;
    // JSON numbers are exact up to 2^53: the seed stays one.
    rand::rng().random::<u64>() >> 11
}

/// The next number of a small, well-mixed sequence (SplitMix64): the same seed, the same draw,
/// on every machine and in every release.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Quiz {
    /// The questions an attempt with `seed` shows, in its order: the bank shuffled by the seed
    /// (Fisher–Yates), then the first `draw`.
    pub fn draw(&self, seed: u64) -> Vec<u32> {
        let mut order: Vec<u32> = (0..self.questions.len() as u32).collect();
        let mut state = seed;
        for i in (1..order.len()).rev() {
            let j = (splitmix(&mut state) % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        order.truncate(self.draw.map_or(order.len(), |n| n as usize));
        order
    }

    pub fn time_limit(&self) -> Duration {
        Duration::minutes(i64::from(self.time_limit_minutes))
    }

    /// Grades `answers` to the questions `drawn`: each right answer earns its points; an
    /// unanswered question earns none. An answer to a question not drawn, or two answers to one,
    /// is refused (422).
    pub fn grade(&self, drawn: &[u32], answers: &[Answer]) -> AppResult<Grade> {
        let mut seen = BTreeSet::new();
        for (i, answer) in answers.iter().enumerate() {
            if !drawn.contains(&answer.question) {
                return Err(invalid(
                    "not_in_attempt",
                    format!("answers[{i}].question"),
                    "not a question of this attempt",
                ));
            }
            if !seen.insert(answer.question) {
                return Err(invalid("answered_twice", format!("answers[{i}].question"), "answered twice"));
            }
        }
        let mut results = Vec::new();
        let (mut earned, mut possible) = (0u32, 0u32);
        for number in drawn {
            let question = &self.questions[*number as usize];
            let right = answers.iter().find(|a| a.question == *number).is_some_and(|a| question.is_right(&a.value));
            possible += question.points;
            if right {
                earned += question.points;
            }
            results.push(QuestionResult { number: *number, right, points: if right { question.points } else { 0 } });
        }
        let percent = (earned * 100).checked_div(possible).unwrap_or(0);
        Ok(Grade { earned, possible, percent, passed: percent >= self.pass_mark_percent, results })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct QuestionResult {
    pub number: u32,
    pub right: bool,
    pub points: u32,
}

/// A graded attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Grade {
    pub earned: u32,
    pub possible: u32,
    /// Rounded down.
    pub percent: u32,
    pub passed: bool,
    pub results: Vec<QuestionResult>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttemptStatus {
    /// Started and not submitted (it may have run out of time: see `deadline`).
    Open,
    Submitted,
}

/// One attempt at a quiz: written when started, once more when submitted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct QuizAttempt {
    pub quiz_id: Slug,
    /// 1, 2, 3… within the student's attempts at this quiz.
    pub number: u32,
    pub seed: u64,
    /// The drawn questions, in the order shown.
    pub questions: Vec<u32>,
    pub started_at: DateTime<Utc>,
    /// Submit by then (a short grace is allowed after it).
    pub deadline: DateTime<Utc>,
    pub status: AttemptStatus,
    pub submitted_at: Option<DateTime<Utc>>,
    pub answers: Vec<Answer>,
    pub grade: Option<Grade>,
}

/// Why an attempt cannot be started or submitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AttemptRefusal {
    /// 409 `attempt_open`: another attempt is open (submit it, or wait for its time to end).
    #[error("an attempt at this quiz is open; submit it first")]
    Open { number: u32 },
    /// 409 `attempt_limit`.
    #[error("every attempt allowed at this quiz has been used")]
    Limit,
    /// 409 `already_submitted`: an attempt is submitted once.
    #[error("this attempt was submitted already")]
    Submitted,
    /// 409 `time_up`: the time limit (and its grace) passed.
    #[error("the time for this attempt is up")]
    TimeUp,
}

impl From<AttemptRefusal> for AppError {
    fn from(refusal: AttemptRefusal) -> Self {
        let message = refusal.to_string();
        match refusal {
            AttemptRefusal::Open { number } => AppError::Rejected {
                kind: crate::error::Rejection::Conflict,
                code: "attempt_open",
                message,
                details: serde_json::json!({ "attempt": number }),
            },
            AttemptRefusal::Limit => AppError::conflict("attempt_limit", message),
            AttemptRefusal::Submitted => AppError::conflict("already_submitted", message),
            AttemptRefusal::TimeUp => AppError::conflict("time_up", message),
        }
    }
}

impl QuizAttempt {
    /// Whether it can still be submitted at `now` (its deadline and the grace).
    pub fn in_time(&self, now: DateTime<Utc>) -> bool {
        now <= self.deadline + Duration::seconds(SUBMIT_GRACE_SECONDS)
    }

    /// Grades and closes it, once, in time.
    pub fn submit(&mut self, quiz: &Quiz, answers: Vec<Answer>, now: DateTime<Utc>) -> AppResult<&Grade> {
        if self.status == AttemptStatus::Submitted {
            return Err(AttemptRefusal::Submitted.into());
        }
        if !self.in_time(now) {
            return Err(AttemptRefusal::TimeUp.into());
        }
        let grade = quiz.grade(&self.questions, &answers)?;
        self.status = AttemptStatus::Submitted;
        self.submitted_at = Some(now);
        self.answers = answers;
        Ok(self.grade.insert(grade))
    }
}

/// A student's standing on one quiz.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct QuizRecord {
    /// Attempts started.
    pub attempts: u32,
    /// The open attempt's number and deadline (until submitted).
    pub open: Option<u32>,
    pub open_deadline: Option<DateTime<Utc>>,
    /// The best submitted score, in percent.
    pub best_percent: Option<u32>,
    /// Any submitted attempt passed (the best result decides).
    pub passed: bool,
    /// Bumped by each change (the store writes it on condition that it is the one read).
    pub version: u64,
}

impl QuizRecord {
    /// Starts the next attempt at `now`: refused while another is open and in time, or when
    /// every attempt is used. An attempt that ran out of time unsubmitted counts as used.
    pub fn start(&mut self, quiz: &Quiz, seed: u64, now: DateTime<Utc>) -> Result<QuizAttempt, AttemptRefusal> {
        if let (Some(number), Some(deadline)) = (self.open, self.open_deadline)
            && now <= deadline + Duration::seconds(SUBMIT_GRACE_SECONDS)
        {
            return Err(AttemptRefusal::Open { number });
        }
        if self.attempts >= quiz.max_attempts {
            return Err(AttemptRefusal::Limit);
        }
        self.attempts += 1;
        let deadline = now + quiz.time_limit();
        self.open = Some(self.attempts);
        self.open_deadline = Some(deadline);
        self.version += 1;
        Ok(QuizAttempt {
            quiz_id: quiz.id.clone(),
            number: self.attempts,
            seed,
            questions: quiz.draw(seed),
            started_at: now,
            deadline,
            status: AttemptStatus::Open,
            submitted_at: None,
            answers: Vec::new(),
            grade: None,
        })
    }

    /// Records a submitted attempt's grade: the best result stands.
    pub fn record(&mut self, attempt: u32, grade: &Grade) {
        if self.open == Some(attempt) {
            self.open = None;
            self.open_deadline = None;
        }
        self.best_percent = Some(self.best_percent.map_or(grade.percent, |b| b.max(grade.percent)));
        self.passed |= grade.passed;
        self.version += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn name(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    fn question(answer: QuestionKind) -> Question {
        Question { prompt: Text::parse("Which?").unwrap(), points: 1, answer }
    }

    fn quiz() -> Quiz {
        Quiz {
            id: Slug::parse("anatomy").unwrap(),
            title: name("Anatomy check"),
            questions: vec![
                question(QuestionKind::SingleChoice { options: vec![name("procerus"), name("masseter")], correct: 0 }),
                question(QuestionKind::MultipleChoice {
                    options: vec![name("a"), name("b"), name("c")],
                    correct: vec![0, 2],
                }),
                question(QuestionKind::Numeric { answer: 2.5, tolerance: 0.1 }),
                Question {
                    points: 2,
                    ..question(QuestionKind::ShortText { answers: vec![name("Corrugator supercilii")] })
                },
            ],
            draw: None,
            time_limit_minutes: 10,
            max_attempts: 2,
            pass_mark_percent: 60,
        }
    }

    fn at(minute: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 1, 10, 9, 0, 0).unwrap() + Duration::minutes(minute)
    }

    fn answer(question: u32, value: AnswerValue) -> Answer {
        Answer { question, value }
    }

    #[test]
    fn each_kind_of_question_is_graded_by_its_own_rule() {
        let q = quiz();
        let right = |i: usize, v: AnswerValue| q.questions[i].is_right(&v);
        assert!(right(0, AnswerValue::Choice(0)) && !right(0, AnswerValue::Choice(1)));
        assert!(right(1, AnswerValue::Choices(vec![2, 0])), "order does not matter");
        assert!(!right(1, AnswerValue::Choices(vec![0])), "all of them");
        assert!(!right(1, AnswerValue::Choices(vec![0, 1, 2])), "and no other");
        assert!(!right(1, AnswerValue::Choices(vec![0, 0, 2])), "each once");
        assert!(right(2, AnswerValue::Number(2.6)) && right(2, AnswerValue::Number(2.4)));
        assert!(!right(2, AnswerValue::Number(2.61)) && !right(2, AnswerValue::Number(f64::NAN)));
        assert!(right(3, AnswerValue::Text("  corrugator   SUPERCILII ".into())), "trimmed, case-folded");
        assert!(!right(3, AnswerValue::Text("corrugator".into())), "exact otherwise");
        assert!(!right(0, AnswerValue::Text("procerus".into())), "an answer of another kind is wrong");
    }

    #[test]
    fn a_grade_is_the_share_of_points_earned_on_the_drawn_questions_and_passes_at_the_mark() {
        let q = quiz();
        let grade = q
            .grade(
                &[0, 1, 2, 3],
                &[answer(0, AnswerValue::Choice(0)), answer(3, AnswerValue::Text("corrugator supercilii".into()))],
            )
            .unwrap();
        assert_eq!((grade.earned, grade.possible, grade.percent, grade.passed), (3, 5, 60, true));
        let fail = q.grade(&[0, 1, 2, 3], &[answer(0, AnswerValue::Choice(0))]).unwrap();
        assert_eq!((fail.percent, fail.passed), (20, false));
        assert!(q.grade(&[0, 1], &[answer(2, AnswerValue::Number(2.5))]).is_err(), "not drawn");
        let twice = [answer(0, AnswerValue::Choice(0)), answer(0, AnswerValue::Choice(1))];
        assert!(matches!(q.grade(&[0], &twice).unwrap_err(), AppError::Invalid { code: "answered_twice", .. }));
    }

    #[test]
    fn an_attempt_draws_the_same_questions_for_its_seed_and_others_differ() {
        let mut q = quiz();
        q.draw = Some(3);
        let first = q.draw(42);
        assert_eq!(first.len(), 3);
        assert_eq!(q.draw(42), first, "the same seed, the same questions in the same order");
        let distinct: BTreeSet<u32> = first.iter().copied().collect();
        assert_eq!(distinct.len(), 3, "no question twice");
        let orders: BTreeSet<Vec<u32>> = (0..40).map(|seed| q.draw(seed)).collect();
        assert!(orders.len() > 5, "seeds give different draws: {orders:?}");
    }

    #[test]
    fn attempts_are_limited_one_is_open_at_a_time_and_a_lapsed_one_counts_as_used() {
        let q = quiz();
        let mut record = QuizRecord::default();
        let mut first = record.start(&q, 1, at(0)).unwrap();
        assert_eq!(record.start(&q, 2, at(1)).unwrap_err(), AttemptRefusal::Open { number: 1 });
        let grade = first.submit(&q, vec![answer(0, AnswerValue::Choice(1))], at(2)).unwrap().clone();
        record.record(1, &grade);
        assert_eq!((record.open, record.best_percent, record.passed), (None, Some(0), false));
        let _second = record.start(&q, 2, at(3)).unwrap();
        // The second runs out of time unsubmitted: the next start is refused by the limit.
        assert_eq!(
            record.start(&q, 3, at(3) + q.time_limit() + Duration::minutes(1)).unwrap_err(),
            AttemptRefusal::Limit
        );
    }

    #[test]
    fn an_attempt_is_submitted_once_and_not_after_its_time_and_grace() {
        let q = quiz();
        let mut record = QuizRecord::default();
        let mut attempt = record.start(&q, 7, at(0)).unwrap();
        let late = attempt.deadline + Duration::seconds(SUBMIT_GRACE_SECONDS + 1);
        let err = attempt.clone().submit(&q, vec![], late).unwrap_err();
        assert!(matches!(err, AppError::Conflict { code: "time_up", .. }), "{err:?}");
        let in_grace = attempt.deadline + Duration::seconds(SUBMIT_GRACE_SECONDS);
        assert!(attempt.submit(&q, vec![], in_grace).is_ok());
        let again = attempt.submit(&q, vec![answer(0, AnswerValue::Choice(0))], in_grace).unwrap_err();
        assert!(matches!(again, AppError::Conflict { code: "already_submitted", .. }));
        assert_eq!(attempt.grade.as_ref().unwrap().earned, 0, "the second submit changed nothing");
    }

    #[test]
    fn the_best_result_decides_passed() {
        let q = quiz();
        let mut record = QuizRecord::default();
        let pass = q.grade(&[0], &[answer(0, AnswerValue::Choice(0))]).unwrap();
        let fail = q.grade(&[0], &[]).unwrap();
        record.record(1, &pass);
        record.record(2, &fail);
        assert_eq!((record.best_percent, record.passed), (Some(100), true));
    }

    #[test]
    fn a_quiz_is_refused_with_a_draw_larger_than_its_bank_or_a_choice_naming_no_option() {
        let mut q = quiz();
        assert!(check_quizzes(std::slice::from_ref(&q)).is_ok());
        q.draw = Some(5);
        assert!(matches!(
            check_quizzes(&[q.clone()]).unwrap_err(),
            AppError::Invalid { code: "draw_out_of_range", .. }
        ));
        q.draw = None;
        q.questions[0].answer = QuestionKind::SingleChoice { options: vec![name("a"), name("b")], correct: 2 };
        assert!(check_quizzes(&[q.clone()]).is_err());
        q.questions[0].answer = QuestionKind::Numeric { answer: 1.0, tolerance: -1.0 };
        assert!(check_quizzes(&[q.clone()]).is_err());
        let fine = quiz();
        assert!(matches!(
            check_quizzes(&[fine.clone(), fine]).unwrap_err(),
            AppError::Invalid { code: "quiz_id_twice", .. }
        ));
    }

    #[test]
    fn a_students_view_of_a_question_carries_no_answer() {
        for (i, question) in quiz().questions.iter().enumerate() {
            let view = serde_json::to_string(&question.view(i as u32)).unwrap();
            assert!(!view.contains("correct") && !view.contains("answer") && !view.contains("Corrugator"), "{view}");
        }
    }
}
