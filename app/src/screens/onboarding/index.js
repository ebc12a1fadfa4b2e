// The new-clinic wizard (#/onboarding): signup, look, logo, a location, services, a
// practitioner, team invitations, policies, then publishing the site. Progress is kept in
// sessionStorage so a reload resumes at the same step.
import { useState } from 'preact/hooks';
import { html } from '../../html.js';
import { api } from '../../api.js';
import { useLoad } from '../../ui/async.js';
import { Loaded, Notice } from '../../ui/bits.js';
import { CardPage } from '../../ui/card-page.js';
import { ThemeForm, LogoForm } from '../../forms/brand.js';
import { LocationForm, ServiceForm, PractitionerForm } from '../../forms/catalog.js';
import { InviteForm } from '../../forms/invite.js';
import { PolicyForm } from '../../forms/policies.js';
import { money, label } from '../../format.js';
import { roleLabel } from '../../permissions.js';
import { SignupStep } from './signup.js';
import { PublishStep } from './publish.js';

const KEY = 'mas.onboarding';
const STEPS = ['Your clinic', 'Look', 'Logo', 'Location', 'Services', 'Practitioner', 'Team', 'Policies', 'Publish'];

function loadProgress() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY)) || { step: 0 };
  } catch {
    return { step: 0 };
  }
}

export function Onboarding({ onSignedIn }) {
  const [progress, setProgress] = useState(loadProgress);
  const advance = (change = {}) => {
    const next = { ...progress, ...change, step: progress.step + 1 };
    sessionStorage.setItem(KEY, JSON.stringify(next));
    setProgress(next);
  };
  const { step } = progress;
  return html`<${CardPage} title=${`Create your clinic: ${STEPS[step]}`} wide
    sub=${`Step ${step + 1} of ${STEPS.length}`}>
    <ol class="steps" aria-label="Progress">
      ${STEPS.map((name, i) => html`<li class=${i < step ? 'done' : i === step ? 'current' : ''} aria-current=${i === step ? 'step' : undefined}>${name}</li>`)}
    </ol>
    ${step === 0 && html`<${SignupStep} onDone=${({ tenant }) => { onSignedIn(); advance({ tenant }); }} />
      <p class="card-links">Already have an account? <a href="#/sign-in">Sign in</a></p>`}
    ${step === 1 && html`<${BrandStep} onDone=${() => advance()} />`}
    ${step === 2 && html`<${LogoForm} submitLabel="Upload logo" onSaved=${() => advance()} />
      <button type="button" class="link-button" onClick=${() => advance()}>Skip: no logo for now</button>`}
    ${step === 3 && html`<${LocationForm} timezone=${progress.tenant.timezone} submitLabel="Save location and continue"
      onCreated=${(location) => advance({ location })} />`}
    ${step === 4 && html`<${ServicesStep} tenant=${progress.tenant} onDone=${(services) => advance({ categories: [...new Set(services.map((s) => s.category))] })} />`}
    ${step === 5 && html`<${PractitionerForm} location=${progress.location} categories=${progress.categories} submitLabel="Add practitioner and continue"
      onCreated=${() => advance()} />`}
    ${step === 6 && html`<${TeamStep} onDone=${() => advance()} />`}
    ${step === 7 && html`<${PoliciesStep} onDone=${() => advance()} />`}
    ${step === 8 && html`<${PublishStep} tenant=${progress.tenant} onFinished=${() => sessionStorage.removeItem(KEY)} />`}
  </${CardPage}>`;
}

function BrandStep({ onDone }) {
  const brand = useLoad(() => api.get('/v1/brand'));
  return html`<${Loaded} state=${brand}>${(b) => html`<${ThemeForm} brand=${b} submitLabel="Save and continue" onSaved=${onDone} />`}</${Loaded}>`;
}

function ServicesStep({ tenant, onDone }) {
  const [services, setServices] = useState([]);
  return html`<div>
    <p>Add the treatments clients can book. You can add more later.</p>
    <${ServiceForm} currency=${tenant.currency || 'GBP'} onCreated=${(s) => setServices((old) => [...old, s])} />
    ${services.length > 0 && html`<section class="added" aria-labelledby="added-services">
      <h2 id="added-services">Added</h2>
      <ul class="plain-list" id="service-list">
        ${services.map((s) => html`<li><strong>${s.name}</strong> · ${label(s.category)} · ${s.duration_minutes} min · ${money(s.price)}</li>`)}
      </ul>
    </section>`}
    <div class="actions">
      <button type="button" class="primary" disabled=${services.length === 0} onClick=${() => onDone(services)}>Continue</button>
      ${services.length === 0 && html`<span class="muted">Add at least one service to continue.</span>`}
    </div>
  </div>`;
}

function TeamStep({ onDone }) {
  const me = useLoad(() => api.get('/v1/me'));
  const [invited, setInvited] = useState([]);
  return html`<${Loaded} state=${me}>${(who) => html`<div>
    <p>Invite the people who work with you; each gets an email to set their password.</p>
    <${InviteForm} me=${who} onInvited=${(m) => setInvited((old) => [...old, m])} />
    ${invited.length > 0 && html`<${Notice}>Invited: ${invited.map((m) => `${m.name} (${roleLabel(m.role)})`).join(', ')}</${Notice}>`}
    <div class="actions"><button type="button" class="primary" onClick=${onDone}>${invited.length ? 'Continue' : 'Skip for now'}</button></div>
  </div>`}</${Loaded}>`;
}

function PoliciesStep({ onDone }) {
  const policies = useLoad(() => api.get('/v1/policies'));
  return html`<${Loaded} state=${policies}>${(p) => html`<${PolicyForm} policies=${p} submitLabel="Save policy and continue" onSaved=${onDone} />`}</${Loaded}>`;
}
