/**
 * What the plugin and `mugraph warm` do with one `*.tensor.ts`: evaluate it, and for each
 * exported program find its entry (the lock, then the scratch cache: cache/store.ts) or,
 * unless frozen, compile and write one, then regenerate the WGSL from the entry's μGraph and
 * emit the replacement ES module.
 *
 * - A hit compiles nothing: the entry is checked against the program and target
 *   (cache/lock-hit.ts: compiler, interface, limits, the report's counts, the μGraph the
 *   compiler would choose), its μGraph is code-generated again, and the finite-field
 *   verifier checks it computes the program, unless this machine's scratch cache records
 *   this exact entry (by content hash) as verified here (cache/verified.ts).
 * - A new entry's μGraph is verified at full shape before it is written
 *   (equivalence-check.ts): only an 'equivalent' one is written, or the per-operator
 *   lowering, trusted by construction, which is also the fallback; the entry records the
 *   verdict, and the entry is marked verified here.
 * - New entries go where the store writes: the lock (`writeLock`, the default), or the
 *   scratch cache (the dev server). A build that writes the lock adds an entry only the
 *   scratch cache has without compiling it again ('compiled', with `promotedFrom`).
 * - An entry is a function of its program, configuration and compiler, so compiling a
 *   program twice writes the same bytes: the compile time, the verifier's time and the
 *   reference check (`profile`, which `mugraph warm` sets where there is an adapter) are
 *   reported on the ProgramBuild, never written into the entry. A failing check writes nothing.
 * - Frozen (CI): only the lock is read; a missing entry is a MissingEntryError naming
 *   `npx mugraph warm <file>`; a corrupt, rejected or outdated one (another lock format or
 *   compiler) is a CorruptEntryError naming the entry file and the same fix. Not frozen:
 *   either is (re)compiled, and the replacement is reported ('rebuilt') with the reason; an
 *   entry in lock format 1 (keyed differently) is replaced by one at the new key, and
 *   deleted when the build writes the lock.
 * - The same key compiled twice at once in one process (two modules, one program) is
 *   compiled once.
 */
import { relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadTensorModule } from '../frontend/load-module.js';
import type { Program } from '../frontend/program.js';
import type { NodeGpu } from '../gpu/node-device.js';
import type { CompiledProgram } from '../runtime/types.js';
import type { SearchProgress } from '../search/superoptimize.js';
import { KernelGraph } from '../ugraph/kernel-graph.js';
import type { TargetProfile } from '../ugraph/target.js';
import { COMPILER_ID, compileProgram, kernelLaunches, regenerate } from './compiler.js';
import { type EmittedProgram, emitModule } from './emit.js';
import { CorruptEntryError, formatMismatch, type LockEntry, OutdatedEntryError, sealEntry } from '../cache/entry.js';
import { CACHE_SCHEMA, cacheKey, compilerIdentity, type KeyInputs, legacyKeys } from '../cache/key.js';
import type { ResolvedOptions, SearchSummary } from './options.js';
import { checkCompilerChoice, checkLockHit, type HitEquivalence, regenerateEntry, verifyLockHit } from '../cache/lock-hit.js';
import { type EntryDirectory, KernelStore, type StoredEntry } from '../cache/store.js';
import { chooseVerified } from './equivalence-check.js';
import { type ReferenceCheck, referenceCheck } from './reference-check.js';

/** 'hit': from the lock; 'compiled': new entry; 'rebuilt': replaced a corrupt entry or one the lock-hit checks rejected. */
export type EntryStatus = 'hit' | 'compiled' | 'rebuilt';

