/**
 * The options of the build plugin and of the `mugraph` cache commands (warm, verify,
 * prune), and `resolveOptions`, the one place their defaults are applied. Both the plugin
 * and the CLI resolve through it, so a module compiled by either gets the same cache key.
 */
import { isAbsolute, join, relative, resolve } from 'node:path';
import { DEFAULT_EVALUATE_TIMEOUT_MS } from '../frontend/load-module.js';
import { type TargetProfile, webgpuDefaults } from '../ugraph/target.js';

/** A pattern on absolute module ids: a RegExp, a glob string, or a list of them. */
export type FilterPattern = RegExp | string | Array<RegExp | string>;

/**
 * The search's configuration as the build takes it (part of the cache key): `false` ships the
 * per-operator lowering without searching (quick builds while iterating); an object overrides
 * the search's limits (src/search/superoptimize.ts DEFAULT_SEARCH_LIMITS, docs/search.md §6).
 * `{}` (the default) searches with the default limits.
 */
export type SearchOption = false | SearchConfig;

/** The resolved form, as the key and the lock entry hold it: `enabled: false` for `search: false`. */
export interface SearchConfig {
  readonly enabled?: boolean;
  /**
   * Wall-clock budget of the generator per program and target, in ms. None by default in a
   * build (its other limits count work, so the lock is the same on every machine); a search
   * cut by time may pick differently on another machine.
   */
  readonly timeMs?: number;
  /** Partial μGraphs the generator may reach per program and target: the work limit that ends a search the same way everywhere. */
  readonly maxExplored?: number;
  readonly maxCandidates?: number;
  readonly maxKernels?: number;
  readonly maxBlockOps?: number;
  readonly maxKernelInputs?: number;
  readonly maxSavers?: number;
  readonly extraRounds?: number;
}

/** The limits a SearchConfig may set (test/cache/cache.test.ts keeps them in step with SearchLimits). */
export const SEARCH_LIMIT_NAMES = ['timeMs', 'maxExplored', 'maxCandidates', 'maxKernels', 'maxBlockOps', 'maxKernelInputs', 'maxSavers', 'extraRounds'] as const;

export interface MugraphOptions {
  /** Project root; relative paths below resolve against it. @default process.cwd() (Vite: its `root`) */
  root?: string;
  /** Modules the plugin compiles. @default /\.tensor\.[cm]?[jt]s$/ */
  include?: FilterPattern;
  /** Modules it leaves alone. @default [/node_modules/] */
  exclude?: FilterPattern;
  /**
   * The committed kernel lock: one JSON file per compiled program. Commit it so that CI
   * and teammates build without searching. `false` keeps entries in the scratch cache only.
   * @default '<root>/mugraph.lock'
   */
  lockDir?: string | false;
  /** Scratch cache (safe to delete). @default '<root>/node_modules/.cache/mugraph', or $MUGRAPH_CACHE_DIR */
  cacheDir?: string;
  /**
   * Whether newly compiled entries go to the committed lock (true) or only to the scratch
   * cache (false). Either way the lock is read first, then the scratch cache; `mugraph warm`
   * always writes the lock, adding what the scratch cache holds without compiling it again.
   * @default true; false under a dev server (Vite's `vite serve`, `webpack serve`, `rspack serve`) unless given
   */
  writeLock?: boolean;
  /**
   * The search (part of the cache key): `false` ships the per-operator lowering without
   * searching; `{ timeMs: 20000, maxKernels: 2, ... }` overrides its limits.
   * @default {} (search with the default limits)
   */
  search?: SearchOption;
  /** Target profile the kernels are compiled and validated for (part of the cache key); shorthand for `targets: [target]`. @default webgpuDefaults */
  target?: TargetProfile;
  /**
   * Several target profiles, most preferred first: each program is compiled once per
   * profile (one lock entry each), and the generated `load(device)` runs the build of the
   * first profile whose limits and features the device has. Not together with `target`.
   * @default [webgpuDefaults]
   */
  targets?: readonly TargetProfile[];
  /**
   * Never compile: a program missing from the lock is an error naming the command that
   * fixes it (`npx mugraph warm`), and a corrupt entry is an error instead of a rebuild.
   * @default true when the CI environment variable is set (and not "false" or "0")
   */
  frozen?: boolean;
  /**
   * Run each newly compiled program on this machine's WebGPU adapter against the float64
   * reference (build/reference-check.ts) before writing its entry; the errors are reported
   * (ProgramBuild.check), not recorded in the entry. @default false
   */
  profile?: boolean;
  /**
   * Also attach to each exported program of a generated module its `compiled` (the
   * CompiledProgram that `load()` runs, sharing the module's WGSL constants) and `ugraph`
   * (the chosen μGraph as KernelGraph JSON, as the lock entry holds it), for tools that show
   * or re-run what the build chose (the playground, the demo). Off by default: an app's bundle
   * then carries only the kernels. Not part of the cache key: the kernels are the same.
   * @default false
   */
  artifacts?: boolean;
  /**
   * How long evaluating one tensor module may take, in ms: past it the evaluation (in a
   * worker thread) is stopped and the module fails with an error, so an endless loop in a
   * definition cannot hang the build. @default 30000
   */
  evaluateTimeoutMs?: number;
  /**
   * Called once per program and target built, with what the lock did. The default reports
   * compiles (info) and rebuilds (warning) through the bundler's logger, so the bundler's log
   * level silences them; hits are not reported. Outside a bundler (the API) it prints them
   * to stderr; `mugraph warm` prints its own lines.
   * @default the bundler's logger (formatProgramEvent)
   */
  onProgram?: (event: ProgramEvent) => void;
}

