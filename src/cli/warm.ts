/**
 * `mugraph warm [globs]`: fills the kernel lock for every tensor module matched (default:
 * every `*.tensor.*` under the current directory) and every configured target, compiling
 * only what is missing, so that frozen builds (CI) find every entry. Every new entry's
 * μGraph is verified by the finite-field verifier at full shape (build/equivalence-check.ts),
 * and so is every entry found that this machine had not verified before; new entries are
 * also checked against the float64 reference on the local WebGPU adapter when there is one
 * (`--no-check` skips that check, never the verifier).
 *
 * Output: on a TTY a live line names the module, the program and its phase (evaluating,
 * compiling and verifying, searching with its counts so far, checking on the adapter) with the time it has taken so far; everywhere, a line
 * per module and per program as each finishes, then a table of every program (target,
 * status, kernels, time) and the counts. A program that fails does not stop the others.
 * Modules are compiled `jobs` at once (default one per core): their searches run side by
 * side on the search's worker threads, and each module's lines print together when it is
 * done. Events keep the order in which programs finish.
 *
 * Exit codes: 0 done, 1 some new kernels failed the reference check (not written), 2 an
 * invalid module (or another error building a program).
 */
import { performance } from 'node:perf_hooks';
import { type BuildContext, createBuildContext, type EntryStatus, ensureEntry, type ProgramBuild, ReferenceCheckError } from '../build/build-module.js';
import { kernelLaunches } from '../build/compiler.js';
import { type ProgramEvent, searchCounts } from '../build/options.js';
import { loadTensorModule } from '../frontend/load-module.js';
import { mapConcurrently } from '../map-concurrently.js';
import { defaultSearchThreads } from '../search/search-pool.js';
import { displayPath, findTensorModules, lockCommandOptions, type LockCommandFlags, messageOf } from './modules.js';
import { createProgress, formatDuration, type Progress } from './progress.js';
import { renderTable } from './table.js';

export interface WarmOptions extends LockCommandFlags {
  readonly globs: readonly string[];
  /** Reference-check new entries on the local adapter (default true; skipped with a note when there is none). */
  readonly check?: boolean;
  readonly log: (line: string) => void;
  /** Modules compiled at once (their searches run on the search's worker threads). @default one per core */
  readonly jobs?: number;
  /** Where the live line goes, when it is a TTY. @default process.stderr */
  readonly progressStream?: NodeJS.WriteStream;
}

/** One row of the summary: a program built for a target, or a module that could not be evaluated. */
export interface WarmedProgram {
  readonly module: string;
  /** The program's name (`[export x]` when exported under another), '-' for a module that failed to evaluate. */
  readonly program: string;
  readonly target: string;
  readonly status: EntryStatus | 'check failed' | 'error';
  readonly kernels?: number;
  /** Wall-clock seconds: looking up, compiling, checking and writing its entry (or evaluating the failed module). */
  readonly seconds: number;
}

export interface WarmReport {
  readonly exitCode: 0 | 1 | 2;
  /** Every program and target, as the summary table lists them. */
  readonly programs: readonly WarmedProgram[];
  /** The entries built, as a build reports them to `onProgram`. */
  readonly events: readonly ProgramEvent[];
}

export async function warm(options: WarmOptions): Promise<WarmReport> {
  // writeLock: warm fills the lock whatever the config says (the dev server's config may turn it off).
  const resolved = await lockCommandOptions(options, { frozen: false, profile: false, writeLock: true });
  const progress = createProgress(options.log, options.progressStream);
  let context = createBuildContext(resolved);
  if (options.check !== false) {
    try {
      const gpu = await context.gpu();
      progress.log(`adapter: ${gpu.adapterInfo} (new entries are checked against the float64 reference)`);
      context = { ...context, options: { ...resolved, profile: true } };
    } catch (error) {
      progress.log(`note: no WebGPU adapter (${messageOf(error).split('\n')[0]}); new entries are not measured`);
    }
  }
  const files = await findTensorModules(resolved.root, options.globs);
  if (files.length === 0) progress.log('no tensor modules matched');
  const programs: WarmedProgram[] = [];
  const events: ProgramEvent[] = [];
  try {
    // Modules at once, each one's lines printed together when it is done; the table keeps the files' order.
    const done = await mapConcurrently(files, options.jobs ?? defaultSearchThreads(), async (file, index) => {
      const label = `[${index + 1}/${files.length}] ${displayPath(resolved.root, file)}`;
      const lines: string[] = [];
      const own: Progress = { status: progress.status, log: (line) => lines.push(line), done: progress.done };
      const rows = await warmModule(file, label, context, own, (event) => events.push(event));
      for (const line of lines) progress.log(line);
      return rows;
    });
    programs.push(...done.flat());
  } finally {
    progress.done();
    await context.release();
  }
  if (programs.length > 0) for (const line of summaryTable(programs)) options.log(line);
  const count = (status: WarmedProgram['status']) => programs.filter((p) => p.status === status).length;
  const built = programs.length - count('error') - count('check failed');
  options.log(`${built} programs: ${count('compiled')} compiled, ${count('hit')} already locked, ${count('rebuilt')} rebuilt`
    + `${count('check failed') > 0 ? `; ${count('check failed')} failed the reference check` : ''}`
    + `${count('error') > 0 ? `; ${count('error')} error${count('error') === 1 ? '' : 's'}` : ''}; lock: ${displayPath(resolved.root, context.store.dir)}`);
  return { exitCode: count('error') > 0 ? 2 : count('check failed') > 0 ? 1 : 0, programs, events };
}

