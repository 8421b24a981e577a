/**
 * Vite builds the web app (web/, added by the live dashboard work); Vitest runs
 * every test, in tiers by suffix: *.test.ts (pure), *.int.test.ts (real Redis
 * and ClickHouse), *.e2e.test.ts (real server and browser).
 */
import { defineConfig } from 'vitest/config';

const tiers = {
  unit: ['{shared,server,projections,demo,test}/**/*.test.ts'],
  int: ['{server,projections,demo,test}/**/*.int.test.ts'],
};

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          sequence: { groupOrder: 0 },
          include: tiers.unit,
          exclude: ['**/*.int.test.ts', '**/*.e2e.test.ts', '**/node_modules/**'],
        },
      },
      {
        test: {
          name: 'int',
          include: tiers.int,
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // Each file starts its own Redis on a free port; two cores want few at once,
          // and the pure tier runs first (its own group) so a broken fold fails fast.
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
