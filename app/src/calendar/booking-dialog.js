// Booking a free time: who (search or quick-create), with whom, which service (the ones the
// chosen practitioner performs here), when (the location's wall clock), and the screening
// questions when the service is clinical. The server decides; its refusal is shown as said.
import { useEffect, useState } from 'preact/hooks';
import { html } from './html.js';
import { Dialog, reasonOf } from './dialog.js';
import { ClientPicker, resolveClient } from './client-picker.js';
import { ScreeningQuestions, needsScreening, blankAnswers, allAnswered } from './screening.js';
import { practitionersAt, servicesFor } from './columns.js';
import { instantOf, rfc3339In, zoneLabel } from './zone.js';
import { has } from './status.js';

/** `start` is a wall clock 'YYYY-MM-DDTHH:MM' in the location's zone; `practitionerId` may be ''. */
export function BookingDialog({ api, me, catalog, location, timeZone, initial, onClose, onBooked }) {
  const ownOnly = !has(me, 'booking_write');
  const practitioners = practitionersAt(location, catalog.practitioners)
    .filter((p) => !ownOnly || p.id === me.member.practitioner_id);
  const [practitionerId, setPractitionerId] = useState(ownOnly ? (me.member.practitioner_id || '') : initial.practitionerId);
  const practitioner = practitioners.find((p) => p.id === practitionerId) || null;
  const services = servicesFor(practitioner, location, catalog.services);
  const [serviceId, setServiceId] = useState(services[0]?.id || '');
  const service = services.find((s) => s.id === serviceId) || null;
  const [start, setStart] = useState(initial.start);
  // A visit's further services, each after the one before it, with anyone who can take it, or at
  // the same time as the one before (`alongside[i]`) when both allow it (`parallel_ok`).
  const [then, setThen] = useState([]);
  const [alongside, setAlongside] = useState([]);
  const further = servicesFor(null, location, catalog.services);
  const [client, setClient] = useState({ mode: initial.newClient ? 'new' : 'existing', client: null, first_name: '', last_name: '', phone: '', email: '' });
  const [answers, setAnswers] = useState(blankAnswers);
  const [notes, setNotes] = useState('');
  const [acknowledgeRisk, setAcknowledgeRisk] = useState(false);
  const [cardConsent, setCardConsent] = useState(false);
  // The policy's own words, which the booking stores as what the client agreed to; asked only
  // when the policy has a fee a card could be charged for.
  const [cardTerms, setCardTerms] = useState(null);
  useEffect(() => {
    let live = true;
    api('GET', '/v1/policies').then((p) => {
      const fees = p.in_force && (p.in_force.cancellation_fee_percent || p.in_force.no_show_fee_percent);
      if (live && fees) setCardTerms(p.card_on_file_terms);
    }).catch(() => { /* without the words, no consent is asked for */ });
    return () => { live = false; };
  }, []);
  // The screening questions, when any service of the visit is clinical.
  const screened = [service, ...then.map((id) => catalog.services.find((s) => s.id === id))].some((s) => s && needsScreening(s));
  const [problem, setProblem] = useState(null);
  const [busy, setBusy] = useState(false);
  const serviceOf = (id) => catalog.services.find((s) => s.id === id);
  // Service `index + 2` may run alongside the one before it when both allow it.
  const mayRunAlongside = (index) => !!(serviceOf(then[index])?.parallel_ok && (index === 0 ? service : serviceOf(then[index - 1]))?.parallel_ok);
  const removeService = (index) => {
    setThen(then.filter((_, i) => i !== index));
    setAlongside(alongside.filter((_, i) => i !== index));
  };

  const choosePractitioner = (id) => {
    setPractitionerId(id);
    const next = servicesFor(practitioners.find((p) => p.id === id) || null, location, catalog.services);
    if (!next.some((s) => s.id === serviceId)) setServiceId(next[0]?.id || '');
  };

  const submit = async (event) => {
    event.preventDefault();
    if (!service) { setProblem({ message: 'Choose a service' }); return; }
    if (screened && !allAnswered(answers)) { setProblem({ message: 'Answer every screening question' }); return; }
    setBusy(true);
    setProblem(null);
    try {
      const chosen = await resolveClient(api, client);
      const body = {
        location_id: location.id,
        service_id: service.id,
        start: rfc3339In(instantOf(start, timeZone), timeZone),
        client_id: chosen.id,
      };
      if (practitionerId) body.practitioner_id = practitionerId;
      if (then.length) body.then = then.map((id, i) => ({ service_id: id, with_previous: mayRunAlongside(i) && !!alongside[i] }));
      if (screened) body.screening = answers;
      if (acknowledgeRisk) body.acknowledge_risk = true;
      if (cardTerms && cardConsent) body.card_on_file_consent = true;
      if (notes.trim()) body.notes = notes.trim();
      const appointment = await api('POST', '/v1/appointments', body);
      onBooked(appointment, chosen);
    } catch (error) {
      setProblem({ message: reasonOf(error), code: error?.body?.error?.code, details: error?.body?.error?.details });
    } finally {
      setBusy(false);
    }
  };

  const consultationId = problem?.code === 'consultation_required' ? problem.details?.consultation_service_id : null;
  const offerConsultation = consultationId && consultationId !== serviceId && services.some((s) => s.id === consultationId);

  return html`
    <${Dialog} title="New booking" onClose=${onClose} wide>
      <form class="mas-form" onSubmit=${submit}>
        <${ClientPicker} api=${api} value=${client} onChange=${setClient} />
        <div class="mas-row">
          <label class="mas-field">Practitioner
            <select value=${practitionerId} onChange=${(e) => choosePractitioner(e.currentTarget.value)} disabled=${ownOnly}>
              ${!ownOnly && html`<option value="">Anyone available</option>`}
              ${practitioners.map((p) => html`<option key=${p.id} value=${p.id}>${p.display_name}</option>`)}
            </select>
          </label>
          <label class="mas-field">Service
            <select value=${serviceId} onChange=${(e) => setServiceId(e.currentTarget.value)} required>
              ${services.map((s) => html`<option key=${s.id} value=${s.id}>${s.name} (${s.duration_minutes} min)</option>`)}
            </select>
          </label>
        </div>
        ${then.map((id, index) => html`
          <div class="mas-row" key=${index}>
            <label class="mas-field">Then (service ${index + 2} of the visit)
              <select value=${id} onChange=${(e) => setThen(then.map((x, i) => (i === index ? e.currentTarget.value : x)))}>
                ${further.map((s) => html`<option key=${s.id} value=${s.id}>${s.name} (${s.duration_minutes} min)</option>`)}
              </select>
            </label>
            ${mayRunAlongside(index) && html`
              <label><input type="checkbox" checked=${!!alongside[index]}
                onChange=${(e) => { const next = [...alongside]; next[index] = e.currentTarget.checked; setAlongside(next); }} />
                At the same time as service ${index + 1} (by someone else)</label>`}
            <button type="button" class="mas-button" onClick=${() => removeService(index)}>Remove service ${index + 2}</button>
          </div>`)}
        ${then.length < 5 && further.length > 0 && html`
          <p><button type="button" class="mas-button" onClick=${() => setThen([...then, further[0].id])}>Add a service to this visit</button></p>`}
        <label class="mas-field">Start (${zoneLabel(timeZone)})
          <input type="datetime-local" step="300" required value=${start} onInput=${(e) => setStart(e.currentTarget.value)} />
        </label>
        ${screened && html`<${ScreeningQuestions} answers=${answers} onChange=${setAnswers} />`}
        ${cardTerms && html`
          <label><input type="checkbox" checked=${cardConsent} onChange=${(e) => setCardConsent(e.currentTarget.checked)} />
            The client agrees: “${cardTerms}”</label>`}
        <label class="mas-field">Notes (optional, not clinical)
          <textarea rows="2" value=${notes} onInput=${(e) => setNotes(e.currentTarget.value)}></textarea>
        </label>
        ${problem && html`
          <div class="mas-problem" role="alert">
            <p>${problem.message}</p>
            ${offerConsultation && html`<button type="button" class="mas-button" onClick=${() => { setServiceId(consultationId); setProblem(null); }}>Book the consultation instead</button>`}
            ${problem.code === 'consultation_required' && has(me, 'clinical_write') && html`
              <label><input type="checkbox" checked=${acknowledgeRisk} onChange=${(e) => setAcknowledgeRisk(e.currentTarget.checked)} />
                I am a clinician, have reviewed the risk and book anyway</label>`}
          </div>`}
        <div class="mas-actions">
          <button type="button" class="mas-button" onClick=${onClose}>Cancel</button>
          <button type="submit" class="mas-button mas-primary" disabled=${busy}>${busy ? 'Booking…' : 'Book'}</button>
        </div>
      </form>
    <//>`;
}
