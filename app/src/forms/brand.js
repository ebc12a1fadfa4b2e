// The brand's forms: look (theme, search title and description), web address (subdomain,
// custom domain), logo, and who the clinic is in law (for its receipts). PUT /v1/brand replaces the whole input, so each form sends the
// stored brand with only its own fields changed.
import { html } from '../html.js';
import { api } from '../api.js';
import { useForm, Field, FormMessage } from '../ui/form.js';
import { Notice } from '../ui/bits.js';
import { useState } from 'preact/hooks';

export const THEMES = [
  { value: 'champagne_classic', label: 'Champagne classic', note: 'warm ivory and gold, serif headings' },
  { value: 'luxury_noir', label: 'Luxury noir', note: 'dark, high contrast, elegant' },
  { value: 'ivory_minimal', label: 'Ivory minimal', note: 'light, quiet and simple' },
];

/** The writable part of a stored Brand (what PUT /v1/brand takes). */
export function brandInput(brand) {
  const { theme, overrides, logo_url, domain, subdomain, seo, business } = brand || {};
  return { theme: theme || 'ivory_minimal', overrides: overrides || {}, logo_url: logo_url || null, domain: domain || null, subdomain: subdomain || null, seo: seo || {}, business: business || {} };
}

async function saveBrand(change) {
  const current = await api.get('/v1/brand');
  return api.put('/v1/brand', { ...brandInput(current), ...change(brandInput(current)) });
}

export function ThemeForm({ brand, onSaved, submitLabel = 'Save' }) {
  const input = brandInput(brand);
  const form = useForm({ theme: input.theme, 'seo.title': input.seo.title || '', 'seo.description': input.seo.description || '' });
  const [saved, setSaved] = useState(false);
  const submit = (event) => form.submit(async (v) => {
    const result = await saveBrand((old) => ({
      theme: v.theme,
      seo: { title: v['seo.title'].trim() || null, description: v['seo.description'].trim() || null },
      subdomain: old.subdomain,
    }));
    setSaved(true);
    onSaved?.(result);
  }, event);
  return html`<form novalidate onSubmit=${submit}>
    <${FormMessage} form=${form} />
    <fieldset class="choices">
      <legend>Theme of your website</legend>
      ${THEMES.map((t) => html`<label class=${`choice theme-${t.value}`}>
        <input type="radio" name="theme" value=${t.value} checked=${form.values.theme === t.value} onChange=${form.bind('theme')} />
        <span><strong>${t.label}</strong><br /><span class="muted">${t.note}</span></span>
      </label>`)}
    </fieldset>
    <${Field} form=${form} name="seo.title" label="Title in search results" hint="e.g. Glow Clinic — skin and injectables in Bath" />
    <${Field} form=${form} name="seo.description" label="Description in search results" multiline />
    ${saved && html`<${Notice}>Saved. Your site is republished with it.</${Notice}>`}
    <button type="submit" class="primary" disabled=${form.busy}>${submitLabel}</button>
  </form>`;
}

/** The legal name, company number and VAT number printed on receipts. */
export function BusinessForm({ brand, onSaved }) {
  const b = brandInput(brand).business;
  const form = useForm({
    'business.legal_name': b.legal_name || '', 'business.company_number': b.company_number || '', 'business.vat_number': b.vat_number || '',
  });
  const [saved, setSaved] = useState(false);
  const submit = (event) => form.submit(async (v) => {
    const value = (name) => v[`business.${name}`].trim() || null;
    const result = await saveBrand(() => ({
      business: { legal_name: value('legal_name'), company_number: value('company_number'), vat_number: value('vat_number') },
    }));
    setSaved(true);
    onSaved?.(result);
  }, event);
  return html`<form novalidate onSubmit=${submit}>
    <${FormMessage} form=${form} />
    <${Field} form=${form} name="business.legal_name" label="Registered business name" hint="If it differs from the clinic's name, e.g. Glow Aesthetics Ltd" />
    <${Field} form=${form} name="business.company_number" label="Company number" hint="From Companies House, e.g. 09876543" />
    <${Field} form=${form} name="business.vat_number" label="VAT registration number" hint="With its country prefix, e.g. GB123456782; printed on every receipt" />
    ${saved && html`<${Notice}>Saved. New receipts carry it.</${Notice}>`}
    <button type="submit" class="primary" disabled=${form.busy}>Save</button>
  </form>`;
}