export interface ProgramBuild {
  readonly exportName: string;
  readonly program: Program;
  /** The profile this entry was compiled for (one ProgramBuild per program and target). */
  readonly target: TargetProfile;
  readonly key: string;
  readonly status: EntryStatus;
  readonly entry: LockEntry;
  /** The entry file. */
  readonly file: string;
  readonly compiled: CompiledProgram;
  /** Why a 'rebuilt' entry was replaced. */
  readonly reason?: string;
  /** Seconds spent compiling, when this build compiled the entry. Not in the entry: it differs between runs. */
  readonly compileSeconds?: number;
  /** The reference check on this machine's adapter that the new entry passed (`profile`), when one ran. Not in the entry: it differs between machines. */
  readonly check?: ReferenceCheck;
  /**
   * How this build knows the entry's μGraph computes the program: the finite-field
   * verifier ran ('verifier': a new entry, or a hit this machine had not verified), or this
   * machine had verified this exact entry before ('mark'). Its time is reported here, never
   * written into the entry. A shared result (two modules, one program) reports the first's.
   */
  readonly equivalence: HitEquivalence;
  /** Why the compiler's choice was not used and the per-operator lowering was written instead. */
  readonly fellBack?: string;
  /** What the search did, when this build compiled the entry with it (its time is not in the entry). */
  readonly search?: SearchSummary;
  /** The scratch-cache entry a new lock entry was copied from (compiled earlier, by the dev server), instead of compiling. */
  readonly promotedFrom?: string;
}

export interface ModuleBuild {
  readonly file: string;
  /** Every source file the module imports (itself included): watch them, they decide its programs. */
  readonly dependencies: readonly string[];
  /** One per exported program and target, program by program, targets in the options' order. */
  readonly programs: readonly ProgramBuild[];
  /** The replacement ES module. */
  readonly code: string;
  /** Where the time went (wall-clock ms; programs' phases summed). */
  readonly timings: BuildTimings;
}

/**
 * Phases of one buildTensorModule call, in ms: evaluating the module (esbuild bundle of its
 * files, evaluation in the warm worker, replay: frontend/load-module.ts), the key and lock entry (hash, read, validate, check against the program),
 * regenerating WGSL from lock entries, the finite-field verification (of new entries, and
 * of hits this machine had not verified; on a marked hit, reading the mark), compiling
 * missing entries (zero on a lock hit), and emitting the ES module.
 * A program whose key another module is already building counts its wait under `lock`.
 */
export interface BuildTimings {
  readonly evaluateMs: number;
  readonly lockMs: number;
  readonly regenerateMs: number;
  readonly verifyMs: number;
  readonly compileMs: number;
  readonly emitMs: number;
  readonly totalMs: number;
}

type Phase = 'lock' | 'regenerate' | 'verify' | 'compile';
/** Accumulates ms per phase (see BuildTimings). */
export type PhaseClock = Record<Phase, number>;

function timed<T>(clock: PhaseClock | undefined, phase: Phase, work: () => T): T {
  const start = performance.now();
  try {
    return work();
  } finally {
    if (clock) clock[phase] += performance.now() - start;
  }
}

async function timedAsync<T>(clock: PhaseClock | undefined, phase: Phase, work: () => Promise<T>): Promise<T> {
  const start = performance.now();
  try {
    return await work();
  } finally {
    if (clock) clock[phase] += performance.now() - start;
  }
}

/** A program with no lock entry in a frozen build. */
export class MissingEntryError extends Error {
  override readonly name = 'MissingEntryError';
  constructor(readonly moduleFile: string, readonly programName: string, readonly entryFile: string, root: string, readonly target: string) {
    super(`${moduleFile}: program "${programName}" has no kernel lock entry for target "${target}" (${relative(root, entryFile)}) and the build is frozen `
      + `(CI or frozen: true), so it will not be compiled here. Run \`${warmCommand(moduleFile, root)}\` and commit the lock `
      + '(add `--config <module exporting the plugin options>` when they set lockDir, search or target(s), so the keys match the build).');
  }
}

/** Newly compiled kernels that do not match the float64 reference on this machine's adapter: never written to the lock. */
export class ReferenceCheckError extends Error {
  override readonly name = 'ReferenceCheckError';
  constructor(moduleFile: string, programName: string, readonly check: ReferenceCheck) {
    const failed = check.variants.filter((v) => !v.pass)
      .map((v) => `${v.variant}: relative L2 error ${v.relL2Error.toExponential(2)} > ${v.tolerance.toExponential(0)}`);
    super(`${moduleFile}: the kernels compiled for program "${programName}" do not match the float64 reference on ${check.adapter} `
      + `(${failed.join('; ')}); the entry was not written`);
  }
}

