/**
 * `mugraph explain <file>`: what the search makes of a module's programs. For each program
 * (or the one `--program` names) it searches (search.ts, the same live line), or with
 * `--lock` takes the μGraph the kernel lock holds for it (what a build ships; the search
 * runs when there is no usable entry), and prints
 *   - the program's signature and where the μGraph came from,
 *   - the μGraph pretty-printed (KernelGraph.pretty()): kernels, block graphs, thread configs,
 *   - its kernels: graph nodes, custom kernels, kernel launches and pipelines once compiled,
 *   - the search report (counts, e-graph, phases, how the pick was made, the verifier's
 *     record) and the cheapest candidates,
 * writes its SVG diagram with `--svg <path>`, and prints the generated WGSL with `--wgsl`
 * (one variant: `--variant`, default the program's best).
 *
 * Exit codes: 0 done, 1 the search failed, 2 bad input (a module that cannot be evaluated,
 * no program of that name, an unknown target, --svg with several programs).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { programKey } from '../build/build-module.js';
import type { ResolvedOptions } from '../build/options.js';
import { checkLockHit } from '../cache/lock-hit.js';
import { KernelStore, type StoredEntry } from '../cache/store.js';
import { compile } from '../compile.js';
import { loadTensorModule, type LoadedProgramExport } from '../frontend/load-module.js';
import type { Program } from '../frontend/program.js';
import type { Variant } from '../runtime/types.js';
import type { SearchResult } from '../search/superoptimize.js';
import { kernelGraphToSVG } from '../ugraph/diagram.js';
import type { KernelGraph } from '../ugraph/kernel-graph.js';
import type { TargetProfile } from '../ugraph/target.js';
import { signature } from './check.js';
import { displayPath, messageOf } from './modules.js';
import { createProgress, formatDuration, type Progress } from './progress.js';
import {
  formatCost, InputError, kernelSummary, programLabel, reportLines, type SearchFlags, searchLimits, searchTargets, searchWithProgress,
  sourceText, stopText,
} from './search.js';
import { milliseconds } from './warm.js';

export interface ExplainOptions extends SearchFlags {
  readonly file: string;
  /** Only this program (its name or its export name); default every program the module exports. */
  readonly program?: string;
  /** Print the generated WGSL. */
  readonly wgsl?: boolean;
  /** The WGSL variant printed; default the program's best (f16 when it has f16 tensors). */
  readonly variant?: Variant;
  /** Write the μGraph's SVG diagram to this file (one program only). */
  readonly svg?: string;
  /** Explain the lock's μGraph for the program when there is a usable entry (--config, --lock-dir, --cache-dir as for warm). */
  readonly lock?: boolean;
  readonly log: (line: string) => void;
  /** Where the live line goes, when it is a TTY. @default process.stderr */
  readonly progressStream?: NodeJS.WriteStream;
}

/** What was explained, per program. */
export interface ExplainedProgram {
  readonly exportName: string;
  readonly program: string;
  readonly target: string;
  readonly ugraph: KernelGraph;
  /** 'search' or 'per-op-fallback' (superoptimize's source), or 'lock' (the lock's entry). */
  readonly source: SearchResult['source'] | 'lock';
  /** The search's result, when it ran. */
  readonly result?: SearchResult;
  /** The lock entry's file, for source 'lock'. */
  readonly entryFile?: string;
  /** Where the diagram went. */
  readonly diagram?: string;
}

export interface ExplainReport {
  readonly exitCode: 0 | 1 | 2;
  readonly programs: readonly ExplainedProgram[];
}

/** How many candidates the listing shows (cheapest first). */
const CANDIDATES_SHOWN = 5;

export async function explain(options: ExplainOptions): Promise<ExplainReport> {
  const { log } = options;
  const progress = createProgress(log, options.progressStream);
  const programs: ExplainedProgram[] = [];
  try {
    const { resolved, targets } = await searchTargets(options);
    // One target: the one named, or the most preferred (the one a build's load() tries first).
    const target = targets[0]!;
    const start = performance.now();
    const module = displayPath(process.cwd(), options.file);
    progress.status(`${module}: evaluating`, start);
    let loaded;
    try {
      loaded = await loadTensorModule(options.file, { timeoutMs: options.evaluateTimeoutMs });
    } catch (error) {
      throw new InputError(messageOf(error), { cause: error });
    }
    progress.log(`${module}  (evaluated in ${formatDuration((performance.now() - start) / 1000)})`);
    const chosen = choosePrograms(loaded.programs, options.program, loaded.file);
    if (options.svg !== undefined && chosen.length > 1) {
      throw new InputError(`${loaded.file} exports ${chosen.length} programs (${chosen.map((p) => p.exportName).join(', ')}): `
        + '--svg draws one; choose it with --program <name>');
    }
    const store = options.lock === true ? new KernelStore(resolved.lockDir, resolved.cacheDir, false) : undefined;
    for (const entry of chosen) {
      try {
        programs.push(await explainProgram(entry, loaded.file, target, resolved, store, options, progress));
      } catch (error) {
        if (error instanceof InputError) throw error;
        progress.log(`error: ${programLabel(entry.program, entry.exportName)}: ${messageOf(error)}`);
        return { exitCode: 1, programs };
      }
    }
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    progress.log(`error: ${error.message}`);
    return { exitCode: 2, programs };
  } finally {
    progress.done();
  }
  return { exitCode: 0, programs };
}

