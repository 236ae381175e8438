/**
 * The plugin tests build with the published entries (`mugraph/vite`, ... from dist/), so
 * dist/ must be current: `ensureBuilt` runs `npm run build`'s two tsc steps unless dist/ is
 * newer than every file under src/ and plugin/ (`npm test` has just built it).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '../..');
const OUTPUTS = ['dist/plugin/index.js', 'dist/cache/index.js', 'dist/cli/main.js'].map((f) => join(ROOT, f));

export function ensureBuilt(): void {
  const newestSource = Math.max(...['src', 'plugin'].flatMap((folder) =>
    readdirSync(join(ROOT, folder), { recursive: true, encoding: 'utf8' }).map((f) => statSync(join(ROOT, folder, f)).mtimeMs)));
  if (OUTPUTS.every((f) => existsSync(f) && statSync(f).mtimeMs >= newestSource)) return;
  for (const project of ['tsconfig.build.json', 'tsconfig.plugin.json']) {
    // tsc emits even when another file has a type error; only a missing output is fatal here.
    try {
      execFileSync('npx', ['tsc', '-p', project], { cwd: ROOT, stdio: 'pipe' });
    } catch {
      // reported below if it matters
    }
  }
  const missing = OUTPUTS.filter((f) => !existsSync(f));
  if (missing.length > 0) throw new Error(`building dist/ failed (${missing.join(', ')} missing): run \`npm run build\``);
}
