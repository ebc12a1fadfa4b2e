// The academy's student side end to end in headless Chromium against the real local host:
//   - the clinic publishes a paid course with two lessons and a timed quiz, and runs a cohort
//   - a student enrols on courses.html and pays on the hosted page; the webhook confirms her place
//   - on learn.html she asks for a sign-in link; the emailed link (the local outbox) signs her in,
//     once; the page passes axe-core
//   - she reads and completes both lessons, then takes the timed quiz (a countdown shows) and
//     passes it: the server graded it, and her coursework is done
//   - the owner's gradebook (the API, and the back office's Academy screen) has her best score and
//     the lessons completed
//
// Environment: MAS_LOCAL_BIN (the `local` binary), MAS_APP_DIR (the built back office), CHROMIUM.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const assert = require('node:assert/strict');
const { SHOTS, test, finish, startLocal, api, newestMail, launch, signInThroughApp, watchPage, WIDE, noAxeViolations } = require('./harness.cjs');

const SLUG = 'demo-clinic';
const STUDENT = 'grace.student@example.test';

const course = {
  title: 'Dermal filler foundations', slug: 'filler-foundations', cpd_hours: 8, price_minor: 30000,
  summary: 'Anatomy and safe technique.',
  modules: [{ title: 'Anatomy', lessons: [
    { title: 'The lips', body: '# Lip anatomy\n\nThe **vermilion** border.' },
    { title: 'Danger zones', body: 'Arteries to avoid:\n\n- superior labial\n- facial' }] }],
  quizzes: [{
    id: 'anatomy', title: 'Anatomy quiz', time_limit_minutes: 5, max_attempts: 2, pass_mark_percent: 100,
    questions: [
      { prompt: 'Which artery runs along the upper lip?', answer: { kind: 'single_choice', options: ['Superior labial', 'Temporal'], correct: 0 } },
      { prompt: 'Which are danger zones?', answer: { kind: 'multiple_choice', options: ['Facial artery', 'Earlobe', 'Superior labial artery'], correct: [0, 2] } },
      { prompt: 'Needle gauge commonly used (number)?', answer: { kind: 'numeric', answer: 27, tolerance: 3 } },
      { prompt: 'Name the border of the lip', answer: { kind: 'short_text', answers: ['vermilion', 'vermilion border'] } },
    ],
  }],
};

