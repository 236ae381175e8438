/**
 * Renders results: an aligned text table for stdout and a Markdown page (header, a times
 * table and a ratios table with a column per system, then every row with its details).
 */
import type { BenchResults, BenchRow } from './results.js';

export const ms = (v: number | null | undefined) => (v === null || v === undefined ? '–' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 0.1 ? v.toFixed(2) : v.toPrecision(2));
const sci = (v: number | null | undefined) => (v === null || v === undefined ? '–' : v.toExponential(1));
export const pct = (v: number | null | undefined) => (v === null || v === undefined ? '–' : `${v >= 0.1 ? (100 * v).toFixed(0) : (100 * v).toPrecision(2)}%`);
export const batchLabel = (r: BenchRow) => (r.shapes === 'small' ? 'small' : String(r.batch));

const LONG_COLUMNS: readonly [string, (r: BenchRow) => string][] = [
  ['workload', (r) => r.workload],
  ['b', batchLabel],
  ['variant', (r) => r.variant],
  ['system', (r) => r.system],
  ['kernel ms', (r) => ms(r.kernelMs)],
  ['wall ms', (r) => ms(r.wallMs)],
  ['runs', (r) => String(r.runs)],
  ['load', (r) => (r.load1 === undefined ? '–' : r.load1.toFixed(1))],
  ['rel err', (r) => sci(r.relErr) + (r.relErr !== null && !r.pass ? ' FAIL' : '')],
  ['roofline ms', (r) => `${ms(r.rooflineMs)} ${r.rooflineBound === 'memory' ? 'mem' : 'FMA'}`],
  ['roofline/median', (r) => pct(r.rooflineFraction)],
  ['roofline/wall', (r) => pct(r.wallRooflineFraction)],
  ['note', (r) => r.error ?? r.note ?? ''],
];

export function textTable(rows: readonly BenchRow[]): string {
  const cells = [LONG_COLUMNS.map(([h]) => h), ...rows.map((r) => LONG_COLUMNS.map(([, f]) => f(r)))];
  const widths = LONG_COLUMNS.map((_, i) => Math.max(...cells.map((c) => c[i]!.length)));
  return cells.map((c) => c.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

export function markdownTable(head: readonly string[], body: readonly (readonly string[])[]): string {
  const line = (c: readonly string[]) => `| ${c.map((v) => v.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...body.map(line)].join('\n');
}

/** Rows grouped by workload × batch × variant, in order, with the systems present. */
function groupRows(rows: readonly BenchRow[]): { systems: string[]; groups: BenchRow[][] } {
  const groups = new Map<string, BenchRow[]>();
  for (const r of rows) {
    const key = `${r.workload}|${batchLabel(r)}|${r.variant}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return { systems: [...new Set(rows.map((r) => r.system))], groups: [...groups.values()] };
}

const groupHead = ['workload', 'b', 'variant'];
const groupCells = (r: BenchRow) => [r.workload, batchLabel(r), r.variant];

/** Per system: median ms (kernel and wall, or wall alone) and the error. */
function timesTable(rows: readonly BenchRow[]): string {
  const { systems, groups } = groupRows(rows);
  const body = groups.map((group) => [...groupCells(group[0]!), ...systems.map((s) => {
    const r = group.find((x) => x.system === s);
    if (!r) return '';
    if (r.error) return r.error.startsWith('skipped') ? 'skipped' : 'failed';
    const time = r.kernelMs !== null ? `${ms(r.kernelMs)} (wall ${ms(r.wallMs)})` : `${ms(r.wallMs)} wall`;
    return `${time} [${sci(r.relErr)}${r.pass ? '' : ' FAIL'}]`;
  })]);
  return markdownTable([...groupHead, ...systems], body);
}

/** Systems shown for scale only (not WebGPU): left out of "fastest". */
export const ANCHORS = new Set(['onnxruntime-cpu']);

/** Per system: wall time over the fastest WebGPU system's wall time, and roofline time over its median. */
function ratiosTable(rows: readonly BenchRow[]): string {
  const { systems, groups } = groupRows(rows);
  const body = groups.map((group) => {
    const walls = group.filter((r) => !r.error && r.wallMs !== null && !ANCHORS.has(r.system)).map((r) => r.wallMs!);
    const fastest = Math.min(...walls);
    const find = (s: string) => group.find((x) => x.system === s && !x.error);
    return [
      ...groupCells(group[0]!),
      `${ms(group[0]!.rooflineMs)} ${group[0]!.rooflineBound === 'memory' ? 'mem' : 'FMA'}`,
      ...systems.map((s) => { const r = find(s); return r?.wallMs ? `${(r.wallMs / fastest).toFixed(2)}×` : '–'; }),
      ...systems.map((s) => pct(find(s)?.rooflineFraction)),
    ];
  });
  return markdownTable([...groupHead, 'roofline ms', ...systems.map((s) => `${s} wall / fastest WebGPU`), ...systems.map((s) => `${s} roofline %`)], body);
}

export function markdownReport(results: BenchResults): string {
  const { header: h, rows } = results;
  const references = Object.entries(h.referenceSeconds).map(([k, s]) => `${k} ${s === 0 ? 'cached' : `${s.toFixed(1)} s`}`).join(', ');
  const failures = (results.peerFailures ?? []).map((f) => `- **${f.system}** could not run: ${f.error}`);
  return [
    '# mugraph benchmarks',
    '',
    `- Adapter: ${h.adapter}; Node ${h.node}; ${h.date}; timestamp queries: ${h.timestamps ? 'yes' : 'no'}.`,
    `- Adapter figures (best of the microkernels, over the runs merged here): copy **${h.copyGBps.toFixed(2)} GB/s** (read + write), FMA **${h.fmaGflops.toFixed(1)} GFLOP/s**.`,
    `- Method: ${h.method}; ${h.warmup} warm-up and ${h.reps} timed calls per cell; main thread at ${h.waitingNice === 'idle' ? 'SCHED_IDLE' : `nice ${h.waitingNice ?? 0}`} while timed.`,
    '- Roofline: max(minimal bytes / copy bandwidth, FLOPs / FMA rate); "roofline %" = roofline time / measured time '
      + '(kernel time for in-process systems, wall time for peers, which have no timestamps).',
    '- "load": the host\'s 1-minute load average when the cell finished; above the core count, other work shared the cores and times are inflated.',
    `- Reference (float64) time per workload: ${references || '–'}.`,
    ...failures,
    '',
    '## Times',
    '',
    'Median ms per call (kernel time, then wall time, where timestamps were taken); rel. L2 error in brackets.',
    '',
    timesTable(rows),
    '',
    '## Ratios',
    '',
    'Wall time over the fastest WebGPU system\'s wall time in the same row (the CPU provider is there for scale only); roofline % = roofline time / median time.',
    '',
    ratiosTable(rows),
    '',
    '## Every row',
    '',
    markdownTable(LONG_COLUMNS.map(([head]) => head), rows.map((r) => LONG_COLUMNS.map(([, f]) => f(r)))),
    '',
    '## Microkernels',
    '',
    markdownTable(['kernel', 'configuration', 'ms', 'rate'], h.microkernels.map((m) => [m.kernel, m.config, ms(m.ms), `${m.rate.toFixed(2)} ${m.kernel === 'copy' ? 'GB/s' : 'GFLOP/s'}`])),
    '',
  ].join('\n');
}
