/// <reference types="@webgpu/types" preserve="true" />
/**
 * `mugraph check`: evaluates each `*.tensor.ts`, runs every exported program on the
 * local WebGPU adapter (each variant it supports) on seeded random inputs, and compares
 * every output with the float64 reference interpreter on the same inputs (f16-declared
 * inputs are drawn as f16 values, so one reference serves both variants). The CLI only
 * parses arguments; this module holds the logic, so tests can call it directly.
 * `check --mugraph` (check-ugraph.ts) is another ModuleKind through the same driver.
 *
 * Exit codes: 0 all pass, 1 some output out of tolerance (or a run failed), 2 an invalid
 * program or module (its error names the user's file:line), or no WebGPU adapter.
 */
import { type LoadedProgramExport, loadTensorModule } from '../frontend/load-module.js';
import type { Program } from '../frontend/program.js';
import { createNodeDevice } from '../gpu/node-device.js';
import { formatShape } from '../ir/shape.js';
import type { Comparison } from '../reference/compare.js';
import { checkProgram, supportedVariants, type VariantCheck, type VariantFailure } from '../reference/check-program.js';
import type { Variant } from '../runtime/types.js';
import { displayPath, messageOf } from './modules.js';
import { type Column, renderTable } from './table.js';

export interface CheckOptions {
  /** Seed of the random inputs (default 1). */
  readonly seed?: number;
  /** Only these variants (each still needs adapter support); default: every supported one. */
  readonly variants?: readonly Variant[];
  /** Overrides the pass threshold on the relative L2 error of every variant. */
  readonly tolerance?: number;
  /** How long evaluating one module may take (ms); default the build's. */
  readonly evaluateTimeoutMs?: number;
  readonly log: (line: string) => void;
}

export interface OutputCheck {
  readonly file: string;
  readonly exportName: string;
  readonly program: string;
  readonly output: string;
  /** The GPU variant, or the float64 μGraph interpreter (`check --mugraph`). */
  readonly variant: Variant | 'interpreter';
  readonly comparison: Comparison;
  /** Seconds to run: on the GPU, loading (pipeline compilation) included; for the interpreter, on the CPU. */
  readonly seconds: number;
}

export interface CheckReport {
  readonly exitCode: 0 | 1 | 2;
  readonly results: readonly OutputCheck[];
  /** One line per invalid module or failed run, as printed. */
  readonly errors: readonly string[];
}

/** One comparison of one output with the reference, or a run that failed. */
export type Outcome =
  | { readonly output: string; readonly variant: OutputCheck['variant']; readonly comparison: Comparison; readonly seconds: number }
  | { readonly variant: OutputCheck['variant']; readonly error: string };

/** What checking one exported program found, for the driver to print and tally. */
export interface ProgramReport {
  readonly exportName: string;
  readonly program: Program;
  /** Lines printed under the program's signature (e.g. what the μGraph is, where its diagram went). */
  readonly notes: readonly string[];
  readonly referenceSeconds: number;
  readonly outcomes: readonly Outcome[];
}

/**
 * One kind of module `check` understands. `load` evaluates a file and throws (naming it)
 * when it is invalid; `check` runs one of the programs it exports. The driver (runChecks)
 * does the rest the same way for every kind: the device, printing, tallies, exit code.
 */
export interface ModuleKind<E> {
  load(file: string, options: CheckOptions): Promise<{ readonly file: string; readonly entries: readonly E[] }>;
  check(entry: E, device: GPUDevice, options: CheckOptions): Promise<ProgramReport>;
}

type NodeDevice = Awaited<ReturnType<typeof createNodeDevice>>;

/** Checks every program exported by `files`, printing a table per program through `log`. */
export function checkFiles(files: readonly string[], options: CheckOptions): Promise<CheckReport> {
  return runChecks(files, options, tensorModules);
}

const tensorModules: ModuleKind<LoadedProgramExport> = {
  load: async (file, options) => {
    const loaded = await loadTensorModule(file, { timeoutMs: options.evaluateTimeoutMs });
    return { file: loaded.file, entries: loaded.programs };
  },
  check: async ({ exportName, program, value }, device, options) => {
    const check = await checkProgram(value, device, variantsToRun(program, device, options.variants), options.seed ?? 1, options.tolerance);
    return { exportName, program, notes: [], referenceSeconds: check.referenceSeconds, outcomes: check.outcomes.map(gpuOutcome) };
  },
};

