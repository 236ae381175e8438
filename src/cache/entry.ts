/**
 * One lock entry: the chosen μGraph for one program under one configuration, with how it
 * was verified and what compiling it reported. Entries are JSON files; `parseEntry`
 * rejects anything that is not what `sealEntry` wrote (bounded JSON, schema, key, content
 * hash, typed records, a valid μGraph, a key that matches the stored program and
 * configuration), so a damaged entry is never used. The content hash guards against
 * damage, not against an author: anyone can edit an entry and recompute it. Such a
 * re-sealed entry is caught by the checks every lock hit makes (lock-hit.ts) or, for what
 * they cannot prove, by `mugraph verify`.
 */
import { describeValue, expectArray, expectBoolean, expectFinite, expectInteger, expectOneOf, expectRecord, fail } from '../ugraph/check.js';
import { isUGraphError } from '../ugraph/errors.js';
import { KernelGraph, type KernelGraphJSON } from '../ugraph/kernel-graph.js';
import type { TargetProfile } from '../ugraph/target.js';
import { CACHE_SCHEMA, cacheKey, type CompilerIdentity, sha256, stableStringify } from './key.js';
import type { SearchConfig } from '../build/options.js';
import { parseBoundedJSON } from './bounded-json.js';

/** Per variant, the errors measured against the float64 reference. */
export interface VariantErrors {
  readonly variant: 'f16' | 'f32';
  readonly maxAbsError: number;
  readonly relL2Error: number;
  readonly tolerance: number;
  readonly pass: boolean;
}

/**
 * How the entry's μGraph was shown to compute the program. Honest by construction:
 * 'per-operator-lowering' claims only that the μGraph is the program's one-kernel-per-op
 * lowering (no search happened, nothing was measured); 'reference-check' records the
 * seeds, the adapter and the errors measured on it against the float64 reference.
 */
export type Verification =
  | { readonly method: 'per-operator-lowering'; readonly note: string }
  | {
      readonly method: 'reference-check';
      readonly seeds: readonly number[];
      readonly adapter: string;
      /** Worst over seeds, per variant. */
      readonly variants: readonly VariantErrors[];
      readonly pass: boolean;
    };

/** What compiling reported: compile()'s report plus time; more fields (candidates, speedup) come with the search. */
export interface CompileRecord {
  readonly compiler: string;
  readonly compileSeconds: number;
  /** Kernel launches per run. */
  readonly kernels: number;
  readonly [extra: string]: unknown;
}

export interface LockEntry {
  readonly schema: typeof CACHE_SCHEMA;
  readonly key: string;
  /** The program's name when compiled (a label; the key ignores names) and its canonical JSON, to detect collisions. */
  readonly program: { readonly name: string; readonly canonical: unknown };
  readonly config: { readonly search: SearchConfig; readonly target: TargetProfile; readonly compiler: CompilerIdentity };
  readonly ugraph: KernelGraphJSON;
  readonly verification: Verification;
  readonly report: CompileRecord;
  /** SHA-256 of the entry without this field (stable key order). */
  readonly contentHash: string;
}

export type UnsealedEntry = Omit<LockEntry, 'contentHash'>;

/** A lock entry that failed validation; the message names the file and the reason. */
export class CorruptEntryError extends Error {
  override readonly name = 'CorruptEntryError';
  constructor(readonly file: string, readonly reason: string) {
    super(`${file}: corrupt or modified lock entry: ${reason}`);
  }
}

export function sealEntry(entry: UnsealedEntry): LockEntry {
  return { ...entry, contentHash: contentHashOf(entry) };
}

/** Pretty JSON, arrays of scalars on one line, trailing newline (entries are committed and reviewed as diffs). */
export function serializeEntry(entry: LockEntry): string {
  const pretty = JSON.stringify(JSON.parse(stableStringify(entry)), null, 2);
  return `${pretty.replace(/\[\n\s+([^[\]{}]*?)\n\s+\]/g, (_, items: string) => `[${items.split(/,\n\s+/).join(', ')}]`)}\n`;
}

/** The key recomputed from what the entry says it was built from. */
export function entryKeyOf(entry: Pick<LockEntry, 'program' | 'config'>): string {
  return cacheKey({ program: JSON.stringify(entry.program.canonical), ...entry.config });
}

