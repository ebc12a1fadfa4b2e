// Commissions (#/commissions): a period's payout per practitioner (their sales before tax under
// a rule, less refunds made in the period, and the commission, each line with the rule that paid
// it), a CSV of it, and — for owners and managers — the plan's rules. The server works out every
// figure; this screen only shows them.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { api } from '../api.js';
import { can } from '../permissions.js';
import { catalog } from '../lookups.js';
import { useLoad } from '../ui/async.js';
import { Loaded, PageTitle } from '../ui/bits.js';
import { CsvExport } from '../ui/csv-export.js';
import { ScrollTable } from '../ui/scroll-table.js';
import { amount } from './sales.js';

const today = () => new Date().toISOString().slice(0, 10);
const monthStart = () => `${today().slice(0, 8)}01`;

export function Commissions({ me }) {
  const [period, setPeriod] = useState({ from: monthStart(), to: today() });
  const [asked, setAsked] = useState(period);
  const [round, setRound] = useState(0);
  const names = useLoad(() => catalog(), []);
  const report = useLoad(() => api.get(`/v1/commissions/report?from=${asked.from}&to=${asked.to}`), [asked.from, asked.to, round]);
  const show = (event) => {
    event.preventDefault();
    setAsked({ ...period });
  };
  return html`<section class="commissions">
    <${PageTitle} sub="What each practitioner earns on what they sold, less refunds made in the period.">Commissions</${PageTitle}>
    <form class="card row" novalidate onSubmit=${show} aria-label="Period">
      <label class="field">From <input type="date" name="from" value=${period.from} onInput=${(e) => setPeriod({ ...period, from: e.currentTarget.value })} /></label>
      <label class="field">To <input type="date" name="to" value=${period.to} onInput=${(e) => setPeriod({ ...period, to: e.currentTarget.value })} /></label>
      <button type="submit">Show</button>
    </form>
    <${Loaded} state=${names} what="Loading the team">${(lookups) => html`
      <${Loaded} state=${report} what="Working out commissions">${(r) => html`
        <${Report} report=${r} lookups=${lookups} />
        <${Export} period=${asked} />`}
      </${Loaded}>
      ${can(me, 'team_write') && html`<${Rules} lookups=${lookups} onSaved=${() => setRound(round + 1)} />`}`}
    </${Loaded}>
  </section>`;
}

function Report({ report, lookups }) {
  const name = (id) => lookups.practitioners.get(id)?.display_name || id;
  const c = report.currency;
  return html`<section class="card" aria-labelledby="h-commission-report">
    <h2 id="h-commission-report">${report.from} to ${report.to}</h2>
    ${report.practitioners.length === 0
      ? html`<p class="muted">No sales under a rule in this period.</p>`
      : html`<${ScrollTable} label="Commissions"><table id="commission-report">
        <thead><tr><th scope="col">Practitioner</th><th scope="col">Sales before tax</th><th scope="col">Commission</th></tr></thead>
        <tbody>${report.practitioners.map((row) => html`<tr data-practitioner=${row.practitioner_id}>
          <th scope="row"><details><summary>${name(row.practitioner_id)}</summary>
            <ul class="commission-lines">${row.lines.map((l) => html`<li>${l.invoice_number} ${l.kind} ${l.description}: ${amount(l.amount_minor, c)} → ${amount(l.commission_minor, c)}</li>`)}</ul>
          </details></th>
          <td>${amount(row.sales_minor, c)}</td><td class="commission">${amount(row.commission_minor, c)}</td>
        </tr>`)}</tbody></table></${ScrollTable}>`}
    ${report.uncovered_minor !== 0 && html`<p class="muted">Sales no rule covers (or with nobody to credit): ${amount(report.uncovered_minor, c)}.</p>`}
  </section>`;
}

function Export({ period }) {
  return html`<${CsvExport} path=${`/v1/commissions/report?from=${period.from}&to=${period.to}&format=csv`} filename=${`commissions-${period.from}-${period.to}.csv`} />`;
}

/** A rule as the form edits it: percent (with an optional higher rate above an amount) or fixed. */
function toForm(rule) {
  const tiers = rule.rate.tiers || [];
  return {
    who: rule.practitioner_id || '',
    what: rule.applies_to.kind === 'service' ? `service:${rule.applies_to.service_id}`
      : rule.applies_to.kind === 'category' ? `category:${rule.applies_to.category}` : rule.applies_to.kind,
    kind: rule.rate.kind,
    percent: tiers[0] ? String(tiers[0].percent_bps / 100) : '10',
    above: tiers[1] ? String(tiers[1].from_minor / 100) : '',
    abovePercent: tiers[1] ? String(tiers[1].percent_bps / 100) : '',
    fixed: rule.rate.kind === 'fixed' ? String(rule.rate.amount_minor / 100) : '',
  };
}

