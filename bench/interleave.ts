/**
 * `npm run bench:interleave`: compares tile choices of one hand μGraph side by side. Each
 * configuration is the fixture's full shape with some fields overridden; all are compiled
 * and loaded in this one process and called round-robin, one call each per round, so that
 * the host's drift (2x between processes on the shared lavapipe hosts) falls on all alike.
 * They share one set of input buffers, as one program in `npm run bench` reuses its own
 * (a set each would put N copies of the weights through the host's caches, unlike a bench run).
 * Prints the median kernel (else wall) time of each and its ratio to the first, with the
 * error against the float64 reference (a configuration over the tolerance is marked).
 *
 *   npm run bench:interleave -- --workload gated_mlp --batch 1 --variant f16 \
 *     '{}' '{"columnTile": 256, "inner": 256}'
 */
import { parseArgs } from 'node:util';
import { UGRAPH_FIXTURES } from '../fixtures/ugraphs/index.js';
import { compileKernelGraph } from '../src/codegen/ugraph/index.js';
import { createNodeDevice } from '../src/gpu/node-device.js';
import { compareToReference } from '../src/reference/compare.js';
import { loadCompiled } from '../src/runtime/index.js';
import type { Variant } from '../src/runtime/types.js';
import { parseVariant } from './cli-options.js';
import { type EncodableProgram, ProgramRunner } from './gpu-runner.js';
import { benchWaitingPriority, lowerWaitingThread, median } from './measure.js';
import { referenceFor } from './reference.js';
import { loadWorkload, parseWorkloadName, type Shapes } from './workloads.js';

export const INTERLEAVE_USAGE = `usage: npm run bench:interleave -- --workload <name> [--batch 1] [--variant f16] [--reps 10] [--small] <override>...
  each <override> is a JSON object of fields of the fixture's shape (e.g. '{"inner": 256}', '{"streamOperands": false}'); '{}' is the fixture as it is`;

export interface InterleaveOptions {
  readonly workload: string;
  readonly batch: number;
  readonly variant: Variant;
  readonly reps: number;
  /** The small twin's shape instead of the full one (tests). */
  readonly shapes: Shapes;
  readonly overrides: readonly Readonly<ShapeOverride>[];
}

export interface InterleaveResult {
  readonly override: Readonly<ShapeOverride>;
  /** Median kernel time (GPU timestamps), else wall time. */
  readonly medianMs: number;
  /** Median wall time: upload of the per-call inputs, dispatch, read-back. */
  readonly wallMs: number;
  /** medianMs over the first configuration's. */
  readonly ratio: number;
  readonly relErr: number;
  readonly pass: boolean;
}

/** Fields of a fixture's shape to replace: numbers (tile sizes) and switches. */
export type ShapeOverride = Record<string, number | boolean>;

/** `base` with the fields of `override`, each of which must be a numeric or boolean field of `base`, given a value of its type. */
export function applyOverride(base: object, override: unknown, where: string): object {
  if (typeof override !== 'object' || override === null || Array.isArray(override)) throw new Error(`${where}: an override is a JSON object, got ${JSON.stringify(override)}`);
  const fields = base as Record<string, unknown>;
  for (const [key, value] of Object.entries(override)) {
    const type = typeof fields[key];
    if (type !== 'number' && type !== 'boolean') throw new Error(`${where}: no numeric or boolean field "${key}" (fields: ${Object.keys(fields).join(', ')})`);
    if (type === 'number' && (typeof value !== 'number' || !Number.isFinite(value))) throw new Error(`${where}: "${key}" must be a number, got ${JSON.stringify(value)}`);
    if (type === 'boolean' && typeof value !== 'boolean') throw new Error(`${where}: "${key}" must be true or false, got ${JSON.stringify(value)}`);
  }
  return { ...base, ...override };
}

export async function interleave(options: InterleaveOptions): Promise<InterleaveResult[]> {
  const name = parseWorkloadName(options.workload);
  const fixture = UGRAPH_FIXTURES.find((f) => f.benchmark === name)!;
  const batch = options.shapes === 'small' ? 1 : options.batch;
  const workload = await loadWorkload(name, batch, options.shapes);
  const expected = referenceFor(workload).outputs[workload.program.outputs[0]!.name]!;
  const base = options.shapes === 'small' ? fixture.smallShape : fixture.fullShape(batch);
  const gpu = await createNodeDevice();
  const programs: EncodableProgram[] = [];
  // One runner (one buffer set) encodes whichever configuration is current.
  let current = 0;
  const switched: EncodableProgram = {
    encode: (encoder, inputs, outputs) => programs[current]!.encode(encoder, inputs, outputs),
    destroy: () => programs.forEach((p) => p.destroy()),
  };
  let runner: ProgramRunner;
  try {
    runner = new ProgramRunner(gpu.device, workload, options.variant, switched);
  } catch (error) {
    gpu.destroy();
    throw error;
  }
  try {
    for (const [i, override] of options.overrides.entries()) {
      const shape = applyOverride(base, override, `bench:interleave: configuration ${i + 1}`);
      const handCase = fixture.build(`${name}_interleave${i}`, shape);
      programs.push(await loadCompiled(compileKernelGraph(handCase.graph, handCase.name), gpu.device, { variant: options.variant }));
    }
    // Warm-up (pipeline compilation), and each configuration's output against the reference.
    const comparisons: ReturnType<typeof compareToReference>[] = [];
    for (current = 0; current < programs.length; current++) {
      await runner.runOnce();
      comparisons.push(compareToReference(runner.output(), expected, options.variant));
    }
    lowerWaitingThread(benchWaitingPriority());
    const times = programs.map((): number[] => []);
    const walls = programs.map((): number[] => []);
    for (let round = 0; round < options.reps; round++) {
      for (current = 0; current < programs.length; current++) {
        const t = await runner.runOnce();
        times[current]!.push(t.kernelMs ?? t.wallMs);
        walls[current]!.push(t.wallMs);
      }
    }
    const first = median(times[0]!);
    return comparisons.map((comparison, i) => {
      const medianMs = median(times[i]!);
      return { override: options.overrides[i]!, medianMs, wallMs: median(walls[i]!), ratio: medianMs / first, relErr: comparison.relL2Error, pass: comparison.pass };
    });
  } finally {
    runner.destroy();
    gpu.destroy();
  }
}

export function parseInterleaveCli(argv: readonly string[]): InterleaveOptions | 'help' {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      workload: { type: 'string' },
      batch: { type: 'string', default: '1' },
      variant: { type: 'string', default: 'f16' },
      reps: { type: 'string', default: '10' },
      small: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return 'help';
  if (values.workload === undefined) throw new Error(`bench:interleave: --workload is required\n${INTERLEAVE_USAGE}`);
  const batch = Number(values.batch);
  const reps = Number(values.reps);
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`bench:interleave: --batch needs a positive integer, got "${values.batch}"`);
  if (!Number.isInteger(reps) || reps < 1) throw new Error(`bench:interleave: --reps needs a positive integer, got "${values.reps}"`);
  if (positionals.length < 2) throw new Error(`bench:interleave: give at least two configurations to compare\n${INTERLEAVE_USAGE}`);
  const overrides = positionals.map((text, i) => {
    try {
      return JSON.parse(text) as ShapeOverride;
    } catch {
      throw new Error(`bench:interleave: configuration ${i + 1} is not JSON: ${text}`);
    }
  });
  return { workload: values.workload, batch, variant: parseVariant(values.variant), reps, shapes: values.small ? 'small' : 'full', overrides };
}
