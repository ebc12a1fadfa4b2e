// A modal dialog on the native <dialog> element: showModal() traps focus and Escape closes it;
// the heading names it, and focus goes back where it was when it closes.
import { useEffect, useRef } from 'preact/hooks';
import { html } from './html.js';

let nextId = 0;

export function Dialog({ title, onClose, children, wide = false }) {
  const element = useRef(null);
  const headingId = useRef(`mas-dialog-${++nextId}`);
  useEffect(() => {
    const opener = document.activeElement;
    element.current.showModal();
    return () => { if (opener && opener.isConnected) opener.focus(); };
  }, []);
  const cancel = (event) => { event.preventDefault(); onClose(); };
  return html`
    <dialog ref=${element} class=${`mas-dialog${wide ? ' mas-dialog-wide' : ''}`} aria-labelledby=${headingId.current} onCancel=${cancel}>
      <div class="mas-dialog-head">
        <h2 id=${headingId.current}>${title}</h2>
        <button type="button" class="mas-icon-button" aria-label="Close" onClick=${onClose}>×</button>
      </div>
      ${children}
    </dialog>`;
}

/** The envelope's message of an API error, else the error's own text. */
export function reasonOf(error) {
  return error?.body?.error?.message || error?.message || 'Something went wrong';
}
