// The calendar's columns at one location: its practitioners (those with working rules there),
// then its rooms and devices. Column ids are the catalog ids, so a booking names its columns.

const live = (record) => !record.archived && record.active !== false;

export function practitionersAt(location, practitioners) {
  return practitioners.filter((p) => live(p) && (p.working_rules || []).some((r) => r.location_id === location.id));
}

export function resourcesAt(location, resources) {
  return resources.filter((r) => live(r) && r.location_id === location.id);
}

/** "Dr Ada Okafor" → "Ada": a week's narrow columns have room for a first name. */
function shortName(displayName) {
  const words = displayName.split(/\s+/).filter((w) => !/^(dr|mr|mrs|ms|miss|prof)\.?$/i.test(w));
  return words[0] || displayName;
}

const byText = (key) => (a, b) => a[key].localeCompare(b[key]);

export function columnsAt(location, practitioners, resources) {
  return [
    ...practitionersAt(location, practitioners).sort(byText('display_name')).map((p) => ({
      id: p.id, title: p.display_name, extendedProps: { kind: 'practitioner', short: shortName(p.display_name) },
    })),
    ...resourcesAt(location, resources).sort(byText('name')).map((r) => ({
      id: r.id, title: r.name, extendedProps: { kind: r.kind, short: r.name.replace(/\s*\(.*\)\s*$/, '') },
    })),
  ];
}

/** Services a practitioner performs at this location (category among their specialties). */
export function servicesFor(practitioner, location, services) {
  return services.filter((s) => live(s)
    && (!s.location_ids || s.location_ids.length === 0 || s.location_ids.includes(location.id))
    && (!practitioner || (practitioner.specialties || []).includes(s.category)));
}

const minutesOf = (time) => Number(time.slice(0, 2)) * 60 + Number(time.slice(3, 5));
const clockOf = (minutes) => `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}:00`;

/**
 * The grid's time range: the location's earliest opening to its latest closing, widened by an
 * hour either side (walk-ins just before opening, overruns after closing).
 */
export function openingSpan(location) {
  const hours = location.opening_hours || [];
  if (!hours.length) return { slotMinTime: '07:00:00', slotMaxTime: '21:00:00' };
  const opens = Math.min(...hours.map((h) => minutesOf(h.start)));
  const closes = Math.max(...hours.map((h) => minutesOf(h.end)));
  return {
    slotMinTime: clockOf(Math.max(0, Math.floor(opens / 60) * 60 - 60)),
    slotMaxTime: clockOf(Math.min(1440, Math.ceil(closes / 60) * 60 + 60)),
  };
}

const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

/** Weekdays (0 = Sunday) the location never opens, left out of the week view. */
export function closedWeekdays(location) {
  const open = new Set((location.opening_hours || []).map((h) => h.day));
  if (open.size === 0) return [];
  return WEEKDAYS.map((day, index) => (open.has(day) ? -1 : index)).filter((index) => index >= 0);
}
