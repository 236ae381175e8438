/**
 * The float64 reference output of a workload (src/reference/interpreter.ts) on its seeded
 * f32 inputs, computed once per workload and batch and kept in memory and on disk
 * (bench/.cache/), so that later runs and the peer processes reuse it. As in the peers'
 * method, both variants are judged against this one reference: the f16 error therefore
 * includes the rounding of the inputs to f16.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { evaluateReference } from '../src/reference/interpreter.js';
import { INPUT_SEED, REPO_ROOT, type BenchWorkload } from './workloads.js';

export interface ReferenceOutputs {
  readonly outputs: Readonly<Record<string, Float64Array>>;
  /** Seconds the interpreter took (0 when read from the cache). */
  readonly seconds: number;
  readonly cached: boolean;
}

export const CACHE_DIR = join(REPO_ROOT, 'bench', '.cache');
const memory = new Map<string, ReferenceOutputs>();

function cacheFile(workload: BenchWorkload, output: string): string {
  return join(CACHE_DIR, `ref-${workload.program.name}-${workload.program.hash}-seed${INPUT_SEED}-${output}.f64`);
}

function readCached(workload: BenchWorkload): Record<string, Float64Array> | undefined {
  const outputs: Record<string, Float64Array> = {};
  for (const { name } of workload.program.outputs) {
    const file = cacheFile(workload, name);
    if (!existsSync(file)) return undefined;
    const bytes = readFileSync(file);
    outputs[name] = new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  }
  return outputs;
}

function writeCached(workload: BenchWorkload, outputs: Record<string, Float64Array>): void {
  mkdirSync(CACHE_DIR, { recursive: true });
  for (const [name, data] of Object.entries(outputs)) {
    const file = cacheFile(workload, name);
    writeFileSync(`${file}.tmp`, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    renameSync(`${file}.tmp`, file);
  }
}

export function referenceFor(workload: BenchWorkload): ReferenceOutputs {
  const key = `${workload.program.hash}:${INPUT_SEED}`;
  const known = memory.get(key);
  if (known) return known;
  const cached = readCached(workload);
  let result: ReferenceOutputs;
  if (cached) {
    result = { outputs: cached, seconds: 0, cached: true };
  } else {
    const start = performance.now();
    const outputs = evaluateReference(workload.program, workload.inputs);
    result = { outputs, seconds: (performance.now() - start) / 1000, cached: false };
    writeCached(workload, outputs);
  }
  memory.set(key, result);
  return result;
}
