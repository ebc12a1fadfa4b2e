// End-to-end tests of the back office's desk till (#/till) and sales (#/sales) in headless
// Chromium against the real local host:
//   - the owner rings up today's appointment with a discount (refused until it has a reason, with
//     nothing typed lost), a tip and cash plus card; the server's invoice number and change show,
//     and part of it is refunded with a reason
//   - the front desk rings up a walk-in without being offered a discount, and a practitioner
//     (no sales_write) is offered no till at all
//   - the till and sales screens pass axe-core and are photographed at 1440×900 and 390×844
//
// Environment: MAS_LOCAL_BIN (the `local` binary), MAS_APP_DIR (the built back office), CHROMIUM.
'use strict';

const fs = require('node:fs');
const assert = require('node:assert/strict');
const { SHOTS, failures, test, finish, startLocal, api, launch, signInThroughApp, axe, WIDE, dayIn, screenChecks } = require('./harness.cjs');


/** A zone where it is now between 08:00 and 14:59, so a location open 06:00–22:00 there still has times today. */
function midMorningZone() {
  const zones = ['Pacific/Honolulu', 'America/Anchorage', 'America/Los_Angeles', 'America/Denver', 'America/Chicago', 'America/New_York',
    'America/Sao_Paulo', 'Atlantic/Cape_Verde', 'Europe/London', 'Europe/Paris', 'Europe/Athens', 'Europe/Moscow', 'Asia/Dubai',
    'Asia/Karachi', 'Asia/Dhaka', 'Asia/Bangkok', 'Asia/Singapore', 'Asia/Tokyo', 'Australia/Brisbane', 'Pacific/Noumea', 'Pacific/Auckland'];
  const hour = (zone) => Number(new Intl.DateTimeFormat('en-GB', { hour: '2-digit', hourCycle: 'h23', timeZone: zone }).format(new Date()));
  return zones.find((z) => hour(z) >= 8 && hour(z) <= 14) || 'Europe/London';
}

const { check, checkBothSizes } = screenChecks('till');

/**
 * A location open all day where it is mid-morning now, a practitioner working there, and a
 * chemical peel booked there today for a new client: an appointment the till can charge for.
 */
async function appointmentToday(base, token) {
  const zone = midMorningZone();
  const days = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];
  const location = await api(base, 'POST', '/v1/locations', token, {
    name: 'Till Street', timezone: zone,
    address: { line1: '1 Till Street', city: 'London', postcode: 'W1A 1AA', country: 'GB' },
    opening_hours: days.map((day) => ({ day, start: '06:00', end: '22:00' })),
  });
  const practitioner = await api(base, 'POST', '/v1/practitioners', token, {
    display_name: 'Iris Till', specialties: ['consultation', 'skin'],
    working_rules: days.map((day) => ({ location_id: location.id, day, start: '06:00', end: '22:00' })),
  });
  const services = await api(base, 'GET', '/v1/services', token);
  const peel = services.find((s) => s.name === 'Chemical peel');
  const today = dayIn(zone);
  const free = await api(base, 'GET',
    `/v1/availability?location_id=${location.id}&service_id=${peel.id}&from=${today}&to=${today}&practitioner_id=${practitioner.id}`, token);
  const slots = free.slots || free;
  assert.ok(slots.length > 0, `a free time today at ${zone}`);
  const client = await api(base, 'POST', '/v1/clients', token, { first_name: 'Tilly', last_name: 'Ledger', email: 'tilly@example.test' });
  const appointment = await api(base, 'POST', '/v1/appointments', token, {
    location_id: location.id, service_id: peel.id, practitioner_id: practitioner.id, client_id: client.id, start: slots[slots.length - 1].start,
  });
  return { zone, location, practitioner, client, appointment, peel };
}

