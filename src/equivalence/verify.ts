/**
 * verify(program, μGraph): is the μGraph the same function as the tensor program?
 * Probabilistic, over the finite field of field.ts (docs/equivalence.md):
 *   - 'equivalent': both sides agreed on every output element for every seed; the
 *     chance that they are in fact different functions is at most `falseAcceptBound`;
 *   - 'different': some element differs on some seed (`firstMismatch`), or the
 *     interfaces differ; certain for functions within the field model (an identity that
 *     needs more than field laws, exp's homomorphism and opaque max/silu/gelu/relu, such
 *     as max(a, b) >= a, is not known to the field and its use is reported different);
 *   - 'unverifiable': the pair cannot be evaluated soundly (an exp of an exp), or every
 *     draw divided by zero: never accepted.
 * Inputs are matched by position (as the lock and the structural hashes do), not by name.
 * Seeds run on worker threads when the work is large (verify-pool.ts), else here.
 */
import type { Program } from '../frontend/program.js';
import { formatShape, numel } from '../ir/shape.js';
import { hashString } from '../ir/hash.js';
import type { KernelGraph } from '../ugraph/kernel-graph.js';
import { P, Q } from './field.js';
import { deriveKey } from './keyed-hash.js';
import { fieldProgramOf, type FieldProgram } from './program-eval.js';
import { analyzePair, checkSeed, type Mismatch, type PairAnalysis, type SeedOutcome } from './seed-check.js';
import { runSeedsOnWorkers } from './verify-pool.js';

export type Verdict = 'equivalent' | 'different' | 'unverifiable';
export type { Mismatch } from './seed-check.js';

export interface VerifyOptions {
  /**
   * Independent seeds (32-bit integers), or how many to use. @default 2, derived from
   * the pair's structural hashes so that the same pair gets the same seeds every run.
   */
  readonly seeds?: number | readonly number[];
  /**
   * Run the seeds on worker threads, one per seed: true, false, or 'auto' (when the
   * pair needs more than WORKER_THRESHOLD multiply-adds per seed). @default 'auto'
   */
  readonly workers?: boolean | 'auto';
  /** Fresh draws per seed when the program meets a zero denominator. @default 8 */
  readonly maxRedraws?: number;
}

export interface VerifyResult {
  readonly verdict: Verdict;
  /** The draws compared, one per seed (a seed redrawn after a zero denominator reports the draw used). */
  readonly seeds: readonly number[];
  /**
   * For 'equivalent': an upper bound on the probability that the two differ all the same
   * (docs/equivalence.md says what it assumes). 0 for the other verdicts, which never accept.
   */
  readonly falseAcceptBound: number;
  /** Wall time of the call. */
  readonly ms: number;
  readonly firstMismatch?: Mismatch;
  /** Why 'different' without a mismatch (interfaces), or why 'unverifiable'. */
  readonly reason?: string;
}

/** Below this many multiply-adds per seed, worker start-up costs more than it saves (measured: docs/equivalence.md). */
export const WORKER_THRESHOLD = 2e8;

const DEFAULT_SEEDS = 2;
const DEFAULT_REDRAWS = 8;

export async function verify(program: Program, graph: KernelGraph, options: VerifyOptions = {}): Promise<VerifyResult> {
  const start = performance.now();
  const done = (result: Omit<VerifyResult, 'ms'>): VerifyResult => Object.freeze({ ...result, ms: performance.now() - start });
  const fieldProgram = fieldProgramOf(program);
  const seeds = seedList(options.seeds, program, graph);
  const mismatch = interfaceProblem(fieldProgram, graph);
  if (mismatch) return done({ verdict: 'different', seeds: [], falseAcceptBound: 0, reason: mismatch });
  const pair = analyzePair(fieldProgram, graph);
  const unverifiable = pair.program.unverifiable ?? pair.graph.unverifiable;
  if (unverifiable) return done({ verdict: 'unverifiable', seeds: [], falseAcceptBound: 0, reason: unverifiable });
  const redraws = options.maxRedraws ?? DEFAULT_REDRAWS;
  const useWorkers = options.workers === 'auto' || options.workers === undefined
    ? seeds.length > 1 && work(fieldProgram, graph) > WORKER_THRESHOLD
    : options.workers;
  const outcomes: SeedOutcome[] = [];
  if (useWorkers) {
    outcomes.push(...await runSeedsOnWorkers(fieldProgram, graph, seeds, redraws));
  } else {
    for (const seed of seeds) {
      const outcome = checkSeed(fieldProgram, graph, pair, seed, redraws);
      outcomes.push(outcome);
      if (outcome.kind !== 'equal') break; // one disagreement decides
    }
  }
  return done(combine(outcomes, pair, fieldProgram));
}

