// The daily close (#/close): a location's day at the till as the server works it out — sales,
// takings per tender method, voids and refunds made that day, tips per practitioner, the cash
// the drawer should hold — and its cash-up: the cash counted (by note and coin, or a total, with
// the float) against what is expected, recorded once per location and day (sales_write). An
// owner may reopen a closed day (till_reopen). The day exports as CSV. Every figure is the
// server's.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { api } from '../api.js';
import { can } from '../permissions.js';
import { useLoad } from '../ui/async.js';
import { Loaded, PageTitle, Notice } from '../ui/bits.js';
import { ScrollTable } from '../ui/scroll-table.js';
import { Field } from '../ui/form.js';
import { catalog } from '../lookups.js';
import { dateTime, dayIn, label, toMinor } from '../format.js';
import { TillNav, amount } from './sales.js';

// Notes and coins in minor units, largest first (every supported currency has two minor digits).
const DENOMINATIONS = [5000, 2000, 1000, 500, 200, 100, 50, 20, 10, 5, 2, 1];

const METHOD_NAMES = {
  cash: 'Cash', card: 'Card (online)', card_external: 'Card (terminal)', bank_transfer: 'Bank transfer',
  deposit: 'Deposits paid online', gift_card: 'Gift cards spent', loyalty: 'Loyalty points spent', external: 'Given back on a terminal or by bank',
};

export function Close({ me }) {
  const lookups = useLoad(() => catalog(), []);
  return html`<section class="close">
    <${PageTitle} sub="A location's day at the till, and its cash-up.">Close the day</${PageTitle}>
    <${TillNav} current="close" />
    <${Loaded} state=${lookups} what="Loading locations">${(data) => html`<${Day} me=${me} lookups=${data} />`}</${Loaded}>
  </section>`;
}

function Day({ me, lookups }) {
  const locations = [...lookups.locations.values()];
  const [locationId, setLocationId] = useState(locations[0]?.id || '');
  const location = lookups.locations.get(locationId);
  const [day, setDay] = useState(() => dayIn(location?.timezone || 'Europe/London'));
  const [done, setDone] = useState(null);
  const query = `location_id=${locationId}&date=${day}`;
  const state = useLoad(() => (locationId && day ? api.get(`/v1/sales/close?${query}`) : null), [locationId, day]);
  if (!locations.length) return html`<p class="muted">This clinic has no location yet.</p>`;
  const changed = (message) => { setDone(message); state.reload(); };
  return html`<div class="toolbar">
      ${locations.length > 1 && html`<${Field} name="location" label="Location" value=${locationId}
        options=${locations.map((l) => ({ value: l.id, label: l.name }))} onInput=${(e) => {
          const id = e.currentTarget.value;
          setLocationId(id);
          setDone(null);
          setDay(dayIn(lookups.locations.get(id)?.timezone || 'Europe/London'));
        }} />`}
      <${Field} name="day" label="Day" type="date" value=${day} onInput=${(e) => { if (e.currentTarget.value) { setDay(e.currentTarget.value); setDone(null); } }} />
    </div>
    ${done && html`<div class="page-notice"><${Notice} kind="success">${done}</${Notice}></div>`}
    <${Loaded} state=${state} what="Working out the day">${(data) => data && html`<div class="grid">
      <${Summary} summary=${data.summary} practitioners=${lookups.practitioners} />
      ${data.close
        ? html`<${Closed} me=${me} close=${data.close} query=${query} onReopened=${() => changed('The day is open again.')} />`
        : can(me, 'sales_write')
          ? html`<${CashUpForm} summary=${data.summary} onClosed=${(up) => changed(`The day is closed: ${up.difference_minor === 0 ? 'the cash is right' : `${amount(Math.abs(up.difference_minor), up.currency)} ${up.difference_minor < 0 ? 'short' : 'over'}`}.`)} />`
          : html`<section class="card panel"><h2>Cash-up</h2><p class="muted">The day is open. Closing it needs a till role.</p></section>`}
      <${Export} key=${`${query}#${data.close?.closed_at || 'open'}`} query=${query} day=${day} />
    </div>`}</${Loaded}>`;
}

