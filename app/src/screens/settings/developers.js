// Developers (owners and managers): partner webhook endpoints — registered for chosen event
// kinds, their signing secret shown once (and again only by rolling it), pinged, their deliveries
// listed and replayed — and API keys with scopes, each key shown once, revocable.
import { useState } from 'preact/hooks';
import { html } from '../../html.js';
import { api } from '../../api.js';
import { dateTime } from '../../format.js';
import { useLoad } from '../../ui/async.js';
import { Loaded } from '../../ui/bits.js';
import { useForm, Field, FormMessage } from '../../ui/form.js';

export const KINDS = ['booking.confirmed', 'booking.rescheduled', 'booking.cancelled', 'booking.completed', 'booking.no_show',
  'payment.succeeded', 'payment.refunded', 'sale.completed', 'sale.voided', 'sale.refunded'];
export const SCOPES = [
  { value: 'appointments:read', label: 'Read appointments' },
  { value: 'clients:read', label: 'Read a client’s record' },
  { value: 'catalog:read', label: 'Read services' },
];

export function Developers() {
  const [round, setRound] = useState(0);
  const [shown, setShown] = useState(null);
  const state = useLoad(() => Promise.all([api.get('/v1/webhook-endpoints'), api.get('/v1/api-keys')]), [round]);
  const reload = () => setRound(round + 1);
  const reveal = (what) => { setShown(what); reload(); };
  return html`<${Loaded} state=${state} what="Loading webhooks and API keys">${([endpoints, keys]) => html`<div>
    ${shown && html`<div class="notice" role="status" id="shown-once"><p><strong>${shown.label}</strong> — copy it now: it is shown only once.</p>
      <p><code id="shown-secret">${shown.secret}</code></p>
      <button type="button" class="link-button" onClick=${() => setShown(null)}>I have copied it</button></div>`}
    <h3>Webhook endpoints</h3>
    <p class="muted">We POST the events you choose to your URL, signed in the <code>Mas-Signature</code> header (see the README). Failures are retried after 1, 5 and 30 minutes, 2 and 6 hours, then parked until you replay them.</p>
    ${endpoints.length === 0 ? html`<p class="muted" id="no-endpoints">No endpoint yet.</p>`
      : html`<ul class="plain-list" id="endpoints">${endpoints.map((e) => html`<${EndpointRow} key=${e.id} endpoint=${e} onSecret=${reveal} onChanged=${reload} />`)}</ul>`}
    <${NewEndpoint} onCreated=${(e) => reveal({ label: `Signing secret of ${e.url}`, secret: e.secret })} />
    <h3>API keys</h3>
    <p class="muted">Your servers call <code>/partner/v1/…</code> with <code>Authorization: Bearer mas_key_…</code>.</p>
    ${keys.length === 0 ? html`<p class="muted" id="no-keys">No API key yet.</p>`
      : html`<ul class="plain-list" id="api-keys">${keys.map((k) => html`<${KeyRow} key=${k.id} apiKey=${k} onChanged=${reload} />`)}</ul>`}
    <${NewKey} onCreated=${(k) => reveal({ label: `API key ${k.name}`, secret: k.secret })} />
  </div>`}</${Loaded}>`;
}

function EndpointRow({ endpoint, onSecret, onChanged }) {
  const [open, setOpen] = useState(false);
  const [note, setNote] = useState(null);
  const act = async (fn) => {
    setNote(null);
    try { await fn(); } catch (err) { setNote(err.message || String(err)); }
  };
  const ping = () => act(async () => {
    const r = await api.post(`/v1/webhook-endpoints/${endpoint.id}/ping`, {});
    setNote(r.delivered ? `Ping delivered (${r.status}).` : `Ping failed: ${r.error}`);
  });
  const roll = () => act(async () => {
    const r = await api.post(`/v1/webhook-endpoints/${endpoint.id}/roll-secret`, {});
    onSecret({ label: `New signing secret of ${r.url} (the old one works for 24 hours)`, secret: r.secret });
  });
  const remove = () => act(async () => { await api.del(`/v1/webhook-endpoints/${endpoint.id}`); onChanged(); });
  return html`<li data-endpoint=${endpoint.id}><strong>${endpoint.url}</strong>${endpoint.enabled ? '' : ' (disabled)'}
    <br /><span class="muted">${endpoint.kinds.join(', ')}${endpoint.description ? ` · ${endpoint.description}` : ''}</span>
    <br /><button type="button" class="link-button" onClick=${() => setOpen(!open)}>${open ? 'Hide deliveries' : 'Deliveries'}</button>
    · <button type="button" class="link-button" onClick=${ping}>Send a ping</button>
    · <button type="button" class="link-button" onClick=${roll}>Roll secret</button>
    · <button type="button" class="link-button" onClick=${remove}>Remove</button>
    ${note && html`<p class="notice" role="status">${note}</p>`}
    ${open && html`<${Deliveries} endpoint=${endpoint} />`}</li>`;
}

