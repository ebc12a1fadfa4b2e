// One client's file. Every section is mounted only for a role allowed to see it, so a role never
// fetches what it may not read: documents (documents_read), medical history (clinical_read),
// payments (payments_read), packages of sessions (packages_read; voided by packages_void),
// loyalty points (loyalty_read; adjusted by loyalty_manage), memberships (packages_read; started,
// paused and cancelled by memberships_write).
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { ScrollTable } from '../ui/scroll-table.js';
import { api } from '../api.js';
import { can } from '../permissions.js';
import { useLoad } from '../ui/async.js';
import { Loaded, PageTitle } from '../ui/bits.js';
import { StatusBadge } from '../ui/status.js';
import { catalog } from '../lookups.js';
import { clientName, dateTime, money, label, channel } from '../format.js';
import { timelineOf, appointmentsOf } from '../documents-of.js';
import { messagesOf } from '../messages.js';
import { ClientDocuments } from './client-documents.js';
import { Memberships } from './client-memberships.js';
import { MedicalHistory } from './client-medical.js';
import { Preferences } from './client-preferences.js';
import { ClientForm } from '../forms/client.js';
import { Loyalty } from './client-loyalty.js';

export function ClientFile({ me, id }) {
  const state = useLoad(async () => {
    const [client, timeline, lookups, messages] = await Promise.all([api.get(`/v1/clients/${id}`), timelineOf(id), catalog(), messagesOf(me, id)]);
    return { client, timeline, lookups, messages, appointments: await appointmentsOf(timeline) };
  }, [id]);
  return html`<${Loaded} state=${state} what="Loading the client's file">${(data) => html`<section class="client-file">
    <${PageTitle} sub=${[data.client.email, data.client.phone].filter(Boolean).join(' · ')}>${clientName(data.client)}</${PageTitle}>
    <p><a href="#/clients">← All clients</a></p>
    <div class="grid">
      <${Profile} me=${me} client=${data.client} />
      <${Appointments} data=${data} me=${me} />
      ${can(me, 'payments_read') && html`<${Payments} appointments=${data.appointments} />`}
      ${can(me, 'packages_read') && html`<${Packages} me=${me} client=${data.client} />`}
      ${can(me, 'loyalty_read') && html`<${Loyalty} me=${me} client=${data.client} Panel=${Panel} />`}
      ${can(me, 'packages_read') && html`<${Memberships} me=${me} client=${data.client} />`}
      ${can(me, 'documents_read') && html`<${ClientDocuments} me=${me} client=${data.client} timeline=${data.timeline} />`}
      ${can(me, 'clinical_read') && html`<${MedicalHistory} client=${data.client} appointments=${data.appointments} />`}
      <${Messages} messages=${data.messages.visible} />
      <${Preferences} me=${me} client=${data.client} />
      <${Timeline} me=${me} timeline=${data.timeline} hiddenMessages=${data.messages.hiddenIds} />
    </div>
  </section>`}</${Loaded}>`;
}

export function Panel({ id, title, children, wide }) {
  return html`<section class=${`card panel${wide ? ' wide' : ''}`} aria-labelledby=${id}><h2 id=${id}>${title}</h2>${children}</section>`;
}

