/**
 * One lock entry: the chosen μGraph for one program under one configuration, with how it
 * was verified and what compiling it reported. Entries are JSON files; `parseEntry`
 * rejects anything that is not exactly what `sealEntry` wrote (schema, key, content hash,
 * a valid μGraph, a key that matches the stored program and configuration), so a corrupt
 * or hand-edited entry is never used silently.
 */
import { KernelGraph, type KernelGraphJSON } from '../ugraph/kernel-graph.js';
import type { TargetProfile } from '../ugraph/target.js';
import { CACHE_SCHEMA, cacheKey, type CompilerIdentity, sha256, stableStringify } from './key.js';
import type { SearchConfig } from '../build/options.js';

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

/** Parses and validates an entry file's text; throws CorruptEntryError naming `file`. */
export function parseEntry(text: string, file: string, expectedKey: string): { entry: LockEntry; ugraph: KernelGraph } {
  const fail = (reason: string): never => {
    throw new CorruptEntryError(file, reason);
  };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return fail(`not valid JSON (${(error as Error).message})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return fail('not a JSON object');
  const entry = value as LockEntry;
  if (entry.schema !== CACHE_SCHEMA) return fail(`schema ${JSON.stringify(entry.schema)} is not ${CACHE_SCHEMA}`);
  if (entry.key !== expectedKey) return fail(`its key ${JSON.stringify(entry.key)} does not match its file name (${expectedKey})`);
  const { contentHash, ...rest } = entry;
  if (typeof contentHash !== 'string' || contentHash !== contentHashOf(rest)) return fail('content hash mismatch (the file was edited or damaged)');
  for (const field of ['program', 'config', 'ugraph', 'verification', 'report'] as const) {
    if (entry[field] === null || typeof entry[field] !== 'object') fail(`missing "${field}"`);
  }
  if (typeof entry.program.name !== 'string') fail('missing "program.name"');
  let ugraph: KernelGraph;
  try {
    ugraph = KernelGraph.fromJSON(entry.ugraph);
  } catch (error) {
    return fail(`invalid μGraph: ${(error as Error).message}`);
  }
  if (entryKeyOf(entry) !== expectedKey) return fail('its key does not match the program and configuration it records');
  return { entry, ugraph };
}

function contentHashOf(entry: UnsealedEntry): string {
  return sha256(stableStringify(entry));
}
