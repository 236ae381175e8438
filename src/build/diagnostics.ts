/**
 * Build errors in the shape bundlers report: the user's file, line and column, the message
 * without them (for bundlers that print the location themselves), and a code frame of the
 * lines around it. `locateError` reads them off whatever evaluating a tensor module threw
 * (a ProgramError's site, or the `file:line:column: ` prefix that loadTensorModule puts on
 * syntax, resolution and runtime errors).
 */
import { readFileSync } from 'node:fs';
import { isProgramError } from '../frontend/errors.js';

export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  /** 1-based, as in messages. */
  readonly column: number;
}

export interface LocatedError {
  /** The whole message, `file:line:column: ` first when it has a location. */
  readonly message: string;
  /** The message without its `file:line:column: ` prefix: what to print where the location is shown apart. */
  readonly text: string;
  readonly location: SourceLocation | undefined;
  /** A few source lines around the location, the line marked; empty when the file cannot be read. */
  readonly frame: string;
}

const LOCATION_PREFIX = /^(.+?):(\d+):(\d+): /;

export function locateError(error: unknown): LocatedError {
  const message = error instanceof Error ? error.message : String(error);
  let location: SourceLocation | undefined;
  if (isProgramError(error) && error.site) {
    location = error.site;
  } else {
    const match = LOCATION_PREFIX.exec(message);
    if (match) location = { file: match[1]!, line: Number(match[2]), column: Number(match[3]) };
  }
  const prefix = location ? `${location.file}:${location.line}:${location.column}: ` : undefined;
  const text = prefix !== undefined && message.startsWith(prefix) ? message.slice(prefix.length) : message;
  return { message, text, location, frame: location ? codeFrame(location) : '' };
}

/** The file's lines, or undefined when it cannot be read. */
function readLines(file: string): string[] | undefined {
  try {
    return readFileSync(file, 'utf8').split(/\r?\n/);
  } catch {
    return undefined;
  }
}

/** The text of line `line` (1-based) of `file`; undefined when the file cannot be read or is shorter. */
export function sourceLine(file: string, line: number): string | undefined {
  const lines = readLines(file);
  return lines !== undefined && line >= 1 && line <= lines.length ? lines[line - 1] : undefined;
}

/** Two lines of context either side, `>` on the line, `^` under the column. */
export function codeFrame({ file, line, column }: SourceLocation, context = 2): string {
  const lines = readLines(file);
  if (lines === undefined || line < 1 || line > lines.length) return '';
  const first = Math.max(1, line - context);
  const last = Math.min(lines.length, line + context);
  const width = String(last).length;
  const out: string[] = [];
  for (let n = first; n <= last; n++) {
    const gutter = `${n === line ? '>' : ' '} ${String(n).padStart(width)} | `;
    out.push(`${gutter}${lines[n - 1]}`.trimEnd());
    if (n === line) out.push(`${' '.repeat(width + 2)} | ${' '.repeat(Math.max(0, column - 1))}^`);
  }
  return out.join('\n');
}