function fromForm(f) {
  const [kind, id] = f.what.split(':');
  const applies_to = kind === 'service' ? { kind, service_id: id } : kind === 'category' ? { kind, category: id } : { kind };
  const bps = (text) => Math.round(Number(text) * 100);
  const rate = f.kind === 'fixed'
    ? { kind: 'fixed', amount_minor: Math.round(Number(f.fixed) * 100) }
    : { kind: 'percent', tiers: [{ from_minor: 0, percent_bps: bps(f.percent) }, ...(f.above ? [{ from_minor: Math.round(Number(f.above) * 100), percent_bps: bps(f.abovePercent) }] : [])] };
  return { ...(f.who ? { practitioner_id: f.who } : {}), applies_to, rate };
}

function Rules({ lookups, onSaved }) {
  const [round, setRound] = useState(0);
  // The version just saved: the form, made anew for it, says so (a message kept in the form
  // would go with the old form when the reload replaces it).
  const [savedVersion, setSavedVersion] = useState(null);
  const plan = useLoad(() => api.get('/v1/commissions/plan'), [round]);
  return html`<section class="card" aria-labelledby="h-commission-rules">
    <h2 id="h-commission-rules">Rules</h2>
    <p class="muted">A sale's line is paid by the most specific rule that matches it: a practitioner's own before everyone's; a service before its category before every service.</p>
    <${Loaded} state=${plan} what="Loading the rules">${(p) => html`<${RulesForm} key=${p.version} plan=${p} lookups=${lookups}
      saved=${savedVersion === p.version} onSaved=${(version) => { setSavedVersion(version); setRound(round + 1); onSaved(); }} />`}</${Loaded}>
  </section>`;
}

function RulesForm({ plan, lookups, saved, onSaved }) {
  const [rules, setRules] = useState(plan.rules.map(toForm));
  const [message, setMessage] = useState(saved ? { ok: true, text: 'Rules saved.' } : null);
  const practitioners = [...lookups.practitioners.values()];
  const services = [...lookups.services.values()];
  const categories = [...new Set(services.map((s) => s.category))];
  const set = (i, field, value) => setRules(rules.map((r, j) => (j === i ? { ...r, [field]: value } : r)));
  const save = async (event) => {
    event.preventDefault();
    setMessage(null);
    try {
      const next = await api.put('/v1/commissions/plan', { rules: rules.map(fromForm), expected_version: plan.version });
      onSaved(next.version);
    } catch (err) {
      setMessage({ ok: false, text: err.message || String(err) });
    }
  };
  return html`<form novalidate onSubmit=${save} id="commission-rules">
    ${rules.map((r, i) => html`<fieldset class="rule" key=${i}><legend>Rule ${i + 1}</legend>
      <label class="field">Who <select value=${r.who} onChange=${(e) => set(i, 'who', e.currentTarget.value)}>
        <option value="">Everyone</option>
        ${practitioners.map((p) => html`<option value=${p.id}>${p.display_name}</option>`)}
      </select></label>
      <label class="field">On <select value=${r.what} onChange=${(e) => set(i, 'what', e.currentTarget.value)}>
        <option value="all_services">Every service</option>
        <option value="products">Products</option>
        ${categories.map((c) => html`<option value=${`category:${c}`}>Category: ${c}</option>`)}
        ${services.map((s) => html`<option value=${`service:${s.id}`}>Service: ${s.name}</option>`)}
      </select></label>
      <label class="field">Pays <select value=${r.kind} onChange=${(e) => set(i, 'kind', e.currentTarget.value)}>
        <option value="percent">A percentage</option><option value="fixed">A fixed amount per unit</option>
      </select></label>
      ${r.kind === 'fixed'
        ? html`<label class="field">Amount per unit <input name="fixed" inputmode="decimal" value=${r.fixed} onInput=${(e) => set(i, 'fixed', e.currentTarget.value)} /></label>`
        : html`<label class="field">Percent <input name="percent" inputmode="decimal" value=${r.percent} onInput=${(e) => set(i, 'percent', e.currentTarget.value)} /></label>
          <label class="field">Above (period total, optional) <input inputmode="decimal" value=${r.above} onInput=${(e) => set(i, 'above', e.currentTarget.value)} /></label>
          <label class="field">Percent above <input inputmode="decimal" value=${r.abovePercent} onInput=${(e) => set(i, 'abovePercent', e.currentTarget.value)} /></label>`}
      <button type="button" class="secondary" onClick=${() => setRules(rules.filter((_, j) => j !== i))}>Remove rule ${i + 1}</button>
    </fieldset>`)}
    <p><button type="button" class="secondary" onClick=${() => setRules([...rules, toForm({ applies_to: { kind: 'all_services' }, rate: { kind: 'percent', tiers: [{ from_minor: 0, percent_bps: 1000 }] } })])}>Add a rule</button>
      <button type="submit">Save the rules</button></p>
    ${message && html`<p class=${message.ok ? 'notice' : 'field-error'} role=${message.ok ? 'status' : 'alert'}>${message.text}</p>`}
  </form>`;
}
