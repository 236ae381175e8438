/**
 * The bundler plugin end to end, through every bundler (Vite, Rollup, Rolldown, esbuild,
 * webpack, Rspack): the fixture project (fixtures/projects/basic) is built with the plugin
 * from dist/, the bundle is imported, and its programs run on the local WebGPU adapter and
 * are compared with the float64 reference. A second, frozen build must be served by the
 * lock (no compile event), and an invalid tensor module must fail the build at its
 * file:line. With `artifacts` each export also carries `compiled` and `ugraph`, equal to
 * what the lock entry gives; without it, neither. A CommonJS config (`require('mugraph/<bundler>')`)
 * builds the same bundle as the ES module one. Lock behaviour (frozen misses, tampering) is
 * in lock.test.ts.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { regenerate } from '../../src/build/compiler.js';
import { buildTensorModule, createBuildContext } from '../../src/build/build-module.js';
import { type ProgramEvent, resolveOptions } from '../../src/build/options.js';
import type { LockEntry } from '../../src/cache/entry.js';
import { loadTensorModule } from '../../src/frontend/load-module.js';
import type { Program } from '../../src/frontend/program.js';
import { compareToReference, roundInputsForVariant } from '../../src/reference/compare.js';
import { evaluateReference } from '../../src/reference/interpreter.js';
import { randomInputs } from '../../src/reference/random.js';
import type { CompiledProgram, LoadedProgram } from '../../src/runtime/types.js';
import { KernelGraph, type KernelGraphJSON } from '../../src/ugraph/kernel-graph.js';
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
  /** Only with the `artifacts` option. */
  readonly compiled?: CompiledProgram;
  readonly ugraph?: KernelGraphJSON;
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
    for (const [name, built] of Object.entries(bundle)) {
      expect(built, `${name}: no artifacts unless asked`).not.toHaveProperty('compiled');
      expect(built, `${name}: no artifacts unless asked`).not.toHaveProperty('ugraph');
      await expectMatchesReference(built, reference.get(name)!);
    }

    events.length = 0;
    await buildWith(bundler, { entry: 'src/main.js', outDir: join(dir, 'second'), options: { ...options, frozen: true } });
    expect(events.map((e) => `${e.exportName}:${e.status}`)).toEqual(['default:hit', 'rowNorm:hit']);
    expect(await readFile(join(dir, 'second/main.js'), 'utf8')).toBe(text);

    events.length = 0;
    const withArtifacts = await buildWith(bundler, { entry: 'src/main.js', outDir: join(dir, 'artifacts'), options: { ...options, frozen: true, artifacts: true } });
    expect(events.map((e) => e.status)).toEqual(['hit', 'hit']); // not part of the key
    const entries = new Map(events.map((e) => [e.exportName === 'default' ? 'scaledSum' : e.exportName, e.entryFile]));
    const artifactBundle = (await import(pathToFileURL(withArtifacts).href)) as Record<string, BuiltProgram>;
    for (const [name, built] of Object.entries(artifactBundle)) {
      const entry = JSON.parse(await readFile(entries.get(name)!, 'utf8')) as LockEntry;
      const program = reference.get(name)!;
      expect(built.ugraph, `${name}.ugraph is the lock entry's μGraph`).toEqual(entry.ugraph);
      expect(built.compiled, `${name}.compiled is regenerated from it`).toEqual(regenerate(KernelGraph.fromJSON(entry.ugraph), program));
      expect(Object.isFrozen(built.compiled!.kernels[0]!.wgsl)).toBe(true);
      await expectMatchesReference(built, program);
    }
  });

  it('builds the same bundle from a CommonJS config as from an ES module one', async () => {
    const dir = join(scratch, bundler, 'formats');
    const options = { root: PROJECT, lockDir: join(dir, 'lock'), cacheDir: join(dir, 'cache'), frozen: false };
    const fromEsm = await buildWith(bundler, { entry: 'src/main.js', outDir: join(dir, 'esm'), options }, 'esm');
    const fromCjs = await buildWith(bundler, { entry: 'src/main.js', outDir: join(dir, 'cjs'), options: { ...options, frozen: true } }, 'cjs');
    const text = await readFile(fromEsm, 'utf8');
    expect(text).toContain('@compute');
    expect(await readFile(fromCjs, 'utf8')).toBe(text);
  });

  it('fails on an invalid tensor module, naming its file and line', async () => {
    const dir = join(scratch, bundler, 'broken');
    const options = { root: PROJECT, lockDir: join(dir, 'lock'), cacheDir: join(dir, 'cache'), frozen: false };
    const build = buildWith(bundler, { entry: 'src/broken.js', outDir: join(dir, 'out'), options });
    const error = await build.then(() => undefined, (e: unknown) => e as Error);
    expect(error?.message).toMatch(/broken\.tensor\.ts(:| \()7:\d+/); // each bundler prints the location its own way
    expect(error?.message).toContain('matmul: inner dimensions differ');
  });
});

describe('artifacts', () => {
  it('the generated module holds each WGSL source once, shared by load() and `compiled`', async () => {
    const options = resolveOptions({ root: PROJECT, lockDir: join(scratch, 'emit-lock'), cacheDir: join(scratch, 'emit-cache'), frozen: false, artifacts: true, onProgram: () => {} }, {});
    const built = await buildTensorModule(join(PROJECT, 'src/model/small.tensor.ts'), createBuildContext(options));
    const sources = new Set(built.programs.flatMap((p) => p.compiled.kernels.flatMap((k) => Object.values(k.wgsl))));
    expect(sources.size).toBeGreaterThan(1);
    for (const source of sources) expect(built.code.split(JSON.stringify(source)).length - 1).toBe(1);
    for (const p of built.programs) expect(built.code).toContain(JSON.stringify(p.entry.ugraph));
  });
});
