// Loyalty points end to end in headless Chromium against the real local host:
//   - the owner turns the programme on in Settings › Loyalty (1 point per £1, 100 points = £5,
//     at least 100 points a sale)
//   - the front desk sells a client a £150.00 product for cash at the till: the receipt says she
//     earned 150 points
//   - a later sale of £30.00: the till shows her 150 points (worth £7.50), "Pay with points"
//     spends 100 of them (£5.00), cash pays the rest, and she earns 25 more
//   - the client file shows 75 points and the ledger; her portal shows the balance and its worth
//   - Settings › Loyalty, the till with points and the client file pass axe-core
//
// Environment: MAS_LOCAL_BIN (the `local` binary), MAS_APP_DIR (the built back office), CHROMIUM.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const assert = require('node:assert/strict');
const { SHOTS, failures, test, finish, startLocal, api, newestMail, launch, signInThroughApp, WIDE, noAxeViolations, watchPage } = require('./harness.cjs');

const SLUG = 'demo-clinic';

async function pickClient(page) {
  await page.getByLabel('Client', { exact: true }).fill('Points');
  await page.getByRole('button', { name: /Lena Points/ }).click();
  await page.getByText('Client: Lena Points').waitFor();
}

async function openTill(page) {
  await page.goto(`${page.url().split('#')[0]}#/till`);
  await page.getByRole('heading', { name: 'Till', level: 1 }).waitFor();
  if (await page.getByLabel('Location').count()) await page.getByLabel('Location').selectOption({ label: 'Marylebone' });
}

async function product(page, name, price) {
  await page.getByRole('button', { name: 'Add a product' }).click();
  const line = page.getByRole('group', { name: /^Line 1/ });
  await line.getByLabel('Product').fill(name);
  await line.getByLabel('Unit price (GBP)').fill(price);
  await page.locator('#quote [data-total]', { hasText: `£${price}` }).waitFor();
}

async function main() {
  fs.mkdirSync(SHOTS, { recursive: true });
  const local = await startLocal();
  const { base, token } = local;
  const site = `${base}/sites/${SLUG}/`;
  console.log(`local host ${base}; site ${site}`);
  const client = await api(base, 'POST', '/v1/clients', token, { first_name: 'Lena', last_name: 'Points', email: 'lena.points@example.test' });
  let browser;
  try {
    browser = await launch({ viewport: WIDE, timezoneId: 'Europe/London' });
    const { context } = browser;
    const page = context.pages()[0] || await context.newPage();
    watchPage(page);

    await test('the owner turns the loyalty programme on in Settings › Loyalty', async () => {
      await signInThroughApp(page, base, 'owner@demo-clinic.test');
      await page.getByRole('heading', { name: 'Today', level: 1 }).waitFor();
      await page.goto(`${base}/app/#/settings/loyalty`);
      await page.getByRole('heading', { name: 'Loyalty', level: 2 }).waitFor();
      await page.getByLabel('The loyalty programme is on').check();
      await page.getByLabel('Points', { exact: true }).fill('100');
      await page.getByLabel('are worth').fill('5.00');
      await page.getByLabel('Fewest points per sale').fill('100');
      await noAxeViolations(page, 'Settings › Loyalty');
      await page.getByRole('button', { name: 'Save the programme' }).click();
      await page.getByText('Saved.').waitFor();
      await page.screenshot({ path: path.join(SHOTS, 'loyalty-settings.png'), fullPage: true });
      const programme = await api(base, 'GET', '/v1/loyalty/programme', token);
      assert.deepEqual([programme.enabled, programme.reward_points, programme.reward_minor, programme.version], [true, 100, 500, 1]);
      await page.getByRole('button', { name: 'Sign out' }).click();
    });

    await test('a £150.00 sale for cash earns the client 150 points', async () => {
      await signInThroughApp(page, base, 'desk@demo-clinic.test');
      await page.getByRole('heading', { name: 'Today', level: 1 }).waitFor();
      await openTill(page);
      await pickClient(page);
      await product(page, 'Retinol serum', '150.00');
      await page.getByRole('button', { name: 'Add cash' }).click();
      await page.getByRole('group', { name: 'Cash' }).getByLabel('Cash handed over (GBP)').fill('150.00');
      await page.locator('#quote', { hasText: 'The payment settles the sale.' }).waitFor();
      await page.getByRole('button', { name: 'Complete sale' }).click();
      await page.locator('#invoice-number').waitFor();
      await page.locator('#points-earned', { hasText: '150' }).waitFor();
    });

    await test('a later £30.00 sale spends 100 points (£5.00) at the till, cash pays the rest, and it earns 25', async () => {
      await page.getByRole('button', { name: 'Start a new sale' }).click();
      await pickClient(page);
      await page.locator('#till-loyalty-balance', { hasText: '150 points' }).waitFor();
      await page.getByText('(worth £7.50)').waitFor();
      await product(page, 'Cleanser', '30.00');
      await page.getByRole('button', { name: 'Pay with points' }).click();
      const points = page.getByRole('group', { name: 'Loyalty points' });
      await points.getByLabel('Points to spend').fill('100');
      await points.getByText('Worth £5.00').waitFor();
      await page.getByRole('button', { name: 'Add cash' }).click();
      await page.getByRole('group', { name: 'Cash' }).getByLabel('Cash handed over (GBP)').fill('25.00');
      await page.locator('#quote', { hasText: 'The payment settles the sale.' }).waitFor();
      await noAxeViolations(page, 'the till paying with points');
      await page.screenshot({ path: path.join(SHOTS, 'loyalty-till.png'), fullPage: true });
      await page.getByRole('button', { name: 'Complete sale' }).click();
      await page.locator('#invoice-number').waitFor();
      await page.locator('#points-earned', { hasText: '25' }).waitFor();
      const account = await api(base, 'GET', `/v1/clients/${client.id}/loyalty`, token);
      assert.equal(account.balance, 75);
      assert.deepEqual(account.movements.map((m) => [m.kind, m.points]), [['earned', 25], ['redeemed', -100], ['earned', 150]]);

      await page.goto(`${base}/app/#/clients/${client.id}`);
      await page.locator('#loyalty-balance', { hasText: '75 points' }).waitFor();
      assert.equal(await page.locator('#loyalty-ledger li').count(), 3);
      await noAxeViolations(page, 'the client file with loyalty points');
      await page.screenshot({ path: path.join(SHOTS, 'loyalty-client.png'), fullPage: true });
      await page.getByRole('button', { name: 'Sign out' }).click();
    });

    await test("the client's portal shows her points and what they are worth", async () => {
      await page.goto(site + 'portal/');
      await page.getByLabel('Email', { exact: true }).fill('lena.points@example.test');
      await page.getByRole('button', { name: 'Email me a sign-in link' }).click();
      await page.locator('#link-sent').waitFor();
      const mail = await newestMail(base, 'lena.points@example.test', /#token=/);
      await page.goto(mail.text.match(/https?:\/\/\S+#token=[A-Za-z0-9_-]+/)[0]);
      await page.locator('#points', { hasText: '75 points, worth £3.75' }).waitFor({ timeout: 10000 });
    });
  } finally {
    if (browser) await browser.close();
    local.stop();
  }
  finish('loyalty');
}

main().catch((err) => { console.error(err); process.exit(1); });
