// Packages of sessions end to end in headless Chromium against the real local host:
//   - the owner adds a package template in Settings › Packages (3 chemical peels, £240.00, valid 12
//     months)
//   - the front desk sells it at the till to a client (priced by the server from the template,
//     VAT included) and takes cash
//   - the next visit's chemical peel is "paid by" a session of it: the quote says £0.00, the sale
//     is completed with no payment, and the client file shows 2 of 3 sessions left
//   - the client's portal lists the package with what is left
//   - Settings › Packages, the till with a package line and the client file pass axe-core
//
// Environment: MAS_LOCAL_BIN (the `local` binary), MAS_APP_DIR (the built back office), CHROMIUM.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const assert = require('node:assert/strict');
const { SHOTS, failures, test, finish, startLocal, api, newestMail, launch, signInThroughApp, WIDE, noAxeViolations, watchPage } = require('./harness.cjs');

const SLUG = 'demo-clinic';

/** Picks the client by surname at the till. */
async function pickClient(page) {
  await page.getByLabel('Client', { exact: true }).fill('Course');
  await page.getByRole('button', { name: /Petra Course/ }).click();
  await page.getByText('Client: Petra Course').waitFor();
}

async function openTill(page) {
  await page.goto(`${page.url().split('#')[0]}#/till`);
  await page.getByRole('heading', { name: 'Till', level: 1 }).waitFor();
  if (await page.getByLabel('Location').count()) await page.getByLabel('Location').selectOption({ label: 'Marylebone' });
}

async function main() {
  fs.mkdirSync(SHOTS, { recursive: true });
  const local = await startLocal();
  const { base, token } = local;
  const site = `${base}/sites/${SLUG}/`;
  console.log(`local host ${base}; site ${site}`);
  const client = await api(base, 'POST', '/v1/clients', token, { first_name: 'Petra', last_name: 'Course', email: 'petra.course@example.test' });
  const peel = (await api(base, 'GET', '/v1/services', token)).find((s) => s.name === 'Chemical peel');
  let browser;
  try {
    browser = await launch({ viewport: WIDE, timezoneId: 'Europe/London' });
    const { context } = browser;
    const page = context.pages()[0] || await context.newPage();
    watchPage(page);

    await test('the owner adds a package of three chemical peels in Settings › Packages', async () => {
      await signInThroughApp(page, base, 'owner@demo-clinic.test');
      await page.getByRole('heading', { name: 'Today', level: 1 }).waitFor();
      await page.goto(`${base}/app/#/settings/packages`);
      await page.getByRole('heading', { name: 'Packages', level: 2 }).waitFor();
      await page.getByLabel('Name', { exact: true }).fill('Three chemical peels');
      await page.getByLabel('Treatment it covers').selectOption({ label: 'Chemical peel' });
      await page.getByLabel('Sessions', { exact: true }).fill('3');
      await page.getByLabel('Price of the whole package').fill('240.00');
      await page.getByRole('button', { name: 'Add package' }).click();
      await page.locator('#package-templates li', { hasText: 'Three chemical peels' }).waitFor();
      await noAxeViolations(page, 'Settings › Packages');
      await page.screenshot({ path: path.join(SHOTS, 'packages-settings.png'), fullPage: true });
      await page.getByRole('button', { name: 'Sign out' }).click();
    });

    await test('the front desk sells the package at the till for cash, priced by the server from the template', async () => {
      await signInThroughApp(page, base, 'desk@demo-clinic.test');
      await page.getByRole('heading', { name: 'Today', level: 1 }).waitFor();
      await openTill(page);
      await pickClient(page);
      await page.getByRole('button', { name: 'Sell a package' }).click();
      const line = page.getByRole('group', { name: /^Line 1: package/ });
      await line.getByLabel('Package', { exact: true }).selectOption({ label: 'Three chemical peels · 3 sessions · £240.00' });
      await page.locator('#quote [data-total]', { hasText: '£240.00' }).waitFor();
      await noAxeViolations(page, 'the till with a package line');
      await page.getByRole('button', { name: 'Add cash' }).click();
      await page.getByRole('group', { name: 'Cash' }).getByLabel('Cash handed over (GBP)').fill('240.00');
      await page.locator('#quote', { hasText: 'The payment settles the sale.' }).waitFor();
      await page.getByRole('button', { name: 'Complete sale' }).click();
      await page.locator('#invoice-number').waitFor();
      await page.locator('.package-sold', { hasText: 'Three chemical peels: 3 sessions' }).waitFor();
      await page.screenshot({ path: path.join(SHOTS, 'packages-sold.png'), fullPage: true });
    });

    await test('the next peel is paid by a session of the package: nothing to pay, and 2 of 3 sessions are left', async () => {
      await page.getByRole('button', { name: 'Start a new sale' }).click();
      await pickClient(page);
      await page.getByRole('button', { name: 'Add a service' }).click();
      const line = page.getByRole('group', { name: /^Line 1/ });
      await line.getByLabel('Treatment').selectOption(peel.id);
      await line.getByLabel('Paid by').selectOption({ label: 'A session of Three chemical peels (3 of 3 left)' });
      await line.locator('[data-line-figures]', { hasText: 'Covered by the package' }).waitFor();
      await page.locator('#quote [data-total]', { hasText: '£0.00' }).waitFor();
      await page.screenshot({ path: path.join(SHOTS, 'packages-redeem.png'), fullPage: true });
      await page.getByRole('button', { name: 'Complete sale' }).click();
      await page.locator('#invoice-number').waitFor();
      const [held] = await api(base, 'GET', `/v1/clients/${client.id}/packages`, token);
      assert.deepEqual([held.sessions_used, held.sessions_remaining], [1, 2]);

      await page.goto(`${base}/app/#/clients/${client.id}`);
      await page.locator('#client-packages [data-remaining]', { hasText: '2 of 3 sessions left' }).waitFor();
      await noAxeViolations(page, 'the client file with a package');
      await page.getByRole('button', { name: 'Sign out' }).click();
    });

    await test("the client's portal lists her package with the sessions left", async () => {
      await page.goto(site + 'portal/');
      await page.getByLabel('Email', { exact: true }).fill('petra.course@example.test');
      await page.getByRole('button', { name: 'Email me a sign-in link' }).click();
      await page.locator('#link-sent').waitFor();
      const mail = await newestMail(base, 'petra.course@example.test', /#token=/);
      await page.goto(mail.text.match(/https?:\/\/\S+#token=[A-Za-z0-9_-]+/)[0]);
      const held = page.locator('#packages li');
      await held.waitFor({ timeout: 10000 });
      assert.match(await held.textContent(), /Three chemical peels.*2 of 3 sessions left · valid until/);
    });
  } finally {
    if (browser) await browser.close();
    local.stop();
  }
  finish('packages');
}

main().catch((err) => { console.error(err); process.exit(1); });
