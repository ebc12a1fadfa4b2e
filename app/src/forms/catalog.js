// The catalog forms of onboarding: a location (address, zone, hours), a service (duration,
// buffers, price, deposit) and a practitioner (who works the location's hours).
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { api } from '../api.js';
import { useForm, Field, FormMessage, errorFor } from '../ui/form.js';
import { HoursEditor, defaultHours, openingHours } from './hours.js';
import { timeZoneOptions } from './timezones.js';

export function LocationForm({ timezone, onCreated, submitLabel = 'Save location' }) {
  const form = useForm({
    name: '', timezone, 'address.line1': '', 'address.city': '', 'address.postcode': '', 'address.country': 'GB', phone: '',
  });
  const [hours, setHours] = useState(defaultHours);
  const submit = (event) => form.submit(async (v) => {
    const body = {
      name: v.name.trim(),
      timezone: v.timezone,
      address: { line1: v['address.line1'].trim(), city: v['address.city'].trim(), postcode: v['address.postcode'].trim(), country: v['address.country'].trim().toUpperCase() },
      phone: v.phone.trim() || null,
      opening_hours: openingHours(hours),
    };
    const location = await api.post('/v1/locations', body);
    onCreated(location);
  }, event);
  return html`<form novalidate onSubmit=${submit}>
    <${FormMessage} form=${form} />
    <${Field} form=${form} name="name" label="Location name" hint="e.g. Bath, Milsom Street" required />
    <${Field} form=${form} name="timezone" label="Time zone" options=${timeZoneOptions(timezone)}
      hint="Opening hours, bookings and reminders follow this zone" />
    <${Field} form=${form} name="address.line1" label="Address" autocomplete="address-line1" required />
    <div class="row">
      <${Field} form=${form} name="address.city" label="Town or city" autocomplete="address-level2" required />
      <${Field} form=${form} name="address.postcode" label="Postcode" autocomplete="postal-code" required />
      <${Field} form=${form} name="address.country" label="Country code" autocomplete="country" maxlength="2" hint="Two letters, e.g. GB" required />
    </div>
    <${Field} form=${form} name="phone" label="Phone (optional)" type="tel" autocomplete="tel" />
    <${HoursEditor} rows=${hours} onChange=${setHours} error=${errorFor(form.errors, 'opening_hours')} />
    <button type="submit" class="primary" disabled=${form.busy}>${submitLabel}</button>
  </form>`;
}

export const CATEGORIES = [
  { value: 'injectables', label: 'Injectables' },
  { value: 'skin', label: 'Skin' },
  { value: 'laser', label: 'Laser' },
  { value: 'body', label: 'Body' },
  { value: 'wellness', label: 'Wellness' },
  { value: 'consultation', label: 'Consultation' },
];

const DEPOSITS = [
  { value: 'policy', label: "The clinic's policy" },
  { value: 'none', label: 'No deposit' },
  { value: 'percent', label: 'A percentage' },
  { value: 'fixed', label: 'A fixed amount' },
];

function serviceDeposit(v) {
  if (v.deposit_kind === 'policy') return null;
  if (v.deposit_kind === 'percent') return { kind: 'percent', percent: Number(v.deposit_value) };
  if (v.deposit_kind === 'fixed') return { kind: 'fixed', amount_minor: Math.round(Number(v.deposit_value) * 100) };
  return { kind: 'none' };
}

