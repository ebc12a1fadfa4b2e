// Loyalty (owners and managers): the clinic's points programme — on or off, points per whole
// currency unit paid, which lines earn (services, products, packages; never gift cards), what
// points are worth at the till and the fewest one sale may spend, up to three tiers by points
// earned in the last twelve months (each with its multiplier), and an optional expiry after
// months without activity. Saved on the version read: a programme saved meanwhile is refused.
import { useState } from 'preact/hooks';
import { html } from '../../html.js';
import { api } from '../../api.js';
import { useLoad } from '../../ui/async.js';
import { Loaded } from '../../ui/bits.js';
import { useForm, Field, FormMessage } from '../../ui/form.js';
import { toMinor, minorInput } from '../../format.js';

const TIERS = 3;

export function LoyaltyProgramme() {
  const [round, setRound] = useState(0);
  // The version just saved: the form, made anew for it, says "Saved." (a flag inside the form
  // would go with the old form when the reload replaces it).
  const [savedVersion, setSavedVersion] = useState(null);
  const state = useLoad(() => api.get('/v1/loyalty/programme'), [round]);
  return html`<${Loaded} state=${state} what="Loading the programme">${(p) => html`<${ProgrammeForm} key=${p.version} programme=${p}
    saved=${savedVersion === p.version} onSaved=${(version) => { setSavedVersion(version); setRound(round + 1); }} />`}</${Loaded}>`;
}

function initial(p) {
  const values = {
    enabled: p.enabled, points_per_unit: String(p.points_per_unit), services: p.earn_on.services, products: p.earn_on.products,
    packages: p.earn_on.packages, reward_points: String(p.reward_points), reward: minorInput(p.reward_minor),
    min_redemption_points: String(p.min_redemption_points), expiry_months: p.expiry_months ? String(p.expiry_months) : '',
  };
  for (let i = 0; i < TIERS; i += 1) {
    const t = p.tiers[i];
    values[`tier${i}_name`] = t?.name || '';
    values[`tier${i}_min`] = t ? String(t.min_points_12m) : '';
    values[`tier${i}_multiplier`] = t ? String(t.multiplier_bp / 10000) : '';
  }
  return values;
}

const whole = (text) => (/^\d+$/.test(String(text).trim()) ? Number(text) : -1);

function ProgrammeForm({ programme, saved, onSaved }) {
  const form = useForm(initial(programme));
  const v = form.values;
  const submit = (event) => form.submit(async () => {
    const tiers = [];
    for (let i = 0; i < TIERS; i += 1) {
      if (!v[`tier${i}_name`].trim()) continue;
      tiers.push({
        name: v[`tier${i}_name`].trim(), min_points_12m: whole(v[`tier${i}_min`]),
        multiplier_bp: Math.round((Number(v[`tier${i}_multiplier`]) || 0) * 10000),
      });
    }
    const body = {
      enabled: Boolean(v.enabled), points_per_unit: whole(v.points_per_unit),
      earn_on: { services: Boolean(v.services), products: Boolean(v.products), packages: Boolean(v.packages) },
      reward_points: whole(v.reward_points), reward_minor: toMinor(v.reward) ?? -1,
      min_redemption_points: whole(v.min_redemption_points), tiers, expected_version: programme.version,
    };
    if (v.expiry_months.trim()) body.expiry_months = whole(v.expiry_months);
    const next = await api.put('/v1/loyalty/programme', body);
    onSaved(next.version);
  }, event);
  return html`<form novalidate onSubmit=${submit} id="loyalty-programme">
    <p class="muted">Clients earn points on what they pay at the till and spend them there as a payment. Gift cards never earn; the part of a sale paid with points or a gift card earns nothing.</p>
    <${FormMessage} form=${form} />
    ${saved && html`<p class="notice notice-info" role="status">Saved.</p>`}
    <${Field} form=${form} name="enabled" type="checkbox" label="The loyalty programme is on" />
    <div class="row">
      <${Field} form=${form} name="points_per_unit" label="Points per whole unit paid" inputmode="numeric" hint="1 to 100 (rounded down to whole units)." />
      <${Field} form=${form} name="reward_points" label="Points" inputmode="numeric" />
      <${Field} form=${form} name="reward" label="are worth" inputmode="decimal" hint="At the till, rounded down." />
      <${Field} form=${form} name="min_redemption_points" label="Fewest points per sale" inputmode="numeric" />
    </div>
    <fieldset><legend>What earns points</legend>
      <${Field} form=${form} name="services" type="checkbox" label="Treatments (services)" />
      <${Field} form=${form} name="products" type="checkbox" label="Products" />
      <${Field} form=${form} name="packages" type="checkbox" label="Packages of sessions" />
    </fieldset>
    <fieldset><legend>Tiers (by points earned in the last 12 months)</legend>
      ${[...Array(TIERS).keys()].map((i) => html`<div class="row" data-tier=${i}>
        <${Field} form=${form} name=${`tier${i}_name`} label="Tier name" hint=${i === 0 ? 'Like Silver; leave empty for none.' : undefined} />
        <${Field} form=${form} name=${`tier${i}_min`} label="From (points)" inputmode="numeric" />
        <${Field} form=${form} name=${`tier${i}_multiplier`} label="Earns ×" inputmode="decimal" hint=${i === 0 ? 'Like 1.25.' : undefined} />
      </div>`)}
    </fieldset>
    <${Field} form=${form} name="expiry_months" label="Points lapse after this many months without activity" inputmode="numeric" hint="Leave empty: they never lapse." />
    <button type="submit" class="primary" disabled=${form.busy}>Save the programme</button>
  </form>`;
}
