// Where the calendar screen (app/src/calendar/, built on another branch) plugs in. It is
// loaded on first use; when this build has no calendar module (build.mjs resolves the import to
// an empty one), the page says so instead of failing.
import { useEffect, useState } from 'preact/hooks';
import { html } from './html.js';
import { PageTitle } from './ui/bits.js';

export function CalendarSlot({ api, me }) {
  const [state, setState] = useState({ screen: null, error: null });
  useEffect(() => {
    import('./calendar/index.js').then(
      (module) => setState(module.CalendarScreen
        ? { screen: module.CalendarScreen, error: null }
        : { screen: null, error: 'The calendar is not part of this build yet.' }),
      (err) => setState({ screen: null, error: `The calendar could not be loaded: ${err.message}` }),
    );
  }, []);
  const Screen = state.screen;
  if (Screen) return html`<${Screen} api=${api} me=${me} />`;
  return html`<section>
    <${PageTitle}>Calendar</${PageTitle}>
    <p role="status" class=${state.error ? 'notice notice-error' : 'muted'}>${state.error || 'Calendar loading…'}</p>
  </section>`;
}
