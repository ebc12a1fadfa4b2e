// The calendar's rendering benchmark (not a test): week view, 300 bookings over 6 columns,
// synthetic data through a fake `api` (app/src/calendar/bench.js), in Debian's Chromium through
// playwright-core. Prints median, p90 and min of 10 runs after 2 warm-ups, and the DOM size.
'use strict';

const path = require('node:path');
const fs = require('node:fs');
const os = require('node:os');
const { chromium } = require('playwright-core');

const APP = path.join(__dirname, '..', 'app');
const esbuild = require(path.join(APP, 'node_modules', 'esbuild'));
const BOOKINGS = Number(process.env.BENCH_BOOKINGS || 300);
const WARMUPS = 2;
const RUNS = 10;

async function page() {
  const built = await esbuild.build({
    absWorkingDir: APP,
    entryPoints: [{ in: 'src/calendar/bench.js', out: 'bench' }, { in: 'src/app.css', out: 'bench' }],
    outdir: path.join(os.tmpdir(), 'mas-bench-calendar'),
    bundle: true, format: 'iife', minify: true, write: false, logLevel: 'warning',
  });
  const text = (ext) => built.outputFiles.find((f) => f.path.endsWith(ext)).text;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Calendar benchmark</title>
<style>${text('.css')}</style></head><body><main id="app"></main><script>${text('.js')}</script></body></html>`;
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];

async function main() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'mas-bench-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    viewport: { width: 1440, height: 900 },
    timezoneId: 'Europe/London',
  });
  try {
    const tab = context.pages()[0] || await context.newPage();
    tab.on('pageerror', (err) => { throw err; });
    await tab.setContent(await page());
    const times = [];
    let last;
    for (let i = 0; i < WARMUPS + RUNS; i++) {
      last = await tab.evaluate((n) => window.benchMount(n), BOOKINGS);
      if (last.painted < BOOKINGS) throw new Error(`only ${last.painted} of ${BOOKINGS} bookings painted`);
      if (i >= WARMUPS) times.push(last.elapsed);
    }
    const sorted = [...times].sort((a, b) => a - b);
    const ms = (v) => `${v.toFixed(1)} ms`;
    console.log(`calendar week view, ${BOOKINGS} bookings, 6 columns, ${RUNS} runs after ${WARMUPS} warm-ups (1440×900, Chromium ${context.browser()?.version() || ''})`);
    console.log(`mount → all bookings painted: median ${ms(percentile(sorted, 0.5))}, p90 ${ms(percentile(sorted, 0.9))}, min ${ms(sorted[0])}`);
    console.log(`DOM elements: ${last.nodes}; booking cards: ${last.painted}`);
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
