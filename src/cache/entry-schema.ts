/**
 * The lock entry's records as a schema (zod): one definition that validates every entry
 * read (entry.ts) and generates the JSON Schema published as schema/lock-entry.schema.json
 * (`lockEntryJSONSchema`; test/cache/entry-schema.test.ts keeps the file in step), for
 * editors, reviewers and other tools reading a lock.
 *
 * Strict: a field the writer never writes is an error, except in `config.search` (any
 * JSON object: it is the user's) and `config.target` (a user may build a profile by hand,
 * and every field of it is in the key). The μGraph is described only down to its top-level
 * fields: KernelGraph.fromJSON validates the rest, as it does for every μGraph.
 *
 * Only `safeParse(...).success` and the issues are used, never zod's output: the entry
 * used is exactly the value the content hash was computed over (a "__proto__" key, which
 * these strict objects reject anyway, would otherwise be copied with its special meaning).
 */
import * as z from 'zod';
import { commentText } from '../codegen/escape.js';
import { UGRAPH_SCHEMA } from '../ugraph/kernel-graph.js';
import { CACHE_SCHEMA } from './key.js';

const count = z.int().min(0);
const hex = (digits: number) => z.string().regex(new RegExp(`^[0-9a-f]{${digits}}$`));

const target = z.looseObject({
  name: z.string(),
  maxWorkgroupStorageBytes: count,
  maxInvocationsPerWorkgroup: count,
  maxWorkgroupSizeX: count,
  maxWorkgroupsPerDimension: count,
  maxStorageBufferBindingSize: count,
  maxStorageBuffersPerShaderStage: count,
  features: z.array(z.string()),
  subgroupMinSize: count.optional(),
}).meta({ description: 'The target profile compiled for (src/ugraph/target.ts); part of the key.' });

const equivalence = z.strictObject({
  verdict: z.enum(['equivalent', 'unverifiable']).meta({
    description: "The finite-field verifier's verdict at full shape. Never 'different' (such a μGraph is never written); "
      + "'unverifiable' (an exp of an exp) only for the per-operator lowering, trusted by construction, or for a stitched "
      + 'μGraph whose every part verified against its subprogram (`parts`).',
  }),
  seeds: z.array(z.int().min(0).max(0xffffffff)).meta({ description: 'The draws compared, one per seed (32-bit).' }),
  falseAcceptBound: z.number().min(0).max(1).meta({
    description: "For 'equivalent': an upper bound on the probability that the μGraph differs from the program all the same "
      + "(docs/equivalence.md §3); for one verified part by part, the parts' bounds summed; 0 for the per-operator lowering.",
  }),
  fullShape: z.literal(true).meta({ description: "Verified at the μGraph's full shape, every output element compared." }),
  reason: z.string().optional().meta({ description: "For 'unverifiable': why, and why the μGraph is used all the same." }),
  parts: z.strictObject({
    maxOperators: count.meta({ description: "The partition's operator limit (the search's maxBlockOps): the program is cut again with it." }),
    storage: z.record(z.string(), z.int().min(0)).meta({ description: "The μGraph's tensor id of each storage tensor at a cut, input and output, by the expanded program's listing name." }),
  }).optional().meta({ description: "For an 'unverifiable' stitched μGraph: how it is verified again part by part (src/search/verify-parts.ts)." }),
}).meta({
  description: "What the finite-field verifier found. Every lock hit is verified again unless this machine's scratch cache records "
    + 'the entry (by content hash) as verified here; its time is reported, not recorded.',
});

const verification = z.strictObject({
  method: z.enum(['search', 'per-operator-lowering']).meta({
    description: "'search': the μGraph the search picked; 'per-operator-lowering': the program's one-kernel-per-operator "
      + 'lowering (the search is off, or nothing it found verified: `note` says which).',
  }),
  note: z.string(),
  equivalence,
}).meta({
  description: 'How the μGraph was chosen and what the finite-field verifier found. Measurements (the verifier\'s time, the '
    + 'reference check on an adapter) are not recorded (they differ between runs and machines): the build, `mugraph warm` '
    + 'and `mugraph verify` report them.',
});