function Profile({ me, client: initial }) {
  const [client, setClient] = useState(initial);
  const [editing, setEditing] = useState(false);
  const rows = [
    ['Email', client.email], ['Phone', client.phone], ['Date of birth', client.date_of_birth],
    ['Marketing', client.marketing_consent ? 'Agreed' : 'Not agreed'], ['Notes', client.notes],
  ];
  return html`<${Panel} id="h-profile" title="Profile">
    ${editing
      ? html`<${ClientForm} client=${client} submitLabel="Save changes" emailLocked=${!can(me, 'clinical_write')}
          onSaved=${(saved) => { setClient(saved); setEditing(false); }} />`
      : html`<dl class="facts">${rows.filter(([, v]) => v).map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>
        ${can(me, 'booking_write_own') && html`<button type="button" class="secondary small" onClick=${() => setEditing(true)}>Edit profile</button>`}`}
  </${Panel}>`;
}

function Appointments({ data, me }) {
  const clinical = can(me, 'clinical_read');
  const { services, locations } = data.lookups;
  return html`<${Panel} id="h-appointments" title="Appointments" wide>
    ${data.appointments.length === 0 ? html`<p class="muted">No appointments yet.</p>` : html`<${ScrollTable} label="Appointments"><table>
      <thead><tr><th scope="col">When</th><th scope="col">Treatment</th><th scope="col">Where</th><th scope="col">Status</th><th scope="col">Price</th>
        ${clinical && html`<th scope="col">Screening</th>`}</tr></thead>
      <tbody>${data.appointments.map((a) => html`<tr>
        <td>${dateTime(a.start, a.timezone)}</td><td>${services.get(a.service_id)?.name || ''}</td><td>${locations.get(a.location_id)?.name || ''}</td>
        <td><${StatusBadge} status=${a.status} /></td><td>${money(a.price)}</td>
        ${clinical && html`<td data-screening>${a.screening ? `${label(a.screening.outcome)}${a.screening.flag_codes.length ? `: ${a.screening.flag_codes.map(label).join(', ')}` : ''}` : '—'}</td>`}
      </tr>`)}</tbody>
    </table></${ScrollTable}>`}
  </${Panel}>`;
}

function Payments({ appointments }) {
  const state = useLoad(async () => (await Promise.all(appointments.map((a) => api.get(`/v1/payments?appointment_id=${a.id}`)))).flat(), [appointments.map((a) => a.id).join()]);
  return html`<${Panel} id="h-payments" title="Payments">
    <${Loaded} state=${state}>${(payments) => (payments.length === 0 ? html`<p class="muted">No payments yet.</p>` : html`<ul class="plain-list">
      ${payments.map((p) => html`<li><strong>${money({ amount_minor: p.captured, currency: p.amount.currency })}</strong> ${label(p.kind)} · <${StatusBadge} status=${p.status} />${p.refunded > 0 ? html` · refunded ${money({ amount_minor: p.refunded, currency: p.amount.currency })}` : ''}
        ${p.dispute && html`<span data-dispute> · dispute ${label(p.dispute.status)} (${money({ amount_minor: p.dispute.amount, currency: p.amount.currency })})</span>`}
        ${p.destination && html`<span class="muted"> · platform fee ${money({ amount_minor: p.destination.application_fee, currency: p.amount.currency })}</span>`}
        <span class="muted"> · ${dateTime(p.created_at)}</span></li>`)}
    </ul>`)}</${Loaded}>
  </${Panel}>`;
}

/** The client's packages of sessions: what is left of each, until when; voided with a reason. */
function Packages({ me, client }) {
  const [round, setRound] = useState(0);
  const state = useLoad(() => api.get(`/v1/clients/${client.id}/packages`), [client.id, round]);
  return html`<${Panel} id="h-packages" title="Packages">
    <${Loaded} state=${state} what="Loading the packages">${(packages) => (packages.length === 0 ? html`<p class="muted">No packages.</p>` : html`<ul class="plain-list" id="client-packages">
      ${packages.map((p) => html`<li data-package=${p.id}><strong>${p.template.name}</strong>:
        <span data-remaining>${p.sessions_remaining} of ${p.sessions_total} sessions left</span> · <${StatusBadge} status=${p.status} />
        <span class="muted"> · valid until ${dateTime(p.expires_at)}</span>
        ${can(me, 'packages_void') && p.status === 'active' && html`<${VoidPackage} package=${p} onDone=${() => setRound(round + 1)} />`}</li>`)}
    </ul>`)}</${Loaded}>
  </${Panel}>`;
}

function VoidPackage({ package: p, onDone }) {
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState('');
  const [problem, setProblem] = useState(null);
  if (!open) return html` <button type="button" class="link-button" onClick=${() => setOpen(true)}>Void…</button>`;
  const submit = async (event) => {
    event.preventDefault();
    setProblem(null);
    try {
      await api.post(`/v1/packages/${p.id}/void`, { reason });
      onDone();
    } catch (err) {
      setProblem(err.message || String(err));
    }
  };
  return html`<form novalidate onSubmit=${submit} class="inline-form">
    <label>Why is it voided? <input name="reason" value=${reason} onInput=${(e) => setReason(e.currentTarget.value)} /></label>
    <button type="submit" class="secondary small">Void the package</button>
    ${problem && html`<p class="notice notice-error" role="alert">${problem}</p>`}
  </form>`;
}

function Messages({ messages }) {
  return html`<${Panel} id="h-messages" title="Messages">
    ${messages.length === 0 ? html`<p class="muted">No messages yet.</p>` : html`<ul class="plain-list">
      ${messages.map((m) => html`<li>${channel(m.channel)} · ${m.summary} · <${StatusBadge} status=${m.status} />
        ${m.reason && html`<span class="muted"> (${m.reason})</span>`}<span class="muted"> · ${dateTime(m.created_at)}</span></li>`)}
    </ul>`}
  </${Panel}>`;
}

/** The record's history; document, signing-message and medical entries only for roles that may read those. */
function Timeline({ me, timeline, hiddenMessages }) {
  const hidden = [!can(me, 'documents_read') && 'document.', !can(me, 'clinical_read') && 'medical.'].filter(Boolean);
  const items = timeline.items.filter((e) => !hidden.some((prefix) => e.kind.startsWith(prefix))
    && !(e.kind.startsWith('message.') && hiddenMessages.has(e.ref_id)));
  return html`<${Panel} id="h-timeline" title="Timeline" wide>
    <ol class="timeline">${items.map((e) => html`<li><time datetime=${e.at}>${dateTime(e.at)}</time> ${e.summary}</li>`)}</ol>
  </${Panel}>`;
}
