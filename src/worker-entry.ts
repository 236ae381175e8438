/**
 * Where a worker thread's entry module is, for the tinypool pools (the verifier's seeds,
 * the search's parts). Run from dist/, it is the compiled `.js` beside the others. Run from
 * the TypeScript sources (vitest), Node 20 cannot load a `.ts` worker, so the entry is
 * bundled with esbuild into the temporary directory, under a name derived from its content
 * (one file per version of the sources, shared by every process, written whole by a rename
 * so that no process reads half of one).
 *
 * A bundled worker can itself start a pool (a search worker verifies, and the verifier
 * has workers of its own): the bundle's `import.meta.url` is the temporary file, so the
 * bundle carries the sources' location in a global that this module reads first.
 */
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { hashString } from './ir/hash.js';

const SOURCES_GLOBAL = '__mugraphSourceRoot';

/** The URL of src/ when running from the TypeScript sources (directly, or in a bundle built here); undefined from dist/. */
const sourceRoot: string | undefined = (globalThis as Record<string, unknown>)[SOURCES_GLOBAL] as string | undefined
  ?? (import.meta.url.endsWith('.ts') ? new URL('.', import.meta.url).href : undefined);

/** The file URL of the worker entry `entry` (a path under src/ without its extension, e.g. 'search/search-worker'). */
export async function workerEntry(entry: string): Promise<string> {
  if (sourceRoot === undefined) return new URL(`${entry}.js`, new URL('.', import.meta.url)).href;
  const esbuild = await import('esbuild');
  const built = await esbuild.build({
    entryPoints: [fileURLToPath(new URL(`${entry}.ts`, sourceRoot))],
    bundle: true, platform: 'node', format: 'esm', target: 'node20', write: false, logLevel: 'silent',
    banner: { js: `globalThis.${SOURCES_GLOBAL} = ${JSON.stringify(sourceRoot)};` },
  });
  const code = built.outputFiles[0]!.text;
  const file = join(tmpdir(), `mugraph-${entry.replace(/\W/g, '-')}-${hashString(code)}.mjs`);
  if (!existsSync(file)) {
    const partial = `${file}.${process.pid}.${Date.now()}.tmp`;
    writeFileSync(partial, code);
    renameSync(partial, file);
  }
  return pathToFileURL(file).href;
}
