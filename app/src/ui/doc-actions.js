// A document's actions: its PDF (a short-lived link, fetched on demand) and, for an unsigned
// one and a role allowed to, a signing link for the client.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { api } from '../api.js';
import { dateTime } from '../format.js';

export function DocumentActions({ doc, canSend }) {
  const [pdf, setPdf] = useState(null);
  const [signing, setSigning] = useState(null);
  const [error, setError] = useState(null);
  const run = (fn) => () => fn().catch(setError);
  const getPdf = run(async () => setPdf(await api.get(`/v1/documents/${doc.id}/pdf`)));
  const send = run(async () => setSigning(await api.post(`/v1/documents/${doc.id}/esign`, {})));
  return html`<span class="doc-actions">
    ${pdf ? html`<a href=${pdf.url} target="_blank" rel="noopener">Download PDF</a>`
      : html`<button type="button" class="link-button" onClick=${getPdf}>PDF link</button>`}
    ${canSend && doc.status === 'generated' && !signing && html`<button type="button" class="secondary small" onClick=${send}>Send for signature</button>`}
    ${signing && html`<span class="signing" role="status">Signing link (until ${dateTime(signing.expires_at)}):
      <input class="copy" readonly aria-label="Signing link for the client" value=${signing.sign_url} onFocus=${(e) => e.currentTarget.select()} /></span>`}
    ${error && html`<span class="field-error" role="alert">${error.message}</span>`}
  </span>`;
}
