/**
 * The six benchmark programs of docs/architecture.md §7: which module and export each is, and its
 * hand-written μGraph. Free of `import.meta.glob` (benchmarks.ts adds the page's module
 * loading), so that the page and the Node demo (playground/demo/) share this one list.
 */
import type { Program, TensorProgram } from 'mugraph';
import { UGRAPH_FIXTURES, type UGraphCase } from '../../fixtures/ugraphs/index.js';

export type BenchmarkId = 'gqa' | 'qknorm' | 'rmsnorm' | 'lora' | 'gated_mlp' | 'ntrans';
export type ShapeSet = 'small' | 'full';

export interface Benchmark {
  readonly id: BenchmarkId;
  /** What it computes, in the notation of docs/architecture.md §7. */
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

/** One benchmark as the page and the demo run it. */
export interface BenchmarkPrograms {
  /** The tensor module as the app sees it (through the mugraph plugin when it is on). */
  readonly module: TensorProgram;
  /** Its DSL program (the reference's input). */
  readonly program: Program;
  /** The hand-written μGraph case at these shapes, if fixtures/ugraphs/ has one. */
  readonly handWritten: UGraphCase | undefined;
}

/** The module's path under fixtures/programs/: the small twins live in small/. */
export function modulePath(bench: Benchmark, shapes: ShapeSet): string {
  return `${shapes === 'small' ? 'small/' : ''}${bench.file}`;
}

/** The export the page runs: the small twin, or the full shapes at b = 1. */
export function exportNameOf(bench: Benchmark, shapes: ShapeSet): string {
  return shapes === 'small' ? `${bench.id}_small` : `${bench.id}_b1`;
}

/** The hand-written μGraph of fixtures/ugraphs/ at these shapes (b = 1 for full), if there is one. */
export function handWrittenOf(bench: Benchmark, shapes: ShapeSet): UGraphCase | undefined {
  const fixture = UGRAPH_FIXTURES.find((f) => f.benchmark === bench.id);
  return shapes === 'small' ? fixture?.small() : fixture?.full(1);
}
