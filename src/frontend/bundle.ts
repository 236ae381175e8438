/**
 * Bundles a user's `*.tensor.ts` (TypeScript, no build step of theirs) for evaluation in
 * a worker: esbuild writes the module's bundle, one self-contained ES module with an
 * inline source map, into a directory the caller owns. Only the user's files (and their
 * dependencies) are bundled: `mugraph` and `mugraph/runtime` are imported from the files
 * the evaluation worker has already loaded (evaluate-files.ts: this running copy of the
 * package), so the DSL is neither bundled nor loaded again for each module.
 *
 * The bundle lives elsewhere than the user's file, so every file is given back its own
 * location: in each file of the bundle, `import.meta.url`, `import.meta.dirname`,
 * `import.meta.filename`, `__dirname` and `__filename` are that file's real ones (not the
 * bundle's), so `new URL('./shapes.json', import.meta.url)` reads the user's sibling file.
 * Static and literal dynamic imports are bundled from where they are, and CommonJS files
 * can `require` Node's built-ins. Not rewritten: `import.meta.resolve` and dynamic imports
 * of computed paths.
 */
import { readFile } from 'node:fs/promises';
import { dirname, extname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import type { PackageFiles } from './evaluate-files.js';

/** Our running entry points: `.ts` when run from src/ (vitest), `.js` when run from dist/. */
export const OWN_EXTENSION = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
export const ownFile = (path: string) => fileURLToPath(new URL(`${path}${OWN_EXTENSION}`, import.meta.url));
/** CommonJS files bundled into an ES module call `require` for Node's built-ins. */
export const REQUIRE_BANNER = "import { createRequire as __mugraphCreateRequire } from 'node:module'; const require = __mugraphCreateRequire(import.meta.url);";
/** This package's code (src/ and dist/ of its root): not the user's dependency, should a file of it be bundled in. */
const OWN_FOLDERS = ['src', 'dist'].map((folder) => `${fileURLToPath(new URL(`../../${folder}`, import.meta.url))}/`);

export interface ModuleBundle {
  /** The user's module, bundled. */
  readonly moduleFile: string;
  /** Absolute paths of the user's source files in the bundle (the module itself included), for watching. */
  readonly dependencies: readonly string[];
  /** A circular import through the user's files, as the files along it (first = last), if there is one. */
  readonly cycle: readonly string[] | undefined;
}

/** Bundles `entry` into `outDir`/module.mjs, importing this package from `packages`. */
export async function bundleModule(entry: string, outDir: string, packages: PackageFiles): Promise<ModuleBundle> {
  const workingDir = process.cwd();
  let result: esbuild.BuildResult<{ metafile: true }>;
  try {
    result = await esbuild.build({
      entryPoints: [{ in: entry, out: 'module' }],
      absWorkingDir: workingDir,
      outdir: outDir,
      outExtension: { '.js': '.mjs' },
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      write: true,
      metafile: true,
      sourcemap: 'inline',
      sourcesContent: false,
      logLevel: 'silent',
      banner: { js: REQUIRE_BANNER },
      plugins: [ownPackagePlugin(packages), realLocationPlugin],
    });
  } catch (error) {
    throw describeBuildFailure(error, entry, workingDir);
  }
  const moduleFile = join(outDir, 'module.mjs');
  const inputs = result.metafile.inputs;
  const ownInputs = result.metafile.outputs[relative(workingDir, moduleFile)]?.inputs ?? {};
  const dependencies = Object.keys(ownInputs)
    .filter((input) => !input.includes(':')) // namespaced virtual modules are not files
    .map((input) => resolve(workingDir, input))
    .filter((file) => !OWN_FOLDERS.some((folder) => file.startsWith(folder)));
  const importsOf = (file: string) => (inputs[relative(workingDir, file)]?.imports ?? []).map((i) => resolve(workingDir, i.path));
  return { moduleFile, dependencies, cycle: findCycle(entry, importsOf, new Set(dependencies)) };
}

/** `mugraph` and `mugraph/runtime` are this package, whatever the user's project has installed: the worker's copy, not bundled. */
const ownPackagePlugin = (packages: PackageFiles): esbuild.Plugin => ({
  name: 'mugraph-self',
  setup(build) {
    build.onResolve({ filter: /^mugraph(\/runtime)?$/ }, (args) => ({
      path: pathToFileURL(packages[args.path as keyof PackageFiles]).href, external: true,
    }));
  },
});

const LOCATION_NAMES = /\bimport\.meta\b|\b__dirname\b|\b__filename\b/;
const LOADERS: Readonly<Record<string, esbuild.Loader>> = { '.ts': 'ts', '.mts': 'ts', '.cts': 'ts', '.tsx': 'tsx', '.jsx': 'jsx' };

/** Gives each file that asks where it is its real location (see the header). */
export const realLocationPlugin: esbuild.Plugin = {
  name: 'mugraph-real-location',
  setup(build) {
    build.onLoad({ filter: /\.[cm]?[jt]sx?$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      if (!LOCATION_NAMES.test(source)) return undefined; // esbuild loads it as usual
      const url = JSON.stringify(pathToFileURL(args.path).href);
      const [file, dir] = [JSON.stringify(args.path), JSON.stringify(dirname(args.path))];
      const { code } = await esbuild.transform(source, {
        loader: LOADERS[extname(args.path)] ?? 'js',
        sourcefile: args.path,
        sourcemap: 'inline',
        define: { 'import.meta.url': url, 'import.meta.filename': file, 'import.meta.dirname': dir, __filename: file, __dirname: dir },
      });
      return { contents: code, loader: 'js', resolveDir: dirname(args.path) };
    });
  },
};

/** A cycle of imports among `files` reachable from `entry`, depth first; undefined when there is none. */
function findCycle(entry: string, importsOf: (file: string) => string[], files: ReadonlySet<string>): string[] | undefined {
  const path: string[] = [];
  const done = new Set<string>();
  const visit = (file: string): string[] | undefined => {
    const open = path.indexOf(file);
    if (open >= 0) return [...path.slice(open), file];
    if (done.has(file) || !files.has(file)) return undefined;
    path.push(file);
    for (const next of importsOf(file)) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    done.add(file);
    return undefined;
  };
  return visit(entry);
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
