/**
 * `mugraph search <files...>`: evaluates each tensor module and runs the search
 * (`superoptimize`, src/search/superoptimize.ts) on every program it exports, for each
 * target, without touching the lock: a way to see what the search finds for a program, how
 * long it takes and why it stopped, before a build or `mugraph warm` records it.
 *
 * Output: on a TTY a live line shows the program being searched, its phase and counts
 * (explored, pruned, screened, verified, best cost so far) and the time it has taken; every
 * program then gets a permanent summary (source, kernels, time, stop reason, counts, how the
 * pick was made), and a table of every program closes the run. `--json` prints one JSON
 * document on stdout instead (the live line, on a TTY, still goes to stderr).
 *
 * The helpers below (targets, limits, the live line, the report's lines) are shared with
 * `mugraph explain` (explain.ts).
 *
 * Exit codes: 0 done (a program whose candidates all failed verification falls back to the
 * per-operator lowering; that is a result, not an error), 1 the search failed on some
 * program, 2 bad input (a module that cannot be evaluated, an unknown target, a bad config).
 */
import { performance } from 'node:perf_hooks';
import { buildSearchLimits } from '../build/compiler.js';
import type { ResolvedOptions } from '../build/options.js';
import type { Program } from '../frontend/program.js';
import { loadTensorModule } from '../frontend/load-module.js';
import { type SearchLimits, type SearchProgress, type SearchReport, type SearchResult, superoptimize } from '../search/superoptimize.js';
import type { KernelGraph } from '../ugraph/kernel-graph.js';
import { type TargetProfile, webgpuDefaults, withSubgroups } from '../ugraph/target.js';
import { signature } from './check.js';
import { displayPath, lockCommandOptions, type LockCommandFlags, messageOf } from './modules.js';
import { createProgress, formatDuration, type Progress } from './progress.js';
import { renderTable } from './table.js';
import { milliseconds } from './warm.js';

/** What `search` and `explain` share: where the targets come from and the search's budgets. */
export interface SearchFlags extends LockCommandFlags {
  /** The generator's time budget per program and target, in ms (SearchLimits.timeMs). */
  readonly timeMs?: number;
  /** Stop generating after this many screened candidates (SearchLimits.maxCandidates). */
  readonly maxCandidates?: number;
  /**
   * Search for this target only: the name of one of the config's targets, or a built-in
   * profile (`webgpu-defaults`, `webgpu-defaults+subgroups<N>`). Default: every target of
   * the config (`webgpu-defaults` without one).
   */
  readonly target?: string;
}

export interface SearchCommandOptions extends SearchFlags {
  readonly files: readonly string[];
  /** One JSON document on stdout instead of the human-readable lines and table. */
  readonly json?: boolean;
  readonly log: (line: string) => void;
  /** Errors in --json mode (they are in the document too). @default stderr */
  readonly warn?: (line: string) => void;
  /** Where the live line goes, when it is a TTY. @default process.stderr */
  readonly progressStream?: NodeJS.WriteStream;
}

/** One program searched for one target, or a module that could not be evaluated, or a search that failed. */
export interface SearchedProgram {
  /** The module, as shown (relative to the current directory when inside it). */
  readonly module: string;
  /** '-' for a module that failed to evaluate. */
  readonly exportName: string;
  readonly program: string;
  readonly target: string;
  readonly result?: SearchResult;
  readonly error?: string;
  /** Wall-clock seconds of the search (or of the failed evaluation). */
  readonly seconds: number;
}

export interface SearchCommandReport {
  readonly exitCode: 0 | 1 | 2;
  readonly programs: readonly SearchedProgram[];
  /** Every error, as printed. */
  readonly errors: readonly string[];
}

/** Bad input of a command (an unknown target, a config that does not load): exit code 2. */
export class InputError extends Error {}

