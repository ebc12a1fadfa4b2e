// The back office's calendar screen. The shell mounts <CalendarScreen api={api} me={me} />:
// `api(method, path, body?)` answers parsed JSON or throws an Error with `.status` and `.body`
// (the error envelope); `me` is GET /v1/me's answer. Optional: `initialView` ('day', the
// default, or 'week'; phone-narrow screens always show a day) and `initialDate` ('YYYY-MM-DD'
// in the location's zone; default today there).
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { html } from './html.js';
import { loadCatalog, clientDirectory } from './data.js';
import { LocationCalendar } from './location-calendar.js';
import { reasonOf } from './dialog.js';
import { installStyles } from './styles.js';

const LOCATION_KEY = 'mas.calendar.location';

/** The location chosen last in this tab; storage may be unavailable (private modes, about:blank). */
const rememberedLocation = {
  get() { try { return sessionStorage.getItem(LOCATION_KEY); } catch { return null; } },
  set(id) { try { sessionStorage.setItem(LOCATION_KEY, id); } catch { /* kept for this view only */ } },
};

/** The member's locations (empty means all), the last one chosen first. */
function startingLocation(locations, me) {
  const mine = me.member.location_ids?.length ? locations.filter((l) => me.member.location_ids.includes(l.id)) : locations;
  const remembered = rememberedLocation.get();
  return (mine.find((l) => l.id === remembered) || mine[0] || locations[0])?.id || '';
}

export function CalendarScreen({ api, me, initialView = 'day', initialDate = null }) {
  installStyles();
  const [catalog, setCatalog] = useState(null);
  const [error, setError] = useState('');
  const [locationId, setLocationId] = useState('');
  const [message, setMessage] = useState({ text: '', n: 0 });
  const clients = useMemo(() => clientDirectory(api), [api]);
  // Like every screen of the shell, the heading takes focus on opening so it is announced (the
  // shell's loading heading, which had it, is gone by now).
  const heading = useRef(null);
  useEffect(() => heading.current?.focus(), []);

  useEffect(() => {
    let current = true;
    loadCatalog(api)
      .then((loaded) => {
        if (!current) return;
        setCatalog(loaded);
        setLocationId(startingLocation(loaded.locations, me));
      })
      .catch((e) => current && setError(reasonOf(e)));
    return () => { current = false; };
  }, [api]);

  const chooseLocation = (id) => { rememberedLocation.set(id); setLocationId(id); };
  // A counter in the key makes a repeated message be announced again.
  const announce = (text) => setMessage((old) => ({ text, n: old.n + 1 }));
  const location = catalog?.locations.find((l) => l.id === locationId);

  return html`
    <section class="mas-calendar-screen" aria-labelledby="mas-calendar-heading">
      <h1 id="mas-calendar-heading" class="mas-heading" tabindex="-1" ref=${heading}>Calendar</h1>
      <p class="mas-live" role="status" aria-live="polite" data-testid="live"><span key=${message.n}>${message.text}</span></p>
      ${error && html`<p class="mas-problem" role="alert">The calendar could not be loaded: ${error}</p>`}
      ${!catalog && !error && html`<p role="status">Loading the calendar…</p>`}
      ${catalog && !location && html`<p class="mas-empty">No locations yet: add one in Settings.</p>`}
      ${location && html`<${LocationCalendar} key=${location.id} api=${api} me=${me} catalog=${catalog} location=${location}
        locations=${catalog.locations} onLocation=${chooseLocation} clients=${clients} announce=${announce} initialView=${initialView} initialDate=${initialDate} />`}
    </section>`;
}
