/**
 * `mugraph verify [globs]`: re-verifies the lock entries of the tensor modules matched.
 * Every target's entry of each program is validated (schema, content hash, key, μGraph) and
 * checked as a build's lock hit is (cache/lock-hit.ts: interface, target limits, the report's
 * counts, the μGraph the compiler would choose), its WGSL regenerated from the μGraph, and
 * then both checks run again, whatever this machine verified before:
 *   - the finite-field verifier at the μGraph's full shape, two seeds (build/equivalence-check.ts):
 *     the μGraph computes the program (catches an entry edited and re-sealed into computing
 *     something else, whatever the compiler), and the entry records that verdict;
 *   - the GPU reference check (build/reference-check.ts): the regenerated kernels run on the
 *     local WebGPU adapter against the float64 reference. Without an adapter it is skipped,
 *     and the summary says so.
 * An entry that passes the verifier is marked verified on this machine (cache/verified.ts),
 * so that builds here do not verify it again.
 * Entries that no matched module references are validated and listed (see prune). The
 * lock is not modified. The scratch cache is not verified (it is not committed), but a
 * program missing from the lock that the scratch cache has (compiled by the dev server) or
 * that the lock has in an older format is reported as such, with the fix. "N kernels" is
 * the number of kernel launches, the count warm and the build report too.
 *
 * Exit codes: 0 all verified, 1 a missing, corrupt or failing entry, 2 an invalid module.
 */
import { legacyEntry, programKey } from '../build/build-module.js';
import { kernelLaunches } from '../build/compiler.js';
import type { ResolvedOptions } from '../build/options.js';
import { OutdatedEntryError } from '../cache/entry.js';
import { checkCompilerChoice, checkLockHit, type HitEquivalence, regenerateEntry, verifyLockHit } from '../cache/lock-hit.js';
import { KernelStore } from '../cache/store.js';
import type { Program } from '../frontend/program.js';
import type { TargetProfile } from '../ugraph/target.js';
import { referenceCheck } from '../build/reference-check.js';
import { loadTensorModule } from '../frontend/load-module.js';
import { createNodeDevice, type NodeGpu } from '../gpu/node-device.js';
import { displayPath, findTensorModules, lockCommandOptions, type LockCommandFlags, messageOf } from './modules.js';
import { createProgress } from './progress.js';
import { milliseconds } from './warm.js';

export interface VerifyOptions extends LockCommandFlags {
  readonly globs: readonly string[];
  readonly log: (line: string) => void;
}

export interface VerifyReport {
  readonly exitCode: 0 | 1 | 2;
  readonly verified: number;
  readonly failed: number;
}

