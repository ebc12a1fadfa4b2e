// Products and stock (#/stock): a location's levels (on hand, reorder level, low), receiving a
// delivery (owners, managers and the front desk), adjusting a level with a reason (owners and
// managers: a count, damaged, expired, other with a note), a product's movements at the location,
// and the reorder list with its CSV. Selling is the till's (a product line picked from the
// catalog takes it off the shelf); a service's usage list is deducted when its appointment is
// completed. Owners and managers add products to the catalog here too (the API's PUT and DELETE
// /v1/products/{id} change and archive them).
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { api } from '../api.js';
import { can } from '../permissions.js';
import { useLoad } from '../ui/async.js';
import { Loaded, PageTitle } from '../ui/bits.js';
import { Field, FormMessage, useForm } from '../ui/form.js';
import { ScrollTable } from '../ui/scroll-table.js';
import { catalog } from '../lookups.js';
import { label, toMinor } from '../format.js';

const REASONS = [
  { value: 'count', label: 'Stock count (set the level)' },
  { value: 'damaged', label: 'Damaged' },
  { value: 'expired', label: 'Expired' },
  { value: 'other', label: 'Other (say why)' },
];

export function Stock({ me }) {
  const lookups = useLoad(() => catalog(), []);
  return html`<section class="stock">
    <${PageTitle} sub="What each location holds, deliveries, adjustments and what to reorder.">Stock</${PageTitle}>
    <${Loaded} state=${lookups} what="Loading locations">${(l) => html`<${AtLocation} me=${me}
      locations=${[...l.locations.values()].filter((x) => !x.archived)} />`}</${Loaded}>
  </section>`;
}

function AtLocation({ me, locations }) {
  const [locationId, setLocationId] = useState(locations[0]?.id || '');
  const [round, setRound] = useState(0);
  const [product, setProduct] = useState('');
  const levels = useLoad(() => (locationId ? api.get(`/v1/stock?location_id=${locationId}`) : Promise.resolve([])), [locationId, round]);
  const changed = () => setRound(round + 1);
  if (!locationId) return html`<p class="muted">Add a location first.</p>`;
  return html`
    ${locations.length > 1 && html`<${Field} name="location_id" label="Location" value=${locationId}
      options=${locations.map((l) => ({ value: l.id, label: l.name }))} onInput=${(e) => setLocationId(e.currentTarget.value)} />`}
    <${Loaded} state=${levels} what="Loading stock">${(list) => html`
      <section class="card" aria-labelledby="h-levels">
        <h2 id="h-levels">Levels</h2>
        ${list.length === 0 ? html`<p class="muted">No products yet.</p>` : html`<${ScrollTable} label="Stock levels"><table id="stock-levels">
          <thead><tr><th scope="col">Product</th><th scope="col">SKU</th><th scope="col">Kind</th><th scope="col">On hand</th><th scope="col">Reorder at</th><th scope="col">Status</th><th scope="col"></th></tr></thead>
          <tbody>${list.map((v) => html`<tr data-sku=${v.sku}>
            <th scope="row">${v.name}</th><td>${v.sku}</td><td>${label(v.kind)}</td>
            <td data-on-hand>${v.on_hand}</td><td>${v.reorder_level}</td>
            <td>${v.on_hand < 0 ? 'Below zero: count it' : v.low && v.stocked ? 'Low' : v.stocked ? 'OK' : 'Not stocked here'}</td>
            <td><button type="button" class="link-button" onClick=${() => setProduct(v.product_id)}>History</button></td>
          </tr>`)}</tbody></table></${ScrollTable}>`}
      </section>
      ${can(me, 'catalog_write') && html`<${NewProduct} onDone=${changed} />`}
      ${can(me, 'stock_receive') && list.length > 0 && html`<${Receive} locationId=${locationId} products=${list} onDone=${changed} key=${`r${locationId}`} />`}
      ${can(me, 'stock_adjust') && list.length > 0 && html`<${Adjust} locationId=${locationId} products=${list} onDone=${changed} key=${`a${locationId}`} />`}
      ${product && html`<${History} locationId=${locationId} product=${list.find((v) => v.product_id === product)} round=${round} />`}
      <${Reorder} locationId=${locationId} round=${round} />
    `}</${Loaded}>`;
}

