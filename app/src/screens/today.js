// Today: the day's bookings per location and arrivals for everyone; unsigned consents,
// unpaid balances and failed messages only for the roles allowed to see them (a section the
// role may not see is not mounted, so it never fetches).
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { ScrollTable } from '../ui/scroll-table.js';
import { api } from '../api.js';
import { can } from '../permissions.js';
import { useLoad } from '../ui/async.js';
import { Loaded, PageTitle, ErrorText } from '../ui/bits.js';
import { StatusBadge } from '../ui/status.js';
import { catalog, clients } from '../lookups.js';
import { dayIn, time, money, clientName, label, channel } from '../format.js';
import { documentsOf } from '../documents-of.js';
import { messagesOf } from '../messages.js';
import { KpiTiles, monthToDate } from './reports.js';

const ARRIVING = ['scheduled', 'checked_in'];

async function loadDay(timeZone) {
  const day = dayIn(timeZone);
  const [appointments, lookups] = await Promise.all([api.get(`/v1/appointments?from=${day}&to=${day}`), catalog()]);
  const sorted = appointments.sort((a, b) => a.start.localeCompare(b.start));
  const people = await clients(sorted.map((a) => a.client_id));
  return { day, appointments: sorted, ...lookups, clients: people };
}

export function Today({ me }) {
  // An educator sees no bookings: their day is the academy's.
  if (!can(me, 'booking_read')) {
    return html`<section class="today"><${PageTitle}>Today</${PageTitle}>
      <p>Your courses, cohorts and rosters are in the <a href="#/academy">Academy</a>.</p></section>`;
  }
  return html`<${Day} me=${me} />`;
}

function Day({ me }) {
  const state = useLoad(() => loadDay(me.tenant.timezone), []);
  return html`<section class="today">
    <${PageTitle} sub=${new Intl.DateTimeFormat('en-GB', { dateStyle: 'full', timeZone: me.tenant.timezone }).format(new Date())}>Today</${PageTitle}>
    <${Loaded} state=${state} what="Loading today">${(data) => html`
      ${can(me, 'analytics_limited') && html`<${MonthSoFar} me=${me} />`}
      <div class="grid">
        <${Bookings} data=${data} me=${me} />
        <${Arrivals} data=${data} me=${me} onChanged=${state.reload} />
        ${can(me, 'documents_read') && html`<${UnsignedConsents} data=${data} />`}
        ${can(me, 'payments_read') && html`<${UnpaidBalances} data=${data} />`}
        <${FailedMessages} data=${data} me=${me} />
      </div>`}
    </${Loaded}>
  </section>`;
}

function Card({ id, title, children, wide }) {
  return html`<section class=${`card panel${wide ? ' wide' : ''}`} aria-labelledby=${id} id=${`${id}-panel`}>
    <h2 id=${id}>${title}</h2>
    ${children}
  </section>`;
}

function who(data, appointment) {
  const person = data.clients.get(appointment.client_id);
  return person ? html`<a href=${`#/clients/${person.id}`}>${clientName(person)}</a>` : 'Client';
}

function Bookings({ data, me }) {
  const clinical = can(me, 'clinical_read');
  const byLocation = new Map();
  for (const a of data.appointments) {
    if (!byLocation.has(a.location_id)) byLocation.set(a.location_id, []);
    byLocation.get(a.location_id).push(a);
  }
  return html`<${Card} id="h-bookings" title=${`Bookings (${data.appointments.length})`} wide>
    ${data.appointments.length === 0 && html`<p class="muted">No bookings today.</p>`}
    ${[...byLocation].map(([locationId, list]) => {
      const place = data.locations.get(locationId);
      return html`<h3>${place?.name || 'Location'}</h3>
        <${ScrollTable} label=${`Bookings at ${place?.name || 'this location'}`}><table class="bookings">
          <thead><tr><th scope="col">Time</th><th scope="col">Client</th><th scope="col">Treatment</th><th scope="col">With</th><th scope="col">Status</th>
            ${clinical && html`<th scope="col">Screening</th>`}</tr></thead>
          <tbody>${list.map((a) => html`<tr data-confirmation=${a.confirmation_number}>
            <td>${time(a.start, a.timezone)}</td>
            <td>${who(data, a)}</td>
            <td>${data.services.get(a.service_id)?.name || 'Treatment'}</td>
            <td>${data.practitioners.get(a.practitioner_id)?.display_name || ''}</td>
            <td><${StatusBadge} status=${a.status} /></td>
            ${clinical && html`<td data-screening>${a.screening ? label(a.screening.outcome) : '—'}</td>`}
          </tr>`)}</tbody>
        </table></${ScrollTable}>`;
    })}
  </${Card}>`;
}