/** The verdict of a set of seed outcomes: any difference or unverifiability decides. */
export function combine(outcomes: readonly SeedOutcome[], pair: PairAnalysis, program: FieldProgram): Omit<VerifyResult, 'ms'> {
  const seeds = outcomes.map((o) => o.seed);
  const different = outcomes.find((o) => o.kind === 'different');
  if (different?.kind === 'different') return { verdict: 'different', seeds, falseAcceptBound: 0, firstMismatch: different.mismatch };
  const unverifiable = outcomes.find((o) => o.kind === 'unverifiable');
  if (unverifiable?.kind === 'unverifiable') return { verdict: 'unverifiable', seeds, falseAcceptBound: 0, reason: unverifiable.reason };
  return { verdict: 'equivalent', seeds, falseAcceptBound: falseAcceptBound(pair, program, outcomes.length) };
}

/**
 * Per seed: D/p + (2H + 2E)/q, divided by the chance that a draw has no zero denominator
 * on the program side (the draws compared are conditioned on that), and the seeds are
 * independent: D is the largest degree of an output's difference (program's plus
 * μGraph's), H of an opaque function's argument, E of an exp's argument.
 */
export function falseAcceptBound(pair: PairAnalysis, program: FieldProgram, seeds: number): number {
  const d = Math.max(0, ...pair.program.outputDegrees.map((deg, i) => deg + pair.graph.outputDegrees[i]!));
  const h = Math.max(pair.program.opaqueDegree, pair.graph.opaqueDegree);
  const e = Math.max(pair.program.expDegree, pair.graph.expDegree);
  let zero = 0;
  program.nodes.forEach((node) => {
    const divisor = node.spec.op === 'binary' && node.spec.fn === 'div' ? node.inputs[1]
      : node.spec.op === 'unary' && node.spec.fn === 'rsqrt' ? node.inputs[0] : undefined;
    if (divisor !== undefined) zero += numel(program.nodes[divisor]!.shape) * Math.max(1, pair.program.degrees[divisor]!) / P;
  });
  // Opaque arguments over q, not p: max may hash q-lanes.
  const perSeed = Math.min(1, (d / P + (2 * h + 2 * e) / Q) / Math.max(1e-9, 1 - Math.min(zero, 1)));
  return perSeed ** seeds;
}

function seedList(seeds: VerifyOptions['seeds'], program: Program, graph: KernelGraph): readonly number[] {
  if (Array.isArray(seeds)) {
    if (seeds.length === 0 || seeds.some((s) => !Number.isInteger(s))) throw new RangeError('verify: seeds must be a non-empty list of integers');
    return seeds.map((s) => s >>> 0);
  }
  const count = (seeds as number | undefined) ?? DEFAULT_SEEDS;
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`verify: seeds must be a positive integer, got ${String(count)}`);
  const base = parseInt(hashString(`${program.hash}:${graph.hash}`).slice(0, 8), 16);
  return Array.from({ length: count }, (_, i) => deriveKey(base, i));
}

/** Why the two cannot compute the same function whatever their bodies: inputs and outputs by position. */
export function interfaceProblem(program: FieldProgram, graph: KernelGraph): string | undefined {
  const sides = [
    ['input', program.inputs, graph.inputs],
    ['output', program.outputs, graph.outputs.map((o) => ({ name: o.name, shape: graph.tensors[o.tensor]!.shape, dtype: graph.tensors[o.tensor]!.dtype }))],
  ] as const;
  for (const [what, mine, theirs] of sides) {
    if (mine.length !== theirs.length) return `the program has ${mine.length} ${what}s, the μGraph ${theirs.length}`;
    for (let i = 0; i < mine.length; i++) {
      const [a, b] = [mine[i]!, theirs[i]!];
      if (formatShape(a.shape) !== formatShape(b.shape) || a.dtype !== b.dtype) {
        return `${what} ${i} ("${a.name}") is ${a.dtype}${formatShape(a.shape)} in the program but ${b.dtype}${formatShape(b.shape)} ("${b.name}") in the μGraph`;
      }
    }
  }
  return undefined;
}

/** Cost of a random input element, in multiply-adds (measured: ~8 ns against ~0.15 ns). */
const DRAW_COST = 50;

/** Multiply-adds of both sides' matmuls per seed, plus the input draws, the dominant costs. */
export function work(program: FieldProgram, graph: KernelGraph): number {
  let total = program.inputs.reduce((sum, input) => sum + numel(input.shape) * DRAW_COST, 0);
  for (const node of program.nodes) if (node.spec.op === 'matmul') total += numel(node.shape) * program.nodes[node.inputs[0]!]!.shape.at(-1)!;
  graph.nodes.forEach((node, index) => {
    if (node.op === 'matmul') total += numel(graph.tensors[graph.nodeOutputs[index]![0]!]!.shape) * graph.tensors[node.inputs[0]!]!.shape.at(-1)!;
    if (node.op !== 'custom') return;
    const block = node.block;
    const steps = block.grid[0] * block.grid[1] * block.grid[2] * block.forloopRange;
    for (const t of block.tensors) if (t.op?.op === 'matmul') total += steps * numel(t.shape) * block.tensors[t.op.inputs[0]!]!.shape.at(-1)!;
  });
  return total;
}
