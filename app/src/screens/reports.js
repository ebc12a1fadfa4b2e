// Reports (#/reports?from=…&to=…&location=…): the clinic's KPIs over a period beside the period
// just before (GET /v1/analytics/kpis?compare=previous), as tiles, two charts and a CSV. The
// server works out every figure; roles without money get the same view without money fields.
// The charts (uPlot) are a chunk of their own, fetched only when this screen opens, so the rest
// of the back office never downloads them. `KpiTiles` is also the home screen's summary.
import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from '../html.js';
import { api } from '../api.js';
import { catalog } from '../lookups.js';
import { dayIn, money } from '../format.js';
import { useLoad } from '../ui/async.js';
import { Loaded, PageTitle } from '../ui/bits.js';
import { CsvExport } from '../ui/csv-export.js';

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** The first of the month and today, on the clinic's wall clock. */
export function monthToDate(timeZone) {
  const today = dayIn(timeZone);
  return { from: `${today.slice(0, 8)}01`, to: today };
}

function query(period) {
  const params = new URLSearchParams({ from: period.from, to: period.to, compare: 'previous' });
  if (period.location) params.set('location_id', period.location);
  return params.toString();
}

const pct = (r) => (r === null || r === undefined ? '–' : `${Math.round(r * 1000) / 10}%`);

/** The headline figures, each with the previous period's beside it. */
export function KpiTiles({ report, only }) {
  const now = report.current;
  const before = report.previous;
  const c = now.totals.currency || before?.totals.currency || 'GBP';
  const cash = (minor) => (minor === undefined || minor === null ? '–' : money({ amount_minor: minor, currency: c }));
  const tiles = [
    ['bookings', 'Bookings made', (k) => k.totals.bookings_made],
    ['visits', 'Completed visits', (k) => k.totals.completed],
    ['show-rate', 'Show rate', (k) => pct(k.show_rate)],
    ['new-clients', 'New clients', (k) => k.totals.new_client_visits],
    ['rebooking', 'Rebooked within 30 days', (k) => pct(k.rebooking_30)],
    ['online', 'Booked online', (k) => pct(k.online_share)],
  ];
  if (report.money) {
    tiles.push(['revenue', 'Revenue', (k) => cash(k.totals.revenue_minor)]);
    tiles.push(['visit-value', 'Average visit value', (k) => cash(k.average_visit_value_minor)]);
  }
  const shown = only ? tiles.filter(([id]) => only.includes(id)) : tiles;
  return html`<ul class="kpi-tiles" aria-label="Key figures">${shown.map(([id, name, value]) => html`
    <li class="kpi-tile" data-kpi=${id}>
      <span class="kpi-name">${name}</span>
      <strong class="kpi-value">${value(now)}</strong>
      ${before && html`<span class="kpi-before muted">before: ${value(before)}</span>`}
    </li>`)}
  </ul>`;
}

export function Reports({ me, route }) {
  const fallback = monthToDate(me.tenant.timezone);
  const given = (name) => {
    const v = route.query.get(name);
    return v && DATE.test(v) ? v : null;
  };
  const asked = {
    from: given('from') || fallback.from,
    to: given('to') || fallback.to,
    location: route.query.get('location') || '',
  };
  const [form, setForm] = useState(asked);
  const names = useLoad(() => catalog(), []);
  const report = useLoad(() => api.get(`/v1/analytics/kpis?${query(asked)}`), [asked.from, asked.to, asked.location]);
  const show = (event) => {
    event.preventDefault();
    const params = new URLSearchParams({ from: form.from, to: form.to });
    if (form.location) params.set('location', form.location);
    location.hash = `#/reports?${params}`;
  };
  return html`<section class="reports">
    <${PageTitle} sub="How the clinic is doing, beside the period just before.">Reports</${PageTitle}>
    <form class="card row" novalidate onSubmit=${show} aria-label="Period">
      <label class="field">From <input type="date" name="from" value=${form.from} onInput=${(e) => setForm({ ...form, from: e.currentTarget.value })} /></label>
      <label class="field">To <input type="date" name="to" value=${form.to} onInput=${(e) => setForm({ ...form, to: e.currentTarget.value })} /></label>
      <label class="field">Location
        <select name="location" value=${form.location} onChange=${(e) => setForm({ ...form, location: e.currentTarget.value })}>
          <option value="">Every location</option>
          ${names.data && [...names.data.locations.values()].map((l) => html`<option value=${l.id}>${l.name}</option>`)}
        </select>
      </label>
      <button type="submit">Show</button>
    </form>
    <${Loaded} state=${report} what="Working out the figures">${(r) => html`
      <${KpiTiles} report=${r} />
      <${Breakdown} report=${r} />
      <${Charts} report=${r} />
      <${Export} period=${asked} />`}
    </${Loaded}>
  </section>`;
}

function Breakdown({ report }) {
  const t = report.current.totals;
  return html`<section class="card" aria-labelledby="h-kpi-breakdown">
    <h2 id="h-kpi-breakdown">${report.current.period.from} to ${report.current.period.to}</h2>
    <dl class="kpi-breakdown">
      <dt>Online / at the desk</dt><dd>${t.bookings_online} / ${t.bookings_desk}</dd>
      <dt>No-shows</dt><dd>${t.no_shows} (${pct(report.current.no_show_rate)})</dd>
      <dt>Cancellations</dt><dd>${t.cancellations}: ${t.cancelled_by_client} by clients, ${t.cancelled_by_clinic} by the clinic, ${t.cancelled_unpaid} unpaid holds</dd>
      <dt>Returning clients' visits</dt><dd>${t.returning_client_visits}</dd>
      <dt>Rebooked within 60 / 90 days</dt><dd>${pct(report.current.rebooking_60)} / ${pct(report.current.rebooking_90)}</dd>
      <dt>Booked minutes</dt><dd>${t.booked_minutes}</dd>
      ${report.money && html`<dt>Refunds</dt><dd>${money({ amount_minor: t.refunds_minor, currency: t.currency || 'GBP' })}</dd>`}
    </dl>
  </section>`;
}

/** Fetches the charts' chunk, then draws into the figures. */
function Charts({ report }) {
  const [state, setState] = useState({ charts: null, error: null });
  useEffect(() => {
    import('../reports/charts.js').then(
      (module) => setState({ charts: module, error: null }),
      (err) => setState({ charts: null, error: `The charts could not be loaded (${err.message}). Reload the page to try again.` }),
    );
  }, []);
  const visits = useRef(null);
  const revenue = useRef(null);
  useEffect(() => {
    if (!state.charts) return undefined;
    const drawn = [state.charts.visitsChart(visits.current, report)];
    if (report.money) drawn.push(state.charts.revenueChart(revenue.current, report));
    return () => drawn.forEach((chart) => chart.destroy());
  }, [state.charts, report]);
  return html`<section class="card kpi-charts" aria-labelledby="h-kpi-charts">
    <h2 id="h-kpi-charts">Day by day</h2>
    ${!state.charts && html`<p role=${state.error ? 'alert' : 'status'} class=${state.error ? 'notice notice-error' : 'muted'}>${state.error || 'Charts loading…'}</p>`}
    <figure id="chart-visits" ref=${visits}><figcaption>Bookings made, visits and no-shows per day</figcaption></figure>
    ${report.money && html`<figure id="chart-revenue" ref=${revenue}><figcaption>Revenue and refunds per day</figcaption></figure>`}
  </section>`;
}

function Export({ period }) {
  return html`<${CsvExport} path=${`/v1/analytics/kpis?${query(period)}&format=csv`} filename=${`kpis-${period.from}-${period.to}.csv`} />`;
}
