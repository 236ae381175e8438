import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The public types (test/types/*.test-d.ts): type-checked by tsc, never run. Their own
    // tsconfig keeps the check to those files and what they import, not the whole project.
    typecheck: {
      enabled: true,
      include: ['test/types/**/*.test-d.ts'],
      tsconfig: 'test/types/tsconfig.json',
    },
    // Dawn on lavapipe is itself multi-threaded; two test files at a time fill 2 cores.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
