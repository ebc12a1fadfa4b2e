// End-to-end tests of a clinic's site in headless Chromium (Debian's, through playwright-core),
// against the real local host on a free port with a fresh data directory:
//   - a visitor books a treatment through the wizard, sees the BK- confirmation and pays the
//     deposit with a test card (card payments in depth: payments.test.cjs)
//   - then signs in to the portal through the emailed link (read from /local/outbox.json), sees the
//     appointment, opens the reschedule step, sees the fee preview, confirms and sees the new time
//   - a visitor whose answers need a consultation is offered the consultation service
//   - every page, in each of the three themes, has no serious or critical axe-core violations
//   - screenshots: the landing page in each theme, the wizard and the portal at 390×844
//     (tests/browser/screenshots/)
//   - page weight: HTML+CSS+JS gzipped, per page
//
// Environment: MAS_LOCAL_BIN (the `local` binary), CHROMIUM (default /usr/bin/chromium).
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const assert = require('node:assert/strict');
const { SHOTS, failures, test, finish, startLocal, api, launch, axe, describe, watchPage } = require('./harness.cjs');

const SLUG = 'demo-clinic';
const THEMES = ['champagne_classic', 'luxury_noir', 'ivory_minimal'];

async function main() {
  fs.mkdirSync(SHOTS, { recursive: true });
  const local = await startLocal();
  const dataDir = local.dataDir;
  const site = `${local.base}/sites/${SLUG}/`;
  console.log(`local host ${local.base}; site ${site}`);
  let browser;
  try {
    // The visitor is in New York; the demo clinic's first location is in London.
    browser = await launch({ timezoneId: 'America/New_York' });
    const { context } = browser;
    const page = context.pages()[0] || await context.newPage();
    watchPage(page);
    let booked = null;
    const catalog = await api(local.base, 'GET', `/v1/public/${SLUG}/catalog`);
    const service = (name) => catalog.services.find((s) => s.name === name);
    const london = catalog.locations.find((l) => l.timezone === 'Europe/London');

    await test('a visitor books a treatment through the wizard and sees the BK- number', async () => {
      const hydra = service('HydraFacial Deluxe');
      await page.goto(site);
      await page.getByRole('link', { name: 'Book an appointment' }).click();
      await page.locator(`input[name=service][value="${hydra.id}"]`).check();
      await page.locator(`input[name=location][value="${london.id}"]`).check();
      await page.getByRole('button', { name: 'Continue' }).first().press('Enter');
      await page.locator('#step-time h2').waitFor();
      await assert.doesNotReject(page.waitForFunction(() => document.activeElement && document.activeElement.id === 'h-time'));
      const note = await page.locator('#tz-note').textContent();
      assert.match(note, /Europe\/London/);
      assert.match(note, /America\/New_York/);
      // A few days ahead, so the portal test below can move it outside the 24-hour window.
      await page.locator('input[name=day]').nth(3).check();
      await page.locator('input[name=time]').first().check();
      await page.locator('#form-time button[type=submit]').click();
      await page.getByLabel('First name').fill('Ada');
      await page.getByLabel('Last name').fill('Lovelace');
      await page.getByLabel('Email').fill('ada.browser@example.test');
      for (const input of await page.locator('.yesno input[value=no]').all()) await input.check();
      await page.getByLabel(/I agree to the terms/).check();
      await page.getByRole('button', { name: 'Book appointment' }).click();
      const number = await page.locator('#confirmation-number').textContent({ timeout: 15000 });
      assert.match(number, /^BK-\d{8}$/);
      assert.equal(await page.locator('#step-done').isVisible(), true);
      console.log(`      booked ${number}; status text: ${await page.locator('#status').textContent()}`);
      // HydraFacial asks a deposit: pay it with a test card in the Payment Element (the local
      // host's Stripe.js shim; the simulated gateway posts the signed webhook). More in
      // payments.test.cjs.
      assert.equal(await page.locator('#deposit').isVisible(), true);
      await page.getByRole('button', { name: /Pay the .* deposit/ }).click();
      await page.getByLabel('Card number').fill('4242 4242 4242 4242');
      await page.getByLabel(/Expiry/).fill('12 / 34');
      await page.getByLabel('Security code').fill('123');
      await page.locator('#deposit').getByRole('button', { name: /^Pay £/ }).click();
      await page.getByRole('heading', { name: 'Deposit paid' }).waitFor({ timeout: 15000 });
      assert.match(await page.locator('#status').textContent(), /confirmed/);
      const today = new Date().toISOString().slice(0, 10);
      const later = new Date(Date.now() + 60 * 86400e3).toISOString().slice(0, 10);
      const appointments = await api(local.base, 'GET', `/v1/appointments?from=${today}&to=${later}`, local.token);
      const mine = appointments.find((a) => a.confirmation_number === number.trim());
      assert.equal(mine && mine.status, 'scheduled', 'the signed webhook confirmed the booking');
      console.log(`      paid the deposit; status text: ${await page.locator('#status').textContent()}`);
      booked = { number: number.trim(), id: mine.id, start: mine.start };
    });

    await test('the visitor signs in to the portal by the emailed link and reschedules after seeing the fee', async () => {
      assert.ok(booked, 'the booking test booked first');
      await page.goto(site + 'portal/');
      await page.getByLabel('Email', { exact: true }).fill('ada.browser@example.test');
      await page.getByRole('button', { name: 'Email me a sign-in link' }).click();
      await page.locator('#link-sent').waitFor();
      // The link, from the outbox (newest first), as the client would open it from their email.
      const outbox = await api(local.base, 'GET', '/local/outbox.json');
      const mail = outbox.find((m) => m.to === 'ada.browser@example.test' && /#token=/.test(m.text));
      assert.ok(mail, 'a sign-in email in the outbox');
      assert.equal(mail.channel, 'email');
      const link = mail.text.match(/https?:\/\/\S+#token=[A-Za-z0-9_-]+/)[0];
      await page.goto(link);
      await page.locator('#account').waitFor({ timeout: 10000 }).catch(async (err) => {
        throw new Error(`${err.message}\nportal error: ${await page.locator('#portal-error').textContent()}`);
      });
      assert.equal(new URL(page.url()).hash, '', 'the token leaves the address bar');
      const item = page.locator('#upcoming li', { hasText: booked.number });
      await item.waitFor();
      const axeAccount = await axe(page);
      assert.equal(axeAccount.length, 0, describe(axeAccount));
      await item.getByRole('button', { name: /Change or cancel/ }).click();
      await page.locator('#change').waitFor();
      await page.waitForFunction(() => document.querySelector('#reschedule-fee').textContent.length > 0);
      const fee = await page.locator('#reschedule-fee').textContent();
      assert.match(fee, /No fee to reschedule/, fee);
      console.log(`      fee preview: ${fee} / cancel: ${await page.locator('#cancel-fee').textContent()}`);
      // The next day with free times after the booked one.
      const day = new Date(booked.start);
      let times = 0;
      for (let i = 1; i <= 7 && times === 0; i++) {
        day.setUTCDate(day.getUTCDate() + 1);
        await page.fill('#new-day', day.toISOString().slice(0, 10));
        await page.waitForFunction(() => !/Looking/.test(document.querySelector('#status').textContent));
        times = await page.locator('#new-times input[name=start]').count();
      }
      assert.ok(times > 0, 'a day with free times within a week');
      const axeChange = await axe(page);
      assert.equal(axeChange.length, 0, describe(axeChange));
      const chosen = page.locator('#new-times input[name=start]').first();
      const newStart = await chosen.getAttribute('value');
      await chosen.check();
      await page.getByRole('button', { name: 'Confirm new time' }).click();
      await page.waitForFunction(() => /^Done: your appointment is now on/.test(document.querySelector('#status').textContent));
      const status = await page.locator('#status').textContent();
      console.log(`      ${status}`);
      const moved = await api(local.base, 'GET', `/v1/appointments/${booked.id}`, local.token);
      assert.equal(new Date(moved.start).toISOString(), new Date(newStart).toISOString(), 'staff see the new time');
      const shown = await page.locator('#upcoming li', { hasText: booked.number }).locator('.when').textContent();
      assert.ok(status.includes(shown.replace(/ \(.*\)$/, '')), `the list shows the new time: ${shown}`);
      await page.setViewportSize({ width: 390, height: 844 });
      await page.locator('#h-account').scrollIntoViewIfNeeded();
      await page.screenshot({ path: path.join(SHOTS, 'portal-phone.png'), fullPage: true });
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 390, `the portal scrolls sideways on a phone (${width}px wide)`);
      await page.setViewportSize({ width: 1280, height: 900 });
      await page.getByRole('button', { name: 'Sign out' }).click();
    });

    await test('a treatment that needs a consultation offers the consultation service instead', async () => {
      const toxin = service('Anti-wrinkle, three areas');
      const consultation = service('Consultation');
      await page.goto(`${site}book.html?service=${toxin.id}`);
      assert.equal(await page.locator(`input[name=service][value="${toxin.id}"]`).isChecked(), true);
      await page.locator(`input[name=location][value="${london.id}"]`).check();
      await page.locator('#form-service button[type=submit]').click();
      await page.locator('input[name=day]').first().check();
      await page.locator('input[name=time]').first().check();
      await page.locator('#form-time button[type=submit]').click();
      await page.getByLabel('First name').fill('Grace');
      await page.getByLabel('Last name').fill('Hopper');
      await page.getByLabel('Email').fill('grace.browser@example.test');
      for (const input of await page.locator('.yesno input[value=no]').all()) await input.check();
      await page.locator('input[name=pregnant_or_breastfeeding][value=yes]').check();
      await page.getByLabel(/I agree to the terms/).check();
      await page.getByRole('button', { name: 'Book appointment' }).click();
      const link = page.locator('#details-error a');
      await link.waitFor();
      assert.equal(await link.getAttribute('href'), `book.html?service=${consultation.id}`);
      assert.match(await page.locator('#details-error').textContent(), /consultation/i);
    });

    await test('a visitor books a visit of two treatments, one after the other, under one BK- number', async () => {
      const hydra = service('HydraFacial Deluxe');
      const peel = service('Chemical peel');
      await page.goto(`${site}book.html?service=${hydra.id}`);
      await page.locator(`input[name=location][value="${london.id}"]`).check();
      // The same treatment cannot follow itself; the others can be added.
      assert.equal(await page.locator(`input[name=also][value="${hydra.id}"]`).isVisible(), false);
      await page.locator(`input[name=also][value="${peel.id}"]`).check();
      const asked = page.waitForRequest((r) => /\/availability\?/.test(r.url()));
      await page.locator('#form-service button[type=submit]').click();
      assert.equal(new URL((await asked).url()).searchParams.get('then'), peel.id, 'times are asked for the whole visit');
      await page.locator('input[name=day]').nth(5).check();
      await page.locator('input[name=time]').first().check();
      await page.locator('#form-time button[type=submit]').click();
      assert.match(await page.locator('#summary').textContent(), /HydraFacial Deluxe, then Chemical peel/);
      await page.getByLabel('First name').fill('Vita');
      await page.getByLabel('Last name').fill('Visit');
      await page.getByLabel('Email').fill('vita.browser@example.test');
      for (const input of await page.locator('.yesno input[value=no]').all()) await input.check();
      await page.getByLabel(/I agree to the terms/).check();
      await page.getByRole('button', { name: 'Book appointment' }).click();
      const number = (await page.locator('#confirmation-number').textContent({ timeout: 15000 })).trim();
      const parts = page.locator('#visit-parts li');
      assert.equal(await parts.count(), 2);
      assert.match(await parts.nth(1).textContent(), /Chemical peel/);
      const today = new Date().toISOString().slice(0, 10);
      const later = new Date(Date.now() + 60 * 86400e3).toISOString().slice(0, 10);
      const appointments = await api(local.base, 'GET', `/v1/appointments?from=${today}&to=${later}`, local.token);
      const visit = appointments.filter((a) => a.confirmation_number === number).sort((a, b) => a.start.localeCompare(b.start));
      assert.equal(visit.length, 2, 'both treatments are booked under the one number');
      // HydraFacial is 60 minutes with 15 after: the peel starts 75 minutes after it.
      assert.equal(Date.parse(visit[1].start) - Date.parse(visit[0].start), 75 * 60000);
      assert.equal(visit[0].status, 'pending_deposit', 'the visit is held for its deposit');
    });

    await test('the wizard works at a phone-sized viewport (screenshots)', async () => {
      await page.setViewportSize({ width: 390, height: 844 });
      await page.goto(`${site}book.html`);
      await page.screenshot({ path: path.join(SHOTS, 'wizard-phone-1-treatment.png') });
      await page.locator(`input[name=service][value="${service('Lip filler 1ml').id}"]`).check();
      await page.locator('#form-service button[type=submit]').click();
      // A day ahead (today may have one time left, late in the afternoon), its second time.
      await page.locator('input[name=day]').nth(4).check();
      await page.locator('input[name=time]').nth(1).check();
      await page.screenshot({ path: path.join(SHOTS, 'wizard-phone-2-time.png') });
      await page.locator('#form-time button[type=submit]').click();
      await page.getByLabel('First name').fill('Mary');
      await page.getByLabel('Last name').fill('Somerville');
      await page.getByLabel('Email').fill('mary.browser@example.test');
      for (const input of await page.locator('.yesno input[value=no]').all()) await input.check();
      await page.getByLabel(/I agree to the terms/).check();
      await page.screenshot({ path: path.join(SHOTS, 'wizard-phone-3-details.png'), fullPage: true });
      await page.getByRole('button', { name: 'Book appointment' }).click();
      await page.locator('#confirmation-number').waitFor();
      await page.screenshot({ path: path.join(SHOTS, 'wizard-phone-4-confirmation.png') });
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 390, `the page scrolls sideways on a phone (${width}px wide)`);
      await page.setViewportSize({ width: 1280, height: 900 });
    });

    const pages = ['index.html', 'services.html', 'book.html', 'portal/', 'privacy.html', 'terms.html'];
    const html = await (await fetch(site)).text();
    for (const m of (await (await fetch(site + 'services.html')).text()).matchAll(/href="(service-[^"]+\.html)"/g)) {
      if (!pages.includes(m[1])) pages.push(m[1]);
    }
    assert.ok(html.includes('site.css'));

    for (const theme of THEMES) {
      await test(`theme ${theme}: every page passes axe-core (no serious or critical violations)`, async () => {
        await api(local.base, 'PUT', '/v1/brand', local.token, {
          theme, subdomain: 'demo',
          seo: { title: 'Demo Aesthetics Clinic — London & New York', description: 'Doctor-led injectables, skin and laser treatments.' },
        });
        const problems = [];
        for (const file of pages) {
          await page.goto(site + file);
          if (file === 'index.html') await page.screenshot({ path: path.join(SHOTS, `landing-${theme}.png`), fullPage: true });
          const bad = await axe(page);
          if (bad.length) problems.push(`${file}:\n${describe(bad)}`);
        }
        // The wizard's later steps, too, once filled in by script.
        await page.goto(site + 'book.html');
        await page.locator('input[name=service]').nth(3).check();
        await page.locator('input[name=location]:not([disabled])').first().check();
        await page.locator('#form-service button[type=submit]').click();
        await page.locator('input[name=day]').first().check();
        let bad = await axe(page);
        if (bad.length) problems.push(`book.html (time step):\n${describe(bad)}`);
        await page.locator('input[name=time]').first().check();
        await page.locator('#form-time button[type=submit]').click();
        bad = await axe(page);
        if (bad.length) problems.push(`book.html (details step):\n${describe(bad)}`);
        assert.equal(problems.length, 0, problems.join('\n'));
        console.log(`      ${pages.length} pages + 2 wizard steps checked`);
      });
    }

    await test('page weight (HTML+CSS+JS, gzipped) is reported for every page', async () => {
      const gz = (s) => zlib.gzipSync(Buffer.from(s), { level: 9 }).length;
      const css = gz(await (await fetch(site + 'site.css')).text());
      const js = gz(await (await fetch(site + 'site.js')).text());
      const portalJs = gz(await (await fetch(site + 'portal.js')).text());
      console.log('      page                                   html    css     js  total (bytes, gzip -9)');
      for (const file of pages) {
        const body = await (await fetch(site + file)).text();
        const h = gz(body);
        const j = (body.includes('site.js') ? js : 0) + (body.includes('portal.js') ? portalJs : 0);
        console.log(`      ${file.padEnd(36)} ${String(h).padStart(6)} ${String(css).padStart(6)} ${String(j).padStart(6)} ${String(h + css + j).padStart(6)}`);
      }
      // The pay step (pay.js, then Stripe.js from js_url) loads only when a visitor pays.
      const payJs = gz(await (await fetch(site + 'pay.js')).text());
      console.log(`      ${'+ the pay step (pay.js, on demand)'.padEnd(36)} ${''.padStart(6)} ${''.padStart(6)} ${String(payJs).padStart(6)}`);
      assert.ok(js + portalJs < 50 * 1024, `JS budget: ${js + portalJs} bytes for both scripts`);
      assert.ok(payJs < 5 * 1024, `pay.js: ${payJs} bytes gzipped`);
    });

    await test('POST /v1/site/publish writes the same files the host serves (local blobs)', async () => {
      const accepted = await api(local.base, 'POST', '/v1/site/publish', local.token);
      assert.match(accepted.publish_id, /^pub_/);
      const published = path.join(dataDir, 'blobs', 'sites', SLUG);
      for (let i = 0; i < 100 && !fs.existsSync(path.join(published, 'portal', 'index.html')); i++) await new Promise((r) => setTimeout(r, 100));
      for (const file of ['index.html', 'portal/index.html', 'book.html', 'site.css', 'portal.js']) {
        const served = await (await fetch(site + file)).text();
        assert.equal(fs.readFileSync(path.join(published, file), 'utf8'), served, `${file} as published`);
      }
    });

    await test('the site also answers on the host the brand claims', async () => {
      // fetch() replaces a Host header with the URL's; node:http sends the one given.
      const { status, body } = await new Promise((resolve, reject) => {
        const url = new URL(local.base);
        require('node:http').get({ host: url.hostname, port: url.port, path: '/', headers: { host: `demo.sites.localhost:${url.port}` } }, (res) => {
          let text = '';
          res.on('data', (d) => { text += d; });
          res.on('end', () => resolve({ status: res.statusCode, body: text }));
        }).on('error', reject);
      });
      assert.equal(status, 200, body.slice(0, 200));
      assert.match(body, /Demo Aesthetics Clinic/);
    });
  } finally {
    if (browser) await browser.close();
    local.stop();
  }
  console.log(`screenshots in ${SHOTS}`);
  finish('site');
}

main().catch((err) => { console.error(err); process.exit(1); });
