// A client's details: a new client (POST /v1/clients) or changes to one (PATCH with its
// version, so two desks editing at once cannot overwrite each other unseen).
import { html } from '../html.js';
import { api } from '../api.js';
import { useForm, Field, FormMessage } from '../ui/form.js';

const optional = (text) => (text || '').trim() || null;

/**
 * `emailLocked`: the email is how the client signs in to the portal, and only clinical roles may
 * change it on an existing client (the API refuses others); shown read-only for the rest.
 */
export function ClientForm({ client, onSaved, submitLabel = 'Save client', emailLocked = false }) {
  const form = useForm({
    first_name: client?.first_name || '', last_name: client?.last_name || '', email: client?.email || '', phone: client?.phone || '',
    date_of_birth: client?.date_of_birth || '', notes: client?.notes || '', marketing_consent: Boolean(client?.marketing_consent),
  });
  const submit = (event) => form.submit(async (v) => {
    const fields = {
      first_name: v.first_name.trim(), last_name: v.last_name.trim(), email: optional(v.email), phone: optional(v.phone),
      date_of_birth: optional(v.date_of_birth), notes: optional(v.notes), marketing_consent: v.marketing_consent,
    };
    const saved = client
      ? await api.patch(`/v1/clients/${client.id}`, { ...fields, version: client.version })
      : await api.post('/v1/clients', fields);
    onSaved(saved);
  }, event);
  return html`<form novalidate onSubmit=${submit}>
    <${FormMessage} form=${form} />
    <div class="row">
      <${Field} form=${form} name="first_name" label="First name" required />
      <${Field} form=${form} name="last_name" label="Last name" required />
    </div>
    <div class="row">
      ${emailLocked && client
        ? html`<${Field} form=${form} name="email" label="Email" type="email" readOnly hint="The client signs in with it: clinical staff change it" />`
        : html`<${Field} form=${form} name="email" label="Email" type="email" />`}
      <${Field} form=${form} name="phone" label="Mobile phone" type="tel" hint="With country code, e.g. +44 7700 900123" />
      <${Field} form=${form} name="date_of_birth" label="Date of birth" type="date" />
    </div>
    <${Field} form=${form} name="notes" label="Notes (not clinical)" multiline hint="Preferences, access needs" />
    <${Field} form=${form} name="marketing_consent" label="Agrees to marketing messages" type="checkbox" />
    <button type="submit" class="primary" disabled=${form.busy}>${submitLabel}</button>
  </form>`;
}
