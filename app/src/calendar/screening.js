// The screening questions a booking of a clinical treatment asks (MedicalAnswers; the same
// wording as the clinic's site). Answers go with the booking; the outcome is the server's.
import { html } from './html.js';

export const SCREENING_QUESTIONS = [
  ['pregnant_or_breastfeeding', 'Pregnant or breastfeeding?'],
  ['anticoagulants', 'Takes blood thinners (for example warfarin or daily aspirin)?'],
  ['bleeding_disorder', 'A bleeding or clotting disorder?'],
  ['lidocaine_allergy', 'Allergic to lidocaine or other local anaesthetics?'],
  ['isotretinoin_last_6_months', 'Isotretinoin (Roaccutane) in the last six months?'],
  ['active_skin_infection_at_site', 'A skin infection (such as a cold sore) where they would be treated?'],
  ['autoimmune_disease', 'An autoimmune condition?'],
];

export const needsScreening = (service) => !!service && (service.clinical_tags || []).length > 0;

/** Unanswered: every question null until the client answers it. */
export const blankAnswers = () => Object.fromEntries(SCREENING_QUESTIONS.map(([key]) => [key, null]));

export const allAnswered = (answers) => SCREENING_QUESTIONS.every(([key]) => typeof answers[key] === 'boolean');

export function ScreeningQuestions({ answers, onChange }) {
  return html`
    <fieldset class="mas-fieldset">
      <legend>Screening (ask the client)</legend>
      ${SCREENING_QUESTIONS.map(([key, question]) => html`
        <div key=${key} class="mas-yesno" role="radiogroup" aria-labelledby=${`q-${key}`}>
          <span id=${`q-${key}`}>${question}</span>
          <label><input type="radio" name=${`q-${key}`} required checked=${answers[key] === false}
            onChange=${() => onChange({ ...answers, [key]: false })} /> No</label>
          <label><input type="radio" name=${`q-${key}`} checked=${answers[key] === true}
            onChange=${() => onChange({ ...answers, [key]: true })} /> Yes</label>
        </div>`)}
    </fieldset>`;
}
