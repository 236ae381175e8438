/**
 * Runs one benchmark's three implementations on a Node WebGPU device, in each variant, the
 * way the page's Run button does (playground/src/: the same implementations, the same
 * seeded inputs, float64 reference and timing loop), and turns each into a table row.
 *   - build: the module the demo's kernel build generated (its `load()`, `compiled` and
 *     `ugraph`, attached by the plugin's `artifacts` option): the kernels the build chose;
 *   - perOp: the per-operator lowering of the DSL program, the baseline of the speed-ups;
 *   - handWritten: the hand-written μGraph of fixtures/ugraphs/, when it has these shapes.
 */
import { join } from 'node:path';
import { type ProgramEvent, searchCounts } from '../../src/build/options.js';
import { loadTensorModule } from '../../src/frontend/load-module.js';
import type { TensorProgram } from '../../src/tensor-program.js';
import type { Variant } from '../../src/runtime/types.js';
import { type Benchmark, exportNameOf, handWrittenOf, modulePath, type ShapeSet } from '../src/benchmark-list.js';
import { type ImplementationId, implementationsOf, isAvailable } from '../src/implementations.js';
import { measure, ProgramCase } from '../src/measure.js';
import { REPO_ROOT } from './build.js';

export type RowStatus = 'PASS' | 'FAIL' | 'ERROR' | 'N/A';

export interface DemoRow {
  readonly benchmark: string;
  /** The program's name, e.g. gqa_b1. */
  readonly program: string;
  readonly variant: Variant;
  readonly impl: ImplementationId;
  /** Kernel launches per run and, of the μGraph's kernels, how many are custom (fused) ones. */
  readonly kernels?: number;
  readonly customKernels?: number;
  readonly medianMs?: number;
  readonly runs?: number;
  /** Per-operator median / this median. */
  readonly speedup?: number;
  readonly relL2?: number;
  readonly tolerance?: number;
  readonly status: RowStatus;
  /** Where the kernels came from: "lock hit <key>", "compiled <key>", "run-time lowering", "fixtures/ugraphs". */
  readonly source: string;
  /** Why a row is N/A or ERROR. */
  readonly detail?: string;
  /** Build rows: the kernels and dispatches are exactly the per-operator lowering's (no search yet), so their times differ only by noise. */
  readonly sameKernelsAsPerOp?: boolean;
}

/** Per-operator first: its median is the baseline of the others' speed-ups (as on the page). */
const RUN_ORDER: readonly ImplementationId[] = ['perOp', 'build', 'handWritten'];
/** The table's order: the build's choice first. */
const SHOW_ORDER: readonly ImplementationId[] = ['build', 'perOp', 'handWritten'];

export interface BenchmarkRequest {
  readonly bench: Benchmark;
  readonly shapes: ShapeSet;
  readonly variants: readonly Variant[];
  /** The kernel build's modules (build.ts) and plugin events. */
  readonly modules: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly events: readonly ProgramEvent[];
  readonly device: GPUDevice;
}

