/**
 * The small twins of the benchmark programs (fixtures/programs/small/), end to end: each
 * is evaluated from its `*.tensor.ts` as a user's module, run on the local WebGPU adapter
 * in every variant it supports, and compared with the float64 reference. Also the
 * structural hash: a program evaluated twice hashes the same, renaming inputs keeps the
 * hash, changing a shape or a dtype changes it.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkProgram, supportedVariants } from '../src/reference/check-program.js';
import { loadTensorModule } from '../src/frontend/load-module.js';
import { createNodeDevice } from '../src/gpu/node-device.js';
import { tensorProgram } from '../src/index.js';

const SMALL = fileURLToPath(new URL('../fixtures/programs/small/', import.meta.url));
const smallFixtures = readdirSync(SMALL).filter((f) => f.endsWith('.tensor.ts')).sort();

describe('small fixtures on the GPU vs the float64 reference', () => {
  let gpu: Awaited<ReturnType<typeof createNodeDevice>>;
  beforeAll(async () => { gpu = await createNodeDevice(); });
  afterAll(() => gpu?.destroy());

  it('covers the six benchmark programs', () => {
    expect(smallFixtures).toEqual(['gated-mlp', 'gqa', 'lora', 'ntrans', 'qknorm', 'rmsnorm'].map((n) => `${n}.tensor.ts`));
  });

  it.each(smallFixtures)('%s', async (file) => {
    const { programs } = await loadTensorModule(SMALL + file);
    expect(programs).toHaveLength(1);
    const { program, value } = programs[0]!;
    const variants = supportedVariants(program, gpu.device);
    expect(variants).toContain('f32');
    if (gpu.device.features.has('shader-f16')) expect(variants).toContain('f16');
    const { outcomes } = await checkProgram(value, gpu.device, variants, 1);
    const expected = variants.flatMap((variant) => program.outputSpecs.map((s) => ({ variant, output: s.name })));
    expect(outcomes.map((o) => ({ variant: o.variant, output: 'output' in o ? o.output : o.error }))).toEqual(expected);
    for (const outcome of outcomes) {
      if (!('comparison' in outcome)) continue;
      const { comparison } = outcome;
      expect(comparison, `${file} ${outcome.variant}: ${JSON.stringify(comparison)}`).toMatchObject({ pass: true, nanMismatch: 0 });
    }
  }, 120_000);
});

describe('structural hash of the fixtures', () => {
  /** The gqa small twin as defined inline, with its names, shapes and dtype as parameters. */
  const gqa = (names = ['q', 'k', 'v'], keys = 128, dtype: 'f16' | 'f32' = 'f16') =>
    tensorProgram('gqa_inline', (g) => {
      const q = g.input(names[0]!, [2, 8, 32], dtype);
      const k = g.input(names[1]!, [2, 32, keys], dtype);
      const v = g.input(names[2]!, [2, keys, 32], dtype);
      return { o: g.matmul(g.softmax(g.matmul(q, k)), v) };
    }).program;

  it('gqa evaluated twice from its module hashes the same', async () => {
    const [first, second] = await Promise.all([loadTensorModule(`${SMALL}gqa.tensor.ts`), loadTensorModule(`${SMALL}gqa.tensor.ts`)]);
    expect(first.programs[0]!.program).not.toBe(second.programs[0]!.program);
    expect(first.programs[0]!.program.hash).toBe(second.programs[0]!.program.hash);
    expect(gqa().hash).toBe(first.programs[0]!.program.hash);
  });

  it('renaming inputs keeps the hash', () => {
    expect(gqa(['query', 'key', 'value']).hash).toBe(gqa().hash);
  });

  it('changing a shape or a dtype changes the hash', () => {
    expect(gqa(undefined, 64).hash).not.toBe(gqa().hash);
    expect(gqa(undefined, 128, 'f32').hash).not.toBe(gqa().hash);
  });
});
