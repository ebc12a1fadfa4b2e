// Bundles the back office into dist/: app.js (ES module, minified), app.css (the calendar's
// stylesheet and ours) and index.html. `node build.mjs --watch` rebuilds on change.
import * as esbuild from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = process.env.MAS_APP_OUT || path.join(here, 'dist');
await mkdir(out, { recursive: true });
// The calendar screen (src/calendar/) is built on another branch. Until it is merged, its import
// resolves to a module without a screen, so the rest of the app still builds and says so.
const optionalCalendar = {
  name: 'optional-calendar',
  setup(build) {
    build.onResolve({ filter: /^\.\/calendar\/index\.js$/ }, (args) => {
      const file = path.join(args.resolveDir, 'calendar', 'index.js');
      return existsSync(file) ? { path: file } : { path: 'calendar', namespace: 'absent' };
    });
    build.onLoad({ filter: /.*/, namespace: 'absent' }, () => ({ contents: 'export const CalendarScreen = undefined;', loader: 'js' }));
  },
};

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
  plugins: [optionalCalendar],
};
if (process.argv.includes('--watch')) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
} else {
  await esbuild.build(options);
}
await copyFile(path.join(here, 'src/index.html'), path.join(out, 'index.html'));
