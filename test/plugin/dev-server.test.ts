/**
 * Under a dev server the plugin compiles into the scratch cache and leaves the committed lock
 * alone (`writeLock: false`), unless the options say `writeLock: true`: Vite's dev server
 * (`command === 'serve'`), and webpack and Rspack run by their `serve` commands (which set
 * WEBPACK_SERVE). Builds, `vite build` included, write the lock (bundlers.test.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MugraphOptions, ProgramEvent } from '../../src/build/options.js';
import { buildWith, PROJECT } from './bundlers.js';
import { ensureBuilt } from './dist.js';

let scratch: string;
beforeAll(async () => {
  ensureBuilt();
  scratch = await mkdtemp(join(tmpdir(), 'mugraph-dev-server-'));
});
afterAll(() => rm(scratch, { recursive: true, force: true }));

/** Options on fresh directories, and where each compiled entry went: 'lock' or 'cache'. */
function recorded(name: string, extra: MugraphOptions = {}) {
  const dir = join(scratch, name);
  const events: ProgramEvent[] = [];
  const options: MugraphOptions = {
    root: PROJECT, lockDir: join(dir, 'lock'), cacheDir: join(dir, 'cache'), frozen: false, onProgram: (e) => events.push(e), ...extra,
  };
  const written = () => events.map((e) => `${e.status}:${e.entryFile.startsWith(join(dir, 'lock') + sep) ? 'lock' : 'cache'}`);
  return { options, written };
}

async function serveWithVite(options: MugraphOptions): Promise<void> {
  const { createServer } = await import('vite');
  const { default: mugraph } = (await import('mugraph/vite' as string)) as { default: (o: MugraphOptions) => import('vite').Plugin };
  const server = await createServer({
    root: PROJECT, configFile: false, logLevel: 'silent', cacheDir: join(scratch, 'vite'), plugins: [mugraph(options)],
    server: { middlewareMode: true, hmr: false, watch: null },
  });
  try {
    await server.transformRequest('/src/model/small.tensor.ts');
  } finally {
    await server.close();
  }
}

describe('vite dev server', () => {
  it('compiles into the scratch cache, not the lock', async () => {
    const { options, written } = recorded('vite-serve');
    await serveWithVite(options);
    expect(written()).toEqual(['compiled:cache', 'compiled:cache']);
  });

  it('writes the lock when told to (writeLock: true)', async () => {
    const { options, written } = recorded('vite-serve-lock', { writeLock: true });
    await serveWithVite(options);
    expect(written()).toEqual(['compiled:lock', 'compiled:lock']);
  });
});

describe.each(['webpack', 'rspack'] as const)('%s', (bundler) => {
  it('under `serve` (WEBPACK_SERVE set) compiles into the scratch cache unless told otherwise; a build writes the lock', async () => {
    const build = (name: string, extra?: MugraphOptions) => {
      const { options, written } = recorded(`${bundler}-${name}`, extra);
      return buildWith(bundler, { entry: 'src/main.js', outDir: join(scratch, bundler, name), options }).then(written);
    };
    expect(await build('build')).toEqual(['compiled:lock', 'compiled:lock']);
    process.env.WEBPACK_SERVE = 'true';
    try {
      expect(await build('serve')).toEqual(['compiled:cache', 'compiled:cache']);
      expect(await build('serve-lock', { writeLock: true })).toEqual(['compiled:lock', 'compiled:lock']);
    } finally {
      delete process.env.WEBPACK_SERVE;
    }
  });
});
