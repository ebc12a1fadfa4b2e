// The desk till (#/till): ring up a sale for one of today's appointments (its service, price,
// practitioner and client filled in) or a walk-in, with service and product lines, discounts on
// a line or the whole sale (only for roles with discount_give; each needs a reason), tips per
// practitioner, and tenders — cash (what was handed over; the change is the server's), card on
// the desk's terminal (its reference), bank transfer, or a mix. A card can also be taken on one
// of the clinic's card readers ("Card (reader)": choose the reader, Charge, the status is polled
// until the reader answers; the tender is added once approved, a decline is shown with its code,
// and the wait can be cancelled) or, for a booking whose client agreed to keep a card on file,
// on that card ("Saved card"): either way the sale's tender is a `card` naming the paid intent.
//
// Money is never worked out here: as the sale is rung up the server prices it
// (`POST /v1/sales?quote=true`, nothing written) and its figures are shown; completing it
// (`POST /v1/sales`) answers the recorded sale with its invoice number and change. A refusal
// keeps everything typed and shows the API's message under the field it names.
//
// Each attempt at ringing up a sale carries an Idempotency-Key, kept while the sale is sent
// again unchanged (a retry after a lost answer gets the sale recorded the first time, never a
// second charge) and replaced once what is sent changes. A booking's deposit paid online is
// taken off as a "deposit" tender (the server counts it towards one sale only).
//
// Gift cards: a "gift card" line sells one (its amount, who it is for; untaxed, never
// discounted), and the completed sale shows its code this once; a "gift card" payment takes its
// code, shows the card's balance (`POST /v1/gift-cards/lookup`) and spends part or all of it.
//
// Packages: "Sell a package" adds a line for one of the catalog's package templates (priced by
// the server from the template, taxed as the desk chooses; the sale needs a client). A service
// line for a treatment one of the client's packages covers can be "paid by" a session of it
// (`package_id`): the line is then nothing to pay and untaxed, and the package has a session less.
//
// Loyalty: with the clinic's programme on, the sale's client's points (balance, what they are
// worth, tier) show under her name, and "Pay with points" adds a `loyalty` tender: the points
// to spend and their value at the programme's rate (the server checks both). The completed sale
// says what it earned her.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import { api } from '../api.js';
import { can } from '../permissions.js';
import { useLoad } from '../ui/async.js';
import { Loaded, PageTitle, Loading } from '../ui/bits.js';
import { Field } from '../ui/form.js';
import { ClientPicker } from '../forms/client-picker.js';
import { ClientForm } from '../forms/client.js';
import { catalog, client as clientById, clients as clientsById } from '../lookups.js';
import { money, time, dateTime, dayIn, label, clientName, toMinor, minorInput, toBasisPoints } from '../format.js';
import { TillNav, SaleFigures, Totals, amount } from './sales.js';

const TAXES = [
  { value: 'none', label: 'No tax' },
  { value: '2000:inclusive', label: 'VAT 20% included' },
  { value: '2000:exclusive', label: 'VAT 20% added' },
  { value: '500:inclusive', label: 'VAT 5% included' },
  { value: '500:exclusive', label: 'VAT 5% added' },
  { value: 'other', label: 'Another rate…' },
];
const DISCOUNTS = [
  { value: 'none', label: 'No discount' },
  { value: 'percent', label: 'Percentage' },
  { value: 'fixed', label: 'Fixed amount' },
];
const METHODS = {
  cash: 'Cash', card_external: 'Card (terminal)', bank_transfer: 'Bank transfer', deposit: 'Deposit paid online',
  card_reader: 'Card (reader)', saved_card: 'Saved card', gift_card: 'Gift card', loyalty: 'Loyalty points',
};

/** What `points` are worth at the programme's rate (rounded down, as the server does). */
const pointsValue = (points, rate) => Math.floor((points * rate.reward_minor) / rate.reward_points);
/** Tenders taken through the gateway here: ready once their payment succeeded. */
const GATEWAY_CARDS = ['card_reader', 'saved_card'];
// Appointments a sale can be for: not cancelled, not a no-show, not still waiting for a deposit.
const SELLABLE = ['scheduled', 'checked_in', 'in_progress', 'completed'];

let lastKey = 0;
const nextKey = () => ++lastKey;

