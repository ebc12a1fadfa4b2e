// The day's sales (#/sales) and one sale (#/sales/:id): as the server recorded them — invoice
// number, lines, totals, tips and tenders — with their voids and refunds. A void (sales_void)
// and a refund (payments_write) each need a reason; the server decides what may still go back
// and answers the sale as it now stands. Every figure shown is the server's.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { api } from '../api.js';
import { can } from '../permissions.js';
import { useLoad } from '../ui/async.js';
import { Loaded, PageTitle, Notice } from '../ui/bits.js';
import { ScrollTable } from '../ui/scroll-table.js';
import { StatusBadge } from '../ui/status.js';
import { Field } from '../ui/form.js';
import { catalog, client as clientById, clients } from '../lookups.js';
import { money, time, dateTime, dayIn, label, clientName, toMinor } from '../format.js';

const METHODS = { cash: 'Cash', card: 'Card (online)', card_external: 'Card (terminal)', bank_transfer: 'Bank transfer', deposit: 'Deposit paid online', gift_card: 'Gift card', loyalty: 'Loyalty points' };

/** A minor-unit amount in the sale's currency. */
export function amount(minor, currency) {
  return money({ amount_minor: minor, currency });
}

/** The till's views: ringing up a sale, the day's sales, and closing the day. */
export function TillNav({ current }) {
  return html`<nav aria-label="Till" class="subnav"><ul>
    <li><a href="#/till" aria-current=${current === 'till' ? 'page' : undefined}>New sale</a></li>
    <li><a href="#/sales" aria-current=${current === 'sales' ? 'page' : undefined}>Sales</a></li>
    <li><a href="#/close" aria-current=${current === 'close' ? 'page' : undefined}>Close the day</a></li>
    <li><a href="#/gift-cards" aria-current=${current === 'gift-cards' ? 'page' : undefined}>Gift cards</a></li>
  </ul></nav>`;
}

function tenderText(t, currency) {
  const reference = t.terminal_reference || t.reference || t.intent_id || (t.code_last4 && `…${t.code_last4}`);
  const paid = t.method === 'cash' ? t.tendered_minor : t.amount_minor;
  return `${METHODS[t.method] || label(t.method)} ${amount(paid, currency)}${reference ? ` (${reference})` : ''}`;
}

/** How a sale was paid, in a few words ("Cash £50.00, Card (terminal) £100.00 (T-1)"). */
export function paidBy(sale) {
  return sale.tenders.map((t) => tenderText(t, sale.currency)).join(', ');
}

function lineDetail(line, practitioners) {
  const parts = [];
  if (line.sku) parts.push(line.sku);
  if (line.practitioner_id) parts.push(practitioners?.get(line.practitioner_id)?.display_name || 'Practitioner');
  if (line.discount) parts.push(`discount: ${line.discount.reason}`);
  if (line.package_id) parts.push('covered by a package session');
  if (line.sold_package_id) parts.push('package sold');
  return parts.join(' · ');
}

/** A sale's lines and totals as the server priced them (shared by the till's receipt and the sale's page). */
export function SaleFigures({ sale, practitioners, recorded }) {
  const c = sale.currency;
  const t = sale.totals;
  return html`<div class="sale-figures">
    <${ScrollTable} label="Items"><table class="sale-lines">
      <thead><tr><th scope="col">Item</th><th scope="col" class="num">Qty</th><th scope="col" class="num">Price</th>
        <th scope="col" class="num">Discount</th><th scope="col" class="num">Tax</th><th scope="col" class="num">Total</th></tr></thead>
      <tbody>${sale.lines.map((l) => html`<tr>
        <td>${l.name}${lineDetail(l, practitioners) && html`<br /><span class="muted small-text">${lineDetail(l, practitioners)}</span>`}</td>
        <td class="num">${l.quantity}</td><td class="num">${amount(l.unit_price_minor, c)}</td>
        <td class="num">${l.discount_minor ? `−${amount(l.discount_minor, c)}` : ''}</td>
        <td class="num">${amount(l.tax_minor, c)}${l.tax ? html`<br /><span class="muted small-text">${l.tax.rate_bp / 100}% ${l.tax.mode === 'inclusive' ? 'incl.' : 'added'}</span>` : ''}</td>
        <td class="num">${amount(l.total_minor, c)}</td>
      </tr>`)}</tbody>
    </table></${ScrollTable}>
    ${sale.discount && html`<p class="muted">Discount on the whole sale: ${sale.discount.kind === 'percent' ? `${sale.discount.basis_points / 100}%` : amount(sale.discount.amount_minor, c)} (${sale.discount.reason})</p>`}
    <${Totals} totals=${t} currency=${c} recorded=${recorded} />
    ${sale.tips.length > 0 && html`<p>Tips: ${sale.tips.map((tip) => `${practitioners?.get(tip.practitioner_id)?.display_name || 'Practitioner'} ${amount(tip.amount_minor, c)}`).join(', ')}</p>`}
    <p>Paid by: ${paidBy(sale)}</p>
  </div>`;
}

