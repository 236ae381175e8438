/**
 * Evaluates a user's `*.tensor.ts` module (TypeScript, no build step of theirs) and
 * collects the tensor programs it exports. The module is bundled with esbuild, keeping
 * `mugraph` external and pointed at the running copy of this package so that the user's
 * programs are built by the same module instance; the bundle is written to a temporary
 * `.mjs`, imported and deleted. Errors are reported at the user's file and line: a
 * ProgramError raised inside the bundle is mapped back through the bundle's source map.
 */
import { existsSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import { isProgramError, ProgramError } from './errors.js';
import { isProgram, type Program } from './program.js';
import { type CallSite, formatSite, parseStack } from './site.js';
import { type RawSourceMap, SourceMapReader } from './source-map.js';
import type { TensorProgram } from '../tensor-program.js';

export interface LoadedTensorModule {
  /** Absolute path of the module. */
  readonly file: string;
  /** Every export whose value came from `tensorProgram(...)`, by export name (module namespace order). */
  readonly programs: ReadonlyArray<LoadedProgramExport>;
  /** Absolute paths of every source file the module imports (itself included), for watching and cache keys. */
  readonly dependencies: readonly string[];
}

/** Our running entry points: `.ts` when run from src/ (vitest), `.js` when run from dist/. */
const OWN_EXTENSION = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
const OWN_ENTRIES: Readonly<Record<string, string>> = {
  mugraph: new URL(`../index${OWN_EXTENSION}`, import.meta.url).href,
  'mugraph/runtime': new URL(`../runtime/index${OWN_EXTENSION}`, import.meta.url).href,
};

/** Keeps `import ... from 'mugraph'` external, resolved to this package's running module. */
const ownPackagePlugin: esbuild.Plugin = {
  name: 'mugraph-self',
  setup(build) {
    build.onResolve({ filter: /^mugraph(\/runtime)?$/ }, (args) => ({ path: OWN_ENTRIES[args.path]!, external: true }));
  },
};

export interface LoadedProgramExport {
  readonly exportName: string;
  readonly program: Program;
  /** The exported value itself (what `tensorProgram` returned), with its `load()`. */
  readonly value: TensorProgram;
}

/** A module evaluated: its exports, whatever they are. */
export interface EvaluatedModule {
  /** Absolute path of the module. */
  readonly file: string;
  readonly exports: Readonly<Record<string, unknown>>;
  /** Absolute paths of every source file the module imports (itself included). */
  readonly dependencies: readonly string[];
}

/** Bundles and imports `file`; errors thrown while evaluating it are located in the user's source. */
export async function evaluateModule(file: string): Promise<EvaluatedModule> {
  const entry = resolve(file);
  if (!existsSync(entry)) throw new Error(`${entry}: no such file`);
  const bundleFile = join(tmpdir(), `mugraph-${basename(entry).replace(/[^\w.-]/g, '_')}-${randomUUID()}.mjs`);
  const { code, map, dependencies } = await bundle(entry, bundleFile);
  try {
    await writeFile(bundleFile, code);
    const exports = (await import(/* @vite-ignore */ pathToFileURL(bundleFile).href)) as Record<string, unknown>;
    return { file: entry, exports, dependencies };
  } catch (error) {
    throw locateError(error, entry, bundleFile, map, dependencies);
  } finally {
    await rm(bundleFile, { force: true });
  }
}

export async function loadTensorModule(file: string): Promise<LoadedTensorModule> {
  const { file: entry, exports, dependencies } = await evaluateModule(file);
  const programs = Object.entries(exports)
    .filter((entry): entry is [string, TensorProgram] => isTensorProgramExport(entry[1]))
    .map(([exportName, value]) => ({ exportName, program: value.program, value }));
  if (programs.length === 0) throw moduleError(entry, 'no tensor program exported (export the value returned by tensorProgram(...))');
  return { file: entry, programs, dependencies };
}

/** A problem with a module as a whole, reported at its first line (no line of it is to blame). */
export function moduleError(file: string, detail: string): ProgramError {
  return new ProgramError(detail, 'module', { file, line: 1, column: 1 });
}

function isTensorProgramExport(value: unknown): value is TensorProgram {
  return typeof value === 'object' && value !== null && isProgram((value as { program?: unknown }).program)
    && typeof (value as { load?: unknown }).load === 'function';
}

async function bundle(entry: string, bundleFile: string): Promise<{ code: string; map: SourceMapReader; dependencies: string[] }> {
  const workingDir = process.cwd();
  let result: esbuild.BuildResult<{ write: false; metafile: true }>;
  try {
    result = await esbuild.build({
      entryPoints: [entry],
      absWorkingDir: workingDir,
      outfile: bundleFile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      write: false,
      metafile: true,
      sourcemap: 'both',
      sourcesContent: false,
      logLevel: 'silent',
      plugins: [ownPackagePlugin],
    });
  } catch (error) {
    throw describeBuildFailure(error, entry, workingDir);
  }
  const code = result.outputFiles.find((f) => f.path.endsWith('.mjs'))?.text;
  const mapText = result.outputFiles.find((f) => f.path.endsWith('.map'))?.text;
  if (code === undefined || mapText === undefined) throw new Error(`${entry}: esbuild produced no output`);
  const map = new SourceMapReader(JSON.parse(mapText) as RawSourceMap, dirname(bundleFile));
  const dependencies = Object.keys(result.metafile.inputs)
    .filter((input) => !input.includes(':')) // namespaced virtual modules are not files
    .map((input) => resolve(workingDir, input));
  return { code, map, dependencies };
}

/** esbuild's syntax and resolution errors, as one Error naming each file:line. */
function describeBuildFailure(error: unknown, entry: string, workingDir: string): Error {
  const messages = (error as Partial<esbuild.BuildFailure>).errors;
  if (!Array.isArray(messages) || messages.length === 0) {
    return new Error(`${entry}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const lines = messages.map((m) => {
    const where = m.location ? `${resolve(workingDir, m.location.file)}:${m.location.line}:${m.location.column + 1}` : entry;
    return `${where}: ${m.text}`;
  });
  return new Error(lines.join('\n'), { cause: error });
}

/**
 * Points an error thrown while evaluating the bundle at the user's source. The host may
 * already have mapped the stack (vitest, `--enable-source-maps`); then the site is left alone.
 */
function locateError(error: unknown, entry: string, bundleFile: string, map: SourceMapReader, sources: readonly string[]): unknown {
  const toSource = (site: CallSite): CallSite | undefined =>
    site.file === bundleFile ? map.originalPosition(site.line, site.column) : site;
  if (isProgramError(error)) {
    if (error.site?.file !== bundleFile) return error;
    const mapped = toSource(error.site);
    return mapped ? error.relocated(mapped) : error;
  }
  if (!(error instanceof Error)) return new Error(`${entry}: ${String(error)}`, { cause: error });
  // Anything else the user's code threw: name the innermost frame in one of their files.
  const frame = parseStack(error.stack ?? '')
    .map(toSource)
    .find((site) => site !== undefined && sources.includes(site.file) && !site.file.includes('/node_modules/'));
  const located = new Error(`${frame ? formatSite(frame) : entry}: ${error.message}`, { cause: error });
  located.name = error.name;
  return located;
}
