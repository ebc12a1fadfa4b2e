// The calendar of one location, in that location's clock: loads the visible window, draws it
// with the resource time grid, and runs booking (click a free time), moving (drag, fee preview,
// confirm, the server decides) and the booking drawer.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { html } from './html.js';
import { ResourceGrid } from './grid.js';
import { Toolbar } from './toolbar.js';
import { Legend } from './legend.js';
import { BookingDialog } from './booking-dialog.js';
import { MoveDialog } from './move-dialog.js';
import { AppointmentDrawer } from './drawer.js';
import { columnsAt, openingSpan, closedWeekdays } from './columns.js';
import { loadWindow } from './data.js';
import { bookingEvents, shadeEvents, eventContent, columnLabel } from './events.js';
import { wallClock, instantOf, rfc3339In, wallOfLocalDate, offsetMinutes, offsetText, dateTimeIn } from './zone.js';
import { has } from './status.js';
import { reasonOf } from './dialog.js';
import { useNarrow } from './narrow.js';

const VIEWS = { day: 'resourceTimeGridDay', week: 'resourceTimeGridWeek' };
const TIME_FORMAT = { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' };

const SLOT_MINUTES = 15;
const NO_DAYS = [];

/** A clicked time ('YYYY-MM-DDTHH:MM…', snapped to 5 minutes for dragging) down to its slot's start. */
function slotStart(wall) {
  const minutes = Number(wall.slice(14, 16));
  return `${wall.slice(0, 14)}${String(minutes - (minutes % SLOT_MINUTES)).padStart(2, '0')}`;
}

/** The next five-minute mark on the location's clock, as 'YYYY-MM-DDTHH:MM'. */
function nextFiveMinutes(timeZone) {
  const now = Date.now();
  return wallClock(Math.ceil(now / 300000) * 300000, timeZone).slice(0, 16);
}

/**
 * The calendar's `timeZone`: events come as the location's wall clock, so this offset only
 * places "now" and "today". @event-calendar/core 5.15 treats a zero offset as "the browser's
 * clock" (`offset ? … : 0` in createDate), so zero is given as one minute east: the now line
 * is a minute early, invisible on a 15-minute grid, instead of hours off.
 */
function nowOffset(timeZone) {
  return offsetText(offsetMinutes(Date.now(), timeZone) || 1);
}

export function LocationCalendar({ api, me, catalog, location, locations, onLocation, clients, announce, initialView, initialDate }) {
  const timeZone = location.timezone;
  const narrow = useNarrow();
  const calendar = useRef(null);
  const [view, setView] = useState(initialView);
  const [range, setRange] = useState(null);
  const [title, setTitle] = useState('');
  const [data, setData] = useState({ appointments: [], exceptions: [] });
  const [reloads, setReloads] = useState(0);
  const [showClosed, setShowClosed] = useState(false);
  const [booking, setBooking] = useState(null);
  const [move, setMove] = useState(null);
  const [openId, setOpenId] = useState(null);
  const [loadError, setLoadError] = useState('');

  const columns = useMemo(() => columnsAt(location, catalog.practitioners, catalog.resources), [location, catalog]);
  // '' shows every column; a phone-narrow screen shows one (the member's own, else the first).
  const [focusColumn, setFocusColumn] = useState('');
  const ownColumn = columns.some((c) => c.id === me.member.practitioner_id) ? me.member.practitioner_id : columns[0]?.id || '';
  const practitionerIds = useMemo(() => columns.filter((c) => c.extendedProps.kind === 'practitioner').map((c) => c.id), [columns]);
  const canBook = has(me, 'booking_write') || (has(me, 'booking_write_own') && !!me.member.practitioner_id);

  const names = useMemo(() => {
    const services = new Map(catalog.services.map((s) => [s.id, s.name]));
    const practitioners = new Map(catalog.practitioners.map((p) => [p.id, p.display_name]));
    return {
      client: (id) => clients.name(id),
      service: (id) => services.get(id) || 'Service',
      practitioner: (id) => practitioners.get(id) || 'Practitioner',
    };
  }, [catalog, clients]);

  useEffect(() => {
    if (!range) return undefined;
    let current = true;
    loadWindow(api, { location, from: range.from, to: range.to, practitionerIds, clients })
      .then((loaded) => { if (current) { setData(loaded); setLoadError(''); } })
      .catch((error) => { if (current) setLoadError(`The calendar could not be loaded: ${reasonOf(error)}`); });
    return () => { current = false; };
  }, [range, reloads, location, practitionerIds]);

  const singleColumn = focusColumn || (narrow ? ownColumn : '');
  const shownColumns = useMemo(() => (singleColumn ? columns.filter((c) => c.id === singleColumn) : columns), [columns, singleColumn]);
  const columnIds = useMemo(() => new Set(columns.map((c) => c.id)), [columns]);
  const events = useMemo(() => [
    ...bookingEvents(data.appointments, { timeZone, columnIds, names, me, showClosed }),
    ...shadeEvents({ exceptions: data.exceptions, location, columns, timeZone }),
  ], [data, showClosed, columnIds, names]);

  const span = useMemo(() => openingSpan(location), [location]);
  const closedDays = useMemo(() => closedWeekdays(location), [location]);
  const firstDate = useRef(initialDate || wallClock(Date.now(), timeZone).slice(0, 10));
  const shownView = narrow ? 'day' : view;
  const options = useMemo(() => ({
    view: VIEWS[shownView],
    date: firstDate.current,
    timeZone: nowOffset(timeZone),
    locale: 'en-GB',
    firstDay: 1,
    headerToolbar: { start: '', center: '', end: '' },
    resources: shownColumns,
    resourceLabelContent: columnLabel(shownView === 'week' && !singleColumn),
    // A day view still shows a closed day ("Today" on a Sunday is that Sunday).
    hiddenDays: shownView === 'week' ? closedDays : NO_DAYS,
    events,
    editable: true,
    eventDurationEditable: false,
    selectable: false,
    allDaySlot: false,
    nowIndicator: true,
    datesAboveResources: shownView === 'week',
    slotDuration: `00:${SLOT_MINUTES}:00`,
    snapDuration: '00:05:00',
    slotMinTime: span.slotMinTime,
    slotMaxTime: span.slotMaxTime,
    scrollTime: '09:00:00',
    height: narrow ? '70vh' : '72vh',
    slotLabelFormat: TIME_FORMAT,
    eventTimeFormat: TIME_FORMAT,
    dayHeaderFormat: { weekday: 'short', day: 'numeric', month: 'short' },
  }), [shownView, shownColumns, events, span, narrow, singleColumn, closedDays]);

  const byId = (id) => data.appointments.find((a) => a.id === id);
  const practitionerColumn = (resource) => resource && resource.extendedProps?.kind === 'practitioner';

  const callbacks = {
    datesSet(info) {
      const from = instantOf(wallOfLocalDate(info.start), timeZone);
      const to = instantOf(wallOfLocalDate(info.end), timeZone);
      setTitle(info.view.title);
      setRange((old) => (old && +old.from === +from && +old.to === +to ? old : { from, to }));
    },
    dateClick(info) {
      if (!canBook) return;
      setBooking({
        start: slotStart(info.dateStr),
        practitionerId: practitionerColumn(info.resource) ? info.resource.id : '',
        newClient: false,
      });
    },
    eventClick(info) {
      if (info.event.extendedProps?.appointment) setOpenId(info.event.id);
    },
    eventDidMount({ event, el }) {
      if (event.extendedProps?.appointment) el.dataset.appointmentId = event.id;
    },
    eventContent,
    eventDrop(info) {
      const appointment = info.event.extendedProps.appointment;
      if (info.newResource && !practitionerColumn(info.newResource)) {
        info.revert();
        announce('A booking moves along its practitioner\'s column or to another practitioner, not onto a room or device.');
        return;
      }
      setMove({
        appointment,
        clientName: names.client(appointment.client_id),
        serviceName: names.service(appointment.service_id),
        newStart: instantOf(wallOfLocalDate(info.event.start), timeZone),
        newPractitionerId: info.newResource ? info.newResource.id : null,
        newPractitionerName: info.newResource ? names.practitioner(info.newResource.id) : null,
        revert: info.revert,
      });
    },
  };

  const reload = () => setReloads((n) => n + 1);

  const confirmMove = async () => {
    const { appointment, newStart, newPractitionerId, revert } = move;
    const body = { action: 'reschedule', start: rfc3339In(newStart, timeZone), version: appointment.version };
    if (newPractitionerId) body.practitioner_id = newPractitionerId;
    try {
      await api('PATCH', `/v1/appointments/${encodeURIComponent(appointment.id)}`, body);
      announce(`Moved ${move.clientName} to ${dateTimeIn(newStart, timeZone)}.`);
    } catch (error) {
      revert();
      announce(`Not moved: ${reasonOf(error)}`);
    }
    setMove(null);
    reload();
  };
  const cancelMove = () => {
    move.revert();
    setMove(null);
    announce('Move cancelled; the booking stays where it was.');
  };

  const step = (direction) => (direction < 0 ? calendar.current?.prev() : calendar.current?.next());
  const today = () => calendar.current?.setOption('date', wallClock(Date.now(), timeZone).slice(0, 10));
  const ownPractitioner = has(me, 'booking_write') ? '' : me.member.practitioner_id;
  const newBooking = (newClient) => setBooking({ start: nextFiveMinutes(timeZone), practitionerId: ownPractitioner || '', newClient });

  const opened = openId && byId(openId);

  return html`
    <div class="mas-calendar">
      <${Toolbar} title=${title} locations=${locations} locationId=${location.id} onLocation=${onLocation}
        view=${shownView} onView=${setView} narrow=${narrow} onStep=${step} onToday=${today} timeZone=${timeZone}
        columns=${columns} focusColumn=${singleColumn} onFocusColumn=${setFocusColumn}
        showClosed=${showClosed} onShowClosed=${setShowClosed}
        canBook=${canBook} onNewBooking=${() => newBooking(false)} onWalkIn=${() => newBooking(true)} />
      ${loadError && html`<p class="mas-problem" role="alert">${loadError}</p>`}
      ${columns.length === 0
        ? html`<p class="mas-empty">No practitioners, rooms or devices at ${location.name} yet.</p>`
        : html`<${ResourceGrid} options=${options} callbacks=${callbacks} calendarRef=${calendar}
            label=${`Bookings at ${location.name}. Select a booking with Tab and press Enter for details; click a free time to book.`} />`}
      <${Legend} />
      ${booking && html`<${BookingDialog} api=${api} me=${me} catalog=${catalog} location=${location} timeZone=${timeZone}
        initial=${booking} onClose=${() => setBooking(null)}
        onBooked=${(appointment, client) => {
          clients.remember(client);
          setBooking(null);
          announce(`Booked ${client.first_name} ${client.last_name} (${appointment.confirmation_number}) at ${dateTimeIn(appointment.start, timeZone)} with ${names.practitioner(appointment.practitioner_id)}.`);
          reload();
        }} />`}
      ${move && html`<${MoveDialog} api=${api} move=${move} timeZone=${timeZone} onConfirm=${confirmMove} onCancel=${cancelMove} />`}
      ${opened && html`<${AppointmentDrawer} key=${opened.id + opened.version} api=${api} me=${me} appointment=${opened} names=${names} timeZone=${timeZone}
        onClose=${() => setOpenId(null)}
        onChanged=${(updated, message) => {
          setData((old) => ({ ...old, appointments: old.appointments.map((a) => (a.id === updated.id ? updated : a)) }));
          announce(message);
        }} />`}
    </div>`;
}
