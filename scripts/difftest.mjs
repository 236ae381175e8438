#!/usr/bin/env node
// The differential test (test/difftest/, docs/testing.md) outside `npm test`: replay one seed, or
// run more random programs than CI does. It runs the same vitest file, so a seed replays exactly
// what CI ran (same generator, same μGraph choice, same inputs, same tolerances).
//
//   npm run difftest -- --seed 123             # replay one program (prints it and every phase)
//   npm run difftest -- --seeds 5,9,100-120    # a list and ranges
//   npm run difftest -- --count 2000           # seeds 1..2000
//   npm run difftest -- --start 5000 --count 500
//   npm run difftest -- --random --count 1000  # a random start, printed so the run can be repeated
//   npm run difftest -- --quiet ...            # only failures and the summary
//
// Exit code 0 when every program matched. Runs of more than 500 seeds go in chunks of 500, one
// vitest process each (a device keeps every pipeline it compiled).
import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = join(import.meta.dirname, '..');

let parsed;
try {
  parsed = parseArgs({
    options: {
      seed: { type: 'string', multiple: true },
      seeds: { type: 'string' },
      start: { type: 'string' },
      count: { type: 'string' },
      random: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  }).values;
} catch (error) {
  console.error(`difftest: ${error.message}\nusage: npm run difftest -- [--seed N | --seeds 1,5,10-20 | [--start N | --random] --count N] [--quiet]`);
  process.exit(2);
}
if (parsed.help) {
  console.log('usage: npm run difftest -- [--seed N | --seeds 1,5,10-20 | [--start N | --random] --count N] [--quiet]');
  process.exit(0);
}

// A replay or a long run may take longer than CI's per-batch limit.
const env = { ...process.env, DIFFTEST_VERBOSE: parsed.quiet ? '0' : '1', DIFFTEST_TIMEOUT_MS: String(30 * 60_000) };
delete env.DIFFTEST_SEEDS;
delete env.DIFFTEST_START;
delete env.DIFFTEST_COUNT;
const explicit = [...(parsed.seed ?? []), ...(parsed.seeds ? [parsed.seeds] : [])];
const vitest = join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');

/** Runs the test file once with `extra` in the environment; returns its exit status. */
function runVitest(extra) {
  const result = spawnSync(process.execPath, [vitest, 'run', 'test/difftest/difftest.test.ts'], {
    cwd: ROOT, env: { ...env, ...extra }, stdio: 'inherit',
  });
  if (result.error) {
    console.error(`difftest: could not start vitest: ${result.error.message}`);
    process.exit(1);
  }
  return result.status ?? 1;
}

if (explicit.length > 0) {
  if (parsed.start || parsed.count || parsed.random) {
    console.error('difftest: --seed/--seeds and --start/--count/--random exclude each other');
    process.exit(2);
  }
  process.exit(runVitest({ DIFFTEST_SEEDS: explicit.join(',') }));
}

const integer = (text, what) => {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) {
    console.error(`difftest: ${what} must be a non-negative integer, got "${text}"`);
    process.exit(2);
  }
  return n;
};
const start = parsed.random ? randomInt(1, 2 ** 31) : integer(parsed.start ?? '1', '--start');
const count = integer(parsed.count ?? '200', '--count');
if (parsed.random) console.log(`difftest: random start ${start} (repeat with --start ${start} --count ${count})`);

// A device keeps every pipeline it compiled (about 2 MB of native memory per program on
// lavapipe), so long runs go in chunks, one process each.
const CHUNK = 500;
const failedChunks = [];
for (let first = start; first < start + count; first += CHUNK) {
  const size = Math.min(CHUNK, start + count - first);
  if (count > CHUNK) console.log(`\ndifftest: seeds ${first}..${first + size - 1}`);
  if (runVitest({ DIFFTEST_START: String(first), DIFFTEST_COUNT: String(size) }) !== 0) failedChunks.push(`${first}..${first + size - 1}`);
}
if (count > CHUNK) {
  console.log(`\ndifftest: seeds ${start}..${start + count - 1}: ${failedChunks.length === 0 ? 'every chunk passed' : `failures in seeds ${failedChunks.join(', ')} (see the summaries above)`}`);
}
process.exit(failedChunks.length === 0 ? 0 : 1);
