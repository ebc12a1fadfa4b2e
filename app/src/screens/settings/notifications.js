// Reminder cadence (each planned message's timing and channels), the channels of immediate
// notices, and quiet hours (GET/PUT /v1/notification-settings).
import { useState } from 'preact/hooks';
import { html } from '../../html.js';
import { ScrollTable } from '../../ui/scroll-table.js';
import { api } from '../../api.js';
import { useLoad } from '../../ui/async.js';
import { Loaded, Notice } from '../../ui/bits.js';
import { useForm, Field, FormMessage, errorFor } from '../../ui/form.js';
import { label } from '../../format.js';

const CHANNELS = ['email', 'sms'];
const CHANNEL_LABEL = { email: 'Email', sms: 'Text' };

export function NotificationSettings() {
  const state = useLoad(() => api.get('/v1/notification-settings'));
  return html`<${Loaded} state=${state}>${(s) => html`<${SettingsForm} settings=${s} />`}</${Loaded}>`;
}

/** An offset in minutes as hours before/after, for people. */
function when(step) {
  const hours = Math.abs(step.offset_minutes) / 60;
  return `${hours % 24 === 0 ? `${hours / 24} day(s)` : `${hours} hour(s)`} ${step.offset_minutes < 0 ? 'before the start' : `after the ${step.anchor}`}`;
}

function ChannelBoxes({ legend, chosen, onChange, idPrefix, quiet }) {
  return html`<fieldset class="channels"><legend class=${quiet ? 'sr-only' : undefined}>${legend}</legend>
    ${CHANNELS.map((c) => html`<span class="field-check">
      <input type="checkbox" id=${`${idPrefix}-${c}`} checked=${chosen.includes(c)}
        onChange=${(e) => onChange(e.currentTarget.checked ? [...chosen, c] : chosen.filter((x) => x !== c))} />
      <label for=${`${idPrefix}-${c}`}>${CHANNEL_LABEL[c]}</label></span>`)}
  </fieldset>`;
}

function SettingsForm({ settings }) {
  const form = useForm({ 'quiet_hours.start': settings.quiet_hours.start.slice(0, 5), 'quiet_hours.end': settings.quiet_hours.end.slice(0, 5) });
  const [steps, setSteps] = useState(settings.steps);
  const [notices, setNotices] = useState(settings.notice_channels);
  const [saved, setSaved] = useState(false);
  const updateStep = (i, change) => setSteps(steps.map((s, j) => (j === i ? { ...s, ...change } : s)));
  const submit = (event) => form.submit(async (v) => {
    await api.put('/v1/notification-settings', {
      steps, notice_channels: notices, quiet_hours: { start: v['quiet_hours.start'], end: v['quiet_hours.end'] },
    });
    setSaved(true);
  }, event);
  return html`<form novalidate onSubmit=${submit}>
    <${FormMessage} form=${form} />
    <h3>Reminder plan</h3>
    <${ScrollTable} label="Reminder plan"><table>
      <thead><tr><th scope="col">Message</th><th scope="col">Hours from the ${'appointment'}</th><th scope="col">When</th><th scope="col">Channels</th></tr></thead>
      <tbody>${steps.map((s, i) => html`<tr>
        <th scope="row">${label(s.kind)}</th>
        <td><input type="number" step="0.25" aria-label=${`${label(s.kind)}: hours (negative: before the start)`} value=${s.offset_minutes / 60}
          onInput=${(e) => updateStep(i, { offset_minutes: Math.round(Number(e.currentTarget.value) * 60) })} />
          ${errorFor(form.errors, `steps[${i}]`) && html`<p class="field-error">${errorFor(form.errors, `steps[${i}]`)}</p>`}</td>
        <td class="muted">${when(s)}</td>
        <td><${ChannelBoxes} legend=${`${label(s.kind)} channels`} chosen=${s.channels} idPrefix=${`step${i}`} quiet onChange=${(channels) => updateStep(i, { channels })} /></td>
      </tr>`)}</tbody>
    </table></${ScrollTable}>
    <${ChannelBoxes} legend="Confirmations, changes and receipts are sent by" chosen=${notices} idPrefix="notice" onChange=${setNotices} />
    <h3>Quiet hours</h3>
    <p class="muted">No text or email is sent between these times in the location's zone; it waits until they end.</p>
    <div class="row">
      <${Field} form=${form} name="quiet_hours.start" label="From" type="time" />
      <${Field} form=${form} name="quiet_hours.end" label="Until" type="time" />
    </div>
    ${saved && html`<${Notice}>Saved. New bookings follow this plan.</${Notice}>`}
    <button type="submit" class="primary" disabled=${form.busy}>Save reminders</button>
  </form>`;
}