export function warmCommand(moduleFile: string, root: string): string {
  return `npx mugraph warm ${relative(root, moduleFile)}`;
}

export interface BuildContext {
  readonly options: ResolvedOptions;
  readonly store: KernelStore;
  /** The WebGPU device for `profile`, created on first use (the webgpu package is loaded only then). */
  gpu(): Promise<NodeGpu>;
  /** Destroys the device if one was created; the context stays usable. */
  release(): Promise<void>;
}

export function createBuildContext(options: ResolvedOptions): BuildContext {
  let gpu: Promise<NodeGpu> | undefined;
  return {
    options,
    store: new KernelStore(options.lockDir, options.cacheDir, options.writeLock),
    gpu: () => (gpu ??= import('../gpu/node-device.js').then((m) => m.createNodeDevice())),
    async release() {
      const current = gpu;
      gpu = undefined;
      // A device that could not be created (no `webgpu` package, no adapter) has nothing to destroy; its error went to gpu()'s caller.
      (await current?.catch(() => undefined))?.destroy();
    },
  };
}

export async function buildTensorModule(file: string, context: BuildContext): Promise<ModuleBuild> {
  const start = performance.now();
  const loaded = await loadTensorModule(file, { timeoutMs: context.options.evaluateTimeoutMs });
  const evaluated = performance.now();
  const clock: PhaseClock = { lock: 0, regenerate: 0, verify: 0, compile: 0 };
  const programs: ProgramBuild[] = [];
  const emitted: EmittedProgram[] = [];
  for (const { exportName, program } of loaded.programs) {
    const builds: ProgramBuild[] = [];
    for (const target of context.options.targets) {
      const event = { file: loaded.file, exportName, programName: program.name, target: target.name };
      const searching = everyFewSeconds((key, entryFile, search) =>
        context.options.onProgram({ ...event, key, status: 'searching', entryFile, kernels: 0, search }));
      const built: ProgramBuild = { exportName, ...(await ensureEntry(program, loaded.file, context, clock, target, searching)) };
      builds.push(built);
      context.options.onProgram({
        ...event, key: built.key, status: built.status, entryFile: built.file, kernels: kernelLaunches(built.compiled),
        ...(built.reason === undefined ? {} : { reason: built.reason }), ...(built.search === undefined ? {} : { search: built.search }),
      });
    }
    programs.push(...builds);
    emitted.push({ exportName, program, builds, ugraph: builds[0]!.entry.ugraph });
  }
  const emitStart = performance.now();
  const code = emitModule(relative(context.options.root, loaded.file), emitted, { artifacts: context.options.artifacts });
  const end = performance.now();
  const timings: BuildTimings = {
    evaluateMs: evaluated - start, lockMs: clock.lock, regenerateMs: clock.regenerate, verifyMs: clock.verify, compileMs: clock.compile,
    emitMs: end - emitStart, totalMs: end - start,
  };
  return { file: loaded.file, dependencies: loaded.dependencies, programs, code, timings };
}

/** What the key of `program` built for `target` is computed from. */
function keyInputs(program: Program, options: ResolvedOptions, target: TargetProfile): KeyInputs {
  return { program: program.canonicalJSON(), search: options.search, target };
}

/** The lock key of `program` built for `target` (by default the most preferred of the options' targets). */
export function programKey(program: Program, options: ResolvedOptions, target: TargetProfile = options.targets[0]!): string {
  return cacheKey(keyInputs(program, options, target));
}

/** An entry for `program` in an older lock format (keyed differently) in `dir`, if there is one: its key, file and format. */
export async function legacyEntry(program: Program, options: ResolvedOptions, target: TargetProfile, dir: EntryDirectory): Promise<{ key: string; file: string; format: number } | undefined> {
  for (const { key, format } of legacyKeys(keyInputs(program, options, target))) {
    if (await dir.has(key)) return { key, file: dir.fileFor(key), format };
  }
  return undefined;
}

