// Settings: the sections this member's role includes, each its own module.
import { html } from '../../html.js';
import { api } from '../../api.js';
import { settingsSections } from '../../permissions.js';
import { useLoad } from '../../ui/async.js';
import { Loaded, PageTitle } from '../../ui/bits.js';
import { ThemeForm, DomainForm, LogoForm, BusinessForm } from '../../forms/brand.js';
import { PolicyForm } from '../../forms/policies.js';
import { NotificationSettings } from './notifications.js';
import { Team } from './team.js';
import { Security } from './security.js';
import { OnlinePayments } from './payments.js';
import { CardReaders } from './readers.js';
import { PackageTemplates } from './packages.js';
import { LoyaltyProgramme } from './loyalty.js';
import { MembershipPlans } from './memberships.js';
import { Developers } from './developers.js';
import { NotAllowed } from '../not-allowed.js';

export function Settings({ me, route }) {
  const sections = settingsSections(me);
  const current = route.parts[1] || sections[0]?.path;
  const section = sections.find((s) => s.path === current);
  return html`<section class="settings">
    <${PageTitle}>Settings</${PageTitle}>
    <nav aria-label="Settings" class="subnav"><ul>
      ${sections.map((s) => html`<li><a href=${`#/settings/${s.path}`} aria-current=${s.path === current ? 'page' : undefined}>${s.label}</a></li>`)}
    </ul></nav>
    ${section ? html`<div class="card settings-body" key=${current}><h2>${section.label}</h2>${body(current, me, route)}</div>` : html`<${NotAllowed} />`}
  </section>`;
}

function body(section, me, route) {
  switch (section) {
    case 'brand': return html`<${Brand} />`;
    case 'domain': return html`<${WithBrand}>${(b) => html`<${DomainForm} brand=${b} />`}</${WithBrand}>`;
    case 'policies': return html`<${Policies} />`;
    case 'notifications': return html`<${NotificationSettings} />`;
    case 'team': return html`<${Team} me=${me} />`;
    case 'security': return html`<${Security} />`;
    case 'payments': return html`<${OnlinePayments} route=${route} />`;
    case 'readers': return html`<${CardReaders} />`;
    case 'packages': return html`<${PackageTemplates} />`;
    case 'loyalty': return html`<${LoyaltyProgramme} />`;
    case 'memberships': return html`<${MembershipPlans} />`;
    case 'developers': return html`<${Developers} />`;
    default: return null;
  }
}

function WithBrand({ children }) {
  const state = useLoad(() => api.get('/v1/brand'));
  return html`<${Loaded} state=${state}>${children}</${Loaded}>`;
}

function Brand() {
  return html`<${WithBrand}>${(b) => html`<${ThemeForm} brand=${b} />
    <h3>On your receipts</h3><${BusinessForm} brand=${b} />`}</${WithBrand}>
    <h3>Logo</h3><${LogoForm} />`;
}

function Policies() {
  const state = useLoad(() => api.get('/v1/policies'));
  return html`<${Loaded} state=${state}>${(p) => html`<p class="muted">Version ${p.in_force.version} is in force. A change publishes a new version; existing bookings keep theirs.</p>
    <${PolicyForm} policies=${p} />`}</${Loaded}>`;
}
