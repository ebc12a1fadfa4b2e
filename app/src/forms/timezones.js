// Time zone choices: the browser's IANA list, with the given zone first.
export function timeZoneOptions(preferred) {
  const all = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  const zones = [preferred, ...all.filter((z) => z !== preferred)].filter(Boolean);
  return zones.map((z) => ({ value: z, label: z.replace(/_/g, ' ') }));
}