const searchRecord = z.strictObject({
  stopReason: z.string().meta({ description: "Why the search stopped: 'exhausted', 'work-limit', 'candidate-limit', 'time-limit' (the last one may count differently on another run)." }),
  explored: count.meta({ description: 'Partial μGraphs reached.' }),
  prunedByExpression: count,
  prunedByStructure: count,
  prunedByGuide: count,
  complete: count.meta({ description: 'Complete μGraphs generated.' }),
  screened: count.meta({ description: 'Complete μGraphs that passed screening in the finite field.' }),
  rejectedByVerifier: count,
  verified: count,
  pick: z.string().meta({ description: 'How the μGraph was picked, in words.' }),
  failure: z.string().optional().meta({ description: 'Why the search failed, when it did (the entry then holds the per-operator lowering).' }),
}).meta({ description: "The search's report (src/search/superoptimize.ts) without its timings." });

const report = z.strictObject({
  compiler: z.string(),
  kernels: count.meta({ description: 'Kernel launches per run (what warm, verify and the build report).' }),
  pipelines: count.meta({ description: 'Distinct shaders: identical launches share one pipeline.' }),
  customKernels: count,
  source: z.enum(['search', 'per-op-fallback', 'naive-lowering', 'given']).meta({
    description: "'search': searched; 'per-op-fallback': searched, nothing verified; 'naive-lowering': search off; 'given': a μGraph passed to compile().",
  }),
  search: searchRecord.optional(),
}).meta({ description: "What the compiler reported, checked against the μGraph on every hit. No timings: they differ between runs." });

export const lockEntrySchema = z.strictObject({
  schema: z.literal(CACHE_SCHEMA).meta({ description: 'The lock format.' }),
  key: hex(32).meta({ description: 'The file name: SHA-256 of the canonical program, search configuration and target.' }),
  program: z.strictObject({
    name: z.string().meta({ description: 'A label: the key ignores names.' }),
    canonical: z.unknown().meta({ description: "The program's canonical JSON (structure, shapes, dtypes), to detect collisions." }),
  }),
  config: z.strictObject({
    search: z.record(z.string(), z.unknown()).meta({ description: 'The search configuration; part of the key.' }),
    target,
    compiler: z.strictObject({ cache: z.literal(CACHE_SCHEMA), ugraph: z.literal(UGRAPH_SCHEMA), compiler: z.string() })
      .meta({ description: 'What compiled the entry; an entry of another compiler is rebuilt.' }),
  }),
  ugraph: z.looseObject({
    schema: z.literal(UGRAPH_SCHEMA),
    inputs: z.array(z.unknown()),
    nodes: z.array(z.unknown()),
    outputs: z.array(z.unknown()),
  }).meta({ description: 'The chosen μGraph (KernelGraph JSON, validated in full by KernelGraph.fromJSON).' }),
  verification,
  report,
  contentHash: hex(64).meta({ description: 'SHA-256 of the entry without this field, keys sorted: detects damage; not a signature.' }),
});

/**
 * What is wrong with the entry's records, as `"where": what`, or undefined when they match
 * the schema. One printable line: the path and zod's message may quote keys from the file,
 * whose control characters must not reach a terminal.
 */
export function entrySchemaProblem(value: unknown): string | undefined {
  const result = lockEntrySchema.safeParse(value);
  if (result.success) return undefined;
  const issue = result.error.issues[0]!;
  return commentText(`${issue.path.length === 0 ? 'the entry' : `"${issue.path.join('.')}"`}: ${issue.message}`);
}

/** The JSON Schema of a lock entry, as published in schema/lock-entry.schema.json. */
export function lockEntryJSONSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(lockEntrySchema, { target: 'draft-2020-12' }),
    title: 'mugraph kernel lock entry',
    description: `One file of a mugraph kernel lock (mugraph.lock/<key>.json), lock format ${CACHE_SCHEMA}.`,
  };
}
