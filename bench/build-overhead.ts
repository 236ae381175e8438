/**
 * `npm run bench:build`: what the bundler plugin adds to a build when every program is in
 * the kernel lock (the issue's budget: no search, at most 50 ms per tensor module).
 *
 * 1. Per module: for the six benchmark fixtures (fixtures/programs/*.tensor.ts, two programs
 *    each) and the fixture project's module (fixtures/projects/basic), a lock is warmed in a
 *    temporary directory, then `buildTensorModule` is timed on a lock hit with a frozen
 *    context (so a miss would fail instead of searching): --warmup calls, then the median of
 *    --reps calls, per phase (evaluate, key + lock read + validate, regenerate WGSL, verify,
 *    emit). Each call gets a fresh BuildContext, as each build gets a fresh plugin instance;
 *    the evaluation worker is process-wide (src/frontend/evaluate-pool.ts), so the timed calls
 *    find it warm, as every module of a build after the first does.
 *    The scratch cache is the warming build's, so every entry is marked verified on this
 *    machine and `verify` is the read of the mark (a teammate's rebuild). Before them, one
 *    frozen build with an empty scratch cache times what a fresh machine (CI) pays once per
 *    entry: the finite-field verifier at full shape ("first verify").
 * 2. End to end: a Vite library build of fixtures/projects/basic with the plugin (from dist/,
 *    as a user gets it; frozen, on the warmed lock), with a stub serving the module it generated
 *    (the same bundle without the plugin's work) and with no plugin (the DSL is bundled and lowers
 *    at run time), median of --e2e-reps builds each, interleaved, in this one process.
 *
 * Writes bench/results/build-overhead.json and build-overhead.md and prints the table.
 *
 * 3. Cold: the first build of each module in a fresh process (--cold-reps processes).
 *
 *   npm run bench:build -- [--reps 15] [--warmup 3] [--e2e-reps 10] [--cold-reps 5] [--out file.json]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { buildTensorModule, type BuildTimings, createBuildContext } from '../src/build/build-module.js';
import { type MugraphOptions, resolveOptions } from '../src/build/options.js';
import { RESULTS_DIR, writeAtomically } from './results.js';
import { REPO_ROOT } from './workloads.js';

/** The issue's budget per tensor module on a lock hit. */
export const BUDGET_MS = 50;
/** Vite builds per mode before the timed ones (its own first builds are slow). */
const E2E_WARMUP = 2;

const PROJECT = join(REPO_ROOT, 'fixtures', 'projects', 'basic');
const FIXTURES = ['gqa', 'qknorm', 'rmsnorm', 'lora', 'gated-mlp', 'ntrans'].map((n) => join(REPO_ROOT, 'fixtures', 'programs', `${n}.tensor.ts`));
const MODULES: readonly { file: string; root: string }[] = [
  ...FIXTURES.map((file) => ({ file, root: REPO_ROOT })),
  { file: join(PROJECT, 'src', 'model', 'small.tensor.ts'), root: PROJECT },
];

type Phase = Exclude<keyof BuildTimings, 'compileMs'>;
const PHASES: readonly Phase[] = ['evaluateMs', 'lockMs', 'regenerateMs', 'verifyMs', 'emitMs', 'totalMs'];
const PHASE_LABELS: Readonly<Record<Phase, string>> = {
  evaluateMs: 'evaluate', lockMs: 'key+lock', regenerateMs: 'regenerate', verifyMs: 'verify (marked)', emitMs: 'emit', totalMs: 'total',
};

export interface ModuleRow {
  readonly module: string;
  readonly programs: number;
  readonly kernels: number;
  /** Median ms per phase over `runs` lock-hit builds. */
  readonly median: Readonly<Record<Phase, number>>;
  /** Every run's total, in order. */
  readonly totalRunsMs: readonly number[];
  readonly runs: number;
  readonly withinBudget: boolean;
  /** The verify phase of one frozen build with an empty scratch cache: the finite-field verifier of every program, once per machine. */
  readonly firstVerifyMs?: number;
  /**
   * A fresh process's first build of the module (median over --cold-reps processes):
   * `importMs` from the process's start to the call (Node's startup, loading the core), `totalMs` the first buildTensorModule call (esbuild's
   * service start included), `evaluateMs` its evaluate phase. Paid once per build process.
   */
  readonly cold?: { readonly importMs: number; readonly totalMs: number; readonly evaluateMs: number };
}

