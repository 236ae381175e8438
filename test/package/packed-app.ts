/**
 * A fresh Vite app that installs mugraph as a user does: from the tarball `npm pack` makes
 * of this repository (dist/, bin/, schema/, LICENSE, package.json), with vite and typescript
 * from the npm registry (`--prefer-offline`: the npm cache serves what it has), and without
 * `webgpu`, the optional peer dependency. Nor does it install @webgpu/types: mugraph depends
 * on it and its declarations reference it, so GPUDevice and `navigator.gpu` type-check
 * without the app listing it. packed-app.test.ts builds it;
 * other tests can add files and run commands in it:
 *
 *   const tarball = await packMugraph(scratch);
 *   const app = await createPackedApp(scratch, tarball, { 'src/misuse.ts': '...' });
 *   const result = await runIn(app, 'node_modules/.bin/tsc', ['--noEmit', '-p', '.']);
 *
 * The app: a tensor module (src/model/scale.tensor.ts) that the page (index.html,
 * src/main.ts) runs where the browser has WebGPU; the plugin's options in
 * mugraph.config.ts (TypeScript: the CLI's --config loads it, and both Vite configs import
 * it, so the lock keys match); vite.config.ts (an ES module) and vite.config.cjs
 * (CommonJS); a strict tsconfig.json over src/ (noUncheckedIndexedAccess, no skipLibCheck),
 * for `tsc --noEmit -p .`.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../plugin/dist.js';

const exec = promisify(execFile);

/** The version of a package this repository has installed: the app installs the same, which the npm cache has. */
function installedVersion(name: string): string {
  return (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
}

/** What the app installs besides mugraph. */
export const APP_DEPENDENCIES = ['vite', 'typescript'].map((name) => `${name}@${installedVersion(name)}`);

const APP_FILES: Readonly<Record<string, string>> = {
  'package.json': `${JSON.stringify({ name: 'packed-app', private: true, type: 'module' }, null, 2)}\n`,
  'index.html': '<!doctype html>\n<html>\n  <body>\n    <pre id="out"></pre>\n    <script type="module" src="/src/main.ts"></script>\n  </body>\n</html>\n',
  'src/model/scale.tensor.ts': [
    "import { tensorProgram } from 'mugraph';",
    '',
    "export default tensorProgram('scale_rows', (g) => {",
    "  const x = g.input('x', [2, 4], 'f32');",
    '  return { y: g.scale(g.relu(x), 2) };',
    '});',
    '',
  ].join('\n'),
  'src/main.ts': [
    "import scaleRows from './model/scale.tensor';",
    '',
    "const out = document.querySelector('#out')!;",
    'const adapter = await navigator.gpu?.requestAdapter();',
    'if (adapter) {',
    '  const program = await scaleRows.load(await adapter.requestDevice());',
    '  const { y } = await program.run({ x: new Float32Array([-1, 1, -2, 2, -3, 3, -4, 4]) });',
    "  out.textContent = Array.from(y).join(' ');", // typed: y is there, even under noUncheckedIndexedAccess
    '} else {',
    "  out.textContent = 'no WebGPU';",
    '}',
    '',
  ].join('\n'),
  'mugraph.config.ts': [
    "import { webgpuDefaults, type TargetProfile } from 'mugraph';",
    '',
    'const target: TargetProfile = webgpuDefaults;',
    '',
    "export default { lockDir: 'kernels.lock', target };",
    '',
  ].join('\n'),
  'vite.config.ts': [
    "import mugraph from 'mugraph/vite';",
    "import { defineConfig } from 'vite';",
    "import options from './mugraph.config';",
    '',
    "export default defineConfig({ plugins: [mugraph(options)], build: { target: 'es2022' } });",
    '',
  ].join('\n'),
  'vite.config.cjs': [
    "const mugraph = require('mugraph/vite');",
    "const options = require('./mugraph.config.ts').default;",
    '',
    "module.exports = { plugins: [mugraph(options)], build: { target: 'es2022' } };",
    '',
  ].join('\n'),
  // The app's code, strict, and without skipLibCheck: mugraph's declarations must check as they are.
  'tsconfig.json': `${JSON.stringify({
    compilerOptions: {
      target: 'ES2022', module: 'ESNext', moduleResolution: 'bundler', lib: ['ES2023', 'DOM'], types: ['vite/client'],
      strict: true, noUncheckedIndexedAccess: true, noEmit: true,
    },
    include: ['src'],
  }, null, 2)}\n`,
};

/** `npm pack` of this repository (dist/ as built: the prepare script is not run) into `destination`; the tarball's path. */
export async function packMugraph(destination: string): Promise<string> {
  const { stdout } = await exec('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', destination], { cwd: ROOT, env: toolEnv() });
  const [packed] = JSON.parse(stdout) as { filename: string }[];
  return join(destination, packed!.filename);
}

/** A new directory under `parent` with the app's files (and `extraFiles`, which may replace them), mugraph from `tarball` and APP_DEPENDENCIES installed. */
export async function createPackedApp(parent: string, tarball: string, extraFiles: Readonly<Record<string, string>> = {}): Promise<string> {
  const dir = await mkdtemp(join(parent, 'app-'));
  await writeFiles(dir, { ...APP_FILES, ...extraFiles });
  await npmInstall(dir, [tarball, ...APP_DEPENDENCIES]);
  return dir;
}

/** A new directory under `parent` whose package.json has only `dependencies` installed into it. */
export async function createProject(parent: string, dependencies: readonly string[]): Promise<string> {
  const dir = await mkdtemp(join(parent, 'project-'));
  await writeFiles(dir, { 'package.json': APP_FILES['package.json']! });
  await npmInstall(dir, dependencies);
  return dir;
}

async function writeFiles(dir: string, files: Readonly<Record<string, string>>): Promise<void> {
  for (const [name, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), text);
  }
}

async function npmInstall(dir: string, specs: readonly string[]): Promise<void> {
  await exec('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', ...specs], { cwd: dir, env: toolEnv() });
}

export interface RunResult {
  readonly code: number;
  /** stdout then stderr. */
  readonly output: string;
}

/** Runs `command` (relative to the app, e.g. node_modules/.bin/vite, or on the PATH) in `dir`; never rejects for a non-zero exit. */
export async function runIn(dir: string, command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  const executable = command.includes('/') ? join(dir, command) : command;
  try {
    const { stdout, stderr } = await exec(executable, args, { cwd: dir, env: { ...toolEnv(), ...env } });
    return { code: 0, output: `${stdout}${stderr}` };
  } catch (error) {
    const e = error as { code?: unknown; stdout?: string; stderr?: string; message: string };
    if (typeof e.code !== 'number') throw error; // did not start
    return { code: e.code, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/** Disk usage of `dir` in MiB, as `du` counts it (what the install-weight figures are in). */
export async function diskUsageMiB(dir: string): Promise<number> {
  const { stdout } = await exec('du', ['-sk', dir]);
  return Number(stdout.split('\t')[0]) / 1024;
}

/**
 * This process's environment without what the test runner sets, which would change what the
 * app's tools do: NODE_ENV=test and VITEST* (Vite builds differently under them), and CI
 * (frozen builds: each command sets it as it needs).
 */
function toolEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (key === 'NODE_ENV' || key === 'CI' || key.startsWith('VITEST')) delete env[key];
  return env;
}