function Deliveries({ endpoint }) {
  const [round, setRound] = useState(0);
  const [problem, setProblem] = useState(null);
  const state = useLoad(() => api.get(`/v1/webhook-endpoints/${endpoint.id}/deliveries`), [round]);
  const run = async (path) => {
    setProblem(null);
    try { await api.post(path, {}); setRound(round + 1); } catch (err) { setProblem(err.message || String(err)); }
  };
  const base = `/v1/webhook-endpoints/${endpoint.id}`;
  return html`<${Loaded} state=${state} what="Loading deliveries">${(list) => html`<div class="deliveries">
    ${problem && html`<p class="notice notice-error" role="alert">${problem}</p>`}
    ${list.some((d) => d.state === 'parked') && html`<button type="button" onClick=${() => run(`${base}/replay-parked`)}>Replay all parked</button>`}
    ${list.length === 0 ? html`<p class="muted">Nothing delivered yet.</p>` : html`<table><thead><tr>
      <th>Event</th><th>State</th><th>Attempts</th><th>Last answer</th><th>Next attempt</th><th></th></tr></thead><tbody>
      ${list.map((d) => html`<tr key=${d.id} data-delivery=${d.id}><td>${d.kind}<br /><code>${d.event_id}</code></td>
        <td class=${`state-${d.state}`}>${d.state}</td><td>${d.attempts}</td>
        <td>${d.last_status ?? ''} ${d.last_error || ''}</td><td>${d.next_attempt_at ? dateTime(d.next_attempt_at) : ''}</td>
        <td><button type="button" class="link-button" onClick=${() => run(`${base}/deliveries/${d.id}/replay`)}>Replay</button></td></tr>`)}
    </tbody></table>`}</div>`}</${Loaded}>`;
}

function NewEndpoint({ onCreated }) {
  const form = useForm({ url: '', description: '', kinds: ['booking.confirmed'] });
  const toggle = (kind) => form.set('kinds', form.values.kinds.includes(kind)
    ? form.values.kinds.filter((k) => k !== kind) : [...form.values.kinds, kind]);
  const submit = (event) => form.submit(async () => {
    const made = await api.post('/v1/webhook-endpoints', form.values);
    form.setValues({ url: '', description: '', kinds: ['booking.confirmed'] });
    onCreated(made);
  }, event);
  return html`<form novalidate onSubmit=${submit} aria-labelledby="h-new-endpoint">
    <h4 id="h-new-endpoint">Add an endpoint</h4>
    <${FormMessage} form=${form} />
    <${Field} form=${form} name="url" label="URL" type="url" hint="https:// on a public host." />
    <${Field} form=${form} name="description" label="Description" />
    <fieldset><legend>Events</legend>${KINDS.map((k) => html`<div class="field field-check">
      <input type="checkbox" id=${`kind-${k}`} checked=${form.values.kinds.includes(k)} onChange=${() => toggle(k)} />
      <label for=${`kind-${k}`}>${k}</label></div>`)}</fieldset>
    <button type="submit" class="primary" disabled=${form.busy}>Add endpoint</button>
  </form>`;
}

function KeyRow({ apiKey, onChanged }) {
  const [problem, setProblem] = useState(null);
  const revoke = async () => {
    setProblem(null);
    try { await api.post(`/v1/api-keys/${apiKey.id}/revoke`, {}); onChanged(); } catch (err) { setProblem(err.message || String(err)); }
  };
  return html`<li data-key=${apiKey.id}><strong>${apiKey.name}</strong> · <code>${apiKey.prefix}…</code> · ${apiKey.scopes.join(', ')}
    ${apiKey.revoked_at ? html` · <span class="muted">revoked ${dateTime(apiKey.revoked_at)}</span>`
      : html` <button type="button" class="link-button" onClick=${revoke}>Revoke</button>`}
    ${problem && html`<p class="notice notice-error" role="alert">${problem}</p>`}</li>`;
}

function NewKey({ onCreated }) {
  const form = useForm({ name: '', scopes: ['appointments:read'] });
  const toggle = (scope) => form.set('scopes', form.values.scopes.includes(scope)
    ? form.values.scopes.filter((s) => s !== scope) : [...form.values.scopes, scope]);
  const submit = (event) => form.submit(async () => {
    const made = await api.post('/v1/api-keys', form.values);
    form.setValues({ name: '', scopes: ['appointments:read'] });
    onCreated(made);
  }, event);
  return html`<form novalidate onSubmit=${submit} aria-labelledby="h-new-key">
    <h4 id="h-new-key">Make an API key</h4>
    <${FormMessage} form=${form} />
    <${Field} form=${form} name="name" label="Name" hint="What it is for, like Calendar sync." />
    <fieldset><legend>Scopes</legend>${SCOPES.map((s) => html`<div class="field field-check">
      <input type="checkbox" id=${`scope-${s.value}`} checked=${form.values.scopes.includes(s.value)} onChange=${() => toggle(s.value)} />
      <label for=${`scope-${s.value}`}>${s.label} (<code>${s.value}</code>)</label></div>`)}</fieldset>
    <button type="submit" class="primary" disabled=${form.busy}>Make key</button>
  </form>`;
}
