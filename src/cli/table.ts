/**
 * The CLI's tables (`check`'s results, `warm`'s summary), drawn by cli-table3: the most used
 * table renderer for Node, with two small dependencies. It measures cells by their display
 * width (wide characters, ANSI colours), which padding by string length gets wrong for file
 * and target names, and keeps a cell with a line break inside its row. No colours: the
 * output is read in logs and by tests as it is.
 */
import Table from 'cli-table3';

export interface Column {
  readonly title: string;
  /** Numbers read best right-aligned. @default 'left' */
  readonly align?: 'left' | 'right';
}

/** The table's lines: a box, the header ruled off, one line per row. */
export function renderTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string[] {
  const table = new Table({
    head: columns.map((c) => c.title),
    colAligns: columns.map((c) => c.align ?? 'left'),
    style: { head: [], border: [], compact: true },
  });
  table.push(...rows.map((row) => [...row]));
  return table.toString().split('\n');
}
