// The signed-in session, kept in sessionStorage: it ends with the tab, and another tab never
// inherits it. Only this module touches the storage key.
const KEY = 'mas.session';

/** The stored session: {access_token, refresh_token?, expires_at (ms), tenant?, member?}, or null. */
export function loadSession() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) || 'null');
  } catch {
    return null;
  }
}

/** Stores a Session answer from the sign-in API (expires_in seconds → an absolute expiry). */
export function saveSession(session) {
  const stored = {
    access_token: session.access_token,
    refresh_token: session.refresh_token || null,
    expires_at: session.expires_in ? Date.now() + session.expires_in * 1000 : tokenExpiry(session.access_token),
    tenant: session.tenant || null,
    member: session.member || null,
  };
  sessionStorage.setItem(KEY, JSON.stringify(stored));
  return stored;
}

export function clearSession() {
  sessionStorage.removeItem(KEY);
}

/** The `exp` claim of a JWT in ms (for pasted dev tokens, which come without `expires_in`). */
function tokenExpiry(token) {
  try {
    const payload = JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
    return payload.exp ? payload.exp * 1000 : null;
  } catch {
    return null;
  }
}
