// The signed-in frame: the clinic's name, the navigation this member may use (a menu button
// below 900 px), and sign-out.
import { useEffect, useErrorBoundary, useState } from 'preact/hooks';
import { html } from './html.js';
import { navigation, roleLabel } from './permissions.js';
import { signOut } from './api.js';
import { PendingVerification } from './screens/verify-email.js';

export function Shell({ me, route, onRecheck, children }) {
  const [open, setOpen] = useState(false);
  // A screen that fails to render leaves the frame and navigation usable.
  const [failure, retry] = useErrorBoundary();
  useEffect(() => { if (failure) retry(); }, [route.path]);
  const current = `/${route.parts[0] || ''}`;
  return html`<div class="shell">
    <a class="skip" href="#main" onClick=${(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>Skip to content</a>
    <header class="topbar">
      <div class="brand-name">${me.tenant.name}</div>
      <button type="button" class="menu-button" aria-expanded=${open ? 'true' : 'false'} aria-controls="main-nav"
        onClick=${() => setOpen(!open)}>Menu</button>
    </header>
    <nav id="main-nav" class=${`sidenav${open ? ' open' : ''}`} aria-label="Main">
      <ul>
        ${navigation(me).map((item) => html`<li>
          <a href=${`#${item.path}`} aria-current=${current === item.path || item.also?.includes(current) ? 'page' : undefined} onClick=${() => setOpen(false)}>${item.label}</a>
        </li>`)}
      </ul>
      <div class="who">
        <p><span class="who-name">${me.member.name}</span><br /><span class="muted">${roleLabel(me.member.role)}</span></p>
        <button type="button" class="link-button" onClick=${() => signOut()}>Sign out</button>
      </div>
    </nav>
    <main id="main" tabindex="-1">
      ${me.tenant.status === 'pending_email_verification' && html`<${PendingVerification} me=${me} onChecked=${onRecheck} />`}
      ${failure
      ? html`<section role="alert"><h1>Something went wrong</h1><p>This screen could not be shown (${failure.message}).</p>
          <button type="button" class="primary" onClick=${retry}>Try again</button></section>`
      : children}</main>
  </div>`;
}
