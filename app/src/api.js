// The staff API client: base URL from <meta name="mas-api-base"> (empty: same origin), the
// bearer token, one refresh and retry on a 401, sign-out when the refresh fails, and errors
// carrying the envelope's message for the screen to show.
import { loadSession, saveSession, clearSession } from './session.js';

const base = (document.querySelector('meta[name="mas-api-base"]')?.content || '').replace(/\/$/, '');
const signedOutListeners = new Set();
const changedListeners = new Set();
let refreshing = null;
let refreshTimer = null;

/** An API answer that was not 2xx: `message` is the envelope's, fit to show as is. */
export class ApiError extends Error {
  constructor(status, envelope, retryAfter) {
    const error = envelope?.error || {};
    super(error.message || (status === 0 ? 'The clinic server cannot be reached. Check your connection.' : `The server answered ${status}.`));
    this.status = status;
    this.code = error.code || 'unknown';
    this.details = error.details || null;
    // The envelope as answered, for code that reads it whole (the calendar screen's contract).
    this.body = envelope || null;
    this.retryAfter = retryAfter;
  }

  /** The field a 422 names (`owner.email`, `opening_hours[0]`), if any. */
  get field() {
    return this.details && typeof this.details.field === 'string' ? this.details.field : null;
  }
}

/** Called with no arguments when the session ends (refresh refused, or signed out). */
export function onSignedOut(listener) {
  signedOutListeners.add(listener);
  return () => signedOutListeners.delete(listener);
}

/** Called when the session ends or another member's begins (caches of the last one's reads go). */
export function onSessionChanged(listener) {
  changedListeners.add(listener);
  return () => changedListeners.delete(listener);
}

function memberOf(session) {
  return session ? `${session.tenant?.id || ''}/${session.member?.id || session.access_token}` : null;
}

export function apiUrl(path) {
  return base + path;
}

async function send(method, path, { body, contentType, auth = true, token, idempotencyKey, as } = {}) {
  const headers = {};
  // Routes that create something once (a sale, a booking) answer a retry with this key the first answer.
  if (idempotencyKey) headers['idempotency-key'] = idempotencyKey;
  const bearer = token || (auth ? loadSession()?.access_token : null);
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  let payload;
  if (body instanceof Blob) {
    payload = body;
    headers['content-type'] = contentType || body.type || 'application/octet-stream';
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['content-type'] = 'application/json';
  }
  let res;
  try {
    res = await fetch(base + path, { method, headers, body: payload });
  } catch {
    throw new ApiError(0, null);
  }
  const text = await res.text();
  // A file the route answers (a CSV export): its text as it came.
  if (as === 'text' && res.ok) return text;
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) throw new ApiError(res.status, json, Number(res.headers.get('retry-after')) || null);
  return json;
}

/** Rotates the refresh token once, however many requests ask at the same moment. */
export function refreshSession() {
  if (!refreshing) {
    refreshing = (async () => {
      const refresh = loadSession()?.refresh_token;
      if (!refresh) throw new ApiError(401, { error: { code: 'session_expired', message: 'Your session has ended. Please sign in again.' } });
      const session = await send('POST', '/v1/auth/refresh', { body: { refresh_token: refresh }, auth: false });
      startSession(session);
      return session;
    })().finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

/** Stores a session and plans its refresh a minute before the access token expires. */
export function startSession(session) {
  const before = memberOf(loadSession());
  const stored = saveSession(session);
  if (before !== memberOf(stored)) for (const listener of changedListeners) listener();
  clearTimeout(refreshTimer);
  if (stored.refresh_token && stored.expires_at) {
    const wait = Math.max(5000, stored.expires_at - Date.now() - 60000);
    refreshTimer = setTimeout(() => refreshSession().catch(() => endSession()), wait);
  }
  return stored;
}

/** Forgets the session here and tells the listeners (the shell goes to the sign-in screen). */
export function endSession() {
  clearTimeout(refreshTimer);
  clearSession();
  for (const listener of changedListeners) listener();
  for (const listener of signedOutListeners) listener();
}

/** Signs out on the server too (best effort: the local session ends either way). */
export async function signOut() {
  const refresh = loadSession()?.refresh_token;
  if (refresh) await send('POST', '/v1/auth/sign-out', { body: { refresh_token: refresh }, auth: false }).catch(() => {});
  endSession();
}

async function request(method, path, options = {}) {
  try {
    return await send(method, path, options);
  } catch (err) {
    if (err.status !== 401 || options.auth === false || !loadSession()) throw err;
    try {
      await refreshSession();
    } catch {
      endSession();
      throw err;
    }
    return send(method, path, options);
  }
}

export const api = {
  get: (path, options) => request('GET', path, options),
  post: (path, body, options) => request('POST', path, { ...options, body }),
  put: (path, body, options) => request('PUT', path, { ...options, body }),
  patch: (path, body, options) => request('PATCH', path, { ...options, body }),
  del: (path, options) => request('DELETE', path, options),
  /** Any method: the calendar screen's `api(method, path, body?)` contract. */
  request: (method, path, body) => request(method, path, { body }),
  /** A public route: no token sent, no refresh attempted. */
  public: (method, path, body) => request(method, path, { body, auth: false }),
};

// A reload keeps the tab's session: plan its refresh again.
const existing = loadSession();
if (existing?.refresh_token) startSession({ ...existing, expires_in: Math.max(0, (existing.expires_at - Date.now()) / 1000) });
