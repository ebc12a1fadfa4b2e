// Confirming a new clinic owner's email: the link emailed at signup carries the token; opening
// it puts the clinic live (its site, booking and portal open to the public).
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { api } from '../api.js';
import { useLoad } from '../ui/async.js';
import { Loaded } from '../ui/bits.js';
import { CardPage } from '../ui/card-page.js';

export function VerifyEmail({ route }) {
  const token = route.query.get('token') || '';
  const confirmed = useLoad(() => api.public('POST', '/v1/auth/verify-email', { token }), [token]);
  const onboarding = sessionStorage.getItem('mas.onboarding');
  return html`<${CardPage} title="Confirm your email">
    <${Loaded} state=${confirmed} what="Confirming your email">${(tenant) => html`
      <p class="notice notice-success" role="status" id="verified">Your email is confirmed: ${tenant.name} is live.</p>
      <p>Your website, online booking and client portal are open to the public now.</p>
      <p><a class="button primary" href=${onboarding ? '#/onboarding' : '#/today'}>${onboarding ? 'Continue setting up' : 'Go to Today'}</a></p>`}
    </${Loaded}>
    ${confirmed.error?.status === 404 && html`<p>This link has been used or has expired. Sign in and ask for a new one.</p>`}
  </${CardPage}>`;
}

/**
 * While the clinic waits for its owner's email: what to do, a button for another link (owners),
 * and one to look again once it is opened (`onChecked` reloads who is signed in).
 */
export function PendingVerification({ me, onChecked }) {
  const [said, setSaid] = useState(null);
  const [busy, setBusy] = useState(false);
  const resend = async () => {
    setBusy(true);
    try {
      const answer = await api.post('/v1/auth/verify-email/resend');
      setSaid(answer.status === 'sent' ? 'A new link is on its way.' : 'A link went out less than a minute ago; check your inbox.');
    } catch (error) {
      if (error.status === 409) onChecked?.();
      else setSaid(error.message || String(error));
    } finally {
      setBusy(false);
    }
  };
  return html`<div class="notice notice-warning" role="status" id="pending-verification">
    <p><strong>Your clinic is not live yet.</strong> Open the link we emailed to ${me.member.email} to confirm your
      email; until then your website, online booking and client portal answer nobody.</p>
    <p class="actions">
      ${me.member.role === 'owner' && html`<button type="button" disabled=${busy} onClick=${resend}>Send the link again</button>`}
      ${onChecked && html`<button type="button" class="link-button" onClick=${onChecked}>I have opened it</button>`}
    </p>
    ${said && html`<p>${said}</p>`}
  </div>`;
}
