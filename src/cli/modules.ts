/**
 * What the lock commands (warm, verify, prune) share: the resolved options (the plugin's
 * options, optionally from `--config <file>`, a module whose default export is them, so
 * that the CLI computes the same cache keys as the build), the tensor modules the globs
 * match, and how paths are shown.
 *
 * The config file is loaded with jiti, as ESLint loads eslint.config.ts: TypeScript
 * (.ts, .mts, .cts) and JavaScript, ES module or CommonJS, on every Node version we
 * support (Node 20 cannot import TypeScript), in this process and without a cache on disk.
 */
import { relative, resolve } from 'node:path';
import { glob } from 'tinyglobby';
import { type MugraphOptions, type ResolvedOptions, resolveOptions } from '../build/options.js';

export const DEFAULT_GLOBS = ['**/*.tensor.{ts,mts,cts,js,mjs,cjs}'];
const IGNORED = ['**/node_modules/**', '**/.git/**'];

export interface LockCommandFlags {
  readonly config?: string;
  readonly lockDir?: string;
  readonly cacheDir?: string;
  readonly evaluateTimeoutMs?: number;
}

export async function lockCommandOptions(flags: LockCommandFlags, overrides: MugraphOptions = {}): Promise<ResolvedOptions> {
  const fromFile = flags.config === undefined ? {} : await loadConfig(resolve(flags.config));
  return resolveOptions({
    ...fromFile,
    ...(flags.lockDir === undefined ? {} : { lockDir: flags.lockDir }),
    ...(flags.cacheDir === undefined ? {} : { cacheDir: flags.cacheDir }),
    ...(flags.evaluateTimeoutMs === undefined ? {} : { evaluateTimeoutMs: flags.evaluateTimeoutMs }),
    ...overrides,
  });
}

async function loadConfig(file: string): Promise<MugraphOptions> {
  const { createJiti } = await import('jiti');
  // interopDefault off: with it, jiti passes a module's named exports off as its default export.
  const jiti = createJiti(import.meta.url, { fsCache: false, interopDefault: false });
  let module: Record<string, unknown>;
  try {
    module = await jiti.import<Record<string, unknown>>(file);
  } catch (error) {
    throw new Error(`${file}: cannot load the config file: ${messageOf(error)}`, { cause: error });
  }
  const options = defaultExport(module);
  if (options === null || typeof options !== 'object') throw new Error(`${file}: the default export must be the plugin's options object`);
  return options as MugraphOptions;
}

/**
 * The default export, as `import()` would give it: an ES module's (jiti compiles those to
 * CommonJS marked `__esModule`, so one without a default export has none), or a CommonJS
 * module's `module.exports`.
 */
function defaultExport(module: Record<string, unknown>): unknown {
  if ('default' in module) return module.default;
  return module.__esModule === true ? undefined : module;
}

/** Absolute paths of the tensor modules under `root` matching `globs` (default: every *.tensor.* file), sorted. */
export async function findTensorModules(root: string, globs: readonly string[]): Promise<string[]> {
  const patterns = globs.length > 0 ? [...globs] : DEFAULT_GLOBS;
  const files = await glob(patterns, { cwd: root, absolute: true, ignore: IGNORED });
  return files.sort();
}

export function displayPath(root: string, file: string): string {
  const rel = relative(root, file);
  return rel.startsWith('..') ? file : rel;
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
