/**
 * The plugin reports through each bundler's logger, at its levels: a compiled entry is an
 * info log, a rebuilt (damaged) entry a warning, and a bundler told to be silent prints
 * nothing of ours. Each bundler builds the fixture project three times, at its info, warning
 * and silent levels (Vite `logLevel`, its dev server too; Rollup and Rolldown `logLevel`;
 * esbuild `logLevel`; webpack and Rspack `stats` and `infrastructureLogging`), with the lock
 * damaged before the last two so that each has a compile and a rebuild to report.
 *
 * What a bundler "printed" is everything written to stdout, stderr and the console during
 * the build, plus what its CLI prints from the result: webpack's and Rspack's stats as their
 * `stats` option renders them, and esbuild's result warnings where its `logLevel` shows them
 * (esbuild prints from its own process, out of this one's reach).
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { format } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { MugraphOptions } from '../../src/build/options.js';
import { PROJECT } from './bundlers.js';
import { ensureBuilt, ROOT } from './dist.js';

type Level = 'info' | 'warn' | 'silent';
type Host = 'vite' | 'vite dev server' | 'rollup' | 'rolldown' | 'esbuild' | 'webpack' | 'rspack';
type Plugin = (options: MugraphOptions) => never;

const MAIN = join(PROJECT, 'src/main.js');

let scratch: string;
beforeAll(async () => {
  ensureBuilt();
  scratch = await mkdtemp(join(tmpdir(), 'mugraph-logging-'));
});
afterAll(() => rm(scratch, { recursive: true, force: true }));

async function plugin(bundler: string): Promise<Plugin> {
  return ((await import(/* @vite-ignore */ `mugraph/${bundler}`)) as { default: Plugin }).default;
}

/** Builds the fixture project at `level`; resolves to what the bundler's CLI would print from the result. */
const BUILDS: Record<Host, (level: Level, options: MugraphOptions, dir: string) => Promise<string>> = {
  async vite(level, options, dir) {
    const { build } = await import('vite');
    await build({
      root: PROJECT, configFile: false, cacheDir: join(dir, 'vite'), logLevel: level, plugins: [(await plugin('vite'))(options)],
      build: { outDir: join(dir, 'out'), write: false, minify: false, lib: { entry: MAIN, formats: ['es'] } },
    });
    return '';
  },
  async 'vite dev server'(level, options, dir) {
    const { createServer } = await import('vite');
    const server = await createServer({
      root: PROJECT, configFile: false, cacheDir: join(dir, 'vite'), logLevel: level, plugins: [(await plugin('vite'))(options)],
      server: { middlewareMode: true, hmr: false, watch: null },
    });
    try {
      await server.transformRequest('/src/model/small.tensor.ts');
    } finally {
      await server.close();
    }
    return '';
  },
  async rollup(level, options) {
    const { rollup } = await import('rollup');
    await (await rollup({ input: MAIN, logLevel: level, plugins: [(await plugin('rollup'))(options)] })).close();
    return '';
  },
  async rolldown(level, options) {
    const { rolldown } = await import('rolldown');
    const bundle = await rolldown({ input: MAIN, logLevel: level, plugins: [(await plugin('rolldown'))(options)] });
    await bundle.generate({ format: 'es' });
    await bundle.close();
    return '';
  },
  async esbuild(level, options) {
    const esbuild = await import('esbuild');
    const logLevel = ({ info: 'info', warn: 'warning', silent: 'silent' } as const)[level];
    const result = await esbuild.build({
      entryPoints: [MAIN], bundle: true, write: false, format: 'esm', platform: 'neutral', absWorkingDir: ROOT, logLevel,
      plugins: [(await plugin('esbuild'))(options)],
    });
    return level === 'silent' ? '' : (await esbuild.formatMessages(result.warnings, { kind: 'warning', color: false })).join('');
  },
  webpack: async (level, options, dir) => webpackLike((await import('webpack')).default, await plugin('webpack'), level, options, dir),
  rspack: async (level, options, dir) => webpackLike((await import('@rspack/core')).rspack, await plugin('rspack'), level, options, dir),
};

