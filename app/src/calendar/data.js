// Reading what the calendar shows from the API: the catalog once, then per visible window the
// appointments, the practitioners' exceptions and the names on the cards.

const unarchived = (items) => items.filter((item) => !item.archived);

/** Locations, practitioners, resources and services (catalog_read). */
export async function loadCatalog(api) {
  const [locations, practitioners, resources, services] = await Promise.all(
    ['/v1/locations', '/v1/practitioners', '/v1/resources', '/v1/services'].map((path) => api('GET', path)),
  );
  return {
    locations: unarchived(locations), practitioners: unarchived(practitioners),
    resources: unarchived(resources), services: unarchived(services),
  };
}

/** Runs `work` over `items` with at most `limit` in flight. */
async function inBatches(items, limit, work) {
  const queue = [...items];
  const runners = Array.from({ length: Math.min(limit, queue.length) }, async () => {
    while (queue.length) await work(queue.shift());
  });
  await Promise.all(runners);
}

/**
 * Client names by id, fetched once each. A client the viewer may not read (or that is gone)
 * shows as "Client" rather than failing the whole calendar.
 */
export function clientDirectory(api) {
  const names = new Map();
  return {
    name: (id) => names.get(id) || 'Client',
    remember(client) { names.set(client.id, `${client.first_name} ${client.last_name}`); },
    async fetchMissing(ids) {
      const missing = [...new Set(ids)].filter((id) => !names.has(id));
      await inBatches(missing, 6, async (id) => {
        try {
          this.remember(await api('GET', `/v1/clients/${encodeURIComponent(id)}`));
        } catch {
          names.set(id, 'Client');
        }
      });
    },
  };
}

/**
 * Appointments at `location` between two instants, and the exceptions of the practitioners
 * shown, with every client's name ready for the cards.
 */
export async function loadWindow(api, { location, from, to, practitionerIds, clients }) {
  const query = new URLSearchParams({ from: from.toISOString(), to: to.toISOString(), location_id: location.id });
  const [appointments, ...exceptionLists] = await Promise.all([
    api('GET', `/v1/appointments?${query}`),
    ...practitionerIds.map((id) => api('GET', `/v1/practitioners/${encodeURIComponent(id)}/exceptions`).catch(() => [])),
  ]);
  const exceptions = exceptionLists.flat().filter((x) => !x.archived
    && new Date(x.ends_at) > from && new Date(x.starts_at) < to);
  await clients.fetchMissing(appointments.map((a) => a.client_id));
  return { appointments: appointments.filter((a) => a.location_id === location.id), exceptions };
}
