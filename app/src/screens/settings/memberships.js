// Membership plans (owners and managers): what a client pays each month by card, and the
// treatment credits each paid month gives her (redeemed at the till like a package's sessions).
// A plan can be closed to new members (archived); members keep the plan they joined.
import { useState } from 'preact/hooks';
import { html } from '../../html.js';
import { api } from '../../api.js';
import { catalog } from '../../lookups.js';
import { useLoad } from '../../ui/async.js';
import { Loaded } from '../../ui/bits.js';
import { useForm, Field, FormMessage } from '../../ui/form.js';
import { money, toMinor } from '../../format.js';

async function load() {
  const [lookups, plans] = await Promise.all([catalog(), api.get('/v1/membership-plans')]);
  return { services: [...lookups.services.values()].filter((s) => s.active !== false), plans };
}

export function MembershipPlans() {
  const [round, setRound] = useState(0);
  const state = useLoad(load, [round]);
  return html`<${Loaded} state=${state} what="Loading the membership plans">${(data) => html`<div>
    <p class="muted">A member pays each month by card on a secure page; each paid month gives her its credits, which the till redeems like a package's sessions. A failed payment is retried and she is asked to update her card; no credits are given until it is paid.</p>
    ${data.plans.length === 0
      ? html`<p class="muted" id="no-membership-plans">No membership plan yet.</p>`
      : html`<ul class="plain-list" id="membership-plans">${data.plans.map((p) => html`<${PlanRow} key=${p.id} plan=${p}
          services=${data.services} onArchived=${() => setRound(round + 1)} />`)}</ul>`}
    <${NewPlan} services=${data.services} onSaved=${() => setRound(round + 1)} />
  </div>`}</${Loaded}>`;
}

function PlanRow({ plan: p, services, onArchived }) {
  const [problem, setProblem] = useState(null);
  const names = p.service_ids.map((id) => services.find((s) => s.id === id)?.name || 'a service').join(', ');
  const archive = async () => {
    setProblem(null);
    try {
      await api.del(`/v1/membership-plans/${p.id}`);
      onArchived();
    } catch (err) {
      setProblem(err.message || String(err));
    }
  };
  const credits = p.credits_per_month > 0 ? ` · ${p.credits_per_month} credits a month for ${names}` : ' · no credits';
  return html`<li data-membership-plan=${p.id}><strong>${p.name}</strong> · ${money(p.price)} a month${credits}${p.active ? '' : ' · closed to new members'}
    <button type="button" class="link-button" onClick=${archive}>Close to new members</button>
    ${problem && html`<p class="notice notice-error" role="alert">${problem}</p>`}</li>`;
}

function NewPlan({ services, onSaved }) {
  const form = useForm({ name: '', price: '', credits_per_month: '1', service_id: services[0]?.id || '' });
  const submit = (event) => form.submit(async () => {
    const v = form.values;
    const credits = Number(v.credits_per_month) || 0;
    await api.post('/v1/membership-plans', {
      name: v.name.trim(),
      price: { amount_minor: toMinor(v.price) ?? -1, currency: services.find((s) => s.id === v.service_id)?.price?.currency || 'GBP' },
      credits_per_month: credits,
      service_ids: credits > 0 && v.service_id ? [v.service_id] : [],
    });
    form.setValues({ ...v, name: '', price: '' });
    onSaved();
  }, event);
  return html`<form novalidate onSubmit=${submit} aria-labelledby="h-new-membership-plan">
    <h3 id="h-new-membership-plan">Add a membership plan</h3>
    <${FormMessage} form=${form} />
    <${Field} form=${form} name="name" label="Name" hint="What the client sees, like Glow club." />
    <div class="row">
      <${Field} form=${form} name="price" label="Price a month" inputmode="decimal" />
      <${Field} form=${form} name="credits_per_month" label="Credits a month" inputmode="numeric" hint="0 to 20." />
    </div>
    ${services.length > 0 && html`<${Field} form=${form} name="service_id" label="Treatment a credit pays for"
      options=${services.map((s) => ({ value: s.id, label: s.name }))} />`}
    <button type="submit" class="primary" disabled=${form.busy}>Add plan</button>
  </form>`;
}
