// Inviting a team member: POST /v1/team creates them and emails the invitation link.
import { html } from '../html.js';
import { api } from '../api.js';
import { useForm, Field, FormMessage } from '../ui/form.js';
import { ROLES } from '../permissions.js';

/** Roles an inviter may hand out: only owners make owners. */
export function rolesFor(me) {
  return me?.member?.role === 'owner' ? ROLES : ROLES.filter((r) => r.value !== 'owner');
}

export function InviteForm({ me, onInvited }) {
  const blank = { email: '', name: '', role: 'practitioner' };
  const form = useForm(blank);
  const submit = (event) => form.submit(async (v) => {
    const member = await api.post('/v1/team', { email: v.email.trim(), name: v.name.trim(), role: v.role });
    form.setValues(blank);
    onInvited?.(member);
  }, event);
  return html`<form novalidate onSubmit=${submit} class="inline-form" aria-label="Invite a team member">
    <${FormMessage} form=${form} />
    <${Field} form=${form} name="name" label="Name" autocomplete="off" required />
    <${Field} form=${form} name="email" label="Email" type="email" autocomplete="off" required />
    <${Field} form=${form} name="role" label="Role" options=${rolesFor(me)} />
    <button type="submit" class="primary" disabled=${form.busy}>Send invitation</button>
  </form>`;
}
