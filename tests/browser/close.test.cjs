// End-to-end tests of the back office's daily close (#/close) in headless Chromium against the
// real local host:
//   - the front desk opens the day of a location with a cash sale and a card sale, sees the
//     server's takings, counts the drawer by note and coin with a float, sees the difference
//     live, closes the day (£1.00 short), and a sale on the closed day is then refused
//   - the day's CSV downloads with a row per sale and the cash-up
//   - the front desk is offered no reopening; the owner reopens the day; a practitioner is
//     offered no close at all
//   - the screen passes axe-core and is photographed at 1440×900 and 390×844, open and closed
//
// Environment: MAS_LOCAL_BIN (the `local` binary), MAS_APP_DIR (the built back office), CHROMIUM.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const assert = require('node:assert/strict');
const { SHOTS, failures, test, finish, startLocal, api, launch, signInThroughApp, axe, WIDE, dayIn, screenChecks } = require('./harness.cjs');

const ZONE = 'Europe/London';

const { check, checkBothSizes } = screenChecks('close');

async function main() {
  fs.mkdirSync(SHOTS, { recursive: true });
  const local = await startLocal();
  const { base, token } = local;
  console.log(`local host ${base}`);
  let browser;
  try {
    // A location of its own, and its day so far: 40.00 in cash (50.00 handed over) and 25.00
    // on the card terminal.
    const location = await api(base, 'POST', '/v1/locations', token, {
      name: 'Close Lane', timezone: ZONE,
      address: { line1: '2 Close Lane', city: 'London', postcode: 'W1A 2AA', country: 'GB' },
      opening_hours: ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'].map((day) => ({ day, start: '06:00', end: '22:00' })),
    });
    const product = (name, price) => [{ kind: 'product', name, unit_price_minor: price, tax: { rate_bp: 0, mode: 'inclusive' } }];
    await api(base, 'POST', '/v1/sales', token, {
      location_id: location.id, lines: product('Serum', 4000), tenders: [{ method: 'cash', tendered_minor: 5000 }],
    });
    await api(base, 'POST', '/v1/sales', token, {
      location_id: location.id, lines: product('Balm', 2500), tenders: [{ method: 'card_external', amount_minor: 2500, terminal_reference: 'TID-1' }],
    });
    const today = dayIn(ZONE);
    browser = await launch({ viewport: WIDE });
    const { context } = browser;
    const fresh = async () => {
      const page = await context.newPage();
      page.on('pageerror', (err) => failures.push(`page error: ${err.message}`));
      return page;
    };

    await test('the front desk counts the drawer against the day, closes it £1.00 short, exports it, and the closed day takes no sale', async () => {
      const page = await fresh();
      await signInThroughApp(page, base, 'desk@demo-clinic.test');
      await page.getByRole('heading', { name: 'Today', level: 1 }).waitFor();
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Till' }).click();
      await page.getByRole('heading', { name: 'Till', level: 1 }).waitFor();
      await page.getByRole('navigation', { name: 'Till' }).getByRole('link', { name: 'Close the day' }).click();
      await page.getByRole('heading', { name: 'Close the day', level: 1 }).waitFor();
      await page.getByLabel('Location').selectOption({ label: 'Close Lane' });
      assert.equal(await page.getByLabel('Day').inputValue(), today);
      // The server's figures.
      const figures = page.locator('#day-figures');
      await figures.locator('[data-sales]', { hasText: '2 · £65.00' }).waitFor();
      assert.equal((await figures.locator('[data-net]').textContent()).trim(), '£65.00');
      assert.equal((await figures.locator('[data-expected]').textContent()).trim(), '£40.00');
      assert.match(await page.locator('tr[data-method=cash]').textContent(), /Cash£40\.00£0\.00£40\.00/);
      assert.match(await page.locator('tr[data-method=card_external]').textContent(), /Card \(terminal\)£25\.00/);

      // Float 100.00, and 139.00 counted: 5 × £20, 3 × £10, 1 × £5, 2 × £2.
      await page.getByLabel(/^Float left in the drawer/).fill('100');
      await page.getByLabel('£20.00 ×').fill('5');
      await page.getByLabel('£10.00 ×').fill('3');
      await page.getByLabel('£5.00 ×').fill('1');
      await page.getByLabel('£2.00 ×').fill('2');
      assert.equal((await page.locator('[data-expected-total]').textContent()).trim(), '£140.00');
      assert.equal((await page.locator('[data-counted]').textContent()).trim(), '£139.00');
      assert.equal((await page.locator('form [data-difference]').textContent()).trim(), '-£1.00');
      await page.getByLabel('Note (optional)').fill('One pound coin missing');
      await checkBothSizes(page, 'counting');
      await page.getByRole('button', { name: 'Close the day' }).click();
      await page.getByText('The day is closed: £1.00 short.').waitFor();
      assert.equal((await page.locator('#cash-up [data-difference]').textContent()).trim(), '-£1.00');
      assert.equal(await page.getByRole('button', { name: 'Reopen the day' }).count(), 0, 'only owners reopen');
      await checkBothSizes(page, 'closed');

      const day = await api(base, 'GET', `/v1/sales/close?location_id=${location.id}&date=${today}`, token);
      assert.deepEqual([day.close.float_minor, day.close.expected_minor, day.close.counted_minor, day.close.difference_minor], [10000, 14000, 13900, -100]);
      assert.deepEqual(day.close.denominations, [
        { value_minor: 2000, count: 5 }, { value_minor: 1000, count: 3 }, { value_minor: 500, count: 1 }, { value_minor: 200, count: 2 },
      ]);
      await assert.rejects(api(base, 'POST', '/v1/sales', token, {
        location_id: location.id, lines: product('Late', 500), tenders: [{ method: 'cash', tendered_minor: 500 }],
      }), /409.*day_closed/);

      // The CSV: a row per sale, the totals and the cash-up.
      await page.getByRole('button', { name: 'Prepare the CSV' }).click();
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download the CSV' }).click()]);
      assert.equal(download.suggestedFilename(), `till-${today}.csv`);
      const csv = fs.readFileSync(await download.path(), 'utf8');
      const rows = csv.split('\r\n');
      assert.equal(rows[0], 'record,invoice_number,at,method,amount,currency,tax,tips,reference,by,note');
      assert.ok(rows.some((r) => r.startsWith('"sale","INV-') && r.includes('"cash","40.00","GBP"')), csv);
      assert.ok(rows.some((r) => r.includes('"card_external","25.00","GBP"') && r.includes('"TID-1"')), csv);
      assert.ok(rows.some((r) => r.startsWith('"counted_cash"') && r.includes('"139.00"')), csv);
      assert.ok(rows.some((r) => r.startsWith('"difference"') && r.includes('"-1.00"') && r.includes('One pound coin missing')), csv);
      await page.close();
    });

    await test('the owner reopens the closed day, and a practitioner is offered no close', async () => {
      const page = await fresh();
      await signInThroughApp(page, base, 'owner@demo-clinic.test');
      await page.getByRole('heading', { name: 'Today', level: 1 }).waitFor();
      await page.goto(`${base}/app/#/close`);
      await page.getByRole('heading', { name: 'Close the day', level: 1 }).waitFor();
      await page.getByLabel('Location').selectOption({ label: 'Close Lane' });
      await page.getByRole('heading', { name: 'Closed', level: 2 }).waitFor();
      await page.getByRole('button', { name: 'Reopen the day' }).click();
      await page.getByText('The day is open again.').waitFor();
      await page.getByRole('button', { name: 'Close the day' }).waitFor();
      const day = await api(base, 'GET', `/v1/sales/close?location_id=${location.id}&date=${today}`, token);
      assert.equal(day.close, null);
      await api(base, 'POST', '/v1/sales', token, {
        location_id: location.id, lines: product('After', 500), tenders: [{ method: 'cash', tendered_minor: 500 }],
      });
      await page.getByRole('button', { name: 'Sign out' }).click();

      const requested = [];
      page.on('request', (r) => requested.push(new URL(r.url()).pathname));
      await signInThroughApp(page, base, 'ada@demo-clinic.test');
      await page.getByRole('heading', { name: 'Today', level: 1 }).waitFor();
      await page.goto(`${base}/app/#/close`);
      await page.getByRole('heading', { name: 'Not available', level: 1 }).waitFor();
      assert.deepEqual(requested.filter((p) => p.startsWith('/v1/sales')), []);
      await page.close();
    });
  } finally {
    if (browser) await browser.close();
    local.stop();
  }
  finish('close');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
