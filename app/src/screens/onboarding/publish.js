// The last step: publish the site and show where it is.
import { useState } from 'preact/hooks';
import { html } from '../../html.js';
import { api, apiUrl } from '../../api.js';
import { ErrorText, Loaded } from '../../ui/bits.js';
import { useLoad } from '../../ui/async.js';
import { PendingVerification } from '../verify-email.js';

export function siteUrl(slug) {
  return new URL(apiUrl(`/sites/${slug}/`), location.href).href;
}

export function PublishStep({ tenant, onFinished }) {
  const me = useLoad(() => api.get('/v1/me'));
  return html`<${Loaded} state=${me}>${(who) => who.tenant.status === 'pending_email_verification'
    ? html`<div>
        <${PendingVerification} me=${who} onChecked=${me.reload} />
        <p>Publishing waits until your email is confirmed. Your set-up is saved: open the link, then come back here.</p>
      </div>`
    : html`<${Publish} tenant=${tenant} onFinished=${onFinished} />`}</${Loaded}>`;
}

function Publish({ tenant, onFinished }) {
  const [state, setState] = useState({ busy: false, done: false, error: null });
  async function publish() {
    setState({ busy: true, done: false, error: null });
    try {
      await api.post('/v1/site/publish');
      setState({ busy: false, done: true, error: null });
      onFinished();
    } catch (error) {
      setState({ busy: false, done: false, error });
    }
  }
  const url = siteUrl(tenant.slug);
  return html`<div>
    <${ErrorText} error=${state.error} />
    ${state.done
      ? html`<div role="status">
          <p class="notice notice-success">Your site is published.</p>
          <p>Clients book at <a id="site-link" href=${url} target="_blank" rel="noopener">${url}</a></p>
          <p><a class="button primary" href="#/today">Go to Today</a></p>
        </div>`
      : html`<p>Everything is ready. Publishing puts your website live, with online booking.</p>
        <button type="button" class="primary" disabled=${state.busy} onClick=${publish}>Publish my site</button>`}
  </div>`;
}
