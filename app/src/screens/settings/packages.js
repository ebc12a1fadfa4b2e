// Packages and courses of treatment (owners and managers): the catalog's package templates —
// what a client buys at the till ("6 laser sessions"): the treatments a session may be used for,
// how many sessions, the price and how many months it stays valid. A template can be taken off
// sale (archived); the packages already sold keep what they were sold as.
import { useState } from 'preact/hooks';
import { html } from '../../html.js';
import { api } from '../../api.js';
import { catalog } from '../../lookups.js';
import { useLoad } from '../../ui/async.js';
import { Loaded } from '../../ui/bits.js';
import { useForm, Field, FormMessage } from '../../ui/form.js';
import { money, toMinor } from '../../format.js';

async function load() {
  const [lookups, templates] = await Promise.all([catalog(), api.get('/v1/package-templates')]);
  return { services: [...lookups.services.values()].filter((s) => s.active !== false), templates };
}

export function PackageTemplates() {
  const [round, setRound] = useState(0);
  const state = useLoad(load, [round]);
  return html`<${Loaded} state=${state} what="Loading the packages">${(data) => html`<div>
    <p class="muted">A package is sold at the till as one line and paid for then; each visit it covers is then rung up at nothing to pay, one session at a time.</p>
    ${data.templates.length === 0
      ? html`<p class="muted" id="no-package-templates">No package yet.</p>`
      : html`<ul class="plain-list" id="package-templates">${data.templates.map((t) => html`<${TemplateRow} key=${t.id} template=${t}
          services=${data.services} onArchived=${() => setRound(round + 1)} />`)}</ul>`}
    ${data.services.length === 0
      ? html`<p class="muted">Add a service first: a package covers sessions of your services.</p>`
      : html`<${NewTemplate} services=${data.services} onSaved=${() => setRound(round + 1)} />`}
  </div>`}</${Loaded}>`;
}

function TemplateRow({ template: t, services, onArchived }) {
  const [problem, setProblem] = useState(null);
  const names = t.service_ids.map((id) => services.find((s) => s.id === id)?.name || 'a service').join(', ');
  const archive = async () => {
    setProblem(null);
    try {
      await api.del(`/v1/package-templates/${t.id}`);
      onArchived();
    } catch (err) {
      setProblem(err.message || String(err));
    }
  };
  return html`<li data-package-template=${t.id}><strong>${t.name}</strong> · ${t.sessions} sessions of ${names} · ${money(t.price)}
    · valid ${t.validity_months} months${t.active ? '' : ' · not on sale'}
    <button type="button" class="link-button" onClick=${archive}>Take off sale</button>
    ${problem && html`<p class="notice notice-error" role="alert">${problem}</p>`}</li>`;
}

function NewTemplate({ services, onSaved }) {
  const form = useForm({ name: '', service_id: services[0].id, sessions: '6', price: '', validity_months: '12' });
  const submit = (event) => form.submit(async () => {
    const v = form.values;
    const price = toMinor(v.price);
    await api.post('/v1/package-templates', {
      name: v.name.trim(),
      service_ids: [v.service_id],
      sessions: Number(v.sessions) || 0,
      price: { amount_minor: price ?? -1, currency: services.find((s) => s.id === v.service_id)?.price?.currency || 'GBP' },
      validity_months: Number(v.validity_months) || 0,
    });
    form.setValues({ ...v, name: '', price: '' });
    onSaved();
  }, event);
  return html`<form novalidate onSubmit=${submit} aria-labelledby="h-new-package">
    <h3 id="h-new-package">Add a package</h3>
    <${FormMessage} form=${form} />
    <${Field} form=${form} name="name" label="Name" hint="What the till and the client see, like 6 laser sessions." />
    <${Field} form=${form} name="service_id" label="Treatment it covers" options=${services.map((s) => ({ value: s.id, label: s.name }))} />
    <div class="row">
      <${Field} form=${form} name="sessions" label="Sessions" inputmode="numeric" hint="1 to 50." />
      <${Field} form=${form} name="price" label="Price of the whole package" inputmode="decimal" />
      <${Field} form=${form} name="validity_months" label="Valid for (months)" inputmode="numeric" />
    </div>
    <button type="submit" class="primary" disabled=${form.busy}>Add package</button>
  </form>`;
}
