// The pay step, shared by the booking wizard (a deposit) and the portal (a balance): Stripe's
// Payment Element. Loaded only when a visitor reaches a payment, never with the pages. The API's
// intent answer names Stripe.js (`js_url`: Stripe's own address, or on the local host its
// shim) and the publishable key; this file then runs Stripe.js's own calls — Stripe(key),
// elements({clientSecret}), create('payment'), mount, confirmPayment({elements, redirect:
// 'if_required', confirmParams: {return_url}}). 3-D Secure is Stripe.js's to show; we read its
// result. The browser's word is not the payment: the webhook records it, so the caller's
// `settled` is polled until the server says the payment is in.
(() => {
  'use strict';
  const scripts = new Map();
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === 'text') node.textContent = v; else node.setAttribute(k, v);
    }
    for (const c of children) node.append(c);
    return node;
  };

  function load(url) {
    if (!scripts.has(url)) {
      scripts.set(url, new Promise((resolve, reject) => {
        const s = document.createElement('script');
        s.src = url;
        s.onload = resolve;
        s.onerror = () => { scripts.delete(url); s.remove(); reject(new Error('the secure payment form could not be loaded')); };
        document.head.append(s);
      }));
    }
    return scripts.get(url);
  }

  // The site's theme, for the Payment Element (it lives in Stripe's iframe, so it cannot read our CSS).
  function appearance() {
    const css = getComputedStyle(document.documentElement);
    const v = (name) => css.getPropertyValue(name).trim();
    const variables = { colorPrimary: v('--primary'), colorBackground: v('--surface'), colorText: v('--text'), borderRadius: (v('--radius') || '4') + (/px$/.test(v('--radius')) ? '' : 'px') };
    for (const k of Object.keys(variables)) if (!variables[k] || variables[k] === 'px') delete variables[k];
    return { theme: css.colorScheme === 'dark' ? 'night' : 'stripe', variables };
  }

  // Polls `check` (resolving 'pending' until it knows better) for up to about a minute.
  async function settle(check) {
    for (let i = 0; i < 45; i++) {
      let outcome = 'pending';
      try { outcome = await check(); } catch (err) { /* a failed poll is retried */ }
      if (outcome !== 'pending') return outcome;
      await sleep(i < 10 ? 700 : 1500);
    }
    return 'pending';
  }

  /**
   * Mounts the Payment Element for `opts.intent` in `opts.box` and takes the payment.
   * opts: box (element), intent ({client_secret, publishable_key, js_url}), api (the API's base,
   * for a relative js_url), label (the pay button's text), returnUrl (where a redirecting method
   * comes back), status(text), settled() → 'paid' | 'pending' | any other outcome, done(outcome).
   * Rejects when the form cannot be shown.
   */
  async function mount(opts) {
    const { intent } = opts;
    if (!intent.client_secret) throw new Error('this payment cannot be taken online any more');
    if (!intent.publishable_key || !intent.js_url) throw new Error('card payments are not available online here; please call us');
    await load(new URL(intent.js_url, opts.api || location.href).href);
    if (typeof window.Stripe !== 'function') throw new Error('the secure payment form could not be started');
    const stripe = window.Stripe(intent.publishable_key);
    const elements = stripe.elements({ clientSecret: intent.client_secret, appearance: appearance() });
    const slot = el('div', { class: 'pay-element' });
    const error = el('div', { class: 'error', tabindex: '-1' });
    error.hidden = true;
    const button = el('button', { type: 'submit', class: 'button', text: opts.label });
    const form = el('form', { class: 'pay-form', novalidate: '' }, slot, error, el('p', { class: 'actions' }, button));
    opts.box.replaceChildren(form);
    const element = elements.create('payment', { layout: 'tabs' });
    const problem = (message) => {
      error.replaceChildren(el('p', { text: message }));
      error.hidden = false;
      error.setAttribute('role', 'alert');
      error.focus();
    };
    element.on('loaderror', (e) => problem('Sorry, the payment form could not be loaded: ' + ((e && e.error && e.error.message) || 'please try again later')));
    element.mount(slot);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      button.disabled = true;
      error.hidden = true;
      opts.status('Paying…');
      let result;
      try {
        result = await stripe.confirmPayment({ elements, redirect: 'if_required', confirmParams: { return_url: opts.returnUrl } });
      } catch (err) {
        result = { error: { message: 'We could not reach the payment service. Please try again.' } };
      }
      const pi = result.paymentIntent;
      if (result.error || !pi || !['succeeded', 'processing', 'requires_capture'].includes(pi.status)) {
        // A decline, a failed or abandoned 3-D Secure challenge, a field to fix: the same
        // intent can be paid again with this form.
        const message = result.error && result.error.message
          ? result.error.message
          : 'The payment was not completed. Please try again.';
        opts.status('');
        problem(message);
        button.disabled = false;
        return;
      }
      button.hidden = true;
      element.unmount();
      form.replaceChildren(el('p', { text: 'Thank you. Confirming your payment…' }));
      opts.status('Payment sent. Confirming…');
      opts.done(await settle(opts.settled));
    });
    return { stripe, elements, element };
  }

  window.masPay = { mount, settle };
})();
