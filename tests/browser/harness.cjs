// What every browser test file shares: a tiny runner (`test`, `finish`), the local host on a free
// port with a fresh data directory, JSON API calls, the local outbox, Debian's Chromium through
// playwright-core, the back office's sign-in and invitation screens, and axe-core. Environment: MAS_LOCAL_BIN (the `local` binary), CHROMIUM (default
// /usr/bin/chromium), MAS_APP_DIR (the built back office; default app/dist).
'use strict';

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');

const LOCAL_BIN = process.env.MAS_LOCAL_BIN || path.join(process.env.CARGO_TARGET_DIR || path.join(os.homedir(), '.cache/mas/target'), 'debug/local');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = path.join(__dirname, 'screenshots');
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const failures = [];
// The local host's seeded clinic: owner@, desk@, ada@ and finance@demo-clinic.test share this password.
const DEMO_CLINIC = 'demo-clinic';
const DEMO_PASSWORD = 'demo-password';

/** Runs one named test; a failure is recorded and the next test still runs. */
async function test(name, fn) {
  const started = Date.now();
  try {
    await fn();
    console.log(`ok    ${name} (${Date.now() - started} ms)`);
  } catch (err) {
    failures.push(name);
    console.log(`FAIL  ${name}\n      ${String(err && err.stack || err).split('\n').join('\n      ')}`);
  }
}

/** Prints the closing line and exits non-zero when any test failed. */
function finish(label) {
  if (failures.length) {
    console.log(`\n${failures.length} failed:\n  ${failures.join('\n  ')}`);
    process.exit(1);
  }
  console.log(`\nall ${label} tests passed`);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
  });
}

/**
 * Starts the local host on a fresh data directory and waits for its welcome text. Resolves to
 * { child, base, token, dataDir, welcome, stop() }: `token` is the demo owner's, `welcome` all
 * it printed (the demo sign-ins are there too).
 */
async function startLocal(extraEnv = {}) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mas-browser-data-'));
  const port = await freePort();
  const appDir = process.env.MAS_APP_DIR || path.join(__dirname, '..', '..', 'app', 'dist');
  const child = spawn(LOCAL_BIN, [], {
    env: { ...process.env, MAS_ADDR: `127.0.0.1:${port}`, MAS_DATA_DIR: dataDir, MAS_APP_DIR: appDir, RUST_LOG: 'warn', ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('local host did not start in 60 s\n' + out + err)), 60000);
    child.stdout.on('data', (d) => {
      out += d;
      const listening = out.match(/listening on (http:\/\/\S+)/);
      const token = out.match(/export TOKEN=(\S+)/);
      if (listening && token) { clearTimeout(timer); resolve({ base: listening[1], token: token[1] }); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`local host exited with ${code}\n${out}${err}`)); });
  });
  const started = await ready;
  return {
    child, dataDir, welcome: out, ...started,
    stop() { child.kill('SIGTERM'); fs.rmSync(dataDir, { recursive: true, force: true }); },
  };
}