export async function searchFiles(options: SearchCommandOptions): Promise<SearchCommandReport> {
  const json = options.json === true;
  const warn = options.warn ?? ((line: string) => process.stderr.write(`${line}\n`));
  const errors: string[] = [];
  const programs: SearchedProgram[] = [];
  // In --json mode stdout carries the document only.
  const progress = createProgress(json ? () => {} : options.log, options.progressStream);
  const error = (line: string) => {
    errors.push(line);
    if (json) warn(line); else progress.log(line);
  };
  let invalid = false;
  let targets: readonly TargetProfile[];
  let resolved: ResolvedOptions;
  try {
    ({ resolved, targets } = await searchTargets(options));
  } catch (e) {
    error(`error: ${messageOf(e)}`);
    const report = { exitCode: 2, programs, errors } as const;
    return json ? finish(options, report) : report;
  }
  const limits = searchLimits(options, resolved);
  try {
    for (const [index, file] of options.files.entries()) {
      const module = displayPath(process.cwd(), file);
      // The live line leads with the counts' owner and keeps the module out (its line is printed above): a terminal row is short.
      const label = options.files.length > 1 ? `[${index + 1}/${options.files.length}]` : '';
      const start = performance.now();
      progress.status(`${label} ${module}: evaluating`.trim(), start);
      let loaded;
      try {
        loaded = await loadTensorModule(file, { timeoutMs: options.evaluateTimeoutMs });
      } catch (e) {
        invalid = true;
        error(`error: ${messageOf(e)}`);
        programs.push({ module, exportName: '-', program: '-', target: '-', error: messageOf(e), seconds: secondsSince(start) });
        continue;
      }
      progress.log(`${module}  (evaluated in ${formatDuration(secondsSince(start))})`);
      for (const { exportName, program } of loaded.programs) {
        for (const target of targets) {
          const name = programLabel(program, exportName, targets.length > 1 ? target : undefined);
          const row = { module, exportName, program: program.name, target: target.name };
          const programStart = performance.now();
          try {
            const result = await searchWithProgress(program, target, limits, progress, `${label} ${name}`.trim());
            const searched = { ...row, result, seconds: secondsSince(programStart) };
            programs.push(searched);
            for (const line of summaryLines(name, searched)) progress.log(line);
          } catch (e) {
            error(`error: ${name}: the search failed: ${messageOf(e)}`);
            programs.push({ ...row, error: messageOf(e), seconds: secondsSince(programStart) });
          }
        }
      }
    }
  } finally {
    progress.done();
  }
  const failed = programs.some((p) => p.error !== undefined && p.exportName !== '-');
  return finish(options, { exitCode: invalid ? 2 : failed ? 1 : 0, programs, errors });
}

/** Prints the closing table and counts, or the JSON document. */
function finish(options: SearchCommandOptions, report: SearchCommandReport): SearchCommandReport {
  const { log } = options;
  if (options.json === true) {
    log(JSON.stringify({ exitCode: report.exitCode, programs: report.programs.map(programJSON), errors: report.errors }, null, 2));
    return report;
  }
  const searched = report.programs.filter((p) => p.result !== undefined);
  if (searched.length > 0) for (const line of summaryTable(searched)) log(line);
  const found = searched.filter((p) => p.result!.source === 'search').length;
  const failures = report.programs.filter((p) => p.error !== undefined).length;
  log(`${searched.length} program${searched.length === 1 ? '' : 's'} searched: ${found} with a verified μGraph, `
    + `${searched.length - found} fell back to the per-operator lowering`
    + `${failures > 0 ? `; ${failures} error${failures === 1 ? '' : 's'}` : ''}`);
  return report;
}

/** The targets to search for: the config's (all, or the one `--target` names), or a built-in profile by name. */
export async function searchTargets(flags: SearchFlags): Promise<{ resolved: ResolvedOptions; targets: readonly TargetProfile[] }> {
  let resolved: ResolvedOptions;
  try {
    resolved = await lockCommandOptions(flags);
  } catch (error) {
    throw new InputError(messageOf(error), { cause: error });
  }
  if (flags.target === undefined) return { resolved, targets: resolved.targets };
  const named = resolved.targets.find((t) => t.name === flags.target) ?? builtinTarget(flags.target);
  if (named === undefined) {
    const known = [...new Set([...resolved.targets.map((t) => t.name), webgpuDefaults.name, `${webgpuDefaults.name}+subgroups<N>`])];
    throw new InputError(`unknown target "${flags.target}"; known: ${known.join(', ')} (more come from --config)`);
  }
  return { resolved, targets: [named] };
}

