// A client's message log as a role may see it: requests to sign a document name the document
// (a consent form says what treatment), so roles without documents_read do not see them.
import { api } from './api.js';
import { can } from './permissions.js';

const ABOUT_DOCUMENTS = ['signature_request', 'signature_reminder'];

export async function messagesOf(me, clientId) {
  const all = await api.get(`/v1/notifications?client_id=${clientId}&limit=50`);
  const hidden = can(me, 'documents_read') ? [] : all.filter((m) => ABOUT_DOCUMENTS.includes(m.kind));
  return { visible: all.filter((m) => !hidden.includes(m)), hiddenIds: new Set(hidden.map((m) => m.id)) };
}
