// Memberships end to end in headless Chromium against the real local host:
//   - the owner adds a plan in Settings › Memberships (Glow club, £49.00 a month, one chemical
//     peel included each month)
//   - the front desk starts it on a client's file; the file shows it waiting, with its sign-up page
//   - the client pays the first month on the (simulated) hosted sign-up page; the subscription's
//     signed webhooks make the membership active and give her the month's credit, which the
//     client file lists under Packages
//   - her portal shows the membership; she ends it with the month she paid for
//   - Settings › Memberships and the client file pass axe-core
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
  const client = await api(base, 'POST', '/v1/clients', token, { first_name: 'Mia', last_name: 'Member', email: 'mia.member@example.test' });
  let browser;
  try {
    browser = await launch({ viewport: WIDE, timezoneId: 'Europe/London' });
    const { context } = browser;
    const page = context.pages()[0] || await context.newPage();
    watchPage(page);

    await test('the owner adds a monthly plan with a chemical peel each month in Settings › Memberships', async () => {
      await signInThroughApp(page, base, 'owner@demo-clinic.test');
      await page.getByRole('heading', { name: 'Today', level: 1 }).waitFor();
      await page.goto(`${base}/app/#/settings/memberships`);
      await page.getByRole('heading', { name: 'Memberships', level: 2 }).waitFor();
      await page.getByLabel('Name', { exact: true }).fill('Glow club');
      await page.getByLabel('Price a month').fill('49.00');
      await page.getByLabel('Credits a month').fill('1');
      await page.getByLabel('Treatment a credit pays for').selectOption({ label: 'Chemical peel' });
      await page.getByRole('button', { name: 'Add plan' }).click();
      const row = page.locator('#membership-plans li', { hasText: 'Glow club' });
      await row.waitFor();
      assert.match(await row.textContent(), /£49\.00 a month · 1 credits a month for Chemical peel/);
      await noAxeViolations(page, 'Settings › Memberships');
      await page.screenshot({ path: path.join(SHOTS, 'memberships-settings.png'), fullPage: true });
      await page.getByRole('button', { name: 'Sign out' }).click();
    });

    let signup;
    await test('the front desk starts it on her file, which shows it waiting with its sign-up page', async () => {
      await signInThroughApp(page, base, 'desk@demo-clinic.test');
      await page.getByRole('heading', { name: 'Today', level: 1 }).waitFor();
      await page.goto(`${base}/app/#/clients/${client.id}`);
      await page.getByRole('heading', { name: 'Memberships', level: 2 }).waitFor();
      await page.getByRole('form', { name: 'Start a membership' }).getByLabel('Plan').selectOption({ label: 'Glow club (£49.00 a month)' });
      await page.getByRole('button', { name: 'Start membership' }).click();
      const row = page.locator('#client-memberships li', { hasText: 'Glow club' });
      await row.locator('.badge', { hasText: /pending/i }).waitFor();
      signup = await row.locator('[data-signup-link]').getAttribute('href');
      assert.match(signup, /\/local\/checkout\/cs_/);
    });

    await test('she pays the first month on the sign-up page: the membership is active and the month’s peel is hers', async () => {
      await page.goto(signup);
      assert.match(await page.locator('body').textContent(), /Glow club: £49\.00 a month/);
      await page.getByRole('button', { name: 'Pay (test card succeeds)' }).click();
      await page.locator('#out', { hasText: 'invoice.paid' }).waitFor();
      await page.goto(`${base}/app/#/clients/${client.id}`);
      const row = page.locator('#client-memberships li', { hasText: 'Glow club' });
      await row.locator('.badge', { hasText: /active/i }).waitFor();
      assert.match(await row.textContent(), /paid until/);
      const credit = page.locator('#client-packages li', { hasText: 'Glow club credits' });
      await credit.waitFor();
      assert.match(await credit.textContent(), /1 of 1 sessions left/);
      await noAxeViolations(page, 'the client file with a membership');
      await page.screenshot({ path: path.join(SHOTS, 'memberships-client-file.png'), fullPage: true });
      const [membership] = await api(base, 'GET', `/v1/clients/${client.id}/memberships`, token);
      assert.equal(membership.status, 'active');
      await page.getByRole('button', { name: 'Sign out' }).click();
    });

    await test('her portal shows the membership, and she ends it with the month she paid for', async () => {
      await page.goto(site + 'portal/');
      await page.getByLabel('Email', { exact: true }).fill('mia.member@example.test');
      await page.getByRole('button', { name: 'Email me a sign-in link' }).click();
      await page.locator('#link-sent').waitFor();
      const mail = await newestMail(base, 'mia.member@example.test', /#token=/);
      await page.goto(mail.text.match(/https?:\/\/\S+#token=[A-Za-z0-9_-]+/)[0]);
      const item = page.locator('#memberships li', { hasText: 'Glow club' });
      await item.waitFor({ timeout: 10000 });
      assert.match(await item.textContent(), /£49\.00 a month · active · paid until/);
      await item.getByRole('button', { name: 'End my membership with this month' }).click();
      await page.locator('#memberships li', { hasText: 'ends then' }).waitFor();
      const [membership] = await api(base, 'GET', `/v1/clients/${client.id}/memberships`, token);
      assert.equal(membership.cancel_at_period_end, true);
      await page.screenshot({ path: path.join(SHOTS, 'memberships-portal.png'), fullPage: true });
    });
  } finally {
    if (browser) await browser.close();
    local.stop();
  }
  finish('memberships');
}

main().catch((err) => { console.error(err); process.exit(1); });
