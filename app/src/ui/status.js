// An appointment's or a document's status as a small labelled badge.
import { html } from '../html.js';
import { label } from '../format.js';

export function StatusBadge({ status }) {
  return html`<span class=${`badge badge-${status}`}>${label(status)}</span>`;
}
