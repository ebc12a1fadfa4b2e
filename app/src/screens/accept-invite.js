// Accepting an invitation: the emailed link carries the token; the preview names the clinic
// and the email, the member chooses a password and lands signed in on Today.
import { html } from '../html.js';
import { api, startSession } from '../api.js';
import { navigate } from '../router.js';
import { useLoad } from '../ui/async.js';
import { useForm, FormMessage } from '../ui/form.js';
import { Loaded } from '../ui/bits.js';
import { CardPage } from '../ui/card-page.js';
import { roleLabel } from '../permissions.js';
import { PasswordFields, checkPasswords } from './password-fields.js';

export function AcceptInvite({ route, onSignedIn }) {
  const token = route.query.get('token') || '';
  const preview = useLoad(() => api.public('POST', '/v1/auth/invitations/preview', { token }), [token]);
  const form = useForm({ password: '', confirm: '' });
  const submit = (event) => form.submit(async (v) => {
    checkPasswords(v);
    const session = await api.public('POST', '/v1/auth/invitations/accept', { token, password: v.password });
    startSession(session);
    onSignedIn();
    navigate('/today');
  }, event);
  return html`<${CardPage} title="Join your clinic">
    <${Loaded} state=${preview} what="Checking your invitation">${(invite) => html`
      <p id="invite-summary"><strong>${invite.clinic.name}</strong> invited <strong>${invite.email}</strong> as ${roleLabel(invite.role)}.</p>
      <form novalidate onSubmit=${submit}>
        <${FormMessage} form=${form} />
        <${PasswordFields} form=${form} />
        <button type="submit" class="primary" disabled=${form.busy}>Set password and sign in</button>
      </form>`}
    </${Loaded}>
    ${preview.error?.status === 404 && html`<p>This invitation link has been used or has expired. Ask your clinic to send a new one.</p>`}
  </${CardPage}>`;
}
