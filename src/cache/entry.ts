/**
 * One lock entry: the chosen μGraph for one program under one configuration, with how it
 * was verified and what compiling it reported. Entries are JSON files; `parseEntry`
 * rejects anything that is not what `sealEntry` wrote (bounded JSON, schema, key, content
 * hash, typed records, a valid μGraph, a key that matches the stored program and
 * configuration), so a damaged entry is never used. The content hash guards against
 * damage, not against an author: anyone can edit an entry and recompute it. Such a
 * re-sealed entry is caught by the checks every lock hit makes (lock-hit.ts), the
 * finite-field verifier among them, and by `mugraph verify`.
 */
import { describeValue } from '../ugraph/check.js';
import { KernelGraph, type KernelGraphJSON } from '../ugraph/kernel-graph.js';
import type { TargetProfile } from '../ugraph/target.js';
import { CACHE_SCHEMA, cacheKey, type CompilerIdentity, sha256, stableStringify } from './key.js';
import type { SearchConfig } from '../build/options.js';
import { parseBoundedJSON } from './bounded-json.js';
import { entrySchemaProblem } from './entry-schema.js';

/**
 * How the entry's μGraph was shown to compute the program. `method` says how it was
 * chosen ('search': the μGraph the search picked, src/search/superoptimize.ts;
 * 'per-operator-lowering': the program's one-kernel-per-op lowering, when the search is
 * off or nothing it found verified; `note` says which, in words);
 * `equivalence` is what the finite-field verifier (src/equivalence, docs/equivalence.md)
 * found at the μGraph's full shape. Measurements are not part of an entry: they differ
 * between machines and runs, and an entry is a function of its program, configuration and
 * compiler. The verifier's time and the GPU reference check (build/reference-check.ts) are
 * reported by the build, `mugraph warm` and `mugraph verify`, never written here.
 */
export interface Verification {
  readonly method: 'search' | 'per-operator-lowering';
  readonly note: string;
  readonly equivalence: EquivalenceRecord;
}

/**
 * The finite-field verifier's verdict on the entry's μGraph against its program. Never
 * 'different': such a μGraph is never written. 'unverifiable' (an exp of an exp) only for
 * the per-operator lowering, which is trusted by construction (docs/equivalence.md §7), or
 * for a stitched μGraph whose every part verified against its subprogram (`parts`).
 * Every lock hit is verified again unless this machine verified this exact entry before
 * (cache/verified.ts), so the record is what the writer found, not what a reader trusts.
 */
export interface EquivalenceRecord {
  readonly verdict: 'equivalent' | 'unverifiable';
  /** The draws compared, one per seed (derived from the program's and μGraph's structural hashes). */
  readonly seeds: readonly number[];
  /** For 'equivalent': P(they differ all the same) is at most this; 0 for 'unverifiable'. */
  readonly falseAcceptBound: number;
  /** Verified at the μGraph's full shape, every output element: always, never on a sample or a smaller instance. */
  readonly fullShape: true;
  /** For 'unverifiable': why, and why it is used all the same. */
  readonly reason?: string;
  /** For an 'unverifiable' stitched μGraph: how to verify it part by part again (verifyParts). */
  readonly parts?: PartsRecord;
}

/** What verifyParts needs to cut the program again and find each part's kernels in the μGraph. */
export interface PartsRecord {
  /** The partition's operator limit (the search's maxBlockOps): the program is cut again with it. */
  readonly maxOperators: number;
  /** The μGraph's tensor id of each storage tensor at a cut, input and output, by listing name. */
  readonly storage: Readonly<Record<string, number>>;
}

/** What compiling reported; no timings (they differ between runs). Checked against the μGraph on every hit (lock-hit.ts). */
export interface CompileRecord {
  readonly compiler: string;
  /** Kernel launches per run: the count warm, verify and the build report. */
  readonly kernels: number;
  /** Distinct shaders (identical launches share one pipeline). */
  readonly pipelines: number;
  readonly customKernels: number;
  /**
   * 'search': the searched μGraph; 'per-op-fallback': the search ran and nothing verified;
   * 'naive-lowering': the search is off (`search: false`); 'given': a μGraph passed to compile().
   */
  readonly source: 'search' | 'per-op-fallback' | 'naive-lowering' | 'given';
  /** What the search did, when it ran (no timings: they differ between runs). */
  readonly search?: SearchRecord;
}

