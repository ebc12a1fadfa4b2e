// The waitlist (#/waitlist): a location's clients waiting for a time, in the order they are
// offered one (first joined, first asked), optionally of one service and with closed entries;
// adding a client (a service, a practitioner or anyone, a window of days and times of day in the
// location's time) and taking one off (an open offer goes to the next waiter). Offers themselves
// are made by the server when time frees up, and answered by the client from their link.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import { api } from '../api.js';
import { can } from '../permissions.js';
import { useLoad } from '../ui/async.js';
import { Loaded, PageTitle } from '../ui/bits.js';
import { Field, FormMessage, useForm } from '../ui/form.js';
import { ScrollTable } from '../ui/scroll-table.js';
import { catalog, clients } from '../lookups.js';
import { clientName, dateTime, dayIn, label } from '../format.js';
import { ClientPicker } from '../forms/client-picker.js';

const hm = (t) => (t ? t.slice(0, 5) : '');
const span = (w) => `${w.from_date} – ${w.to_date}${w.earliest || w.latest ? `, ${hm(w.earliest) || '…'}–${hm(w.latest) || '…'}` : ''}`;

export function Waitlist({ me }) {
  const cat = useLoad(() => catalog(), []);
  const [location, setLocation] = useState('');
  const [service, setService] = useState('');
  const [all, setAll] = useState(false);
  const [round, setRound] = useState(0);
  const locations = cat.data ? [...cat.data.locations.values()].filter((l) => !l.archived) : [];
  useEffect(() => { if (!location && locations.length) setLocation(locations[0].id); }, [cat.data]);
  const list = useLoad(async () => {
    if (!location) return [];
    const q = new URLSearchParams({ location_id: location, all: String(all) });
    if (service) q.set('service_id', service);
    const entries = await api.get(`/v1/waitlist?${q}`);
    const names = await clients(entries.map((e) => e.client_id));
    return entries.map((e) => ({ ...e, client: names.get(e.client_id) }));
  }, [location, service, all, round]);
  const services = cat.data ? [...cat.data.services.values()].filter((s) => !s.archived) : [];
  const tz = cat.data?.locations.get(location)?.timezone;
  const remove = async (entry) => {
    if (!confirm(`Take ${clientName(entry.client) || 'this client'} off the waitlist?`)) return;
    try {
      await api.del(`/v1/waitlist/${entry.id}`);
      setRound(round + 1);
    } catch (err) {
      alert(err.message);
    }
  };
  return html`<section class="waitlist">
    <${PageTitle} sub="When a time frees up, the first client it suits is offered it by email or text, held for an hour.">Waitlist</${PageTitle}>
    <section class="card" aria-labelledby="h-waitlist-list">
      <h2 id="h-waitlist-list">Waiting</h2>
      <div class="filters">
        <${Field} name="location" label="Location" value=${location} onInput=${(e) => setLocation(e.currentTarget.value)}
          options=${locations.map((l) => ({ value: l.id, label: l.name }))} />
        <${Field} name="service" label="Service" value=${service} onInput=${(e) => setService(e.currentTarget.value)}
          options=${[{ value: '', label: 'All services' }, ...services.map((s) => ({ value: s.id, label: s.name }))]} />
        <${Field} name="all" type="checkbox" label="Show booked, expired and withdrawn" value=${all} onInput=${(e) => setAll(e.currentTarget.checked)} />
      </div>
      <${Loaded} state=${list} what="Loading the waitlist">${(entries) => (entries.length === 0
        ? html`<p class="muted">Nobody is waiting here.</p>`
        : html`<${ScrollTable} label="Waitlist"><table id="waitlist-table">
          <thead><tr><th scope="col">Client</th><th scope="col">Service</th><th scope="col">With</th><th scope="col">When they could come</th><th scope="col">Status</th><th scope="col">Joined</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
          <tbody>${entries.map((e) => html`<tr data-waitlist=${e.id}>
            <th scope="row"><a href=${`#/clients/${e.client_id}`}>${clientName(e.client) || e.client_id}</a></th>
            <td>${cat.data.services.get(e.service_id)?.name || e.service_id}</td>
            <td>${e.practitioner_id ? cat.data.practitioners.get(e.practitioner_id)?.display_name || e.practitioner_id : 'Anyone'}</td>
            <td>${span(e.window)}</td>
            <td data-status>${label(e.status)}${e.status === 'offered' && e.offer ? ` · ${dateTime(e.offer.start, tz)} until ${dateTime(e.offer.expires_at, tz)}` : ''}</td>
            <td>${dateTime(e.created_at, tz)}</td>
            <td>${can(me, 'booking_write') && (e.status === 'waiting' || e.status === 'offered') && html`<button type="button" class="link-button" onClick=${() => remove(e)}>Remove</button>`}</td>
          </tr>`)}</tbody></table></${ScrollTable}>`)}
      </${Loaded}>
    </section>
    ${can(me, 'booking_write') && location && cat.data && html`<${AddToWaitlist} cat=${cat.data} location=${location} tz=${tz} onAdded=${() => setRound(round + 1)} />`}
  </section>`;
}

function AddToWaitlist({ cat, location, tz, onAdded }) {
  const today = dayIn(tz || 'Europe/London');
  const services = [...cat.services.values()].filter((s) => !s.archived && s.active !== false);
  const form = useForm({ service_id: services[0]?.id || '', practitioner_id: '', from_date: today, to_date: today, earliest: '', latest: '' });
  const [client, setClient] = useState(null);
  const [done, setDone] = useState(null);
  const practitioners = [...cat.practitioners.values()].filter((p) => !p.archived);
  const add = (event) => form.submit(async (v) => {
    const window = { from_date: v.from_date, to_date: v.to_date };
    if (v.earliest) window.earliest = v.earliest;
    if (v.latest) window.latest = v.latest;
    const body = { client_id: client?.id, location_id: location, service_id: v.service_id, window };
    if (v.practitioner_id) body.practitioner_id = v.practitioner_id;
    await api.post('/v1/waitlist', body);
    setDone(`${clientName(client)} is on the waitlist.`);
    setClient(null);
    onAdded();
  }, event);
  return html`<section class="card" aria-labelledby="h-waitlist-add">
    <h2 id="h-waitlist-add">Add a client</h2>
    <form novalidate onSubmit=${add} id="waitlist-add">
      ${client ? html`<p>Client: <strong>${clientName(client)}</strong> <button type="button" class="link-button" onClick=${() => setClient(null)}>Change</button></p>`
        : html`<${ClientPicker} onPick=${(c) => { setClient(c); setDone(null); }} />`}
      <${Field} form=${form} name="service_id" label="Service" options=${services.map((s) => ({ value: s.id, label: s.name }))} />
      <${Field} form=${form} name="practitioner_id" label="With" options=${[{ value: '', label: 'Anyone' }, ...practitioners.map((p) => ({ value: p.id, label: p.display_name }))]} />
      <${Field} form=${form} name="from_date" type="date" label="From" />
      <${Field} form=${form} name="to_date" type="date" label="Until" hint="At most 92 days." />
      <${Field} form=${form} name="earliest" type="time" label="Not before (optional)" hint="The location's time." />
      <${Field} form=${form} name="latest" type="time" label="Not after (optional)" />
      <${FormMessage} form=${form} />
      ${done && html`<p class="notice notice-info" role="status">${done}</p>`}
      <button type="submit" class="primary" disabled=${form.busy || !client}>Add to the waitlist</button>
    </form>
  </section>`;
}