export interface ProgramEvent {
  /** The tensor module (absolute). */
  readonly file: string;
  readonly exportName: string;
  readonly programName: string;
  readonly key: string;
  /** The name of the target profile this entry was built for. */
  readonly target: string;
  /**
   * 'hit': from the lock, nothing compiled; 'compiled': new entry; 'rebuilt': replaced a
   * corrupt entry; 'searching': progress of a search still running (every few seconds of a
   * long one; `kernels` is 0 and `entryFile` the entry it will write).
   */
  readonly status: 'hit' | 'compiled' | 'rebuilt' | 'searching';
  /** The lock entry file. */
  readonly entryFile: string;
  readonly kernels: number;
  /** Why a rebuilt entry was replaced. */
  readonly reason?: string;
  /** The search's figures: for 'searching' so far, for 'compiled' and 'rebuilt' when it ran. */
  readonly search?: SearchSummary;
}

export interface SearchSummary {
  /** 'search': a verified searched μGraph; 'per-op-fallback': nothing verified; 'running': still searching. */
  readonly outcome: 'search' | 'per-op-fallback' | 'running';
  readonly explored: number;
  readonly screened: number;
  readonly verified: number;
  readonly ms: number;
}

export interface ResolvedOptions {
  readonly root: string;
  readonly include: FilterPattern;
  readonly exclude: FilterPattern;
  /** Absolute, or false when entries live only in the scratch cache. */
  readonly lockDir: string | false;
  readonly cacheDir: string;
  readonly writeLock: boolean;
  readonly search: SearchConfig;
  /** Non-empty, most preferred first. */
  readonly targets: readonly TargetProfile[];
  readonly frozen: boolean;
  readonly profile: boolean;
  readonly artifacts: boolean;
  readonly evaluateTimeoutMs: number;
  readonly onProgram: (event: ProgramEvent) => void;
}

export const DEFAULT_INCLUDE = /\.tensor\.[cm]?[jt]s$/;
export const DEFAULT_EXCLUDE = [/node_modules/];
export const DEFAULT_LOCK_DIR = 'mugraph.lock';
export const DEFAULT_CACHE_DIR = join('node_modules', '.cache', 'mugraph');

export function resolveOptions(options: MugraphOptions = {}, env: NodeJS.ProcessEnv = process.env): ResolvedOptions {
  const root = resolve(options.root ?? process.cwd());
  const inRoot = (path: string) => (isAbsolute(path) ? path : resolve(root, path));
  const lockDir = options.lockDir ?? DEFAULT_LOCK_DIR;
  return Object.freeze({
    root,
    include: options.include ?? DEFAULT_INCLUDE,
    exclude: options.exclude ?? DEFAULT_EXCLUDE,
    lockDir: lockDir === false ? false : inRoot(lockDir),
    cacheDir: inRoot(options.cacheDir ?? env.MUGRAPH_CACHE_DIR ?? DEFAULT_CACHE_DIR),
    writeLock: options.writeLock ?? true,
    search: resolveSearch(options.search),
    targets: resolveTargets(options),
    frozen: options.frozen ?? isCI(env),
    profile: options.profile ?? false,
    artifacts: options.artifacts ?? false,
    evaluateTimeoutMs: resolveTimeout(options.evaluateTimeoutMs),
    onProgram: options.onProgram ?? ((event: ProgramEvent) => printProgramEvent(event, root)),
  });
}

