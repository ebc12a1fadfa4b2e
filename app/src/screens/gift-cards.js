// The clinic's gift cards (#/gift-cards): the list (newest first: the code's last four symbols,
// who it is for, balance, expiry, status), a lookup by the whole code (in the request's body,
// never the URL) with the card's history, and — for owners and managers — voiding a card. A
// code is never shown here: the clinic keeps only its hash (the sale that sold it showed it once).
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { api } from '../api.js';
import { can } from '../permissions.js';
import { useLoad } from '../ui/async.js';
import { Loaded, PageTitle } from '../ui/bits.js';
import { Field } from '../ui/form.js';
import { ScrollTable } from '../ui/scroll-table.js';
import { label } from '../format.js';
import { TillNav, amount } from './sales.js';

const day = (iso) => (iso ? iso.slice(0, 10) : 'never');

export function GiftCards({ me }) {
  const [round, setRound] = useState(0);
  const list = useLoad(() => api.get('/v1/gift-cards'), [round]);
  return html`<section class="gift-cards">
    <${PageTitle} sub="Sold at the till or on the clinic's site; spent at the till.">Gift cards</${PageTitle}>
    <${TillNav} current="gift-cards" />
    <${Lookup} me=${me} onChanged=${() => setRound(round + 1)} />
    <section class="card" aria-labelledby="h-gift-list">
      <h2 id="h-gift-list">All gift cards</h2>
      <${Loaded} state=${list} what="Loading gift cards">${(cards) => (cards.length === 0
        ? html`<p class="muted">No gift cards yet. Sell one at the till ("Sell a gift card").</p>`
        : html`<${ScrollTable} label="Gift cards"><table id="gift-card-list">
          <thead><tr><th scope="col">Card</th><th scope="col">For</th><th scope="col">Balance</th><th scope="col">Issued for</th><th scope="col">Expires</th><th scope="col">Status</th></tr></thead>
          <tbody>${cards.map((c) => html`<tr data-gift-card=${c.id}>
            <th scope="row">…${c.code_last4}</th><td>${c.recipient.name}</td><td>${amount(c.balance_minor, c.currency)}</td>
            <td>${amount(c.initial_minor, c.currency)}</td><td>${day(c.expires_at)}</td><td>${label(c.status)}</td>
          </tr>`)}</tbody></table></${ScrollTable}>`)}
      </${Loaded}>
    </section>
  </section>`;
}

function Lookup({ me, onChanged }) {
  const [code, setCode] = useState('');
  const [view, setView] = useState(null);
  const [message, setMessage] = useState(null);
  const [busy, setBusy] = useState(false);
  const find = async (event) => {
    event.preventDefault();
    setMessage(null);
    setView(null);
    setBusy(true);
    try {
      setView(await api.post('/v1/gift-cards/lookup', { code }));
    } catch (err) {
      setMessage(err.status === 404 ? 'No gift card of this clinic has this code.' : err.message);
    } finally {
      setBusy(false);
    }
  };
  return html`<section class="card" aria-labelledby="h-gift-lookup">
    <h2 id="h-gift-lookup">Look up a card</h2>
    <form novalidate onSubmit=${find}>
      <${Field} name="code" label="Gift card code" value=${code} autocomplete="off" onInput=${(e) => setCode(e.currentTarget.value)}
        hint="As printed: case, spaces and dashes do not matter. Every lookup is in the audit log." />
      ${message && html`<p class="notice notice-error" role="alert">${message}</p>`}
      <button type="submit" class="primary" disabled=${busy || !code.trim()}>Look up</button>
    </form>
    ${view && html`<${CardView} me=${me} view=${view} onVoided=${(card) => { setView({ ...view, gift_card: card }); onChanged(); }} />`}
  </section>`;
}

function CardView({ me, view, onVoided }) {
  const c = view.gift_card;
  const [reason, setReason] = useState('');
  const [message, setMessage] = useState(null);
  const voidCard = async (event) => {
    event.preventDefault();
    setMessage(null);
    try {
      onVoided(await api.post(`/v1/gift-cards/${c.id}/void`, { reason }));
    } catch (err) {
      setMessage(err.message);
    }
  };
  return html`<div class="gift-card-view" id="gift-card-view">
    <p>Card …${c.code_last4} for ${c.recipient.name}: <strong data-balance>${amount(c.balance_minor, c.currency)}</strong> of ${amount(c.initial_minor, c.currency)} left ·
      ${c.expires_at ? `valid until ${day(c.expires_at)}` : 'never expires'} · <span data-status>${label(c.status)}</span></p>
    <${ScrollTable} label="History"><table>
      <thead><tr><th scope="col">When</th><th scope="col">What</th><th scope="col">Amount</th><th scope="col">Balance after</th></tr></thead>
      <tbody>${view.movements.map((m) => html`<tr><td>${m.at.slice(0, 16).replace('T', ' ')}</td><td>${label(m.kind)}${m.sale_id ? html` · <a href=${`#/sales/${m.sale_id}`}>sale</a>` : ''}</td>
        <td>${amount(m.amount_minor, c.currency)}</td><td>${amount(m.balance_after_minor, c.currency)}</td></tr>`)}</tbody>
    </table></${ScrollTable}>
    ${can(me, 'gift_cards_void') && c.status === 'active' && html`<form novalidate onSubmit=${voidCard} class="panel">
      ${message && html`<p class="notice notice-error" role="alert">${message}</p>`}
      <${Field} name="reason" label="Reason to void this card" value=${reason} onInput=${(e) => setReason(e.currentTarget.value)} required />
      <button type="submit" class="danger">Void card</button>
    </form>`}
  </div>`;
}
