// The waitlist end to end in headless Chromium against the real local host:
//   - a visitor for whom no time suits follows the booking wizard's link to the waiting list and joins
//   - the back office's Waitlist screen lists her (front desk)
//   - a booking in her window is cancelled: the time is held for her and she is emailed a link;
//     the link opens the portal's offer, she takes the time, pays its deposit on the waiting-list page
//     and is booked
//   - the wizard's form, the Waitlist screen and the offer pass axe-core
//
// Environment: MAS_LOCAL_BIN (the `local` binary), MAS_APP_DIR (the built back office), CHROMIUM.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const assert = require('node:assert/strict');
const { SHOTS, failures, test, finish, startLocal, api, newestMail, launch, signInThroughApp, WIDE, noAxeViolations, watchPage } = require('./harness.cjs');

const SLUG = 'demo-clinic';
const EMAIL = 'wanda.waiter@example.test';

async function main() {
  fs.mkdirSync(SHOTS, { recursive: true });
  const local = await startLocal();
  const { base, token } = local;
  const site = `${base}/sites/${SLUG}/`;
  console.log(`local host ${base}; site ${site}`);
  let browser;
  try {
    browser = await launch({ viewport: WIDE, timezoneId: 'Europe/London' });
    const { context } = browser;
    const page = context.pages()[0] || await context.newPage();
    watchPage(page);
    const catalog = await api(base, 'GET', `/v1/public/${SLUG}/catalog`);
    const london = catalog.locations.find((l) => l.timezone === 'Europe/London');
    const service = catalog.services.find((s) => s.name === 'HydraFacial Deluxe');

    await test('a visitor for whom no time suits joins the waiting list from the booking wizard', async () => {
      await page.goto(site + 'book.html');
      await page.locator(`input[name=service][value="${service.id}"]`).check();
      await page.locator(`input[name=location][value="${london.id}"]`).check();
      await page.getByRole('button', { name: 'Continue' }).first().press('Enter');
      await page.locator('#step-time h2').waitFor();
      await page.getByRole('link', { name: 'Join the waiting list' }).click();
      await page.getByRole('heading', { name: 'Waiting list', level: 1 }).waitFor();
      const form = page.locator('#form-waitlist');
      await form.getByLabel('Treatment').selectOption(service.id);
      await form.getByLabel('Location').selectOption(london.id);
      await form.getByLabel('First name').fill('Wanda');
      await form.getByLabel('Last name').fill('Waiter');
      await form.getByLabel('Email').fill(EMAIL);
      await noAxeViolations(page, 'the waiting-list form');
      const joined = page.waitForResponse((r) => r.url().endsWith(`/v1/public/${SLUG}/waitlist`));
      await form.getByRole('button', { name: 'Join the waiting list' }).click();
      assert.equal((await joined).status(), 201);
      await page.locator('#waitlist-done', { hasText: /You are on the waiting list for HydraFacial Deluxe/ }).waitFor();
      await page.screenshot({ path: path.join(SHOTS, 'waitlist-joined.png'), fullPage: true });
    });

    await test('the Waitlist screen lists her for the front desk', async () => {
      await signInThroughApp(page, base, 'desk@demo-clinic.test');
      await page.getByRole('heading', { name: 'Today', level: 1 }).waitFor();
      await page.getByRole('navigation').getByRole('link', { name: 'Waitlist' }).click();
      await page.getByRole('heading', { name: 'Waitlist', level: 1 }).waitFor();
      await page.getByLabel('Location').selectOption({ label: london.name });
      const row = page.locator('#waitlist-table tr', { hasText: 'Wanda Waiter' });
      await row.waitFor();
      assert.match(await row.textContent(), /HydraFacial Deluxe/);
      assert.match(await row.textContent(), /Waiting/);
      await noAxeViolations(page, 'the Waitlist screen');
      await page.screenshot({ path: path.join(SHOTS, 'waitlist-screen.png'), fullPage: true });
      await page.getByRole('button', { name: 'Sign out' }).click();
    });

    await test('a cancelled booking in her window is held for her, and she takes it from the emailed link', async () => {
      const today = new Intl.DateTimeFormat('en-CA', { timeZone: london.timezone }).format(new Date());
      const to = new Date(Date.now() + 10 * 86400000).toISOString().slice(0, 10);
      const q = new URLSearchParams({ location_id: london.id, service_id: service.id, from: today, to });
      const free = await api(base, 'GET', `/v1/public/${SLUG}/availability?${q}`);
      const slot = free.slots[0];
      assert.ok(slot, 'a free time in her window');
      const someone = await api(base, 'POST', '/v1/clients', token, { first_name: 'Otto', last_name: 'Other', email: 'otto.other@example.test' });
      const booked = await api(base, 'POST', '/v1/appointments', token, {
        location_id: london.id, service_id: service.id, start: slot.start, practitioner_id: slot.practitioner_ids[0], client_id: someone.id,
      });
      await api(base, 'PATCH', `/v1/appointments/${booked.id}`, token, { action: 'cancel' });
      const mail = await newestMail(base, EMAIL, /#offer=/);
      await page.goto(mail.text.match(/https?:\/\/\S+#offer=\S+/)[0]);
      await page.getByRole('heading', { name: 'A time is held for you' }).waitFor();
      await noAxeViolations(page, 'the offer');
      await page.getByRole('button', { name: 'Take this time' }).click();
      const outcome = page.locator('#offer-outcome');
      await outcome.waitFor();
      assert.match(await outcome.textContent(), /You are booked|Held/);
      await page.screenshot({ path: path.join(SHOTS, 'waitlist-offer-taken.png'), fullPage: true });
      const entries = await api(base, 'GET', `/v1/waitlist?location_id=${london.id}&all=true`, token);
      const taken = entries.find((e) => e.offer && e.offer.start === slot.start);
      assert.equal(taken.status, 'booked');
      // The demo's HydraFacial asks a deposit: the waiting-list page takes it; the webhook confirms.
      await page.getByRole('link', { name: 'Pay the deposit' }).click();
      await page.getByRole('heading', { name: 'Deposit due' }).waitFor();
      await page.getByRole('button', { name: 'Pay the deposit' }).click();
      await page.getByLabel('Card number').fill('4242 4242 4242 4242');
      await page.getByLabel(/Expiry/).fill('12 / 34');
      await page.getByLabel('Security code').fill('123');
      await page.locator('#wl-deposit').getByRole('button', { name: /^Pay £/ }).click();
      await page.getByRole('heading', { name: 'Deposit paid' }).waitFor({ timeout: 15000 });
      const held = await api(base, 'GET', `/v1/appointments/${taken.offer.appointment_id}`, token);
      assert.equal(held.status, 'scheduled', 'the deposit confirmed the booking taken from the waitlist');
    });
  } finally {
    if (browser) await browser.close();
    local.stop();
  }
  finish('waitlist');
}

main().catch((err) => { console.error(err); process.exit(1); });
