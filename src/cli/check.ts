/**
 * `mugraph check`: evaluates each `*.tensor.ts`, runs every exported program on the
 * local WebGPU adapter (each variant it supports) on seeded random inputs, and compares
 * every output with the float64 reference interpreter on the same inputs (f16-declared
 * inputs are drawn as f16 values, so one reference serves both variants). The CLI only
 * parses arguments; this module holds the logic, so tests can call it directly.
 *
 * Exit codes: 0 all pass, 1 some output out of tolerance (or a run failed), 2 an invalid
 * program or module (its error names the user's file:line), or no WebGPU adapter.
 */
import { relative } from 'node:path';
import { loadTensorModule, type LoadedTensorModule } from '../frontend/load-module.js';
import type { Program } from '../frontend/program.js';
import { createNodeDevice } from '../gpu/node-device.js';
import { formatShape } from '../ir/shape.js';
import type { Comparison } from '../reference/compare.js';
import { checkProgram, supportedVariants, type VariantCheck } from '../reference/check-program.js';
import type { Variant } from '../runtime/types.js';

export interface CheckOptions {
  /** Seed of the random inputs (default 1). */
  readonly seed?: number;
  /** Only these variants (each still needs adapter support); default: every supported one. */
  readonly variants?: readonly Variant[];
  /** Overrides the pass threshold on the relative L2 error of every variant. */
  readonly tolerance?: number;
  readonly log: (line: string) => void;
}

export interface OutputCheck {
  readonly file: string;
  readonly exportName: string;
  readonly program: string;
  readonly output: string;
  readonly variant: Variant;
  readonly comparison: Comparison;
  /** Seconds to load and run the program on the GPU in this variant (pipeline compilation included). */
  readonly gpuSeconds: number;
}

export interface CheckReport {
  readonly exitCode: 0 | 1 | 2;
  readonly results: readonly OutputCheck[];
  /** One line per invalid module or failed run, as printed. */
  readonly errors: readonly string[];
}

type NodeDevice = Awaited<ReturnType<typeof createNodeDevice>>;

/** Checks every program exported by `files`, printing a table per program through `log`. */
export async function checkFiles(files: readonly string[], options: CheckOptions): Promise<CheckReport> {
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
      let loaded: LoadedTensorModule;
      try {
        loaded = await loadTensorModule(file);
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
      log(displayPath(loaded.file));
      for (const { exportName, program, value } of loaded.programs) {
        const variants = variantsToRun(program, gpu.device, options.variants);
        const check = await checkProgram(value, gpu.device, variants, options.seed ?? 1, options.tolerance);
        const exported = exportName === program.name ? '' : `  [export ${exportName}]`;
        log(`  ${signature(program)}${exported}  (reference ${check.referenceSeconds.toFixed(2)} s)`);
        const rows = [['output', 'variant', 'max abs err', 'rel L2 err', 'tolerance', 'result', 'gpu']];
        for (const outcome of check.outcomes) {
          if ('error' in outcome) {
            rows.push(['*', outcome.variant, '', '', '', 'ERROR', '']);
            report(`error: ${program.name} (${outcome.variant}) failed to run: ${outcome.error}`);
          } else {
            results.push({ file: loaded.file, exportName, program: program.name, ...outcome });
            rows.push(tableRow(outcome));
          }
        }
        for (const line of formatTable(rows)) log(`    ${line}`);
      }
    }
  } finally {
    gpu?.destroy();
  }
  const failed = results.filter((r) => !r.comparison.pass).length;
  const errorNote = errors.length > 0 ? `; ${errors.length} error${errors.length === 1 ? '' : 's'}` : '';
  log(`${results.length} outputs checked: ${results.length - failed} passed, ${failed} failed${errorNote}`);
  const exitCode = invalid ? 2 : failed > 0 || errors.length > 0 ? 1 : 0;
  return { exitCode, results, errors };
}

function variantsToRun(program: Program, device: GPUDevice, wanted: readonly Variant[] | undefined): Variant[] {
  const supported = supportedVariants(program, device);
  return wanted ? supported.filter((v) => wanted.includes(v)) : supported;
}

function tableRow(check: VariantCheck): string[] {
  const { comparison: c } = check;
  const overflow = c.f16Overflow > 0 ? `, ${c.f16Overflow} beyond the f16 range ±65504` : '';
  const result = c.pass ? 'PASS' : c.nanMismatch > 0 ? `FAIL (${c.nanMismatch} non-finite mismatches${overflow})` : 'FAIL';
  return [
    check.output, check.variant, c.maxAbsError.toExponential(2), c.relL2Error.toExponential(2), c.tolerance.toExponential(0),
    result, `${check.gpuSeconds.toFixed(2)} s`,
  ];
}

/** Left-aligned columns separated by two spaces; trailing spaces trimmed. */
export function formatTable(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
}

function signature(program: Program): string {
  const specs = (list: Program['inputSpecs']) => list.map((s) => `${s.name} ${s.dtype}${formatShape(s.shape)}`).join(', ');
  return `${program.name}(${specs(program.inputSpecs)}) -> ${specs(program.outputSpecs)}`;
}

function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel.startsWith('..') ? file : rel;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
