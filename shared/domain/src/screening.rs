//! Clinical screening: what a treatment involves (its clinical tags) against a client's medical
//! answers, through a fixed, versioned rule table. Pure and deterministic: the same tags and
//! answers give the same assessment under the same `RULES_VERSION`, so an assessment stored
//! with a booking can be explained later.
//!
//! The table is a safety net that asks for a practitioner's judgement, not a diagnosis. Changing
//! a rule (its condition, severity or wording) means bumping `RULES_VERSION`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::medical::MedicalAnswers;
use super::values::Slug;

/// The version of `RULES`; bump it with every change to the table.
pub const RULES_VERSION: u32 = 1;

/// What a service involves, clinically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClinicalTag {
    /// Anything injected (toxins, fillers, skin boosters).
    Injectable,
    /// Botulinum toxin.
    Toxin,
    /// Dermal filler (hyaluronic acid and the like).
    Filler,
    /// Contains or uses lidocaine (most fillers; some numbing).
    Lidocaine,
    /// Chemical peel.
    Peel,
    /// Laser or IPL.
    Laser,
    Microneedling,
}

impl ClinicalTag {
    /// Breaks or deliberately injures the skin, so an infection where it is done matters.
    pub fn is_invasive(self) -> bool {
        !matches!(self, ClinicalTag::Lidocaine)
    }

    /// The tags a service category implies, for services that do not list their own. Unknown
    /// categories (consultation, facials…) imply none.
    pub fn for_category(category: &Slug) -> Vec<ClinicalTag> {
        use ClinicalTag::*;
        let tags: &[ClinicalTag] = match category.as_str() {
            "injectables" | "anti-wrinkle" | "wrinkle-relaxers" | "toxins" | "botox" => &[Injectable, Toxin],
            "dermal-fillers" | "fillers" | "filler" | "lip-fillers" => &[Injectable, Filler, Lidocaine],
            "chemical-peels" | "peels" | "peel" => &[Peel],
            "laser" | "lasers" | "ipl" | "laser-hair-removal" | "laser-resurfacing" => &[Laser],
            "microneedling" => &[Microneedling],
            _ => &[],
        };
        tags.to_vec()
    }
}

/// How serious a finding is; the outcome of an assessment is its most serious flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    Low,
    Medium,
    High,
    /// Do not treat as booked; a practitioner must decide (often: postpone or change product).
    Contraindicated,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RiskFlag {
    /// Stable, machine-readable (`lidocaine_allergy_with_lidocaine`).
    pub code: String,
    pub severity: RiskLevel,
    /// For staff; names the finding, not the client.
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RiskAssessment {
    pub rules_version: u32,
    /// `low` when no rule applies; otherwise the most serious flag's severity.
    pub outcome: RiskLevel,
    /// Most serious first, then by code.
    pub flags: Vec<RiskFlag>,
    /// True when the outcome is high or contraindicated: a practitioner consultation comes first.
    pub consultation_required: bool,
    /// The tags the assessment was made for.
    pub tags: Vec<ClinicalTag>,
}

struct Rule {
    code: &'static str,
    severity: RiskLevel,
    message: &'static str,
    applies: fn(&Tags, &MedicalAnswers) -> bool,
}

struct Tags<'a>(&'a [ClinicalTag]);

impl Tags<'_> {
    fn has(&self, tag: ClinicalTag) -> bool {
        self.0.contains(&tag)
    }

    fn any(&self, tags: &[ClinicalTag]) -> bool {
        tags.iter().any(|tag| self.has(*tag))
    }

    fn invasive(&self) -> bool {
        self.0.iter().any(|tag| tag.is_invasive())
    }
}

use ClinicalTag::*;
use RiskLevel::*;

