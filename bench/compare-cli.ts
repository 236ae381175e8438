/**
 * `npm run bench:compare -- [label=]results.json ...`: the hand μGraph against the fastest
 * passing peer in each results file, side by side (compare.ts), as Markdown on stdout.
 */
import { basename } from 'node:path';
import { compareRuns, markdownComparison } from './compare.js';
import { readResults } from './results.js';

const USAGE = 'usage: npm run bench:compare -- [label=]results.json [[label=]results.json ...]';

function main(args: readonly string[]): void {
  if (args.length === 0 || args.includes('--help')) {
    process.stdout.write(`${USAGE}\n`);
    if (args.length === 0) process.exitCode = 2;
    return;
  }
  const runs = args.map((arg) => {
    const eq = arg.indexOf('=');
    const file = eq > 0 ? arg.slice(eq + 1) : arg;
    const results = readResults(file);
    if (!results) throw new Error(`bench:compare: no results file at ${file}`);
    return { label: eq > 0 ? arg.slice(0, eq) : basename(file, '.json'), results };
  });
  process.stdout.write(markdownComparison(compareRuns(runs)));
}

try {
  main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
