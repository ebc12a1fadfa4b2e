// Is this PDF an unaltered document of ours? (POST /v1/documents/verify with the file.)
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { api } from '../api.js';
import { useForm, Field, FormMessage } from '../ui/form.js';
import { dateTime, label } from '../format.js';

export function VerifyPdf() {
  const form = useForm({ file: null });
  const [result, setResult] = useState(null);
  const submit = (event) => form.submit(async (v) => {
    if (!v.file) throw Object.assign(new Error('Choose a PDF file first.'), { field: 'pdf' });
    setResult(await api.post('/v1/documents/verify', v.file, { contentType: 'application/pdf' }));
  }, event);
  return html`<section class="card panel" aria-labelledby="h-verify">
    <h2 id="h-verify">Verify a PDF</h2>
    <form novalidate onSubmit=${submit}>
      <${FormMessage} form=${form} />
      <${Field} form=${form} name="pdf" label="PDF file" type="file" accept="application/pdf"
        onInput=${(e) => { form.set('file', e.currentTarget.files[0] || null); setResult(null); }} />
      <button type="submit" class="secondary" disabled=${form.busy}>Verify</button>
    </form>
    ${result && html`<div role="status" class=${`notice ${result.valid ? 'notice-success' : 'notice-error'}`} id="verify-result">
      <p><strong>${result.valid ? 'Genuine' : 'Not verified'}</strong>: ${result.message}</p>
      ${result.valid && html`<p>${result.title} · ${result.clinic} · ${label(result.status)}${result.signed_at ? ` · signed ${dateTime(result.signed_at)}` : ''}</p>`}
    </div>`}
  </section>`;
}
