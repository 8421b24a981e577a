/**
 * Vite builds the web app (web/ → dist/web, which the server serves at / and
 * /embed/*); Vitest runs every test, in tiers by suffix: *.test.ts (pure),
 * *.int.test.ts (real Redis and ClickHouse), *.e2e.test.ts (real server and browser).
 */
import { fileURLToPath } from 'node:url';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vitest/config';

/** Vite's root is web/; the test globs stay relative to the repository. */
const repoRoot = fileURLToPath(new URL('.', import.meta.url));
/** Where `npm start` serves from in development (`npx vite` proxies to it). */
const apiTarget = process.env.EVENTDECK_DEV_API ?? 'http://127.0.0.1:8080';

const tiers = {
  unit: ['{shared,server,projections,demo,test}/**/*.test.ts'],
  int: ['{server,projections,demo,test}/**/*.int.test.ts'],
  e2e: ['test/**/*.e2e.test.ts'],
};
/** Tests that put the machine under load themselves: alone, so what they see is their own load. */
const alone = ['test/live-load.int.test.ts'];

export default defineConfig({
  // Absolute, so the build does not depend on the directory it is started from.
  root: fileURLToPath(new URL('./web', import.meta.url)),
  // No svelte.config.js: Svelte 5 reads `lang="ts"` itself, and the defaults suit us.
  plugins: [svelte({ configFile: false })],
  build: {
    outDir: '../dist/web',
    emptyOutDir: true,
    rolldownOptions: {
      // The app, and the portal's `<eventdeck-view>` script under a fixed name
      // (dist/web/eventdeck-view.js, served at /eventdeck-view.js: portals link to it).
      input: {
        index: fileURLToPath(new URL('./web/index.html', import.meta.url)),
        'eventdeck-view': fileURLToPath(new URL('./web/src/eventdeck-view.ts', import.meta.url)),
      },
      output: {
        entryFileNames: (chunk) => (chunk.name === 'eventdeck-view' ? '[name].js' : 'assets/[name]-[hash].js'),
      },
    },
  },
  server: {
    proxy: {
      '/api': apiTarget,
      '/socket.io': { target: apiTarget, ws: true },
    },
  },
  test: {
    root: repoRoot,
    projects: [
      {
        root: repoRoot,
        test: {
          name: 'unit',
          sequence: { groupOrder: 0 },
          include: tiers.unit,
          exclude: ['**/*.int.test.ts', '**/*.e2e.test.ts', '**/node_modules/**'],
        },
      },
      {
        root: repoRoot,
        test: {
          name: 'int',
          include: tiers.int,
          exclude: [...alone, '**/node_modules/**'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // Each file starts its own Redis on a free port; two cores want few at once,
          // and the pure tier runs first (its own group) so a broken fold fails fast.
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
        },
      },
      {
        root: repoRoot,
        test: {
          name: 'e2e',
          include: tiers.e2e,
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // A real server and a browser each: one file at a time, after the others.
          maxWorkers: 1,
          sequence: { groupOrder: 2 },
        },
      },
      {
        root: repoRoot,
        test: {
          name: 'load',
          include: alone,
          testTimeout: 60_000,
          hookTimeout: 180_000,
          // 500 clients and 5,000 events/s: with another file beside it, its bounds measure that file too.
          maxWorkers: 1,
          sequence: { groupOrder: 3 },
        },
      },
    ],
  },
});
