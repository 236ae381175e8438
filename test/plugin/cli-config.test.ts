/**
 * `--config <file>` of `mugraph warm | verify | prune` (src/cli/modules.ts): the options
 * module may be TypeScript or JavaScript, an ES module or CommonJS, and may import the
 * package; a module without a default export, or one that does not load, is an error that
 * names the file. (The CLI itself with a TypeScript config runs in test/package/packed-app.test.ts.)
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockCommandOptions } from '../../src/cli/modules.js';
import { PROJECT } from './bundlers.js';
import { ensureBuilt } from './dist.js';

let scratch: string;

beforeAll(async () => {
  ensureBuilt(); // the configs import `mugraph`, i.e. dist/
  scratch = await mkdtemp(join(tmpdir(), 'mugraph-config-'));
});
afterAll(() => rm(scratch, { recursive: true, force: true }));

async function configFile(name: string, text: string): Promise<string> {
  const file = join(scratch, name);
  await writeFile(file, text);
  return file;
}

describe('--config', () => {
  it('loads a TypeScript module that imports the package', async () => {
    const resolved = await lockCommandOptions({ config: join(PROJECT, 'configs/mugraph.config.ts') });
    expect(resolved.lockDir).toBe(join(process.cwd(), 'from-ts.lock'));
    expect(resolved.targets.map((t) => t.name)).toEqual(['roomy', 'webgpu-defaults']);
    expect(resolved.targets[0]!.maxWorkgroupStorageBytes).toBe(32768);
  });

  it('loads a CommonJS module (module.exports is its default export)', async () => {
    const resolved = await lockCommandOptions({ config: join(PROJECT, 'configs/mugraph.config.cjs') });
    expect(resolved.lockDir).toBe(join(process.cwd(), 'from-cjs.lock'));
    expect(resolved.targets.map((t) => t.name)).toEqual(['webgpu-defaults']);
  });

  it.each([
    ['mts', "enum Folder { Lock = 'enum.lock' }\nexport default { lockDir: Folder.Lock };\n", 'enum.lock'],
    ['cts', "const lockDir: string = 'cts.lock';\nexport = { lockDir };\n", 'cts.lock'],
  ])('loads a .%s module', async (extension, text, lockDir) => {
    const resolved = await lockCommandOptions({ config: await configFile(`options.${extension}`, text) });
    expect(resolved.lockDir).toBe(join(process.cwd(), lockDir));
  });

  it("gives an ES module its own import.meta.url (the playground's config places its root with it)", async () => {
    const text = "import { fileURLToPath } from 'node:url';\nexport default { root: fileURLToPath(new URL('.', import.meta.url)) };\n";
    const resolved = await lockCommandOptions({ config: await configFile('options.mjs', text) });
    expect(resolved.lockDir).toBe(join(scratch, 'mugraph.lock'));
  });

  it('command-line flags override the file', async () => {
    const resolved = await lockCommandOptions({ config: join(PROJECT, 'configs/mugraph.config.ts'), lockDir: 'flag.lock' });
    expect(resolved.lockDir).toBe(join(process.cwd(), 'flag.lock'));
  });

  it('rejects a module without a default export, naming the file', async () => {
    const file = await configFile('named.ts', "export const lockDir = 'named.lock';\n");
    await expect(lockCommandOptions({ config: file })).rejects.toThrow(`${file}: the default export must be the plugin's options object`);
  });

  it('reports a module that does not load, naming the file', async () => {
    const file = await configFile('broken.ts', 'export default { lockDir: ;\n');
    await expect(lockCommandOptions({ config: file })).rejects.toThrow(`${file}: cannot load the config file: `);
    await expect(lockCommandOptions({ config: join(scratch, 'absent.ts') })).rejects.toThrow(`${join(scratch, 'absent.ts')}: cannot load the config file: `);
  });
});
