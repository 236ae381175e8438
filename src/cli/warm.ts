/**
 * `mugraph warm [globs]`: fills the kernel lock for every tensor module matched (default:
 * every `*.tensor.*` under the current directory) and every configured target, compiling
 * only what is missing, so
 * that frozen builds (CI) find every entry. New entries are checked against the float64
 * reference on the local WebGPU adapter when there is one (`--no-check` skips it), and the
 * entry records what was measured. Prints one line per program and a summary.
 *
 * Exit codes: 0 done, 1 some new kernels failed the reference check (not written), 2 an
 * invalid module.
 */
import { buildTensorModule, createBuildContext, type ProgramBuild, VerificationError } from '../build/build-module.js';
import type { ProgramEvent } from '../build/options.js';
import { displayPath, findTensorModules, lockCommandOptions, type LockCommandFlags, messageOf } from './modules.js';
import { createProgress } from './progress.js';

export interface WarmOptions extends LockCommandFlags {
  readonly globs: readonly string[];
  /** Reference-check new entries on the local adapter (default true; skipped with a note when there is none). */
  readonly check?: boolean;
  readonly log: (line: string) => void;
}

export interface WarmReport {
  readonly exitCode: 0 | 1 | 2;
  readonly events: readonly ProgramEvent[];
}

export async function warm(options: WarmOptions): Promise<WarmReport> {
  const events: ProgramEvent[] = [];
  const resolved = await lockCommandOptions(options, { frozen: false, profile: false, onProgram: (e) => events.push(e) });
  const progress = createProgress(options.log);
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
  let invalid = false;
  let failedChecks = 0;
  try {
    for (const [index, file] of files.entries()) {
      progress.status(`[${index + 1}/${files.length}] ${displayPath(resolved.root, file)}`);
      try {
        const built = await buildTensorModule(file, context);
        progress.log(displayPath(resolved.root, file));
        const showTarget = resolved.targets.length > 1;
        for (const program of built.programs) progress.log(`  ${programLine(program, resolved.root, showTarget)}`);
      } catch (error) {
        if (error instanceof VerificationError) failedChecks++;
        else invalid = true;
        progress.log(`error: ${messageOf(error)}`);
      }
    }
  } finally {
    progress.done();
    await context.release();
  }
  const count = (status: ProgramEvent['status']) => events.filter((e) => e.status === status).length;
  options.log(`${events.length} programs: ${count('compiled')} compiled, ${count('hit')} already locked, ${count('rebuilt')} rebuilt`
    + `${failedChecks > 0 ? `; ${failedChecks} failed the reference check` : ''}; lock: ${displayPath(resolved.root, context.store.dir)}`);
  return { exitCode: invalid ? 2 : failedChecks > 0 ? 1 : 0, events };
}

/** `compiled row_norm  3 kernels  0.01 s  checked f16 1.2e-3 ✓  -> mugraph.lock/ab.json` */
function programLine(program: ProgramBuild, root: string, showTarget: boolean): string {
  const { report, verification } = program.entry;
  const checked = verification.method === 'reference-check'
    ? `checked ${verification.variants.map((v) => `${v.variant} ${v.relL2Error.toExponential(1)}`).join(', ')}`
    : 'not measured';
  const exported = program.exportName === program.program.name ? program.program.name : `${program.program.name} [export ${program.exportName}]`;
  const name = showTarget ? `${exported} [target ${program.target.name}]` : exported;
  return [program.status.padEnd(8), name, `${report.kernels} kernels`, `compile ${report.compileSeconds.toFixed(2)} s`, checked,
    `-> ${displayPath(root, program.file)}`].join('  ');
}
