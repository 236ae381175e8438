/**
 * The `mugraph` command line: argument parsing only (cac). Each command's logic lives in
 * its own module (check.ts, warm.ts, verify.ts, prune.ts, search.ts, explain.ts) so that
 * tests and the build plugin can call it directly.
 * `runCli` returns the exit code; bin/mugraph.js exits with it.
 */
import { readFileSync } from 'node:fs';
import { cac } from 'cac';
import type { Variant } from '../runtime/types.js';
import { DEFAULT_SEARCH_LIMITS } from '../search/superoptimize.js';
import { checkFiles } from './check.js';
import { checkUGraphFiles } from './check-ugraph.js';
import { explain } from './explain.js';
import type { LockCommandFlags } from './modules.js';
import { prune } from './prune.js';
import { type SearchFlags, searchFiles } from './search.js';
import { verify } from './verify.js';
import { warm } from './warm.js';

const VARIANTS: readonly Variant[] = ['f16', 'f32'];

/** An invalid command line: printed with a pointer to --help, exit code 2. */
class UsageError extends Error {}

export async function runCli(argv: readonly string[], log: (line: string) => void = console.log): Promise<number> {
  const cli = cac('mugraph');
  let exitCode = 0;

  cli
    .command('check <...files>', 'Run each exported tensor program on the local WebGPU adapter and compare it with the float64 reference')
    .option('--seed <seed>', 'Seed of the random inputs', { default: 1 })
    .option('--variant <variant>', 'Only this variant: f16 or f32 (repeatable; default: every variant the adapter supports)')
    .option('--tolerance <tolerance>', 'Pass threshold on the relative L2 error, for every variant (default: 1e-2 for f16, 1e-4 for f32)')
    .option('--mugraph', 'The files declare μGraphs (ugraphProgram(program, graph) or { program, graph } exports): check each with the μGraph interpreter and on the adapter')
    .option('--svg <dir>', "With --mugraph: write each μGraph's diagram to <dir>/<module>.<export>.svg")
    .option('--evaluate-timeout <ms>', 'Stop evaluating a module after this many milliseconds (default 30000)')
    .example('mugraph check src/model/*.tensor.ts')
    .example('mugraph check --mugraph --svg diagrams src/model/rmsnorm.ugraph.ts')
    .action(async (files: string[], flags: Record<string, unknown>) => {
      const options = {
        seed: parseSeed(flags.seed),
        variants: parseVariants(flags.variant),
        tolerance: parseTolerance(flags.tolerance),
        evaluateTimeoutMs: parseTimeout(flags.evaluateTimeout),
        log,
      };
      const svgDir = parseSvgDir(flags.svg, flags.mugraph === true);
      const report = flags.mugraph === true ? await checkUGraphFiles(files, { ...options, svgDir }) : await checkFiles(files, options);
      exitCode = report.exitCode;
    });

  const lockOptions = (command: ReturnType<typeof cli.command>) => command
    .option('--config <file>', "A module whose default export is the build plugin's options (so the keys match the build's)")
    .option('--lock-dir <dir>', 'The kernel lock directory (default: mugraph.lock)')
    .option('--cache-dir <dir>', 'The scratch cache (default: node_modules/.cache/mugraph)')
    .option('--evaluate-timeout <ms>', 'Stop evaluating a module after this many milliseconds (default 30000)');

  lockOptions(cli.command('warm [...globs]', 'Compile what the kernel lock lacks for the tensor modules matched (default: every *.tensor.* file)'))
    .option('--no-check', 'Do not run new entries against the float64 reference on the local adapter')
    .option('--jobs <n>', 'Modules compiled at once (default: one per core)')
    .example('mugraph warm "src/**/*.tensor.ts"')
    .action(async (globs: string[], flags: Record<string, unknown>) => {
      const jobs = parsePositive(flags.jobs, '--jobs', 'a positive integer', true);
      exitCode = (await warm({ ...lockFlags(flags), globs, check: flags.check !== false, ...(jobs === undefined ? {} : { jobs }), log })).exitCode;
    });

  lockOptions(cli.command('verify [...globs]', 'Re-verify the lock entries of the tensor modules matched on the local adapter'))
    .action(async (globs: string[], flags: Record<string, unknown>) => {
      exitCode = (await verify({ ...lockFlags(flags), globs, log })).exitCode;
    });

  lockOptions(cli.command('prune [...globs]', 'Delete lock entries that no tensor module matched references'))
    .option('--dry-run', 'List them only')
    .action(async (globs: string[], flags: Record<string, unknown>) => {
      exitCode = (await prune({ ...lockFlags(flags), globs, dryRun: flags.dryRun === true, log })).exitCode;
    });

  const searchOptions = (command: ReturnType<typeof cli.command>) => command
    .option('--time <ms>', 'Time budget of the generator per program, in milliseconds (default: none, as in a build: the search ends on its work limits)')
    .option('--candidates <n>', `Stop generating after this many candidates passed screening (default ${DEFAULT_SEARCH_LIMITS.maxCandidates})`)
    .option('--target <name>', "Search for this target only: one of the config's targets, webgpu-defaults, or webgpu-defaults+subgroups<N> (default: the config's targets, else webgpu-defaults)");

  searchOptions(cli.command('search <...files>', 'Search each tensor program of the modules for a fused μGraph and report what was found (the lock is not touched)'))
    .option('--config <file>', "A module whose default export is the build plugin's options (its targets are searched)")
    .option('--evaluate-timeout <ms>', 'Stop evaluating a module after this many milliseconds (default 30000)')
    .option('--json', 'Print one JSON document (each program\'s report, candidates and μGraph) instead of the summary')
    .example('mugraph search --time 20000 src/model/*.tensor.ts')
    .action(async (files: string[], flags: Record<string, unknown>) => {
      exitCode = (await searchFiles({ ...searchFlags(flags), files, json: flags.json === true, log })).exitCode;
    });

  lockOptions(searchOptions(cli.command('explain <file>', "Search a module's programs and print the chosen μGraph, its kernels and the search report")))
    .option('--program <name>', 'Only this program (its name or export name)')
    .option('--svg <path>', "Write the μGraph's SVG diagram to this file (needs a single program)")
    .option('--wgsl', 'Print the generated WGSL')
    .option('--variant <variant>', 'With --wgsl: the f16 or f32 variant (default: the best the program has)')
    .option('--lock', 'Explain the μGraph the kernel lock holds for the program (what a build ships); search only when there is no usable entry')
    .example('mugraph explain src/model/rmsnorm.tensor.ts --svg rmsnorm.svg --wgsl')
    .action(async (file: string, flags: Record<string, unknown>) => {
      const variants = parseVariants(flags.variant);
      if (variants !== undefined && variants.length !== 1) throw new UsageError('--variant takes one variant here');
      if (flags.svg !== undefined && (typeof flags.svg !== 'string' || flags.svg === '')) throw new UsageError('--svg needs a file path');
      exitCode = (await explain({
        ...searchFlags(flags), file, log,
        ...(flags.program === undefined ? {} : { program: String(flags.program) }),
        ...(typeof flags.svg === 'string' ? { svg: flags.svg } : {}),
        ...(variants === undefined ? {} : { variant: variants[0]! }),
        wgsl: flags.wgsl === true,
        lock: flags.lock === true,
      })).exitCode;
    });

  cli.help();
  cli.version(packageVersion());

  try {
    const parsed = cli.parse(['node', 'mugraph', ...argv.slice(2)], { run: false });
    if (parsed.options.help || parsed.options.version) return 0;
    if (!cli.matchedCommand) {
      const command = parsed.args[0];
      throw new UsageError(command === undefined ? 'missing command' : `unknown command "${command}"`);
    }
    takeBackSwallowedArguments(cli);
    await cli.runMatchedCommand();
    return exitCode;
  } catch (error) {
    if (!(error instanceof UsageError) && (error as Error | undefined)?.name !== 'CACError') throw error;
    console.error(`mugraph: ${(error as Error).message}\nRun \`mugraph --help\` for usage.`);
    return 2;
  }
}

