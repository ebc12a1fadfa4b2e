// A Preact wrapper around @event-calendar/core's resource time grid: created once on mount,
// destroyed on unmount; changed options are passed through setOption. Callbacks are read
// through a ref so a re-render never re-registers them.
import { useEffect, useRef } from 'preact/hooks';
// Svelte ≥ 5.60 (locked here) expects each compiled component to import this module, which
// sets up its DOM accessors; @event-calendar/core 5.15's dist was compiled before that, so
// without it the calendar throws `invalid_bundler_config` on mount.
import 'svelte/internal/init-operations';
import { createCalendar, destroyCalendar, ResourceTimeGrid, Interaction } from '@event-calendar/core';
import { html } from './html.js';

/**
 * The library marks its grid up as an ARIA table whose rows lack cells, which assistive
 * technology reads as a broken table; its layout roles are dropped so the bookings (buttons
 * named by their text) and the region's label carry the meaning instead.
 */
const TABLE_ATTRIBUTES = ['role', 'aria-colindex', 'aria-rowindex', 'aria-colcount', 'aria-rowcount', 'aria-colspan'];
const TABLE_ROLES = ['table', 'rowgroup', 'row', 'columnheader', 'rowheader', 'cell', 'gridcell'];
const TABLE_MARKUP = [...TABLE_ROLES.map((role) => `[role=${role}]`), ...TABLE_ATTRIBUTES.slice(1).map((a) => `[${a}]`)].join(',');

function stripTable(el) {
  if (TABLE_ROLES.includes(el.getAttribute('role'))) el.removeAttribute('role');
  for (const name of TABLE_ATTRIBUTES.slice(1)) el.removeAttribute(name);
}

/** The scrolling time grid takes focus, so a keyboard can scroll it even where it holds no booking. */
function focusableScroller(el) {
  if (el.getAttribute('tabindex') === '0') return;
  el.setAttribute('tabindex', '0');
  el.setAttribute('role', 'group');
  el.setAttribute('aria-label', 'Time grid (scroll with the arrow keys)');
}

function adjustMarkup(root) {
  if (root.matches?.(TABLE_MARKUP)) stripTable(root);
  root.querySelectorAll?.(TABLE_MARKUP).forEach(stripTable);
  if (root.matches?.('.ec-main')) focusableScroller(root);
  root.querySelectorAll?.('.ec-main').forEach(focusableScroller);
}

const CALLBACKS = ['dateClick', 'eventClick', 'eventDrop', 'eventDidMount', 'eventContent', 'datesSet'];

export function ResourceGrid({ options, callbacks, calendarRef, label }) {
  const host = useRef(null);
  const calendar = useRef(null);
  const latest = useRef(callbacks);
  const applied = useRef({});
  latest.current = callbacks;

  useEffect(() => {
    const relayed = Object.fromEntries(CALLBACKS.map((name) => [name, (...args) => latest.current[name]?.(...args)]));
    calendar.current = createCalendar(host.current, [ResourceTimeGrid, Interaction], { ...options, ...relayed });
    applied.current = { ...options };
    adjustMarkup(host.current);
    const observer = new MutationObserver((records) => {
      for (const record of records) {
        if (record.type === 'attributes') adjustMarkup(record.target);
        else record.addedNodes.forEach((node) => node.nodeType === 1 && adjustMarkup(node));
      }
    });
    observer.observe(host.current, { childList: true, subtree: true, attributes: true, attributeFilter: TABLE_ATTRIBUTES });
    if (calendarRef) calendarRef.current = calendar.current;
    return () => {
      observer.disconnect();
      if (calendarRef) calendarRef.current = null;
      destroyCalendar(calendar.current);
      calendar.current = null;
    };
  }, []);

  useEffect(() => {
    if (!calendar.current) return;
    for (const [name, value] of Object.entries(options)) {
      if (applied.current[name] !== value) calendar.current.setOption(name, value);
    }
    applied.current = { ...options };
  });

  return html`<div class="mas-grid" ref=${host} role="region" aria-label=${label}></div>`;
}
