/**
 * Lock entries for the cache tests: a small program, a build context on a temporary lock
 * directory (frozen or not, or with any options), a real entry compiled into it, a snapshot
 * of a directory (to show it untouched), and `reseal`, which edits an entry and recomputes
 * its content hash as anyone can (the attacker's move).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type BuildContext, createBuildContext, ensureEntry, type ProgramBuild } from '../../src/build/build-module.js';
import { type MugraphOptions, resolveOptions } from '../../src/build/options.js';
import { type LockEntry, sealEntry, serializeEntry } from '../../src/cache/entry.js';
import type { Program } from '../../src/frontend/program.js';
import { tensorProgram } from '../../src/index.js';
import type { TargetProfile } from '../../src/ugraph/target.js';

export const PROJECT = join(import.meta.dirname, '../../fixtures/projects/basic');
export const MODULE = join(PROJECT, 'src/model/small.tensor.ts');

/** z = (x + y) · c on f32[4, 8]; other names give the same key. */
export function scaledProgram(names = ['x', 'y'], c = 0.5): Program {
  return tensorProgram('scaled', (g) => {
    const x = g.input(names[0]!, [4, 8], 'f32');
    const y = g.input(names[1]!, [4, 8], 'f32');
    return { [names[0] === 'x' ? 'z' : 'out']: g.scale(g.add(x, y), c) };
  }).program as Program; // the DSL's Program: tensorProgram() is typed as what a built module also is
}

export function lockContext(lockDir: string, frozen: boolean, target?: TargetProfile): BuildContext {
  return contextWith({ lockDir, frozen, ...(target ? { target } : {}) });
}

/** A build context on the fixture project with `options` (not frozen, silent, unless they say otherwise). */
export function contextWith(options: MugraphOptions): BuildContext {
  return createBuildContext(resolveOptions({ root: PROJECT, frozen: false, onProgram: () => {}, ...options }, {}));
}

/** Every file in `dir` (none when it does not exist) with its bytes and modification time: what "untouched" compares. */
export async function snapshot(dir: string): Promise<Record<string, { text: string; mtimeMs: number }>> {
  const names = await readdir(dir).catch(() => []);
  return Object.fromEntries(await Promise.all(names.sort().map(async (name) =>
    [name, { text: await readFile(join(dir, name), 'utf8'), mtimeMs: (await stat(join(dir, name))).mtimeMs }] as const)));
}

/** A freshly compiled entry for `program` in `lockDir`, and its file's text. */
export async function compiledEntry(lockDir: string, program: Program = scaledProgram()): Promise<{ built: Omit<ProgramBuild, 'exportName'>; text: string }> {
  const built = await ensureEntry(program, MODULE, lockContext(lockDir, false));
  return { built, text: await readFile(built.file, 'utf8') };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends object ? Mutable<T[K]> : T[K] };

/** The entry's file text after `edit`, sealed with a correct content hash. */
export function reseal(entry: LockEntry, edit: (entry: Mutable<LockEntry>) => void): string {
  const { contentHash: _, ...unsealed } = structuredClone(entry) as Mutable<LockEntry>;
  const copy = unsealed as Mutable<LockEntry>;
  edit(copy);
  return serializeEntry(sealEntry(copy as LockEntry));
}
