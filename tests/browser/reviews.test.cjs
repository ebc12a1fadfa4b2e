// Reviews end to end in headless Chromium against the real local host:
//   - a completed visit emails its client a review link; she opens it, rates the visit and writes a
//     few words (shown as her first name and initial), and the link is spent
//   - the owner publishes it from the back office's Reviews screen and answers it
//   - the clinic's home page shows it, with schema.org JSON-LD (MedicalBusiness, aggregateRating,
//     review entries) that parses whole although her words hold `</script>`
//   - the review page and the Reviews screen pass axe-core
//
// Environment: MAS_LOCAL_BIN (the `local` binary), MAS_APP_DIR (the built back office), CHROMIUM.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const assert = require('node:assert/strict');
const { SHOTS, failures, test, finish, startLocal, api, newestMail, launch, signInThroughApp, WIDE, noAxeViolations, watchPage } = require('./harness.cjs');

const SLUG = 'demo-clinic';
const EMAIL = 'rita.reviewer@example.test';
const WORDS = 'Gentle and precise </script><b>really</b> — I would come back.';

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
    const catalog = await api(base, 'GET', `/v1/public/${SLUG}/catalog`);
    const london = catalog.locations.find((l) => l.timezone === 'Europe/London');
    const service = catalog.services.find((s) => s.name === 'HydraFacial Deluxe');
    let link;

    await test('a completed visit emails its client a one-time review link', async () => {
      const today = new Intl.DateTimeFormat('en-CA', { timeZone: london.timezone }).format(new Date());
      const to = new Date(Date.now() + 10 * 86400000).toISOString().slice(0, 10);
      const q = new URLSearchParams({ location_id: london.id, service_id: service.id, from: today, to });
      const free = await api(base, 'GET', `/v1/public/${SLUG}/availability?${q}`);
      const slot = free.slots[0];
      assert.ok(slot, 'a free time');
      const rita = await api(base, 'POST', '/v1/clients', token, { first_name: 'Rita', last_name: 'Reviewer', email: EMAIL });
      const booked = await api(base, 'POST', '/v1/appointments', token, {
        location_id: london.id, service_id: service.id, start: slot.start, practitioner_id: slot.practitioner_ids[0], client_id: rita.id,
      });
      if (booked.status === 'pending_deposit') {
        // The demo's policy asks a deposit: paid as a test card would (the webhook confirms it).
        const intent = await api(base, 'POST', '/v1/payments/deposit-intent', null, {
          tenant_slug: SLUG, appointment_id: booked.id, confirmation_number: booked.confirmation_number,
        });
        await api(base, 'POST', `/local/pay/${intent.intent_id}`);
        for (let i = 0; i < 40; i++) {
          if ((await api(base, 'GET', `/v1/appointments/${booked.id}`, token)).status === 'scheduled') break;
          await new Promise((r) => setTimeout(r, 250));
        }
      }
      for (const action of ['check_in', 'start', 'complete']) {
        await api(base, 'PATCH', `/v1/appointments/${booked.id}`, token, { action });
      }
      const mail = await newestMail(base, EMAIL, /#review=/);
      assert.match(mail.subject, /How was your HydraFacial Deluxe/);
      link = mail.text.match(/https?:\/\/\S+#review=\S+/)[0];
    });

    await test('she opens the link and reviews her visit under her first name and initial', async () => {
      await page.goto(link);
      await page.getByRole('heading', { name: 'Review your visit', level: 1 }).waitFor();
      await noAxeViolations(page, 'the review page');
      await page.getByLabel(/5 out of 5/).check();
      await page.getByLabel('Your review').fill(WORDS);
      const sent = page.waitForResponse((r) => r.url().endsWith(`/v1/public/${SLUG}/reviews`));
      await page.getByRole('button', { name: 'Send my review' }).click();
      assert.equal((await sent).status(), 201);
      await page.locator('#review-done', { hasText: /as Rita R\., will appear once the clinic has read it/ }).waitFor();
      await page.screenshot({ path: path.join(SHOTS, 'review-sent.png'), fullPage: true });
      // The link is spent: opened again, it is refused and says so.
      await page.goto('about:blank');
      await page.goto(link);
      await page.getByLabel(/3 out of 5/).check();
      await page.getByLabel('Your review').fill('Again');
      await page.getByRole('button', { name: 'Send my review' }).click();
      await page.locator('#review-error', { hasText: /used already/ }).waitFor();
    });

    await test('the owner publishes and answers it on the Reviews screen', async () => {
      await signInThroughApp(page, base, 'owner@demo-clinic.test');
      await page.getByRole('heading', { name: 'Today', level: 1 }).waitFor();
      await page.getByRole('navigation').getByRole('link', { name: 'Reviews' }).click();
      await page.getByRole('heading', { name: 'Reviews', level: 1 }).waitFor();
      const card = page.locator('#reviews-list li', { hasText: 'Rita R.' });
      await card.waitFor();
      assert.match(await card.textContent(), /Gentle and precise <\/script><b>really<\/b>/);
      await noAxeViolations(page, 'the Reviews screen');
      await page.screenshot({ path: path.join(SHOTS, 'reviews-screen.png'), fullPage: true });
      await card.getByLabel('Public reply').fill('Thank you, Rita!');
      const replied = page.waitForResponse((r) => r.url().endsWith('/reply'));
      await card.getByRole('button', { name: 'Reply' }).click();
      assert.equal((await replied).status(), 200);
      const published = page.waitForResponse((r) => r.url().endsWith('/publish'));
      await page.locator('#reviews-list li', { hasText: 'Rita R.' }).getByRole('button', { name: 'Publish' }).click();
      assert.equal((await published).status(), 200);
      await page.getByRole('status').filter({ hasText: 'Published' }).waitFor();
      await page.getByRole('button', { name: 'Published', exact: true }).click();
      await page.locator('#reviews-list li', { hasText: 'Rita R.' }).waitFor();
      await page.getByRole('button', { name: 'Sign out' }).click();
    });

    await test('the clinic site shows it with valid schema.org markup', async () => {
      await page.goto(site + 'index.html');
      const section = page.locator('#reviews');
      await section.getByRole('heading', { name: 'What our clients say' }).waitFor();
      const card = section.locator('li', { hasText: 'Rita R.' });
      assert.match(await card.textContent(), /Gentle and precise <\/script><b>really<\/b>/);
      assert.match(await card.textContent(), /Reply from .*Thank you, Rita!/);
      assert.equal(await section.locator('b').count(), 0, 'her words are text, not markup');
      const blocks = await page.locator('script[type="application/ld+json"]').allTextContents();
      assert.equal(blocks.length, 1);
      const ld = JSON.parse(blocks[0]);
      assert.equal(ld['@context'], 'https://schema.org');
      assert.equal(ld['@type'], 'MedicalBusiness');
      assert.equal(ld.aggregateRating['@type'], 'AggregateRating');
      assert.ok(ld.aggregateRating.ratingValue >= 1 && ld.aggregateRating.ratingValue <= 5);
      assert.ok(ld.aggregateRating.reviewCount >= 1);
      const mine = ld.review.find((r) => r.author.name === 'Rita R.');
      assert.ok(mine, 'her review is in the markup');
      assert.equal(mine['@type'], 'Review');
      assert.equal(mine.reviewRating.ratingValue, 5);
      assert.equal(mine.reviewBody, WORDS);
      assert.match(mine.datePublished, /^\d{4}-\d{2}-\d{2}$/);
      await noAxeViolations(page, 'the home page with reviews');
      await page.screenshot({ path: path.join(SHOTS, 'reviews-on-site.png'), fullPage: true });
    });
  } finally {
    if (browser) await browser.close();
    local.stop();
  }
  finish('reviews');
}

main().catch((err) => { console.error(err); process.exit(1); });
