// Forgot password (asks for a link; the answer is the same for anyone) and reset (from the link).
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { api } from '../api.js';
import { useForm, Field, FormMessage } from '../ui/form.js';
import { Notice } from '../ui/bits.js';
import { CardPage } from '../ui/card-page.js';
import { PasswordFields, checkPasswords } from './password-fields.js';

export function ForgotPassword() {
  const form = useForm({ clinic: localStorage.getItem('mas.clinic') || '', email: '' });
  const [sent, setSent] = useState(false);
  const submit = (event) => form.submit(async (v) => {
    await api.public('POST', '/v1/auth/password-reset', { clinic: v.clinic.trim(), email: v.email.trim() });
    setSent(true);
  }, event);
  return html`<${CardPage} title="Reset your password">
    ${sent
      ? html`<${Notice}>If that account exists, we have emailed a link to reset its password. It works once.</${Notice}>`
      : html`<form novalidate onSubmit=${submit}>
          <${FormMessage} form=${form} />
          <${Field} form=${form} name="clinic" label="Clinic" autocomplete="organization" required />
          <${Field} form=${form} name="email" label="Email" type="email" autocomplete="username" required />
          <button type="submit" class="primary" disabled=${form.busy}>Email me a link</button>
        </form>`}
    <ul class="card-links"><li><a href="#/sign-in">Back to sign-in</a></li></ul>
  </${CardPage}>`;
}

export function ResetPassword({ route }) {
  const token = route.query.get('token') || '';
  const form = useForm({ password: '', confirm: '' });
  const [done, setDone] = useState(false);
  const submit = (event) => form.submit(async (v) => {
    checkPasswords(v);
    await api.public('POST', '/v1/auth/password-reset/confirm', { token, password: v.password });
    setDone(true);
  }, event);
  return html`<${CardPage} title="Choose a new password">
    ${done
      ? html`<${Notice}>Your password is changed, and every other session has ended. <a href="#/sign-in">Sign in</a>.</${Notice}>`
      : html`<form novalidate onSubmit=${submit}>
          <${FormMessage} form=${form} />
          <${PasswordFields} form=${form} />
          <button type="submit" class="primary" disabled=${form.busy}>Save the new password</button>
        </form>`}
  </${CardPage}>`;
}
