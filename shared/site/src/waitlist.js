// The waiting list (waitlist.html): a treatment, a location, when the visitor could come and who
// she is, posted to the public waiting-list route (the server offers her the first time that frees
// up). With `#deposit`, the deposit of an offer she took in the portal (which left the booking in
// sessionStorage): the same pay step as a booking's (pay.js, loaded only now). Plain DOM.
(() => {
  'use strict';
  const $ = (sel) => document.querySelector(sel);
  const island = $('#waitlist-data');
  if (!island) return;
  const data = JSON.parse(island.textContent);
  const base = document.body.dataset.api || '';
  const form = $('#form-waitlist');
  const status = (text) => { $('#wl-status').textContent = text; };
  const post = async (path, body) => {
    const res = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const answer = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(answer.error ? answer.error.message : res.statusText);
    return answer;
  };
  const fail = (message) => {
    const box = $('#waitlist-error');
    box.textContent = message;
    box.hidden = false;
    box.setAttribute('role', 'alert');
    box.focus();
  };
  const day = (zone, plus = 0) => {
    const d = new Date(Date.now() + plus * 86400000);
    return new Intl.DateTimeFormat('en-CA', { timeZone: zone }).format(d);
  };
  const wanted = new URLSearchParams(location.search);
  for (const name of ['service_id', 'location_id']) if (wanted.get(name)) form.elements[name].value = wanted.get(name);
  const zone = () => data.zones[form.elements.location_id.value] || 'UTC';
  form.elements.from_date.value = day(zone());
  form.elements.to_date.value = day(zone(), 13);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const missing = [...form.querySelectorAll('input[required]')].find((i) => !i.checkValidity());
    if (missing) return fail('Please fill in: ' + form.querySelector(`label[for="${missing.id}"]`).textContent);
    const v = (name) => form.elements[name].value.trim();
    const client = { first_name: v('first_name'), last_name: v('last_name'), email: v('email') };
    if (v('phone')) client.phone = v('phone');
    const window = { from_date: v('from_date'), to_date: v('to_date') };
    for (const t of ['earliest', 'latest']) if (v(t)) window[t] = v(t);
    const service = form.elements.service_id;
    try {
      await post(`/v1/public/${encodeURIComponent(data.slug)}/waitlist`, {
        location_id: v('location_id'), service_id: v('service_id'), window, client,
      });
    } catch (err) { return fail(err.message); }
    $('#waitlist-error').hidden = true;
    const done = document.createElement('p');
    done.id = 'waitlist-done';
    done.textContent = `You are on the waiting list for ${service.options[service.selectedIndex].text}. We will email you when a time is free.`;
    form.replaceWith(done);
    status(done.textContent);
  });

  // An offer taken in the portal that waits for its deposit.
  const saved = JSON.parse(sessionStorage.getItem('mas-offer-' + data.slug) || 'null');
  if (location.hash !== '#deposit' || !saved) return;
  const appt = saved.appt;
  const money = (m) => new Intl.NumberFormat('en-GB', { style: 'currency', currency: m.currency || data.currency }).format(m.amount_minor / 100);
  const when = (iso) => new Intl.DateTimeFormat('en-GB', { timeZone: appt.timezone, dateStyle: 'full', timeStyle: 'short' }).format(new Date(iso));
  form.hidden = true;
  $('#wl-deposit').hidden = false;
  $('#wl-summary').textContent = `${saved.names.service || 'Your treatment'}, ${when(appt.start)} (${appt.confirmation_number}): a deposit of ${money(appt.deposit)} secures it; we hold it until ${when(appt.hold_expires_at)}.`;
  const pair = { tenant_slug: data.slug, appointment_id: appt.id, confirmation_number: appt.confirmation_number };
  $('#wl-pay').addEventListener('click', async () => {
    $('#wl-pay').hidden = true;
    try {
      const intent = await post('/v1/payments/deposit-intent', pair);
      const masPay = await window.masLoadPay();
      await masPay.mount({
        box: $('#wl-pay-box'), intent, api: base, label: `Pay ${money(appt.deposit)}`,
        returnUrl: location.origin + location.pathname,
        status,
        settled: async () => {
          const s = await post('/v1/payments/deposit-status', pair);
          if (s.appointment_status === 'cancelled') return 'released';
          return s.paid ? 'paid' : 'pending';
        },
        done: (outcome) => {
          sessionStorage.removeItem('mas-offer-' + data.slug);
          const text = outcome === 'paid' ? 'Deposit paid: your booking is confirmed.'
            : outcome === 'released' ? 'The hold had ended: your booking is cancelled and the deposit refunded.'
              : 'Payment received: we will email you once your booking is confirmed.';
          $('#wl-deposit').replaceChildren(Object.assign(document.createElement('h2'), { textContent: outcome === 'paid' ? 'Deposit paid' : 'Payment received' }),
            Object.assign(document.createElement('p'), { textContent: text }));
          status(text);
        },
      });
    } catch (err) {
      $('#wl-pay').hidden = false;
      status('Sorry, ' + err.message + '. Please try again.');
    }
  });
})();
