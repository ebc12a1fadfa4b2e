// A Stripe.js stand-in for the local host's simulated gateway, served at /local/stripe.js. It
// implements only what the sites' pay step calls, with Stripe's shapes: Stripe(publishableKey),
// stripe.elements({clientSecret}), elements.create('payment'), element.mount(target),
// element.on(event, handler), elements.submit(), and
// stripe.confirmPayment({elements, redirect, confirmParams: {return_url}}) resolving to
// {paymentIntent} or {error}. The "Payment Element" is a plain card form (Stripe's is an iframe);
// Stripe's test card numbers decide what happens (4242 4242 4242 4242 pays, 4000 0000 0000 0002
// is declined, 4000 0027 6000 3184 asks for 3-D Secure: a challenge dialog, Complete or Fail).
// Confirming posts to /local/pay/{intent}/confirm on the host this file came from, which posts
// the signed webhook Stripe would send. Never served by a deployed stack.
(() => {
  'use strict';
  const origin = new URL(document.currentScript ? document.currentScript.src : location.href).origin;
  let counter = 0;

  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === 'text') node.textContent = v; else node.setAttribute(k, v);
    }
    for (const c of children) node.append(c);
    return node;
  };
  const intentOf = (secret) => String(secret || '').split('_secret_')[0];
  const money = (amount, currency) => new Intl.NumberFormat('en-GB', { style: 'currency', currency: (currency || 'gbp').toUpperCase() }).format(amount / 100);

  function luhn(digits) {
    let sum = 0;
    for (let i = 0; i < digits.length; i++) {
      let d = Number(digits[digits.length - 1 - i]);
      if (i % 2 === 1) { d *= 2; if (d > 9) d -= 9; }
      sum += d;
    }
    return sum % 10 === 0;
  }

  // What Stripe's element says about what was typed (its messages), or null when it is complete.
  function check(fields) {
    const number = fields.number.value.replace(/[\s-]/g, '');
    if (!number) return { code: 'incomplete_number', message: 'Your card number is incomplete.', field: fields.number };
    if (!/^\d{12,19}$/.test(number) || !luhn(number)) return { code: 'invalid_number', message: 'Your card number is invalid.', field: fields.number };
    const exp = fields.expiry.value.replace(/\s/g, '').match(/^(\d{1,2})\/?(\d{2})$/);
    if (!exp) return { code: 'incomplete_expiry', message: "Your card's expiration date is incomplete.", field: fields.expiry };
    const month = Number(exp[1]);
    const year = 2000 + Number(exp[2]);
    const now = new Date();
    if (month < 1 || month > 12) return { code: 'invalid_expiry_month', message: "Your card's expiration month is invalid.", field: fields.expiry };
    if (year < now.getFullYear() || (year === now.getFullYear() && month < now.getMonth() + 1)) {
      return { code: 'invalid_expiry_year_past', message: "Your card's expiration year is in the past.", field: fields.expiry };
    }
    if (!/^\d{3,4}$/.test(fields.cvc.value.trim())) return { code: 'incomplete_cvc', message: "Your card's security code is incomplete.", field: fields.cvc };
    return null;
  }

  class PaymentElement {
    constructor(elements) {
      this.elements = elements;
      this.handlers = {};
      this.fields = null;
    }

    on(event, handler) { (this.handlers[event] = this.handlers[event] || []).push(handler); return this; }

    emit(event, payload) { for (const h of this.handlers[event] || []) h(payload); }

    mount(target) {
      const host = typeof target === 'string' ? document.querySelector(target) : target;
      if (!host) throw new Error('IntegrationError: the Payment Element could not find ' + target);
      const id = 'mas-sim-' + (++counter);
      const field = (name, label, attrs) => {
        const input = el('input', { id: id + '-' + name, name: 'card-' + name, type: 'text', inputmode: 'numeric', spellcheck: 'false', ...attrs });
        // The site's own field styles (Stripe's iframe takes them from `appearance`).
        const wrap = el('div', { class: 'field' }, el('label', { for: input.id, text: label }), input);
        wrap.style.flex = '1 1 8rem';
        wrap.style.marginBottom = '0';
        return { wrap, input };
      };
      const number = field('number', 'Card number', { autocomplete: 'cc-number', placeholder: '1234 1234 1234 1234', maxlength: '23' });
      const expiry = field('expiry', 'Expiry date (MM / YY)', { autocomplete: 'cc-exp', placeholder: 'MM / YY', maxlength: '7' });
      const cvc = field('cvc', 'Security code', { autocomplete: 'cc-csc', placeholder: 'CVC', maxlength: '4' });
      const row = el('div', {}, expiry.wrap, cvc.wrap);
      row.style.display = 'flex';
      row.style.flexWrap = 'wrap';
      row.style.gap = '0.75rem';
      // Described by its field; the page announces the error (as with Stripe's iframe).
      const error = el('p', { id: id + '-error', class: 'mas-sim-error' });
      error.hidden = true;
      const note = el('p', { class: 'note', text: 'Test mode (simulated gateway): 4242 4242 4242 4242 pays, 4000 0000 0000 0002 is declined, 4000 0027 6000 3184 asks for 3-D Secure. Any future date and any CVC.' });
      const box = el('div', { class: 'mas-sim-element', role: 'group', 'aria-label': 'Card details' }, note, number.wrap, row, error);
      box.style.display = 'grid';
      box.style.gap = '0.75rem';
      this.fields = { number: number.input, expiry: expiry.input, cvc: cvc.input };
      this.error = error;
      this.box = box;
      box.addEventListener('input', () => {
        const problem = check(this.fields);
        this.emit('change', { elementType: 'payment', complete: !problem, empty: !Object.values(this.fields).some((f) => f.value) });
      });
      host.replaceChildren(box);
      setTimeout(() => this.emit('ready', { elementType: 'payment' }), 0);
      return this;
    }

    // Stripe shows a validation problem inside the element, beside the field.
    showError(message, field) {
      this.error.textContent = message || '';
      this.error.hidden = !message;
      for (const f of Object.values(this.fields || {})) f.removeAttribute('aria-invalid');
      if (field) {
        field.setAttribute('aria-invalid', 'true');
        field.setAttribute('aria-describedby', this.error.id);
        field.focus();
      }
    }

    focus() { if (this.fields) this.fields.number.focus(); }

    unmount() { if (this.box) this.box.remove(); }

    destroy() { this.unmount(); this.elements.element = null; }
  }

  class Elements {
    constructor(stripe, options) {
      if (!options || !options.clientSecret) throw new Error('IntegrationError: elements() needs a clientSecret');
      this.stripe = stripe;
      this.clientSecret = options.clientSecret;
      this.element = null;
    }

    create(type) {
      if (type !== 'payment') throw new Error(`IntegrationError: this shim offers the 'payment' element only, not '${type}'`);
      this.element = new PaymentElement(this);
      return this.element;
    }

    getElement(type) { return type === 'payment' ? this.element : null; }

    async submit() {
      const element = this.element;
      if (!element || !element.fields) return { error: { type: 'validation_error', message: 'The Payment Element is not mounted.' } };
      const problem = check(element.fields);
      element.showError(problem && problem.message, problem && problem.field);
      return problem ? { error: { type: 'validation_error', code: problem.code, message: problem.message } } : {};
    }
  }

  async function post(path, body) {
    let res;
    try {
      res = await fetch(origin + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    } catch (err) {
      return { error: { type: 'api_connection_error', message: 'We could not reach the payment service. Please try again.' } };
    }
    const json = await res.json().catch(() => ({}));
    if (!res.ok) {
      const e = json.error || {};
      return { error: { type: 'invalid_request_error', code: e.code, message: e.message || 'The payment could not be completed.' } };
    }
    return json;
  }

  // The bank's 3-D Secure page, as Stripe's test mode shows it: complete or fail.
  function challenge(intent) {
    return new Promise((resolve) => {
      const heading = 'mas-sim-3ds-' + (++counter);
      const complete = el('button', { type: 'button', class: 'button', text: 'Complete authentication' });
      const failIt = el('button', { type: 'button', class: 'button secondary', text: 'Fail authentication' });
      const dialog = el('dialog', { 'aria-labelledby': heading, class: 'mas-sim-3ds' },
        el('h2', { id: heading, text: 'Confirm your payment' }),
        el('p', { text: `Your bank asks you to confirm a payment of ${money(intent.amount, intent.currency)} (3-D Secure, simulated test page).` }),
        el('p', {}, complete, ' ', failIt));
      const done = (ok) => { dialog.close(); dialog.remove(); resolve(ok); };
      complete.addEventListener('click', () => done(true));
      failIt.addEventListener('click', () => done(false));
      dialog.addEventListener('cancel', (e) => { e.preventDefault(); done(false); });
      document.body.append(dialog);
      dialog.showModal();
      complete.focus();
    });
  }

  function landing(returnUrl, intent, status) {
    const url = new URL(returnUrl, location.href);
    url.searchParams.set('payment_intent', intent.id);
    url.searchParams.set('payment_intent_client_secret', intent.client_secret);
    url.searchParams.set('redirect_status', status);
    location.assign(url.href);
    return new Promise(() => {});
  }

  class StripeShim {
    constructor(key) { this.key = key; }

    elements(options) { return new Elements(this, options); }

    async confirmPayment(options = {}) {
      const { elements, confirmParams = {}, redirect = 'always' } = options;
      if (!elements || !elements.element) throw new Error('IntegrationError: confirmPayment needs the elements with a mounted Payment Element');
      if (!confirmParams.return_url) throw new Error('IntegrationError: confirmPayment needs confirmParams.return_url');
      const checked = await elements.submit();
      if (checked.error) return checked;
      const element = elements.element;
      const id = intentOf(elements.clientSecret);
      const secret = elements.clientSecret;
      let answer = await post(`/local/pay/${encodeURIComponent(id)}/confirm`, { client_secret: secret, card_number: element.fields.number.value });
      if (answer.error && !answer.payment_intent) return { error: answer.error };
      if (!answer.error && answer.payment_intent.status === 'requires_action') {
        const ok = await challenge(answer.payment_intent);
        answer = await post(`/local/pay/${encodeURIComponent(id)}/authenticate`, { client_secret: secret, outcome: ok ? 'complete' : 'fail' });
        if (answer.error && !answer.payment_intent) return { error: answer.error };
      }
      const intent = answer.payment_intent;
      if (answer.error) return { error: { ...answer.error, payment_intent: intent } };
      if (redirect !== 'if_required') return landing(confirmParams.return_url, intent, intent.status === 'succeeded' ? 'succeeded' : 'processing');
      return { paymentIntent: intent };
    }
  }

  window.Stripe = function Stripe(key) {
    if (!/^pk_(test|live)_\w+$/.test(String(key || ''))) throw new Error('IntegrationError: Invalid value for Stripe(): apiKey should be a publishable key (pk_…)');
    return new StripeShim(key);
  };
  window.Stripe.version = 3;
})();
