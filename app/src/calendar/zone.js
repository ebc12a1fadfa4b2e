// Wall-clock arithmetic in a location's IANA zone. The calendar library only knows fixed UTC
// offsets, so it is fed "floating" wall-clock strings computed here (correct across DST for each
// event) and its answers (wall-clock again) are turned back into instants here.

const formatters = new Map();

function partsIn(timeZone) {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-GB', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
    formatters.set(timeZone, format);
  }
  return format;
}

const pad = (n, width = 2) => String(n).padStart(width, '0');

/** 'YYYY-MM-DDTHH:MM:SS' as a clock in `timeZone` shows `instant` (a Date or anything Date takes). */
export function wallClock(instant, timeZone) {
  const parts = {};
  for (const { type, value } of partsIn(timeZone).formatToParts(new Date(instant))) parts[type] = value;
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}`;
}

function wallAsUtcMillis(wall) {
  const [y, mo, d, h = 0, mi = 0, s = 0] = wall.match(/\d+/g).map(Number);
  return Date.UTC(y, mo - 1, d, h, mi, s);
}

/** Minutes east of UTC in `timeZone` at `instant`. */
export function offsetMinutes(instant, timeZone) {
  const millis = Math.floor(new Date(instant).getTime() / 1000) * 1000;
  return Math.round((wallAsUtcMillis(wallClock(millis, timeZone)) - millis) / 60000);
}

/**
 * The instant a wall clock in `timeZone` shows as `wall` ('YYYY-MM-DD[THH:MM[:SS]]'). A time in
 * a spring-forward gap moves on by the gap; a repeated autumn time takes its second reading.
 */
export function instantOf(wall, timeZone) {
  const guess = wallAsUtcMillis(wall);
  const first = offsetMinutes(guess, timeZone);
  let instant = guess - first * 60000;
  const second = offsetMinutes(instant, timeZone);
  if (second !== first) instant = guess - second * 60000;
  return new Date(instant);
}

/** '+01:00' style. */
export function offsetText(minutes) {
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** RFC 3339 with the zone's offset at that instant, as the API takes times. */
export function rfc3339In(instant, timeZone) {
  return wallClock(instant, timeZone) + offsetText(offsetMinutes(instant, timeZone));
}

/** A Date's own local fields as a wall-clock string (the calendar hands out such Dates). */
export function wallOfLocalDate(date) {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** Adds whole days to a 'YYYY-MM-DD…' wall clock, keeping its time of day. */
export function addDaysToWall(wall, days) {
  const millis = wallAsUtcMillis(wall) + days * 86400000;
  return new Date(millis).toISOString().slice(0, wall.length > 10 ? 19 : 10);
}

/** "Europe/London, GMT" — how the screen says which clock it shows. */
export function zoneLabel(timeZone, instant = new Date()) {
  const name = new Intl.DateTimeFormat('en-GB', { timeZone, timeZoneName: 'short' })
    .formatToParts(new Date(instant)).find((p) => p.type === 'timeZoneName');
  return name ? `${timeZone}, ${name.value}` : timeZone;
}

/** "14:05" in `timeZone`. */
export function timeIn(instant, timeZone) {
  return wallClock(instant, timeZone).slice(11, 16);
}

/** "Tue 1 Dec, 14:05" in `timeZone`. */
export function dateTimeIn(instant, timeZone) {
  return new Intl.DateTimeFormat('en-GB', {
    timeZone, weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  }).format(new Date(instant));
}
