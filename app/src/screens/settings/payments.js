// Online payments (owners only): where the clinic's own Stripe account stands (GET
// /v1/payments/connect) and a button that opens Stripe's onboarding form (POST answers a fresh,
// single-use link; Stripe sends the owner back here with ?connect=return, or ?connect=refresh
// when the link had expired). The clinic's online payments go to that account, less the
// platform's fee; without it, on AWS, the clinic takes no online payment.
import { useState } from 'preact/hooks';
import { html } from '../../html.js';
import { api } from '../../api.js';
import { dateTime, label } from '../../format.js';
import { useLoad } from '../../ui/async.js';
import { Loaded, Notice } from '../../ui/bits.js';
import { useForm, FormMessage } from '../../ui/form.js';

const STATES = {
  not_connected: 'Not connected',
  onboarding: 'Onboarding not finished',
  restricted: 'Stripe needs more before it takes payments',
  active: 'Connected: online payments go to your Stripe account',
};

export function OnlinePayments({ route }) {
  const [reload, setReload] = useState(0);
  const state = useLoad(() => api.get('/v1/payments/connect'), [reload]);
  const back = route?.query?.get('connect');
  const start = useForm({});
  const open = (event) => start.submit(async () => {
    const answer = await api.post('/v1/payments/connect', {});
    location.assign(answer.url);
  }, event);
  return html`<${Loaded} state=${state}>${(s) => html`<div>
    ${back === 'return' && html`<${Notice}>Back from Stripe. If the status below has not changed yet, Stripe is still confirming: <button type="button" class="link-button" onClick=${() => setReload((n) => n + 1)}>check again</button>.</${Notice}>`}
    ${back === 'refresh' && html`<${Notice} kind="warning">That Stripe link had expired or was used. Open a new one below.</${Notice}>`}
    <p><strong data-connect-state=${s.state}>${STATES[s.state] || label(s.state)}</strong></p>
    ${s.account_id && html`<p class="muted">Stripe account <code>${s.account_id}</code>${s.active_since ? ` · taking payments since ${dateTime(s.active_since)}` : ''}</p>`}
    <ul class="plain-list">
      <li>Card payments: ${s.charges_enabled ? 'enabled' : 'not enabled'}</li>
      <li>Payouts to your bank: ${s.payouts_enabled ? 'enabled' : 'not enabled'}</li>
      ${s.application_fee_bps > 0 && html`<li>Platform fee: ${(s.application_fee_bps / 100).toFixed(2)}% of each online payment</li>`}
    </ul>
    ${(s.requirements.currently_due.length > 0 || s.requirements.past_due.length > 0) && html`<div>
      <h3>Stripe still needs</h3>
      <ul class="plain-list">${[...s.requirements.past_due, ...s.requirements.currently_due].map((r) => html`<li>${label(r.replaceAll('.', '_'))}</li>`)}</ul>
      ${s.requirements.current_deadline && html`<p class="muted">By ${dateTime(s.requirements.current_deadline)}.</p>`}
    </div>`}
    ${s.required && s.state !== 'active' && html`<${Notice} kind="warning">Until your Stripe account takes payments, clients cannot pay deposits, balances or fees online.</${Notice}>`}
    <form novalidate onSubmit=${open}>
      <${FormMessage} form=${start} />
      <button type="submit" class="primary" disabled=${start.busy}>${s.state === 'not_connected' ? 'Connect a Stripe account' : s.state === 'active' ? 'Update your details with Stripe' : 'Continue with Stripe'}</button>
    </form>
  </div>`}</${Loaded}>`;
}