/**
 * cac hands its parser (mri) the camel-cased names of boolean options, so a dashed one
 * (`--dry-run`) is not known as boolean and swallows the next argument as its value:
 * `prune --dry-run 'src/**'` would set dryRun to the glob and prune for real. Every boolean
 * option of the matched command that came back as a string is set and its string goes
 * back to the positional arguments (globs, files: their order does not matter).
 */
function takeBackSwallowedArguments(cli: ReturnType<typeof cac>): void {
  const options = cli.options as Record<string, unknown>;
  for (const option of cli.matchedCommand?.options ?? []) {
    const value = options[option.name];
    if (!option.isBoolean || typeof value !== 'string') continue;
    options[option.name] = !option.negated;
    (cli.args as string[]).unshift(value);
  }
}

function lockFlags(flags: Record<string, unknown>): LockCommandFlags {
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  const config = text(flags.config);
  const lockDir = text(flags.lockDir);
  const cacheDir = text(flags.cacheDir);
  const evaluateTimeoutMs = parseTimeout(flags.evaluateTimeout);
  return {
    ...(config ? { config } : {}), ...(lockDir ? { lockDir } : {}), ...(cacheDir ? { cacheDir } : {}),
    ...(evaluateTimeoutMs === undefined ? {} : { evaluateTimeoutMs }),
  };
}

