/** `npm run demo` (see demo.ts): runs the demo and exits with its code. */
import { runDemo } from './demo.js';

const report = await runDemo(process.argv.slice(2), (line) => console.log(line));
process.exitCode = report.exitCode;
