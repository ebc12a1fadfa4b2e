// Medical history for clinical roles (clinical_read): the latest questionnaire, what it flags,
// every version's who and when, screening flags from bookings, and answers visitors gave when
// booking online (kept apart for a clinician to review; never the record). Mounted only for
// those roles.
import { html } from '../html.js';
import { api } from '../api.js';
import { useLoad } from '../ui/async.js';
import { Loaded } from '../ui/bits.js';
import { dateTime, label } from '../format.js';
import { Panel } from './client-file.js';

const QUESTIONS = {
  pregnant_or_breastfeeding: 'Pregnant or breastfeeding',
  anticoagulants: 'Takes blood thinners',
  bleeding_disorder: 'Bleeding disorder',
  lidocaine_allergy: 'Allergy to local anaesthetic',
  isotretinoin_last_6_months: 'Isotretinoin in the last 6 months',
  active_skin_infection_at_site: 'Active skin infection at the site',
  autoimmune_disease: 'Autoimmune disease',
};
const NOTES = { allergies: 'Allergies', medications: 'Medications', conditions: 'Conditions' };

/** A questionnaire's risk flags and notes. */
function Declared({ answers }) {
  const flags = Object.keys(QUESTIONS).filter((k) => answers[k]);
  return html`
    ${flags.length === 0 ? html`<p>None declared.</p>` : html`<ul class="flags">${flags.map((k) => html`<li class="flag">${QUESTIONS[k]}</li>`)}</ul>`}
    ${Object.keys(NOTES).filter((k) => answers[k]).map((k) => html`<p><strong>${NOTES[k]}:</strong> ${answers[k]}</p>`)}`;
}

/** Answers given on the public booking page, newest first, for review. */
function Submissions({ submissions }) {
  if (submissions.length === 0) return null;
  return html`<h3>Submitted online, to review</h3>
    <p class="muted">A visitor gave these answers when booking. They do not change the record: record a new version once you have checked them with the client.</p>
    <ol class="plain-list">${submissions.map((s) => html`<li>
      <p>${dateTime(s.submitted_at)}</p>
      <${Declared} answers=${s.answers} />
    </li>`)}</ol>`;
}

export function MedicalHistory({ client, appointments }) {
  const state = useLoad(() => api.get(`/v1/clients/${client.id}/medical`), [client.id]);
  const screened = appointments.filter((a) => a.screening && a.screening.flag_codes.length);
  return html`<${Panel} id="h-medical" title="Medical history">
    <${Loaded} state=${state}>${(file) => {
      const submitted = html`<${Submissions} submissions=${file.submissions || []} />`;
      if (!file.latest) return html`<p class="muted">No questionnaire recorded yet.</p>${submitted}`;
      return html`
        <h3>Risk flags</h3>
        <${Declared} answers=${file.latest.answers} />
        ${submitted}
        ${screened.length > 0 && html`<h3>Screening at booking</h3><ul class="plain-list">
          ${screened.map((a) => html`<li>${a.confirmation_number}: ${label(a.screening.outcome)} — ${a.screening.flag_codes.map(label).join(', ')}</li>`)}
        </ul>`}
        <h3>Versions</h3>
        <ol class="plain-list">${file.versions.map((v) => html`<li>Version ${v.version} · ${dateTime(v.recorded_at)} · by ${v.recorded_by === 'client' ? 'the client' : 'staff'}</li>`)}</ol>`;
    }}</${Loaded}>
  </${Panel}>`;
}