export async function verify(options: VerifyOptions): Promise<VerifyReport> {
  const resolved = await lockCommandOptions(options);
  const store = new KernelStore(resolved.lockDir, resolved.cacheDir);
  const lock = store.primary;
  const progress = createProgress(options.log);
  const gpu = await createNodeDevice().catch((error: unknown) => {
    progress.log(`note: no WebGPU adapter (${messageOf(error).split('\n')[0]}); entries are validated and regenerated, not run`);
    return undefined;
  });
  if (gpu) progress.log(`adapter: ${gpu.adapterInfo}`);
  const files = await findTensorModules(resolved.root, options.globs);
  const referenced = new Set<string>();
  let verified = 0;
  let failed = 0;
  let invalid = false;
  const fail = (line: string) => {
    failed++;
    progress.log(line);
  };
  try {
    for (const [index, file] of files.entries()) {
      progress.status(`[${index + 1}/${files.length}] ${displayPath(resolved.root, file)}`);
      let programs;
      try {
        programs = (await loadTensorModule(file, { timeoutMs: resolved.evaluateTimeoutMs })).programs;
      } catch (error) {
        invalid = true;
        progress.log(`error: ${messageOf(error)}`);
        continue;
      }
      progress.log(displayPath(resolved.root, file));
      const builds = programs.flatMap(({ program }) => resolved.targets.map((target) => ({ program, target })));
      for (const { program, target } of builds) {
        const key = programKey(program, resolved, target);
        referenced.add(key);
        const label = resolved.targets.length > 1 ? `${program.name} [${target.name}]` : program.name;
        try {
          const stored = await lock.read(key);
          if (!stored) {
            fail(`  MISSING  ${label}: ${await whyMissing(store, resolved, program, target, key, referenced)}; run \`npx mugraph warm ${displayPath(resolved.root, file)}\``);
            continue;
          }
          checkLockHit(stored, program, target);
          const compiled = regenerateEntry(stored, program);
          progress.status(`[${index + 1}/${files.length}] ${displayPath(resolved.root, file)}  ${label}: finite-field verifier`);
          const equivalence = await verifyLockHit(stored, program, target, store.verified, { force: true });
          checkCompilerChoice(stored, program, target);
          const line = gpu ? await checkLine(program, compiled, gpu) : { pass: true, text: 'not run on an adapter' };
          if (line.pass) verified++;
          const text = `${fieldLine(equivalence)}; ${line.text}`;
          (line.pass ? progress.log : fail)(`  ${line.pass ? 'OK  ' : 'FAIL'}     ${label}  ${kernelCount(kernelLaunches(compiled))}  ${text}  (${displayPath(resolved.root, stored.file)})`);
        } catch (error) {
          fail(`  FAIL     ${label}: ${messageOf(error)}`);
        }
      }
    }
    for (const key of (await lock.keys()).filter((k) => !referenced.has(k))) {
      try {
        await lock.read(key);
        progress.log(`unreferenced entry ${displayPath(resolved.root, lock.fileFor(key))} (valid; \`mugraph prune\` removes it)`);
      } catch (error) {
        // Left behind by another mugraph version: stale, not damaged, and nothing reads it.
        if (error instanceof OutdatedEntryError) progress.log(`unreferenced entry ${messageOf(error)} (\`mugraph prune\` removes it)`);
        else fail(`error: ${messageOf(error)}`);
      }
    }
  } finally {
    progress.done();
    gpu?.destroy();
  }
  options.log(`${verified + failed} entries: ${verified} verified (finite-field verifier${gpu ? ' and reference check on the adapter' : '; reference check not run: no adapter'}), ${failed} failed`);
  return { exitCode: invalid ? 2 : failed > 0 ? 1 : 0, verified, failed };
}

/** Why the lock has no entry for the program, in words; an entry of an older format found for it counts as referenced. */
async function whyMissing(store: KernelStore, options: ResolvedOptions, program: Program, target: TargetProfile, key: string, referenced: Set<string>) {
  const legacy = await legacyEntry(program, options, target, store.primary);
  if (legacy) {
    referenced.add(legacy.key);
    return `only an entry in lock format ${legacy.format}, written by an older mugraph (${displayPath(options.root, legacy.file)}), which warm replaces`;
  }
  if (store.primary !== store.scratch && await store.scratch.has(key)) return 'not in the lock, but in the scratch cache (compiled by the dev server), from which warm adds it';
  return 'no entry';
}

async function checkLine(program: Parameters<typeof referenceCheck>[0], compiled: Parameters<typeof referenceCheck>[1], gpu: NodeGpu) {
  const result = await referenceCheck(program, compiled, gpu);
  const text = result.variants.map((v) => `${v.variant} rel L2 ${v.relL2Error.toExponential(2)}${v.pass ? '' : ` > ${v.tolerance.toExponential(0)}`}`).join(', ');
  return { pass: result.pass, text: `reference check seeds ${result.seeds.join(',')}: ${text}` };
}

/** `equivalent (2 seeds, bound 3.3e-11) 0.41 s`: what the finite-field verifier found and how long it took. */
function fieldLine(equivalence: HitEquivalence): string {
  const record = equivalence.finding?.record;
  const detail = record?.verdict === 'equivalent'
    ? `${record.seeds.length} seeds, bound ${record.falseAcceptBound.toExponential(1)}`
    : 'per-operator lowering, trusted';
  return `field ${equivalence.verdict} (${detail}) ${milliseconds(equivalence.ms)}`;
}

function kernelCount(n: number): string {
  return `${n} kernel${n === 1 ? '' : 's'}`;
}
