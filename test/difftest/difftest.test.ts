/**
 * Differential testing (issue 20, item 6; docs/testing.md): random well-formed programs
 * (random-program.ts) are searched (`superoptimize`, as the build runs it), compiled and run on this file's
 * WebGPU device in every variant the device supports, and each output is compared with
 * the float64 reference at the project's tolerances (src/reference/compare.ts). As a second,
 * independent check, the finite-field verifier must call every chosen μGraph 'equivalent'
 * ('unverifiable' is accepted only for programs with an exp of an exp, and counted).
 *
 * Seeds: 1..200 by default; DIFFTEST_SEEDS ("7", "1,5,9", "100-299"), or DIFFTEST_START and
 * DIFFTEST_COUNT, choose others; DIFFTEST_VERBOSE=1 prints a line per program (with the time of
 * each phase); DIFFTEST_TIMEOUT_MS is the limit per batch of programs. Every failure
 * prints its seed, the program and the command that replays it alone
 * (`npm run difftest -- --seed <seed>`, scripts/difftest.mjs).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { compile } from '../../src/compile.js';
import type { Program } from '../../src/frontend/program.js';
import { verify, type Verdict } from '../../src/equivalence/index.js';
import { compareOutputs } from '../../src/reference/check-program.js';
import { compareToReference, roundInputsForVariant } from '../../src/reference/compare.js';
import { evaluateReference } from '../../src/reference/interpreter.js';
import { randomInputs } from '../../src/reference/random.js';
import { loadCompiled } from '../../src/runtime/loader.js';
import type { Variant } from '../../src/runtime/types.js';
import { evaluateKernelGraph } from '../../src/ugraph/interpreter.js';
import type { KernelGraph } from '../../src/ugraph/kernel-graph.js';
import { type SearchLimits, type SearchResult, superoptimize } from '../../src/search/superoptimize.js';
import { useGpu } from '../helpers/gpu.js';
import { hasNestedExp, operatorCount, randomProgram } from './random-program.js';

/** Where a program's μGraph came from: the search's verified pick, or its per-operator fallback. */
type UGraphSource = SearchResult['source'];

/**
 * The search's limits here: bounded by work, not time, so a seed replays to the same μGraph on
 * any machine; small enough that 200 programs stay within CI's budget (the build's defaults
 * search longer, docs/search.md §6).
 */
const DIFFTEST_SEARCH: Partial<SearchLimits> = { maxExplored: 20_000, timeMs: Number.POSITIVE_INFINITY, saturation: { timeLimitMs: Number.POSITIVE_INFINITY } };

/** The μGraph under test for `program`: what the search (as a build runs it) picks. */
async function chooseUGraph(program: Program): Promise<{ readonly ugraph: KernelGraph; readonly source: UGraphSource }> {
  const { ugraph, source } = await superoptimize(program, { limits: DIFFTEST_SEARCH });
  return { ugraph, source };
}

const DEFAULT_START = 1;
const DEFAULT_COUNT = 200;
/** Programs per vitest test: one device for the file, few tests, each well inside the test timeout. */
const BATCH = 25;

const seeds = seedsFromEnv(process.env);
const verbose = process.env.DIFFTEST_VERBOSE === '1';
/** Per batch of 25: about 1-2 s on lavapipe with 2 cores; generous for loaded CI machines (scripts/difftest.mjs raises it). */
const batchTimeout = Number(process.env.DIFFTEST_TIMEOUT_MS ?? 120_000);
const gpu = useGpu();

interface VariantRun {
  readonly variant: Variant;
  /** Worst relative L2 error over the outputs, as a fraction of the tolerance (pass <= 1). */
  readonly errorRatio: number;
}

interface Outcome {
  readonly seed: number;
  readonly program: Program;
  readonly source?: UGraphSource;
  readonly verdict?: Verdict;
  readonly runs: readonly VariantRun[];
  readonly problems: readonly string[];
  readonly ms: number;
  /** Milliseconds per phase: choose (the μGraph), compile, reference, gpu (load and run, every variant), verify. */
  readonly phases: Readonly<Record<string, number>>;
}

const outcomes: Outcome[] = [];
const started = performance.now();

describe(`differential testing: ${seeds.length} random programs against the float64 reference`, () => {
  for (let i = 0; i < seeds.length; i += BATCH) {
    const batch = seeds.slice(i, i + BATCH);
    const label = batch.length === 1 ? `seed ${batch[0]}` : `seeds ${describeSeeds(batch)}`;
    it(label, async () => {
      const failures: string[] = [];
      for (const seed of batch) {
        const outcome = await runSeed(seed);
        outcomes.push(outcome);
        if (verbose) console.log(summaryLine(outcome));
        // A replay of a few seeds shows the programs too (a failure always does).
        if (verbose && seeds.length <= 5 && outcome.problems.length === 0) console.log(outcome.program.pretty());
        if (outcome.problems.length > 0) failures.push(failureReport(outcome));
      }
      expect(failures.length, failures.join('\n\n')).toBe(0);
    }, batchTimeout);
  }
});

