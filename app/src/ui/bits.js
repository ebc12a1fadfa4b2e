// Small shared pieces: a loading line, an error line, a status notice, a page header.
import { useEffect, useRef } from 'preact/hooks';
import { html } from '../html.js';

export function Loading({ what = 'Loading' }) {
  return html`<p class="muted" role="status">${what}…</p>`;
}

export function ErrorText({ error }) {
  return error ? html`<p class="notice notice-error" role="alert">${error.message || String(error)}</p>` : null;
}

export function Notice({ children, kind = 'info' }) {
  return html`<p class=${`notice notice-${kind}`} role="status">${children}</p>`;
}

/** The screen's h1; it takes focus when the screen opens, so screen readers announce it. */
export function PageTitle({ children, sub }) {
  const ref = useRef(null);
  useEffect(() => ref.current?.focus(), []);
  return html`<header class="page-title">
    <h1 tabindex="-1" ref=${ref}>${children}</h1>
    ${sub && html`<p class="muted">${sub}</p>`}
  </header>`;
}

/** Renders `load` state: loading line, error, or children(data). */
export function Loaded({ state, children, what }) {
  if (state.loading && !state.data) return html`<${Loading} what=${what} />`;
  if (state.error) return html`<${ErrorText} error=${state.error} />`;
  return children(state.data);
}
