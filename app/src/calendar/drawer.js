// One booking's details and the actions its status allows and the viewer may take. Payments
// only for roles that read payments; the screening outcome only for clinical roles.
import { useState } from 'preact/hooks';
import { html } from './html.js';
import { Dialog, reasonOf } from './dialog.js';
import { useFeePreview, FeeSummary } from './fee.js';
import { allowedActions, statusStyle, has } from './status.js';
import { formatMoney } from './money.js';
import { dateTimeIn, timeIn, zoneLabel } from './zone.js';

/** Actions that may cost the client a fee: confirmed after the preview is read. */
const FEE_ACTIONS = { cancel: 'cancel', no_show: 'no_show' };

function DepositState({ appointment }) {
  const { deposit, deposit_paid: paid, price } = appointment;
  const state = deposit.amount_minor === 0 ? 'No deposit asked'
    : paid.amount_minor >= deposit.amount_minor ? `Deposit paid: ${formatMoney(paid)}`
      : `Deposit of ${formatMoney(deposit)} not yet paid (${formatMoney(paid)} received)`;
  return html`<div><dt>Price</dt><dd>${formatMoney(price)}</dd></div><div><dt>Deposit</dt><dd>${state}</dd></div>`;
}

export function AppointmentDrawer({ api, me, appointment, names, timeZone, onClose, onChanged }) {
  const [pending, setPending] = useState(null);
  const [problem, setProblem] = useState('');
  const [busy, setBusy] = useState(false);
  const fee = useFeePreview(api, appointment.id, pending && FEE_ACTIONS[pending.action]);
  const style = statusStyle(appointment.status);
  const actions = allowedActions(me, appointment);

  const run = async (action) => {
    setBusy(true);
    setProblem('');
    try {
      const updated = await api('PATCH', `/v1/appointments/${encodeURIComponent(appointment.id)}`, { action: action.action, version: appointment.version });
      setPending(null);
      onChanged(updated, `${names.client(appointment.client_id)}: ${statusStyle(updated.status).label.toLowerCase()}`);
    } catch (error) {
      setProblem(reasonOf(error));
    } finally {
      setBusy(false);
    }
  };
  const choose = (action) => (FEE_ACTIONS[action.action] ? setPending(action) : run(action));

  return html`
    <${Dialog} title=${names.client(appointment.client_id)} onClose=${onClose}>
      <div class="mas-drawer-body" data-appointment-id=${appointment.id}>
        <p><span class="mas-badge" style=${{ background: style.background, color: style.text, borderColor: style.border }}
          data-testid="status">${style.label}</span> <span class="mas-hint">${appointment.confirmation_number}</span></p>
        <dl class="mas-details">
          <div><dt>Service</dt><dd>${names.service(appointment.service_id)}</dd></div>
          <div><dt>When</dt><dd>${dateTimeIn(appointment.start, timeZone)}–${timeIn(appointment.end, timeZone)} <span class="mas-hint">(${zoneLabel(timeZone, appointment.start)})</span></dd></div>
          <div><dt>Practitioner</dt><dd>${names.practitioner(appointment.practitioner_id)}</dd></div>
          ${appointment.status === 'pending_deposit' && appointment.hold_expires_at && html`
            <div><dt>Hold</dt><dd>Held until ${dateTimeIn(appointment.hold_expires_at, timeZone)}; released if the deposit is not paid</dd></div>`}
          ${has(me, 'payments_read') && html`<${DepositState} appointment=${appointment} />`}
          ${has(me, 'clinical_read') && appointment.screening && html`
            <div><dt>Screening</dt><dd>${appointment.screening.outcome}${appointment.screening.flag_codes.length ? ` (${appointment.screening.flag_codes.join(', ')})` : ''}</dd></div>`}
          ${appointment.notes && html`<div><dt>Notes</dt><dd>${appointment.notes}</dd></div>`}
        </dl>
        ${pending ? html`
          <div class="mas-confirm">
            <p><strong>${pending.label}?</strong></p>
            <${FeeSummary} state=${fee} />
            <div class="mas-actions">
              <button type="button" class="mas-button" onClick=${() => setPending(null)}>Go back</button>
              <button type="button" class="mas-button mas-danger" disabled=${busy || fee.loading} onClick=${() => run(pending)}>Confirm: ${pending.label.toLowerCase()}</button>
            </div>
          </div>`
        : actions.length > 0 && html`
          <div class="mas-actions mas-actions-start" role="group" aria-label="Actions">
            ${actions.map((a) => html`<button key=${a.action} type="button" class=${`mas-button${a.action === 'cancel' || a.action === 'no_show' ? ' mas-danger' : ' mas-primary'}`}
              disabled=${busy} onClick=${() => choose(a)}>${a.label}</button>`)}
          </div>`}
        ${problem && html`<p class="mas-problem" role="alert">${problem}</p>`}
      </div>
    <//>`;
}
