// The calendar on its own, for development and the browser tests until the shell routes to it
// (/app/calendar-dev/index.html). The session is the shell's: sessionStorage `mas.session`
// (the sign-in API's Session), or a bare token in `mas.token`.
import { render } from 'preact';
import { html } from './html.js';
import { CalendarScreen } from './index.js';

function accessToken() {
  try {
    const session = JSON.parse(sessionStorage.getItem('mas.session') || 'null');
    if (session?.access_token) return session.access_token;
  } catch { /* not JSON: fall through to the bare token */ }
  return sessionStorage.getItem('mas.token');
}

/** The shell's `api` contract: parsed JSON, or an Error with `.status` and `.body`. */
function apiWith(token) {
  return async (method, path, body) => {
    const response = await fetch(path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await response.text();
    const parsed = text ? JSON.parse(text) : null;
    if (!response.ok) {
      const error = new Error(parsed?.error?.message || `${method} ${path} answered ${response.status}`);
      error.status = response.status;
      error.body = parsed;
      throw error;
    }
    return parsed;
  };
}

async function start() {
  const root = document.getElementById('app');
  const token = accessToken();
  if (!token) {
    render(html`<p>No session: put a Session in sessionStorage <code>mas.session</code> (or a token in <code>mas.token</code>) and reload.</p>`, root);
    return;
  }
  const api = apiWith(token);
  try {
    const me = await api('GET', '/v1/me');
    // ?date=YYYY-MM-DD&view=week open the calendar there (the tests use them).
    const query = new URLSearchParams(window.location.search);
    render(html`<${CalendarScreen} api=${api} me=${me} initialDate=${query.get('date')} initialView=${query.get('view') || 'day'} />`, root);
  } catch (error) {
    render(html`<p role="alert">Could not read who you are: ${error.message}</p>`, root);
  }
}

start();
