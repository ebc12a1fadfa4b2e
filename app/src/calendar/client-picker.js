// Choosing the client of a booking: search the clinic's clients (name, email or phone), or
// enter a new client's details to be created when the booking is made.
import { useEffect, useState } from 'preact/hooks';
import { html } from './html.js';
import { reasonOf } from './dialog.js';

const SEARCH_DELAY_MS = 250;

/** `value` is {mode:'existing', client} or {mode:'new', first_name, last_name, phone, email}. */
export function ClientPicker({ api, value, onChange }) {
  const [query, setQuery] = useState('');
  const [results, setResults] = useState([]);
  const [status, setStatus] = useState('');

  useEffect(() => {
    if (value.mode !== 'existing' || query.trim().length < 2) { setResults([]); setStatus(''); return undefined; }
    let current = true;
    const timer = setTimeout(async () => {
      try {
        const page = await api('GET', `/v1/clients?${new URLSearchParams({ q: query.trim(), limit: '8' })}`);
        if (!current) return;
        setResults(page.items);
        setStatus(page.items.length ? `${page.items.length} found` : 'No client found: add them as a new client');
      } catch (error) {
        if (current) { setResults([]); setStatus(reasonOf(error)); }
      }
    }, SEARCH_DELAY_MS);
    return () => { current = false; clearTimeout(timer); };
  }, [query, value.mode]);

  const field = (name) => (event) => onChange({ ...value, [name]: event.currentTarget.value });
  const mode = (next) => () => onChange(next === 'new' ? { mode: 'new', first_name: '', last_name: '', phone: '', email: '' } : { mode: 'existing', client: null });

  return html`
    <fieldset class="mas-fieldset">
      <legend>Client</legend>
      <div class="mas-segmented" role="radiogroup" aria-label="Client">
        <label><input type="radio" name="client-mode" checked=${value.mode === 'existing'} onChange=${mode('existing')} /> Find a client</label>
        <label><input type="radio" name="client-mode" checked=${value.mode === 'new'} onChange=${mode('new')} /> New client</label>
      </div>
      ${value.mode === 'existing' ? html`
        <label class="mas-field">Name, email or phone
          <input type="search" value=${query} onInput=${(e) => setQuery(e.currentTarget.value)} autocomplete="off" />
        </label>
        <p class="mas-hint" role="status">${status}</p>
        ${results.length > 0 && html`
          <div class="mas-results" role="radiogroup" aria-label="Matching clients">
            ${results.map((client) => html`
              <label key=${client.id} class="mas-result">
                <input type="radio" name="client-choice" checked=${value.client?.id === client.id}
                  onChange=${() => onChange({ mode: 'existing', client })} />
                <span>${client.first_name} ${client.last_name}</span>
                <span class="mas-hint">${[client.email, client.phone].filter(Boolean).join(' · ')}</span>
              </label>`)}
          </div>`}
        ${value.client && html`<p class="mas-chosen">Chosen: ${value.client.first_name} ${value.client.last_name}</p>`}
      ` : html`
        <div class="mas-row">
          <label class="mas-field">First name <input required value=${value.first_name} onInput=${field('first_name')} autocomplete="off" /></label>
          <label class="mas-field">Last name <input required value=${value.last_name} onInput=${field('last_name')} autocomplete="off" /></label>
        </div>
        <div class="mas-row">
          <label class="mas-field">Mobile (optional) <input type="tel" value=${value.phone} onInput=${field('phone')} placeholder="+44 7700 900123" /></label>
          <label class="mas-field">Email (optional) <input type="email" value=${value.email} onInput=${field('email')} /></label>
        </div>`}
    </fieldset>`;
}

/**
 * The chosen client's id: the existing one, or a new client created now (an email already on
 * file answers 409 `client_exists` naming that client, who is then used).
 */
export async function resolveClient(api, value) {
  if (value.mode === 'existing') {
    if (!value.client) throw new Error('Choose a client, or add a new one');
    return value.client;
  }
  const input = { first_name: value.first_name.trim(), last_name: value.last_name.trim() };
  if (value.phone.trim()) input.phone = value.phone.trim();
  if (value.email.trim()) input.email = value.email.trim();
  try {
    return await api('POST', '/v1/clients', input);
  } catch (error) {
    const existing = error?.body?.error?.code === 'client_exists' && error.body.error.details?.client_id;
    if (!existing) throw error;
    return api('GET', `/v1/clients/${encodeURIComponent(existing)}`);
  }
}
