/**
 * One workload × batch of `npm run bench` in its own process (isolated.ts starts it with
 * the bench flags narrowed to it): every variant × system on a fresh device; the rows,
 * without roofline columns, go to --out as JSON.
 */
import { createNodeDevice } from '../src/gpu/node-device.js';
import { parseCli } from './cli-options.js';
import { benchWorkloads } from './harness.js';
import { writeAtomically } from './results.js';

async function main(): Promise<void> {
  const { options, out } = parseCli(process.argv.slice(2));
  const gpu = await createNodeDevice();
  try {
    writeAtomically(out, JSON.stringify(await benchWorkloads(gpu.device, options)));
  } finally {
    gpu.destroy();
  }
  // Dawn's threads can keep the process alive; the rows are written, so leave.
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
