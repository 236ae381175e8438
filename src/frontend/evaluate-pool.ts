/**
 * The worker threads that evaluate tensor modules (evaluate-worker.ts), kept warm between
 * modules: starting a worker and loading the DSL into it costs more than evaluating a
 * module, and a build evaluates every tensor module once, so one warm worker serves them
 * all in turn. A worker runs one module at a time; modules evaluated at once (a bundler
 * loads modules in parallel) get a worker each, and up to MAX_IDLE stay warm afterwards.
 *
 * A worker is ended, never reused, when its module ran out of time (it may be looping),
 * failed, or left something behind (the worker's reply says so), and after
 * MAX_EVALUATIONS modules (each one evaluated stays in its module cache). Idle workers are
 * unref'd, so they never keep the process alive, end after IDLE_MS, and
 * `closeEvaluationWorkers()` ends them at once.
 */
import { Worker } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import type { EvaluatorFiles } from './evaluate-files.js';
import type { EvaluationReply, EvaluationTask, EvaluatorWorkerData } from './evaluate-worker.js';
import type { EvaluationMessage } from './transfer.js';

const MAX_IDLE = 2;
const IDLE_MS = 30_000;
const MAX_EVALUATIONS = 100;

/** How an evaluation ended: the worker's answer, or no answer (out of time, or the worker exited). */
export type EvaluationOutcome =
  | { readonly kind: 'answer'; readonly message: EvaluationMessage }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'exit'; readonly code: number };

interface PooledWorker {
  readonly worker: Worker;
  evaluations: number;
  exited: boolean;
  idleTimer?: NodeJS.Timeout;
}

const idle: PooledWorker[] = [];
let lastTaskId = 0;

/** A worker set aside for one module: evaluate once, or release it unused. */
export interface WorkerLease {
  /** Evaluates the bundle at `moduleUrl`, stopping the worker after `timeoutMs`. */
  evaluate(moduleUrl: string, timeoutMs: number): Promise<EvaluationOutcome>;
  /** Gives the worker back unused (no-op once evaluate was called). */
  release(): void;
}

/** A warm worker, or a new one that starts now (while the caller bundles the module). */
export function leaseWorker(files: EvaluatorFiles): WorkerLease {
  const pooled = takeIdle() ?? startWorker(files);
  let used = false;
  return {
    evaluate(moduleUrl, timeoutMs) {
      if (used) throw new Error('an evaluation lease is used once');
      used = true;
      // A warm worker that ended meanwhile (an error of its own while it waited) is replaced.
      return run(pooled.exited ? startWorker(files) : pooled, moduleUrl, timeoutMs);
    },
    release() {
      if (used) return;
      used = true;
      putBack(pooled);
    },
  };
}

/** Ends every idle worker now (busy ones end when their module is done; later evaluations start new ones). */
export async function closeEvaluationWorkers(): Promise<void> {
  await Promise.all(idle.splice(0).map((pooled) => retire(pooled)));
}

function startWorker(files: EvaluatorFiles): PooledWorker {
  const workerData: EvaluatorWorkerData = { packageUrls: Object.values(files.packages).map((file) => pathToFileURL(file).href) };
  // No inherited node flags (e.g. the host's --input-type): the worker needs none.
  const worker = new Worker(files.worker, { workerData, execArgv: [] });
  const pooled: PooledWorker = { worker, evaluations: 0, exited: false };
  worker.on('error', () => {}); // a busy worker's errors are its evaluation's (run); an idle one's end it
  worker.on('exit', () => {
    pooled.exited = true;
    removeIdle(pooled);
  });
  return pooled;
}

function takeIdle(): PooledWorker | undefined {
  const pooled = idle.pop();
  if (pooled) {
    clearTimeout(pooled.idleTimer);
    pooled.worker.ref();
  }
  return pooled;
}

function putBack(pooled: PooledWorker): void {
  if (pooled.exited) return;
  if (idle.length >= MAX_IDLE || pooled.evaluations >= MAX_EVALUATIONS) {
    void retire(pooled);
    return;
  }
  pooled.worker.unref();
  pooled.idleTimer = setTimeout(() => {
    removeIdle(pooled);
    void retire(pooled);
  }, IDLE_MS).unref();
  idle.push(pooled);
}

function removeIdle(pooled: PooledWorker): void {
  const at = idle.indexOf(pooled);
  if (at >= 0) idle.splice(at, 1);
  clearTimeout(pooled.idleTimer);
}

async function retire(pooled: PooledWorker): Promise<void> {
  clearTimeout(pooled.idleTimer);
  await pooled.worker.terminate();
}

function run(pooled: PooledWorker, moduleUrl: string, timeoutMs: number): Promise<EvaluationOutcome> {
  const { worker } = pooled;
  const id = ++lastTaskId;
  return new Promise((resolve) => {
    const finish = (outcome: EvaluationOutcome, reusable: boolean) => {
      clearTimeout(timer);
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      if (reusable) {
        pooled.evaluations += 1;
        putBack(pooled);
      } else {
        void retire(pooled);
      }
      resolve(outcome);
    };
    const onMessage = (reply: EvaluationReply) => {
      if (reply.id === id) finish({ kind: 'answer', message: reply.message }, reply.reusable);
    };
    const onError = (error: Error) => finish({
      kind: 'answer', message: { ok: false, error: { kind: 'error', name: error.name, message: error.message, stack: error.stack ?? '' } },
    }, false);
    const onExit = (code: number) => finish({ kind: 'exit', code }, false);
    const timer = setTimeout(() => finish({ kind: 'timeout' }, false), timeoutMs);
    worker.on('message', onMessage).on('error', onError).on('exit', onExit);
    worker.postMessage({ id, moduleUrl } satisfies EvaluationTask);
  });
}
