/**
 * `npm run demo`: builds the playground through the mugraph plugin (hitting the committed
 * lock, playground/mugraph.lock, or compiling what it lacks unless frozen), then runs the
 * kernels that build produced on this machine's WebGPU adapter beside the per-operator
 * lowering and the hand-written μGraphs, and prints the comparison table (table.ts).
 *
 *   npm run demo -- [--small] [--variants f16,f32] [--frozen] [--playground-out <dir>]
 *
 * Exit codes: 0 every row passed (or is N/A: no hand-written μGraph at these shapes, or a
 * variant the adapter lacks); 1 some row failed its tolerance or did not run; 2 a build
 * failed or the command line is wrong.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import type { ProgramEvent } from '../../src/build/options.js';
import { createNodeDevice } from '../../src/gpu/node-device.js';
import { TOLERANCE } from '../../src/reference/compare.js';
import type { Variant } from '../../src/runtime/types.js';
import { BENCHMARKS, exportNameOf, type ShapeSet } from '../src/benchmark-list.js';
import { TIME_BUDGET_MS, TIMED_RUNS } from '../src/measure.js';
import { buildKernels, buildPlayground, type KernelBuild, PLAYGROUND, playgroundOptions, REPO_ROOT, WARM_COMMAND } from './build.js';
import { type DemoRow, runBenchmark } from './run.js';
import { formatTable } from './table.js';

export interface DemoReport {
  readonly exitCode: 0 | 1 | 2;
  readonly rows: readonly DemoRow[];
  /** The kernel build's plugin events, one per program of the tensor modules it built. */
  readonly events: readonly ProgramEvent[];
}

interface DemoArgs {
  readonly shapes: ShapeSet;
  readonly variants: readonly Variant[];
  readonly frozen: boolean;
  readonly playgroundOut: string;
}

const DEFAULT_PLAYGROUND_OUT = join(PLAYGROUND, 'dist');
const USAGE = 'usage: npm run demo -- [--small] [--variants f16,f32] [--frozen] [--playground-out <dir>]';

export async function runDemo(argv: readonly string[], log: (line: string) => void): Promise<DemoReport> {
  const start = performance.now();
  let args: DemoArgs;
  try {
    if (argv.includes('--help') || argv.includes('-h')) {
      log(USAGE);
      return { exitCode: 0, rows: [], events: [] };
    }
    args = parseDemoArgs(argv);
  } catch (error) {
    log(`demo: ${(error as Error).message}\n${USAGE}`);
    return { exitCode: 2, rows: [], events: [] };
  }
  const shown = (path: string) => (relative(REPO_ROOT, path).startsWith('..') ? path : relative(REPO_ROOT, path) || '.');
  const options = await playgroundOptions();
  const scratch = await mkdtemp(join(tmpdir(), 'mugraph-demo-'));
  try {
    let kernels: KernelBuild;
    try {
      kernels = await buildKernels({ options, frozen: args.frozen, outDir: scratch });
      await buildPlayground(args.playgroundOut);
    } catch (error) {
      log(`demo: the build failed: ${(error as Error).message}`);
      // MissingEntryError names `npx mugraph warm <file>`, which without the playground's --config misses its lock.
      if (/lock entry/.test((error as Error).message)) log(`demo: \`${WARM_COMMAND}\` fills playground/mugraph.lock; then commit it`);
      return { exitCode: 2, rows: [], events: [] };
    }
    const { events } = kernels;
    const count = (status: ProgramEvent['status']) => events.filter((e) => e.status === status).length;
    const buildSeconds = (performance.now() - start) / 1000;
    const gpu = await createNodeDevice();
    try {
      const variants = args.variants.filter((v) => v === 'f32' || gpu.device.features.has('shader-f16'));
      log(`mugraph demo on ${gpu.adapterInfo}`);
      log(`build (${buildSeconds.toFixed(1)} s): mugraph/vite with ${shown(join(PLAYGROUND, 'mugraph.config.js'))}${args.frozen ? ', frozen' : ''}; `
        + `lock ${shown(join(PLAYGROUND, 'mugraph.lock'))}: ${events.length} programs, ${count('hit')} hits, ${count('compiled')} compiled, ${count('rebuilt')} rebuilt`);
      log(`  the page into ${shown(args.playgroundOut)}${args.playgroundOut === DEFAULT_PLAYGROUND_OUT ? ' (serve it: npx vite preview playground)' : ''}; `
        + 'the kernels run below: the same tensor modules built for Node (playground/demo/kernels.ts)');
      log(`shapes: ${args.shapes === 'small' ? 'the small twins (fixtures/programs/small/)' : "Mirage's full shapes at b = 1 (fixtures/programs/)"}; `
        + `variants: ${variants.join(', ')}${variants.length < args.variants.length ? ' (no shader-f16 on this adapter: f16 skipped)' : ''}`);
      log(`median ms: of up to ${TIMED_RUNS} dispatches (fewer once they pass ${TIME_BUDGET_MS / 1000} s) after a checked run that also compiles the pipelines; `
        + 'inputs uploaded once, timed from submit to onSubmittedWorkDone (the kernels, no copies)');
      log(`rel L2: relative L2 error against the float64 reference interpreter on the same seeded inputs; PASS at most ${Object.entries(TOLERANCE).map(([v, t]) => `${t.toExponential(0)} (${v})`).join(', ')}`);
      log('');
      const rows: DemoRow[] = [];
      for (const bench of BENCHMARKS) {
        try {
          rows.push(...await runBenchmark({ bench, shapes: args.shapes, variants, modules: kernels.modules, events, device: gpu.device }));
        } catch (error) {
          rows.push(...variants.map((variant): DemoRow => ({
            benchmark: bench.id, program: exportNameOf(bench, args.shapes), variant, impl: 'build', status: 'ERROR', source: '-',
            detail: `the benchmark did not set up: ${(error as Error).message}`,
          })));
        }
      }
      for (const line of formatTable(rows)) log(line);
      const same = new Set(rows.filter((r) => r.sameKernelsAsPerOp).map((r) => r.benchmark));
      if (same.size > 0) {
        log('');
        log(`note: for ${same.size === BENCHMARKS.length ? 'every benchmark' : [...same].join(', ')} the build's kernels are identical to the per-operator `
          + "lowering's (the search found no verified fused μGraph): the gap between those two rows is run-to-run noise");
      }
      const tally = (status: DemoRow['status']) => rows.filter((r) => r.status === status).length;
      const failed = tally('FAIL') + tally('ERROR');
      log('');
      log(`${rows.length} rows: ${tally('PASS')} PASS, ${tally('FAIL')} FAIL, ${tally('ERROR')} ERROR, ${tally('N/A')} N/A `
        + `in ${((performance.now() - start) / 1000).toFixed(1)} s`);
      return { exitCode: failed > 0 ? 1 : 0, rows, events };
    } finally {
      gpu.destroy();
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

function parseDemoArgs(argv: readonly string[]): DemoArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      small: { type: 'boolean', default: false },
      variants: { type: 'string', default: 'f16,f32' },
      frozen: { type: 'boolean', default: false },
      'playground-out': { type: 'string', default: DEFAULT_PLAYGROUND_OUT },
    },
  });
  const variants = values.variants!.split(',').map((v) => v.trim()).filter(Boolean);
  const bad = variants.find((v) => v !== 'f16' && v !== 'f32');
  if (bad !== undefined || variants.length === 0) throw new Error(`--variants takes f16 and/or f32, got "${values.variants}"`);
  return { shapes: values.small ? 'small' : 'full', variants: variants as Variant[], frozen: values.frozen!, playgroundOut: values['playground-out']! };
}
