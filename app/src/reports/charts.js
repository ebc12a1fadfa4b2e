// The reports' charts, drawn with uPlot (pinned in package.json): a chunk of its own, imported
// by screens/reports.js when the reports screen opens. Each function draws into `figure` and
// answers the chart (its `destroy()` removes it).
import uPlot from 'uplot';

const WIDTH = 640;
const HEIGHT = 220;

/** Every day of the period, with the rollups' figures (a day without a rollup is zeros). */
function series(report, pick) {
  const byDay = new Map(report.current.days.map((d) => [d.day, d]));
  const xs = [];
  const ys = pick.map(() => []);
  const from = new Date(`${report.current.period.from}T00:00:00Z`);
  const to = new Date(`${report.current.period.to}T00:00:00Z`);
  for (let at = from; at <= to; at = new Date(at.getTime() + 86_400_000)) {
    const day = at.toISOString().slice(0, 10);
    xs.push(at.getTime() / 1000);
    const rollup = byDay.get(day) || {};
    pick.forEach((f, i) => ys[i].push(f(rollup)));
  }
  return [xs, ...ys];
}

function width(figure) {
  return Math.max(280, Math.min(WIDTH, figure.clientWidth || WIDTH));
}

export function visitsChart(figure, report) {
  const data = series(report, [(d) => d.bookings_made || 0, (d) => d.completed || 0, (d) => d.no_shows || 0]);
  const options = {
    width: width(figure),
    height: HEIGHT,
    series: [
      {},
      { label: 'Bookings made', stroke: '#1d5c57', width: 2 },
      { label: 'Visits', stroke: '#c2410c', width: 2 },
      { label: 'No-shows', stroke: '#55626a', width: 2, dash: [6, 4] },
    ],
    axes: [{}, { label: 'count' }],
    scales: { x: { time: true } },
  };
  return new uPlot(options, data, figure);
}

export function revenueChart(figure, report) {
  const data = series(report, [(d) => (d.revenue_minor || 0) / 100, (d) => (d.refunds_minor || 0) / 100]);
  const currency = report.current.totals.currency || 'GBP';
  const options = {
    width: width(figure),
    height: HEIGHT,
    series: [
      {},
      { label: `Revenue (${currency})`, stroke: '#1d5c57', fill: 'rgba(29, 92, 87, 0.12)', width: 2 },
      { label: `Refunds (${currency})`, stroke: '#a3261b', width: 2 },
    ],
    axes: [{}, { label: currency }],
    scales: { x: { time: true } },
  };
  return new uPlot(options, data, figure);
}
