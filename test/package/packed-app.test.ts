/**
 * The published package as a user gets it: `npm pack` of this repository, installed into a
 * fresh Vite app (packed-app.ts) and, for the install weight, into a project with nothing
 * else. Neither installs `webgpu` (an optional peer dependency), so this is also mugraph
 * without a GPU package: `mugraph warm --config mugraph.config.ts` fills the lock and says
 * what to install to check kernels, `mugraph check` fails naming it, and the Vite build, from
 * an ES module config and from a CommonJS one, is served by the lock (CI set: frozen). The
 * app's TypeScript, checked by the installed `tsc` without skipLibCheck, passes, and a misuse
 * of a program's inputs or outputs is a type error.
 * Needs the npm registry (or an npm cache holding vite, typescript and mugraph's dependencies).
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../plugin/dist.js';
import { createPackedApp, createProject, diskUsageMiB, packMugraph, runIn } from './packed-app.js';

/** A quarter of the 146 MB that a project with only mugraph weighed when `webgpu` was a dependency. */
const MAX_INSTALL_MIB = 36.5;
const INSTALL_TIMEOUT_MS = 180_000;

/** Misuses of the app's program (src/model/scale.tensor.ts: input x, f32; output y), one per line from line 5. */
const MISUSE = [
  "import scaleRows from '../src/model/scale.tensor';",
  '',
  'declare const device: GPUDevice;',
  'const program = await scaleRows.load(device);',
  'await program.run({ nope: new Float32Array(8) });',
  'await program.run({});',
  'await program.run({ x: new Uint16Array(8) });',
  'const { z } = await program.run({ x: new Float32Array(8) });',
  'export { z };',
  '',
].join('\n');

let scratch: string;
let tarball: string;
let app: string;

beforeAll(async () => {
  ensureBuilt();
  scratch = await mkdtemp(join(tmpdir(), 'mugraph-packed-'));
  tarball = await packMugraph(scratch);
  app = await createPackedApp(scratch, tarball);
}, INSTALL_TIMEOUT_MS);
afterAll(() => rm(scratch, { recursive: true, force: true }));

describe('the packed package', () => {
  it('ships the Apache-2.0 license and source maps that carry their sources', async () => {
    const installed = join(app, 'node_modules/mugraph');
    expect(await readFile(join(installed, 'LICENSE'), 'utf8')).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004\s/);
    const schema = JSON.parse(await readFile(join(installed, 'schema/lock-entry.schema.json'), 'utf8')) as { title?: string };
    expect(schema.title).toBe('mugraph kernel lock entry');
    const maps = (await readdir(join(installed, 'dist'), { recursive: true })).filter((f) => f.endsWith('.js.map'));
    expect(maps.length).toBeGreaterThan(50);
    for (const map of maps) {
      const { sources, sourcesContent } = JSON.parse(await readFile(join(installed, 'dist', map), 'utf8')) as { sources: string[]; sourcesContent?: unknown[] };
      expect(sourcesContent?.length, `${map}: sourcesContent for each of ${sources.join(', ')}`).toBe(sources.length);
      expect(sourcesContent!.every((text) => typeof text === 'string' && text.length > 0), map).toBe(true);
    }
  });

  it(`installs alone in at most ${MAX_INSTALL_MIB} MiB, without webgpu`, async () => {
    const project = await createProject(scratch, [tarball]);
    const mib = await diskUsageMiB(join(project, 'node_modules'));
    console.info(`node_modules of a project with only mugraph: ${mib.toFixed(1)} MiB; of the Vite app: ${(await diskUsageMiB(join(app, 'node_modules'))).toFixed(1)} MiB`);
    expect(mib).toBeLessThanOrEqual(MAX_INSTALL_MIB);
    await expect(readdir(join(project, 'node_modules/webgpu'))).rejects.toThrow(/ENOENT/);
  }, INSTALL_TIMEOUT_MS);
});

describe('a Vite app without webgpu', () => {
  it('warms the lock from a TypeScript --config, then builds frozen from ES module and CommonJS Vite configs', async () => {
    const warmed = await runIn(app, 'node_modules/.bin/mugraph', ['warm', '--config', 'mugraph.config.ts']);
    expect(warmed.code, warmed.output).toBe(0);
    expect(warmed.output).toContain('`npm i -D webgpu`');
    expect(warmed.output).toContain('1 programs: 1 compiled, 0 already locked, 0 rebuilt; lock: kernels.lock');

    const bundles: string[] = [];
    for (const config of ['vite.config.ts', 'vite.config.cjs']) {
      const outDir = `dist-${config}`;
      const built = await runIn(app, 'node_modules/.bin/vite', ['build', '--config', config, '--outDir', outDir], { CI: 'true' });
      expect(built.code, built.output).toBe(0);
      const assets = join(app, outDir, 'assets');
      const scripts = (await readdir(assets)).filter((f) => f.endsWith('.js'));
      const code = (await Promise.all(scripts.map((f) => readFile(join(assets, f), 'utf8')))).join('\n');
      expect(code).toContain('@compute');
      expect(code).not.toMatch(/GraphBuilder|kernelGraphFromProgram|esbuild|jiti/); // no DSL, compiler or config loader in the bundle
      bundles.push(code);
    }
    expect(bundles[1]).toBe(bundles[0]);
  });

  it('type-checks with the installed TypeScript (no skipLibCheck), and a misuse of a program is a type error', async () => {
    const correct = await runIn(app, 'node_modules/.bin/tsc', ['--noEmit', '-p', '.']);
    expect(correct.code, correct.output).toBe(0);

    await mkdir(join(app, 'typecheck'), { recursive: true });
    await writeFile(join(app, 'typecheck/misuse.ts'), MISUSE);
    await writeFile(join(app, 'tsconfig.misuse.json'), JSON.stringify({ extends: './tsconfig.json', include: ['src', 'typecheck'] }));
    const misuse = await runIn(app, 'node_modules/.bin/tsc', ['--noEmit', '-p', 'tsconfig.misuse.json']);
    expect(misuse.code, misuse.output).toBe(2);
    const errors = misuse.output.split('\n').filter((line) => /^\S.*: error TS\d+:/.test(line)).map((line) => line.replace(/: error (TS\d+):.*/, ' $1'));
    expect(errors).toEqual([
      'typecheck/misuse.ts(5,21) TS2353', // an unknown input
      'typecheck/misuse.ts(6,19) TS2345', // x missing
      'typecheck/misuse.ts(7,21) TS2322', // f16 bit patterns for an f32 input
      'typecheck/misuse.ts(8,9) TS2339', // an output the program does not have
    ]);
  });

  it('`mugraph check` names the package to install', async () => {
    const checked = await runIn(app, 'node_modules/.bin/mugraph', ['check', 'src/model/scale.tensor.ts']);
    expect(checked.code, checked.output).toBe(2);
    expect(checked.output).toContain('error: cannot create a WebGPU device: the `webgpu` package (Dawn, WebGPU for Node) is not installed: `npm i -D webgpu` adds it');
  });
});
