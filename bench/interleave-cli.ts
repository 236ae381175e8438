/** Entry of `npm run bench:interleave` (interleave.ts): parses the options, prints one line per configuration. */
import { INTERLEAVE_USAGE, interleave, parseInterleaveCli } from './interleave.js';

async function main(): Promise<void> {
  const options = parseInterleaveCli(process.argv.slice(2));
  if (options === 'help') {
    process.stdout.write(`${INTERLEAVE_USAGE}\n`);
    return;
  }
  const results = await interleave(options);
  for (const r of results) {
    const verdict = r.pass ? '' : '  OVER TOLERANCE';
    process.stdout.write(`${JSON.stringify(r.override).padEnd(48)} ${r.medianMs.toFixed(2).padStart(10)} ms (wall ${r.wallMs.toFixed(2)})  x${r.ratio.toFixed(3)}  rel err ${r.relErr.toExponential(2)}${verdict}\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
