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
  ['lock: a direct write instead of temp file + rename', 'src/cache/store.ts',
    '      await writeFile(temp, serializeEntry(entry));\n      await rename(temp, file);', '      await writeFile(file, serializeEntry(entry));',
    ['test/cache/atomic-write.test.ts']],
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
