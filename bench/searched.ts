/**
 * The μGraph the search finds for a workload (`superoptimize(program).ugraph`, at the
 * workload's own shape, for the default target and with the limits a build uses), searched once per
 * program and kept in memory and on disk (bench/.cache/searched-*.json), so that the second
 * variant, a rerun and the per-workload processes do not search again. The search takes up
 * to tens of seconds per full-shape program; the harness runs it before a workload's timing
 * loop (BenchSystem.before), never between timed cells.
 *
 * The file's name carries the program's structural hash, the target and a hash of the
 * compiled search, verifier and μGraph code this process runs, so a change to any of them
 * searches again; delete bench/.cache/ to force it.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSearchLimits } from '../src/build/compiler.js';
import { superoptimize, type SearchReport } from '../src/search/superoptimize.js';
import { KernelGraph, type KernelGraphJSON } from '../src/ugraph/kernel-graph.js';
import { webgpuDefaults } from '../src/ugraph/target.js';
import { CACHE_DIR } from './reference.js';
import type { BenchWorkload } from './workloads.js';

/** What the bench keeps of a search. */
export interface Searched {
  readonly ugraph: KernelGraph;
  /** 'search', or 'per-op-fallback' when nothing verified (then the μGraph is the per-operator lowering). */
  readonly source: 'search' | 'per-op-fallback';
  readonly summary: SearchSummary;
  /** Read from bench/.cache rather than searched in this process. */
  readonly cached: boolean;
}

export interface SearchSummary {
  readonly stopReason: SearchReport['stopReason'];
  readonly seconds: number;
  readonly explored: number;
  readonly screened: number;
  readonly verified: number;
  readonly pick: string;
}

interface CacheFile {
  readonly schema: 1;
  readonly program: string;
  readonly source: Searched['source'];
  readonly summary: SearchSummary;
  readonly ugraph: KernelGraphJSON;
}

/** The target the bench searches for: what a build compiles for by default. */
export const SEARCH_TARGET = webgpuDefaults;

const memory = new Map<string, Promise<Searched>>();

/** The searched μGraph of the workload's program: from memory, from bench/.cache, or searched now (and written there). */
export function searchedUGraph(workload: BenchWorkload, log: (line: string) => void = () => {}): Promise<Searched> {
  const file = cacheFile(workload);
  let pending = memory.get(file);
  if (!pending) {
    pending = Promise.resolve().then(() => readCached(file) ?? search(workload, file, log));
    memory.set(file, pending);
    // A failed search is reported by each cell that needs it, and not retried in this process.
  }
  return pending;
}

async function search(workload: BenchWorkload, file: string, log: (line: string) => void): Promise<Searched> {
  log(`${workload.program.name}: searching (the μGraph is cached in ${file})`);
  // The build's limits (no wall clock): the μGraph a build ships for this program.
  const result = await superoptimize(workload.program, { target: SEARCH_TARGET, limits: buildSearchLimits({}) });
  const { report } = result;
  const summary: SearchSummary = {
    stopReason: report.stopReason, seconds: report.totalMs / 1000, explored: report.explored, screened: report.screened,
    verified: report.verified, pick: report.pick,
  };
  const cached: CacheFile = { schema: 1, program: workload.program.name, source: result.source, summary, ugraph: result.ugraph.toJSON() };
  mkdirSync(CACHE_DIR, { recursive: true });
  writeFileSync(`${file}.tmp`, `${JSON.stringify(cached)}\n`);
  renameSync(`${file}.tmp`, file);
  return { ugraph: result.ugraph, source: result.source, summary, cached: false };
}

function readCached(file: string): Searched | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const cached = JSON.parse(readFileSync(file, 'utf8')) as CacheFile;
    if (cached.schema !== 1) return undefined;
    // fromJSON validates as the builder does: a damaged file is searched again, never run.
    return { ugraph: KernelGraph.fromJSON(cached.ugraph), source: cached.source, summary: cached.summary, cached: true };
  } catch {
    return undefined;
  }
}

function cacheFile(workload: BenchWorkload): string {
  const { program } = workload;
  return join(CACHE_DIR, `searched-${program.name}-${program.hash}-${SEARCH_TARGET.name}-${searchCodeHash()}.json`);
}

let codeHash: string | undefined;

/** A hash of the compiled code that decides what the search finds (search, verifier, μGraph), as this process runs it. */
function searchCodeHash(): string {
  if (codeHash !== undefined) return codeHash;
  const hash = createHash('sha256');
  for (const folder of ['search', 'equivalence', 'ugraph']) {
    const dir = fileURLToPath(new URL(`../src/${folder}/`, import.meta.url));
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir).filter((n) => n.endsWith('.js')).sort()) {
      hash.update(`${folder}/${name}\0`).update(readFileSync(join(dir, name))).update('\0');
    }
  }
  codeHash = hash.digest('hex').slice(0, 12);
  return codeHash;
}
