// A document's actions: its PDF (a short-lived link, fetched on demand) and, for an unsigned
// one and a role allowed to, a signing link for the client. Both need the rendered PDF, which a
// worker makes after generation: until it exists the document is re-read every 2 s.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import { api } from '../api.js';
import { dateTime } from '../format.js';

const POLL_MS = 2000;
const POLL_LIMIT = 60;

function useRendered(doc) {
  const [view, setView] = useState(doc);
  useEffect(() => {
    if (view.pdf || view.status !== 'generated') return undefined;
    let tries = 0;
    const timer = setInterval(async () => {
      tries += 1;
      const fresh = await api.get(`/v1/documents/${doc.id}`).catch(() => null);
      if (fresh?.pdf || tries >= POLL_LIMIT) {
        clearInterval(timer);
        if (fresh) setView(fresh);
      }
    }, POLL_MS);
    return () => clearInterval(timer);
  }, [doc.id, Boolean(view.pdf)]);
  return view;
}

export function DocumentActions({ doc, canSend }) {
  const view = useRendered(doc);
  const [pdf, setPdf] = useState(null);
  const [signing, setSigning] = useState(null);
  const [error, setError] = useState(null);
  const run = (fn) => () => fn().catch(setError);
  const getPdf = run(async () => setPdf(await api.get(`/v1/documents/${doc.id}/pdf`)));
  const send = run(async () => setSigning(await api.post(`/v1/documents/${doc.id}/esign`, {})));
  if (!view.pdf && view.status === 'generated') return html`<span class="muted" role="status">Preparing the PDF…</span>`;
  return html`<span class="doc-actions">
    ${pdf ? html`<a href=${pdf.url} target="_blank" rel="noopener">Download PDF</a>`
      : html`<button type="button" class="link-button" onClick=${getPdf}>PDF link</button>`}
    ${canSend && view.status === 'generated' && !signing && html`<button type="button" class="secondary small" onClick=${send}>Send for signature</button>`}
    ${signing && html`<span class="signing" role="status">Sent to the client where they have an email or phone. Their signing link works until ${dateTime(signing.expires_at)}:
      <input class="copy" readonly aria-label="Signing link for the client" value=${signing.sign_url} onFocus=${(e) => e.currentTarget.select()} /></span>`}
    ${error && html`<span class="field-error" role="alert">${error.message}</span>`}
  </span>`;
}
