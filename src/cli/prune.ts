/**
 * `mugraph prune [globs]`: deletes the lock entries that no matched tensor module
 * references for any of the configured targets (default globs: every `*.tensor.*` under the current directory, so narrow
 * globs prune more). `--dry-run` lists them only. A module that fails to evaluate stops
 * the prune, since its entries would look unreferenced.
 *
 * Exit codes: 0 done, 2 an invalid module (nothing deleted).
 */
import { programKey } from '../build/build-module.js';
import { KernelStore } from '../cache/store.js';
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
  /** Keys deleted (or that would be, with dryRun). */
  readonly pruned: readonly string[];
}

export async function prune(options: PruneOptions): Promise<PruneReport> {
  const resolved = await lockCommandOptions(options);
  const store = new KernelStore(resolved.lockDir, resolved.cacheDir);
  const progress = createProgress(options.log);
  const referenced = new Set<string>();
  const files = await findTensorModules(resolved.root, options.globs);
  try {
    for (const [index, file] of files.entries()) {
      progress.status(`[${index + 1}/${files.length}] ${displayPath(resolved.root, file)}`);
      try {
        for (const { program } of (await loadTensorModule(file)).programs) {
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
  const pruned = (await store.keys()).filter((key) => !referenced.has(key));
  for (const key of pruned) {
    if (!options.dryRun) await store.remove(key);
    options.log(`${options.dryRun ? 'would delete' : 'deleted'} ${displayPath(resolved.root, store.fileFor(key))}`);
  }
  options.log(`${files.length} modules, ${referenced.size} entries referenced, ${pruned.length} ${options.dryRun ? 'unreferenced' : 'pruned'}`);
  return { exitCode: 0, pruned };
}
