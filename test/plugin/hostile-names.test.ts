/**
 * Generated code never carries unescaped text: a tensor module whose export names, file
 * name and target names are hostile strings (a newline, `*\/`, U+2028, quotes, backticks,
 * `</script>`), each trying to run `globalThis.PWNED = n` if it escaped a comment or a
 * string, is built through every bundler. The bundle must parse, import without running
 * anything, keep every export under its exact name, and its programs must still run.
 * (Program, input and output names cannot be hostile: the DSL refuses them at their line,
 * see test/bad-programs/.)
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoadedProgram } from '../../src/runtime/types.js';
import { webgpuDefaults } from '../../src/ugraph/target.js';
import { useGpu } from '../helpers/gpu.js';
import { HOSTILE } from '../helpers/hostile.js';
import { BUNDLERS, buildWith } from './bundlers.js';
import { ensureBuilt } from './dist.js';

/**
 * Quotes and backticks in a file name. Line terminators are left out because the bundlers'
 * own output breaks on them (webpack and Rspack copy the path raw into a `//` comment),
 * and `*` because esbuild reads it as a glob; emit-escape.test.ts covers our header comment
 * with every hostile string.
 */
const HOSTILE_FILE = 'evil \'" `${globalThis.PWNED = 7}`.tensor.ts';

const gpu = useGpu();
let project: string;
beforeAll(async () => {
  ensureBuilt();
  project = await mkdtemp(join(tmpdir(), 'mugraph-hostile-'));
  await mkdir(join(project, 'src'));
  const exportList = HOSTILE.map((name) => `p as ${JSON.stringify(name)}`).join(', ');
  await writeFile(join(project, 'src', HOSTILE_FILE), [
    "import { tensorProgram } from 'mugraph';",
    "const p = tensorProgram('hostile', (g) => ({ y: g.relu(g.input('x', [4])) }));",
    `export { ${exportList} };`,
  ].join('\n'));
  await writeFile(join(project, 'src/main.js'), `export * as programs from ${JSON.stringify(`./${HOSTILE_FILE}`)};\n`);
});
afterAll(() => rm(project, { recursive: true, force: true }));

describe.each(BUNDLERS)('%s', (bundler) => {
  it('builds hostile names into a bundle that runs nothing and keeps every name', async () => {
    const dir = join(project, bundler);
    const targets = [{ ...webgpuDefaults, name: HOSTILE[0] }, { ...webgpuDefaults, name: HOSTILE[2] }];
    const options = { root: project, lockDir: join(dir, 'lock'), cacheDir: join(dir, 'cache'), frozen: false, targets, onProgram: () => {} };
    const output = await buildWith(bundler, { root: project, entry: 'src/main.js', outDir: join(dir, 'out'), options });
    delete (globalThis as { PWNED?: unknown }).PWNED;
    const { programs } = (await import(pathToFileURL(output).href)) as { programs: Record<string, { name: string; load(d: GPUDevice): Promise<LoadedProgram> }> };
    expect((globalThis as { PWNED?: unknown }).PWNED).toBeUndefined();
    expect(Object.keys(programs).sort()).toEqual([...HOSTILE].sort());
    const loaded = await programs[HOSTILE[5]]!.load(gpu().device);
    try {
      const { y } = await loaded.run({ x: new Float32Array([-1, 2, -3, 4]) });
      expect([...y!]).toEqual([0, 2, 0, 4]);
    } finally {
      loaded.destroy();
    }
  });
});
