// Bundles the calendar's development page into <dist>/calendar-dev/ (dev.html, dev.js and the
// app's stylesheet), served by the local host at /app/calendar-dev/index.html. Run after
// scripts/build-app: `node app/src/calendar/build-dev.mjs [dist]`.
import * as esbuild from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const appDir = path.resolve(here, '../..');
const out = path.join(path.resolve(process.argv[2] || path.join(appDir, 'dist')), 'calendar-dev');
await mkdir(out, { recursive: true });
await esbuild.build({
  absWorkingDir: appDir,
  entryPoints: [{ in: 'src/calendar/dev.js', out: 'dev' }, { in: 'src/app.css', out: 'app' }],
  outdir: out,
  bundle: true,
  format: 'esm',
  minify: true,
  target: ['chrome120', 'firefox120', 'safari16'],
  legalComments: 'none',
  logLevel: 'warning',
});
await copyFile(path.join(here, 'dev.html'), path.join(out, 'index.html'));