afterAll(() => {
  if (outcomes.length > 0) console.log(finalSummary(outcomes, (performance.now() - started) / 1000));
});

/** Generates, chooses, compiles, runs and verifies one program; never throws (problems are collected). */
async function runSeed(seed: number): Promise<Outcome> {
  const start = performance.now();
  const problems: string[] = [];
  const runs: VariantRun[] = [];
  const phases: Record<string, number> = {};
  let mark = performance.now();
  const phase = (name: string) => {
    const now = performance.now();
    phases[name] = (phases[name] ?? 0) + now - mark;
    mark = now;
  };
  let program: Program;
  try {
    program = randomProgram(seed);
  } catch (error) {
    // A generator bug: report it with the seed like any other failure.
    const stub = { name: `difftest_${seed}`, pretty: () => '(the generator threw)' } as unknown as Program;
    return { seed, program: stub, runs, problems: [`randomProgram threw: ${messageOf(error)}`], ms: performance.now() - start, phases };
  }
  let source: UGraphSource | undefined;
  let verdict: Verdict | undefined;
  try {
    const chosen = await chooseUGraph(program);
    source = chosen.source;
    phase('choose');
    const { compiled } = compile(program, { ugraph: chosen.ugraph });
    phase('compile');
    // f16-declared inputs drawn as f16 values: every variant and the reference see identical numbers (as checkProgram does).
    const inputs = Object.fromEntries(Object.entries(roundInputsForVariant(randomInputs(program, seed), program, 'f16'))
      .map(([name, values]) => [name, Float32Array.from(values)]));
    const expected = evaluateReference(program, inputs);
    phase('reference');
    const device = gpu().device;
    const variants = compiled.variants.filter((v) => v === 'f32' || device.features.has('shader-f16'));
    for (const variant of variants) {
      device.pushErrorScope('validation');
      let actual: Record<string, Float32Array>;
      const loaded = await loadCompiled(compiled, device, { variant });
      try {
        actual = await loaded.run(inputs);
      } finally {
        loaded.destroy();
      }
      const gpuError = await device.popErrorScope();
      if (gpuError) problems.push(`${variant}: WebGPU validation error: ${gpuError.message}`);
      let worst = 0;
      for (const { output, comparison } of compareOutputs(program, actual, expected, variant)) {
        worst = Math.max(worst, comparison.relL2Error / comparison.tolerance, comparison.nanMismatch > 0 ? Infinity : 0);
        if (!comparison.pass) {
          // Where the error comes from: the μGraph itself (its interpreter disagrees too) or the WGSL.
          const interpreted = evaluateKernelGraph(chosen.ugraph, inputs)[output]!;
          const ugraphOk = compareToReference(interpreted, expected[output]!, 'f32').pass;
          problems.push(`${variant} ${output}: relative L2 error ${comparison.relL2Error.toExponential(2)} > ${comparison.tolerance}`
            + ` (max abs ${comparison.maxAbsError.toExponential(2)}, NaN/Inf mismatches ${comparison.nanMismatch}, f16 overflow ${comparison.f16Overflow});`
            + ` the μGraph interpreter ${ugraphOk ? 'matches the reference: the generated WGSL is wrong' : 'disagrees too: the μGraph is wrong'}`);
        }
      }
      runs.push({ variant, errorRatio: worst });
    }
    phase('gpu');
    const verified = await verify(program, chosen.ugraph, { workers: false });
    verdict = verified.verdict;
    phase('verify');
    if (verdict === 'different') {
      problems.push(`the verifier says 'different': ${verified.reason ?? JSON.stringify(verified.firstMismatch)}`);
    } else if (verdict === 'unverifiable' && !hasNestedExp(program)) {
      problems.push(`the verifier says 'unverifiable' for a program without an exp of an exp: ${verified.reason ?? ''}`);
    }
  } catch (error) {
    problems.push(`threw: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
  }
  return { seed, program, ...(source ? { source } : {}), ...(verdict ? { verdict } : {}), runs, problems, ms: performance.now() - start, phases };
}

function summaryLine(o: Outcome): string {
  const dtype = o.program.inputs?.[0]?.dtype ?? '?';
  const ops = o.program.nodes ? operatorCount(o.program) : 0;
  const errors = o.runs.map((r) => `${r.variant} ${r.errorRatio.toFixed(3)}`).join(', ');
  return `difftest seed ${o.seed}: ${dtype}, ${ops} ops, ${o.program.outputs?.length ?? 0} outputs, μGraph ${o.source ?? '-'},`
    + ` verifier ${o.verdict ?? '-'}, error/tolerance ${errors || '-'}, ${o.ms.toFixed(0)} ms (${Object.entries(o.phases).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')})${o.problems.length > 0 ? ' FAIL' : ''}`;
}

function failureReport(o: Outcome): string {
  return [
    `difftest FAILURE, seed ${o.seed} (replay: npm run difftest -- --seed ${o.seed})`,
    ...o.problems.map((p) => `  - ${p}`),
    o.program.pretty().replace(/^/gm, '    '),
  ].join('\n');
}

function finalSummary(all: readonly Outcome[], seconds: number): string {
  const count = <T>(items: readonly T[], key: (item: T) => string | undefined) => {
    const counts = new Map<string, number>();
    for (const item of items) {
      const k = key(item);
      if (k !== undefined) counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    return [...counts].map(([k, n]) => `${n} ${k}`).join(', ') || 'none';
  };
  const failed = all.filter((o) => o.problems.length > 0);
  const ops = all.filter((o) => o.program.nodes).map((o) => operatorCount(o.program));
  const runs = all.flatMap((o) => o.runs);
  const worst = [...all].filter((o) => o.runs.length > 0)
    .sort((a, b) => Math.max(...b.runs.map((r) => r.errorRatio)) - Math.max(...a.runs.map((r) => r.errorRatio))).slice(0, 3);
  const nested = all.filter((o) => o.verdict === 'unverifiable').map((o) => o.seed);
  return [
    `difftest: ${all.length} programs (seeds ${describeSeeds(all.map((o) => o.seed))}) in ${seconds.toFixed(1)} s, ${failed.length} failed${failed.length > 0 ? ` (seeds ${failed.map((o) => o.seed).join(', ')})` : ''}`,
    `  μGraph: ${count(all, (o) => o.source)}`,
    `  verifier: ${count(all, (o) => o.verdict)}${nested.length > 0 ? ` (unverifiable, exp of exp: seeds ${nested.join(', ')})` : ''}`,
    `  programs: ${count(all, (o) => o.program.inputs?.[0]?.dtype)}; ${Math.min(...ops)}-${Math.max(...ops)} operators (mean ${(ops.reduce((s, n) => s + n, 0) / Math.max(1, ops.length)).toFixed(1)}); GPU runs: ${count(runs, (r) => r.variant)}`,
    `  largest error/tolerance: ${worst.map((o) => `seed ${o.seed} ${Math.max(...o.runs.map((r) => r.errorRatio)).toFixed(3)}`).join(', ')}`,
    ...(failed.length > 0 ? [`  replay one: npm run difftest -- --seed ${failed[0]!.seed}`] : []),
  ].join('\n');
}

function describeSeeds(list: readonly number[]): string {
  const contiguous = list.every((s, i) => i === 0 || s === list[i - 1]! + 1);
  return contiguous && list.length > 2 ? `${list[0]}..${list.at(-1)}` : list.join(', ');
}

/** DIFFTEST_SEEDS ("7", "1,5,9", "100-299", or a mix), else DIFFTEST_START and DIFFTEST_COUNT, else 1..200. */
function seedsFromEnv(env: NodeJS.ProcessEnv): number[] {
  const parseInteger = (text: string, what: string): number => {
    const n = Number(text.trim());
    if (!Number.isSafeInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`difftest: ${what} must be an integer in [0, 2^32), got "${text}"`);
    return n;
  };
  if (env.DIFFTEST_SEEDS) {
    return env.DIFFTEST_SEEDS.split(',').filter((part) => part.trim() !== '').flatMap((part) => {
      const range = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(part);
      if (!range) return [parseInteger(part, 'DIFFTEST_SEEDS')];
      const [lo, hi] = [parseInteger(range[1]!, 'DIFFTEST_SEEDS'), parseInteger(range[2]!, 'DIFFTEST_SEEDS')];
      return Array.from({ length: Math.max(0, hi - lo + 1) }, (_, i) => lo + i);
    });
  }
  const start = env.DIFFTEST_START ? parseInteger(env.DIFFTEST_START, 'DIFFTEST_START') : DEFAULT_START;
  const count = env.DIFFTEST_COUNT ? parseInteger(env.DIFFTEST_COUNT, 'DIFFTEST_COUNT') : DEFAULT_COUNT;
  return Array.from({ length: count }, (_, i) => start + i);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
