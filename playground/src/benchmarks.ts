/**
 * The six benchmark programs of DESIGN.md §7 as the playground shows them, at small shapes
 * (the test twins in fixtures/programs/small/) and at Mirage's full shapes with b = 1
 * (fixtures/programs/). Each comes three ways:
 *   - the tensor module as an app imports it (through the mugraph plugin when it is on);
 *   - the same module with `?dsl`, which the plugin leaves alone (vite.config.ts), for the
 *     DSL Program the float64 reference evaluates;
 *   - the hand-written μGraph of fixtures/ugraphs/, when it has one at these shapes.
 * Modules load on demand, so the full-shape programs cost nothing until asked for.
 */
import { isProgram, type Program, type TensorProgram } from 'mugraph';
import { UGRAPH_FIXTURES, type UGraphCase } from '../../fixtures/ugraphs/index.js';

export type BenchmarkId = 'gqa' | 'qknorm' | 'rmsnorm' | 'lora' | 'gated_mlp' | 'ntrans';
export type ShapeSet = 'small' | 'full';

export interface Benchmark {
  readonly id: BenchmarkId;
  /** What it computes, in the notation of DESIGN.md §7. */
  readonly formula: string;
  /** Module file name in fixtures/programs/ (and small/). */
  readonly file: string;
}

export const BENCHMARKS: readonly Benchmark[] = [
  { id: 'gqa', formula: 'O = softmax(Q·K) · V', file: 'gqa.tensor.ts' },
  { id: 'qknorm', formula: 'O = softmax(rmsNorm(Q)·K) · rmsNorm(V)', file: 'qknorm.tensor.ts' },
  { id: 'rmsnorm', formula: 'O = rmsNorm(X) · W', file: 'rmsnorm.tensor.ts' },
  { id: 'lora', formula: 'O = X·W + (X·A)·B', file: 'lora.tensor.ts' },
  { id: 'gated_mlp', formula: 'O = silu(X·W1) ⊙ (X·W2)', file: 'gated-mlp.tensor.ts' },
  { id: 'ntrans', formula: 'O = rmsNorm(X + α ⊙ (rmsNorm(H) + X))', file: 'ntrans.tensor.ts' },
];

type ModuleMap = Record<string, () => Promise<Record<string, unknown>>>;

const APP_MODULES: ModuleMap = import.meta.glob<Record<string, unknown>>('../../fixtures/programs/**/*.tensor.ts');
const DSL_MODULES: ModuleMap = import.meta.glob<Record<string, unknown>>('../../fixtures/programs/**/*.tensor.ts', { query: '?dsl' });

export interface BenchmarkPrograms {
  /** The tensor module as the app sees it. */
  readonly module: TensorProgram;
  /** Its DSL program (the reference's input). */
  readonly program: Program;
  /** The hand-written μGraph case at these shapes, if fixtures/ugraphs/ has one. */
  readonly handWritten: UGraphCase | undefined;
}

export async function loadBenchmark(bench: Benchmark, shapes: ShapeSet): Promise<BenchmarkPrograms> {
  const path = `../../fixtures/programs/${shapes === 'small' ? 'small/' : ''}${bench.file}`;
  const exportName = shapes === 'small' ? `${bench.id}_small` : `${bench.id}_b1`;
  const [module, source] = await Promise.all([exportOf(APP_MODULES, path, exportName), exportOf(DSL_MODULES, path, exportName)]);
  const program = (source as TensorProgram).program;
  if (!isProgram(program)) throw new Error(`${path}?dsl: ${exportName} is not a DSL tensor program; is the mugraph plugin excluding '?dsl'?`);
  const fixture = UGRAPH_FIXTURES.find((f) => f.benchmark === bench.id);
  return { module: module as TensorProgram, program, handWritten: shapes === 'small' ? fixture?.small() : fixture?.full(1) };
}

async function exportOf(modules: ModuleMap, path: string, name: string): Promise<unknown> {
  const load = modules[path];
  if (!load) throw new Error(`missing module ${path}`);
  const exports = await load();
  if (!(name in exports)) throw new Error(`${path} has no export ${name} (it has ${Object.keys(exports).join(', ')})`);
  return exports[name];
}
