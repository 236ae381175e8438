/**
 * The files the evaluation worker runs (evaluate-pool.ts): its entry (evaluate-worker.ts)
 * and this package's entry points `mugraph` and `mugraph/runtime`, which every module it
 * evaluates imports (bundle.ts leaves them out of the module's bundle and points the
 * module at these files), so the DSL is loaded once per worker, not bundled per module.
 *
 * Run from dist/ (as users get it) they are the files themselves. Run from the TypeScript
 * sources (vitest), Node 20 cannot load a .ts worker, so the three are bundled once per
 * process (one esbuild build, shared chunks, inline source maps so stacks name src/) into
 * this repository's node_modules/.cache, in a folder named by the output's content and
 * written whole (rename), so that processes running at once share it and none reads half
 * of one. Never in a shared temporary directory (see load-module.ts).
 */
import { existsSync } from 'node:fs';
import { mkdir, realpath, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { OWN_EXTENSION, ownFile, realLocationPlugin, REQUIRE_BANNER } from './bundle.js';
import { hashString } from '../ir/hash.js';

/** What a module may import from this package, by specifier: absolute paths of loadable ES modules. */
export type PackageFiles = Readonly<Record<'mugraph' | 'mugraph/runtime', string>>;

export interface EvaluatorFiles {
  /** The worker's entry (absolute path). */
  readonly worker: string;
  readonly packages: PackageFiles;
}

const SOURCES = { worker: ownFile('./evaluate-worker'), packages: { mugraph: ownFile('../index'), 'mugraph/runtime': ownFile('../runtime/index') } };

const CACHE = join(fileURLToPath(new URL('../../', import.meta.url)), 'node_modules', '.cache', 'mugraph-evaluator');

let files: Promise<EvaluatorFiles> | undefined;

/** The worker's files, built on first use when running from the sources. */
export function evaluatorFiles(): Promise<EvaluatorFiles> {
  files ??= OWN_EXTENSION === '.js' ? Promise.resolve(SOURCES) : bundleFromSources().catch((error: unknown) => {
    files = undefined; // a later call tries again
    throw error;
  });
  return files;
}

async function bundleFromSources(): Promise<EvaluatorFiles> {
  // Its real path (node_modules may be a link), as Node will load the files from there: the source maps' relative paths start at it.
  const cache = await mkdir(CACHE, { recursive: true }).then(() => realpath(CACHE));
  const built = await esbuild.build({
    entryPoints: { worker: SOURCES.worker, mugraph: SOURCES.packages.mugraph, runtime: SOURCES.packages['mugraph/runtime'] },
    // Nothing is written here: the files go to a sibling folder (below), at the same depth, so the source maps' relative paths hold.
    outdir: join(cache, 'out'),
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    sourcemap: 'inline',
    sourcesContent: false,
    logLevel: 'silent',
    banner: { js: REQUIRE_BANNER },
    // site.ts finds this package's own frames from its import.meta.url: keep it the real one.
    plugins: [realLocationPlugin],
  });
  const outputs = built.outputFiles.map((f) => ({ name: relative(join(cache, 'out'), f.path), text: f.text }));
  const dir = join(cache, hashString(outputs.map((o) => `${o.name}\n${o.text}`).join('\n')));
  if (!existsSync(dir)) {
    const partial = `${dir}.${process.pid}.${Date.now()}.tmp`;
    for (const { name, text } of outputs) {
      await mkdir(dirname(join(partial, name)), { recursive: true });
      await writeFile(join(partial, name), text);
    }
    // Another process may have written the same folder meanwhile: its copy is identical.
    await rename(partial, dir).catch(() => rm(partial, { recursive: true, force: true }));
  }
  return { worker: join(dir, 'worker.mjs'), packages: { mugraph: join(dir, 'mugraph.mjs'), 'mugraph/runtime': join(dir, 'runtime.mjs') } };
}