function builtinTarget(name: string): TargetProfile | undefined {
  if (name === webgpuDefaults.name) return webgpuDefaults;
  const subgroups = /^webgpu-defaults\+subgroups([1-9][0-9]*)$/.exec(name);
  return subgroups ? withSubgroups(webgpuDefaults, Number(subgroups[1])) : undefined;
}

/** The limits a build with these options searches with (compiler.ts), overridden by the flags: what `explain` shows is what a build would pick. */
export function searchLimits(flags: SearchFlags, resolved: ResolvedOptions): Partial<SearchLimits> {
  return {
    ...buildSearchLimits(resolved.search),
    ...(flags.timeMs === undefined ? {} : { timeMs: flags.timeMs }),
    ...(flags.maxCandidates === undefined ? {} : { maxCandidates: flags.maxCandidates }),
  };
}

/** superoptimize() with its progress on the live line: `<label>: generate  explored 1,204 pruned 17 screened 1 verified 0 best 23.8`. */
export function searchWithProgress(
  program: Program, target: TargetProfile, limits: Partial<SearchLimits>, progress: Progress, label: string,
): Promise<SearchResult> {
  const start = performance.now();
  progress.status(`${label}: target`, start);
  return superoptimize(program, { target, limits, onProgress: (p) => progress.status(`${label}: ${progressText(p)}`, start) });
}

export function progressText(p: SearchProgress): string {
  // Terse: the line must fit a terminal row beside the program's name and the clock.
  const best = p.bestCost === undefined ? '' : ` best ${formatCost(p.bestCost)}`;
  return `${p.phase}  explored ${count(p.explored)} pruned ${count(p.prunedByExpression)} screened ${count(p.screened)} verified ${count(p.verified)}${best}`;
}

/** `rmsnorm_small`, `rmsnorm_small [export x]`, with ` [target t]` when several are searched. */
export function programLabel(program: Program, exportName: string, target?: TargetProfile): string {
  const exported = exportName === program.name ? program.name : `${program.name} [export ${exportName}]`;
  return target === undefined ? exported : `${exported} [target ${target.name}]`;
}

/** `1 kernel (1 custom)`. */
export function kernelSummary(ugraph: KernelGraph): string {
  const n = ugraph.nodes.length;
  return `${n} kernel${n === 1 ? '' : 's'} (${ugraph.customKernels.length} custom)`;
}

export function sourceText(result: SearchResult): string {
  return result.source === 'search' ? 'search' : 'per-operator lowering (nothing verified)';
}

/** A program's permanent lines: what was found, then the report's counts and the pick. */
function summaryLines(name: string, { result, seconds }: SearchedProgram): string[] {
  const r = result!;
  return [
    `  ${name}: ${sourceText(r)}, ${kernelSummary(r.ugraph)}, ${formatDuration(seconds)}, stopped: ${stopText(r.report)}`,
    ...reportLines(r.report, { phases: false, pick: true }).map((line) => `    ${line}`),
  ];
}

/** Why the generator stopped, in words. */
export function stopText(report: SearchReport): string {
  switch (report.stopReason) {
    case 'exhausted': return 'exhausted (every candidate within the limits generated)';
    case 'time-limit': return 'time limit';
    case 'work-limit': return `work limit (${report.explored} partial graphs explored)`;
    case 'candidate-limit': return `candidate limit (${report.screened} screened)`;
    default: return String(report.stopReason);
  }
}

