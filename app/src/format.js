// Display formats: money in minor units, times in a location's zone, labels from snake_case.
export function money(value) {
  if (!value) return '';
  const currency = value.currency || 'GBP';
  return new Intl.NumberFormat('en-GB', { style: 'currency', currency }).format(value.amount_minor / 100);
}

export function time(iso, timeZone) {
  return new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', timeZone }).format(new Date(iso));
}

export function dateTime(iso, timeZone) {
  return new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone }).format(new Date(iso));
}

/** Today's date (YYYY-MM-DD) in a time zone. */
export function dayIn(timeZone, at = new Date()) {
  return new Intl.DateTimeFormat('en-CA', { year: 'numeric', month: '2-digit', day: '2-digit', timeZone }).format(at);
}

export function label(snake) {
  const text = String(snake || '').replace(/_/g, ' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

const CHANNELS = { email: 'Email', sms: 'Text' };

/** A message channel as staff say it. */
export function channel(name) {
  return CHANNELS[name] || label(name);
}

export function browserTimeZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'Europe/London';
}

export function clientName(client) {
  return client ? `${client.first_name} ${client.last_name}` : '';
}

/**
 * An amount typed at the desk ("12", "12.5", "12.50", "1,250.00") in minor units of a
 * two-decimal currency, read digit by digit (no floating point); null when it is not one.
 */
export function toMinor(text) {
  const clean = String(text ?? '').trim().replace(/[,\s]/g, '').replace(/^[£$€]/, '');
  const match = /^(\d{1,9})(?:\.(\d{0,2}))?$/.exec(clean);
  if (!match) return null;
  return Number(match[1]) * 100 + Number((match[2] || '').padEnd(2, '0'));
}

/** Minor units as the desk types them ("12.50"), for prefilling an amount field. */
export function minorInput(minor) {
  const n = Math.max(0, Math.trunc(minor || 0));
  return `${Math.trunc(n / 100)}.${String(n % 100).padStart(2, '0')}`;
}

/** A percentage typed at the desk ("10", "12.5") in basis points; null when it is not one. */
export function toBasisPoints(text) {
  const match = /^(\d{1,3})(?:\.(\d{0,2}))?$/.exec(String(text ?? '').trim().replace(/%$/, ''));
  if (!match) return null;
  return Number(match[1]) * 100 + Number((match[2] || '').padEnd(2, '0'));
}
