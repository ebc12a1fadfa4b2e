// A client's message preferences per channel: booking messages and marketing.
import { html } from '../html.js';
import { api } from '../api.js';
import { can } from '../permissions.js';
import { useLoad } from '../ui/async.js';
import { Loaded, Notice } from '../ui/bits.js';
import { useForm, Field, FormMessage } from '../ui/form.js';
import { useState } from 'preact/hooks';
import { Panel } from './client-file.js';

export function Preferences({ me, client }) {
  const state = useLoad(() => api.get(`/v1/clients/${client.id}/preferences`), [client.id]);
  return html`<${Panel} id="h-preferences" title="Message preferences">
    <${Loaded} state=${state}>${(prefs) => html`<${PreferencesForm} prefs=${prefs} client=${client} editable=${can(me, 'booking_write_own')} />`}</${Loaded}>
  </${Panel}>`;
}

function PreferencesForm({ prefs, client, editable }) {
  const form = useForm({
    'email.transactional': prefs.email.transactional, 'email.marketing': prefs.email.marketing,
    'sms.transactional': prefs.sms.transactional, 'sms.marketing': prefs.sms.marketing,
  });
  const [saved, setSaved] = useState(false);
  const submit = (event) => form.submit(async (v) => {
    await api.put(`/v1/clients/${client.id}/preferences`, {
      email: { transactional: v['email.transactional'], marketing: v['email.marketing'] },
      sms: { transactional: v['sms.transactional'], marketing: v['sms.marketing'] },
    });
    setSaved(true);
  }, event);
  const box = (name, text) => html`<${Field} form=${form} name=${name} label=${text} type="checkbox" disabled=${!editable} />`;
  return html`<form novalidate onSubmit=${submit}>
    <${FormMessage} form=${form} />
    <fieldset><legend>Email</legend>${box('email.transactional', 'Booking messages by email')}${box('email.marketing', 'Marketing by email')}</fieldset>
    <fieldset><legend>Text messages</legend>${box('sms.transactional', 'Booking messages by text')}${box('sms.marketing', 'Marketing by text')}</fieldset>
    ${saved && html`<${Notice}>Saved.</${Notice}>`}
    ${editable && html`<button type="submit" class="secondary" disabled=${form.busy}>Save preferences</button>`}
  </form>`;
}
