// What a client's timeline refers to: the timeline names each booking (`appointment.booked`)
// and each generated document (`document.generated`) by id in `ref_id`; each is then read for
// its current state. Documents only for roles with documents_read: callers check first.
import { api } from './api.js';

export function timelineOf(clientId) {
  return api.get(`/v1/clients/${clientId}/timeline?limit=100`);
}

function refs(timeline, kind) {
  return [...new Set(timeline.items.filter((e) => e.kind === kind && e.ref_id).map((e) => e.ref_id))];
}

export async function documentsOf(clientId, timeline) {
  const page = timeline || (await timelineOf(clientId));
  return Promise.all(refs(page, 'document.generated').map((id) => api.get(`/v1/documents/${id}`)));
}

export async function appointmentsOf(timeline) {
  const found = await Promise.all(refs(timeline, 'appointment.booked').map((id) => api.get(`/v1/appointments/${id}`).catch(() => null)));
  return found.filter(Boolean).sort((a, b) => b.start.localeCompare(a.start));
}
