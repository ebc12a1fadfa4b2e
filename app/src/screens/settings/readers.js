// Card readers (owners and managers): the clinic's Stripe Terminal readers, per location. A
// reader is registered with the code it shows when set up (on the local host, `simulated-wpe`
// registers a simulated one) and a label the till shows; removing one deletes it at Stripe too.
// The till takes card payments on them ("Card (reader)").
import { useState } from 'preact/hooks';
import { html } from '../../html.js';
import { api } from '../../api.js';
import { catalog } from '../../lookups.js';
import { useLoad } from '../../ui/async.js';
import { Loaded } from '../../ui/bits.js';
import { useForm, Field, FormMessage } from '../../ui/form.js';

async function load() {
  const [lookups, readers] = await Promise.all([catalog(), api.get('/v1/card-readers')]);
  return { locations: [...lookups.locations.values()], readers };
}

export function CardReaders() {
  const [round, setRound] = useState(0);
  const state = useLoad(load, [round]);
  return html`<${Loaded} state=${state} what="Loading the card readers">${(data) => html`<div>
    <p class="muted">Readers at your desks take card payments at the till. Register one with the code it shows when you set it up.</p>
    ${data.readers.length === 0
      ? html`<p class="muted" id="no-readers">No card reader yet.</p>`
      : html`<ul class="plain-list" id="readers">${data.readers.map((r) => html`<${ReaderRow} key=${r.id} reader=${r}
          location=${data.locations.find((l) => l.id === r.location_id)} onRemoved=${() => setRound(round + 1)} />`)}</ul>`}
    <${Register} locations=${data.locations} onSaved=${() => setRound(round + 1)} />
  </div>`}</${Loaded}>`;
}

function ReaderRow({ reader, location, onRemoved }) {
  const [problem, setProblem] = useState(null);
  const remove = async () => {
    setProblem(null);
    try {
      await api.del(`/v1/card-readers/${reader.id}`);
      onRemoved();
    } catch (err) {
      setProblem(err.message || String(err));
    }
  };
  return html`<li data-reader=${reader.id}><strong>${reader.label}</strong> · ${location?.name || 'Location'} · <code>${reader.id}</code>
    <button type="button" class="link-button" onClick=${remove}>Remove</button>
    ${problem && html`<p class="notice notice-error" role="alert">${problem}</p>`}</li>`;
}

function Register({ locations, onSaved }) {
  const form = useForm({ location_id: locations[0]?.id || '', registration_code: '', label: '' });
  const submit = (event) => form.submit(async () => {
    await api.post('/v1/card-readers', form.values);
    form.setValues({ ...form.values, registration_code: '', label: '' });
    onSaved();
  }, event);
  return html`<form novalidate onSubmit=${submit} aria-labelledby="h-register-reader">
    <h3 id="h-register-reader">Register a reader</h3>
    <${FormMessage} form=${form} />
    <${Field} form=${form} name="location_id" label="Location" options=${locations.map((l) => ({ value: l.id, label: l.name }))} />
    <${Field} form=${form} name="label" label="Label" hint="What the till shows, like Front desk." />
    <${Field} form=${form} name="registration_code" label="Registration code" hint="Shown on the reader when it is set up." />
    <button type="submit" class="primary" disabled=${form.busy}>Register reader</button>
  </form>`;
}
