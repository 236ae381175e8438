/**
 * Evaluates a user's `*.tensor.ts` module (TypeScript, no build step of theirs) and
 * collects the tensor programs it exports.
 *
 * Private: the module is bundled (bundle.ts) into a directory of its own (mkdtemp, removed
 * afterwards), and every file in it still sees its real location (`import.meta.url` and
 * the like), so nothing is read from, or left in, a shared temporary directory.
 * Bounded: it runs in a worker thread (evaluate-worker.ts) that is terminated after
 * `timeoutMs`, so an endless loop in a definition fails the build with an error instead of
 * hanging it, and nothing the module scheduled runs after its answer. The worker is kept
 * warm for the next module (evaluate-pool.ts) only when its module left nothing behind.
 * Checked: the programs it exports cross as data and are replayed through this thread's
 * DSL (replay.ts).
 *
 * Errors name the user's file and line: the worker maps stacks through the bundle's source
 * map, a ProgramError keeps the site the DSL recorded, and any other error is located at
 * the innermost frame in one of the user's files; when the module imports itself in a
 * cycle (often why a value is still undefined), the error says along which files.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundleModule, type ModuleBundle } from './bundle.js';
import { isProgramError, ProgramError } from './errors.js';
import { evaluatorFiles } from './evaluate-files.js';
import { type EvaluationOutcome, leaseWorker, type WorkerLease } from './evaluate-pool.js';
import { isProgram, type Program } from './program.js';
import { type ReplayedExport, replayError, replayExports } from './replay.js';
import { formatSite, parseStack } from './site.js';
import type { DslTensorProgram } from '../tensor-program.js';

/** How long a module may take to evaluate unless told otherwise (MugraphOptions.evaluateTimeoutMs). */
export const DEFAULT_EVALUATE_TIMEOUT_MS = 30_000;

export interface EvaluateOptions {
  /** Fail when evaluating the module takes longer (ms). @default DEFAULT_EVALUATE_TIMEOUT_MS */
  readonly timeoutMs?: number | undefined;
}

export interface LoadedTensorModule {
  /** Absolute path of the module. */
  readonly file: string;
  /** Every export whose value came from `tensorProgram(...)`, by export name (module namespace order). */
  readonly programs: ReadonlyArray<LoadedProgramExport>;
  /** Absolute paths of every source file the module imports (itself included), for watching and cache keys. */
  readonly dependencies: readonly string[];
}

export interface LoadedProgramExport {
  readonly exportName: string;
  readonly program: Program;
  /** The exported value itself (what `tensorProgram` returned), with its `load()`. */
  readonly value: DslTensorProgram;
}

/** A module evaluated: its exports as this thread rebuilt them (replay.ts); null for exports that are not programs. */
export interface EvaluatedModule {
  /** Absolute path of the module. */
  readonly file: string;
  readonly exports: Readonly<Record<string, ReplayedExport>>;
  /** Absolute paths of every source file the module imports (itself included). */
  readonly dependencies: readonly string[];
}

/** Bundles `file` privately and evaluates it in a worker under a time limit (see the header). */
export async function evaluateModule(file: string, options: EvaluateOptions = {}): Promise<EvaluatedModule> {
  const entry = resolve(file);
  if (!existsSync(entry)) throw new Error(`${entry}: no such file`);
  const timeoutMs = options.timeoutMs ?? DEFAULT_EVALUATE_TIMEOUT_MS;
  const files = await evaluatorFiles();
  const dir = await mkdtemp(join(tmpdir(), 'mugraph-evaluate-'));
  let worker: WorkerLease | undefined;
  try {
    worker = leaseWorker(files); // a new worker starts while the module is bundled
    const bundle = await bundleModule(entry, dir, files.packages);
    const message = answerOf(await worker.evaluate(pathToFileURL(bundle.moduleFile).href, timeoutMs), entry, timeoutMs);
    if (!message.ok) throw locateError(replayError(message.error), entry, bundle);
    return { file: entry, exports: replayExports(entry, message.exports), dependencies: bundle.dependencies };
  } finally {
    worker?.release();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The worker's answer, or the reason there is none, as the module's error. */
function answerOf(outcome: EvaluationOutcome, entry: string, timeoutMs: number) {
  switch (outcome.kind) {
    case 'answer': return outcome.message;
    case 'timeout': throw moduleError(entry,
      `evaluating the module took longer than ${timeoutMs} ms and was stopped (an endless loop in a program definition?); `
      + 'if it is only slow, raise the limit with the evaluateTimeoutMs option (CLI: --evaluate-timeout <ms>)');
    case 'exit': throw moduleError(entry, `the module ended its own evaluation (exit code ${outcome.code}) before it finished`);
  }
}

export async function loadTensorModule(file: string, options: EvaluateOptions = {}): Promise<LoadedTensorModule> {
  const { file: entry, exports, dependencies } = await evaluateModule(file, options);
  const programs = Object.entries(exports)
    .filter((entry): entry is [string, DslTensorProgram] => isTensorProgramExport(entry[1]))
    .map(([exportName, value]) => ({ exportName, program: value.program, value }));
  if (programs.length === 0) throw moduleError(entry, 'no tensor program exported (export the value returned by tensorProgram(...))');
  return { file: entry, programs, dependencies };
}

/** A problem with a module as a whole, reported at its first line (no line of it is to blame). */
export function moduleError(file: string, detail: string): ProgramError {
  return new ProgramError(detail, 'module', { file, line: 1, column: 1 });
}

function isTensorProgramExport(value: unknown): value is DslTensorProgram {
  return typeof value === 'object' && value !== null && isProgram((value as { program?: unknown }).program)
    && typeof (value as { load?: unknown }).load === 'function';
}

/**
 * Points an error raised while evaluating the module at the user's source: a ProgramError
 * already names its site; anything else is located at the innermost frame in one of the
 * user's files (stacks were source-mapped in the worker). A circular import is named.
 */
function locateError(error: Error, entry: string, bundle: ModuleBundle): Error {
  const cycle = bundle.cycle ? ` (note: ${bundle.cycle.map((f) => relative(process.cwd(), f)).join(' imports ')}: a circular import, so a value imported along it can still be undefined while the module evaluates)` : '';
  if (isProgramError(error)) return cycle ? new ProgramError(`${error.detail}${cycle}`, error.op, error.site, error.shapes) : error;
  const frame = parseStack(error.stack ?? '')
    .find((site) => bundle.dependencies.includes(site.file) && !site.file.includes('/node_modules/'));
  const located = new Error(`${frame ? formatSite(frame) : entry}: ${error.message}${cycle}`, { cause: error });
  located.name = error.name;
  return located;
}
