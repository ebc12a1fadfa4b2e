// The booking wizard: treatment → day and time → details and screening → confirmation.
// Plain DOM, no framework. Every step is a form, so it works by keyboard; each step's heading
// takes focus when shown, and outcomes are announced in the status region.
(() => {
  'use strict';
  const $ = (sel, el = document) => el.querySelector(sel);
  const island = $('#site-data');
  if (!island) return;
  const data = JSON.parse(island.textContent);
  const api = (document.body.dataset.api || '') + '/v1/public/' + encodeURIComponent(data.slug);
  const visitorTz = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const reduceMotion = matchMedia('(prefers-reduced-motion: reduce)').matches;
  const state = { service: null, also: [], location: null, slot: null, slots: null, key: null };
  const status = (text) => { $('#status').textContent = text; };

  const byId = (list, id) => list.find((x) => x.id === id);
  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === 'text') node.textContent = v; else node.setAttribute(k, v);
    }
    for (const c of children) node.append(c);
    return node;
  };
  const fmt = (iso, tz, opts) => new Intl.DateTimeFormat('en-GB', { timeZone: tz, ...opts }).format(new Date(iso));
  const dayLabel = (ymd) => fmt(ymd + 'T12:00:00Z', 'UTC', { weekday: 'short', day: 'numeric', month: 'short' });
  const longWhen = (iso, tz) => fmt(iso, tz, { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', hour: '2-digit', minute: '2-digit' });
  const today = (tz) => new Intl.DateTimeFormat('en-CA', { timeZone: tz }).format(new Date());
  const addDays = (ymd, n) => { const d = new Date(ymd + 'T12:00:00Z'); d.setUTCDate(d.getUTCDate() + n); return d.toISOString().slice(0, 10); };

  function show(step) {
    for (const s of ['step-service', 'step-time', 'step-details', 'step-done']) $('#' + s).hidden = s !== step;
    for (const li of document.querySelectorAll('.progress li')) {
      if (li.dataset.step === step) li.setAttribute('aria-current', 'step'); else li.removeAttribute('aria-current');
    }
    const heading = $('#' + step + ' h2');
    heading.focus({ preventScroll: true });
    heading.scrollIntoView({ behavior: reduceMotion ? 'auto' : 'smooth', block: 'start' });
  }

  function fail(box, message, extra) {
    box.replaceChildren(el('p', { text: message }));
    if (extra) box.append(extra);
    box.hidden = false;
    box.setAttribute('role', 'alert');
  }

  // Step 1: treatment and location (only locations offering the treatment are shown).
  const serviceForm = $('#form-service');
  function syncLocations() {
    const service = byId(data.services, serviceForm.service.value);
    const offered = data.locations.filter((l) => !service || service.location_ids.length === 0 || service.location_ids.includes(l.id));
    for (const input of serviceForm.querySelectorAll('input[name=location]')) {
      const ok = offered.some((l) => l.id === input.value);
      input.closest('label').classList.toggle('hide', !ok);
      input.disabled = !ok;
      if (!ok) input.checked = false;
    }
    if (offered.length === 1) serviceForm.querySelector(`input[name=location][value="${offered[0].id}"]`).checked = true;
  }
  // A visit may hold more treatments, one after another (the clinic's engine finds the times).
  const MAX_ALSO = 5;
  const alsoBox = el('fieldset', { class: 'choices', id: 'also-choices' },
    el('legend', { text: 'Add to this visit (optional)' }),
    el('p', { class: 'note', text: 'Each one follows the one before it, in this order.' }));
  for (const service of data.services) {
    alsoBox.append(el('label', { class: 'choice' },
      el('input', { type: 'checkbox', name: 'also', value: service.id }),
      el('span', {}, el('strong', { text: service.name }))));
  }
  if (data.services.length > 1) $('#location-choices').before(alsoBox);
  function syncAlso() {
    const main = serviceForm.service.value;
    for (const input of alsoBox.querySelectorAll('input[name=also]')) {
      const same = input.value === main;
      input.closest('label').classList.toggle('hide', same);
      if (same) input.checked = false;
    }
  }
  serviceForm.addEventListener('change', (e) => {
    if (e.target.name === 'service') { syncLocations(); syncAlso(); }
    if (e.target.name === 'also') {
      const checked = alsoBox.querySelectorAll('input[name=also]:checked');
      if (checked.length > MAX_ALSO) { e.target.checked = false; status(`A visit holds at most ${MAX_ALSO + 1} treatments.`); }
    }
  });
  const treatments = () => [state.service, ...state.also].map((s) => s.name).join(', then ');
  const wanted = new URLSearchParams(location.search).get('service');
  const preset = wanted && serviceForm.querySelector(`input[name=service][value="${CSS.escape(wanted)}"]`);
  if (preset) preset.checked = true;
  syncLocations();
  syncAlso();
  serviceForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const box = $('#service-error');
    state.service = byId(data.services, serviceForm.service.value);
    state.location = byId(data.locations, (serviceForm.querySelector('input[name=location]:checked') || {}).value);
    if (!state.service) return fail(box, 'Please choose a treatment.');
    state.also = [...alsoBox.querySelectorAll('input[name=also]:checked')].map((i) => byId(data.services, i.value)).filter(Boolean);
    if (!state.location) return fail(box, 'Please choose a location.');
    box.hidden = true;
    loadTimes();
  });

  // Step 2: days and times from the public availability route, in the clinic's zone.
  const timeForm = $('#form-time');
  async function loadTimes() {
    const tz = state.location.timezone;
    const from = today(tz);
    const q = new URLSearchParams({ location_id: state.location.id, service_id: state.service.id, from, to: addDays(from, 20) });
    if (visitorTz && visitorTz !== tz) q.set('tz', visitorTz);
    if (state.also.length) q.set('then', state.also.map((s) => s.id).join(','));
    $('#tz-note').textContent = visitorTz && visitorTz !== tz
      ? `Times are in clinic time (${tz}). Your time zone is ${visitorTz}: your local time is shown under each time.`
      : `Times are in clinic time (${tz}).`;
    $('#days').replaceChildren();
    $('#times').replaceChildren(el('p', { class: 'note', text: 'Choose a day first.' }));
    state.slot = null;
    show('step-time');
    status('Looking for free times…');
    let body;
    try {
      const res = await fetch(api + '/availability?' + q);
      body = await res.json();
      if (!res.ok) throw new Error(body.error ? body.error.message : res.statusText);
    } catch (err) {
      status('');
      return fail($('#time-error'), 'We could not load times: ' + err.message);
    }
    $('#time-error').hidden = true;
    const days = new Map();
    for (const slot of body.slots) {
      const day = slot.local_start.slice(0, 10);
      if (!days.has(day)) days.set(day, []);
      days.get(day).push(slot);
    }
    state.slots = days;
    if (days.size === 0) {
      status('');
      return fail($('#time-error'), 'There are no free times in the next three weeks. Please call us.');
    }
    for (const day of [...days.keys()].slice(0, 14)) {
      const count = days.get(day).length;
      $('#days').append(el('label', { class: 'choice' },
        el('input', { type: 'radio', name: 'day', value: day }),
        el('span', {}, el('strong', { text: dayLabel(day) }), el('small', { text: count + (count === 1 ? ' time' : ' times') }))));
    }
    status(`${days.size} days with free times.`);
  }
  timeForm.addEventListener('change', (e) => {
    if (e.target.name !== 'day') return;
    const slots = state.slots.get(e.target.value) || [];
    const times = $('#times');
    times.replaceChildren();
    for (const slot of slots) {
      const span = el('span', {}, el('strong', { text: slot.local_start.slice(11, 16) }));
      if (slot.display_start) {
        const same = slot.display_start.slice(0, 10) === slot.local_start.slice(0, 10);
        span.append(el('small', { text: 'your time ' + slot.display_start.slice(11, 16) + (same ? '' : ' ' + dayLabel(slot.display_start.slice(0, 10))) }));
      }
      times.append(el('label', { class: 'choice' }, el('input', { type: 'radio', name: 'time', value: slot.start, 'data-local': slot.local_start }), span));
    }
    status(`${slots.length} times on ${dayLabel(e.target.value)}.`);
  });
  timeForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const picked = timeForm.querySelector('input[name=time]:checked');
    if (!picked) return fail($('#time-error'), 'Please choose a day and a time.');
    $('#time-error').hidden = true;
    state.slot = { start: picked.value, local: picked.dataset.local };
    state.key = null;
    $('#summary').textContent = `${treatments()} at ${state.location.name}, ${longWhen(state.slot.start, state.location.timezone)} (clinic time).`;
    status('');
    show('step-details');
  });

  // Step 3: details and the seven screening questions, then the booking.
  const details = $('#form-details');
  // When the clinic charges late-cancellation or no-show fees, the visitor may agree (never by
  // default) that the card paying the deposit pays them too; the words are the clinic's policy's.
  fetch(api + '/policy').then((r) => (r.ok ? r.json() : null)).then((policy) => {
    if (!policy || !(policy.cancellation_fee_percent || policy.no_show_fee_percent) || $('#card-consent')) return;
    const input = el('input', { type: 'checkbox', id: 'card-consent', name: 'card_on_file_consent' });
    const label = el('label', { for: 'card-consent', text: policy.card_on_file_terms });
    details.querySelector('button[type=submit]').before(el('div', { class: 'field check' }, input, label));
  }).catch(() => {});
  details.addEventListener('submit', async (e) => {
    e.preventDefault();
    const box = $('#details-error');
    const missing = [...details.querySelectorAll('input[required]')].find((i) => !i.checkValidity());
    if (missing) {
      const label = missing.type === 'radio' ? missing.closest('fieldset').querySelector('legend').textContent
        : missing.type === 'checkbox' ? 'Please agree to the terms to book.' : (details.querySelector(`label[for="${missing.id}"]`).textContent);
      fail(box, missing.type === 'checkbox' ? label : 'Please answer: ' + label);
      missing.focus();
      return;
    }
    const v = (name) => details.elements[name].value.trim();
    const screening = {};
    for (const fs of details.querySelectorAll('.yesno')) {
      const input = fs.querySelector('input');
      screening[input.name] = details.elements[input.name].value === 'yes';
    }
    const client = { first_name: v('first_name'), last_name: v('last_name'), email: v('email') };
    if (v('phone')) client.phone = v('phone');
    const body = { location_id: state.location.id, service_id: state.service.id, start: state.slot.start, client, screening };
    if (state.also.length) body.then = state.also.map((s) => ({ service_id: s.id }));
    if ($('#card-consent') && $('#card-consent').checked) body.card_on_file_consent = true;
    state.key = state.key || (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random());
    const button = details.querySelector('button[type=submit]');
    button.disabled = true;
    status('Booking…');
    let res, out;
    try {
      res = await fetch(api + '/appointments', {
        method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': state.key }, body: JSON.stringify(body),
      });
      out = await res.json();
    } catch (err) {
      button.disabled = false;
      status('');
      return fail(box, 'We could not reach the clinic. Please try again.');
    }
    button.disabled = false;
    status('');
    if (res.ok) return confirmed(out);
    state.key = null;
    const error = out.error || {};
    if (error.code === 'consultation_required') {
      const d = error.details || {};
      const link = d.consultation_service_id
        ? el('p', {}, el('a', { class: 'button', href: 'book.html?service=' + encodeURIComponent(d.consultation_service_id), text: 'Book a ' + d.consultation_service_name }))
        : null;
      fail(box, 'From your answers, this treatment needs a consultation with a practitioner first. ' + (d.consultation_service_name ? 'Please book a ' + d.consultation_service_name + '; it is quick, and you can book the treatment afterwards.' : 'Please contact the clinic.'), link);
      return box.focus();
    }
    if (error.code === 'slot_taken' || res.status === 409) {
      status('That time has just been taken. Please choose another.');
      await loadTimes();
      return fail($('#time-error'), 'Sorry, that time has just been taken. Please choose another.');
    }
    fail(box, error.message || 'Something went wrong. Please try again.');
    box.focus();
  });

  for (const back of document.querySelectorAll('[data-back]')) back.addEventListener('click', () => show(back.dataset.back));

  // Step 4: the confirmation number and, when the clinic asks one, the deposit.
  const base = document.body.dataset.api || '';
  const payKey = 'mas-pay-' + data.slug;
  const loadPay = window.masLoadPay;

  function confirmed(appt, names = { service: treatments(), location: state.location.name, tz: state.location.timezone }, landed) {
    const tz = appt.timezone || names.tz;
    $('#confirmation').replaceChildren(el('div', { class: 'confirm' },
      el('p', { text: 'Your confirmation number' }),
      el('p', { class: 'number', id: 'confirmation-number', text: appt.confirmation_number }),
      el('p', { text: `${names.service} at ${names.location}` }),
      el('p', { text: longWhen(appt.start, tz) + ` (${tz})` })));
    if (appt.visit) {
      // Every treatment of the visit with its own time.
      const list = el('ol', { id: 'visit-parts' });
      for (const part of appt.visit.parts) {
        const service = byId(data.services, part.service_id);
        list.append(el('li', { text: `${fmt(part.start, tz, { hour: '2-digit', minute: '2-digit' })} ${service ? service.name : ''}` }));
      }
      $('#confirmation .confirm').append(list);
    }
    if (appt.status === 'pending_deposit') depositStep(appt, names, tz, landed);
    show('step-done');
    status('Booked. Your confirmation number is ' + appt.confirmation_number + '.');
  }

  // The deposit: an intent for this booking (its id and BK- number prove it is the visitor's),
  // then the Payment Element (pay.js); the webhook confirms the booking, which we wait to see.
  function depositStep(appt, names, tz, landed) {
    const deposit = $('#deposit');
    const amount = new Intl.NumberFormat('en-GB', { style: 'currency', currency: appt.deposit.currency || data.currency }).format(appt.deposit.amount_minor / 100);
    const pay = el('button', { type: 'button', class: 'button', id: 'pay-deposit', text: `Pay the ${amount} deposit` });
    const payBox = el('div', { id: 'pay-box' });
    const payStatus = el('p', { id: 'deposit-status' });
    deposit.replaceChildren(el('h3', { text: 'Deposit due' }),
      el('p', { text: `A deposit of ${amount} secures this time. We hold it for you until ${longWhen(appt.hold_expires_at, tz)}.` }),
      pay, payBox, payStatus);
    deposit.hidden = false;
    $('#h-done').textContent = 'Your time is held';
    const pair = { tenant_slug: data.slug, appointment_id: appt.id, confirmation_number: appt.confirmation_number };
    const post = async (path) => {
      const res = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(pair) });
      const body = await res.json();
      if (!res.ok) throw new Error(body.error ? body.error.message : 'the deposit could not be started');
      return body;
    };
    const settled = async () => {
      const s = await post('/v1/payments/deposit-status');
      if (s.appointment_status === 'cancelled') return 'released';
      return s.paid ? 'paid' : 'pending';
    };
    const done = (outcome) => {
      sessionStorage.removeItem(payKey);
      if (outcome === 'paid') {
        deposit.replaceChildren(el('h3', { text: 'Deposit paid' }), el('p', { text: `Thank you: ${amount} received. Your booking is confirmed.` }));
        $('#h-done').textContent = 'You are booked';
        status('Deposit paid. Your booking ' + appt.confirmation_number + ' is confirmed.');
      } else if (outcome === 'released') {
        deposit.replaceChildren(el('h3', { text: 'Your time was released' }), el('p', { text: `Your payment arrived after the time we held had been given to someone else, so the booking is cancelled and your ${amount} is refunded. Please book another time.` }));
        $('#h-done').textContent = 'Please book again';
        status('The time was released; your deposit is refunded.');
      } else {
        deposit.replaceChildren(el('h3', { text: 'Payment received' }), el('p', { text: 'Your bank has accepted the payment; the clinic is confirming it. We will email you once your booking is confirmed.' }));
        status('Payment received. We will email you the confirmation.');
      }
    };
    const start = async (note) => {
      pay.disabled = true;
      payStatus.textContent = 'Preparing the secure payment form…';
      try {
        const intent = await post('/v1/payments/deposit-intent');
        const masPay = await loadPay();
        // Kept for the visitor's return from a payment method that leaves the page.
        sessionStorage.setItem(payKey, JSON.stringify({ appt, names }));
        pay.hidden = true;
        payStatus.textContent = '';
        await masPay.mount({
          box: payBox, intent, api: base, label: `Pay ${amount}`,
          returnUrl: location.origin + location.pathname,
          status: (text) => { payStatus.textContent = text; },
          settled, done,
        });
        if (note) payBox.prepend(el('p', { class: 'error', role: 'alert', text: note }));
      } catch (err) {
        pay.hidden = false;
        payStatus.textContent = 'Sorry, ' + err.message + '. Please try again.';
        pay.disabled = false;
      }
    };
    pay.addEventListener('click', () => start());
    if (landed === 'failed') start('Your payment was not completed. Please try again.');
    else if (landed) {
      pay.hidden = true;
      payStatus.textContent = 'Confirming your payment…';
      loadPay().then((masPay) => masPay.settle(settled)).then(done, () => { pay.hidden = false; });
    }
  }

  // Back from a payment method that left the page (Stripe adds these to the return_url).
  const back = new URLSearchParams(location.search);
  if (back.has('redirect_status')) {
    const saved = JSON.parse(sessionStorage.getItem(payKey) || 'null');
    history.replaceState(null, '', location.pathname);
    const ok = ['succeeded', 'processing'].includes(back.get('redirect_status'));
    if (saved && saved.appt) confirmed(saved.appt, saved.names, ok ? 'returned' : 'failed');
  }
})();
