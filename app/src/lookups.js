// Reads that many screens share (locations, services, practitioners, a client's name), fetched
// once per session and forgotten when the session ends or changes hands.
import { api, onSessionChanged } from './api.js';

const cache = new Map();
onSessionChanged(() => cache.clear());

function once(path) {
  if (!cache.has(path)) cache.set(path, api.get(path).catch((err) => { cache.delete(path); throw err; }));
  return cache.get(path);
}

/** Forget a cached read after a change (e.g. a new client). */
export function forget(path) {
  cache.delete(path);
}

/** {locations, services, practitioners}, each as a Map by id. */
export async function catalog() {
  const [locations, services, practitioners] = await Promise.all([once('/v1/locations'), once('/v1/services'), once('/v1/practitioners')]);
  const byId = (list) => new Map(list.map((x) => [x.id, x]));
  return { locations: byId(locations), services: byId(services), practitioners: byId(practitioners) };
}

export function client(id) {
  return once(`/v1/clients/${id}`);
}

/** Clients by id for a set of ids (one read each, shared with every other screen). */
export async function clients(ids) {
  const unique = [...new Set(ids)];
  const found = await Promise.all(unique.map((id) => client(id).catch(() => null)));
  return new Map(unique.map((id, i) => [id, found[i]]));
}
