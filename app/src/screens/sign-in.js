// Staff sign-in: clinic, email and password; a code step when the member has two-factor on;
// a wait message when the server limits attempts (429 Retry-After).
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { api, startSession } from '../api.js';
import { navigate } from '../router.js';
import { useForm, Field } from '../ui/form.js';
import { CardPage } from '../ui/card-page.js';

export function SignIn({ onSignedIn }) {
  const form = useForm({ clinic: localStorage.getItem('mas.clinic') || '', email: '', password: '', code: '' });
  const [needsCode, setNeedsCode] = useState(false);
  const [problem, setProblem] = useState(null);

  async function submit(event) {
    event.preventDefault();
    setProblem(null);
    await form.submit(async (v) => {
      const body = { clinic: v.clinic.trim(), email: v.email.trim(), password: v.password };
      if (needsCode) body.code = v.code.trim();
      try {
        const session = await api.public('POST', '/v1/auth/sign-in', body);
        // The clinic's slug is not a secret; remembering it saves typing on a shared desk.
        localStorage.setItem('mas.clinic', body.clinic);
        startSession(session);
        onSignedIn();
        navigate('/today');
      } catch (err) {
        if (err.code === 'mfa_required') {
          setProblem(needsCode ? 'That code did not work. Enter the current 6-digit code from your authenticator app.' : null);
          setNeedsCode(true);
          return;
        }
        if (err.status === 429) {
          setProblem(`Too many attempts. Try again in ${err.retryAfter || 60} s.`);
          return;
        }
        throw err;
      }
    });
  }

  return html`<${CardPage} title="Sign in" sub="Staff sign-in for your clinic">
    <form novalidate onSubmit=${submit}>
      ${(problem || form.message) && html`<p class="notice notice-error" role="alert" id="sign-in-error">${problem || form.message}</p>`}
      <${Field} form=${form} name="clinic" label="Clinic" hint="Your clinic's web address name, e.g. demo-clinic" autocomplete="organization" required />
      <${Field} form=${form} name="email" label="Email" type="email" autocomplete="username" required />
      <${Field} form=${form} name="password" label="Password" type="password" autocomplete="current-password" required />
      ${needsCode && html`<${Field} form=${form} name="code" label="Authentication code" inputmode="numeric" autocomplete="one-time-code"
        hint="The 6-digit code from your authenticator app" required />`}
      <button type="submit" class="primary" disabled=${form.busy}>${needsCode ? 'Verify and sign in' : 'Sign in'}</button>
    </form>
    <ul class="card-links">
      <li><a href="#/forgot-password">Forgot your password?</a></li>
      <li><a href="#/onboarding">Create your clinic</a></li>
    </ul>
  </${CardPage}>`;
}
