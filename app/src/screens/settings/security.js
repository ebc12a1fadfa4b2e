// Two-factor sign-in for owners and managers: set up (secret and otpauth URI to add to an
// authenticator app), confirm with a code to turn it on, or turn it off with a code. Which of
// the two is offered follows `two_step_enabled` from GET /v1/me.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../../html.js';
import { api } from '../../api.js';
import { Notice } from '../../ui/bits.js';
import { useForm, Field, FormMessage } from '../../ui/form.js';

export function Security() {
  const [setup, setSetup] = useState(null);
  const [status, setStatus] = useState(null);
  const [enabled, setEnabled] = useState(null);
  useEffect(() => { api.get('/v1/me').then((me) => setEnabled(Boolean(me.two_step_enabled)), () => setEnabled(false)); }, []);
  const start = useForm({});
  const enable = useForm({ code: '' });
  const disable = useForm({ code: '' });
  const begin = (event) => start.submit(async () => setSetup(await api.post('/v1/auth/mfa/setup', {})), event);
  const confirmCode = (event) => enable.submit(async (v) => {
    await api.post('/v1/auth/mfa/enable', { code: v.code.trim() });
    setSetup(null);
    setEnabled(true);
    setStatus('Two-factor sign-in is on. You will be asked for a code when you sign in.');
  }, event);
  const turnOff = (event) => disable.submit(async (v) => {
    await api.post('/v1/auth/mfa/disable', { code: v.code.trim() });
    setEnabled(false);
    setStatus('Two-factor sign-in is off.');
  }, event);
  if (enabled === null) return html`<p class="muted" role="status">Loading…</p>`;
  return html`<div>
    ${status && html`<${Notice}>${status}</${Notice}>`}
    ${!enabled && html`<h3>Turn on two-factor sign-in</h3>`}
    ${enabled ? null : !setup ? html`<form novalidate onSubmit=${begin}>
        <${FormMessage} form=${start} />
        <p>After your password you will also enter a 6-digit code from an authenticator app.</p>
        <button type="submit" class="primary" disabled=${start.busy}>Set up an authenticator app</button>
      </form>`
      : html`<form novalidate onSubmit=${confirmCode}>
        <${FormMessage} form=${enable} />
        <p>In your authenticator app, add an account with this key, or open the link on the phone that has the app:</p>
        <p><label for="mfa-secret">Key</label><input id="mfa-secret" class="copy mono" readonly value=${setup.secret} /></p>
        <p><label for="mfa-uri">Set-up link (otpauth)</label><input id="mfa-uri" class="copy mono" readonly value=${setup.otpauth_uri} /></p>
        <${Field} form=${enable} name="code" label="Code from the app" inputmode="numeric" autocomplete="one-time-code" required />
        <button type="submit" class="primary" disabled=${enable.busy}>Turn on</button>
      </form>`}
    ${enabled && html`<h3>Turn off two-factor sign-in</h3>
    <form novalidate onSubmit=${turnOff}>
      <${FormMessage} form=${disable} />
      <${Field} form=${disable} name="code" label="Current code from the app" inputmode="numeric" autocomplete="one-time-code" required />
      <button type="submit" class="secondary" disabled=${disable.busy}>Turn off</button>
    </form>`}
  </div>`;
}