/** The server's totals: a quote's while ringing up, a sale's once it is recorded. */
export function Totals({ totals: t, currency: c, due, recorded = false }) {
  const rows = [
    ['Subtotal', amount(t.subtotal_minor, c)],
    t.discount_minor ? ['Discounts', `−${amount(t.discount_minor, c)}`] : null,
    ['Tax', amount(t.tax_minor, c)],
    t.tips_minor ? ['Tips', amount(t.tips_minor, c)] : null,
  ].filter(Boolean);
  return html`<dl class="totals">
    ${rows.map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}
    <dt class="grand">Total</dt><dd class="grand" data-total>${amount(t.total_minor, c)}</dd>
    <dt>Paid</dt><dd data-paid>${amount(t.tendered_minor, c)}</dd>
    ${due !== undefined && html`<dt>Still due</dt><dd data-due>${amount(due, c)}</dd>`}
    ${t.change_minor > 0 && html`<dt class="grand">${recorded ? 'Change given' : 'Change to give'}</dt><dd class="grand" data-change>${amount(t.change_minor, c)}</dd>`}
  </dl>`;
}

async function loadDay(locationId, day) {
  const sales = await api.get(`/v1/sales?day=${day}&location_id=${locationId}`);
  const people = await clients(sales.map((s) => s.client_id).filter(Boolean));
  return { sales, clients: people };
}

export function Sales({ me }) {
  const lookups = useLoad(() => catalog(), []);
  return html`<section class="sales">
    <${PageTitle}>Sales</${PageTitle}>
    <${TillNav} current="sales" />
    <${Loaded} state=${lookups} what="Loading locations">${(data) => html`<${SalesOfDay} me=${me} lookups=${data} />`}</${Loaded}>
  </section>`;
}

