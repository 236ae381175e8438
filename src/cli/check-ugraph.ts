/**
 * `mugraph check --mugraph`: checks modules that declare μGraphs, each with the tensor
 * program it implements (`ugraphProgram(program, graph)`, or a plain `{ program, graph }`
 * export). On one set of seeded random inputs, the float64 reference of the program is
 * compared with
 *   - the μGraph interpreter (float64, block graphs run literally: a wrong imap, fmap,
 *     omap, phase or accumulator shows up here, independent of code generation), and
 *   - the μGraph compiled by `compile(program, { ugraph })`, on the adapter, per variant,
 * printed and judged by the same driver as `mugraph check` (check.ts), with its exit codes.
 * With `svgDir`, each μGraph's diagram is written as its module loads (before any GPU work,
 * so diagrams come out even without an adapter).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { evaluateModule, moduleError } from '../frontend/load-module.js';
import { checkProgram, compareOutputs, type ReferenceRun, referenceRun } from '../reference/check-program.js';
import { asUGraphProgram, type DslUGraphProgram } from '../ugraph-program.js';
import { kernelGraphToSVG } from '../ugraph/diagram.js';
import { evaluateKernelGraph } from '../ugraph/interpreter.js';
import { type CheckOptions, type CheckReport, gpuOutcome, type ModuleKind, type Outcome, runChecks, variantsToRun } from './check.js';
import { displayPath, messageOf } from './modules.js';

export interface UGraphCheckOptions extends CheckOptions {
  /** Write `<module>.<export>.svg` diagrams into this directory (created if missing). */
  readonly svgDir?: string;
}

/**
 * Threshold of the interpreter's relative L2 error. It and the reference both compute in
 * float64 and differ only in the order of additions (tiles, accumulators), which costs
 * ~1e-16 per term; a μGraph that computes another function is off by O(1). `--tolerance`
 * is about GPU rounding, so it does not apply here.
 */
export const INTERPRETER_TOLERANCE = 1e-9;

export interface LoadedUGraphExport {
  readonly exportName: string;
  readonly value: DslUGraphProgram;
  /** Where its diagram was written, with `svgDir`. */
  readonly diagram?: string;
}

export function checkUGraphFiles(files: readonly string[], options: UGraphCheckOptions): Promise<CheckReport> {
  return runChecks(files, options, ugraphModules(options.svgDir));
}

function ugraphModules(svgDir: string | undefined): ModuleKind<LoadedUGraphExport> {
  return {
    load: async (file, options) => {
      const { file: entry, ugraphs } = await loadUGraphModule(file, options.evaluateTimeoutMs);
      if (svgDir === undefined) return { file: entry, entries: ugraphs };
      await mkdir(svgDir, { recursive: true });
      const entries = await Promise.all(ugraphs.map(async (u) => ({ ...u, diagram: await writeDiagram(svgDir, entry, u) })));
      return { file: entry, entries };
    },
    check: async ({ exportName, value, diagram }, device, options) => {
      const seed = options.seed ?? 1;
      const reference = referenceRun(value.program, seed);
      const variants = variantsToRun(value.program, device, options.variants);
      const gpu = await checkProgram(value, device, variants, seed, options.tolerance, reference);
      const { ugraph } = value;
      const kernels = `${ugraph.nodes.length} kernel${ugraph.nodes.length === 1 ? '' : 's'} (${ugraph.customKernels.length} custom)`;
      const notes = [`μGraph ${ugraph.hash.slice(0, 12)}: ${kernels}`, ...(diagram === undefined ? [] : [`diagram: ${displayPath(process.cwd(), diagram)}`])];
      return {
        exportName, program: value.program, notes, referenceSeconds: reference.seconds,
        outcomes: [...interpreterOutcomes(value, reference), ...gpu.outcomes.map(gpuOutcome)],
      };
    },
  };
}

/**
 * The μGraphs a module declares, by export name. Throws (naming the file) when it declares
 * none, or when a declared μGraph does not implement its program.
 */
export async function loadUGraphModule(file: string, timeoutMs?: number): Promise<{ file: string; ugraphs: LoadedUGraphExport[] }> {
  const { file: entry, exports } = await evaluateModule(file, { timeoutMs });
  const ugraphs = Object.entries(exports).flatMap(([exportName, value]) => {
    let declared: DslUGraphProgram | undefined;
    try {
      declared = asUGraphProgram(value);
    } catch (error) {
      throw new Error(`${entry}: export ${exportName}: ${messageOf(error)}`, { cause: error });
    }
    return declared === undefined ? [] : [{ exportName, value: declared }];
  });
  if (ugraphs.length === 0) {
    throw moduleError(entry, 'no μGraph exported (export ugraphProgram(program, graph), or an object { program, graph } with a KernelGraph)');
  }
  return { file: entry, ugraphs };
}

function interpreterOutcomes(value: DslUGraphProgram, reference: ReferenceRun): Outcome[] {
  try {
    const start = performance.now();
    const actual = evaluateKernelGraph(value.ugraph, reference.inputs);
    const seconds = (performance.now() - start) / 1000;
    // 'f32' only picks compareToReference's f32 rules (no f16 overflow count); the threshold is ours.
    return compareOutputs(value.program, actual, reference.expected, 'f32', INTERPRETER_TOLERANCE)
      .map(({ output, comparison }) => ({ output, variant: 'interpreter', comparison, seconds }));
  } catch (error) {
    return [{ variant: 'interpreter', error: messageOf(error) }];
  }
}

async function writeDiagram(dir: string, file: string, { exportName, value }: LoadedUGraphExport): Promise<string> {
  const path = join(dir, `${basename(file).replace(/\.[cm]?[jt]s$/, '')}.${exportName}.svg`);
  await writeFile(path, kernelGraphToSVG(value.ugraph, { title: `${value.program.name} (${basename(file)}, export ${exportName})` }));
  return path;
}
