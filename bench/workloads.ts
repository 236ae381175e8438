/**
 * The benchmark workloads (docs/architecture.md §7): which fixture module defines each, which of its
 * inputs stay resident on the GPU between calls (weights, the attention K and V, as in
 * docs/benchmarks.md) and the seeded inputs every system and peer receives.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTensorModule } from '../src/frontend/load-module.js';
import type { Program } from '../src/frontend/program.js';
import { randomInputs } from '../src/reference/random.js';
import type { TensorProgram } from '../src/tensor-program.js';

export const WORKLOAD_NAMES = ['gqa', 'qknorm', 'rmsnorm', 'lora', 'gated_mlp', 'ntrans'] as const;
export type WorkloadName = (typeof WORKLOAD_NAMES)[number];
export type Shapes = 'full' | 'small';

/** Seed of the inputs (src/reference/random.ts); every system and peer uses it. */
export const INPUT_SEED = 7;

/** Inputs uploaded once and kept on the GPU; every other input is uploaded on each call. */
const RESIDENT: Readonly<Record<WorkloadName, readonly string[]>> = {
  gqa: ['k', 'v'],
  qknorm: ['k', 'v'],
  rmsnorm: ['w'],
  lora: ['w', 'a', 'b'],
  gated_mlp: ['w1', 'w2'],
  ntrans: [],
};

export interface BenchWorkload {
  readonly name: WorkloadName;
  /** 1 or 8 on full shapes; 1 for the small twins. */
  readonly batch: number;
  readonly shapes: Shapes;
  readonly program: Program;
  /** The exported tensor program (its `load()` is the per-operator lowering). */
  readonly tensorProgram: TensorProgram;
  readonly resident: ReadonlySet<string>;
  /** Seeded inputs in f32 (uniform in [-1, 1]); the f16 variant uploads them rounded to f16. */
  readonly inputs: Readonly<Record<string, Float32Array>>;
}

/** The repository root: the nearest folder above this file whose package.json is mugraph's. */
export const REPO_ROOT = findRepoRoot(dirname(fileURLToPath(import.meta.url)));

function findRepoRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'mugraph') return dir;
    if (dirname(dir) === dir) throw new Error(`bench: no mugraph package.json above ${start}`);
  }
}

function fixtureFile(name: WorkloadName, shapes: Shapes): string {
  const file = `${name.replace('_', '-')}.tensor.ts`;
  return join(REPO_ROOT, 'fixtures', 'programs', ...(shapes === 'small' ? ['small', file] : [file]));
}

function exportName(name: WorkloadName, batch: number, shapes: Shapes): string {
  return shapes === 'small' ? `${name}_small` : `${name}_b${batch}`;
}

export function parseWorkloadName(text: string): WorkloadName {
  const name = text.trim().replace('-', '_');
  if (!(WORKLOAD_NAMES as readonly string[]).includes(name)) {
    throw new Error(`bench: unknown workload "${text}"; known: ${WORKLOAD_NAMES.join(', ')}`);
  }
  return name as WorkloadName;
}

/** Loads the fixture module, picks the export for `batch` and draws the seeded inputs. */
export async function loadWorkload(name: WorkloadName, batch: number, shapes: Shapes): Promise<BenchWorkload> {
  const file = fixtureFile(name, shapes);
  const wanted = exportName(name, batch, shapes);
  const module = await loadTensorModule(file);
  const found = module.programs.find((p) => p.exportName === wanted);
  if (!found) throw new Error(`bench: ${file} exports no "${wanted}" (has ${module.programs.map((p) => p.exportName).join(', ')})`);
  return {
    name,
    batch: shapes === 'small' ? 1 : batch,
    shapes,
    program: found.program,
    tensorProgram: found.value,
    resident: new Set(RESIDENT[name]),
    inputs: randomInputs(found.program, INPUT_SEED),
  };
}

/** "gqa b8" or "gqa small": how rows and messages name a workload. */
export function workloadLabel(w: { name: string; batch: number; shapes: Shapes }): string {
  return w.shapes === 'small' ? `${w.name} small` : `${w.name} b${w.batch}`;
}
