/**
 * Mutations of a lock entry file for the lock fuzz suite (lock-fuzz.test.ts): what
 * accidental damage and a deliberate attacker can do to the text of a committed entry.
 *
 * - Byte-level: bit flips, inserted and deleted bytes, truncation, a duplicated range,
 *   whitespace, a number token replaced by one the writer never writes (1e400, -0, ...).
 * - Structured (on the parsed entry, 70% inside the μGraph): a number, string or boolean
 *   changed (often to a value seen elsewhere in the corpus, so that op names, dtypes and
 *   shapes stay plausible), a wrong type, an array element dropped, duplicated, swapped or
 *   added, or the array replaced by another seen in the corpus (a shape, an operand list),
 *   an object field dropped, renamed or added (`__proto__` and `constructor` included), a
 *   subtree copied over another, deep nesting, a huge string, a duplicated key.
 *
 * Half of the mutated texts that still parse are re-sealed: their contentHash is
 * recomputed with the lock's own hash function over exactly what JSON.parse reads, as an
 * attacker who edits the μGraph would do. Everything is drawn from the `rng` passed in, so a
 * seed reproduces a mutation exactly.
 */
import { sha256, stableStringify } from '../../src/cache/key.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Path = readonly (string | number)[];
type Rng = () => number;

export interface Mutation {
  readonly bytes: Buffer;
  /** The steps applied, e.g. `structured number-edit ugraph.nodes.3.c -> 0.5; resealed`. */
  readonly description: string;
  /** The contentHash was recomputed after mutating (the attacker's case). */
  readonly resealed: boolean;
}

/** Values seen in the corpus, so that replacements look like real entries. */
export interface Vocabulary {
  readonly strings: readonly string[];
  readonly numbers: readonly number[];
  readonly keys: readonly string[];
  /** Arrays of numbers (shapes, operand lists, grids). */
  readonly shapes: readonly number[][];
}

const below = (rng: Rng, n: number) => Math.floor(rng() * n);
const pick = <T>(rng: Rng, items: readonly T[]): T => items[below(rng, items.length)]!;

/** A placeholder string replaced by raw JSON text after serializing (text JSON.stringify never writes). */
const RAW = '@@raw-json@@';
const RAW_NUMBERS = ['1e400', '-1e400', '-0', '1e-400', '123456789012345678901234567890', '9007199254740993', '-2147483649', '0.1e1'];

export function vocabularyOf(entries: readonly unknown[]): Vocabulary {
  const strings = new Set<string>();
  const numbers = new Set<number>();
  const keys = new Set<string>();
  const shapes = new Map<string, number[]>();
  const visit = (value: unknown): void => {
    if (typeof value === 'string') strings.add(value);
    else if (typeof value === 'number') numbers.add(value);
    else if (Array.isArray(value)) {
      if (value.length > 0 && value.every((x) => typeof x === 'number')) shapes.set(JSON.stringify(value), value as number[]);
      value.forEach(visit);
    }
    else if (value !== null && typeof value === 'object') {
      for (const [key, field] of Object.entries(value)) {
        keys.add(key);
        visit(field);
      }
    }
  };
  entries.forEach(visit);
  return { strings: [...strings].filter((s) => s.length < 80), numbers: [...numbers], keys: [...keys], shapes: [...shapes.values()] };
}

export function mutate(original: string, rng: Rng, vocabulary: Vocabulary): Mutation {
  let bytes: Buffer = Buffer.from(original, 'utf8');
  const steps: string[] = [];
  const count = rng() < 0.25 ? 2 + below(rng, 2) : 1;
  for (let i = 0; i < count; i++) {
    const parsed = rng() < 0.6 ? tryParse(bytes) : undefined;
    const step = parsed === undefined || allPaths(parsed).length === 0 ? byteMutation(bytes, rng) : structuredMutation(parsed, rng, vocabulary);
    bytes = step.bytes;
    steps.push(step.description);
  }
  const resealed = rng() < 0.5 ? reseal(bytes) : undefined;
  if (resealed) steps.push('resealed');
  return { bytes: resealed ?? bytes, description: steps.join('; '), resealed: resealed !== undefined };
}

/** The parsed text, or undefined when it is not JSON or nests too deep for these (recursive) helpers. */
function tryParse(bytes: Buffer): Json | undefined {
  let depth = 0;
  for (const byte of bytes) {
    if (byte === 0x5b || byte === 0x7b) depth++;
    else if (byte === 0x5d || byte === 0x7d) depth--;
    if (depth > 200) return undefined;
  }
  try {
    return JSON.parse(bytes.toString('utf8')) as Json;
  } catch {
    return undefined;
  }
}

