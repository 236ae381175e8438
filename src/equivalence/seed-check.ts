/**
 * One seed of a verification: draw the inputs, evaluate the program and the μGraph in
 * the field, compare their outputs' p-lanes element by element. Self-contained (plain
 * data in, plain data out), so that it runs the same on the calling thread and on a
 * worker (verify-worker.ts).
 *
 * A zero denominator on the program side means this draw is one of the few where the
 * reference is undefined: the inputs are drawn again from a seed derived from this one
 * (deriveKey(seed, attempt)), at most `maxRedraws` times; the draw that was compared is
 * the seed reported.
 */
import { stridesOf } from '../ir/shape.js';
import type { KernelGraph } from '../ugraph/kernel-graph.js';
import { UnverifiableError, ZeroDenominatorError } from './errors.js';
import { LANE_P, LANE_Q, type LaneSet } from './field.js';
import { deriveKey, fillRandom, opaqueKeys } from './keyed-hash.js';
import { analyzeKernelGraph, analyzeProgram, type LaneAnalysis } from './lanes.js';
import { allocateTensor, type FieldTensor } from './op-eval.js';
import { evaluateProgram, type FieldProgram } from './program-eval.js';
import { evaluateKernelGraphInField } from './ugraph-eval.js';

/** Where the two sides first differ. */
export interface Mismatch {
  /** The program's name of the output. */
  readonly output: string;
  /** Multi-index of the element. */
  readonly index: readonly number[];
  /** The draw (seed) on which they differ. */
  readonly seed: number;
  /** The p-lane residues: the program's and the μGraph's. */
  readonly expected: number;
  readonly actual: number;
}

export type SeedOutcome =
  | { readonly kind: 'equal'; readonly seed: number }
  | { readonly kind: 'different'; readonly seed: number; readonly mismatch: Mismatch }
  | { readonly kind: 'unverifiable'; readonly seed: number; readonly reason: string };

/** Both sides' analyses, computed once per pair. */
export interface PairAnalysis {
  readonly program: LaneAnalysis;
  readonly graph: LaneAnalysis;
  /** Lanes to draw per input position (what either side needs). */
  readonly inputLanes: readonly LaneSet[];
}

export function analyzePair(program: FieldProgram, graph: KernelGraph): PairAnalysis {
  const programAnalysis = analyzeProgram(program.nodes, program.outputs.map((o) => o.node));
  const graphAnalysis = analyzeKernelGraph(graph);
  const inputLanes = program.inputs.map((_, i) => {
    const node = program.nodes.findIndex((n) => n.spec.op === 'input' && n.spec.index === i);
    return (node >= 0 ? programAnalysis.need[node]! : 0) | graphAnalysis.need[i]!;
  });
  return { program: programAnalysis, graph: graphAnalysis, inputLanes };
}

/** The inputs of one draw: lane L of input i is the stream deriveKey(seed, i, L). */
export function drawInputs(program: FieldProgram, lanes: readonly LaneSet[], seed: number): FieldTensor[] {
  return program.inputs.map((input, i) => {
    const t = allocateTensor(input.shape, lanes[i]!);
    if (t.p) fillRandom(t.p, deriveKey(seed, i, LANE_P), false);
    if (t.q) fillRandom(t.q, deriveKey(seed, i, LANE_Q), true);
    return t;
  });
}

/** Runs one seed (redrawing on zero denominators of the program). */
export function checkSeed(program: FieldProgram, graph: KernelGraph, pair: PairAnalysis, seed: number, maxRedraws: number): SeedOutcome {
  const unverifiable = pair.program.unverifiable ?? pair.graph.unverifiable;
  if (unverifiable !== undefined) return { kind: 'unverifiable', seed, reason: unverifiable };
  for (let attempt = 0; attempt <= maxRedraws; attempt++) {
    const draw = attempt === 0 ? seed : deriveKey(seed, attempt);
    const inputs = drawInputs(program, pair.inputLanes, draw);
    const keys = opaqueKeys(draw);
    let expected: FieldTensor[];
    try {
      expected = evaluateProgram(program, pair.program, inputs, { keys, checkDenominators: true });
    } catch (error) {
      if (error instanceof ZeroDenominatorError) continue;
      if (error instanceof UnverifiableError) return { kind: 'unverifiable', seed: draw, reason: error.message };
      throw error;
    }
    const actual = evaluateKernelGraphInField(graph, pair.graph, inputs, { keys, checkDenominators: false });
    const mismatch = firstMismatch(program, expected, actual, draw);
    return mismatch ? { kind: 'different', seed: draw, mismatch } : { kind: 'equal', seed: draw };
  }
  return {
    kind: 'unverifiable', seed,
    reason: `the program divided by zero in the field on ${maxRedraws + 1} draws of inputs (a denominator that is identically zero?)`,
  };
}

function firstMismatch(program: FieldProgram, expected: readonly FieldTensor[], actual: readonly FieldTensor[], seed: number): Mismatch | undefined {
  for (let o = 0; o < program.outputs.length; o++) {
    const e = expected[o]!.p!;
    const a = actual[o]!.p!;
    for (let i = 0; i < e.length; i++) {
      if (e[i] !== a[i]) {
        const shape = program.outputs[o]!.shape;
        const index = stridesOf(shape).map((stride, d) => Math.floor(i / stride) % shape[d]!);
        return { output: program.outputs[o]!.name, index, seed, expected: e[i]!, actual: a[i]! };
      }
    }
  }
  return undefined;
}
