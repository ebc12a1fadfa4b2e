// The benchmark's page module (scripts/bench-calendar): the calendar in week view over synthetic
// data served by a fake `api` (no server), and a timer from mount to every booking painted.
import { render } from 'preact';
import { html } from './html.js';
import { CalendarScreen } from './index.js';
import { wallClock, instantOf, addDaysToWall } from './zone.js';

const ZONE = 'Europe/London';
const LOCATION = {
  id: 'loc_bench', name: 'Bench clinic', timezone: ZONE, closures: [],
  opening_hours: ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday']
    .map((day) => ({ day, start: '08:00', end: '20:00' })),
};
const PRACTITIONERS = [1, 2, 3, 4].map((n) => ({
  id: `prc_${n}`, display_name: `Practitioner ${n}`, title: 'Nurse', specialties: ['skin'], active: true,
  working_rules: [{ location_id: LOCATION.id, day: 'monday', start: '08:00', end: '20:00' }],
}));
const RESOURCES = [1, 2].map((n) => ({ id: `res_${n}`, name: `Room ${n}`, kind: 'room', location_id: LOCATION.id, capacity: 1, active: true }));
const SERVICES = [{ id: 'svc_1', name: 'Facial', category: 'skin', duration_minutes: 30, clinical_tags: [], location_ids: [], active: true }];
const STATUSES = ['scheduled', 'pending_deposit', 'checked_in', 'in_progress', 'completed', 'scheduled'];

/** `count` bookings spread over the week starting `monday` (wall date), six columns, 08:00–20:00. */
export function syntheticAppointments(count, monday) {
  const columns = [...PRACTITIONERS.map((p) => ({ practitioner: p.id })), ...RESOURCES.map((r) => ({ resource: r.id }))];
  return Array.from({ length: count }, (_, i) => {
    const column = columns[i % columns.length];
    const day = Math.floor(i / columns.length) % 7;
    const slot = Math.floor(i / (columns.length * 7));
    const start = instantOf(`${addDaysToWall(monday, day)}T${String(8 + Math.floor(slot * 50 / 60)).padStart(2, '0')}:${String((slot * 50) % 60).padStart(2, '0')}:00`, ZONE);
    const end = new Date(start.getTime() + 45 * 60000);
    return {
      id: `apt_${i}`, confirmation_number: `BK-${String(i).padStart(8, '0')}`, status: STATUSES[i % STATUSES.length],
      client_id: `cli_${i % 60}`, location_id: LOCATION.id, service_id: 'svc_1',
      // A room's booking names a practitioner who works elsewhere, so each booking is one card.
      practitioner_id: column.practitioner || 'prc_elsewhere',
      resources: column.resource ? [{ resource_id: column.resource, unit: 0 }] : [],
      start: start.toISOString(), end: end.toISOString(), hold_expires_at: end.toISOString(), version: 1,
      price: { amount_minor: 10000, currency: 'GBP' }, deposit: { amount_minor: 0, currency: 'GBP' }, deposit_paid: { amount_minor: 0, currency: 'GBP' },
    };
  });
}

function fakeApi(appointments) {
  const routes = [
    [/^\/v1\/locations$/, () => [LOCATION]],
    [/^\/v1\/practitioners$/, () => PRACTITIONERS],
    [/^\/v1\/resources$/, () => RESOURCES],
    [/^\/v1\/services$/, () => SERVICES],
    [/^\/v1\/practitioners\/[^/]+\/exceptions$/, () => []],
    [/^\/v1\/appointments$/, () => appointments],
    [/^\/v1\/clients\/(cli_\d+)$/, (m) => ({ id: m[1], first_name: 'Client', last_name: m[1].slice(4) })],
  ];
  return async (method, path) => {
    const bare = path.split('?')[0];
    for (const [pattern, answer] of routes) {
      const match = bare.match(pattern);
      if (match) return structuredClone(answer(match));
    }
    throw Object.assign(new Error(`no fake route for ${method} ${path}`), { status: 404 });
  };
}

const ME = { tenant: { id: 'ten_bench' }, member: { id: 'mem_bench', role: 'front_desk', location_ids: [] }, permissions: ['catalog_read', 'booking_read', 'booking_write', 'booking_write_own'] };

function whenPainted(count) {
  return new Promise((resolve, reject) => {
    const deadline = performance.now() + 30000;
    const check = () => {
      if (performance.now() > deadline) {
        reject(new Error(`only ${document.querySelectorAll('.ec-event.mas-booking').length} of ${count} bookings painted after 30 s`));
        return;
      }
      if (document.querySelectorAll('.ec-event.mas-booking').length >= count) {
        // The next frame after the last card exists is when it is on screen.
        requestAnimationFrame(() => setTimeout(resolve, 0));
      } else {
        requestAnimationFrame(check);
      }
    };
    check();
  });
}

/** One measured mount: milliseconds to every booking painted, and the page's element count. */
window.benchMount = async (count) => {
  const today = wallClock(Date.now(), ZONE).slice(0, 10);
  const weekday = (new Date(`${today}T12:00:00Z`).getUTCDay() + 6) % 7;
  const api = fakeApi(syntheticAppointments(count, addDaysToWall(today, -weekday)));
  const root = document.getElementById('app');
  render(null, root);
  const started = performance.now();
  render(html`<${CalendarScreen} api=${api} me=${ME} initialView="week" />`, root);
  await whenPainted(count);
  const elapsed = performance.now() - started;
  const nodes = document.getElementsByTagName('*').length;
  const painted = document.querySelectorAll('.ec-event.mas-booking').length;
  return { elapsed, nodes, painted };
};
