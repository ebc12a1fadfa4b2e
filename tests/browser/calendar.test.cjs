// End-to-end tests of the back office's calendar (app/src/calendar) in headless Chromium against
// the real local host, through the shell's #/calendar route. The first test is the issue's
// journey: a front-desk member invited by the owner accepts in the browser, books a walk-in,
// moves a booking by drag and checks a client in; the practitioner signs in and completes it.
// The browser sits in America/New_York; the clinic's London location must still show London's clock.
//
// Environment: MAS_LOCAL_BIN (the `local` binary), MAS_APP_DIR (the built back office), CHROMIUM.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const assert = require('node:assert/strict');
const {
  SHOTS, failures, test, finish, startLocal, api, launch, signInThroughApp, inviteThroughTeamSettings, invitationLink,
  acceptInvitation, axe, describe,
} = require('./harness.cjs');

const LONDON = 'Europe/London';

/** A wall clock in London as an RFC 3339 instant (UTC). */
function londonInstant(date, time) {
  const guess = Date.parse(`${date}T${time}:00Z`);
  const wall = new Intl.DateTimeFormat('en-GB', { timeZone: LONDON, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(guess);
  const [h, m] = wall.split(':').map(Number);
  const [th, tm] = time.split(':').map(Number);
  return new Date(guess - ((h * 60 + m) - (th * 60 + tm)) * 60000).toISOString();
}

function londonWall(instant) {
  return new Intl.DateTimeFormat('en-GB', { timeZone: LONDON, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(instant));
}

/** The first Monday at least three days ahead in London (outside a 24-hour fee window), and that week's Thursday and Saturday. */
function testDays() {
  const today = new Intl.DateTimeFormat('en-CA', { timeZone: LONDON }).format(new Date());
  let day = new Date(`${today}T12:00:00Z`);
  day = new Date(day.getTime() + 3 * 86400e3);
  while (day.getUTCDay() !== 1) day = new Date(day.getTime() + 86400e3);
  const iso = (d) => d.toISOString().slice(0, 10);
  return { monday: iso(day), thursday: iso(new Date(day.getTime() + 3 * 86400e3)), saturday: iso(new Date(day.getTime() + 5 * 86400e3)) };
}

/**
 * Opens the shell's calendar route on `date` (YYYY-MM-DD), at the London location. The toolbar's
 * title ("14 Dec 2026") names the day, so a route change is not mistaken for the grid it replaces.
 */
async function openCalendar(page, base, date) {
  await page.goto(`${base}/app/#/calendar?date=${date}`);
  const [year, , day] = date.split('-').map(Number);
  await page.locator('.mas-title', { hasText: new RegExp(`^${day} \\S+ ${year}$`) }).waitFor();
  await page.getByLabel('Location').selectOption({ label: 'Marylebone' });
  await page.locator('.ec-col-head', { hasText: 'Treatment room 1' }).first().waitFor();
}

/** A point inside the grid: the column headed `column`, just below the `time` line (its label sits on the line). */
async function slotPoint(page, column, time) {
  const head = await page.locator('.ec-col-head', { hasText: column }).first().boundingBox();
  const label = await page.locator('.ec-slot time', { hasText: new RegExp(`^${time}$`) }).first().boundingBox();
  return { x: head.x + head.width / 2, y: label.y + label.height / 2 + 8 };
}

const card = (page, id) => page.locator(`.ec-event[data-appointment-id="${id}"]`);

async function main() {
  fs.mkdirSync(SHOTS, { recursive: true });
  const local = await startLocal();
  const { base, token: ownerToken } = local;
  console.log(`local host ${base}`);
  let browser;
  try {
    const [locations, practitioners, services] = await Promise.all(['/v1/locations', '/v1/practitioners', '/v1/services']
      .map((p) => api(base, 'GET', p, ownerToken)));
    const london = locations.find((l) => l.timezone === LONDON);
    const adaProfile = practitioners.find((p) => p.display_name === 'Dr Ada Okafor');
    const grace = practitioners.find((p) => p.display_name === 'Grace Lim');
    const consultation = services.find((s) => s.name === 'Consultation');
    const { monday, thursday, saturday } = testDays();
    const dayRange = (date) => `from=${londonInstant(date, '00:00')}&to=${londonInstant(date, '23:59')}`;
    const appointmentsOn = (date) => api(base, 'GET', `/v1/appointments?${dayRange(date)}&location_id=${london.id}`, ownerToken);
    let clientCount = 0;
    const book = async (practitioner, date, time) => {
      clientCount += 1;
      const client = await api(base, 'POST', '/v1/clients', ownerToken, { first_name: 'Fixture', last_name: `Client${clientCount}` });
      return api(base, 'POST', '/v1/appointments', ownerToken, {
        location_id: london.id, service_id: consultation.id, practitioner_id: practitioner.id,
        client_id: client.id, start: londonInstant(date, time),
      });
    };

    browser = await launch({ timezoneId: 'America/New_York', viewport: { width: 1440, height: 900 } });
    const { context } = browser;
    const newTab = async () => {
      const page = await context.newPage();
      page.on('pageerror', (err) => failures.push(`page error: ${err.message}`));
      return page;
    };
    const signedInTab = async (email) => {
      const page = await newTab();
      await signInThroughApp(page, base, email);
      await page.getByRole('heading', { name: 'Today', level: 1 }).waitFor();
      return page;
    };

    await test('a front-desk member invited by the owner accepts in the browser, books a walk-in, moves a booking by drag and checks a client in; the practitioner signs in and completes it', async () => {
      const moving = await book(grace, thursday, '11:00');
      const blocker = await book(grace, thursday, '14:00');
      const others = await book(grace, thursday, '16:00');

      const owner = await signedInTab('owner@demo-clinic.test');
      await inviteThroughTeamSettings(owner, base, { name: 'Nell Frontdesk', email: 'nell@demo-clinic.test', role: 'front_desk' });
      await owner.close();

      const desk = await newTab();
      const calendarChunks = [];
      desk.on('request', (r) => { if (/\/chunks\/calendar-[^/]*\.js$/.test(r.url())) calendarChunks.push(new URL(r.url()).pathname); });
      await desk.goto(await invitationLink(base, 'nell@demo-clinic.test'));
      await desk.locator('#invite-summary').filter({ hasText: 'nell@demo-clinic.test' }).waitFor();
      await acceptInvitation(desk, 'nell chose a long password');
      assert.match(await desk.locator('.who').textContent(), /Nell Frontdesk/);
      assert.deepEqual(calendarChunks, [], 'the calendar\'s code is not fetched before the calendar is opened');
      await desk.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Calendar' }).click();
      await desk.getByLabel('Location').waitFor();
      assert.equal(calendarChunks.length, 1, 'opening the calendar fetches its chunk once');
      assert.match(calendarChunks[0], /^\/app\/chunks\//);
      assert.equal(await desk.evaluate(() => document.activeElement?.id), 'mas-calendar-heading', 'the screen\'s heading has focus, as on every screen');

      // The walk-in: a click on a free time in Dr Ada Okafor's column, the client quick-created.
      await openCalendar(desk, base, monday);
      const point = await slotPoint(desk, 'Dr Ada Okafor', '10:00');
      await desk.mouse.click(point.x, point.y);
      const dialog = desk.getByRole('dialog', { name: 'New booking' });
      await dialog.waitFor();
      await dialog.getByLabel('New client').check();
      await dialog.getByLabel('First name').fill('Wendy');
      await dialog.getByLabel('Last name').fill('Walkin');
      assert.equal(await dialog.getByLabel('Practitioner').inputValue(), adaProfile.id);
      await dialog.getByLabel('Service').selectOption({ label: 'Anti-wrinkle, three areas (30 min)' });
      // A clinical treatment asks the screening questions.
      const noes = dialog.getByRole('radio', { name: 'No' });
      assert.equal(await noes.count(), 7);
      for (const no of await noes.all()) await no.check();
      assert.match(await dialog.getByLabel(/^Start/).inputValue(), new RegExp(`^${monday}T10:00`));
      // The client agrees, at the desk, to the policy's own words on keeping the card for fees
      // (never ticked by default).
      const keepCard = dialog.getByLabel(/The client agrees: “I agree .*keep the card I pay with on file/);
      assert.equal(await keepCard.isChecked(), false);
      await keepCard.check();
      await dialog.getByRole('button', { name: 'Book', exact: true }).click();
      await desk.getByTestId('live').filter({ hasText: /Booked Wendy Walkin/ }).waitFor();
      const walkIn = (await appointmentsOn(monday)).find((a) => a.practitioner_id === adaProfile.id && londonWall(a.start) === '10:00');
      assert.ok(walkIn, 'the API has the booking at 10:00 London with Dr Ada Okafor');
      const walkInStored = await api(base, 'GET', `/v1/appointments/${walkIn.id}`, ownerToken);
      assert.match(walkInStored.card_on_file_consent.terms, /keep the card I pay with on file/, 'the consent is stored with the policy\'s words');
      const client = await api(base, 'GET', `/v1/clients/${walkIn.client_id}`, ownerToken);
      assert.equal(`${client.first_name} ${client.last_name}`, 'Wendy Walkin');
      const walkInCard = card(desk, walkIn.id).first();
      await walkInCard.waitFor();
      const adaColumn = await desk.locator('.ec-col-head', { hasText: 'Dr Ada Okafor' }).boundingBox();
      const walkInBox = await walkInCard.boundingBox();
      assert.ok(walkInBox.x >= adaColumn.x - 1 && walkInBox.x + walkInBox.width <= adaColumn.x + adaColumn.width + 1, 'the card sits in Dr Ada Okafor\'s column');
      assert.match(await walkInCard.innerText(), /Wendy Walkin/);

      // The move: a drag after the fee preview; a drag onto a taken time is refused and the card goes back.
      await openCalendar(desk, base, thursday);
      const moved = card(desk, moving.id);
      await moved.waitFor();
      const drag = async (from, to) => {
        const start = await slotPoint(desk, 'Grace Lim', from);
        const end = await slotPoint(desk, 'Grace Lim', to);
        const box = await moved.boundingBox();
        const grab = { x: box.x + box.width / 2, y: box.y + 6 };
        await desk.mouse.move(grab.x, grab.y);
        await desk.mouse.down();
        await desk.mouse.move(grab.x, grab.y + 10, { steps: 3 });
        await desk.mouse.move(grab.x, grab.y + (end.y - start.y), { steps: 10 });
        await desk.mouse.up();
      };
      await drag('11:00', '12:00');
      const confirm = desk.getByRole('dialog', { name: 'Move this booking?' });
      await confirm.waitFor();
      await confirm.getByTestId('fee-preview').waitFor();
      assert.match(await confirm.getByTestId('fee-preview').innerText(), /fee/i);
      assert.match(await confirm.innerText(), /12:00/);
      await confirm.getByRole('button', { name: 'Move booking' }).click();
      await desk.getByTestId('live').filter({ hasText: /Moved/ }).waitFor();
      let stored = await api(base, 'GET', `/v1/appointments/${moving.id}`, ownerToken);
      assert.equal(londonWall(stored.start), '12:00', 'the API shows the new start');

      await desk.waitForTimeout(300);
      const before = await moved.boundingBox();
      await drag('12:00', '14:00');
      await confirm.waitFor();
      await confirm.getByTestId('fee-preview').waitFor();
      await confirm.getByRole('button', { name: 'Move booking' }).click();
      const refused = desk.getByTestId('live').filter({ hasText: /Not moved:/ });
      await refused.waitFor();
      console.log(`      refused: ${await refused.innerText()}`);
      stored = await api(base, 'GET', `/v1/appointments/${moving.id}`, ownerToken);
      assert.equal(londonWall(stored.start), '12:00', 'the server kept the booking where it was');
      await desk.waitForTimeout(300);
      const after = await moved.boundingBox();
      assert.ok(Math.abs(after.y - before.y) < 2, `the card went back (${before.y} → ${after.y})`);
      assert.equal((await api(base, 'GET', `/v1/appointments/${blocker.id}`, ownerToken)).status, 'scheduled');

      // The arrival: the walk-in checked in from the drawer, the keyboard way in (focus the card, Enter).
      await openCalendar(desk, base, monday);
      await card(desk, walkIn.id).first().focus();
      await desk.keyboard.press('Enter');
      const deskDrawer = desk.getByRole('dialog');
      await deskDrawer.getByRole('button', { name: 'Check in' }).click();
      await deskDrawer.getByTestId('status').filter({ hasText: 'Checked in' }).waitFor();
      assert.equal((await api(base, 'GET', `/v1/appointments/${walkIn.id}`, ownerToken)).status, 'checked_in');
      await desk.close();

      // Dr Ada Okafor signs in on the app's sign-in screen, starts and completes her booking.
      const ada = await signedInTab('ada@demo-clinic.test');
      await openCalendar(ada, base, monday);
      await card(ada, walkIn.id).first().click();
      const adaDrawer = ada.getByRole('dialog');
      await adaDrawer.getByRole('button', { name: 'Start treatment' }).click();
      await adaDrawer.getByRole('button', { name: 'Complete' }).click();
      await adaDrawer.getByTestId('status').filter({ hasText: 'Completed' }).waitFor();
      assert.equal((await api(base, 'GET', `/v1/appointments/${walkIn.id}`, ownerToken)).status, 'completed');
      assert.equal(await adaDrawer.getByText('Deposit', { exact: true }).count(), 0, 'a practitioner does not see payments');
      await ada.keyboard.press('Escape');

      // Another practitioner's booking, of a client outside Ada's care team, is not on her
      // calendar at all (a practitioner reaches only clients booked with her or shared with her).
      await openCalendar(ada, base, thursday);
      await ada.waitForLoadState('networkidle');
      assert.equal(await card(ada, others.id).count(), 0, 'a booking outside her care team is not shown');
      await ada.close();
    });

    await test('when the calendar\'s chunk cannot be fetched, the route says so and the shell stays usable', async () => {
      const page = await signedInTab('desk@demo-clinic.test');
      await page.route(/\/chunks\/calendar-[^/]*\.js$/, (route) => route.abort());
      await page.goto(`${base}/app/#/calendar?date=${monday}`);
      await page.getByRole('alert').filter({ hasText: /The calendar could not be loaded/ }).waitFor();
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Today' }).click();
      await page.getByRole('heading', { name: 'Today', level: 1 }).waitFor();
      await page.close();
    });

    await test('the London calendar opened from a browser in America/New_York shows London wall-clock times', async () => {
      const early = await book(adaProfile, monday, '09:30');
      const page = await signedInTab('desk@demo-clinic.test');
      await openCalendar(page, base, monday);
      assert.equal(await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone), 'America/New_York');
      assert.match(await page.getByTestId('zone').innerText(), /Europe\/London/);
      const time = await card(page, early.id).first().locator('.mas-card-time').innerText();
      assert.match(time, /^09:30/);
      await page.close();
    });

    await test('a booking held for its deposit shows the hold\'s expiry, in its practitioner\'s and its room\'s columns', async () => {
      const lipFiller = services.find((s) => s.name === 'Lip filler 1ml');
      const client = await api(base, 'POST', '/v1/clients', ownerToken, { first_name: 'Hilda', last_name: 'Held' });
      const noes = Object.fromEntries(['pregnant_or_breastfeeding', 'anticoagulants', 'bleeding_disorder', 'lidocaine_allergy',
        'isotretinoin_last_6_months', 'active_skin_infection_at_site', 'autoimmune_disease'].map((k) => [k, false]));
      const held = await api(base, 'POST', '/v1/appointments', ownerToken, {
        location_id: london.id, service_id: lipFiller.id, practitioner_id: adaProfile.id, client_id: client.id,
        start: londonInstant(monday, '12:00'), screening: noes,
      });
      assert.equal(held.status, 'pending_deposit');
      const page = await signedInTab('desk@demo-clinic.test');
      await openCalendar(page, base, monday);
      const cards = card(page, held.id);
      await cards.first().waitFor();
      assert.equal(await cards.count(), 2, 'one card in Dr Ada Okafor\'s column, one in Treatment room 1\'s');
      assert.match(await cards.first().innerText(), new RegExp(`Hold until ${londonWall(held.hold_expires_at)}`));
      await page.close();
    });

    await test('the desk books a visit of two services in one dialog and the calendar shows each as part of the visit', async () => {
      const page = await signedInTab('desk@demo-clinic.test');
      await openCalendar(page, base, monday);
      const point = await slotPoint(page, 'Dr Ada Okafor', '14:00');
      await page.mouse.click(point.x, point.y);
      const dialog = page.getByRole('dialog', { name: 'New booking' });
      await dialog.waitFor();
      await dialog.getByLabel('New client').check();
      await dialog.getByLabel('First name').fill('Vera');
      await dialog.getByLabel('Last name').fill('Visit');
      await dialog.getByLabel('Service').selectOption({ label: 'Anti-wrinkle, three areas (30 min)' });
      await dialog.getByRole('button', { name: 'Add a service to this visit' }).click();
      await dialog.getByLabel('Then (service 2 of the visit)').selectOption({ label: 'Chemical peel (40 min)' });
      for (const no of await dialog.getByRole('radio', { name: 'No' }).all()) await no.check();
      await dialog.getByRole('button', { name: 'Book', exact: true }).click();
      await page.getByTestId('live').filter({ hasText: /Booked Vera Visit/ }).waitFor();
      const visit = (await appointmentsOn(monday)).filter((a) => a.visit && londonWall(a.visit.parts[0].start) === '14:00');
      assert.equal(visit.length, 2, 'the API has both services of the visit');
      const [first, second] = visit.sort((a, b) => a.start.localeCompare(b.start));
      assert.equal(first.confirmation_number, second.confirmation_number, 'one confirmation number for the visit');
      assert.equal(londonWall(second.start), '14:40', 'the peel follows the anti-wrinkle and its 10 minutes after');
      await card(page, second.id).first().waitFor();
      assert.match(await card(page, first.id).first().innerText(), /Visit 1 of 2/);
      assert.match(await card(page, second.id).first().innerText(), /Chemical peel[\s\S]*Visit 2 of 2/);
      // Cancelling one service from its drawer cancels the visit.
      await api(base, 'PATCH', `/v1/appointments/${second.id}`, ownerToken, { action: 'cancel' });
      const after = await api(base, 'GET', `/v1/appointments/${first.id}`, ownerToken);
      assert.equal(after.status, 'cancelled');
      await page.close();
    });

    await test('the desk books a peel with a consultation at the same time and the calendar shows them side by side', async () => {
      // The demo's pair that may run alongside each other; on Saturdays Dr Ada Okafor and Grace Lim both work in London.
      const page = await signedInTab('desk@demo-clinic.test');
      await openCalendar(page, base, saturday);
      const point = await slotPoint(page, 'Dr Ada Okafor', '11:00');
      await page.mouse.click(point.x, point.y);
      const dialog = page.getByRole('dialog', { name: 'New booking' });
      await dialog.waitFor();
      await dialog.getByLabel('New client').check();
      await dialog.getByLabel('First name').fill('Paula');
      await dialog.getByLabel('Last name').fill('Parallel');
      await dialog.getByLabel('Service').selectOption({ label: 'Chemical peel (40 min)' });
      await dialog.getByRole('button', { name: 'Add a service to this visit' }).click();
      await dialog.getByLabel('Then (service 2 of the visit)').selectOption({ label: 'Consultation (20 min)' });
      await dialog.getByLabel('At the same time as service 1 (by someone else)').check();
      for (const no of await dialog.getByRole('radio', { name: 'No' }).all()) await no.check();
      await dialog.getByRole('button', { name: 'Book', exact: true }).click();
      await page.getByTestId('live').filter({ hasText: /Booked Paula Parallel/ }).waitFor();
      const visit = (await appointmentsOn(saturday)).filter((a) => a.visit && londonWall(a.visit.parts[0].start) === '11:00');
      assert.equal(visit.length, 2, 'the API has both services of the visit');
      const peel = visit.find((a) => a.practitioner_id === adaProfile.id);
      const talk = visit.find((a) => a.id !== peel.id);
      assert.equal(talk.practitioner_id, grace.id, 'the consultation alongside is someone else\'s: Grace Lim\'s');
      assert.equal(londonWall(talk.start), '11:00', 'both start together');
      assert.equal(talk.visit.parts[1].with_previous, true);
      await card(page, talk.id).first().waitFor();
      const [left, right] = [await card(page, peel.id).first().boundingBox(), await card(page, talk.id).first().boundingBox()];
      assert.ok(Math.abs(left.y - right.y) < 2, 'side by side: the same top');
      assert.ok(right.x >= left.x + left.width - 1 || left.x >= right.x + right.width - 1, 'side by side: different columns');
      assert.match(await card(page, talk.id).first().innerText(), /Consultation[\s\S]*Visit 2 of 2, alongside 1/);
      await page.screenshot({ path: path.join(SHOTS, 'calendar-parallel-visit.png') });
      // Cancelling one service cancels both.
      await api(base, 'PATCH', `/v1/appointments/${talk.id}`, ownerToken, { action: 'cancel' });
      assert.equal((await api(base, 'GET', `/v1/appointments/${peel.id}`, ownerToken)).status, 'cancelled');
      await page.close();
    });

    await test('a practitioner\'s time off is shaded in her column', async () => {
      await api(base, 'POST', `/v1/practitioners/${grace.id}/exceptions`, ownerToken, {
        kind: 'time_off', starts_at: londonInstant(thursday, '17:00'), ends_at: londonInstant(thursday, '19:00'), note: 'Training',
      });
      const page = await signedInTab('desk@demo-clinic.test');
      await openCalendar(page, base, thursday);
      const shade = page.locator('.ec-bg-event.mas-shade-time-off', { hasText: 'Time off: Training' });
      await shade.waitFor();
      const column = await page.locator('.ec-col-head', { hasText: 'Grace Lim' }).boundingBox();
      const box = await shade.boundingBox();
      assert.ok(box.x >= column.x - 1 && box.x + box.width <= column.x + column.width + 1, 'the shading sits in Grace Lim\'s column');
      await page.close();
    });

    await test('the calendar has no serious or critical axe-core violations, at 1440×900 and 390×844 (screenshots)', async () => {
      const page = await signedInTab('desk@demo-clinic.test');
      await openCalendar(page, base, monday);
      await page.getByText('Wendy Walkin').first().waitFor();
      let violations = await axe(page);
      assert.equal(violations.length, 0, describe(violations));
      await page.screenshot({ path: path.join(SHOTS, 'calendar-day-1440.png') });
      await page.getByRole('button', { name: 'Week', exact: true }).click();
      await page.waitForTimeout(500);
      await page.screenshot({ path: path.join(SHOTS, 'calendar-week-1440.png') });
      await card(page, (await appointmentsOn(monday))[0].id).first().click();
      await page.getByRole('dialog').waitFor();
      violations = await axe(page);
      assert.equal(violations.length, 0, describe(violations));
      await page.screenshot({ path: path.join(SHOTS, 'calendar-drawer-1440.png') });
      await page.close();

      const phone = await signedInTab('desk@demo-clinic.test');
      await openCalendar(phone, base, monday);
      await phone.setViewportSize({ width: 390, height: 844 });
      await phone.getByLabel('Column').waitFor();
      violations = await axe(phone);
      assert.equal(violations.length, 0, describe(violations));
      await phone.screenshot({ path: path.join(SHOTS, 'calendar-day-390.png'), fullPage: true });
      const width = await phone.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 390, `the calendar scrolls sideways on a phone (${width}px wide)`);
      await phone.getByRole('button', { name: 'Walk-in' }).click();
      await phone.getByRole('dialog', { name: 'New booking' }).waitFor();
      violations = await axe(phone);
      assert.equal(violations.length, 0, describe(violations));
      await phone.screenshot({ path: path.join(SHOTS, 'calendar-booking-390.png') });
      await phone.close();
    });
  } finally {
    if (browser) await browser.close();
    local.stop();
  }
  finish('calendar');
}

main().catch((err) => { console.error(err); process.exit(1); });
