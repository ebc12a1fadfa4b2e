// Products and stock end to end in headless Chromium against the real local host:
//   - the front desk receives a delivery of the demo's sun cream on the Stock screen (Marylebone):
//     the level rises by what was received
//   - the front desk sells one at the till, picked from the catalog (name, SKU, price and VAT
//     filled in), for cash
//   - back on the Stock screen the level has fallen by one, and the cream's history shows the sale
//   - the owner adjusts the level after a count (the front desk sees no adjust form): the cream
//     leaves the reorder list
//   - the Stock screen and the till with a catalog product pass axe-core
//
// Environment: MAS_LOCAL_BIN (the `local` binary), MAS_APP_DIR (the built back office), CHROMIUM.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const assert = require('node:assert/strict');
const { SHOTS, failures, test, finish, startLocal, api, launch, signInThroughApp, WIDE, noAxeViolations, watchPage } = require('./harness.cjs');

const SKU = 'SPF-50-50ML';

async function openStock(page, base) {
  await page.goto(`${base}/app/#/stock`);
  await page.getByRole('heading', { name: 'Stock', level: 1 }).waitFor();
  if (await page.getByLabel('Location').count()) await page.getByLabel('Location').selectOption({ label: 'Marylebone' });
  await page.locator('#stock-levels').waitFor();
}

const onHand = (page) => page.locator(`#stock-levels tr[data-sku="${SKU}"] [data-on-hand]`);

async function main() {
  fs.mkdirSync(SHOTS, { recursive: true });
  const local = await startLocal();
  const { base, token } = local;
  const marylebone = (await api(base, 'GET', '/v1/locations', token)).find((l) => l.name === 'Marylebone');
  const levelNow = async () => (await api(base, 'GET', `/v1/stock?location_id=${marylebone.id}`, token)).find((l) => l.sku === SKU).on_hand;
  const start = await levelNow();
  console.log(`local host ${base}; ${SKU} at Marylebone: ${start}`);
  let browser;
  try {
    browser = await launch({ viewport: WIDE, timezoneId: 'Europe/London' });
    const { context } = browser;
    const page = context.pages()[0] || await context.newPage();
    watchPage(page);

    await test('the front desk receives a delivery of twelve sun creams and the level rises by twelve', async () => {
      await signInThroughApp(page, base, 'desk@demo-clinic.test');
      await page.getByRole('heading', { name: 'Today', level: 1 }).waitFor();
      await openStock(page, base);
      assert.equal(await onHand(page).textContent(), String(start));
      await page.locator(`#reorder-list tr[data-sku="${SKU}"]`).waitFor();
      assert.equal(await page.getByRole('heading', { name: 'Adjust a level' }).count(), 0, 'only owners and managers adjust');
      const receive = page.locator('form', { has: page.getByRole('button', { name: 'Receive' }) });
      await receive.getByLabel('Product').selectOption({ label: `Sun cream SPF 50, 50 ml (${SKU})` });
      await receive.getByLabel('Units received').fill('12');
      await receive.getByLabel('Delivery note (optional)').fill('DN-2027-031');
      await page.getByRole('button', { name: 'Receive', exact: true }).click();
      await page.getByRole('status').filter({ hasText: `Received 12 of ${SKU}: ${start + 12} on hand.` }).waitFor();
      await page.locator(`#stock-levels tr[data-sku="${SKU}"] [data-on-hand]`, { hasText: String(start + 12) }).waitFor();
      await noAxeViolations(page, 'the Stock screen');
      await page.screenshot({ path: path.join(SHOTS, 'stock-received.png'), fullPage: true });
    });

    await test('the front desk sells one at the till, picked from the catalog, and the level falls by one', async () => {
      await page.goto(`${base}/app/#/till`);
      await page.getByRole('heading', { name: 'Till', level: 1 }).waitFor();
      if (await page.getByLabel('Location').count()) await page.getByLabel('Location').selectOption({ label: 'Marylebone' });
      await page.getByRole('button', { name: 'Add a product' }).click();
      const line = page.getByRole('group', { name: /^Line 1: product/ });
      await line.getByLabel('From the catalog').selectOption({ label: `Sun cream SPF 50, 50 ml · ${SKU} · £28.00` });
      assert.equal(await line.getByLabel('SKU (optional)').inputValue(), SKU);
      await page.locator('#quote [data-total]', { hasText: '£28.00' }).waitFor();
      await noAxeViolations(page, 'the till with a catalog product');
      await page.getByRole('button', { name: 'Add cash' }).click();
      await page.getByRole('group', { name: 'Cash' }).getByLabel('Cash handed over (GBP)').fill('28.00');
      await page.locator('#quote', { hasText: 'The payment settles the sale.' }).waitFor();
      await page.getByRole('button', { name: 'Complete sale' }).click();
      await page.locator('#invoice-number').waitFor();
      assert.equal(await levelNow(), start + 11);

      await openStock(page, base);
      await onHand(page).filter({ hasText: String(start + 11) }).waitFor();
      await page.locator(`#stock-levels tr[data-sku="${SKU}"]`).getByRole('button', { name: 'History' }).click();
      // The history is fetched when asked for: wait for its rows before reading them.
      await page.locator('#stock-movements tbody tr[data-kind="sold"]').first().waitFor();
      const kinds = await page.locator('#stock-movements tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.kind));
      assert.deepEqual(kinds.slice(0, 2), ['sold', 'received']);
      await page.screenshot({ path: path.join(SHOTS, 'stock-sold.png'), fullPage: true });
      await page.getByRole('button', { name: 'Sign out' }).click();
    });

    await test('the owner counts the shelf and sets the level; the cream leaves the reorder list', async () => {
      await signInThroughApp(page, base, 'owner@demo-clinic.test');
      await page.getByRole('heading', { name: 'Today', level: 1 }).waitFor();
      await openStock(page, base);
      const adjust = page.locator('form', { has: page.getByRole('button', { name: 'Adjust' }) });
      await adjust.getByLabel('Product').selectOption({ label: `Sun cream SPF 50, 50 ml (${SKU})` });
      await adjust.getByLabel('Reason').selectOption('count');
      await adjust.getByLabel('Units counted').fill('20');
      await page.getByRole('button', { name: 'Adjust', exact: true }).click();
      await onHand(page).filter({ hasText: '20' }).waitFor();
      assert.equal(await levelNow(), 20);
      await page.waitForFunction((sku) => !document.querySelector(`#reorder-list tr[data-sku="${sku}"]`), SKU);
      await page.getByText('Nothing is at or below its reorder level.').waitFor();
      await noAxeViolations(page, 'the Stock screen of an owner');
    });
  } finally {
    if (browser) await browser.close();
    local.stop();
  }
  finish('stock');
}

main().catch((err) => { console.error(err); process.exit(1); });
