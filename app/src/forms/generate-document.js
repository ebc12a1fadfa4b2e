// Generating a document for a client from the template in force (POST /v1/documents/generate).
// Placeholders the platform cannot fill come back as a 422 naming them (`details.missing`):
// the form then asks for exactly those and tries again.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { api } from '../api.js';
import { useLoad } from '../ui/async.js';
import { useForm, Field, FormMessage } from '../ui/form.js';
import { label } from '../format.js';

const KINDS = ['consent', 'aftercare', 'policy', 'invoice'].map((k) => ({ value: k, label: label(k) }));

/** `{"treatment.area": "forehead"}` → `{treatment: {area: "forehead"}}`. */
function nested(flat) {
  const out = {};
  for (const [path, value] of Object.entries(flat)) {
    if (!value) continue;
    const keys = path.split('.');
    let node = out;
    keys.slice(0, -1).forEach((k) => { node = node[k] = node[k] || {}; });
    node[keys[keys.length - 1]] = value;
  }
  return out;
}

export function GenerateDocumentForm({ clientId, appointments = [], onGenerated }) {
  const form = useForm({ kind: 'consent', topic: '', appointment_id: '' });
  const [asked, setAsked] = useState([]);
  const [context, setContext] = useState({});
  const templates = useLoad(() => api.get(`/v1/templates?kind=${form.values.kind}`), [form.values.kind]);
  const topics = [...new Set((templates.data || []).map((t) => t.topic))];
  const submit = (event) => form.submit(async (v) => {
    try {
      const doc = await api.post('/v1/documents/generate', {
        kind: v.kind, client_id: clientId, topic: v.topic || topics[0] || null,
        appointment_id: v.appointment_id || null, context: nested(context),
      });
      setAsked([]);
      setContext({});
      onGenerated(doc);
    } catch (err) {
      if (err.code === 'unfilled_placeholders' && Array.isArray(err.details?.missing)) {
        setAsked(err.details.missing);
        throw new Error('Fill in the details below to complete the document.');
      }
      throw err;
    }
  }, event);
  return html`<form novalidate onSubmit=${submit} aria-label="Generate a document">
    <${FormMessage} form=${form} />
    <div class="row">
      <${Field} form=${form} name="kind" label="Kind" options=${KINDS}
        onInput=${(e) => { form.setValues((old) => ({ ...old, kind: e.currentTarget.value, topic: '' })); setAsked([]); }} />
      <${Field} form=${form} name="topic" label="Template" value=${form.values.topic || topics[0] || ''}
        options=${topics.length ? topics.map((t) => ({ value: t, label: label(t) })) : [{ value: '', label: 'None in force' }]} />
      ${appointments.length > 0 && html`<${Field} form=${form} name="appointment_id" label="For appointment (optional)"
        options=${[{ value: '', label: 'None' }, ...appointments.map((a) => ({ value: a.id, label: `${a.confirmation_number} · ${a.start.slice(0, 10)}` }))]} />`}
    </div>
    ${asked.map((name) => html`<${Field} name=${name} label=${label(name.replace(/\./g, ' '))} value=${context[name] || ''}
      onInput=${(e) => setContext({ ...context, [name]: e.currentTarget.value })} required />`)}
    <button type="submit" class="primary" disabled=${form.busy}>Generate</button>
  </form>`;
}