function choosePrograms(programs: readonly LoadedProgramExport[], wanted: string | undefined, file: string): LoadedProgramExport[] {
  if (wanted === undefined) return [...programs];
  const found = programs.filter((p) => p.program.name === wanted || p.exportName === wanted);
  if (found.length === 0) {
    const names = programs.map((p) => (p.exportName === p.program.name ? p.exportName : `${p.program.name} (export ${p.exportName})`));
    throw new InputError(`${file} exports no program "${wanted}"; it exports ${names.join(', ')}`);
  }
  // A name matching both one program's name and another's export name: the export wins (it is unique).
  return found.length > 1 ? found.filter((p) => p.exportName === wanted).slice(0, 1) : found;
}

async function explainProgram(
  { exportName, program }: LoadedProgramExport, file: string, target: TargetProfile, resolved: ResolvedOptions,
  store: KernelStore | undefined, options: ExplainOptions, progress: Progress,
): Promise<ExplainedProgram> {
  const name = programLabel(program, exportName);
  const fromLock = store ? await lockEntry(program, target, resolved, store, progress) : undefined;
  const result = fromLock ? undefined : await searchWithProgress(program, target, searchLimits(options, resolved), progress, name);
  progress.done();
  const ugraph = fromLock?.ugraph ?? result!.ugraph;
  const { log } = options;
  log('');
  log(`${signature(program)}${exportName === program.name ? '' : `  [export ${exportName}]`}  for ${target.name}`);
  const from = fromLock ? `the lock (${displayPath(resolved.root, fromLock.file)})` : result!.source === 'search'
    ? `the search (${formatDuration(result!.report.totalMs / 1000)})` : `the per-operator lowering: ${sourceText(result!)}`;
  const { compiled, report: compileReport } = compile(program, { ugraph, target });
  log(`μGraph ${ugraph.hash.slice(0, 12)} from ${from}: ${kernelSummary(ugraph)}; `
    + `${compileReport.kernels} kernel launch${compileReport.kernels === 1 ? '' : 'es'}, ${compileReport.pipelines} pipeline${compileReport.pipelines === 1 ? '' : 's'}`);
  log('');
  for (const line of ugraph.pretty().split('\n')) log(`  ${line}`);
  log('');
  if (fromLock) {
    log('lock entry:');
    log(`  compiler: ${fromLock.entry.config.compiler.compiler}`);
    log(`  verification: ${JSON.stringify(fromLock.entry.verification)}`);
    log(`  report: ${JSON.stringify(fromLock.entry.report)}`);
  } else {
    const r = result!;
    log('search report:');
    log(`  stopped: ${stopText(r.report)}`);
    for (const line of reportLines(r.report)) log(`  ${line}`);
    const v = r.verification;
    log(v === undefined
      ? '  verification: none (no candidate verified; the per-operator lowering is used)'
      : `  verification: ${v.verdict} at full shape, seeds ${v.seeds.join(', ')}, false-accept bound ${v.falseAcceptBound.toExponential(1)}, ${milliseconds(v.ms)}`);
    if (r.candidates.length > 0) {
      log(`candidates (cheapest first; ${r.candidates.length} screened${r.candidates.length > CANDIDATES_SHOWN ? `, ${CANDIDATES_SHOWN} shown` : ''}):`);
      for (const [i, c] of r.candidates.slice(0, CANDIDATES_SHOWN).entries()) {
        const mark = c.ugraph.hash === ugraph.hash ? '  <- chosen' : '';
        log(`  ${i + 1}. cost ${formatCost(c.cost)}  ${c.ugraph.hash.slice(0, 12)}  ${kernelSummary(c.ugraph)}${mark}`);
      }
    }
  }
  let diagram: string | undefined;
  if (options.svg !== undefined) {
    diagram = resolve(options.svg);
    await mkdir(dirname(diagram), { recursive: true });
    const how = fromLock ? 'from the lock' : result!.source === 'search' ? 'searched' : 'per-operator lowering';
    await writeFile(diagram, kernelGraphToSVG(ugraph, { title: `${program.name} (${basename(file)}, ${how}, ${target.name})` }));
    log(`diagram: ${displayPath(process.cwd(), diagram)}`);
  }
  if (options.wgsl === true) {
    const variant = options.variant ?? compiled.variants[0]!;
    if (!compiled.variants.includes(variant)) throw new InputError(`${program.name} has no ${variant} variant (it has ${compiled.variants.join(', ')})`);
    log('');
    log(`WGSL (${variant} variant): ${compiled.kernels.length} shader${compiled.kernels.length === 1 ? '' : 's'}`);
    for (const [k, kernel] of compiled.kernels.entries()) {
      const launches = compiled.dispatches.filter((d) => d.kernel === k).map((d) => `[${d.workgroups.join(', ')}]`);
      log('');
      log(`// shader ${k}: ${kernel.name}, dispatched ${launches.length}x with workgroups ${launches.join(', ')}`);
      for (const line of (kernel.wgsl[variant] ?? kernel.wgsl.f32).trimEnd().split('\n')) log(line);
    }
  }
  return {
    exportName, program: program.name, target: target.name, ugraph, source: fromLock ? 'lock' : result!.source,
    ...(result ? { result } : {}), ...(fromLock ? { entryFile: fromLock.file } : {}), ...(diagram ? { diagram } : {}),
  };
}

/** The lock's (or scratch cache's) entry for the program and target, when there is one that serves it; a note otherwise. */
async function lockEntry(program: Program, target: TargetProfile, resolved: ResolvedOptions, store: KernelStore, progress: Progress): Promise<StoredEntry | undefined> {
  const key = programKey(program, resolved, target);
  for (const source of store.sources(false)) {
    try {
      const stored = await source.read(key);
      if (!stored) continue;
      checkLockHit(stored, program, target);
      return stored;
    } catch (error) {
      progress.log(`note: ${messageOf(error)}; searching instead`);
      return undefined;
    }
  }
  progress.log(`note: no lock entry for ${program.name} (${displayPath(resolved.root, store.primary.fileFor(key))}); searching instead`);
  return undefined;
}
