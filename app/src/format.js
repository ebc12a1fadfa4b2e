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
