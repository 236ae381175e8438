/**
 * Deterministic test inputs: the same program and seed give the same values on every
 * machine and run, so a failing numeric test can be replayed exactly. The generator is
 * mulberry32 (32-bit state, good enough statistically for test data, a few lines long).
 */
import type { Program } from '../frontend/program.js';
import { numel } from '../ir/shape.js';

/** A mulberry32 generator: uniform numbers in [0, 1). `seed` is taken modulo 2^32. */
export function createRng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/**
 * Uniform values in [-1, 1] (1 itself only through f32 rounding) for every input of
 * `program`, drawn from one stream in `inputSpecs` order. Float32Array, so the values are exactly representable on the GPU's
 * f32 path (the f16 path rounds them: see roundInputsForVariant in compare.ts).
 */
export function randomInputs(program: Program, seed: number): Record<string, Float32Array> {
  const next = createRng(seed);
  const inputs: Record<string, Float32Array> = {};
  for (const spec of program.inputSpecs) {
    const values = new Float32Array(numel(spec.shape));
    for (let i = 0; i < values.length; i++) values[i] = 2 * next() - 1;
    inputs[spec.name] = values;
  }
  return inputs;
}
