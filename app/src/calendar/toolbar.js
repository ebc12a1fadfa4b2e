// The calendar's controls: location, day/week, previous/today/next, the clock in use, and the
// booking buttons. Purely presentational; the screen owns the state.
import { html } from './html.js';
import { zoneLabel } from './zone.js';

export function Toolbar({
  title, locations, locationId, onLocation, view, onView, narrow, onStep, onToday, timeZone,
  columns, focusColumn, onFocusColumn, showClosed, onShowClosed, canBook, onNewBooking, onWalkIn,
}) {
  const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return html`
    <div class="mas-toolbar">
      <div class="mas-toolbar-row">
        <label class="mas-field mas-inline">Location
          <select value=${locationId} onChange=${(e) => onLocation(e.currentTarget.value)}>
            ${locations.map((l) => html`<option key=${l.id} value=${l.id}>${l.name}</option>`)}
          </select>
        </label>
        ${!narrow && html`
          <div class="mas-segmented" role="group" aria-label="View">
            <button type="button" class="mas-button" aria-pressed=${view === 'day'} onClick=${() => onView('day')}>Day</button>
            <button type="button" class="mas-button" aria-pressed=${view === 'week'} onClick=${() => onView('week')}>Week</button>
          </div>`}
        ${columns.length > 1 && html`
          <label class="mas-field mas-inline">Column
            <select value=${focusColumn} onChange=${(e) => onFocusColumn(e.currentTarget.value)}>
              ${!narrow && html`<option value="">All columns</option>`}
              ${columns.map((c) => html`<option key=${c.id} value=${c.id}>${c.title}</option>`)}
            </select>
          </label>`}
        ${canBook && html`
          <div class="mas-toolbar-end">
            <button type="button" class="mas-button" onClick=${onNewBooking}>New booking</button>
            <button type="button" class="mas-button mas-primary" onClick=${onWalkIn}>Walk-in</button>
          </div>`}
      </div>
      <div class="mas-toolbar-row">
        <div class="mas-nav" role="group" aria-label="Dates">
          <button type="button" class="mas-button" onClick=${() => onStep(-1)} aria-label=${`Previous ${view}`}>‹</button>
          <button type="button" class="mas-button" onClick=${onToday}>Today</button>
          <button type="button" class="mas-button" onClick=${() => onStep(1)} aria-label=${`Next ${view}`}>›</button>
        </div>
        <h2 class="mas-title" aria-live="polite">${title}</h2>
        <p class="mas-zone" data-testid="zone">Times in ${zoneLabel(timeZone)}${browserZone && browserZone !== timeZone ? html` <span class="mas-hint">(this device: ${browserZone})</span>` : ''}</p>
        <label class="mas-check"><input type="checkbox" checked=${showClosed} onChange=${(e) => onShowClosed(e.currentTarget.checked)} /> Show cancelled and no-shows</label>
      </div>
    </div>`;
}