function resolveSearch(value: unknown): SearchConfig {
  if (value === undefined) return {};
  if (value === false) return { enabled: false };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`mugraph: \`search\` must be false or an object of limits (${SEARCH_LIMIT_NAMES.join(', ')}), got ${JSON.stringify(value)}`);
  }
  const config: Record<string, unknown> = {};
  for (const [name, limit] of Object.entries(value)) {
    if (name === 'enabled') {
      if (typeof limit !== 'boolean') throw new Error(`mugraph: search.enabled must be true or false, got ${JSON.stringify(limit)}`);
    } else if (!(SEARCH_LIMIT_NAMES as readonly string[]).includes(name)) {
      throw new Error(`mugraph: search.${name} is not a search setting; the settings are enabled, ${SEARCH_LIMIT_NAMES.join(', ')}`);
    } else if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < (name === 'extraRounds' ? 0 : 1)) {
      throw new Error(`mugraph: search.${name} must be a ${name === 'extraRounds' ? 'non-negative' : 'positive'} integer, got ${JSON.stringify(limit)}`);
    }
    config[name] = limit;
  }
  return config as SearchConfig;
}

function resolveTimeout(value: unknown): number {
  if (value === undefined) return DEFAULT_EVALUATE_TIMEOUT_MS;
  if (typeof value !== 'number' || !(value > 0)) throw new Error(`mugraph: evaluateTimeoutMs must be a positive number of milliseconds, got ${String(value)}`);
  return value;
}

function resolveTargets(options: MugraphOptions): readonly TargetProfile[] {
  if (options.target !== undefined && options.targets !== undefined) {
    throw new Error('mugraph: give either `target` or `targets`, not both (`target: t` is short for `targets: [t]`)');
  }
  const targets = options.targets ?? [options.target ?? webgpuDefaults];
  if (targets.length === 0) throw new Error('mugraph: `targets` is empty; list at least one target profile (e.g. webgpuDefaults)');
  // Two profiles with one name would make events, lock entries and load errors ambiguous.
  const names = targets.map((t) => t.name);
  const repeated = names.find((n, i) => names.indexOf(n) !== i);
  if (repeated !== undefined) throw new Error(`mugraph: two target profiles are named "${repeated}"; give each a distinct name`);
  return Object.freeze([...targets]);
}

/**
 * What the default `onProgram` reports for `event`: `compiled scaled_sum from src/x.tensor.ts
 * for webgpu-defaults: 1 kernel (searched: 68 explored, 1 screened, 1 verified, 0.1 s) ->
 * mugraph.lock/ab.json`, `searching ... (12 s: 30,512 explored, 2 screened, 0 verified)` while a long
 * search runs (every few seconds), undefined for a hit (nothing to say).
 */
export function formatProgramEvent(event: ProgramEvent, root: string): string | undefined {
  if (event.status === 'hit') return undefined;
  const where = `${event.programName} from ${relative(root, event.file)} for ${event.target}`;
  const search = event.search;
  if (event.status === 'searching') {
    return `searching ${where} (${search ? `${seconds(search.ms)}: ${searchCounts(search)}` : 'started'})`;
  }
  const what = event.status === 'compiled' ? 'compiled' : `rebuilt (${event.reason ?? 'corrupt entry'})`;
  const searched = search === undefined ? ''
    : ` (${search.outcome === 'search' ? 'searched' : 'nothing searched verified, per-operator lowering'}: ${searchCounts(search)}, ${seconds(search.ms)})`;
  return `${what} ${where}: ${event.kernels} kernel${event.kernels === 1 ? '' : 's'}${searched} -> ${relative(root, event.entryFile)}`;
}

/** `2,079 explored, 3 screened, 1 verified` */
export function searchCounts(search: SearchSummary): string {
  return `${search.explored.toLocaleString('en-US')} explored, ${search.screened} screened, ${search.verified} verified`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}

/** The default `onProgram` without a bundler (the API): formatProgramEvent's line on stderr. The plugin reports through the bundler instead. */
export function printProgramEvent(event: ProgramEvent, root: string): void {
  const line = formatProgramEvent(event, root);
  if (line !== undefined) process.stderr.write(`mugraph: ${line}\n`);
}

/** The CI convention: `CI` set to anything but an explicit false. */
export function isCI(env: NodeJS.ProcessEnv): boolean {
  const value = env.CI;
  return value !== undefined && value !== '' && value !== 'false' && value !== '0';
}