/** A fresh key for one attempt at ringing up a sale. */
function newIdempotencyKey() {
  if (globalThis.crypto?.randomUUID) return `till-${globalThis.crypto.randomUUID()}`;
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
  return `till-${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/** What of a booking's deposit paid online a sale may still count (none when a sale counts it already). */
function depositLeft(payment) {
  if (payment.kind !== 'deposit' || payment.applied_to_sale) return 0;
  return Math.max(0, payment.captured - payment.refunded - (payment.pending_refund?.amount || 0));
}

/** UK clinics price VAT in; elsewhere the desk picks the tax. */
const defaultTax = (currency) => (currency === 'GBP' ? '2000:inclusive' : 'none');

function newLine(kind, currency, fields = {}) {
  return {
    key: nextKey(), kind, name: '', sku: '', service_id: '', appointment_id: '', practitioner_id: '', quantity: '1', price: '',
    tax: defaultTax(currency), tax_rate: '', tax_mode: 'inclusive', discount: noDiscount(),
    recipient_name: '', recipient_email: '', package_template_id: '', package_id: '', ...fields,
  };
}

function noDiscount() {
  return { kind: 'none', value: '', reason: '' };
}

function emptySale(locationId, currency) {
  return { location_id: locationId, appointment_id: '', client: null, currency, lines: [], discount: noDiscount(), tips: [], tenders: [] };
}

// ---- From what is typed to the API's SaleInput (parsing only: amounts to minor units) ----

function buildDiscount(d, path, problems) {
  if (d.kind === 'percent') {
    const bp = toBasisPoints(d.value);
    if (bp === null) problems[path] = 'Enter a percentage, like 10 or 12.5.';
    return { kind: 'percent', basis_points: bp ?? 0, reason: d.reason };
  }
  const minor = toMinor(d.value);
  if (minor === null) problems[path] = 'Enter an amount, like 10.00.';
  return { kind: 'fixed', amount_minor: minor ?? 0, reason: d.reason };
}

function buildTax(line, path, problems) {
  if (line.tax === 'none') return undefined;
  if (line.tax === 'other') {
    const rate = toBasisPoints(line.tax_rate);
    if (rate === null) problems[`${path}.tax`] = 'Enter a tax rate, like 8.875.';
    return { rate_bp: rate ?? 0, mode: line.tax_mode };
  }
  const [rate, mode] = line.tax.split(':');
  return { rate_bp: Number(rate), mode };
}

function buildLine(line, i, problems, mayDiscount) {
  const path = `lines[${i}]`;
  if (line.kind === 'gift_card') {
    const price = toMinor(line.price);
    if (price === null) problems[`${path}.unit_price_minor`] = 'Enter an amount, like 50.00.';
    const recipient = { name: line.recipient_name.trim() };
    if (line.recipient_email.trim()) recipient.email = line.recipient_email.trim();
    return { kind: 'gift_card', name: line.name.trim() || 'Gift card', quantity: 1, unit_price_minor: price ?? 0, gift_card: recipient };
  }
  if (line.kind === 'package') {
    const out = { kind: 'package', name: line.name.trim() || 'Package', quantity: 1, unit_price_minor: toMinor(line.price) ?? 0, package_template_id: line.package_template_id };
    const tax = buildTax(line, path, problems);
    if (tax) out.tax = tax;
    if (mayDiscount && line.discount.kind !== 'none') out.discount = buildDiscount(line.discount, `${path}.discount`, problems);
    return out;
  }
  const out = { kind: line.kind, name: line.name.trim() };
  if (line.kind === 'service' && line.package_id) out.package_id = line.package_id;
  if (line.kind === 'product') {
    if (line.sku.trim()) out.sku = line.sku.trim();
  } else {
    if (line.service_id) out.service_id = line.service_id;
    if (line.appointment_id) out.appointment_id = line.appointment_id;
    if (line.practitioner_id) out.practitioner_id = line.practitioner_id;
  }
  const quantity = line.quantity.trim();
  if (!/^\d{1,4}$/.test(quantity)) problems[`${path}.quantity`] = 'Enter a whole number.';
  out.quantity = Number(quantity) || 0;
  const price = toMinor(line.price);
  if (price === null) problems[`${path}.unit_price_minor`] = 'Enter a price, like 120.00.';
  out.unit_price_minor = price ?? 0;
  const tax = buildTax(line, path, problems);
  if (tax) out.tax = tax;
  if (mayDiscount && !out.package_id && line.discount.kind !== 'none') out.discount = buildDiscount(line.discount, `${path}.discount`, problems);
  return out;
}

function buildTender(tender, i, problems) {
  if (tender.method === 'loyalty') {
    const points = /^\d+$/.test(tender.amount.trim()) ? Number(tender.amount.trim()) : null;
    if (points === null) problems[`tenders[${i}]`] = 'Enter a whole number of points.';
    return { method: 'loyalty', points: points ?? 0, amount_minor: pointsValue(points ?? 0, tender.rate) };
  }
  if (GATEWAY_CARDS.includes(tender.method)) {
    if (!tender.intent_id) problems[`tenders[${i}]`] = 'Charge the card first: the payment is added once it is approved.';
    return { method: 'card', amount_minor: tender.paid_minor ?? 0, intent_id: tender.intent_id || '' };
  }
  const minor = toMinor(tender.amount);
  if (minor === null) problems[`tenders[${i}]`] = 'Enter an amount, like 50.00.';
  const value = minor ?? 0;
  if (tender.method === 'cash') return { method: 'cash', tendered_minor: value };
  if (tender.method === 'card_external') return { method: 'card_external', amount_minor: value, terminal_reference: tender.reference.trim() };
  if (tender.method === 'deposit') return { method: 'deposit', amount_minor: value, payment_id: tender.payment_id };
  if (tender.method === 'gift_card') return { method: 'gift_card', amount_minor: value, code: tender.code.trim() };
  return { method: 'bank_transfer', amount_minor: value, reference: tender.reference.trim() };
}

/**
 * The request body, and what could not be read as a number (field path → message). For a quote,
 * tips and payments whose amount is still empty are left out (the quote says what is still due).
 */
function build(sale, mayDiscount, forQuote = false) {
  const problems = {};
  const typed = (item) => !forQuote || (GATEWAY_CARDS.includes(item.method) ? Boolean(item.intent_id) : item.amount.trim() !== '');
  const body = {
    location_id: sale.location_id,
    currency: sale.currency,
    lines: sale.lines.map((l, i) => buildLine(l, i, problems, mayDiscount)),
    tips: sale.tips.filter(typed).map((tip, i) => {
      const minor = toMinor(tip.amount);
      if (minor === null) problems[`tips[${i}].amount_minor`] = 'Enter an amount, like 5.00.';
      return { practitioner_id: tip.practitioner_id, amount_minor: minor ?? 0 };
    }),
    tenders: sale.tenders.filter(typed).map((t, i) => buildTender(t, i, problems)),
  };
  if (sale.client) body.client_id = sale.client.id;
  if (mayDiscount && sale.discount.kind !== 'none') body.discount = buildDiscount(sale.discount, 'discount', problems);
  return { body, problems };
}

/** The errors for a field: the one the API names exactly (or one of `alternatives`). */
function only(errors, name, ...alternatives) {
  const found = [name, ...alternatives].find((n) => errors[n]);
  return { errors: found ? { [name]: errors[found] } : {} };
}

// ---- The screen ----

async function loadTill() {
  const [lookups, templates, products] = await Promise.all([
    catalog(), api.get('/v1/package-templates').catch(() => []), api.get('/v1/products').catch(() => []),
  ]);
  return {
    ...lookups,
    packageTemplates: templates.filter((t) => t.active !== false),
    // The catalog's retail products: a product line picked from it names its SKU, so the sale
    // takes it off the location's stock.
    products: products.filter((p) => p.active !== false && p.kind === 'retail'),
  };
}

/** The till's tax choice for a product's catalog tax (none when it has none). */
function taxChoice(tax) {
  if (!tax) return { tax: 'none' };
  const preset = `${tax.rate_bp}:${tax.mode}`;
  if (TAXES.some((t) => t.value === preset)) return { tax: preset };
  return { tax: 'other', tax_rate: String(tax.rate_bp / 100), tax_mode: tax.mode };
}

/** The client's packages with sessions left (none without a client or the permission). */
function useClientPackages(me, clientId) {
  const [packages, setPackages] = useState([]);
  useEffect(() => {
    setPackages([]);
    if (!clientId || !can(me, 'packages_read')) return undefined;
    let live = true;
    api.get(`/v1/clients/${clientId}/packages`).then(
      (list) => live && setPackages(list.filter((p) => p.status === 'active' && p.sessions_remaining > 0)),
      () => {},
    );
    return () => { live = false; };
  }, [clientId]);
  return packages;
}

/** The sale's client's loyalty points (null without a client, the permission or the programme). */
function useLoyalty(me, clientId) {
  const [account, setAccount] = useState(null);
  useEffect(() => {
    setAccount(null);
    if (!clientId || !can(me, 'loyalty_read')) return undefined;
    let live = true;
    api.get(`/v1/clients/${clientId}/loyalty`).then((found) => live && found.enabled && setAccount(found), () => {});
    return () => { live = false; };
  }, [clientId]);
  return account;
}

export function Till({ me }) {
  const state = useLoad(loadTill, []);
  const [round, setRound] = useState(0);
  return html`<section class="till">
    <${PageTitle} sub="Ring up a sale: the clinic's server prices it and numbers the invoice.">Till</${PageTitle}>
    <${TillNav} current="till" />
    <${Loaded} state=${state} what="Opening the till">${(lookups) => (lookups.locations.size === 0
      ? html`<p class="muted">This clinic has no location yet: add one in Settings first.</p>`
      : html`<${Register} key=${round} me=${me} lookups=${lookups} onNew=${() => setRound(round + 1)} />`)}</${Loaded}>
  </section>`;
}

function Register({ me, lookups, onNew }) {
  const mayDiscount = can(me, 'discount_give');
  const locations = [...lookups.locations.values()];
  const firstCurrency = [...lookups.services.values()][0]?.price?.currency || 'GBP';
  const [sale, setSale] = useState(() => emptySale(locations[0].id, firstCurrency));
  const [errors, setErrors] = useState({});
  const [message, setMessage] = useState(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(null);
  // The Idempotency-Key of this attempt and the body it was sent with.
  const [attempt, setAttempt] = useState(null);
  const { body, problems } = build(sale, mayDiscount);
  const forQuote = build(sale, mayDiscount, true);
  const quote = useQuote(forQuote.body, forQuote.problems, !done);
  const clientPackages = useClientPackages(me, sale.client?.id);
  const loyalty = useLoyalty(me, sale.client?.id);
  const templates = lookups.packageTemplates || [];

  // An edit after a refusal clears its messages: the quote says at once what still stands in the way.
  const update = (fn) => {
    setSale((old) => fn(old));
    if (message) { setErrors({}); setMessage(null); }
  };
  const setLine = (lineKey, fields) => update((s) => ({ ...s, lines: s.lines.map((l) => (l.key === lineKey ? { ...l, ...fields } : l)) }));
  const setListItem = (list, itemKey, fields) => update((s) => ({ ...s, [list]: s[list].map((x) => (x.key === itemKey ? { ...x, ...fields } : x)) }));
  const removeFrom = (list, itemKey) => update((s) => ({ ...s, [list]: s[list].filter((x) => x.key !== itemKey) }));
  const due = quote.current && quote.data ? quote.data.due_minor : 0;
  const payWithPoints = () => update((s) => {
    // As many points as the balance allows, up to what is still due.
    const rate = { reward_points: loyalty.reward_points, reward_minor: loyalty.reward_minor };
    const points = Math.min(loyalty.balance, Math.floor((due * rate.reward_points) / rate.reward_minor));
    return { ...s, tenders: [...s.tenders, { key: nextKey(), method: 'loyalty', amount: String(Math.max(points, 0)), rate, reference: '', code: '' }] };
  });
  const addTender = (method) => update((s) => ({
    ...s, tenders: [...s.tenders, { key: nextKey(), method, amount: method !== 'cash' && due > 0 ? minorInput(due) : '', reference: '', code: '' }],
  }));

  const complete = async () => {
    setErrors({});
    setMessage(null);
    if (Object.keys(problems).length) {
      setErrors(problems);
      setMessage('Some amounts could not be read: see the fields marked below.');
      return;
    }
    setBusy(true);
    const sent = JSON.stringify(body);
    const key = attempt && attempt.body === sent ? attempt.key : newIdempotencyKey();
    setAttempt({ key, body: sent });
    try {
      setDone(await api.post('/v1/sales', body, { idempotencyKey: key }));
    } catch (err) {
      if (err.field) setErrors({ [err.field]: err.message });
      setMessage(err.message || String(err));
    } finally {
      setBusy(false);
    }
  };

  if (done) return html`<${Receipt} sale=${done} lookups=${lookups} client=${sale.client} onNew=${onNew} />`;
  const form = (name, ...alternatives) => only(errors, name, ...alternatives);
  const location = lookups.locations.get(sale.location_id);
  // Not a <form>: the new-client form nests inside it, and Enter in a search box must not ring
  // up the sale. "Complete sale" is the only way to submit.
  return html`<div class="till-form">
    <div class="till-grid">
      <div class="till-main">
        <section class="card" aria-labelledby="h-for">
          <h2 id="h-for">Who the sale is for</h2>
          ${locations.length > 1 && html`<${Field} form=${form('location_id')} name="location_id" label="Location" value=${sale.location_id}
            options=${locations.map((l) => ({ value: l.id, label: l.name }))}
            onInput=${(e) => { const id = e.currentTarget.value; update((s) => ({ ...s, location_id: id, appointment_id: '' })); }} />`}
          <${TodaysAppointments} me=${me} location=${location} lookups=${lookups} chosen=${sale.appointment_id}
            onPick=${(appointment, person, deposit) => update((s) => pickAppointment(s, appointment, person, lookups, deposit))}
            onWalkIn=${() => update((s) => ({ ...s, appointment_id: '', lines: s.lines.filter((l) => !l.appointment_id), tenders: s.tenders.filter((t) => t.method !== 'deposit') }))} />
          <${ClientChoice} me=${me} sale=${sale} error=${errors.client_id}
            onChange=${(person) => update((s) => ({ ...s, client: person, tenders: s.tenders.filter((t) => t.method !== 'loyalty') }))} />
          ${loyalty && html`<p class="loyalty-balance" role="status">Loyalty: <strong id="till-loyalty-balance">${loyalty.balance} points</strong>
            (worth ${amount(loyalty.value_minor, loyalty.currency)})${loyalty.tier ? ` · ${loyalty.tier.name}` : ''}</p>`}
        </section>

        <section class="card" aria-labelledby="h-items">
          <h2 id="h-items">Items</h2>
          ${sale.lines.length === 0 && html`<p class="muted">Pick an appointment above, or add a service or a product.</p>`}
          ${errors.lines && html`<p class="field-error">${errors.lines}</p>`}
          ${sale.lines.map((line, i) => html`<${LineEditor} key=${line.key} line=${line} index=${i} lookups=${lookups} form=${form}
            currency=${sale.currency} mayDiscount=${mayDiscount} priced=${quote.current ? quote.data?.lines[i] : null} packages=${clientPackages}
            onChange=${(fields) => setLine(line.key, fields)} onRemove=${() => removeFrom('lines', line.key)} />`)}
          <div class="actions">
            <button type="button" class="secondary" onClick=${() => update((s) => ({ ...s, lines: [...s.lines, newLine('service', s.currency)] }))}>Add a service</button>
            <button type="button" class="secondary" onClick=${() => update((s) => ({ ...s, lines: [...s.lines, newLine('product', s.currency)] }))}>Add a product</button>
            <button type="button" class="secondary" onClick=${() => update((s) => ({ ...s, lines: [...s.lines, newLine('gift_card', s.currency, { name: 'Gift card', tax: 'none' })] }))}>Sell a gift card</button>
            ${templates.length > 0 && html`<button type="button" class="secondary" onClick=${() => update((s) => ({ ...s, lines: [...s.lines, newLine('package', s.currency, {
              package_template_id: templates[0].id, name: templates[0].name, price: minorInput(templates[0].price.amount_minor),
            })] }))}>Sell a package</button>`}
          </div>
        </section>

        ${mayDiscount && html`<section class="card" aria-labelledby="h-sale-discount">
          <h2 id="h-sale-discount">Discount on the whole sale</h2>
          <${DiscountFields} discount=${sale.discount} path="discount" form=${form} currency=${sale.currency} what="the whole sale"
            onChange=${(d) => update((s) => ({ ...s, discount: { ...s.discount, ...d } }))} />
        </section>`}

        <section class="card" aria-labelledby="h-tips">
          <h2 id="h-tips">Tips</h2>
          ${sale.tips.length === 0 && html`<p class="muted">No tips. Tips go to a practitioner and are not taxed.</p>`}
          ${errors.tips && html`<p class="field-error">${errors.tips}</p>`}
          ${sale.tips.map((tip, i) => html`<fieldset key=${tip.key} class="tip">
            <legend>Tip ${i + 1}</legend>
            <div class="row">
              <${Field} form=${form(`tips[${i}].practitioner_id`)} name=${`tips[${i}].practitioner_id`} label="Tip for" value=${tip.practitioner_id}
                options=${[{ value: '', label: 'Choose a practitioner' }, ...[...lookups.practitioners.values()].map((p) => ({ value: p.id, label: p.display_name }))]}
                onInput=${(e) => setListItem('tips', tip.key, { practitioner_id: e.currentTarget.value })} />
              <${Field} form=${form(`tips[${i}].amount_minor`, `tips[${i}]`)} name=${`tips[${i}].amount_minor`} label=${`Tip amount (${sale.currency})`}
                inputmode="decimal" value=${tip.amount} onInput=${(e) => setListItem('tips', tip.key, { amount: e.currentTarget.value })} />
            </div>
            <button type="button" class="link-button" onClick=${() => removeFrom('tips', tip.key)}>Remove this tip</button>
          </fieldset>`)}
          <div class="actions">
            <button type="button" class="secondary" onClick=${() => update((s) => ({
              ...s, tips: [...s.tips, { key: nextKey(), practitioner_id: s.lines.find((l) => l.practitioner_id)?.practitioner_id || '', amount: '' }],
            }))}>Add a tip</button>
          </div>
        </section>

        <section class="card" aria-labelledby="h-payment">
          <h2 id="h-payment">Payment</h2>
          ${sale.tenders.length === 0 && html`<p class="muted">Add how the client pays: one way, or several that together make the total.</p>`}
          ${errors.tenders && html`<p class="field-error" id="tenders-error">${errors.tenders}</p>`}
          ${sale.tenders.map((tender, i) => html`<${TenderEditor} key=${tender.key} tender=${tender} index=${i} form=${form} currency=${sale.currency} sale=${sale}
            onChange=${(fields) => setListItem('tenders', tender.key, fields)} onRemove=${() => removeFrom('tenders', tender.key)} />`)}
          <div class="actions">
            <button type="button" class="secondary" onClick=${() => addTender('cash')}>Add cash</button>
            <button type="button" class="secondary" onClick=${() => addTender('card_external')}>Add card</button>
            <button type="button" class="secondary" onClick=${() => addTender('bank_transfer')}>Add bank transfer</button>
            <button type="button" class="secondary" onClick=${() => addTender('card_reader')}>Card (reader)</button>
            ${sale.appointment_id && sale.card_on_file && html`<button type="button" class="secondary" onClick=${() => addTender('saved_card')}>Saved card</button>`}
            <button type="button" class="secondary" onClick=${() => addTender('gift_card')}>Add gift card</button>
            ${loyalty && loyalty.balance >= Math.max(loyalty.min_redemption_points, 1) && !sale.tenders.some((t) => t.method === 'loyalty')
              && html`<button type="button" class="secondary" id="pay-with-points" onClick=${payWithPoints}>Pay with points</button>`}
          </div>
        </section>
      </div>

      <aside class="card till-summary" aria-labelledby="h-totals">
        <h2 id="h-totals">Totals</h2>
        <${QuoteView} quote=${quote} currency=${sale.currency} hasLines=${sale.lines.length > 0} problems=${forQuote.problems} />
        ${message && html`<p class="notice notice-error" role="alert" id="till-error">${message}</p>`}
        <button type="button" class="primary" onClick=${complete} disabled=${busy || sale.lines.length === 0}>${busy ? 'Completing…' : 'Complete sale'}</button>
      </aside>
    </div>
  </div>`;
}

/** The server's quote of the sale as typed: asked a moment after the typing stops. */
function useQuote(body, problems, active) {
  const wanted = JSON.stringify(body);
  const ready = active && body.lines.length > 0 && Object.keys(problems).length === 0;
  const [quote, setQuote] = useState({ data: null, error: null, for: null });
  useEffect(() => {
    if (!ready) return undefined;
    let live = true;
    const timer = setTimeout(() => {
      api.post('/v1/sales?quote=true', JSON.parse(wanted)).then(
        (data) => live && setQuote({ data, error: null, for: wanted }),
        (error) => live && setQuote({ data: null, error, for: wanted }),
      );
    }, 250);
    return () => { live = false; clearTimeout(timer); };
  }, [wanted, ready]);
  return { ...quote, ready, current: ready && quote.for === wanted };
}

function QuoteView({ quote, currency, hasLines, problems }) {
  if (!hasLines) return html`<p class="muted">Nothing rung up yet.</p>`;
  if (!quote.ready) {
    const first = Object.values(problems)[0];
    return html`<p class="muted" role="status">${first ? `Waiting for a number: ${first}` : 'Waiting…'}</p>`;
  }
  if (!quote.current) return html`<div aria-busy="true">${quote.data ? html`<${Totals} totals=${quote.data.totals} currency=${currency} due=${quote.data.due_minor} />` : ''}<${Loading} what="Pricing" /></div>`;
  if (quote.error) return html`<p class="notice notice-info" role="status" id="quote-problem">Not priced yet: ${quote.error.message}</p>`;
  const q = quote.data;
  return html`<div role="status" aria-live="polite" id="quote">
    <${Totals} totals=${q.totals} currency=${currency} due=${q.due_minor} />
    <p class="muted small-text">${q.settled ? 'The payment settles the sale.' : q.due_minor > 0 ? `Still to take: ${amount(q.due_minor, currency)}.` : 'Card and transfer payments cannot exceed the total; only cash can, by the change.'}</p>
  </div>`;
}

function pickAppointment(sale, appointment, person, lookups, deposit) {
  const service = lookups.services.get(appointment.service_id);
  const currency = appointment.price?.currency || sale.currency;
  const line = newLine('service', currency, {
    name: service?.name || 'Treatment', service_id: appointment.service_id, appointment_id: appointment.id,
    practitioner_id: appointment.practitioner_id || '', price: minorInput(appointment.price?.amount_minor ?? service?.price?.amount_minor ?? 0),
  });
  const tenders = sale.tenders.filter((t) => t.method !== 'deposit');
  if (deposit) tenders.unshift({ key: nextKey(), method: 'deposit', amount: minorInput(depositLeft(deposit)), payment_id: deposit.id, reference: '' });
  return {
    ...sale, appointment_id: appointment.id, client: person || sale.client, currency, location_id: appointment.location_id,
    card_on_file: Boolean(appointment.card_on_file_consent),
    lines: [line, ...sale.lines.filter((l) => !l.appointment_id)], tenders,
  };
}

/** Dates a day either side of `day` (YYYY-MM-DD), which cover a location's whole day in any zone. */
function around(day) {
  const at = Date.parse(`${day}T12:00:00Z`);
  const iso = (ms) => new Date(ms).toISOString().slice(0, 10);
  return { from: iso(at - 86400e3), to: iso(at + 86400e3) };
}

function TodaysAppointments({ me, location, lookups, chosen, onPick, onWalkIn }) {
  // Today at the location, in its own zone (the API reads bare dates in the clinic's zone, so ask
  // a day either side and keep the location's today).
  const day = dayIn(location.timezone);
  const state = useLoad(async () => {
    const { from, to } = around(day);
    const list = await api.get(`/v1/appointments?from=${from}&to=${to}&location_id=${location.id}`);
    const sellable = list.filter((a) => SELLABLE.includes(a.status) && dayIn(location.timezone, new Date(a.start)) === day)
      .sort((a, b) => a.start.localeCompare(b.start));
    return { appointments: sellable, clients: await clientsById(sellable.map((a) => a.client_id)) };
  }, [location.id, day]);
  const [paid, setPaid] = useState(null);
  const pick = async (a, people) => {
    setPaid(null);
    const payments = can(me, 'payments_read') ? await api.get(`/v1/payments?appointment_id=${a.id}`).catch(() => []) : [];
    const deposit = payments.find((p) => depositLeft(p) > 0);
    onPick(a, people.get(a.client_id), deposit);
    const counted = payments.find((p) => p.kind === 'deposit' && p.applied_to_sale);
    const others = payments.filter((p) => p.kind !== 'deposit' && p.captured - p.refunded > 0);
    const notes = [];
    if (deposit) notes.push(`The deposit of ${money({ amount_minor: depositLeft(deposit), currency: deposit.amount.currency })} paid online is taken off below.`);
    if (counted) notes.push(`Its deposit of ${money({ amount_minor: counted.applied_to_sale.amount, currency: counted.amount.currency })} already counts towards another sale.`);
    if (others.length) notes.push(`${money({ amount_minor: others.reduce((sum, p) => sum + p.captured - p.refunded, 0), currency: a.price.currency })} more was paid before on this booking (${others.map((p) => label(p.kind)).join(', ')}): the till does not take it off.`);
    if (notes.length) setPaid({ id: a.id, text: notes.join(' ') });
  };
  return html`<fieldset class="appointment-choice">
    <legend>Today's appointment${location ? ` at ${location.name}` : ''}</legend>
    <${Loaded} state=${state} what="Loading today's appointments">${(data) => html`
      <div class="choices-list">
        <label class="choice-line"><input type="radio" name="appointment" value="" checked=${!chosen} onChange=${() => { setPaid(null); onWalkIn(); }} />
          Walk-in (no appointment)</label>
        ${data.appointments.map((a) => html`<label class="choice-line">
          <input type="radio" name="appointment" value=${a.id} checked=${chosen === a.id} onChange=${() => pick(a, data.clients)} />
          <span><strong>${time(a.start, a.timezone)}</strong> ${clientName(data.clients.get(a.client_id)) || 'Client'} · ${lookups.services.get(a.service_id)?.name || 'Treatment'}
            ${a.practitioner_id && ` · ${lookups.practitioners.get(a.practitioner_id)?.display_name || ''}`} · ${money(a.price)}</span>
        </label>`)}
      </div>
      ${data.appointments.length === 0 && html`<p class="muted">No appointments to charge for today at this location.</p>`}`}
    </${Loaded}>
    ${paid && paid.id === chosen && html`<p class="notice notice-info">${paid.text}</p>`}
  </fieldset>`;
}

function ClientChoice({ me, sale, error, onChange }) {
  const [adding, setAdding] = useState(false);
  if (sale.appointment_id && sale.client) {
    return html`<p>Client: <strong>${clientName(sale.client)}</strong></p>`;
  }
  return html`<div class="client-choice">
    ${sale.client
      ? html`<p>Client: <strong>${clientName(sale.client)}</strong>${' '}
          <button type="button" class="link-button" onClick=${() => onChange(null)}>No client</button></p>`
      : html`<p class="muted">A walk-in sale may name a client, or none.</p>
        <${ClientPicker} onPick=${(c) => onChange(c)} />
        ${can(me, 'booking_write_own') && html`<button type="button" class="link-button" aria-expanded=${adding ? 'true' : 'false'} onClick=${() => setAdding(!adding)}>New client</button>`}
        ${adding && html`<div class="card nested"><${ClientForm} submitLabel="Add client" onSaved=${(c) => { setAdding(false); onChange(c); }} /></div>`}`}
    ${error && html`<p class="field-error">${error}</p>`}
  </div>`;
}

function LineEditor({ line, index, lookups, form, currency, mayDiscount, priced, packages, onChange, onRemove }) {
  const path = `lines[${index}]`;
  const services = [...lookups.services.values()].filter((s) => s.active !== false);
  const practitioners = [...lookups.practitioners.values()];
  const pickService = (id) => {
    const service = lookups.services.get(id);
    onChange(service ? { service_id: id, name: service.name, price: minorInput(service.price.amount_minor), package_id: '' } : { service_id: '', package_id: '' });
  };
  const products = lookups.products || [];
  const pickProduct = (id) => {
    const product = products.find((p) => p.id === id);
    onChange(product
      ? { product_id: id, sku: product.sku, name: product.name, price: minorInput(product.retail_price.amount_minor), ...taxChoice(product.tax) }
      : { product_id: '', sku: '' });
  };
  const covering = line.kind === 'service' && line.service_id
    ? (packages || []).filter((p) => p.template.service_ids.includes(line.service_id)) : [];
  const input = (name) => (e) => onChange({ [name]: e.currentTarget.value });
  if (line.kind === 'gift_card') {
    return html`<fieldset class="sale-line" data-line=${index} data-kind="gift_card">
      <legend>Line ${index + 1}: gift card</legend>
      <div class="row">
        <${Field} name=${`${path}.unit_price_minor`} form=${form(`${path}.unit_price_minor`)} label=${`Gift card amount (${currency})`} inputmode="decimal"
          value=${line.price} onInput=${input('price')} hint="Not taxed and never discounted: it is paid for when it is spent." />
        <${Field} name=${`${path}.gift_card.name`} form=${form(`${path}.gift_card.name`, `${path}.gift_card`)} label="Who it is for" value=${line.recipient_name} onInput=${input('recipient_name')} />
        <${Field} name=${`${path}.gift_card.email`} form=${form(`${path}.gift_card.email`)} label="Their email (optional)" type="email" value=${line.recipient_email}
          onInput=${input('recipient_email')} hint="The code is emailed to them; it is also shown once when the sale is done." />
      </div>
      <div class="split line-foot">
        <span class="muted" data-line-figures>${priced ? amount(priced.total_minor, currency) : ''}</span>
        <button type="button" class="link-button" onClick=${onRemove}>Remove line ${index + 1}</button>
      </div>
    </fieldset>`;
  }
  if (line.kind === 'package') {
    const templates = lookups.packageTemplates || [];
    const pickTemplate = (id) => {
      const t = templates.find((x) => x.id === id);
      if (t) onChange({ package_template_id: id, name: t.name, price: minorInput(t.price.amount_minor) });
    };
    return html`<fieldset class="sale-line" data-line=${index} data-kind="package">
      <legend>Line ${index + 1}: package</legend>
      <div class="row">
        <${Field} name=${`${path}.package_template_id`} form=${form(`${path}.package_template_id`)} label="Package" value=${line.package_template_id}
          onInput=${(e) => pickTemplate(e.currentTarget.value)}
          options=${templates.map((t) => ({ value: t.id, label: `${t.name} · ${t.sessions} sessions · ${money(t.price)}` }))} />
        <${Field} name=${`${path}.tax`} form=${form(`${path}.tax`)} label="Tax" value=${line.tax} options=${TAXES} onInput=${input('tax')}
          hint="As the treatment it covers is taxed: paid now, so its visits are not taxed again." />
      </div>
      ${mayDiscount && html`<${DiscountFields} discount=${line.discount} path=${`${path}.discount`} form=${form} currency=${currency} what="this line"
        onChange=${(d) => onChange({ discount: { ...line.discount, ...d } })} />`}
      <div class="split line-foot">
        <span class="muted" data-line-figures>${priced ? `${amount(priced.total_minor, currency)}, tax ${amount(priced.tax_minor, currency)}` : ''}</span>
        <button type="button" class="link-button" onClick=${onRemove}>Remove line ${index + 1}</button>
      </div>
    </fieldset>`;
  }
  return html`<fieldset class="sale-line" data-line=${index}>
    <legend>Line ${index + 1}: ${line.kind === 'service' ? 'service' : 'product'}${line.appointment_id ? ' (appointment)' : ''}</legend>
    ${line.kind === 'product' && products.length > 0 && html`<${Field} name=${`${path}.product`} label="From the catalog"
      value=${line.product_id || ''} onInput=${(e) => pickProduct(e.currentTarget.value)}
      options=${[{ value: '', label: 'Other (type its name)' }, ...products.map((p) => ({ value: p.id, label: `${p.name} · ${p.sku} · ${money(p.retail_price)}` }))]} />`}
    ${line.kind === 'service' && !line.appointment_id && html`<${Field} name=${`${path}.service_id`} form=${form(`${path}.service_id`)} label="Treatment"
      value=${line.service_id} onInput=${(e) => pickService(e.currentTarget.value)}
      options=${[{ value: '', label: 'Other (type its name)' }, ...services.map((s) => ({ value: s.id, label: `${s.name} · ${money(s.price)}` }))]} />`}
    <div class="row">
      <${Field} name=${`${path}.name`} form=${form(`${path}.name`)} label=${line.kind === 'service' ? 'Name on the invoice' : 'Product'} value=${line.name} onInput=${input('name')} />
      ${line.kind === 'product' && html`<${Field} name=${`${path}.sku`} form=${form(`${path}.sku`)} label="SKU (optional)" value=${line.sku} onInput=${input('sku')} />`}
      ${line.kind === 'service' && html`<${Field} name=${`${path}.practitioner_id`} form=${form(`${path}.practitioner_id`)} label="Practitioner" value=${line.practitioner_id}
        onInput=${input('practitioner_id')} options=${[{ value: '', label: 'Not named' }, ...practitioners.map((p) => ({ value: p.id, label: p.display_name }))]} />`}
    </div>
    ${(covering.length > 0 || line.package_id) && html`<${Field} name=${`${path}.package_id`} form=${form(`${path}.package_id`)} label="Paid by" value=${line.package_id}
      onInput=${(e) => onChange({ package_id: e.currentTarget.value, quantity: e.currentTarget.value ? '1' : line.quantity })}
      options=${[{ value: '', label: 'The client pays for it' },
        ...covering.map((p) => ({ value: p.id, label: `A session of ${p.template.name} (${p.sessions_remaining} of ${p.sessions_total} left)` }))]} />`}
    <div class="row">
      <${Field} name=${`${path}.quantity`} form=${form(`${path}.quantity`)} label="Quantity" inputmode="numeric" value=${line.quantity} onInput=${input('quantity')} />
      <${Field} name=${`${path}.unit_price_minor`} form=${form(`${path}.unit_price_minor`)} label=${`Unit price (${currency})`} inputmode="decimal" value=${line.price} onInput=${input('price')} />
      <${Field} name=${`${path}.tax`} form=${form(`${path}.tax`)} label="Tax" value=${line.tax} options=${TAXES} onInput=${input('tax')} />
    </div>
    ${line.tax === 'other' && html`<div class="row">
      <${Field} name=${`${path}.tax.rate_bp`} form=${form(`${path}.tax.rate_bp`)} label="Tax rate (%)" inputmode="decimal" value=${line.tax_rate} onInput=${input('tax_rate')} />
      <${Field} name=${`${path}.tax.mode`} label="The price" value=${line.tax_mode} onInput=${input('tax_mode')}
        options=${[{ value: 'inclusive', label: 'includes the tax' }, { value: 'exclusive', label: 'has the tax added' }]} />
    </div>`}
    ${mayDiscount && !line.package_id && html`<${DiscountFields} discount=${line.discount} path=${`${path}.discount`} form=${form} currency=${currency} what="this line"
      onChange=${(d) => onChange({ discount: { ...line.discount, ...d } })} />`}
    <div class="split line-foot">
      <span class="muted" data-line-figures>${line.package_id && priced ? 'Covered by the package: nothing to pay. ' : ''}${priced ? `${amount(priced.total_minor, currency)}${priced.discount_minor ? ` after ${amount(priced.discount_minor, currency)} off` : ''}, tax ${amount(priced.tax_minor, currency)}` : ''}</span>
      <button type="button" class="link-button" onClick=${onRemove}>Remove line ${index + 1}</button>
    </div>
  </fieldset>`;
}

function DiscountFields({ discount, path, form, currency, what, onChange }) {
  return html`<div class="row discount">
    <${Field} name=${`${path}.kind`} label=${`Discount on ${what}`} value=${discount.kind} options=${DISCOUNTS} onInput=${(e) => onChange({ kind: e.currentTarget.value })} />
    ${discount.kind !== 'none' && html`
      <${Field} name=${path} form=${form(path, `${path}.basis_points`, `${path}.amount_minor`)} inputmode="decimal"
        label=${discount.kind === 'percent' ? 'Discount (%)' : `Discount (${currency})`} value=${discount.value} onInput=${(e) => onChange({ value: e.currentTarget.value })} />
      <${Field} name=${`${path}.reason`} form=${form(`${path}.reason`)} label="Reason for the discount" value=${discount.reason}
        onInput=${(e) => onChange({ reason: e.currentTarget.value })} hint="Required: kept on the invoice and the audit log." />`}
  </div>`;
}

function TenderEditor({ tender, index, form, currency, sale, onChange, onRemove }) {
  const path = `tenders[${index}]`;
  if (GATEWAY_CARDS.includes(tender.method)) {
    return html`<${CardTender} tender=${tender} path=${path} form=${form} currency=${currency} sale=${sale} onChange=${onChange} onRemove=${onRemove} />`;
  }
  const cash = tender.method === 'cash';
  if (tender.method === 'deposit') {
    return html`<fieldset class="tender" data-tender="deposit">
      <legend>${METHODS.deposit}</legend>
      <${Field} name=${path} form=${form(path, `${path}.amount_minor`, `${path}.payment_id`)} inputmode="decimal"
        label=${`Deposit taken off (${currency})`} value=${tender.amount} onInput=${(e) => onChange({ amount: e.currentTarget.value })}
        hint="Paid online when the client booked: at most what the deposit holds." />
      <button type="button" class="link-button" onClick=${onRemove}>Remove this payment</button>
    </fieldset>`;
  }
  if (tender.method === 'loyalty') {
    const points = /^\d+$/.test(tender.amount.trim()) ? Number(tender.amount) : 0;
    return html`<fieldset class="tender" data-tender="loyalty">
      <legend>${METHODS.loyalty}</legend>
      <${Field} name=${path} form=${form(path, `${path}.points`, `${path}.amount_minor`)} inputmode="numeric"
        label="Points to spend" value=${tender.amount} onInput=${(e) => onChange({ amount: e.currentTarget.value })}
        hint=${`Worth ${amount(pointsValue(points, tender.rate), currency)} (${tender.rate.reward_points} points = ${amount(tender.rate.reward_minor, currency)}).`} />
      <button type="button" class="link-button" onClick=${onRemove}>Remove this payment</button>
    </fieldset>`;
  }
  if (tender.method === 'gift_card') return html`<${GiftCardTender} tender=${tender} path=${path} form=${form} currency=${currency} onChange=${onChange} onRemove=${onRemove} />`;
  const referenceName = tender.method === 'card_external' ? `${path}.terminal_reference` : `${path}.reference`;
  return html`<fieldset class="tender" data-tender=${tender.method}>
    <legend>${METHODS[tender.method]}</legend>
    <div class="row">
      <${Field} name=${path} form=${form(path, `${path}.tendered_minor`, `${path}.amount_minor`)} inputmode="decimal"
        label=${cash ? `Cash handed over (${currency})` : `${METHODS[tender.method]} amount (${currency})`} value=${tender.amount}
        onInput=${(e) => onChange({ amount: e.currentTarget.value })} hint=${cash ? 'What the client gave: the change is worked out.' : undefined} />
      ${!cash && html`<${Field} name=${referenceName} form=${form(referenceName)} value=${tender.reference}
        label=${tender.method === 'card_external' ? 'Terminal reference' : 'Transfer reference'} onInput=${(e) => onChange({ reference: e.currentTarget.value })} />`}
    </div>
    <button type="button" class="link-button" onClick=${onRemove}>Remove this payment</button>
  </fieldset>`;
}

/** A gift card paying: its code, its balance once looked up, and how much of it to spend. */
function GiftCardTender({ tender, path, form, currency, onChange, onRemove }) {
  const [card, setCard] = useState(null);
  const [problem, setProblem] = useState(null);
  const check = async () => {
    setProblem(null);
    setCard(null);
    try {
      const view = await api.post('/v1/gift-cards/lookup', { code: tender.code });
      setCard(view.gift_card);
      if (!tender.amount.trim()) onChange({ amount: minorInput(view.gift_card.balance_minor) });
    } catch (err) {
      setProblem(err.status === 404 ? 'No gift card of this clinic has this code.' : err.message);
    }
  };
  const expired = card && card.expires_at && Date.parse(card.expires_at) <= Date.now();
  return html`<fieldset class="tender" data-tender="gift_card">
    <legend>${METHODS.gift_card}</legend>
    <div class="row">
      <${Field} name=${`${path}.code`} form=${form(`${path}.code`)} label="Gift card code" value=${tender.code} autocomplete="off"
        onInput=${(e) => { setCard(null); onChange({ code: e.currentTarget.value }); }} hint="As printed: case, spaces and dashes do not matter." />
      <${Field} name=${path} form=${form(path, `${path}.amount_minor`)} inputmode="decimal" label=${`Gift card amount (${currency})`} value=${tender.amount}
        onInput=${(e) => onChange({ amount: e.currentTarget.value })} />
    </div>
    <div class="actions">
      <button type="button" class="secondary" onClick=${check} disabled=${!tender.code.trim()}>Check balance</button>
      ${card && html`<p role="status" class="gift-card-balance">Card …${card.code_last4}: <strong id=${`gift-card-balance-${card.code_last4}`}>${amount(card.balance_minor, card.currency)}</strong> left${card.status === 'voided' ? ' (voided: it cannot be spent)' : expired ? ' (expired)' : card.expires_at ? `, valid until ${card.expires_at.slice(0, 10)}` : ''}.</p>`}
      ${problem && html`<p class="field-error" role="alert">${problem}</p>`}
    </div>
    <button type="button" class="link-button" onClick=${onRemove}>Remove this payment</button>
  </fieldset>`;
}

/** How long the till waits between two looks at a payment on a reader. */
const POLL_MS = 1000;

/**
 * A card taken here: on a reader (choose it, Charge, wait while the reader asks for the card) or
 * on the saved card of the booking. Once approved the tender holds the payment's intent and
 * amount, and can only be removed; a decline says why and lets the desk try again.
 */
function CardTender({ tender, path, form, currency, sale, onChange, onRemove }) {
  const onReader = tender.method === 'card_reader';
  const readers = useLoad(() => (onReader ? api.get('/v1/card-readers') : Promise.resolve([])), [onReader]);
  const here = (readers.data || []).filter((r) => r.location_id === sale.location_id);
  const [payment, setPayment] = useState(null);
  // The Idempotency-Key of this saved-card charge and the body it was sent with.
  const [chargeAttempt, setChargeAttempt] = useState(null);
  const [problem, setProblem] = useState(null);
  const [busy, setBusy] = useState(false);
  const readerId = tender.reader_id || here[0]?.id || '';
  const readerLabel = here.find((r) => r.id === (payment?.reader_id || readerId))?.label || 'the reader';

  // While the reader asks for the card, look again every second until it answers.
  useEffect(() => {
    if (!payment || payment.status !== 'pending') return undefined;
    let live = true;
    const timer = setTimeout(async () => {
      try {
        const now = await api.get(`/v1/desk-payments/${payment.id}`);
        if (live) setPayment(now);
      } catch (err) {
        if (live) setPayment({ ...payment });
      }
    }, POLL_MS);
    return () => { live = false; clearTimeout(timer); };
  }, [payment]);
  useEffect(() => {
    if (payment?.status === 'succeeded' && !tender.intent_id) {
      onChange({ intent_id: payment.intent_id, paid_minor: payment.amount.amount_minor });
    }
  }, [payment]);

  if (tender.intent_id) {
    return html`<fieldset class="tender" data-tender=${tender.method} data-paid="true">
      <legend>${METHODS[tender.method]}</legend>
      <p class="notice notice-success" role="status" id=${`${path}-approved`}>Approved: ${amount(tender.paid_minor, currency)} ${onReader ? `on ${readerLabel}` : 'on the card on file'}.</p>
      <button type="button" class="link-button" onClick=${onRemove}>Remove this payment</button>
    </fieldset>`;
  }
  const charge = async () => {
    setProblem(null);
    const minor = toMinor(tender.amount);
    if (!minor) { setProblem('Enter the amount to charge, like 50.00.'); return; }
    setBusy(true);
    try {
      const body = onReader
        ? { method: 'reader', reader_id: readerId, location_id: sale.location_id, amount_minor: minor, currency }
        : { method: 'saved_card', appointment_id: sale.appointment_id, location_id: sale.location_id, amount_minor: minor, currency };
      if (onReader && sale.client) body.client_id = sale.client.id;
      // A saved card is charged at once: a retry of the same charge carries the same key, so a
      // lost answer never charges the card twice.
      const sent = JSON.stringify(body);
      const key = chargeAttempt && chargeAttempt.body === sent ? chargeAttempt.key : newIdempotencyKey();
      setChargeAttempt({ key, body: sent });
      setPayment(await api.post('/v1/desk-payments', body, onReader ? {} : { idempotencyKey: key }));
    } catch (err) {
      setProblem(err.message || String(err));
    } finally {
      setBusy(false);
    }
  };
  const cancel = async () => {
    setProblem(null);
    try {
      setPayment(await api.post(`/v1/desk-payments/${payment.id}/cancel`, {}));
    } catch (err) {
      setProblem(err.message || String(err));
      if (err.code === 'already_paid') setPayment(await api.get(`/v1/desk-payments/${payment.id}`));
    }
  };
  const waiting = payment?.status === 'pending';
  return html`<fieldset class="tender" data-tender=${tender.method}>
    <legend>${METHODS[tender.method]}</legend>
    <div class="row">
      ${onReader && html`<${Loaded} state=${readers} what="Loading the card readers">${() => (here.length === 0
        ? html`<p class="muted">No card reader at this location: an owner or manager registers one in Settings, Card readers.</p>`
        : html`<${Field} name=${`${path}.reader_id`} label="Reader" value=${readerId} disabled=${waiting}
            options=${here.map((r) => ({ value: r.id, label: r.label }))} onInput=${(e) => onChange({ reader_id: e.currentTarget.value })} />`)}</${Loaded}>`}
      <${Field} name=${path} form=${form(path, `${path}.intent_id`, `${path}.amount_minor`)} inputmode="decimal" disabled=${waiting}
        label=${`Amount to charge (${currency})`} value=${tender.amount} onInput=${(e) => onChange({ amount: e.currentTarget.value })} />
    </div>
    ${waiting && html`<p role="status" aria-live="polite" class="notice notice-info" id=${`${path}-waiting`}>Waiting for the card on ${readerLabel}…</p>`}
    ${payment?.status === 'declined' && html`<p class="notice notice-error" role="alert" id=${`${path}-declined`}>Declined (${label(payment.failure_code || 'card_declined')}). Try another card, or another way to pay.</p>`}
    ${payment?.status === 'canceled' && html`<p class="muted" role="status">Cancelled: nothing was charged.</p>`}
    ${problem && html`<p class="notice notice-error" role="alert">${problem}</p>`}
    <div class="actions">
      ${waiting
        ? html`<button type="button" class="secondary" onClick=${cancel}>Cancel</button>`
        : html`<button type="button" class="primary" onClick=${charge} disabled=${busy || (onReader && !readerId)}>${onReader ? 'Charge' : 'Charge the card on file'}</button>`}
      <button type="button" class="link-button" onClick=${onRemove} disabled=${waiting}>Remove this payment</button>
    </div>
  </fieldset>`;
}

function Receipt({ sale, lookups, client, onNew }) {
  const location = lookups.locations.get(sale.location_id);
  return html`<section class="card receipt" aria-labelledby="h-receipt">
    <h2 id="h-receipt">Sale completed: <span id="invoice-number">${sale.invoice_number}</span></h2>
    <p class="muted">${location?.name || ''} · ${time(sale.completed_at, location?.timezone)}${client ? ` · ${clientName(client)}` : ''}</p>
    ${sale.totals.change_minor > 0
      ? html`<p class="change-due" role="status">Give <strong id="change-due">${amount(sale.totals.change_minor, sale.currency)}</strong> in change.</p>`
      : html`<p role="status">No change to give.</p>`}
    ${(sale.issued_gift_cards || []).map((issued) => html`<div class="notice notice-info gift-card-issued" role="status">
      <p>Gift card of ${amount(issued.gift_card.initial_minor, issued.gift_card.currency)} for ${issued.gift_card.recipient.name}: its code is
        <strong class="gift-card-code">${issued.code}</strong></p>
      <p class="small-text">Shown this once: write it on the card now.${issued.gift_card.recipient.email ? ` It is also emailed to ${issued.gift_card.recipient.email}.` : ''}</p>
    </div>`)}
    ${(sale.sold_packages || []).map((p) => html`<p class="notice notice-info package-sold" role="status">
      ${p.template.name}: ${p.sessions_total} sessions, valid until ${dateTime(p.expires_at, location?.timezone)} — on the client's file.</p>`)}
    ${sale.points_earned > 0 && html`<p class="notice notice-info points-earned" role="status">
      ${client ? clientName(client) : 'The client'} earned <strong id="points-earned">${sale.points_earned}</strong> loyalty points.</p>`}
    <${SaleFigures} sale=${sale} practitioners=${lookups.practitioners} />
    <div class="actions">
      <a class="button secondary" href=${`#/sales/${sale.id}`}>Open the sale</a>
      <button type="button" class="primary" onClick=${onNew}>Start a new sale</button>
    </div>
  </section>`;
}
