/**
 * One peer × workload × batch × variant, in its own process (run-peers.ts starts it):
 * loads the workload and its seeded inputs, reads the float64 reference from the cache,
 * times the peer with the shared loop (measure.ts: wall time per call) and writes the
 * result row as JSON to --out. Failures are written as a row with `error`.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { compareToReference } from '../../src/reference/compare.js';
import { decodeF16 } from '../../src/runtime/f16.js';
import type { Variant } from '../../src/runtime/types.js';
import { baseRow, failedRow } from '../harness.js';
import { benchWaitingPriority, measure, minTimedMsFor, timeWall } from '../measure.js';
import { referenceFor } from '../reference.js';
import type { BenchRow } from '../results.js';
import { loadWorkload, parseWorkloadName, type BenchWorkload, type Shapes } from '../workloads.js';
import type { PeerSystem } from './peer-api.js';
import { PEERS } from './registry.js';

async function benchPeer(peer: PeerSystem, workload: BenchWorkload, variant: Variant, warmup: number, reps: number): Promise<BenchRow> {
  const run = await peer.prepare(workload, variant);
  try {
    let last: Float32Array | Uint16Array | undefined;
    const m = await measure(() => timeWall(async () => { last = await run.runOnce(); }), { warmup, reps, minTimedMs: minTimedMsFor(workload.shapes), waitingPriority: benchWaitingPriority() });
    const actual = last instanceof Float32Array ? last : decodeF16(last!);
    const expected = referenceFor(workload).outputs[workload.program.outputs[0]!.name]!;
    const comparison = compareToReference(actual, expected, variant);
    return {
      ...baseRow(workload, peer.name, variant),
      medianMs: m.wallMs,
      kernelMs: null,
      wallMs: m.wallMs,
      runs: m.runs,
      load1: m.load1,
      wallRunsMs: m.wallRunsMs,
      relErr: comparison.relL2Error,
      pass: comparison.pass,
      note: peer.describe(workload),
    };
  } finally {
    await run.destroy();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      peer: { type: 'string' }, workload: { type: 'string' }, batch: { type: 'string', default: '1' },
      shapes: { type: 'string', default: 'full' }, variant: { type: 'string', default: 'f32' },
      warmup: { type: 'string', default: '2' }, reps: { type: 'string', default: '10' }, out: { type: 'string' },
    },
  });
  const peer = PEERS[values.peer ?? ''];
  if (!peer) throw new Error(`peer-process: unknown --peer "${values.peer}" (${Object.keys(PEERS).join(', ')})`);
  const workload = await loadWorkload(parseWorkloadName(values.workload ?? ''), Number(values.batch), values.shapes as Shapes);
  const variant = values.variant as Variant;
  const row = await benchPeer(peer, workload, variant, Number(values.warmup), Number(values.reps))
    .catch((error: unknown) => failedRow(workload, peer.name, variant, error instanceof Error ? error.message : String(error)));
  const text = JSON.stringify(row);
  if (values.out) writeFileSync(values.out, text);
  else process.stdout.write(`${text}\n`);
  // Dawn and ORT threads can keep the process alive; the row is written, so leave.
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
