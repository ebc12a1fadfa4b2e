// Card payments on a clinic's site in headless Chromium, against the real local host (its
// simulated gateway, and the Stripe.js shim it serves at /local/stripe.js). Both go through the
// same pay step (pay.js: Stripe(key), elements({clientSecret}), create('payment'), mount,
// confirmPayment) as real Stripe.js on AWS:
//   - a deposit paid with 4242 4242 4242 4242 in the Payment Element: the signed webhook confirms
//     the booking, the wizard waits for it and says so; nothing of the pay step loads before
//   - a declined card (4000 0000 0000 0002) shows the error and the visitor pays with another
//   - a 3-D Secure card (4000 0027 6000 3184): failing the challenge shows the error; completing it pays
//   - the return_url landing (a payment method that leaves the page): the wizard comes back and
//     waits for the booking to be paid
//   - the portal: a balance the clinic asked for by link is paid in the portal's card form (the
//     link's emailed page stops taking payment as the form opens)
//   - with STRIPE_TEST_PUBLISHABLE_KEY and STRIPE_TEST_SECRET_KEY (Stripe test mode; needs the
//     internet): the same deposit through real Stripe.js; skipped, saying so, without them
//
// Environment: MAS_LOCAL_BIN (the `local` binary), CHROMIUM (default /usr/bin/chromium).
'use strict';

const crypto = require('node:crypto');
const path = require('node:path');
const assert = require('node:assert/strict');
const { SHOTS, failures, test, finish, startLocal, api, newestMail, launch, axe, describe, watchPage } = require('./harness.cjs');

const SLUG = 'demo-clinic';
const SCREENING_NO = '.yesno input[value=no]';

/** Books HydraFacial (it asks a deposit) through the wizard; resolves to the BK- number. */
async function bookWithDeposit(page, site, catalog, email, dayIndex, { cardConsent = false } = {}) {
  const hydra = catalog.services.find((s) => s.name === 'HydraFacial Deluxe');
  const london = catalog.locations.find((l) => l.timezone === 'Europe/London');
  await page.goto(`${site}book.html?service=${hydra.id}`);
  await page.locator(`input[name=location][value="${london.id}"]`).check();
  await page.locator('#form-service button[type=submit]').click();
  await page.locator('input[name=day]').nth(dayIndex).check();
  await page.locator('input[name=time]').first().check();
  await page.locator('#form-time button[type=submit]').click();
  await page.getByLabel('First name').fill('Card');
  await page.getByLabel('Last name').fill('Tester');
  await page.getByLabel('Email').fill(email);
  for (const input of await page.locator(SCREENING_NO).all()) await input.check();
  await page.getByLabel(/I agree to the terms/).check();
  // The clinic charges fees (the demo policy), so the wizard offers the card-on-file box, unticked.
  const consent = page.getByLabel(/keep the card I pay with on file/);
  assert.equal(await consent.isChecked(), false, 'consent is never given by default');
  if (cardConsent) await consent.check();
  await page.getByRole('button', { name: 'Book appointment' }).click();
  const number = (await page.locator('#confirmation-number').textContent({ timeout: 15000 })).trim();
  assert.match(number, /^BK-\d{8}$/);
  return number;
}

/** Opens the pay step; resolves to the deposit intent the page was given. */
async function openPayStep(page) {
  const answer = page.waitForResponse((r) => r.url().endsWith('/v1/payments/deposit-intent'));
  await page.getByRole('button', { name: /Pay the .* deposit/ }).click();
  const intent = await (await answer).json();
  await page.getByLabel('Card number').waitFor();
  return intent;
}

/** Types a card into the Payment Element (the shim's fields) and presses its Pay button. */
async function payWith(page, scope, number) {
  const box = page.locator(scope);
  await box.getByLabel('Card number').fill(number);
  await box.getByLabel(/Expiry/).fill('12 / 34');
  await box.getByLabel('Security code').fill('123');
  await box.getByRole('button', { name: /^Pay £/ }).click();
}

async function staffAppointment(local, number) {
  const today = new Date().toISOString().slice(0, 10);
  const later = new Date(Date.now() + 60 * 86400e3).toISOString().slice(0, 10);
  const list = await api(local.base, 'GET', `/v1/appointments?from=${today}&to=${later}`, local.token);
  return list.find((a) => a.confirmation_number === number);
}