export async function runBenchmark({ bench, shapes, variants, modules, events, device }: BenchmarkRequest): Promise<DemoRow[]> {
  const file = join(REPO_ROOT, 'fixtures', 'programs', modulePath(bench, shapes));
  const exportName = exportNameOf(bench, shapes);
  const module = builtExport(modules, `../../fixtures/programs/${modulePath(bench, shapes)}`, exportName);
  const program = (await loadTensorModule(file)).programs.find((p) => p.exportName === exportName)?.program;
  if (!program) throw new Error(`${file}: no tensor program exported as ${exportName}`);
  if (module.program.hash !== program.hash) throw new Error(`${file}: the built ${exportName} has hash ${module.program.hash}, the source ${program.hash}`);
  const event = events.find((e) => e.file === file && e.exportName === exportName);
  const implementations = implementationsOf({ module, program, handWritten: handWrittenOf(bench, shapes) });
  const sources: Record<ImplementationId, string> = {
    build: event ? buildSource(event) : 'no plugin event',
    perOp: 'per-op lowering of the DSL',
    handWritten: 'fixtures/ugraphs',
  };
  const [built, perOp] = (['build', 'perOp'] as const).map((id) => implementations.find((i) => i.id === id));
  const sameKernelsAsPerOp = built !== undefined && perOp !== undefined && isAvailable(built) && isAvailable(perOp)
    && JSON.stringify([built.compiled.kernels.map((k) => k.wgsl), built.compiled.dispatches])
      === JSON.stringify([perOp.compiled.kernels.map((k) => k.wgsl), perOp.compiled.dispatches]);
  const testCase = new ProgramCase(program);
  const rows: DemoRow[] = [];
  for (const variant of variants) {
    const base = { benchmark: bench.id, program: program.name, variant };
    const byImpl = new Map<ImplementationId, DemoRow>();
    let baselineMs: number | undefined;
    for (const id of RUN_ORDER) {
      const impl = implementations.find((i) => i.id === id)!;
      const row = { ...base, impl: id, source: sources[id], ...(id === 'build' ? { sameKernelsAsPerOp } : {}) };
      if (!isAvailable(impl)) {
        byImpl.set(id, { ...row, status: 'N/A', detail: impl.unavailable });
        continue;
      }
      const shape = { kernels: impl.compiled.dispatches.length, customKernels: impl.graph.customKernels.length };
      if (!impl.compiled.variants.includes(variant)) {
        byImpl.set(id, { ...row, ...shape, status: 'N/A', detail: `no ${variant} variant` });
        continue;
      }
      try {
        const loaded = await impl.load(device, { variant });
        try {
          const m = await measure(loaded, testCase, device);
          if (id === 'perOp') baselineMs = m.medianMs;
          byImpl.set(id, {
            ...row, ...shape, medianMs: m.medianMs, runs: m.runs, relL2: m.relL2Error, tolerance: m.tolerance,
            ...(baselineMs === undefined ? {} : { speedup: baselineMs / m.medianMs }), status: m.pass ? 'PASS' : 'FAIL',
          });
        } finally {
          loaded.destroy();
        }
      } catch (error) {
        byImpl.set(id, { ...row, ...shape, status: 'ERROR', detail: (error as Error).message.split('\n')[0] ?? String(error) });
      }
    }
    rows.push(...SHOW_ORDER.map((id) => byImpl.get(id)!));
  }
  return rows;
}

/**
 * The build's export, which must carry the plugin's artifacts: without them the page would
 * show a recompile, and the demo would not be showing what the build chose.
 */
function builtExport(modules: BenchmarkRequest['modules'], path: string, exportName: string): TensorProgram {
  const exports = modules[path];
  if (!exports) throw new Error(`demo: the kernel build has no module ${path} (it has ${Object.keys(modules).join(', ')})`);
  const value = exports[exportName] as (TensorProgram & { ugraph?: unknown; compiled?: unknown }) | undefined;
  if (!value) throw new Error(`demo: ${path} as built exports no ${exportName}`);
  if (value.ugraph === undefined || value.compiled === undefined) {
    throw new Error(`demo: ${path} as built carries no \`ugraph\`/\`compiled\`: playground/mugraph.config.js must set \`artifacts: true\``);
  }
  return value;
}

/** Where the build's kernels came from: `lock hit 3f2a9c01`, or `compiled 3f2a9c01: searched 12.3 s, 2,079 explored, 3 screened, 1 verified`. */
function buildSource(event: ProgramEvent): string {
  const from = `${event.status === 'hit' ? 'lock hit' : event.status} ${event.key.slice(0, 8)}`;
  const search = event.search;
  if (search === undefined) return from;
  const what = search.outcome === 'search' ? 'searched' : 'searched, none verified';
  return `${from}: ${what} ${(search.ms / 1000).toFixed(1)} s, ${searchCounts(search)}`;
}
