// The academy end to end in headless Chromium against the real local host:
//   - the clinic's site's courses page (courses.html) lists the demo's published course with its
//     cohort and the places left, and passes axe-core
//   - a student enrols there: the seat is held and she goes on to the hosted payment page (the
//     simulated gateway's); she pays, its signed webhook confirms her enrolment, and the roster
//     (the owner's) has her confirmed with the price paid; the page then shows one place fewer
//   - the back office's Academy screen shows the course, the cohort and her on its roster
//   - an educator (invited, signed in through the app) opens her cohort's practical logbook,
//     signs a student off; that meets the course's requirement, the enrolment completes, and the
//     render worker issues the certificate: the owner sees it on the screen and revokes it, and
//     its public verification page says revoked
//
// Environment: MAS_LOCAL_BIN (the `local` binary), MAS_APP_DIR (the built back office), CHROMIUM.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const assert = require('node:assert/strict');
const {
  SHOTS, failures, test, finish, startLocal, api, launch, newestMail, signInThroughApp, WIDE, noAxeViolations, watchPage, invitationLink,
  acceptInvitation,
} = require('./harness.cjs');

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

    await test('an educator signs off practicals in the back office; the course completes and its certificate is issued, then revoked', async () => {
      const email = 'eve.educator@example.test';
      const member = await api(base, 'POST', '/v1/team', token, { email, name: 'Eve Educator', role: 'educator' });
      const lips = await api(base, 'POST', '/v1/courses', token, {
        title: 'Dermal fillers: lips', slug: 'lip-filler', cpd_hours: 6, price_minor: 0,
        modules: [{ title: 'Anatomy', lessons: [{ title: 'The lips', body: 'Vermilion and philtrum.' }] }],
        competencies: [{ name: 'Lip filler', required: 2 }],
      });
      await api(base, 'POST', `/v1/courses/${lips.id}/publish`, token);
      const starts = new Date(Date.now() + 20 * 86400000).toISOString().slice(0, 10);
      const run = await api(base, 'POST', '/v1/cohorts', token,
        { course_id: lips.id, starts_on: starts, ends_on: starts, seats: 4, educator_id: member.id });
      const bea = await api(base, 'POST', `/v1/cohorts/${run.id}/enrolments`, token, { name: 'Bea Student', email: 'bea@example.test' });
      // Bea does her coursework first (the course's one lesson, by her emailed sign-in link), so
      // the practicals are what remains.
      await api(base, 'POST', `/v1/public/${SLUG}/learn/link`, null, { email: 'bea@example.test' });
      const mail = await newestMail(base, 'bea@example.test', /learn\.html#token=/);
      const linkToken = mail.text.match(/learn\.html#token=(\S+)/)[1];
      const { session } = await api(base, 'POST', `/v1/public/${SLUG}/learn/session`, null, { token: linkToken });
      await api(base, 'POST', `/v1/learn/cohorts/${run.id}/lessons/1/1/complete`, session);

      await page.goto(await invitationLink(base, email));
      await acceptInvitation(page, 'eve has a long password');
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Academy' }).click();
      // She sees her cohort only (not the demo cohort the owner teaches).
      await page.locator(`tr[data-cohort="${run.id}"]`).getByRole('button', { name: 'Logbook' }).click();
      assert.equal(await page.locator(`tr[data-cohort="${cohort.id}"]`).count(), 0);
      const row = page.locator(`#academy-logbook tr[data-enrolment="${bea.id}"]`);
      await row.waitFor();
      assert.equal((await row.locator('td[data-competency="Lip filler"]').textContent()).trim(), '0 of 2');
      const form = page.locator('#sign-off');
      for (const [model, done] of [['Model one', /^Signed off\.$/], ['Model two', /course is completed/]]) {
        await form.getByLabel('Student').selectOption(bea.id);
        await form.getByLabel('Competency').selectOption('Lip filler');
        await form.getByLabel('Model').fill(model);
        await form.getByLabel('Outcome').selectOption('competent');
        await form.getByRole('button', { name: 'Sign off' }).click();
        await form.getByRole('status').filter({ hasText: done }).waitFor();
      }
      await page.locator(`#academy-logbook tr[data-enrolment="${bea.id}"] td[data-competency="Lip filler"]`, { hasText: '2 of 2' }).waitFor();
      assert.notEqual((await row.locator('td[data-completed]').textContent()).trim(), 'Not yet');
      await noAxeViolations(page, 'the practical logbook');
      await page.screenshot({ path: path.join(SHOTS, 'academy-logbook.png'), fullPage: true });

      // The owner sees the certificate the render worker issued, and revokes it.
      let certificates = [];
      for (let i = 0; i < 100 && certificates.length === 0; i += 1) {
        certificates = await api(base, 'GET', '/v1/certificates', token);
        if (certificates.length === 0) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(certificates.length, 1);
      const { number } = certificates[0];
      const check = await api(base, 'GET', `/v1/public/${SLUG}/certificates/${number}`, null);
      assert.equal(check.status, 'valid');
      assert.equal(check.student_name, 'Bea Student');
      await signInThroughApp(page, base, 'owner@demo-clinic.test');
      // Signed in as the owner (not still the educator) before the screen is opened.
      await page.getByText('Olivia Owner', { exact: true }).waitFor();
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Academy' }).click();
      const certificate = page.locator(`#academy-certificates tr[data-number="${number}"]`);
      await certificate.getByRole('button', { name: 'Revoke' }).click();
      await certificate.locator('td[data-status]', { hasText: 'Revoked' }).waitFor();
      const after = await api(base, 'GET', `/v1/public/${SLUG}/certificates/${number}`, null);
      assert.equal(after.status, 'revoked');
      await noAxeViolations(page, 'the certificates list');
    });
  } finally {
    if (browser) await browser.close();
    local.stop();
  }
  finish('academy');
}

main().catch((err) => { console.error(err); process.exit(1); });
