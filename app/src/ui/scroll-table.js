// A table that may scroll sideways on a phone: the scrolling box is a named, focusable region,
// so keyboard users can scroll it too.
import { html } from '../html.js';

export function ScrollTable({ label, children }) {
  return html`<div class="table-wrap" role="region" aria-label=${label} tabindex="0">${children}</div>`;
}