/// The rule table, version `RULES_VERSION`.
static RULES: &[Rule] = &[
    Rule {
        code: "anticoagulants_with_injectable",
        severity: High,
        message: "Takes anticoagulants: higher risk of bruising and bleeding from injections; review medication first.",
        applies: |t, a| a.anticoagulants && t.has(Injectable),
    },
    Rule {
        code: "bleeding_disorder_with_injectable",
        severity: Contraindicated,
        message: "Has a bleeding disorder: injections need a medical opinion before treatment.",
        applies: |t, a| a.bleeding_disorder && t.has(Injectable),
    },
    Rule {
        code: "lidocaine_allergy_with_lidocaine",
        severity: Contraindicated,
        message: "Allergic to lidocaine and this treatment uses it: use a lidocaine-free product or do not treat.",
        applies: |t, a| a.lidocaine_allergy && t.has(Lidocaine),
    },
    Rule {
        code: "pregnancy_with_injectable",
        severity: Contraindicated,
        message: "Pregnant or breastfeeding: injectables are not given; postpone.",
        applies: |t, a| a.pregnant_or_breastfeeding && t.has(Injectable),
    },
    Rule {
        code: "pregnancy_with_peel",
        severity: Contraindicated,
        message: "Pregnant or breastfeeding: chemical peels are not given; postpone.",
        applies: |t, a| a.pregnant_or_breastfeeding && t.has(Peel),
    },
    Rule {
        code: "isotretinoin_with_resurfacing",
        severity: Contraindicated,
        message: "Isotretinoin in the last six months: lasers, peels and microneedling risk poor healing and scarring; wait six months after the last dose.",
        applies: |t, a| a.isotretinoin_last_6_months && t.any(&[Laser, Peel, Microneedling]),
    },
    Rule {
        code: "active_infection_at_site",
        severity: Contraindicated,
        message: "Active skin infection where treatment would go: postpone until it has healed.",
        applies: |t, a| a.active_skin_infection_at_site && t.invasive(),
    },
    Rule {
        code: "autoimmune_with_filler",
        severity: High,
        message: "Autoimmune disease: higher risk of delayed reactions to filler; a consultation decides.",
        applies: |t, a| a.autoimmune_disease && t.has(Filler),
    },
    Rule {
        code: "declared_history_to_review",
        severity: Medium,
        message: "Allergies, medications or conditions were declared: the practitioner reviews them before treating.",
        applies: |t, a| a.declares_anything_in_free_text() && t.invasive(),
    },
];

