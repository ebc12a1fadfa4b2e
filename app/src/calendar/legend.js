// What the colours mean: every status, and the shading for time off and closures.
import { html } from './html.js';
import { STATUSES } from './status.js';

export function Legend() {
  return html`
    <ul class="mas-legend" aria-label="Legend">
      ${STATUSES.map((s) => html`<li key=${s.status}><span class="mas-swatch" style=${{ background: s.background, borderColor: s.border }}></span>${s.label}</li>`)}
      <li><span class="mas-swatch mas-swatch-time-off"></span>Time off</li>
      <li><span class="mas-swatch mas-swatch-closure"></span>Closed</li>
    </ul>`;
}
