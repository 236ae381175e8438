/**
 * The worker thread that evaluates one bundled tensor module (load-module.ts starts it,
 * with the bundle's URL as workerData, and terminates it when it answers or runs out of
 * time). It posts exactly one EvaluationMessage: the module's exports packed as data, or
 * the first error, whether the import threw it or a callback the module left behind did
 * (a DSL call in a promise after the definition returned is a ProgramError at its line).
 *
 * Source maps are on here, so stacks, and the call sites the DSL records, name the user's
 * files and lines rather than the bundle's.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type EvaluationMessage, packError, packExports } from './transfer.js';

process.setSourceMapsEnabled(true);

const { moduleUrl } = workerData as { moduleUrl: string };
let answered = false;

function answer(message: EvaluationMessage): void {
  if (answered) return;
  parentPort!.postMessage(message); // throws when the exports hold something that cannot be cloned: then the error is the answer
  answered = true;
}

const fail = (error: unknown) => answer({ ok: false, error: packError(error) });
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);

try {
  const namespace = (await import(moduleUrl)) as Record<string, unknown>;
  // Callbacks the module scheduled for right after its evaluation (promise reactions, 0 ms
  // timers) run before the answer, so that their errors are the module's errors. Anything
  // later never runs: the worker is terminated once it has answered.
  await new Promise((resolve) => setTimeout(resolve, 0));
  await new Promise((resolve) => setImmediate(resolve));
  if (!answered) answer({ ok: true, exports: packExports(namespace) });
} catch (error) {
  fail(error);
}
