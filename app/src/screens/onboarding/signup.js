// Onboarding, step one: the clinic and its owner (POST /v1/tenants); the answer signs the owner in.
import { html } from '../../html.js';
import { api, startSession } from '../../api.js';
import { useForm, Field, FormMessage } from '../../ui/form.js';
import { browserTimeZone } from '../../format.js';
import { timeZoneOptions } from '../../forms/timezones.js';
import { PasswordFields, checkPasswords } from '../password-fields.js';

const CURRENCIES = ['GBP', 'EUR', 'USD', 'AUD', 'CAD', 'AED'].map((c) => ({ value: c, label: c }));

/** A slug suggestion from the clinic's name: `Glow Clinic, Bath` → `glow-clinic-bath`. */
function slugFrom(name) {
  return name.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63);
}

export function SignupStep({ onDone }) {
  const form = useForm({
    name: '', slug: '', timezone: browserTimeZone(), country: 'GB', currency: 'GBP',
    'owner.name': '', 'owner.email': '', 'owner.password': '', confirm: '',
  });
  const v = form.values;
  const submit = (event) => form.submit(async (values) => {
    checkPasswords(values, 'owner.password');
    const answer = await api.public('POST', '/v1/tenants', {
      name: values.name.trim(),
      slug: values.slug.trim() || slugFrom(values.name),
      timezone: values.timezone,
      country: values.country.trim().toUpperCase(),
      currency: values.currency,
      owner: { name: values['owner.name'].trim(), email: values['owner.email'].trim(), password: values['owner.password'] },
    });
    // The sign-in API answers a session; an older local host only its own staff token.
    startSession(answer.session || { access_token: answer.token });
    onDone({ tenant: answer.tenant });
  }, event);
  return html`<form novalidate onSubmit=${submit}>
    <${FormMessage} form=${form} />
    <fieldset>
      <legend>Your clinic</legend>
      <${Field} form=${form} name="name" label="Clinic name" required
        onInput=${(e) => { const name = e.currentTarget.value; form.setValues((old) => ({ ...old, name, slug: old.slugEdited ? old.slug : slugFrom(name) })); }} />
      <${Field} form=${form} name="slug" label="Web address name" hint=${`Your site will be at /sites/${v.slug || 'your-clinic'}/ — lowercase letters, digits and hyphens`}
        required onInput=${(e) => form.setValues((old) => ({ ...old, slug: e.currentTarget.value, slugEdited: true }))} />
      <div class="row">
        <${Field} form=${form} name="timezone" label="Time zone" options=${timeZoneOptions(v.timezone)} />
        <${Field} form=${form} name="country" label="Country code" maxlength="2" hint="Two letters, e.g. GB" />
        <${Field} form=${form} name="currency" label="Currency" options=${CURRENCIES} />
      </div>
    </fieldset>
    <fieldset>
      <legend>You, the owner</legend>
      <${Field} form=${form} name="owner.name" label="Your name" autocomplete="name" required />
      <${Field} form=${form} name="owner.email" label="Your email" type="email" autocomplete="email" required />
      <${PasswordFields} form=${form} name="owner.password" />
    </fieldset>
    <button type="submit" class="primary" disabled=${form.busy}>Create clinic</button>
  </form>`;
}
