/**
 * Screening: a cheap first test of many candidate μGraphs for one program, during a
 * search. The program side is evaluated once per screener, at full shape but only where
 * the sampled output elements need it (program-demand.ts); each candidate is then
 * evaluated only where those elements need it (demand.ts: the workgroups that save them,
 * the workgroups and input elements those read), and compared there.
 *
 * Why this is sound as a screen (docs/equivalence.md §5): the sampled elements are
 * computed exactly as a full evaluation computes them, so a candidate equivalent to the
 * program always passes (no valid candidate is ever screened out), and 'different' is as
 * certain as verify's. A pass proves little (a candidate wrong only in unsampled tiles
 * passes), so a passing candidate must still go through verify() at its full shape, with
 * every element compared and two seeds, before it is chosen or enters the lock.
 */
import type { Program } from '../frontend/program.js';
import { numel } from '../ir/shape.js';
import type { KernelGraph } from '../ugraph/kernel-graph.js';
import { type Demand, forEachDemanded, forEachDemandedRun, planDemand } from './demand.js';
import { ZeroDenominatorError } from './errors.js';
import { LANE_P, LANE_Q } from './field.js';
import { deriveKey, fillRandom, mix32, opaqueKeys } from './keyed-hash.js';
import { analyzeProgram, type LaneAnalysis } from './lanes.js';
import { allocateTensor } from './op-eval.js';
import { evaluateProgramAt, type SampledOutput, sampledValue } from './program-demand.js';
import { type FieldProgram, fieldProgramOf } from './program-eval.js';
import { analyzePair, type Mismatch } from './seed-check.js';
import { evaluateKernelGraphInField } from './ugraph-eval.js';
import { interfaceProblem } from './verify.js';

export interface ScreenOptions {
  /** The seed of the draw (one seed: screening is a filter). @default 1 */
  readonly seed?: number;
  /** Indices sampled per output dimension; the sampled elements are their product. @default 2 */
  readonly samplesPerDim?: number;
  /** Fresh draws when the program meets a zero denominator. @default 8 */
  readonly maxRedraws?: number;
}

export interface ScreenResult {
  /** 'pass': agreed on every sampled element (verify() must still decide). */
  readonly verdict: 'pass' | 'different' | 'unverifiable';
  readonly seed: number;
  /** Wall time of this call (the first call includes the program side). */
  readonly ms: number;
  /** How many output elements were compared. */
  readonly compared: number;
  readonly firstMismatch?: Mismatch;
  readonly reason?: string;
}

interface ProgramSide {
  readonly seed: number;
  /** The program's outputs on the sampled elements' product sets. */
  readonly outputs: readonly SampledOutput[];
}

export class Screener {
  readonly program: FieldProgram;
  private readonly analysis: LaneAnalysis;
  private side: ProgramSide | string | undefined;
  private readonly samples: readonly Demand[];

  constructor(program: Program, private readonly options: ScreenOptions = {}) {
    this.program = fieldProgramOf(program);
    this.analysis = analyzeProgram(this.program.nodes, this.program.outputs.map((o) => o.node));
    const seed = options.seed ?? 1;
    const perDim = options.samplesPerDim ?? 2;
    this.samples = this.program.outputs.map((o, i) => o.shape.map((size, d) => {
      const picks = new Set<number>();
      for (let j = 0; picks.size < Math.min(perDim, size); j++) picks.add(mix32(deriveKey(seed, 0x5a3, i, d, j)) % size);
      return picks;
    }));
  }

  /** Screens one candidate against the program (see the header for what a pass means). */
  screen(graph: KernelGraph): ScreenResult {
    const start = performance.now();
    const done = (result: Omit<ScreenResult, 'ms'>): ScreenResult => Object.freeze({ ...result, ms: performance.now() - start });
    const seed = this.options.seed ?? 1;
    const mismatch = interfaceProblem(this.program, graph);
    if (mismatch) return done({ verdict: 'different', seed, compared: 0, reason: mismatch });
    const pair = analyzePair(this.program, graph);
    const unverifiable = pair.program.unverifiable ?? pair.graph.unverifiable;
    if (unverifiable) return done({ verdict: 'unverifiable', seed, compared: 0, reason: unverifiable });
    const side = this.programSide();
    if (typeof side === 'string') return done({ verdict: 'unverifiable', seed, compared: 0, reason: side });
    const plan = planDemand(graph, this.samples);
    const inputs = this.program.inputs.map((input, i) => {
      const t = allocateTensor(input.shape, pair.graph.need[i]!);
      const demanded = plan.tensors[i];
      if (demanded === undefined) return t;
      const [pKey, qKey] = [deriveKey(side.seed, i, LANE_P), deriveKey(side.seed, i, LANE_Q)];
      // The streams are counter-based: a run drawn on its own equals that run of a full draw.
      forEachDemandedRun(input.shape, demanded, (from, length) => {
        if (t.p) fillRandom(t.p.subarray(from, from + length), pKey, false, from);
        if (t.q) fillRandom(t.q.subarray(from, from + length), qKey, true, from);
      });
      return t;
    });
    const actual = evaluateKernelGraphInField(graph, pair.graph, inputs, { keys: opaqueKeys(side.seed), checkDenominators: false }, plan.workgroups);
    let compared = 0;
    for (let o = 0; o < this.program.outputs.length; o++) {
      const output = this.program.outputs[o]!;
      let first: Mismatch | undefined;
      forEachDemanded(output.shape, this.samples[o]!, (flat) => {
        compared++;
        const index = output.shape.map((_, d) => Math.floor(flat / numel(output.shape.slice(d + 1))) % output.shape[d]!);
        const [e, a] = [sampledValue(side.outputs[o]!, index), actual[o]!.p![flat]!];
        if (first === undefined && e !== a) first = { output: output.name, index, seed: side.seed, expected: e, actual: a };
      });
      if (first) return done({ verdict: 'different', seed: side.seed, compared, firstMismatch: first });
    }
    return done({ verdict: 'pass', seed: side.seed, compared });
  }

  /** The program's outputs on this screener's draw, computed on first use. */
  private programSide(): ProgramSide | string {
    if (this.side !== undefined) return this.side;
    const seed = this.options.seed ?? 1;
    const redraws = this.options.maxRedraws ?? 8;
    for (let attempt = 0; attempt <= redraws; attempt++) {
      const draw = attempt === 0 ? seed : deriveKey(seed, attempt);
      try {
        // Only what the sampled elements depend on (program-demand.ts).
        const outputs = evaluateProgramAt(this.program, this.analysis, this.samples, draw, { keys: opaqueKeys(draw), checkDenominators: true });
        this.side = { seed: draw, outputs };
        return this.side;
      } catch (error) {
        if (!(error instanceof ZeroDenominatorError)) throw error;
      }
    }
    this.side = `the program divided by zero in the field on ${redraws + 1} draws of inputs`;
    return this.side;
  }
}