function Arrivals({ data, me, onChanged }) {
  const arriving = data.appointments.filter((a) => ARRIVING.includes(a.status));
  const mayAct = can(me, 'booking_write_own');
  const [error, setError] = useState(null);
  const checkIn = async (a) => {
    setError(null);
    await api.patch(`/v1/appointments/${a.id}`, { action: 'check_in', version: a.version }).catch(setError);
    onChanged();
  };
  return html`<${Card} id="h-arrivals" title="Arrivals">
    <${ErrorText} error=${error} />
    ${arriving.length === 0 ? html`<p class="muted">No more arrivals expected today.</p>` : html`<ul class="plain-list">
      ${arriving.map((a) => html`<li class="arrival split">
        <span><strong>${time(a.start, a.timezone)}</strong> ${who(data, a)} · <${StatusBadge} status=${a.status} /></span>
        ${mayAct && a.status === 'scheduled' && html`<button type="button" class="secondary small" onClick=${() => checkIn(a)}>Check in</button>`}
      </li>`)}
    </ul>`}
  </${Card}>`;
}

function UnsignedConsents({ data }) {
  const ids = [...new Set(data.appointments.map((a) => a.client_id))];
  const state = useLoad(async () => {
    const lists = await Promise.all(ids.map((id) => documentsOf(id)));
    return lists.flat().filter((d) => d.kind === 'consent' && d.status === 'generated');
  }, [ids.join()]);
  return html`<${Card} id="h-consents" title="Unsigned consents">
    <${Loaded} state=${state}>${(docs) => (docs.length === 0 ? html`<p class="muted">Every consent for today is signed.</p>` : html`<ul class="plain-list">
      ${docs.map((d) => html`<li><a href=${`#/clients/${d.client_id}`}>${d.client_name}</a> · ${d.content.title}</li>`)}
    </ul>`)}</${Loaded}>
  </${Card}>`;
}

/** What is still owed on each of today's appointments: the price less what was collected. */
function UnpaidBalances({ data }) {
  const due = data.appointments.filter((a) => !['cancelled', 'pending_deposit'].includes(a.status));
  const state = useLoad(async () => {
    const payments = await Promise.all(due.map((a) => api.get(`/v1/payments?appointment_id=${a.id}`)));
    return due.map((a, i) => {
      const paid = payments[i].reduce((sum, p) => sum + p.captured - p.refunded, 0);
      return { appointment: a, paid, owed: a.price.amount_minor - paid };
    }).filter((row) => row.owed > 0);
  }, [due.map((a) => a.id).join()]);
  return html`<${Card} id="h-balances" title="Unpaid balances">
    <${Loaded} state=${state}>${(rows) => (rows.length === 0 ? html`<p class="muted">Nothing is owed for today.</p>` : html`<ul class="plain-list">
      ${rows.map(({ appointment: a, paid, owed }) => html`<li class="balance split">
        <span>${who(data, a)} · ${time(a.start, a.timezone)}</span>
        <span><strong>${money({ amount_minor: owed, currency: a.price.currency })}</strong> due${' '}
          <span class="muted">(paid ${money({ amount_minor: paid, currency: a.price.currency })} of ${money(a.price)})</span></span>
      </li>`)}
    </ul>`)}</${Loaded}>
  </${Card}>`;
}

function FailedMessages({ data, me }) {
  const ids = [...new Set(data.appointments.map((a) => a.client_id))];
  const state = useLoad(async () => {
    const logs = await Promise.all(ids.map((id) => messagesOf(me, id)));
    return logs.flatMap((log) => log.visible).filter((m) => m.status === 'failed' || m.status === 'undeliverable');
  }, [ids.join()]);
  return html`<${Card} id="h-messages" title="Messages that failed">
    <${Loaded} state=${state}>${(messages) => (messages.length === 0 ? html`<p class="muted">No failed messages for today's clients.</p>` : html`<ul class="plain-list">
      ${messages.map((m) => html`<li><a href=${`#/clients/${m.client_id}`}>${clientName(data.clients.get(m.client_id)) || 'Client'}</a> ·
        ${channel(m.channel)} ${label(m.kind || 'message')}: <span class="muted">${m.reason || label(m.status)}</span></li>`)}
    </ul>`)}</${Loaded}>
  </${Card}>`;
}

/** This month so far, beside the same number of days before it (a few tiles; Reports has the rest). */
function MonthSoFar({ me }) {
  const period = monthToDate(me.tenant.timezone);
  const state = useLoad(() => api.get(`/v1/analytics/kpis?from=${period.from}&to=${period.to}&compare=previous`), []);
  return html`<section class="month-so-far" aria-labelledby="h-month-so-far">
    <h2 id="h-month-so-far">This month so far</h2>
    <${Loaded} state=${state} what="Loading this month's figures">${(report) => html`
      <${KpiTiles} report=${report} only=${['visits', 'show-rate', 'new-clients', 'revenue']} />`}
    </${Loaded}>
    <p><a href="#/reports">More figures and charts</a></p>
  </section>`;
}