const STATS: Record<Level, string> = { info: 'normal', warn: 'errors-warnings', silent: 'none' };

interface Compiler {
  run(callback: (error: Error | null, stats?: { toString(options: unknown): string }) => void): void;
  close(callback: () => void): void;
}

/** webpack and Rspack: what their CLI prints is the stats, rendered as the `stats` option says. */
function webpackLike(create: (config: never) => unknown, mugraph: Plugin, level: Level, options: MugraphOptions, dir: string): Promise<string> {
  const config = {
    mode: 'production', context: PROJECT, entry: MAIN, output: { path: join(dir, 'out') }, optimization: { minimize: false },
    stats: STATS[level], infrastructureLogging: { level: level === 'silent' ? 'none' : level }, plugins: [mugraph(options)],
  };
  const compiler = create(config as never) as Compiler;
  return new Promise((resolve, reject) => {
    compiler.run((error, stats) => compiler.close(() => (error ? reject(error) : resolve(stats!.toString(config.stats)))));
  });
}

/** Everything written to stdout, stderr and the console while `work` runs, followed by what it returns. */
async function printed(work: () => Promise<string>): Promise<string> {
  const chunks: string[] = [];
  const write = (chunk: unknown) => {
    chunks.push(String(chunk));
    return true;
  };
  const spies = [
    vi.spyOn(process.stdout, 'write').mockImplementation(write),
    vi.spyOn(process.stderr, 'write').mockImplementation(write),
    ...(['log', 'info', 'warn', 'error', 'debug'] as const).map((method) =>
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => void write(`${format(...args)}\n`))),
  ];
  try {
    const fromResult = await work();
    return chunks.join('') + fromResult;
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}

/** Hand-edits scaled_sum's entry (its content hash no longer matches) and deletes row_norm's: one rebuild and one compile to report. */
async function damageLock(lockDir: string): Promise<void> {
  for (const name of await readdir(lockDir)) {
    const file = join(lockDir, name);
    const entry = JSON.parse(await readFile(file, 'utf8')) as { program: { name: string } };
    if (entry.program.name === 'row_norm') await rm(file);
    else await writeFile(file, JSON.stringify({ ...entry, program: { ...entry.program, name: 'edited' } }));
  }
}

const COMPILED = (program: string) => new RegExp(`compiled ${program} from src/model/small\\.tensor\\.ts for webgpu-defaults: \\d+ kernels? `
  + '\\(searched: [\\d,]+ explored, \\d+ screened, 1 verified, [\\d.]+ s\\) -> ');
const REBUILT = /rebuilt \(.*corrupt or modified lock entry.*\) scaled_sum from src\/model\/small\.tensor\.ts/;

describe.each(Object.keys(BUILDS) as Host[])('%s', (host) => {
  it('logs compiles at info and rebuilt entries as warnings, and prints nothing when silent', async () => {
    const dir = join(scratch, host.replaceAll(' ', '-'));
    const lockDir = join(dir, 'lock');
    // writeLock: the dev server would otherwise write the scratch cache, and the lock could not be damaged.
    const options: MugraphOptions = { root: PROJECT, lockDir, cacheDir: join(dir, 'cache'), frozen: false, writeLock: true };
    const build = (level: Level) => printed(() => BUILDS[host](level, options, dir));

    const info = await build('info');
    expect(info).toMatch(COMPILED('scaled_sum'));
    expect(info).toMatch(COMPILED('row_norm'));
    expect(info).not.toMatch(/rebuilt/);

    await damageLock(lockDir);
    const warnings = await build('warn');
    expect(warnings).toMatch(REBUILT);
    expect(warnings, 'a compile is not a warning').not.toMatch(COMPILED('row_norm'));

    await damageLock(lockDir);
    expect(await build('silent')).toBe('');
    expect((await readdir(lockDir)).length, 'the silent build did compile and rebuild').toBe(2);
  });
});