function productOptions(products) {
  return products.map((p) => ({ value: p.product_id, label: `${p.name} (${p.sku})` }));
}

function Receive({ locationId, products, onDone }) {
  const form = useForm({ product_id: products[0].product_id, quantity: '', supplier_reference: '', unit_cost: '' });
  const [done, setDone] = useState(null);
  const send = (event) => form.submit(async (v) => {
    const body = { location_id: locationId, quantity: Number(v.quantity) };
    if (v.supplier_reference.trim()) body.supplier_reference = v.supplier_reference.trim();
    if (v.unit_cost.trim()) body.unit_cost_minor = toMinor(v.unit_cost) ?? -1;
    const movement = await api.post(`/v1/products/${v.product_id}/receive`, body);
    setDone(`Received ${movement.quantity} of ${movement.sku}: ${movement.level_after} on hand.`);
    form.set('quantity', '');
    onDone();
  }, event);
  return html`<section class="card" aria-labelledby="h-receive">
    <h2 id="h-receive">Receive a delivery</h2>
    <form novalidate onSubmit=${send}>
      <div class="row">
        <${Field} form=${form} name="product_id" label="Product" options=${productOptions(products)} />
        <${Field} form=${form} name="quantity" label="Units received" inputmode="numeric" />
        <${Field} form=${form} name="supplier_reference" label="Delivery note (optional)" />
        <${Field} form=${form} name="unit_cost" label="Unit cost (optional)" inputmode="decimal" />
      </div>
      <${FormMessage} form=${form} />
      ${done && html`<p class="notice" role="status">${done}</p>`}
      <button type="submit" disabled=${form.busy}>Receive</button>
    </form>
  </section>`;
}

function Adjust({ locationId, products, onDone }) {
  const form = useForm({ product_id: products[0].product_id, reason: 'count', figure: '', note: '' });
  const [done, setDone] = useState(null);
  const count = form.values.reason === 'count';
  const send = (event) => form.submit(async (v) => {
    const body = { location_id: locationId, reason: v.reason };
    if (count) body.counted = Number(v.figure); else body.quantity = Number(v.figure);
    if (v.note.trim()) body.note = v.note.trim();
    const movement = await api.post(`/v1/products/${v.product_id}/adjust`, body);
    setDone(`Adjusted ${movement.sku} by ${movement.quantity}: ${movement.level_after} on hand.`);
    form.set('figure', '');
    onDone();
  }, event);
  return html`<section class="card" aria-labelledby="h-adjust">
    <h2 id="h-adjust">Adjust a level</h2>
    <form novalidate onSubmit=${send}>
      <div class="row">
        <${Field} form=${form} name="product_id" label="Product" options=${productOptions(products)} />
        <${Field} form=${form} name="reason" label="Reason" options=${REASONS} />
        <${Field} form=${form} name=${count ? 'counted' : 'quantity'} label=${count ? 'Units counted' : 'Units that leave (negative to add back)'}
          inputmode="numeric" value=${form.values.figure} onInput=${form.bind('figure')} />
        <${Field} form=${form} name="note" label=${form.values.reason === 'other' ? 'Why' : 'Note (optional)'} />
      </div>
      <${FormMessage} form=${form} />
      ${done && html`<p class="notice" role="status">${done}</p>`}
      <button type="submit" disabled=${form.busy}>Adjust</button>
    </form>
  </section>`;
}

function History({ locationId, product, round }) {
  const moves = useLoad(() => api.get(`/v1/products/${product.product_id}/movements?location_id=${locationId}`), [product.product_id, locationId, round]);
  return html`<section class="card" aria-labelledby="h-history">
    <h2 id="h-history">${product.name}: movements</h2>
    <${Loaded} state=${moves} what="Loading movements">${(list) => (list.length === 0 ? html`<p class="muted">Nothing yet at this location.</p>`
      : html`<${ScrollTable} label="Movements"><table id="stock-movements">
        <thead><tr><th scope="col">When</th><th scope="col">What</th><th scope="col">Units</th><th scope="col">After</th><th scope="col">Why</th></tr></thead>
        <tbody>${list.map((m) => html`<tr data-kind=${m.kind}>
          <td>${m.at.slice(0, 16).replace('T', ' ')}</td><td>${label(m.kind)}</td><td>${m.quantity > 0 ? `+${m.quantity}` : m.quantity}</td>
          <td>${m.level_after}</td><td>${[m.reason && label(m.reason), m.note, m.supplier_reference, m.sale_id && `sale ${m.sale_id}`, m.appointment_id && 'treatment'].filter(Boolean).join(' · ')}</td>
        </tr>`)}</tbody></table></${ScrollTable}>`)}</${Loaded}>
  </section>`;
}

