/**
 * The demo's two builds. Both go through the mugraph plugin as an app gets it (`mugraph/vite`,
 * i.e. dist/) with the playground's options (playground/mugraph.config.js), so both read the
 * same kernel lock, playground/mugraph.lock:
 *   1. the kernels: an SSR (Node-target) Vite build of kernels.ts, which imports the same
 *      tensor modules as the page, into a temporary folder. Its output is what the demo runs,
 *      and its plugin reports per program whether the lock had it ('hit') or it was compiled.
 *   2. the playground itself, with its own vite.config.ts, into playground/dist/.
 * The kernel build goes first because its lock statuses are the ones the table reports;
 * the page's build then finds every entry in the lock.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Plugin } from 'vite';
import { type MugraphOptions, printProgramEvent, type ProgramEvent } from '../../src/build/options.js';

/** The repository root: the nearest folder above this file whose package.json is mugraph's (from source or from .build/). */
export const REPO_ROOT = findRepoRoot(dirname(fileURLToPath(import.meta.url)));
export const PLAYGROUND = join(REPO_ROOT, 'playground');
export const PLAYGROUND_OPTIONS_FILE = join(PLAYGROUND, 'mugraph.config.js');
/** What fixes a frozen build's missing entry here (MissingEntryError names the generic `mugraph warm`). */
export const WARM_COMMAND = 'npm run playground:warm';

function findRepoRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'mugraph') return dir;
    if (dirname(dir) === dir) throw new Error(`demo: no mugraph package.json above ${start}`);
  }
}

/** The playground's plugin options. Imported at run time: from .build/ a relative import would miss the file. */
export async function playgroundOptions(): Promise<MugraphOptions> {
  const module = (await import(pathToFileURL(PLAYGROUND_OPTIONS_FILE).href)) as { default?: MugraphOptions };
  if (module.default === undefined) throw new Error(`${PLAYGROUND_OPTIONS_FILE}: no default export (the plugin's options)`);
  return module.default;
}

/** The published Vite entry, from dist/. Typed here so that type-checking the demo does not need dist/. */
async function vitePlugin(): Promise<(options: MugraphOptions) => Plugin> {
  const module = (await import('mugraph/vite' as string)) as { default: (options: MugraphOptions) => Plugin };
  return module.default;
}

export interface KernelBuild {
  /** kernels.ts's `modules`: glob path (relative to playground/demo/) -> the generated module's exports. */
  readonly modules: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** One per program the plugin built, in build order. */
  readonly events: readonly ProgramEvent[];
  /** The bundle that was imported. */
  readonly file: string;
}

export interface KernelBuildRequest {
  readonly options: MugraphOptions;
  /** Never compile: a missing lock entry fails the build (as in CI, where `CI` already implies it). */
  readonly frozen: boolean;
  /** A fresh folder for the bundle. */
  readonly outDir: string;
}

export async function buildKernels({ options, frozen, outDir }: KernelBuildRequest): Promise<KernelBuild> {
  const events: ProgramEvent[] = [];
  const root = options.root ?? PLAYGROUND;
  const mugraph = await vitePlugin();
  const onProgram = (event: ProgramEvent) => {
    events.push(event);
    printProgramEvent(event, root); // compiles and rebuilds, as the plugin prints them by default
  };
  await build({
    root,
    configFile: false,
    logLevel: 'warn',
    plugins: [mugraph({ ...options, ...(frozen ? { frozen: true } : {}), onProgram })],
    build: { ssr: join(PLAYGROUND, 'demo', 'kernels.ts'), outDir, emptyOutDir: true, minify: false, target: 'node20' },
  });
  const file = join(outDir, 'kernels.js');
  if (!existsSync(file)) throw new Error(`demo: the kernel build wrote no ${file}`);
  const bundle = (await import(pathToFileURL(file).href)) as { modules?: KernelBuild['modules'] };
  if (bundle.modules === undefined) throw new Error(`${file}: no \`modules\` export (see playground/demo/kernels.ts)`);
  return { modules: bundle.modules, events, file };
}

/** `npm run playground:build`'s Vite step: the page, with playground/vite.config.ts. */
export async function buildPlayground(outDir: string): Promise<void> {
  await build({ configFile: join(PLAYGROUND, 'vite.config.ts'), mode: 'production', logLevel: 'warn', build: { outDir, emptyOutDir: true } });
}
