// The gift-card page: an amount (the clinic's presets, or any amount within the bounds), who
// buys it and who it is for; then the same pay step as a deposit (pay.js, the Payment Element,
// loaded only when the visitor pays). The webhook, not the browser, issues the card: the page
// waits for the server to say it is issued, then says where the code went. Plain DOM.
(() => {
  'use strict';
  const $ = (sel, el = document) => el.querySelector(sel);
  const island = $('#gift-data');
  if (!island) return;
  const data = JSON.parse(island.textContent);
  const base = document.body.dataset.api || '';
  const form = $('#gift-form');
  const status = (text) => { $('#gift-status').textContent = text; };
  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === 'text') node.textContent = v; else node.setAttribute(k, v);
    }
    for (const c of children) node.append(c);
    return node;
  };
  const money = (minor) => new Intl.NumberFormat('en-GB', { style: 'currency', currency: data.currency }).format(minor / 100);
  const loadPay = window.masLoadPay;
  const post = async (path, body) => {
    const res = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const answer = await res.json().catch(() => ({}));
    if (!res.ok) {
      const err = new Error(answer.error ? answer.error.message : 'something went wrong');
      err.field = answer.error && answer.error.details && answer.error.details.field;
      throw err;
    }
    return answer;
  };
  const custom = $('#gift-custom');
  form.addEventListener('change', () => { custom.disabled = form.elements.amount.value !== 'custom'; });

  function amountMinor() {
    const chosen = form.elements.amount.value;
    if (chosen !== 'custom') return Number(chosen);
    const typed = custom.value.trim().replace(/,/g, '');
    if (!/^\d+(\.\d{1,2})?$/.test(typed)) return null;
    return Math.round(Number(typed) * 100);
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const error = $('#gift-error');
    error.hidden = true;
    const amount = amountMinor();
    if (amount === null || amount < data.min_minor || amount > data.max_minor) {
      error.replaceChildren(el('p', { text: `Choose an amount from ${money(data.min_minor)} to ${money(data.max_minor)}.` }));
      error.hidden = false;
      error.focus();
      return;
    }
    const v = (name) => form.elements[name].value.trim();
    const body = {
      tenant_slug: data.slug, amount_minor: amount,
      buyer: { name: v('buyer_name'), email: v('buyer_email') },
      recipient: { name: v('recipient_name'), email: v('recipient_email') },
    };
    const button = $('#gift-continue');
    button.disabled = true;
    status('Preparing the secure payment form…');
    try {
      const intent = await post('/v1/gift-cards/purchase', body);
      const masPay = await loadPay();
      form.hidden = true;
      const box = $('#gift-pay');
      box.hidden = false;
      $('#gift-summary').textContent = `A gift card of ${money(amount)} for ${body.recipient.name}: its code will be emailed to ${body.recipient.email}.`;
      status('');
      await masPay.mount({
        box: $('#gift-pay-box'), intent, api: base, label: `Pay ${money(amount)}`,
        returnUrl: location.origin + location.pathname,
        status,
        settled: async () => {
          const s = await post('/v1/gift-cards/purchase-status', { tenant_slug: data.slug, order_id: intent.order_id });
          return s.issued ? 'paid' : 'pending';
        },
        done: (outcome) => {
          const done = $('#gift-done');
          done.hidden = false;
          box.hidden = true;
          if (outcome === 'paid') {
            done.replaceChildren(el('h2', { text: 'Gift card sent', tabindex: '-1' }),
              el('p', { text: `Thank you. ${body.recipient.name}'s gift card of ${money(amount)} is paid, and its code is on its way to ${body.recipient.email}. A confirmation is on its way to you.` }));
            status('Gift card paid and sent.');
          } else {
            done.replaceChildren(el('h2', { text: 'Payment received', tabindex: '-1' }),
              el('p', { text: 'Your bank has accepted the payment; we are confirming it. The code will be emailed once it is confirmed.' }));
            status('Payment received; confirming.');
          }
          $('h2', done).focus();
        },
      });
    } catch (err) {
      status('');
      error.replaceChildren(el('p', { text: 'Sorry, ' + err.message + '.' }));
      error.hidden = false;
      error.focus();
      button.disabled = false;
    }
  });
})();
