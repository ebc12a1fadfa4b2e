// The clinic's booking policy: deposit, cancellation and reschedule rules. A save publishes a new
// version (earlier bookings keep theirs), so the form sends the version in force with its edits.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { api } from '../api.js';
import { useForm, Field, FormMessage } from '../ui/form.js';
import { Notice } from '../ui/bits.js';

const DEPOSIT_KINDS = [
  { value: 'none', label: 'No deposit' },
  { value: 'percent', label: 'A percentage of the price' },
  { value: 'fixed', label: 'A fixed amount' },
];

/** The writable part of a stored Policy. */
function policyInput(policy) {
  const { version, effective_from, created_at, created_by, ...input } = policy;
  return input;
}

function depositRule(kind, percent, amount) {
  if (kind === 'percent') return { kind, percent: Number(percent) };
  if (kind === 'fixed') return { kind, amount_minor: Math.round(Number(amount) * 100) };
  return { kind: 'none' };
}

export function PolicyForm({ policies, onSaved, submitLabel = 'Publish policy' }) {
  const current = policyInput(policies.in_force);
  const deposit = current.deposit || { kind: 'none' };
  const form = useForm({
    deposit_kind: deposit.kind,
    deposit_percent: String(deposit.percent ?? 20),
    deposit_amount: String((deposit.amount_minor ?? 0) / 100),
    cancellation_window_hours: String(current.cancellation_window_hours),
    cancellation_fee_percent: String(current.cancellation_fee_percent),
    no_show_fee_percent: String(current.no_show_fee_percent),
    reschedule_allowed: current.reschedule_allowed,
    reschedule_window_hours: String(current.reschedule_window_hours),
    'booking.grid_minutes': String(current.booking.grid_minutes),
    'booking.min_notice_minutes': String(current.booking.min_notice_minutes),
    'booking.max_advance_days': String(current.booking.max_advance_days),
  });
  const [saved, setSaved] = useState(null);
  const v = form.values;
  const submit = (event) => form.submit(async (values) => {
    const body = {
      ...current,
      effective_from: null,
      deposit: depositRule(values.deposit_kind, values.deposit_percent, values.deposit_amount),
      cancellation_window_hours: Number(values.cancellation_window_hours),
      cancellation_fee_percent: Number(values.cancellation_fee_percent),
      no_show_fee_percent: Number(values.no_show_fee_percent),
      reschedule_allowed: Boolean(values.reschedule_allowed),
      reschedule_window_hours: Number(values.reschedule_window_hours),
      booking: {
        ...current.booking,
        grid_minutes: Number(values['booking.grid_minutes']),
        min_notice_minutes: Number(values['booking.min_notice_minutes']),
        max_advance_days: Number(values['booking.max_advance_days']),
      },
    };
    const result = await api.put('/v1/policies', body);
    setSaved(result);
    onSaved?.(result);
  }, event);
  return html`<form novalidate onSubmit=${submit}>
    <${FormMessage} form=${form} />
    <fieldset>
      <legend>Online booking</legend>
      <div class="row">
        <${Field} form=${form} name="booking.grid_minutes" label="Start times every (minutes)" type="number" min="5" step="5" />
        <${Field} form=${form} name="booking.min_notice_minutes" label="Minimum notice (minutes)" type="number" min="0" />
        <${Field} form=${form} name="booking.max_advance_days" label="Bookable up to (days ahead)" type="number" min="1" />
      </div>
    </fieldset>
    <fieldset>
      <legend>Deposit when a client books online</legend>
      <${Field} form=${form} name="deposit_kind" label="Deposit" options=${DEPOSIT_KINDS} />
      ${v.deposit_kind === 'percent' && html`<${Field} form=${form} name="deposit" label="Percent of the price" type="number" min="1" max="100"
        value=${v.deposit_percent} onInput=${form.bind('deposit_percent')} />`}
      ${v.deposit_kind === 'fixed' && html`<${Field} form=${form} name="deposit" label="Amount" type="number" min="0" step="0.01"
        value=${v.deposit_amount} onInput=${form.bind('deposit_amount')} />`}
    </fieldset>
    <fieldset>
      <legend>Cancellations and no-shows</legend>
      <${Field} form=${form} name="cancellation_window_hours" label="Late cancellation window (hours before the start)" type="number" min="0" />
      <${Field} form=${form} name="cancellation_fee_percent" label="Late cancellation fee (% of the price)" type="number" min="0" max="100" />
      <${Field} form=${form} name="no_show_fee_percent" label="No-show fee (% of the price)" type="number" min="0" max="100" />
    </fieldset>
    <fieldset>
      <legend>Rescheduling by clients</legend>
      <${Field} form=${form} name="reschedule_allowed" label="Clients may move their own appointments" type="checkbox" />
      <${Field} form=${form} name="reschedule_window_hours" label="Not within this many hours of the start" type="number" min="0" />
    </fieldset>
    ${saved && html`<${Notice}>Policy version ${saved.version} published, in force from ${saved.effective_from}.</${Notice}>`}
    <button type="submit" class="primary" disabled=${form.busy}>${submitLabel}</button>
  </form>`;
}
