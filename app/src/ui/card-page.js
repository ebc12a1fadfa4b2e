// The frame of the signed-out screens: a centred card with the product's name.
import { html } from '../html.js';
import { PageTitle } from './bits.js';

export function CardPage({ title, sub, children, wide }) {
  return html`<main id="main" class="card-page">
    <p class="product">Clinic desk</p>
    <div class=${`card${wide ? ' card-wide' : ''}`}>
      <${PageTitle} sub=${sub}>${title}</${PageTitle}>
      ${children}
    </div>
  </main>`;
}
