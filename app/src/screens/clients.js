// Clients: search by name, email or phone (GET /v1/clients?q=), page on, and add a client.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { ScrollTable } from '../ui/scroll-table.js';
import { api } from '../api.js';
import { can } from '../permissions.js';
import { navigate } from '../router.js';
import { useLoad, useDebounced } from '../ui/async.js';
import { Loaded, PageTitle } from '../ui/bits.js';
import { useForm, Field, FormMessage } from '../ui/form.js';
import { clientName } from '../format.js';

export function Clients({ me }) {
  const [query, setQuery] = useState('');
  const [cursor, setCursor] = useState(null);
  const [adding, setAdding] = useState(false);
  const search = useDebounced(query.trim());
  const params = new URLSearchParams({ limit: '25' });
  if (search) params.set('q', search);
  if (cursor) params.set('cursor', cursor);
  const list = useLoad(() => api.get(`/v1/clients?${params}`), [params.toString()]);
  return html`<section>
    <${PageTitle}>Clients</${PageTitle}>
    <div class="toolbar">
      <form role="search" onSubmit=${(e) => e.preventDefault()}>
        <label for="client-search">Search clients</label>
        <input id="client-search" type="search" value=${query} placeholder="Name, email or phone"
          onInput=${(e) => { setQuery(e.currentTarget.value); setCursor(null); }} />
      </form>
      ${can(me, 'booking_write_own') && html`<button type="button" class="primary" aria-expanded=${adding ? 'true' : 'false'}
        onClick=${() => setAdding(!adding)}>Add client</button>`}
    </div>
    ${adding && html`<${NewClient} onCreated=${(c) => navigate(`/clients/${c.id}`)} />`}
    <${Loaded} state=${list} what="Loading clients">${(page) => html`
      ${page.items.length === 0 ? html`<p class="muted">No clients match.</p>` : html`<${ScrollTable} label="Clients"><table class="clients">
        <thead><tr><th scope="col">Name</th><th scope="col">Email</th><th scope="col">Phone</th></tr></thead>
        <tbody>${page.items.map((c) => html`<tr>
          <td><a href=${`#/clients/${c.id}`}>${clientName(c)}</a></td><td>${c.email || ''}</td><td>${c.phone || ''}</td>
        </tr>`)}</tbody>
      </table></${ScrollTable}>`}
      <div class="actions">
        ${cursor && html`<button type="button" class="secondary" onClick=${() => setCursor(null)}>First page</button>`}
        ${page.next_cursor && html`<button type="button" class="secondary" onClick=${() => setCursor(page.next_cursor)}>Next page</button>`}
      </div>`}
    </${Loaded}>
  </section>`;
}

function NewClient({ onCreated }) {
  const form = useForm({ first_name: '', last_name: '', email: '', phone: '', date_of_birth: '', notes: '', marketing_consent: false });
  const submit = (event) => form.submit(async (v) => {
    const optional = (text) => text.trim() || null;
    const created = await api.post('/v1/clients', {
      first_name: v.first_name.trim(), last_name: v.last_name.trim(), email: optional(v.email), phone: optional(v.phone),
      date_of_birth: optional(v.date_of_birth), notes: optional(v.notes), marketing_consent: v.marketing_consent,
    });
    onCreated(created);
  }, event);
  return html`<form novalidate class="card" onSubmit=${submit} aria-labelledby="h-new-client">
    <h2 id="h-new-client">New client</h2>
    <${FormMessage} form=${form} />
    <div class="row">
      <${Field} form=${form} name="first_name" label="First name" required />
      <${Field} form=${form} name="last_name" label="Last name" required />
    </div>
    <div class="row">
      <${Field} form=${form} name="email" label="Email" type="email" />
      <${Field} form=${form} name="phone" label="Mobile phone" type="tel" hint="With country code, e.g. +44 7700 900123" />
      <${Field} form=${form} name="date_of_birth" label="Date of birth" type="date" />
    </div>
    <${Field} form=${form} name="notes" label="Notes (not clinical)" multiline hint="Preferences, access needs" />
    <${Field} form=${form} name="marketing_consent" label="Agrees to marketing messages" type="checkbox" />
    <button type="submit" class="primary" disabled=${form.busy}>Save client</button>
  </form>`;
}