export function DomainForm({ brand, onSaved }) {
  const input = brandInput(brand);
  const form = useForm({ subdomain: input.subdomain || '', domain: input.domain || '' });
  const [saved, setSaved] = useState(false);
  const [current, setCurrent] = useState(brand);
  const submit = (event) => form.submit(async (v) => {
    const result = await saveBrand(() => ({ subdomain: v.subdomain.trim() || null, domain: v.domain.trim() || null }));
    setSaved(true);
    setCurrent(result);
    onSaved?.(result);
  }, event);
  return html`<form novalidate onSubmit=${submit}>
    <${FormMessage} form=${form} />
    <${Field} form=${form} name="subdomain" label="Subdomain" hint="Your site also answers at this name under the platform's domain" />
    <${Field} form=${form} name="domain" label="Custom domain" hint="e.g. www.glowclinic.co.uk; point its DNS at the platform first" />
    ${saved && html`<${Notice}>Saved.</${Notice}>`}
    <button type="submit" class="primary" disabled=${form.busy}>Save</button>
  </form>
  ${current?.domain_verification && html`<${DomainProof} proof=${current.domain_verification} onVerified=${setCurrent} />`}`;
}

/** A custom domain answers only once its TXT record is seen: what to publish, and a check. */
function DomainProof({ proof, onVerified }) {
  const form = useForm({});
  const check = (event) => form.submit(async () => onVerified(await api.post('/v1/brand/domain/verify', {})), event);
  if (proof.verified_at) {
    return html`<${Notice}>${proof.domain} is verified: your site answers on it.</${Notice}>`;
  }
  return html`<form novalidate onSubmit=${check} class="domain-proof" aria-label="Verify your domain">
    <h3>Verify ${proof.domain}</h3>
    <p>Your site answers on this domain once you prove it is yours. At your DNS provider, add a TXT record:</p>
    <dl>
      <dt>Name</dt><dd><code>${proof.record_name}</code></dd>
      <dt>Value</dt><dd><code>${proof.record_value}</code></dd>
    </dl>
    <${FormMessage} form=${form} />
    <button type="submit" disabled=${form.busy}>Check now</button>
  </form>`;
}

const LOGO_MAX_BYTES = 128 * 1024;

/** Uploads a PNG or JPEG of at most 128 KB (checked here first, then by the server). */
export function LogoForm({ onSaved, submitLabel = 'Upload logo' }) {
  const form = useForm({ file: null });
  const [saved, setSaved] = useState(null);
  const submit = (event) => form.submit(async (v) => {
    const file = v.file;
    if (!file) throw Object.assign(new Error('Choose a PNG or JPEG file first.'), { field: 'logo' });
    if (!['image/png', 'image/jpeg'].includes(file.type)) throw Object.assign(new Error('The logo must be a PNG or JPEG image.'), { field: 'logo' });
    if (file.size > LOGO_MAX_BYTES) throw Object.assign(new Error(`The logo must be at most 128 KB (this one is ${Math.ceil(file.size / 1024)} KB).`), { field: 'logo' });
    const info = await api.put('/v1/brand/logo', file, { contentType: file.type });
    setSaved(info);
    onSaved?.(info);
  }, event);
  return html`<form novalidate onSubmit=${submit}>
    <${FormMessage} form=${form} />
    <${Field} form=${form} name="logo" label="Logo file" type="file" accept="image/png,image/jpeg"
      hint="PNG or JPEG, at most 128 KB; it heads your consent forms and documents"
      onInput=${(e) => form.set('file', e.currentTarget.files[0] || null)} />
    ${saved && html`<${Notice}>Logo saved.</${Notice}>`}
    <button type="submit" class="primary" disabled=${form.busy}>${submitLabel}</button>
  </form>`;
}