/** The search report as lines (no indentation): counts, e-graph, phases, pick. */
export function reportLines(report: SearchReport, what: { phases: boolean; pick: boolean } = { phases: true, pick: true }): string[] {
  const s = report.saturation;
  const lines = [
    `explored ${count(report.explored)} partial graphs, tried ${count(report.tried)} operators; `
      + `pruned ${count(report.prunedByExpression)} by expression, ${count(report.prunedByStructure)} by structure, ${count(report.prunedByGuide)} by guide`,
    `${count(report.complete)} complete (${count(report.overTarget)} over the target's limits), ${count(report.screened)} screened, `
      + `${count(report.rejectedByVerifier)} rejected by the verifier, ${count(report.verified)} verified`,
  ];
  if (report.overTargetExample !== undefined) lines.push(`first over the target's limits: ${report.overTargetExample}`);
  if (what.phases) {
    lines.push(`e-graph: ${count(s.nodes)} nodes, ${count(s.classes)} classes, ${s.iterations} iteration${s.iterations === 1 ? '' : 's'}, ${s.stopReason}, ${milliseconds(s.ms)}`);
    lines.push(`phases: ${report.phases.map((p) => `${p.phase} ${milliseconds(p.ms)}`).join(', ')}; total ${milliseconds(report.totalMs)}`);
  }
  const { cuts, parts } = report.partition;
  if (cuts.length > 0) {
    lines.push(`cut into ${parts.length} parts: ${cuts.map((c) => c.detail).join('; ')}`);
    for (const p of parts) {
      lines.push(`  part ${p.index}: ${p.operators} operator${p.operators === 1 ? '' : 's'} (${p.inputs.join(', ')} -> ${p.outputs.join(', ')}), `
        + `${p.source === 'search' ? 'searched' : 'per-operator'}, ${p.kernels} kernel${p.kernels === 1 ? '' : 's'}: ${p.why}`);
    }
  }
  if (what.pick) lines.push(`pick: ${report.pick}`);
  return lines;
}

function summaryTable(programs: readonly SearchedProgram[]): string[] {
  const right = { align: 'right' } as const;
  return renderTable(
    [
      { title: 'program' }, { title: 'target' }, { title: 'source' }, { title: 'kernels', ...right }, { title: 'custom', ...right },
      { title: 'time', ...right }, { title: 'stop' }, { title: 'explored', ...right }, { title: 'pruned', ...right },
      { title: 'screened', ...right }, { title: 'verified', ...right },
    ],
    programs.map(({ exportName, program, target, result, seconds }) => {
      const { report, ugraph, source } = result!;
      return [
        exportName === program ? program : `${program} [export ${exportName}]`, target, source === 'search' ? 'search' : 'per-op fallback',
        String(ugraph.nodes.length), String(ugraph.customKernels.length), formatDuration(seconds), report.stopReason,
        count(report.explored), count(report.prunedByExpression + report.prunedByStructure + report.prunedByGuide),
        count(report.screened), count(report.verified),
      ];
    }),
  );
}

/** A program in the --json document: the report as superoptimize gives it, the μGraph as KernelGraph JSON. */
function programJSON(p: SearchedProgram): unknown {
  const { result } = p;
  const base = { module: p.module, exportName: p.exportName, program: p.program, target: p.target, seconds: round(p.seconds) };
  if (result === undefined) return { ...base, error: p.error };
  return {
    ...base,
    source: result.source,
    kernels: result.ugraph.nodes.length,
    customKernels: result.ugraph.customKernels.length,
    ugraphHash: result.ugraph.hash,
    report: result.report,
    verification: result.verification ?? null,
    candidates: result.candidates.map((c) => ({ hash: c.ugraph.hash, cost: c.cost, kernels: c.ugraph.nodes.length, customKernels: c.ugraph.customKernels.length })),
    ugraph: result.ugraph.toJSON(),
  };
}

export function formatCost(cost: number): string {
  return Math.abs(cost) >= 100 ? cost.toFixed(0) : cost.toPrecision(3);
}

const count = (n: number) => n.toLocaleString('en-US');
const round = (seconds: number) => Math.round(seconds * 1000) / 1000;

function secondsSince(start: number): number {
  return (performance.now() - start) / 1000;
}
