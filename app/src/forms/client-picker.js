// Finding a client by name, email or phone and picking one.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { api } from '../api.js';
import { useLoad, useDebounced } from '../ui/async.js';
import { clientName } from '../format.js';

export function ClientPicker({ onPick }) {
  const [query, setQuery] = useState('');
  const search = useDebounced(query.trim());
  const found = useLoad(() => (search.length < 2 ? [] : api.get(`/v1/clients?q=${encodeURIComponent(search)}&limit=8`).then((p) => p.items)), [search]);
  return html`<div class="picker">
    <label for="pick-client">Client</label>
    <input id="pick-client" type="search" value=${query} placeholder="Type a name, email or phone" onInput=${(e) => setQuery(e.currentTarget.value)} />
    ${(found.data || []).length > 0 && html`<ul class="plain-list picks" aria-label="Matching clients">
      ${found.data.map((c) => html`<li><button type="button" class="link-button" onClick=${() => { onPick(c); setQuery(''); }}>${clientName(c)}${c.email ? ` · ${c.email}` : ''}</button></li>`)}
    </ul>`}
  </div>`;
}
