/**
 * buildTensorModule's phase timings (what `npm run bench:build` reports): present, finite,
 * non-negative, adding up to no more than the whole call; a lock hit spends nothing on
 * compiling. No assertion on how long anything takes: that is the benchmark's job.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BuildTimings, buildTensorModule, createBuildContext } from '../../src/build/build-module.js';
import { resolveOptions } from '../../src/build/options.js';

const PROJECT = join(import.meta.dirname, '../../fixtures/projects/basic');
const MODULE = join(PROJECT, 'src/model/small.tensor.ts');
let scratch: string;
beforeAll(async () => { scratch = await mkdtemp(join(tmpdir(), 'mugraph-timings-')); });
afterAll(() => rm(scratch, { recursive: true, force: true }));

const PHASES = ['evaluateMs', 'lockMs', 'regenerateMs', 'verifyMs', 'compileMs', 'emitMs'] as const;

function expectConsistent(timings: BuildTimings): void {
  for (const phase of [...PHASES, 'totalMs'] as const) {
    expect(Number.isFinite(timings[phase]), phase).toBe(true);
    expect(timings[phase], phase).toBeGreaterThanOrEqual(0);
  }
  const sum = PHASES.reduce((total, phase) => total + timings[phase], 0);
  expect(sum).toBeLessThanOrEqual(timings.totalMs + 1e-6);
}

describe('buildTensorModule timings', () => {
  it('split the call into phases; a lock hit compiles nothing', async () => {
    const options = (frozen: boolean) => resolveOptions({ root: PROJECT, lockDir: join(scratch, 'lock'), frozen, onProgram: () => {} }, {});
    const compiled = await buildTensorModule(MODULE, createBuildContext(options(false)));
    expect(compiled.programs.map((p) => p.status)).toEqual(['compiled', 'compiled']);
    expectConsistent(compiled.timings);
    expect(compiled.timings.compileMs).toBeGreaterThan(0);
    expect(compiled.timings.regenerateMs).toBe(0);

    const hit = await buildTensorModule(MODULE, createBuildContext(options(true)));
    expect(hit.programs.map((p) => p.status)).toEqual(['hit', 'hit']);
    expectConsistent(hit.timings);
    expect(hit.timings.compileMs).toBe(0);
    expect(hit.timings.regenerateMs).toBeGreaterThan(0);
  });
});