export interface EndToEndRow {
  readonly bundler: string;
  /** plugin: mugraph's; stub: the same generated module served without it; none: no plugin. */
  readonly mode: 'plugin' | 'stub' | 'none';
  readonly medianMs: number;
  readonly runsMs: readonly number[];
  readonly outputBytes: number;
  readonly note: string;
  readonly error?: string;
}

export interface BuildOverheadResults {
  readonly header: {
    readonly date: string;
    readonly node: string;
    readonly cpus: string;
    readonly load1: readonly [number, number];
    readonly method: string;
    readonly warmup: number;
    readonly reps: number;
    readonly e2eReps: number;
    readonly coldReps: number;
    /** A fresh process's import('mugraph/vite') (plugin + build core from dist/), median ms: once per build process. */
    readonly pluginImportMs: number;
    readonly budgetMs: number;
  };
  readonly modules: readonly ModuleRow[];
  readonly endToEnd: readonly EndToEndRow[];
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const silent = () => {};

function lockOptions(dir: string, root: string, frozen: boolean): MugraphOptions {
  return { root, lockDir: join(dir, 'lock'), cacheDir: join(dir, 'cache'), frozen, onProgram: silent };
}

async function measureModule(file: string, root: string, dir: string, warmup: number, reps: number, log: (line: string) => void): Promise<ModuleRow> {
  // Warm the lock (this compiles), then build frozen: a lock hit or an error, never a search.
  await buildTensorModule(file, createBuildContext(resolveOptions(lockOptions(dir, root, false))));
  // A fresh machine: the lock, but no scratch cache, so no entry is marked verified.
  const first = await buildTensorModule(file, createBuildContext(resolveOptions({ ...lockOptions(dir, root, true), cacheDir: join(dir, 'fresh-cache') })));
  if (first.programs.some((p) => p.equivalence.by !== 'verifier')) throw new Error(`${file}: expected the verifier to run with an empty scratch cache`);
  const frozen = resolveOptions(lockOptions(dir, root, true));
  const samples: BuildTimings[] = [];
  let programs = 0;
  let kernels = 0;
  for (let i = 0; i < warmup + reps; i++) {
    const built = await buildTensorModule(file, createBuildContext(frozen));
    const misses = built.programs.filter((p) => p.status !== 'hit');
    if (misses.length > 0 || built.timings.compileMs !== 0) throw new Error(`${file}: expected lock hits, got ${misses.map((p) => p.status).join(', ')}`);
    if (built.programs.some((p) => p.equivalence.by !== 'mark')) throw new Error(`${file}: expected every entry marked verified on this machine`);
    programs = built.programs.length;
    kernels = built.programs.reduce((n, p) => n + p.entry.report.kernels, 0);
    if (i >= warmup) samples.push(built.timings);
  }
  const row: ModuleRow = {
    module: relative(REPO_ROOT, file),
    programs,
    kernels,
    median: Object.fromEntries(PHASES.map((p) => [p, median(samples.map((s) => s[p]))])) as Record<Phase, number>,
    totalRunsMs: samples.map((s) => s.totalMs),
    runs: samples.length,
    withinBudget: median(samples.map((s) => s.totalMs)) <= BUDGET_MS,
    firstVerifyMs: first.timings.verifyMs,
  };
  log(`  ${basename(file)}: ${row.median.totalMs.toFixed(1)} ms per build (verify ${row.median.verifyMs.toFixed(2)} ms; first, on a fresh machine: ${row.firstVerifyMs!.toFixed(0)} ms)`);
  return row;
}

type ViteConfigFactory = (args: { root: string; entry: string; outDir: string; options: MugraphOptions }) => Record<string, unknown>;
type Mode = 'plugin' | 'stub' | 'none';

const MODE_NOTES: Readonly<Record<Mode, string>> = {
  plugin: 'mugraph/vite from dist/, frozen, every program a lock hit',
  stub: 'a stub plugin serving the same generated module from memory (what the plugin costs = plugin − stub)',
  none: 'no plugin: the DSL itself is bundled and lowers at run time',
};

/**
 * Vite library builds of the fixture project: with the plugin (frozen, on a lock warmed by a
 * first unfrozen build), with a stub that serves the module the plugin generated (same
 * bundle, no plugin work), and with no plugin at all.
 */
async function measureVite(dir: string, warmup: number, reps: number, log: (line: string) => void): Promise<EndToEndRow[]> {
  const { build } = await import('vite');
  const { readFileSync, statSync } = await import('node:fs');
  const core = (await import('#mugraph/core')) as { RUNTIME_ENTRY: string };
  const factory = ((await import(pathToFileURL(join(PROJECT, 'configs', 'vite.config.js')).href)) as { default: ViteConfigFactory }).default;
  const entry = join(PROJECT, 'src', 'main.js');
  const tensorModule = join(PROJECT, 'src', 'model', 'small.tensor.ts');
  const lockDir = join(dir, 'e2e');
  // Warm the lock and keep the generated module for the stub.
  const generated = (await buildTensorModule(tensorModule, createBuildContext(resolveOptions(lockOptions(lockDir, PROJECT, false))))).code;
  const stub = {
    name: 'mugraph-stub',
    enforce: 'pre' as const,
    resolveId: (id: string) => (id === 'mugraph/runtime' ? core.RUNTIME_ENTRY : null),
    load: (id: string) => (id.replace(/[?#].*$/, '') === tensorModule ? generated : null),
  };
  // Modes interleaved build by build, so that drifting load on the cores hits each alike.
  const modes = ['plugin', 'stub', 'none'] as const;
  const runs: Record<Mode, number[]> = { plugin: [], stub: [], none: [] };
  const errors: Partial<Record<Mode, string>> = {};
  const statuses: string[] = [];
  for (let i = 0; i < warmup + reps; i++) {
    for (const mode of modes) {
      if (errors[mode] !== undefined) continue;
      const options: MugraphOptions = { ...lockOptions(lockDir, PROJECT, true), onProgram: (e) => statuses.push(e.status) };
      const config = factory({ root: PROJECT, entry, outDir: join(dir, 'vite-out', mode), options });
      if (mode !== 'plugin') config.plugins = mode === 'stub' ? [stub] : [];
      try {
        const start = performance.now();
        await build(config);
        if (i >= warmup) runs[mode].push(performance.now() - start); // the first builds warm Vite itself
      } catch (error) {
        errors[mode] = error instanceof Error ? error.message : String(error);
      }
    }
  }
  if (statuses.some((s) => s !== 'hit')) errors.plugin ??= `expected lock hits only, got ${statuses.join(', ')}`;
  const rows = modes.map((mode): EndToEndRow => {
    const output = join(dir, 'vite-out', mode, 'main.js');
    if (errors[mode] === undefined && mode !== 'none' && !readFileSync(output, 'utf8').includes('loadCompiled')) errors[mode] = 'the output has no precompiled kernels';
    const error = errors[mode];
    return error !== undefined
      ? { bundler: 'vite', mode, medianMs: Number.NaN, runsMs: runs[mode], outputBytes: 0, note: MODE_NOTES[mode], error }
      : { bundler: 'vite', mode, medianMs: median(runs[mode]), runsMs: runs[mode], outputBytes: statSync(output).size, note: MODE_NOTES[mode] };
  });
  for (const row of rows) log(`  vite, ${row.mode}: ${row.error ?? `${row.medianMs.toFixed(0)} ms`}`);
  return rows;
}

const fmt = (v: number) => (Number.isNaN(v) ? '–' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

function table(head: readonly string[], body: readonly (readonly string[])[], markdown: boolean): string {
  if (markdown) {
    const line = (c: readonly string[]) => `| ${c.join(' | ')} |`;
    return [line(head), line(head.map(() => '---')), ...body.map(line)].join('\n');
  }
  const widths = head.map((_, i) => Math.max(...[head, ...body].map((r) => r[i]!.length)));
  return [head, ...body].map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

export function moduleTable(results: BuildOverheadResults, markdown = false): string {
  const head = ['module', 'programs', 'kernels', ...PHASES.map((p) => `${PHASE_LABELS[p]} ms`), `≤ ${BUDGET_MS} ms`, 'first verify ms (fresh machine)',
    'cold first call ms', 'cold process start ms'];
  const body = results.modules.map((r) => [
    r.module, String(r.programs), String(r.kernels), ...PHASES.map((p) => fmt(r.median[p] ?? Number.NaN)), r.withinBudget ? 'yes' : 'NO',
    r.firstVerifyMs === undefined ? '–' : fmt(r.firstVerifyMs),
    r.cold ? fmt(r.cold.totalMs) : '–', r.cold ? fmt(r.cold.importMs) : '–',
  ]);
  return table(head, body, markdown);
}

export function endToEndTable(results: BuildOverheadResults, markdown = false): string {
  const head = ['bundler', 'mode', 'median ms', 'output bytes', 'note'];
  const body = results.endToEnd.map((r) => [r.bundler, r.mode, fmt(r.medianMs), String(r.outputBytes), (r.error ?? r.note).split('\n')[0]!]);
  return table(head, body, markdown);
}

export function markdownReport(results: BuildOverheadResults): string {
  const h = results.header;
  const worst = Math.max(...results.modules.map((r) => r.median.totalMs));
  const e2e = (mode: EndToEndRow['mode']) => results.endToEnd.find((r) => r.mode === mode && !r.error);
  const withPlugin = e2e('plugin');
  const stub = e2e('stub');
  const without = e2e('none');
  return [
    '# Build overhead of the mugraph plugin on a lock hit',
    '',
    `- ${h.date}; Node ${h.node}; ${h.cpus}; 1-minute load ${h.load1[0].toFixed(1)} before, ${h.load1[1].toFixed(1)} after.`,
    `- Method: ${h.method}`,
    `- Budget (build-integration issue): no search and at most **${h.budgetMs} ms per tensor module**. `
      + `Worst module median: **${fmt(worst)} ms**${worst <= h.budgetMs ? ' (within budget)' : ' (OVER BUDGET)'}.`,
    ...(withPlugin && stub ? [`- Vite build of fixtures/projects/basic (one tensor module): ${fmt(withPlugin.medianMs)} ms with the plugin, `
      + `${fmt(stub.medianMs)} ms with the same generated module served by a stub: the plugin adds **${fmt(withPlugin.medianMs - stub.medianMs)} ms**`
      + `${without ? ` (without any plugin, bundling the DSL: ${fmt(without.medianMs)} ms)` : ''}.`] : []),
    `- Once per build process: importing \`mugraph/vite\` (plugin and build core) takes ${fmt(h.pluginImportMs)} ms in a fresh process, `
      + 'and the first module pays esbuild\'s service start (see "cold first call").',
    '',
    '## Per module (median ms of a lock-hit `buildTensorModule`)',
    '',
    'evaluate = esbuild bundle of the module\'s own files + their evaluation in the warm evaluation worker + replaying the programs; key+lock = program hash, cache key, '
      + 'entry read and validation (content hash, μGraph, key); regenerate = WGSL and buffer plan from the entry\'s μGraph; '
      + 'verify (marked) = reading this machine\'s mark that it verified the entry (the finite-field verifier does not run again); '
      + 'emit = the generated ES module; total = the whole call (the budgeted figure). '
      + 'cold first call = the same call as the first of a fresh process (median over processes; esbuild\'s service start and '
      + 'first-time module loading, the evaluation worker\'s start and its loading of the DSL included: paid once per build, not per module); cold process start = from the process\'s start to that call '
      + '(Node\'s startup and loading mugraph\'s build core; in a bundler, part of loading the config). '
      + 'first verify = the verify phase of one frozen build with an empty scratch cache: the finite-field verifier at full shape, '
      + 'once per entry on a fresh machine (CI), not part of the budget.',
    '',
    moduleTable(results, true),
    '',
    '## End to end',
    '',
    endToEndTable(results, true),
    '',
  ].join('\n');
}

/**
 * A fresh process's first lock-hit build of one module, as a CI build from a fresh clone
 * pays it: loading the core, starting esbuild's service, the first bundle and import.
 * Runs in a child process (`--cold-child file lockDir root`); prints its timings as JSON.
 */
async function coldChild(file: string, lockDir: string, root: string): Promise<void> {
  // performance.now() counts from the process's start: Node's startup and loading the core (and this file).
  const loaded = performance.now();
  const built = await buildTensorModule(file, createBuildContext(resolveOptions({
    root, lockDir, cacheDir: join(lockDir, '..', 'cache'), frozen: true, onProgram: silent,
  })));
  process.stdout.write(`${JSON.stringify({ importMs: loaded, ...built.timings })}\n`);
}

async function measureCold(file: string, root: string, dir: string, reps: number): Promise<{ importMs: number; totalMs: number; evaluateMs: number }> {
  const { execFileSync } = await import('node:child_process');
  const runs = Array.from({ length: reps }, () => JSON.parse(execFileSync(process.execPath,
    [process.argv[1]!, '--cold-child', file, join(dir, 'lock'), root], { encoding: 'utf8' })) as BuildTimings & { importMs: number });
  return { importMs: median(runs.map((r) => r.importMs)), totalMs: median(runs.map((r) => r.totalMs)), evaluateMs: median(runs.map((r) => r.evaluateMs)) };
}

/** A fresh process's `import('mugraph/vite')` (the plugin and the build core from dist/), median ms over `reps` processes. */
async function measurePluginImport(reps: number): Promise<number> {
  const { execFileSync } = await import('node:child_process');
  const script = "const t = performance.now(); await import('mugraph/vite'); process.stdout.write(String(performance.now() - t));";
  const runs = Array.from({ length: reps }, () => Number(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: REPO_ROOT, encoding: 'utf8' })));
  return median(runs);
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      'cold-child': { type: 'boolean', default: false },
      'cold-reps': { type: 'string', default: '5' },
      reps: { type: 'string', default: '15' },
      warmup: { type: 'string', default: '3' },
      'e2e-reps': { type: 'string', default: '10' },
      out: { type: 'string', default: join(RESULTS_DIR, 'build-overhead.json') },
    },
  });
  if (values['cold-child']) return coldChild(positionals[0]!, positionals[1]!, positionals[2]!);
  const reps = Math.max(1, Number(values.reps));
  const coldReps = Math.max(0, Number(values['cold-reps']));
  const warmup = Math.max(0, Number(values.warmup));
  const e2eReps = Math.max(1, Number(values['e2e-reps']));
  const out = values.out!;
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const dir = await mkdtemp(join(tmpdir(), 'mugraph-bench-build-'));
  const loadBefore = loadavg()[0]!;
  try {
    log(`per module (${warmup} warm-up + ${reps} timed lock-hit builds each):`);
    const modules: ModuleRow[] = [];
    for (const { file, root } of MODULES) {
      const moduleDir = join(dir, basename(file));
      const row = await measureModule(file, root, moduleDir, warmup, reps, log);
      modules.push(coldReps > 0 ? { ...row, cold: await measureCold(file, root, moduleDir, coldReps) } : row);
    }
    log(`end to end (${E2E_WARMUP} warm-up + ${e2eReps} builds per mode, interleaved):`);
    const pluginImportMs = coldReps > 0 ? await measurePluginImport(coldReps) : Number.NaN;
    log(`  import('mugraph/vite') in a fresh process: ${fmt(pluginImportMs)} ms`);
    const endToEnd = await measureVite(dir, E2E_WARMUP, e2eReps, log);
    const results: BuildOverheadResults = {
      header: {
        date: new Date().toISOString(),
        node: process.version,
        cpus: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}`,
        load1: [loadBefore, loadavg()[0]!],
        method: `buildTensorModule in one process, a fresh frozen BuildContext per call on a warmed lock; ${warmup} warm-up then median of ${reps} calls per module; `
          + `end to end: Vite library build of fixtures/projects/basic, median of ${e2eReps} per mode after ${E2E_WARMUP} warm-up, modes interleaved`,
        warmup,
        reps,
        e2eReps,
        coldReps,
        pluginImportMs,
        budgetMs: BUDGET_MS,
      },
      modules,
      endToEnd,
    };
    writeAtomically(out, `${JSON.stringify(results, null, 1)}\n`);
    writeAtomically(out.replace(/\.json$/, '.md'), markdownReport(results));
    process.stdout.write(`${moduleTable(results)}\n\n${endToEndTable(results)}\n\nwrote ${out} and ${out.replace(/\.json$/, '.md')}\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
