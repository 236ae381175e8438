/**
 * Several target profiles per build (`targets`): one lock entry per program and target, a
 * frozen rebuild served by all of them, and a generated `load(device)` that runs the build
 * of the first target the device meets, or fails naming the program and the unmet limits.
 * The devices are the real lavapipe one with WebGPU's default limits, and one from the same
 * adapter that requests its larger workgroup storage (32 KiB); "huge" asks for more
 * workgroup storage than the adapter has. The choice itself is also checked on plain
 * objects, and the option's validation in resolveOptions.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create } from 'webgpu';
import { type MugraphOptions, type ProgramEvent, resolveOptions } from '../../src/build/options.js';
import { chooseTarget, type TargetCandidate, unmetRequirements } from '../../src/runtime/targets.js';
import type { CompiledProgram, LoadedProgram } from '../../src/runtime/types.js';
import { profileFromLimits, profileRequirements, webgpuDefaults, withSubgroups } from '../../src/ugraph/target.js';
import { useGpu } from '../helpers/gpu.js';
import { buildWith, PROJECT } from './bundlers.js';
import { ensureBuilt } from './dist.js';

const ROOMY_STORAGE = 32768;
const roomy = profileFromLimits({ maxComputeWorkgroupStorageSize: ROOMY_STORAGE }, [], 'roomy');
const huge = profileFromLimits({ maxComputeWorkgroupStorageSize: 1 << 20 }, [], 'huge');

const gpu = useGpu();
let scratch: string;
beforeAll(async () => {
  ensureBuilt();
  scratch = await mkdtemp(join(tmpdir(), 'mugraph-targets-'));
});
afterAll(() => rm(scratch, { recursive: true, force: true }));

describe('resolveOptions', () => {
  it('takes target or targets, not both, and never an empty or ambiguous list', () => {
    expect(resolveOptions({ root: '/p', target: roomy }, {}).targets).toEqual([roomy]);
    const resolved = resolveOptions({ root: '/p', targets: [roomy, webgpuDefaults] }, {});
    expect(resolved.targets).toEqual([roomy, webgpuDefaults]);
    expect(Object.isFrozen(resolved.targets)).toBe(true);
    expect(() => resolveOptions({ target: roomy, targets: [roomy] }, {})).toThrow(/either `target` or `targets`, not both/);
    expect(() => resolveOptions({ targets: [] }, {})).toThrow(/`targets` is empty/);
    expect(() => resolveOptions({ targets: [roomy, { ...webgpuDefaults, name: 'roomy' }] }, {})).toThrow(/two target profiles are named "roomy"/);
  });
});

describe('chooseTarget', () => {
  const compiled = { name: 'p' } as CompiledProgram;
  const candidate = (profile: typeof roomy): TargetCandidate => ({ target: profileRequirements(profile), compiled });
  const f16 = profileFromLimits({}, ['shader-f16'], 'f16');
  const device = (storage: number, features: string[] = []) => ({
    limits: { ...profileRequirements(webgpuDefaults).limits, maxComputeWorkgroupStorageSize: storage },
    features: new Set(features),
  });

  it('picks the first candidate whose limits and features the device has', () => {
    const candidates = [candidate(huge), candidate(f16), candidate(roomy), candidate(webgpuDefaults)];
    expect(chooseTarget(candidates, device(1 << 20)).target.name).toBe('huge');
    expect(chooseTarget(candidates, device(ROOMY_STORAGE, ['shader-f16'])).target.name).toBe('f16');
    expect(chooseTarget(candidates, device(ROOMY_STORAGE)).target.name).toBe('roomy');
    expect(chooseTarget(candidates, device(16384)).target.name).toBe('webgpu-defaults');
  });

  it('a build that assumes subgroups needs the feature and a large enough GPUAdapterInfo.subgroupMinSize', () => {
    const wide = withSubgroups(webgpuDefaults, 8);
    const candidates = [candidate(wide), candidate(webgpuDefaults)];
    const withInfo = (size: number | undefined) => ({ ...device(16384, ['subgroups']), adapterInfo: size === undefined ? {} : { subgroupMinSize: size } });
    expect(chooseTarget(candidates, withInfo(8)).target.name).toBe('webgpu-defaults+subgroups8');
    expect(chooseTarget(candidates, withInfo(4)).target.name).toBe('webgpu-defaults');
    expect(unmetRequirements(candidate(wide).target, withInfo(4))).toEqual(['subgroupMinSize 8 (device: 4)']);
    expect(unmetRequirements(candidate(wide).target, withInfo(undefined))).toEqual(['subgroupMinSize 8 (device: unknown)']);
    expect(unmetRequirements(candidate(wide).target, device(16384))).toEqual(["feature 'subgroups'", 'subgroupMinSize 8 (device: unknown)']);
  });

  it('names the program and what each target lacks when none fits', () => {
    expect(() => chooseTarget([candidate(huge), candidate(f16)], device(16384))).toThrow(
      /program "p" was built for no target.*"huge" needs maxComputeWorkgroupStorageSize 1048576 \(device: 16384\).*"f16" needs feature 'shader-f16'/s);
  });
});

interface BuiltProgram {
  readonly name: string;
  load(device: GPUDevice): Promise<LoadedProgram>;
  readonly compiled?: CompiledProgram;
}

describe('a build with several targets', () => {
  it('writes an entry per program and target, hits them all when frozen, and loads what the device fits', async () => {
    const dir = join(scratch, 'build');
    const events: ProgramEvent[] = [];
    const options: MugraphOptions = {
      root: PROJECT, lockDir: join(dir, 'lock'), cacheDir: join(dir, 'cache'), frozen: false, targets: [huge, roomy, webgpuDefaults],
      onProgram: (e) => events.push(e),
    };
    const build = (outDir: string, extra: MugraphOptions = {}) =>
      buildWith('esbuild', { entry: 'src/main.js', outDir: join(dir, outDir), options: { ...options, ...extra } });

    const output = await build('first');
    expect(events.map((e) => `${e.exportName}:${e.target}:${e.status}`)).toEqual([
      'default:huge:compiled', 'default:roomy:compiled', 'default:webgpu-defaults:compiled',
      'rowNorm:huge:compiled', 'rowNorm:roomy:compiled', 'rowNorm:webgpu-defaults:compiled',
    ]);
    expect(new Set(events.map((e) => e.key)).size).toBe(6);
    expect(await readdir(join(dir, 'lock'))).toHaveLength(6);
    const text = await readFile(output, 'utf8');
    expect(text).toContain('loadForDevice');
    // Builds alike across targets share one constant, as WGSL sources do.
    const constants = (prefix: string) => [...text.matchAll(new RegExp(`^(?:var|const) ${prefix}\\w* = ([^]*?);$`, 'gm'))].map((m) => m[1]);
    for (const prefix of ['wgsl', 'compiled']) {
      const values = constants(prefix);
      expect(values.length, prefix).toBeGreaterThan(0);
      expect(new Set(values).size, `${prefix} constants are distinct`).toBe(values.length);
    }

    events.length = 0;
    await build('second', { frozen: true });
    expect(events.map((e) => e.status)).toEqual(Array(6).fill('hit'));
    expect(await readFile(join(dir, 'second/main.js'), 'utf8')).toBe(text);

    // An adapter makes one device: the roomy one comes from a second Dawn instance, kept referenced until destroyed.
    const instance = create([]);
    const roomyDevice = await (await instance.requestAdapter())!.requestDevice({ requiredLimits: { maxComputeWorkgroupStorageSize: ROOMY_STORAGE } });
    try {
      const all = (await import(pathToFileURL(output).href)) as Record<string, BuiltProgram>;
      // Neither device meets "huge": the default one falls back to webgpu-defaults, the roomy one to roomy.
      for (const device of [gpu().device, roomyDevice]) await expectRuns(all.rowNorm!, device);

      const noDefaults = await build('no-defaults', { frozen: true, targets: [huge, roomy], artifacts: true });
      const picky = (await import(pathToFileURL(noDefaults).href)) as Record<string, BuiltProgram>;
      await expectRuns(picky.rowNorm!, roomyDevice);
      expect(picky.rowNorm!.compiled?.name).toBe('row_norm');
      await expect(picky.rowNorm!.load(gpu().device)).rejects.toThrow(
        /program "row_norm" was built for no target this device meets:\n.*"huge" needs maxComputeWorkgroupStorageSize 1048576 \(device: 16384\)\n.*"roomy" needs maxComputeWorkgroupStorageSize 32768 \(device: 16384\)/);
    } finally {
      roomyDevice.destroy();
      void instance;
    }
  });
});

async function expectRuns(built: BuiltProgram, device: GPUDevice): Promise<void> {
  const loaded = await built.load(device);
  try {
    const inputs = Object.fromEntries(loaded.inputs.map((t) => [t.name, new Float32Array(t.shape.reduce((p, d) => p * d, 1)).fill(1)]));
    const outputs = await loaded.run(inputs);
    for (const t of loaded.outputs) expect(outputs[t.name]!.every(Number.isFinite), `${built.name}.${t.name}`).toBe(true);
  } finally {
    loaded.destroy();
  }
}