/** A JSON API call; throws with the status and body unless it answers 2xx. */
async function api(base, method, url, token, body) {
  const res = await fetch(base + url, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  const json = text ? JSON.parse(text) : null;
  if (!res.ok) throw new Error(`${method} ${url} → ${res.status} ${text}`);
  return json;
}

/** The newest email to `to` whose text matches `pattern` in the local outbox (waits up to 5 s). */
async function newestMail(base, to, pattern) {
  for (let i = 0; i < 20; i++) {
    const outbox = await api(base, 'GET', '/local/outbox.json');
    const mail = outbox.find((m) => m.to === to && pattern.test(m.text || ''));
    if (mail) return mail;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`no email to ${to} matching ${pattern}`);
}

/** Fills and submits the back office's sign-in screen (the caller waits for what should follow). */
async function signInThroughApp(page, base, email, password = DEMO_PASSWORD, clinic = DEMO_CLINIC) {
  await page.goto(`${base}/app/#/sign-in`);
  await page.getByLabel('Clinic').fill(clinic);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** On a page signed in as an owner: invites someone from Settings → Team and waits until they are listed. */
async function inviteThroughTeamSettings(page, base, { name, email, role }) {
  await page.goto(`${base}/app/#/settings/team`);
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Role', { exact: true }).selectOption(role);
  await page.getByRole('button', { name: 'Send invitation', exact: true }).click();
  await page.getByText(`Invitation sent to ${email}`).waitFor();
  await page.locator('table.team td', { hasText: email }).waitFor();
}

/** The accept-invite link in the newest invitation emailed to `email`. */
async function invitationLink(base, email) {
  const mail = await newestMail(base, email, /accept-invite\?token=/);
  return mail.text.match(/https?:\/\/\S+#\/accept-invite\?token=[A-Za-z0-9._~-]+/)[0];
}

/** The link a new clinic's owner was emailed at signup to confirm their email. */
async function verificationLink(base, email) {
  const mail = await newestMail(base, email, /verify-email\?token=/);
  return mail.text.match(/https?:\/\/\S+#\/verify-email\?token=[A-Za-z0-9._~-]+/)[0];
}

/** On the accept-invite screen: chooses the password and waits for the app to land on Today. */
async function acceptInvitation(page, password) {
  await page.getByLabel('New password').fill(password);
  await page.getByLabel('Repeat the password').fill(password);
  await page.getByRole('button', { name: 'Set password and sign in' }).click();
  await page.getByRole('heading', { name: 'Today', level: 1 }).waitFor();
}

/** Debian's Chromium, headless, in a fresh profile; `close()` removes the profile too. */
async function launch(options = {}) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'mas-browser-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
    locale: 'en-GB',
    ...options,
  });
  return {
    context,
    async close() { await context.close(); fs.rmSync(profile, { recursive: true, force: true }); },
  };
}

/** axe-core's serious and critical violations on the page as it is now. */
async function axe(page) {
  // Evaluated through the DevTools protocol, not as a <script> tag: the sites' Content Security
  // Policy (rightly) refuses inline scripts, and the pages are tested under it.
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

function describe(violations) {
  return violations.map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`).join('\n');
}

/** Fails with axe-core's serious and critical violations on the page, naming `what`. */
async function noAxeViolations(page, what) {
  const assert = require('node:assert/strict');
  const violations = await axe(page);
  assert.deepEqual(violations, [], `${what}: ${describe(violations)}`);
}

/**
 * Records the page's uncaught errors and whatever its Content Security Policy refuses as
 * failures of the run (the pages run under their policy: a refusal is a bug). Returns the page.
 */
function watchPage(page) {
  page.on('pageerror', (err) => failures.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy/.test(msg.text())) failures.push(`CSP refused: ${msg.text()}`);
  });
  return page;
}

const WIDE = { width: 1440, height: 900 };
const PHONE = { width: 390, height: 844 };

/** Today's date (YYYY-MM-DD) on the wall clock of `zone`. */
function dayIn(zone) {
  return new Intl.DateTimeFormat('en-CA', { year: 'numeric', month: '2-digit', day: '2-digit', timeZone: zone }).format(new Date());
}

/**
 * A screen's checks, its screenshots named `${prefix}-${name}.png`: `check` runs axe-core on the
 * page as it is and takes a screenshot at the current size; `checkBothSizes` does so at
 * 1440×900 and at 390×844, where the page must not scroll sideways.
 */
function screenChecks(prefix) {
  const assert = require('node:assert/strict');
  async function check(page, name) {
    const violations = await axe(page);
    assert.equal(violations.length, 0, `${name}: ${describe(violations)}`);
    await page.screenshot({ path: path.join(SHOTS, `${prefix}-${name}.png`), fullPage: true });
  }
  async function checkBothSizes(page, name) {
    await page.setViewportSize(WIDE);
    await check(page, `${name}-1440`);
    await page.setViewportSize(PHONE);
    await check(page, `${name}-390`);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= PHONE.width, `${name} scrolls sideways on a phone (${width}px wide)`);
    await page.setViewportSize(WIDE);
  }
  return { check, checkBothSizes };
}

module.exports = {
  SHOTS, DEMO_CLINIC, DEMO_PASSWORD, failures, test, finish, freePort, startLocal, api, newestMail, launch,
  signInThroughApp, inviteThroughTeamSettings, invitationLink, verificationLink, acceptInvitation, axe, describe, noAxeViolations,
  watchPage, WIDE, PHONE, dayIn, screenChecks,
};
