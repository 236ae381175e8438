/**
 * The six benchmark programs of docs/architecture.md §7 as the playground shows them, at small shapes
 * (the test twins in fixtures/programs/small/) and at Mirage's full shapes with b = 1
 * (fixtures/programs/). Each comes three ways:
 *   - the tensor module as an app imports it (through the mugraph plugin when it is on);
 *   - the same module with `?dsl`, which the plugin leaves alone (vite.config.ts), for the
 *     DSL Program the float64 reference evaluates;
 *   - the hand-written μGraph of fixtures/ugraphs/, when it has one at these shapes.
 * Modules load on demand, so the full-shape programs cost nothing until asked for.
 */
import { isProgram, type TensorProgram } from 'mugraph';
import { type Benchmark, type BenchmarkPrograms, exportNameOf, handWrittenOf, modulePath, type ShapeSet } from './benchmark-list.js';

export { BENCHMARKS, type Benchmark, type BenchmarkId, type BenchmarkPrograms, type ShapeSet } from './benchmark-list.js';

type ModuleMap = Record<string, () => Promise<Record<string, unknown>>>;

const APP_MODULES: ModuleMap = import.meta.glob<Record<string, unknown>>('../../fixtures/programs/**/*.tensor.ts');
const DSL_MODULES: ModuleMap = import.meta.glob<Record<string, unknown>>('../../fixtures/programs/**/*.tensor.ts', { query: '?dsl' });

export async function loadBenchmark(bench: Benchmark, shapes: ShapeSet): Promise<BenchmarkPrograms> {
  const path = `../../fixtures/programs/${modulePath(bench, shapes)}`;
  const exportName = exportNameOf(bench, shapes);
  const [module, source] = await Promise.all([exportOf(APP_MODULES, path, exportName), exportOf(DSL_MODULES, path, exportName)]);
  const program = (source as TensorProgram).program;
  if (!isProgram(program)) throw new Error(`${path}?dsl: ${exportName} is not a DSL tensor program; is the mugraph plugin excluding '?dsl'?`);
  return { module: module as TensorProgram, program, handWritten: handWrittenOf(bench, shapes) };
}

async function exportOf(modules: ModuleMap, path: string, name: string): Promise<unknown> {
  const load = modules[path];
  if (!load) throw new Error(`missing module ${path}`);
  const exports = await load();
  if (!(name in exports)) throw new Error(`${path} has no export ${name} (it has ${Object.keys(exports).join(', ')})`);
  return exports[name];
}
