/**
 * The demo's comparison table: one block per benchmark and variant, one row per
 * implementation. Plain text with columns separated by at least two spaces (no cell is
 * empty: "-" stands for a missing number), so a terminal and a test read it alike.
 */
import { IMPLEMENTATION_LABELS } from '../src/implementations.js';
import type { DemoRow } from './run.js';

export const COLUMNS = ['benchmark', 'program', 'variant', 'implementation', 'μGraph', 'median ms', 'vs per-op', 'rel L2', 'tolerance', 'result', 'from'] as const;

export function formatTable(rows: readonly DemoRow[]): string[] {
  const cells = rows.map(rowCells);
  const widths = COLUMNS.map((title, i) => Math.max(title.length, ...cells.map((c) => c[i]!.length)));
  const line = (values: readonly string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  const out = [line(COLUMNS), line(widths.map((w) => '-'.repeat(w)))];
  cells.forEach((c, i) => {
    const previous = rows[i - 1];
    if (previous && (previous.benchmark !== rows[i]!.benchmark || previous.variant !== rows[i]!.variant)) out.push('');
    out.push(line(c));
  });
  const notes = rows.filter((r) => r.detail !== undefined).map((r) => `  ${r.program} ${r.variant} ${r.impl}: ${r.status}: ${r.detail}`);
  return notes.length > 0 ? [...out, '', 'notes:', ...notes] : out;
}

function rowCells(row: DemoRow): string[] {
  return [
    row.benchmark,
    row.program,
    row.variant,
    IMPLEMENTATION_LABELS[row.impl],
    row.kernels === undefined ? '-' : `${row.kernels} kernel${row.kernels === 1 ? '' : 's'}${row.customKernels ? `, ${row.customKernels} custom` : ''}`,
    row.medianMs === undefined ? '-' : formatMs(row.medianMs),
    row.speedup === undefined ? '-' : `${row.speedup.toFixed(2)}x`,
    row.relL2 === undefined ? '-' : row.relL2.toExponential(1),
    row.tolerance === undefined ? '-' : row.tolerance.toExponential(0),
    row.status,
    row.source,
  ];
}

/** Three significant digits, as the README's tables. */
function formatMs(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms >= 1 ? ms.toFixed(2) : ms.toFixed(3);
}
