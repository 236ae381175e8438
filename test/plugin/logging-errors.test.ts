/**
 * An invalid tensor module's error as the user reads it: exactly one code frame, at the
 * right line and column (the caret under `matmul` on line 7; bundlers print 0-based columns,
 * so 7:16), and the message without a second copy of the location. Vite's build (Rolldown
 * prints the frame the plugin gives it), Vite's dev server (which draws its own frame from
 * `loc`) and esbuild (which draws the source line the plugin fills in) are compared with
 * their exact text; webpack and Rspack, which show only the message, with one frame in it.
 */
import { stripVTControlCharacters } from 'node:util';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MugraphOptions } from '../../src/build/options.js';
import { buildWith, PROJECT } from './bundlers.js';
import { ensureBuilt, ROOT } from './dist.js';

const BROKEN = join(PROJECT, 'src/model/broken.tensor.ts');
const MESSAGE = "matmul: inner dimensions differ: a's last dim is 8, b's second-last is 9 (shapes [4, 8], [9, 4])";

type Plugin = (options: MugraphOptions) => never;
let scratch: string;
let options: MugraphOptions;
beforeAll(async () => {
  ensureBuilt();
  scratch = await mkdtemp(join(tmpdir(), 'mugraph-errors-'));
  options = { root: PROJECT, lockDir: join(scratch, 'lock'), cacheDir: join(scratch, 'cache'), frozen: false };
});
afterAll(() => rm(scratch, { recursive: true, force: true }));

async function plugin(bundler: string): Promise<Plugin> {
  return ((await import(/* @vite-ignore */ `mugraph/${bundler}`)) as { default: Plugin }).default;
}

async function rejection(work: Promise<unknown>): Promise<Error & { errors?: import('esbuild').Message[] }> {
  return work.then(() => expect.fail('the build should have failed'), (error: unknown) => error as Error);
}

describe('one code frame, at the right line and column', () => {
  it('vite build: the location once, then the frame', async () => {
    const { build } = await import('vite');
    const error = await rejection(build({
      root: PROJECT, configFile: false, cacheDir: join(scratch, 'vite'), logLevel: 'silent', plugins: [(await plugin('vite'))(options)],
      build: { write: false, lib: { entry: join(PROJECT, 'src/broken.js'), formats: ['es'] } },
    }));
    // What `vite build` prints after "error during build:", up to the stack (Rolldown colours it when CI is set).
    expect(stripVTControlCharacters(error.message).split(/\n\s+at /)[0]).toBe([
      'Build failed with 1 error:',
      '',
      `[plugin mugraph] ${BROKEN}:7:16`,
      `RolldownError: ${MESSAGE}`,
      "  5 |   const a = g.input('a', [4, 8], 'f32');",
      "  6 |   const b = g.input('b', [9, 4], 'f32');",
      '> 7 |   return { c: g.matmul(a, b) };',
      '    |                 ^',
      '  8 | });',
      '  9 |',
    ].join('\n'));
  });

  it("vite dev server: Vite's own frame, drawn from the location", async () => {
    const { createLogger, createServer } = await import('vite');
    const errors: string[] = [];
    const logger = { ...createLogger('silent'), error: (message: string) => void errors.push(stripVTControlCharacters(message)) };
    const server = await createServer({
      root: PROJECT, configFile: false, cacheDir: join(scratch, 'vite'), customLogger: logger, plugins: [(await plugin('vite'))(options)],
      server: { host: '127.0.0.1', port: 0, hmr: false, watch: null, ws: false },
    });
    try {
      await server.listen();
      const response = await fetch(new URL('src/model/broken.tensor.ts', server.resolvedUrls!.local[0]));
      expect(response.status).toBe(500);
    } finally {
      await server.close();
    }
    expect(errors).toEqual([[
      `Internal server error: ${MESSAGE}`,
      '  Plugin: mugraph',
      `  File: ${BROKEN}:7:16`,
      "  5  |    const a = g.input('a', [4, 8], 'f32');",
      "  6  |    const b = g.input('b', [9, 4], 'f32');",
      '  7  |    return { c: g.matmul(a, b) };',
      '     |                  ^',
      '  8  |  });',
      '  9  |  ',
    ].join('\n')]);
  });

  it('esbuild: the source line under the location, the name underlined', async () => {
    const esbuild = await import('esbuild');
    const error = await rejection(esbuild.build({
      entryPoints: [join(PROJECT, 'src/broken.js')], bundle: true, write: false, format: 'esm', platform: 'neutral', absWorkingDir: ROOT,
      logLevel: 'silent', plugins: [(await plugin('esbuild'))(options)],
    }));
    // What esbuild prints for it (formatMessages is its printer).
    expect((await esbuild.formatMessages(error.errors!, { kind: 'error', color: false })).join('')).toBe([
      `✘ [ERROR] ${MESSAGE} [plugin mugraph]`,
      '',
      '    fixtures/projects/basic/src/model/broken.tensor.ts:7:16:',
      '      7 │   return { c: g.matmul(a, b) };',
      '        ╵                 ~~~~~~',
      '',
      '  The plugin "mugraph" was triggered by this import',
      '',
      '    fixtures/projects/basic/src/broken.js:2:34:',
      "      2 │ export { default as broken } from './model/broken.tensor.ts';",
      '        ╵                                   ~~~~~~~~~~~~~~~~~~~~~~~~~~',
      '',
      '',
    ].join('\n'));
  });

  it.each(['webpack', 'rspack'] as const)('%s: the location and one frame in the message, which is all it shows', async (bundler) => {
    const error = await rejection(buildWith(bundler, { entry: 'src/broken.js', outDir: join(scratch, bundler), options }));
    const text = stripVTControlCharacters(error.message); // Rspack colours it and puts a gutter before each line
    expect(text).toContain(`${BROKEN}:7:17: ${MESSAGE}`);
    expect(text.match(/> 7 \| {3}return \{ c: g\.matmul\(a, b\) \};\n.*\| {17}\^$/gm)).toHaveLength(1);
  });
});
