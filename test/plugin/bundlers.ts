/**
 * Runs one build of the fixture project through a bundler's JavaScript API, with the config
 * from fixtures/projects/basic/configs/: <bundler>.config.js, an ES module that imports the
 * plugin from its published entry (`mugraph/<bundler>`, i.e. from dist/), or, with format
 * 'cjs', <bundler>.config.cjs, a CommonJS module that requires it, loaded by Node's own
 * require (not the test runner's module loader), as a CommonJS config file is. Resolves to
 * the output file; a failed build rejects with every error message the bundler reported, joined.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { MugraphOptions } from '../../src/build/options.js';

export const BUNDLERS = ['vite', 'rollup', 'rolldown', 'esbuild', 'webpack', 'rspack'] as const;
export type Bundler = (typeof BUNDLERS)[number];

export const PROJECT = join(import.meta.dirname, '../../fixtures/projects/basic');

export interface BuildRequest {
  /** Entry, relative to the project: src/main.js or src/broken.js. */
  readonly entry: string;
  /** The project; default the fixture project (the configs still come from it). */
  readonly root?: string;
  readonly outDir: string;
  readonly options: MugraphOptions;
}

/** The config file's module format: an ES module (`import mugraph from ...`) or CommonJS (`require(...)`). */
export type ConfigFormat = 'esm' | 'cjs';

type ConfigFactory = (args: { root: string; entry: string; outDir: string; options: MugraphOptions }) => Record<string, unknown>;

export async function buildWith(bundler: Bundler, request: BuildRequest, format: ConfigFormat = 'esm'): Promise<string> {
  const factory = await loadConfigFactory(bundler, format);
  const root = request.root ?? PROJECT;
  const config = factory({ root, entry: join(root, request.entry), outDir: request.outDir, options: request.options });
  await RUNNERS[bundler](config);
  return join(request.outDir, 'main.js');
}

async function loadConfigFactory(bundler: Bundler, format: ConfigFormat): Promise<ConfigFactory> {
  if (format === 'cjs') return createRequire(import.meta.url)(join(PROJECT, 'configs', `${bundler}.config.cjs`)) as ConfigFactory;
  const configUrl = pathToFileURL(join(PROJECT, 'configs', `${bundler}.config.js`)).href;
  return ((await import(/* @vite-ignore */ configUrl)) as { default: ConfigFactory }).default;
}

type Config = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const RUNNERS: Record<Bundler, (config: Config) => Promise<void>> = {
  async vite(config) {
    const { build } = await import('vite');
    await build(config);
  },
  async rollup(config) {
    const { rollup } = await import('rollup');
    const bundle = await rollup(config);
    await bundle.write(config.output);
    await bundle.close();
  },
  async rolldown(config) {
    const { rolldown } = await import('rolldown');
    const bundle = await rolldown(config);
    await bundle.write(config.output);
    await bundle.close();
  },
  async esbuild(config) {
    const esbuild = await import('esbuild');
    await esbuild.build(config as import('esbuild').BuildOptions);
  },
  async webpack(config) {
    const { default: webpack } = await import('webpack');
    await runCompiler(webpack(config as never) as unknown as Compiler);
  },
  async rspack(config) {
    const { rspack } = await import('@rspack/core');
    await runCompiler(rspack(config as never) as unknown as Compiler);
  },
};

interface Compiler {
  run(callback: (error: Error | null, stats?: { hasErrors(): boolean; toJson(options: unknown): { errors?: { message: string }[] } }) => void): void;
  close(callback: () => void): void;
}

/** webpack and Rspack report module errors in stats, not as a rejected run. */
function runCompiler(compiler: Compiler): Promise<void> {
  return new Promise((resolve, reject) => {
    compiler.run((error, stats) => {
      compiler.close(() => {
        if (error) return reject(error);
        if (stats?.hasErrors()) {
          const messages = stats.toJson({ all: false, errors: true }).errors?.map((e) => e.message) ?? [];
          return reject(new Error(messages.join('\n')));
        }
        resolve();
      });
    });
  });
}