/** A VariantCheck or VariantFailure from checkProgram as an Outcome. */
export function gpuOutcome(outcome: VariantCheck | VariantFailure): Outcome {
  return 'error' in outcome ? outcome : { output: outcome.output, variant: outcome.variant, comparison: outcome.comparison, seconds: outcome.gpuSeconds };
}

export async function runChecks<E>(files: readonly string[], options: CheckOptions, kind: ModuleKind<E>): Promise<CheckReport> {
  const { log } = options;
  const results: OutputCheck[] = [];
  const errors: string[] = [];
  let invalid = false;
  let gpu: NodeDevice | undefined;
  const report = (line: string) => {
    errors.push(line);
    log(line);
  };
  try {
    for (const file of files) {
      let loaded: Awaited<ReturnType<ModuleKind<E>['load']>>;
      try {
        loaded = await kind.load(file, options);
      } catch (error) {
        invalid = true;
        report(`error: ${messageOf(error)}`);
        continue;
      }
      // The device is created on first need, so invalid modules are reported without an adapter.
      if (!gpu) {
        try {
          gpu = await createNodeDevice();
        } catch (error) {
          report(`error: cannot create a WebGPU device: ${messageOf(error)}`);
          return { exitCode: 2, results, errors };
        }
        log(`adapter: ${gpu.adapterInfo}`);
      }
      log(displayPath(process.cwd(), loaded.file));
      for (const entry of loaded.entries) {
        const { exportName, program, notes, referenceSeconds, outcomes } = await kind.check(entry, gpu.device, options);
        const exported = exportName === program.name ? '' : `  [export ${exportName}]`;
        log(`  ${signature(program)}${exported}  (reference ${referenceSeconds.toFixed(2)} s)`);
        for (const note of notes) log(`    ${note}`);
        const rows: string[][] = [];
        for (const outcome of outcomes) {
          if ('error' in outcome) {
            rows.push(['*', outcome.variant, '', '', '', 'ERROR', '']);
            report(`error: ${program.name} (${outcome.variant}) failed to run: ${outcome.error}`);
          } else {
            results.push({ file: loaded.file, exportName, program: program.name, ...outcome });
            rows.push(tableRow(outcome));
          }
        }
        for (const line of renderTable(COLUMNS, rows)) log(`    ${line}`);
      }
    }
  } finally {
    gpu?.destroy();
  }
  if (gpu) log(TIME_NOTE);
  const failed = results.filter((r) => !r.comparison.pass).length;
  const errorNote = errors.length > 0 ? `; ${errors.length} error${errors.length === 1 ? '' : 's'}` : '';
  log(`${results.length} outputs checked: ${results.length - failed} passed, ${failed} failed${errorNote}`);
  const exitCode = invalid ? 2 : failed > 0 || errors.length > 0 ? 1 : 0;
  return { exitCode, results, errors };
}

export function variantsToRun(program: Program, device: GPUDevice, wanted: readonly Variant[] | undefined): Variant[] {
  const supported = supportedVariants(program, device);
  return wanted ? supported.filter((v) => wanted.includes(v)) : supported;
}

const COLUMNS: readonly Column[] = [
  { title: 'output' }, { title: 'variant' }, { title: 'max abs err' }, { title: 'rel L2 err' }, { title: 'tolerance' }, { title: 'result' },
  { title: 'load+run', align: 'right' },
];

/** What the load+run column measures, printed under the tables: on a first run shader compilation dwarfs the kernels. */
export const TIME_NOTE = 'load+run: seconds to load the program on the adapter (create its pipelines, i.e. compile its shaders, which '
  + 'dominates a first run) and run it once (upload, dispatch, read back); for the μGraph interpreter, its time on the CPU.';

function tableRow(check: Extract<Outcome, { comparison: Comparison }>): string[] {
  const { comparison: c } = check;
  const overflow = c.f16Overflow > 0 ? `, ${c.f16Overflow} beyond the f16 range ±65504` : '';
  const result = c.pass ? 'PASS' : c.nanMismatch > 0 ? `FAIL (${c.nanMismatch} non-finite mismatches${overflow})` : 'FAIL';
  return [
    check.output, check.variant, c.maxAbsError.toExponential(2), c.relL2Error.toExponential(2), c.tolerance.toExponential(0),
    result, `${check.seconds.toFixed(2)} s`,
  ];
}

export function signature(program: Program): string {
  const specs = (list: Program['inputSpecs']) => list.map((s) => `${s.name} ${s.dtype}${formatShape(s.shape)}`).join(', ');
  return `${program.name}(${specs(program.inputSpecs)}) -> ${specs(program.outputSpecs)}`;
}
