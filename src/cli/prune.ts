/**
 * `mugraph prune [globs]`: deletes the lock entries that no matched tensor module
 * references for any of the configured targets (default globs: every `*.tensor.*` under
 * the current directory, so narrow globs prune more). It lists what it will delete before
 * deleting anything; `--dry-run` only lists. It deletes nothing when a module fails to
 * evaluate (its entries would look unreferenced) or when the globs match no tensor module
 * (then every entry would look unreferenced: a mistyped glob must not empty the lock).
 *
 * It tidies the scratch cache too: the entries the dev server compiled there that no
 * module references any more, or that the lock now has (`mugraph warm` added them).
 *
 * Exit codes: 0 done, 2 an invalid module or globs that match no module (nothing deleted).
 */
import { programKey } from '../build/build-module.js';
import { type EntryDirectory, KernelStore } from '../cache/store.js';
import { loadTensorModule } from '../frontend/load-module.js';
import { displayPath, findTensorModules, lockCommandOptions, type LockCommandFlags, messageOf } from './modules.js';
import { createProgress } from './progress.js';

export interface PruneOptions extends LockCommandFlags {
  readonly globs: readonly string[];
  readonly dryRun?: boolean;
  readonly log: (line: string) => void;
}

export interface PruneReport {
  readonly exitCode: 0 | 2;
  /** Entry files deleted (or that would be, with dryRun): the lock's, then the scratch cache's. */
  readonly pruned: readonly string[];
}

export async function prune(options: PruneOptions): Promise<PruneReport> {
  const resolved = await lockCommandOptions(options);
  const store = new KernelStore(resolved.lockDir, resolved.cacheDir);
  const progress = createProgress(options.log);
  const referenced = new Set<string>();
  const files = await findTensorModules(resolved.root, options.globs);
  if (files.length === 0) {
    const globs = options.globs.length > 0 ? options.globs.map((g) => JSON.stringify(g)).join(' ') : 'the default glob';
    options.log(`error: ${globs} matched no tensor module under ${resolved.root}; nothing pruned (every entry would look unreferenced)`);
    return { exitCode: 2, pruned: [] };
  }
  try {
    for (const [index, file] of files.entries()) {
      progress.status(`[${index + 1}/${files.length}] ${displayPath(resolved.root, file)}`);
      try {
        for (const { program } of (await loadTensorModule(file, { timeoutMs: resolved.evaluateTimeoutMs })).programs) {
          for (const target of resolved.targets) referenced.add(programKey(program, resolved, target));
        }
      } catch (error) {
        progress.log(`error: ${messageOf(error)}\nnothing pruned: fix the module first (its entries would look unreferenced)`);
        return { exitCode: 2, pruned: [] };
      }
    }
  } finally {
    progress.done();
  }
  const pruned = await prunable(store, referenced);
  // Everything to be deleted is listed before the first deletion.
  for (const { dir, key } of pruned) options.log(`${options.dryRun ? 'would delete' : 'deleting'} ${displayPath(resolved.root, dir.fileFor(key))}`);
  if (!options.dryRun) {
    for (const { dir, key } of pruned) await dir.remove(key);
  }
  options.log(`${files.length} modules, ${referenced.size} entries referenced, ${pruned.length} ${options.dryRun ? 'unreferenced (dry run: nothing deleted)' : 'pruned'}`);
  return { exitCode: 0, pruned: pruned.map(({ dir, key }) => dir.fileFor(key)) };
}

/** The lock's entries no module references; the scratch cache's that none references or that the lock has. */
async function prunable(store: KernelStore, referenced: ReadonlySet<string>): Promise<{ dir: EntryDirectory; key: string }[]> {
  const { lock, primary, scratch } = store;
  const unreferenced = (await primary.keys()).filter((key) => !referenced.has(key)).map((key) => ({ dir: primary, key }));
  if (lock === undefined) return unreferenced;
  const inLock = new Set(await lock.keys());
  const redundant = (await scratch.keys()).filter((key) => !referenced.has(key) || inLock.has(key)).map((key) => ({ dir: scratch, key }));
  return [...unreferenced, ...redundant];
}
