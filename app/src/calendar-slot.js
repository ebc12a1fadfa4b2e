// The calendar route (#/calendar?date=YYYY-MM-DD&view=week). The screen (src/calendar/, with the
// Svelte runtime of @event-calendar/core) is a chunk of its own, fetched the first time the route
// opens, so the rest of the back office never downloads it.
import { useEffect, useState } from 'preact/hooks';
import { html } from './html.js';
import { api } from './api.js';
import { PageTitle } from './ui/bits.js';

// The screen's contract (app/CALENDAR.md): api(method, path, body?), errors with .status and
// .body (ApiError carries both). One function for the page's life: the screen reloads on a new one.
const calendarApi = (method, path, body) => api.request(method, path, body);

const DATE = /^\d{4}-\d{2}-\d{2}$/;

export function CalendarSlot({ me, route }) {
  const [state, setState] = useState({ screen: null, error: null });
  useEffect(() => {
    import('./calendar/index.js').then(
      (module) => setState({ screen: module.CalendarScreen, error: null }),
      // A chunk missing after a deploy (its name has a hash) or a dropped connection.
      (err) => setState({ screen: null, error: `The calendar could not be loaded (${err.message}). Reload the page to try again.` }),
    );
  }, []);
  const Screen = state.screen;
  if (Screen) {
    const date = route.query.get('date');
    const initialDate = date && DATE.test(date) ? date : null;
    const initialView = route.query.get('view') === 'week' ? 'week' : 'day';
    // A new date or view in the address opens the screen afresh there.
    return html`<${Screen} key=${`${initialDate}/${initialView}`} api=${calendarApi} me=${me} initialDate=${initialDate} initialView=${initialView} />`;
  }
  return html`<section>
    <${PageTitle}>Calendar</${PageTitle}>
    <p role=${state.error ? 'alert' : 'status'} class=${state.error ? 'notice notice-error' : 'muted'}>${state.error || 'Calendar loading…'}</p>
  </section>`;
}