async function main() {
  fs.mkdirSync(SHOTS, { recursive: true });
  const local = await startLocal();
  const { base, token } = local;
  const site = `${base}/sites/${SLUG}/`;
  let browser;
  try {
    browser = await launch({ viewport: WIDE, timezoneId: 'Europe/London' });
    const { context } = browser;
    const page = watchPage(context.pages()[0] || await context.newPage());
    const made = await api(base, 'POST', '/v1/courses', token, course);
    await api(base, 'POST', `/v1/courses/${made.id}/publish`, token);
    const me = await api(base, 'GET', '/v1/me', token);
    const starts = new Date(Date.now() + 7 * 86400000).toISOString().slice(0, 10);
    const cohort = await api(base, 'POST', '/v1/cohorts', token,
      { course_id: made.id, starts_on: starts, ends_on: starts, seats: 6, educator_id: me.member.id });

    await test('a student enrols on the courses page and pays; the webhook confirms her place', async () => {
      await page.goto(site + 'courses.html');
      const form = page.locator(`form[data-cohort="${cohort.id}"]`);
      await form.getByLabel('Your name').fill('Grace Student');
      await form.getByLabel('Your email').fill(STUDENT);
      await form.getByRole('button', { name: 'Enrol' }).click();
      await page.waitForURL(/\/local\/checkout\/cs_/);
      await page.getByRole('button', { name: 'Pay (test card succeeds)' }).click();
      let roster = [];
      for (let i = 0; i < 50; i += 1) {
        roster = await api(base, 'GET', `/v1/cohorts/${cohort.id}/enrolments`, token);
        if (roster[0] && roster[0].status === 'confirmed') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(roster[0] && roster[0].status, 'confirmed', JSON.stringify(roster));
    });

    let link;
    await test('she signs in on learn.html by the emailed link, which works once', async () => {
      await page.goto(site + 'learn.html');
      await page.getByLabel('Email').fill(STUDENT);
      await page.getByRole('button', { name: 'Email me a sign-in link' }).click();
      await page.getByText('a sign-in link is on its way').waitFor();
      await noAxeViolations(page, 'the learning page (signed out)');
      const mail = await newestMail(base, STUDENT, /learn\.html#token=/);
      link = mail.text.match(/https?:\/\/\S+learn\.html#token=\S+/)[0];
      await page.goto(link);
      await page.getByRole('heading', { name: course.title, level: 2 }).waitFor();
      assert.equal(new URL(page.url()).hash, '', 'the token is taken out of the address bar');
      assert.match(await page.locator('.progress').textContent(), /0 of 2 lessons completed/);
      const reuse = await fetch(`${base}/v1/public/${SLUG}/learn/session`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token: new URL(link).hash.split('token=')[1] }),
      });
      assert.equal(reuse.status, 401, 'a link works once');
    });

    await test('she completes both lessons', async () => {
      assert.match(await page.locator('.lesson-text').first().innerHTML(), /<strong>vermilion<\/strong>/);
      for (const title of ['The lips', 'Danger zones']) {
        const lesson = page.locator('li.lesson', { has: page.getByRole('heading', { name: title }) });
        await lesson.getByRole('button', { name: 'Mark complete' }).click();
        await lesson.getByText('Completed').waitFor();
      }
      await page.getByText('2 of 2 lessons completed').waitFor();
      await noAxeViolations(page, 'the learning page (signed in)');
    });

    await test('she passes the timed quiz, graded by the server, and her coursework is done', async () => {
      const quiz = page.locator('li.quiz[data-quiz="anatomy"]');
      await quiz.getByRole('button', { name: 'Start quiz' }).click();
      const form = page.locator('form.attempt');
      assert.match(await form.locator('.timer').textContent(), /Time left: [45]:\d\d/);
      const answerOf = {
        'Which artery runs along the upper lip?': async (q) => q.getByLabel('Superior labial', { exact: true }).check(),
        'Which are danger zones?': async (q) => {
          await q.getByLabel('Facial artery').check();
          await q.getByLabel('Superior labial artery').check();
        },
        'Needle gauge commonly used (number)?': async (q) => q.getByLabel('Your answer').fill('27'),
        'Name the border of the lip': async (q) => q.getByLabel('Your answer').fill('  Vermilion '),
      };
      for (const q of await form.locator('fieldset.question').all()) {
        const legend = (await q.locator('legend').textContent()).replace(/ \(\d+ points?\)$/, '');
        await answerOf[legend](q);
      }
      await page.screenshot({ path: path.join(SHOTS, 'learn-quiz.png'), fullPage: true });
      await form.getByRole('button', { name: 'Submit answers' }).click();
      await page.getByText('Anatomy quiz: 100%, passed.').waitFor();
      await page.getByText('coursework done').waitFor();
      await page.screenshot({ path: path.join(SHOTS, 'learn-done.png'), fullPage: true });
    });

    await test("the owner's gradebook has her best score and lessons, in the back office too", async () => {
      const book = await api(base, 'GET', `/v1/cohorts/${cohort.id}/gradebook`, token);
      const row = book.students.find((s) => s.email === STUDENT);
      assert.deepEqual([row.lessons_completed, row.quizzes[0].best_percent, row.quizzes[0].passed, row.coursework_done], [2, 100, true, true]);
      await signInThroughApp(page, base, 'owner@demo-clinic.test');
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Academy' }).click();
      await page.locator(`tr[data-cohort="${cohort.id}"]`).getByRole('button', { name: 'Gradebook' }).click();
      const line = page.locator(`#academy-gradebook tr[data-email="${STUDENT}"]`);
      await line.waitFor();
      assert.match(await line.textContent(), /2 of 2.*100% passed \(1 of 2\).*Done/);
      await noAxeViolations(page, 'the gradebook');
      await page.screenshot({ path: path.join(SHOTS, 'learn-gradebook.png'), fullPage: true });
    });
  } finally {
    if (browser) await browser.close();
    local.stop();
  }
  finish('learn');
}

main().catch((err) => { console.error(err); process.exit(1); });
