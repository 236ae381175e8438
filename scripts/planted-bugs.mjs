#!/usr/bin/env node
// Plants one bug at a time in the code the hardening work touched, runs the tests that should
// catch it, and reports whether they did; every file is restored afterwards (also on Ctrl-C).
// A plant whose text is no longer in its file is reported as stale, never skipped silently.
//
//   npm run planted-bugs              # every plant
//   npm run planted-bugs -- escape    # the plants whose name contains "escape"
//
// Exit code 0 when every plant was caught, 1 otherwise. It takes a few minutes on 2 cores,
// so it is not part of `npm test`; run it after changing the code below.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');

/** name, file, the exact text replaced, its replacement, and the test files that must fail. */
const PLANTS = [
  ['escape: jsLiteral leaves line terminators raw', 'src/codegen/escape.ts',
    'return json.replace(UNSAFE, escapeChar);', 'return json;', ['test/emit-escape.test.ts']],
  ['escape: comments keep line terminators', 'src/codegen/escape.ts',
    "return text.replace(UNPRINTABLE, escapeChar).replaceAll('*/', '*\\\\/');", 'return text;', ['test/emit-escape.test.ts']],
  ['emit: the export comment is not escaped', 'src/build/emit.ts',
    'return [`// ${commentText(`${p.exportName}: program ${p.program.name}, ${entries}`)}`,', 'return [`// ${p.exportName}: program ${p.program.name}, ${entries}`,',
    ['test/emit-escape.test.ts']],
  ['names: any string is an identifier', 'src/frontend/names.ts',
    'const IDENTIFIER = /^[A-Za-z_$][\\w$]*$/;', 'const IDENTIFIER = /^[^]+$/;', ['test/bad-programs.test.ts']],
  ['names: program names unchecked', 'src/frontend/names.ts',
    'const PROGRAM_NAME = /^[A-Za-z_][\\w.-]{0,127}$/;', 'const PROGRAM_NAME = /^[^]+$/;', ['test/bad-programs.test.ts']],
  ['DSL: constants not checked against their dtype', 'src/frontend/builder.ts',
    'if (!isFiniteIn(value, dtype)) {', 'if (false) {', ['test/bad-programs.test.ts']],
  ['evaluate: the bundle keeps its own import.meta.url', 'src/frontend/bundle.ts',
    'if (!LOCATION_NAMES.test(source)) return undefined;', 'return undefined;', ['test/evaluate-module.test.ts']],
  ['evaluate: no time limit', 'src/frontend/load-module.ts',
    '+ \'if it is only slow, raise the limit with the evaluateTimeoutMs option (CLI: --evaluate-timeout <ms>)\'))), timeoutMs);',
    '+ \'if it is only slow, raise the limit with the evaluateTimeoutMs option (CLI: --evaluate-timeout <ms>)\'))), 2 ** 31 - 1);',
    ['test/evaluate-module.test.ts']],
  ['evaluate: late errors of the module are ignored', 'src/frontend/evaluate-worker.ts',
    "process.on('unhandledRejection', fail);", "process.on('unhandledRejection', () => {});", ['test/evaluate-module.test.ts']],
  ['evaluate: a circular import is not named', 'src/frontend/load-module.ts',
    'const cycle = bundle.cycle ?', 'const cycle = undefined ?', ['test/evaluate-module.test.ts']],
  ['prune: globs matching nothing prune everything', 'src/cli/prune.ts',
    'if (files.length === 0) {', 'if (false) {', ['test/cache/cli.test.ts']],
  ['cli: --dry-run swallows the next argument', 'src/cli/main.ts',
    '    takeBackSwallowedArguments(cli);\n', '', ['test/cache/cli.test.ts']],
  ['lock: a direct write instead of temp file + rename', 'src/cache/atomic-write.ts',
    "    await writeFile(temp, text, { flag: 'wx' });\n    await flush(temp, 'r+');\n    await renameRetryingOnWindows(temp, file);",
    '    await writeFile(file, text);', ['test/cache/atomic-write.test.ts']],
  ['lock: the temporary file is not flushed before the rename', 'src/cache/atomic-write.ts',
    "    await flush(temp, 'r+');\n", '', ['test/cache/atomic-write.test.ts']],
  ['lock: no retry of a rename Windows refuses for a moment', 'src/cache/atomic-write.ts',
    "const transient = process.platform === 'win32' && ", 'const transient = false && ', ['test/cache/atomic-write.test.ts']],
  ['lock: the compile time is written into the entry', 'src/build/build-module.ts',
    '    report: outcome.record,', '    report: { ...outcome.record, compileSeconds: outcome.compileSeconds } as typeof outcome.record,',
    ['test/cache/lock-determinism.test.ts']],
  ['lock: verify counts pipelines, not kernel launches', 'src/cli/verify.ts',
    '${kernelLaunches(compiled)} kernels', '${compiled.kernels.length} kernels', ['test/cache/lock-determinism.test.ts']],
  ['verifier: a lock hit is used without the finite-field verifier', 'src/cache/lock-hit.ts',
    'if (finding.problem !== undefined) throw', 'if (false) throw', ['test/cache/lock-verify.test.ts', 'test/cache/lock-hit.test.ts']],
  ["verifier: an entry's recorded verdict is not compared", 'src/cache/lock-hit.ts',
    'if (found !== recorded) {', 'if (false) {', ['test/cache/lock-verify.test.ts']],
  ['verifier: any unverifiable μGraph is trusted', 'src/build/equivalence-check.ts',
    'if (isPerOperatorLowering(program, ugraph, target)) {', 'if (true) {', ['test/cache/lock-verify.test.ts']],
  ['verifier: a mark of another verifier counts', 'src/cache/verified.ts',
    ').catch(() => undefined)) === MARK;', ').catch(() => undefined)) !== undefined;', ['test/cache/lock-verify.test.ts']],
  ['verifier: a hit is verified again on every build', 'src/cache/lock-hit.ts',
    "if (!options.force && await verified?.has(stored.entry.contentHash)) return", 'if (false) return', ['test/cache/lock-verify.test.ts']],
  ["lock: an entry's report is not checked against its μGraph", 'src/cache/lock-hit.ts',
    'if (wrong !== undefined) {', 'if (false) {', ['test/cache/lock-hit.test.ts']],
  ['lock: a dev build (writeLock false) writes the lock', 'src/cache/store.ts',
    'this.target = writeLock ? this.lock ?? this.scratch : this.scratch;', 'this.target = this.lock ?? this.scratch;',
    ['test/cache/scratch-cache.test.ts', 'test/plugin/lock.test.ts']],
  ['lock: a frozen build reads the scratch cache', 'src/cache/store.ts',
    'return frozen || this.primary === this.scratch', 'return this.primary === this.scratch', ['test/cache/scratch-cache.test.ts']],
  ["lock: warm follows the config's writeLock: false", 'src/cli/warm.ts', ' writeLock: true ', ' ', ['test/cache/scratch-cache.test.ts']],
  ['lock: an entry only the scratch cache has is compiled again instead of promoted', 'src/build/build-module.ts',
    '      promote = { stored, compiled };\n      break;', '      continue;', ['test/cache/scratch-cache.test.ts']],
  ['prune: the scratch cache is not tidied', 'src/cli/prune.ts',
    '  if (lock === undefined) return unreferenced;', '  return unreferenced;', ['test/cache/scratch-cache.test.ts']],
  ['lock: entries of lock format 1 are not found', 'src/cache/key.ts',
    '  return [{ key: sha256(', "  return [{ key: '0' + sha256(", ['test/cache/outdated-entries.test.ts']],
  ['lock: an older format is called corrupt', 'src/cache/entry.ts',
    '> 0) throw new OutdatedEntryError(', '> 9) throw new OutdatedEntryError(', ['test/cache/outdated-entries.test.ts']],
  ["lock: another compiler's entry is used", 'src/cache/lock-hit.ts',
    'if (compiler !== COMPILER_ID) throw', 'if (false) throw', ['test/cache/outdated-entries.test.ts']],
  ['lock: the dev server deletes a format-1 entry from the lock', 'src/build/build-module.ts',
    'if (legacy && store.target === store.primary)', 'if (legacy)', ['test/cache/outdated-entries.test.ts']],
  ['lock: the entry schema takes fields the writer never writes', 'src/cache/entry-schema.ts',
    'const report = z.strictObject({', 'const report = z.looseObject({', ['test/cache/entry-file.test.ts']],
  ['lock: the published JSON Schema is not what entries are validated with', 'src/cache/entry-schema.ts',
    "description: 'The lock format.'", "description: 'The lock format, changed.'", ['test/cache/entry-schema.test.ts']],
  ['lock: the interface of a hit is not checked', 'src/cache/lock-hit.ts',
    'if (mismatches.length > 0) reject(', 'if (false) reject(', ['test/cache/lock-hit.test.ts']],
  ['lock: a FIFO or directory is read as an entry', 'src/cache/entry-file.ts',
    'if (!info.isFile()) throw corrupt(', 'if (false) throw corrupt(', ['test/cache/entry-file.test.ts']],
  ['lock: __proto__ escapes the content hash', 'src/cache/key.ts',
    'const sorted: Record<string, unknown> = Object.create(null) as Record<string, unknown>;', 'const sorted: Record<string, unknown> = {};',
    ['test/cache/entry-file.test.ts']],
  ['runtime: inherited properties count as inputs', 'src/runtime/loader.ts',
    '!Object.hasOwn(given, n) || given[n] === undefined', 'given[n] === undefined', ['test/runtime-inputs.test.ts']],
  ['per-op matmul: the K loop runs one step too far', 'src/codegen/wgsl/matmul.ts',
    'for (var k0 = 0u; k0 < K; k0 += ${u32(TK)}) {', 'for (var k0 = 0u; k0 <= K; k0 += ${u32(TK)}) {', ['test/per-op-kernels.test.ts']],
];

const filter = process.argv[2];
const selected = PLANTS.filter(([name]) => filter === undefined || name.includes(filter));
let restore;
process.on('SIGINT', () => { restore?.(); process.exit(130); });

let missed = 0;
for (const [name, file, from, to, tests] of selected) {
  const path = join(ROOT, file);
  const original = readFileSync(path, 'utf8');
  if (original.split(from).length !== 2) {
    console.log(`STALE   ${name}: the planted text is not in ${file} exactly once; update the plant`);
    missed++;
    continue;
  }
  restore = () => writeFileSync(path, original);
  try {
    writeFileSync(path, original.replace(from, () => to));
    const run = spawnSync('npx', ['vitest', 'run', ...tests], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
    const caught = run.status !== 0;
    if (!caught) missed++;
    const failed = /Tests\s+.*?(\d+) failed/.exec(run.stdout.replace(/\x1b\[[0-9;]*m/g, ''))?.[1];
    console.log(`${caught ? 'caught ' : 'MISSED '} ${name} (${tests.join(', ')}${failed ? `: ${failed} failed` : ''})`);
  } finally {
    restore();
    restore = undefined;
  }
}
console.log(`${selected.length - missed} of ${selected.length} plants caught`);
process.exit(missed === 0 ? 0 : 1);
