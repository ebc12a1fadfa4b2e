// The academy end to end in headless Chromium against the real local host:
//   - the clinic's site's courses page (courses.html) lists the demo's published course with its
//     cohort and the places left, and passes axe-core
//   - a student enrols there: the seat is held and she goes on to the hosted payment page (the
//     simulated gateway's); she pays, its signed webhook confirms her enrolment, and the roster
//     (the owner's) has her confirmed with the price paid; the page then shows one place fewer
//   - the back office's Academy screen shows the course, the cohort and her on its roster
//
// Environment: MAS_LOCAL_BIN (the `local` binary), MAS_APP_DIR (the built back office), CHROMIUM.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const assert = require('node:assert/strict');
const { SHOTS, failures, test, finish, startLocal, api, launch, signInThroughApp, WIDE, noAxeViolations, watchPage } = require('./harness.cjs');

const SLUG = 'demo-clinic';

async function main() {
  fs.mkdirSync(SHOTS, { recursive: true });
  const local = await startLocal();
  const { base, token } = local;
  const site = `${base}/sites/${SLUG}/`;
  let browser;
  try {
    browser = await launch({ viewport: WIDE, timezoneId: 'Europe/London' });
    const { context } = browser;
    const page = context.pages()[0] || await context.newPage();
    watchPage(page);
    const [course] = await api(base, 'GET', `/v1/public/${SLUG}/courses`, null);
    const cohort = course.cohorts[0];

    await test('a student enrols on the courses page, pays on the hosted page, and the webhook confirms her place', async () => {
      await page.goto(site + 'courses.html');
      await page.getByRole('heading', { name: course.title, level: 2 }).waitFor();
      assert.match(await page.locator('#courses').textContent(), new RegExp(`${cohort.seats_left} of ${cohort.seats} places left`));
      await noAxeViolations(page, 'the courses page');
      const form = page.locator(`form[data-cohort="${cohort.id}"]`);
      await form.getByLabel('Your name').fill('Ada Student');
      await form.getByLabel('Your email').fill('ada.student@example.test');
      await page.screenshot({ path: path.join(SHOTS, 'academy-courses.png'), fullPage: true });
      await form.getByRole('button', { name: 'Enrol' }).click();
      await page.waitForURL(/\/local\/checkout\/cs_/);
      await page.getByRole('button', { name: 'Pay (test card succeeds)' }).click();
      let roster = [];
      for (let i = 0; i < 50; i += 1) {
        roster = await api(base, 'GET', `/v1/cohorts/${cohort.id}/enrolments`, token);
        if (roster[0] && roster[0].status === 'confirmed') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(roster.length, 1);
      assert.equal(roster[0].status, 'confirmed', JSON.stringify(roster));
      assert.equal(roster[0].paid_minor, course.cohorts[0].price_minor);
      await page.goto(site + 'courses.html');
      await page.getByText(`${cohort.seats_left - 1} of ${cohort.seats} places left`).waitFor();
    });

    await test("the back office's Academy screen shows the course, its cohort and her on its roster", async () => {
      await signInThroughApp(page, base, 'owner@demo-clinic.test');
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Academy' }).click();
      await page.getByRole('heading', { name: 'Academy', level: 1 }).waitFor();
      await page.locator('#academy-courses').getByText(course.title).waitFor();
      await page.locator(`tr[data-cohort="${cohort.id}"]`).getByRole('button', { name: 'Roster' }).click();
      await page.locator('#academy-roster tr[data-email="ada.student@example.test"]').waitFor();
      assert.match(await page.locator('#academy-roster').textContent(), /Confirmed \(Online\)/);
      await noAxeViolations(page, 'the Academy screen');
      await page.screenshot({ path: path.join(SHOTS, 'academy-screen.png'), fullPage: true });
    });
  } finally {
    if (browser) await browser.close();
    local.stop();
  }
  finish('academy');
}

main().catch((err) => { console.error(err); process.exit(1); });