function searchFlags(flags: Record<string, unknown>): SearchFlags {
  const timeMs = parsePositive(flags.time, '--time', 'a positive number of milliseconds');
  const maxCandidates = parsePositive(flags.candidates, '--candidates', 'a positive integer', true);
  if (flags.target !== undefined && (typeof flags.target !== 'string' || flags.target === '')) throw new UsageError('--target needs a target name');
  return {
    ...lockFlags(flags),
    ...(timeMs === undefined ? {} : { timeMs }),
    ...(maxCandidates === undefined ? {} : { maxCandidates }),
    ...(typeof flags.target === 'string' ? { target: flags.target } : {}),
  };
}

function parsePositive(value: unknown, flag: string, what: string, integer = false): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value === 'boolean' || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new UsageError(`${flag} must be ${what}, got ${String(value)}`);
  }
  return n;
}

function parseSeed(value: unknown): number {
  const seed = Number(value);
  if (!Number.isInteger(seed) || seed < 0) throw new UsageError(`--seed must be a non-negative integer, got ${String(value)}`);
  return seed;
}

function parseVariants(value: unknown): Variant[] | undefined {
  if (value === undefined) return undefined;
  const list = (Array.isArray(value) ? value : [value]).map(String);
  const bad = list.find((v) => !VARIANTS.includes(v as Variant));
  if (bad !== undefined) throw new UsageError(`--variant must be f16 or f32, got ${bad}`);
  return list as Variant[];
}

function parseSvgDir(value: unknown, mugraph: boolean): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw new UsageError('--svg needs a directory');
  if (!mugraph) throw new UsageError('--svg needs --mugraph (it draws the μGraphs a module declares)');
  return value;
}

function parseTimeout(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const ms = Number(value);
  if (!Number.isFinite(ms) || ms <= 0) throw new UsageError(`--evaluate-timeout must be a positive number of milliseconds, got ${String(value)}`);
  return ms;
}

function parseTolerance(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const tolerance = Number(value);
  if (!Number.isFinite(tolerance) || tolerance < 0) throw new UsageError(`--tolerance must be a number >= 0, got ${String(value)}`);
  return tolerance;
}

/** The package version, from package.json two levels up from src/cli or dist/cli. */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? '0.0.0';
}