function SalesOfDay({ lookups }) {
  const locations = [...lookups.locations.values()];
  const [locationId, setLocationId] = useState(locations[0]?.id || '');
  const location = lookups.locations.get(locationId);
  const [day, setDay] = useState(() => dayIn(location?.timezone || 'Europe/London'));
  const state = useLoad(() => (locationId && day ? loadDay(locationId, day) : { sales: [], clients: new Map() }), [locationId, day]);
  if (!locations.length) return html`<p class="muted">This clinic has no location yet.</p>`;
  return html`<div class="toolbar">
      ${locations.length > 1 && html`<${Field} name="location" label="Location" value=${locationId}
        options=${locations.map((l) => ({ value: l.id, label: l.name }))} onInput=${(e) => {
          const id = e.currentTarget.value;
          setLocationId(id);
          setDay(dayIn(lookups.locations.get(id)?.timezone || 'Europe/London'));
        }} />`}
      <${Field} name="day" label="Day" type="date" value=${day} onInput=${(e) => e.currentTarget.value && setDay(e.currentTarget.value)} />
    </div>
    <${Loaded} state=${state} what="Loading the day's sales">${(data) => (data.sales.length === 0
      ? html`<p class="muted">No sales at ${location?.name || 'this location'} on this day.</p>`
      : html`<${ScrollTable} label="Sales of the day"><table class="sales-list">
        <thead><tr><th scope="col">Invoice</th><th scope="col">Time</th><th scope="col">Client</th><th scope="col" class="num">Total</th><th scope="col">Paid by</th></tr></thead>
        <tbody>${data.sales.map((s) => html`<tr data-invoice=${s.invoice_number}>
          <td><a href=${`#/sales/${s.id}`}>${s.invoice_number}</a></td>
          <td>${time(s.completed_at, location?.timezone)}</td>
          <td>${s.client_id ? clientName(data.clients.get(s.client_id)) || 'Client' : html`<span class="muted">Walk-in</span>`}</td>
          <td class="num">${amount(s.totals.total_minor, s.currency)}</td>
          <td>${paidBy(s)}</td>
        </tr>`)}</tbody>
      </table></${ScrollTable}>
      <p class="muted">Open a sale to see its voids and refunds.</p>`)}</${Loaded}>`;
}

async function loadSale(id) {
  const [view, lookups] = await Promise.all([api.get(`/v1/sales/${id}`), catalog()]);
  const person = view.sale.client_id ? await clientById(view.sale.client_id).catch(() => null) : null;
  return { view, lookups, client: person };
}

export function SaleDetail({ me, id }) {
  const state = useLoad(() => loadSale(id), [id]);
  return html`<${Loaded} state=${state} what="Loading the sale">${(data) => html`<${SalePage} me=${me} data=${data} />`}</${Loaded}>`;
}

function SalePage({ me, data }) {
  const [view, setView] = useState(data.view);
  const [done, setDone] = useState(null);
  const { sale } = view;
  const location = data.lookups.locations.get(sale.location_id);
  const changed = (next, message) => { setView(next); setDone(message); };
  return html`<section class="sale-page">
    <${PageTitle} sub=${`${location?.name || 'Location'} · ${dateTime(sale.completed_at, location?.timezone)}${data.client ? ` · ${clientName(data.client)}` : ''}`}>Sale ${sale.invoice_number}</${PageTitle}>
    <${TillNav} current="sales" />
    <p><a href="#/sales">← The day's sales</a></p>
    ${done && html`<div class="page-notice"><${Notice} kind="success">${done}</${Notice}></div>`}
    <div class="grid">
      <section class="card panel wide" aria-labelledby="h-sale">
        <h2 id="h-sale">${sale.invoice_number} <${StatusBadge} status=${view.status} /></h2>
        <${SaleFigures} sale=${sale} practitioners=${data.lookups.practitioners} recorded />
        ${view.returned_minor > 0 && html`<p><strong>Given back: ${amount(view.returned_minor, sale.currency)}</strong></p>`}
      </section>
      ${view.corrections.length > 0 && html`<${Corrections} view=${view} timeZone=${location?.timezone} />`}
      <${Receipts} sale=${sale} timeZone=${location?.timezone} />
      ${can(me, 'payments_write') && view.status !== 'voided' && view.status !== 'refunded' && html`<${RefundForm} view=${view} onDone=${changed} />`}
      ${can(me, 'sales_void') && view.status === 'completed' && view.corrections.length === 0 && html`<${VoidForm} view=${view} onDone=${changed} />`}
    </div>
  </section>`;
}

/** The sale's receipt and credit notes (PDFs): links asked for on demand, as each ask is audited. */
function Receipts({ sale, timeZone }) {
  const [receipts, setReceipts] = useState(null);
  const [error, setError] = useState(null);
  const ask = async () => {
    setError(null);
    try {
      setReceipts(await api.get(`/v1/sales/${sale.id}/receipts`));
    } catch (err) {
      setError(err.message || String(err));
    }
  };
  return html`<section class="card panel" aria-labelledby="h-receipts">
    <h2 id="h-receipts">Receipt</h2>
    ${receipts === null
      ? html`<p class="muted">The receipt is a stamped PDF, emailed to the client when they have an email; voids and refunds each add a credit note.</p>
        <button type="button" class="secondary" onClick=${ask}>Show the receipt PDFs</button>`
      : receipts.length === 0
        ? html`<p role="status">The receipt is still being prepared. <button type="button" class="link-button" onClick=${ask}>Look again</button></p>`
        : html`<ul class="plain-list" id="receipt-links">${receipts.map((r) => html`<li>
            <a href=${r.url} target="_blank" rel="noopener">${r.kind === 'receipt' ? 'Receipt' : 'Credit note'} ${r.number} (PDF)</a>
            <span class="muted"> · ${amount(r.amount_minor, r.currency)} · ${dateTime(r.issued_at, timeZone)}</span></li>`)}</ul>
          <p class="muted small-text">Links work for five minutes.</p>`}
    ${error && html`<p class="field-error" role="alert">${error}</p>`}
  </section>`;
}

function Corrections({ view, timeZone }) {
  const c = view.sale.currency;
  return html`<section class="card panel" aria-labelledby="h-corrections">
    <h2 id="h-corrections">Voids and refunds</h2>
    <ul class="plain-list">${view.corrections.map((cor) => html`<li data-correction=${cor.kind}>
      <strong>${label(cor.kind)} ${amount(cor.returns.reduce((sum, r) => sum + r.amount_minor, 0), c)}</strong> <${StatusBadge} status=${cor.status} />
      <br />${cor.returns.map((r) => `${label(r.method)} ${amount(r.amount_minor, c)}`).join(', ')} · “${cor.reason}”
      <span class="muted"> · ${dateTime(cor.at, timeZone)}</span>
    </li>`)}</ul>
  </section>`;
}

function useAction() {
  const [errors, setErrors] = useState({});
  const [message, setMessage] = useState(null);
  const [busy, setBusy] = useState(false);
  const run = async (fn) => {
    setBusy(true);
    setErrors({});
    setMessage(null);
    try {
      await fn();
    } catch (err) {
      if (err.field) setErrors({ [err.field]: err.message });
      setMessage(err.message || String(err));
    } finally {
      setBusy(false);
    }
  };
  return { errors, message, busy, run, setErrors, setMessage };
}

function RefundForm({ view, onDone }) {
  const gatewayCard = view.sale.tenders.some((t) => t.method === 'card');
  const giftCard = view.sale.tenders.some((t) => t.method === 'gift_card');
  const package_ = view.sale.lines.some((l) => l.package_id);
  const points = view.sale.tenders.some((t) => t.method === 'loyalty');
  const [to, setTo] = useState(view.sale.totals.total_minor === 0 && package_ ? 'package' : 'cash');
  const [value, setValue] = useState('');
  const [reason, setReason] = useState('');
  // Products with a SKU: the client may bring them back with the refund (the stock takes them back).
  const products = view.sale.lines.some((l) => l.kind === 'product' && l.sku);
  const goodsBack = view.corrections.some((c) => c.goods_returned);
  const [goods, setGoods] = useState(false);
  const action = useAction();
  const submit = (event) => {
    event.preventDefault();
    action.run(async () => {
      const body = { to, reason };
      if (goods) body.goods_returned = true;
      if (value.trim() && to !== 'package') {
        const minor = toMinor(value);
        if (minor === null) {
          const err = new Error('Enter an amount like 25.00, or leave it empty to give back all that is left.');
          err.field = 'amount_minor';
          throw err;
        }
        body.amount_minor = minor;
      }
      const next = await api.post(`/v1/sales/${view.sale.id}/refund`, body);
      const last = next.corrections[next.corrections.length - 1];
      const back = last ? amount(last.returns.reduce((sum, r) => sum + r.amount_minor, 0), next.sale.currency) : '';
      setValue('');
      setReason('');
      const sessions = last ? last.returns.reduce((sum, r) => sum + (r.sessions || 0), 0) : 0;
      onDone(next, to === 'package' ? `${sessions} session(s) given back to the package.` : to === 'cash' ? `Refunded ${back}: give it back in cash.` : to === 'gift_card' ? `Refunded ${back} onto the gift card.` : to === 'loyalty' ? `Refunded ${back} as loyalty points.` : `Refunded ${back} to the card.`);
    });
  };
  const form = { errors: action.errors };
  return html`<section class="card panel" aria-labelledby="h-refund">
    <h2 id="h-refund">Refund</h2>
    <form novalidate onSubmit=${submit}>
      ${action.message && html`<p class="notice notice-error" role="alert">${action.message}</p>`}
      <${Field} form=${form} name="to" label="Give back" value=${to} onInput=${(e) => setTo(e.currentTarget.value)}
        options=${[{ value: 'cash', label: 'In cash from the till' }, ...(gatewayCard ? [{ value: 'card', label: 'To the card it was paid with' }] : []),
          ...(giftCard ? [{ value: 'gift_card', label: 'Back onto the gift card' }] : []),
          ...(package_ ? [{ value: 'package', label: 'The package sessions, back onto the package' }] : []),
          ...(points ? [{ value: 'loyalty', label: 'Back as loyalty points' }] : [])]}
        hint=${gatewayCard ? undefined : 'Card-terminal and bank-transfer payments are given back in cash here.'} />
      ${to !== 'package' && html`<${Field} form=${form} name="amount_minor" label=${`Amount (${view.sale.currency})`} inputmode="decimal" value=${value}
        onInput=${(e) => setValue(e.currentTarget.value)} hint="Leave empty to give back all that is left." />`}
      <${Field} form=${form} name="reason" label="Reason for the refund" value=${reason} onInput=${(e) => setReason(e.currentTarget.value)} required />
      ${products && !goodsBack && html`<${Field} type="checkbox" name="goods_returned" label="The products came back: put them back in stock" value=${goods}
        onInput=${(e) => setGoods(e.currentTarget.checked)} />`}
      <button type="submit" class="primary" disabled=${action.busy}>Refund</button>
    </form>
  </section>`;
}

function VoidForm({ view, onDone }) {
  const [reason, setReason] = useState('');
  const action = useAction();
  const submit = (event) => {
    event.preventDefault();
    action.run(async () => {
      const next = await api.post(`/v1/sales/${view.sale.id}/void`, { reason });
      onDone(next, `${next.sale.invoice_number} is voided: every payment goes back the way it came.`);
    });
  };
  return html`<section class="card panel" aria-labelledby="h-void">
    <h2 id="h-void">Void</h2>
    <p class="muted">Only on the day of the sale, before any refund. The sale stays on record, marked void.</p>
    <form novalidate onSubmit=${submit}>
      ${action.message && html`<p class="notice notice-error" role="alert">${action.message}</p>`}
      <${Field} form=${{ errors: action.errors }} name="reason" label="Reason for the void" value=${reason} onInput=${(e) => setReason(e.currentTarget.value)} required />
      <button type="submit" class="danger" disabled=${action.busy}>Void sale</button>
    </form>
  </section>`;
}
