// Weekly opening hours: one row per weekday (open or closed, from, to), as DayHours spans.
import { html } from '../html.js';

export const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];

export function defaultHours() {
  return WEEKDAYS.map((day, i) => ({ day, open: i < 6, start: '09:00', end: i === 5 ? '16:00' : '18:00' }));
}

/** The rows as the API's `opening_hours`: only open days. */
export function openingHours(rows) {
  return rows.filter((r) => r.open).map(({ day, start, end }) => ({ day, start, end }));
}

export function HoursEditor({ rows, onChange, error }) {
  const update = (index, change) => onChange(rows.map((row, i) => (i === index ? { ...row, ...change } : row)));
  return html`<fieldset class="hours" aria-describedby=${error ? 'hours-error' : undefined}>
    <legend>Opening hours</legend>
    ${error && html`<p class="field-error" id="hours-error">${error}</p>`}
    <table>
      <thead><tr><th scope="col">Day</th><th scope="col">Open</th><th scope="col">From</th><th scope="col">To</th></tr></thead>
      <tbody>
        ${rows.map((row, i) => html`<tr>
          <th scope="row">${row.day.charAt(0).toUpperCase() + row.day.slice(1)}</th>
          <td><input type="checkbox" aria-label=${`Open on ${row.day}`} checked=${row.open} onChange=${(e) => update(i, { open: e.currentTarget.checked })} /></td>
          <td><input type="time" step="300" aria-label=${`${row.day} opens at`} value=${row.start} disabled=${!row.open}
            onInput=${(e) => update(i, { start: e.currentTarget.value })} /></td>
          <td><input type="time" step="300" aria-label=${`${row.day} closes at`} value=${row.end} disabled=${!row.open}
            onInput=${(e) => update(i, { end: e.currentTarget.value })} /></td>
        </tr>`)}
      </tbody>
    </table>
  </fieldset>`;
}