async function main() {
  fs.mkdirSync(SHOTS, { recursive: true });
  const local = await startLocal();
  const { base, token } = local;
  console.log(`local host ${base}`);
  let browser;
  try {
    const booked = await appointmentToday(base, token);
    console.log(`      ${booked.appointment.confirmation_number} today at ${booked.location.name} (${booked.zone}), ${booked.appointment.status}`);
    browser = await launch({ viewport: WIDE });
    const { context } = browser;
    const fresh = async () => {
      const page = await context.newPage();
      page.on('pageerror', (err) => failures.push(`page error: ${err.message}`));
      return page;
    };
    let saleId;

    await test("the owner rings up today's appointment with a discount, a tip and cash plus card, sees the invoice number and change, and refunds part of it", async () => {
      const page = await fresh();
      const posted = [];
      page.on('request', (r) => { if (r.method() === 'POST' && new URL(r.url()).pathname === '/v1/sales') posted.push(r.url()); });
      await signInThroughApp(page, base, 'owner@demo-clinic.test');
      await page.getByRole('heading', { name: 'Today', level: 1 }).waitFor();
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Till' }).click();
      await page.getByRole('heading', { name: 'Till', level: 1 }).waitFor();
      await page.getByLabel('Location').selectOption({ label: 'Till Street' });
      // Today's appointment fills in its service, price, practitioner and client.
      await page.getByLabel(/Tilly Ledger · Chemical peel/).check();
      const line = page.getByRole('group', { name: /^Line 1/ });
      assert.equal(await line.getByLabel('Name on the invoice').inputValue(), 'Chemical peel');
      assert.equal(await line.getByLabel('Unit price (GBP)').inputValue(), '120.00');
      assert.equal(await line.getByLabel('Practitioner').inputValue(), booked.practitioner.id);
      await page.getByText('Client: Tilly Ledger').waitFor();
      // The server's figures: 120.00 with 20% VAT inside.
      const totals = page.locator('#quote');
      await totals.locator('[data-total]', { hasText: '£120.00' }).waitFor();
      assert.match(await totals.textContent(), /Tax£20\.00/);

      // 10% off the line, a £10 tip for the practitioner: 108.00 + 10.00.
      await line.getByLabel('Discount on this line').selectOption('percent');
      await line.getByLabel('Discount (%)').fill('10');
      await page.getByRole('button', { name: 'Add a tip' }).click();
      const tip = page.getByRole('group', { name: 'Tip 1' });
      assert.equal(await tip.getByLabel('Tip for').inputValue(), booked.practitioner.id, 'the tip goes to the appointment\'s practitioner');
      await tip.getByLabel('Tip amount (GBP)').fill('10');
      // The line's discount has no reason yet: the server will not price it, nor ring it up.
      await page.locator('#quote-problem').waitFor();
      await page.getByRole('button', { name: 'Add card' }).click();
      const card = page.getByRole('group', { name: 'Card (terminal)' });
      await card.getByLabel('Card (terminal) amount (GBP)').fill('100.00');
      await card.getByLabel('Terminal reference').fill('TID-4411-000123');
      await page.getByRole('button', { name: 'Add cash' }).click();
      await page.getByRole('group', { name: 'Cash', exact: true }).getByLabel('Cash handed over (GBP)').fill('20');
      await page.getByRole('button', { name: 'Complete sale' }).click();
      await page.locator('#till-error').waitFor();
      assert.match(await page.locator('#till-error').textContent(), /\S/);
      await check(page, 'refused-without-reason');
      // Nothing typed is lost.
      assert.equal(await line.getByLabel('Discount (%)').inputValue(), '10');
      assert.equal(await card.getByLabel('Terminal reference').inputValue(), 'TID-4411-000123');
      assert.equal(await tip.getByLabel('Tip amount (GBP)').inputValue(), '10');

      await line.getByLabel('Reason for the discount').fill('Loyal client');
      await totals.locator('[data-total]', { hasText: '£118.00' }).waitFor();
      const text = await totals.textContent();
      assert.match(text, /Discounts−£12\.00/);
      assert.match(text, /Tax£18\.00/);
      assert.match(text, /Tips£10\.00/);
      assert.match(text, /Change to give£2\.00/);
      await checkBothSizes(page, 'ringing-up');
      await page.getByRole('button', { name: 'Complete sale' }).click();
      const invoice = (await page.locator('#invoice-number').textContent()).trim();
      assert.equal(invoice, 'INV-000001');
      assert.equal((await page.locator('#change-due').textContent()).trim(), '£2.00');
      assert.ok(posted.some((u) => !u.includes('quote=')), 'the sale was completed');
      await checkBothSizes(page, 'receipt');
      const recorded = await api(base, 'GET', `/v1/sales?day=${dayIn(booked.zone)}&location_id=${booked.location.id}`, token);
      assert.equal(recorded.length, 1);
      saleId = recorded[0].id;
      assert.equal(recorded[0].lines[0].appointment_id, booked.appointment.id);
      assert.deepEqual(recorded[0].tips, [{ practitioner_id: booked.practitioner.id, amount_minor: 1000 }]);
      assert.deepEqual(recorded[0].totals, {
        subtotal_minor: 12000, discount_minor: 1200, tax_minor: 1800, tips_minor: 1000, total_minor: 11800, tendered_minor: 12000, change_minor: 200,
      });

      // Refund part of it in cash, with a reason.
      await page.getByRole('link', { name: 'Open the sale' }).click();
      await page.getByRole('heading', { name: `Sale ${invoice}`, level: 1 }).waitFor();
      await page.getByLabel(/^Amount/).fill('15');
      await page.getByRole('button', { name: 'Refund', exact: true }).click();
      await page.locator('section[aria-labelledby=h-refund] [role=alert]').waitFor();
      assert.equal(await page.getByLabel(/^Amount/).inputValue(), '15', 'the amount is kept when the reason is missing');
      await page.getByLabel('Reason for the refund').fill('Redness after the peel: goodwill');
      await page.getByRole('button', { name: 'Refund', exact: true }).click();
      await page.getByText('Refunded £15.00: give it back in cash.').waitFor();
      await page.locator('#h-sale').getByText('Partially refunded').waitFor();
      assert.match(await page.locator('section[aria-labelledby=h-corrections]').textContent(), /Refund £15\.00.*Redness after the peel/s);
      await checkBothSizes(page, 'sale-refunded');
      const view = await api(base, 'GET', `/v1/sales/${saleId}`, token);
      assert.equal(view.status, 'partially_refunded');
      assert.equal(view.returned_minor, 1500);

      // The day's sales list it by number.
      await page.getByRole('link', { name: "← The day's sales" }).click();
      await page.getByLabel('Location').selectOption({ label: 'Till Street' });
      await page.locator(`tr[data-invoice="${invoice}"]`).waitFor();
      assert.match(await page.locator(`tr[data-invoice="${invoice}"]`).textContent(), /Tilly Ledger.*£118\.00.*Card \(terminal\) £100\.00/s);
      await checkBothSizes(page, 'sales');
      await page.close();
    });

    await test('the front desk rings up a walk-in product sale with no discount offered, and a practitioner is offered no till', async () => {
      const page = await fresh();
      await signInThroughApp(page, base, 'desk@demo-clinic.test');
      await page.getByRole('heading', { name: 'Today', level: 1 }).waitFor();
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Till' }).click();
      await page.getByRole('heading', { name: 'Till', level: 1 }).waitFor();
      await page.getByLabel('Location').selectOption({ label: 'Marylebone' });
      // A walk-in who is already a client: found by surname.
      await page.getByLabel('Client', { exact: true }).fill('Ledger');
      await page.getByRole('button', { name: /Tilly Ledger/ }).click();
      await page.getByText('Client: Tilly Ledger').waitFor();
      await page.getByRole('button', { name: 'Add a product' }).click();
      const line = page.getByRole('group', { name: /^Line 1/ });
      await line.getByLabel('Product').fill('SPF 50 sunscreen');
      await line.getByLabel('SKU (optional)').fill('SPF-50-50ML');
      await line.getByLabel('Quantity').fill('2');
      await line.getByLabel('Unit price (GBP)').fill('12.99');
      assert.equal(await page.getByLabel(/^Discount on/).count(), 0, 'no discount for the front desk');
      assert.equal(await page.getByRole('heading', { name: 'Discount on the whole sale' }).count(), 0);
      await page.getByRole('button', { name: 'Add bank transfer' }).click();
      const transfer = page.getByRole('group', { name: 'Bank transfer' });
      // The amount still due comes from the server's quote.
      await page.locator('#quote [data-total]', { hasText: '£25.98' }).waitFor();
      await transfer.getByLabel('Bank transfer amount (GBP)').fill('25.98');
      await transfer.getByLabel('Transfer reference').fill('FPS 7781');
      await page.getByRole('button', { name: 'Complete sale' }).click();
      assert.equal((await page.locator('#invoice-number').textContent()).trim(), 'INV-000002');
      await page.getByText('No change to give.').waitFor();
      const walkIn = (await api(base, 'GET', `/v1/sales?day=${dayIn('Europe/London')}&location_id=${(await api(base, 'GET', '/v1/locations', token)).find((l) => l.name === 'Marylebone').id}`, token))[0];
      assert.deepEqual([walkIn.client_id, walkIn.lines[0].sku, walkIn.lines[0].quantity, walkIn.totals.tax_minor, walkIn.tenders[0].method],
        [booked.client.id, 'SPF-50-50ML', 2, 433, 'bank_transfer']);
      // The desk may not void.
      await page.getByRole('link', { name: 'Open the sale' }).click();
      await page.getByRole('heading', { name: 'Sale INV-000002', level: 1 }).waitFor();
      assert.equal(await page.locator('#h-void').count(), 0);
      assert.equal(await page.locator('#h-refund').count(), 0, 'refunds need payments_write');
      await page.getByRole('button', { name: 'Sign out' }).click();

      const requested = [];
      page.on('request', (r) => requested.push(new URL(r.url()).pathname));
      await signInThroughApp(page, base, 'ada@demo-clinic.test');
      await page.getByRole('heading', { name: 'Today', level: 1 }).waitFor();
      const nav = await page.getByRole('navigation', { name: 'Main' }).textContent();
      assert.doesNotMatch(nav, /Till/);
      await page.goto(`${base}/app/#/till`);
      await page.getByRole('heading', { name: 'Not available', level: 1 }).waitFor();
      assert.deepEqual(requested.filter((p) => p.startsWith('/v1/sales')), []);
      await page.close();
    });

    await test('the owner voids a sale the same day with a reason', async () => {
      const page = await fresh();
      const created = await api(base, 'POST', '/v1/sales', token, {
        location_id: booked.location.id, lines: [{ kind: 'product', name: 'Cleanser', unit_price_minor: 1500 }],
        tenders: [{ method: 'cash', tendered_minor: 2000 }],
      });
      assert.equal(created.totals.change_minor, 500);
      await signInThroughApp(page, base, 'owner@demo-clinic.test');
      await page.getByRole('heading', { name: 'Today', level: 1 }).waitFor();
      await page.goto(`${base}/app/#/sales/${created.id}`);
      await page.getByRole('heading', { name: `Sale ${created.invoice_number}`, level: 1 }).waitFor();
      await page.getByLabel('Reason for the void').fill('Rung up twice');
      await page.getByRole('button', { name: 'Void sale' }).click();
      await page.getByText(`${created.invoice_number} is voided`).waitFor();
      await page.locator('#h-sale').getByText('Voided').waitFor();
      assert.equal(await page.locator('#h-refund').count(), 0, 'nothing more to refund');
      assert.equal((await api(base, 'GET', `/v1/sales/${created.id}`, token)).status, 'voided');
      await page.close();
    });

    await test('the owner sets a commission rule and sees what the practitioner earned on today\'s treatment, and its CSV', async () => {
      const page = await fresh();
      await api(base, 'POST', '/v1/sales', token, {
        location_id: booked.location.id,
        lines: [{ kind: 'service', name: 'Chemical peel', service_id: booked.peel.id, practitioner_id: booked.practitioner.id, unit_price_minor: 12000 }],
        tenders: [{ method: 'cash', tendered_minor: 12000 }],
      });
      await signInThroughApp(page, base, 'owner@demo-clinic.test');
      await page.getByRole('heading', { name: 'Today', level: 1 }).waitFor();
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Commissions' }).click();
      await page.getByRole('heading', { name: 'Commissions', level: 1 }).waitFor();
      await page.getByRole('button', { name: 'Add a rule' }).click();
      const rule = page.locator('#commission-rules fieldset').first();
      assert.equal(await rule.getByLabel('Who').inputValue(), '', 'a new rule is for everyone');
      await rule.locator('input[name=percent]').fill('10');
      await page.getByRole('button', { name: 'Save the rules' }).click();
      await page.getByText('Rules saved.').waitFor();
      const day = dayIn(booked.zone);
      const period = page.getByRole('form', { name: 'Period' });
      await period.getByLabel('From').fill(day);
      await period.getByLabel('To', { exact: true }).fill(day);
      await page.getByRole('button', { name: 'Show' }).click();
      const row = page.locator(`#commission-report tr[data-practitioner="${booked.practitioner.id}"]`);
      await row.waitFor();
      // The first test's sale was Iris Till's too: the screen shows what the server worked out,
      // and that includes 10% of this 120.00 peel.
      const report = await api(base, 'GET', `/v1/commissions/report?from=${day}&to=${day}`, token);
      const iris = report.practitioners.find((p) => p.practitioner_id === booked.practitioner.id);
      assert.ok(iris.lines.some((l) => l.amount_minor === 12000 && l.commission_minor === 1200), JSON.stringify(iris.lines));
      const shown = (iris.commission_minor / 100).toFixed(2);
      assert.match(await row.locator('td.commission').textContent(), new RegExp(`£${shown.replace('.', '\\.')}`));
      await page.getByRole('button', { name: 'Prepare the CSV' }).click();
      const link = page.getByRole('link', { name: 'Download the CSV' });
      await link.waitFor();
      assert.match(await link.getAttribute('download'), /^commissions-/);
      await check(page, 'commissions');
      await page.close();
    });
  } finally {
    if (browser) await browser.close();
    local.stop();
  }
  finish('till');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