/**
 * The search's report as an entry records it: its counts and how it picked, not its times.
 * A search stopped by its time limit (`stopReason` 'time-limit') may count differently on
 * another run; one stopped by work, candidates or exhaustion counts the same everywhere.
 */
export interface SearchRecord {
  readonly stopReason: string;
  /** Partial μGraphs reached, and pruned by the subexpression check, by structure and by the program guide. */
  readonly explored: number;
  readonly prunedByExpression: number;
  readonly prunedByStructure: number;
  readonly prunedByGuide: number;
  /** Complete μGraphs, those that passed screening, those rejected by screening or verify(), and those verified. */
  readonly complete: number;
  readonly screened: number;
  readonly rejectedByVerifier: number;
  readonly verified: number;
  /** How the μGraph was picked, in words. */
  readonly pick: string;
  /** Why the search did not run to the end, when it failed (the entry then holds the per-operator lowering). */
  readonly failure?: string;
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
  override readonly name: string = 'CorruptEntryError';
  constructor(readonly file: string, readonly reason: string, what = 'corrupt or modified lock entry') {
    super(`${file}: ${what}: ${reason}`);
  }

  /** The same rejection with more to say (the fix). */
  withReason(reason: string): CorruptEntryError {
    return new CorruptEntryError(this.file, reason);
  }
}

/**
 * An entry written by another mugraph version (another lock format or compiler): not
 * damaged, but not what this version writes for the program. Rejected like a corrupt one
 * (rebuilt, or a frozen build fails naming the fix), with its own wording.
 */
export class OutdatedEntryError extends CorruptEntryError {
  override readonly name = 'OutdatedEntryError';
  constructor(file: string, reason: string) {
    super(file, reason, 'lock entry from another mugraph version');
  }

  override withReason(reason: string): OutdatedEntryError {
    return new OutdatedEntryError(this.file, reason);
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
  return cacheKey({ program: JSON.stringify(entry.program.canonical), search: entry.config.search, target: entry.config.target });
}

/**
 * Parses and validates an entry file's text; throws CorruptEntryError naming `file` for any
 * failure (OutdatedEntryError for another lock format). Order: bounded JSON
 * (bounded-json.ts), the format, key, content hash (so that nothing below is computed on a
 * damaged entry), the records (entry-schema.ts), the μGraph, and the key recomputed from
 * the program and configuration the entry records. Whether the entry may serve a given
 * program is lock-hit.ts's question.
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
  if (entry.schema !== CACHE_SCHEMA) {
    if (Number.isInteger(entry.schema) && (entry.schema as number) > 0) throw new OutdatedEntryError(file, formatMismatch(entry.schema as number));
    return reject(`schema ${describeValue(entry.schema)} is not ${CACHE_SCHEMA}`);
  }
  if (entry.key !== expectedKey) return reject(`its key ${describeValue(entry.key)} does not match its file name (${expectedKey})`);
  const { contentHash, ...rest } = entry;
  if (typeof contentHash !== 'string' || contentHash !== contentHashOf(rest)) return reject('content hash mismatch (the file was edited or damaged)');
  const problem = entrySchemaProblem(value);
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

/** Why an entry in lock format `format` is not used: written by an older or a newer mugraph. */
export function formatMismatch(format: number): string {
  return format < CACHE_SCHEMA
    ? `it is in lock format ${format}, written by an older mugraph; this one reads and writes format ${CACHE_SCHEMA}`
    : `it is in lock format ${format}, written by a newer mugraph; this one reads and writes format ${CACHE_SCHEMA} (upgrade mugraph)`;
}

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function contentHashOf(entry: UnsealedEntry): string {
  return sha256(stableStringify(entry));
}
