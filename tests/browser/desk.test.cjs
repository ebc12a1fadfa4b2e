// End-to-end test of card payments at the desk in headless Chromium against the real local host
// and its simulated card readers:
//   - the owner registers a reader in Settings → Card readers (the simulated code `simulated-wpe`)
//   - at the till, "Card (reader)" charges it: the till shows it waiting for the card, a declined
//     card (presented on the local reader page's endpoint, as Stripe's test helper does) is shown
//     with its code, a second try is approved and becomes the sale's card tender, and the sale
//     completes with its invoice number
//   - the screens pass axe-core and are photographed at 1440×900 and 390×844
//
// Environment: MAS_LOCAL_BIN (the `local` binary), MAS_APP_DIR (the built back office), CHROMIUM.
'use strict';

const fs = require('node:fs');
const assert = require('node:assert/strict');
const { SHOTS, failures, test, finish, startLocal, api, launch, signInThroughApp, WIDE, dayIn, screenChecks } = require('./harness.cjs');

const { check } = screenChecks('desk');

/** The client taps `card` (a Stripe test card number) on the simulated reader. */
async function present(base, readerId, card) {
  const response = await fetch(`${base}/local/readers/${readerId}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ card_number: card }),
  });
  const body = await response.json();
  assert.equal(response.status, 200, JSON.stringify(body));
  assert.deepEqual(body.webhooks.map((w) => w.status), [200, 200], JSON.stringify(body.webhooks));
  return body;
}

async function main() {
  fs.mkdirSync(SHOTS, { recursive: true });
  const local = await startLocal();
  const { base, token } = local;
  console.log(`local host ${base}`);
  let browser;
  try {
    browser = await launch({ viewport: WIDE });
    const page = await browser.context.newPage();
    page.on('pageerror', (err) => failures.push(`page error: ${err.message}`));

    await test('the owner registers a card reader, and the till takes a declined then an approved card on it for a sale', async () => {
      await signInThroughApp(page, base, 'owner@demo-clinic.test');
      await page.getByRole('heading', { name: 'Today', level: 1 }).waitFor();
      await page.goto(`${base}/app/#/settings/readers`);
      await page.getByRole('heading', { name: 'Card readers' }).waitFor();
      await page.locator('#no-readers').waitFor();
      await page.getByLabel('Location').selectOption({ label: 'Marylebone' });
      await page.getByLabel('Label').fill('Front desk');
      await page.getByLabel('Registration code').fill('simulated-wpe');
      await page.getByRole('button', { name: 'Register reader' }).click();
      await page.locator('#readers li', { hasText: 'Front desk' }).waitFor();
      await check(page, 'readers');
      const readers = await api(base, 'GET', '/v1/card-readers', token);
      assert.equal(readers.length, 1);
      const readerId = readers[0].id;

      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Till' }).click();
      await page.getByRole('heading', { name: 'Till', level: 1 }).waitFor();
      await page.getByLabel('Location').selectOption({ label: 'Marylebone' });
      await page.getByRole('button', { name: 'Add a product' }).click();
      const line = page.getByRole('group', { name: /^Line 1/ });
      await line.getByLabel('Product').fill('Hydrating serum');
      await line.getByLabel('Unit price (GBP)').fill('45.00');
      await page.locator('#quote [data-total]', { hasText: '£45.00' }).waitFor();
      await page.getByRole('button', { name: 'Card (reader)' }).click();
      const card = page.getByRole('group', { name: 'Card (reader)' });
      assert.equal(await card.getByLabel('Amount to charge (GBP)').inputValue(), '45.00', 'what is still due');
      assert.equal(await card.getByLabel('Reader').inputValue(), readerId);

      await card.getByRole('button', { name: 'Charge' }).click();
      await card.getByText('Waiting for the card on Front desk…').waitFor();
      await check(page, 'waiting-for-card');
      await present(base, readerId, '4000000000000002');
      await card.getByRole('alert').filter({ hasText: 'Declined (Card declined)' }).waitFor();

      await card.getByRole('button', { name: 'Charge' }).click();
      await card.getByText('Waiting for the card on Front desk…').waitFor();
      await present(base, readerId, '4242424242424242');
      await card.getByText('Approved: £45.00 on Front desk.').waitFor();
      await check(page, 'card-approved');
      await page.getByRole('button', { name: 'Complete sale' }).click();
      const invoice = (await page.locator('#invoice-number').textContent()).trim();
      assert.match(invoice, /^INV-\d{6}$/);
      const sale = (await api(base, 'GET', `/v1/sales?day=${dayIn('Europe/London')}&location_id=${readers[0].location_id}`, token))
        .find((s) => s.invoice_number === invoice);
      assert.ok(sale, `${invoice} recorded`);
      assert.equal(sale.tenders[0].method, 'card');
      assert.match(sale.tenders[0].intent_id, /^pi_/);
    });
    await page.close();
  } finally {
    if (browser) await browser.close();
    local.stop();
  }
  finish('desk');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
