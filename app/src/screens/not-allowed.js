import { html } from '../html.js';
import { PageTitle } from '../ui/bits.js';

/** A route this member's role does not include: said plainly, nothing fetched. */
export function NotAllowed() {
  return html`<section><${PageTitle}>Not available</${PageTitle}><p>Your role does not include this page. <a href="#/today">Go to Today</a>.</p></section>`;
}
