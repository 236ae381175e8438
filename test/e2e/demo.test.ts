/**
 * `npm run demo` end to end at small shapes, in-process (`runDemo`, which main.ts calls):
 * the playground and the Node build of its tensor modules go through the plugin from dist/
 * against the committed lock, frozen (a missing entry fails; nothing is written), and the
 * built kernels run on the local adapter beside the per-operator lowering and the
 * hand-written μGraphs. Checks the printed table: every benchmark and variant has all three
 * implementations, every row PASSes its tolerance, and the build rows are lock hits.
 * Timings are printed, not asserted.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDemo } from '../../playground/demo/demo.js';
import { COLUMNS } from '../../playground/demo/table.js';
import { BENCHMARKS } from '../../playground/src/benchmark-list.js';
import { IMPLEMENTATION_LABELS } from '../../playground/src/implementations.js';
import { ensureBuilt } from '../plugin/dist.js';

let scratch: string;
beforeAll(async () => {
  ensureBuilt();
  scratch = await mkdtemp(join(tmpdir(), 'mugraph-demo-test-'));
});
afterAll(() => rm(scratch, { recursive: true, force: true }));

describe('npm run demo', () => {
  it('builds the playground from the committed lock and every implementation passes at small shapes', async () => {
    const lines: string[] = [];
    const report = await runDemo(['--small', '--frozen', '--playground-out', join(scratch, 'page')], (line) => lines.push(line));
    const text = lines.join('\n');
    console.log(text);
    expect(report.exitCode, text).toBe(0);

    const header = lines.findIndex((l) => l.startsWith('benchmark  '));
    expect(lines[header]!.split(/\s{2,}/), 'table header').toEqual([...COLUMNS]);
    const ids = new Set<string>(BENCHMARKS.map((b) => b.id));
    const table = lines.slice(header + 2).filter((l) => ids.has(l.split(' ')[0]!)).map((l) => {
      const cells = l.split(/\s{2,}/);
      return Object.fromEntries(COLUMNS.map((c, i) => [c, cells[i] ?? ''])) as Record<(typeof COLUMNS)[number], string>;
    });
    const variants = [...new Set(table.map((r) => r.variant))];
    expect(variants.length, 'at least the f32 variant ran').toBeGreaterThan(0);
    expect(table).toHaveLength(BENCHMARKS.length * variants.length * 3);
    for (const bench of BENCHMARKS) {
      for (const variant of variants) {
        const rows = table.filter((r) => r.benchmark === bench.id && r.variant === variant);
        expect(rows.map((r) => r.implementation), `${bench.id} ${variant}`).toEqual(
          [IMPLEMENTATION_LABELS.build, IMPLEMENTATION_LABELS.perOp, IMPLEMENTATION_LABELS.handWritten]);
        for (const row of rows) {
          expect(row.result, `${bench.id} ${variant} ${row.implementation}`).toBe('PASS');
          expect(Number(row['rel L2'])).toBeLessThanOrEqual(Number(row.tolerance));
          expect(Number(row['median ms'])).toBeGreaterThan(0);
        }
        expect(rows[0]!.from, `${bench.id}: the build's kernels came from the committed lock`).toMatch(/^lock hit [0-9a-f]{8}$/);
      }
    }
    expect(report.events.length).toBeGreaterThanOrEqual(BENCHMARKS.length);
    expect(report.events.filter((e) => e.status !== 'hit'), 'the frozen build compiled nothing').toEqual([]);
  }, 180_000); // a fresh machine verifies each lock entry once (finite-field verifier at full shape): docs/equivalence.md §7
});
