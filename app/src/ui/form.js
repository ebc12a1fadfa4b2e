// Forms: one state holder (values, per-field errors from a 422's `details.field`, the message of
// any other failure) and one labelled field that shows its own error.
import { useState } from 'preact/hooks';
import { html } from '../html.js';

let nextId = 0;

/** Form state. `submit(fn)` runs fn(values), mapping an ApiError onto the fields it names. */
export function useForm(initial = {}) {
  const [values, setValues] = useState(initial);
  const [errors, setErrors] = useState({});
  const [message, setMessage] = useState(null);
  const [busy, setBusy] = useState(false);
  const set = (name, value) => setValues((old) => ({ ...old, [name]: value }));
  return {
    values, errors, message, busy, set, setValues, setMessage,
    /** An input handler for `name` (checkboxes give their checked state). */
    bind: (name) => (event) => set(name, event.currentTarget.type === 'checkbox' ? event.currentTarget.checked : event.currentTarget.value),
    async submit(fn, event) {
      event?.preventDefault();
      setBusy(true);
      setErrors({});
      setMessage(null);
      try {
        return await fn(values);
      } catch (err) {
        if (err.field) setErrors({ [err.field]: err.message });
        setMessage(err.message || String(err));
        return undefined;
      } finally {
        setBusy(false);
      }
    },
  };
}

/** The error for a field: its own, or one the API names inside it (`price` ← `price.amount_minor`). */
export function errorFor(errors, name) {
  for (const [field, text] of Object.entries(errors || {})) {
    if (field === name || field.startsWith(`${name}.`) || field.startsWith(`${name}[`)) return text;
  }
  return null;
}

/**
 * A labelled input, select (`options`: [{value, label}]), textarea (`multiline`) or checkbox,
 * bound to a form by `name`. Its error, when the API names it, sits under it.
 */
export function Field({ form, name, label, type = 'text', options, multiline, hint, value, onInput, ...rest }) {
  const [id] = useState(() => `f${++nextId}`);
  const error = form ? errorFor(form.errors, name) : null;
  const current = value !== undefined ? value : form?.values[name] ?? '';
  const handler = onInput || (form && form.bind(name));
  const described = [hint && `${id}-hint`, error && `${id}-error`].filter(Boolean).join(' ') || undefined;
  const common = { id, name, 'aria-invalid': error ? 'true' : undefined, 'aria-describedby': described, ...rest };
  let control;
  if (type === 'checkbox') {
    control = html`<input type="checkbox" ...${common} checked=${Boolean(current)} onChange=${handler} />`;
  } else if (options) {
    control = html`<select ...${common} value=${current} onChange=${handler}>
      ${options.map((o) => html`<option value=${o.value}>${o.label}</option>`)}
    </select>`;
  } else if (multiline) {
    control = html`<textarea ...${common} value=${current} onInput=${handler}></textarea>`;
  } else if (type === 'file') {
    // A file input's value cannot be set (setting it clears the choice).
    control = html`<input type="file" ...${common} onChange=${handler} />`;
  } else {
    control = html`<input type=${type} ...${common} value=${current} onInput=${handler} />`;
  }
  return html`<div class=${`field${type === 'checkbox' ? ' field-check' : ''}${error ? ' has-error' : ''}`}>
    ${type === 'checkbox' ? html`${control}<label for=${id}>${label}</label>` : html`<label for=${id}>${label}</label>${control}`}
    ${hint && html`<p class="hint" id=${`${id}-hint`}>${hint}</p>`}
    ${error && html`<p class="field-error" id=${`${id}-error`}>${error}</p>`}
  </div>`;
}

/** The form-level message (the envelope's text), announced when it appears. */
export function FormMessage({ form }) {
  return form.message ? html`<p class="notice notice-error" role="alert">${form.message}</p>` : null;
}
