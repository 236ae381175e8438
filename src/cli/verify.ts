/**
 * `mugraph verify [globs]`: re-verifies the lock entries of the tensor modules matched.
 * Every target's entry of each program is validated (schema, content hash, key, μGraph) and
 * checked as a build's lock hit is (cache/lock-hit.ts: interface, target limits, the μGraph
 * the compiler would choose), its WGSL regenerated from the μGraph, and the result run on
 * the local WebGPU adapter against the float64 reference: the one check that catches an
 * entry edited and re-sealed into computing something else whatever the compiler. Without
 * an adapter only the validation, the checks and regeneration run, and the summary says so.
 * Entries that no matched module references are validated and listed (see prune). The
 * lock is not modified.
 *
 * Exit codes: 0 all verified, 1 a missing, corrupt or failing entry, 2 an invalid module.
 */
import { programKey } from '../build/build-module.js';
import { checkLockHit, regenerateEntry } from '../cache/lock-hit.js';
import { KernelStore } from '../cache/store.js';
import { referenceCheck } from '../build/verify.js';
import { loadTensorModule } from '../frontend/load-module.js';
import { createNodeDevice, type NodeGpu } from '../gpu/node-device.js';
import { displayPath, findTensorModules, lockCommandOptions, type LockCommandFlags, messageOf } from './modules.js';
import { createProgress } from './progress.js';

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
          const stored = await store.read(key);
          if (!stored) {
            fail(`  MISSING  ${label}: no entry; run \`npx mugraph warm ${displayPath(resolved.root, file)}\``);
            continue;
          }
          checkLockHit(stored, program, target);
          const compiled = regenerateEntry(stored, program);
          const line = gpu ? await checkLine(program, compiled, gpu) : { pass: true, text: 'regenerated (not run)' };
          if (line.pass) verified++;
          (line.pass ? progress.log : fail)(`  ${line.pass ? 'OK  ' : 'FAIL'}     ${label}  ${compiled.kernels.length} kernels  ${line.text}  (${displayPath(resolved.root, stored.file)})`);
        } catch (error) {
          fail(`  FAIL     ${label}: ${messageOf(error)}`);
        }
      }
    }
    for (const key of (await store.keys()).filter((k) => !referenced.has(k))) {
      try {
        await store.read(key);
        progress.log(`unreferenced entry ${displayPath(resolved.root, store.fileFor(key))} (valid; \`mugraph prune\` removes it)`);
      } catch (error) {
        fail(`error: ${messageOf(error)}`);
      }
    }
  } finally {
    progress.done();
    gpu?.destroy();
  }
  options.log(`${verified + failed} entries: ${verified} verified${gpu ? ' on the adapter' : ' (not run: no adapter)'}, ${failed} failed`);
  return { exitCode: invalid ? 2 : failed > 0 ? 1 : 0, verified, failed };
}

async function checkLine(program: Parameters<typeof referenceCheck>[0], compiled: Parameters<typeof referenceCheck>[1], gpu: NodeGpu) {
  const result = await referenceCheck(program, compiled, gpu);
  const text = result.variants.map((v) => `${v.variant} rel L2 ${v.relL2Error.toExponential(2)}${v.pass ? '' : ` > ${v.tolerance.toExponential(0)}`}`).join(', ');
  return { pass: result.pass, text: `seeds ${result.seeds.join(',')}: ${text}` };
}