export function ServiceForm({ currency, onCreated }) {
  const blank = { name: '', category: 'skin', description: '', duration_minutes: '60', buffer_before_minutes: '0', buffer_after_minutes: '15', price: '', deposit_kind: 'policy', deposit_value: '' };
  const form = useForm(blank);
  const submit = (event) => form.submit(async (v) => {
    const service = await api.post('/v1/services', {
      name: v.name.trim(),
      category: v.category,
      description: v.description.trim(),
      duration_minutes: Number(v.duration_minutes),
      buffer_before_minutes: Number(v.buffer_before_minutes),
      buffer_after_minutes: Number(v.buffer_after_minutes),
      price: { amount_minor: Math.round(Number(v.price) * 100), currency },
      deposit: serviceDeposit(v),
    });
    form.setValues(blank);
    onCreated(service);
  }, event);
  const v = form.values;
  return html`<form novalidate onSubmit=${submit} aria-label="Add a service">
    <${FormMessage} form=${form} />
    <div class="row">
      <${Field} form=${form} name="name" label="Treatment name" required />
      <${Field} form=${form} name="category" label="Category" options=${CATEGORIES} />
    </div>
    <${Field} form=${form} name="description" label="Description (optional)" multiline />
    <div class="row">
      <${Field} form=${form} name="duration_minutes" label="Duration (minutes)" type="number" min="5" max="720" step="5" required />
      <${Field} form=${form} name="buffer_before_minutes" label="Preparation before (minutes)" type="number" min="0" step="5" />
      <${Field} form=${form} name="buffer_after_minutes" label="Clean-up after (minutes)" type="number" min="0" step="5" />
    </div>
    <div class="row">
      <${Field} form=${form} name="price" label=${`Price (${currency})`} type="number" min="0" step="0.01" required />
      <${Field} form=${form} name="deposit_kind" label="Deposit" options=${DEPOSITS} />
      ${(v.deposit_kind === 'percent' || v.deposit_kind === 'fixed') && html`<${Field} form=${form} name="deposit"
        label=${v.deposit_kind === 'percent' ? 'Deposit (%)' : `Deposit (${currency})`} type="number" min="0" step=${v.deposit_kind === 'percent' ? '1' : '0.01'}
        value=${v.deposit_value} onInput=${form.bind('deposit_value')} />`}
    </div>
    <button type="submit" class="secondary" disabled=${form.busy}>Add service</button>
  </form>`;
}

/** A practitioner who performs the given categories during the location's opening hours. */
export function PractitionerForm({ location, categories, onCreated, submitLabel = 'Add practitioner' }) {
  const form = useForm({ display_name: '', title: '', email: '', bio: '' });
  const [chosen, setChosen] = useState(() => categories);
  const submit = (event) => form.submit(async (v) => {
    const practitioner = await api.post('/v1/practitioners', {
      display_name: v.display_name.trim(),
      title: v.title.trim() || null,
      email: v.email.trim() || null,
      bio: v.bio.trim(),
      specialties: chosen,
      working_rules: (location?.opening_hours || []).map((span) => ({ location_id: location.id, ...span })),
    });
    onCreated(practitioner);
  }, event);
  const toggle = (value, on) => setChosen((old) => (on ? [...old, value] : old.filter((c) => c !== value)));
  return html`<form novalidate onSubmit=${submit}>
    <${FormMessage} form=${form} />
    <${Field} form=${form} name="display_name" label="Name as clients see it" hint="e.g. Dr Sam Patel" required />
    <${Field} form=${form} name="title" label="Title (optional)" hint="e.g. Aesthetic doctor" />
    <${Field} form=${form} name="email" label="Email (optional)" type="email" />
    <${Field} form=${form} name="bio" label="Short biography (optional)" multiline />
    <fieldset>
      <legend>Performs</legend>
      ${errorFor(form.errors, 'specialties') && html`<p class="field-error">${errorFor(form.errors, 'specialties')}</p>`}
      ${categories.map((c) => html`<div class="field field-check">
        <input type="checkbox" id=${`spec-${c}`} checked=${chosen.includes(c)} onChange=${(e) => toggle(c, e.currentTarget.checked)} />
        <label for=${`spec-${c}`}>${CATEGORIES.find((x) => x.value === c)?.label || c}</label>
      </div>`)}
    </fieldset>
    <p class="muted">Works at ${location?.name || 'your location'} during its opening hours; you can change this later.</p>
    <button type="submit" class="primary" disabled=${form.busy}>${submitLabel}</button>
  </form>`;
}
