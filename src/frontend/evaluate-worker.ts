/**
 * A worker thread that evaluates bundled tensor modules, one at a time (evaluate-pool.ts
 * starts it, sends it one EvaluationTask at a time, and terminates it when a module runs
 * out of time or leaves it unfit for the next). This package's entry points are loaded
 * once, when it starts; each module's bundle imports them (bundle.ts).
 *
 * For each task it posts exactly one EvaluationReply: the module's exports packed as data,
 * or the first error, whether the import threw it or a callback the module left behind did
 * (a DSL call in a promise after the definition returned is a ProgramError at its line).
 * The reply says whether the worker may take another module: only after a module that
 * evaluated without error and left nothing behind (no timer, handle or request still
 * pending, no global added or replaced), so that what one module does never reaches the
 * next. (A module could still patch a built-in prototype: that is not looked for.)
 *
 * Source maps are on here, so stacks, and the call sites the DSL records, name the user's
 * files and lines rather than the bundle's.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { EvaluationMessage } from './transfer.js';

export interface EvaluatorWorkerData {
  /** File URLs of this package's entry points, loaded before the first module. */
  readonly packageUrls: readonly string[];
}

export interface EvaluationTask {
  readonly id: number;
  /** The module's bundle. */
  readonly moduleUrl: string;
}

export interface EvaluationReply {
  readonly id: number;
  readonly message: EvaluationMessage;
  /** Whether this worker may evaluate another module (see the header). */
  readonly reusable: boolean;
}

process.setSourceMapsEnabled(true);

// Our code is imported only now that source maps are on (a static import would load first),
// so that this package's frames map to its sources and the DSL recognizes them as its own.
const { packError, packExports } = await import('./transfer.js');
const { packageUrls } = workerData as EvaluatorWorkerData;
const packagesLoaded = Promise.all(packageUrls.map((url) => import(url)));
packagesLoaded.catch(() => {}); // the first task reports it

interface Evaluation {
  readonly id: number;
  answered: boolean;
}
let current: Evaluation | undefined;

function answer(evaluation: Evaluation, message: EvaluationMessage, reusable: boolean): void {
  if (evaluation.answered) return;
  parentPort!.postMessage({ id: evaluation.id, message, reusable } satisfies EvaluationReply); // throws when the exports hold something that cannot be cloned: then the error is the answer
  evaluation.answered = true;
}

const fail = (evaluation: Evaluation, error: unknown) => answer(evaluation, { ok: false, error: packError(error) }, false);

/** An error no module can be blamed for (the worker is between modules, or its module has answered): this worker is unfit, so it ends. */
function onStrayError(error: unknown): void {
  if (current && !current.answered) fail(current, error);
  else process.exit(1);
}
process.on('uncaughtException', onStrayError);
process.on('unhandledRejection', onStrayError);

/** What a module could leave behind for the next: pending work (this worker's port aside), and the globals by identity. */
function snapshot(): { pending: string[]; globals: Map<PropertyKey, unknown> } {
  const pending = process.getActiveResourcesInfo().filter((resource) => resource !== 'MessagePort');
  const globals = new Map<PropertyKey, unknown>();
  for (const [owner, target] of [['', globalThis], ['Error.', Error]] as const) {
    for (const key of Reflect.ownKeys(target)) {
      const d = Reflect.getOwnPropertyDescriptor(target, key)!;
      globals.set(typeof key === 'string' ? `${owner}${key}` : key, 'value' in d ? d.value : d.get);
    }
  }
  return { pending, globals };
}

function leftNothingBehind(before: ReturnType<typeof snapshot>): boolean {
  const after = snapshot();
  return after.pending.length === 0 && after.globals.size === before.globals.size
    && [...after.globals].every(([key, value]) => before.globals.has(key) && Object.is(before.globals.get(key), value));
}

async function evaluate({ id, moduleUrl }: EvaluationTask): Promise<void> {
  const evaluation: Evaluation = { id, answered: false };
  current = evaluation;
  try {
    await packagesLoaded;
    const before = snapshot();
    const namespace = (await import(moduleUrl)) as Record<string, unknown>;
    // Callbacks the module scheduled for right after its evaluation (promise reactions, 0 ms
    // timers) run before the answer, so that their errors are the module's errors. Anything
    // later never runs: the worker is not reused, and is terminated.
    await new Promise((resolve) => setTimeout(resolve, 0));
    await new Promise((resolve) => setImmediate(resolve));
    if (!evaluation.answered) answer(evaluation, { ok: true, exports: packExports(namespace) }, leftNothingBehind(before));
  } catch (error) {
    fail(evaluation, error);
  } finally {
    current = undefined;
  }
}

parentPort!.on('message', (task: EvaluationTask) => void evaluate(task));