const inFlight = new Map<string, Promise<Omit<ProgramBuild, 'exportName'>>>();

/** The program's entry for `target` from the store, or a new one compiled and written (see the header). */
export async function ensureEntry(
  program: Program, moduleFile: string, context: BuildContext, clock?: PhaseClock, target: TargetProfile = context.options.targets[0]!,
  onSearching?: SearchingListener,
): Promise<Omit<ProgramBuild, 'exportName'>> {
  const key = timed(clock, 'lock', () => programKey(program, context.options, target));
  const file = context.store.fileFor(key);
  const pending = inFlight.get(file);
  if (pending) return relabelled(await timedAsync(clock, 'lock', () => pending), program, clock);
  const work = lookupOrCompile(program, target, key, moduleFile, context, clock, onSearching).finally(() => inFlight.delete(file));
  inFlight.set(file, work);
  return work;
}

async function lookupOrCompile(
  program: Program, target: TargetProfile, key: string, moduleFile: string, context: BuildContext, clock: PhaseClock | undefined,
  onSearching: SearchingListener | undefined,
): Promise<Omit<ProgramBuild, 'exportName'>> {
  const { options, store } = context;
  let reason: string | undefined;
  let promote: { stored: StoredEntry; compiled: CompiledProgram; equivalence: HitEquivalence } | undefined;
  for (const source of store.sources(options.frozen)) {
    try {
      const stored = await timedAsync(clock, 'lock', () => source.read(key));
      if (!stored) continue;
      timed(clock, 'lock', () => checkLockHit(stored, program, target));
      const compiled = timed(clock, 'regenerate', () => regenerateEntry(stored, program));
      const equivalence = await timedAsync(clock, 'verify', () => verifyLockHit(stored, program, target, store.verified));
      timed(clock, 'lock', () => checkCompilerChoice(stored, program, target));
      // Served from where it is, unless only the scratch cache has it and this build writes the lock: then the lock gets it.
      if (source === store.primary || source === store.target) {
        return { program, target, key, status: 'hit', entry: stored.entry, file: stored.file, compiled, equivalence };
      }
      promote = { stored, compiled, equivalence };
      break;
    } catch (error) {
      if (!(error instanceof CorruptEntryError) || options.frozen) throw withFix(error, moduleFile, options.root);
      reason ??= error.message;
    }
  }
  const legacy = promote ? undefined : await timedAsync(clock, 'lock', () => legacyEntry(program, options, target, store.primary));
  const outdated = legacy && new OutdatedEntryError(legacy.file, `${formatMismatch(legacy.format)}; the entry for this format is ${store.primary.fileFor(key)}`);
  if (options.frozen) {
    if (outdated) throw withFix(outdated, moduleFile, options.root);
    throw new MissingEntryError(moduleFile, program.name, store.primary.fileFor(key), options.root, target.name);
  }
  reason ??= outdated?.message;
  const made = promote
    ? { entry: promote.stored.entry, compiled: promote.compiled, equivalence: promote.equivalence }
    : await compileEntry(program, key, options, target, clock, onSearching && ((search) => onSearching(key, store.target.fileFor(key), search)));
  const check = options.profile
    ? await timedAsync(clock, 'compile', async () => referenceCheck(program, made.compiled, await context.gpu()))
    : undefined;
  if (check && !check.pass) throw new ReferenceCheckError(moduleFile, program.name, check);
  const written = await timedAsync(clock, 'lock', () => store.target.write(made.entry));
  if (!promote) await timedAsync(clock, 'verify', () => store.verified.mark(made.entry.contentHash));
  // The outdated entry is replaced where it was: in the lock when this build writes it (the dev server leaves the lock alone).
  if (legacy && store.target === store.primary) await store.primary.remove(legacy.key);
  return {
    program, target, key, status: reason === undefined ? 'compiled' : 'rebuilt', entry: made.entry, file: written, compiled: made.compiled,
    equivalence: made.equivalence,
    ...(reason === undefined ? {} : { reason }),
    ...('compileSeconds' in made ? { compileSeconds: made.compileSeconds } : {}),
    ...('search' in made && made.search !== undefined ? { search: made.search } : {}),
    ...('fellBack' in made && made.fellBack !== undefined ? { fellBack: made.fellBack } : {}),
    ...(check ? { check } : {}),
    ...(promote ? { promotedFrom: promote.stored.file } : {}),
  };
}