/** The same text with its (last, the one JSON.parse keeps) contentHash recomputed; undefined when not possible. */
function reseal(bytes: Buffer): Buffer | undefined {
  const text = bytes.toString('utf8');
  const parsed = tryParse(bytes);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const fields = [...text.matchAll(/"contentHash"\s*:\s*"[^"]*"/g)];
  const last = fields.at(-1);
  if (last?.index === undefined) return undefined;
  let hash: string;
  try {
    const { contentHash: _, ...rest } = parsed;
    hash = sha256(stableStringify(rest));
  } catch {
    return undefined; // the attacker's own tools choke too (e.g. a stack overflow on deep nesting)
  }
  return Buffer.from(`${text.slice(0, last.index)}"contentHash": "${hash}"${text.slice(last.index + last[0].length)}`, 'utf8');
}

// ---------------------------------------------------------------------------------------
// Byte-level mutations

const JSON_BYTES = Buffer.from('{}[]",:-0123456789.eE truefalsn\\u');

function byteMutation(bytes: Buffer, rng: Rng): { bytes: Buffer; description: string } {
  const at = below(rng, bytes.length + 1);
  const randomBytes = (n: number) => Buffer.from(Array.from({ length: n }, () => (rng() < 0.5 ? below(rng, 256) : JSON_BYTES[below(rng, JSON_BYTES.length)]!)));
  switch (below(rng, 7)) {
    case 0: {
      const copy = Buffer.from(bytes);
      const flips = 1 + below(rng, 4);
      for (let i = 0; i < flips && copy.length > 0; i++) copy[below(rng, copy.length)]! ^= 1 << below(rng, 8);
      return { bytes: copy, description: `bytes flip ${flips} bit(s)` };
    }
    case 1: {
      const n = 1 + below(rng, 8);
      return { bytes: Buffer.concat([bytes.subarray(0, at), randomBytes(n), bytes.subarray(at)]), description: `bytes insert ${n} at ${at}` };
    }
    case 2: {
      const n = 1 + below(rng, 16);
      return { bytes: Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + n)]), description: `bytes delete ${n} at ${at}` };
    }
    case 3:
      return { bytes: bytes.subarray(0, Math.min(at, bytes.length - 1)), description: `bytes truncate to ${Math.min(at, bytes.length - 1)}` };
    case 4: {
      const from = below(rng, bytes.length);
      const slice = bytes.subarray(from, from + 1 + below(rng, 64));
      return { bytes: Buffer.concat([bytes.subarray(0, at), slice, bytes.subarray(at)]), description: `bytes duplicate ${slice.length} from ${from} at ${at}` };
    }
    case 5: {
      const spaces = Buffer.from(pick(rng, [' ', '\n', '\t', '  \r\n ']));
      const gaps = [...bytes.toString('latin1').matchAll(/[,:[{]/g)].map((m) => m.index + 1);
      const gap = gaps.length > 0 ? pick(rng, gaps) : at;
      return { bytes: Buffer.concat([bytes.subarray(0, gap), spaces, bytes.subarray(gap)]), description: `bytes whitespace at ${gap}` };
    }
    default: {
      const text = bytes.toString('latin1');
      const tokens = [...text.matchAll(/(?<=[:,[\s])-?\d+(\.\d+)?([eE][+-]?\d+)?(?=[,\]}\s])/g)];
      if (tokens.length === 0) return { bytes, description: 'bytes no number token' };
      const token = pick(rng, tokens);
      const raw = pick(rng, RAW_NUMBERS);
      const replaced = `${text.slice(0, token.index)}${raw}${text.slice(token.index + token[0].length)}`;
      return { bytes: Buffer.from(replaced, 'latin1'), description: `bytes number ${token[0]} -> ${raw} at ${token.index}` };
    }
  }
}

// ---------------------------------------------------------------------------------------
// Structured mutations

function allPaths(value: Json, prefix: Path = []): Path[] {
  if (value === null || typeof value !== 'object') return [];
  const children = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  return children.flatMap(([key, child]) => [[...prefix, key], ...allPaths(child, [...prefix, key])]);
}

function getAt(root: Json, path: Path): Json {
  return path.reduce<Json>((value, key) => (value as Record<string | number, Json>)[key]!, root);
}

/** Sets a field as an own data property, so that `__proto__` is a key, not the prototype. */
function define(target: Record<string | number, Json> | Json[], key: string | number, value: Json): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function structuredMutation(entry: Json, rng: Rng, vocabulary: Vocabulary): { bytes: Buffer; description: string } {
  const paths = allPaths(entry);
  const inGraph = paths.filter((p) => p[0] === 'ugraph');
  const path = pick(rng, rng() < 0.7 && inGraph.length > 0 ? inGraph : paths);
  const parentPath = path.slice(0, -1);
  const parent = (parentPath.length === 0 ? entry : getAt(entry, parentPath)) as Record<string | number, Json>;
  const key = path.at(-1)!;
  const current = parent[key]!;
  let raw = '';
  const { kind, value } = editValue(current, rng, vocabulary, entry, paths);
  if (typeof value === 'object' && value !== null && RAW in value) {
    raw = (value as Record<string, string>)[RAW]!;
    define(parent, key, RAW);
  } else if (value === undefined) {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key];
  } else {
    define(parent, key, value);
  }
  const text = JSON.stringify(entry, null, 2).replace(JSON.stringify(RAW), () => raw);
  return { bytes: Buffer.from(text, 'utf8'), description: `structured ${kind} ${path.join('.')}` };
}

