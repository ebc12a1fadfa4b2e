// A client's memberships on her file (packages_read to see; memberships_write to start one and
// to pause, resume or cancel it). Starting one makes a secure sign-up page where she pays the
// first month; the desk hands her the link (or opens it on the desk's screen). Each paid month's
// credits appear under Packages.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { api } from '../api.js';
import { can } from '../permissions.js';
import { useLoad } from '../ui/async.js';
import { Loaded } from '../ui/bits.js';
import { StatusBadge } from '../ui/status.js';
import { dateTime, money } from '../format.js';
import { Panel } from './client-file.js';

export function Memberships({ me, client }) {
  const [round, setRound] = useState(0);
  const writer = can(me, 'memberships_write');
  const state = useLoad(async () => {
    const [memberships, plans] = await Promise.all([
      api.get(`/v1/clients/${client.id}/memberships`),
      writer ? api.get('/v1/membership-plans') : Promise.resolve([]),
    ]);
    return { memberships, plans: plans.filter((p) => p.active && !p.archived) };
  }, [client.id, round]);
  const done = () => setRound(round + 1);
  return html`<${Panel} id="h-memberships" title="Memberships">
    <${Loaded} state=${state} what="Loading the memberships">${(data) => html`<div>
      ${data.memberships.length === 0 ? html`<p class="muted">No membership.</p>` : html`<ul class="plain-list" id="client-memberships">
        ${data.memberships.map((m) => html`<${MembershipRow} key=${m.id} membership=${m} writer=${writer} onDone=${done} />`)}
      </ul>`}
      ${writer && data.plans.length > 0 && html`<${StartMembership} client=${client} plans=${data.plans} onDone=${done} />`}
    </div>`}</${Loaded}>
  </${Panel}>`;
}

function MembershipRow({ membership: m, writer, onDone }) {
  const [problem, setProblem] = useState(null);
  const act = async (action) => {
    setProblem(null);
    try {
      await api.post(`/v1/memberships/${m.id}/actions`, { action });
      onDone();
    } catch (err) {
      setProblem(err.message || String(err));
    }
  };
  const ended = m.status === 'cancelled' || m.status === 'lapsed';
  const failures = (m.failed_charges || []).length;
  return html`<li data-membership=${m.id}><strong>${m.plan.name}</strong> · ${money(m.plan.price)} a month · <${StatusBadge} status=${m.status} />
    ${m.current_period && html`<span class="muted"> · paid until ${dateTime(m.current_period.end)}</span>`}
    ${m.cancel_at_period_end && !ended && html`<span class="muted"> · ends then</span>`}
    ${failures > 0 && html`<span class="muted"> · ${failures} failed payment${failures === 1 ? '' : 's'}</span>`}
    ${m.signup_url && html`<p>Sign-up page (she pays the first month there):
      <a href=${m.signup_url} target="_blank" rel="noopener" data-signup-link>open the sign-up page</a></p>`}
    ${writer && !ended && html`<div class="actions">
      ${m.status === 'active' && html`<button type="button" class="secondary small" onClick=${() => act('pause')}>Pause</button>`}
      ${m.status === 'paused' && html`<button type="button" class="secondary small" onClick=${() => act('resume')}>Resume</button>`}
      ${m.status !== 'pending' && !m.cancel_at_period_end && html`<button type="button" class="secondary small" onClick=${() => act('cancel_at_period_end')}>End with this month</button>`}
      <button type="button" class="link-button" onClick=${() => act('cancel')}>Cancel now</button>
    </div>`}
    ${problem && html`<p class="notice notice-error" role="alert">${problem}</p>`}</li>`;
}

function StartMembership({ client, plans, onDone }) {
  const [planId, setPlanId] = useState(plans[0].id);
  const [problem, setProblem] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    setProblem(null);
    setBusy(true);
    try {
      await api.post(`/v1/clients/${client.id}/memberships`, { plan_id: planId });
      onDone();
    } catch (err) {
      setProblem(err.message || String(err));
    } finally {
      setBusy(false);
    }
  };
  return html`<form novalidate onSubmit=${submit} class="inline-form" aria-label="Start a membership">
    <label>Plan <select name="plan_id" value=${planId} onChange=${(e) => setPlanId(e.currentTarget.value)}>
      ${plans.map((p) => html`<option value=${p.id}>${p.name} (${money(p.price)} a month)</option>`)}
    </select></label>
    <button type="submit" class="primary small" disabled=${busy}>Start membership</button>
    ${problem && html`<p class="notice notice-error" role="alert">${problem}</p>`}
  </form>`;
}
