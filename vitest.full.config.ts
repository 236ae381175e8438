import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

/** Full-shape checks (`npm run check:full`): the benchmark μGraphs at Mirage's shapes. */
export default mergeConfig(base, defineConfig({
  test: { include: ['test/**/*.full.ts'], testTimeout: 600_000 },
}));
