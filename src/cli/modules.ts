/**
 * What the lock commands (warm, verify, prune) share: the resolved options (the plugin's
 * options, optionally from `--config <file>`, a module whose default export is them, so
 * that the CLI computes the same cache keys as the build), the tensor modules the globs
 * match, and how paths are shown.
 */
import { relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
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
  const module = (await import(pathToFileURL(file).href)) as { default?: unknown };
  const options = module.default;
  if (options === null || typeof options !== 'object') throw new Error(`${file}: the default export must be the plugin's options object`);
  return options as MugraphOptions;
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
