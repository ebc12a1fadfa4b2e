// Bundles the back office into dist/: app.js (ES module, minified), app.css (the calendar's
// stylesheet and ours) and index.html. `node build.mjs --watch` rebuilds on change.
import * as esbuild from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = process.env.MAS_APP_OUT || path.join(here, 'dist');
await mkdir(out, { recursive: true });
const options = {
  absWorkingDir: here,
  entryPoints: [{ in: 'src/main.js', out: 'app' }, { in: 'src/app.css', out: 'app' }],
  outdir: out,
  bundle: true,
  format: 'esm',
  minify: true,
  sourcemap: false,
  target: ['chrome120', 'firefox120', 'safari16'],
  legalComments: 'none',
  logLevel: 'warning',
};
if (process.argv.includes('--watch')) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
} else {
  await esbuild.build(options);
}
await copyFile(path.join(here, 'src/index.html'), path.join(out, 'index.html'));