/**
 * Parses and validates an entry file's text; throws CorruptEntryError naming `file` for any
 * failure. Order: bounded JSON (bounded-json.ts), schema, key, content hash (so that nothing
 * below is computed on a damaged entry), the records' fields, the μGraph, and the key
 * recomputed from the program and configuration the entry records. Whether the entry may
 * serve a given program is lock-hit.ts's question.
 */
export function parseEntry(text: string, file: string, expectedKey: string): { entry: LockEntry; ugraph: KernelGraph } {
  const reject = (reason: string): never => {
    throw new CorruptEntryError(file, reason);
  };
  let value: unknown;
  try {
    value = parseBoundedJSON(text);
  } catch (error) {
    return reject((error as Error).message);
  }
  if (!isRecord(value)) return reject('not a JSON object');
  const entry = value as unknown as LockEntry;
  if (entry.schema !== CACHE_SCHEMA) return reject(`schema ${describeValue(entry.schema)} is not ${CACHE_SCHEMA}`);
  if (entry.key !== expectedKey) return reject(`its key ${describeValue(entry.key)} does not match its file name (${expectedKey})`);
  const { contentHash, ...rest } = entry;
  if (typeof contentHash !== 'string' || contentHash !== contentHashOf(rest)) return reject('content hash mismatch (the file was edited or damaged)');
  const problem = recordProblem(value);
  if (problem !== undefined) return reject(problem);
  let ugraph: KernelGraph;
  try {
    ugraph = KernelGraph.fromJSON(entry.ugraph);
  } catch (error) {
    return reject(`invalid μGraph: ${(error as Error).message}`);
  }
  if (entryKeyOf(entry) !== expectedKey) return reject('its key does not match the program and configuration it records');
  return { entry, ugraph };
}

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * What is wrong with the fields every reader of an entry relies on (the CLI prints the
 * report and the verification), or undefined. `config` and `program.canonical` are pinned
 * by the key (recomputed from them), the μGraph by KernelGraph.fromJSON.
 */
function recordProblem(entry: Readonly<Record<string, unknown>>): string | undefined {
  for (const field of ['program', 'config', 'ugraph', 'verification', 'report'] as const) {
    if (!isRecord(entry[field])) return `"${field}" must be an object, got ${describeValue(entry[field])}`;
  }
  const { program, config, verification, report } = entry as Record<'program' | 'config' | 'verification' | 'report', Record<string, unknown>>;
  try {
    if (typeof program.name !== 'string') fail('program', `name must be a string, got ${describeValue(program.name)}`);
    for (const field of ['search', 'target', 'compiler'] as const) {
      if (!isRecord(config[field])) fail('config', `${field} must be an object, got ${describeValue(config[field])}`);
    }
    checkVerification(verification);
    if (typeof report.compiler !== 'string') fail('report', `compiler must be a string, got ${describeValue(report.compiler)}`);
    expectFinite(report.compileSeconds, 'report', 'compileSeconds');
    expectInteger(report.kernels, 'report', 'kernels', 0);
  } catch (error) {
    if (isUGraphError(error)) return `"${error.where}": ${error.detail}`;
    throw error; // a bug, not a bad entry
  }
  return undefined;
}

function checkVerification(verification: Readonly<Record<string, unknown>>): void {
  const method = expectOneOf(verification.method, ['per-operator-lowering', 'reference-check'], 'verification', 'method');
  if (method === 'per-operator-lowering') {
    if (typeof verification.note !== 'string') fail('verification', `note must be a string, got ${describeValue(verification.note)}`);
    return;
  }
  expectArray(verification.seeds, 'verification', 'seeds').forEach((seed, i) => expectInteger(seed, 'verification', `seeds[${i}]`, 0));
  if (typeof verification.adapter !== 'string') fail('verification', `adapter must be a string, got ${describeValue(verification.adapter)}`);
  expectBoolean(verification.pass, 'verification', 'pass');
  expectArray(verification.variants, 'verification', 'variants').forEach((raw, i) => {
    const where = `verification.variants[${i}]`;
    const v = expectRecord(raw, where, ['variant', 'maxAbsError', 'relL2Error', 'tolerance', 'pass']);
    expectOneOf(v.variant, ['f16', 'f32'], where, 'variant');
    for (const field of ['maxAbsError', 'relL2Error', 'tolerance'] as const) expectFinite(v[field], where, field);
    expectBoolean(v.pass, where, 'pass');
  });
}

function contentHashOf(entry: UnsealedEntry): string {
  return sha256(stableStringify(entry));
}