function Summary({ summary: s, practitioners }) {
  const c = s.currency;
  return html`<section class="card panel wide" aria-labelledby="h-day">
    <h2 id="h-day">Takings</h2>
    <dl class="totals" id="day-figures">
      <dt>Sales</dt><dd data-sales>${s.sales.count} · ${amount(s.sales.amount_minor, c)}</dd>
      <dt>Tax in them</dt><dd>${amount(s.tax_minor, c)}</dd>
      ${s.discount_minor > 0 && html`<dt>Discounts given</dt><dd>−${amount(s.discount_minor, c)}</dd>`}
      <dt>Voids</dt><dd data-voids>${s.voids.count} · ${amount(s.voids.amount_minor, c)}</dd>
      <dt>Refunds</dt><dd data-refunds>${s.refunds.count} · ${amount(s.refunds.amount_minor, c)}</dd>
      ${s.gift_cards_sold?.count > 0 && html`<dt>Gift cards sold (a liability, not takings)</dt><dd data-gift-cards-sold>${s.gift_cards_sold.count} · −${amount(s.gift_cards_sold.amount_minor, c)}</dd>`}
      <dt class="grand">Net takings</dt><dd class="grand" data-net>${amount(s.net_takings_minor, c)}</dd>
      <dt class="grand">Cash expected</dt><dd class="grand" data-expected>${amount(s.expected_cash_minor, c)}</dd>
    </dl>
    <p class="muted small-text">Cash expected is cash taken less change and cash given back, before the float.</p>
    <${ScrollTable} label="Takings by payment method"><table class="by-method">
      <thead><tr><th scope="col">Method</th><th scope="col" class="num">Taken</th><th scope="col" class="num">Given back</th><th scope="col" class="num">Net</th></tr></thead>
      <tbody>${s.by_method.filter((m) => m.taken_minor || m.returned_minor || m.method === 'cash').map((m) => html`<tr data-method=${m.method}>
        <th scope="row">${METHOD_NAMES[m.method] || label(m.method)}</th>
        <td class="num">${amount(m.taken_minor, c)}</td><td class="num">${m.returned_minor ? `−${amount(m.returned_minor, c)}` : amount(0, c)}</td>
        <td class="num">${amount(m.net_minor, c)}</td>
      </tr>`)}</tbody>
    </table></${ScrollTable}>
    <h3>Tips</h3>
    ${s.tips.length === 0 ? html`<p class="muted">No tips on this day.</p>`
      : html`<ul class="plain-list" id="tips">${s.tips.map((t) => html`<li>${practitioners.get(t.practitioner_id)?.display_name || 'Practitioner'}: ${amount(t.amount_minor, c)}</li>`)}</ul>`}
  </section>`;
}

