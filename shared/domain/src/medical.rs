//! The medical questionnaire: typed screening answers (also asked at booking) and bounded free
//! text. Each save is a new version; the answers are stored encrypted (`ops::medical`).

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::values::ParseError;
use crate::ids::ClientId;

/// The screening questions. Every yes/no question must be answered: a missing answer is never
/// taken for "no". New questions must be added with `#[serde(default)]` (or as `Option`) so that
/// stored versions keep reading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MedicalAnswers {
    pub pregnant_or_breastfeeding: bool,
    /// Blood thinners (warfarin, DOACs, daily aspirin, clopidogrel…).
    pub anticoagulants: bool,
    pub bleeding_disorder: bool,
    /// Allergy to lidocaine or other local anaesthetics.
    pub lidocaine_allergy: bool,
    /// Oral isotretinoin (Roaccutane) taken in the last six months.
    pub isotretinoin_last_6_months: bool,
    /// An active skin infection (cold sore, impetigo, acne flare…) where treatment would go.
    pub active_skin_infection_at_site: bool,
    pub autoimmune_disease: bool,
    #[serde(default)]
    pub allergies: Option<ClinicalNote>,
    #[serde(default)]
    pub medications: Option<ClinicalNote>,
    #[serde(default)]
    pub conditions: Option<ClinicalNote>,
}

impl MedicalAnswers {
    /// The answers to screen on when two sources disagree (what the clinic recorded and what a
    /// visitor submitted): a "yes" in either is a yes, and free text from either counts.
    pub fn stricter(&self, other: &MedicalAnswers) -> MedicalAnswers {
        let note = |a: &Option<ClinicalNote>, b: &Option<ClinicalNote>| {
            a.clone().filter(|n| !n.as_str().is_empty()).or_else(|| b.clone())
        };
        MedicalAnswers {
            pregnant_or_breastfeeding: self.pregnant_or_breastfeeding || other.pregnant_or_breastfeeding,
            anticoagulants: self.anticoagulants || other.anticoagulants,
            bleeding_disorder: self.bleeding_disorder || other.bleeding_disorder,
            lidocaine_allergy: self.lidocaine_allergy || other.lidocaine_allergy,
            isotretinoin_last_6_months: self.isotretinoin_last_6_months || other.isotretinoin_last_6_months,
            active_skin_infection_at_site: self.active_skin_infection_at_site || other.active_skin_infection_at_site,
            autoimmune_disease: self.autoimmune_disease || other.autoimmune_disease,
            allergies: note(&self.allergies, &other.allergies),
            medications: note(&self.medications, &other.medications),
            conditions: note(&self.conditions, &other.conditions),
        }
    }

    /// True when any free-text answer says something.
    pub fn declares_anything_in_free_text(&self) -> bool {
        [&self.allergies, &self.medications, &self.conditions]
            .into_iter()
            .any(|note| note.as_ref().is_some_and(|n| !n.as_str().is_empty()))
    }
}

/// A free-text clinical answer: trimmed, at most 1,000 characters, newlines and tabs allowed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "Penicillin")]
pub struct ClinicalNote(String);

impl ClinicalNote {
    pub const MAX_CHARS: usize = 1000;

    pub fn parse(raw: &str) -> Result<ClinicalNote, ParseError> {
        let text = raw.trim();
        if text.chars().count() > Self::MAX_CHARS
            || text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
        {
            return Err(ParseError(format!(
                "must be at most {} characters with no control characters",
                Self::MAX_CHARS
            )));
        }
        Ok(ClinicalNote(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Clinical text stays out of logs, even debug ones.
impl fmt::Debug for ClinicalNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClinicalNote({} chars)", self.0.chars().count())
    }
}

impl TryFrom<String> for ClinicalNote {
    type Error = ParseError;
    fn try_from(raw: String) -> Result<Self, ParseError> {
        ClinicalNote::parse(&raw)
    }
}

impl From<ClinicalNote> for String {
    fn from(note: ClinicalNote) -> String {
        note.0
    }
}

/// Who recorded a version of the questionnaire, and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MedicalVersion {
    pub version: u32,
    pub recorded_at: DateTime<Utc>,
    /// A member id, or `client` when the client answered (for example at booking).
    pub recorded_by: String,
}

/// One version of the questionnaire, decrypted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MedicalRecord {
    pub client_id: ClientId,
    #[serde(flatten)]
    pub meta: MedicalVersion,
    pub answers: MedicalAnswers,
}

/// A client's medical file: the latest answers and every version's who and when.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MedicalFile {
    /// None until the questionnaire is first recorded.
    pub latest: Option<MedicalRecord>,
    /// Newest first.
    pub versions: Vec<MedicalVersion>,
    /// Answers visitors gave when booking online, newest first: for a clinician to review and,
    /// if right, record as a version. They never replace what the clinic recorded.
    pub submissions: Vec<MedicalSubmission>,
}

/// Screening answers given on the public booking page, kept apart from the clinic's record.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MedicalSubmission {
    pub id: String,
    pub submitted_at: DateTime<Utc>,
    pub answers: MedicalAnswers,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn all_no() -> serde_json::Value {
        json!({
            "pregnant_or_breastfeeding": false, "anticoagulants": false, "bleeding_disorder": false,
            "lidocaine_allergy": false, "isotretinoin_last_6_months": false,
            "active_skin_infection_at_site": false, "autoimmune_disease": false
        })
    }

    #[test]
    fn every_yes_no_question_must_be_answered_and_unknown_questions_are_refused() {
        assert!(serde_json::from_value::<MedicalAnswers>(all_no()).is_ok());
        let mut missing = all_no();
        missing.as_object_mut().unwrap().remove("anticoagulants");
        assert!(serde_json::from_value::<MedicalAnswers>(missing).is_err());
        let mut unknown = all_no();
        unknown["smoker"] = json!(true);
        assert!(serde_json::from_value::<MedicalAnswers>(unknown).is_err());
    }

    #[test]
    fn free_text_answers_are_bounded_and_kept_out_of_debug_output() {
        let mut answers = all_no();
        answers["medications"] = json!("x".repeat(ClinicalNote::MAX_CHARS + 1));
        assert!(serde_json::from_value::<MedicalAnswers>(answers.clone()).is_err());
        answers["medications"] = json!("  warfarin 5mg  ");
        let parsed: MedicalAnswers = serde_json::from_value(answers).unwrap();
        assert_eq!(parsed.medications.as_ref().unwrap().as_str(), "warfarin 5mg");
        assert!(!format!("{parsed:?}").contains("warfarin"));
        assert!(parsed.declares_anything_in_free_text());
    }
}
