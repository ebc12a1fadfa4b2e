// The pay step's loader, put in front of each script that takes a payment (the booking wizard,
// the portal, the gift-card page): pay.js, and through it Stripe.js, load only when a visitor
// starts paying, once per page.
window.masLoadPay = window.masLoadPay || (() => {
  'use strict';
  const src = new URL('pay.js', document.currentScript ? document.currentScript.src : location.href).href;
  let loaded = null;
  return () => {
    loaded = loaded || new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = src;
      s.onload = () => resolve(window.masPay);
      s.onerror = () => { loaded = null; s.remove(); reject(new Error('the payment step could not be loaded')); };
      document.head.append(s);
    });
    return loaded;
  };
})();
