// API records → the calendar library's events: bookings (coloured by status, draggable when the
// viewer may move them) and background shading for time off and closures. Every time is given
// as the location's wall clock (see zone.js).
import { wallClock, addDaysToWall, timeIn } from './zone.js';
import { statusStyle, mayMove } from './status.js';

const HIDDEN_BY_DEFAULT = new Set(['cancelled', 'no_show']);

/** The columns a booking appears in: its practitioner's, and every room or device it holds. */
function columnsOf(appointment, columnIds) {
  const ids = [appointment.practitioner_id, ...(appointment.resources || []).map((r) => r.resource_id)];
  return ids.filter((id) => columnIds.has(id));
}

/**
 * "Visit 2 of 3" for a service of a visit booked as one (moved and cancelled together), and
 * "alongside 1" for one that runs at the same time as the service before it (another column).
 */
function visitPart(appointment) {
  const parts = appointment.visit?.parts;
  if (!parts) return null;
  const index = parts.findIndex((p) => p.appointment_id === appointment.id);
  let lead = index;
  while (lead > 0 && parts[lead].with_previous) lead -= 1;
  const also = parts.map((p, i) => i).filter((i) => i !== index && i >= lead && (i <= index || parts.slice(index + 1, i + 1).every((p) => p.with_previous)));
  return `Visit ${index + 1} of ${parts.length}` + (also.length ? `, alongside ${also.map((i) => i + 1).join(' and ')}` : '');
}

export function bookingEvents(appointments, { timeZone, columnIds, names, me, showClosed }) {
  return appointments
    .filter((a) => showClosed || !HIDDEN_BY_DEFAULT.has(a.status))
    .map((a) => {
      const style = statusStyle(a.status);
      const movable = mayMove(me, a);
      return {
        id: a.id,
        resourceIds: columnsOf(a, columnIds),
        start: wallClock(a.start, timeZone),
        end: wallClock(a.end, timeZone),
        title: names.client(a.client_id),
        backgroundColor: style.background,
        textColor: style.text,
        classNames: ['mas-booking', `mas-status-${a.status}`],
        startEditable: movable,
        durationEditable: false,
        extendedProps: {
          appointment: a,
          clientName: names.client(a.client_id),
          serviceName: names.service(a.service_id),
          statusLabel: style.label,
          holdUntil: a.status === 'pending_deposit' && a.hold_expires_at ? timeIn(a.hold_expires_at, timeZone) : null,
          visitPart: visitPart(a),
        },
      };
    })
    .filter((event) => event.resourceIds.length > 0);
}

function shade(id, resourceIds, start, end, label, kind) {
  return { id, resourceIds, start, end, display: 'background', classNames: ['mas-shade', `mas-shade-${kind}`], extendedProps: { label } };
}

/** Time off per practitioner; closures (whole days in the location's zone) across every column. */
export function shadeEvents({ exceptions, location, columns, timeZone }) {
  const practitionerColumns = new Set(columns.filter((c) => c.extendedProps.kind === 'practitioner').map((c) => c.id));
  const timeOff = exceptions
    .filter((x) => x.kind === 'time_off' && practitionerColumns.has(x.practitioner_id)
      && (!x.location_id || x.location_id === location.id))
    .map((x) => shade(`off-${x.id}`, [x.practitioner_id], wallClock(x.starts_at, timeZone), wallClock(x.ends_at, timeZone),
      x.note ? `Time off: ${x.note}` : 'Time off', 'time-off'));
  const everyColumn = columns.map((c) => c.id);
  const closures = (location.closures || []).map((c, i) => shade(`closed-${location.id}-${i}`, everyColumn,
    `${c.from}T00:00:00`, `${addDaysToWall(c.to, 1)}T00:00:00`, c.reason ? `Closed: ${c.reason}` : 'Closed', 'closure'));
  return [...timeOff, ...closures];
}

const escapeHtml = (text) => String(text ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const span = (className, text) => `<span class="${className}">${escapeHtml(text)}</span>`;

/**
 * The card's inside: time, client, service, and a hold's expiry; in a week's narrow columns only
 * the client shows and the rest is there for screen readers. The status is always said, not
 * only coloured; the card's accessible name is its text.
 */
export function eventContent({ event, timeText, view }) {
  const props = event.extendedProps || {};
  if (event.display === 'background') return { html: span('mas-shade-label', props.label) };
  if (!props.appointment) return undefined;
  const compact = view.type === 'resourceTimeGridWeek';
  const seen = (className) => (compact ? 'mas-visually-hidden' : className);
  const hold = props.holdUntil ? span(seen('mas-hold'), `Hold until ${props.holdUntil}`) : '';
  const visit = props.visitPart ? span(seen('mas-card-visit'), props.visitPart) : '';
  return {
    html: span(seen('mas-card-time'), timeText) + span('mas-card-client', props.clientName)
      + span(seen('mas-card-service'), props.serviceName) + visit + hold
      + span('mas-visually-hidden', `, ${props.statusLabel}`),
  };
}

/** Column headings: full names in a day; first names (the full one for screen readers) in a week. */
export function columnLabel(compact) {
  return ({ resource }) => (compact
    ? { html: `<span aria-hidden="true" title="${escapeHtml(resource.title)}">${escapeHtml(resource.extendedProps.short)}</span>${span('mas-visually-hidden', resource.title)}` }
    : resource.title);
}