/** Evaluates one module and ensures the entry of each program and target, reporting each phase and result. */
async function warmModule(
  file: string, label: string, context: BuildContext, progress: Progress, onProgram: (event: ProgramEvent) => void,
): Promise<WarmedProgram[]> {
  const { root, targets, evaluateTimeoutMs } = context.options;
  const module = displayPath(root, file);
  const start = performance.now();
  progress.status(`${label}: evaluating`, start);
  let loaded;
  try {
    loaded = await loadTensorModule(file, { timeoutMs: evaluateTimeoutMs });
  } catch (error) {
    progress.log(`error: ${messageOf(error)}`);
    return [{ module, program: '-', target: '-', status: 'error', seconds: secondsSince(start) }];
  }
  progress.log(`${module}  (evaluated in ${formatDuration(secondsSince(start))})`);
  const rows: WarmedProgram[] = [];
  for (const { exportName, program } of loaded.programs) {
    const name = exportName === program.name ? program.name : `${program.name} [export ${exportName}]`;
    for (const target of targets) {
      const programStart = performance.now();
      const shown = targets.length > 1 ? `${name} [target ${target.name}]` : name;
      const phase = (what: string) => progress.status(`${label}  ${shown}: ${what}`, programStart);
      // The reference check is the one phase that asks for the device: that call marks where compiling ended.
      const observed: BuildContext = { ...context, gpu: () => (phase('checking on the adapter'), context.gpu()) };
      phase('compiling and verifying');
      const row = { module, program: name, target: target.name };
      try {
        const built = await ensureEntry(program, loaded.file, observed, undefined, target, (_key, _file, search) => phase(`searching: ${searchCounts(search)}`));
        const seconds = secondsSince(programStart);
        const kernels = kernelLaunches(built.compiled);
        progress.log(`  ${programLine(built, shown, kernels, root)}  (${formatDuration(seconds)})`);
        rows.push({ ...row, status: built.status, kernels, seconds });
        onProgram({
          file: loaded.file, exportName, programName: program.name, key: built.key, target: target.name, status: built.status,
          entryFile: built.file, kernels, ...(built.reason === undefined ? {} : { reason: built.reason }), ...(built.search === undefined ? {} : { search: built.search }),
        });
      } catch (error) {
        progress.log(`error: ${messageOf(error)}`);
        rows.push({ ...row, status: error instanceof ReferenceCheckError ? 'check failed' : 'error', seconds: secondsSince(programStart) });
      }
    }
  }
  return rows;
}

function secondsSince(start: number): number {
  return (performance.now() - start) / 1000;
}

function summaryTable(programs: readonly WarmedProgram[]): string[] {
  return renderTable(
    [{ title: 'program' }, { title: 'target' }, { title: 'status' }, { title: 'kernels', align: 'right' }, { title: 'time', align: 'right' }],
    programs.map((p) => [p.program, p.target, p.status, p.kernels === undefined ? '' : String(p.kernels), formatDuration(p.seconds)]),
  );
}

/** `compiled  row_norm  1 kernels  searched (2,079 explored, 3 screened, 1 verified)  compile 0.61 s  checked f32 1.2e-7  field equivalent 4 ms  -> mugraph.lock/ab.json` */
function programLine(program: Omit<ProgramBuild, 'exportName'>, name: string, kernels: number, root: string): string {
  const { check, compileSeconds, promotedFrom, equivalence, fellBack, search } = program;
  const checked = check ? `checked ${check.variants.map((v) => `${v.variant} ${v.relL2Error.toExponential(1)}`).join(', ')}` : 'not measured';
  // What this run did: compiled (and checked) it, added it from the scratch cache (and checked it), or found it in the lock.
  const searched = search === undefined ? []
    : [`${search.outcome === 'search' ? 'searched' : 'searched, none verified'} (${searchCounts(search)})`];
  const done = compileSeconds !== undefined ? [...searched, `compile ${compileSeconds.toFixed(2)} s`, checked]
    : promotedFrom !== undefined ? [`from ${displayPath(root, promotedFrom)}`, checked] : [];
  const field = equivalence.by === 'mark' ? `field ${equivalence.verdict} (verified here before)` : `field ${equivalence.verdict} ${milliseconds(equivalence.ms)}`;
  const fallback = fellBack === undefined ? [] : [`per-operator lowering instead (${fellBack})`];
  return [program.status.padEnd(8), name, `${kernels} kernel${kernels === 1 ? '' : 's'}`, ...done, field, ...fallback, `-> ${displayPath(root, program.file)}`].join('  ');
}

/** A verifier's time: ms below a second, else seconds. */
export function milliseconds(ms: number): string {
  return ms < 1000 ? `${Math.max(1, Math.round(ms))} ms` : `${(ms / 1000).toFixed(2)} s`;
}
