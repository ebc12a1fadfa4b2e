// A report's CSV: fetched with the session's token (a plain link could not send it), then offered
// as a download of the fetched text.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { api } from '../api.js';

export function CsvExport({ path, filename }) {
  const [link, setLink] = useState(null);
  const [error, setError] = useState(null);
  const prepare = async () => {
    setError(null);
    try {
      const text = await api.get(path, { as: 'text' });
      setLink(URL.createObjectURL(new Blob([text], { type: 'text/csv' })));
    } catch (err) {
      setError(err.message || String(err));
    }
  };
  return html`<p>
    ${link ? html`<a class="button secondary" href=${link} download=${filename}>Download the CSV</a>`
      : html`<button type="button" class="secondary" onClick=${prepare}>Prepare the CSV</button>`}
    ${error && html`<span class="field-error" role="alert">${error}</span>`}
  </p>`;
}