/**
 * A new entry for `program`, sealed: a function of the program, configuration and compiler
 * only (nothing measured, no time). Its μGraph is verified first (equivalence-check.ts):
 * the compiler's choice if the verifier accepts it, else the per-operator lowering.
 */
async function compileEntry(
  program: Program, key: string, options: ResolvedOptions, target: TargetProfile, clock: PhaseClock | undefined,
  onSearching: ((search: SearchSummary) => void) | undefined,
) {
  const onProgress = onSearching && ((p: SearchProgress) => onSearching({ outcome: 'running', explored: p.explored, screened: p.screened, verified: p.verified, ms: p.elapsedMs }));
  const chosen = await timedAsync(clock, 'compile', () => compileProgram(program, options.search, target, onProgress));
  const { outcome, record, ms, fellBack } = await timedAsync(clock, 'verify', () => chooseVerified(program, chosen, target));
  const entry = sealEntry({
    schema: CACHE_SCHEMA,
    key,
    program: { name: program.name, canonical: JSON.parse(program.canonicalJSON()) as unknown },
    config: { search: options.search, target, compiler: compilerIdentity(COMPILER_ID) },
    ugraph: outcome.ugraph.toJSON(),
    verification: { ...outcome.verification, equivalence: record },
    report: outcome.record,
  });
  const equivalence: HitEquivalence = { by: 'verifier', verdict: record.verdict, ms };
  const result = chosen.search?.result;
  const search: SearchSummary | undefined = result && {
    outcome: result.source, explored: result.report.explored, screened: result.report.screened, verified: result.report.verified, ms: result.report.totalMs,
  };
  return { entry, compiled: outcome.compiled, compileSeconds: chosen.compileSeconds, equivalence, fellBack, search };
}

/** `report` for a search still running after SEARCHING_FIRST_MS, then every SEARCHING_EVERY_MS: a long build says what it does. */
function everyFewSeconds(report: SearchingListener): SearchingListener {
  let next = SEARCHING_FIRST_MS;
  return (key, entryFile, search) => {
    if (search.ms < next) return;
    next = search.ms + SEARCHING_EVERY_MS;
    report(key, entryFile, search);
  };
}

const SEARCHING_FIRST_MS = 5_000;
const SEARCHING_EVERY_MS = 10_000;

/** Told of a search in progress (about every 250 ms): the entry's key and file, and the search's figures so far. */
export type SearchingListener = (key: string, entryFile: string, search: SearchSummary) => void;

/** A result shared between two programs with one key: the second gets its own names. */
function relabelled(shared: Omit<ProgramBuild, 'exportName'>, program: Program, clock?: PhaseClock): Omit<ProgramBuild, 'exportName'> {
  if (shared.program === program) return shared;
  const compiled = timed(clock, 'regenerate', () => regenerate(KernelGraph.fromJSON(shared.entry.ugraph), program));
  // What the first build did (compiled, checked, promoted, and why) is its own: this one found the entry.
  const { reason: _reason, compileSeconds: _seconds, check: _check, promotedFrom: _from, fellBack: _fellBack, search: _search, ...found } = shared;
  return { ...found, program, status: 'hit', compiled };
}

/** A rejected entry in a frozen build: say how to replace it. */
function withFix(error: unknown, moduleFile: string, root: string): unknown {
  if (!(error instanceof CorruptEntryError)) return error;
  return error.withReason(`${error.reason}. Delete the file and run \`${warmCommand(moduleFile, root)}\`, then commit the lock`);
}
