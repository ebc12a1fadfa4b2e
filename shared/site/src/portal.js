// The client portal: sign in by emailed link, then bookings, documents and preferences. Plain
// DOM, no framework. The session (a signed bearer for this client only) lives in sessionStorage;
// the link's token travels in the URL fragment, so it never reaches a server log.
(() => {
  'use strict';
  const $ = (sel) => document.querySelector(sel);
  const data = JSON.parse($('#site-data').textContent);
  const base = document.body.dataset.api || '';
  const publicApi = base + '/v1/public/' + encodeURIComponent(data.slug);
  const key = 'mas-portal-' + data.slug;
  const reduceMotion = matchMedia('(prefers-reduced-motion: reduce)').matches;
  const state = { session: sessionStorage.getItem(key), appointment: null, previews: {} };
  const status = (text) => { $('#status').textContent = text; };
  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === 'text') node.textContent = v; else node.setAttribute(k, v);
    }
    for (const c of children) node.append(c);
    return node;
  };
  const when = (iso, tz) => new Intl.DateTimeFormat('en-GB', { timeZone: tz, weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', hour: '2-digit', minute: '2-digit' }).format(new Date(iso));
  const time = (iso, tz) => new Intl.DateTimeFormat('en-GB', { timeZone: tz, hour: '2-digit', minute: '2-digit' }).format(new Date(iso));
  const money = (m) => new Intl.NumberFormat('en-GB', { style: 'currency', currency: m.currency }).format(m.amount_minor / 100);

  function show(id) {
    for (const s of ['signin', 'account', 'change', 'offer']) $('#' + s).hidden = s !== id;
    const heading = $('#' + id + ' h2');
    heading.focus({ preventScroll: true });
    heading.scrollIntoView({ behavior: reduceMotion ? 'auto' : 'smooth', block: 'start' });
  }

  function problem(message) {
    const box = $('#portal-error');
    box.textContent = message;
    box.hidden = false;
    box.setAttribute('role', 'alert');
    box.focus();
  }

  async function call(method, path, body, authed = true) {
    const headers = { 'content-type': 'application/json' };
    if (authed) headers.authorization = 'Bearer ' + state.session;
    const res = await fetch(path, { method, headers, body: body ? JSON.stringify(body) : undefined });
    const json = await res.json().catch(() => ({}));
    if (res.status === 401 && authed) {
      signOut();
      throw new Error('Your session has ended. Please sign in again.');
    }
    if (!res.ok) {
      const err = new Error(json.error ? json.error.message : res.statusText);
      err.code = json.error && json.error.code;
      throw err;
    }
    return json;
  }

  function signOut() {
    state.session = null;
    sessionStorage.removeItem(key);
    show('signin');
  }

  $('#form-link').addEventListener('submit', async (e) => {
    e.preventDefault();
    const email = e.target.email.value.trim();
    if (!email) return problem('Please enter your email.');
    $('#portal-error').hidden = true;
    try {
      await call('POST', publicApi + '/portal/link', { email }, false);
      $('#link-sent').hidden = false;
      status('If that email is on file, a sign-in link is on its way.');
    } catch (err) { problem(err.message); }
  });

  $('#sign-out').addEventListener('click', () => { signOut(); status('You are signed out.'); });

  async function signInFromLink() {
    const token = new URLSearchParams(location.hash.slice(1)).get('token');
    if (!token) return false;
    history.replaceState(null, '', location.pathname + location.search);
    try {
      const answer = await call('POST', publicApi + '/portal/session', { token }, false);
      state.session = answer.session;
      sessionStorage.setItem(key, answer.session);
      return true;
    } catch (err) {
      problem('That sign-in link has expired or was already used. Ask for a new one below.');
      return false;
    }
  }

  function appointmentItem(a, upcoming) {
    const item = el('li', {},
      el('p', {}, el('strong', { text: a.service_name })),
      el('p', { class: 'when', text: when(a.start, a.timezone) + ' (' + a.timezone + ')' }),
      el('p', { class: 'meta', text: a.location_name + ' · ' + a.confirmation_number + ' · ' + a.status.replace(/_/g, ' ') }));
    if (upcoming && a.can_change) {
      const button = el('button', { type: 'button', class: 'button small', text: 'Change or cancel' });
      button.setAttribute('aria-label', 'Change or cancel ' + a.service_name + ' on ' + when(a.start, a.timezone));
      button.addEventListener('click', () => openChange(a));
      item.append(el('p', { class: 'actions' }, button));
    }
    return item;
  }

  // pay.js (and through it Stripe.js) loads only when the client starts paying.
  const loadPay = window.masLoadPay;

  // What the clinic asked to be paid online. Paid here with the card form (the link's page is
  // stopped as the form opens, so a link is paid one way only), or on the link's own page where
  // the card form is not available.
  const LINK_STATE = {
    requested: 'Due — your payment page is being prepared; refresh in a moment.',
    sent: 'Due', not_sent: 'Due', paid: 'Paid', expired: 'This payment link has expired; ask the clinic for a new one.',
  };
  function balanceItem(b) {
    const amount = money(b.amount);
    const what = b.purpose === 'fee' ? 'Fee' : 'Balance';
    const paid = b.status === 'paid';
    const item = el('li', {},
      el('p', {}, el('strong', { text: what + (paid ? ' paid: ' : ' due: ') + amount })),
      el('p', { class: 'meta', text: b.service_name + ', ' + when(b.start, b.timezone) + ' · ' + b.confirmation_number }));
    if (!paid && !b.pay_url && !b.pay_here) item.append(el('p', { class: 'meta', text: LINK_STATE[b.status] || b.status }));
    const label = 'Pay ' + amount + ', the ' + what.toLowerCase() + ' for ' + b.service_name;
    if (b.pay_here) {
      const pay = el('button', { type: 'button', class: 'button small', text: 'Pay ' + amount });
      pay.setAttribute('aria-label', label);
      const box = el('div', { class: 'pay-box' });
      const payStatus = el('p', { class: 'meta', 'aria-live': 'polite' });
      pay.addEventListener('click', () => payHere(b, { pay, box, payStatus, amount }));
      item.append(el('p', { class: 'actions' }, pay), box, payStatus);
    } else if (b.pay_url) {
      const pay = el('a', { class: 'button small', href: b.pay_url, text: 'Pay ' + amount });
      pay.setAttribute('aria-label', label);
      item.append(el('p', { class: 'actions' }, pay));
    }
    return item;
  }

  async function payHere(b, ui) {
    ui.pay.disabled = true;
    ui.payStatus.textContent = 'Preparing the secure payment form…';
    try {
      const intent = await call('POST', base + '/v1/portal/balances/' + encodeURIComponent(b.link_id) + '/intent');
      const masPay = await loadPay();
      ui.pay.hidden = true;
      ui.payStatus.textContent = '';
      const settled = async () => {
        const now = await call('GET', base + '/v1/portal/balances');
        const mine = now.balances.find((x) => x.link_id === b.link_id);
        return mine && mine.status === 'paid' ? 'paid' : 'pending';
      };
      await masPay.mount({
        box: ui.box, intent, api: base, label: 'Pay ' + ui.amount,
        returnUrl: location.origin + location.pathname,
        status: (text) => { ui.payStatus.textContent = text; },
        settled,
        done: async (outcome) => {
          ui.box.replaceChildren();
          const said = outcome === 'paid'
            ? 'Thank you: ' + ui.amount + ' received.'
            : 'Your bank has accepted the payment; the clinic is confirming it.';
          ui.payStatus.textContent = said;
          // The list again (it shows the balance paid), then the word of it.
          if (outcome === 'paid') await loadAccount().catch(() => {});
          status(said);
        },
      });
    } catch (err) {
      // No card form here (the gateway has none for browsers): the link's own page takes it.
      if (err.code === 'card_form_unavailable' && b.pay_url) { location.assign(b.pay_url); return; }
      ui.pay.disabled = false;
      ui.payStatus.textContent = '';
      problem('Sorry, the payment could not be started: ' + err.message);
    }
  }

  const MEMBERSHIP_STATUS = { pending: 'waiting for the first payment', active: 'active', past_due: 'payment failed: we will try again',
    paused: 'paused', cancelled: 'ended', lapsed: 'never started' };

  function membershipItem(m) {
    const paid = m.current_period ? ' · paid until ' + when(m.current_period.end) : '';
    const ending = m.cancel_at_period_end && m.status !== 'cancelled' ? ' · ends then' : '';
    const item = el('li', { 'data-membership': m.id }, el('p', {}, el('strong', { text: m.plan.name })),
      el('p', { class: 'meta', text: money(m.plan.price) + ' a month · ' + (MEMBERSHIP_STATUS[m.status] || m.status) + paid + ending }));
    if (['active', 'past_due', 'paused'].includes(m.status) && !m.cancel_at_period_end) {
      const end = el('button', { type: 'button', class: 'button small', text: 'End my membership with this month' });
      end.addEventListener('click', async () => {
        try {
          await call('POST', base + '/v1/portal/memberships/' + encodeURIComponent(m.id) + '/cancel');
          await loadAccount();
          status('Your membership ends when the month you paid for ends.');
        } catch (err) { problem(err.message); }
      });
      item.append(el('p', {}, end));
    }
    return item;
  }

  async function loadAccount() {
    status('Loading your bookings…');
    const [appointments, documents, prefs, balances, receipts, giftCards, packages, points, memberships] = await Promise.all([
      call('GET', base + '/v1/portal/appointments'),
      call('GET', base + '/v1/portal/documents'),
      call('GET', base + '/v1/portal/preferences'),
      call('GET', base + '/v1/portal/balances'),
      call('GET', base + '/v1/portal/receipts'),
      call('GET', base + '/v1/portal/gift-cards'),
      call('GET', base + '/v1/portal/packages'),
      call('GET', base + '/v1/portal/loyalty'),
      call('GET', base + '/v1/portal/memberships'),
    ]);
    $('#balances').replaceChildren(...balances.balances.map(balanceItem));
    $('#balances-box').hidden = !balances.balances.length;
    $('#h-account').textContent = 'Welcome back, ' + appointments.first_name;
    const fill = (list, items, upcoming, empty) => {
      list.replaceChildren(...items.map((a) => appointmentItem(a, upcoming)));
      if (!items.length) list.append(el('li', { text: empty }));
    };
    fill($('#upcoming'), appointments.upcoming, true, 'No upcoming appointments.');
    fill($('#past'), appointments.past, false, 'No past appointments yet.');
    $('#documents').replaceChildren(...documents.documents.map((d) => {
      const item = el('li', {}, el('p', {}, el('strong', { text: d.title })), el('p', { class: 'meta', text: d.status }));
      if (d.download_url) item.append(el('p', {}, el('a', { href: d.download_url, text: 'Download ' + d.title + ' (PDF)' })));
      if (d.sign_url) item.append(el('p', {}, el('a', { class: 'button small', href: d.sign_url, text: 'Read and sign ' + d.title })));
      return item;
    }));
    if (!documents.documents.length) $('#documents').append(el('li', { text: 'No documents yet.' }));
    // Receipts of the clinic's till, and credit notes of their voids and refunds.
    $('#receipts').replaceChildren(...receipts.map((r) => {
      const title = (r.kind === 'receipt' ? 'Receipt ' : 'Credit note ') + r.number;
      return el('li', {}, el('p', {}, el('strong', { text: title })),
        el('p', { class: 'meta', text: money({ amount_minor: r.amount_minor, currency: r.currency }) + ' · ' + when(r.issued_at) }),
        el('p', {}, el('a', { href: r.url, text: 'Download ' + title + ' (PDF)' })));
    }));
    if (!receipts.length) $('#receipts').append(el('li', { text: 'No receipts yet.' }));
    // Gift cards bought by or for her: balance and expiry (never the code).
    $('#gift-cards').replaceChildren(...giftCards.map((c) => el('li', {},
      el('p', {}, el('strong', { text: 'Gift card …' + c.code_last4 + ' for ' + c.recipient.name })),
      el('p', { class: 'meta', text: money({ amount_minor: c.balance_minor, currency: c.currency }) + ' left of ' + money({ amount_minor: c.initial_minor, currency: c.currency })
        + (c.status === 'voided' ? ' · voided' : c.expires_at ? ' · valid until ' + when(c.expires_at) : ' · never expires') }))));
    $('#gift-cards-box').hidden = !giftCards.length;
    // Packages of sessions she holds: what is left and until when.
    $('#packages').replaceChildren(...packages.map((p) => el('li', {},
      el('p', {}, el('strong', { text: p.template.name })),
      el('p', { class: 'meta', text: p.sessions_remaining + ' of ' + p.sessions_total + ' sessions left'
        + (p.status === 'voided' ? ' · voided' : p.status === 'expired' ? ' · expired ' + when(p.expires_at) : ' · valid until ' + when(p.expires_at)) }))));
    $('#packages-box').hidden = !packages.length;
    $('#points').textContent = points.balance + ' points, worth ' + money({ amount_minor: points.value_minor, currency: points.currency })
      + (points.tier ? ' · ' + points.tier : '');
    $('#points-box').hidden = !points.enabled && !points.balance;
    // Memberships: what she pays each month, until when it is paid; she may end one with its month.
    $('#memberships').replaceChildren(...memberships.map(membershipItem));
    $('#memberships-box').hidden = !memberships.length;
    for (const channel of ['email', 'sms']) {
      for (const purpose of ['transactional', 'marketing']) $('#' + channel + '-' + purpose).checked = prefs[channel][purpose];
    }
    status('');
  }

  const name = (list, id) => (list.find((x) => x.id === id) || {}).name;

  $('#form-prefs').addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const consent = (channel) => ({ transactional: $('#' + channel + '-transactional').checked, marketing: $('#' + channel + '-marketing').checked });
      await call('PUT', base + '/v1/portal/preferences', { email: consent('email'), sms: consent('sms') });
      status('Preferences saved.');
    } catch (err) { problem(err.message); }
  });

  function feeText(p, verb) {
    if (!p.allowed) {
      return p.refusal === 'inside_reschedule_window'
        ? 'It is too close to your appointment to ' + verb + ' online (the clinic asks for ' + p.window_hours + ' hours). Please call us.'
        : 'This appointment cannot be changed online. Please call us.';
    }
    // Only cancelling returns the deposit; a moved booking keeps it.
    const refund = verb === 'cancel' && p.refund.amount_minor ? ' Your deposit of ' + money(p.refund) + ' is refunded.' : '';
    if (p.fee.amount_minor === 0) return 'No fee to ' + verb + ' now.' + refund;
    let text = 'A fee of ' + money(p.fee) + ' applies if you ' + verb + ' now';
    if (p.kept_from_deposit.amount_minor) text += ' (' + money(p.kept_from_deposit) + ' kept from your deposit)';
    if (p.still_owed.amount_minor) text += '; ' + money(p.still_owed) + ' would still be owed';
    return text + '.' + refund;
  }

  async function openChange(a) {
    state.appointment = a;
    $('#change-summary').textContent = a.service_name + ', ' + when(a.start, a.timezone) + ' at ' + a.location_name + ' (' + a.confirmation_number + ')';
    $('#new-times').replaceChildren(el('p', { class: 'note', text: 'Choose a day first.' }));
    $('#new-day').value = '';
    $('#new-day').min = new Intl.DateTimeFormat('en-CA', { timeZone: a.timezone }).format(new Date());
    show('change');
    status('Checking the clinic\u2019s policy…');
    try {
      const id = encodeURIComponent(a.id);
      const [move, cancel] = await Promise.all(['reschedule', 'cancel'].map((action) =>
        call('GET', base + '/v1/portal/appointments/' + id + '/fee-preview?action=' + action)));
      state.previews = { move, cancel };
      $('#reschedule-fee').textContent = feeText(move, 'reschedule');
      $('#cancel-fee').textContent = feeText(cancel, 'cancel');
      $('#form-reschedule').hidden = !move.allowed;
      status('');
    } catch (err) { problem(err.message); }
  }

  $('#change-back').addEventListener('click', () => show('account'));

  $('#new-day').addEventListener('change', async (e) => {
    const a = state.appointment;
    const day = e.target.value;
    if (!day) return;
    const q = new URLSearchParams({ location_id: a.location_id, service_id: a.service_id, from: day, to: day });
    status('Looking for free times…');
    try {
      const res = await fetch(publicApi + '/availability?' + q);
      const body = await res.json();
      if (!res.ok) throw new Error(body.error ? body.error.message : res.statusText);
      const slots = body.slots.filter((s) => s.start !== a.start);
      $('#new-times').replaceChildren(...slots.map((s) => el('label', { class: 'choice' },
        el('input', { type: 'radio', name: 'start', value: s.start, required: '' }),
        el('span', { text: time(s.start, a.timezone) }))));
      if (!slots.length) $('#new-times').append(el('p', { class: 'note', text: 'No free times that day.' }));
      status(slots.length + (slots.length === 1 ? ' free time.' : ' free times.'));
    } catch (err) { problem('We could not load times: ' + err.message); }
  });

  async function change(body, done) {
    try {
      const moved = await call('PATCH', base + '/v1/portal/appointments/' + encodeURIComponent(state.appointment.id), body);
      await loadAccount();
      show('account');
      status(done(moved));
    } catch (err) { problem(err.message); }
  }

  $('#form-reschedule').addEventListener('submit', (e) => {
    e.preventDefault();
    const chosen = e.target.querySelector('input[name=start]:checked');
    if (!chosen) return problem('Please choose a new day and time.');
    change({ action: 'reschedule', start: chosen.value }, (a) => 'Done: your appointment is now on ' + when(a.start, a.timezone) + '.');
  });

  $('#cancel-appointment').addEventListener('click', () => {
    const fee = state.previews.cancel ? feeText(state.previews.cancel, 'cancel') : '';
    if (!confirm('Cancel this appointment? ' + fee)) return;
    change({ action: 'cancel' }, () => 'Your appointment is cancelled.');
  });

  // A waitlist offer's signed link (`#offer=…`): no sign-in needed.
  function offerFromLink() {
    const token = new URLSearchParams(location.hash.slice(1)).get('offer');
    if (!token) return false;
    history.replaceState(null, '', location.pathname + location.search);
    state.offer = token;
    $('#offer-outcome').hidden = true;
    for (const b of ['#offer-accept', '#offer-decline']) $(b).disabled = false;
    show('offer');
    return true;
  }

  async function answerOffer(answer) {
    const outcome = $('#offer-outcome');
    for (const b of ['#offer-accept', '#offer-decline']) $(b).disabled = true;
    try {
      const body = await call('POST', publicApi + '/waitlist/offer', { token: state.offer, answer }, false);
      const a = body.appointment;
      outcome.textContent = answer === 'decline' ? 'Thank you: the time goes to the next person waiting.'
        : (a.status === 'pending_deposit' ? 'Held' : 'You are booked') + ': ' + when(a.start, a.timezone) + ' (' + a.confirmation_number + ').';
      if (a && a.status === 'pending_deposit') {
        // The waiting-list page takes the deposit (waitlist.js reads this back).
        sessionStorage.setItem('mas-offer-' + data.slug, JSON.stringify({ appt: a, names: { service: name(data.services, a.service_id), location: name(data.locations, a.location_id), tz: a.timezone } }));
        outcome.append(' ', el('a', { href: '../waitlist.html#deposit', class: 'button small', text: 'Pay the deposit' }));
      }
    } catch (err) {
      outcome.textContent = 'Sorry: ' + err.message;
    }
    outcome.hidden = false;
    status(outcome.textContent);
  }
  $('#offer-accept').addEventListener('click', () => answerOffer('accept'));
  $('#offer-decline').addEventListener('click', () => answerOffer('decline'));

  async function start() {
    if (offerFromLink()) return;
    await signInFromLink();
    if (!state.session) return show('signin');
    try {
      await loadAccount();
      $('#portal-error').hidden = true;
      show('account');
    } catch (err) { return problem(err.message); }
  }
  // A link opened in a tab already showing the portal changes only the fragment.
  addEventListener('hashchange', () => { if (/(token|offer)=/.test(location.hash)) start(); });
  start();
})();
