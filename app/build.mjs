// Bundles the back office into dist/: app.js (ES module, minified), app.css (the calendar
// library's stylesheet and ours), index.html, and chunks/ (code loaded on demand: the calendar
// screen and its Svelte runtime are fetched only when #/calendar is opened).
// `node build.mjs --watch` rebuilds on change.
import * as esbuild from 'esbuild';
import { mkdir, rm, readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = process.env.MAS_APP_OUT || path.join(here, 'dist');
// Chunk names carry a content hash, so a rebuild would otherwise leave the old ones behind.
await rm(path.join(out, 'chunks'), { recursive: true, force: true });
await mkdir(out, { recursive: true });
const options = {
  absWorkingDir: here,
  entryPoints: [{ in: 'src/main.js', out: 'app' }, { in: 'src/app.css', out: 'app' }],
  outdir: out,
  bundle: true,
  // Splitting needs ESM; index.html loads app.js as a module, and chunks are imported relative
  // to it, so they resolve under /app/ wherever the app is served.
  format: 'esm',
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
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
// The API's address goes into index.html (`MAS_API_BASE`, e.g. the stack's ApiUrl, when the app is
// served from its own distribution); unset, the app calls its own origin (the local host).
const apiBase = (process.env.MAS_API_BASE || '').replace(/"/g, '');
const page = await readFile(path.join(here, 'src/index.html'), 'utf8');
await writeFile(path.join(out, 'index.html'), page.replace('<meta name="mas-api-base" content="">', `<meta name="mas-api-base" content="${apiBase}">`));
