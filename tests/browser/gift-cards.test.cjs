// Gift cards end to end in headless Chromium against the real local host:
//   - bought on the clinic's site (gift-cards.html): an amount, who it is for and who buys it,
//     paid with 4242 4242 4242 4242 in the Payment Element on the simulated gateway; the page
//     waits for the webhook to issue the card, and the code arrives in the recipient's email
//   - spent in part at the back office's till: the code typed, its balance checked (£50.00),
//     £20.00 of a £30.00 sale taken from it and £10.00 in cash; the Gift cards screen then shows
//     £30.00 left and the history
//   - the recipient's portal lists the card and what is left on it (not its code)
//   - the site's page and the Gift cards screen pass axe-core
//
// Environment: MAS_LOCAL_BIN (the `local` binary), MAS_APP_DIR (the built back office), CHROMIUM.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const assert = require('node:assert/strict');
const { SHOTS, failures, test, finish, startLocal, api, newestMail, launch, signInThroughApp, WIDE, noAxeViolations, watchPage } = require('./harness.cjs');

const SLUG = 'demo-clinic';

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
    let code;

    await test('a gift card bought on the site with 4242 4242 4242 4242 is issued by the webhook and its code emailed to the recipient', async () => {
      await page.goto(site);
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Gift cards' }).click();
      await page.getByRole('heading', { name: 'Gift cards', level: 1 }).waitFor();
      await noAxeViolations(page, 'the gift-card page');
      await page.getByLabel('£50', { exact: true }).check();
      await page.getByLabel('Their name').fill('Grace Hopper');
      await page.getByLabel(/^Their email/).fill('grace.gift@example.test');
      await page.getByLabel('Your name').fill('Alan Turing');
      await page.getByLabel(/^Your email/).fill('alan.gift@example.test');
      const started = page.waitForResponse((r) => r.url().endsWith('/v1/gift-cards/purchase'));
      await page.getByRole('button', { name: 'Continue to payment' }).click();
      assert.equal((await started).status(), 201);
      const box = page.locator('#gift-pay-box');
      await box.getByLabel('Card number').fill('4242 4242 4242 4242');
      await box.getByLabel(/Expiry/).fill('12 / 34');
      await box.getByLabel('Security code').fill('123');
      await page.screenshot({ path: path.join(SHOTS, 'gift-card-pay.png'), fullPage: true });
      await box.getByRole('button', { name: /^Pay £50\.00/ }).click();
      await page.getByRole('heading', { name: 'Gift card sent' }).waitFor({ timeout: 30000 });
      const mail = await newestMail(base, 'grace.gift@example.test', /gift card/i);
      code = mail.text.split('\n').map((l) => l.trim()).find((l) => /^[2-9A-HJ-NP-Z]{4}(-[2-9A-HJ-NP-Z]{4}){4}$/.test(l));
      assert.ok(code, `a code in ${mail.text}`);
      const confirmation = await newestMail(base, 'alan.gift@example.test', /Grace Hopper/);
      assert.ok(!confirmation.text.includes(code), 'the buyer is not sent the code');
    });

    await test('the code pays £20.00 of a £30.00 sale at the till after its balance is checked, and £30.00 is left on the card', async () => {
      assert.ok(code, 'the card bought above');
      await signInThroughApp(page, base, 'desk@demo-clinic.test');
      await page.getByRole('heading', { name: 'Today', level: 1 }).waitFor();
      await page.goto(`${base}/app/#/till`);
      await page.getByRole('heading', { name: 'Till', level: 1 }).waitFor();
      if (await page.getByLabel('Location').count()) await page.getByLabel('Location').selectOption({ label: 'Marylebone' });
      await page.getByRole('button', { name: 'Add a product' }).click();
      const line = page.getByRole('group', { name: /^Line 1/ });
      await line.getByLabel('Product').fill('Hyaluronic serum');
      await line.getByLabel('Unit price (GBP)').fill('30.00');
      await page.locator('#quote [data-total]', { hasText: '£30.00' }).waitFor();
      await page.getByRole('button', { name: 'Add gift card' }).click();
      const gift = page.getByRole('group', { name: 'Gift card' });
      await gift.getByLabel('Gift card code').fill(code.toLowerCase().replace(/-/g, ' '));
      await gift.getByRole('button', { name: 'Check balance' }).click();
      await gift.getByText(/£50\.00/).waitFor();
      await gift.getByLabel('Gift card amount (GBP)').fill('20.00');
      await page.getByRole('button', { name: 'Add cash' }).click();
      await page.getByRole('group', { name: 'Cash' }).getByLabel('Cash handed over (GBP)').fill('10.00');
      await page.locator('#quote', { hasText: 'The payment settles the sale.' }).waitFor();
      await page.screenshot({ path: path.join(SHOTS, 'gift-card-till.png'), fullPage: true });
      await page.getByRole('button', { name: 'Complete sale' }).click();
      await page.locator('#invoice-number').waitFor();
      await page.getByText('No change to give.').waitFor();

      await page.goto(`${base}/app/#/gift-cards`);
      await page.getByRole('heading', { name: 'Gift cards', level: 1 }).waitFor();
      await page.getByLabel('Gift card code').fill(code);
      await page.getByRole('button', { name: 'Look up' }).click();
      const view = page.locator('#gift-card-view');
      await view.locator('[data-balance]', { hasText: '£30.00' }).waitFor();
      assert.match(await view.textContent(), /Redeemed/);
      await noAxeViolations(page, 'the Gift cards screen');
      await page.screenshot({ path: path.join(SHOTS, 'gift-cards-screen.png'), fullPage: true });
      const cards = await api(base, 'GET', '/v1/gift-cards', token);
      assert.equal(cards[0].balance_minor, 3000);
      await page.getByRole('button', { name: 'Sign out' }).click();
    });

    await test("the recipient's portal lists her gift card with what is left on it, never its code", async () => {
      await page.goto(site + 'portal/');
      await page.getByLabel('Email', { exact: true }).fill('grace.gift@example.test');
      await page.getByRole('button', { name: 'Email me a sign-in link' }).click();
      await page.locator('#link-sent').waitFor();
      const mail = await newestMail(base, 'grace.gift@example.test', /#token=/);
      await page.goto(mail.text.match(/https?:\/\/\S+#token=[A-Za-z0-9_-]+/)[0]);
      const card = page.locator('#gift-cards li');
      await card.waitFor({ timeout: 10000 });
      assert.match(await card.textContent(), /£30\.00 left of £50\.00/);
      assert.ok(!(await page.content()).includes(code), 'the code is not on the page');
    });
  } finally {
    if (browser) await browser.close();
    local.stop();
  }
  finish('gift cards');
}

main().catch((err) => { console.error(err); process.exit(1); });
