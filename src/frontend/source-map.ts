/**
 * A minimal source-map (v3) reader: decodes the base64 VLQ `mappings` of one map and
 * answers "which original file, line and column produced this generated position".
 * Used to point errors thrown while evaluating a bundled `*.tensor.ts` back at the
 * user's source, independently of whether the host (plain Node, vitest) maps stacks.
 */
import { isAbsolute, resolve } from 'node:path';

export interface RawSourceMap {
  readonly version: number;
  readonly sources: readonly string[];
  readonly sourceRoot?: string;
  readonly mappings: string;
}

export interface OriginalPosition {
  /** Absolute path when the map's source is a path (relative sources resolve against `baseDir`). */
  readonly file: string;
  /** 1-based, like stack traces. */
  readonly line: number;
  readonly column: number;
}

/** [generated column, source index, original line, original column], all 0-based. */
type Segment = readonly [number, number, number, number];

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const BASE64_VALUE = new Map([...BASE64].map((c, i) => [c, i]));

export class SourceMapReader {
  private readonly lines: Segment[][];
  private readonly sources: string[];

  /** `baseDir` is the folder of the generated file: relative sources are relative to it. */
  constructor(map: RawSourceMap, baseDir: string) {
    const root = map.sourceRoot ?? '';
    this.sources = map.sources.map((s) => {
      const path = s.startsWith('file://') ? decodeURI(new URL(s).pathname) : root + s;
      return isAbsolute(path) ? path : resolve(baseDir, path);
    });
    this.lines = decodeMappings(map.mappings);
  }

  /** Original position of a 1-based generated line and column, or undefined when unmapped. */
  originalPosition(line: number, column: number): OriginalPosition | undefined {
    const segments = this.lines[line - 1];
    if (!segments || segments.length === 0) return undefined;
    // The last segment starting at or before the column; a column before the first
    // segment (e.g. indentation) belongs to the first one.
    let best = segments[0]!;
    for (const segment of segments) {
      if (segment[0] > column - 1) break;
      best = segment;
    }
    const file = this.sources[best[1]];
    return file === undefined ? undefined : { file, line: best[2] + 1, column: best[3] + 1 };
  }
}

/** Decodes `mappings` into absolute (not delta) segments per generated line. */
function decodeMappings(mappings: string): Segment[][] {
  const lines: Segment[][] = [];
  let source = 0;
  let originalLine = 0;
  let originalColumn = 0;
  for (const lineText of mappings.split(';')) {
    const segments: Segment[] = [];
    let generatedColumn = 0;
    for (const segmentText of lineText.split(',')) {
      if (segmentText === '') continue;
      const fields = decodeVlq(segmentText);
      generatedColumn += fields[0] ?? 0;
      if (fields.length < 4) continue; // a segment without a source position
      source += fields[1]!;
      originalLine += fields[2]!;
      originalColumn += fields[3]!;
      segments.push([generatedColumn, source, originalLine, originalColumn]);
    }
    lines.push(segments);
  }
  return lines;
}

/** Base64 VLQ: 5 data bits per digit, bit 6 continues, the lowest bit of a value is its sign. */
function decodeVlq(text: string): number[] {
  const values: number[] = [];
  let value = 0;
  let shift = 0;
  for (const char of text) {
    const digit = BASE64_VALUE.get(char);
    if (digit === undefined) throw new Error(`invalid base64 digit ${JSON.stringify(char)} in source map`);
    value += (digit & 31) * 2 ** shift;
    if (digit & 32) {
      shift += 5;
      continue;
    }
    values.push(value & 1 ? -Math.floor(value / 2) : Math.floor(value / 2));
    value = 0;
    shift = 0;
  }
  return values;
}