function CashUpForm({ summary, onClosed }) {
  const c = summary.currency;
  const [byTotal, setByTotal] = useState(false);
  const [counts, setCounts] = useState({});
  const [total, setTotal] = useState('');
  const [float, setFloat] = useState('');
  const [note, setNote] = useState('');
  const [errors, setErrors] = useState({});
  const [message, setMessage] = useState(null);
  const [busy, setBusy] = useState(false);
  const counted = byTotal ? toMinor(total) : DENOMINATIONS.reduce((sum, d) => sum + d * (Number(counts[d]) || 0), 0);
  const floatMinor = float.trim() ? toMinor(float) : 0;
  const expected = (floatMinor ?? 0) + summary.expected_cash_minor;
  const submit = async (event) => {
    event.preventDefault();
    setErrors({});
    setMessage(null);
    const body = { location_id: summary.location_id, date: summary.day };
    const problems = {};
    if (byTotal) {
      if (counted === null) problems.counted_minor = 'Enter the cash counted, like 245.50.';
      else body.counted_minor = counted;
    } else {
      const listed = DENOMINATIONS.filter((d) => (counts[d] || '').trim() !== '');
      for (const d of listed) if (!/^\d{1,6}$/.test(counts[d].trim())) problems[`count-${d}`] = 'Enter how many, like 3.';
      if (listed.length === 0) problems.denominations = 'Count the notes and coins, or enter a total instead.';
      body.denominations = listed.map((d) => ({ value_minor: d, count: Number(counts[d]) }));
    }
    if (floatMinor === null) problems.float_minor = 'Enter the float, like 100.00.';
    else if (floatMinor) body.float_minor = floatMinor;
    if (note.trim()) body.note = note.trim();
    if (Object.keys(problems).length) {
      setErrors(problems);
      setMessage('Some amounts could not be read: see the fields marked below.');
      return;
    }
    setBusy(true);
    try {
      onClosed(await api.post('/v1/sales/close', body));
    } catch (err) {
      if (err.field) setErrors({ [err.field]: err.message });
      setMessage(err.message || String(err));
    } finally {
      setBusy(false);
    }
  };
  const form = { errors };
  return html`<section class="card panel" aria-labelledby="h-cash-up">
    <h2 id="h-cash-up">Cash-up</h2>
    <form novalidate onSubmit=${submit}>
      ${message && html`<p class="notice notice-error" role="alert" id="close-error">${message}</p>`}
      <${Field} form=${form} name="float_minor" label=${`Float left in the drawer at opening (${c})`} inputmode="decimal" value=${float}
        onInput=${(e) => setFloat(e.currentTarget.value)} hint="Optional: it is expected back on top of the day's cash." />
      <p><label class="choice-line"><input type="checkbox" checked=${byTotal} onChange=${(e) => setByTotal(e.currentTarget.checked)} /> Enter a total instead of counting notes and coins</label></p>
      ${byTotal
        ? html`<${Field} form=${form} name="counted_minor" label=${`Cash counted (${c})`} inputmode="decimal" value=${total} onInput=${(e) => setTotal(e.currentTarget.value)} />`
        : html`<fieldset class="denominations"><legend>Notes and coins counted</legend>
          ${errors.denominations && html`<p class="field-error">${errors.denominations}</p>`}
          <div class="denomination-grid">${DENOMINATIONS.map((d) => html`<${Field} form=${form} name=${`count-${d}`} label=${`${amount(d, c)} ×`} inputmode="numeric"
            value=${counts[d] || ''} onInput=${(e) => { const v = e.currentTarget.value; setCounts((old) => ({ ...old, [d]: v })); }} />`)}</div>
        </fieldset>`}
      <dl class="totals" aria-live="polite">
        <dt>Expected in the drawer</dt><dd data-expected-total>${amount(expected, c)}</dd>
        <dt>Counted</dt><dd data-counted>${counted === null ? '—' : amount(counted, c)}</dd>
        <dt class="grand">Difference</dt><dd class="grand" data-difference>${counted === null ? '—' : amount(counted - expected, c)}</dd>
      </dl>
      <${Field} form=${form} name="note" label="Note (optional)" value=${note} onInput=${(e) => setNote(e.currentTarget.value)} />
      <button type="submit" class="primary" disabled=${busy}>Close the day</button>
    </form>
  </section>`;
}

function Closed({ me, close: up, query, onReopened }) {
  const c = up.currency;
  const [error, setError] = useState(null);
  const reopen = async () => {
    setError(null);
    try {
      await api.del(`/v1/sales/close?${query}`);
      onReopened();
    } catch (err) {
      setError(err.message || String(err));
    }
  };
  return html`<section class="card panel" aria-labelledby="h-closed">
    <h2 id="h-closed">Closed</h2>
    <dl class="totals" id="cash-up">
      ${up.float_minor > 0 && html`<dt>Float</dt><dd>${amount(up.float_minor, c)}</dd>`}
      <dt>Expected</dt><dd>${amount(up.expected_minor, c)}</dd>
      <dt>Counted</dt><dd>${amount(up.counted_minor, c)}</dd>
      <dt class="grand">Difference</dt><dd class="grand" data-difference>${amount(up.difference_minor, c)}</dd>
    </dl>
    <p class="muted">Closed ${dateTime(up.closed_at)}${up.note ? ` · “${up.note}”` : ''}. No sale, void or refund can be recorded on this day while it is closed.</p>
    ${error && html`<p class="notice notice-error" role="alert">${error}</p>`}
    ${can(me, 'till_reopen') && html`<button type="button" class="secondary" onClick=${reopen}>Reopen the day</button>`}
  </section>`;
}

function Export({ query, day }) {
  const [link, setLink] = useState(null);
  const [error, setError] = useState(null);
  const prepare = async () => {
    setError(null);
    try {
      const text = await api.get(`/v1/sales/close.csv?${query}`, { as: 'text' });
      setLink(URL.createObjectURL(new Blob([text], { type: 'text/csv' })));
    } catch (err) {
      setError(err.message || String(err));
    }
  };
  return html`<section class="card panel" aria-labelledby="h-export">
    <h2 id="h-export">Export</h2>
    <p class="muted">Every sale, void and refund of the day, the totals and the cash-up, as a spreadsheet (CSV).</p>
    ${link ? html`<a class="button secondary" href=${link} download=${`till-${day}.csv`}>Download the CSV</a>`
      : html`<button type="button" class="secondary" onClick=${prepare}>Prepare the CSV</button>`}
    ${error && html`<p class="field-error" role="alert">${error}</p>`}
  </section>`;
}