/// Assesses a treatment with these clinical tags for a client with these answers.
pub fn assess(tags: &[ClinicalTag], answers: &MedicalAnswers) -> RiskAssessment {
    let mut tags = tags.to_vec();
    tags.sort();
    tags.dedup();
    let view = Tags(&tags);
    let mut flags: Vec<RiskFlag> = RULES
        .iter()
        .filter(|rule| (rule.applies)(&view, answers))
        .map(|rule| RiskFlag { code: rule.code.into(), severity: rule.severity, message: rule.message.into() })
        .collect();
    flags.sort_by(|a, b| b.severity.cmp(&a.severity).then_with(|| a.code.cmp(&b.code)));
    let outcome = flags.iter().map(|flag| flag.severity).max().unwrap_or(Low);
    RiskAssessment { rules_version: RULES_VERSION, outcome, flags, consultation_required: outcome >= High, tags }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::medical::ClinicalNote;
    use proptest::prelude::*;

    fn no() -> MedicalAnswers {
        MedicalAnswers {
            pregnant_or_breastfeeding: false,
            anticoagulants: false,
            bleeding_disorder: false,
            lidocaine_allergy: false,
            isotretinoin_last_6_months: false,
            active_skin_infection_at_site: false,
            autoimmune_disease: false,
            allergies: None,
            medications: None,
            conditions: None,
        }
    }

    fn codes(tags: &[ClinicalTag], answers: &MedicalAnswers) -> Vec<String> {
        assess(tags, answers).flags.into_iter().map(|f| f.code).collect()
    }

    const FILLER: &[ClinicalTag] = &[Injectable, Filler, Lidocaine];
    const TOXIN: &[ClinicalTag] = &[Injectable, Toxin];

    #[test]
    fn a_client_who_answers_no_to_everything_is_low_risk_for_every_treatment() {
        for tags in [FILLER, TOXIN, &[Peel], &[Laser], &[Microneedling], &[]] {
            let assessment = assess(tags, &no());
            assert_eq!((assessment.outcome, assessment.flags.len(), assessment.consultation_required), (Low, 0, false));
            assert_eq!(assessment.rules_version, RULES_VERSION);
        }
    }

    #[test]
    fn anticoagulants_with_an_injectable_are_high_risk_and_need_a_consultation() {
        let answers = MedicalAnswers { anticoagulants: true, ..no() };
        let assessment = assess(TOXIN, &answers);
        assert_eq!(codes(TOXIN, &answers), ["anticoagulants_with_injectable"]);
        assert_eq!((assessment.outcome, assessment.consultation_required), (High, true));
        assert!(codes(&[Laser], &answers).is_empty());
    }

    #[test]
    fn a_bleeding_disorder_with_an_injectable_is_contraindicated() {
        let answers = MedicalAnswers { bleeding_disorder: true, ..no() };
        assert_eq!(assess(FILLER, &answers).outcome, Contraindicated);
        assert!(codes(&[Peel], &answers).is_empty());
    }

    #[test]
    fn a_lidocaine_allergy_matters_only_when_the_treatment_uses_lidocaine() {
        let answers = MedicalAnswers { lidocaine_allergy: true, ..no() };
        assert_eq!(codes(FILLER, &answers), ["lidocaine_allergy_with_lidocaine"]);
        assert!(codes(TOXIN, &answers).is_empty());
    }

    #[test]
    fn pregnancy_rules_out_injectables_and_peels_but_not_other_treatments() {
        let answers = MedicalAnswers { pregnant_or_breastfeeding: true, ..no() };
        assert_eq!(codes(TOXIN, &answers), ["pregnancy_with_injectable"]);
        assert_eq!(codes(&[Peel], &answers), ["pregnancy_with_peel"]);
        assert!(codes(&[Laser], &answers).is_empty());
        assert_eq!(assess(&[Peel], &answers).outcome, Contraindicated);
    }

    #[test]
    fn recent_isotretinoin_rules_out_lasers_peels_and_microneedling() {
        let answers = MedicalAnswers { isotretinoin_last_6_months: true, ..no() };
        for tags in [&[Laser][..], &[Peel], &[Microneedling]] {
            assert_eq!(codes(tags, &answers), ["isotretinoin_with_resurfacing"], "{tags:?}");
        }
        assert!(codes(TOXIN, &answers).is_empty());
    }

    #[test]
    fn an_active_infection_at_the_site_rules_out_anything_invasive() {
        let answers = MedicalAnswers { active_skin_infection_at_site: true, ..no() };
        for tags in [FILLER, TOXIN, &[Peel], &[Laser], &[Microneedling]] {
            assert!(codes(tags, &answers).contains(&"active_infection_at_site".to_owned()), "{tags:?}");
        }
        assert!(codes(&[], &answers).is_empty(), "a consultation is not invasive");
        assert!(codes(&[Lidocaine], &answers).is_empty(), "numbing cream alone is not invasive");
    }

    #[test]
    fn autoimmune_disease_with_filler_is_high_risk_but_not_with_toxin() {
        let answers = MedicalAnswers { autoimmune_disease: true, ..no() };
        assert_eq!(codes(FILLER, &answers), ["autoimmune_with_filler"]);
        assert_eq!(assess(FILLER, &answers).outcome, High);
        assert!(codes(TOXIN, &answers).is_empty());
    }

    #[test]
    fn declared_history_is_a_medium_flag_for_invasive_treatments_only() {
        let answers = MedicalAnswers { medications: Some(ClinicalNote::parse("metformin").unwrap()), ..no() };
        let assessment = assess(TOXIN, &answers);
        assert_eq!((assessment.outcome, assessment.consultation_required), (Medium, false));
        assert!(codes(&[], &answers).is_empty());
        let blank = MedicalAnswers { allergies: Some(ClinicalNote::parse("   ").unwrap()), ..no() };
        assert!(codes(TOXIN, &blank).is_empty(), "a blank note declares nothing");
    }

    #[test]
    fn flags_come_most_serious_first_and_tags_are_reported_sorted_once() {
        let answers =
            MedicalAnswers { anticoagulants: true, lidocaine_allergy: true, autoimmune_disease: true, ..no() };
        let assessment = assess(&[Lidocaine, Filler, Injectable, Filler], &answers);
        let order: Vec<&str> = assessment.flags.iter().map(|f| f.code.as_str()).collect();
        assert_eq!(
            order,
            ["lidocaine_allergy_with_lidocaine", "anticoagulants_with_injectable", "autoimmune_with_filler"]
        );
        assert_eq!(assessment.tags, [Injectable, Filler, Lidocaine]);
    }

    #[test]
    fn categories_imply_tags_and_unknown_categories_imply_none() {
        let tags = |slug: &str| ClinicalTag::for_category(&Slug::parse(slug).unwrap());
        assert_eq!(tags("injectables"), [Injectable, Toxin]);
        assert_eq!(tags("anti-wrinkle"), [Injectable, Toxin]);
        assert_eq!(tags("dermal-fillers"), [Injectable, Filler, Lidocaine]);
        assert_eq!(tags("chemical-peels"), [Peel]);
        assert_eq!(tags("ipl"), [Laser]);
        assert!(tags("consultation").is_empty());
    }

    fn any_answers() -> impl Strategy<Value = MedicalAnswers> {
        (proptest::collection::vec(any::<bool>(), 7), proptest::option::of("[a-z ]{0,12}")).prop_map(|(yes, note)| {
            MedicalAnswers {
                pregnant_or_breastfeeding: yes[0],
                anticoagulants: yes[1],
                bleeding_disorder: yes[2],
                lidocaine_allergy: yes[3],
                isotretinoin_last_6_months: yes[4],
                active_skin_infection_at_site: yes[5],
                autoimmune_disease: yes[6],
                allergies: None,
                medications: note.map(|n| ClinicalNote::parse(&n).unwrap()),
                conditions: None,
            }
        })
    }

    fn any_tags() -> impl Strategy<Value = Vec<ClinicalTag>> {
        proptest::sample::subsequence(vec![Injectable, Toxin, Filler, Lidocaine, Peel, Laser, Microneedling], 0..=7)
    }

    proptest! {
        #[test]
        fn the_outcome_is_the_most_serious_flag_and_decides_the_consultation(tags in any_tags(), answers in any_answers()) {
            let assessment = assess(&tags, &answers);
            let worst = assessment.flags.iter().map(|f| f.severity).max().unwrap_or(Low);
            prop_assert_eq!(assessment.outcome, worst);
            prop_assert_eq!(assessment.consultation_required, worst >= High);
            prop_assert_eq!(&assessment, &assess(&tags, &answers), "deterministic");
        }

        #[test]
        fn saying_yes_to_one_more_question_never_lowers_the_risk(tags in any_tags(), answers in any_answers(), question in 0usize..7) {
            let mut more = answers.clone();
            let flag = [
                &mut more.pregnant_or_breastfeeding, &mut more.anticoagulants, &mut more.bleeding_disorder,
                &mut more.lidocaine_allergy, &mut more.isotretinoin_last_6_months,
                &mut more.active_skin_infection_at_site, &mut more.autoimmune_disease,
            ];
            *flag.into_iter().nth(question).unwrap() = true;
            prop_assert!(assess(&tags, &more).outcome >= assess(&tags, &answers).outcome);
        }
    }
}