function Reorder({ locationId, round }) {
  const list = useLoad(() => api.get(`/v1/stock/reorder?location_id=${locationId}`), [locationId, round]);
  const [link, setLink] = useState(null);
  const [error, setError] = useState(null);
  const prepare = async () => {
    setError(null);
    try {
      const text = await api.get(`/v1/stock/reorder.csv?location_id=${locationId}`, { as: 'text' });
      setLink(URL.createObjectURL(new Blob([text], { type: 'text/csv' })));
    } catch (err) {
      setError(err.message || String(err));
    }
  };
  return html`<section class="card" aria-labelledby="h-reorder">
    <h2 id="h-reorder">Reorder list</h2>
    <${Loaded} state=${list} what="Loading the reorder list">${(rows) => (rows.length === 0 ? html`<p class="muted">Nothing is at or below its reorder level.</p>`
      : html`<${ScrollTable} label="Reorder list"><table id="reorder-list">
        <thead><tr><th scope="col">Product</th><th scope="col">Supplier</th><th scope="col">On hand</th><th scope="col">Order</th></tr></thead>
        <tbody>${rows.map((r) => html`<tr data-sku=${r.sku}><th scope="row">${r.name} (${r.sku})</th><td>${r.supplier || ''}</td><td>${r.on_hand}</td><td>${r.suggested_quantity}</td></tr>`)}</tbody>
      </table></${ScrollTable}>`)}</${Loaded}>
    ${link ? html`<a class="button secondary" href=${link} download="reorder.csv">Download the CSV</a>`
      : html`<button type="button" class="secondary" onClick=${prepare}>Prepare the CSV</button>`}
    ${error && html`<p class="field-error" role="alert">${error}</p>`}
  </section>`;
}

function NewProduct({ onDone }) {
  const form = useForm({ sku: '', name: '', kind: 'retail', price: '', reorder_level: '3', reorder_quantity: '12', supplier: '' });
  const [done, setDone] = useState(null);
  const send = (event) => form.submit(async (v) => {
    const body = {
      sku: v.sku.trim(), name: v.name.trim(), kind: v.kind, retail_price: { amount_minor: toMinor(v.price) ?? -1 },
      reorder_level: Number(v.reorder_level), reorder_quantity: Number(v.reorder_quantity),
    };
    if (v.supplier.trim()) body.supplier = v.supplier.trim();
    const product = await api.post('/v1/products', body);
    setDone(`${product.name} (${product.sku}) is in the catalog.`);
    form.setValues({ ...v, sku: '', name: '', price: '' });
    onDone();
  }, event);
  return html`<details class="card">
    <summary>Add a product to the catalog</summary>
    <form novalidate onSubmit=${send}>
      <div class="row">
        <${Field} form=${form} name="sku" label="SKU" />
        <${Field} form=${form} name="name" label="Name" />
        <${Field} form=${form} name="kind" label="Kind" options=${[{ value: 'retail', label: 'Sold at the till' }, { value: 'professional_use', label: 'Used in treatments' }]} />
      </div>
      <div class="row">
        <${Field} form=${form} name="retail_price" label="Price" inputmode="decimal" value=${form.values.price} onInput=${form.bind('price')} />
        <${Field} form=${form} name="reorder_level" label="Reorder at" inputmode="numeric" />
        <${Field} form=${form} name="reorder_quantity" label="Order quantity" inputmode="numeric" />
        <${Field} form=${form} name="supplier" label="Supplier (optional)" />
      </div>
      <${FormMessage} form=${form} />
      ${done && html`<p class="notice" role="status">${done}</p>`}
      <button type="submit" disabled=${form.busy}>Add the product</button>
    </form>
  </details>`;
}
