// Clients: search by name, email or phone (GET /v1/clients?q=), page on, and add a client.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { ScrollTable } from '../ui/scroll-table.js';
import { api } from '../api.js';
import { can } from '../permissions.js';
import { navigate } from '../router.js';
import { useLoad, useDebounced } from '../ui/async.js';
import { Loaded, PageTitle } from '../ui/bits.js';
import { ClientForm } from '../forms/client.js';
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
  return html`<section class="card" aria-labelledby="h-new-client">
    <h2 id="h-new-client">New client</h2>
    <${ClientForm} onSaved=${onCreated} />
  </section>`;
}
