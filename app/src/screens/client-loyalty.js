// A client's loyalty points in her file (loyalty_read): balance and what it is worth, tier and
// the next one, and her ledger; owners and managers (loyalty_manage) adjust it by hand with a
// reason. Nothing shows while the clinic's programme is off and she has no points.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { api } from '../api.js';
import { can } from '../permissions.js';
import { useLoad } from '../ui/async.js';
import { Loaded } from '../ui/bits.js';
import { dateTime, label } from '../format.js';
import { amount } from './sales.js';

export function Loyalty({ me, client, Panel }) {
  const [round, setRound] = useState(0);
  const state = useLoad(() => api.get(`/v1/clients/${client.id}/loyalty`), [client.id, round]);
  return html`<${Panel} id="h-loyalty" title="Loyalty points">
    <${Loaded} state=${state} what="Loading the points">${(a) => html`<div id="client-loyalty">
      ${!a.enabled && html`<p class="muted">The clinic's loyalty programme is off.</p>`}
      <p><strong id="loyalty-balance">${a.balance} points</strong> (worth ${amount(a.value_minor, a.currency)})
        · <span id="loyalty-tier">${a.tier ? a.tier.name : 'no tier'}</span>
        <span class="muted"> · ${a.earned_12m} earned in 12 months${a.next_tier ? `, ${a.next_tier.points_to_go} more for ${a.next_tier.name}` : ''}</span></p>
      ${a.movements.length > 0 && html`<ul class="plain-list" id="loyalty-ledger">${a.movements.map((m) => html`<li data-kind=${m.kind}>
        ${label(m.kind)} <strong>${m.points > 0 ? `+${m.points}` : m.points}</strong> → ${m.balance_after}
        ${m.reason && html`<span class="muted"> (${m.reason})</span>`}${m.shortfall ? html`<span class="muted"> (${m.shortfall} already spent)</span>` : ''}
        <span class="muted"> · ${dateTime(m.at)}</span></li>`)}</ul>`}
      ${can(me, 'loyalty_manage') && html`<${Adjust} client=${client} onDone=${() => setRound(round + 1)} />`}
    </div>`}</${Loaded}>
  </${Panel}>`;
}

function Adjust({ client, onDone }) {
  const [points, setPoints] = useState('');
  const [reason, setReason] = useState('');
  const [problem, setProblem] = useState(null);
  const submit = async (event) => {
    event.preventDefault();
    setProblem(null);
    try {
      await api.post(`/v1/clients/${client.id}/loyalty/adjustments`, { points: /^-?\d+$/.test(points.trim()) ? Number(points) : 0, reason });
      setPoints('');
      setReason('');
      onDone();
    } catch (err) {
      setProblem(err.message || String(err));
    }
  };
  return html`<form novalidate onSubmit=${submit} class="inline-form" id="loyalty-adjust">
    <label>Points (+ or −) <input name="points" inputmode="numeric" value=${points} onInput=${(e) => setPoints(e.currentTarget.value)} /></label>
    <label>Why <input name="reason" value=${reason} onInput=${(e) => setReason(e.currentTarget.value)} /></label>
    <button type="submit" class="secondary small">Adjust</button>
    ${problem && html`<p class="notice notice-error" role="alert">${problem}</p>`}
  </form>`;
}
