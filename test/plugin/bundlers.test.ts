/**
 * The bundler plugin end to end, through every bundler (Vite, Rollup, Rolldown, esbuild,
 * webpack, Rspack): the fixture project (fixtures/projects/basic) is built with the plugin
 * from dist/, the bundle is imported, and its programs run on the local WebGPU adapter and
 * are compared with the float64 reference. A second, frozen build must be served by the
 * lock (no compile event), and an invalid tensor module must fail the build at its
 * file:line. Lock behaviour (frozen misses, tampering) is in lock.test.ts.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProgramEvent } from '../../src/build/options.js';
import { loadTensorModule } from '../../src/frontend/load-module.js';
import type { Program } from '../../src/frontend/program.js';
import { compareToReference, roundInputsForVariant } from '../../src/reference/compare.js';
import { evaluateReference } from '../../src/reference/interpreter.js';
import { randomInputs } from '../../src/reference/random.js';
import type { LoadedProgram } from '../../src/runtime/types.js';
import { useGpu } from '../helpers/gpu.js';
import { BUNDLERS, buildWith, PROJECT } from './bundlers.js';
import { ensureBuilt } from './dist.js';

const gpu = useGpu();
let scratch: string;
let reference: Map<string, Program>;

beforeAll(async () => {
  ensureBuilt();
  scratch = await mkdtemp(join(tmpdir(), 'mugraph-plugin-'));
  const loaded = await loadTensorModule(join(PROJECT, 'src/model/small.tensor.ts'));
  reference = new Map(loaded.programs.map((p) => [p.exportName === 'default' ? 'scaledSum' : p.exportName, p.program]));
});
afterAll(() => rm(scratch, { recursive: true, force: true }));

interface BuiltProgram {
  readonly name: string;
  readonly program: { readonly hash: string };
  load(device: GPUDevice): Promise<LoadedProgram>;
}

/** Runs `built` in the variant load() picks and expects every output to match the reference. */
async function expectMatchesReference(built: BuiltProgram, program: Program): Promise<void> {
  expect(built.name).toBe(program.name);
  expect(built.program.hash).toBe(program.hash);
  const loaded = await built.load(gpu().device);
  try {
    const inputs = randomInputs(program, 7);
    const expected = evaluateReference(program, roundInputsForVariant(inputs, program, loaded.variant));
    const actual = await loaded.run(inputs);
    for (const { name } of program.outputSpecs) {
      const comparison = compareToReference(actual[name]!, expected[name]!, loaded.variant);
      expect(comparison.pass, `${program.name}.${name} (${loaded.variant}): ${JSON.stringify(comparison)}`).toBe(true);
    }
  } finally {
    loaded.destroy();
  }
}

describe.each(BUNDLERS)('%s', (bundler) => {
  it('builds the project, runs it like the reference, then rebuilds from the lock alone', async () => {
    const dir = join(scratch, bundler);
    const events: ProgramEvent[] = [];
    const options = { root: PROJECT, lockDir: join(dir, 'lock'), cacheDir: join(dir, 'cache'), frozen: false, onProgram: (e: ProgramEvent) => events.push(e) };

    const output = await buildWith(bundler, { entry: 'src/main.js', outDir: join(dir, 'first'), options });
    expect(events.map((e) => `${e.exportName}:${e.status}`)).toEqual(['default:compiled', 'rowNorm:compiled']);
    const text = await readFile(output, 'utf8');
    expect(text).toContain('@compute');
    expect(text).not.toMatch(/GraphBuilder|kernelGraphFromProgram|esbuild/); // no DSL or compiler in the bundle
    const bundle = (await import(pathToFileURL(output).href)) as Record<string, BuiltProgram>;
    expect(Object.keys(bundle).sort()).toEqual(['rowNorm', 'scaledSum']);
    for (const [name, built] of Object.entries(bundle)) await expectMatchesReference(built, reference.get(name)!);

    events.length = 0;
    await buildWith(bundler, { entry: 'src/main.js', outDir: join(dir, 'second'), options: { ...options, frozen: true } });
    expect(events.map((e) => `${e.exportName}:${e.status}`)).toEqual(['default:hit', 'rowNorm:hit']);
    expect(await readFile(join(dir, 'second/main.js'), 'utf8')).toBe(text);
  });

  it('fails on an invalid tensor module, naming its file and line', async () => {
    const dir = join(scratch, bundler, 'broken');
    const options = { root: PROJECT, lockDir: join(dir, 'lock'), cacheDir: join(dir, 'cache'), frozen: false };
    const build = buildWith(bundler, { entry: 'src/broken.js', outDir: join(dir, 'out'), options });
    await expect(build).rejects.toThrow(/broken\.tensor\.ts:7:\d+: matmul/);
  });
});