async function main() {
  const local = await startLocal();
  const site = `${local.base}/sites/${SLUG}/`;
  console.log(`local host ${local.base}; site ${site}`);
  let browser;
  try {
    browser = await launch({ timezoneId: 'Europe/London' });
    const { context } = browser;
    const page = context.pages()[0] || await context.newPage();
    watchPage(page);
    const requested = [];
    page.on('request', (r) => requested.push(r.url()));
    const catalog = await api(local.base, 'GET', `/v1/public/${SLUG}/catalog`);
    let paidBooking = null;

    await test('a deposit is paid with 4242 4242 4242 4242 in the Payment Element and the booking shows as paid', async () => {
      requested.length = 0;
      for (const file of ['', 'services.html', 'portal/']) await page.goto(site + file);
      const number = await bookWithDeposit(page, site, catalog, 'card.ok@example.test', 3, { cardConsent: true });
      const early = requested.filter((u) => /pay\.js|stripe/.test(u));
      assert.deepEqual(early, [], 'nothing of the pay step loads before the visitor pays');
      assert.equal(await page.evaluate(() => typeof window.Stripe), 'undefined');
      const intent = await openPayStep(page);
      assert.equal(intent.js_url, '/local/stripe.js');
      assert.match(intent.publishable_key, /^pk_test_/);
      assert.ok(requested.some((u) => u.endsWith('/pay.js')) && requested.some((u) => u.endsWith('/local/stripe.js')));
      const violations = await axe(page);
      assert.equal(violations.length, 0, describe(violations));
      await page.screenshot({ path: path.join(SHOTS, 'pay-deposit-form.png'), fullPage: true });
      await payWith(page, '#deposit', '4242 4242 4242 4242');
      await page.getByRole('heading', { name: 'Deposit paid' }).waitFor({ timeout: 20000 });
      assert.match(await page.locator('#status').textContent(), /confirmed/);
      const mine = await staffAppointment(local, number);
      assert.equal(mine && mine.status, 'scheduled', 'the signed webhook confirmed the booking');
      const stored = await api(local.base, 'GET', `/v1/appointments/${mine.id}`, local.token);
      assert.match(stored.card_on_file_consent.terms, /keep the card I pay with on file/, 'the ticked box is stored with its words');
      const payments = await api(local.base, 'GET', `/v1/payments?appointment_id=${mine.id}`, local.token);
      assert.equal(payments[0].status, 'succeeded');
      paidBooking = { number, id: mine.id, email: 'card.ok@example.test' };
      console.log(`      ${number} paid; status text: ${await page.locator('#status').textContent()}`);
    });

    await test('a declined card shows the error and the visitor pays with another card', async () => {
      const number = await bookWithDeposit(page, site, catalog, 'card.declined@example.test', 4);
      const unticked = await api(local.base, 'GET', `/v1/appointments/${(await staffAppointment(local, number)).id}`, local.token);
      assert.ok(!unticked.card_on_file_consent, 'no consent unless the box was ticked');
      await openPayStep(page);
      await payWith(page, '#deposit', '4000 0000 0000 0002');
      const alert = page.locator('#deposit [role=alert]');
      await alert.waitFor();
      assert.match(await alert.textContent(), /Your card was declined/);
      const status = await api(local.base, 'POST', '/v1/payments/deposit-status', null,
        { tenant_slug: SLUG, appointment_id: (await staffAppointment(local, number)).id, confirmation_number: number });
      assert.equal(status.paid, false);
      assert.equal(status.failure, 'card_declined');
      await page.screenshot({ path: path.join(SHOTS, 'pay-declined.png'), fullPage: true });
      await payWith(page, '#deposit', '4242 4242 4242 4242');
      await page.getByRole('heading', { name: 'Deposit paid' }).waitFor({ timeout: 20000 });
      assert.equal((await staffAppointment(local, number)).status, 'scheduled');
    });

    await test('a card that asks for 3-D Secure: failing the challenge shows the error, completing it pays', async () => {
      const number = await bookWithDeposit(page, site, catalog, 'card.3ds@example.test', 5);
      await openPayStep(page);
      await payWith(page, '#deposit', '4000 0027 6000 3184');
      const dialog = page.getByRole('dialog', { name: 'Confirm your payment' });
      await dialog.waitFor();
      await page.screenshot({ path: path.join(SHOTS, 'pay-3ds-challenge.png') });
      await dialog.getByRole('button', { name: 'Fail authentication' }).click();
      const alert = page.locator('#deposit [role=alert]');
      await alert.waitFor();
      assert.match(await alert.textContent(), /unable to authenticate/);
      assert.equal((await staffAppointment(local, number)).status, 'pending_deposit');
      await payWith(page, '#deposit', '4000 0027 6000 3184');
      await dialog.waitFor();
      const violations = await axe(page);
      assert.equal(violations.length, 0, describe(violations));
      await dialog.getByRole('button', { name: 'Complete authentication' }).click();
      await page.getByRole('heading', { name: 'Deposit paid' }).waitFor({ timeout: 20000 });
      assert.equal((await staffAppointment(local, number)).status, 'scheduled');
    });

    await test('back from a payment method that left the page (return_url), the wizard waits for the booking to be paid', async () => {
      const number = await bookWithDeposit(page, site, catalog, 'card.redirect@example.test', 6);
      const intent = await openPayStep(page);
      // What a redirecting method does: the payment completes away from the page (here the
      // simulated gateway, which posts the signed webhook), then the bank sends the visitor to
      // the return_url with Stripe's parameters.
      await api(local.base, 'POST', `/local/pay/${intent.intent_id}`, null, { outcome: 'succeed' });
      const back = new URL(site + 'book.html');
      back.searchParams.set('payment_intent', intent.intent_id);
      back.searchParams.set('payment_intent_client_secret', intent.client_secret);
      back.searchParams.set('redirect_status', 'succeeded');
      await page.goto(back.href);
      await page.getByRole('heading', { name: 'Deposit paid' }).waitFor({ timeout: 20000 });
      assert.equal(await page.locator('#confirmation-number').textContent(), number);
      assert.equal(new URL(page.url()).search, '', 'the intent and its secret leave the address bar');
    });

    await test('the portal: a balance the clinic asked for by link is paid in the card form, its emailed page stops, and it shows paid', async () => {
      assert.ok(paidBooking, 'the first test paid a deposit');
      const ask = () => api(local.base, 'POST', '/v1/payments/finalize', local.token,
        { appointment_id: paidBooking.id, collection_method: 'email_link' });
      let asked = await ask();
      const due = asked.link.amount;
      // The notifications worker makes the page and sends the link; asking again while it is
      // open answers the same link, now sent.
      for (let i = 0; i < 40 && asked.link.status !== 'sent'; i++) {
        await new Promise((r) => setTimeout(r, 250));
        asked = await ask();
      }
      assert.equal(asked.link.status, 'sent');
      await api(local.base, 'POST', `/v1/public/${SLUG}/portal/link`, null, { email: paidBooking.email });
      const mail = await newestMail(local.base, paidBooking.email, /#token=/);
      const signIn = mail.text.match(/https?:\/\/\S+#token=[A-Za-z0-9_-]+/)[0];
      await page.goto(signIn);
      const item = page.locator('#balances li', { hasText: paidBooking.number });
      await item.waitFor({ timeout: 10000 });
      assert.match(await item.textContent(), /Balance due/);
      const violations = await axe(page);
      assert.equal(violations.length, 0, describe(violations));
      // Paid here, in the card form: the link's page (emailed) stops taking payment as it opens.
      const pageUrl = (await newestMail(local.base, paidBooking.email, /\/local\/checkout\/cs_/)).text.match(/https?:\/\/\S+\/local\/checkout\/cs_\w+/)[0];
      await item.getByRole('button', { name: /^Pay .*, the balance for / }).click();
      await item.getByLabel('Card number').waitFor({ timeout: 10000 });
      await payWith(page, '#balances', '4242 4242 4242 4242');
      await page.locator('#balances li', { hasText: 'Balance paid' }).waitFor({ timeout: 30000 });
      assert.match(await page.locator('#status').textContent(), /Thank you: .* received/);
      const stopped = await fetch(pageUrl);
      assert.match(await stopped.text(), /has expired/, 'the emailed page takes no second payment');
      await page.screenshot({ path: path.join(SHOTS, 'pay-portal-balance.png'), fullPage: true });
      const payments = await api(local.base, 'GET', `/v1/payments?appointment_id=${paidBooking.id}`, local.token);
      const balance = payments.find((p) => p.kind === 'balance');
      assert.equal(balance.status, 'succeeded');
      assert.equal(balance.amount.amount_minor, due.amount_minor);
      await page.getByRole('button', { name: 'Sign out' }).click();
    });
  } finally {
    if (browser) await browser.close();
    local.stop();
  }

  await realStripe();
  finish('payments');
}

/**
 * The same deposit through real Stripe.js and Stripe's test mode, when keys are given. Stripe
 * cannot reach this machine's webhook endpoint, so the test posts the signed
 * `payment_intent.succeeded` Stripe would send (the handler re-reads the intent from Stripe, so
 * whether it was paid is Stripe's word, not the test's).
 */
async function realStripe() {
  const publishable = process.env.STRIPE_TEST_PUBLISHABLE_KEY;
  const secretKey = process.env.STRIPE_TEST_SECRET_KEY;
  const name = 'real Stripe test mode: a deposit paid with 4242 4242 4242 4242 through Stripe.js';
  if (!publishable || !secretKey) {
    console.log(`skip  ${name} (set STRIPE_TEST_PUBLISHABLE_KEY and STRIPE_TEST_SECRET_KEY, and give this machine the internet, to run it)`);
    return;
  }
  const webhookSecret = 'whsec_' + crypto.randomBytes(24).toString('hex');
  const local = await startLocal({
    MAS_PAYMENTS: 'stripe', STRIPE_SECRET_KEY: secretKey, STRIPE_PUBLISHABLE_KEY: publishable, STRIPE_WEBHOOK_SECRET: webhookSecret,
  });
  const site = `${local.base}/sites/${SLUG}/`;
  let browser;
  try {
    await test(name, async () => {
      browser = await launch({ timezoneId: 'Europe/London' });
      const page = browser.context.pages()[0] || await browser.context.newPage();
      page.on('pageerror', (err) => failures.push(`page error: ${err.message}`));
      const catalog = await api(local.base, 'GET', `/v1/public/${SLUG}/catalog`);
      const number = await bookWithDeposit(page, site, catalog, 'card.stripe@example.test', 3);
      const answer = page.waitForResponse((r) => r.url().endsWith('/v1/payments/deposit-intent'));
      await page.getByRole('button', { name: /Pay the .* deposit/ }).click();
      const intent = await (await answer).json();
      assert.equal(intent.js_url, 'https://js.stripe.com/v3/');
      // The Payment Element's card fields live in Stripe's iframe.
      const frame = page.frameLocator('#deposit iframe[title*="payment" i]').first();
      await frame.locator('input[name="number"]').fill('4242 4242 4242 4242', { timeout: 30000 });
      await frame.locator('input[name="expiry"]').fill('12 / 34');
      await frame.locator('input[name="cvc"]').fill('123');
      const postal = frame.locator('input[name="postalCode"]');
      if (await postal.count()) await postal.fill('SW1A 1AA');
      await page.locator('#deposit').getByRole('button', { name: /^Pay £/ }).click();
      await page.waitForFunction(() => /Confirming/.test(document.querySelector('#deposit-status').textContent), null, { timeout: 60000 });
      const body = JSON.stringify({
        id: 'evt_test_' + crypto.randomBytes(8).toString('hex'), object: 'event', type: 'payment_intent.succeeded',
        created: Math.floor(Date.now() / 1000), livemode: false, data: { object: { id: intent.intent_id, object: 'payment_intent' } },
      });
      const t = Math.floor(Date.now() / 1000);
      const v1 = crypto.createHmac('sha256', webhookSecret).update(`${t}.${body}`).digest('hex');
      const res = await fetch(local.base + '/webhooks/stripe', { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': `t=${t},v1=${v1}` }, body });
      assert.ok(res.ok, `the webhook answered ${res.status}`);
      await page.getByRole('heading', { name: 'Deposit paid' }).waitFor({ timeout: 60000 });
      assert.equal((await staffAppointment(local, number)).status, 'scheduled');
    });
  } finally {
    if (browser) await browser.close();
    local.stop();
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
