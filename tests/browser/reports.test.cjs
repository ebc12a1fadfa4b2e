// Reports end to end in headless Chromium against the real local host:
//   - a sale rung up at Marylebone today reaches the KPI projections (its worker runs in the host)
//   - the owner's Today shows this month's tiles, revenue among them
//   - the owner's Reports screen shows the tiles beside the period before, and draws both charts
//     (uPlot, loaded as a chunk of its own when the screen opens); it passes axe-core
//   - the front desk's Reports screen has the counts and the visits chart, and no money at all
//
// Environment: MAS_LOCAL_BIN (the `local` binary), MAS_APP_DIR (the built back office), CHROMIUM.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const assert = require('node:assert/strict');
const { SHOTS, test, finish, startLocal, api, launch, signInThroughApp, watchPage, WIDE, noAxeViolations, dayIn } = require('./harness.cjs');

async function main() {
  fs.mkdirSync(SHOTS, { recursive: true });
  const local = await startLocal();
  const { base, token } = local;
  const marylebone = (await api(base, 'GET', '/v1/locations', token)).find((l) => l.name === 'Marylebone');
  const today = dayIn(marylebone.timezone);
  const sale = {
    location_id: marylebone.id,
    lines: [{ kind: 'product', name: 'Reports test cream', quantity: 1, unit_price_minor: 4200, tax: { rate_bp: 0, mode: 'inclusive' } }],
    tenders: [{ method: 'cash', tendered_minor: 4200 }],
  };
  await api(base, 'POST', '/v1/sales', token, sale);
  const kpis = () => api(base, 'GET', `/v1/analytics/kpis?from=${today}&to=${today}`, token);
  for (let i = 0; i < 100 && (await kpis()).current.totals.revenue_minor < 4200; i += 1) await new Promise((r) => setTimeout(r, 100));
  assert.ok((await kpis()).current.totals.revenue_minor >= 4200, 'the sale reached the projections');
  console.log(`local host ${base}; today ${today} at Marylebone`);
  let browser;
  try {
    browser = await launch({ viewport: WIDE, timezoneId: 'Europe/London' });
    const { context } = browser;
    const page = watchPage(context.pages()[0] || await context.newPage());

    await test("the owner's Today shows this month's tiles, revenue among them", async () => {
      await signInThroughApp(page, base, 'owner@demo-clinic.test');
      await page.getByRole('heading', { name: 'Today', level: 1 }).waitFor();
      const month = page.locator('.month-so-far');
      await month.locator('[data-kpi="visits"] .kpi-value').waitFor();
      const revenue = await month.locator('[data-kpi="revenue"] .kpi-value').textContent();
      assert.match(revenue, /^£[\d,]+\.\d\d$/);
      assert.ok(Number(revenue.replace(/[£,]/g, '')) >= 42, revenue);
    });

    await test('the owner opens Reports: tiles beside the period before, both charts drawn, no axe violations', async () => {
      await page.getByRole('link', { name: 'Reports', exact: true }).click();
      await page.getByRole('heading', { name: 'Reports', level: 1 }).waitFor();
      await page.locator('[data-kpi="revenue"] .kpi-before').waitFor();
      await page.locator('#chart-visits .uplot canvas').waitFor();
      await page.locator('#chart-revenue .uplot canvas').waitFor();
      const legend = await page.locator('#chart-revenue .u-legend').textContent();
      assert.match(legend, /Revenue \(GBP\)/);
      const drawn = await page.locator('#chart-visits canvas').evaluate((c) => c.width > 0 && c.height > 0);
      assert.ok(drawn, 'the visits chart has a size');
      // A period of one day, by the form: the address carries it, the figures follow.
      const form = page.getByRole('form', { name: 'Period' });
      await form.getByLabel('From').fill(today);
      await form.getByLabel('To', { exact: true }).fill(today);
      await page.getByRole('button', { name: 'Show' }).click();
      await page.waitForFunction((day) => location.hash.includes(`from=${day}`), today);
      await page.locator('#chart-revenue .uplot canvas').waitFor();
      await noAxeViolations(page, 'the Reports screen');
      await page.screenshot({ path: path.join(SHOTS, 'reports-owner.png'), fullPage: true });
      await page.getByRole('button', { name: 'Sign out' }).click();
    });

    await test('the front desk sees the counts and the visits chart, and no money', async () => {
      await signInThroughApp(page, base, 'desk@demo-clinic.test');
      await page.getByRole('heading', { name: 'Today', level: 1 }).waitFor();
      await page.locator('.month-so-far [data-kpi="visits"]').waitFor();
      assert.equal(await page.locator('.month-so-far [data-kpi="revenue"]').count(), 0);
      await page.goto(`${base}/app/#/reports`);
      await page.getByRole('heading', { name: 'Reports', level: 1 }).waitFor();
      await page.locator('#chart-visits .uplot canvas').waitFor();
      assert.equal(await page.locator('#chart-revenue').count(), 0, 'no revenue chart');
      assert.equal(await page.locator('[data-kpi="revenue"], [data-kpi="visit-value"]').count(), 0, 'no money tiles');
      assert.doesNotMatch(await page.locator('.reports').textContent(), /£/);
      await noAxeViolations(page, 'the Reports screen without money');
    });
  } finally {
    if (browser) await browser.close();
    local.stop();
  }
  finish('reports');
}

main().catch((err) => { console.error(err); process.exit(1); });