/** A replacement for `current`: a Json value, `{ [RAW]: text }` for text JSON.stringify cannot write, or undefined to delete it. */
function editValue(current: Json, rng: Rng, vocabulary: Vocabulary, entry: Json, paths: readonly Path[]): { kind: string; value: Json | undefined } {
  const roll = rng();
  if (roll < 0.08) return { kind: 'wrong-type', value: pick<Json>(rng, [null, true, false, 0, -1, 'x', [], {}, [current], { value: current }]) };
  if (roll < 0.12) return { kind: 'delete', value: undefined };
  if (roll < 0.16) return { kind: 'copy-subtree', value: structuredClone(getAt(entry, pick(rng, paths))) };
  if (roll < 0.19) {
    const depth = pick(rng, [65, 3000, 100_000]);
    return { kind: `deep-nest ${depth}`, value: { [RAW]: `${'['.repeat(depth)}0${']'.repeat(depth)}` } };
  }
  if (typeof current === 'number') return { kind: 'number-edit', value: numberEdit(current, rng, vocabulary) };
  if (typeof current === 'string') {
    const huge = rng() < 0.05;
    return { kind: huge ? 'huge-string' : 'string-edit', value: huge ? 'x'.repeat(pick(rng, [200_000, 2_000_000])) : stringEdit(rng, vocabulary) };
  }
  if (typeof current === 'boolean') return { kind: 'boolean-flip', value: !current };
  if (Array.isArray(current)) return { kind: 'array-edit', value: arrayEdit(current, rng, vocabulary) };
  if (current !== null) return objectEdit(current, rng, vocabulary);
  return { kind: 'null-edit', value: pick(rng, [0, '', {}, []]) };
}

function numberEdit(n: number, rng: Rng, vocabulary: Vocabulary): Json {
  const options: Json[] = [n + 1, n - 1, n * 2, n / 2, 0, -n, -1, 2 ** 31, 2 ** 32 + 1, 2 ** 53 + 1, 1e308, 0.5, pick(rng, vocabulary.numbers)];
  return rng() < 0.15 ? { [RAW]: pick(rng, RAW_NUMBERS) } : pick(rng, options);
}

function stringEdit(rng: Rng, vocabulary: Vocabulary): string {
  return rng() < 0.8 ? pick(rng, vocabulary.strings) : pick(rng, ['', '__proto__', 'constructor', 'f64', 'toJSON', '\u0000', 'é']);
}

function arrayEdit(items: Json[], rng: Rng, vocabulary: Vocabulary): Json[] {
  const copy = [...items];
  const i = below(rng, Math.max(copy.length, 1));
  switch (below(rng, 7)) {
    case 0: copy.splice(i, 1); break;
    case 6: return [...pick(rng, vocabulary.shapes)];
    case 1: if (copy.length > 0) copy.splice(i, 0, structuredClone(copy[i]!)); break;
    case 2: { const j = below(rng, Math.max(copy.length, 1)); [copy[i], copy[j]] = [copy[j]!, copy[i]!]; break; }
    case 3: copy.reverse(); break;
    case 4: copy.push(rng() < 0.5 ? pick(rng, vocabulary.numbers) : pick(rng, vocabulary.strings)); break;
    default: return [];
  }
  return copy.filter((x) => x !== undefined);
}

function objectEdit(record: { [key: string]: Json }, rng: Rng, vocabulary: Vocabulary): { kind: string; value: Json } {
  const copy: { [key: string]: Json } = {};
  for (const [k, v] of Object.entries(record)) define(copy, k, v);
  const keys = Object.keys(copy);
  const victim = keys.length > 0 ? pick(rng, keys) : 'none';
  switch (below(rng, 5)) {
    case 0:
      delete copy[victim];
      return { kind: `drop-field ${victim}`, value: copy };
    case 1: {
      const added = pick(rng, ['__proto__', 'constructor', 'toJSON', 'extra', ...vocabulary.keys]);
      define(copy, added, pick(rng, [{}, { schema: 2 }, [], 1, 'x', structuredClone(record)]));
      return { kind: `add-field ${added}`, value: copy };
    }
    case 2: {
      const renamed = pick(rng, vocabulary.keys);
      if (victim in copy) {
        define(copy, renamed, copy[victim]!);
        if (renamed !== victim) delete copy[victim];
      }
      return { kind: `rename-field ${victim} -> ${renamed}`, value: copy };
    }
    case 3: {
      // A duplicated key in the text: JSON.parse keeps the last one.
      if (!(victim in copy)) return { kind: 'duplicate-key none', value: copy };
      const rest = Object.entries(copy).map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`);
      const other = pick(rng, [JSON.stringify(pick(rng, vocabulary.numbers)), JSON.stringify(pick(rng, vocabulary.strings)), JSON.stringify(copy[victim])]);
      return { kind: `duplicate-key ${victim}`, value: { [RAW]: `{${[...rest, `${JSON.stringify(victim)}: ${other}`].join(', ')}}` } };
    }
    default:
      return { kind: 'object-to-array', value: Object.values(copy) };
  }
}
